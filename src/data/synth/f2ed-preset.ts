/**
 * The f2ed preset: a synthetic set laid out with F²ED's published statistics (paper Sec. 3) so
 * that `webfer split` gives the paper's task sizes on it. Planning is pure counting: which
 * (subject, expression, clip, frame, pose) images exist, computed without rendering any.
 *
 * How the totals are hit (at scale 1; smaller scales keep the proportions):
 * - 119 subjects, 37 of them male and 82 female (identity priors), each performing a subset of
 *   the 54 expressions, one clip per (subject, expression) performed: 5,418 clips.
 * - Every frame has its front view; F's 74,985 images are the 74,985 frames (about 13.8 per clip,
 *   given to clips in proportion to their image counts). The other poses are views of some of
 *   those frames (cameras that dropped frames): HL 47,053 · HR 49,152 · BV 48,529 images, shared
 *   out over the clips by cumulative rounding, each on a seeded subset of the clip's frames.
 * - ER-SS and ER-UP follow from the totals alone: 219,719 images split 175,000 / 19,719 /
 *   25,000, and ⌊90 % of 47,053⌋ = 42,347 half-left images to test (177,372 train).
 * - ER-ZID's 21 held-out subjects and ER-UE's 11 rare expressions are drawn by the split's seed.
 *   For the default split seed (0) the plan sizes them to the paper's image counts: the 21
 *   held-out subjects perform fewer expressions (about 36 against 48) and hold 30,413 images
 *   (189,306 train); the rare expressions hold 8 × 4,115 + 3 × 4,114 images, whose ⌊90 %⌋ sum to
 *   40,730 test images (178,989 train), the other 43 expressions 4,057–4,058 each. Other split
 *   seeds pick other subjects and expressions: their subject and class counts hold, image counts
 *   come out close to the paper's.
 * Everything random in the layout (who performs what, clip lengths, which frames a side camera
 * kept) is seeded by the synth seed, so a (preset, scale, seed) always plans the same images.
 */
import { POSES, NUM_EXPRESSIONS, type Pose } from '../labels.js';
import { Random, hashSeed } from '../random.js';
import {
  RARE_TEST_FRACTION, splitUnbalancedExpressions, splitZeroShotIdentities, type SplitRow,
} from '../splits.js';
import type { Sex } from './face-model.js';
import { F2ED_POSE_COUNTS, synthSubjectName, type SynthOptions, type SynthSpec } from './generator.js';

/** F²ED as published, with the task sizes its own totals imply (see splits.ts). */
export const F2ED_STATISTICS = {
  images: 219_719, subjects: 119, males: 37, expressions: NUM_EXPRESSIONS, clips: 5_418,
  poses: F2ED_POSE_COUNTS, size: 256 as const,
  erUeTest: 40_730, erZidTest: 30_413,
} as const;

export const SYNTH_PRESETS = { f2ed: 1, 'f2ed-small': 0.1 } as const;
export type SynthPreset = keyof typeof SYNTH_PRESETS;
export const SYNTH_PRESET_NAMES = Object.keys(SYNTH_PRESETS) as SynthPreset[];
/** Below 1 % the set has fewer clips than expressions and the proportions no longer hold. */
export const MIN_F2ED_SCALE = 0.01;
/** ER-ZID needs subjects to hold out and both sexes should appear, also at 1 %. */
const MIN_SUBJECTS = 6;
/** The split seed whose rare expressions and held-out subjects get the paper's image counts. */
export const F2ED_DESIGN_SPLIT_SEED = 0;

export interface F2edPlanOptions { scale?: number; seed?: number }

export interface F2edCounts {
  images: number; subjects: number; males: number; females: number; expressions: number; clips: number; frames: number;
  poses: Record<Pose, number>;
  perExpression: number[];
  /** Images per subject, by subject index. */
  perSubject: number[];
}

export interface F2edPlan {
  scale: number;
  seed: number;
  subjectSexes: Sex[];
  /** Every image, in file order (subject, expression, clip, frame, pose). */
  specs: SynthSpec[];
  counts: F2edCounts;
  /** What split seed 0 gives: the rare expressions and held-out subjects the plan was sized for. */
  design: { rareExpressions: number[]; heldOutSubjects: string[]; erUeTest: number; erZidTest: number };
}

/** A scale in [MIN_F2ED_SCALE, 1], or a RangeError saying what to give. */
export function checkF2edScale(scale: number): number {
  if (!Number.isFinite(scale) || scale < MIN_F2ED_SCALE || scale > 1) {
    throw new RangeError(`F²ED scale must be between ${MIN_F2ED_SCALE} and 1 (a fraction of its 219,719 images), got ${scale}`);
  }
  return scale;
}

