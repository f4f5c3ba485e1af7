// conv2d's weight gradient on this adapter for the geometries no vec4 kernel takes: registerTiled
// (conv2d_weight_grad.wgsl, the packed variant's kernel there before the subgroup kernels) beside what
// the packed variant runs now (conv2d_weight_grad_packed_subgroup.wgsl on subgroups of 8: windowSubgroup,
// narrowSubgroup for 1-8 out channels), alternating one call of each per round in one process, best of the rounds;
// the split-K reduction included in the time.
// Shapes: FaPE-GAN's layers at paper scale (128² images; G's 7×7 over the reflection-padded 134²).
//   node --import tsx bench/conv-weight-grad.ts [--batch 4] [--rounds 3] [--only <substring>]
import { parseArgs } from 'node:util';
import { gpu, init } from '../src/gpu/index.js';
import { alloc } from '../src/kernels/launch.js';
import { conv2dWeightGrad, type ConvGeometry } from '../src/kernels/conv.js';

const { values } = parseArgs({ options: { batch: { type: 'string', default: '4' }, rounds: { type: 'string', default: '3' }, only: { type: 'string', default: '' } } });
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
  { name: 'G conv1 7x7', g: geometry(2, 64, 134, 7, 1, 0) },
  { name: 'G conv2 3x3 s2', g: geometry(64, 128, 128, 3, 2, 1) },
  { name: 'G conv3 3x3 s2', g: geometry(128, 256, 64, 3, 2, 1) },
  { name: 'G out 7x7', g: geometry(64, 1, 134, 7, 1, 0) },
  { name: 'D conv1 4x4 s2', g: geometry(2, 64, 128, 4, 2, 1) },
  { name: 'D conv2 4x4 s2', g: geometry(64, 128, 64, 4, 2, 1) },
  { name: 'D conv3 4x4 s2', g: geometry(128, 256, 32, 4, 2, 1) },
  { name: 'D conv4 4x4 s1', g: geometry(256, 512, 16, 4, 1, 1) },
  { name: 'D out 4x4 s1', g: geometry(512, 1, 15, 4, 1, 1) },
].filter((r) => r.name.includes(values.only!));
const info = gpu().info;
console.log(`${info.description} (${info.isSoftware ? 'software' : 'hardware'}), batch ${N}, best of ${rounds} alternated rounds`);
console.log('| row | shape | registerTiled | packed (now) | speed-up | max diff |');
console.log('|---|---|---|---|---|---|');
for (const { name, g } of rows) {
  const x = alloc(g.N * g.Cin * g.H * g.W);
  const gy = alloc(g.N * g.Cout * g.OH * g.OW);
  gpu().upload(x, randomValues(g.N * g.Cin * g.H * g.W, 1));
  gpu().upload(gy, randomValues(g.N * g.Cout * g.OH * g.OW, 2));
  const count = g.Cout * g.Cin * g.KH * g.KW;
  const run = async (variant: 'registerTiled' | 'packed'): Promise<{ ms: number; out: Float32Array }> => {
    gpu().policy.set({ convWeightGrad: variant });
    await gpu().sync();
    const start = performance.now();
    const gw = conv2dWeightGrad(x, gy, g);
    await gpu().sync();
    const ms = performance.now() - start;
    const out = new Float32Array(await gpu().read(gw, count * 4));
    gpu().pool.release(gw);
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
  gpu().pool.release(x);
  gpu().pool.release(gy);
}
gpu().policy.reset();
