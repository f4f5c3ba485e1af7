// FaPE-GAN training (paper Eq. 1–3) and data augmentation with the trained generator;
// browser-safe (files are written by src/cli/gan-commands.ts).
//
//   L_GAN = E[log D(I_t, P)] + E[log(1 − D(G(I_i, P), P))]
//   D maximises L_GAN:  L_D = BCE(D(I_t, P), 1) + BCE(D(Î, P), 0)           (= −L_GAN, Î detached)
//   G minimises L_G = BCE(D(Î, P), 1) + λ·|I_t − Î|₁   (the non-saturating form of log(1 − D))
// with D's logits averaged over its patch grid (bceWithLogits, mean) and λ = 10. One step updates D
// then G, like pix2pix / PN-GAN; D's parameters are frozen during G's backward so their gradients
// are not computed for nothing.
import type { Dataset, Sample } from '../data/dataset.js';
import { DataError } from '../data/errors.js';
import { createImage, resize, toChannels, writeChw, type ImageU8 } from '../data/image.js';
import { encodePng } from '../data/codecs.js';
import { POSES, EXPRESSIONS } from '../data/labels.js';
import { scaleLandmarks } from '../data/landmarks.js';
import { PairedBatchLoader, type PairedBatch } from '../data/batch-loader.js';
import { renderPoseMask } from '../data/pose-mask.js';
import { Random, hashSeed } from '../data/random.js';
import { RARE_EXPRESSION_FRACTION, RARE_POSE } from '../data/splits.js';
import { createFaPEGan, resolveFaPEGanConfig, type FaPEGanConfig, type FaPEGenerator, type PatchDiscriminator } from '../models/fapegan.js';
import * as F from '../nn/functional/index.js';
import { Adam } from '../optim/adam.js';
import { LinearDecayLR } from '../optim/lr-scheduler.js';
import { Generator } from '../tensor/random.js';
import { noGrad, scope, type Tensor } from '../tensor/tensor.js';
import { full, tensor } from '../tensor/creation.js';
import type { RunInfo, TrainingParts } from './checkpoint.js';
import { assertFinite } from './guards.js';
import { silentProgress, type ProgressFactory } from './progress.js';

// ---- the session: networks, optimizers, schedules, where the run stands --------------------------

export interface FaPEGanTrainingOptions {
  /** Total epochs of the run (the linear decay is laid out over them). Paper: 100. */
  epochs: number;
  batchSize: number;
  /** Adam learning rate for G and D (paper 2e-4). */
  lr?: number;
  betas?: readonly [number, number];
  /** Weight of the L1 reconstruction term (paper λ = 10). */
  lambdaL1?: number;
  /** Keep the lr for the first half of the epochs, then decay it linearly to 0 (pix2pix / PN-GAN). */
  decay?: boolean;
  /** Seeds the initial weights and the pair order. */
  seed?: number;
  /** Flip source, target and mask together with probability ½. */
  flip?: boolean;
  /** Read the running losses back (and check them) every this many steps (default 10). */
  readEvery?: number;
  /** Examples in the per-epoch sample grid (default 4). */
  sampleCount?: number;
}

type ResolvedTrainingOptions = Required<FaPEGanTrainingOptions>;

export interface FaPEGanSession {
  config: FaPEGanConfig;
  options: ResolvedTrainingOptions;
  generator: FaPEGenerator;
  discriminator: PatchDiscriminator;
  optimizerG: Adam;
  optimizerD: Adam;
  schedulerG?: LinearDecayLR;
  schedulerD?: LinearDecayLR;
  /** Epochs and optimizer steps completed. */
  epoch: number;
  step: number;
}

export interface FaPEGanMetrics {
  epoch: number;
  step: number;
  /** Means over the epoch's steps. */
  dLoss: number;
  gGan: number;
  l1: number;
  lr: number;
  seconds: number;
}

export function resolveTrainingOptions(options: FaPEGanTrainingOptions): ResolvedTrainingOptions {
  const resolved: ResolvedTrainingOptions = {
    lr: 2e-4, betas: [0.5, 0.999], lambdaL1: 10, decay: false, seed: 0, flip: false, readEvery: 10, sampleCount: 4, ...options,
  };
  if (!Number.isInteger(resolved.epochs) || resolved.epochs < 1) throw new Error(`FaPE-GAN training: epochs must be a positive integer, got ${resolved.epochs}`);
  if (!Number.isInteger(resolved.batchSize) || resolved.batchSize < 1) throw new Error(`FaPE-GAN training: batchSize must be a positive integer, got ${resolved.batchSize}`);
  if (!Number.isInteger(resolved.readEvery) || resolved.readEvery < 1) throw new Error(`FaPE-GAN training: readEvery must be a positive integer, got ${resolved.readEvery}`);
  return resolved;
}

