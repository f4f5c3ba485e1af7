// The paper's experiments in miniature on one synthetic F²ED made on the spot (browser-safe; the
// CLI `webfer demo` / `npm start` and the web page run this same function with their own hooks):
//   Table 5 — for each task (ER-SS, ER-UE, ER-UP, ER-ZID, split by the paper's rules), Fa-Net
//             (LightCNN-9) without and with FaPE-GAN augmentation;
//   Table 4 — the ER-SS Fa-Net (pre-trained on the 54-class synthetic F²ED) fine-tuned on a
//             FER2013-format and a JAFFE-format set of unseen identities, against the same
//             networks from scratch;
// repeated over seeds. Every number in the result is measured in the run.
import { createSynthDataset, synthContactSheet, type SynthImageRenderer, type SynthOptions } from '../data/index.js';
import { splitRows, type Task } from '../data/splits.js';
import { cachedDataset, splitDataset, subsetDataset, withImages, type Dataset, type Sample } from '../data/dataset.js';
import { decodeImage } from '../data/codecs.js';
import { parseFer2013 } from '../data/datasets/fer2013.js';
import { parseJaffeName } from '../data/datasets/filenames.js';
import { EXPRESSIONS, EXPRESSION_FAMILIES, EXPRESSION_FAMILY_OF, FER2013_CLASSES, JAFFE_CLASSES, POSES, type Pose } from '../data/labels.js';
import type { ImageU8 } from '../data/image.js';
import { hashSeed } from '../data/random.js';
import { createFer2013Csv, createJaffeSet, splitSizes, FER2013_USAGE_SHARES, JAFFE_SPLIT, type Fer2013Export, type JaffeExport } from '../data/synth/export-formats.js';
import { createLightCNN, type LightCNN } from '../models/lightcnn.js';
import type { HostTensor } from '../nn/module.js';
import { manualSeed } from '../tensor/random.js';
import { tensor } from '../tensor/creation.js';
import { createFanetLoaders, createFanetOptimizer, evaluateFanet, fanetTrainStep, trainFanet, type EpochRecord, type FanetOptimizer } from './fanet.js';
import { createFineTuneOptimizer, initFromPretrained, PAPER_FINE_TUNE_LR_RATIO } from './fine-tune.js';
import { generateAugmentation, planAugmentation, type AugmentationPlan } from './augmentation.js';
import { createFaPEGanSession, freeSession, ganStep, trainFaPEGan, type FaPEGanMetrics, type FaPEGanSession } from './fapegan.js';
import type { StepLR } from '../optim/lr-scheduler.js';
import { silentProgress, type ProgressFactory } from './progress.js';
import { compare, summarize, type Comparison, type SeedSummary } from './demo/stats.js';
import { estimateSeconds, type MeasuredCosts, type PaperDemoOptions, type PlannedWork } from './demo/options.js';
import { TRANSFER_SETS, type TransferSet } from './demo/paper-results.js';

export * from './demo/options.js';

export * from './demo/paper-results.js';

export interface PaperDemoHooks {
  progress?: ProgressFactory;
  log?: (line: string) => void;
  /** Pictures worth showing: the synthetic data's contact sheet. */
  image?: (name: string, image: ImageU8) => void | Promise<void>;
  /** Encoded pictures: FaPE-GAN sample grids (rows: source | target mask | generated | real target). */
  png?: (name: string, png: Uint8Array) => void | Promise<void>;
  /** `run` names the task, method and seed, e.g. "er-up FaPE-GAN + Fa-Net seed 1". */
  fanetEpoch?: (run: string, record: EpochRecord) => void | Promise<void>;
  /**
   * Makes the transfer sets readable datasets. The CLI writes them to the run folder and opens
   * them with the file loaders (openDataset: fer2013, jaffe); the default parses them in memory
   * with the same parsers.
   */
  openTransferSets?: (sets: { fer2013: Fer2013Export; jaffe: JaffeExport }) => Promise<Record<TransferSet, Dataset>>;
  /**
   * Renders the synthetic F²ED's faces (default: in this thread). The CLI renders on worker
   * threads, every core; the faces are the same bytes either way.
   */
  synthRenderer?: SynthImageRenderer;
}

