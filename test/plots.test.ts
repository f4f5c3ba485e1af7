// The charts as Vega-Lite specs: each compiles without a warning, keeps its input values exactly,
// renders to SVG with its titles, labels and one mark per datum, and to PNG at the asked scale
// with its text drawn.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { barChartSpec, confusionMatrixSpec, ganCurvesSpec, sampleGridSpec, SAMPLE_GRID_COLUMNS, trainingCurvesSpec, type BarRow, type ConfusionCell, type CurvePoint, type CurveRow, type VegaLiteSpec } from '../src/plots/specs.js';
import { compileVegaLite, renderSvg } from '../src/plots/render.js';
import { renderPng, writePlot } from '../src/node/plots.js';
import { randomSeed, Rng } from './reference/random.js';
import { decodeImage } from '../src/data/codecs.js';
import { createImage } from '../src/data/image.js';

const seed = randomSeed();
const ctx = (what: string) => `${what} (seed ${seed}; replay with WEBFER_SEED=${seed})`;

function dataOf<Row>(spec: VegaLiteSpec): Row[] {
  return (spec as unknown as { data: { values: Row[] } }).data.values;
}

/** Items drawn by the marks of one type (not axes or legends): paths for rect/line/symbol, text elements for text. */
function markItems(svg: string, type: 'rect' | 'line' | 'symbol' | 'text'): number {
  const groups = [...svg.matchAll(new RegExp(`<g class="mark-${type} role-mark[^"]*"[^>]*>(.*?)</g>`, 'gs'))];
  const element = type === 'text' ? '<text' : '<path';
  return groups.reduce((n, group) => n + group[1]!.split(element).length - 1, 0);
}

function assertCompilesClean(spec: VegaLiteSpec, what: string): void {
  assert.equal(compileVegaLite(spec).warnings, [], ctx(`${what}: Vega-Lite warnings`));
}

function randomHistory(rng: Rng, epochs: number, withEval: boolean): CurvePoint[] {
  return Array.from({ length: epochs }, (_, i) => ({
    epoch: i + 1,
    trainLoss: rng.uniform(0.01, 4),
    trainAccuracy: rng.uniform(0, 1),
    ...(withEval ? { evalLoss: rng.uniform(0.01, 4), evalAccuracy: rng.uniform(0, 1) } : {}),
  }));
}

test('training curves: loss and accuracy per split keep every input value; one line per series', async () => {
  const rng = new Rng(seed);
  const history = randomHistory(rng, rng.int(2, 9), true);
  const spec = trainingCurvesSpec(history, 'run A curves');
  assertCompilesClean(spec, 'curves');
  const rows = dataOf<CurveRow>(spec);
  const pick = (metric: string, split: string) => rows.filter((r) => r.metric === metric && r.split === split).map((r) => [r.epoch, r.value]);
  assert.equal(pick('loss', 'train'), history.map((h) => [h.epoch, h.trainLoss]), ctx('train loss'));
  assert.equal(pick('accuracy', 'train'), history.map((h) => [h.epoch, h.trainAccuracy]), ctx('train accuracy'));
  assert.equal(pick('loss', 'eval'), history.map((h) => [h.epoch, h.evalLoss]), ctx('eval loss'));
  assert.equal(pick('accuracy', 'eval'), history.map((h) => [h.epoch, h.evalAccuracy]), ctx('eval accuracy'));
  const svg = await renderSvg(spec);
  for (const text of ['run A curves', 'epoch', 'cross-entropy loss', 'accuracy', 'train', 'eval']) assert.ok(svg.includes(`>${text}<`), ctx(`"${text}" in the SVG`));
  assert.is(markItems(svg, 'line'), 4, ctx('a line per split and panel'));
  assert.is(markItems(svg, 'symbol'), 4 * history.length, ctx('a point per value'));

  const trainOnly = randomHistory(rng, 3, false);
  const trainSvg = await renderSvg(trainingCurvesSpec(trainOnly));
  assert.is(markItems(trainSvg, 'line'), 2, 'no eval: one line per panel');
});

