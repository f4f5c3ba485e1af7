// Renders synthetic images on worker threads (all cores by default). One pool serves both uses:
// `webfer synth` hands out batches of specs that each worker renders, encodes and writes itself
// (PNG encoding and file writes run in parallel too), and training asks for single images that
// come back as pixels (workerSynthRenderer). A failure reaches whoever awaits that job as one
// line naming the worker (and the image).
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { encodePng } from '../../data/codecs.js';
import { DataError } from '../../data/errors.js';
import { makeFolders } from '../atomic-write.js';
import type { ImageU8 } from '../../data/image.js';
import { formatLandmarks } from '../../data/landmarks.js';
import { renderSynthSample, type SynthOptions, type SynthSpec } from '../../data/synth/generator.js';
import { synthSamplePath, type SynthImageRenderer } from '../../data/synth/synth-dataset.js';

/** write: render, encode and write files into outDir; render: send the pixels back. */
export type SynthJob =
  | { type: 'write'; outDir: string; options: SynthOptions; specs: SynthSpec[] }
  | { type: 'render'; options: SynthOptions; spec: SynthSpec };
export type SynthJobMessage = SynthJob & { id: number };
export type SynthWorkerReply =
  | { type: 'written'; id: number; count: number }
  | { type: 'rendered'; id: number; image: ImageU8 }
  | { type: 'failed'; id: number; file?: string; message: string };
type SynthJobResult = Exclude<SynthWorkerReply, { type: 'failed' }>;

/** Where an image and its landmark file go, relative to the dataset folder. */
export function synthFilePaths(spec: SynthSpec): { image: string; landmarks: string } {
  const path = synthSamplePath(spec);
  return { image: `images/${path}`, landmarks: `landmarks/${path.replace(/\.png$/, '.txt')}` };
}

/**
 * Renders one image and writes its landmarks, then the image, each whole or not at all: an image
 * on disk means both files are complete (what a resumed run relies on).
 */
export function renderSynthFiles(outDir: string, options: SynthOptions, spec: SynthSpec): void {
  const sample = renderSynthSample(options, spec);
  const paths = synthFilePaths(spec);
  writeFileWhole(join(outDir, paths.landmarks), formatLandmarks(sample.landmarks));
  writeFileWhole(join(outDir, paths.image), encodePng(sample.image));
}

const madeFolders = new Set<string>();

/**
 * Temp file + rename, like writeFileAtomic (and with its temp names, so its stale-file cleanup
 * finds ours), but without the fsync: an fsync per file cost 12–15 ms here, as much as rendering
 * a 64 px face, twice per image. A killed process leaves whole files or temp files, never half a
 * file; only a power cut could leave a renamed file empty (`webfer inspect` finds those).
 */
