/**
 * What the data commands (and train / eval / gan-train) say about bad input: every skipped row or
 * image is counted and the first few are named, at load time and while batches are loaded.
 */
import type { BatchLoader } from '../data/batch-loader.js';
import type { Dataset } from '../data/dataset.js';
import type { DataProblem } from '../data/errors.js';

/** How many skipped items are named before the rest are only counted. */
export const NAMED_PROBLEMS = 5;

export const allowOutsidePathsOption = {
  type: 'boolean',
  default: false,
  describe: 'let index paths point outside the dataset folder (../ or absolute paths); only for an index you trust',
} as const;

/**
 * A problem's text as shown once it was skipped: its hint ends with "or pass --skip-bad" (advice for the
 * run that stopped on it), which reads as wrong where --skip-bad is already on.
 */
export function withoutSkipAdvice(message: string): string {
  return message.replace(/,? \(?or pass --skip-bad(?: to leave (?:it|them) out)?\)?/g, '');
}

/** "skipped 3 bad row(s)/image(s) in SOURCE:" and the first few, one per line, on stderr. */
export function reportProblems(what: string, where: string, problems: readonly DataProblem[], log: (line: string) => void = console.error): void {
  if (problems.length === 0) return;
  log(`skipped ${problems.length} ${what} in ${where} (--skip-bad):`);
  for (const problem of problems.slice(0, NAMED_PROBLEMS)) log(`  ${withoutSkipAdvice(problem.message)}`);
  if (problems.length > NAMED_PROBLEMS) log(`  … and ${problems.length - NAMED_PROBLEMS} more (\`webfer inspect\` lists them all)`);
}

/** The rows, files or folders a dataset's loader skipped while listing it. */
export function reportDatasetProblems(dataset: Dataset, log?: (line: string) => void): void {
  reportProblems('bad row(s)/file(s)', dataset.source, dataset.problems, log);
}

/**
 * Says so, as it happens, when a batch loader skips an unreadable image (the loaders decode
 * lazily, so these turn up during training or evaluation); `summary()` gives the totals.
 */
export class SkipReporter {
  private readonly counts = new Map<string, number>();
  private named = 0;

  constructor(private readonly log: (line: string) => void = console.error) {}

  watch(part: string, loader: BatchLoader | undefined): void {
    if (!loader) return;
    this.counts.set(part, 0);
    loader.onProblem = (problem) => {
      this.counts.set(part, (this.counts.get(part) ?? 0) + 1);
      if (this.named++ < NAMED_PROBLEMS) this.log(`skipped an unreadable image (${part}, --skip-bad): ${withoutSkipAdvice(problem.message)}`);
      else if (this.named === NAMED_PROBLEMS + 1) this.log('more unreadable images skipped: counted at the end');
    };
  }

  /** "skipped N unreadable image(s): train 2, test 1", or undefined when none were. */
  summary(): string | undefined {
    const parts = [...this.counts].filter(([, n]) => n > 0);
    if (parts.length === 0) return undefined;
    const total = parts.reduce((sum, [, n]) => sum + n, 0);
    return `skipped ${total} unreadable image(s) (--skip-bad): ${parts.map(([part, n]) => `${part} ${n}`).join(', ')}; \`webfer inspect\` lists them`;
  }
}

/**
 * A classifier trained on one class reaches 100 % accuracy and loss 0 while learning nothing:
 * refuse, naming the class.
 */
export function assertTrainableClasses(train: Dataset, where: string): void {
  const present = [...new Set(train.samples.map((sample) => sample.label))];
  if (present.length >= 2) return;
  const name = present.length === 1 ? `"${train.classes[present[0]!] ?? present[0]}"` : 'none';
  throw new Error(`${where}: the ${train.samples.length} training image(s) are all of one class (${name}); a classifier needs images of at least 2 classes: check the expression/label column or the class folders`);
}
