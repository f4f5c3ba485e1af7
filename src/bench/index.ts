// The micro-benchmark suites behind `webfer bench`: runtime costs, matmul per variant, CNN ops, optimizer
// updates. Browser-safe; each suite reports rows through a callback.
import { benchRuntime, type BenchRow, type Report } from './runtime.js';
import { benchCnn } from './cnn.js';
import { benchMatmul } from './matmul.js';
import { benchOptim } from './optim.js';

export type { BenchRow, Report };

export const BENCH_SUITES: Record<string, (report: Report, options: { quick?: boolean }) => Promise<void>> = {
  runtime: benchRuntime,
  matmul: benchMatmul,
  cnn: benchCnn,
  optim: benchOptim,
};
