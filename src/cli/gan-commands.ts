/**
 * CLI commands of FaPE-GAN: `webfer gan-train` (train G and D on pose pairs) and `webfer augment`
 * (re-pose training faces with a trained G to top up the rare pose or expressions).
 *
 *   runs/NAME/checkpoint.safetensors   G, D, both Adams, schedules, run info (written each epoch)
 *   runs/NAME/metrics.jsonl            one JSON line per epoch
 *   runs/NAME/curves.png/.svg          D, G adversarial and L1 losses per epoch (all epochs, resumed runs too)
 *   runs/NAME/samples-epochNNN.png/.svg  columns named: source | target mask | generated | real target
 *
 *   OUT/images/<subject>/<pose>/syn00000_e<expr>.png + OUT/index.csv
 *     (path,subject,pose,expression,split,synthetic,source; split = train, synthetic = 1,
 *      source = the real image it was made from, relative to OUT)
 */
import { appendFileSync, existsSync, realpathSync, rmSync } from 'node:fs';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import type { CommandModule } from 'yargs';
import { decodeImage, encodePng } from '../data/codecs.js';
import { formatCsv } from '../data/csv.js';
import { assertSplitColumnFilled, cachedDataset, type Dataset } from '../data/dataset.js';
import { createSynthDataset } from '../data/synth/synth-dataset.js';
import { init } from '../gpu/index.js';
import { FaPEGenerator, resolveFaPEGanConfig, type FaPEGanConfig } from '../models/fapegan.js';
import { loadTrainingCheckpoint, peekTrainingCheckpoint, saveTrainingCheckpoint } from '../node/checkpoint.js';
import { isDirectory } from '../node/data/files.js';
import { makeFolders, writeFileAtomic } from '../node/atomic-write.js';
import { openDataset } from '../node/data/open-dataset.js';
import { terminalProgress } from '../node/progress.js';
import { writePlot } from '../node/plots.js';
import { ganCurvesSpec, sampleGridSpec, type GanCurvePoint } from '../plots/specs.js';
import { checkImages } from '../data/check-images.js';
import { allowOutsidePathsOption, reportDatasetProblems, reportProblems } from './data-report.js';
import { AUGMENT_TASKS, generateAugmentation, planAugmentation, type AugmentTask, type AugmentationPlan } from '../train/augmentation.js';
import { createFaPEGanSession, freeSession, resumeSession, sessionParts, trainFaPEGan, type FaPEGanTrainingOptions } from '../train/fapegan.js';
import { setBaseLearningRate } from '../train/learning-rate.js';
import { assertFreshRunFolder, assertSameGanImages, ganImageList, givenOptions, resumedMetrics, resumeGanSettings, type GanResumeSettings } from './resume.js';
import { PRECISIONS, type Precision } from '../train/precision.js';
import { initWithAutotuneCache } from '../node/autotune-cache.js';
import { checkFiniteNumber, checkGanImageSize, checkInteger, checkOutputFolder, checkPositiveInteger, checkSeed, checkSynthExpressions, checkSynthFlagsUnused, checkSynthImages } from './option-checks.js';
import { INTERRUPTED_EXIT_CODE, stopOnCtrlC } from './interrupt.js';

/**
 * A dataset folder (holding index.csv) or an index CSV; only its train split when it has splits.
 * With skipBad every image is decoded first, so that pose pairs are formed from readable images
 * only and the skipped ones are named before training starts. One expression is fine here: the
 * GAN re-poses faces, it does not classify them.
 */
