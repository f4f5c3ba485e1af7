// Run folders and `--resume`. A resumed run continues with the settings stored in its checkpoint;
// an option the user typed either takes effect (and the command says so in one line) or is refused
// with the fix before anything is built — never printed and then ignored. Options yargs filled in
// with their defaults are not "typed", so `--resume` alone continues the run as it was.
import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { hideBin, Parser } from 'yargs/helpers';
import type { Sample } from '../data/dataset.js';
import type { Task } from '../data/splits.js';
import type { DatasetFormat } from '../node/data/open-dataset.js';
import type { RunInfo } from '../train/checkpoint.js';
import type { Precision } from '../train/precision.js';

/** The options typed on the command line (both spellings: batch-size and batchSize), not yargs' defaults. */
export function givenOptions(args: string[] = hideBin(process.argv)): Set<string> {
  const parsed = Parser(args, { configuration: { 'camel-case-expansion': true, 'boolean-negation': true } });
  return new Set(Object.keys(parsed).filter((key) => key !== '_' && key !== '--'));
}

/**
 * Refuses to start a new run where one exists: the checkpoint, or files a run wrote without one.
 * An empty file holds nothing to lose: a run stopped by a NaN loss in its first epoch leaves an
 * empty metrics.jsonl, and the rerun its message advises (a lower --lr) must not be refused.
 */
export function assertFreshRunFolder(out: string, runFiles: (name: string) => boolean): void {
  const checkpoint = join(out, 'checkpoint.safetensors');
  if (existsSync(checkpoint)) throw new Error(`${checkpoint} exists: pass --resume to continue that run, or another --out`);
  if (!existsSync(out)) return;
  const leftover = readdirSync(out).find((name) => runFiles(name) && statSync(join(out, name)).size > 0);
  if (leftover) throw new Error(`${join(out, leftover)} exists (a run without a checkpoint): pass another --out, or delete ${out} to start over`);
}

/**
 * The records of a run's metrics.jsonl that a resume continues, checked against the checkpoint
 * before anything is built: records past the checkpoint's epoch are refused (the checkpoint was
 * replaced by an earlier one: appending would repeat those epochs), and the checkpoint's own
 * epoch, when its line is missing (killed between the checkpoint write and the metrics append),
 * is restored from the record the checkpoint keeps.
 */
export function resumedMetrics(path: string, info: RunInfo, checkpointPath: string): Record<string, unknown>[] {
  const records = existsSync(path) ? readFileSync(path, 'utf8').split('\n').flatMap((line, k) => {
    if (!line.trim()) return [];
    try {
      return [JSON.parse(line) as Record<string, unknown> & { epoch: number }];
    } catch {
      // Appending after half a line would leave the file unreadable for good: the user repairs it first.
      throw new Error(`${path}:${k + 1} is not a JSON record (${JSON.stringify(line.slice(0, 40))}; a write cut short?): delete that line, then run --resume again`);
    }
  }) : [];
  const later = records.filter((record) => record.epoch > info.epoch);
  if (later.length) {
    throw new Error(`${path} has records of epoch(s) ${later.map((record) => record.epoch).join(', ')}, past the epoch ${info.epoch} of ${checkpointPath} (was the checkpoint replaced by an earlier one?): move those lines out of ${path}, then run --resume again`);
  }
  const saved = info.metrics;
  if (info.epoch > 0 && !records.some((record) => record.epoch === info.epoch) && saved?.epoch === info.epoch) {
    const record = { ...saved };
    appendFileSync(path, `${JSON.stringify(record)}\n`);
    records.push(record as Record<string, unknown> & { epoch: number });
    console.error(`note: ${path} lacked epoch ${info.epoch}'s record (a run killed between its checkpoint and its metrics write); restored it from ${checkpointPath}`);
  }
  return records;
}

/**
 * A short hash of the named image lists, one line per sample in order, so that a resume or an
 * evaluation can tell that the data changed since its checkpoint was written.
 */