function writeFileWhole(path: string, bytes: Uint8Array | string): void {
  const folder = dirname(path);
  if (!madeFolders.has(folder)) { makeFolders(folder, path); madeFolders.add(folder); }
  const temp = join(folder, `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  try {
    writeFileSync(temp, bytes);
    renameSync(temp, path);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
}

export function checkWorkerCount(workers: number): number {
  if (!Number.isInteger(workers) || workers < 1) throw new RangeError(`synth workers must be a positive integer, got ${workers}`);
  return workers;
}

interface PendingJob {
  message: SynthJobMessage;
  resolve: (reply: SynthJobResult) => void;
  reject: (error: Error) => void;
}

interface PoolWorker { worker: Worker; index: number; job?: PendingJob }

/**
 * Up to `size` worker threads, started as jobs arrive, each given the oldest waiting job when it
 * is free. A worker holds the process open only while it has a job, so a pool nobody closes does
 * not keep a finished command alive. A worker that crashes (rather than reporting a failed job)
 * breaks the pool: its job and every later one reject with that worker's error.
 */
export class SynthWorkerPool {
  readonly size: number;
  private readonly workers: PoolWorker[] = [];
  private readonly queue: PendingJob[] = [];
  private nextId = 0;
  private broken?: Error;
  private closed = false;

  constructor(size: number = availableParallelism()) {
    this.size = checkWorkerCount(size);
  }

  /** Workers started so far. */
  get started(): number { return this.workers.length; }

  run(job: SynthJob): Promise<SynthJobResult> {
    if (this.broken) return Promise.reject(this.broken);
    if (this.closed) return Promise.reject(new Error('synth worker pool is closed'));
    return new Promise((resolve, reject) => {
      this.queue.push({ message: { ...job, id: this.nextId++ }, resolve, reject });
      this.dispatch();
    });
  }

  /** Stops every worker; jobs still waiting reject. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.failAll(new Error('synth worker pool closed before the job ran'));
    await Promise.all(this.workers.map(({ worker }) => worker.terminate()));
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      let free = this.workers.find((entry) => !entry.job);
      if (!free && this.workers.length < this.size) free = this.startWorker();
      if (!free) return;
      const job = this.queue.shift()!;
      free.job = job;
      free.worker.ref();
      free.worker.postMessage(job.message);
    }
  }

  private startWorker(): PoolWorker {
    const entry: PoolWorker = { worker: startSynthWorker(), index: this.workers.length };
    this.workers.push(entry);
    const { worker } = entry;
    worker.on('message', (reply: SynthWorkerReply) => {
      const job = entry.job;
      if (!job || job.message.id !== reply.id) return;
      entry.job = undefined;
      worker.unref();
      if (reply.type === 'failed') {
        // A render names its image the way the dataset does (its sample path leads the line).
        if (job.message.type === 'render') job.reject(new DataError(`${this.workerName(entry)} failed: ${reply.message}`, { file: reply.file }));
        else job.reject(new Error(`${this.workerName(entry)} failed ${reply.file ? `on ${join(job.message.outDir, reply.file)}` : 'to start'}: ${reply.message}`));
      } else job.resolve(reply);
      this.dispatch();
    });
    worker.on('error', (error) => this.breakPool(entry, `to run: ${error.message}`));
    worker.on('exit', (code) => {
      if (!this.closed) this.breakPool(entry, `and exited with code ${code} before its images were done`);
    });
    return entry;
  }

  private workerName(entry: PoolWorker): string {
    return `synth worker ${entry.index + 1} of ${this.workers.length}`;
  }

  private breakPool(entry: PoolWorker, what: string): void {
    if (this.broken || this.closed) return;
    this.broken = new Error(`${this.workerName(entry)} failed ${what}`);
    entry.job?.reject(this.broken);
    entry.job = undefined;
    this.failAll(this.broken);
    for (const { worker } of this.workers) void worker.terminate();
  }

  private failAll(error: Error): void {
    for (const job of this.queue.splice(0)) job.reject(error);
  }
}

export interface SynthWorkerOptions {
  /** Worker threads (default: every core, os.availableParallelism()). */
  workers?: number;
  /** Images per message to a worker (default 8): small enough for a smooth rate, large enough to keep messages rare. */
  batchSize?: number;
  onProgress?: (done: number, total: number) => void;
}

/** Renders `specs` into outDir on worker threads; resolves once every file is written, rejects at the first failure. */
export async function renderSynthInWorkers(outDir: string, options: SynthOptions, specs: readonly SynthSpec[], run: SynthWorkerOptions = {}): Promise<void> {
  const workerCount = checkWorkerCount(run.workers ?? availableParallelism());
  const batchSize = run.batchSize ?? 8;
  run.onProgress?.(0, specs.length);
  if (specs.length === 0) return;
  const pool = new SynthWorkerPool(Math.min(workerCount, Math.ceil(specs.length / batchSize)));
  let done = 0;
  try {
    const batches: Promise<void>[] = [];
    for (let start = 0; start < specs.length; start += batchSize) {
      batches.push(pool.run({ type: 'write', outDir, options, specs: specs.slice(start, start + batchSize) }).then((reply) => {
        done += reply.type === 'written' ? reply.count : 0;
        run.onProgress?.(done, specs.length);
      }));
    }
    await Promise.all(batches);
  } finally {
    await pool.close();
  }
}

/**
 * Renders each image on the pool's threads. The image is a pure function of (options, spec), so
 * which worker renders it, and in which order, changes no byte: what renderSynthSample gives here.
 */
export function workerSynthRenderer(pool: SynthWorkerPool): SynthImageRenderer {
  return async (options, spec) => {
    const reply = await pool.run({ type: 'render', options, spec });
    if (reply.type !== 'rendered') throw new Error(`synth worker answered a render with ${reply.type}`);
    return reply.image;
  };
}

/**
 * The worker runs compiled JS: in dist/ synth-worker.js sits next to this file. From the sources
 * (tsx: tests, `npm run bench`) the worker registers tsx itself before importing the .ts entry,
 * since Node 20 workers do not apply a parent's `--import tsx` to their entry module.
 */
function startSynthWorker(): Worker {
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./synth-worker.js', import.meta.url));
  const entry = new URL('./synth-worker.ts', import.meta.url).href;
  const tsx = import.meta.resolve('tsx/esm/api');
  return new Worker(`import(${JSON.stringify(tsx)}).then(({ register }) => { register(); return import(${JSON.stringify(entry)}); });`, { eval: true });
}
