/** CLI commands for Fa-Net: `webfer train` (LightCNN on F²ED or any dataset) and `webfer eval`. */
import { appendFileSync, existsSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { CommandModule } from 'yargs';
import { assertSplitColumnFilled, type Dataset, type Sample } from '../data/dataset.js';
import { splitRows, TASKS, type Task } from '../data/splits.js';
import type { SynthOptions } from '../data/synth/generator.js';
import type { Pose } from '../data/labels.js';
import { init } from '../gpu/index.js';
import { createLightCNN, finalFeatureSize, LIGHTCNN_VARIANTS, type LightCNNConfig, type LightCNNVariant } from '../models/lightcnn.js';
import { loadSafetensors, loadTrainingCheckpoint, peekTrainingCheckpoint, saveTrainingCheckpoint } from '../node/checkpoint.js';
import { DATASET_FORMATS, openDataset, type DatasetFormat } from '../node/data/open-dataset.js';
import { onTheFlyPrefetch, openOnTheFlySynth } from '../node/data/synth-on-the-fly.js';
import { assertDisjointParts } from '../data/splits.js';
import { allowOutsidePathsOption, assertTrainableClasses, reportDatasetProblems, SkipReporter } from './data-report.js';
import { terminalProgress } from '../node/progress.js';
import { restoreCheckpoint, type RunInfo } from '../train/checkpoint.js';
import { baseLearningRate, setBaseLearningRate } from '../train/learning-rate.js';
import { assertFreshRunFolder, givenOptions, resumedMetrics, resumeFanetSettings, sampleListHash, type FanetResumeSettings } from './resume.js';
import { PRECISIONS, usePrecision, type Precision } from '../train/precision.js';
import { createFanetLoaders, createFanetOptimizer, evaluateFanet, fanetParts, readBestEpoch, readEpochSoFar, trainFanet, type BestEpoch, type EpochRecord, type EpochSoFar } from '../train/fanet.js';
import { formatReport, type ClassificationReport } from '../train/metrics.js';
import { confusionMatrixSpec, trainingCurvesSpec } from '../plots/specs.js';
import { writePlot } from '../node/plots.js';
import { readPretrainedWeights, type PretrainedWeights } from '../node/pretrained.js';
import { freezeFeatures, initFromPretrained } from '../train/fine-tune.js';
import { initWithAutotuneCache } from '../node/autotune-cache.js';
import { makeFolders } from '../node/atomic-write.js';
import { assertSplitFilesComplete } from '../node/data/write-splits.js';
import { checkFiniteNumber, checkInteger, checkOutputFolder, checkPositiveInteger, checkSeed, checkSynthExpressions, checkSynthFlagsUnused, checkSynthImages } from './option-checks.js';
import { INTERRUPTED_EXIT_CODE, stopOnCtrlC } from './interrupt.js';

interface DataArgs {
  data?: string;
  format: DatasetFormat;
  task?: Task;
  seed: number;
  splitDir?: string;
  extraTrain?: string[];
  skipBad: boolean;
  allowOutsidePaths: boolean;
  synthSubjects: number;
  synthExpressions: number;
  /** Threads rendering the synthetic data (default: every core). */
  workers?: number;
}

interface DataSplits {
  train: Dataset;
  /** Evaluated after every epoch: val when there is one, else test. */
  monitor: Dataset;
  test: Dataset;
  description: string;
  /** Enough to rebuild the same data for `webfer eval` (stored in the checkpoint). */
  recipe: Record<string, unknown>;
  /** Synthetic data rendered on the fly: its worker threads, stopped by close(). */
  renderWorkers?: number;
  close: () => Promise<void>;
}

function synthOptions(subjects: number, expressions: number, seed: number, inputSize: number): SynthOptions {
  return { subjects, expressions, framesPerClip: 2, size: inputSize > 64 ? 128 : 64, channels: 1, seed };
}

/** Class names compare without case or surrounding blanks (a folder "Happy" is the class happy). */
const classKey = (name: string) => name.trim().toLowerCase();
const sameClassNames = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((name, k) => classKey(name) === classKey(b[k]!));

/**
 * The data with its labels numbered as the checkpoint's classes: a model's output k means the
 * k-th class it was trained on, and a class folder numbers its classes alphabetically, FER2013
 * and JAFFE by their own order. Names are matched (case aside); data naming other classes is refused.
 */
function inCheckpointClassOrder(dataset: Dataset, checkpointClasses: readonly string[], checkpoint: string): Dataset {
  if (sameClassNames(checkpointClasses, dataset.classes)) return dataset;
  const key = classKey;
  const position = new Map(checkpointClasses.map((name, k) => [key(name), k]));
  const unknown = dataset.classes.filter((name) => !position.has(key(name)));
  if (unknown.length) {
    throw new Error(`${checkpoint} was trained on the classes ${checkpointClasses.join(', ')}; this data (${dataset.format}) names ${unknown.join(', ')}, which it does not know: evaluate on data with the same class names`);
  }
  console.error(`note: this data (${dataset.format}) numbers its classes ${dataset.classes.join(', ')}; matched by name to the checkpoint's ${checkpointClasses.join(', ')}`);
  const remap = dataset.classes.map((name) => position.get(key(name))!);
  return { ...dataset, classes: [...checkpointClasses], samples: dataset.samples.map((sample) => ({ ...sample, label: remap[sample.label]! })) };
}

/** What the split holds: the part sizes and a hash of every part's images and labels, in order. */
interface SplitFingerprint { train: number; val: number; test: number; sha256: string }

function splitFingerprint(splits: DataSplits): SplitFingerprint {
  // Files by absolute path (a resume may run from another folder); synthetic images by their names.
  const fromFiles = Boolean(splits.recipe.data || splits.recipe.splitDir);
  const val = splits.monitor !== splits.test ? splits.monitor.samples : [];
  const sha256 = sampleListHash([['train', splits.train.samples], ['val', val], ['test', splits.test.samples]],
    (sample) => `${fromFiles ? resolve(sample.path) : sample.path}\t${sample.label}`);
  return { train: splits.train.samples.length, val: val.length, test: splits.test.samples.length, sha256 };
}

/**
 * Refuses data that no longer splits as it did when the run was trained: the same path and seed
 * with rows added or removed give another split, which mixes test images into training (resume)
 * or evaluates on images the model trained on (eval). Checkpoints of older versions have no record.
 */
function assertSameSplit(stored: unknown, splits: DataSplits, checkpointPath: string, fix: string): void {
  if (stored === undefined || stored === null) return;
  const now = splitFingerprint(splits);
  const then = stored as SplitFingerprint;
  if (then.sha256 === now.sha256) return;
  const sizes = (f: SplitFingerprint) => `train ${f.train} · val ${f.val} · test ${f.test}`;
  throw new Error(`${splits.description} no longer splits as when ${checkpointPath} was trained (then ${sizes(then)}, now ${sizes(now)}; image list hash ${then.sha256} → ${now.sha256}): the data changed since, so its test part is not the run's; ${fix}`);
}

function subset(dataset: Dataset, samples: Sample[]): Dataset {
  return { ...dataset, samples };
}

/** Splits by --split-dir, --task, the dataset's own split column, or ER-SS (seeded) by default; then adds --extra-train rows. */
async function loadSplits(args: DataArgs, inputSize: number): Promise<DataSplits> {
  const splits = await loadBaseSplits(args, inputSize);
  for (const path of args.extraTrain ?? []) splits.train = await withExtraTraining(splits.train, path, args);
  if (args.extraTrain?.length) {
    splits.description += ` + train rows of ${args.extraTrain.join(', ')}`;
    splits.recipe = { ...splits.recipe, extraTrain: args.extraTrain.map((path) => resolve(path)) };
  }
  // No image may be in two parts (split files written by hand, or an index listing it twice).
  const parts: [string, Dataset][] = [['train', splits.train], ...(splits.monitor !== splits.test ? [['val', splits.monitor] as [string, Dataset]] : []), ['test', splits.test]];
  assertDisjointParts(parts.map(([name, part]) => [name, part.samples] as const), (sample) => sample.path,
    (sample, name) => `${parts.find(([other]) => other === name)![1].source}${sample.line !== undefined ? `:${sample.line}` : ''}`);
  return splits;
}

/** The train split plus the train rows of another index (e.g. `webfer augment`'s), each image read by its own dataset. */
async function withExtraTraining(train: Dataset, path: string, options: Pick<DataArgs, 'skipBad' | 'allowOutsidePaths'>): Promise<Dataset> {
  const extra = await openDataset(path, { format: 'index', skipBad: options.skipBad, allowOutsidePaths: options.allowOutsidePaths });
  reportDatasetProblems(extra);
  if (extra.classes.join('\n') !== train.classes.join('\n')) {
    throw new Error(`--extra-train ${path}: its ${extra.classes.length} F²ED classes differ from the training data's ${train.classes.length} (${train.format}); add rows only to F²ED index data`);
  }
  const rows = extra.samples.filter((sample) => sample.split === undefined || sample.split === 'train');
  if (extra.samples.length === 0) throw new Error(`--extra-train ${path}: the index lists no images: drop --extra-train ${path}, or make images into it (webfer augment)`);
  if (rows.length === 0) throw new Error(`--extra-train ${path}: no train rows (its split column names other splits only)`);
  const added = new Set(rows);
  return {
    ...train,
    samples: [...train.samples, ...rows],
    loadImage: (sample) => (added.has(sample) ? extra.loadImage(sample) : train.loadImage(sample)),
    loadLandmarks: async (sample) => (added.has(sample) ? extra.loadLandmarks?.(sample) : train.loadLandmarks?.(sample)),
  };
}

async function loadBaseSplits(args: DataArgs, inputSize: number): Promise<DataSplits> {
  if (args.workers !== undefined && (args.data || args.splitDir)) {
    throw new Error(`--workers ${args.workers} sets the threads that render synthetic data; with ${args.data ? '--data' : '--split-dir'} the images are read from files: drop --workers`);
  }
  if (args.splitDir) {
    const open = async (name: string) => {
      const part = await openDataset(join(args.splitDir!, name), { format: 'index', skipBad: args.skipBad, allowOutsidePaths: args.allowOutsidePaths });
      reportDatasetProblems(part);
      return part;
    };
    const need = (name: string) => {
      if (!existsSync(join(args.splitDir!, name))) throw new Error(`--split-dir ${args.splitDir}: no ${name} (expected train.csv and test.csv from \`webfer split\`)`);
    };
    need('train.csv');
    need('test.csv');
    const train = await open('train.csv');
    const test = await open('test.csv');
    const val = existsSync(join(args.splitDir, 'val.csv')) ? await open('val.csv') : undefined;
    await assertSplitFilesComplete(args.splitDir, { train: train.samples.length, val: val?.samples.length, test: test.samples.length });
    return { train, test, monitor: val && val.samples.length > 0 ? val : test, description: `split files in ${args.splitDir}`, recipe: { splitDir: resolve(args.splitDir) }, close: async () => {} };
  }
  const synth = args.data ? undefined : synthOptions(args.synthSubjects, args.synthExpressions, args.seed, inputSize);
  // Rendered on worker threads as the loaders ask, kept in memory after the first epoch while it
  // fits. Idle workers do not hold the process, so an error below needs no close.
  const onTheFly = synth && openOnTheFlySynth(synth, {
    workers: args.workers,
    onCacheFull: ({ images, bytes }) => console.error(`note: ${images} rendered images (${(bytes / 2 ** 20).toFixed(0)} MiB) fill the image cache; the others are rendered again each epoch`),
  });
  const synthParts = { renderWorkers: onTheFly?.workers, close: async () => { await onTheFly?.close(); } };
  const dataset = args.data ? await openDataset(args.data, { format: args.format, skipBad: args.skipBad, allowOutsidePaths: args.allowOutsidePaths }) : onTheFly!.dataset;
  reportDatasetProblems(dataset);
  if (dataset.samples.length === 0) throw new Error(`${dataset.source}: no samples`);
  const source = args.data ? `${dataset.format} ${dataset.source}` : `synthetic F²ED (${args.synthSubjects} subjects × ${args.synthExpressions} expressions × 4 poses, rendered on ${onTheFly!.workers} worker thread${onTheFly!.workers === 1 ? '' : 's'})`;
  // Absolute paths: `webfer eval` and --resume rebuild this data from any working folder.
  const recipe: Record<string, unknown> = { data: args.data ? resolve(args.data) : null, format: dataset.format, synth: synth ?? null, task: args.task ?? null, seed: args.seed };
  const hasOwnSplit = dataset.samples.some((s) => s.split === 'test');
  // A split column without test rows was ignored without a word, its val rows re-split into train.
  if (!args.task && !hasOwnSplit && dataset.samples.some((s) => s.split !== undefined)) {
    throw new Error(`${dataset.source}: the split column names ${[...new Set(dataset.samples.map((s) => s.split).filter(Boolean))].join(' and ')} rows but no test rows: add test rows, or pass --task to split the data anew (the column is then ignored)`);
  }
  if (!args.task && hasOwnSplit) {
    assertSplitColumnFilled(dataset, ', or pass --task to split the data anew (the column is then ignored)');
    const part = (name: string) => subset(dataset, dataset.samples.filter((s) => s.split === name));
    const train = part('train'), val = part('val'), test = part('test');
    if (train.samples.length === 0) throw new Error(`${dataset.source}: the split column has test rows but no train rows; pass --task to split it`);
    return { train, test, monitor: val.samples.length > 0 ? val : test, description: `${source}, its own train/val/test split`, recipe, ...synthParts };
  }
  const task = args.task ?? 'er-ss';
  if (task !== 'er-ss' && dataset.samples.some((s) => s.subject === undefined || s.pose === undefined)) {
    throw new Error(`--task ${task} needs subject and pose for every sample; ${dataset.format} data lacks them: use --task er-ss or an index CSV`);
  }
  const rows = dataset.samples.map((sample) => ({ sample, subject: sample.subject ?? '?', pose: (sample.pose ?? 'F') as Pose, expression: sample.label }));
  const split = splitRows(rows, task, args.seed);
  const train = subset(dataset, split.train.map((r) => r.sample));
  const test = subset(dataset, split.test.map((r) => r.sample));
  const val = subset(dataset, split.val.map((r) => r.sample));
  if (train.samples.length === 0 || test.samples.length === 0) throw new Error(`${task} (seed ${args.seed}) on ${dataset.samples.length} samples leaves train ${train.samples.length} / test ${test.samples.length}: use more data`);
  return { train, test, monitor: val.samples.length > 0 ? val : test, description: `${source}, ${task} seed ${args.seed}`, recipe: { ...recipe, task }, ...synthParts };
}

const dataOptions = {
  data: { type: 'string', describe: 'dataset: index CSV, fer2013.csv or a folder (default: a small synthetic F²ED made in memory)' },
  format: { type: 'string', default: 'auto', choices: DATASET_FORMATS },
  task: { type: 'string', choices: TASKS, describe: 'F²ED task split (default: the data\'s own split column, else er-ss)' },
  seed: { type: 'number', default: 0, describe: 'seed of the split, the synthetic data and the batch order' },
  'split-dir': { type: 'string', describe: 'folder with train.csv / val.csv / test.csv from `webfer split`' },
  'extra-train': { type: 'array', string: true, describe: 'index CSVs whose train rows join the training split (e.g. OUT/index.csv of `webfer augment`)' },
  'skip-bad': { type: 'boolean', default: false, describe: 'skip bad rows and unreadable images (each named, all counted) instead of stopping' },
  'allow-outside-paths': allowOutsidePathsOption,
  'synth-subjects': { type: 'number', default: 6, describe: 'synthetic data (no --data): identities' },
  'synth-expressions': { type: 'number', default: 6, describe: 'synthetic data (no --data): expressions 0..N-1' },
  workers: { type: 'number', describe: 'synthetic data (no --data): threads rendering it ahead of training [default: every core]' },
} as const;

/** The data flags train and eval share. */
function checkDataArgs(argv: DataArgs): void {
  // --split-dir names the data and its split; these were silently ignored beside it.
  const ignored = ([['--data', argv.data], ['--task', argv.task], ['--format', argv.format === 'auto' ? undefined : argv.format]] as const).find(([, value]) => value !== undefined);
  if (argv.splitDir !== undefined && ignored) {
    throw new Error(`--split-dir ${argv.splitDir} already names the data and its split; ${ignored[0]} ${ignored[1]} would be ignored: pass one of them`);
  }
  checkSynthFlagsUnused(givenOptions(), argv.data !== undefined ? '--data' : argv.splitDir !== undefined ? '--split-dir' : undefined);
  checkSeed(argv.seed);
  checkPositiveInteger(argv.synthSubjects, '--synth-subjects', 'e.g. --synth-subjects 6');
  checkSynthExpressions(argv.synthExpressions, '--synth-expressions', 6);
  checkSynthImages(argv.synthSubjects * argv.synthExpressions * 2 * 4, '--synth-subjects × --synth-expressions × 2 frames × 4 poses');
  if (argv.workers !== undefined) checkPositiveInteger(argv.workers, '--workers', 'e.g. --workers 4');
}

interface TrainArgs extends DataArgs {
  precision: Precision;
  model: LightCNNVariant;
  width: number;
  inputSize: number;
  epochs: number;
  batchSize: number;
  lr?: number;
  optimizer: 'sgd' | 'adam';
  out?: string;
  resume: boolean;
  readEvery: number;
  initFrom?: string;
  freeze?: 'features';
  preset?: FanetPreset;
}

/** The paper's Fa-Net recipes (lr at batch size, SGD with the reference parameter groups). */
const FANET_PRESETS = {
  f2ed: { lr: 0.01, batchSize: 128 },
  fer2013: { lr: 2e-3, batchSize: 64 },
  jaffe: { lr: 5e-4, batchSize: 32 },
} as const;
type FanetPreset = keyof typeof FANET_PRESETS;

/** The architecture options a pre-trained file fixes unless the command line names them. */
const ARCHITECTURE_FLAGS = [['variant', 'model', '--model'], ['widthMultiplier', 'width', '--width'], ['inputSize', 'inputSize', '--input-size']] as const;

/** What a Fa-Net run writes beside its checkpoint: a run cut short before its first checkpoint leaves these. */
const isFanetRunFile = (name: string) => name === 'metrics.jsonl' || name === BEST_CHECKPOINT || /^(curves|confusion)\.(png|svg)$/.test(name);

/** The checkpoint of the epoch with the highest validation accuracy, beside the last one. */
const BEST_CHECKPOINT = 'best.safetensors';

const trainCommand: CommandModule<object, TrainArgs> = {
  command: 'train',
  describe: 'Train Fa-Net (LightCNN) for expression recognition; writes checkpoint, best.safetensors (best val accuracy), metrics.jsonl, curves.png/.svg, confusion.png/.svg',
  builder: (yargs) =>
    yargs
      .options(dataOptions)
      .option('model', { type: 'string', default: 'lightcnn9', choices: LIGHTCNN_VARIANTS })
      .option('width', { type: 'number', default: 1, describe: 'channel width multiplier (0.25 or 0.5 for CPU / software GPUs)' })
      .option('input-size', { type: 'number', default: 128, describe: 'square input in pixels (paper 128; 64 or 48 on slow machines)' })
      .option('epochs', { type: 'number', default: 10 })
      .option('batch-size', { type: 'number', default: 16 })
      .option('lr', { type: 'number', describe: 'learning rate (default: 0.01 · batch / 128 for sgd, 1e-3 for adam)' })
      .option('optimizer', { type: 'string', default: 'sgd', choices: ['sgd', 'adam'], describe: 'sgd: the paper\'s recipe; adam: leaves chance faster on small data' })
      .option('out', { type: 'string', describe: 'run folder (default runs/fanet-MODEL)' })
      .option('resume', { type: 'boolean', default: false, describe: 'continue from OUT/checkpoint.safetensors' })
      .option('read-every', { type: 'number', default: 4, describe: 'read the loss back every N steps (each read is a GPU sync)' })
      .option('precision', { type: 'string', default: 'f32', choices: PRECISIONS, describe: 'f16: convolutions and linear layers read float16 copies of inputs and weights (f32 accumulation, f32 master weights, dynamic loss scaling; needs shader-f16)' })
      .option('init-from', { type: 'string', describe: 'start from pre-trained weights: a webfer checkpoint, a safetensors state dict (`webfer convert`) or a PyTorch .pth / .pth.tar; the classifier is replaced when the class count differs' })
      .option('freeze', { type: 'string', choices: ['features'], describe: 'with --init-from: train only the classifier' })
      .option('preset', { type: 'string', choices: Object.keys(FANET_PRESETS), describe: 'the paper\'s lr / batch: f2ed 0.01/128, fer2013 2e-3/64, jaffe 5e-4/32 (SGD, reference parameter groups)' })
      .check((parsed) => {
        const argv = parsed as unknown as TrainArgs;
        if (argv.freeze && !argv.initFrom) throw new Error('--freeze features needs --init-from FILE (freezing freshly initialised features would train only the classifier on random features)');
        if (argv.resume && (argv.initFrom || argv.preset)) throw new Error(`--resume continues from the run's checkpoint; ${argv.initFrom ? '--init-from' : '--preset'} is for a new run (drop it, or pass another --out)`);
        checkPositiveInteger(argv.epochs, '--epochs', 'e.g. --epochs 10');
        checkPositiveInteger(argv.batchSize, '--batch-size', 'e.g. --batch-size 16');
        checkPositiveInteger(argv.readEvery, '--read-every', 'e.g. --read-every 4');
        checkDataArgs(argv);
        checkFiniteNumber(argv.width, '--width', 0, 'e.g. --width 0.25', false, 4);
        checkInteger(argv.inputSize, '--input-size', 16, 'the four 2× poolings before the flatten need 16 pixels: use 128, 64 or 48');
        if (argv.lr !== undefined) checkFiniteNumber(argv.lr, '--lr', 0, 'e.g. --lr 0.01');
        return true;
      }) as never,
  handler: async (argv) => {
    const out = argv.out ?? join('runs', `fanet-${argv.model}`);
    checkOutputFolder(out, '--out');
    const checkpointPath = join(out, 'checkpoint.safetensors');
    const metricsPath = join(out, 'metrics.jsonl');
    const bestPath = join(out, BEST_CHECKPOINT);
    let config: LightCNNConfig = { variant: argv.model, classes: 0, inputSize: argv.inputSize, widthMultiplier: argv.width, inputChannels: 1 };
    let resumeInfo: RunInfo | undefined;
    let earlierHistory: EpochRecord[] = [];
    let batchInEpoch = 0;
    let epochSoFar: EpochSoFar | undefined;
    let best: BestEpoch | undefined;
    // This run's settings: the command line's, or on --resume the checkpoint's with the changes it accepts (refused before the GPU starts).
    const given = givenOptions();
    if (argv.preset) {
      const preset = FANET_PRESETS[argv.preset];
      if (given.has('optimizer') && argv.optimizer !== 'sgd') throw new Error(`--preset ${argv.preset} is the paper's SGD recipe; drop --optimizer ${argv.optimizer} or --preset`);
      if (!given.has('lr')) argv.lr = preset.lr;
      if (!given.has('batchSize')) argv.batchSize = preset.batchSize;
    }
    let pretrained: PretrainedWeights | undefined;
    if (argv.initFrom) {
      pretrained = readPretrainedWeights(argv.initFrom);
      for (const [key, option, flag] of ARCHITECTURE_FLAGS) {
        const recorded = pretrained.config?.[key];
        if (recorded === undefined) continue;
        if (!given.has(option)) (config as unknown as Record<string, unknown>)[key] = recorded;
        else if (recorded !== config[key]) console.error(`note: ${argv.initFrom} was ${flag} ${recorded}; using ${flag} ${config[key]} as given`);
      }
      if (pretrained.config?.batchNorm !== undefined) config.batchNorm = pretrained.config.batchNorm;
      if (pretrained.config?.inputChannels !== undefined) config.inputChannels = pretrained.config.inputChannels;
    }
    let run: FanetResumeSettings = { optimizer: argv.optimizer, batchSize: argv.batchSize, epochs: argv.epochs, precision: argv.precision, data: argv, notes: [] };
    if (argv.resume) {
      if (!existsSync(checkpointPath)) throw new Error(`--resume: no checkpoint at ${checkpointPath}; drop --resume to start a new run, or pass the run's --out`);
      resumeInfo = peekTrainingCheckpoint(checkpointPath);
      if (resumeInfo.kind !== 'fanet') throw new Error(`${checkpointPath} is a ${resumeInfo.kind} checkpoint, not Fa-Net: use another --out`);
      run = resumeFanetSettings(resumeInfo, argv, givenOptions(), checkpointPath);
      earlierHistory = resumedMetrics(metricsPath, resumeInfo, checkpointPath) as unknown as EpochRecord[];
      config = resumeInfo.config as unknown as LightCNNConfig;
      batchInEpoch = Number(resumeInfo.extra?.batchInEpoch ?? 0);
      epochSoFar = readEpochSoFar(resumeInfo.extra?.epochSoFar, checkpointPath);
      best = readBestEpoch(resumeInfo.extra?.best, checkpointPath);
      const within = batchInEpoch > 0 ? ` and ${batchInEpoch} batch(es) of epoch ${resumeInfo.epoch + 1}` : '';
      console.error(`resuming ${checkpointPath}: ${config.variant} width ${config.widthMultiplier} at ${config.inputSize} px, after epoch ${resumeInfo.epoch}${within} (step ${resumeInfo.step})`);
      for (const note of run.notes) console.error(note);
    } else {
      assertFreshRunFolder(out, isFanetRunFile);
    }
    await initWithAutotuneCache();
    const inputSize = config.inputSize ?? 128;
    const splits = await loadSplits({ ...argv, ...run.data }, inputSize);
    if (resumeInfo) assertSameSplit(resumeInfo.extra?.split, splits, checkpointPath, 'restore the data the run was trained on, or start a new run with another --out');
    assertTrainableClasses(splits.train, splits.description);
    // The default lr grows with the batch (0.01 · batch / 128), but a step sees at most the whole
    // training split: --batch-size 1e9 trained 19 images at lr 78125 (loss 1e36, exit 0).
    const trainImages = splits.train.samples.length;
    if (!argv.resume && given.has('batchSize') && argv.lr === undefined && run.batchSize > trainImages) {
      throw new Error(`--batch-size ${run.batchSize} is more than the ${trainImages} training images (${splits.description}), and the default lr is scaled by the batch size: use --batch-size ${trainImages} or less, or give --lr`);
    }
    config.classes ||= splits.train.classes.length;
    if (config.classes !== splits.train.classes.length) throw new Error(`the checkpoint's model has ${config.classes} classes, this data ${splits.train.classes.length}`);
    const model = createLightCNN(config);
    if (pretrained) {
      const classifier = pretrained.tensors.get(`${model.classifierName}.weight`);
      // Output k of a kept classifier must mean this data's class k: same names in the same order.
      const otherClasses = pretrained.classes !== undefined && !sameClassNames(pretrained.classes, splits.train.classes);
      const replaceClassifier = !classifier || classifier.shape[0] !== config.classes || otherClasses;
      let loaded: ReturnType<typeof initFromPretrained>;
      try {
        loaded = initFromPretrained(model, pretrained.tensors, { replaceClassifier, freeze: argv.freeze });
      } catch (error) {
        throw new Error(`--init-from ${argv.initFrom}: ${(error as Error).message}`);
      }
      console.error(
        `initialised from ${pretrained.description}: ${loaded.loaded.length} tensors` +
          `${replaceClassifier ? `; a new classifier for ${config.classes} classes${!classifier ? '' : otherClasses && classifier.shape[0] === config.classes ? ` (the file's was trained on ${pretrained.classes!.join(', ')}; this data's are ${splits.train.classes.join(', ')})` : ` (the file's has ${classifier.shape[0]})`}` : '; its classifier kept'}` +
          `${loaded.frozen.length ? `; ${loaded.frozen.length} feature parameters frozen` : ''}`,
      );
    }
    // A fine-tuning run with frozen features stays frozen when resumed.
    if (resumeInfo?.extra?.freeze === 'features') console.error(`the run trains only its classifier: ${freezeFeatures(model).length} feature parameters stay frozen`);
    const { optimizer, scheduler } = createFanetOptimizer(model, { batchSize: run.batchSize, lr: argv.lr, optimizer: run.optimizer });
    const scaler = usePrecision(model, run.precision);
    if (resumeInfo) loadTrainingCheckpoint(checkpointPath, fanetParts(model, optimizer, scheduler, scaler));
    if (run.lr !== undefined) {
      const previous = setBaseLearningRate(optimizer, scheduler, run.lr);
      const multiples = optimizer.paramGroups.map((group) => `${+(group.initialLr! / run.lr!).toPrecision(6)}×`).join('/');
      console.error(`lr changed from ${previous} to ${run.lr} (parameter groups at ${multiples} of it; the StepLR schedule continues from the new base)`);
    }
    const lr = baseLearningRate(optimizer);
    // Rendering on the fly: enough batches ahead that every worker has work (the order and results do not depend on it).
    const prefetch = splits.renderWorkers ? onTheFlyPrefetch(splits.renderWorkers, run.batchSize) : undefined;
    const { trainLoader, evalLoader } = createFanetLoaders(splits.train, splits.monitor, { batchSize: run.batchSize, inputSize, seed: run.data.seed, skipBad: argv.skipBad, prefetch });
    const { evalLoader: testLoader } = createFanetLoaders(undefined, splits.test, { batchSize: run.batchSize, inputSize, skipBad: argv.skipBad, prefetch });
    const skips = new SkipReporter();
    skips.watch('train', trainLoader);
    skips.watch('eval', evalLoader);
    skips.watch('test', testLoader);

    makeFolders(out, `--out ${out}`);
    if (!resumeInfo) writeFileSync(metricsPath, '');
    const history = [...earlierHistory];
    console.error(
      `${config.variant} (width ${config.widthMultiplier ?? 1}, ${inputSize} px, flatten ${finalFeatureSize(config.variant, inputSize)}², ${model.numParameters().toLocaleString('en')} parameters) · ` +
        `${splits.description}: train ${splits.train.samples.length} · eval ${splits.monitor.samples.length} · test ${splits.test.samples.length} · ${run.optimizer} lr ${lr} batch ${run.batchSize}${run.precision === 'f16' ? ' · float16 operands, loss scaling' : ''} · epochs ${(resumeInfo?.epoch ?? 0) + 1}–${run.epochs}`,
    );

    // Choosing an epoch by its test accuracy would tune on the test set: best.safetensors needs a validation part.
    const trackBest = splits.monitor !== splits.test;
    if (!trackBest) console.error(`note: ${splits.description} has no validation part, so each epoch is evaluated on the test part and no ${BEST_CHECKPOINT} is kept (picking an epoch by test accuracy would tune on the test set)`);
    let savedBest = false;
    const stop = stopOnCtrlC();
    try {
      const result = await trainFanet({
        model, optimizer, scheduler, scaler, trainLoader: trainLoader!, evalLoader, epochs: run.epochs,
        start: resumeInfo ? { epoch: resumeInfo.epoch, step: resumeInfo.step, batchInEpoch, epochSoFar, best } : undefined,
        trackBest,
        readEvery: argv.readEvery,
        progress: terminalProgress,
        // The class names let `webfer predict` name its outputs; older checkpoints lack them.
        extra: {
          ...splits.recipe, split: splitFingerprint(splits), batchSize: run.batchSize, lr, optimizer: run.optimizer, epochs: run.epochs, precision: run.precision, classes: [...splits.train.classes],
          ...(argv.initFrom ? { initFrom: resolve(argv.initFrom), freeze: argv.freeze ?? null } : {}), ...(argv.preset ? { preset: argv.preset } : {}),
        },
        // The best copy first: killed between the two writes, the resumed run redoes that epoch and writes both again.
        saveCheckpoint: (parts, info, isBest) => {
          savedBest = isBest === true;
          return saveTrainingCheckpoint(isBest ? [bestPath, checkpointPath] : checkpointPath, parts, info);
        },
        shouldStop: stop.requested,
        onEpoch: async (record, evaluation) => {
          history.push(record);
          appendFileSync(metricsPath, `${JSON.stringify(record)}\n`);
          await writePlot(join(out, 'curves'), trainingCurvesSpec(history, `${config.variant} training curves`));
          if (evaluation) await writePlot(join(out, 'confusion'), confusionMatrixSpec(evaluation.confusion, splits.train.classes, `Confusion matrix (eval, epoch ${record.epoch})`));
          const evalText = record.evalAccuracy === undefined ? '' : ` · eval loss ${record.evalLoss!.toFixed(4)} acc ${(100 * record.evalAccuracy).toFixed(2)}%`;
          await scaler?.settle();
          const scaleText = scaler ? ` · loss scale ${scaler.scale} (${scaler.skippedSteps} step(s) skipped so far)` : '';
          const bestText = savedBest ? ` · best so far (${BEST_CHECKPOINT})` : '';
          console.error(`epoch ${record.epoch}: train loss ${record.trainLoss.toFixed(4)} acc ${(100 * record.trainAccuracy).toFixed(2)}%${evalText}${bestText} · lr ${record.lr.toPrecision(3)}${scaleText} · ${record.trainImagesPerSecond.toFixed(1)} img/s · ${record.seconds.toFixed(1)} s`);
        },
      });
      if (result.stopped) {
        console.error(`stopped in epoch ${result.epoch + 1} at step ${result.step}; saved ${checkpointPath} (continue with \`webfer train --resume --out ${out}\`)`);
        process.exitCode = INTERRUPTED_EXIT_CODE;
        return;
      }
      let final: ClassificationReport | undefined = result.lastEvaluation;
      if (splits.test !== splits.monitor || !final) {
        final = await evaluateFanet(model, testLoader!, { classes: splits.test.classes, progress: terminalProgress, label: 'test' });
        await writePlot(join(out, 'confusion'), confusionMatrixSpec(final.confusion, splits.test.classes, 'Confusion matrix (test)'));
      }
      console.log(`test: ${formatReport({ ...final, classes: [...splits.test.classes] })}`);
      const bestText = result.best ? `, ${bestPath} (epoch ${result.best.epoch}: the best val accuracy, ${(100 * result.best.evalAccuracy).toFixed(2)}%)` : '';
      console.log(`wrote ${checkpointPath} (epoch ${result.epoch})${bestText}, ${metricsPath}, ${join(out, 'curves.png')} (and .svg), ${join(out, 'confusion.png')} (and .svg)`);
    } finally {
      const skipped = skips.summary();
      if (skipped) console.error(skipped);
      stop.release();
      await splits.close();
      optimizer.dispose();
      model.dispose();
    }
  },
};

interface EvalArgs extends DataArgs {
  checkpoint: string;
  split: 'train' | 'val' | 'test' | 'all';
  batchSize: number;
  json: boolean;
}

const evalCommand: CommandModule<object, EvalArgs> = {
  command: 'eval',
  describe: 'Evaluate a Fa-Net checkpoint: accuracy, per-class accuracy, confusion matrix',
  builder: (yargs) =>
    yargs
      .option('checkpoint', { type: 'string', demandOption: true, describe: 'checkpoint.safetensors written by `webfer train`' })
      .options(dataOptions)
      .option('split', { type: 'string', default: 'test', choices: ['train', 'val', 'test', 'all'], describe: 'which part to evaluate' })
      .option('batch-size', { type: 'number', default: 32 })
      .option('json', { type: 'boolean', default: false, describe: 'print the report as JSON' })
      .check((parsed) => {
        checkPositiveInteger((parsed as unknown as EvalArgs).batchSize, '--batch-size', 'e.g. --batch-size 32');
        checkDataArgs(parsed as unknown as EvalArgs);
        return true;
      }) as never,
  handler: async (argv) => {
    const info = peekTrainingCheckpoint(argv.checkpoint);
    if (info.kind !== 'fanet') throw new Error(`${argv.checkpoint} is a ${info.kind} checkpoint, not Fa-Net (LightCNN): pass a checkpoint from \`webfer train\``);
    await init();
    const config = info.config as unknown as LightCNNConfig;
    const extra = info.extra ?? {};
    // With no --data, rebuild the data the run was trained on (synthetic set, task and seed).
    const dataArgs: DataArgs = argv.data || argv.splitDir ? argv : {
      ...argv,
      data: (extra.data as string | null) ?? undefined,
      format: extra.data ? ((extra.format as DatasetFormat | undefined) ?? 'auto') : 'auto',
      task: (extra.task as Task | null) ?? undefined,
      seed: (extra.seed as number | undefined) ?? argv.seed,
      splitDir: (extra.splitDir as string | undefined) ?? undefined,
      extraTrain: (extra.extraTrain as string[] | undefined) ?? undefined,
      synthSubjects: (extra.synth as SynthOptions | null)?.subjects ?? argv.synthSubjects,
      synthExpressions: (extra.synth as SynthOptions | null)?.expressions ?? argv.synthExpressions,
    };
    const splits = await loadSplits(dataArgs, config.inputSize ?? 128);
    if (!argv.data && !argv.splitDir) {
      try {
        assertSameSplit(extra.split, splits, argv.checkpoint, 'restore that data, or pass --data to evaluate on other data knowingly');
      } catch (error) {
        await splits.close();
        throw error;
      }
    }
    // Without a validation part the loaders monitor the test part, which --split val then evaluated under the name val.
    if (argv.split === 'val' && splits.monitor === splits.test) {
      await splits.close();
      throw new Error(`--split val: ${splits.description} has no validation part (train ${splits.train.samples.length} · test ${splits.test.samples.length}): use --split test`);
    }
    const dataset = argv.split === 'all' ? subset(splits.train, [...splits.train.samples, ...(splits.monitor !== splits.test ? splits.monitor.samples : []), ...splits.test.samples])
      : argv.split === 'train' ? splits.train : argv.split === 'val' ? splits.monitor : splits.test;
    if (dataset.classes.length !== config.classes) {
      throw new Error(`${argv.checkpoint} was trained for ${config.classes} classes, this data has ${dataset.classes.length} (${dataset.format}): evaluate on data with the same label set`);
    }
    const evaluated = Array.isArray(extra.classes) ? inCheckpointClassOrder(dataset, extra.classes as string[], argv.checkpoint) : dataset;
    const model = createLightCNN(config);
    try {
      restoreCheckpoint(loadSafetensors(argv.checkpoint, { finite: true }), { modules: { model } }, argv.checkpoint);
      const { evalLoader } = createFanetLoaders(undefined, evaluated, { batchSize: argv.batchSize, inputSize: config.inputSize ?? 128, skipBad: argv.skipBad });
      const skips = new SkipReporter();
      skips.watch(argv.split, evalLoader);
      // Not an error: a part may rightly hold one class (ER-UE's test set on few expressions).
      const present = new Set(evaluated.samples.map((sample) => sample.label));
      if (present.size === 1) console.error(`note: every evaluated image is of class "${evaluated.classes[[...present][0]!]}": the accuracy is that class's recall`);
      const started = performance.now();
      const report = await evaluateFanet(model, evalLoader!, { classes: evaluated.classes, progress: terminalProgress, label: argv.split });
      const seconds = (performance.now() - started) / 1000;
      if (argv.json) {
        console.log(JSON.stringify({ checkpoint: argv.checkpoint, model: config, epoch: info.epoch, split: argv.split, seconds, imagesPerSecond: report.count / seconds, ...report }));
      } else {
        console.log(`${config.variant} after epoch ${info.epoch} on ${argv.split} (${report.count} images, ${(report.count / seconds).toFixed(1)} img/s)`);
        console.log(formatReport(report));
      }
      const skipped = skips.summary();
      if (skipped) console.error(skipped);
    } finally {
      await splits.close();
      model.dispose();
    }
  },
};

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const fanetCommands: CommandModule<any, any>[] = [trainCommand, evalCommand];