async function openTrainingData(path: string, options: { skipBad: boolean; allowOutsidePaths: boolean }): Promise<Dataset> {
  const file = (await isDirectory(path)) ? join(path, 'index.csv') : path;
  if (!existsSync(file)) throw new Error(`no dataset index at ${file}: pass an index CSV or a folder holding index.csv (webfer synth OUT writes one)`);
  const dataset = await openDataset(file, { format: 'index', skipBad: options.skipBad, allowOutsidePaths: options.allowOutsidePaths });
  reportDatasetProblems(dataset);
  assertSplitColumnFilled(dataset, ' (gan-train reads only the train rows of a split index), or drop the split column');
  const hasSplits = dataset.samples.some((s) => s.split !== undefined);
  const training = hasSplits ? { ...dataset, samples: dataset.samples.filter((s) => s.split === 'train') } : dataset;
  if (!options.skipBad) return training;
  const check = await checkImages(training, { skipBad: true });
  reportProblems('unreadable image(s)', file, check.unreadable);
  return { ...training, samples: check.readable };
}

/** The epoch's sample grid, without extension (written as .png and .svg). */
const sampleGridName = (epoch: number) => `samples-epoch${String(epoch).padStart(3, '0')}`;
const isGanRunFile = (name: string) => name === 'metrics.jsonl' || /^(samples-epoch\d+|curves)\.(png|svg)$/.test(name);

interface GanTrainArgs {
  data?: string; size: number; width: number; blocks: number; epochs: number; batchSize: number; out: string; resume: boolean;
  norm: 'batch' | 'instance'; rgb: boolean; lr: number; lambda: number; decay: boolean; seed: number; flip: boolean;
  synthSubjects: number; synthExpressions: number; skipBad: boolean; allowOutsidePaths: boolean; precision: Precision;
}

