// Progress in a terminal: a bar on a TTY (cli-progress), otherwise a line every 10% so that logs
// of headless runs stay readable.
import cliProgress from 'cli-progress';
import type { Progress, ProgressFactory } from '../train/progress.js';

function formatFigures(figures: Record<string, number | string>): string {
  return Object.entries(figures)
    .map(([k, v]) => `${k} ${typeof v === 'number' ? (Math.abs(v) >= 100 || Number.isInteger(v) ? v.toFixed(0) : v.toPrecision(4)) : v}`)
    .join('  ');
}

export const terminalProgress: ProgressFactory = (label: string, total: number): Progress => {
  if (process.stderr.isTTY) {
    const bar = new cliProgress.SingleBar(
      { format: `${label} [{bar}] {value}/{total} {eta_formatted} {figures}`, barsize: 24, hideCursor: true, stream: process.stderr, etaBuffer: 20 },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, 0, { figures: '' });
    return {
      update: (done, figures = {}) => bar.update(done, { figures: formatFigures(figures) }),
      log: (line) => {
        bar.stop();
        console.error(line);
        bar.start(total, 0, { figures: '' });
      },
      stop: () => bar.stop(),
    };
  }
  let nextReport = 0;
  const started = Date.now();
  return {
    update: (done, figures = {}) => {
      if (done < nextReport && done < total) return;
      nextReport = done + Math.max(1, Math.ceil(total / 10));
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      console.error(`${label} ${done}/${total} (${seconds} s) ${formatFigures(figures)}`);
    },
    log: (line) => console.error(line),
    stop: () => {},
  };
};
