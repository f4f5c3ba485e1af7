// LightCNN-9's training step on the browser's WebGPU (headless Chromium with the browser test's
// flags: SwiftShader, subgroups of 4) under convPointwise 'gemm' (1×1 convs as matmuls) beside
// 'conv' (the conv kernels), one step of each alternated per round, best and median of the rounds
// after a warm-up (the compiles). The page trains this model at these sizes.
//   npm run build && node bench/conv-pointwise-browser.mjs [--rounds 5] [--batch 32] [--size 32] [--width 0.125]
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { NO_CHROMIUM, findChromium, launchChromium, serveFolder } from '../scripts/chromium-webgpu.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const { values } = parseArgs({ options: { rounds: { type: 'string', default: '5' }, batch: { type: 'string', default: '32' }, size: { type: 'string', default: '32' }, width: { type: 'string', default: '0.125' } } });
const chromium = findChromium();
if (!chromium) throw new Error(`bench: ${NO_CHROMIUM}`);
if (!existsSync(join(root, 'dist/webfer.browser.js'))) throw new Error('bench: dist/webfer.browser.js is missing: run `npm run build` first');

const { server, url } = await serveFolder(root);
const browser = await launchChromium(chromium);
const page = await browser.newPage();
page.on('console', (message) => message.type() === 'error' && console.log(`page: ${message.text()}`));
await page.goto(url);

const settings = { rounds: Number(values.rounds), batch: Number(values.batch), size: Number(values.size), width: Number(values.width) };
const result = await page.evaluate(async ({ rounds, batch, size, width }) => {
  const webfer = await import('/dist/webfer.browser.js');
  await webfer.init();
  webfer.manualSeed(1);
  const model = webfer.models.createLightCNN({ variant: 'lightcnn9', classes: 7, inputSize: size, widthMultiplier: width });
  const optimizer = new webfer.optim.SGD(model.parameters(), { lr: 0.001, momentum: 0.9 });
  const images = webfer.randn([batch, 1, size, size]);
  const labels = Array.from({ length: batch }, (_, i) => i % 7);
  const step = async (choice) => {
    webfer.gpu().policy.set({ convPointwise: choice });
    await webfer.sync();
    const start = performance.now();
    const loss = await webfer.scope(async () => {
      optimizer.zeroGrad();
      const l = webfer.F.crossEntropy(model.call(images).logits, labels);
      l.backward();
      optimizer.step();
      return l.item();
    });
    return { ms: performance.now() - start, loss };
  };
  const times = { gemm: [], conv: [] };
  for (let round = 0; round <= rounds; round++) {
    for (const choice of round % 2 ? ['conv', 'gemm'] : ['gemm', 'conv']) {
      const { ms } = await step(choice);
      if (round > 0) times[choice].push(ms);
    }
  }
  return { adapter: webfer.gpu().info.description ?? JSON.stringify(webfer.gpu().info), times };
}, settings);
await browser.close();
server.close();
const summary = (list) => {
  const sorted = [...list].sort((a, b) => a - b);
  return { best: sorted[0], median: sorted[Math.floor(sorted.length / 2)] };
};
const [gemm, conv] = [summary(result.times.gemm), summary(result.times.conv)];
console.log(`LightCNN-9 ×${settings.width} ${settings.size}² batch ${settings.batch} training step, ${settings.rounds} rounds on ${result.adapter}`);
console.log(`convPointwise gemm: best ${gemm.best.toFixed(1)} ms, median ${gemm.median.toFixed(1)} ms`);
console.log(`convPointwise conv: best ${conv.best.toFixed(1)} ms, median ${conv.median.toFixed(1)} ms`);
console.log(`conv / gemm: best ${(conv.best / gemm.best).toFixed(2)}×, median ${(conv.median / gemm.median).toFixed(2)}×`);
