// Renders synthetic images on worker threads (all cores by default): the main thread hands out
// batches of specs, each worker renders, encodes and writes its images itself (PNG encoding and
// file writes run in parallel too), and a failure anywhere stops the run with one line naming
// the worker and the image.
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { encodePng } from '../../data/codecs.js';
import { formatLandmarks } from '../../data/landmarks.js';
import { renderSynthSample, type SynthOptions, type SynthSpec } from '../../data/synth/generator.js';
import { synthSamplePath } from '../../data/synth/synth-dataset.js';

export interface SynthBatch { id: number; outDir: string; options: SynthOptions; specs: SynthSpec[] }
export type SynthWorkerReply =
  | { type: 'done'; batch: number; count: number }
  | { type: 'failed'; batch: number; file?: string; message: string };

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
  if (!madeFolders.has(folder)) { mkdirSync(folder, { recursive: true }); madeFolders.add(folder); }
  const temp = join(folder, `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  try {
    writeFileSync(temp, bytes);
    renameSync(temp, path);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
}

export interface SynthWorkerOptions {
  /** Worker threads (default: every core, os.availableParallelism()). */
  workers?: number;
  /** Images per message to a worker (default 8): small enough for a smooth rate, large enough to keep messages rare. */
  batchSize?: number;
  onProgress?: (done: number, total: number) => void;
}

/** Renders `specs` into outDir on worker threads; resolves once every file is written. */
export async function renderSynthInWorkers(outDir: string, options: SynthOptions, specs: readonly SynthSpec[], run: SynthWorkerOptions = {}): Promise<void> {
  const workerCount = run.workers ?? availableParallelism();
  if (!Number.isInteger(workerCount) || workerCount < 1) throw new RangeError(`synth workers must be a positive integer, got ${workerCount}`);
  const batchSize = run.batchSize ?? 8;
  const batches: SynthBatch[] = [];
  for (let start = 0; start < specs.length; start += batchSize) {
    batches.push({ id: batches.length, outDir, options, specs: specs.slice(start, start + batchSize) });
  }
  run.onProgress?.(0, specs.length);
  if (batches.length === 0) return;

  const workers: Worker[] = [];
  const retired = new Set<Worker>(); // terminated by us: their exit is no failure
  const retire = (worker: Worker) => { retired.add(worker); void worker.terminate(); };
  await new Promise<void>((resolve, reject) => {
    let next = 0, finished = 0, done = 0, failed = false;
    const fail = (index: number, what: string) => {
      if (failed) return;
      failed = true;
      for (const worker of workers) retire(worker);
      reject(new Error(`synth worker ${index + 1} of ${workers.length} failed ${what}`));
    };
    const feed = (worker: Worker) => {
      if (next < batches.length) worker.postMessage(batches[next++]!);
      else retire(worker);
    };
    for (let index = 0; index < Math.min(workerCount, batches.length); index++) {
      const worker = startSynthWorker();
      workers.push(worker);
      worker.on('message', (reply: SynthWorkerReply) => {
        if (failed) return;
        if (reply.type === 'failed') {
          fail(index, `${reply.file ? `on ${join(outDir, reply.file)}` : 'to start'}: ${reply.message}`);
          return;
        }
        done += reply.count;
        run.onProgress?.(done, specs.length);
        if (++finished === batches.length) {
          for (const other of workers) retire(other);
          resolve();
        } else feed(worker);
      });
      worker.on('error', (error) => fail(index, `to run: ${error.message}`));
      worker.on('exit', (code) => {
        if (!retired.has(worker)) fail(index, `and exited with code ${code} before its images were written`);
      });
      feed(worker);
    }
  });
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