/** The synth options that render a plan's specs: size, channels and the like come from the caller. */
export function f2edSynthOptions(plan: F2edPlan, render: Omit<SynthOptions, 'subjects' | 'subjectSexes' | 'expressions' | 'expressionIds' | 'seed'> = {}): SynthOptions {
  return { size: F2ED_STATISTICS.size, ...render, subjects: plan.subjectSexes.length, subjectSexes: plan.subjectSexes, seed: plan.seed };
}

export function planF2edSynth(options: F2edPlanOptions = {}): F2edPlan {
  const scale = checkF2edScale(options.scale ?? 1);
  const seed = options.seed ?? 0;
  const random = new Random(hashSeed(seed, 'f2ed-plan'));
  const stats = F2ED_STATISTICS;
  const images = Math.round(stats.images * scale);
  const subjects = Math.max(MIN_SUBJECTS, Math.round(stats.subjects * scale));
  const expressions = stats.expressions;
  // Two clips per expression at least, so that held-out and kept subjects share every expression
  // they can trade images in (below 2 % of F²ED the clips get shorter instead of fewer).
  const clips = Math.min(subjects * expressions, Math.max(2 * expressions, Math.round(stats.clips * scale)));
  const poseCounts = apportionByWeights(images, POSES.map((pose) => stats.poses[pose]));
  const posesWanted = Object.fromEntries(POSES.map((pose, k) => [pose, poseCounts[k]!])) as Record<Pose, number>;

  const males = Math.round((subjects * stats.males) / stats.subjects);
  const maleSet = new Set(random.shuffle([...Array(subjects).keys()]).slice(0, males));
  const subjectSexes: Sex[] = [...Array(subjects).keys()].map((subject) => (maleSet.has(subject) ? 'male' : 'female'));

  // The rare expressions and held-out subjects that `webfer split --seed 0` will draw.
  const subjectNames = [...Array(subjects).keys()].map(synthSubjectName);
  const probe: SplitRow[] = [...Array(Math.max(subjects, expressions)).keys()].map((k) => ({ subject: subjectNames[k % subjects]!, pose: 'F', expression: k % expressions }));
  const rareExpressions = splitUnbalancedExpressions(probe, F2ED_DESIGN_SPLIT_SEED).rareExpressions!;
  const heldOutSubjects = splitZeroShotIdentities(probe, F2ED_DESIGN_SPLIT_SEED).testSubjects!;
  const heldOut = new Set(heldOutSubjects.map((name) => subjectNames.indexOf(name)));
  const erUeTest = Math.round((stats.erUeTest * images) / stats.images);
  const erZidTest = Math.round((stats.erZidTest * images) / stats.images);

  const perExpression = expressionTotals(images, rareExpressions, erUeTest, random);
  const clipsPerExpression = apportionByWeights(clips, perExpression);
  const heldOutClips = Math.round((erZidTest / images) * clips);
  const clipsPerSubject = subjectClipCounts(subjects, heldOut, heldOutClips, clips, expressions, random);
  const performs = clipLayout(clipsPerSubject, clipsPerExpression, random);
  const clipImages = clipImageCounts(performs, perExpression, heldOut, erZidTest, random);
  const specs = framesAndPoses(clipImages, posesWanted, seed);

  const counts: F2edCounts = { ...countSpecs(specs, subjects, expressions), males, females: subjects - males };
  const expect = (what: string, got: number, wanted: number) => {
    if (got !== wanted) throw new Error(`planF2edSynth(scale ${scale}, seed ${seed}): ${what} came out ${got}, planned ${wanted}`);
  };
  expect('images', counts.images, images);
  expect('clips', counts.clips, clips);
  for (const pose of POSES) expect(`${pose} images`, counts.poses[pose], posesWanted[pose]);
  perExpression.forEach((wanted, expression) => expect(`expression ${expression}'s images`, counts.perExpression[expression]!, wanted));
  expect('held-out subjects\' images', [...heldOut].reduce((sum, subject) => sum + counts.perSubject[subject]!, 0), erZidTest);
  return { scale, seed, subjectSexes, specs, counts, design: { rareExpressions, heldOutSubjects, erUeTest, erZidTest } };
}

/**
 * Images per expression: the rare ones sized so that ⌊90 %⌋ of each (what ER-UE sends to test)
 * sums to `rareTest`, the others sharing the rest equally.
 */
