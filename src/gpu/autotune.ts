// The optional autotuner of the kernel policy (init({ autotune: true }), or WEBFER_AUTOTUNE=1 in
// Node): the first time a launcher meets a shape class (an op and its exact sizes) it queues a
// tuning job and runs the adapter class's default; tune() then times every candidate variant on
// scratch inputs of that shape and keeps the fastest for the rest of the session. Choices are plain
// data (choices() / restore()), so a host can keep them per adapter across runs.
// Launch sites ask KernelPolicy.choose(); overrides set with policy.set() / with() still win, so a
// forced variant stays forced.

/** The op on scratch inputs of the queued shape: run() records it once with whatever variant is in force; dispose() frees the inputs. */
export interface TuningRun {
  run(): void;
  dispose(): void;
}

/** One tuned shape class: the variant kept and every candidate's time. */
export interface TuningRecord {
  key: string;
  shapeClass: string;
  chosen: string;
  /** Milliseconds per run of each candidate (best of the timed rounds). */
  timesMs: Record<string, number>;
}

/** Times `repeats` runs of a recorded op, synced: milliseconds in all. */
export type RunTimer = (run: () => void, repeats: number) => Promise<number>;

interface PendingJob {
  key: string;
  shapeClass: string;
  candidates: readonly string[];
  makeRun: () => TuningRun;
}

/** Aim for timed rounds of at least this long, so submit and sync costs do not decide. */
const ROUND_MS = 20;
const MAX_REPEATS = 64;
const ROUNDS = 2;

const idOf = (key: string, shapeClass: string) => `${key}|${shapeClass}`;

export class Autotuner {
  enabled: boolean;
  /** Called with every choice after each tune() that kept something new (a host persists them). */
  onTuned: ((choices: Record<string, string>) => void | Promise<void>) | undefined;
  private readonly chosen = new Map<string, string>();
  private readonly pending = new Map<string, PendingJob>();
  private tuning = false;

  constructor(enabled = false) {
    this.enabled = enabled;
  }

  /** Whether choices can differ from the defaults: tuning is on, or choices were restored. */
  get active(): boolean {
    return this.enabled || this.chosen.size > 0;
  }

  /** The variant tuned for this shape class, if any. */
  lookup(key: string, shapeClass: string): string | undefined {
    return this.chosen.get(idOf(key, shapeClass));
  }

  /**
   * Queues a shape class for tuning: only when enabled, with two or more candidates, not tuned
   * yet and not being tuned now (tune()'s own runs pass through the launchers again).
   */
  request(key: string, shapeClass: string, candidates: readonly string[], makeRun: () => TuningRun): void {
    if (!this.enabled || this.tuning || candidates.length < 2) return;
    const id = idOf(key, shapeClass);
    if (this.chosen.has(id) || this.pending.has(id)) return;
    this.pending.set(id, { key, shapeClass, candidates, makeRun });
  }

  /** Shape classes queued and not tuned yet. */
  get pendingCount(): number {
    return this.pending.size;
  }

  /**
   * Times every queued shape class's candidates and keeps the fastest of each. `force(key, variant)`
   * puts a variant in force for the duration of one run (and returns the undo).
   */
  async tune(force: (key: string, variant: string) => () => void, time: RunTimer): Promise<TuningRecord[]> {
    if (this.tuning) throw new Error('autotune: tune() is already running');
    this.tuning = true;
    const records: TuningRecord[] = [];
    try {
      for (const [id, job] of [...this.pending]) {
        const scratch = job.makeRun();
        const timed = async (variant: string, repeats: number) => {
          const undo = force(job.key, variant);
          try {
            return await time(scratch.run, repeats);
          } finally {
            undo();
          }
        };
        const timesMs: Record<string, number> = {};
        try {
          for (const variant of job.candidates) {
            // The first run compiles the pipeline and sizes the rounds.
            const first = await timed(variant, 1);
            const repeats = Math.max(1, Math.min(MAX_REPEATS, Math.ceil(ROUND_MS / Math.max(first, 1e-3))));
            let best = Infinity;
            for (let round = 0; round < ROUNDS; round++) best = Math.min(best, (await timed(variant, repeats)) / repeats);
            timesMs[variant] = best;
          }
        } finally {
          scratch.dispose();
        }
        const chosen = job.candidates.reduce((a, b) => (timesMs[b]! < timesMs[a]! ? b : a));
        this.chosen.set(id, chosen);
        this.pending.delete(id);
        records.push({ key: job.key, shapeClass: job.shapeClass, chosen, timesMs });
      }
    } finally {
      this.tuning = false;
    }
    if (records.length > 0) await this.onTuned?.(this.choices());
    return records;
  }

  /** Every tuned choice, keyed "key|shapeClass". */
  choices(): Record<string, string> {
    return Object.fromEntries(this.chosen);
  }

  /**
   * Takes choices kept from an earlier session; entries whose variant is not in `allowed` for its
   * key (a kernel removed since) are skipped and counted.
   */
  restore(choices: Record<string, string>, allowed: (key: string, variant: string) => boolean): { restored: number; skipped: number } {
    let restored = 0;
    let skipped = 0;
    for (const [id, variant] of Object.entries(choices)) {
      const key = id.slice(0, id.indexOf('|'));
      if (id.indexOf('|') > 0 && typeof variant === 'string' && allowed(key, variant)) {
        this.chosen.set(id, variant);
        this.pending.delete(id);
        restored++;
      } else {
        skipped++;
      }
    }
    return { restored, skipped };
  }

  /** Forgets every choice and queued job. */
  clear(): void {
    this.chosen.clear();
    this.pending.clear();
  }
}
