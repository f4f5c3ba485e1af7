// Classification metrics (accuracy, per-class accuracy, confusion matrix, mean loss) and two
// small charts drawn straight into an ImageU8 (training curves, confusion matrix) so the CLI
// can write them with the data layer's PNG encoder and a browser page can show them — no canvas,
// no plotting library. Browser-safe.
import { createImage, type ImageU8 } from '../data/image.js';

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

/** 3×5 glyphs, rows top to bottom, 3 bits each (4 = left column). */
const GLYPHS: Record<string, number[]> = {
  '0': [7, 5, 5, 5, 7], '1': [2, 6, 2, 2, 7], '2': [7, 1, 7, 4, 7], '3': [7, 1, 7, 1, 7], '4': [5, 5, 7, 1, 1],
  '5': [7, 4, 7, 1, 7], '6': [7, 4, 7, 5, 7], '7': [7, 1, 1, 2, 2], '8': [7, 5, 7, 5, 7], '9': [7, 5, 7, 1, 7],
  '.': [0, 0, 0, 0, 2], '-': [0, 0, 7, 0, 0], '%': [5, 1, 2, 4, 5], ' ': [0, 0, 0, 0, 0], ':': [0, 2, 0, 2, 0],
  a: [0, 7, 1, 7, 7], c: [0, 7, 4, 4, 7], e: [7, 5, 7, 4, 7], h: [4, 4, 7, 5, 5], i: [2, 0, 2, 2, 2], l: [6, 2, 2, 2, 7],
  o: [0, 7, 5, 5, 7], p: [7, 5, 7, 4, 4], r: [0, 7, 4, 4, 4], s: [7, 4, 7, 1, 7], t: [4, 7, 4, 4, 7], u: [0, 5, 5, 5, 7],
  v: [0, 5, 5, 5, 2], n: [0, 7, 5, 5, 5], d: [1, 1, 7, 5, 7], g: [7, 5, 7, 1, 7], x: [0, 5, 2, 2, 5], y: [5, 5, 7, 1, 7],
  m: [0, 7, 7, 5, 5], b: [4, 4, 7, 5, 7], f: [3, 2, 7, 2, 2], k: [4, 5, 6, 5, 5], w: [0, 5, 5, 7, 7], q: [7, 5, 7, 1, 1],
};

type Rgb = readonly [number, number, number];

function setPixel(image: ImageU8, x: number, y: number, color: Rgb): void {
  if (x < 0 || y < 0 || x >= image.width || y >= image.height) return;
  const i = (Math.round(y) * image.width + Math.round(x)) * 3;
  image.data[i] = color[0]; image.data[i + 1] = color[1]; image.data[i + 2] = color[2];
}

/** Text at (x, y) top-left, `scale` pixels per glyph dot; unknown characters draw as blanks. */
export function drawText(image: ImageU8, text: string, x: number, y: number, color: Rgb = [0, 0, 0], scale = 2): void {
  [...text.toLowerCase()].forEach((ch, k) => {
    const rows = GLYPHS[ch] ?? GLYPHS[' ']!;
    rows.forEach((bits, r) => {
      for (let c = 0; c < 3; c++) {
        if (!(bits & (4 >> c))) continue;
        for (let dy = 0; dy < scale; dy++) for (let dx = 0; dx < scale; dx++) setPixel(image, x + (k * 4 + c) * scale + dx, y + r * scale + dy, color);
      }
    });
  });
}

function drawLine(image: ImageU8, x0: number, y0: number, x1: number, y1: number, color: Rgb): void {
  const steps = Math.max(1, Math.ceil(Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0))));
  for (let s = 0; s <= steps; s++) {
    const t = s / steps;
    const x = x0 + (x1 - x0) * t, y = y0 + (y1 - y0) * t;
    setPixel(image, x, y, color); setPixel(image, x, y + 1, color);
  }
}

function blank(width: number, height: number): ImageU8 {
  const image = createImage(width, height, 3);
  image.data.fill(255);
  return image;
}

function formatTick(value: number): string {
  if (value === 0) return '0';
  const magnitude = Math.abs(value);
  return magnitude >= 100 ? value.toFixed(0) : magnitude >= 1 ? value.toFixed(2) : value.toFixed(3);
}

export interface Series {
  name: string;
  /** y per epoch (x = 1, 2, ...); NaN / undefined skip. */
  values: (number | undefined)[];
  color: Rgb;
}

