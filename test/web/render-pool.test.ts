// The page's render-worker pool (web/render-pool.ts) with stand-in workers that answer out of
// order: every face comes back to the render that asked for it, equal to the single-thread
// render; no more workers start than the pool's size, none holds more than two faces at once; a
// failed render names the worker and the image; a worker that cannot run fails every waiting
// render in one line. Plus the default worker count, the page address's ?renderWorkers check and
// the rate meter. The real workers run in the browser test (scripts/browser-test.mjs).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { listSynthSpecs, renderSynthSample, type SynthOptions } from '../../src/data/synth/generator.js';
import { synthSamplePath } from '../../src/data/synth/synth-dataset.js';
import { parseRenderWorkers } from '../../web/app/protocol.js';
import { defaultRenderWorkers, describeRenderRate, RenderMeter, RenderWorkerPool, type RenderJob, type RenderReply } from '../../web/render-pool.js';
import { randomSeed, Rng } from '../reference/random.js';

const seed = randomSeed();
const ctx = (what: string) => `${what} (seed ${seed}; replay with WEBFER_SEED=${seed})`;

type Behaviour = (job: RenderJob) => RenderReply | 'crash';

/** A stand-in for a Web Worker: renders in this thread and answers after a random delay. */
class FakeWorker {
  onmessage: ((event: { data: RenderReply }) => void) | null = null;
  onerror: ((event: { message: string; preventDefault(): void }) => void) | null = null;
  onmessageerror: (() => void) | null = null;
  terminated = false;
  busy = 0;
  maxBusy = 0;

  constructor(private readonly rng: Rng, private readonly behave: Behaviour) {}

  postMessage(job: RenderJob): void {
    this.maxBusy = Math.max(this.maxBusy, ++this.busy);
    setTimeout(() => {
      this.busy--;
      if (this.terminated) return;
      const reply = this.behave(job);
      if (reply === 'crash') this.onerror?.({ message: 'Uncaught RangeError: out of memory', preventDefault: () => {} });
      else this.onmessage?.({ data: reply });
    }, this.rng.int(0, 15));
  }

  terminate(): void { this.terminated = true; }
}

async function failureOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected the render to fail');
}

const render: Behaviour = (job) => ({ id: job.id, image: renderSynthSample(job.options, job.spec).image });

function poolOf(size: number, rng: Rng, behave: Behaviour = render): { pool: RenderWorkerPool; workers: FakeWorker[] } {
  const workers: FakeWorker[] = [];
  const pool = new RenderWorkerPool(size, () => {
    const worker = new FakeWorker(rng, behave);
    workers.push(worker);
    return worker as unknown as Worker;
  });
  return { pool, workers };
}

test('RenderWorkerPool: every face returns to its render, equal to the single-thread render, whatever the order', async () => {
  const rng = new Rng(seed);
  const options: SynthOptions = { subjects: 2, expressions: 2, framesPerClip: 1, size: 64, seed: rng.int(1, 1000) };
  const specs = listSynthSpecs(options);
  const size = rng.int(2, 4);
  const { pool, workers } = poolOf(size, rng);
  pool.start();
  assert.is(workers.length, size, ctx('start() starts every worker before the first face'));
  const images = await Promise.all(specs.map((spec) => pool.render(options, spec)));
  specs.forEach((spec, i) => assert.equal(images[i]!.data, renderSynthSample(options, spec).image.data, ctx(`${synthSamplePath(spec)} on ${size} workers`)));
  assert.is(workers.length, size, ctx('no worker started twice'));
  assert.ok(workers.every((worker) => worker.maxBusy <= 2), ctx('at most two faces sent ahead to a worker'));
  pool.close();
  assert.ok(workers.every((worker) => worker.terminated), 'close stops every worker');
  assert.match(await failureOf(pool.render(options, specs[0]!)), /render worker pool is closed/);
});