test('training curves: a value that is not finite is named in the subtitle, not drawn; bad histories are refused', async () => {
  const history = randomHistory(new Rng(seed), 4, true);
  history[2]!.trainLoss = Number.NaN;
  const spec = trainingCurvesSpec(history);
  assertCompilesClean(spec, 'curves with NaN');
  assert.not.ok(dataOf<CurveRow>(spec).some((r) => r.epoch === 3 && r.metric === 'loss' && r.split === 'train'));
  const svg = await renderSvg(spec);
  assert.ok(svg.includes('train loss NaN at epoch 3'), 'subtitle names the missing value');
  assert.throws(() => trainingCurvesSpec([]), /history is empty/);
  assert.throws(() => trainingCurvesSpec([history[0]!, history[0]!]), /epoch 1 appears twice/);
  assert.throws(() => trainingCurvesSpec([{ ...history[0]!, epoch: 0 }]), /positive integer/);
});

test('FaPE-GAN curves: D, G adversarial and L1 per epoch keep every value, in two panels; a value that is not finite is named, not drawn; bad histories are refused', async () => {
  const rng = new Rng(seed + 11);
  const history = Array.from({ length: rng.int(2, 7) }, (_, k) => ({ epoch: k + 1, dLoss: rng.uniform(0.1, 1.5), gGan: rng.uniform(0.1, 3), l1: rng.uniform(0.01, 0.5) }));
  const spec = ganCurvesSpec(history, 'run G losses');
  assertCompilesClean(spec, 'gan curves');
  const rows = dataOf<{ epoch: number; panel: string; series: string; value: number }>(spec);
  const pick = (series: string) => rows.filter((r) => r.series === series).map((r) => [r.epoch, r.value, r.panel]);
  assert.equal(pick('D'), history.map((h) => [h.epoch, h.dLoss, 'adversarial']), ctx('D loss'));
  assert.equal(pick('G adversarial'), history.map((h) => [h.epoch, h.gGan, 'adversarial']), ctx('G adversarial loss'));
  assert.equal(pick('G L1'), history.map((h) => [h.epoch, h.l1, 'l1']), ctx('L1'));
  const svg = await renderSvg(spec);
  for (const text of ['run G losses', 'epoch', 'D', 'G adversarial', 'G L1']) assert.ok(svg.includes(`>${text}<`), ctx(`"${text}" in the SVG`));
  assert.is(markItems(svg, 'line'), 3, ctx('a line per series'));
  assert.is(markItems(svg, 'symbol'), 3 * history.length, ctx('a point per value'));

  history[1]!.l1 = Number.POSITIVE_INFINITY;
  const withInf = ganCurvesSpec(history);
  assert.not.ok(dataOf<{ epoch: number; series: string }>(withInf).some((r) => r.epoch === 2 && r.series === 'G L1'));
  assert.ok((await renderSvg(withInf)).includes('G L1 Infinity at epoch 2'), 'subtitle names the missing value');
  assert.throws(() => ganCurvesSpec([]), /ganCurvesSpec: the history is empty/);
  assert.throws(() => ganCurvesSpec([history[0]!, history[0]!]), /epoch 1 appears twice/);
  assert.throws(() => ganCurvesSpec([{ ...history[0]!, epoch: 1.5 }]), /positive integer/);
});

function randomConfusion(rng: Rng, classes: number, emptyRow: number): number[][] {
  return Array.from({ length: classes }, (_, t) => Array.from({ length: classes }, (_, p) => (t === emptyRow ? 0 : rng.int(0, t === p ? 30 : 5))));
}

test('confusion matrix: one cell per class pair with exact counts and row shares, empty classes grey', async () => {
  const rng = new Rng(seed + 1);
  const classes = rng.int(3, 9);
  const emptyRow = rng.int(0, classes - 1);
  const confusion = randomConfusion(rng, classes, emptyRow);
  const names = Array.from({ length: classes }, (_, c) => `class-${c}-${rng.int(0, 999)}`);
  const spec = confusionMatrixSpec(confusion, names, 'eval confusion');
  assertCompilesClean(spec, 'confusion');
  const cells = dataOf<ConfusionCell>(spec);
  assert.is(cells.length, classes * classes);
  for (const cell of cells) {
    const t = names.indexOf(cell.true), p = names.indexOf(cell.predicted);
    const total = confusion[t]!.reduce((a, b) => a + b, 0);
    assert.is(cell.count, confusion[t]![p], ctx(`count [${t}][${p}]`));
    assert.is(cell.rowTotal, total);
    assert.is(cell.share, t === emptyRow ? null : confusion[t]![p]! / total, ctx(`share [${t}][${p}]`));
  }
  const svg = await renderSvg(spec);
  assert.is(markItems(svg, 'rect'), classes * classes, ctx('a rect per cell'));
  assert.is(svg.split('fill="#e0e0e0"').length - 1, classes, 'the empty row is grey');
  assert.is(markItems(svg, 'text'), classes * (classes - 1), 'shares printed in the cells of non-empty rows');
  for (const text of ['eval confusion', 'predicted class', 'true class', ...names]) assert.ok(svg.includes(`>${text}<`), ctx(`"${text}" in the SVG`));
});

