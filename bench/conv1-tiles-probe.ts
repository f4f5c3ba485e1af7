// conv1's forward (1→96 5×5 pad 2 on 128², batch 16) in conv2d_window_subgroup.wgsl: windowSubgroup (rows: 512 sums in
// memory, one row of taps per update) against windowTapsSubgroup (tiles: 16 sums in registers over every tap), dispatched
// directly, outputs compared, then timed alternately (best CPU ms of the rounds, × the matmul 1024³ of the same rounds).
//   node --import tsx bench/conv1-tiles-probe.ts [--rounds 5] [--only rows,tiles,...]
import { parseArgs } from 'node:util';
import { gpu, init } from '../src/gpu/index.js';
import { kernel, Params } from '../src/kernels/launch.js';
import { matmulCase, printBestRounds, type ProbeCase, registerShaderEdits } from './probe-rounds.js';
import { randomBuffer } from './random-buffer.js';

const { values } = parseArgs({ options: { profile: { type: 'string' }, reps: { type: 'string', default: '200' }, rounds: { type: 'string', default: '5' }, only: { type: 'string' }, batch: { type: 'string', default: '16' } } });
await init();

/** Timing-only edits of the shader (name -> [from, to] pairs), registered as probe_<name>. */
const EDITS: Record<string, [string, string][]> = {
  noX: [['  tileInputs[i][0] = inputQuad(iwFirst);\n  tileInputs[i][1] = inputQuad(iwFirst + 4);\n  tileInputs[i][2] = inputQuad(iwFirst + 8);\n  tileInputs[i][3] = inputQuad(iwFirst + 12);\n  tileInputs[i][4] = inputQuad(iwFirst + 16);',
    '  let f = f32(rowBase) + f32(iwFirst);\n  tileInputs[i][0] = vec4<f32>(f, f + 1.0, f + 2.0, f + 3.0);\n  tileInputs[i][1] = vec4<f32>(f, f + 1.5, f + 2.5, f + 3.5);\n  tileInputs[i][2] = vec4<f32>(f, f + 1.25, f + 2.25, f + 3.25);\n  tileInputs[i][3] = vec4<f32>(f, f + 1.75, f + 2.75, f + 3.75);\n  tileInputs[i][4] = vec4<f32>(f, f + 1.125, f + 2.125, f + 3.125);']],
  noW: [['  tileWeights[i][0] = Packed[k];\n  tileWeights[i][1] = Packed[k + step];\n  tileWeights[i][2] = Packed[k + 2u * step];\n  tileWeights[i][3] = Packed[k + 3u * step];\n  tileWeights[i][4] = Packed[k + 4u * step];',
    '  let g = f32(k);\n  tileWeights[i][0] = vec4<f32>(g, g + 1.0, g + 2.0, g + 3.0);\n  tileWeights[i][1] = vec4<f32>(g, g + 1.5, g + 2.5, g + 3.5);\n  tileWeights[i][2] = vec4<f32>(g, g + 1.25, g + 2.25, g + 3.25);\n  tileWeights[i][3] = vec4<f32>(g, g + 1.75, g + 2.75, g + 3.75);\n  tileWeights[i][4] = vec4<f32>(g, g + 1.125, g + 2.125, g + 3.125);']],
  noStores: [['  if (live) { storeTileRows(r0 + 4u * t, image, offset, q0, e); }', '  Y[(r0 + 4u * t) % 97u] = q0.r0 + q0.r1 + q0.r2 + q0.r3;'],
    ['  if (live) { storeTileRows(r0 + 4u * t, image, offset + 4u, q1, e); }', '  Y[(r0 + 4u * t) % 97u + 1u] = q1.r0 + q1.r1 + q1.r2 + q1.r3;'],
    ['  if (live) { storeTileRows(r0 + 4u * t, image, offset + 8u, q2, e); }', '  Y[(r0 + 4u * t) % 97u + 2u] = q2.r0 + q2.r1 + q2.r2 + q2.r3;'],
    ['  if (live) { storeTileRows(r0 + 4u * t, image, offset + 12u, q3, e); }', '  Y[(r0 + 4u * t) % 97u + 3u] = q3.r0 + q3.r1 + q3.r2 + q3.r3;']],
};
EDITS.noXW = [...EDITS.noX!, ...EDITS.noW!];
registerShaderEdits('conv2d_window_subgroup', EDITS);

const N = Number(values.batch), H = 128, W = 128, Cout = 96, KH = 5, KW = 5;
const x = randomBuffer(N * H * W, 11);
const width = Cout / 4;
const packed = randomBuffer(KH * KW * width * 4, 13);
const bias = randomBuffer(Cout, 17);

