// The page's GPU work, in a dedicated Web Worker so that the page never waits on it: WebGPU
// (navigator.gpu exists in workers), the synthetic faces, Fa-Net and FaPE-GAN training with the
// library's own trainers, predictions, checkpoints and the benchmark suites. One request runs at
// a time, the others wait their turn (refused while a training run holds the GPU); Stop, Pause and
// Resume act at once. Messages: web/app/protocol.ts. The faces render on
// a pool of render workers of its own (web/render-pool.ts), in parallel with this thread.
import { init, gpu, manualSeed } from '../src/index.js';
import { createSynthDataset, renderSynthInThisThread, type SynthImageRenderer } from '../src/data/synth/synth-dataset.js';
import type { SynthOptions } from '../src/data/synth/generator.js';
import { cachedDataset, subsetDataset, withImages, type Dataset, type Sample } from '../src/data/dataset.js';
import { decodeImage, sniffFormat } from '../src/data/codecs.js';
import { PairedBatchLoader } from '../src/data/batch-loader.js';
import { EXPRESSIONS, type Pose } from '../src/data/labels.js';
import { renderPoseMaskImage } from '../src/data/pose-mask.js';
import { splitRows } from '../src/data/splits.js';
import { hashSeed } from '../src/data/random.js';
import { createLightCNN, type LightCNN, type LightCNNConfig } from '../src/models/lightcnn.js';
import type { FaPEGenerator, FaPEGanConfig } from '../src/models/fapegan.js';
import { createFaPEGan } from '../src/models/fapegan.js';
import { assertFiniteTensors, decodeSafetensors, encodeSafetensors } from '../src/nn/safetensors.js';
import { describeLightCNNConfig, lightCNNFromPytorch, lightCNNFromStateDict } from '../src/models/lightcnn-detect.js';
import { captureCheckpoint, readRunInfo, restoreCheckpoint, type RunInfo } from '../src/train/checkpoint.js';
import { createFanetLoaders, createFanetOptimizer, evaluateFanet, fanetParts, trainFanet, type EpochRecord, type FanetOptimizer } from '../src/train/fanet.js';
import { createFaPEGanSession, createPairLoader, trainFaPEGan } from '../src/train/fapegan.js';
import { generateAugmentation, planAugmentation } from '../src/train/augmentation.js';
import { generate, symmetricToImage } from '../src/train/generate.js';
import { predictImages } from '../src/train/predict.js';
import type { StepLR } from '../src/optim/lr-scheduler.js';
import type { Progress } from '../src/train/progress.js';
import { trainingCurvesSpec } from '../src/plots/specs.js';
import { stepCurvesSpec, type StepPoint } from '../src/plots/step-curves.js';
import { renderSvg } from '../src/plots/render.js';
import { BENCH_SUITES } from '../src/bench/index.js';
import type { ImageU8 } from '../src/data/image.js';
import { RunEstimate } from './app/estimate.js';
import { defaultRenderWorkers, describeRenderers, describeRenderRate, RenderMeter, RenderWorkerPool } from './render-pool.js';
import {
  AUGMENTABLE_TASKS, STAGE_LABELS, settingsProblems, suggestedSettings,
  type AdapterSummary, type BenchRowMessage, type FromWorker, type GalleryFace, type GalleryReply, type GanReply, type GrayImage, type ImageSource,
  type PredictionReply, type Request, type RunSettings, type StageName, type ToWorker, type TrainEvent, type TrainSummary,
} from './app/protocol.js';

const workerScope = self as unknown as { postMessage(message: FromWorker, transfer?: Transferable[]): void; onmessage: ((event: MessageEvent<ToWorker>) => void) | null };

function post(message: FromWorker, transfer: Transferable[] = []): void {
  workerScope.postMessage(message, transfer);
}

function emit(event: TrainEvent): void {
  post({ kind: 'event', ...event } as FromWorker);
}

/** Thrown inside a run when Stop is pressed (by the data gate, between images). */
class RunStopped extends Error {
  constructor() { super('stopped'); }
}

/** Stop and Pause: checked after every step (Fa-Net) and before every image load (everything). */
const control = {
  stopRequested: false,
  paused: false,
  waiters: [] as (() => void)[],
  reset(): void {
    this.stopRequested = false;
    this.setPaused(false);
  },
  setPaused(paused: boolean): void {
    this.paused = paused;
    if (!paused) for (const wake of this.waiters.splice(0)) wake();
  },
  /** Waits while paused; throws once Stop was pressed. */
  async gate(): Promise<void> {
    while (this.paused && !this.stopRequested) await new Promise<void>((resolve) => this.waiters.push(resolve));
    if (this.stopRequested) throw new RunStopped();
  },
};

/** The dataset with every image load passing the Stop/Pause gate: loaders stall or throw there. */
function gated(dataset: Dataset): Dataset {
  return {
    ...dataset,
    loadImage: async (sample) => { await control.gate(); return dataset.loadImage(sample); },
  };
}

