// The charts of a run as Vega-Lite specs: pure data in, a spec object out. One spec renders to
// SVG in Node and in the page (render.ts) and to PNG in Node (src/node/plots.ts), so the CLI,
// the demo and the browser show the same picture. Values go into the spec's data as given
// (fractions stay fractions; axes format them), so a spec is also a faithful record of the run.
// Browser-safe.
import type { TopLevelSpec } from 'vega-lite';
import { encodePng } from '../data/codecs.js';
import { crop, type ImageU8 } from '../data/image.js';

export type VegaLiteSpec = TopLevelSpec;

/** One epoch of a training run (Fa-Net's EpochRecord is one). Accuracies are fractions. */
export interface CurvePoint {
  /** 1-based epoch. */
  epoch: number;
  trainLoss: number;
  trainAccuracy: number;
  evalLoss?: number;
  evalAccuracy?: number;
}

/** A row of the curves' data: one value of one metric on one split at one epoch. */
export interface CurveRow {
  epoch: number;
  metric: 'loss' | 'accuracy';
  split: 'train' | 'eval';
  value: number;
}

const SPLIT_COLORS = { domain: ['train', 'eval'], range: ['#1f77b4', '#e6550d'] };

function assertTitle(where: string, title: unknown): void {
  if (title !== undefined && typeof title !== 'string') throw new Error(`${where}: title must be a string, got ${typeof title}`);
}

/**
 * Loss (left) and accuracy (right) per epoch, training and evaluation. Values that are not finite
 * (a diverged loss) cannot be drawn; the subtitle names them instead of hiding them.
 */
export function trainingCurvesSpec(history: readonly CurvePoint[], title = 'Training curves'): VegaLiteSpec {
  assertTitle('trainingCurvesSpec', title);
  assertEpochs('trainingCurvesSpec', history);
  const rows: CurveRow[] = [];
  const notFinite: string[] = [];
  for (const point of history) {
    const values: [CurveRow['metric'], CurveRow['split'], number | undefined][] = [
      ['loss', 'train', point.trainLoss], ['accuracy', 'train', point.trainAccuracy],
      ['loss', 'eval', point.evalLoss], ['accuracy', 'eval', point.evalAccuracy],
    ];
    for (const [metric, split, value] of values) {
      if (value === undefined) continue;
      if (Number.isFinite(value)) rows.push({ epoch: point.epoch, metric, split, value });
      else notFinite.push(`${split} ${metric} ${value} at epoch ${point.epoch}`);
    }
  }
  const panel = (metric: CurveRow['metric']) => ({
    transform: [{ filter: { field: 'metric', equal: metric } }],
    mark: { type: 'line' as const, point: true },
    width: 320,
    height: 220,
    encoding: curveEncoding('epoch', metric),
  });
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: titleNamingNotFinite(title, notFinite),
    data: { values: rows },
    hconcat: [panel('loss'), panel('accuracy')],
  };
}

/** Epochs of a history are positive integers, each once (a repeated epoch would draw two points at one x). */
function assertEpochs(where: string, history: readonly { epoch: number }[]): void {
  if (history.length === 0) throw new Error(`${where}: the history is empty; plot after the first epoch`);
  const seen = new Set<number>();
  for (const { epoch } of history) {
    if (!(Number.isInteger(epoch) && epoch >= 1)) throw new Error(`${where}: epoch must be a positive integer, got ${epoch}`);
    if (seen.has(epoch)) throw new Error(`${where}: epoch ${epoch} appears twice in the history`);
    seen.add(epoch);
  }
}

/** One epoch of a FaPE-GAN run (gan-train's metrics record is one): means of the epoch's steps. */
export interface GanCurvePoint {
  epoch: number;
  dLoss: number;
  gGan: number;
  l1: number;
}

const GAN_SERIES = { domain: ['D', 'G adversarial', 'G L1'], range: ['#d62728', '#1f77b4', '#2ca02c'] };

/**
 * FaPE-GAN's losses per epoch: D's loss and G's adversarial loss (left: they move against each
 * other) and G's L1 distance to the real target (right, on its own scale). Values that are not
 * finite are named in the subtitle.
 */
