// Per-kernel GPU time of one profiled training step at the software demo's sizes: the Fa-Net
// (LightCNN-9 ×0.125, 32 px, batch norm, Adam, batch 32) and the FaPE-GAN D + G step (32 px, base
// width 8, 1 residual block, batch 8). Prints each kernel's ms and calls, then wall time per step.
//   node --import tsx bench/step-kernels.ts [--steps 4] [--only fanet|gan]
import { parseArgs } from 'node:util';
import { gpu, init } from '../src/gpu/index.js';
import { LightCNN9 } from '../src/models/lightcnn.js';
import { tensor } from '../src/tensor/creation.js';
import { manualSeed } from '../src/tensor/random.js';
import { createFanetOptimizer, fanetTrainStep } from '../src/train/fanet.js';
import { createFaPEGanSession, freeSession, ganStep } from '../src/train/fapegan.js';

const { values } = parseArgs({ options: { steps: { type: 'string', default: '4' }, only: { type: 'string' } } });
const steps = Number(values.steps);
await init();
manualSeed(1);

function randomValues(count: number, seed: number): Float32Array {
  const out = new Float32Array(count);
  let state = seed;
  for (let i = 0; i < count; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    out[i] = state / 2 ** 31 - 1;
  }
  return out;
}

async function profileStep(name: string, step: () => { dispose(): void } | Promise<{ dispose(): void }>): Promise<void> {
  const run = async () => {
    const r = await step();
    await gpu().sync();
    r.dispose();
  };
  await run();
  const { timings } = await gpu().profile(run);
  const total = timings.reduce((s, t) => s + t.totalMs, 0);
  console.log(`${name}: GPU ${total.toFixed(1)} ms in ${timings.reduce((s, t) => s + t.calls, 0)} dispatches`);
  for (const t of [...timings].sort((a, b) => b.totalMs - a.totalMs)) console.log(`  ${t.name.padEnd(36)} ${t.totalMs.toFixed(2).padStart(8)} ms ${String(t.calls).padStart(4)}×  ${((100 * t.totalMs) / total).toFixed(1)} %`);
  const start = performance.now();
  for (let s = 0; s < steps; s++) await run();
  console.log(`  wall ${((performance.now() - start) / steps).toFixed(1)} ms per step (${steps} steps)`);
}

if (values.only !== 'gan') {
  const batch = 32;
  const model = new LightCNN9({ classes: 4, inputSize: 32, widthMultiplier: 0.125, batchNorm: true, dropout: 0 });
  const { optimizer } = createFanetOptimizer(model, { batchSize: batch, optimizer: 'adam' });
  const images = randomValues(batch * 32 * 32, 7);
  const labels = Int32Array.from({ length: batch }, (_, i) => i % 4);
  await profileStep('fanet demo (LightCNN-9 ×0.125, 32 px, BN, batch 32)', () => fanetTrainStep(model, optimizer, images, [batch, 1, 32, 32], labels));
  optimizer.dispose();
  model.dispose();
}
if (values.only !== 'fanet') {
  const batch = 8, size = 32;
  const session = createFaPEGanSession({ channels: 1, imageSize: size, baseWidth: 8, residualBlocks: 1 }, { epochs: 1, batchSize: batch, seed: 1 });
  const shape = [batch, 1, size, size];
  const count = batch * size * size;
  const source = tensor(randomValues(count, 11), shape);
  const target = tensor(randomValues(count, 13), shape);
  const mask = tensor(randomValues(count, 17).map((v) => (v > 0.8 ? 1 : -1)), shape);
  await profileStep('fapegan demo (32 px, width 8, 1 block, batch 8)', () => ganStep(session, source, mask, target));
  freeSession(session);
}