/** The live chart's shortest redraw interval, and the cost share bound (redraw after this many times its drawing time). */
const LIVE_CHART_INTERVAL_MS = 1500;
const LIVE_CHART_COST_SHARE = 20;

interface PageModel {
  model: LightCNN;
  optimizer: FanetOptimizer;
  scheduler: StepLR;
  info: RunInfo;
  names: string[];
  label: string;
}

interface LoadedModel { model: LightCNN; names: string[]; label: string }

/** Who renders the synthetic faces: a pool of render workers, or this thread (0 workers). */
interface Rendering {
  workers: number;
  /** In words, for the log: "on 3 render workers". */
  where: string;
  render: SynthImageRenderer;
  meter: RenderMeter;
  pool?: RenderWorkerPool;
}

function startRendering(requested: number | undefined): Rendering {
  const meter = new RenderMeter();
  // Without nested workers (or when asked for 0) the faces render in this thread, and the log says so.
  const workers = typeof Worker === 'undefined' ? 0 : requested ?? defaultRenderWorkers(navigator.hardwareConcurrency);
  if (workers === 0) {
    const where = typeof Worker === 'undefined' ? "in the training worker's own thread (this browser has no Web Workers inside workers)" : describeRenderers(0);
    return { workers, where, render: meter.wrap(renderSynthInThisThread), meter };
  }
  const pool = new RenderWorkerPool(workers);
  pool.start();
  return { workers, where: describeRenderers(workers), render: meter.wrap(pool.render), meter, pool };
}

const state = {
  adapter: undefined as AdapterSummary | undefined,
  rendering: undefined as Rendering | undefined,
  synth: undefined as { key: string; options: SynthOptions; dataset: Dataset } | undefined,
  pageModel: undefined as PageModel | undefined,
  pageGenerator: undefined as { generator: FaPEGenerator; label: string } | undefined,
  loadedModel: undefined as LoadedModel | undefined,
  loadedGenerator: undefined as { generator: FaPEGenerator; label: string } | undefined,
};

/** The synthetic data of `webfer train` with the same flags: same images, same split, so `webfer eval` can rebuild it. */
function synthOptionsFor(settings: RunSettings): SynthOptions {
  return { subjects: settings.subjects, expressions: settings.expressions, framesPerClip: 2, size: settings.inputSize > 64 ? 128 : 64, channels: 1, seed: settings.seed };
}

function synthFor(settings: RunSettings): { options: SynthOptions; dataset: Dataset } {
  const options = synthOptionsFor(settings);
  const key = JSON.stringify(options);
  if (state.synth?.key !== key) state.synth = { key, options, dataset: cachedDataset(createSynthDataset(options, state.rendering!.render)) };
  return state.synth;
}

function gray(image: ImageU8): GrayImage {
  if (image.channels === 1) return { width: image.width, height: image.height, pixels: image.data.slice() };
  const pixels = new Uint8Array(image.width * image.height);
  for (let i = 0; i < pixels.length; i++) pixels[i] = Math.round((image.data[3 * i]! + image.data[3 * i + 1]! + image.data[3 * i + 2]!) / 3);
  return { width: image.width, height: image.height, pixels };
}

function describeAdapter(): AdapterSummary {
  const info = gpu().info;
  const name = [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' ') || 'unnamed adapter';
  return { name, isSoftware: info.isSoftware, features: info.features, kernels: { ...gpu().policy.choices() } };
}

async function initialise(renderWorkers: number | undefined): Promise<{ adapter: AdapterSummary; suggested: RunSettings }> {
  if (!state.adapter) {
    // The render workers load their script while WebGPU starts.
    state.rendering ??= startRendering(renderWorkers);
    // Pipelines compile in the background (createComputePipelineAsync, one at a time): blocking
    // compiles stall Chromium's GPU process, which draws the page too; on SwiftShader a step's
    // first-use compiles held frames back 0.9-4.7 s (bench/RESULTS.md, the page's held frames).
    await init({ asyncCompile: true });
    state.adapter = describeAdapter();
  }
  return { adapter: state.adapter, suggested: suggestedSettings(state.adapter.isSoftware) };
}

/**
 * Calls `load` on every item with at most `limit` calls in flight (so Stop and Pause still act
 * between faces); rejects at the first failure, after which no new call starts.
 */
async function loadAll<T>(items: readonly T[], limit: number, load: (item: T) => Promise<void>): Promise<void> {
  let next = 0, failed = false;
  const lane = async () => {
    while (next < items.length && !failed) {
      try { await load(items[next++]!); } catch (error) { failed = true; throw error; }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, lane));
}

/** Faces in flight at once: enough to keep every render worker busy while replies travel (two each, and as many waiting). */
function renderWindow(): number {
  return Math.max(1, 4 * state.rendering!.workers);
}

