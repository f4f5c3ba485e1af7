/** `webfer inspect`: what a dataset holds (counts per split, subject, pose, class) and what is wrong with it. */
import type { ImageCheck } from './check-images.js';
import type { Dataset } from './dataset.js';
import type { DataProblem } from './errors.js';
import { EXIF_ORIENTATIONS } from './codecs.js';

export interface DatasetSummary {
  format: string;
  source: string;
  images: number;
  classes: number;
  perSplit: Record<string, number>;
  perSubject: Record<string, number>;
  perPose: Record<string, number>;
  perClass: Record<string, number>;
  /** Problems found: bad rows/files skipped, empty classes, fewer than two classes, subjects in two splits. */
  problems: DataProblem[];
  /** Images with transparency, composited onto black (counted when the images were decoded). */
  transparentImages?: number;
  /** The first few of them. */
  transparentExamples?: string[];
  /** JPEGs with an EXIF orientation other than upright, read as stored (as PIL reads them). */
  rotatedImages?: number;
  /** The first few of them, with what their orientation asks. */
  rotatedExamples?: string[];
  /** Images that are not square: squashed to a square for the model. */
  nonSquareImages?: number;
  /** The first few of them, with their size. */
  nonSquareExamples?: string[];
}

function count(values: (string | undefined)[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const value of values) if (value !== undefined) counts[value] = (counts[value] ?? 0) + 1;
  return Object.fromEntries(Object.entries(counts).sort(([a], [b]) => a.localeCompare(b, 'en', { numeric: true })));
}

/** `check`: the result of decoding every image (checkImages), when that was done. */
export function summarizeDataset(dataset: Dataset, check?: Pick<ImageCheck, 'transparent' | 'rotated' | 'nonSquare'>): DatasetSummary {
  const samples = dataset.samples;
  const perClass: Record<string, number> = {};
  for (const name of dataset.classes) perClass[name] = 0;
  for (const sample of samples) {
    const name = dataset.classes[sample.label] ?? String(sample.label);
    perClass[name] = (perClass[name] ?? 0) + 1;
  }
  const problems: DataProblem[] = [...dataset.problems];
  const empty = Object.entries(perClass).filter(([, n]) => n === 0).map(([name]) => name);
  const withImages = Object.entries(perClass).filter(([, n]) => n > 0).map(([name]) => name);
  if (withImages.length === 1) problems.push({ message: `every image is of one class (${withImages[0]}): a classifier needs at least 2 classes with images; check the labels` });
  if (samples.length > 0 && empty.length > 0) problems.push({ message: `${empty.length} class(es) have no images: ${empty.slice(0, 10).join(', ')}${empty.length > 10 ? ', …' : ''}` });
  const splitsOfSubject = new Map<string, Set<string>>();
  for (const sample of samples) {
    if (sample.subject === undefined || sample.split === undefined) continue;
    let splits = splitsOfSubject.get(sample.subject);
    if (!splits) { splits = new Set(); splitsOfSubject.set(sample.subject, splits); }
    splits.add(sample.split);
  }
  const shared = [...splitsOfSubject].filter(([, splits]) => splits.size > 1).map(([subject]) => subject);
  if (shared.length > 0) problems.push({ message: `${shared.length} subject(s) appear in more than one split (fine for ER-SS/UE/UP, wrong for ER-ZID): ${shared.slice(0, 10).join(', ')}` });
  if (samples.length === 0) problems.push({ message: 'no images found: check the path and --format' });
  return {
    format: dataset.format, source: dataset.source, images: samples.length, classes: dataset.classes.length,
    perSplit: count(samples.map((s) => s.split ?? 'unsplit')), perSubject: count(samples.map((s) => s.subject)),
    perPose: count(samples.map((s) => s.pose)), perClass, problems,
    ...(check ? {
      transparentImages: check.transparent.length, transparentExamples: check.transparent.slice(0, 5).map((s) => s.path),
      rotatedImages: check.rotated.length, rotatedExamples: check.rotated.slice(0, 5).map(({ sample, orientation }) => `${sample.path} (${EXIF_ORIENTATIONS[orientation]})`),
      nonSquareImages: check.nonSquare.length, nonSquareExamples: check.nonSquare.slice(0, 5).map(({ sample, width, height }) => `${sample.path} (${width}×${height})`),
    } : {}),
  };
}

export function formatSummary(summary: DatasetSummary): string {
  const lines = [`${summary.source} (${summary.format}): ${summary.images} images, ${summary.classes} classes`];
  const table = (title: string, counts: Record<string, number>, limit = 60) => {
    const entries = Object.entries(counts);
    if (entries.length === 0) return;
    lines.push(`${title} (${entries.length}):`);
    const width = Math.max(...entries.slice(0, limit).map(([name]) => name.length));
    for (const [name, n] of entries.slice(0, limit)) lines.push(`  ${name.padEnd(width)}  ${n}`);
    if (entries.length > limit) lines.push(`  … ${entries.length - limit} more (use --json for all)`);
  };
  table('splits', summary.perSplit);
  table('poses', summary.perPose);
  table('classes', summary.perClass);
  table('subjects', summary.perSubject, 20);
  if (summary.transparentImages) {
    const more = summary.transparentImages > summary.transparentExamples!.length ? ', …' : '';
    lines.push(`${summary.transparentImages} image(s) with transparency, composited onto black: ${summary.transparentExamples!.join(', ')}${more}`);
  }
  if (summary.rotatedImages) {
    const more = summary.rotatedImages > summary.rotatedExamples!.length ? ', …' : '';
    lines.push(`${summary.rotatedImages} JPEG(s) whose EXIF orientation viewers apply, read as stored (as PIL and torchvision read them; turn them upright first): ${summary.rotatedExamples!.join(', ')}${more}`);
  }
  if (summary.nonSquareImages) {
    const more = summary.nonSquareImages > summary.nonSquareExamples!.length ? ', …' : '';
    lines.push(`${summary.nonSquareImages} image(s) not square, squashed to a square for the model (the aspect ratio is not kept; crop faces square first): ${summary.nonSquareExamples!.join(', ')}${more}`);
  }
  lines.push(summary.problems.length === 0 ? 'problems: none' : `problems (${summary.problems.length}):`);
  for (const problem of summary.problems.slice(0, 50)) lines.push(`  ${problem.message}`);
  if (summary.problems.length > 50) lines.push(`  … ${summary.problems.length - 50} more (use --json for all)`);
  return lines.join('\n');
}