export function sampleListHash(parts: readonly (readonly [string, readonly Sample[]])[], line: (sample: Sample) => string): string {
  const hash = createHash('sha256');
  for (const [name, samples] of parts) {
    hash.update(`${name}\n`);
    for (const sample of samples) hash.update(`${line(sample)}\n`);
  }
  return hash.digest('hex').slice(0, 16);
}

const samePath = (a: string, b: string) => a === b || resolve(a) === resolve(b);

function refuse(flag: string, value: unknown, runHas: string, checkpointPath: string): never {
  const typed = value === undefined ? flag : `${flag} ${String(value)}`;
  throw new Error(`${typed}: the run in ${checkpointPath} ${runHas}; drop ${flag} to continue it, or start a new run with another --out`);
}

/** Epochs to train to: the run's plan unless --epochs asks for more; a finished run needs a larger --epochs. */
function resumedEpochs(info: RunInfo, planned: number, epochs: number, given: Set<string>, checkpointPath: string, notes: string[]): number {
  if (given.has('epochs')) {
    if (epochs <= info.epoch) throw new Error(`--epochs ${epochs}: the run in ${checkpointPath} has already completed ${info.epoch} epoch(s); pass --epochs above ${info.epoch} to train on`);
    if (epochs !== planned) notes.push(`epochs changed from ${planned} to ${epochs}: training continues to epoch ${epochs}`);
    return epochs;
  }
  if (planned <= info.epoch) throw new Error(`${checkpointPath}: this run is complete (${info.epoch} of ${planned} epochs); pass --epochs above ${info.epoch} with --resume to train on`);
  return planned;
}

/** What `webfer train` reads from its arguments (a view of its yargs argv). */
export interface FanetResumeArgs {
  precision: Precision;
  model: string; width: number; inputSize: number; epochs: number; batchSize: number; lr?: number; optimizer: 'sgd' | 'adam';
  data?: string; format: DatasetFormat; task?: Task; seed: number; splitDir?: string; synthSubjects: number; synthExpressions: number; extraTrain?: string[];
}

/** The data options of `webfer train` / `webfer eval`, rebuilt from a checkpoint's recipe. */
export interface DataRecipeArgs {
  data?: string; format: DatasetFormat; task?: Task; seed: number; splitDir?: string; synthSubjects: number; synthExpressions: number; extraTrain?: string[];
}

export interface FanetResumeSettings {
  optimizer: 'sgd' | 'adam';
  precision: Precision;
  batchSize: number;
  epochs: number;
  /** Set when --lr replaces the checkpoint's base lr (apply it after loading the optimizer). */
  lr?: number;
  data: DataRecipeArgs;
  /** One line per setting that differs from the checkpoint's and takes effect. */
  notes: string[];
}

interface StoredRecipe {
  data?: string | null; format?: DatasetFormat; task?: Task | null; seed?: number; splitDir?: string;
  synth?: { subjects: number; expressions: number } | null; extraTrain?: string[];
  batchSize?: number; lr?: number; optimizer?: 'sgd' | 'adam'; epochs?: number; batchInEpoch?: number; precision?: Precision;
}

function describeData(recipe: StoredRecipe): string {
  if (recipe.splitDir) return `split files in ${recipe.splitDir}`;
  const extra = recipe.extraTrain?.length ? ` + train rows of ${recipe.extraTrain.join(', ')}` : '';
  if (recipe.data) return `${recipe.data}${recipe.task ? ` (${recipe.task})` : ''}${extra}`;
  const synth = recipe.synth ? ` (${recipe.synth.subjects} subjects × ${recipe.synth.expressions} expressions)` : '';
  return `synthetic F²ED${synth}${recipe.task ? `, ${recipe.task}` : ''}${extra}`;
}

/**
 * How a Fa-Net run continues: the model, optimizer, data recipe and seed are the run's own (typed
 * values that differ are refused: a different split would leak test images into training, and
 * another optimizer cannot take the saved state); --epochs may grow; --batch-size applies at an
 * epoch boundary; --lr applies to the base rate (see src/train/learning-rate.ts).
 */
