// Fa-Net training and evaluation (browser-safe): the paper's recipe for LightCNN on F²ED —
// SGD momentum 0.9, weight decay 1e-4, lr 0.01 at batch 128 (scaled linearly with the batch),
// the reference train.py's parameter groups (biases 2× lr without decay, the classifier fc2 10×
// for its weight and 20× for its bias), StepLR γ = 0.457305051927326 every 10 epochs; grayscale,
// random crop from a 144/128 resize plus horizontal flip for training, centre crop for eval.
//
// File I/O stays outside: the caller passes a checkpoint-save callback and a progress factory,
// so the CLI writes safetensors and a browser page can keep them in memory.
import { BatchLoader, type BatchLoaderOptions, type TransformOptions } from '../data/batch-loader.js';
import type { Dataset } from '../data/dataset.js';
import type { LightCNN } from '../models/lightcnn.js';
import { gpu } from '../gpu/index.js';
import * as F from '../nn/functional/index.js';
import { Adam, type AdamHyper } from '../optim/adam.js';
import { SGD, type SgdHyper } from '../optim/sgd.js';
import { StepLR } from '../optim/lr-scheduler.js';
import type { GradScaler } from '../optim/grad-scaler.js';
import type { ParamsInput } from '../optim/optimizer.js';
import { tensor } from '../tensor/creation.js';
import { noGrad, scope, type Tensor } from '../tensor/tensor.js';
import type { RunInfo, TrainingParts } from './checkpoint.js';
import { assertFinite, saveUnlessDiverged, type LastCheckpoint } from './guards.js';
import { ConfusionMatrix, type ClassificationReport } from './metrics.js';
import { silentProgress, type ProgressFactory } from './progress.js';

/** The paper's and reference code's hyper-parameters. */
export const FANET_RECIPE = {
  /** lr 0.01 at batch 128 (F²ED); scaled linearly for other batch sizes. */
  baseLr: 0.01,
  baseBatchSize: 128,
  momentum: 0.9,
  weightDecay: 1e-4,
  /** StepLR: × gamma every stepSize epochs. */
  stepSize: 10,
  gamma: 0.457305051927326,
  biasLrFactor: 2,
  classifierWeightLrFactor: 10,
  classifierBiasLrFactor: 20,
  /** Training images are resized to inputSize · 144/128 and randomly cropped back to inputSize. */
  resizeRatio: 144 / 128,
} as const;

/** lr for a batch size by the linear scaling rule from 0.01 at 128. */
export function fanetLearningRate(batchSize: number, baseLr: number = FANET_RECIPE.baseLr, baseBatchSize: number = FANET_RECIPE.baseBatchSize): number {
  return (baseLr * batchSize) / baseBatchSize;
}

/**
 * train.py's groups, gathered into (at most) four: backbone weights (lr, decay), backbone biases
 * (2× lr, no decay), classifier weight (10× lr, decay), classifier bias (20× lr, no decay).
 * Empty groups (LightCNN-29v2's classifier has no bias) are left out.
 */
export function fanetParamGroups(model: LightCNN, lr: number, weightDecay: number = FANET_RECIPE.weightDecay): (Partial<SgdHyper> & { params: Tensor[]; role: string })[] {
  const classifier = `${model.classifierName}.`;
  const groups = [
    { role: 'weights', lr, weightDecay, params: [] as Tensor[] },
    { role: 'biases', lr: FANET_RECIPE.biasLrFactor * lr, weightDecay: 0, params: [] as Tensor[] },
    { role: 'classifier weight', lr: FANET_RECIPE.classifierWeightLrFactor * lr, weightDecay, params: [] as Tensor[] },
    { role: 'classifier bias', lr: FANET_RECIPE.classifierBiasLrFactor * lr, weightDecay: 0, params: [] as Tensor[] },
  ];
  for (const [name, p] of model.namedParameters()) {
    const isBias = name.endsWith('bias'); // train.py: 'bias' in name
    const isClassifier = name.startsWith(classifier);
    groups[(isClassifier ? 2 : 0) + (isBias ? 1 : 0)]!.params.push(p);
  }
  return groups.filter((g) => g.params.length > 0);
}

