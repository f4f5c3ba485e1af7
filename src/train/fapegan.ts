// FaPE-GAN training (paper Eq. 1–3): the session (G, D, both Adams, lr decay), one step, the
// epochs; browser-safe (files are written by src/cli/gan-commands.ts). Sample grids live in
// sample-grid.ts, re-posing faces for augmentation in augmentation.ts.
//
//   L_GAN = E[log D(I_t, P)] + E[log(1 − D(G(I_i, P), P))]
//   D maximises L_GAN:  L_D = BCE(D(I_t, P), 1) + BCE(D(Î, P), 0)           (= −L_GAN, Î detached)
//   G minimises L_G = BCE(D(Î, P), 1) + λ·|I_t − Î|₁   (the non-saturating form of log(1 − D))
// with D's logits averaged over its patch grid (bceWithLogits, mean) and λ = 10. One step updates D
// then G, like pix2pix / PN-GAN; D's parameters are frozen during G's backward so their gradients
// are not computed for nothing.
import type { Dataset } from '../data/dataset.js';
import { encodePng } from '../data/codecs.js';
import { PairedBatchLoader, type PairedBatch } from '../data/batch-loader.js';
import { hashSeed } from '../data/random.js';
import { createFaPEGan, resolveFaPEGanConfig, type FaPEGanConfig, type FaPEGenerator, type PatchDiscriminator } from '../models/fapegan.js';
import { gpu } from '../gpu/index.js';
import * as F from '../nn/functional/index.js';
import { Adam } from '../optim/adam.js';
import type { GradScaler } from '../optim/grad-scaler.js';
import { LinearDecayLR } from '../optim/lr-scheduler.js';
import { Generator } from '../tensor/random.js';
import { noGrad, scope, type Tensor } from '../tensor/tensor.js';
import { full, tensor } from '../tensor/creation.js';
import type { RunInfo, TrainingParts } from './checkpoint.js';
import { assertFinite, saveUnlessDiverged, type LastCheckpoint } from './guards.js';
import { usePrecision, type Precision } from './precision.js';
import { silentProgress, type ProgressFactory } from './progress.js';
import { renderSampleGrid } from './sample-grid.js';

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
  /** 'f16': G's and D's convolutions on float16 operands, each loss scaled by its own GradScaler (default 'f32'). */
  precision?: Precision;
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
  /** The loss scalers of a float16 session. */
  scalerG?: GradScaler;
  scalerD?: GradScaler;
  /** Epochs and optimizer steps completed. */
  epoch: number;
  step: number;
  /** Batches of epoch `epoch` already trained (a run stopped mid-epoch and resumed; 0 otherwise). */
  batchInEpoch: number;
  /** With batchInEpoch: the loss totals of those batches, so that the epoch's means cover all of it. */
  epochSoFar?: GanEpochSoFar;
}

/** The running loss totals of an epoch stopped part-way (checkpoint extra `epochSoFar`). */
export interface GanEpochSoFar {
  /** Σ over the steps of [dLoss, gGan, l1], as the float32 totals the trainer keeps on the GPU. */
  totals: [number, number, number];
  steps: number;
  /** Seconds spent on the epoch before the stop. */
  seconds: number;
}

export interface FaPEGanMetrics {
  epoch: number;
  step: number;
  /** Means over the epoch's steps (an epoch stopped and resumed mid-way included: its checkpoint keeps the totals). */
  dLoss: number;
  gGan: number;
  l1: number;
  lr: number;
  seconds: number;
}