test('confusion matrix: 54 classes fit with small cells and turned labels; bad input is refused', async () => {
  const rng = new Rng(seed + 2);
  const confusion = randomConfusion(rng, 54, -1);
  const names = Array.from({ length: 54 }, (_, c) => `expression ${c}`);
  const spec = confusionMatrixSpec(confusion, names);
  assertCompilesClean(spec, '54 classes');
  const svg = await renderSvg(spec);
  assert.is(markItems(svg, 'rect'), 54 * 54);
  assert.is(markItems(svg, 'text'), 0, 'no per-cell text at 54 classes');
  const width = Number(/<svg[^>]* width="(\d+)"/.exec(svg)![1]);
  assert.ok(width < 900, `54 classes fit in ${width} px`);
  assert.ok(svg.includes('rotate(-90'), 'x labels turned');
  for (const name of names) assert.ok(svg.includes(`>${name}<`), `label ${name}`);

  assert.throws(() => confusionMatrixSpec([[1, 2], [3, 4]], ['a']), /1 class names for a 2×2 matrix/);
  assert.throws(() => confusionMatrixSpec([[1, 2], [3, 4]], ['a', 'a']), /"a" appears twice/);
  assert.throws(() => confusionMatrixSpec([[1, 2], [3]], ['a', 'b']), /row 1 \(b\) has 1 entries, expected 2/);
  assert.throws(() => confusionMatrixSpec([[1, -2], [3, 4]], ['a', 'b']), /count \[0\]\[1\] is -2/);
});

test('bar chart: grouped bars in input order with exact values, printed on the bars', async () => {
  const rng = new Rng(seed + 3);
  const groups = ['front', 'half-left', 'half-right', 'profile'].slice(0, rng.int(2, 4));
  const series = ['Fa-Net', 'FaPE-GAN + Fa-Net', 'paper'].slice(0, rng.int(2, 3));
  const rows: BarRow[] = groups.flatMap((group) => series.map((s) => ({ group, series: s, value: rng.uniform(0, 1) })));
  const spec = barChartSpec(rows, { title: 'per-pose accuracy', yTitle: 'test accuracy', yDomain: [0, 1], yFormat: '%' });
  assertCompilesClean(spec, 'bars');
  assert.equal(dataOf<BarRow>(spec), rows, ctx('values unchanged'));
  const svg = await renderSvg(spec);
  assert.is(markItems(svg, 'rect'), rows.length, ctx('a bar per row'));
  assert.is(markItems(svg, 'text'), rows.length, ctx('a value label per bar'));
  for (const text of ['per-pose accuracy', 'test accuracy', ...groups, ...series]) assert.ok(svg.includes(`>${text}<`), ctx(`"${text}" in the SVG`));
  for (const row of rows) assert.ok(svg.includes(`>${(100 * row.value).toFixed(1)}%<`), ctx(`label of ${row.series} in ${row.group}`));
  const positions = groups.map((g) => svg.indexOf(`>${g}<`));
  assert.equal([...positions].sort((a, b) => a - b), positions, 'groups in input order');

  assert.throws(() => barChartSpec([{ group: 'a', series: 's', value: 2 }], { title: 't', yTitle: 'y', yDomain: [0, 1] }), /s in a \(2\) outside yDomain \[0, 1\]/);
  assert.throws(() => barChartSpec([{ group: 'a', series: 's', value: Number.NaN }], { title: 't', yTitle: 'y' }), /NaN; bars need finite values/);
  assert.throws(() => barChartSpec([{ group: 'a', series: 's', value: 1 }, { group: 'a', series: 's', value: 2 }], { title: 't', yTitle: 'y' }), /appears twice/);
});