export interface FanetOptimizerOptions {
  batchSize: number;
  /**
   * 'sgd' (default): the paper's recipe. 'adam': the same groups and decay, one lr for all
   * (default 1e-3) — from PyTorch's default init a narrow LightCNN's signal is faint and SGD at
   * the paper's rate needs many epochs to leave chance; Adam's per-parameter scaling does not.
   */
  optimizer?: 'sgd' | 'adam';
  /** Overrides the batch-scaled lr. */
  lr?: number;
  momentum?: number;
  weightDecay?: number;
  stepSize?: number;
  gamma?: number;
}

export type FanetOptimizer = SGD | Adam;

/** SGD over the recipe's parameter groups (or Adam, see FanetOptimizerOptions) and its StepLR schedule. */
export function createFanetOptimizer(model: LightCNN, options: FanetOptimizerOptions): { optimizer: FanetOptimizer; scheduler: StepLR; lr: number } {
  const kind = options.optimizer ?? 'sgd';
  if (kind !== 'sgd' && kind !== 'adam') throw new Error(`Fa-Net: optimizer must be sgd or adam, got ${JSON.stringify(kind)}`);
  const lr = options.lr ?? (kind === 'adam' ? 1e-3 : fanetLearningRate(options.batchSize));
  if (!(lr > 0)) throw new Error(`Fa-Net: learning rate must be positive, got ${lr}`);
  const weightDecay = options.weightDecay ?? FANET_RECIPE.weightDecay;
  const groups = fanetParamGroups(model, lr, weightDecay).map(({ role: _role, ...group }) => (kind === 'adam' ? { ...group, lr } : group));
  const optimizer =
    kind === 'adam'
      ? new Adam(groups as ParamsInput<AdamHyper>, { lr, weightDecay })
      : new SGD(groups as ParamsInput<SgdHyper>, { lr, momentum: options.momentum ?? FANET_RECIPE.momentum, weightDecay });
  const scheduler = new StepLR(optimizer, { stepSize: options.stepSize ?? FANET_RECIPE.stepSize, gamma: options.gamma ?? FANET_RECIPE.gamma });
  return { optimizer, scheduler, lr };
}

/** Train (random crop + flip) and eval (centre crop) transforms for a model input size. */
export function fanetTransforms(inputSize: number, channels: 1 | 3 = 1): { train: TransformOptions; eval: TransformOptions } {
  const resize = Math.round(inputSize * FANET_RECIPE.resizeRatio);
  const common = { channels, resize, crop: inputSize, normalization: 'unit' as const };
  return { train: { ...common, randomCrop: true, flip: true }, eval: { ...common, randomCrop: false, flip: false } };
}

/** Batch loaders with the recipe's transforms (train shuffled, eval in order). */
export function createFanetLoaders(
  train: Dataset | undefined,
  evaluation: Dataset | undefined,
  options: { batchSize: number; inputSize: number; channels?: 1 | 3; seed?: number; evalBatchSize?: number } & Pick<BatchLoaderOptions, 'skipBad' | 'prefetch'>,
): { trainLoader?: BatchLoader; evalLoader?: BatchLoader } {
  const transforms = fanetTransforms(options.inputSize, options.channels ?? 1);
  // Only options that were given: an explicit undefined would override the loader's defaults.
  const shared: Pick<BatchLoaderOptions, 'skipBad' | 'prefetch'> = {};
  if (options.skipBad !== undefined) shared.skipBad = options.skipBad;
  if (options.prefetch !== undefined) shared.prefetch = options.prefetch;
  return {
    trainLoader: train && new BatchLoader(train, { ...transforms.train, ...shared, batchSize: options.batchSize, shuffle: true, seed: options.seed ?? 0 }),
    evalLoader: evaluation && new BatchLoader(evaluation, { ...transforms.eval, ...shared, batchSize: options.evalBatchSize ?? options.batchSize, shuffle: false }),
  };
}