test('RenderWorkerPool: a failed render names the worker and the image; the pool goes on', async () => {
  const rng = new Rng(seed + 1);
  const options: SynthOptions = { subjects: 1, expressions: 2, framesPerClip: 1, size: 64, seed: rng.int(1, 1000) };
  const specs = listSynthSpecs(options);
  const bad = specs[rng.int(0, specs.length - 1)]!;
  const { pool } = poolOf(1, rng, (job) => (synthSamplePath(job.spec) === synthSamplePath(bad) ? { id: job.id, failed: 'the scene has no face' } : render(job)));
  const results = await Promise.allSettled(specs.map((spec) => pool.render(options, spec)));
  const failures = results.flatMap((result) => (result.status === 'rejected' ? [(result.reason as Error).message] : []));
  assert.is(failures.length, 1, ctx(failures.join('\n')));
  assert.ok(failures[0]!.includes(synthSamplePath(bad)) && failures[0]!.includes('render worker 1 of 1 failed: the scene has no face'), ctx(failures[0]!));
  assert.is(results.filter((result) => result.status === 'fulfilled').length, specs.length - 1, ctx('the other faces render'));
  pool.close();
});

test('RenderWorkerPool: a worker that cannot run fails every waiting render and later ones, in one line', async () => {
  const rng = new Rng(seed + 2);
  const options: SynthOptions = { subjects: 1, expressions: 3, framesPerClip: 1, size: 64, seed: rng.int(1, 1000) };
  const specs = listSynthSpecs(options);
  const { pool, workers } = poolOf(2, rng, (job) => (job.id === 1 ? 'crash' : render(job)));
  const results = await Promise.allSettled(specs.map((spec) => pool.render(options, spec)));
  const messages = results.flatMap((result) => (result.status === 'rejected' ? [(result.reason as Error).message] : []));
  // Worker 2 held faces 1 and 3 from the start; how many others worker 1 finished first is up to the timers.
  assert.ok(messages.length >= 2, ctx(`${messages.length} of ${specs.length} failed`));
  results.forEach((result, i) => result.status === 'fulfilled' && assert.equal(result.value.data, renderSynthSample(options, specs[i]!).image.data, ctx(`face ${i} finished before the crash`)));
  assert.ok(messages.every((message) => message === messages[0] && /^render worker 2 of 2 failed to run: Uncaught RangeError: out of memory$/.test(message)), ctx(messages[0]!));
  assert.ok(workers.every((worker) => worker.terminated), 'every worker stopped');
  assert.match(await failureOf(pool.render(options, specs[0]!)), /render worker 2 of 2 failed to run/);
});

test('defaultRenderWorkers: one core left for training, at least 1, at most 4; ?renderWorkers is checked', () => {
  assert.equal([undefined, 0, 1, 2, 3, 5, 16].map((cores) => defaultRenderWorkers(cores)), [1, 1, 1, 1, 2, 4, 4]);
  assert.is(parseRenderWorkers(null), undefined);
  assert.is(parseRenderWorkers('0'), 0);
  assert.is(parseRenderWorkers('3'), 3);
  for (const bad of ['', 'two', '-1', '1.5', '17']) {
    assert.throws(() => parseRenderWorkers(bad), (error: Error) => error.message === `?renderWorkers=${bad} in the page address: expected an integer from 0 to 16 (0 renders the faces in the training worker's own thread); fix or remove it and reload`, bad);
  }
  assert.throws(() => new RenderWorkerPool(0), /render workers must be a positive integer, got 0/);
});

test('RenderMeter: images per busy second, overlapping renders counted once, cached faces not at all', async () => {
  const rng = new Rng(seed + 3);
  let clock = 0;
  const meter = new RenderMeter(() => clock);
  const releases: (() => void)[] = [];
  const slow = meter.wrap(() => new Promise((resolve) => releases.push(() => resolve({ width: 1, height: 1, channels: 1, data: new Uint8Array(1) }))));
  const idle = rng.int(100, 1000), busy = rng.int(100, 1000);
  clock = idle;
  const measured = meter.mark();
  const options: SynthOptions = { subjects: 1, expressions: 1 };
  const spec = listSynthSpecs(options)[0]!;
  const three = [slow(options, spec), slow(options, spec), slow(options, spec)];
  clock += busy;
  for (const release of releases) release();
  await Promise.all(three);
  clock += rng.int(100, 1000); // idle again: not counted
  const reading = measured();
  assert.equal(reading, { images: 3, seconds: busy / 1000 }, ctx('three overlapping renders over one busy stretch'));
  assert.is(describeRenderRate({ images: 24, seconds: 0.32 }, 'on 1 render worker'), '24 faces rendered in 0.32 s: 75 images/s on 1 render worker');
  assert.is(describeRenderRate({ images: 0, seconds: 0 }, 'on 1 render worker'), 'no faces rendered (all were rendered before)');
});

test.run();