/** Builds G and D (GAN-initialised from the seed), their Adam optimizers and optional lr decay. */
export function createFaPEGanSession(config: Partial<FaPEGanConfig>, options: FaPEGanTrainingOptions): FaPEGanSession {
  const resolvedConfig = resolveFaPEGanConfig(config);
  const resolved = resolveTrainingOptions(options);
  const { generator, discriminator } = createFaPEGan(resolvedConfig, { generator: new Generator(hashSeed(resolved.seed, 'fapegan-init')) });
  const adam = { lr: resolved.lr, betas: resolved.betas };
  const optimizerG = new Adam(generator.parameters(), adam);
  const optimizerD = new Adam(discriminator.parameters(), adam);
  const session: FaPEGanSession = { config: resolvedConfig, options: resolved, generator, discriminator, optimizerG, optimizerD, epoch: 0, step: 0 };
  if (resolved.decay) {
    const constantEpochs = Math.ceil(resolved.epochs / 2);
    const decayEpochs = Math.max(1, resolved.epochs - constantEpochs);
    session.schedulerG = new LinearDecayLR(optimizerG, { constantEpochs, decayEpochs });
    session.schedulerD = new LinearDecayLR(optimizerD, { constantEpochs, decayEpochs });
  }
  return session;
}

/** What a checkpoint holds: both networks, both optimizers, the schedules. */
export function sessionParts(session: FaPEGanSession): TrainingParts {
  const parts: TrainingParts = {
    modules: { generator: session.generator, discriminator: session.discriminator },
    optimizers: { generator: session.optimizerG, discriminator: session.optimizerD },
  };
  if (session.schedulerG && session.schedulerD) parts.schedulers = { generator: session.schedulerG, discriminator: session.schedulerD };
  return parts;
}

export function sessionRunInfo(session: FaPEGanSession, metrics?: FaPEGanMetrics, extra: Record<string, unknown> = {}): RunInfo {
  const info: RunInfo = {
    kind: 'fapegan', config: { ...session.config }, epoch: session.epoch, step: session.step,
    extra: { ...extra, training: { ...session.options } },
  };
  if (metrics) info.metrics = { dLoss: metrics.dLoss, gGan: metrics.gGan, l1: metrics.l1, lr: metrics.lr };
  return info;
}

/** Continues from a restored checkpoint's run info. */
export function resumeSession(session: FaPEGanSession, info: RunInfo): void {
  if (info.kind !== 'fapegan') throw new Error(`cannot resume FaPE-GAN training from a "${info.kind}" checkpoint`);
  session.epoch = info.epoch;
  session.step = info.step;
}

export function freeSession(session: FaPEGanSession): void {
  session.optimizerG.dispose();
  session.optimizerD.dispose();
  session.generator.dispose();
  session.discriminator.dispose();
}

// ---- one step ---------------------------------------------------------------------------------

/** The three losses of one step as separate scalars (kept alive for tests; the trainer uses ganStep). */
export interface GanStepLosses {
  dLoss: Tensor;
  gGan: Tensor;
  l1: Tensor;
}

/** L_D = BCE(realLogits, 1) + BCE(fakeLogits, 0), each a mean over batch and patch grid. */
export function discriminatorLoss(realLogits: Tensor, fakeLogits: Tensor): Tensor {
  return scope(() => F.add(F.bceWithLogits(realLogits, full(realLogits.shape, 1)), F.bceWithLogits(fakeLogits, full(fakeLogits.shape, 0))));
}

/** G's adversarial term, non-saturating: BCE(D(Î, P), 1) = −mean log σ(logits). */
export function generatorGanLoss(fakeLogits: Tensor): Tensor {
  return scope(() => F.bceWithLogits(fakeLogits, full(fakeLogits.shape, 1)));
}

function setRequiresGrad(parameters: Tensor[], value: boolean): void {
  for (const p of parameters) p.requiresGrad = value;
}

/**
 * One D update (on the detached fake), then one G update. source / target [N, C, S, S] and mask
 * [N, 1, S, S], all in [−1, 1]. Returns the three losses (detached scalars owned by the caller);
 * everything else made here is freed.
 */
