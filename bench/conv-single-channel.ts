// FaPE-GAN's one-output-channel convs (G's 7×7 64→1 output layer on its reflect-padded 134² input, D's
// 4×4 stride-1 pad-1 512→1 on 15²) at paper scale, and the demo's (width 8, 32² images: 8→1 on 38², 64→1
// on 3²), under the adapter's policy defaults: each pass
// (forward, input gradient, weight gradient) with convSingleChannel 'generic' (the packed kernels as for
// any Cout) beside 'dedicated' (the Cout = 1 kernels) and, for the forward and weight gradient, 'shared'
// (4-row forward tiles, GY shared by the weight gradient's lanes),
// alternating one call of each per round in one process, best of the rounds, with the largest
// difference of each output from generic's relative to the largest.
//   node --import tsx bench/conv-single-channel.ts [--batches 4,16] [--rounds 3] [--only 'D out']  (rows whose name contains it)
import { parseArgs } from 'node:util';
import { gpu, init } from '../src/gpu/index.js';
import { alloc } from '../src/kernels/launch.js';
import { conv2dForward, conv2dTranspose, conv2dWeightGrad, type ConvGeometry } from '../src/kernels/conv.js';
import { randomValues, squareGeometry } from './conv-variants.js';

const { values } = parseArgs({ options: { batches: { type: 'string', default: '4,16' }, rounds: { type: 'string', default: '3' }, only: { type: 'string', default: '' } } });
const rounds = Number(values.rounds);
await init();

interface Pass { name: string; run: (g: ConvGeometry, b: GPUBuffer[]) => GPUBuffer; outputs: (g: ConvGeometry) => number }
const passes: Pass[] = [
  { name: 'forward', run: (g, [x, w, , ]) => conv2dForward(x!, w!, undefined, g), outputs: (g) => g.N * g.OH * g.OW },
  { name: 'input grad', run: (g, [, w, gy]) => conv2dTranspose(gy!, w!, undefined, g), outputs: (g) => g.N * g.Cin * g.H * g.W },
  { name: 'weight grad', run: (g, [x, , gy]) => conv2dWeightGrad(x!, gy!, g), outputs: (g) => g.Cin * g.KH * g.KW },
];

const info = gpu().info;
console.log(`${info.description} (${info.isSoftware ? 'software' : 'hardware'}), best of ${rounds} alternated rounds, policy defaults`);
console.log('| layer | shape | pass | generic | dedicated (Cout = 1) | speed-up | shared | speed-up | max diff |');
console.log('|---|---|---|---|---|---|---|---|---|');
for (const N of values.batches.split(',').map(Number)) {
  const rows = [
    { name: 'G out 7×7', g: squareGeometry(N, 64, 1, 134, 7, 1, 0) },
    { name: 'D out 4×4', g: squareGeometry(N, 512, 1, 15, 4, 1, 1) },
    // The demo (32² images, width 8): G's 8→1 on 38², D's 64→1 on 3².
    { name: 'G out 7×7 demo', g: squareGeometry(N, 8, 1, 38, 7, 1, 0) },
    { name: 'D out 4×4 demo', g: squareGeometry(N, 64, 1, 3, 4, 1, 1) },
  ];
  for (const { name, g } of rows.filter((row) => row.name.includes(values.only))) {
    const upload = (data: Float32Array) => { const b = alloc(data.length); gpu().upload(b, data); return b; };
    const buffers = [upload(randomValues(g.N * g.Cin * g.H * g.W, 1)), upload(randomValues(g.Cin * g.KH * g.KW, 2, 0.05)), upload(randomValues(g.N * g.OH * g.OW, 3))];
    const flop = 2 * g.N * g.OH * g.OW * g.Cin * g.KH * g.KW;
    for (const pass of passes) {
      const timed = async (choice: 'generic' | 'dedicated' | 'shared') => {
        gpu().policy.set({ convSingleChannel: choice });
        await gpu().sync();
        const start = performance.now();
        const out = pass.run(g, buffers);
        await gpu().sync();
        const ms = performance.now() - start;
        const values = new Float32Array(await gpu().read(out, pass.outputs(g) * 4));
        gpu().pool.release(out);
        return { ms, values };
      };
      const choices = pass.name !== 'input grad' ? (['generic', 'dedicated', 'shared'] as const) : (['generic', 'dedicated'] as const);
      const best = choices.map(() => Infinity);
      let diff = 0;
      for (let r = 0; r <= rounds; r++) {
        const runs = [];
        for (const choice of choices) runs.push(await timed(choice));
        if (r === 0) {
          let scale = 0;
          for (const run of runs.slice(1)) for (let i = 0; i < run.values.length; i++) { diff = Math.max(diff, Math.abs(runs[0]!.values[i]! - run.values[i]!)); scale = Math.max(scale, Math.abs(runs[0]!.values[i]!)); }
          diff /= scale;
          continue; // warm-up: pipeline compilation
        }
        runs.forEach((run, i) => (best[i] = Math.min(best[i]!, run.ms)));
      }
      const cell = (ms: number) => `${ms.toFixed(1)} ms, ${(flop / ms / 1e6).toFixed(2)} GFLOP/s`;
      const shared = best[2] === undefined ? '— | —' : `${cell(best[2])} | ${(best[0]! / best[2]).toFixed(2)}×`;
      console.log(`| ${name} | N${g.N} ${g.Cin}→1 ${g.H}² k${g.KH} p${g.PH} → ${g.OH}² | ${pass.name} | ${cell(best[0]!)} | ${cell(best[1]!)} | ${(best[0]! / best[1]!).toFixed(2)}× | ${shared} | ${diff.toExponential(1)} |`);
    }
    buffers.forEach((b) => gpu().pool.release(b));
  }
}
gpu().policy.reset();