const ganTrainCommand: CommandModule<object, GanTrainArgs> = {
  command: 'gan-train',
  describe: 'Train FaPE-GAN (pose-conditioned generator + PatchGAN) on pose pairs; checkpoint, metrics, loss curves and sample grid each epoch; Ctrl-C saves mid-epoch and stops (--resume continues)',
  builder: (yargs) => yargs
    .option('data', { type: 'string', describe: 'index CSV or dataset folder with landmarks (default: an in-memory synthetic F²ED)' })
    .option('size', { type: 'number', default: 64, describe: 'image size in pixels (multiple of 4; the paper uses 128–256 on a GPU)' })
    .option('width', { type: 'number', default: 16, describe: 'base width (paper 64)' })
    .option('blocks', { type: 'number', default: 3, describe: 'residual blocks (paper 9)' })
    .option('norm', { type: 'string', default: 'batch', choices: ['batch', 'instance'] })
    .option('rgb', { type: 'boolean', default: false, describe: 'train on RGB instead of grayscale' })
    .option('epochs', { type: 'number', default: 10, describe: 'total epochs (paper 100)' })
    .option('batch-size', { type: 'number', default: 4 })
    .option('lr', { type: 'number', default: 2e-4, describe: 'Adam lr for G and D (betas 0.5, 0.999)' })
    .option('lambda', { type: 'number', default: 10, describe: 'weight of the L1 term' })
    .option('decay', { type: 'boolean', default: false, describe: 'decay the lr linearly to 0 over the second half of the epochs' })
    .option('flip', { type: 'boolean', default: false, describe: 'random horizontal flips of whole pairs' })
    .option('seed', { type: 'number', default: 0 })
    .option('precision', { type: 'string', default: 'f32', choices: PRECISIONS, describe: 'f16: the convolutions read float16 copies of inputs and weights (f32 accumulation, f32 master weights, a loss scaler each for G and D; needs shader-f16)' })
    .option('synth-subjects', { type: 'number', default: 4, describe: 'without --data: synthetic identities' })
    .option('synth-expressions', { type: 'number', default: 8, describe: 'without --data: synthetic expressions' })
    .option('out', { type: 'string', default: 'runs/fapegan', describe: 'run folder' })
    .option('resume', { type: 'boolean', default: false, describe: 'continue from OUT/checkpoint.safetensors' })
    .option('skip-bad', { type: 'boolean', default: false, describe: 'skip bad rows and unreadable images (decoded once before training; each named, all counted)' })
    .option('allow-outside-paths', allowOutsidePathsOption)
    .check((parsed) => {
      const argv = parsed as unknown as GanTrainArgs;
      checkGanImageSize(argv.size, '--size');
      checkPositiveInteger(argv.width, '--width', 'e.g. --width 16 (the paper: 64)');
      checkInteger(argv.blocks, '--blocks', 0, 'e.g. --blocks 3 (the paper: 9)');
      checkPositiveInteger(argv.epochs, '--epochs', 'e.g. --epochs 10');
      checkPositiveInteger(argv.batchSize, '--batch-size', 'e.g. --batch-size 4');
      checkFiniteNumber(argv.lr, '--lr', 0, 'e.g. --lr 0.0002');
      // A negative weight would reward the generator for moving away from the target face.
      checkFiniteNumber(argv.lambda, '--lambda', 0, 'e.g. --lambda 10 (the paper), or 0 for the adversarial loss alone', true);
      checkSeed(argv.seed);
      checkSynthFlagsUnused(givenOptions(), argv.data !== undefined ? '--data' : undefined);
      checkPositiveInteger(argv.synthSubjects, '--synth-subjects', 'e.g. --synth-subjects 4');
      checkSynthExpressions(argv.synthExpressions, '--synth-expressions', 8);
      checkSynthImages(argv.synthSubjects * argv.synthExpressions * 2 * 4, '--synth-subjects × --synth-expressions × 2 frames × 4 poses');
      return true;
    }) as never,
  handler: async (argv) => {
    checkOutputFolder(argv.out, '--out');
    const checkpointPath = join(argv.out, 'checkpoint.safetensors');
    const metricsPath = join(argv.out, 'metrics.jsonl');
    let config: Partial<FaPEGanConfig> = { channels: argv.rgb ? 3 : 1, baseWidth: argv.width, residualBlocks: argv.blocks, norm: argv.norm, imageSize: argv.size };
    let training: FaPEGanTrainingOptions = { epochs: argv.epochs, batchSize: argv.batchSize, lr: argv.lr, lambdaL1: argv.lambda, decay: argv.decay, seed: argv.seed, flip: argv.flip, precision: argv.precision };
    let data = argv.data;
    let synth = { subjects: argv.synthSubjects, expressions: argv.synthExpressions };
    let resumed: GanResumeSettings | undefined;
    let history: GanCurvePoint[] = [];
    // Everything the run folder and the checkpoint can refuse is refused before the GPU starts.
    if (argv.resume) {
      if (!existsSync(checkpointPath)) throw new Error(`--resume: no checkpoint at ${checkpointPath}; start without --resume or pass the run's --out`);
      const info = peekTrainingCheckpoint(checkpointPath);
      if (info.kind !== 'fapegan') throw new Error(`--resume: ${checkpointPath} is a "${info.kind}" checkpoint, not FaPE-GAN: pass the --out of a gan-train run, or another --out without --resume for a new one`);
      resumed = resumeGanSettings(info, argv, givenOptions(), checkpointPath);
      history = resumedMetrics(metricsPath, info, checkpointPath) as unknown as GanCurvePoint[];
      config = info.config as Partial<FaPEGanConfig>;
      training = resumed.training;
      data = resumed.data;
      synth = { subjects: resumed.synthSubjects, expressions: resumed.synthExpressions };
    } else {
      assertFreshRunFolder(argv.out, isGanRunFile);
    }
    await initWithAutotuneCache();
    const resolved = resolveFaPEGanConfig(config);
    const synthSize = ([64, 128, 256] as const).find((s) => s >= resolved.imageSize) ?? 256;
    const dataset = data
      ? await openTrainingData(data, argv)
      : cachedDataset(createSynthDataset({ subjects: synth.subjects, expressions: synth.expressions, framesPerClip: 2, size: synthSize, channels: resolved.channels, seed: training.seed ?? 0 }));
    if (resumed && data) assertSameGanImages(resumed.images, dataset.samples, data, checkpointPath);
    const session = createFaPEGanSession(resolved, training);
    try {
      if (resumed) {
        resumeSession(session, loadTrainingCheckpoint(checkpointPath, sessionParts(session)));
        const within = session.batchInEpoch > 0 ? ` and ${session.batchInEpoch} batch(es) of epoch ${session.epoch + 1}` : '';
        console.log(`resuming ${checkpointPath} after epoch ${session.epoch}${within} (step ${session.step})`);
        for (const note of resumed.notes) console.log(note);
        if (resumed.lr !== undefined) {
          const previous = setBaseLearningRate(session.optimizerG, session.schedulerG, resumed.lr);
          setBaseLearningRate(session.optimizerD, session.schedulerD, resumed.lr);
          session.options.lr = resumed.lr;
          console.log(`lr changed from ${previous} to ${resumed.lr} (G and D${session.schedulerG ? '; the decay continues from the new base' : ''})`);
        }
      } else {
        makeFolders(argv.out, `--out ${argv.out}`);
      }
      const { options } = session;
      console.log(`FaPE-GAN ${resolved.imageSize}px ${resolved.channels === 1 ? 'gray' : 'RGB'} width ${resolved.baseWidth} blocks ${resolved.residualBlocks} ${resolved.norm}norm: ` +
        `G ${session.generator.numParameters().toLocaleString('en')} · D ${session.discriminator.numParameters().toLocaleString('en')} parameters; ` +
        `${dataset.samples.length} images from ${data ?? 'synthetic F²ED'} · Adam lr ${session.optimizerG.paramGroups[0]!.lr}${options.decay ? ' (linear decay in the second half)' : ''} ` +
        `batch ${options.batchSize} lambda ${options.lambdaL1} seed ${options.seed}${options.precision === 'f16' ? ' · float16 operands, loss scaling' : ''} · epochs ${session.epoch + 1}–${options.epochs}`);
      const stop = stopOnCtrlC();
      try {
        await trainFaPEGan(session, dataset, {
          progress: terminalProgress,
          shouldStop: stop.requested,
          extra: data ? { data: resolve(data), images: ganImageList(dataset.samples) } : { data: 'synth', synth },
          saveCheckpoint: (parts, info) => saveTrainingCheckpoint(checkpointPath, parts, info),
          onEpochEnd: async ({ metrics, samplesPng }) => {
            appendFileSync(metricsPath, `${JSON.stringify(metrics)}\n`);
            history.push(metrics);
            await writePlot(join(argv.out, 'curves'), ganCurvesSpec(history, `FaPE-GAN losses, epochs 1–${metrics.epoch}`));
            await writePlot(join(argv.out, sampleGridName(metrics.epoch)), sampleGridSpec(decodeImage(samplesPng, 'sample grid'), { title: `FaPE-GAN, epoch ${metrics.epoch}` }));
          },
        });
      } finally {
        stop.release();
      }
      if (session.epoch < options.epochs) {
        console.error(`stopped ${session.batchInEpoch > 0 ? `in epoch ${session.epoch + 1} after batch ${session.batchInEpoch}` : `after epoch ${session.epoch}`} (step ${session.step}); saved ${checkpointPath} (continue with \`webfer gan-train --resume --out ${argv.out}\`)`);
        process.exitCode = INTERRUPTED_EXIT_CODE;
        return;
      }
      console.log(`wrote ${checkpointPath}, ${metricsPath}, ${join(argv.out, 'curves.png')} (and .svg) and sample grids in ${argv.out}`);
    } finally {
      freeSession(session);
    }
  },
};