export function ganStepLosses(session: FaPEGanSession, source: Tensor, mask: Tensor, target: Tensor): GanStepLosses {
  const { generator, discriminator, optimizerG, optimizerD } = session;
  const lambda = session.options.lambdaL1;
  return scope(() => {
    const fake = generator.call(source, mask);

    optimizerD.zeroGrad();
    const dLoss = discriminatorLoss(discriminator.call(target, mask), discriminator.call(fake.detach(), mask));
    dLoss.backward();
    optimizerD.step();

    optimizerG.zeroGrad();
    const dParameters = discriminator.parameters();
    setRequiresGrad(dParameters, false);
    let gGan: Tensor, l1: Tensor;
    try {
      gGan = generatorGanLoss(discriminator.call(fake, mask));
      l1 = F.l1Loss(fake, target);
      F.add(gGan, F.mul(l1, lambda)).backward();
    } finally {
      setRequiresGrad(dParameters, true);
    }
    optimizerG.step();
    optimizerG.zeroGrad();
    session.step++;
    return { dLoss: dLoss.detach(), gGan: gGan.detach(), l1: l1.detach() };
  });
}

/** ganStepLosses packed as one [3] tensor [dLoss, gGan, l1] (one read-back for all three). */
export function ganStep(session: FaPEGanSession, source: Tensor, mask: Tensor, target: Tensor): Tensor {
  return scope(() => {
    const { dLoss, gGan, l1 } = ganStepLosses(session, source, mask, target);
    return noGrad(() => F.cat([dLoss.reshape([1]), gGan.reshape([1]), l1.reshape([1])], 0));
  });
}

// ---- epochs -------------------------------------------------------------------------------------

export interface EpochResult {
  metrics: FaPEGanMetrics;
  /** PNG of the sample grid: one row per example, columns source | target mask | generated | true target. */
  samplesPng: Uint8Array;
  /** What to checkpoint, and where the run stands (epoch already counted). */
  parts: TrainingParts;
  info: RunInfo;
}

export interface TrainFaPEGanOptions {
  progress?: ProgressFactory;
  /** Called after every epoch: save the checkpoint, metrics and samples here. */
  onEpochEnd?: (result: EpochResult) => Promise<void> | void;
  /** Free-form run details stored in the checkpoint (data source, ...). */
  extra?: Record<string, unknown>;
  /** Stop after this many epochs of this call (the rest stays for a later resume). */
  maxEpochs?: number;
}

/** The pose-pair loader of a session over a dataset (pairs of the same frame in different poses). */
export function createPairLoader(session: FaPEGanSession, dataset: Dataset, batchSize = session.options.batchSize): PairedBatchLoader {
  return new PairedBatchLoader(dataset, {
    batchSize, size: session.config.imageSize, channels: session.config.channels, normalization: 'symmetric',
    seed: session.options.seed, flip: session.options.flip,
  });
}

function batchTensors(batch: PairedBatch): { source: Tensor; mask: Tensor; target: Tensor } {
  return {
    source: tensor(batch.images, batch.shape),
    mask: tensor(batch.targetMasks, batch.maskShape),
    target: tensor(batch.targetImages, batch.shape),
  };
}

/**
 * Trains from session.epoch to options.epochs over pose pairs of `dataset`. Each epoch's pair
 * order depends only on (seed, epoch), so a session restored from an epoch's checkpoint continues
 * exactly as an uninterrupted run.
 */
export async function trainFaPEGan(session: FaPEGanSession, dataset: Dataset, options: TrainFaPEGanOptions = {}): Promise<FaPEGanMetrics[]> {
  const progressFactory = options.progress ?? silentProgress;
  const loader = createPairLoader(session, dataset);
  const sampleLoader = createPairLoader(session, dataset, session.options.sampleCount);
  let sampleBatch: PairedBatch | undefined;
  for await (const batch of sampleLoader.epoch(0)) { sampleBatch = batch; break; }
  const lastEpoch = Math.min(session.options.epochs, session.epoch + (options.maxEpochs ?? Infinity));
  const history: FaPEGanMetrics[] = [];
  while (session.epoch < lastEpoch) {
    const epoch = session.epoch;
    const started = Date.now();
    const lr = session.optimizerG.paramGroups[0]!.lr;
    const progress = progressFactory(`epoch ${epoch + 1}/${session.options.epochs}`, loader.length);
    let totals: Tensor | undefined;
    let steps = 0;
    const readTotals = async (): Promise<[number, number, number]> => {
      const values = totals ? await totals.toArray() : new Float32Array(3);
      const where = `epoch ${epoch + 1}, step ${session.step}`;
      const means = Array.from(values, (v) => v / Math.max(1, steps)) as [number, number, number];
      assertFinite(means[0], 'discriminator loss', where);
      assertFinite(means[1], 'generator adversarial loss', where);
      assertFinite(means[2], 'L1 reconstruction loss', where);
      return means;
    };
    try {
      for await (const batch of loader.epoch(epoch)) {
        const losses = scope(() => {
          const { source, mask, target } = batchTensors(batch);
          return ganStep(session, source, mask, target);
        });
        const previous = totals;
        totals = previous ? noGrad(() => F.add(previous, losses)) : losses;
        if (previous) { previous.dispose(); losses.dispose(); }
        steps++;
        if (steps % session.options.readEvery === 0 || steps === loader.length) {
          const [dLoss, gGan, l1] = await readTotals();
          progress.update(steps, { D: dLoss, G: gGan, L1: l1 });
        }
      }
      const [dLoss, gGan, l1] = await readTotals();
      session.schedulerG?.step();
      session.schedulerD?.step();
      session.epoch++;
      const metrics: FaPEGanMetrics = { epoch: session.epoch, step: session.step, dLoss, gGan, l1, lr, seconds: (Date.now() - started) / 1000 };
      history.push(metrics);
      progress.log(`epoch ${session.epoch}: D ${dLoss.toFixed(4)}  G_GAN ${gGan.toFixed(4)}  L1 ${l1.toFixed(4)}  (${metrics.seconds.toFixed(1)} s)`);
      const samplesPng = sampleBatch ? encodePng(await renderSampleGrid(session.generator, sampleBatch)) : new Uint8Array();
      await options.onEpochEnd?.({ metrics, samplesPng, parts: sessionParts(session), info: sessionRunInfo(session, metrics, options.extra) });
    } finally {
      totals?.dispose();
      progress.stop();
    }
  }
  return history;
}