/** The names under which a Fa-Net run is checkpointed. */
export function fanetParts(model: LightCNN, optimizer?: FanetOptimizer, scheduler?: StepLR, scaler?: GradScaler): TrainingParts {
  return { modules: { model }, optimizers: optimizer ? { optimizer } : {}, schedulers: scheduler ? { lr: scheduler } : {}, scalers: scaler ? { loss: scaler } : {} };
}

export interface EpochRecord {
  /** 1-based epoch just completed. */
  epoch: number;
  /** Optimizer steps completed so far. */
  step: number;
  /** Base learning rate used during the epoch. */
  lr: number;
  trainLoss: number;
  /** Accuracy on the training batches (with dropout and augmentation on). */
  trainAccuracy: number;
  evalLoss?: number;
  evalAccuracy?: number;
  evalMeanClassAccuracy?: number;
  seconds: number;
  trainImagesPerSecond: number;
}

export interface FanetTrainOptions {
  model: LightCNN;
  optimizer: FanetOptimizer;
  scheduler: StepLR;
  trainLoader: BatchLoader;
  /** Evaluated after every epoch when given. */
  evalLoader?: BatchLoader;
  /** Train until this many epochs are complete. */
  epochs: number;
  /**
   * Float16 training: the model's GEMMs in float16 (the caller sets model.autocast('float16')) and
   * the loss scaled by this scaler, a step with inf / NaN gradients skipped (src/optim/grad-scaler.ts).
   */
  scaler?: GradScaler;
  /** Where a resumed run stands (from the checkpoint's RunInfo). */
  start?: { epoch: number; step: number; batchInEpoch?: number; epochSoFar?: EpochSoFar; best?: BestEpoch };
  /** Read the loss back (a GPU sync) every this many steps; default 4. */
  readEvery?: number;
  progress?: ProgressFactory;
  /**
   * Called with the parts and run info at the end of every epoch and when stopped; `best` is true
   * at the end of an epoch whose eval accuracy beats every earlier epoch's (with trackBest).
   */
  saveCheckpoint?: (parts: TrainingParts, info: RunInfo, best?: boolean) => Promise<void>;
  /** Track the epoch of the highest eval accuracy (run info extra `best`) and say when it improves. Give it only when evalLoader is a validation part, never the test part. */
  trackBest?: boolean;
  /** Extra run info stored in checkpoints (data set, task, seed, batch size...). */
  extra?: Record<string, unknown>;
  /** Polled after every step: true stops the run (after saving a checkpoint). */
  shouldStop?: () => boolean;
  /** Called after each epoch's checkpoint. */
  onEpoch?: (record: EpochRecord, evaluation?: ClassificationReport) => void | Promise<void>;
}

/**
 * The running sums of an epoch stopped part-way (checkpoint extra `epochSoFar`), so that the epoch's
 * record, once resumed, covers all its batches as an uninterrupted run's does.
 */
export interface EpochSoFar {
  /** Σ loss × batch size, added batch by batch in order (the same sum whichever batch the run stopped after). */
  lossSum: number;
  correct: number;
  seen: number;
  /** Training seconds spent on the epoch before the stop. */
  seconds: number;
}

/** A checkpoint's `epochSoFar`, checked; undefined when it has none (an epoch-end checkpoint or an older webfer's). */
export function readEpochSoFar(value: unknown, source: string): EpochSoFar | undefined {
  if (value === undefined || value === null) return undefined;
  const record = value as Record<string, unknown>;
  const fields = ['lossSum', 'correct', 'seen', 'seconds'] as const;
  if (typeof value !== 'object' || fields.some((name) => typeof record[name] !== 'number' || !Number.isFinite(record[name] as number) || (record[name] as number) < 0)) {
    throw new Error(`${source}: its epochSoFar record ${JSON.stringify(value)} is not the running sums of an epoch (lossSum, correct, seen, seconds): the checkpoint is damaged; use an earlier one or train again`);
  }
  return { lossSum: record.lossSum as number, correct: record.correct as number, seen: record.seen as number, seconds: record.seconds as number };
}

