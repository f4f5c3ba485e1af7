// The LightCNN-9 paper step (batch 16 on 128² faces, 54 classes, SGD momentum; batch 16 as `bench --step`
// on software adapters) in f32 and in f16 (autocast + loss scaling), one profiled step each after a
// warm-up step: every kernel name with its GPU time and launches, so one sees which kernels (and which
// `.f16` builds) the step runs and where the f16 step's time goes beside the convolutions.
//   node --import tsx bench/f16-step-kernels.ts [--top 40]
// About 1 minute on lavapipe.
import { parseArgs } from 'node:util';
import { gpu, init } from '../src/gpu/index.js';
import { LightCNN9 } from '../src/models/lightcnn.js';
import { createFanetOptimizer, fanetScaledTrainStep, fanetTrainStep } from '../src/train/fanet.js';
import { usePrecision, type Precision } from '../src/train/precision.js';
import { kernelFamily } from '../src/bench/step.js';

const { values } = parseArgs({ options: { top: { type: 'string', default: '40' } } });
await init();

const [batch, inputSize, classes] = [16, 128, 54];
const shape = [batch, 1, inputSize, inputSize];
const images = Float32Array.from({ length: batch * inputSize * inputSize }, (_, i) => Math.sin(i * 12.9898) * 0.5);
const labels = Int32Array.from({ length: batch }, (_, i) => (i * 7) % classes);

for (const precision of ['f32', 'f16'] as Precision[]) {
  const model = new LightCNN9({ classes, inputSize, widthMultiplier: 1, batchNorm: false });
  const { optimizer } = createFanetOptimizer(model, { batchSize: batch, optimizer: 'sgd' });
  const scaler = usePrecision(model, precision, 'bench/f16-step-kernels');
  const step = async () => {
    const loss = await (scaler ? fanetScaledTrainStep(model, optimizer, scaler, images, shape, labels) : fanetTrainStep(model, optimizer, images, shape, labels));
    await gpu().sync();
    loss.dispose();
  };
  await step();
  const { timings } = await gpu().profile(step);
  const total = timings.reduce((sum, t) => sum + t.totalMs, 0);
  console.log(`\nLightCNN-9 paper step, ${precision}: ${total.toFixed(0)} ms of GPU time in ${timings.reduce((s, t) => s + t.calls, 0)} launches`);
  console.log('| kernel | family | ms | share | launches |');
  console.log('|---|---|---|---|---|');
  for (const t of [...timings].sort((a, b) => b.totalMs - a.totalMs).slice(0, Number(values.top))) {
    console.log(`| ${t.name} | ${kernelFamily(t.name)} | ${t.totalMs.toFixed(1)} | ${((100 * t.totalMs) / total).toFixed(1)} % | ${t.calls} |`);
  }
  optimizer.dispose();
  model.dispose();
}