/** One panel: axes with ticks, grid, polylines, a legend. */
function drawPanel(image: ImageU8, left: number, top: number, width: number, height: number, title: string, series: Series[], fixedRange?: [number, number]): void {
  const finite = series.flatMap((s) => s.values.filter((v): v is number => v !== undefined && Number.isFinite(v)));
  let [low, high] = fixedRange ?? [Math.min(0, ...finite), Math.max(1e-9, ...finite)];
  if (high - low < 1e-9) high = low + 1;
  const epochs = Math.max(1, ...series.map((s) => s.values.length));
  const grey: Rgb = [220, 220, 220], axis: Rgb = [60, 60, 60];
  const toX = (epoch: number) => left + (epochs === 1 ? width / 2 : ((epoch - 1) / (epochs - 1)) * width);
  const toY = (value: number) => top + height - ((value - low) / (high - low)) * height;
  for (let k = 0; k <= 4; k++) {
    const value = low + ((high - low) * k) / 4, y = toY(value);
    drawLine(image, left, y, left + width, y, grey);
    drawText(image, formatTick(value), left - 6 - formatTick(value).length * 8, y - 5, axis);
  }
  const tickEvery = Math.max(1, Math.ceil(epochs / 10));
  for (let epoch = 1; epoch <= epochs; epoch += tickEvery) {
    drawLine(image, toX(epoch), top + height, toX(epoch), top + height + 4, axis);
    drawText(image, String(epoch), toX(epoch) - 4, top + height + 8, axis);
  }
  drawLine(image, left, top, left, top + height, axis);
  drawLine(image, left, top + height, left + width, top + height, axis);
  drawText(image, title, left, top - 18, axis);
  drawText(image, 'epoch', left + width / 2 - 20, top + height + 24, axis);
  series.forEach((s, k) => {
    let previous: [number, number] | undefined;
    s.values.forEach((value, i) => {
      if (value === undefined || !Number.isFinite(value)) { previous = undefined; return; }
      const point: [number, number] = [toX(i + 1), toY(value)];
      if (previous) drawLine(image, previous[0], previous[1], point[0], point[1], s.color);
      for (let dy = -2; dy <= 2; dy++) for (let dx = -2; dx <= 2; dx++) setPixel(image, point[0] + dx, point[1] + dy, s.color);
      previous = point;
    });
    const legendY = top + 6 + k * 14;
    drawLine(image, left + width - 110, legendY + 4, left + width - 95, legendY + 4, s.color);
    drawText(image, s.name, left + width - 88, legendY, s.color);
  });
}

export interface CurvePoint {
  trainLoss: number;
  trainAccuracy: number;
  evalLoss?: number;
  evalAccuracy?: number;
}

/** Loss (left) and accuracy in % (right) per epoch, training and evaluation. */
export function drawTrainingCurves(history: readonly CurvePoint[]): ImageU8 {
  const image = blank(900, 360);
  const blue: Rgb = [31, 119, 180], orange: Rgb = [230, 110, 20];
  drawPanel(image, 80, 40, 330, 260, 'loss', [
    { name: 'train', values: history.map((h) => h.trainLoss), color: blue },
    { name: 'eval', values: history.map((h) => h.evalLoss), color: orange },
  ]);
  drawPanel(image, 530, 40, 330, 260, 'accuracy %', [
    { name: 'train', values: history.map((h) => 100 * h.trainAccuracy), color: blue },
    { name: 'eval', values: history.map((h) => (h.evalAccuracy === undefined ? undefined : 100 * h.evalAccuracy)), color: orange },
  ], [0, 100]);
  return image;
}

/**
 * Row-normalised confusion matrix as a heat map (white 0 → dark blue 1), true class down,
 * predicted across; class indices on the axes. Classes without samples are left grey.
 */
export function drawConfusionMatrix(confusion: readonly (readonly number[])[]): ImageU8 {
  const classes = confusion.length;
  const cell = Math.max(6, Math.min(40, Math.floor(640 / Math.max(1, classes))));
  const margin = 60;
  const image = blank(margin + classes * cell + 20, margin + classes * cell + 20);
  confusion.forEach((row, t) => {
    const total = row.reduce((a, b) => a + b, 0);
    row.forEach((count, p) => {
      const share = total > 0 ? count / total : -1;
      const color: Rgb = share < 0 ? [235, 235, 235] : [Math.round(255 - 230 * share), Math.round(255 - 190 * share), Math.round(255 - 90 * share)];
      for (let y = 0; y < cell - 1; y++) for (let x = 0; x < cell - 1; x++) setPixel(image, margin + p * cell + x, margin + t * cell + y, color);
    });
  });
  const labelEvery = Math.max(1, Math.ceil(14 / cell));
  for (let c = 0; c < classes; c += labelEvery) {
    drawText(image, String(c), margin + c * cell + cell / 2 - 3, margin - 14, [60, 60, 60]);
    drawText(image, String(c), margin - 8 - String(c).length * 8, margin + c * cell + cell / 2 - 5, [60, 60, 60]);
  }
  drawText(image, 'predicted', margin, 8, [60, 60, 60]);
  drawText(image, 'true', 4, margin - 14, [60, 60, 60]);
  return image;
}
