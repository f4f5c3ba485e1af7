// The synthetic set rendered on the fly for training: worker threads give the same bytes as this
// thread whatever their number and the order of requests, so the batches a seeded loader yields
// (what training sees) are identical; the image cache keeps what fits; a worker's failure reaches
// whoever awaits the batch as one line naming the image.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BatchLoader } from '../../src/data/batch-loader.js';
import { cachedDataset, type Dataset } from '../../src/data/dataset.js';
import { createImage } from '../../src/data/image.js';
import { Random } from '../../src/data/random.js';
import type { SynthOptions } from '../../src/data/synth/generator.js';
import { createSynthDataset } from '../../src/data/synth/synth-dataset.js';
import { SynthWorkerPool, workerSynthRenderer } from '../../src/node/data/synth-workers.js';
import { onTheFlyPrefetch, openOnTheFlySynth } from '../../src/node/data/synth-on-the-fly.js';

const seed = 1 + Math.floor(Math.random() * 1000);
// 2 subjects × 2 expressions × 2 frames × 4 poses = 32 images at 64 px.
const options: SynthOptions = { subjects: 2, expressionIds: [3, 40], framesPerClip: 2, size: 64, seed };

async function allBatches(dataset: Dataset, epochs: number, prefetch: number): Promise<Float32Array[]> {
  const loader = new BatchLoader(dataset, { batchSize: 5, resize: 40, crop: 32, randomCrop: true, flip: true, seed, prefetch });
  const batches: Float32Array[] = [];
  for (let epoch = 0; epoch < epochs; epoch++) for await (const batch of loader.epoch(epoch)) batches.push(batch.images);
  return batches;
}

test(`seed ${seed}: 1 and 3 render workers give this thread's bytes, in any order, and the same batches`, async () => {
  const inThread = createSynthDataset(options);
  const one = openOnTheFlySynth(options, { workers: 1 });
  const three = openOnTheFlySynth(options, { workers: 3 });
  try {
    assert.is(three.workers, 3);
    const samples = inThread.samples;
    const shuffled = Array.from(new Random(seed).permutation(samples.length), (k) => samples[k]!);
    const [expected, fromOne, fromThree] = await Promise.all([
      Promise.all(samples.map((sample) => inThread.loadImage(sample))),
      Promise.all(samples.map((sample) => one.dataset.loadImage(sample))),
      Promise.all(shuffled.map((sample) => three.dataset.loadImage(sample))),
    ]);
    samples.forEach((sample, k) => {
      const want = expected[k]!;
      for (const [name, got] of [['1 worker', fromOne[k]!], ['3 workers', fromThree[shuffled.indexOf(sample)]!]] as const) {
        assert.equal([got.width, got.height, got.channels], [want.width, want.height, want.channels], `${sample.path} (${name})`);
        assert.ok(Buffer.from(got.data).equals(Buffer.from(want.data)), `${sample.path} differs between this thread and ${name}`);
      }
    });
    // Fresh datasets, so that the first epoch renders while the loader prefetches.
    const fresh = openOnTheFlySynth(options, { workers: 3 });
    try {
      const [reference, streamed] = await Promise.all([allBatches(cachedDataset(createSynthDataset(options)), 2, 2), allBatches(fresh.dataset, 2, 6)]);
      assert.is(streamed.length, reference.length);
      streamed.forEach((images, k) => assert.ok(Buffer.from(images.buffer).equals(Buffer.from(reference[k]!.buffer)), `batch ${k} differs`));
    } finally {
      await fresh.close();
    }
  } finally {
    await Promise.all([one.close(), three.close()]);
  }
});

test('the image cache keeps images up to its byte limit, says once when full, and renders the rest each time', async () => {
  const size = 4 + Math.floor(Math.random() * 8);
  const renders = new Map<string, number>();
  const source: Dataset = {
    format: 'test', source: 'test', classes: ['a'], problems: [],
    samples: ['x', 'y', 'z'].map((path) => ({ path, label: 0 })),
    loadImage: async (sample) => {
      renders.set(sample.path, (renders.get(sample.path) ?? 0) + 1);
      return createImage(size, size, 1);
    },
  };
  const full: { images: number; bytes: number }[] = [];
  const cached = cachedDataset(source, { maxBytes: 2 * size * size, onFull: (kept) => full.push(kept) });
  for (let round = 0; round < 3; round++) {
    // Concurrent requests for one image share its load.
    await Promise.all([...source.samples, ...source.samples].map((sample) => cached.loadImage(sample)));
  }
  assert.equal(Object.fromEntries(renders), { x: 1, y: 1, z: 3 });
  assert.equal(full, [{ images: 2, bytes: 2 * size * size }]);
});

test('a failed render is not kept: asking again renders again', async () => {
  let calls = 0;
  const source: Dataset = {
    format: 'test', source: 'test', classes: ['a'], problems: [], samples: [{ path: 'x', label: 0 }],
    loadImage: async () => { if (calls++ === 0) throw new Error('first render fails'); return createImage(2, 2, 1); },
  };
  const cached = cachedDataset(source);
  await cached.loadImage(source.samples[0]!).then(() => assert.unreachable('the first load fails'), () => {});
  assert.is((await cached.loadImage(source.samples[0]!)).width, 2);
  assert.is(calls, 2);
});

test('a render that fails in a worker rejects the batch that needs it with one line naming the image', async () => {
  const pool = new SynthWorkerPool(2);
  try {
    // Past the dataset's checks (listSynthSpecs validates the size), an invalid size reaches the worker.
    const render = workerSynthRenderer(pool);
    const broken = createSynthDataset({ subjects: 1, expressionIds: [7], framesPerClip: 1, poses: ['HL'], size: 64, seed }, (o, spec) => render({ ...o, size: 100 as 64 }, spec));
    const loader = new BatchLoader(broken, { batchSize: 1, seed });
    try {
      for await (const batch of loader.epoch(0)) assert.unreachable(`a batch of ${batch.samples.length} arrived`);
      assert.unreachable('the epoch should fail');
    } catch (error) {
      const message = (error as Error).message;
      assert.match(message, /^s000\/HL\/e07_c0_f0\.png: synth worker 1 of 1 failed: synth size must be 64, 128 or 256 .*got 100$/);
      assert.not.match(message, '\n');
    }
    // The pool survives a failed render: the next image renders.
    assert.is((await render({ subjects: 1, size: 64, seed }, { subject: 0, expression: 1, clip: 0, frame: 0, pose: 'F' })).width, 64);
  } finally {
    await pool.close();
  }
});

test('prefetch keeps every worker busy: at least two images per worker in flight, at least 2 batches', () => {
  assert.is(onTheFlyPrefetch(1, 16), 2);
  assert.is(onTheFlyPrefetch(16, 8), 4);
  assert.is(onTheFlyPrefetch(16, 5), 7);
});

test.run();