export interface PoseAccuracy { pose: string; accuracy: number; count: number }

/** One trained and evaluated Fa-Net. */
export interface FanetRun {
  accuracy: number;
  meanClassAccuracy: number;
  history: EpochRecord[];
  /**
   * Rows: the true classes of the data (classIds); columns: the same classes, then one column of
   * predictions outside them (the F²ED classifier has all 54 outputs).
   */
  confusion: number[][];
  /** True family × predicted family (EXPRESSION_FAMILIES); F²ED runs only. */
  familyConfusion?: number[][];
  perPose?: PoseAccuracy[];
}

export interface TaskSeedRun {
  seed: number;
  baseline: FanetRun;
  augmented?: FanetRun;
  /** Re-posed training faces added. */
  synthetic: number;
}

export interface TaskResult {
  task: Task;
  counts: { train: number; val: number; test: number };
  /** The test images' paths (synthetic keys): results.json lists them to check the GAN never saw one. */
  testPaths: string[];
  /** What the augmentation adds (e.g. "half-left (HL) faces re-posed from the other poses"). */
  augmentation?: string;
  runs: TaskSeedRun[];
  baseline: SeedSummary;
  augmented?: SeedSummary;
  comparison?: Comparison;
}

export interface GanRun {
  seed: number;
  /** 'shared' or the task it augments. */
  scope: 'shared' | Task;
  /** The tasks it augmented. */
  tasks: Task[];
  /** Every image the GAN trained on (sources and targets of its pose pairs). */
  trainedOn: string[];
  metrics: FaPEGanMetrics[];
}

export interface TransferSeedRun { seed: number; scratch: FanetRun; pretrained: FanetRun }

export interface TransferResult {
  set: TransferSet;
  counts: { train: number; val: number; test: number };
  classes: readonly string[];
  /** The backbone's lr as a share of the classifier's (the paper's fine-tuning lr ratio). */
  backboneLrRatio: number;
  runs: TransferSeedRun[];
  scratch: SeedSummary;
  pretrained: SeedSummary;
  comparison: Comparison;
}

export interface PaperDemoResult {
  options: PaperDemoOptions;
  /** Training seeds used. */
  seeds: number[];
  /** The F²ED expression ids in the data and their names. */
  classIds: number[];
  classNames: string[];
  images: number;
  chance: number;
  tasks: TaskResult[];
  gans: GanRun[];
  transfer?: TransferResult[];
  /** Where the pre-trained Fa-Net of Table 4 comes from. */
  pretrainedFrom?: string;
  /** The transfer sets' identity seeds (disjoint from the F²ED set's). */
  transferIdentitySeeds?: Record<TransferSet, number>;
  seconds: number;
}

/** Marks every sample with its split under the task rule (samples keep their order). */
export function splitByTask(dataset: Dataset, task: Task, seed: number): Dataset {
  const rows = dataset.samples.map((sample, index) => ({ subject: sample.subject ?? '', pose: (sample.pose ?? 'F') as Pose, expression: sample.label, index }));
  const result = splitRows(rows, task, seed);
  const splitOf = new Array<Sample['split']>(rows.length);
  for (const [name, list] of [['train', result.train], ['val', result.val], ['test', result.test]] as const) for (const row of list) splitOf[row.index] = name;
  return { ...dataset, samples: dataset.samples.map((sample, i) => ({ ...sample, split: splitOf[i] })) };
}

function synthOptionsOf(options: PaperDemoOptions): SynthOptions {
  return { ...options.data, channels: 1, seed: options.seed, poseMix: 'f2ed' };
}

/** Identity seeds of the transfer sets: derived from the run seed and the set's name, never the F²ED seed itself. */
function transferIdentitySeed(options: PaperDemoOptions, set: TransferSet): number {
  const seed = hashSeed(options.seed, 'transfer-identities', set);
  return seed === options.seed ? seed + 1 : seed;
}

/** The images in the training split of every task in `splitsByTask` (none is a test image of any). */
export function commonTrainingImages(splitsByTask: readonly Dataset[]): Dataset {
  const inAll = (sample: Sample, k: number) => splitsByTask.every((split) => split.samples[k]!.split === 'train');
  const first = splitsByTask[0]!;
  return { ...first, samples: first.samples.filter((sample, k) => inAll(sample, k)).map((sample) => ({ ...sample, split: 'train' as const })) };
}

