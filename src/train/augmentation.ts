// Augmentation planning with a trained FaPE-GAN (browser-safe): which training faces to re-pose
// into the rare pose (ER-UP), the rare expressions' missing poses (ER-UE) or, on the balanced
// tasks (ER-SS, ER-ZID), into other poses, with which pose reference, and the generator run over
// that plan. Files are written by src/cli/gan-commands.ts.
import { assertSplitColumnFilled, type Dataset, type Sample } from '../data/dataset.js';
import { DataError } from '../data/errors.js';
import { resize, toChannels, writeChw, type ImageU8 } from '../data/image.js';
import { POSES, EXPRESSIONS } from '../data/labels.js';
import { scaleLandmarks } from '../data/landmarks.js';
import { renderPoseMask } from '../data/pose-mask.js';
import { Random, hashSeed } from '../data/random.js';
import { RARE_EXPRESSION_FRACTION, RARE_POSE } from '../data/splits.js';
import type { FaPEGenerator } from '../models/fapegan.js';
import { generate, symmetricToImage } from './generate.js';

export const AUGMENT_TASKS = ['er-up', 'er-ue', 'er-ss', 'er-zid'] as const;
export type AugmentTask = (typeof AUGMENT_TASKS)[number];

/** One synthetic image to make: `source` re-posed to the pose drawn from `reference`'s landmarks. */
export interface AugmentationJob {
  source: Sample;
  /** A real image in the target pose whose landmarks give the pose mask. */
  reference: Sample;
  targetPose: string;
  /** The source's expression (G changes the pose, not the expression). */
  expression: number;
  subject: string;
}

export interface AugmentationPlan {
  task: AugmentTask;
  jobs: AugmentationJob[];
  /** ER-UP: the rare pose; ER-UE: the rare expressions (fewest training images). */
  rarePose?: string;
  rareExpressions?: number[];
  /** Training images per rare class (ER-SS / ER-ZID: per pose) before augmentation. */
  countsBefore: Record<string, number>;
}

/** ER-SS / ER-ZID: re-posed faces added, as a share of the training images (paper-like default). */
export const DEFAULT_REPOSE_SHARE = 0.5;

function trainPool(dataset: Dataset): Sample[] {
  assertSplitColumnFilled(dataset, ' (augment reads only the train rows of a split index)');
  const hasSplits = dataset.samples.some((s) => s.split !== undefined);
  return hasSplits ? dataset.samples.filter((s) => s.split === 'train') : dataset.samples;
}

function hasLandmarks(dataset: Dataset, sample: Sample): boolean {
  return dataset.loadLandmarks !== undefined && (dataset.format !== 'index' || sample.landmarksPath !== undefined);
}

/**
 * The best reference for re-posing `source` to `pose`: the same subject, expression and frame if
 * the training set has it, then the same subject and expression, the same subject, the same
 * expression, and finally any image in that pose (the mask's landmarks carry the face shape and
 * the mouth and eyes, so closer is better).
 */
function chooseReference(source: Sample, candidates: Sample[], random: Random): Sample {
  const tiers: ((c: Sample) => boolean)[] = [
    (c) => c.subject === source.subject && c.label === source.label && c.clip === source.clip && c.frame === source.frame,
    (c) => c.subject === source.subject && c.label === source.label,
    (c) => c.subject === source.subject,
    (c) => c.label === source.label,
    () => true,
  ];
  for (const tier of tiers) {
    const matches = candidates.filter(tier);
    if (matches.length > 0) return random.pick(matches);
  }
  throw new Error('chooseReference: no candidates');
}

/** Splits `total` over keys in proportion to weights (largest remainder). */
function apportion(weights: number[], total: number): number[] {
  const sum = weights.reduce((a, b) => a + b, 0);
  if (sum === 0) return weights.map(() => 0);
  const exact = weights.map((w) => (w / sum) * total);
  const counts = exact.map(Math.floor);
  const order = exact.map((v, i) => [v - Math.floor(v), i] as const).sort((a, b) => b[0] - a[0]);
  for (let k = 0; k < total - counts.reduce((a, b) => a + b, 0); k++) counts[order[k % order.length]![1]]++;
  return counts;
}

