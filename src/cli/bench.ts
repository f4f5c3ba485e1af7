// `webfer bench`: the kernel micro-benchmarks as one table (and JSON).
import type { CommandModule } from 'yargs';
import { gpu, init } from '../gpu/index.js';
import { BENCH_SUITES, type BenchRow } from '../bench/index.js';
import { writeFileAtomic } from '../node/checkpoint.js';

interface BenchArgs {
  quick: boolean;
  only?: string[];
  json?: string;
}

function formatRow(row: BenchRow): string {
  const rate = row.gflops !== undefined ? `${row.gflops.toFixed(2)} GFLOP/s` : row.gbps !== undefined ? `${row.gbps.toFixed(2)} GB/s` : '';
  const time = row.ms < 1 ? `${(row.ms * 1000).toFixed(1)} µs` : `${row.ms.toFixed(2)} ms`;
  return `${row.name.padEnd(44)} ${row.shape.padEnd(34)} ${time.padStart(12)} ${rate.padStart(16)}${row.note ? `  ${row.note}` : ''}`;
}

export const benchCommand: CommandModule<object, BenchArgs> = {
  command: 'bench',
  describe: 'Kernel micro-benchmarks: dispatch/submit/read-back costs, matmul, conv, norm, pool, optimizers',
  builder: (y) =>
    y
      .option('quick', { type: 'boolean', default: false, describe: 'small shapes (software adapters)' })
      .option('only', { type: 'array', string: true, choices: Object.keys(BENCH_SUITES), describe: 'run these suites only' })
      .option('json', { type: 'string', describe: 'also write the rows as JSON to this file' }) as never,
  handler: async (argv) => {
    await init();
    const info = gpu().info;
    console.log(`webfer bench on ${info.description || info.vendor} (${info.isSoftware ? 'software' : 'hardware'})${argv.quick ? ', quick shapes' : ''}\n`);
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
