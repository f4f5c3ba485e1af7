/** CLI commands of the data layer: `webfer synth`, `webfer split`, `webfer inspect`. */
import cliProgress from 'cli-progress';
import type { CommandModule } from 'yargs';
import { checkImages } from '../data/check-images.js';
import { summarizeDataset, formatSummary } from '../data/inspect.js';
import { POSES, type Pose } from '../data/labels.js';
import { TASKS, type Task } from '../data/splits.js';
import { listSynthSpecs, type SynthOptions } from '../data/synth/generator.js';
import { DATASET_FORMATS, openDataset, type DatasetFormat } from '../node/data/open-dataset.js';
import { writeSplits } from '../node/data/write-splits.js';
import { writeSynthContactSheet, writeSynthDataset } from '../node/data/write-synth.js';
import { allowOutsidePathsOption, reportProblems } from './data-report.js';

/** A progress bar on a terminal; silent otherwise (logs and CI stay clean). */
function progressBar(label: string): { update(done: number, total: number): void; stop(): void } {
  if (!process.stderr.isTTY) return { update() {}, stop() {} };
  const bar = new cliProgress.SingleBar({ format: `${label} [{bar}] {percentage}% {value}/{total} eta {eta_formatted}`, stream: process.stderr, hideCursor: true }, cliProgress.Presets.shades_classic);
  let started = false;
  return {
    update(done, total) { if (!started) { bar.start(total, done); started = true; } else bar.update(done); },
    stop() { if (started) bar.stop(); },
  };
}

interface SynthArgs {
  out?: string; subjects: number; expressions: number; clips: number; frames: number; size: number; rgb: boolean;
  seed: number; poseMix: 'balanced' | 'f2ed'; poses?: string[]; contactSheet?: string; subject: number; masks: boolean; noise: number; jitter: number;
}