/** One face per subject × pose × expression (clip 0, frame 0) with its pose mask. */
async function gallery(settings: RunSettings): Promise<GalleryReply> {
  const { dataset } = synthFor(settings);
  const started = performance.now();
  const chosen = dataset.samples.filter((sample) => sample.clip === 0 && sample.frame === 0);
  const faces = new Map<Sample, GalleryFace>();
  // A face's mask is drawn here as its image arrives; by then the pool has handed that worker its next face.
  await loadAll(chosen, renderWindow(), async (sample) => {
    const image = await dataset.loadImage(sample);
    const landmarks = await dataset.loadLandmarks!(sample);
    faces.set(sample, {
      key: sample.path, subject: sample.subject!, pose: sample.pose!, expression: sample.label, expressionName: EXPRESSIONS[sample.label]!,
      image: gray(image), mask: gray(renderPoseMaskImage(landmarks!, { width: image.width, height: image.height })),
    });
  });
  // Wall time, masks included: with workers the masks are drawn while faces render, in one thread after each face.
  const seconds = (performance.now() - started) / 1000;
  const rate = seconds > 0 ? `${(chosen.length / seconds).toFixed(0)} faces/s` : 'too fast to time';
  return { faces: chosen.map((sample) => faces.get(sample)!), rendering: `${chosen.length} faces and their pose masks in ${seconds.toFixed(2)} s (${rate}), rendered ${state.rendering!.where}` };
}

interface Splits { train: Dataset; monitor: Dataset; test: Dataset }

/** `webfer train`'s split of the synthetic data (same rows, same seed). */
function splitLikeCli(dataset: Dataset, settings: RunSettings): Splits {
  const rows = dataset.samples.map((sample) => ({ sample, subject: sample.subject ?? '?', pose: (sample.pose ?? 'F') as Pose, expression: sample.label }));
  const split = splitRows(rows, settings.task, settings.seed);
  const part = (list: { sample: Sample }[]) => ({ ...dataset, samples: list.map((r) => r.sample) });
  const train = part(split.train), test = part(split.test), val = part(split.val);
  if (train.samples.length === 0 || test.samples.length === 0) {
    throw new Error(`${settings.task} (seed ${settings.seed}) on ${dataset.samples.length} faces leaves train ${train.samples.length} / test ${test.samples.length}: use more subjects or expressions`);
  }
  return { train, test, monitor: val.samples.length > 0 ? val : test };
}

/** Relative cost of one Fa-Net step (batch × pixels × width); only ratios between stages matter. */
function fanetStepCost(settings: RunSettings): number {
  return settings.batchSize * (settings.inputSize / 32) ** 2 * (settings.width / 0.125) * 2;
}

function ganConfig(settings: RunSettings, isSoftware: boolean): Partial<FaPEGanConfig> {
  return { channels: 1, imageSize: Math.min(64, settings.inputSize), baseWidth: isSoftware ? 8 : 32, residualBlocks: isSoftware ? 1 : 6, norm: 'batch' };
}

