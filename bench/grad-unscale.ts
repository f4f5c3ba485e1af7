// The batched loss-scale unscale over a model's gradients (LightCNN-9 at paper width, or the FaPE-GAN
// at 128², width 64, 2 blocks: the step-settings shapes), its policy settings alternated call by call
// in one process: GPU time of the launches (timestamps, per-round minimum) and CPU time per call.
//   node --import tsx bench/grad-unscale.ts [--rounds 5] [--model lightcnn9|fapegan]
//     [--settings '{"elements": {"gradUnscaleWidth": "elements"}, "quads": {}}']
import { parseArgs } from 'node:util';
import { loadavg } from 'node:os';
import { gpu, init } from '../src/gpu/index.js';
import type { KernelChoices } from '../src/gpu/policy.js';
import { SCALER_STATE_BYTES, SCALER_WORDS, unscaleGradientsBatched } from '../src/kernels/optim.js';
import { LightCNN9 } from '../src/models/lightcnn.js';
import { tensor } from '../src/tensor/creation.js';
import { createFaPEGanSession, freeSession } from '../src/train/fapegan.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '5' }, model: { type: 'string', default: 'lightcnn9' }, settings: { type: 'string', default: '{"elements": {"gradUnscaleWidth": "elements"}, "quads": {}}' } } });
await init();
const settings = Object.entries(JSON.parse(values.settings!) as Record<string, Partial<KernelChoices>>);
let sizes: number[];
if (values.model === 'fapegan') {
  const session = createFaPEGanSession({ channels: 1, imageSize: 128, baseWidth: 64, residualBlocks: 2 }, { epochs: 1, batchSize: 2, seed: 1 });
  sizes = [...session.generator.parameters(), ...session.discriminator.parameters()].map((p) => p.size);
  freeSession(session);
} else {
  const model = new LightCNN9({ classes: 54, inputSize: 128, widthMultiplier: 1, batchNorm: false });
  sizes = model.parameters().map((p) => p.size);
  model.dispose();
}
// Finite gradients (the step runs): every element tested and scaled.
const grads = sizes.map((n) => tensor(Float32Array.from({ length: n }, (_, i) => Math.sin(i) * 1e3), [n]));
const state = gpu().pool.acquire(SCALER_STATE_BYTES);
const words = new DataView(new ArrayBuffer(SCALER_STATE_BYTES));
words.setFloat32(4 * SCALER_WORDS.inverse, 1, true);
gpu().upload(state, words);
const run = () => unscaleGradientsBatched(grads.map((g) => ({ buffer: g.buffer, count: g.size })), state);
const best = settings.map(() => ({ gpuMs: Infinity, cpuMs: Infinity, launches: 0 }));
for (let round = -1; round < Number(values.rounds); round++) {
  for (const [i, [, setting]] of settings.entries()) {
    await gpu().policy.with(setting, async () => {
      const { timings } = await gpu().profile(run);
      await gpu().sync();
      const cpuStart = process.cpuUsage();
      for (let r = 0; r < 5; r++) run();
      await gpu().sync();
      const cpu = process.cpuUsage(cpuStart);
      if (round < 0) return; // compiles
      const b = best[i]!;
      b.gpuMs = Math.min(b.gpuMs, timings.reduce((s, t) => s + t.totalMs, 0));
      b.cpuMs = Math.min(b.cpuMs, (cpu.user + cpu.system) / 1000 / 5);
      b.launches = timings.reduce((s, t) => s + t.calls, 0);
    });
  }
}
const elements = sizes.reduce((a, b) => a + b, 0);
console.log(`${gpu().info.description}; ${values.model}: ${sizes.length} gradients, ${(elements / 1e6).toFixed(2)} M elements; best of ${values.rounds} rounds; load ${loadavg().map((l) => l.toFixed(1)).join(' / ')}`);
for (const [i, [label]] of settings.entries()) {
  const b = best[i]!;
  console.log(`${label.padEnd(12)} ${b.launches} launches  GPU ${b.gpuMs.toFixed(2).padStart(8)} ms  CPU ${b.cpuMs.toFixed(1).padStart(7)} ms per call  ${(best[0]!.gpuMs / b.gpuMs).toFixed(2)}x GPU, ${(best[0]!.cpuMs / b.cpuMs).toFixed(2)}x CPU the first setting`);
}
for (const g of grads) g.dispose();
gpu().pool.release(state);