function describePlan(plan: AugmentationPlan): string {
  if (plan.rarePose) return `faces re-posed into the rare pose ${plan.rarePose} from the other poses`;
  if (plan.rareExpressions) return `faces of the rare expressions ${plan.rareExpressions.map((id) => EXPRESSIONS[id]).join(', ')} re-posed into the poses they lack`;
  return 'training faces re-posed into another pose (the pose with the fewest training images first)';
}

/** Work counted from the plan without rendering: the estimate's input. */
export function planWork(options: PaperDemoOptions): PlannedWork {
  const dataset = createSynthDataset(synthOptionsOf(options));
  const splits = options.tasks.map((task) => splitByTask(dataset, task, options.seed));
  const batches = (n: number, b: number) => Math.ceil(n / b);
  let fanetSteps = 0, evalBatches = 0, generateBatches = 0, ganSteps = 0;
  const { epochs, batchSize } = options.fanet;
  splits.forEach((split, k) => {
    const train = split.samples.filter((s) => s.split === 'train').length;
    const test = split.samples.filter((s) => s.split === 'test').length;
    const extra = options.gan ? planAugmentation(split, options.tasks[k]!, { seed: options.seed, share: options.gan.reposeShare }).jobs.length : 0;
    fanetSteps += epochs * (batches(train, batchSize) + (options.gan ? batches(train + extra, batchSize) : 0));
    evalBatches += (options.gan ? 2 : 1) * (epochs + 1) * batches(test, batchSize);
    generateBatches += batches(extra, 8);
  });
  if (options.gan) {
    const gan = options.gan;
    const sets = gan.scope === 'shared' ? [commonTrainingImages(splits)] : splits.map((split) => splitDataset(split, 'train'));
    for (const set of sets) ganSteps += gan.epochs * batches(set.samples.length, gan.batchSize);
  }
  let renders256 = 0, renders64 = dataset.samples.length;
  if (options.transfer) {
    const t = options.transfer;
    const fer = t.fer2013.subjects * 7 * t.fer2013.framesPerExpression * 3;
    const jaffe = t.jaffe.subjects * 7 * t.jaffe.framesPerExpression + t.jaffe.extra;
    renders64 += fer;
    renders256 += jaffe;
    const ferTrain = splitSizes(fer, FER2013_USAGE_SHARES), jaffeTrain = splitSizes(jaffe, JAFFE_SPLIT);
    fanetSteps += 2 * t.epochs * (batches(ferTrain.train, t.batchSize) + batches(jaffeTrain.train, t.batchSize));
    evalBatches += 2 * t.epochs * (batches(ferTrain.test, t.batchSize) + batches(jaffeTrain.test, t.batchSize));
    if (!options.tasks.includes('er-ss')) {
      const split = splitByTask(dataset, 'er-ss', options.seed);
      fanetSteps += epochs * batches(split.samples.filter((s) => s.split === 'train').length, batchSize);
    }
  }
  return { fanetSteps, evalBatches, ganSteps, generateBatches, renders64, renders256 };
}