export function resumeFanetSettings(info: RunInfo, argv: FanetResumeArgs, given: Set<string>, checkpointPath: string): FanetResumeSettings {
  const stored = (info.extra ?? {}) as StoredRecipe;
  const config = info.config as { variant?: string; widthMultiplier?: number; inputSize?: number };
  const notes: string[] = [];

  const optimizer = stored.optimizer ?? argv.optimizer;
  if (given.has('optimizer') && argv.optimizer !== optimizer) {
    throw new Error(`--optimizer ${argv.optimizer}: the run in ${checkpointPath} used ${optimizer}; drop --optimizer or pass --optimizer ${optimizer} (another optimizer needs a new run: another --out)`);
  }
  // The loss scale lives in float16 runs' checkpoints only: a run keeps the precision it started in.
  const precision = stored.precision ?? 'f32';
  if (given.has('precision') && argv.precision !== precision) refuse('--precision', argv.precision, `trains in ${precision}`, checkpointPath);
  const model = `${config.variant} width ${config.widthMultiplier ?? 1} at ${config.inputSize ?? 128} px`;
  if (given.has('model') && argv.model !== config.variant) refuse('--model', argv.model, `is ${model}`, checkpointPath);
  if (given.has('width') && argv.width !== (config.widthMultiplier ?? 1)) refuse('--width', argv.width, `is ${model}`, checkpointPath);
  if (given.has('inputSize') && argv.inputSize !== (config.inputSize ?? 128)) refuse('--input-size', argv.inputSize, `is ${model}`, checkpointPath);

  const trainedOn = `trained on ${describeData(stored)}`;
  if (given.has('splitDir') && !(stored.splitDir && samePath(argv.splitDir!, stored.splitDir))) refuse('--split-dir', argv.splitDir, trainedOn, checkpointPath);
  if (given.has('data') && !(stored.data && samePath(argv.data!, stored.data))) refuse('--data', argv.data, trainedOn, checkpointPath);
  if (given.has('format') && argv.format !== 'auto' && argv.format !== stored.format) refuse('--format', argv.format, `read its data as ${stored.format ?? 'auto'}`, checkpointPath);
  if (given.has('task') && argv.task !== (stored.task ?? undefined)) refuse('--task', argv.task, trainedOn, checkpointPath);
  if (given.has('synthSubjects') && argv.synthSubjects !== stored.synth?.subjects) refuse('--synth-subjects', argv.synthSubjects, trainedOn, checkpointPath);
  if (given.has('synthExpressions') && argv.synthExpressions !== stored.synth?.expressions) refuse('--synth-expressions', argv.synthExpressions, trainedOn, checkpointPath);
  const storedExtra = stored.extraTrain ?? [];
  const sameExtra = (argv.extraTrain ?? []).length === storedExtra.length && (argv.extraTrain ?? []).every((path, k) => samePath(path, storedExtra[k]!));
  if (given.has('extraTrain') && !sameExtra) refuse('--extra-train', argv.extraTrain?.join(' '), trainedOn, checkpointPath);
  const seed = stored.seed ?? argv.seed;
  if (given.has('seed') && argv.seed !== seed) refuse('--seed', argv.seed, `used seed ${seed} (it fixes the split and the batch order)`, checkpointPath);

  const epochs = resumedEpochs(info, stored.epochs ?? argv.epochs, argv.epochs, given, checkpointPath, notes);

  let batchSize = stored.batchSize ?? argv.batchSize;
  if (given.has('batchSize') && argv.batchSize !== batchSize) {
    if (stored.batchInEpoch) {
      throw new Error(`--batch-size ${argv.batchSize}: the run in ${checkpointPath} stopped inside epoch ${info.epoch + 1} after ${stored.batchInEpoch} batches of ${batchSize}; drop --batch-size to finish that epoch, then change it`);
    }
    notes.push(`batch size changed from ${batchSize} to ${argv.batchSize} (the learning rate is not rescaled: pass --lr to change it)`);
    batchSize = argv.batchSize;
  }
  const lr = given.has('lr') && argv.lr !== stored.lr ? argv.lr : undefined;

  const data: DataRecipeArgs = {
    data: stored.data ?? undefined,
    format: stored.data ? (stored.format ?? 'auto') : 'auto',
    task: stored.task ?? undefined,
    seed,
    splitDir: stored.splitDir ?? undefined,
    synthSubjects: stored.synth?.subjects ?? argv.synthSubjects,
    synthExpressions: stored.synth?.expressions ?? argv.synthExpressions,
    extraTrain: stored.extraTrain,
  };
  return { optimizer, precision, batchSize, epochs, lr, data, notes };
}