test('sample grid: every tile becomes an image of the same pixels under its named column', async () => {
  const rng = new Rng(seed);
  const tile = 5 + Math.floor(rng.uniform() * 20), rows = 1 + Math.floor(rng.uniform() * 4), channels = rng.uniform() < 0.5 ? 1 : 3;
  const grid = createImage(4 * tile, rows * tile, channels);
  for (let i = 0; i < grid.data.length; i++) grid.data[i] = Math.floor(rng.uniform() * 256);
  const spec = sampleGridSpec(grid, { title: 'epoch 3' });
  assertCompilesClean(spec, 'sample grid');
  const cells = dataOf<{ row: number; column: string; url: string }>(spec);
  assert.is(cells.length, 4 * rows, ctx('one image per tile'));
  for (const { row, column, url } of cells) {
    const k = SAMPLE_GRID_COLUMNS.indexOf(column as (typeof SAMPLE_GRID_COLUMNS)[number]);
    const decoded = decodeImage(Uint8Array.from(Buffer.from(url.replace('data:image/png;base64,', ''), 'base64')), column, channels);
    assert.equal([decoded.width, decoded.height], [tile, tile]);
    for (let y = 0; y < tile; y++) {
      const from = ((row - 1) * tile + y) * grid.width * channels + k * tile * channels;
      assert.equal([...decoded.data.subarray(y * tile * channels, (y + 1) * tile * channels)], [...grid.data.subarray(from, from + tile * channels)], ctx(`${column} row ${row}, line ${y}`));
    }
  }
  const svg = await renderSvg(spec);
  assert.is(svg.split('<image').length - 1, 4 * rows, ctx('image marks in the SVG'));
  for (const column of SAMPLE_GRID_COLUMNS) assert.ok(svg.includes(`>${column}</text>`), ctx(`column heading ${column}`));
  assert.throws(() => sampleGridSpec(createImage(4 * tile + 1, tile, 1)), /does not split into 4 columns of square tiles/);
});

test('renderSvg refuses a spec Vega-Lite warns about (a channel it would drop)', async () => {
  const spec = { data: { values: [{ a: 1, b: 'x' }] }, mark: 'bar', encoding: { x: { field: 'a', type: 'quantitative' }, shape: { field: 'b', type: 'nominal' } } } as VegaLiteSpec;
  await renderSvg(spec).then(
    () => assert.unreachable('rendered'),
    (error: Error) => assert.match(error.message, /Vega-Lite warned: shape dropped/),
  );
});

test('PNG: the signature, the SVG size times the scale, and text drawn in the installed font', async () => {
  const spec = barChartSpec([{ group: 'g', series: 's', value: 1 }, { group: 'h', series: 's', value: 2 }], { title: 'size check', yTitle: 'value' });
  const svg = await renderSvg(spec);
  const [width, height] = [1, 2].map((k) => Number(/<svg[^>]* width="(\d+)" height="(\d+)"/.exec(svg)![k]));
  for (const scale of [1, 2]) {
    const png = await renderPng(spec, { scale });
    assert.equal([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'PNG signature');
    const view = new DataView(png.buffer, png.byteOffset);
    assert.equal([view.getUint32(16), view.getUint32(20)], [width * scale, height * scale], `size at scale ${scale}`);
  }
  // A chart of nothing but one word: every dark pixel is text.
  const word = { data: { values: [{ word: 'Ag' }] }, width: 80, height: 50, mark: { type: 'text', fontSize: 30 }, encoding: { text: { field: 'word', type: 'nominal' } }, config: { view: { stroke: null } } } as VegaLiteSpec;
  const image = PNG.sync.read(Buffer.from(await renderPng(word)));
  let dark = 0;
  for (let i = 0; i < image.data.length; i += 4) if (image.data[i]! < 128) dark++;
  assert.ok(dark > 100, `text drawn (${dark} dark pixels)`);
  await renderPng(spec, { scale: 0 }).then(() => assert.unreachable('scale 0'), (error: Error) => assert.match(error.message, /scale must be in \(0, 16\]/));
});

test('writePlot writes the .svg and the .png beside each other', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'webfer-plots-'));
  try {
    const spec = trainingCurvesSpec(randomHistory(new Rng(seed + 4), 3, true));
    const paths = await writePlot(join(dir, 'sub', 'curves'), spec);
    assert.equal(paths, { svg: join(dir, 'sub', 'curves.svg'), png: join(dir, 'sub', 'curves.png') });
    assert.is(readFileSync(paths.svg, 'utf8'), await renderSvg(spec));
    assert.equal([...readFileSync(paths.png).subarray(1, 4)], [0x50, 0x4e, 0x47]);
    await writePlot(join(dir, 'x.png'), spec).then(() => assert.unreachable('x.png'), (error: Error) => assert.match(error.message, /without extension/));
    assert.not.ok(existsSync(join(dir, 'x.png.svg')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
