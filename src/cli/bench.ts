// `webfer bench`: the kernel micro-benchmarks as one table (and JSON), with --step whole
// training steps (images/s, each kernel family's share, dispatches and submits per step), or with
// --compare tfjs the same work through TensorFlow.js WebGPU on the same device, side by side
// (--record appends that table to the checkout's bench/RESULTS.md).
import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CommandModule } from 'yargs';
import { gpu } from '../gpu/index.js';
import { formatBytes } from './format.js';
import { BENCH_SUITES, type BenchRow } from '../bench/index.js';
import { benchSteps, type StepResult } from '../bench/step.js';
import { PRECISIONS, type Precision } from '../train/precision.js';
import { COMPARE_ROW_GROUPS, benchCompareTfjs, type CompareRowGroup, type CompareResult, type CompareRow, type LibraryFigures } from '../bench/tfjs.js';
import type { AdapterDescription } from '../gpu/index.js';
import { writeFileAtomic } from '../node/atomic-write.js';
import { initWithAutotuneCache } from '../node/autotune-cache.js';
import { checkOutputFile, checkPositiveInteger } from './option-checks.js';

interface BenchArgs {
  quick: boolean;
  only?: string[];
  json?: string;
  step: boolean;
  steps?: number;
  precision?: Precision[];
  compare?: string;
  rows?: CompareRowGroup[];
  record: boolean;
}

/** The package root: bench/RESULTS.md lives there in a git checkout (dist/cli/ and src/cli/ are two levels down). */
const packageRoot = fileURLToPath(new URL('../..', import.meta.url));
const resultsPath = join(packageRoot, 'bench', 'RESULTS.md');

function formatRow(row: BenchRow): string {
  const rate = row.gflops !== undefined ? `${row.gflops.toFixed(2)} GFLOP/s` : row.gbps !== undefined ? `${row.gbps.toFixed(2)} GB/s` : '';
  const time = row.ms < 1 ? `${(row.ms * 1000).toFixed(1)} µs` : `${row.ms.toFixed(2)} ms`;
  return `${row.name.padEnd(44)} ${row.shape.padEnd(34)} ${time.padStart(12)} ${rate.padStart(16)}${row.note ? `  ${row.note}` : ''}`;
}

function formatStep(r: StepResult): string {
  const time = r.msPerStep >= 1000 ? `${(r.msPerStep / 1000).toFixed(2)} s` : `${r.msPerStep.toFixed(1)} ms`;
  const lines = [
    `${r.name}: ${r.workload}, batch ${r.batch}`,
    `  ${time} per step (mean of ${r.steps}), ${r.imagesPerSecond.toFixed(r.imagesPerSecond < 10 ? 2 : 1)} images/s, ` +
      `${r.dispatchesPerStep} dispatches and ${r.submitsPerStep} submit${r.submitsPerStep === 1 ? '' : 's'} per step, ${formatBytes(r.stepBytes)} of GPU memory at the step's peak`,
  ];
  if (r.gpuMsPerStep !== undefined) {
    lines.push(`  GPU time of a profiled step ${r.gpuMsPerStep.toFixed(1)} ms: ` + r.families.map((f) => `${f.family} ${(100 * f.share).toFixed(1)} %`).join(', '));
  } else {
    lines.push('  (no timestamp queries on this adapter: no per-family shares)');
  }
  return lines.join('\n');
}

function formatTime(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : ms < 1 ? `${(ms * 1000).toFixed(1)} µs` : `${ms.toFixed(2)} ms`;
}

function formatFigures(f: LibraryFigures): string {
  const rate = f.gflops !== undefined ? `${f.gflops.toFixed(2)} GFLOP/s` : f.imagesPerSecond !== undefined ? `${f.imagesPerSecond.toFixed(f.imagesPerSecond < 10 ? 2 : 1)} images/s` : '';
  return `${formatTime(f.ms)}, ${rate}`;
}

function formatCompareRow(r: CompareRow): string {
  const agreement = `${r.agree ? 'agree' : 'DISAGREE'} ${r.difference.toExponential(1)}`;
  return `${r.name.padEnd(34)} ${r.shape.padEnd(30)} webfer ${formatFigures(r.webfer).padEnd(26)} TF.js ${formatFigures(r.tfjs).padEnd(26)} ${r.ratio.toFixed(2).padStart(6)}×  ${agreement}`;
}