/** What `webfer gan-train` reads from its arguments. */
export interface GanResumeArgs {
  data?: string; size: number; width: number; blocks: number; norm: string; rgb: boolean; epochs: number; batchSize: number;
  lr: number; lambda: number; decay: boolean; flip: boolean; seed: number; synthSubjects: number; synthExpressions: number; precision: Precision;
}

interface StoredGanTraining { epochs: number; batchSize: number; lr: number; lambdaL1: number; decay: boolean; flip: boolean; seed: number; precision?: Precision }

export interface GanResumeSettings {
  /** The run's training options with the accepted changes (epochs, batch size, λ, flips). */
  training: StoredGanTraining & Record<string, unknown>;
  /** Set when --lr replaces the checkpoint's Adam lr (apply it after loading both optimizers). */
  lr?: number;
  data?: string;
  /** The image list of a --data run when it was written (checkpoints of older versions have none). */
  images?: GanImageList;
  synthSubjects: number;
  synthExpressions: number;
  notes: string[];
}

/** What a gan-train --data run trained on: its image count and a hash of the rows that form the pose pairs. */
export interface GanImageList { count: number; sha256: string }

export function ganImageList(samples: readonly Sample[]): GanImageList {
  const sha256 = sampleListHash([['train', samples]], (sample) =>
    [resolve(sample.path), sample.label, sample.subject, sample.pose, sample.clip, sample.frame, sample.landmarksPath && resolve(sample.landmarksPath)].join('\t'));
  return { count: samples.length, sha256 };
}

/**
 * Refuses a --data run's images that changed since its checkpoint: the resumed epochs would draw
 * other pose pairs (mid-epoch, batches already trained or never seen) and the run would no
 * longer say what it trained on.
 */
export function assertSameGanImages(stored: GanImageList | undefined, samples: readonly Sample[], data: string, checkpointPath: string): void {
  if (!stored) return;
  const now = ganImageList(samples);
  if (now.sha256 === stored.sha256) return;
  throw new Error(`${data} changed since ${checkpointPath} was written (then ${stored.count} training images, now ${now.count}; image list hash ${stored.sha256} → ${now.sha256}): restore the data the run trained on, or start a new run with another --out`);
}

/**
 * How a FaPE-GAN run continues: networks, seed, data and lr decay are the run's own (typed values
 * that differ are refused); --epochs may grow (with --decay the decay is laid out again over the
 * new total); --batch-size, --lambda and --flip apply from the next epoch; --lr applies to G and D.
 */