/** The epoch with the highest eval accuracy so far (the first of equals). */
export interface BestEpoch {
  epoch: number;
  evalAccuracy: number;
}

/** A checkpoint's `best`, checked; undefined when it has none. */
export function readBestEpoch(value: unknown, source: string): BestEpoch | undefined {
  if (value === undefined || value === null) return undefined;
  const record = value as Partial<BestEpoch>;
  if (!(Number.isInteger(record.epoch) && record.epoch! >= 1 && typeof record.evalAccuracy === 'number' && record.evalAccuracy >= 0 && record.evalAccuracy <= 1)) {
    throw new Error(`${source}: its best-epoch record ${JSON.stringify(value)} is not { epoch, evalAccuracy }: the checkpoint is damaged; use an earlier one or train again`);
  }
  return { epoch: record.epoch!, evalAccuracy: record.evalAccuracy! };
}

export interface FanetTrainResult {
  history: EpochRecord[];
  /** True when shouldStop ended the run early. */
  stopped: boolean;
  epoch: number;
  step: number;
  lastEvaluation?: ClassificationReport;
  /** With trackBest: the epoch of the highest eval accuracy. */
  best?: BestEpoch;
}

/**
 * One optimizer step inside a scope; returns a detached [2] tensor (summed loss, correct count)
 * so that the caller can read several steps back with a single sync.
 */
export function fanetTrainStep(model: LightCNN, optimizer: FanetOptimizer, images: Float32Array, shape: readonly number[], labels: Int32Array): Tensor {
  return scope(() => {
    optimizer.zeroGrad();
    const { loss, logits } = batchLoss(model, images, shape, labels);
    loss.backward();
    optimizer.step();
    return batchStatistics(loss, logits, labels);
  });
}

/** fanetTrainStep with loss scaling (float16 training): the step is skipped when the gradients overflow. */
export async function fanetScaledTrainStep(model: LightCNN, optimizer: FanetOptimizer, scaler: GradScaler, images: Float32Array, shape: readonly number[], labels: Int32Array): Promise<Tensor> {
  // The last step's check goes to the GPU now if no read carried it (readEvery > 1): the GPU runs it while this step encodes.
  scaler.submitCheck();
  return scope(async () => {
    optimizer.zeroGrad();
    const { loss, logits } = batchLoss(model, images, shape, labels);
    scaler.scaleLoss(loss).backward();
    await scaler.step(optimizer);
    return batchStatistics(loss, logits, labels);
  });
}

function batchLoss(model: LightCNN, images: Float32Array, shape: readonly number[], labels: Int32Array): { loss: Tensor; logits: Tensor } {
  const { logits } = model.call(tensor(images, shape));
  return { loss: F.crossEntropy(logits, labels), logits };
}

/** [summed loss, correct count] of one batch. */
function batchStatistics(loss: Tensor, logits: Tensor, labels: Int32Array): Tensor {
  return noGrad(() => {
    const target = tensor(Float32Array.from(labels), [labels.length]);
    const correct = F.sum(F.eq(F.argmax(logits, 1), target));
    return F.cat([F.mul(loss, labels.length).reshape([1]), correct.reshape([1])]);
  });
}

/**
 * Reads pending per-step [loss sum, correct] pairs back with one read-back, frees them, and adds
 * them one step at a time, in order, to the running sums: the total is then the same whichever
 * steps were read together (a run stopped mid-epoch and resumed reads other groups).
 * Returns the pending steps' own loss sum (to check it is finite).
 */
async function drain(pending: Tensor[], sums: { lossSum: number; correct: number }): Promise<number> {
  if (pending.length === 0) return 0;
  const all = scope(() => F.cat(pending));
  let read = 0;
  try {
    const values = await all.toArray();
    for (let k = 0; k < values.length; k += 2) {
      read += values[k]!;
      sums.lossSum += values[k]!;
      sums.correct += values[k + 1]!;
    }
    return read;
  } finally {
    all.dispose();
    for (const t of pending) t.dispose();
    pending.length = 0;
  }
}

