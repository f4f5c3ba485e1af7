// The stride-2 transposed convolution (conv2d's input gradient, convTranspose2d's forward) on this
// adapter: the gather kernel (conv_transpose2d.registerTiled, the packed variant's kernel at
// stride > 1 before the phases) beside the phases (what the packed variant runs now:
// conv_transpose2d_phase_subgroup.wgsl on subgroups of 8 for more than 8 input channels, else
// conv_transpose2d_phase.wgsl), alternating one call of each per round in one process, best of the
// rounds; weight packing included in the time. The same shapes are convTranspose2d forwards (G's
// up-sampling layers: 256->128 64² and 128->64 128² are the G conv3 and conv2 rows).
// Shapes: FaPE-GAN's stride-2 layers at paper scale (128² images), batch reduced (--batch).
//   node --import tsx bench/conv-stride2.ts [--batch 2] [--rounds 4]
import { parseArgs } from 'node:util';
import { gpu, init } from '../src/gpu/index.js';
import { alloc } from '../src/kernels/launch.js';
import { conv2dTranspose, type ConvGeometry } from '../src/kernels/conv.js';

const { values } = parseArgs({ options: { batch: { type: 'string', default: '2' }, rounds: { type: 'string', default: '4' } } });
const N = Number(values.batch);
const rounds = Number(values.rounds);
await init();

function randomValues(count: number, seed: number): Float32Array {
  const out = new Float32Array(count);
  let state = seed;
  for (let i = 0; i < count; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    out[i] = state / 2 ** 31 - 1;
  }
  return out;
}

const geometry = (Cin: number, Cout: number, H: number, K: number, S: number, P: number): ConvGeometry => {
  const OH = Math.floor((H + 2 * P - K) / S) + 1;
  return { N, Cin, Cout, H, W: H, OH, OW: OH, KH: K, KW: K, SH: S, SW: S, PH: P, PW: P, DH: 1, DW: 1 };
};
const rows: { name: string; g: ConvGeometry }[] = [
  { name: 'G conv2 3x3 s2 input grad', g: geometry(64, 128, 128, 3, 2, 1) },
  { name: 'G conv3 3x3 s2 input grad', g: geometry(128, 256, 64, 3, 2, 1) },
  { name: 'D conv1 4x4 s2 input grad', g: geometry(2, 64, 128, 4, 2, 1) },
  { name: 'D conv2 4x4 s2 input grad', g: geometry(64, 128, 64, 4, 2, 1) },
  { name: 'D conv3 4x4 s2 input grad', g: geometry(128, 256, 32, 4, 2, 1) },
];
const info = gpu().info;
console.log(`${info.description} (${info.isSoftware ? 'software' : 'hardware'}), batch ${N}, best of ${rounds} alternated rounds`);
console.log('| row | shape | gather (registerTiled) | phases | speed-up | max diff |');
console.log('|---|---|---|---|---|---|');
for (const { name, g } of rows) {
  const gy = alloc(g.N * g.Cout * g.OH * g.OW);
  const w = alloc(g.Cout * g.Cin * g.KH * g.KW);
  gpu().upload(gy, randomValues(g.N * g.Cout * g.OH * g.OW, 1));
  gpu().upload(w, randomValues(g.Cout * g.Cin * g.KH * g.KW, 2).map((v) => v * 0.1));
  const run = async (variant: 'registerTiled' | 'packed'): Promise<{ ms: number; out: Float32Array }> => {
    gpu().policy.set({ convInputGrad: variant });
    await gpu().sync();
    const start = performance.now();
    const gx = conv2dTranspose(gy, w, undefined, g);
    await gpu().sync();
    const ms = performance.now() - start;
    const out = new Float32Array(await gpu().read(gx, g.N * g.Cin * g.H * g.W * 4));
    gpu().pool.release(gx);
    return { ms, out };
  };
  const best = { registerTiled: Infinity, packed: Infinity };
  let diff = 0;
  for (let r = 0; r <= rounds; r++) {
    const old = await run('registerTiled');
    const now = await run('packed');
    if (r === 0) {
      let scale = 0;
      for (let i = 0; i < old.out.length; i++) {
        diff = Math.max(diff, Math.abs(old.out[i] - now.out[i]));
        scale = Math.max(scale, Math.abs(old.out[i]));
      }
      diff /= scale;
      continue;  // warm-up: pipeline compilation
    }
    best.registerTiled = Math.min(best.registerTiled, old.ms);
    best.packed = Math.min(best.packed, now.ms);
  }
  const flop = 2 * g.N * g.Cout * g.OH * g.OW * g.Cin * g.KH * g.KW;
  const cell = (ms: number) => `${ms.toFixed(1)} ms, ${(flop / ms / 1e6).toFixed(2)} GFLOP/s`;
  console.log(`| ${name} | N${g.N} ${g.Cin}→${g.Cout} ${g.H}² k${g.KH} s${g.SH} p${g.PH} | ${cell(best.registerTiled)} | ${cell(best.packed)} | ${(best.registerTiled / best.packed).toFixed(2)}× | ${diff.toExponential(1)} |`);
  gpu().pool.release(gy);
  gpu().pool.release(w);
}
gpu().policy.reset();