export function resumeGanSettings(info: RunInfo, argv: GanResumeArgs, given: Set<string>, checkpointPath: string): GanResumeSettings {
  const extra = (info.extra ?? {}) as { data?: string; images?: GanImageList; synth?: { subjects: number; expressions: number }; training?: StoredGanTraining & Record<string, unknown> };
  if (!extra.training) throw new Error(`${checkpointPath} has no training options (written by an older webfer?); it cannot be resumed, start a new run with another --out`);
  const config = info.config as { imageSize: number; baseWidth: number; residualBlocks: number; norm: string; channels: number };
  const stored = extra.training;
  const notes: string[] = [];
  const networks = `has ${config.imageSize} px ${config.channels === 3 ? 'RGB' : 'gray'} networks of width ${config.baseWidth}, ${config.residualBlocks} blocks, ${config.norm} norm`;
  if (given.has('size') && argv.size !== config.imageSize) refuse('--size', argv.size, networks, checkpointPath);
  if (given.has('width') && argv.width !== config.baseWidth) refuse('--width', argv.width, networks, checkpointPath);
  if (given.has('blocks') && argv.blocks !== config.residualBlocks) refuse('--blocks', argv.blocks, networks, checkpointPath);
  if (given.has('norm') && argv.norm !== config.norm) refuse('--norm', argv.norm, networks, checkpointPath);
  if (given.has('rgb') && argv.rgb !== (config.channels === 3)) refuse(argv.rgb ? '--rgb' : '--no-rgb', undefined, networks, checkpointPath);
  if (given.has('seed') && argv.seed !== stored.seed) refuse('--seed', argv.seed, `used seed ${stored.seed} (it fixes the initial weights, the synthetic data and the pair order)`, checkpointPath);
  if (given.has('decay') && argv.decay !== stored.decay) refuse(argv.decay ? '--decay' : '--no-decay', undefined, `was trained ${stored.decay ? 'with' : 'without'} --decay`, checkpointPath);
  // The loss scales live in float16 runs' checkpoints only: a run keeps the precision it started in.
  const precision = stored.precision ?? 'f32';
  if (given.has('precision') && argv.precision !== precision) refuse('--precision', argv.precision, `trains in ${precision}`, checkpointPath);

  const storedData = extra.data && extra.data !== 'synth' ? extra.data : undefined;
  const trainedOn = `trained on ${storedData ?? `synthetic F²ED${extra.synth ? ` (${extra.synth.subjects} subjects × ${extra.synth.expressions} expressions)` : ''}`}`;
  if (given.has('data') && !(storedData && samePath(argv.data!, storedData))) refuse('--data', argv.data, trainedOn, checkpointPath);
  if (given.has('synthSubjects') && (storedData || (extra.synth && argv.synthSubjects !== extra.synth.subjects))) refuse('--synth-subjects', argv.synthSubjects, trainedOn, checkpointPath);
  if (given.has('synthExpressions') && (storedData || (extra.synth && argv.synthExpressions !== extra.synth.expressions))) refuse('--synth-expressions', argv.synthExpressions, trainedOn, checkpointPath);

  const training = { ...stored };
  training.epochs = resumedEpochs(info, stored.epochs, argv.epochs, given, checkpointPath, notes);
  if (stored.decay && training.epochs !== stored.epochs) {
    notes.push(`the lr decay is laid out again over ${training.epochs} epochs: constant to epoch ${Math.ceil(training.epochs / 2)}, then linearly to 0`);
  }
  if (given.has('batchSize') && argv.batchSize !== stored.batchSize) {
    // The batches already done are skipped by count: counted in another size they would drop the rest of the epoch.
    const batchInEpoch = Number(info.extra?.batchInEpoch ?? 0);
    if (batchInEpoch > 0) {
      throw new Error(`--batch-size ${argv.batchSize}: the run in ${checkpointPath} stopped inside epoch ${info.epoch + 1} after ${batchInEpoch} batches of ${stored.batchSize}; drop --batch-size to finish that epoch, then change it`);
    }
    notes.push(`batch size changed from ${stored.batchSize} to ${argv.batchSize}`);
    training.batchSize = argv.batchSize;
  }
  if (given.has('lambda') && argv.lambda !== stored.lambdaL1) {
    notes.push(`lambda (L1 weight) changed from ${stored.lambdaL1} to ${argv.lambda}`);
    training.lambdaL1 = argv.lambda;
  }
  if (given.has('flip') && argv.flip !== stored.flip) {
    notes.push(`flips ${argv.flip ? 'turned on' : 'turned off'}`);
    training.flip = argv.flip;
  }
  const lr = given.has('lr') && argv.lr !== stored.lr ? argv.lr : undefined;
  return {
    training, lr, data: storedData, images: storedData ? extra.images : undefined,
    synthSubjects: extra.synth?.subjects ?? argv.synthSubjects,
    synthExpressions: extra.synth?.expressions ?? argv.synthExpressions,
    notes,
  };
}