/** Loads a FaPE-GAN generator from a gan-train checkpoint. */
export function loadGenerator(checkpointPath: string): FaPEGenerator {
  const info = peekTrainingCheckpoint(checkpointPath);
  if (info.kind !== 'fapegan') throw new Error(`${checkpointPath} is a "${info.kind}" checkpoint; augment needs one written by webfer gan-train`);
  const generator = new FaPEGenerator(info.config as Partial<FaPEGanConfig>);
  loadTrainingCheckpoint(checkpointPath, { modules: { generator } });
  return generator;
}

export interface WriteAugmentationResult { images: number; indexPath: string; plan: AugmentationPlan }

/** Generates the plan's images with G and writes them with their index (see the file header). */
export async function writeAugmentation(
  outDir: string, generator: FaPEGenerator, dataset: Dataset, plan: AugmentationPlan,
  options: { batchSize?: number; onProgress?: (done: number, total: number) => void } = {},
): Promise<WriteAugmentationResult> {
  const rows: (string | number)[][] = [];
  const toPosix = (path: string) => path.split(sep).join('/');
  const paths = augmentationPaths(plan);
  const written: string[] = [];
  let done = 0;
  try {
    for await (const { job, image } of generateAugmentation(generator, dataset, plan.jobs, { batchSize: options.batchSize })) {
      const path = paths[done]!;
      await writeFileAtomic(join(outDir, path), encodePng(image));
      written.push(join(outDir, path));
      const source = dataset.format === 'synth' ? job.source.path : toPosix(relative(resolve(outDir), resolve(job.source.path)));
      rows.push([path, job.subject, job.targetPose, job.expression, 'train', 1, source]);
      done++;
      options.onProgress?.(done, plan.jobs.length);
    }
  } catch (error) {
    // No images without their index: a failed run leaves the folder as it found it.
    for (const path of written) rmSync(path, { force: true });
    throw error;
  }
  const indexPath = join(outDir, AUGMENT_INDEX);
  await writeFileAtomic(indexPath, formatCsv(['path', 'subject', 'pose', 'expression', 'split', 'synthetic', 'source'], rows));
  return { images: done, indexPath, plan };
}

