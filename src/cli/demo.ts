// `webfer demo` (what `npm start` runs): the adapter and kernel self-check, a time estimate, then
// the paper's experiments in miniature (src/train/paper-demo.ts): Table 5 on the four tasks and
// Table 4's transfer, with report.md, results.json, plots, sample grids and the transfer sets in
// their real formats written to the output folder.
import type { CommandModule } from 'yargs';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gpu } from '../gpu/index.js';
import { decodeImage, encodePng } from '../data/codecs.js';
import { EXPRESSION_FAMILIES } from '../data/labels.js';
import { TASKS, type Task } from '../data/splits.js';
import { defaultSeedCount, estimatePaperDemo, presetOptions, runPaperDemo, type PaperDemoOptions, type PaperDemoResult, type PresetName } from '../train/paper-demo.js';
import { formatPaperDemo, figureName, curveRuns, reportMarkdown } from '../train/demo/report.js';
import { PAPER_RESULTS, PAPER_TRANSFER_RESULTS, TRANSFER_SET_NAMES } from '../train/demo/paper-results.js';
import { barChartSpec, confusionMatrixSpec, sampleGridSpec, trainingCurvesSpec, type VegaLiteSpec } from '../plots/specs.js';
import { writePlot } from '../node/plots.js';
import { makeFolders, writeFileAtomic } from '../node/atomic-write.js';
import { openDataset } from '../node/data/open-dataset.js';
import { SynthWorkerPool, workerSynthRenderer } from '../node/data/synth-workers.js';
import { terminalProgress } from '../node/progress.js';
import { runSelfCheck } from './selfcheck.js';
import { initWithAutotuneCache } from '../node/autotune-cache.js';
import { checkFiniteNumber, checkOutputFolder, checkPositiveInteger, checkSeed } from './option-checks.js';

interface DemoArgs {
  out?: string;
  overwrite: boolean;
  quick: boolean;
  preset?: PresetName;
  tasks?: string;
  seeds?: number;
  seed: number;
  gan: boolean;
  transfer: boolean;
  'gan-scope'?: 'shared' | 'per-task';
  'repose-share'?: number;
  'fanet-epochs'?: number;
  'gan-epochs'?: number;
  'transfer-epochs'?: number;
  subjects?: number;
}

const DEFAULT_OUT = 'runs/demo';
const PRESETS: PresetName[] = ['quick', 'software', 'gpu', 'paper'];

/** --tasks er-ss,er-up → the tasks, in the paper's order; one clear line for anything else. */
export function parseTasks(text: string): Task[] {
  const names = text.split(',').map((name) => name.trim().toLowerCase()).filter((name) => name !== '');
  if (names.length === 0) throw new Error(`--tasks ${JSON.stringify(text)}: no task named; use a comma-separated list of ${TASKS.join(', ')}`);
  for (const name of names) {
    if (!(TASKS as readonly string[]).includes(name)) throw new Error(`--tasks: unknown task ${JSON.stringify(name)}; use a comma-separated list of ${TASKS.join(', ')}`);
  }
  return TASKS.filter((task) => names.includes(task));
}

/**
 * Where the run goes. An explicit --out that holds a report is refused unless --overwrite; the
 * default runs/demo moves on to the first free runs/demo-N (and says so), so `npm start` can be
 * run again without destroying the last run.
 */
function chooseOutput(argv: DemoArgs): string {
  const holdsRun = (dir: string) => existsSync(join(dir, 'report.md')) || existsSync(join(dir, 'results.json'));
  if (argv.out !== undefined) {
    checkOutputFolder(argv.out, '--out');
    if (holdsRun(argv.out) && !argv.overwrite) throw new Error(`--out ${argv.out} holds an earlier demo run (report.md / results.json): pass another --out, or --overwrite to replace it`);
    return argv.out;
  }
  if (!holdsRun(DEFAULT_OUT) || argv.overwrite) return DEFAULT_OUT;
  for (let k = 2; ; k++) {
    const candidate = `${DEFAULT_OUT}-${k}`;
    if (!holdsRun(candidate)) {
      console.log(`${DEFAULT_OUT} holds an earlier run (kept); writing this one to ${candidate}`);
      return candidate;
    }
  }
}

function commitOf(): string {
  try {
    const root = fileURLToPath(new URL('../..', import.meta.url));
    return execFileSync('git', ['rev-parse', 'HEAD'], { cwd: root, stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 }).toString().trim() || 'unknown';
  } catch {
    return 'unknown';
  }
}

const minutes = (seconds: number) => (seconds < 90 ? `${seconds.toFixed(0)} s` : `${(seconds / 60).toFixed(1)} min`);

