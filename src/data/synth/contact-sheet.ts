/** Image grids for eyeballing data: rows × columns of equally sized tiles on a dark background. */
import { createImage, toRgb, type ImageU8 } from '../image.js';
import { POSES, type Pose } from '../labels.js';
import { renderPoseMaskImage } from '../pose-mask.js';
import { renderSynthSample, type SynthOptions } from './generator.js';

export function composeGrid(rows: ImageU8[][], gap = 4): ImageU8 {
  const tileWidth = Math.max(...rows.flat().map((tile) => tile.width));
  const tileHeight = Math.max(...rows.flat().map((tile) => tile.height));
  const columns = Math.max(...rows.map((row) => row.length));
  const sheet = createImage(columns * (tileWidth + gap) + gap, rows.length * (tileHeight + gap) + gap, 3);
  sheet.data.fill(24);
  rows.forEach((row, r) => row.forEach((tile, c) => {
    const rgb = toRgb(tile);
    const left = gap + c * (tileWidth + gap), top = gap + r * (tileHeight + gap);
    for (let y = 0; y < rgb.height; y++) {
      sheet.data.set(rgb.data.subarray(y * rgb.width * 3, (y + 1) * rgb.width * 3), ((top + y) * sheet.width + left) * 3);
    }
  }));
  return sheet;
}

export interface ContactSheetOptions extends SynthOptions {
  subject?: number;
  /** Expression ids for the columns (default: neutral plus three of each family). */
  expressionIds?: readonly number[];
  poses?: readonly Pose[];
  /** Add a row of pose masks under each pose row. */
  masks?: boolean;
}

/** One subject in every pose (rows) × a few expressions (columns). */
export function synthContactSheet(options: ContactSheetOptions): ImageU8 {
  const expressionIds = options.expressionIds ?? [0, 5, 8, 14, 16, 22, 28, 29, 32, 41, 42, 46];
  const subject = options.subject ?? 0;
  const rows: ImageU8[][] = [];
  for (const pose of options.poses ?? POSES) {
    const samples = expressionIds.map((expression) => renderSynthSample(options, { subject, expression, clip: 0, frame: (options.framesPerClip ?? 3) - 1, pose }));
    rows.push(samples.map((sample) => sample.image));
    if (options.masks) rows.push(samples.map((sample) => renderPoseMaskImage(sample.landmarks, { width: sample.image.width, height: sample.image.height })));
  }
  return composeGrid(rows);
}
