/** CLI commands of the data layer: `webfer synth`, `webfer split`, `webfer inspect`. */
import cliProgress from 'cli-progress';
import { availableParallelism } from 'node:os';
import type { CommandModule } from 'yargs';
import { checkImages } from '../data/check-images.js';
import { summarizeDataset, formatSummary } from '../data/inspect.js';
import { POSES, type Pose } from '../data/labels.js';
import { TASKS, type Task } from '../data/splits.js';
import { F2ED_STATISTICS, SYNTH_PRESETS, SYNTH_PRESET_NAMES, checkF2edScale, f2edSynthOptions, planF2edSynth, type SynthPreset } from '../data/synth/f2ed-preset.js';
import { listSynthSpecs, type SynthOptions, type SynthSpec } from '../data/synth/generator.js';
import { DATASET_FORMATS, openDataset, type DatasetFormat } from '../node/data/open-dataset.js';
import { writeSplits } from '../node/data/write-splits.js';
import { writeSynthContactSheet, writeSynthDataset } from '../node/data/write-synth.js';
import { terminalProgress } from '../node/progress.js';
import { allowOutsidePathsOption, reportProblems } from './data-report.js';
import { INTERRUPTED_EXIT_CODE } from './interrupt.js';
import { checkFiniteNumber, checkInteger, checkOutputFile, checkOutputFolder, checkPositiveInteger, checkSeed, checkSynthExpressions, checkSynthImages } from './option-checks.js';

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
  out?: string; subjects?: number; expressions?: number; clips?: number; frames?: number; size?: number; rgb: boolean;
  seed: number; poseMix?: 'balanced' | 'f2ed'; poses?: string[]; contactSheet?: string; subject: number; masks: boolean; noise: number; jitter: number;
  preset?: SynthPreset; scale?: number; workers?: number; dryRun: boolean;
}

/** Options a preset lays out itself: giving one with --preset is refused, not silently ignored. */
const LAYOUT_OPTIONS = { subjects: 'subjects', expressions: 'expressions', clips: 'clips', frames: 'frames', poseMix: 'pose-mix', poses: 'poses' } as const;

function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  if (seconds < 60) return `${Math.round(seconds)} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(seconds / 3600)} h ${Math.round((seconds % 3600) / 60)} min`;
}