function dawnVersion(): string | undefined {
  try {
    return (JSON.parse(readFileSync(join(packageRoot, 'node_modules', 'webgpu', 'package.json'), 'utf8')) as { version?: string }).version;
  } catch {
    return undefined;
  }
}

/** The comparison as a dated bench/RESULTS.md section. */
function compareMarkdown(result: CompareResult, meta: { date: Date; commit?: string; adapter: AdapterDescription; quick: boolean; rows?: string[]; load: number[] }): string {
  const { adapter } = meta;
  const dawn = dawnVersion();
  const lines = [
    '',
    `## ${meta.date.toISOString().slice(0, 16).replace('T', ' ')} UTC — webfer vs TensorFlow.js ${result.tfjsVersion} WebGPU, side by side${meta.quick ? ' (quick shapes)' : ''}`,
    '',
    `\`webfer bench --compare tfjs${meta.quick ? ' --quick' : ''}${meta.rows ? ` --rows ${meta.rows.join(' ')}` : ''} --record\`, commit ${meta.commit ?? 'unknown'}; ` +
      `${adapter.description || adapter.vendor} (${adapter.isSoftware ? 'software' : 'hardware'}${dawn ? `, Dawn \`webgpu\` ${dawn}` : ''}); ` +
      `${cpus().length} cores, load average ${meta.load.map((l) => l.toFixed(1)).join(' / ')} at the end.`,
    'Both libraries on one WebGPU device in one process, TF.js in its native NHWC layout. Times are wall clock, synced (webfer `sync()`, ' +
      'TF.js its queue\'s `onSubmittedWorkDone`), after a warm-up: for matmul and conv the best of a few rounds that alternate one call ' +
      'of each library, for the step the mean of the timed steps; ratio = TF.js time / webfer time. ' +
      `Each row first ran the same inputs through both: difference = max |webfer − TF.js| / max |TF.js| (tolerance ${result.tolerance}; ` +
      `${result.stepTolerance} for the whole step, whose max decisions on values within float32 rounding of a tie can go either way when the libraries sum in different orders).`,
    '',
    '| workload | shape | webfer | TF.js | ratio | difference |',
    '|---|---|---|---|---|---|',
    ...result.rows.map((r) => `| ${r.name} | ${r.shape} | ${formatFigures(r.webfer)} | ${formatFigures(r.tfjs)} | ${r.ratio.toFixed(2)}× | ${r.difference.toExponential(1)} |`),
    '',
  ];
  return lines.join('\n');
}

/** The checkout's commit when run from a git clone, else undefined. */
function gitCommit(): string | undefined {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: packageRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() || undefined;
  } catch {
    return undefined;
  }
}

export const benchCommand: CommandModule<object, BenchArgs> = {
  command: 'bench',
  describe: 'Kernel micro-benchmarks (dispatch/submit/read-back costs, matmul, conv, norm, pool, optimizers), whole training steps with --step, or side by side with TensorFlow.js with --compare tfjs',
  builder: (y) =>
    y
      .option('quick', { type: 'boolean', default: false, describe: 'small shapes (software adapters; seconds)' })
      .option('only', { type: 'array', string: true, choices: Object.keys(BENCH_SUITES), describe: 'run these kernel suites only' })
      .option('step', { type: 'boolean', default: false, describe: 'whole training steps: LightCNN-9 at paper scale and demo sizes, FaPE-GAN D + G' })
      .option('precision', { type: 'array', string: true, choices: PRECISIONS, describe: 'with --step: the precisions to train each step in, one after the other (f16: float16 operands, loss scaling; default f32)' })
      .option('steps', { type: 'number', describe: 'timed steps per workload with --step (default 2 on software adapters, 10 on GPUs) or for the --compare training step (default 1 / 5)' })
      .option('compare', { type: 'string', choices: ['tfjs'], describe: 'matmul, every LightCNN-9 and FaPE-GAN conv (forward, input grad, weight grad) and the LightCNN-9 training step through webfer and TensorFlow.js WebGPU on the same device, with the ratio per row (needs the dev dependencies: npm install)' })
      .option('rows', { type: 'array', string: true, choices: COMPARE_ROW_GROUPS, describe: 'with --compare: run only these groups of rows' })
      .option('record', { type: 'boolean', default: false, describe: "with --compare: append the table, dated, with adapter and commit, to the checkout's bench/RESULTS.md" })
      .option('json', { type: 'string', describe: 'also write the results as JSON to this file' })
      .check((argv) => {
        if (argv.step && argv.only) throw new Error('--only picks kernel suites and --step runs whole training steps: pass one of them');
        if (argv.compare !== undefined && (argv.step || argv.only)) throw new Error(`--compare runs its own rows: drop ${argv.step ? '--step' : '--only'}`);
        if (argv.record && argv.compare === undefined) throw new Error('--record appends a --compare table to bench/RESULTS.md: add --compare tfjs (use --json FILE for other runs)');
        if (argv.rows && argv.compare === undefined) throw new Error('--rows picks the groups of --compare rows: add --compare tfjs (or use --only for kernel suites)');
        if (argv.precision && !argv.step) throw new Error('--precision applies to --step: add --step');
        if (argv.steps !== undefined && !argv.step && argv.compare === undefined) throw new Error('--steps applies to --step and --compare only: add one or drop --steps');
        if (argv.steps !== undefined) checkPositiveInteger(argv.steps, '--steps', 'e.g. --steps 5');
        if (argv.json !== undefined) checkOutputFile(argv.json, '--json', 'bench.json');
        return true;
      }) as never,
  handler: async (argv) => {
    await initWithAutotuneCache();
    const info = gpu().info;
    const adapter = `${info.description || info.vendor} (${info.isSoftware ? 'software' : 'hardware'})`;
    if (argv.compare !== undefined) {
      if (argv.record && !existsSync(resultsPath)) throw new Error(`--record appends to ${resultsPath}, which does not exist: run from a webfer git checkout, or drop --record and use --json FILE`);
      console.log(`webfer bench --compare tfjs on ${adapter}${argv.quick ? ', quick shapes' : ''}: ratio = TF.js time / webfer time\n`);
      const commit = gitCommit(); // the code measured, before anyone commits during a long run
      const result = await benchCompareTfjs((r) => console.log(formatCompareRow(r)), { quick: argv.quick, steps: argv.steps, rows: argv.rows });
      const date = new Date();
      const meta = { date, commit, adapter: info, quick: argv.quick, rows: argv.rows, load: loadavg() };
      if (argv.json) writeFileAtomic(argv.json, JSON.stringify({ date: date.toISOString(), commit: meta.commit, adapter: info, quick: argv.quick, loadAverage: meta.load, ...result }, null, 2));
      const disagreeing = result.rows.filter((r) => !r.agree);
      if (disagreeing.length > 0) {
        throw new Error(
          `TF.js and webfer disagree beyond the tolerance on ${disagreeing.map((r) => `${r.name} (${r.difference.toExponential(1)} > ${r.tolerance})`).join(', ')}: ` +
            `those times are not of the same computation${argv.record ? ', so nothing was recorded' : ''}; the rows are in the output above${argv.json ? ` and in ${argv.json}` : ''}`,
        );
      }
      if (argv.record) {
        appendFileSync(resultsPath, compareMarkdown(result, meta));
        console.log(`\nappended to ${resultsPath}`);
      }
      return;
    }
    if (argv.step) {
      console.log(`webfer bench --step on ${adapter}${argv.quick ? ', quick sizes' : ''}\n`);
      const precisions = [...new Set<Precision>(argv.precision ?? ['f32'])];
      const results = await benchSteps((r) => console.log(`${formatStep(r)}\n`), { quick: argv.quick, steps: argv.steps, precisions });
      if (argv.json) writeFileAtomic(argv.json, JSON.stringify({ date: new Date().toISOString(), commit: gitCommit(), adapter: info, quick: argv.quick, steps: results }, null, 2));
      return;
    }
    console.log(`webfer bench on ${adapter}${argv.quick ? ', quick shapes' : ''}\n`);
    const rows: (BenchRow & { suite: string })[] = [];
    for (const [suite, run] of Object.entries(BENCH_SUITES)) {
      if (argv.only && !argv.only.includes(suite)) continue;
      await run((row) => {
        rows.push({ suite, ...row });
        console.log(formatRow(row));
      }, { quick: argv.quick });
    }
    if (argv.json) writeFileAtomic(argv.json, JSON.stringify({ adapter: info, quick: argv.quick, rows }, null, 2));
  },
};
