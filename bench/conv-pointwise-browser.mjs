// LightCNN-9's training step on the browser's WebGPU (headless Chromium with the browser test's
// flags: SwiftShader, subgroups of 4) under convPointwise 'gemm' (1×1 convs as matmuls) beside
// 'conv' (the conv kernels), one step of each alternated per round, best and median of the rounds
// after a warm-up (the compiles). The page trains this model at these sizes.
//   npm run build && node bench/conv-pointwise-browser.mjs [--rounds 5] [--batch 32] [--size 32] [--width 0.125]
import { parseArgs } from 'node:util';
import { openLibraryPage } from '../scripts/chromium-webgpu.mjs';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '5' }, batch: { type: 'string', default: '32' }, size: { type: 'string', default: '32' }, width: { type: 'string', default: '0.125' } } });
const { page, close } = await openLibraryPage('bench');

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
await close();
const summary = (list) => {
  const sorted = [...list].sort((a, b) => a - b);
  return { best: sorted[0], median: sorted[Math.floor(sorted.length / 2)] };
};
const [gemm, conv] = [summary(result.times.gemm), summary(result.times.conv)];
console.log(`LightCNN-9 ×${settings.width} ${settings.size}² batch ${settings.batch} training step, ${settings.rounds} rounds on ${result.adapter}`);
console.log(`convPointwise gemm: best ${gemm.best.toFixed(1)} ms, median ${gemm.median.toFixed(1)} ms`);
console.log(`convPointwise conv: best ${conv.best.toFixed(1)} ms, median ${conv.median.toFixed(1)} ms`);
console.log(`conv / gemm: best ${(conv.best / gemm.best).toFixed(2)}×, median ${(conv.median / gemm.median).toFixed(2)}×`);