/**
 * Which synthetic images to make. Only the training split is used (sources and pose references),
 * so no test image leaks into training. By default the rare classes are topped up to the mean
 * count of the common ones; `count` sets the total instead.
 *   er-up: re-pose training images of the other poses to half-left (the rare pose).
 *   er-ue: re-pose training images of the rare expressions (the 20% with fewest training images)
 *          to the pose that expression has fewest images in.
 *   er-ss, er-zid: nothing is rare; re-pose `share` (default 0.5) × the training images, each into
 *          another pose, the pose with the fewest training images (so far) first.
 */
export function planAugmentation(dataset: Dataset, task: AugmentTask, options: { count?: number; seed?: number; share?: number } = {}): AugmentationPlan {
  const random = new Random(hashSeed(options.seed ?? 0, 'augment', task));
  const pool = trainPool(dataset).filter((s) => s.pose !== undefined && s.subject !== undefined);
  const mean = (values: number[]) => (values.length ? values.reduce((a, b) => a + b, 0) / values.length : 0);
  if (task === 'er-ss' || task === 'er-zid') return planRepose(dataset, task, pool, random, options);
  if (task === 'er-up') {
    const rarePose = RARE_POSE;
    const sources = random.shuffle(pool.filter((s) => s.pose !== rarePose));
    const references = pool.filter((s) => s.pose === rarePose && hasLandmarks(dataset, s));
    const before = pool.length - sources.length;
    const otherCounts = POSES.filter((p) => p !== rarePose).map((p) => pool.filter((s) => s.pose === p).length).filter((n) => n > 0);
    const count = options.count ?? Math.max(0, Math.round(mean(otherCounts)) - before);
    if (count > 0 && (sources.length === 0 || references.length === 0)) {
      throw new DataError('nothing to augment from', {
        file: dataset.source,
        expected: `training images in other poses and at least one ${rarePose} training image with landmarks (for the pose mask)`,
        got: `${sources.length} source images, ${references.length} ${rarePose} references`,
        hint: 'use the er-up split (webfer split --task er-up) of a dataset with a landmarks column',
      });
    }
    const jobs = Array.from({ length: count }, (_, k) => {
      const source = sources[k % sources.length]!;
      return { source, reference: chooseReference(source, references, random), targetPose: rarePose, expression: source.label, subject: source.subject! };
    });
    return { task, jobs, rarePose, countsBefore: { [rarePose]: before } };
  }

  const byExpression = new Map<number, Sample[]>();
  for (const s of pool) {
    let list = byExpression.get(s.label);
    if (!list) { list = []; byExpression.set(s.label, list); }
    list.push(s);
  }
  const expressions = [...byExpression.keys()].sort((a, b) => a - b);
  const rareCount = expressions.length < 2 ? 0 : Math.min(expressions.length - 1, Math.max(1, Math.round(RARE_EXPRESSION_FRACTION * expressions.length)));
  const rareExpressions = expressions.slice().sort((a, b) => byExpression.get(a)!.length - byExpression.get(b)!.length || a - b).slice(0, rareCount).sort((a, b) => a - b);
  const common = expressions.filter((e) => !rareExpressions.includes(e));
  const target = Math.round(mean(common.map((e) => byExpression.get(e)!.length)));
  const deficits = rareExpressions.map((e) => Math.max(0, target - byExpression.get(e)!.length));
  const perExpression = options.count === undefined ? deficits : apportion(deficits.some((d) => d > 0) ? deficits : rareExpressions.map(() => 1), options.count);
  const jobs: AugmentationJob[] = [];
  const countsBefore: Record<string, number> = {};
  rareExpressions.forEach((expression, r) => {
    const sources = random.shuffle(byExpression.get(expression)!.slice());
    countsBefore[EXPRESSIONS[expression] ?? String(expression)] = sources.length;
    const perPose = new Map<string, number>(POSES.map((p) => [p, sources.filter((s) => s.pose === p).length]));
    for (let k = 0; k < perExpression[r]!; k++) {
      const source = sources[k % sources.length]!;
      // The pose this expression is scarcest in (among poses other than the source's, with references).
      const poses = POSES.filter((p) => p !== source.pose && pool.some((s) => s.pose === p && hasLandmarks(dataset, s)));
      if (poses.length === 0) throw new DataError('no pose to re-pose to', { file: dataset.source, expected: 'training images with landmarks in a second pose', got: `only ${source.pose}` });
      const targetPose = poses.reduce((best, p) => (perPose.get(p)! < perPose.get(best)! ? p : best));
      perPose.set(targetPose, perPose.get(targetPose)! + 1);
      const references = pool.filter((s) => s.pose === targetPose && hasLandmarks(dataset, s));
      jobs.push({ source, reference: chooseReference(source, references, random), targetPose, expression, subject: source.subject! });
    }
  });
  return { task, jobs, rareExpressions, countsBefore };
}

