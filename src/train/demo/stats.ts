// Summaries of repeated runs (one accuracy per seed): mean, sample standard deviation, and
// whether a difference of means stands out of the runs' spread. Browser-safe.

export interface SeedSummary {
  /** One value per seed, in seed order. */
  values: number[];
  mean: number;
  /** Sample standard deviation (n − 1); null with a single seed. */
  std: number | null;
}

export function summarize(values: readonly number[]): SeedSummary {
  if (values.length === 0) throw new Error('summarize: no values');
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const std = values.length < 2 ? null : Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (values.length - 1));
  return { values: [...values], mean, std };
}

export interface Comparison {
  /** mean(b) − mean(a). */
  difference: number;
  /** sqrt(std_a² + std_b²); null with a single seed. */
  spread: number | null;
  /** |difference| > spread; null when there is no spread to compare with. */
  exceedsSpread: boolean | null;
}

/** How `b` (the method) compares with `a` (the baseline). */
export function compare(a: SeedSummary, b: SeedSummary): Comparison {
  const difference = b.mean - a.mean;
  if (a.std === null || b.std === null) return { difference, spread: null, exceedsSpread: null };
  const spread = Math.sqrt(a.std ** 2 + b.std ** 2);
  return { difference, spread, exceedsSpread: Math.abs(difference) > spread };
}
