// The page's render workers: synthetic faces rendered on their own Web Workers (web/render-worker.ts)
// for the training worker, so the training data and the gallery render in parallel while the
// training worker's thread stays free for the GPU work. Each image is a pure function of
// (options, spec), so which worker renders it, and in which order, changes no byte: the pool is
// the `render` hook of createSynthDataset, the same one Node fills with worker threads.
import { DataError } from '../src/data/errors.js';
import type { ImageU8 } from '../src/data/image.js';
import type { SynthOptions, SynthSpec } from '../src/data/synth/generator.js';
import { synthSamplePath, type SynthImageRenderer } from '../src/data/synth/synth-dataset.js';

export interface RenderJob { id: number; options: SynthOptions; spec: SynthSpec }
export type RenderReply = { id: number; image: ImageU8 } | { id: number; failed: string };

/** The most render workers the page starts: past this, a face renders faster than a batch trains. */
export const MAX_RENDER_WORKERS = 4;

/** One core left for the training worker's own thread; at least one, at most MAX_RENDER_WORKERS. */
export function defaultRenderWorkers(hardwareConcurrency: number | undefined): number {
  const cores = Number.isInteger(hardwareConcurrency) && hardwareConcurrency! > 0 ? hardwareConcurrency! : 1;
  return Math.min(MAX_RENDER_WORKERS, Math.max(1, cores - 1));
}

interface PendingJob {
  message: RenderJob;
  resolve: (image: ImageU8) => void;
  reject: (error: Error) => void;
}

interface PoolWorker { worker: Worker; index: number; jobs: Map<number, PendingJob> }

/**
 * Faces sent to one worker ahead of its replies: with two, a worker finds its next face waiting
 * when it finishes one instead of idling for a round trip through a busy training thread.
 */
const JOBS_PER_WORKER = 2;

/** Starts web/render-worker.js, bundled next to the training worker's script. */
export function startRenderWorker(): Worker {
  return new Worker(new URL('./render-worker.js', import.meta.url), { type: 'module' });
}

/**
 * Up to `size` render workers, started as jobs arrive (or all at once by start()); the oldest
 * waiting job goes to an idle worker, else a new one, else one with fewer than JOBS_PER_WORKER
 * jobs. A failed render rejects its job with the worker and the image named; a worker that cannot
 * run (its script does not load, it throws outside a job) breaks the pool: every job it or any
 * other worker holds, and every later one, rejects with that error.
 */
export class RenderWorkerPool {
  readonly size: number;
  private readonly workers: PoolWorker[] = [];
  private readonly queue: PendingJob[] = [];
  private nextId = 0;
  private broken?: Error;
  private closed = false;

