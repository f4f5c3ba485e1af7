// Classification metrics: accuracy, per-class accuracy, confusion matrix, mean loss. Their charts
// are Vega-Lite specs in src/plots/specs.ts. Browser-safe.

/** Counts of (true class, predicted class) pairs. */
export class ConfusionMatrix {
  /** counts[t * classes + p]: samples of class t predicted as p. */
  readonly counts: Float64Array;
  lossSum = 0;

  constructor(readonly classes: number) {
    if (!(Number.isInteger(classes) && classes >= 1)) throw new Error(`ConfusionMatrix: classes must be a positive integer, got ${classes}`);
    this.counts = new Float64Array(classes * classes);
  }

  /** Adds a batch of predictions against labels (and optionally the batch's summed loss). */
  add(predictions: ArrayLike<number>, labels: ArrayLike<number>, lossSum = 0): void {
    if (predictions.length !== labels.length) throw new Error(`ConfusionMatrix.add: ${predictions.length} predictions for ${labels.length} labels`);
    for (let i = 0; i < labels.length; i++) {
      const t = labels[i], p = predictions[i];
      if (!(t >= 0 && t < this.classes && p >= 0 && p < this.classes)) throw new Error(`ConfusionMatrix.add: label ${t} / prediction ${p} outside [0, ${this.classes - 1}]`);
      this.counts[t * this.classes + p]++;
    }
    this.lossSum += lossSum;
  }

  get total(): number {
    return this.counts.reduce((a, b) => a + b, 0);
  }

  get correct(): number {
    let n = 0;
    for (let c = 0; c < this.classes; c++) n += this.counts[c * this.classes + c];
    return n;
  }

  /** Row c: how class c was predicted. */
  row(c: number): number[] {
    return Array.from(this.counts.subarray(c * this.classes, (c + 1) * this.classes));
  }

  report(classNames?: readonly string[]): ClassificationReport {
    const count = this.total;
    const perClassCount: number[] = [];
    const perClassAccuracy: (number | null)[] = [];
    for (let c = 0; c < this.classes; c++) {
      const n = this.row(c).reduce((a, b) => a + b, 0);
      perClassCount.push(n);
      perClassAccuracy.push(n > 0 ? this.counts[c * this.classes + c] / n : null);
    }
    const present = perClassAccuracy.filter((a): a is number => a !== null);
    return {
      count,
      accuracy: count > 0 ? this.correct / count : 0,
      meanLoss: count > 0 ? this.lossSum / count : 0,
      meanClassAccuracy: present.length > 0 ? present.reduce((a, b) => a + b, 0) / present.length : 0,
      perClassAccuracy,
      perClassCount,
      confusion: Array.from({ length: this.classes }, (_, c) => this.row(c)),
      classes: classNames ? [...classNames] : Array.from({ length: this.classes }, (_, c) => String(c)),
    };
  }
}

export interface ClassificationReport {
  count: number;
  /** Fraction correct over all samples. */
  accuracy: number;
  /** Mean cross-entropy per sample. */
  meanLoss: number;
  /** Mean of the per-class accuracies of classes present. */
  meanClassAccuracy: number;
  /** null for a class with no samples. */
  perClassAccuracy: (number | null)[];
  perClassCount: number[];
  /** confusion[true][predicted]. */
  confusion: number[][];
  classes: string[];
}

/** Text table of per-class accuracy (classes with samples only). */
export function formatReport(report: ClassificationReport): string {
  const lines = [`accuracy ${(100 * report.accuracy).toFixed(2)}% of ${report.count} · mean class accuracy ${(100 * report.meanClassAccuracy).toFixed(2)}% · mean loss ${report.meanLoss.toFixed(4)}`];
  const width = Math.max(5, ...report.classes.map((c) => c.length));
  report.perClassAccuracy.forEach((accuracy, c) => {
    if (accuracy === null) return;
    lines.push(`  ${report.classes[c]!.padEnd(width)}  ${(100 * accuracy).toFixed(1).padStart(5)}%  (${report.perClassCount[c]})`);
  });
  return lines.join('\n');
}
