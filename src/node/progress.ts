// Progress in a terminal: a bar on a TTY (cli-progress), otherwise a line every 10% so that logs
// of headless runs stay readable; both with the time left, estimated from the units done here
// (an epoch resumed at batch k starts at k: counting those k as done in no time made the
// estimate k times too short).
import cliProgress from 'cli-progress';
import type { Progress, ProgressFactory } from '../train/progress.js';

function formatFigures(figures: Record<string, number | string>): string {
  return Object.entries(figures)
    .map(([k, v]) => `${k} ${typeof v === 'number' ? (Math.abs(v) >= 100 || Number.isInteger(v) ? v.toFixed(0) : v.toPrecision(4)) : v}`)
    .join('  ');
}

/** Seconds as "42 s", "3 min 05 s" or "2 h 07 min". */
function formatSeconds(seconds: number): string {
  const s = Math.ceil(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
}

export const terminalProgress: ProgressFactory = (label: string, total: number, start = 0): Progress => {
  if (process.stderr.isTTY) {
    const bar = new cliProgress.SingleBar(
      { format: `${label} [{bar}] {value}/{total} {eta_formatted} {figures}`, barsize: 24, hideCursor: true, stream: process.stderr, etaBuffer: 20 },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, start, { figures: '' });
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
      const seconds = (Date.now() - started) / 1000;
      const left = done > start && done < total ? `, ${formatSeconds((seconds / (done - start)) * (total - done))} left` : '';
      console.error(`${label} ${done}/${total} (${seconds.toFixed(1)} s${left}) ${formatFigures(figures)}`);
    },
    log: (line) => console.error(line),
    stop: () => {},
  };
};