/** Times a few Fa-Net and FaPE-GAN steps and renders at the run's sizes (after a warm-up step each). */
export async function measureCosts(options: PaperDemoOptions): Promise<MeasuredCosts> {
  const { inputSize, widthMultiplier, batchSize, batchNorm } = options.fanet;
  const time = async (steps: number, run: () => Promise<void>) => {
    await run();
    const started = performance.now();
    for (let k = 0; k < steps; k++) await run();
    return (performance.now() - started) / 1000 / steps;
  };
  manualSeed(hashSeed(options.seed, 'measure'));
  const model = createLightCNN({ variant: 'lightcnn9', classes: EXPRESSIONS.length, inputSize, widthMultiplier, batchNorm: batchNorm ?? false, ...(options.fanet.dropout !== undefined ? { dropout: options.fanet.dropout } : {}) });
  const { optimizer } = createFanetOptimizer(model, { batchSize, optimizer: options.fanet.optimizer ?? 'adam' });
  const images = new Float32Array(batchSize * inputSize * inputSize).map((_, i) => (i % 97) / 97);
  const labels = Int32Array.from({ length: batchSize }, (_, i) => i % EXPRESSIONS.length);
  let fanetStep: number;
  try {
    fanetStep = await time(3, async () => {
      const out = fanetTrainStep(model, optimizer, images, [batchSize, 1, inputSize, inputSize], labels);
      try { await out.toArray(); } finally { out.dispose(); }
    });
  } finally {
    optimizer.dispose();
    model.dispose();
  }
  let ganStepSeconds = 0;
  if (options.gan) {
    const g = options.gan;
    const session = createFaPEGanSession({ channels: 1, baseWidth: g.baseWidth, residualBlocks: g.residualBlocks, imageSize: g.imageSize, norm: 'batch' }, { epochs: 1, batchSize: g.batchSize, seed: options.seed });
    const shape = [g.batchSize, 1, g.imageSize, g.imageSize];
    const source = tensor(new Float32Array(g.batchSize * g.imageSize * g.imageSize).map((_, i) => ((i % 89) / 89) * 2 - 1), shape);
    try {
      ganStepSeconds = await time(2, async () => {
        const out = await ganStep(session, source, source, source);
        try { await out.toArray(); } finally { out.dispose(); }
      });
    } finally {
      source.dispose();
      freeSession(session);
    }
  }
  const renderTime = (size: 64 | 256) => {
    const started = performance.now();
    const dataset = createSynthDataset({ subjects: 1, expressionIds: [0], framesPerClip: 2, poses: ['F'], size, channels: 1, seed: hashSeed(options.seed, 'measure') });
    return Promise.all(dataset.samples.map((s) => dataset.loadImage(s))).then(() => (performance.now() - started) / 1000 / dataset.samples.length);
  };
  return { fanetStep, ganStep: ganStepSeconds, render64: await renderTime(64), render256: options.transfer ? await renderTime(256) : 0 };
}

/** Planned work × measured costs, printed at the start. */
export async function estimatePaperDemo(options: PaperDemoOptions, seeds = options.seeds): Promise<{ seconds: number; perSeed: number; costs: MeasuredCosts; work: PlannedWork }> {
  const work = planWork(options);
  const costs = await measureCosts(options);
  const { total, perSeed } = estimateSeconds(work, costs, seeds);
  return { seconds: total, perSeed, costs, work };
}

function familyConfusion(confusion: number[][]): number[][] {
  const families = EXPRESSION_FAMILIES.length;
  const out = Array.from({ length: families }, () => new Array<number>(families).fill(0));
  confusion.forEach((row, t) => row.forEach((count, p) => { if (count) out[EXPRESSION_FAMILY_OF[t]!]![EXPRESSION_FAMILY_OF[p]!]! += count; }));
  return out;
}

/** The confusion restricted to the classes in the data, plus a column for predictions outside them. */
function restrictConfusion(confusion: number[][], classIds: readonly number[]): number[][] {
  return classIds.map((t) => {
    const row = confusion[t]!;
    const inside = classIds.map((p) => row[p]!);
    const total = row.reduce((a, b) => a + b, 0);
    return [...inside, total - inside.reduce((a, b) => a + b, 0)];
  });
}

interface RunSpec {
  name: string;
  train: Dataset;
  test: Dataset;
  classes: number;
  seed: number;
  /** F²ED runs: class ids in the data (confusion rows), with families and per-pose accuracy. */
  classIds: readonly number[];
  f2ed: boolean;
  epochs: number;
  batchSize: number;
  /** Fine-tuning from this state dict (classifier replaced); from scratch when absent. */
  pretrained?: { stateDict: Map<string, HostTensor>; backboneLrRatio: number };
  /** Keep the trained weights (the ER-SS baseline pre-trains Table 4). */
  keepWeights?: boolean;
}