const AUGMENT_INDEX = 'index.csv';

/** The image files (relative to OUT, in job order) that writeAugmentation writes for a plan. */
export function augmentationPaths(plan: AugmentationPlan): string[] {
  const safe = (text: string) => text.replace(/[^A-Za-z0-9_.-]/g, '_');
  return plan.jobs.map((job, k) => `images/${safe(job.subject)}/${job.targetPose}/syn${String(k).padStart(5, '0')}_e${String(job.expression).padStart(2, '0')}.png`);
}

/** The real path when it exists (symbolic links resolved), else the absolute one. */
function canonicalPath(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return resolve(path);
  }
}

const isSameOrInside = (path: string, folder: string) => path === folder || path.startsWith(folder.endsWith(sep) ? folder : folder + sep);

/** The index CSV `--data` names (a folder means its index.csv). */
async function indexFileOf(data: string): Promise<string> {
  return (await isDirectory(data)) ? join(data, 'index.csv') : data;
}

/**
 * augment writes a dataset of its own: never into the source dataset's folder, never over an index
 * or image already in OUT. Checked before anything is written.
 */
function checkAugmentOutput(outDir: string, indexFile: string, planned?: { paths: readonly string[]; sources: readonly string[] }): void {
  const out = canonicalPath(outDir);
  const sourceFolder = canonicalPath(dirname(indexFile));
  if (isSameOrInside(out, sourceFolder)) {
    throw new Error(`--out ${outDir} is ${out === sourceFolder ? '' : 'inside '}the folder of the source dataset ${indexFile}: augment never writes into its input; pass a new folder, e.g. --out ${join(dirname(sourceFolder), `${basename(sourceFolder)}-augmented`)}`);
  }
  const source = [indexFile, ...(planned?.sources ?? [])].find((path) => isSameOrInside(resolve(path), out) || isSameOrInside(resolve(path), resolve(outDir)));
  if (source) throw new Error(`--out ${outDir} contains ${source} of the source dataset: augment never writes into its input; pass a folder outside it`);
  for (const path of [AUGMENT_INDEX, ...(planned?.paths ?? [])]) {
    const target = join(outDir, path);
    if (existsSync(target)) throw new Error(`${target} exists: augment never writes over an index or image; pass another --out (an empty or new folder)`);
  }
}

