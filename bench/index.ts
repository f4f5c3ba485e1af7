// `npm run bench`: every micro-benchmark, one table (and JSON with --json FILE).
//   npm run bench -- [--quick] [--only runtime|cnn|optim] [--json out.json]
import { writeFileSync, existsSync } from 'node:fs';
import { init, gpu } from '../src/index.js';
import { benchRuntime, type BenchRow } from './runtime.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined;
const jsonPath = args.includes('--json') ? args[args.indexOf('--json') + 1] : undefined;

await init();
const info = gpu().info;
console.log(`webfer bench on ${info.description || info.vendor} (${info.isSoftware ? 'software' : 'hardware'})${quick ? ', quick shapes' : ''}\n`);
const rows: (BenchRow & { suite: string })[] = [];
const print = (suite: string) => (row: BenchRow) => {
  rows.push({ suite, ...row });
  const rate = row.gflops !== undefined ? `${row.gflops.toFixed(2)} GFLOP/s` : row.gbps !== undefined ? `${row.gbps.toFixed(2)} GB/s` : '';
  const time = row.ms < 1 ? `${(row.ms * 1000).toFixed(1)} µs` : `${row.ms.toFixed(2)} ms`;
  console.log(`${row.name.padEnd(44)} ${row.shape.padEnd(34)} ${time.padStart(12)} ${rate.padStart(16)}${row.note ? `  ${row.note}` : ''}`);
};

const suites: [string, string, string][] = [
  ['cnn', './cnn.js', 'benchCnn'],
  ['optim', './optim.js', 'benchOptim'],
];
if (!only || only === 'runtime') await benchRuntime(print('runtime'), { quick });
for (const [name, file, fn] of suites) {
  if (only && only !== name) continue;
  if (!existsSync(new URL(file.replace('.js', '.ts'), import.meta.url))) continue;
  const module = await import(file);
  await module[fn](print(name), { quick });
}
if (jsonPath) writeFileSync(jsonPath, JSON.stringify({ adapter: info, quick, rows }, null, 2));
gpu().destroy();