const synthCommand: CommandModule<object, SynthArgs> = {
  command: 'synth [out]',
  describe: 'Generate a synthetic F²ED (faces in 4 poses × 54 expressions) as PNGs + index.csv + landmark files',
  builder: (yargs) => yargs
    .positional('out', { type: 'string', describe: 'output folder (images/, landmarks/, index.csv)' })
    .option('subjects', { type: 'number', default: 4, describe: 'number of identities' })
    .option('expressions', { type: 'number', default: 54, describe: 'use expressions 0..N-1' })
    .option('clips', { type: 'number', default: 1, describe: 'clips per (subject, expression)' })
    .option('frames', { type: 'number', default: 3, describe: 'frames per clip (intensity ramps up)' })
    .option('size', { type: 'number', default: 128, choices: [64, 128, 256], describe: 'crop size in pixels' })
    .option('rgb', { type: 'boolean', default: false, describe: 'write RGB instead of grayscale' })
    .option('seed', { type: 'number', default: 0 })
    .option('pose-mix', { type: 'string', default: 'balanced', choices: ['balanced', 'f2ed'], describe: 'f2ed: F²ED pose proportions (front most frequent)' })
    .option('poses', { type: 'array', string: true, describe: `subset of ${POSES.join(' ')}` })
    .option('noise', { type: 'number', default: 3, describe: 'pixel noise std (grey levels)' })
    .option('jitter', { type: 'number', default: 3, describe: 'head jitter std (degrees)' })
    .option('contact-sheet', { type: 'string', describe: 'also write a PNG of one subject: poses (rows) × expressions (columns)' })
    .option('subject', { type: 'number', default: 0, describe: 'subject shown on the contact sheet' })
    .option('masks', { type: 'boolean', default: false, describe: 'add pose-mask rows to the contact sheet' })
    .check((argv) => {
      if (!argv.out && !argv.contactSheet) throw new Error('give an output folder (webfer synth OUT) and/or --contact-sheet FILE.png');
      for (const pose of argv.poses ?? []) if (!(POSES as readonly string[]).includes(pose)) throw new Error(`unknown pose ${JSON.stringify(pose)}: use ${POSES.join(', ')}`);
      return true;
    }) as never,
  handler: async (argv) => {
    const options: SynthOptions = {
      subjects: argv.subjects, expressions: argv.expressions, clipsPerExpression: argv.clips, framesPerClip: argv.frames,
      size: argv.size as 64 | 128 | 256, channels: argv.rgb ? 3 : 1, seed: argv.seed, poseMix: argv.poseMix,
      poses: argv.poses as Pose[] | undefined, noise: argv.noise, jitterDegrees: argv.jitter,
    };
    if (argv.contactSheet) {
      await writeSynthContactSheet(argv.contactSheet, { ...options, subjects: Math.max(options.subjects, argv.subject + 1), subject: argv.subject, masks: argv.masks });
      console.log(`wrote ${argv.contactSheet}`);
    }
    if (argv.out) {
      const total = listSynthSpecs(options).length;
      const bar = progressBar('synth');
      const started = Date.now();
      try {
        const result = await writeSynthDataset(argv.out, options, (done) => bar.update(done, total));
        bar.stop();
        console.log(`wrote ${result.images} images and ${result.indexPath} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      } finally { bar.stop(); }
    }
  },
};

interface SplitArgs { index: string; task: Task; seed: number; out: string; skipBad: boolean; allowOutsidePaths: boolean; overwrite: boolean }

const splitCommand: CommandModule<object, SplitArgs> = {
  command: 'split',
  describe: 'Split an index CSV by an F²ED task rule into train.csv / test.csv (+ val.csv for er-ss)',
  builder: (yargs) => yargs
    .option('index', { type: 'string', demandOption: true, describe: 'index CSV (path,subject,pose,expression,...)' })
    .option('task', { type: 'string', demandOption: true, choices: TASKS, describe: 'er-ss random 175k/19.7k/25k · er-ue rare expressions · er-up rare half-left · er-zid unseen subjects' })
    .option('seed', { type: 'number', default: 0 })
    .option('out', { type: 'string', demandOption: true, describe: 'folder for the split CSVs' })
    .option('overwrite', { type: 'boolean', default: false, describe: 'replace split files already in --out' })
    .option('skip-bad', { type: 'boolean', default: false, describe: 'skip malformed or repeated rows (reported) instead of stopping' })
    .option('allow-outside-paths', allowOutsidePathsOption) as never,
  handler: async (argv) => {
    const { result, files, problems } = await writeSplits(argv.index, argv.task, argv.seed, argv.out, { skipBad: argv.skipBad, allowOutsidePaths: argv.allowOutsidePaths, overwrite: argv.overwrite });
    const sizes = `train ${result.train.length}${argv.task === 'er-ss' ? ` · val ${result.val.length}` : ''} · test ${result.test.length}`;
    console.log(`${argv.task} (seed ${argv.seed}): ${sizes}`);
    if (result.rareExpressions) console.log(`rare expressions: ${result.rareExpressions.join(' ')}`);
    if (result.testSubjects) console.log(`test subjects (${result.testSubjects.length}): ${result.testSubjects.join(' ')}`);
    reportProblems('bad row(s)', argv.index, problems, console.log);
    console.log(`wrote ${files.join(', ')}`);
  },
};

interface InspectArgs { path: string; format: DatasetFormat; json: boolean; skipBad: boolean; decode: boolean; allowOutsidePaths: boolean }

const inspectCommand: CommandModule<object, InspectArgs> = {
  command: 'inspect <path>',
  describe: 'Count images per split, subject, pose and expression, and report problems',
  builder: (yargs) => yargs
    .positional('path', { type: 'string', demandOption: true, describe: 'index CSV, fer2013.csv or a dataset folder' })
    .option('format', { type: 'string', default: 'auto', choices: DATASET_FORMATS })
    .option('json', { type: 'boolean', default: false, describe: 'print the summary as JSON' })
    .option('skip-bad', { type: 'boolean', default: true, describe: 'list bad rows/files as problems instead of stopping at the first' })
    .option('decode', { type: 'boolean', default: true, describe: 'decode every image to find corrupt files (--no-decode to skip)' })
    .option('allow-outside-paths', allowOutsidePathsOption) as never,
  handler: async (argv) => {
    const dataset = await openDataset(argv.path, { format: argv.format, skipBad: argv.skipBad, allowOutsidePaths: argv.allowOutsidePaths });
    let check: Awaited<ReturnType<typeof checkImages>> | undefined;
    if (argv.decode) {
      const bar = progressBar('decode');
      try { check = await checkImages(dataset, { skipBad: argv.skipBad, onProgress: (done, total) => bar.update(done, total) }); } finally { bar.stop(); }
      dataset.problems.push(...check.unreadable);
      dataset.samples = check.readable;
    }
    const summary = summarizeDataset(dataset, check);
    console.log(argv.json ? JSON.stringify(summary, null, 2) : formatSummary(summary));
  },
};

export const dataCommands: CommandModule<any, any>[] = [synthCommand, splitCommand, inspectCommand];