async function trainAndEvaluate(spec: RunSpec, options: PaperDemoOptions, hooks: PaperDemoHooks): Promise<{ run: FanetRun; weights?: Map<string, HostTensor> }> {
  const { inputSize, widthMultiplier } = options.fanet;
  // The same initial weights for the runs a table compares (with / without augmentation or pre-training).
  manualSeed(hashSeed(spec.seed, 'fanet-init', spec.classes));
  const model: LightCNN = createLightCNN({ variant: 'lightcnn9', classes: spec.classes, inputSize, widthMultiplier, batchNorm: options.fanet.batchNorm ?? false, ...(options.fanet.dropout !== undefined ? { dropout: options.fanet.dropout } : {}) });
  let optimizer: FanetOptimizer | undefined;
  let scheduler: StepLR;
  try {
    if (spec.pretrained) {
      initFromPretrained(model, spec.pretrained.stateDict, { replaceClassifier: true });
      ({ optimizer, scheduler } = createFineTuneOptimizer(model, { batchSize: spec.batchSize, optimizer: options.fanet.optimizer ?? 'adam', lr: options.fanet.lr, backboneLrRatio: spec.pretrained.backboneLrRatio }));
    } else {
      ({ optimizer, scheduler } = createFanetOptimizer(model, { batchSize: spec.batchSize, optimizer: options.fanet.optimizer ?? 'adam', lr: options.fanet.lr }));
    }
    const { trainLoader, evalLoader } = createFanetLoaders(spec.train, spec.test, { batchSize: spec.batchSize, inputSize, seed: hashSeed(spec.seed, 'order', spec.name) });
    const result = await trainFanet({
      model, optimizer, scheduler, trainLoader: trainLoader!, evalLoader, epochs: spec.epochs,
      progress: hooks.progress,
      onEpoch: (record) => hooks.fanetEpoch?.(spec.name, record),
    });
    const report = result.lastEvaluation!;
    const run: FanetRun = {
      accuracy: report.accuracy, meanClassAccuracy: report.meanClassAccuracy, history: result.history,
      confusion: spec.f2ed ? restrictConfusion(report.confusion, spec.classIds) : report.confusion,
    };
    if (spec.f2ed) {
      run.familyConfusion = familyConfusion(report.confusion);
      run.perPose = [];
      for (const pose of POSES) {
        const subset = subsetDataset(spec.test, (sample) => sample.pose === pose);
        if (subset.samples.length === 0) continue;
        const { evalLoader: poseLoader } = createFanetLoaders(undefined, subset, { batchSize: spec.batchSize, inputSize });
        const poseReport = await evaluateFanet(model, poseLoader!, { classes: spec.classes, progress: silentProgress });
        run.perPose.push({ pose, accuracy: poseReport.accuracy, count: poseReport.count });
      }
    }
    return { run, weights: spec.keepWeights ? await model.exportStateDict() : undefined };
  } finally {
    optimizer?.dispose();
    model.dispose();
  }
}

function log(hooks: PaperDemoHooks, line: string): void {
  hooks.log?.(line);
}

const pct = (v: number) => `${(100 * v).toFixed(1)} %`;

/** The default for PaperDemoHooks.openTransferSets: the same parsers as the file loaders, in memory. */
export async function openTransferSetsInMemory(sets: { fer2013: Fer2013Export; jaffe: JaffeExport }): Promise<Record<TransferSet, Dataset>> {
  const fer2013 = parseFer2013(sets.fer2013.csv, { file: 'fer2013.csv' });
  const bytes = new Map(sets.jaffe.files.map((file) => [file.path, file.bytes]));
  const samples: Sample[] = sets.jaffe.files.map((file) => {
    const parsed = parseJaffeName(file.path.split('/').pop()!);
    if (!parsed) throw new Error(`JAFFE export: ${file.path} does not follow the JAFFE naming`);
    return { path: file.path, label: parsed.label, subject: parsed.subject, pose: 'F', split: file.split };
  });
  const jaffe: Dataset = {
    format: 'jaffe', source: 'jaffe', classes: JAFFE_CLASSES, samples, problems: [],
    loadImage: async (sample) => decodeImage(bytes.get(sample.path)!, sample.path),
  };
  return { fer2013, jaffe };
}