export async function trainFanet(options: FanetTrainOptions): Promise<FanetTrainResult> {
  const { model, optimizer, scheduler, trainLoader, evalLoader, scaler } = options;
  const readEvery = Math.max(1, options.readEvery ?? 4);
  const progressFactory = options.progress ?? silentProgress;
  const history: EpochRecord[] = [];
  let epoch = options.start?.epoch ?? 0;
  let step = options.start?.step ?? 0;
  let skip = options.start?.batchInEpoch ?? 0;
  let soFar = options.start?.epochSoFar;
  let best = options.start?.best;
  let lastEvaluation: ClassificationReport | undefined;
  const parts = fanetParts(model, optimizer, scheduler, scaler);
  // What a non-finite loss can truthfully say about the checkpoint on disk (a resumed run has one).
  let lastCheckpoint: LastCheckpoint = options.saveCheckpoint ? (options.start ? { epoch, step } : null) : undefined;
  const saveCheckpoint = async (runInfo: RunInfo, isBest = false) => {
    if (!options.saveCheckpoint) return;
    const save = options.saveCheckpoint;
    await saveUnlessDiverged(() => save(parts, runInfo, isBest), `epoch ${runInfo.epoch + (runInfo.extra?.batchInEpoch ? 1 : 0)}, step ${runInfo.step}`, lastCheckpoint);
    lastCheckpoint = { epoch: runInfo.epoch, step: runInfo.step };
  };
  const info = (metrics: Record<string, number>, batchInEpoch: number, epochSoFar?: EpochSoFar): RunInfo => ({
    kind: 'fanet',
    config: { ...model.config },
    epoch,
    step,
    metrics,
    extra: { ...options.extra, ...(best ? { best } : {}), ...(batchInEpoch > 0 ? { batchInEpoch, epochSoFar } : {}) },
  });

  while (epoch < options.epochs) {
    model.train();
    const started = performance.now();
    const lr = optimizer.paramGroups[0]!.lr;
    const progress = progressFactory(`epoch ${epoch + 1}/${options.epochs}`, trainLoader.length, skip);
    const pending: Tensor[] = [];
    // A resumed epoch goes on from the sums of its batches before the stop.
    const sums = { lossSum: soFar?.lossSum ?? 0, correct: soFar?.correct ?? 0 };
    let seen = soFar?.seen ?? 0, batchIndex = 0, imagesThisRun = 0;
    const earlierSeconds = soFar?.seconds ?? 0;
    soFar = undefined;
    let stopped = false;
    try {
      for await (const batch of trainLoader.epoch(epoch)) {
        batchIndex++;
        if (batchIndex <= skip) continue; // resuming inside an epoch: the same order, minus what was done
        pending.push(
          scaler
            ? await fanetScaledTrainStep(model, optimizer, scaler, batch.images, batch.shape, batch.labels)
            : fanetTrainStep(model, optimizer, batch.images, batch.shape, batch.labels),
        );
        step++;
        // Autotuning on: the first step queued its shape classes; time their variants now.
        await gpu().autotune();
        seen += batch.labels.length;
        imagesThisRun += batch.labels.length;
        const stopNow = options.shouldStop?.() ?? false;
        if (pending.length >= readEvery || batchIndex === trainLoader.length || stopNow) {
          assertFinite(await drain(pending, sums), 'training loss', `epoch ${epoch + 1}, step ${step}`, lastCheckpoint);
          progress.update(batchIndex, { loss: sums.lossSum / seen, acc: `${((100 * sums.correct) / seen).toFixed(1)}%`, 'img/s': Math.round(imagesThisRun / ((performance.now() - started) / 1000)) });
        }
        if (stopNow) {
          stopped = true;
          break;
        }
      }
      assertFinite(await drain(pending, sums), 'training loss', `epoch ${epoch + 1}, step ${step}`, lastCheckpoint); // a short last batch when images were skipped
    } finally {
      for (const t of pending) t.dispose();
      progress.stop();
    }
    const { lossSum, correct } = sums;
    if (stopped) {
      const epochSoFar: EpochSoFar = { lossSum, correct, seen, seconds: earlierSeconds + (performance.now() - started) / 1000 };
      await saveCheckpoint(info({ trainLoss: lossSum / Math.max(1, seen) }, batchIndex, epochSoFar));
      return { history, stopped: true, epoch, step, lastEvaluation, best };
    }
    skip = 0;
    const trainSeconds = (performance.now() - started) / 1000;
    const record: EpochRecord = {
      epoch: epoch + 1, step, lr,
      trainLoss: lossSum / Math.max(1, seen), trainAccuracy: correct / Math.max(1, seen),
      seconds: earlierSeconds + trainSeconds, trainImagesPerSecond: imagesThisRun / trainSeconds,
    };
    if (evalLoader) {
      lastEvaluation = await evaluateFanet(model, evalLoader, { classes: model.config.classes, progress: progressFactory, label: `eval ${epoch + 1}` });
      record.evalLoss = lastEvaluation.meanLoss;
      record.evalAccuracy = lastEvaluation.accuracy;
      record.evalMeanClassAccuracy = lastEvaluation.meanClassAccuracy;
      record.seconds = earlierSeconds + (performance.now() - started) / 1000;
    }
    scheduler.step();
    epoch++;
    history.push(record);
    const improved = options.trackBest === true && record.evalAccuracy !== undefined && (!best || record.evalAccuracy > best.evalAccuracy);
    if (improved) best = { epoch, evalAccuracy: record.evalAccuracy! };
    const metrics = Object.fromEntries(Object.entries(record).filter((entry): entry is [string, number] => typeof entry[1] === 'number'));
    await saveCheckpoint(info(metrics, 0), improved);
    await options.onEpoch?.(record, lastEvaluation);
  }
  return { history, stopped: false, epoch, step, lastEvaluation, best };
}