async function train(settings: RunSettings): Promise<TrainSummary> {
  const problems = settingsProblems(settings);
  if (problems.length > 0) throw new Error(`settings: ${problems.join('; ')}`);
  const started = performance.now();
  const compiledBefore = { ...gpu().counters };
  const isSoftware = state.adapter!.isSoftware;
  const augment = settings.augment && AUGMENTABLE_TASKS.includes(settings.task);
  const stages: StageName[] = augment ? ['synth', 'fanet', 'fapegan', 'fanet-augmented'] : ['synth', 'fanet'];
  const log = (line: string) => emit({ event: 'log', line });
  const losses: number[] = [];
  const accuracy: TrainSummary['accuracy'] = {};
  manualSeed(settings.seed);

  const { options: synthOptions, dataset: plain } = synthFor(settings);
  const dataset = gated(plain);
  const splits = splitLikeCli(dataset, settings);
  const classNames = [...dataset.classes];
  const batches = (n: number) => Math.ceil(n / settings.batchSize);
  const fanetUnits = settings.epochs * (batches(splits.train.samples.length) + batches(splits.monitor.samples.length)) + (splits.monitor !== splits.test ? batches(splits.test.samples.length) : 0);
  const stepCost = fanetStepCost(settings);
  const ganSteps = augment ? settings.ganEpochs * batches(splits.train.samples.length) : 0;
  // Prior costs: rendering a face ≈ 1; a GAN step ≈ 4 Fa-Net steps at this size.
  const estimate = new RunEstimate([
    { units: plain.samples.length, cost: 1 },
    { units: fanetUnits, cost: stepCost },
    { units: ganSteps, cost: 4 * stepCost },
    { units: augment ? fanetUnits * 1.3 : 0, cost: stepCost },
  ].filter((_, i) => i < stages.length));
  const report = (stage: StageName, detail: string) => {
    const index = stages.indexOf(stage);
    emit({ event: 'progress', stage, stageIndex: index, stageCount: stages.length, detail, fraction: estimate.fraction(), etaSeconds: estimate.secondsLeft() });
  };
  log(`webfer in a Web Worker on ${state.adapter!.name}${isSoftware ? ' (software adapter)' : ''}`);
  log(`settings: ${JSON.stringify(settings)}`);
  log(`synthetic F²ED: ${settings.subjects} subjects × ${settings.expressions} expressions × 2 frames × 4 poses = ${plain.samples.length} faces at ${synthOptions.size} px; ${settings.task} seed ${settings.seed}: train ${splits.train.samples.length} · ${splits.monitor !== splits.test ? `val ${splits.monitor.samples.length} · ` : ''}test ${splits.test.samples.length}`);

  // Stage 1: render every face once (the cached dataset keeps them), several at a time on the render workers.
  const renderFaces = async () => {
    const measured = state.rendering!.meter.mark();
    let rendered = 0;
    await loadAll(plain.samples, renderWindow(), async (sample) => {
      await dataset.loadImage(sample);
      rendered++;
      estimate.set(0, rendered);
      if (rendered % 8 === 0 || rendered === plain.samples.length) report('synth', `${rendered}/${plain.samples.length} faces`);
    });
    const reading = measured(), kept = plain.samples.length - reading.images;
    log(reading.images === 0
      ? `faces: all ${plain.samples.length} kept from the gallery or an earlier run`
      : `faces: ${describeRenderRate(reading, state.rendering!.where)}${kept > 0 ? `; ${kept} kept from the gallery or an earlier run` : ''}`);
  };

  const fanet = async (stage: 'fanet' | 'fanet-augmented', trainSet: Dataset): Promise<PageModel | undefined> => {
    const index = stages.indexOf(stage);
    const title = stage === 'fanet' ? 'Fa-Net' : 'FaPE-GAN + Fa-Net';
    // The same initial weights for both Fa-Nets, so the comparison is the data's alone.
    manualSeed(hashSeed(settings.seed, 'fanet-init'));
    const config: LightCNNConfig = { variant: 'lightcnn9', classes: classNames.length, inputSize: settings.inputSize, widthMultiplier: settings.width, batchNorm: true };
    const model = createLightCNN(config);
    const { optimizer, scheduler, lr } = createFanetOptimizer(model, { batchSize: settings.batchSize, optimizer: 'adam' });
    const { trainLoader, evalLoader } = createFanetLoaders(trainSet, splits.monitor, { batchSize: settings.batchSize, inputSize: settings.inputSize, seed: settings.seed });
    const { evalLoader: testLoader } = createFanetLoaders(undefined, splits.test, { batchSize: settings.batchSize, inputSize: settings.inputSize });
    log(`${title}: LightCNN-9 ×${settings.width} at ${settings.inputSize} px with batch norm, ${model.numParameters().toLocaleString('en')} parameters, Adam lr ${lr}, batch ${settings.batchSize}, ${trainSet.samples.length} training faces`);
    const points: StepPoint[] = [];
    const history: EpochRecord[] = [];
    let unitsDone = 0, stepInStage = 0, previousSeen = 0, previousLossSum = 0;
    // Drawing a chart costs 30-80 ms of CPU here (Vega's scenegraph → SVG); on a software adapter
    // the same cores run the GPU work and the page's compositor, so the live chart is redrawn at
    // most every LIVE_CHART_INTERVAL_MS and never for more than 1/LIVE_CHART_COST_SHARE of the time.
    let nextChartAt = 0;
    const drawLive = async (force: boolean) => {
      if (points.length === 0 || (!force && performance.now() < nextChartAt)) return;
      const started = performance.now();
      nextChartAt = Infinity;
      // A chart that cannot be drawn must not end the run: say so and go on.
      try {
        emit({ event: 'chart', target: 'live', svg: await renderSvg(stepCurvesSpec(points, `${title}: per step`)), points: points.length });
      } catch (error) {
        emit({ event: 'warning', message: `the live chart could not be drawn: ${(error as Error).message}` });
      }
      const finished = performance.now();
      nextChartAt = finished + Math.max(LIVE_CHART_INTERVAL_MS, LIVE_CHART_COST_SHARE * (finished - started));
    };
    const progress = (label: string, total: number): Progress => {
      const isEval = label.startsWith('eval') || label === 'test';
      previousSeen = 0;
      previousLossSum = 0;
      let lastDone = 0;
      return {
        update: (done, figures = {}) => {
          unitsDone += done - lastDone;
          lastDone = done;
          estimate.set(index, unitsDone);
          if (!isEval) {
            stepInStage++;
            // Running means over the epoch → this step's loss; readEvery 1 makes each update one step.
            const seen = Math.min(done * settings.batchSize, trainSet.samples.length);
            const lossSum = Number(figures.loss) * seen;
            const stepLoss = (lossSum - previousLossSum) / Math.max(1, seen - previousSeen);
            previousSeen = seen;
            previousLossSum = lossSum;
            losses.push(stepLoss);
            const runningAccuracy = parseFloat(String(figures.acc)) / 100;
            points.push({ step: stepInStage, metric: 'loss', split: 'train', value: stepLoss }, { step: stepInStage, metric: 'accuracy', split: 'train', value: runningAccuracy });
            void drawLive(false);
          }
          report(stage, `${label}: ${done}/${total}${isEval ? '' : ` · loss ${Number(figures.loss).toFixed(4)} · acc ${String(figures.acc)}`}`);
        },
        log,
        stop: () => {},
      };
    };
    const result = await trainFanet({
      model, optimizer, scheduler, trainLoader: trainLoader!, evalLoader, epochs: settings.epochs, readEvery: 1, progress,
      shouldStop: () => control.stopRequested,
      extra: { data: null, format: 'synth', synth: synthOptions, task: settings.task, seed: settings.seed, batchSize: settings.batchSize, lr, optimizer: 'adam', epochs: settings.epochs, classes: classNames, trainedIn: 'browser', stage },
      onEpoch: async (record) => {
        history.push(record);
        losses.push(record.trainLoss, record.evalLoss ?? NaN, record.evalAccuracy ?? NaN);
        if (record.evalLoss !== undefined) points.push({ step: stepInStage, metric: 'loss', split: 'eval', value: record.evalLoss });
        if (record.evalAccuracy !== undefined) points.push({ step: stepInStage, metric: 'accuracy', split: 'eval', value: record.evalAccuracy });
        log(`${title} epoch ${record.epoch}: train loss ${record.trainLoss.toFixed(4)} acc ${(100 * record.trainAccuracy).toFixed(1)} % · eval loss ${record.evalLoss?.toFixed(4)} acc ${(100 * (record.evalAccuracy ?? 0)).toFixed(1)} % · ${record.seconds.toFixed(1)} s`);
        await drawLive(true);
        emit({ event: 'chart', target: 'epochs', svg: await renderSvg(trainingCurvesSpec(history, `${title} training curves (as webfer train draws them)`)), points: history.length });
      },
    });
    await drawLive(true);
    const info: RunInfo = {
      kind: 'fanet', config: { ...model.config }, epoch: result.epoch, step: result.step,
      extra: { data: null, format: 'synth', synth: synthOptions, task: settings.task, seed: settings.seed, batchSize: settings.batchSize, lr, optimizer: 'adam', epochs: settings.epochs, classes: classNames, trainedIn: 'browser', stage },
    };
    const pageModel: PageModel = { model, optimizer, scheduler, info, names: classNames, label: `this page's ${title} (${result.stopped ? `stopped in epoch ${result.epoch + 1}` : `${result.epoch} epochs`})` };
    if (result.stopped) return pageModel;
    const final = splits.monitor !== splits.test ? await evaluateFanet(model, testLoader!, { classes: classNames, progress, label: 'test' }) : result.lastEvaluation!;
    accuracy[stage] = final.accuracy;
    losses.push(final.meanLoss, final.accuracy);
    log(`${title} test accuracy ${(100 * final.accuracy).toFixed(1)} % on ${final.count} faces (chance ${(100 / settings.expressions).toFixed(1)} %)`);
    estimate.finish(index);
    return pageModel;
  };

  const replaceModel = (next: PageModel | undefined) => {
    if (!next || next === state.pageModel) return;
    state.pageModel?.optimizer.dispose();
    state.pageModel?.model.dispose();
    state.pageModel = next;
  };

  let stopped = false;
  try {
    // Inside the try: Stop while the faces render ends the run as stopped, like Stop in any later stage.
    await renderFaces();
    estimate.finish(0);
    replaceModel(await fanet('fanet', splits.train));
    stopped = control.stopRequested;
    if (augment && !stopped) {
      const index = stages.indexOf('fapegan');
      const session = createFaPEGanSession(ganConfig(settings, isSoftware), { epochs: settings.ganEpochs, batchSize: Math.min(8, settings.batchSize), seed: settings.seed, readEvery: 1 });
      const pairs = createPairLoader(session, splits.train);
      log(`FaPE-GAN: G and D at ${session.config.imageSize} px, base width ${session.config.baseWidth}, ${session.config.residualBlocks} residual blocks, ${pairs.pairsPerEpoch} pose pairs per epoch, ${settings.ganEpochs} epochs`);
      let ganDone = 0;
      await trainFaPEGan(session, splits.train, {
        progress: (label, total) => {
          let last = 0;
          return {
            update: (done, figures = {}) => {
              ganDone += done - last;
              last = done;
              estimate.set(index, ganDone);
              report('fapegan', `${label}: ${done}/${total} · D ${Number(figures.D).toFixed(3)} · G ${Number(figures.G).toFixed(3)} · L1 ${Number(figures.L1).toFixed(3)}`);
            },
            log,
            stop: () => {},
          };
        },
        onEpochEnd: ({ metrics }) => { losses.push(metrics.dLoss, metrics.gGan, metrics.l1); },
      });
      estimate.finish(index);
      const plan = planAugmentation(splits.train, settings.task as 'er-up' | 'er-ue', { seed: settings.seed });
      const extra: { sample: Sample; image: ImageU8 }[] = [];
      for await (const { job, image } of generateAugmentation(session.generator, splits.train, plan.jobs)) {
        await control.gate();
        extra.push({ sample: { path: `fapegan/${extra.length}.png`, label: job.expression, subject: job.subject, pose: job.targetPose }, image });
      }
      log(`FaPE-GAN re-posed ${extra.length} training faces into ${plan.rarePose ? `the rare pose ${plan.rarePose}` : `the poses the rare expressions lack`}`);
      session.optimizerD.dispose();
      session.optimizerG.dispose();
      session.discriminator.dispose();
      state.pageGenerator?.generator.dispose();
      state.pageGenerator = { generator: session.generator, label: `this page's FaPE-GAN (${settings.ganEpochs} epoch${settings.ganEpochs === 1 ? '' : 's'})` };
      replaceModel(await fanet('fanet-augmented', withImages(splits.train, extra)));
      stopped = control.stopRequested;
    }
  } catch (error) {
    if (!(error instanceof RunStopped)) throw error;
    stopped = true;
  }
  const seconds = (performance.now() - started) / 1000;
  log(stopped ? `stopped after ${seconds.toFixed(1)} s` : `done in ${seconds.toFixed(1)} s`);
  const background = gpu().counters.pipelinesCompiledAsync - compiledBefore.pipelinesCompiledAsync;
  const pipelines = { blocking: gpu().counters.pipelinesCompiled - compiledBefore.pipelinesCompiled - background, background };
  return { stopped, seconds, accuracy, losses, classes: classNames.length, pipelines };
}