const synthCommand: CommandModule<object, SynthArgs> = {
  command: 'synth [out]',
  describe: 'Generate a synthetic F²ED (faces in 4 poses × 54 expressions) as PNGs + index.csv + landmark files',
  builder: (yargs) => yargs
    .positional('out', { type: 'string', describe: 'output folder (images/, landmarks/, index.csv)' })
    .option('preset', { type: 'string', choices: SYNTH_PRESET_NAMES, describe: `F²ED's layout: f2ed = ${F2ED_STATISTICS.images.toLocaleString('en')} images, ${F2ED_STATISTICS.subjects} subjects, ${F2ED_STATISTICS.clips.toLocaleString('en')} clips, its pose counts, 256 px; f2ed-small = 10 % of it` })
    .option('scale', { type: 'number', describe: 'with --preset f2ed: this fraction of F²ED (0.01..1), same proportions' })
    .option('workers', { type: 'number', describe: 'worker threads rendering in parallel [default: every core]' })
    .option('dry-run', { type: 'boolean', default: false, describe: 'print the counts (images, subjects, clips, poses) and the split sizes they give; render nothing' })
    .option('subjects', { type: 'number', describe: 'number of identities [default: 4]' })
    .option('expressions', { type: 'number', describe: 'use expressions 0..N-1 [default: 54]' })
    .option('clips', { type: 'number', describe: 'clips per (subject, expression) [default: 1]' })
    .option('frames', { type: 'number', describe: 'frames per clip (intensity ramps up) [default: 3]' })
    .option('size', { type: 'number', choices: [64, 128, 256], describe: 'crop size in pixels [default: 128; 256 with --preset]' })
    .option('rgb', { type: 'boolean', default: false, describe: 'write RGB instead of grayscale' })
    .option('seed', { type: 'number', default: 0 })
    .option('pose-mix', { type: 'string', choices: ['balanced', 'f2ed'], describe: 'f2ed: F²ED pose proportions (front most frequent) [default: balanced]' })
    .option('poses', { type: 'array', string: true, describe: `subset of ${POSES.join(' ')}` })
    .option('noise', { type: 'number', default: 3, describe: 'pixel noise std (grey levels)' })
    .option('jitter', { type: 'number', default: 3, describe: 'head jitter std (degrees)' })
    .option('contact-sheet', { type: 'string', describe: 'also write a PNG of one subject: poses (rows) × expressions (columns)' })
    .option('subject', { type: 'number', default: 0, describe: 'subject shown on the contact sheet' })
    .option('masks', { type: 'boolean', default: false, describe: 'add pose-mask rows to the contact sheet' })
    .check((argv) => {
      if (!argv.out && !argv.contactSheet && !argv.dryRun) throw new Error('give an output folder (webfer synth OUT) and/or --contact-sheet FILE.png');
      for (const pose of argv.poses ?? []) if (!(POSES as readonly string[]).includes(pose)) throw new Error(`unknown pose ${JSON.stringify(pose)}: use ${POSES.join(', ')}`);
      if (argv.preset) {
        const given = Object.entries(LAYOUT_OPTIONS).filter(([key]) => argv[key as keyof typeof LAYOUT_OPTIONS] !== undefined).map(([, flag]) => `--${flag}`);
        if (given.length > 0) throw new Error(`--preset ${argv.preset} lays out subjects, expressions, clips, frames and poses itself: drop ${given.join(', ')} (or drop --preset)`);
      }
      if (argv.scale !== undefined) {
        if (argv.preset !== 'f2ed') throw new Error(`--scale needs --preset f2ed (f2ed-small is --scale ${SYNTH_PRESETS['f2ed-small']})`);
        try {
          checkF2edScale(argv.scale);
        } catch (error) {
          throw new Error(`--scale ${argv.scale}: ${(error as Error).message}`);
        }
      }
      if (argv.workers !== undefined) checkPositiveInteger(argv.workers, '--workers', 'e.g. --workers 2, or leave it out for every core');
      for (const [value, flag, example] of [[argv.subjects, 'subjects', 4], [argv.clips, 'clips', 1], [argv.frames, 'frames', 3]] as const) {
        if (value !== undefined) checkPositiveInteger(value, `--${flag}`, `e.g. --${flag} ${example}`);
      }
      if (argv.expressions !== undefined) checkSynthExpressions(argv.expressions, '--expressions', 54);
      checkSeed(argv.seed);
      checkFiniteNumber(argv.noise, '--noise', 0, 'e.g. --noise 3 (grey levels), or --noise 0 for none', true);
      checkFiniteNumber(argv.jitter, '--jitter', 0, 'e.g. --jitter 3 (degrees), or --jitter 0 for none', true);
      checkInteger(argv.subject, '--subject', 0, 'e.g. --subject 0');
      if (argv.contactSheet) checkOutputFile(String(argv.contactSheet), '--contact-sheet', 'sheet.png');
      return true;
    }) as never,
  handler: async (argv) => {
    if (argv.out) checkOutputFolder(argv.out, 'synth OUT');
    const render = { channels: argv.rgb ? 3 : 1, noise: argv.noise, jitterDegrees: argv.jitter } as const;
    let options: SynthOptions;
    let specs: SynthSpec[] | undefined;
    let recipe: Record<string, string | number> | undefined;
    if (argv.preset) {
      const scale = argv.scale ?? SYNTH_PRESETS[argv.preset];
      const plan = planF2edSynth({ scale, seed: argv.seed });
      options = f2edSynthOptions(plan, { ...render, size: (argv.size ?? F2ED_STATISTICS.size) as 64 | 128 | 256 });
      specs = plan.specs;
      recipe = { preset: argv.preset, scale };
      const { counts } = plan;
      console.log(`${argv.preset}${argv.scale !== undefined ? ` ×${scale}` : ''}: ${counts.images} images, ${counts.subjects} subjects (${counts.males} male, ${counts.females} female), `
        + `${counts.expressions} expressions, ${counts.clips} clips, ${counts.frames} frames; ${POSES.map((pose) => `${pose} ${counts.poses[pose]}`).join(' · ')}`);
      if (argv.dryRun) {
        const { design } = plan;
        console.log(`webfer split --seed 0: er-ue test ${design.erUeTest} (rare expressions ${design.rareExpressions.join(' ')}), `
          + `er-zid test ${design.erZidTest} (${design.heldOutSubjects.length} subjects: ${design.heldOutSubjects.join(' ')})`);
        return;
      }
    } else {
      options = {
        subjects: argv.subjects ?? 4, expressions: argv.expressions ?? 54, clipsPerExpression: argv.clips ?? 1, framesPerClip: argv.frames ?? 3,
        size: (argv.size ?? 128) as 64 | 128 | 256, seed: argv.seed, poseMix: argv.poseMix ?? 'balanced', poses: argv.poses as Pose[] | undefined, ...render,
      };
      checkSynthImages(options.subjects * options.expressions! * options.clipsPerExpression! * options.framesPerClip! * (options.poses?.length ?? POSES.length),
        '--subjects × --expressions × --clips × --frames × poses');
      if (argv.dryRun) {
        console.log(`${listSynthSpecs(options).length} images of ${options.subjects} subjects`);
        return;
      }
    }
    if (argv.contactSheet) {
      await writeSynthContactSheet(argv.contactSheet, { ...options, subjects: Math.max(options.subjects, argv.subject + 1), subject: argv.subject, masks: argv.masks });
      console.log(`wrote ${argv.contactSheet}`);
    }
    if (argv.out) {
      const workers = argv.workers ?? availableParallelism();
      const started = Date.now();
      let bar: ReturnType<typeof terminalProgress> | undefined;
      let renderStarted = started;
      let written = 0;
      // The images already written are complete files (temp + rename), so a later run resumes from them.
      const onSigint = () => {
        bar?.stop();
        console.error(`\ninterrupted: ${written} image(s) written this run are kept in ${argv.out}; run the same command again to continue (index.csv is written once every image is)`);
        process.exit(INTERRUPTED_EXIT_CODE);
      };
      process.on('SIGINT', onSigint);
      try {
        const result = await writeSynthDataset(argv.out, options, {
          specs, recipe, workers,
          onStart: (missing, kept) => {
            if (kept > 0) console.log(`resuming ${argv.out}: ${kept} of ${kept + missing} images already written, ${missing} to render`);
            if (missing === 0) { console.log('every image is already written: writing index.csv'); return; }
            console.log(`rendering ${missing} images on ${Math.min(workers, Math.ceil(missing / 8))} worker thread(s)`);
            bar = terminalProgress('synth', missing);
            renderStarted = Date.now();
          },
          onProgress: (done, total) => {
            written = done;
            const rate = done / Math.max(1e-3, (Date.now() - renderStarted) / 1000);
            bar?.update(done, done > 0 ? { 'images/s': rate, eta: formatDuration((total - done) / rate) } : {});
          },
        });
        bar?.stop();
        const seconds = (Date.now() - started) / 1000;
        const kept = result.kept > 0 ? `; ${result.kept} kept from an earlier run` : '';
        console.log(`wrote ${result.images} images and ${result.indexPath} in ${seconds.toFixed(1)} s (${result.rendered} rendered, ${(result.rendered / Math.max(1e-3, (Date.now() - renderStarted) / 1000)).toFixed(1)} images/s${kept})`);
      } finally { bar?.stop(); process.off('SIGINT', onSigint); }
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
    .option('allow-outside-paths', allowOutsidePathsOption)
    .check((argv) => { checkSeed(argv.seed); return true; }) as never,
  handler: async (argv) => {
    checkOutputFolder(argv.out, '--out');
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