export interface FanetEvalOptions {
  /** Class count, or the class names (for the report). */
  classes: number | readonly string[];
  progress?: ProgressFactory;
  label?: string;
}

/** Accuracy, per-class accuracy, confusion matrix and mean loss, in eval mode without gradients. */
export async function evaluateFanet(model: LightCNN, loader: BatchLoader, options: FanetEvalOptions): Promise<ClassificationReport> {
  const classCount = typeof options.classes === 'number' ? options.classes : options.classes.length;
  if (classCount !== model.config.classes) throw new Error(`evaluateFanet: the data has ${classCount} classes, the model ${model.config.classes}; use a checkpoint trained on this label set`);
  const matrix = new ConfusionMatrix(classCount);
  const wasTraining = model.training;
  model.eval();
  const progress = (options.progress ?? silentProgress)(options.label ?? 'eval', loader.length);
  try {
    let done = 0;
    for await (const batch of loader.epoch(0)) {
      const n = batch.labels.length;
      const out = noGrad(() =>
        scope(() => {
          const { logits } = model.call(tensor(batch.images, batch.shape));
          const lossSum = F.crossEntropy(logits, batch.labels, { reduction: 'sum' });
          return F.cat([F.argmax(logits, 1), lossSum.reshape([1])]);
        }),
      );
      let values: Float32Array;
      try {
        values = await out.toArray();
      } finally {
        out.dispose();
      }
      assertFinite(values[n]!, 'evaluation loss', `batch ${done + 1}`);
      matrix.add(values.subarray(0, n), batch.labels, values[n]!);
      done++;
      const report = matrix.report();
      progress.update(done, { loss: report.meanLoss, acc: `${(100 * report.accuracy).toFixed(1)}%` });
    }
  } finally {
    progress.stop();
    model.train(wasTraining);
  }
  // Every image skipped (--skip-bad): an accuracy of 0 % over nothing was reported, even as the best epoch.
  if (matrix.total === 0 && loader.dataset.samples.length > 0) {
    throw new Error(`${options.label ?? 'eval'}: none of its ${loader.dataset.samples.length} images could be read (each was named above as skipped): nothing to evaluate; fix or replace them`);
  }
  return matrix.report(typeof options.classes === 'number' ? undefined : options.classes);
}