function buildOptions(argv: DemoArgs, software: boolean): PaperDemoOptions {
  const preset = argv.preset ?? (argv.quick ? 'quick' : software ? 'software' : 'gpu');
  const base = presetOptions(preset);
  const positiveInteger = (name: string, value: number | undefined) => {
    if (value !== undefined) checkPositiveInteger(value, `--${name}`, `e.g. --${name} 2, or leave it out for the preset's`);
  };
  positiveInteger('seeds', argv.seeds);
  positiveInteger('fanet-epochs', argv['fanet-epochs']);
  positiveInteger('gan-epochs', argv['gan-epochs']);
  positiveInteger('transfer-epochs', argv['transfer-epochs']);
  positiveInteger('subjects', argv.subjects);
  checkSeed(argv.seed);
  const share = argv['repose-share'];
  if (share !== undefined) checkFiniteNumber(share, '--repose-share', 0, 'it is a share of the training images, e.g. --repose-share 0.5', true, 4);
  const tasks = argv.tasks === undefined ? base.tasks : parseTasks(argv.tasks);
  if (argv.subjects !== undefined && argv.subjects < 2) throw new Error('--subjects must be at least 2 (ER-ZID holds whole subjects out)');
  return {
    ...base,
    seed: argv.seed,
    seeds: argv.seeds ?? base.seeds,
    tasks,
    data: { ...base.data, ...(argv.subjects ? { subjects: argv.subjects } : {}) },
    fanet: { ...base.fanet, ...(argv['fanet-epochs'] ? { epochs: argv['fanet-epochs'] } : {}) },
    gan: argv.gan && base.gan ? {
      ...base.gan,
      ...(argv['gan-epochs'] ? { epochs: argv['gan-epochs'] } : {}),
      ...(argv['gan-scope'] ? { scope: argv['gan-scope'] } : {}),
      ...(share !== undefined ? { reposeShare: share } : {}),
    } : false,
    transfer: argv.transfer && base.transfer ? { ...base.transfer, ...(argv['transfer-epochs'] ? { epochs: argv['transfer-epochs'] } : {}) } : false,
  };
}

/** Every chart of the run, named as report.md expects (figureName). */
function charts(result: PaperDemoResult): [string, VegaLiteSpec][] {
  const out: [string, VegaLiteSpec][] = [];
  const pct = { yTitle: 'accuracy', yDomain: [0, 1] as [number, number], yFormat: '%' };
  const table5 = result.tasks.flatMap((task) => [
    { group: task.task.toUpperCase(), series: 'Fa-Net (this run)', value: task.baseline.mean },
    ...(task.augmented ? [{ group: task.task.toUpperCase(), series: 'FaPE-GAN + Fa-Net (this run)', value: task.augmented.mean }] : []),
    { group: task.task.toUpperCase(), series: 'Fa-Net (paper)', value: PAPER_RESULTS[task.task].fanet / 100 },
    { group: task.task.toUpperCase(), series: 'FaPE-GAN + Fa-Net (paper)', value: PAPER_RESULTS[task.task].fapeganFanet / 100 },
  ]);
  out.push([figureName.table5(), barChartSpec(table5, { title: 'Table 5: this run (mean over seeds) beside the paper', ...pct })]);
  if (result.transfer) {
    const table4 = result.transfer.flatMap((set) => [
      { group: TRANSFER_SET_NAMES[set.set], series: 'from scratch (this run)', value: set.scratch.mean },
      { group: TRANSFER_SET_NAMES[set.set], series: 'pre-trained (this run)', value: set.pretrained.mean },
      { group: TRANSFER_SET_NAMES[set.set], series: 'from scratch (paper)', value: PAPER_TRANSFER_RESULTS[set.set].scratch / 100 },
      { group: TRANSFER_SET_NAMES[set.set], series: 'pre-trained (paper)', value: PAPER_TRANSFER_RESULTS[set.set].pretrained / 100 },
    ]);
    out.push([figureName.table4(), barChartSpec(table4, { title: 'Table 4: this run (mean over seeds) beside the paper', ...pct })]);
  }
  const families = EXPRESSION_FAMILIES.map((f) => f.name);
  const classNamesWithOther = [...result.classNames, 'other (not in the data)'];
  for (const task of result.tasks) {
    const run = task.runs[0]!;
    const name = task.task.toUpperCase();
    const poseRows = run.baseline.perPose!.flatMap((p) => [
      { group: p.pose, series: 'Fa-Net', value: p.accuracy },
      ...(run.augmented ? [{ group: p.pose, series: 'FaPE-GAN + Fa-Net', value: run.augmented.perPose!.find((q) => q.pose === p.pose)!.accuracy }] : []),
    ]);
    out.push([figureName.perPose(task.task), barChartSpec(poseRows, { title: `${name}: accuracy per pose (seed ${run.seed})`, ...pct })]);
    for (const [method, fanetRun] of [['fanet', run.baseline], ['fapegan', run.augmented]] as const) {
      if (!fanetRun) continue;
      const label = method === 'fanet' ? 'Fa-Net' : 'FaPE-GAN + Fa-Net';
      // Square: the data's classes plus a row/column for predictions outside them (that row is empty).
      const square = [...fanetRun.confusion, new Array<number>(classNamesWithOther.length).fill(0)];
      out.push([figureName.confusion(task.task, method), confusionMatrixSpec(square, classNamesWithOther, `${name}, ${label} (seed ${run.seed})`)]);
      out.push([figureName.families(task.task, method), confusionMatrixSpec(fanetRun.familyConfusion!, families, `${name}, ${label}: expression families`)]);
    }
  }
  for (const set of result.transfer ?? []) {
    const run = set.runs[0]!;
    out.push([figureName.transferConfusion(set.set, 'scratch'), confusionMatrixSpec(run.scratch.confusion, set.classes, `${TRANSFER_SET_NAMES[set.set]}, from scratch (seed ${run.seed})`)]);
    out.push([figureName.transferConfusion(set.set, 'pretrained'), confusionMatrixSpec(run.pretrained.confusion, set.classes, `${TRANSFER_SET_NAMES[set.set]}, pre-trained (seed ${run.seed})`)]);
  }
  for (const run of curveRuns(result)) out.push([figureName.curves(run.name), trainingCurvesSpec(run.history, run.name)]);
  return out;
}