interface Launch { entry: 'windowSubgroup' | 'windowTapsSubgroup'; edit?: string; mfm?: 0 | 1 | 2; bias?: boolean; wgx?: number; constants?: Record<string, number> }
function dispatcher(l: Launch): () => GPUBuffer[] {
  const wgx = l.wgx ?? 64;
  const constants: Record<string, number> = l.entry === 'windowSubgroup'
    ? { WGX: wgx, WGY: 1, STRIDE_W: 1, QUAD_STORES: 1, ROW_TAPS: 5, PIXEL_QUADS: 4 }
    : { WGX: wgx, WGY: 1, STRIDE_W: 1, QUAD_STORES: 1, KERNEL_H: KH, TILE_MFM: l.mfm ?? 0, ...l.constants };
  const k = kernel(l.edit ? `probe_${l.edit}` : 'conv2d_window_subgroup', { name: `probe.${l.entry}${l.edit ?? ''}`, entryPoint: l.entry, constants });
  const params = new Params().u32(N, 1, H, W, Cout, H, W, l.bias ? 1 : 0, KH, KW, 1, 1).i32(2, 2).u32(1, 1, 0, l.mfm ?? 0, width, 0).done();
  const outputs = N * (l.mfm !== undefined ? Cout / 2 : Cout) * H * W;
  const tileRows = l.constants?.TILE_ROWS ?? 1;
  const tiles = l.entry === 'windowSubgroup' ? N * H * W / 16 : N * Math.ceil(H / tileRows) * (W / 16);
  const workgroups: [number, number] = [Math.ceil(tiles / wgx), Math.ceil(Cout / 32)];
  return () => {
    const y = gpu().pool.acquire(outputs * 4);
    const mask = l.mfm === 1 ? gpu().pool.acquire(outputs * 4) : undefined;
    gpu().dispatch(k, [x, packed, l.bias ? bias : gpu().placeholder, y, mask ?? gpu().placeholderOutput, x], params, workgroups);
    return mask ? [y, mask] : [y];
  };
}

const flops = 2 * N * Cout * H * W * KH * KW;
const variants: [string, Launch][] = [
  ['rows', { entry: 'windowSubgroup' }],
  ['tiles', { entry: 'windowTapsSubgroup' }],
  ['rowsMfm', { entry: 'windowSubgroup', mfm: 1, bias: true }],
  ['tilesMfm', { entry: 'windowTapsSubgroup', mfm: 1, bias: true }],
  ['tiles2', { entry: 'windowTapsSubgroup', constants: { TILE_ROWS: 2 } }],
  ['tiles4', { entry: 'windowTapsSubgroup', constants: { TILE_ROWS: 4 } }],
  ['tiles8', { entry: 'windowTapsSubgroup', constants: { TILE_ROWS: 8 } }],
  ['tiles16', { entry: 'windowTapsSubgroup', constants: { TILE_ROWS: 16 } }],
  ['tiles32', { entry: 'windowTapsSubgroup', constants: { TILE_ROWS: 32 } }],
  ['tiles16wg32', { entry: 'windowTapsSubgroup', constants: { TILE_ROWS: 16 }, wgx: 32 }],
  ['tiles16wg16', { entry: 'windowTapsSubgroup', constants: { TILE_ROWS: 16 }, wgx: 16 }],
  ['tiles16x4', { entry: 'windowTapsSubgroup', constants: { TILE_ROWS: 16, X_QUADS: 1, INPUT_SHIFT: 2 } }],
  ['tiles16x4Mfm', { entry: 'windowTapsSubgroup', constants: { TILE_ROWS: 16, X_QUADS: 1, INPUT_SHIFT: 2 }, mfm: 1, bias: true }],
  ['tiles16x4MfmNoMask', { entry: 'windowTapsSubgroup', constants: { TILE_ROWS: 16, X_QUADS: 1, INPUT_SHIFT: 2 }, mfm: 2, bias: true }],
  ['tiles16x4Bias', { entry: 'windowTapsSubgroup', constants: { TILE_ROWS: 16, X_QUADS: 1, INPUT_SHIFT: 2 }, bias: true }],
  ['tiles16Mfm', { entry: 'windowTapsSubgroup', constants: { TILE_ROWS: 16 }, mfm: 1, bias: true }],
  ['tiles4wg32', { entry: 'windowTapsSubgroup', constants: { TILE_ROWS: 4 }, wgx: 32 }],
  ['tiles4Mfm', { entry: 'windowTapsSubgroup', constants: { TILE_ROWS: 4 }, mfm: 1, bias: true }],
  ['rowsBias', { entry: 'windowSubgroup', bias: true }],
  ['tilesBias', { entry: 'windowTapsSubgroup', bias: true }],
  ['rowsMfmNoBias', { entry: 'windowSubgroup', mfm: 1 }],
  ['tilesMfmNoBias', { entry: 'windowTapsSubgroup', mfm: 1 }],
  ...Object.keys(EDITS).map((edit): [string, Launch] => [edit, { entry: 'windowTapsSubgroup', edit }]),
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

// Outputs against the rows kernel (same launch parameters): max abs difference.
const ref = new Map<string, Float32Array[]>();
for (const [label, l] of chosen) {
  const outs = dispatcher(l)();
  const arrays: Float32Array[] = [];
  for (const o of outs) { arrays.push(new Float32Array(await gpu().read(o, o.size))); gpu().pool.release(o); }
  const key = `${l.mfm ?? 'x'}${l.bias ? 'b' : ''}`;
  const base = ref.get(key);
  if (!base) { ref.set(key, arrays); console.log(`${label}: reference for ${key}`); continue; }
  let worst = 0, maskOff = 0;
  arrays.forEach((a, i) => { for (let j = 0; j < a.length; j++) { if (i === 0) worst = Math.max(worst, Math.abs(a[j]! - base[i]![j]!)); else if (new Uint32Array(a.buffer)[j] !== new Uint32Array(base[i]!.buffer)[j]) maskOff++; } });
  console.log(`${label}: max |diff| ${worst.toExponential(2)} against ${key}'s first; mask elements differing ${maskOff}`);
}
const cases: ProbeCase[] = chosen.map(([label, l]) => ({ label: `conv1 ${label}`, flops, run: dispatcher(l) }));
const S = 1024;
const ma = randomBuffer(S * S, 19), mb = randomBuffer(S * S, 23);
cases.push(matmulCase(S, ma, mb));
await printBestRounds(cases, Number(values.rounds), 40);