function expressionTotals(images: number, rareExpressions: readonly number[], rareTest: number, random: Random): number[] {
  const totals = new Array<number>(NUM_EXPRESSIONS).fill(0);
  const testShares = apportionByWeights(rareTest, rareExpressions.map(() => 1), random);
  rareExpressions.forEach((expression, k) => {
    // The smallest count whose test part (splits.ts's own arithmetic) is this share.
    let count = Math.max(1, Math.floor(testShares[k]! / RARE_TEST_FRACTION) - 1);
    while (Math.floor(RARE_TEST_FRACTION * count) < testShares[k]!) count++;
    if (Math.floor(RARE_TEST_FRACTION * count) !== testShares[k]) throw new Error(`no class size sends ${testShares[k]} images to test`);
    totals[expression] = count;
  });
  const common = [...Array(NUM_EXPRESSIONS).keys()].filter((expression) => !rareExpressions.includes(expression));
  const rest = images - totals.reduce((sum, count) => sum + count, 0);
  apportionByWeights(rest, common.map(() => 1), random).forEach((count, k) => { totals[common[k]!] = count; });
  return totals;
}

/**
 * Clips per subject: the held-out subjects share `heldOutClips`, the others the rest, each
 * subject ±15 % around its group's mean, never more than one clip per expression.
 */
function subjectClipCounts(subjects: number, heldOut: ReadonlySet<number>, heldOutClips: number, clips: number, expressions: number, random: Random): number[] {
  const counts = new Array<number>(subjects).fill(0);
  for (const [members, total] of [[[...heldOut], heldOutClips], [[...Array(subjects).keys()].filter((s) => !heldOut.has(s)), clips - heldOutClips]] as const) {
    const weights = members.map(() => random.uniform(0.85, 1.15));
    apportionByWeights(total, weights, random, 1, expressions).forEach((count, k) => { counts[members[k]!] = count; });
  }
  return counts;
}

/**
 * Which expressions each subject performs: a 0/1 matrix with the given row sums (clips per
 * subject) and column sums (clips per expression), built by Ryser's greedy rule — longest rows
 * first, each taking the columns with the most clips still to place (ties in seeded order).
 */
function clipLayout(perSubject: readonly number[], perExpression: readonly number[], random: Random): boolean[][] {
  const remaining = perExpression.slice();
  const performs = perSubject.map(() => new Array<boolean>(perExpression.length).fill(false));
  const order = [...perSubject.keys()].sort((a, b) => perSubject[b]! - perSubject[a]! || a - b);
  for (const subject of order) {
    const tieBreak = perExpression.map(() => random.random());
    const columns = [...perExpression.keys()].sort((a, b) => remaining[b]! - remaining[a]! || tieBreak[a]! - tieBreak[b]!);
    for (const expression of columns.slice(0, perSubject[subject])) {
      if (remaining[expression]! <= 0) throw new Error(`clip layout: no expression left for subject ${subject} (clips per subject and per expression do not fit)`);
      remaining[expression]!--;
      performs[subject]![expression] = true;
    }
  }
  if (remaining.some((count) => count !== 0)) throw new Error('clip layout: some expressions kept clips unplaced');
  return performs;
}

interface ClipImages { subject: number; expression: number; images: number }

/**
 * Images per clip: each expression's total shared equally over its clips, then single images
 * moved between a held-out and a kept subject's clip of the same expression until the held-out
 * subjects hold `heldOutImages` (expression totals unchanged).
 */
function clipImageCounts(performs: readonly boolean[][], perExpression: readonly number[], heldOut: ReadonlySet<number>, heldOutImages: number, random: Random): ClipImages[] {
  const byExpression: ClipImages[][] = perExpression.map((total, expression) => {
    const clips = performs.flatMap((row, subject) => (row[expression] ? [{ subject, expression, images: 0 }] : []));
    apportionByWeights(total, clips.map(() => 1), random).forEach((count, k) => { clips[k]!.images = count; });
    return clips;
  });
  const all = byExpression.flat();
  let surplus = heldOutImages - all.filter((clip) => heldOut.has(clip.subject)).reduce((sum, clip) => sum + clip.images, 0);
  const movable = byExpression.filter((clips) => clips.some((c) => heldOut.has(c.subject)) && clips.some((c) => !heldOut.has(c.subject)));
  for (let turn = 0; surplus !== 0; turn++) {
    if (movable.length === 0 || turn > 100 * all.length) throw new Error(`clip sizes: cannot move ${surplus} images between held-out and kept subjects`);
    const clips = movable[turn % movable.length]!;
    const toHeldOut = surplus > 0;
    const donors = clips.filter((c) => heldOut.has(c.subject) !== toHeldOut && c.images > MIN_CLIP_IMAGES);
    const takers = clips.filter((c) => heldOut.has(c.subject) === toHeldOut);
    if (donors.length === 0) continue;
    const donor = donors.reduce((a, b) => (b.images > a.images ? b : a));
    const taker = takers.reduce((a, b) => (b.images < a.images ? b : a));
    donor.images--; taker.images++;
    surplus += toHeldOut ? -1 : 1;
  }
  return all.sort((a, b) => a.subject - b.subject || a.expression - b.expression);
}

/** A clip needs frames for its side views: 4 images make at least one full frame. */
const MIN_CLIP_IMAGES = 4;