/** The images to predict as a one- or two-sample dataset the evaluation loader reads. */
function imageDataset(source: ImageSource, channels: 1 | 3): Dataset {
  if (source.kind === 'gallery') {
    const synth = state.synth;
    const sample = synth?.dataset.samples.find((s) => s.path === source.key);
    if (!synth || !sample) throw new Error(`no gallery face ${source.key}: reload the gallery`);
    return subsetDataset(synth.dataset, (s) => s === sample);
  }
  // Checked here so the message names the page's fix (decodeImage's names the CLI's --skip-bad).
  if (!sniffFormat(source.bytes)) {
    const got = source.bytes.length === 0 ? 'it is empty' : `it starts with bytes ${[...source.bytes.subarray(0, 4)].map((b) => b.toString(16).padStart(2, '0')).join(' ')}`;
    throw new Error(`${source.name} is not a PNG, JPEG or TIFF image (${got}): choose a face photo in one of those formats`);
  }
  return {
    format: 'files', source: 'upload', classes: [], problems: [],
    samples: [{ path: source.name, label: 0 }],
    loadImage: async () => decodeImage(source.bytes, source.name, channels),
  };
}

async function predict(source: ImageSource, which: 'page' | 'loaded'): Promise<PredictionReply> {
  const chosen = which === 'loaded' ? state.loadedModel : state.pageModel;
  if (!chosen) throw new Error(which === 'loaded' ? 'no checkpoint loaded: choose a .safetensors file from `webfer train` or a PyTorch LightCNN .pth first' : 'no model trained in this page yet: press Train (or load a checkpoint and predict with it)');
  const channels = (chosen.model.config.inputChannels ?? 1) as 1 | 3;
  let input: GrayImage | undefined;
  const { results, loader } = await predictImages(chosen.model, imageDataset(source, channels), {
    names: chosen.names, top: Math.min(5, chosen.names.length), batchSize: 1,
    onInput: (_path, values, shape) => {
      const [, height, width] = shape as [number, number, number];
      const pixels = new Uint8Array(height * width);
      for (let i = 0; i < pixels.length; i++) pixels[i] = Math.round(Math.min(1, Math.max(0, values[i]!)) * 255);
      input = { width: width!, height: height!, pixels };
    },
  });
  const first = results[0];
  if (!first || !input) throw new Error(loader.problems[0]?.message ?? 'the image could not be read');
  return { model: chosen.label, input, predictions: first.predictions };
}