export async function runPaperDemo(options: PaperDemoOptions, hooks: PaperDemoHooks = {}): Promise<PaperDemoResult> {
  const started = performance.now();
  if (!(Number.isInteger(options.seeds) && options.seeds >= 1)) throw new Error(`demo: seeds must be a positive integer, got ${options.seeds}`);
  if (options.tasks.length === 0) throw new Error('demo: no tasks to run; pass at least one of er-ss, er-ue, er-up, er-zid');
  const progress = hooks.progress ?? silentProgress;
  const synth = synthOptionsOf(options);
  // Rendered once: the renderer costs more per image than a training step.
  const dataset = cachedDataset(createSynthDataset(synth, hooks.synthRenderer));
  const classIds = [...new Set(dataset.samples.map((sample) => sample.label))].sort((a, b) => a - b);
  const classNames = classIds.map((id) => EXPRESSIONS[id]!);
  const classes = dataset.classes.length; // all 54 outputs, like the paper's classifier
  await hooks.image?.('contact-sheet', synthContactSheet({ ...synth, subjects: Math.min(2, synth.subjects), masks: true, expressionIds: classIds.slice(0, 8) }));
  const seeds = Array.from({ length: options.seeds }, (_, k) => options.seed + k);
  log(hooks, `Synthetic F²ED: ${options.data.subjects} subjects × ${classIds.length} of the 54 expressions × 4 poses, ${dataset.samples.length} images; tasks ${options.tasks.map((t) => t.toUpperCase()).join(', ')}; seeds ${seeds.join(', ')}`);
  // Every task and seed trains on these faces: all rendered first, a window at a time so that a
  // renderer with several threads keeps each busy (in this thread the window changes nothing).
  const render = progress('rendering faces', dataset.samples.length);
  const renderWindow = 64;
  for (let start = 0; start < dataset.samples.length; start += renderWindow) {
    const end = Math.min(start + renderWindow, dataset.samples.length);
    await Promise.all(dataset.samples.slice(start, end).map((sample) => dataset.loadImage(sample)));
    render.update(end);
  }
  render.stop();

  const splits = options.tasks.map((task) => splitByTask(dataset, task, options.seed));
  const tasks: TaskResult[] = options.tasks.map((task, k) => {
    const split = splits[k]!;
    const count = (name: string) => split.samples.filter((s) => s.split === name).length;
    return { task, counts: { train: count('train'), val: count('val'), test: count('test') }, testPaths: split.samples.filter((s) => s.split === 'test').map((s) => s.path), runs: [], baseline: summarize([0]) };
  });
  for (const result of tasks) log(hooks, `  ${result.task.toUpperCase()}: ${result.counts.train} train${result.counts.val ? ` / ${result.counts.val} val (unused)` : ''} / ${result.counts.test} test`);

  const gans: GanRun[] = [];
  const transferRuns: Record<TransferSet, TransferSeedRun[]> = { fer2013: [], jaffe: [] };
  let transferSets: Record<TransferSet, Dataset> | undefined;
  let transferExports: { fer2013: Fer2013Export; jaffe: JaffeExport } | undefined;
  const transferIdentitySeeds = { fer2013: transferIdentitySeed(options, 'fer2013'), jaffe: transferIdentitySeed(options, 'jaffe') };
  if (options.transfer) {
    const t = options.transfer;
    log(hooks, `Transfer sets (unseen identities, the 7 basic expressions): FER2013 format ${t.fer2013.subjects} posers, JAFFE format ${t.jaffe.subjects} posers`);
    const ferCount = t.fer2013.subjects * 7 * t.fer2013.framesPerExpression * 3;
    const ferBar = progress('FER2013-format faces', ferCount);
    const fer2013 = await createFer2013Csv({ subjects: t.fer2013.subjects, framesPerExpression: t.fer2013.framesPerExpression, seed: transferIdentitySeeds.fer2013 }, (done) => { if (done % 16 === 0 || done === ferCount) ferBar.update(done); });
    ferBar.stop();
    const jaffeCount = t.jaffe.subjects * 7 * t.jaffe.framesPerExpression + t.jaffe.extra;
    const jaffeBar = progress('JAFFE-format faces', jaffeCount);
    const jaffe = await createJaffeSet({ subjects: t.jaffe.subjects, framesPerExpression: t.jaffe.framesPerExpression, extra: t.jaffe.extra, seed: transferIdentitySeeds.jaffe }, (done) => { if (done % 8 === 0 || done === jaffeCount) jaffeBar.update(done); });
    jaffeBar.stop();
    transferExports = { fer2013, jaffe };
    transferSets = await (hooks.openTransferSets ?? openTransferSetsInMemory)(transferExports);
  }

  for (const seed of seeds) {
    const extras = new Map<Task, { sample: Sample; image: ImageU8 }[]>();
    if (options.gan) {
      const g = options.gan;
      const groups: { scope: 'shared' | Task; tasks: Task[]; data: Dataset }[] = g.scope === 'shared'
        ? [{ scope: 'shared', tasks: options.tasks, data: commonTrainingImages(splits) }]
        : options.tasks.map((task, k) => ({ scope: task, tasks: [task], data: splitDataset(splits[k]!, 'train') }));
      for (const group of groups) {
        log(hooks, `FaPE-GAN (seed ${seed}, width ${g.baseWidth}, ${g.residualBlocks} residual blocks, ${g.imageSize} px), ${g.epochs} epochs on pose pairs of ${group.data.samples.length} training images (${group.scope === 'shared' ? `in the training split of every task: ${group.tasks.map((t) => t.toUpperCase()).join(', ')}` : `${group.scope.toUpperCase()}'s training split`})`);
        const session: FaPEGanSession = createFaPEGanSession({ channels: 1, baseWidth: g.baseWidth, residualBlocks: g.residualBlocks, imageSize: g.imageSize, norm: 'batch' }, { epochs: g.epochs, batchSize: g.batchSize, seed: hashSeed(seed, 'fapegan', group.scope) });
        try {
          const metrics = await trainFaPEGan(session, group.data, {
            progress,
            onEpochEnd: async ({ metrics: m, samplesPng }) => {
              if (m.epoch === g.epochs) await hooks.png?.(`fapegan-samples-${group.scope}-seed${seed}`, samplesPng);
            },
          });
          gans.push({ seed, scope: group.scope, tasks: group.tasks, trainedOn: group.data.samples.map((s) => s.path), metrics });
          for (const task of group.tasks) {
            const split = splits[options.tasks.indexOf(task)]!;
            const plan = planAugmentation(split, task, { seed: hashSeed(seed, 'augment'), share: g.reposeShare });
            const extra: { sample: Sample; image: ImageU8 }[] = [];
            for await (const { job, image } of generateAugmentation(session.generator, split, plan.jobs)) {
              extra.push({ sample: { path: `fapegan/${task}/${seed}/${extra.length}`, label: job.expression, subject: job.subject, pose: job.targetPose, split: 'train' }, image });
            }
            extras.set(task, extra);
            tasks[options.tasks.indexOf(task)]!.augmentation = describePlan(plan);
            log(hooks, `  ${task.toUpperCase()}: ${extra.length} ${describePlan(plan)}`);
          }
        } finally {
          freeSession(session);
        }
      }
    }

    let pretrained: Map<string, HostTensor> | undefined;
    for (const [k, task] of options.tasks.entries()) {
      const split = splits[k]!;
      const train = splitDataset(split, 'train'), test = splitDataset(split, 'test');
      const common = { test, classes, seed: hashSeed(seed, task), classIds, f2ed: true, epochs: options.fanet.epochs, batchSize: options.fanet.batchSize };
      log(hooks, `${task.toUpperCase()} seed ${seed}: Fa-Net (LightCNN-9, width ×${options.fanet.widthMultiplier}, ${options.fanet.inputSize} px), ${options.fanet.epochs} epochs on ${train.samples.length} images`);
      const baseline = await trainAndEvaluate({ ...common, name: `${task} Fa-Net seed ${seed}`, train, keepWeights: task === 'er-ss' && options.transfer !== false }, options, hooks);
      if (baseline.weights) pretrained = baseline.weights;
      log(hooks, `  Fa-Net ${pct(baseline.run.accuracy)}`);
      const seedRun: TaskSeedRun = { seed, baseline: baseline.run, synthetic: 0 };
      const extra = extras.get(task);
      if (extra) {
        seedRun.synthetic = extra.length;
        const augmented = await trainAndEvaluate({ ...common, name: `${task} FaPE-GAN + Fa-Net seed ${seed}`, train: withImages(train, extra) }, options, hooks);
        seedRun.augmented = augmented.run;
        log(hooks, `  FaPE-GAN + Fa-Net ${pct(augmented.run.accuracy)} (+${extra.length} re-posed faces)`);
      }
      tasks[k]!.runs.push(seedRun);
    }

    if (options.transfer && transferSets) {
      const t = options.transfer;
      if (!pretrained) {
        const split = splitByTask(dataset, 'er-ss', options.seed);
        log(hooks, `Pre-training Fa-Net on the ER-SS training split (seed ${seed}) for the transfer table`);
        pretrained = (await trainAndEvaluate({ name: `er-ss pre-training seed ${seed}`, train: splitDataset(split, 'train'), test: splitDataset(split, 'test'), classes, seed: hashSeed(seed, 'er-ss'), classIds, f2ed: true, epochs: options.fanet.epochs, batchSize: options.fanet.batchSize, keepWeights: true }, options, hooks)).weights;
      }
      for (const set of TRANSFER_SETS) {
        const data = transferSets[set];
        const common = { train: splitDataset(data, 'train'), test: splitDataset(data, 'test'), classes: data.classes.length, seed: hashSeed(seed, set), classIds: [...data.classes.keys()], f2ed: false, epochs: t.epochs, batchSize: t.batchSize };
        log(hooks, `${set === 'fer2013' ? 'FER2013' : 'JAFFE'} seed ${seed}: ${common.train.samples.length} train / ${common.test.samples.length} test images, ${t.epochs} epochs`);
        const scratch = await trainAndEvaluate({ ...common, name: `${set} from scratch seed ${seed}` }, options, hooks);
        const fineTuned = await trainAndEvaluate({ ...common, name: `${set} pre-trained seed ${seed}`, pretrained: { stateDict: pretrained!, backboneLrRatio: PAPER_FINE_TUNE_LR_RATIO[set] } }, options, hooks);
        log(hooks, `  from scratch ${pct(scratch.run.accuracy)}, pre-trained on synthetic F²ED ${pct(fineTuned.run.accuracy)}`);
        transferRuns[set].push({ seed, scratch: scratch.run, pretrained: fineTuned.run });
      }
    }
  }

  for (const result of tasks) {
    result.baseline = summarize(result.runs.map((r) => r.baseline.accuracy));
    if (options.gan) {
      result.augmented = summarize(result.runs.map((r) => r.augmented!.accuracy));
      result.comparison = compare(result.baseline, result.augmented);
    }
  }
  const result: PaperDemoResult = {
    options, seeds, classIds, classNames, images: dataset.samples.length, chance: 1 / classIds.length, tasks, gans, seconds: 0,
  };
  if (options.transfer && transferSets && transferExports) {
    result.pretrainedFrom = options.tasks.includes('er-ss') ? 'the ER-SS Fa-Net baseline of the same seed (54-class classifier)' : 'a Fa-Net trained on the ER-SS training split of the same seed (54-class classifier)';
    result.transferIdentitySeeds = transferIdentitySeeds;
    result.transfer = TRANSFER_SETS.map((set) => {
      const runs = transferRuns[set];
      const scratch = summarize(runs.map((r) => r.scratch.accuracy)), pretrainedSummary = summarize(runs.map((r) => r.pretrained.accuracy));
      const data = transferSets![set];
      const count = (name: string) => data.samples.filter((s) => s.split === name).length;
      return {
        set, counts: { train: count('train'), val: count('val'), test: count('test') }, classes: set === 'fer2013' ? FER2013_CLASSES : JAFFE_CLASSES,
        backboneLrRatio: PAPER_FINE_TUNE_LR_RATIO[set], runs, scratch, pretrained: pretrainedSummary, comparison: compare(scratch, pretrainedSummary),
      };
    });
  }
  result.seconds = (performance.now() - started) / 1000;
  return result;
}

export { formatPaperDemo, paperDirection, transferDirection, reportMarkdown, table4Rows, table5Rows } from './demo/report.js';
