/**
 * A dataset is a list of samples (labels and metadata, cheap) plus functions that load a
 * sample's pixels and landmarks (costly, async: a file read in Node, a fetch or an in-memory
 * array in a browser). Every loader — index CSV, FER2013, JAFFE, KDEF, CK+, folders, the
 * synthetic generator — produces this shape, so the batch loader and `inspect` serve them all.
 */
import type { DataProblem } from './errors.js';
import type { ImageU8 } from './image.js';
import type { SplitName } from './labels.js';

export interface Sample {
  /** File path (or a synthetic key); shown in errors. */
  path: string;
  /** Class id into Dataset.classes. */
  label: number;
  subject?: string;
  /** F²ED pose (HL, F, HR, BV) or KDEF angle (FL, HL, F, HR, FR). */
  pose?: string;
  split?: SplitName;
  clip?: number;
  frame?: number;
  landmarksPath?: string;
  /** 1-based line of the row that described this sample, for errors. */
  line?: number;
}

export interface Dataset {
  /** Loader name: index, fer2013, jaffe, kdef, ckplus, folder, synth. */
  format: string;
  /** Where it came from (a file, folder, or "synth"). */
  source: string;
  classes: readonly string[];
  samples: Sample[];
  /** Problems found while listing (only non-empty with skipBad). */
  problems: DataProblem[];
  loadImage(sample: Sample): Promise<ImageU8>;
  /** 68 landmarks in the image's pixel coordinates, when the dataset has them. */
  loadLandmarks?(sample: Sample): Promise<Float32Array | undefined>;
}

/** The same dataset restricted to some samples (a split, a pose, …). */
export function subsetDataset(dataset: Dataset, keep: (sample: Sample) => boolean): Dataset {
  return { ...dataset, samples: dataset.samples.filter(keep) };
}

/**
 * Refuses a split column filled on some samples and empty on others: the empty ones belong to no
 * part, and each reader of the column (train's parts, gan-train's and augment's train rows) would
 * leave them out unseen. `fix` says what else the command can do.
 */
export function assertSplitColumnFilled(dataset: Dataset, fix: string): void {
  if (!dataset.samples.some((s) => s.split !== undefined)) return;
  const unsplit = dataset.samples.filter((s) => s.split === undefined);
  if (unsplit.length === 0) return;
  const where = unsplit.slice(0, 3).map((s) => (s.line !== undefined ? `line ${s.line}` : s.path)).join(', ');
  throw new Error(`${dataset.source}: ${unsplit.length} of ${dataset.samples.length} rows have an empty split cell (${where}${unsplit.length > 3 ? ', …' : ''}) while others name train/val/test: fill in their split${fix}`);
}

export function splitDataset(dataset: Dataset, split: SplitName): Dataset {
  return subsetDataset(dataset, (sample) => sample.split === split);
}

/**
 * The dataset plus images held in memory (generated ones: FaPE-GAN re-posed faces). Each extra
 * sample's path must be unique; its image is served from memory, the others as before.
 */
export function withImages(dataset: Dataset, extra: readonly { sample: Sample; image: ImageU8 }[]): Dataset {
  const images = new Map<string, ImageU8>();
  for (const { sample, image } of extra) {
    if (images.has(sample.path) || dataset.samples.some((s) => s.path === sample.path)) throw new Error(`withImages: sample path ${sample.path} is not unique`);
    images.set(sample.path, image);
  }
  return {
    ...dataset,
    samples: [...dataset.samples, ...extra.map((e) => e.sample)],
    loadImage: (sample) => images.get(sample.path) ? Promise.resolve(images.get(sample.path)!) : dataset.loadImage(sample),
  };
}

export interface ImageCacheOptions {
  /** Pixel bytes to keep at most (default: no limit). */
  maxBytes?: number;
  /** Called once, when the first image does not fit: from then on such images are loaded each time. */
  onFull?: (kept: { images: number; bytes: number }) => void;
}

/**
 * The same dataset, each image loaded (or rendered) once and kept: for sets that cost more to
 * load than to train on, such as the synthetic renderer's. Concurrent requests for one image
 * share its load; a failed load is not kept. Under maxBytes the first images to arrive stay and
 * later ones are loaded again whenever asked for: with a shuffled order every epoch, any kept
 * subset saves as much as any other, and nothing is evicted and loaded twice.
 */
export function cachedDataset(dataset: Dataset, options: ImageCacheOptions = {}): Dataset {
  const cache = new Map<string, Promise<ImageU8>>();
  const maxBytes = options.maxBytes ?? Infinity;
  let keptBytes = 0, keptImages = 0, full = false;
  return {
    ...dataset,
    loadImage: (sample) => {
      const cached = cache.get(sample.path);
      if (cached) return cached;
      const image = dataset.loadImage(sample);
      cache.set(sample.path, image);
      image.then((loaded) => {
        if (keptBytes + loaded.data.byteLength <= maxBytes) {
          keptBytes += loaded.data.byteLength;
          keptImages++;
          return;
        }
        cache.delete(sample.path);
        if (!full) {
          full = true;
          options.onFull?.({ images: keptImages, bytes: keptBytes });
        }
      }, () => cache.delete(sample.path));
      return image;
    },
  };
}