export const demoCommand: CommandModule<object, DemoArgs> = {
  command: 'demo',
  describe: 'The main job: the paper\'s Table 5 (four tasks, Fa-Net vs FaPE-GAN + Fa-Net) and Table 4 (transfer) on synthetic F²ED, sized to the adapter; report.md + results.json',
  builder: (y) =>
    y
      .option('out', { type: 'string', describe: `folder for report.md, results.json, figures and the transfer sets (default ${DEFAULT_OUT}, or the first free ${DEFAULT_OUT}-N)` })
      .option('overwrite', { type: 'boolean', default: false, describe: 'replace the run already in --out' })
      .option('quick', { type: 'boolean', default: false, describe: 'tiny sizes: every stage in a few minutes (accuracies near chance)' })
      .option('preset', { choices: PRESETS, describe: 'sizes: quick, software (CPU adapters), gpu, paper (128 px, full width, 100 epochs; a real GPU)' })
      .option('tasks', { type: 'string', describe: `comma-separated tasks for Table 5 (default all: ${TASKS.join(',')})` })
      .option('seeds', { type: 'number', describe: 'training repeats for mean ± std (default: 1 on a software adapter, what fits the budget on a GPU, at least 2)' })
      .option('seed', { type: 'number', default: 1, describe: 'data and split seed; training seeds are seed, seed+1, …' })
      .option('gan', { type: 'boolean', default: true, describe: 'FaPE-GAN and the augmented Fa-Net (--no-gan: baselines only)' })
      .option('transfer', { type: 'boolean', default: true, describe: 'Table 4 (--no-transfer skips it)' })
      .option('gan-scope', { choices: ['shared', 'per-task'] as const, describe: 'shared: one GAN on the images in every task\'s training split (default); per-task: one per task' })
      .option('repose-share', { type: 'number', describe: 'ER-SS / ER-ZID: re-posed faces added, as a share of the training images (default 0.5)' })
      .option('fanet-epochs', { type: 'number', describe: 'override the Fa-Net epochs' })
      .option('gan-epochs', { type: 'number', describe: 'override the FaPE-GAN epochs' })
      .option('transfer-epochs', { type: 'number', describe: 'override the fine-tuning / from-scratch epochs of Table 4' })
      .option('subjects', { type: 'number', describe: 'override the synthetic subject count' }) as never,
  handler: async (argv) => {
    const startedAt = new Date().toISOString();
    const command = `webfer demo ${process.argv.slice(3).join(' ')}`.trim();
    // Argument and output-folder errors before the (slow) device start.
    buildOptions(argv, true);
    const out = chooseOutput(argv);
    await initWithAutotuneCache();
    const options = buildOptions(argv, gpu().info.isSoftware);
    const info = gpu().info;
    const adapter = info.description || info.vendor;
    console.log(`adapter  ${adapter} (${info.isSoftware ? 'software: small sizes' : 'hardware GPU: larger sizes'})`);
    if (!(await runSelfCheck())) {
      process.exitCode = 1;
      console.error('webfer: the kernel self-check failed; not running the demo on a device that computes wrong results.');
      return;
    }
    console.log('');
    const estimate = await estimatePaperDemo(options, options.seeds);
    // --quick is a smoke run: one seed. Otherwise as many seeds as the time budget allows.
    if (argv.seeds === undefined && !argv.quick && argv.preset !== 'quick') {
      options.seeds = defaultSeedCount(info.isSoftware, estimate.perSeed, estimate.seconds - options.seeds * estimate.perSeed);
      if (options.seeds !== 1) Object.assign(estimate, await estimatePaperDemo(options, options.seeds));
    }
    const { work, costs } = estimate;
    console.log(`estimate ${minutes(estimate.seconds)} for ${options.tasks.length} task${options.tasks.length > 1 ? 's' : ''} × ${options.gan ? 2 : 1} Fa-Net runs${options.transfer ? ' + 4 transfer runs' : ''} × ${options.seeds} seed${options.seeds > 1 ? 's' : ''} ` +
      `(${work.fanetSteps} Fa-Net steps per seed at ${(1000 * costs.fanetStep).toFixed(0)} ms, ${work.ganSteps} FaPE-GAN steps at ${(1000 * costs.ganStep).toFixed(0)} ms, ${work.renders64 + work.renders256} faces to render; measured just now)`);
    console.log(`writing to ${out}\n`);
    makeFolders(out, `--out ${out}`);

    const written: string[] = [];
    const write = (name: string, bytes: Uint8Array | string) => {
      const path = join(out, name);
      writeFileAtomic(path, bytes);
      written.push(path);
    };
    const figures: Record<string, string> = {};
    const transferFiles = { fer2013: 'fer2013/fer2013.csv', jaffe: 'jaffe' };
    // The synthetic faces render on every core (idle workers do not hold the process open).
    const renderPool = new SynthWorkerPool();
    const result = await runPaperDemo(options, {
      synthRenderer: workerSynthRenderer(renderPool),
      progress: terminalProgress,
      log: (line) => console.log(line),
      image: (name, image) => write(`${name}.png`, encodePng(image)),
      // FaPE-GAN sample grids, enlarged with their columns named (.png + .svg).
      png: async (name, png) => {
        const paths = await writePlot(join(out, 'figures', name), sampleGridSpec(decodeImage(png, name)));
        written.push(paths.svg, paths.png);
        figures[name] = `figures/${name}.png`;
      },
      fanetEpoch: (run, record) => {
        console.log(`  ${run} epoch ${record.epoch}: loss ${record.trainLoss.toFixed(3)}, train ${(100 * record.trainAccuracy).toFixed(1)} %, test ${record.evalAccuracy === undefined ? '-' : (100 * record.evalAccuracy).toFixed(1)} % (${record.trainImagesPerSecond.toFixed(0)} img/s)`);
      },
      openTransferSets: async (sets) => {
        write(transferFiles.fer2013, sets.fer2013.csv);
        for (const file of sets.jaffe.files) writeFileAtomic(join(out, transferFiles.jaffe, file.path), file.bytes);
        written.push(join(out, transferFiles.jaffe, '{train,val,test}/*.tiff'));
        // Read back through the loaders a user's own FER2013 / JAFFE download goes through.
        return { fer2013: await openDataset(join(out, transferFiles.fer2013), { format: 'fer2013' }), jaffe: await openDataset(join(out, transferFiles.jaffe), { format: 'jaffe' }) };
      },
    }).finally(() => renderPool.close());

    const specs = charts(result);
    const plotting = terminalProgress('plots', specs.length);
    for (const [k, [name, spec]] of specs.entries()) {
      const paths = await writePlot(join(out, 'figures', name), spec);
      figures[name] = relative(out, paths.svg);
      written.push(paths.svg, paths.png);
      plotting.update(k + 1);
    }
    plotting.stop();
    const commit = commitOf();
    const context = { adapter, commit, startedAt, command, figures, transferFiles: options.transfer ? transferFiles : undefined, estimateSeconds: estimate.seconds };
    write('results.json', JSON.stringify({ command, adapter, commit, startedAt, estimateSeconds: estimate.seconds, measuredCosts: costs, plannedWork: work, figures, transferFiles: context.transferFiles, ...result }, null, 2));
    write('report.md', reportMarkdown(result, context));
    console.log(`\n${formatPaperDemo(result)}\n`);
    console.log(`${minutes(result.seconds)} (estimated ${minutes(estimate.seconds)}); report: ${join(out, 'report.md')}; ${written.length} files in ${out}`);
  },
};
