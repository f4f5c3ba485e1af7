// conv1's input gradient (gy [16, 96, 128, 128] through the 96 5×5 filters of 1→96, pad 2, into gx [16, 1, 128, 128]):
// conv2d_single_subgroup.wgsl rowsWindow (FLIPPED_WEIGHTS: the policy's thinInputGradRows 'window') against
// conv_transpose2d_quad_rows.wgsl thinQuadRows ('quads') at several TILE_ROWS and workgroup sizes, and with gy's rows loaded one
// float at a time (elements32), dispatched directly, outputs compared,
// then timed alternately (best CPU ms of the rounds, × the matmul 1024³ of the same rounds), and each pipeline's cold compile.
//   node --import tsx bench/conv1-grad-probe.ts [--rounds 5] [--only window,quads16,...] [--batch 16]
import { parseArgs } from 'node:util';
import { gpu, init } from '../src/gpu/index.js';
import { kernel, Params } from '../src/kernels/launch.js';
import { matmulCase, printBestRounds, type ProbeCase } from './probe-rounds.js';
import { randomBuffer } from './random-buffer.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '5' }, only: { type: 'string' }, batch: { type: 'string', default: '16' }, profile: { type: 'string' }, reps: { type: 'string', default: '100' } } });
await init();

// The forward over gy: 96 input channels (gy's), one output channel (gx), padding K - 1 - P = 2.
const N = Number(values.batch), C = 96, H = 128, W = 128, K = 5, P = K - 1 - 2;
const gy = randomBuffer(N * C * H * W, 11);
const weight = randomBuffer(C * K * K, 13);
const params = new Params().u32(N, C, H, W, 1, H, W, 0, K, K, 1, 1).i32(P, P).u32(1, 1, 0, 0, 0, 0).done();

interface Launch { entry: 'rowsWindow' | 'thinQuadRows'; rows: number; wg?: number; quads?: boolean }
function dispatcher(l: Launch): () => GPUBuffer[] {
  const tiles = N * Math.ceil(H / l.rows) * (W / 16);
  const wg = l.wg ?? (tiles < 1024 ? 8 : 64);
  const k = l.entry === 'rowsWindow'
    ? kernel('conv2d_single_subgroup', { name: `probe.rowsWindow${l.rows}`, entryPoint: 'rowsWindow', constants: { WG: wg, WINDOW_ROWS: l.rows, KERNEL_W: K, WINDOW_OCTETS: 2, FLIPPED_WEIGHTS: 1, CHANNEL_PAIR: 0 } })
    : kernel('conv_transpose2d_quad_rows', { name: `probe.thinQuadRows${l.rows}${l.quads === false ? 'e' : ''}w${wg}`, entryPoint: 'thinQuadRows', constants: { WG: wg, TILE_ROWS: l.rows, KERNEL_W: K, X_QUADS: l.quads === false ? 0 : 1, INPUT_SHIFT: (4 - (P % 4)) % 4 } });
  const buffers = l.entry === 'rowsWindow' ? [gy, weight, gpu().placeholder] : [gy, gy, weight, gpu().placeholder];
  return () => {
    const y = gpu().pool.acquire(N * H * W * 4);
    gpu().dispatch(k, [...buffers, y], params, [Math.ceil(tiles / wg), 1, 1]);
    return [y];
  };
}

const variants: [string, Launch][] = [
  ['window', { entry: 'rowsWindow', rows: 16 }],
  ['quads32', { entry: 'thinQuadRows', rows: 32 }],
  ['quads16', { entry: 'thinQuadRows', rows: 16 }],
  ['quads8', { entry: 'thinQuadRows', rows: 8 }],
  ['quads32wg32', { entry: 'thinQuadRows', rows: 32, wg: 32 }],
  ['elements32', { entry: 'thinQuadRows', rows: 32, quads: false }],
];
if (values.profile) {
  // One variant called over and over (for perf): 'compiled' on stderr once its pipeline exists.
  const run = dispatcher(variants.find(([label]) => label === values.profile)![1]);
  const release = async () => { for (const b of run()) gpu().pool.release(b); await gpu().sync(); };
  await release();
  console.error('compiled');
  for (let i = 0; i < Number(values.reps); i++) await release();
  process.exit(0);
}
const only = values.only?.split(',');
const chosen = variants.filter(([label]) => !only || only.includes(label));

// Cold compile (the first call's wall time, synced) and the outputs against the first variant's.
let base: Float32Array | undefined;
for (const [label, l] of chosen) {
  const start = performance.now();
  const [y] = dispatcher(l)();
  await gpu().sync();
  const first = performance.now() - start;
  const out = new Float32Array(await gpu().read(y!, y!.size));
  gpu().pool.release(y!);
  if (!base) { base = out; console.log(`${label}: first call ${(first / 1000).toFixed(1)} s (compile + run); reference`); continue; }
  let worst = 0, scale = 0;
  for (let i = 0; i < out.length; i++) { worst = Math.max(worst, Math.abs(out[i]! - base[i]!)); scale = Math.max(scale, Math.abs(base[i]!)); }
  console.log(`${label}: first call ${(first / 1000).toFixed(1)} s (compile + run); max |diff| ${worst.toExponential(2)} (max |y| ${scale.toFixed(1)})`);
}
const flops = 2 * N * C * H * W * K * K;
const cases: ProbeCase[] = chosen.map(([label, l]) => ({ label: `conv1 input grad ${label}`, flops, run: dispatcher(l) }));
const S = 1024;
const ma = randomBuffer(S * S, 19), mb = randomBuffer(S * S, 23);
cases.push(matmulCase(S, ma, mb));
await printBestRounds(cases, Number(values.rounds), 40);