  constructor(size: number, private readonly startWorker: () => Worker = startRenderWorker) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`render workers must be a positive integer, got ${size}`);
    this.size = size;
  }

  /** Workers started so far. */
  get started(): number { return this.workers.length; }

  /** Starts every worker now, so that loading their script overlaps other work instead of the first faces. */
  start(): void {
    while (!this.closed && !this.broken && this.workers.length < this.size) this.addWorker();
  }

  /** The pool as createSynthDataset's render hook. */
  readonly render: SynthImageRenderer = (options, spec) => {
    if (this.broken) return Promise.reject(this.broken);
    if (this.closed) return Promise.reject(new Error('the render worker pool is closed'));
    return new Promise<ImageU8>((resolve, reject) => {
      this.queue.push({ message: { id: this.nextId++, options, spec }, resolve, reject });
      this.dispatch();
    });
  };

  /** Stops every worker; jobs still waiting or running reject. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const error = new Error('the render worker pool was closed before the face was rendered');
    for (const entry of this.workers) {
      for (const job of entry.jobs.values()) job.reject(error);
      entry.jobs.clear();
      entry.worker.terminate();
    }
    this.failQueued(error);
  }

  private dispatch(): void {
    while (this.queue.length > 0 && !this.broken) {
      let target = this.workers.find((entry) => entry.jobs.size === 0);
      if (!target && this.workers.length < this.size) target = this.addWorker();
      target ??= this.workers.find((entry) => entry.jobs.size < JOBS_PER_WORKER);
      if (!target) return;
      const job = this.queue.shift()!;
      target.jobs.set(job.message.id, job);
      target.worker.postMessage(job.message);
    }
  }

  private addWorker(): PoolWorker {
    const entry: PoolWorker = { worker: this.startWorker(), index: this.workers.length, jobs: new Map() };
    this.workers.push(entry);
    entry.worker.onmessage = (event: MessageEvent<RenderReply>) => {
      const reply = event.data;
      const job = entry.jobs.get(reply.id);
      if (!job) return;
      entry.jobs.delete(reply.id);
      if ('failed' in reply) job.reject(new DataError(`${this.workerName(entry)} failed: ${reply.failed}`, { file: synthSamplePath(job.message.spec) }));
      else job.resolve(reply.image);
      this.dispatch();
    };
    // Handled here (preventDefault), so the error reaches the awaiting render as one line instead
    // of surfacing as the training worker's own uncaught error.
    entry.worker.onerror = (event: ErrorEvent) => {
      event.preventDefault();
      this.breakPool(entry, event.message ? `to run: ${event.message}` : 'to start (its script did not load: see the browser console)');
    };
    entry.worker.onmessageerror = () => this.breakPool(entry, 'to send a face back (the message could not be read)');
    return entry;
  }

  private workerName(entry: PoolWorker): string {
    return `render worker ${entry.index + 1} of ${this.size}`;
  }

  private breakPool(entry: PoolWorker, what: string): void {
    if (this.broken || this.closed) return;
    this.broken = new Error(`${this.workerName(entry)} failed ${what}`);
    for (const other of this.workers) {
      for (const job of other.jobs.values()) job.reject(this.broken);
      other.jobs.clear();
      other.worker.terminate();
    }
    this.failQueued(this.broken);
  }

  private failQueued(error: Error): void {
    for (const job of this.queue.splice(0)) job.reject(error);
  }
}

export interface RenderReading { images: number; seconds: number }

/**
 * Counts the images a renderer makes and the wall time during which at least one was being made,
 * so a rate in images/s means the same for one thread and for a pool, and cached faces (which
 * never reach the renderer) do not inflate it.
 */
export class RenderMeter {
  private images = 0;
  private busyMs = 0;
  private inFlight = 0;
  private busySince = 0;

  constructor(private readonly now: () => number = () => performance.now()) {}

  wrap(render: SynthImageRenderer): SynthImageRenderer {
    return async (options, spec) => {
      if (this.inFlight++ === 0) this.busySince = this.now();
      try {
        const image = await render(options, spec);
        this.images++;
        return image;
      } finally {
        if (--this.inFlight === 0) this.busyMs += this.now() - this.busySince;
      }
    };
  }

  /** Starts a measurement: the returned function gives the images made and the busy seconds since. */
  mark(): () => RenderReading {
    const images = this.images, seconds = this.seconds();
    return () => ({ images: this.images - images, seconds: this.seconds() - seconds });
  }

  private seconds(): number {
    return (this.busyMs + (this.inFlight > 0 ? this.now() - this.busySince : 0)) / 1000;
  }
}

/** "24 faces rendered in 0.31 s: 77 images/s on 1 render worker" (or "in the training worker's thread"). */
export function describeRenderRate(reading: RenderReading, renderers: string): string {
  const faces = `${reading.images} face${reading.images === 1 ? '' : 's'}`;
  if (reading.images === 0) return `no faces rendered (all were rendered before)`;
  const rate = reading.seconds > 0 ? `${(reading.images / reading.seconds).toFixed(reading.images / reading.seconds < 10 ? 1 : 0)} images/s` : 'too fast to time';
  return `${faces} rendered in ${reading.seconds.toFixed(2)} s: ${rate} ${renderers}`;
}

/** Where the faces render, in words: "on 3 render workers", or "in the training worker's own thread" for 0. */
export function describeRenderers(workers: number): string {
  return workers === 0 ? "in the training worker's own thread" : `on ${workers} render worker${workers === 1 ? '' : 's'}`;
}