// ---- images -------------------------------------------------------------------------------------

/** [−1, 1] CHW floats of one example → an 8-bit image. */
function toImage(values: Float32Array, offset: number, channels: 1 | 3, size: number): ImageU8 {
  const image = createImage(size, size, channels);
  const plane = size * size;
  for (let c = 0; c < channels; c++) {
    for (let i = 0; i < plane; i++) {
      image.data[i * channels + c] = Math.round(Math.min(1, Math.max(0, (values[offset + c * plane + i]! + 1) / 2)) * 255);
    }
  }
  return image;
}

/** Runs G in eval mode (running statistics) without gradients; returns [N, C, S, S] host values. */
export async function generate(generator: FaPEGenerator, source: Float32Array, mask: Float32Array, n: number): Promise<Float32Array> {
  const { channels, imageSize: size } = generator.config;
  const wasTraining = generator.training;
  generator.eval();
  try {
    const output = noGrad(() => scope(() => generator.call(tensor(source, [n, channels, size, size]), tensor(mask, [n, 1, size, size]))));
    try { return await output.toArray(); } finally { output.dispose(); }
  } finally {
    generator.train(wasTraining);
  }
}

/** One row per example: source | target pose mask | generated | true target. */
export async function renderSampleGrid(generator: FaPEGenerator, batch: PairedBatch): Promise<ImageU8> {
  const { channels, imageSize: size } = generator.config;
  const n = batch.shape[0];
  const generated = await generate(generator, batch.images, batch.targetMasks, n);
  const grid = createImage(4 * size, n * size, channels);
  const maskRgb = (k: number) => toChannels(toImage(batch.targetMasks, k * size * size, 1, size), channels);
  for (let k = 0; k < n; k++) {
    const tiles = [toImage(batch.images, k * channels * size * size, channels, size), maskRgb(k), toImage(generated, k * channels * size * size, channels, size), toImage(batch.targetImages, k * channels * size * size, channels, size)];
    tiles.forEach((tile, column) => {
      for (let y = 0; y < size; y++) {
        const from = y * size * channels;
        grid.data.set(tile.data.subarray(from, from + size * channels), ((k * size + y) * 4 * size + column * size) * channels);
      }
    });
  }
  return grid;
}

// ---- augmentation -------------------------------------------------------------------------------

export const AUGMENT_TASKS = ['er-up', 'er-ue'] as const;
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
  /** Training images per rare class before augmentation. */
  countsBefore: Record<string, number>;
}

function trainPool(dataset: Dataset): Sample[] {
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
 */
export function planAugmentation(dataset: Dataset, task: AugmentTask, options: { count?: number; seed?: number } = {}): AugmentationPlan {
  const random = new Random(hashSeed(options.seed ?? 0, 'augment', task));
  const pool = trainPool(dataset).filter((s) => s.pose !== undefined && s.subject !== undefined);
  const mean = (values: number[]) => (values.length ? values.reduce((a, b) => a + b, 0) / values.length : 0);
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
    for (let k = 0; k < batch.length; k++) yield { job: batch[k]!, image: toImage(generated, k * channels * plane, channels, size) };
  }
}