function planRepose(dataset: Dataset, task: AugmentTask, pool: Sample[], random: Random, options: { count?: number; share?: number }): AugmentationPlan {
  const share = options.share ?? DEFAULT_REPOSE_SHARE;
  if (!(share >= 0 && Number.isFinite(share))) throw new RangeError(`planAugmentation(${task}): share must be a non-negative number, got ${share}`);
  const count = options.count ?? Math.round(share * pool.length);
  const perPose = new Map<string, number>(POSES.map((p) => [p, pool.filter((s) => s.pose === p).length]));
  const countsBefore = Object.fromEntries(perPose);
  const references = new Map<string, Sample[]>(POSES.map((p) => [p, pool.filter((s) => s.pose === p && hasLandmarks(dataset, s))]));
  const sources = random.shuffle(pool.slice());
  const jobs: AugmentationJob[] = [];
  for (let k = 0; k < count; k++) {
    const source = sources[k % Math.max(1, sources.length)];
    const poses = POSES.filter((p) => p !== source?.pose && references.get(p)!.length > 0);
    if (!source || poses.length === 0) {
      throw new DataError('nothing to re-pose', { file: dataset.source, expected: 'training images with landmarks in at least two poses', got: `${pool.length} training images in poses ${[...new Set(pool.map((s) => s.pose))].join(', ') || 'none'}` });
    }
    const targetPose = poses.reduce((best, p) => (perPose.get(p)! < perPose.get(best)! ? p : best));
    perPose.set(targetPose, perPose.get(targetPose)! + 1);
    jobs.push({ source, reference: chooseReference(source, references.get(targetPose)!, random), targetPose, expression: source.label, subject: source.subject! });
  }
  return { task, jobs, countsBefore };
}

/**
 * Runs the plan through G in batches; yields each job with its synthetic image (imageSize square,
 * the generator's channels). Source images are resized to the generator's size; the mask is drawn
 * from the reference's landmarks scaled to that size.
 */
export async function* generateAugmentation(generator: FaPEGenerator, dataset: Dataset, jobs: readonly AugmentationJob[], options: { batchSize?: number } = {}): AsyncGenerator<{ job: AugmentationJob; image: ImageU8 }> {
  const { channels, imageSize: size } = generator.config;
  const batchSize = options.batchSize ?? 8;
  const plane = size * size;
  for (let start = 0; start < jobs.length; start += batchSize) {
    const batch = jobs.slice(start, start + batchSize);
    const sources = new Float32Array(batch.length * channels * plane);
    const masks = new Float32Array(batch.length * plane);
    await Promise.all(batch.map(async (job, k) => {
      const [sourceImage, referenceImage, landmarks] = await Promise.all([
        dataset.loadImage(job.source), dataset.loadImage(job.reference), dataset.loadLandmarks?.(job.reference)]);
      if (!landmarks) {
        throw new DataError('pose reference has no landmarks', { file: job.reference.path, line: job.reference.line, expected: 'a landmarks file', got: 'none', hint: 'fill the landmarks column of the index' });
      }
      writeChw(resize(toChannels(sourceImage, channels), size, size), sources, k * channels * plane, 'symmetric');
      const mask = renderPoseMask(scaleLandmarks(landmarks, size / referenceImage.width, size / referenceImage.height), { width: size, height: size });
      for (let i = 0; i < plane; i++) masks[k * plane + i] = 2 * mask[i]! - 1;
    }));
    const generated = await generate(generator, sources, masks, batch.length);
    for (let k = 0; k < batch.length; k++) yield { job: batch[k]!, image: symmetricToImage(generated, k * channels * plane, channels, size) };
  }
}