/** A PyTorch checkpoint file name (what `webfer convert` reads). */
const PYTORCH_FILE = /\.(pth|pth\.tar|pt)$/i;

/** A LightCNN built from a state dict's names and shapes (as `webfer convert` reads them) becomes the loaded model. */
function useStateDictFanet(model: LightCNN, config: LightCNNConfig, label: string): { kind: string; label: string; classes: number } {
  state.loadedModel?.model.dispose();
  const names = Array.from({ length: config.classes }, (_, id) => String(id));
  state.loadedModel = { model, names, label };
  return { kind: 'fanet', label, classes: config.classes };
}

/** A LightCNN state dict saved by PyTorch. */
function loadPytorchFanet(name: string, bytes: Uint8Array): { kind: string; label: string; classes: number } {
  const { model, config, format } = lightCNNFromPytorch(bytes, name);
  return useStateDictFanet(model, config, `${name} (PyTorch ${format} format: ${describeLightCNNConfig(config)}; classes shown by number)`);
}

/** What the checkpoint input reads, for messages that name the fix. */
const CHECKPOINT_KINDS = 'a .safetensors checkpoint from `webfer train` (Fa-Net) or `webfer gan-train` (FaPE-GAN), or a LightCNN state dict (PyTorch .pth / .pth.tar, or the .safetensors `webfer convert` writes)';

