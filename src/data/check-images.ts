/**
 * Decodes every image of a dataset once, before it is used, and parses the landmark file a sample
 * names: what `webfer inspect` reports and what `gan-train --skip-bad` filters by (its pose pairs
 * must be formed from readable images whose landmarks draw the target pose).
 */
import type { Dataset, Sample } from './dataset.js';
import { DataError, formatProblem, type DataProblem } from './errors.js';

export interface ImageCheck {
  /** The samples whose image decoded, in dataset order. */
  readable: Sample[];
  /** One problem per unreadable image, naming its file (and index line). */
  unreadable: DataProblem[];
  /** Readable images that had transparency, composited onto black (see fromRgba). */
  transparent: Sample[];
  /** JPEGs whose EXIF orientation asks viewers to turn or mirror them: read as stored, like PIL (see ImageU8.exifOrientation). */
  rotated: { sample: Sample; orientation: number }[];
  /** Images that are not square: resized to a square for the model, their aspect ratio not kept. */
  nonSquare: { sample: Sample; width: number; height: number }[];
}

export interface CheckImagesOptions {
  /** Record unreadable images and go on; otherwise the first one throws. */
  skipBad?: boolean;
  onProgress?: (done: number, total: number) => void;
}

export async function checkImages(dataset: Dataset, options: CheckImagesOptions = {}): Promise<ImageCheck> {
  const check: ImageCheck = { readable: [], unreadable: [], transparent: [], rotated: [], nonSquare: [] };
  const total = dataset.samples.length;
  for (let k = 0; k < total; k++) {
    const sample = dataset.samples[k]!;
    try {
      const image = await dataset.loadImage(sample);
      // A missing or malformed landmark file stopped gan-train mid-epoch while inspect said nothing.
      if (sample.landmarksPath !== undefined) await dataset.loadLandmarks?.(sample);
      check.readable.push(sample);
      if (image.alphaComposited) check.transparent.push(sample);
      if (image.exifOrientation !== undefined) check.rotated.push({ sample, orientation: image.exifOrientation });
      if (image.width !== image.height) check.nonSquare.push({ sample, width: image.width, height: image.height });
    } catch (error) {
      if (!options.skipBad) throw error;
      const message = error instanceof DataError ? error.message : formatProblem(error instanceof Error ? error.message : String(error), { file: sample.path });
      check.unreadable.push({ message, file: sample.path, line: sample.line });
    }
    if (k % 50 === 0 || k === total - 1) options.onProgress?.(k + 1, total);
  }
  return check;
}