interface AugmentArgs { checkpoint: string; data: string; task: AugmentTask; count?: number; out: string; seed: number; batchSize: number; allowOutsidePaths: boolean }

const augmentCommand: CommandModule<object, AugmentArgs> = {
  command: 'augment',
  describe: 'Synthesise re-posed training faces with a trained FaPE-GAN generator (ER-UP: half-left; ER-UE: rare expressions)',
  builder: (yargs) => yargs
    .option('checkpoint', { type: 'string', demandOption: true, describe: 'checkpoint.safetensors from webfer gan-train' })
    .option('data', { type: 'string', demandOption: true, describe: 'index CSV of the task split (webfer split), with landmarks; only train rows are used' })
    .option('task', { type: 'string', demandOption: true, choices: AUGMENT_TASKS, describe: 'er-up: top up half-left · er-ue: top up the rare expressions · er-ss / er-zid: re-pose a share of the training faces into other poses' })
    .option('count', { type: 'number', describe: 'images to make (default: er-up tops half-left up to the other poses\' mean count, er-ue the rare expressions up to the common ones\' mean, er-ss / er-zid re-pose half the training images)' })
    .option('batch-size', { type: 'number', default: 8 })
    .option('seed', { type: 'number', default: 0 })
    .option('out', { type: 'string', demandOption: true, describe: 'output folder (images/ + index.csv)' })
    .option('allow-outside-paths', allowOutsidePathsOption)
    .check((parsed) => {
      const argv = parsed as unknown as AugmentArgs;
      if (argv.count !== undefined) checkPositiveInteger(argv.count, '--count', 'e.g. --count 100, or leave it out for the task\'s default');
      checkPositiveInteger(argv.batchSize, '--batch-size', 'e.g. --batch-size 8');
      checkSeed(argv.seed);
      return true;
    }) as never,
  handler: async (argv) => {
    checkOutputFolder(argv.out, '--out');
    const indexFile = await indexFileOf(argv.data);
    checkAugmentOutput(argv.out, indexFile);
    await init();
    const generator = loadGenerator(argv.checkpoint);
    try {
      const dataset = await openDataset(argv.data, { format: 'index', allowOutsidePaths: argv.allowOutsidePaths });
      const plan = planAugmentation(dataset, argv.task, { count: argv.count, seed: argv.seed });
      // An empty index.csv, exit 0 and advice to --extra-train it: that train then failed on it.
      if (plan.jobs.length === 0) {
        const before = Object.entries(plan.countsBefore).map(([k, v]) => `${k} ${v}`).join(', ');
        throw new Error(`${argv.task}: no synthetic images to make by default (training images before: ${before}${argv.task === 'er-up' ? ', already the other poses\' mean or more' : ''}); nothing was written: pass --count N to make N anyway`);
      }
      checkAugmentOutput(argv.out, indexFile, { paths: augmentationPaths(plan), sources: dataset.samples.map((s) => s.path) });
      const before = Object.entries(plan.countsBefore).map(([k, v]) => `${k} ${v}`).join(', ');
      console.log(`${argv.task}: ${plan.jobs.length} synthetic images to make (training images before: ${before})`);
      const progress = terminalProgress('augment', plan.jobs.length);
      const result = await writeAugmentation(argv.out, generator, dataset, plan, { batchSize: argv.batchSize, onProgress: (done) => progress.update(done) });
      progress.stop();
      console.log(`wrote ${result.images} images and ${result.indexPath}; add them to Fa-Net's training split with \`webfer train ... --extra-train ${result.indexPath}\``);
    } finally {
      generator.dispose();
    }
  },
};

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const ganCommands: CommandModule<any, any>[] = [ganTrainCommand, augmentCommand];
