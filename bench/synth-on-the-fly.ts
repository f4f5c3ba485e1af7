// Training images/s with the synthetic set rendered on the fly (worker threads, the loader's
// prefetch ahead of the steps) against training from images already in memory, at a demo
// preset's data and Fa-Net sizes. Epoch 1 is where on-the-fly rendering can cost (later epochs
// read the cache); each mode starts from a fresh dataset and the same seeded model.
//   node --import tsx bench/synth-on-the-fly.ts [--preset software|gpu|paper] [--workers 1,2,16] [--epochs 2]
import { availableParallelism, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { BatchLoader } from '../src/data/batch-loader.js';
import { cachedDataset, type Dataset } from '../src/data/dataset.js';
import { createSynthDataset } from '../src/data/synth/synth-dataset.js';
import { gpu, init } from '../src/gpu/index.js';
import { createLightCNN } from '../src/models/lightcnn.js';
import { onTheFlyPrefetch, openOnTheFlySynth } from '../src/node/data/synth-on-the-fly.js';
import { manualSeed } from '../src/tensor/random.js';
import { createFanetLoaders, createFanetOptimizer, trainFanet } from '../src/train/fanet.js';
import { presetOptions, type PresetName } from '../src/train/paper-demo.js';

const { values } = parseArgs({ options: { preset: { type: 'string', default: 'software' }, workers: { type: 'string' }, epochs: { type: 'string', default: '2' } } });
const preset = presetOptions(values.preset as PresetName);
const workerCounts = (values.workers ?? [...new Set([1, availableParallelism()])].join(',')).split(',').map(Number);
const epochs = Number(values.epochs);
const { fanet } = preset;
await init();

async function trainOn(dataset: Dataset, prefetch: number): Promise<number[]> {
  manualSeed(1);
  const model = createLightCNN({ variant: 'lightcnn9', classes: dataset.classes.length, inputSize: fanet.inputSize, widthMultiplier: fanet.widthMultiplier, batchNorm: fanet.batchNorm ?? false, ...(fanet.dropout !== undefined ? { dropout: fanet.dropout } : {}) });
  const { optimizer, scheduler } = createFanetOptimizer(model, { batchSize: fanet.batchSize, lr: fanet.lr, optimizer: fanet.optimizer ?? 'adam' });
  try {
    const { trainLoader } = createFanetLoaders(dataset, undefined, { batchSize: fanet.batchSize, inputSize: fanet.inputSize, seed: 1, prefetch });
    const result = await trainFanet({ model, optimizer, scheduler, trainLoader: trainLoader as BatchLoader, epochs });
    return result.history.map((record) => record.trainImagesPerSecond);
  } finally {
    optimizer.dispose();
    model.dispose();
  }
}

const line = (name: string, rates: number[]) => console.log(`${name.padEnd(30)} ${rates.map((rate, k) => `epoch ${k + 1} ${rate.toFixed(1).padStart(7)} img/s`).join('  ')}  (load ${loadavg()[0]!.toFixed(1)})`);
const images = createSynthDataset(preset.data).samples.length;
console.log(`${gpu().info.description || gpu().info.vendor}; ${availableParallelism()} cores; preset ${values.preset}: ${images} images at ${preset.data.size} px, LightCNN-9 ×${fanet.widthMultiplier} at ${fanet.inputSize} px, batch ${fanet.batchSize}; load average at start ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);

// Cached: every image rendered (on all cores) before the clock starts.
const cached = openOnTheFlySynth(preset.data);
const renderStarted = performance.now();
await Promise.all(cached.dataset.samples.map((sample) => cached.dataset.loadImage(sample)));
const renderSeconds = (performance.now() - renderStarted) / 1000;
console.log(`${'rendering alone'.padEnd(30)} ${(images / renderSeconds).toFixed(1)} images/s on ${cached.workers} workers, no training`);
await cached.close();
line('cached images', await trainOn(cached.dataset, 2));
line('on the fly, this thread', await trainOn(cachedDataset(createSynthDataset(preset.data)), 2));
for (const workers of workerCounts) {
  const onTheFly = openOnTheFlySynth(preset.data, { workers });
  try {
    line(`on the fly, ${workers} worker${workers > 1 ? 's' : ''}`, await trainOn(onTheFly.dataset, onTheFlyPrefetch(workers, fanet.batchSize)));
  } finally {
    await onTheFly.close();
  }
}
gpu().destroy();
