// The run's overall progress and time left. Each stage's work is counted in units (images
// rendered, optimizer steps, evaluation batches) with a prior cost per unit; the fraction done is
// the prior cost done over the prior cost planned, and the time left scales the prior cost still
// to do by how fast the work done so far actually went (seconds per prior unit measured).
export interface WorkItem {
  /** Units planned, e.g. steps. */
  units: number;
  /** Prior cost of one unit in arbitrary units; only ratios between items matter. */
  cost: number;
}

export class RunEstimate {
  private readonly done: number[];
  private readonly started: number;

  constructor(private readonly items: readonly WorkItem[], now: number = performance.now()) {
    for (const item of items) {
      if (!(Number.isFinite(item.units) && item.units >= 0 && Number.isFinite(item.cost) && item.cost > 0)) {
        throw new Error(`RunEstimate: units must be ≥ 0 and cost > 0, got ${JSON.stringify(item)}`);
      }
    }
    this.done = items.map(() => 0);
    this.started = now;
  }

  /** Units of item `index` done so far (clamped to its plan). */
  set(index: number, units: number): void {
    const item = this.items[index];
    if (!item) throw new Error(`RunEstimate: no work item ${index} (there are ${this.items.length})`);
    this.done[index] = Math.min(item.units, Math.max(0, units));
  }

  /** Marks item `index` complete, whatever its plan said (a stage that stopped early or had less to do). */
  finish(index: number): void {
    this.set(index, this.items[index]!.units);
  }

  private totals(): { planned: number; done: number } {
    let planned = 0, done = 0;
    this.items.forEach((item, i) => { planned += item.units * item.cost; done += this.done[i]! * item.cost; });
    return { planned, done };
  }

  /** Share of the planned work done, 0..1. */
  fraction(): number {
    const { planned, done } = this.totals();
    return planned === 0 ? 1 : done / planned;
  }

  /** Seconds left at the pace so far; undefined until some work is done. */
  secondsLeft(now: number = performance.now()): number | undefined {
    const { planned, done } = this.totals();
    if (done <= 0) return undefined;
    const secondsPerCost = (now - this.started) / 1000 / done;
    return (planned - done) * secondsPerCost;
  }
}

/** "about 3 min", "about 40 s", "under 5 s". */
export function formatSecondsLeft(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds)) return 'estimating time left…';
  if (seconds < 5) return 'under 5 s left';
  if (seconds < 90) return `about ${Math.round(seconds / 5) * 5} s left`;
  if (seconds < 5400) return `about ${Math.round(seconds / 60)} min left`;
  return `about ${(seconds / 3600).toFixed(1)} h left`;
}