/**
 * Frames per clip (the front views) in proportion to its images; the side views shared out by
 * cumulative rounding so every pose total is exact, each on a seeded subset of the clip's frames.
 */
function framesAndPoses(clips: readonly ClipImages[], poses: Record<Pose, number>, seed: number): SynthSpec[] {
  const frames = apportionByWeights(poses.F, clips.map((clip) => clip.images), undefined, 1);
  const sideTotal = poses.HL + poses.HR + poses.BV;
  const specs: SynthSpec[] = [];
  let sideBefore = 0;
  clips.forEach((clip, k) => {
    const clipFrames = frames[k]!;
    const side = clip.images - clipFrames;
    const sideAfter = sideBefore + side;
    const cut = (count: number, share: number) => Math.round((count * share) / sideTotal);
    const hl = cut(sideAfter, poses.HL) - cut(sideBefore, poses.HL);
    const hlHr = cut(sideAfter, poses.HL + poses.HR) - cut(sideBefore, poses.HL + poses.HR);
    const perPose: Record<Pose, number> = { F: clipFrames, HL: hl, HR: hlHr - hl, BV: side - hlHr };
    sideBefore = sideAfter;
    const has = new Map<Pose, Set<number>>();
    for (const pose of POSES) {
      if (perPose[pose] < 0 || perPose[pose] > clipFrames) throw new Error(`clip of subject ${clip.subject}, expression ${clip.expression}: ${perPose[pose]} ${pose} views for ${clipFrames} frames`);
      const order = new Random(hashSeed(seed, 'f2ed-views', clip.subject, clip.expression, pose)).permutation(clipFrames);
      has.set(pose, new Set(order.slice(0, perPose[pose])));
    }
    for (let frame = 0; frame < clipFrames; frame++) {
      for (const pose of POSES) {
        if (has.get(pose)!.has(frame)) specs.push({ subject: clip.subject, expression: clip.expression, clip: 0, frame, pose, clipFrames });
      }
    }
  });
  return specs;
}

/** Counts a spec list the way the split rules see it. */
export function countSpecs(specs: readonly SynthSpec[], subjects: number, expressions = NUM_EXPRESSIONS): Omit<F2edCounts, 'males' | 'females'> {
  const poses = Object.fromEntries(POSES.map((pose) => [pose, 0])) as Record<Pose, number>;
  const perExpression = new Array<number>(expressions).fill(0), perSubject = new Array<number>(subjects).fill(0);
  const clipKeys = new Set<number>(), frameKeys = new Set<string>();
  for (const spec of specs) {
    poses[spec.pose]++;
    perExpression[spec.expression]++;
    perSubject[spec.subject]++;
    clipKeys.add((spec.subject * expressions + spec.expression) * 1024 + spec.clip);
    frameKeys.add(`${spec.subject}/${spec.expression}/${spec.clip}/${spec.frame}`);
  }
  return {
    images: specs.length, subjects: perSubject.filter((count) => count > 0).length,
    expressions: perExpression.filter((count) => count > 0).length, clips: clipKeys.size, frames: frameKeys.size,
    poses, perExpression, perSubject,
  };
}

/**
 * Splits `total` into integers proportional to `weights` (largest remainders; ties in seeded
 * order when a Random is given, else by position), each within [min, max] when given.
 */
export function apportionByWeights(total: number, weights: readonly number[], random?: Random, min = 0, max = Infinity): number[] {
  const counts = new Array<number>(weights.length).fill(0);
  const free = new Set(weights.keys());
  let left = total;
  // Clamp and redistribute until no share leaves [min, max].
  for (;;) {
    const weightSum = [...free].reduce((sum, k) => sum + weights[k]!, 0);
    const ideal = new Map([...free].map((k) => [k, (left * weights[k]!) / weightSum]));
    const clamped = [...free].filter((k) => ideal.get(k)! < min || ideal.get(k)! > max);
    if (clamped.length === 0) {
      const floors = [...free].map((k) => [k, Math.floor(ideal.get(k)!)] as const);
      floors.forEach(([k, count]) => { counts[k] = count; });
      let remainder = left - floors.reduce((sum, [, count]) => sum + count, 0);
      const tie = weights.map(() => random?.random() ?? 0);
      const byRemainder = [...free].sort((a, b) => (ideal.get(b)! - counts[b]!) - (ideal.get(a)! - counts[a]!) || tie[a]! - tie[b]! || a - b);
      for (const k of byRemainder) { if (remainder <= 0) break; counts[k]!++; remainder--; }
      return counts;
    }
    for (const k of clamped) {
      counts[k] = ideal.get(k)! < min ? min : max;
      left -= counts[k]!;
      free.delete(k);
    }
    if (free.size === 0) throw new Error(`cannot split ${total} into ${weights.length} parts within [${min}, ${max}]`);
  }
}