export function ganCurvesSpec(history: readonly GanCurvePoint[], title = 'FaPE-GAN losses'): VegaLiteSpec {
  assertTitle('ganCurvesSpec', title);
  assertEpochs('ganCurvesSpec', history);
  const rows: { epoch: number; panel: 'adversarial' | 'l1'; series: string; value: number }[] = [];
  const notFinite: string[] = [];
  for (const point of history) {
    const values: [typeof rows[number]['panel'], string, number][] = [
      ['adversarial', 'D', point.dLoss], ['adversarial', 'G adversarial', point.gGan], ['l1', 'G L1', point.l1],
    ];
    for (const [panel, series, value] of values) {
      if (Number.isFinite(value)) rows.push({ epoch: point.epoch, panel, series, value });
      else notFinite.push(`${series} ${value} at epoch ${point.epoch}`);
    }
  }
  const panel = (which: 'adversarial' | 'l1', yTitle: string) => ({
    transform: [{ filter: { field: 'panel', equal: which } }],
    mark: { type: 'line' as const, point: true },
    width: 320,
    height: 220,
    encoding: {
      x: { field: 'epoch', type: 'quantitative' as const, title: 'epoch', axis: { tickMinStep: 1, format: 'd' } },
      y: { field: 'value', type: 'quantitative' as const, title: yTitle, scale: { zero: true } },
      color: { field: 'series', type: 'nominal' as const, title: null, scale: GAN_SERIES },
      tooltip: [
        { field: 'epoch', type: 'quantitative' as const },
        { field: 'series', type: 'nominal' as const },
        { field: 'value', type: 'quantitative' as const, title: 'loss', format: '.4f' },
      ],
    },
  });
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: titleNamingNotFinite(title, notFinite),
    data: { values: rows },
    hconcat: [panel('adversarial', 'adversarial loss (mean per epoch)'), panel('l1', 'L1 to the real target (mean per epoch)')],
  };
}

/**
 * The encoding the per-epoch curves and the page's per-step curves share: x (epoch or step), the
 * value on a loss axis from zero or a 0-100 % accuracy axis, the split's colour, a tooltip.
 */
export function curveEncoding(x: 'epoch' | 'step', metric: 'loss' | 'accuracy') {
  const y = metric === 'loss'
    ? { title: 'cross-entropy loss', scale: { zero: true } }
    : { title: 'accuracy', scale: { domain: [0, 1] }, axis: { format: '%' } };
  return {
    x: { field: x, type: 'quantitative' as const, title: x, axis: { tickMinStep: 1, format: 'd' } },
    y: { field: 'value', type: 'quantitative' as const, ...y },
    color: { field: 'split', type: 'nominal' as const, title: null, scale: SPLIT_COLORS },
    tooltip: [
      { field: x, type: 'quantitative' as const },
      { field: 'split', type: 'nominal' as const },
      { field: 'value', type: 'quantitative' as const, title: metric, format: metric === 'accuracy' ? '.2%' : '.4f' },
    ],
  };
}

/** The chart's title; values that could not be drawn are named in the subtitle, not hidden. */
export function titleNamingNotFinite(title: string, notFinite: readonly string[]): string | { text: string; subtitle: string } {
  return notFinite.length > 0 ? { text: title, subtitle: `not drawn (not finite): ${notFinite.join('; ')}` } : title;
}

/** A cell of the confusion matrix's data. share is count / rowTotal, null for a class with no samples. */
export interface ConfusionCell {
  true: string;
  predicted: string;
  count: number;
  rowTotal: number;
  share: number | null;
}

/**
 * Row-normalised confusion matrix as a heat map: true class down, predicted across, the share of
 * each true class's samples (counts in the tooltip). Rows of classes without samples are grey.
 * Cells shrink and labels turn with many classes (54 expressions fit in about 600 px); up to 12
 * classes the cells also print their share.
 */
