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

/**
 * The same dataset, each image loaded (or rendered) once and kept: for sets that fit in memory
 * and cost more to load than to train on, such as the synthetic renderer's.
 */
export function cachedDataset(dataset: Dataset): Dataset {
  const cache = new Map<string, Promise<ImageU8>>();
  return {
    ...dataset,
    loadImage: (sample) => {
      let image = cache.get(sample.path);
      if (!image) cache.set(sample.path, (image = dataset.loadImage(sample)));
      return image;
    },
  };
}