async function loadCheckpoint(name: string, bytes: Uint8Array): Promise<{ kind: string; label: string; classes?: number }> {
  const image = sniffFormat(bytes);
  if (image) throw new Error(`${name} is a ${image.toUpperCase()} image, not a checkpoint: to get its expression, choose it under Predict ("or an image"); here choose ${CHECKPOINT_KINDS}`);
  if (PYTORCH_FILE.test(name)) return loadPytorchFanet(name, bytes);
  let content;
  try {
    content = decodeSafetensors(bytes, name);
  } catch (error) {
    throw new Error(`${(error as Error).message}. Choose ${CHECKPOINT_KINDS}`);
  }
  // As `webfer predict` and `eval` refuse them: NaN weights would predict NaN for every face.
  assertFiniteTensors(content.tensors, name);
  // Weights without a webfer run (`webfer convert`'s output, a state dict saved with Python's safetensors): a LightCNN by its shapes.
  if (content.metadata.run === undefined) {
    let built;
    try {
      built = lightCNNFromStateDict(content.tensors, name);
    } catch (error) {
      throw new Error(`${(error as Error).message}; it has no webfer run either. Choose ${CHECKPOINT_KINDS}`);
    }
    return useStateDictFanet(built.model, built.config, `${name} (LightCNN state dict: ${describeLightCNNConfig(built.config)}; classes shown by number)`);
  }
  const info = readRunInfo(content, name);
  if (info.kind === 'fanet') {
    const config = info.config as unknown as LightCNNConfig;
    const stored = info.extra?.classes;
    const names = Array.isArray(stored) && stored.length === config.classes ? (stored as string[]) : Array.from({ length: config.classes }, (_, id) => String(id));
    const model = createLightCNN(config);
    try {
      restoreCheckpoint(content, { modules: { model } }, name);
    } catch (error) {
      model.dispose();
      throw error;
    }
    state.loadedModel?.model.dispose();
    const label = `${name} (${config.variant} ×${config.widthMultiplier ?? 1} at ${config.inputSize ?? 128} px, ${config.classes} classes, epoch ${info.epoch})`;
    state.loadedModel = { model, names, label };
    return { kind: 'fanet', label, classes: config.classes };
  }
  if (info.kind === 'fapegan') {
    const { generator, discriminator } = createFaPEGan(info.config as unknown as Partial<FaPEGanConfig>);
    discriminator.dispose();
    try {
      restoreCheckpoint(content, { modules: { generator } }, name);
    } catch (error) {
      generator.dispose();
      throw error;
    }
    state.loadedGenerator?.generator.dispose();
    const label = `${name} (FaPE-GAN G at ${generator.config.imageSize} px, epoch ${info.epoch})`;
    state.loadedGenerator = { generator, label };
    return { kind: 'fapegan', label };
  }
  throw new Error(`${name} is a "${info.kind}" checkpoint: load a Fa-Net (\`webfer train\`) or FaPE-GAN (\`webfer gan-train\`) checkpoint`);
}

async function saveCheckpoint(): Promise<{ name: string; bytes: Uint8Array }> {
  const page = state.pageModel;
  if (!page) throw new Error('no model trained in this page yet: press Train first');
  const content = await captureCheckpoint(fanetParts(page.model, page.optimizer, page.scheduler), page.info);
  return { name: 'checkpoint.safetensors', bytes: encodeSafetensors(content.tensors, content.metadata) };
}