export function confusionMatrixSpec(confusion: readonly (readonly number[])[], classNames: readonly string[], title = 'Confusion matrix'): VegaLiteSpec {
  assertTitle('confusionMatrixSpec', title);
  const classes = confusion.length;
  if (classes === 0) throw new Error('confusionMatrixSpec: the confusion matrix is empty');
  if (classNames.length !== classes) throw new Error(`confusionMatrixSpec: ${classNames.length} class names for a ${classes}×${classes} matrix; pass one name per class`);
  const names = new Set<string>();
  for (const name of classNames) {
    if (typeof name !== 'string' || name === '') throw new Error(`confusionMatrixSpec: class names must be non-empty strings, got ${JSON.stringify(name)}`);
    if (names.has(name)) throw new Error(`confusionMatrixSpec: class name "${name}" appears twice; the cells of both classes would merge`);
    names.add(name);
  }
  const cells: ConfusionCell[] = [];
  confusion.forEach((row, t) => {
    if (row.length !== classes) throw new Error(`confusionMatrixSpec: row ${t} (${classNames[t]}) has ${row.length} entries, expected ${classes}`);
    row.forEach((count, p) => {
      if (!(Number.isFinite(count) && count >= 0)) throw new Error(`confusionMatrixSpec: count [${t}][${p}] is ${count}; counts must be finite and non-negative`);
    });
    const rowTotal = row.reduce((a, b) => a + b, 0);
    row.forEach((count, p) => cells.push({ true: classNames[t]!, predicted: classNames[p]!, count, rowTotal, share: rowTotal > 0 ? count / rowTotal : null }));
  });
  const step = classes <= 12 ? 40 : classes <= 24 ? 22 : 11;
  const labelFontSize = classes <= 24 ? 11 : 8;
  const axis = { labelFontSize, labelLimit: 120 };
  const sort = [...classNames];
  const rect = {
    // 'show' keeps the cells of empty rows (share null), which the condition paints grey.
    mark: { type: 'rect' as const, stroke: 'white', strokeWidth: classes <= 24 ? 1 : 0.5, invalid: 'show' as const },
    encoding: {
      color: {
        condition: { test: 'datum.share === null', value: '#e0e0e0' },
        field: 'share', type: 'quantitative' as const, title: 'share of row',
        scale: { domain: [0, 1], range: ['#f7fbff', '#08306b'] }, legend: { format: '%' },
      },
      tooltip: [
        { field: 'true', type: 'nominal' as const, title: 'true class' },
        { field: 'predicted', type: 'nominal' as const },
        { field: 'count', type: 'quantitative' as const },
        { field: 'rowTotal', type: 'quantitative' as const, title: 'samples of the class' },
        { field: 'share', type: 'quantitative' as const, format: '.1%' },
      ],
    },
  };
  const shareText = {
    transform: [{ filter: 'datum.share !== null' }],
    mark: { type: 'text' as const, fontSize: 10 },
    encoding: {
      text: { field: 'share', type: 'quantitative' as const, format: '.0%' },
      color: { condition: { test: 'datum.share > 0.5', value: 'white' }, value: 'black' },
    },
  };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    data: { values: cells },
    width: { step },
    height: { step },
    encoding: {
      x: { field: 'predicted', type: 'nominal', sort, title: 'predicted class', axis: { ...axis, labelAngle: classes <= 12 ? -45 : -90, orient: 'top' } },
      y: { field: 'true', type: 'nominal', sort, title: 'true class', axis },
    },
    layer: classes <= 12 ? [rect, shareText] : [rect],
  };
}

/** A bar of a grouped bar chart: `series` bars stand side by side within each `group`. */
export interface BarRow {
  group: string;
  series: string;
  value: number;
}

export interface BarChartOptions {
  title: string;
  yTitle: string;
  /** Fixed value axis, e.g. [0, 1] for accuracies; default from the data (from 0). */
  yDomain?: [number, number];
  /** d3-format of the value axis, e.g. '%' for fractions; default plain numbers. */
  yFormat?: string;
  /** d3-format of the values printed on the bars and in tooltips; default '.1%' with yFormat '%', else '.3~g'. */
  valueFormat?: string;
}

/**
 * Grouped bars: groups along x in the order they first appear, one colored bar per series
 * within each group (per-pose accuracy of several runs; Table 4/5 comparisons with the paper).
 */
