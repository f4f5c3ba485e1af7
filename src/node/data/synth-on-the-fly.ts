/**
 * A synthetic F²ED for training without files: images rendered on worker threads as the batch
 * loader asks for them (its prefetch keeps the workers ahead of the training loop) and kept in
 * memory after their first render while they fit.
 */
import { freemem, totalmem } from 'node:os';
import { cachedDataset, type Dataset } from '../../data/dataset.js';
import type { SynthOptions } from '../../data/synth/generator.js';
import { createSynthDataset } from '../../data/synth/synth-dataset.js';
import { SynthWorkerPool, workerSynthRenderer } from './synth-workers.js';

export interface OnTheFlySynthOptions {
  /** Rendering threads (default: every core). */
  workers?: number;
  /** Pixel bytes of rendered images to keep (default: defaultImageCacheBytes()). */
  cacheBytes?: number;
  /** Told once when the cache is full (the rest is rendered again every epoch). */
  onCacheFull?: (kept: { images: number; bytes: number }) => void;
}

export interface OnTheFlySynth {
  dataset: Dataset;
  workers: number;
  /** Stops the worker threads. */
  close(): Promise<void>;
}

export function openOnTheFlySynth(options: SynthOptions, run: OnTheFlySynthOptions = {}): OnTheFlySynth {
  const pool = new SynthWorkerPool(run.workers);
  const dataset = cachedDataset(createSynthDataset(options, workerSynthRenderer(pool)), { maxBytes: run.cacheBytes ?? defaultImageCacheBytes(), onFull: run.onCacheFull });
  return { dataset, workers: pool.size, close: () => pool.close() };
}

/** A quarter of the machine's memory, or half of what is free now if that is less. */
export function defaultImageCacheBytes(): number {
  return Math.floor(Math.min(totalmem() / 4, freemem() / 2));
}

/**
 * Batches a training loader should load ahead so that every worker has an image to render and
 * one waiting (at least the loader's usual 2).
 */
export function onTheFlyPrefetch(workers: number, batchSize: number): number {
  return Math.max(2, Math.ceil((2 * workers) / batchSize));
}
