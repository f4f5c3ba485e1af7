// FaPE-GAN's one-output-channel convs (bench/conv-single-channel.ts's rows) on the browser's WebGPU:
// headless Chromium with the browser test's flags (SwiftShader), through the public API of
// dist/webfer.browser.js. Per row, conv2d's forward and its backward (input and weight gradients
// together) under convSingleChannel 'generic' (the packed kernels) beside 'dedicated' (the Cout = 1
// kernels) and 'shared' (the default: for D's 512 channels the forward in slices of channels, rowsSliced),
// one call of each alternated per round, best of the rounds after a warm-up round (the
// compiles), with the largest difference of the outputs and gradients from generic's relative to the largest.
//   npm run build && node bench/conv-single-channel-browser.mjs [--batches 4] [--rounds 3] [--only 'D out']
//   (CHROMIUM=path to override the browser)
import { parseArgs } from 'node:util';
import { openLibraryPage } from '../scripts/chromium-webgpu.mjs';

const { values } = parseArgs({ options: { batches: { type: 'string', default: '4' }, rounds: { type: 'string', default: '3' }, only: { type: 'string', default: '' } } });
const { page, close } = await openLibraryPage('bench');

// [name, N, Cin, input size, kernel, padding] as in bench/conv-single-channel.ts.
const rows = values.batches.split(',').map(Number).flatMap((N) => [
  ['G out 7×7', N, 64, 134, 7, 0], ['D out 4×4', N, 512, 15, 4, 1], ['G out 7×7 demo', N, 8, 38, 7, 0], ['D out 4×4 demo', N, 64, 3, 4, 1],
]).filter(([name]) => name.includes(values.only));

const result = await page.evaluate(async ({ rows, rounds }) => {
  const webfer = await import('/dist/webfer.browser.js');
  await webfer.init();
  const info = webfer.gpu().info;
  const lines = [];
  for (const [name, N, Cin, size, k, padding] of rows) {
    webfer.manualSeed(1);
    const x = webfer.randn([N, Cin, size, size], { requiresGrad: true });
    const w = webfer.randn([1, Cin, k, k], { requiresGrad: true, std: 0.05 });
    const out = size + 2 * padding - k + 1;
    const gy = webfer.randn([N, 1, out, out]);
    const run = async (choice) => {
      webfer.gpu().policy.set({ convSingleChannel: choice });
      for (const t of [x, w]) {
        t.grad?.dispose();
        t.grad = null;
      }
      await webfer.sync();
      const start = performance.now();
      const y = webfer.F.conv2d(x, w, undefined, { padding });
      await webfer.sync();
      const forward = performance.now() - start;
      y.backward(gy);
      await webfer.sync();
      const backward = performance.now() - start - forward;
      const values = await Promise.all([y, x.grad, w.grad].map(async (t) => Array.from(await t.toArray())));
      y.dispose();
      return { forward, backward, values };
    };
    const choices = ['generic', 'dedicated', 'shared'];
    const best = choices.map(() => ({ forward: Infinity, backward: Infinity }));
    let diff = 0;
    for (let r = 0; r <= rounds; r++) {
      const runs = [];
      for (const choice of r % 2 ? [...choices].reverse() : choices) runs[choices.indexOf(choice)] = await run(choice);
      if (r === 0) {
        let scale = 0;
        for (const run of runs.slice(1)) run.values.forEach((values, t) => values.forEach((v, i) => { diff = Math.max(diff, Math.abs(v - runs[0].values[t][i])); scale = Math.max(scale, Math.abs(runs[0].values[t][i])); }));
        diff /= scale;
        continue;
      }
      runs.forEach((run, i) => { best[i].forward = Math.min(best[i].forward, run.forward); best[i].backward = Math.min(best[i].backward, run.backward); });
    }
    const flop = 2 * N * out * out * Cin * k * k;
    const cell = (ms, passes) => `${ms.toFixed(1)} ms, ${((passes * flop) / ms / 1e6).toFixed(2)} GFLOP/s`;
    for (const [pass, passes] of [['forward', 1], ['backward (input + weight grad)', 2]]) {
      const key = passes === 1 ? 'forward' : 'backward';
      lines.push(`| ${name} | N${N} ${Cin}→1 ${size}² k${k} p${padding} → ${out}² | ${pass} | ${cell(best[0][key], passes)} | ${cell(best[1][key], passes)} | ${(best[0][key] / best[1][key]).toFixed(2)}× | ${cell(best[2][key], passes)} | ${(best[0][key] / best[2][key]).toFixed(2)}× | ${diff.toExponential(1)} |`);
    }
    [x, w, gy].forEach((t) => t.dispose());
  }
  webfer.gpu().policy.reset();
  return { adapter: `${info.vendor} ${info.architecture}, subgroups ${JSON.stringify(info.subgroupSizes)}`, lines };
}, { rows, rounds: Number(values.rounds) });

console.log(`${result.adapter} (headless Chromium), best of ${values.rounds} alternated rounds, policy defaults but convSingleChannel`);
console.log('| layer | shape | pass | generic | dedicated (Cout = 1) | speed-up | shared (default) | speed-up | max diff |');
console.log('|---|---|---|---|---|---|---|---|---|');
for (const line of result.lines) console.log(line);
await close();