export function resolveTrainingOptions(options: FaPEGanTrainingOptions): ResolvedTrainingOptions {
  const resolved: ResolvedTrainingOptions = {
    lr: 2e-4, betas: [0.5, 0.999], lambdaL1: 10, decay: false, seed: 0, flip: false, readEvery: 10, sampleCount: 4, precision: 'f32', ...options,
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
  const session: FaPEGanSession = {
    config: resolvedConfig, options: resolved, generator, discriminator, optimizerG, optimizerD, epoch: 0, step: 0, batchInEpoch: 0,
    scalerG: usePrecision(generator, resolved.precision), scalerD: usePrecision(discriminator, resolved.precision),
  };
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
  if (session.scalerG && session.scalerD) parts.scalers = { generator: session.scalerG, discriminator: session.scalerD };
  return parts;
}

export function sessionRunInfo(session: FaPEGanSession, metrics?: FaPEGanMetrics, extra: Record<string, unknown> = {}): RunInfo {
  const info: RunInfo = {
    kind: 'fapegan', config: { ...session.config }, epoch: session.epoch, step: session.step,
    extra: { ...extra, training: { ...session.options }, batchInEpoch: session.batchInEpoch, ...(session.batchInEpoch > 0 && session.epochSoFar ? { epochSoFar: session.epochSoFar } : {}) },
  };
  if (metrics) info.metrics = { ...metrics };
  return info;
}

/** Continues from a restored checkpoint's run info. */
export function resumeSession(session: FaPEGanSession, info: RunInfo): void {
  if (info.kind !== 'fapegan') throw new Error(`cannot resume FaPE-GAN training from a "${info.kind}" checkpoint`);
  session.epoch = info.epoch;
  session.step = info.step;
  // Checkpoints written at an epoch's end (and those of older versions) have none.
  const batchInEpoch = Number(info.extra?.batchInEpoch ?? 0);
  if (!(Number.isInteger(batchInEpoch) && batchInEpoch >= 0)) throw new Error(`cannot resume FaPE-GAN training: the checkpoint's batchInEpoch is ${JSON.stringify(info.extra?.batchInEpoch)}, not a batch count`);
  session.batchInEpoch = batchInEpoch;
  session.epochSoFar = batchInEpoch > 0 ? readGanEpochSoFar(info.extra?.epochSoFar) : undefined;
}

/** A checkpoint's epochSoFar, checked; undefined when it has none (an older webfer's). */
function readGanEpochSoFar(value: unknown): GanEpochSoFar | undefined {
  if (value === undefined || value === null) return undefined;
  const record = value as Partial<GanEpochSoFar>;
  const finite = (x: unknown) => typeof x === 'number' && Number.isFinite(x);
  if (!(Array.isArray(record.totals) && record.totals.length === 3 && record.totals.every(finite) && finite(record.steps) && Number.isInteger(record.steps) && record.steps! >= 0 && finite(record.seconds))) {
    throw new Error(`cannot resume FaPE-GAN training: the checkpoint's epochSoFar ${JSON.stringify(value)} is not the loss totals of an epoch (totals [3], steps, seconds): the checkpoint is damaged; use an earlier one or train again`);
  }
  return { totals: [...record.totals] as [number, number, number], steps: record.steps!, seconds: record.seconds! };
}

export function freeSession(session: FaPEGanSession): void {
  session.optimizerG.dispose();
  session.optimizerD.dispose();
  session.generator.dispose();
  session.discriminator.dispose();
  session.scalerG?.dispose();
  session.scalerD?.dispose();
}

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

/** loss.backward(), of the loss times the scale when a scaler is given. */
function backwardScaled(loss: Tensor, scaler: GradScaler | undefined): void {
  (scaler ? scaler.scaleLoss(loss) : loss).backward();
}

/** optimizer.step(), or the scaler's (unscale, skip on inf / NaN, update the scale: src/optim/grad-scaler.ts). */
async function stepScaled(optimizer: Adam, scaler: GradScaler | undefined): Promise<void> {
  if (scaler) await scaler.step(optimizer);
  else optimizer.step();
}

/**
 * One D update (on the detached fake), then one G update. source / target [N, C, S, S] and mask
 * [N, 1, S, S], all in [−1, 1]. Returns the three losses (detached scalars owned by the caller);
 * everything else made here is freed. Asynchronous for float16 sessions' loss scalers (under the
 * policy's gradUnscale 'perTensor' two reads back; 'onDevice' waits for nothing); a float32 step waits for nothing. Two
 * submits: D's update, then G's.
 */
export async function ganStepLosses(session: FaPEGanSession, source: Tensor, mask: Tensor, target: Tensor): Promise<GanStepLosses> {
  const { generator, discriminator, optimizerG, optimizerD, scalerG, scalerD } = session;
  const lambda = session.options.lambdaL1;
  // The last step's G check goes to the GPU now if no read carried it (see GradScaler.submitCheck); D's rode the mid-step
  // submit below.
  scalerG?.submitCheck();
  return scope(async () => {
    const fake = generator.call(source, mask);

    optimizerD.zeroGrad();
    const dLoss = discriminatorLoss(discriminator.call(target, mask), discriminator.call(fake.detach(), mask));
    backwardScaled(dLoss, scalerD);
    await stepScaled(optimizerD, scalerD);
    // D's update goes to the GPU now (its scaler's check with it), to run while the host encodes G's step: the demo's D + G
    // step 5-12 % faster on lavapipe in float32 and float16 than with one submit at the end.
    gpu().flush();

    optimizerG.zeroGrad();
    const dParameters = discriminator.parameters();
    setRequiresGrad(dParameters, false);
    let gGan: Tensor, l1: Tensor;
    try {
      gGan = generatorGanLoss(discriminator.call(fake, mask));
      l1 = F.l1Loss(fake, target);
      backwardScaled(F.add(gGan, F.mul(l1, lambda)), scalerG);
    } finally {
      setRequiresGrad(dParameters, true);
    }
    await stepScaled(optimizerG, scalerG);
    optimizerG.zeroGrad();
    session.step++;
    return { dLoss: dLoss.detach(), gGan: gGan.detach(), l1: l1.detach() };
  });
}

/** ganStepLosses packed as one [3] tensor [dLoss, gGan, l1] (one read-back for all three). */
export async function ganStep(session: FaPEGanSession, source: Tensor, mask: Tensor, target: Tensor): Promise<Tensor> {
  return scope(async () => {
    const { dLoss, gGan, l1 } = await ganStepLosses(session, source, mask, target);
    return noGrad(() => F.cat([dLoss.reshape([1]), gGan.reshape([1]), l1.reshape([1])], 0));
  });
}

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
  /**
   * Saves the checkpoint after every epoch (before onEpochEnd). With it, a non-finite loss says
   * whether a checkpoint exists: a session that starts past epoch 0 is taken to be resumed from one.
   */
  saveCheckpoint?: (parts: TrainingParts, info: RunInfo) => Promise<void>;
  /** Called after every epoch: write metrics and samples here. */
  onEpochEnd?: (result: EpochResult) => Promise<void> | void;
  /** Free-form run details stored in the checkpoint (data source, ...). */
  extra?: Record<string, unknown>;
  /** Stop after this many epochs of this call (the rest stays for a later resume). */
  maxEpochs?: number;
  /**
   * Polled after every step: true stops the run there, saving a checkpoint that records the batch
   * reached (session.batchInEpoch), so that a resume continues with the next batch of the same epoch.
   * At an epoch's last batch the epoch ends as usual and no further epoch starts.
   */
  shouldStop?: () => boolean;
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
  let lastCheckpoint: LastCheckpoint = options.saveCheckpoint ? (session.epoch > 0 ? { epoch: session.epoch, step: session.step } : null) : undefined;
  while (session.epoch < lastEpoch) {
    const epoch = session.epoch;
    const started = Date.now();
    const lr = session.optimizerG.paramGroups[0]!.lr;
    const progress = progressFactory(`epoch ${epoch + 1}/${session.options.epochs}`, loader.length, session.batchInEpoch);
    // A resumed mid-epoch run skips the batches done before the stop (the epoch's order depends only
    // on seed and epoch) and goes on from their loss totals, added in the same order as without the stop.
    const soFar = session.epochSoFar;
    session.epochSoFar = undefined;
    let totals: Tensor | undefined = soFar ? tensor(Float32Array.from(soFar.totals), [3]) : undefined;
    const earlierSteps = soFar?.steps ?? 0;
    const earlierSeconds = soFar?.seconds ?? 0;
    let steps = 0;
    const skip = session.batchInEpoch;
    let batchIndex = 0;
    let lastRead: ArrayLike<number> = [0, 0, 0];
    const readTotals = async (): Promise<[number, number, number]> => {
      const values = totals ? await totals.toArray() : new Float32Array(3);
      lastRead = values;
      const where = `epoch ${epoch + 1}, step ${session.step}`;
      const means = Array.from(values, (v) => v / Math.max(1, earlierSteps + steps)) as [number, number, number];
      assertFinite(means[0], 'discriminator loss', where, lastCheckpoint);
      assertFinite(means[1], 'generator adversarial loss', where, lastCheckpoint);
      assertFinite(means[2], 'L1 reconstruction loss', where, lastCheckpoint);
      return means;
    };
    try {
      for await (const batch of loader.epoch(epoch)) {
        if (batchIndex++ < skip) continue;
        const losses = await scope(() => {
          const { source, mask, target } = batchTensors(batch);
          return ganStep(session, source, mask, target);
        });
        const previous = totals;
        totals = previous ? noGrad(() => F.add(previous, losses)) : losses;
        if (previous) { previous.dispose(); losses.dispose(); }
        steps++;
        await gpu().autotune(); // autotuning on: the first step's shape classes, timed once
        if (steps % session.options.readEvery === 0 || skip + steps === loader.length) {
          const [dLoss, gGan, l1] = await readTotals();
          progress.update(skip + steps, { D: dLoss, G: gGan, L1: l1 });
        }
        if (skip + steps < loader.length && options.shouldStop?.()) {
          await readTotals(); // a non-finite loss is reported, not saved
          session.batchInEpoch = skip + steps;
          session.epochSoFar = { totals: [lastRead[0]!, lastRead[1]!, lastRead[2]!], steps: earlierSteps + steps, seconds: earlierSeconds + (Date.now() - started) / 1000 };
          progress.log(`stopped in epoch ${epoch + 1} after batch ${session.batchInEpoch} of ${loader.length} (step ${session.step})`);
          const save = options.saveCheckpoint;
          if (save) await saveUnlessDiverged(() => save(sessionParts(session), sessionRunInfo(session, undefined, options.extra)), `epoch ${epoch + 1}, step ${session.step}`, lastCheckpoint);
          return history;
        }
      }
      session.batchInEpoch = 0;
      const [dLoss, gGan, l1] = await readTotals();
      session.schedulerG?.step();
      session.schedulerD?.step();
      session.epoch++;
      const metrics: FaPEGanMetrics = { epoch: session.epoch, step: session.step, dLoss, gGan, l1, lr, seconds: earlierSeconds + (Date.now() - started) / 1000 };
      history.push(metrics);
      await session.scalerG?.settle();
      await session.scalerD?.settle();
      const scales = session.scalerG && session.scalerD ? `  loss scale G ${session.scalerG.scale} D ${session.scalerD.scale} (${session.scalerG.skippedSteps + session.scalerD.skippedSteps} update(s) skipped so far)` : '';
      progress.log(`epoch ${session.epoch}: D ${dLoss.toFixed(4)}  G_GAN ${gGan.toFixed(4)}  L1 ${l1.toFixed(4)}${scales}  (${metrics.seconds.toFixed(1)} s)`);
      const samplesPng = sampleBatch ? encodePng(await renderSampleGrid(session.generator, sampleBatch)) : new Uint8Array();
      const parts = sessionParts(session);
      const info = sessionRunInfo(session, metrics, options.extra);
      const save = options.saveCheckpoint;
      if (save) {
        await saveUnlessDiverged(() => save(parts, info), `epoch ${info.epoch}, step ${info.step}`, lastCheckpoint);
        lastCheckpoint = { epoch: info.epoch, step: info.step };
      }
      await options.onEpochEnd?.({ metrics, samplesPng, parts, info });
    } finally {
      totals?.dispose();
      progress.stop();
    }
    if (options.shouldStop?.()) break;
  }
  return history;
}