/** The GAN panel: the face, the target pose's mask (same subject, expression and frame), G's output, the real target. */
async function repose(key: string, targetPose: string): Promise<GanReply> {
  const synth = state.synth;
  const source = synth?.dataset.samples.find((s) => s.path === key);
  if (!synth || !source) throw new Error(`no gallery face ${key}: reload the gallery`);
  const target = synth.dataset.samples.find((s) => s.subject === source.subject && s.label === source.label && s.clip === source.clip && s.frame === source.frame && s.pose === targetPose);
  if (!target) throw new Error(`${source.subject} has no ${targetPose} face of this expression in the synthetic set`);
  if (target === source) throw new Error(`the face is already in pose ${targetPose}: choose another target pose`);
  let chosen = state.loadedGenerator ?? state.pageGenerator;
  let temporary: FaPEGenerator | undefined;
  if (!chosen) {
    // No trained G yet: show the panel with G at its seeded initialisation, and say so.
    temporary = createFaPEGan(ganConfig(suggestedSettings(state.adapter!.isSoftware), state.adapter!.isSoftware)).generator;
    chosen = { generator: temporary, label: 'an untrained generator (its output is noise-like: run Train with FaPE-GAN augmentation, or load a gan-train checkpoint)' };
  }
  try {
    const { generator } = chosen;
    const size = generator.config.imageSize;
    const pairs = new PairedBatchLoader({ ...synth.dataset, samples: [source, target] }, { batchSize: 1, size, channels: generator.config.channels, targetPoses: [targetPose] });
    let batch;
    for await (const b of pairs.epoch(0)) { batch = b; break; }
    if (!batch) throw new Error('no pose pair for this face');
    const output = await generate(generator, batch.images, batch.targetMasks, 1);
    const channels = generator.config.channels;
    return {
      generator: chosen.label,
      tiles: [
        { label: `source (${source.pose})`, image: gray(symmetricToImage(batch.images, 0, channels, size)) },
        { label: `target pose mask (${targetPose})`, image: gray(symmetricToImage(batch.targetMasks, 0, 1, size)) },
        { label: 'generated', image: gray(symmetricToImage(output, 0, channels, size)) },
        { label: `real ${targetPose} face`, image: gray(symmetricToImage(batch.targetImages, 0, channels, size)) },
      ],
    };
  } finally {
    temporary?.dispose();
  }
}

async function bench(suites: string[]): Promise<BenchRowMessage[]> {
  const rows: BenchRowMessage[] = [];
  for (const suite of suites) {
    const run = BENCH_SUITES[suite];
    if (!run) throw new Error(`no benchmark suite "${suite}": choose from ${Object.keys(BENCH_SUITES).join(', ')}`);
    await run((row) => {
      const message = { suite, ...row };
      rows.push(message);
      emit({ event: 'bench-row', row: message });
    }, { quick: true });
  }
  return rows;
}

async function handle(request: Request): Promise<{ value: unknown; transfer?: Transferable[] }> {
  if (request.op !== 'init' && !state.adapter) throw new Error('WebGPU is not initialised');
  switch (request.op) {
    case 'init': return { value: await initialise(request.renderWorkers) };
    case 'gallery': return { value: await gallery(request.settings) };
    case 'train': {
      // Stop and Pause may have come while this run waited in the queue: they are kept, and cleared when it ends.
      try { return { value: await train(request.settings) }; } finally { control.reset(); }
    }
    case 'predict': return { value: await predict(request.source, request.model) };
    case 'load-checkpoint': return { value: await loadCheckpoint(request.name, request.bytes) };
    case 'save-checkpoint': {
      const saved = await saveCheckpoint();
      return { value: saved, transfer: [saved.bytes.buffer] };
    }
    case 'gan': return { value: await repose(request.key, request.targetPose) };
    case 'bench': return { value: await bench(request.suites) };
  }
}

/** The request running now (its op), and those waiting behind it in arrival order. */
let busy: string | undefined;
const queue: (Request & { id: number })[] = [];

async function runQueue(): Promise<void> {
  while (!busy && queue.length > 0) {
    const request = queue.shift()!;
    busy = request.op;
    try {
      const { value, transfer } = await handle(request);
      post({ kind: 'reply', id: request.id, ok: true, value }, transfer);
    } catch (error) {
      post({ kind: 'reply', id: request.id, ok: false, error: error instanceof Error ? error.message : String(error) });
    } finally {
      busy = undefined;
    }
  }
}

workerScope.onmessage = (event) => {
  const message = event.data;
  const runAhead = busy === 'train' || queue.some((request) => request.op === 'train');
  // Stop and Pause act on the run going on or waiting; with none, a late Stop must not stop the next run.
  if (message.op === 'stop') {
    if (runAhead) {
      control.stopRequested = true;
      // A paused run stops too: the page's Pause button shows the run is no longer held.
      control.setPaused(false);
      emit({ event: 'paused', paused: false });
    }
    return;
  }
  if (message.op === 'pause' || message.op === 'resume') {
    if (runAhead) control.setPaused(message.op === 'pause');
    emit({ event: 'paused', paused: control.paused });
    return;
  }
  // Short requests wait their turn; behind a training run they would wait minutes, so they are refused.
  if (runAhead) {
    post({ kind: 'reply', id: message.id, ok: false, error: 'training is running and has the GPU: wait for the run to end or press Stop, then try again' });
    return;
  }
  queue.push(message);
  void runQueue();
};