export function barChartSpec(rows: readonly BarRow[], options: BarChartOptions): VegaLiteSpec {
  assertTitle('barChartSpec', options.title);
  if (rows.length === 0) throw new Error('barChartSpec: no rows to plot');
  const pairs = new Set<string>();
  for (const row of rows) {
    if (typeof row.group !== 'string' || typeof row.series !== 'string') throw new Error(`barChartSpec: group and series must be strings, got ${JSON.stringify(row)}`);
    if (!Number.isFinite(row.value)) throw new Error(`barChartSpec: the value of ${row.series} in ${row.group} is ${row.value}; bars need finite values`);
    const key = JSON.stringify([row.group, row.series]);
    if (pairs.has(key)) throw new Error(`barChartSpec: ${row.series} in ${row.group} appears twice; one bar per series and group`);
    pairs.add(key);
  }
  if (options.yDomain) {
    const [low, high] = options.yDomain;
    if (!(Number.isFinite(low) && Number.isFinite(high) && low < high)) throw new Error(`barChartSpec: yDomain must be [low, high] with low < high, got [${low}, ${high}]`);
    const outside = rows.filter((row) => row.value < low || row.value > high);
    if (outside.length > 0) throw new Error(`barChartSpec: ${outside.map((r) => `${r.series} in ${r.group} (${r.value})`).join(', ')} outside yDomain [${low}, ${high}]; widen it or leave it out`);
  }
  const groups = [...new Set(rows.map((row) => row.group))];
  const series = [...new Set(rows.map((row) => row.series))];
  const axisFormat = options.yFormat === undefined ? {} : { format: options.yFormat };
  const valueFormat = options.valueFormat ?? (options.yFormat === '%' ? '.1%' : '.3~g');
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: options.title,
    data: { values: rows.map((row) => ({ group: row.group, series: row.series, value: row.value })) },
    // With an xOffset, Vega-Lite's step is one bar's band (not one group's).
    width: { step: Math.max(12, Math.min(36, Math.floor(144 / series.length))) },
    height: 240,
    encoding: {
      x: { field: 'group', type: 'nominal', sort: groups, title: null, axis: { labelAngle: groups.some((g) => g.length > 10) ? -30 : 0 } },
      xOffset: { field: 'series', type: 'nominal', sort: series },
      y: { field: 'value', type: 'quantitative', title: options.yTitle, axis: { ...axisFormat }, ...(options.yDomain ? { scale: { domain: [...options.yDomain] } } : {}) },
    },
    // A printed picture has no tooltips: each bar also carries its value (up to 24 bars).
    layer: [
      {
        mark: { type: 'bar' },
        encoding: {
          color: { field: 'series', type: 'nominal', sort: series, title: null, legend: { orient: 'bottom', labelLimit: 320, columns: 2 } },
          tooltip: [
            { field: 'group', type: 'nominal' },
            { field: 'series', type: 'nominal' },
            { field: 'value', type: 'quantitative', format: valueFormat },
          ],
        },
      },
      ...(rows.length <= 24 ? [{
        mark: { type: 'text' as const, baseline: 'bottom' as const, dy: -2, fontSize: 9 },
        encoding: { text: { field: 'value', type: 'quantitative' as const, format: valueFormat } },
      }] : []),
    ],
  };
}

/** FaPE-GAN sample grids: one row per example, these columns (src/train/sample-grid.ts). */
export const SAMPLE_GRID_COLUMNS = ['source', 'target pose mask', 'generated', 'real target'] as const;

/**
 * A FaPE-GAN sample grid with its columns named and each face enlarged to `cellPixels` (pixels
 * kept sharp): the grid's tiles become PNG images inside the chart, so the SVG and PNG carry them.
 */
export function sampleGridSpec(grid: ImageU8, options: { columns?: readonly string[]; cellPixels?: number; title?: string } = {}): VegaLiteSpec {
  const columns = options.columns ?? SAMPLE_GRID_COLUMNS;
  const tile = grid.width / columns.length;
  if (!Number.isInteger(tile) || tile < 1 || grid.height % tile !== 0) {
    throw new Error(`sampleGridSpec: a ${grid.width}×${grid.height} grid does not split into ${columns.length} columns of square tiles`);
  }
  const cell = options.cellPixels ?? Math.max(96, tile);
  const values: { row: number; column: string; url: string }[] = [];
  for (let row = 0; row < grid.height / tile; row++) {
    columns.forEach((column, k) => values.push({ row: row + 1, column, url: `data:image/png;base64,${base64(encodePng(crop(grid, k * tile, row * tile, tile, tile)))}` }));
  }
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    ...(options.title ? { title: options.title } : {}),
    data: { values },
    width: { step: cell + 6 },
    height: { step: cell + 6 },
    mark: { type: 'image', width: cell, height: cell, smooth: false },
    encoding: {
      x: { field: 'column', type: 'nominal', sort: [...columns], axis: { orient: 'top', title: null, labelAngle: 0, ticks: false, domain: false, labelFontWeight: 'bold', labelLimit: cell + 40 } },
      y: { field: 'row', type: 'ordinal', axis: null },
      url: { field: 'url', type: 'nominal' },
    },
    config: { view: { stroke: null } },
  };
}

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

function base64(bytes: Uint8Array): string {
  let text = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const [a, b = 0, c = 0] = [bytes[i]!, bytes[i + 1], bytes[i + 2]];
    const word = (a << 16) | (b << 8) | c;
    text += BASE64[word >> 18]! + BASE64[(word >> 12) & 63]! + (i + 1 < bytes.length ? BASE64[(word >> 6) & 63]! : '=') + (i + 2 < bytes.length ? BASE64[word & 63]! : '=');
  }
  return text;
}
