// `webfer bench`: the kernel micro-benchmarks as one table (and JSON), or with --step whole
// training steps (images/s, each kernel family's share, dispatches and submits per step).
import { execFileSync } from 'node:child_process';
import type { CommandModule } from 'yargs';
import { gpu, init } from '../gpu/index.js';
import { BENCH_SUITES, type BenchRow } from '../bench/index.js';
import { benchSteps, type StepResult } from '../bench/step.js';
import { writeFileAtomic } from '../node/checkpoint.js';

interface BenchArgs {
  quick: boolean;
  only?: string[];
  json?: string;
  step: boolean;
  steps?: number;
}

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
      `${r.dispatchesPerStep} dispatches and ${r.submitsPerStep} submit${r.submitsPerStep === 1 ? '' : 's'} per step`,
  ];
  if (r.gpuMsPerStep !== undefined) {
    lines.push(`  GPU time of a profiled step ${r.gpuMsPerStep.toFixed(1)} ms: ` + r.families.map((f) => `${f.family} ${(100 * f.share).toFixed(1)} %`).join(', '));
  } else {
    lines.push('  (no timestamp queries on this adapter: no per-family shares)');
  }
  return lines.join('\n');
}

/** The checkout's commit when run from a git clone, else undefined. */
function gitCommit(): string | undefined {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() || undefined;
  } catch {
    return undefined;
  }
}

export const benchCommand: CommandModule<object, BenchArgs> = {
  command: 'bench',
  describe: 'Kernel micro-benchmarks (dispatch/submit/read-back costs, matmul, conv, norm, pool, optimizers), or whole training steps with --step',
  builder: (y) =>
    y
      .option('quick', { type: 'boolean', default: false, describe: 'small shapes (software adapters; seconds)' })
      .option('only', { type: 'array', string: true, choices: Object.keys(BENCH_SUITES), describe: 'run these kernel suites only' })
      .option('step', { type: 'boolean', default: false, describe: 'whole training steps: LightCNN-9 at paper scale and demo sizes, FaPE-GAN D + G' })
      .option('steps', { type: 'number', describe: 'timed steps per workload with --step (default 2 on software adapters, 10 on GPUs)' })
      .option('json', { type: 'string', describe: 'also write the results as JSON to this file' })
      .check((argv) => {
        if (argv.step && argv.only) throw new Error('--only picks kernel suites and --step runs whole training steps: pass one of them');
        if (argv.steps !== undefined && !argv.step) throw new Error('--steps applies to --step only: add --step or drop --steps');
        if (argv.steps !== undefined && !(Number.isInteger(argv.steps) && argv.steps >= 1)) throw new Error(`--steps must be a positive integer, got ${argv.steps}`);
        return true;
      }) as never,
  handler: async (argv) => {
    await init();
    const info = gpu().info;
    const adapter = `${info.description || info.vendor} (${info.isSoftware ? 'software' : 'hardware'})`;
    if (argv.step) {
      console.log(`webfer bench --step on ${adapter}${argv.quick ? ', quick sizes' : ''}\n`);
      const results = await benchSteps((r) => console.log(`${formatStep(r)}\n`), { quick: argv.quick, steps: argv.steps });
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
