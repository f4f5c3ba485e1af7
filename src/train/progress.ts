// Progress reporting for long work, independent of where it runs: the CLI shows a bar on a TTY
// (src/node/progress.ts), a browser page draws its own, tests pass nothing.
export interface Progress {
  /** Advances to `done` of `total` units, with named figures to show (loss, accuracy, ...). */
  update(done: number, figures?: Record<string, number | string>): void;
  /** Prints a line above the bar (epoch summaries). */
  log(line: string): void;
  stop(): void;
}

/** `start`: units already done when the work begins (an epoch resumed part-way), so that estimates count only what is timed. */
export type ProgressFactory = (label: string, total: number, start?: number) => Progress;

export const silentProgress: ProgressFactory = () => ({ update() {}, log() {}, stop() {} });
