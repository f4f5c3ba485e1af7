// conv2dMfmMaxPool2d (mfm convolution and the max pool after it as one op, its backward one pass
// from the pooled gradient to the conv output's): forward and the three gradients against the
// float64 reference maxPool2d(mfm(conv2d)) with finite differences; bit for bit against the unfused
// maxPool2d(conv2dMfm) on odd ceil-mode sides, floor mode's dropped edges, padding, batch > 1, ties
// in both maxes and NaN; in runs of images under a lowered binding limit; the unfused fallback for
// overlapping or dilated windows; the kernels it runs and the memory it keeps.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { conv2dMfm, conv2dMfmMaxPool2d, type Conv2dOptions } from '../../src/nn/functional/conv.js';
import { maxPool2d, type MaxPool2dOptions } from '../../src/nn/functional/pool.js';
import { gpu } from '../../src/gpu/index.js';
import { sizeClass } from '../../src/gpu/pool.js';
import { memory, noGrad, type Tensor } from '../../src/index.js';
import { assertNear, checkOp, fileRng, forwardAndGradients, ref, roundF32, setup, throwsWith, toTensor, type T64 } from './helpers.js';

const rng = fileRng('conv-mfm-pool');
const WHAT = ['forward', 'input grad', 'weight grad', 'bias grad'];

test.before(setup);
test.after.each(() => gpu().setMaxBindingBytes(undefined));

const fused = (conv: Conv2dOptions, pool: MaxPool2dOptions) => ([x, w, b]: Tensor[]) => conv2dMfmMaxPool2d(x, w, b, conv, pool);
const unfused = (conv: Conv2dOptions, pool: MaxPool2dOptions) => ([x, w, b]: Tensor[]) => {
  const y = conv2dMfm(x, w, b, conv);
  const out = maxPool2d(y, pool);
  y.dispose();
  return out;
};

/** Runs f forward and backward under the profiler; returns the dispatches per kernel name. */
async function kernelsOf(f: (ts: Tensor[]) => Tensor, xs: T64[], g: T64): Promise<Map<string, number>> {
  const { timings } = await gpu().profile(() => forwardAndGradients(f, xs, g));
  return new Map(timings.map((t) => [t.name, t.calls]));
}

const total = (calls: Map<string, number>) => [...calls.values()].reduce((a, b) => a + b, 0);
const show = (calls: Map<string, number>) => [...calls].map(([name, n]) => `${name} ×${n}`).join(', ');

/** The same outputs and gradients from the fused and the unfused ops (NaN where the other has NaN). */
async function assertSameAsUnfused(s: { x: number[]; w: number[]; conv: Conv2dOptions; pool: MaxPool2dOptions }, xs: T64[], what: string): Promise<void> {
  const outShape = ref.maxPool2d(ref.mfm(ref.conv2d(xs[0], xs[1], xs[2], s.conv)), s.pool).shape;
  const g = roundF32(ref.randn(rng, outShape));
  const expected = await forwardAndGradients(unfused(s.conv, s.pool), xs, g);
  const actual = await forwardAndGradients(fused(s.conv, s.pool), xs, g);
  WHAT.forEach((name, i) => assertNear(actual[i], expected[i], `${what} x [${s.x}] w [${s.w}] ${JSON.stringify(s.pool)}: ${name}`, 0, 0));
}

function randomInputs(s: { x: number[]; w: number[] }): T64[] {
  return [ref.randn(rng, s.x), ref.randn(rng, s.w, 0.3), ref.randn(rng, [s.w[0]])].map(roundF32);
}

test('conv2dMfmMaxPool2d: forward, input, weight and bias gradients against float64 maxPool2d(mfm(conv2d)) on random cases (kernel = stride 2, 3, 2x3; padding; ceil and floor)', async () => {
  for (let trial = 0; trial < 6; trial++) {
    const c = ref.randomConvCase(rng, 3);
    const wShape = [2 * c.wShape[0], ...c.wShape.slice(1)];
    const [OH, OW] = c.outShape.slice(2);
    const kernel: [number, number] = rng.pick([[2, 2], [2, 2], [3, 3], [2, 3], [3, 2]] as [number, number][]);
    const padding: [number, number] = [rng.int(0, Math.floor(kernel[0] / 2)), rng.int(0, Math.floor(kernel[1] / 2))];
    const pool = { kernelSize: kernel, stride: kernel, padding, ceilMode: rng.bool(0.5) };
    // A plane smaller than the window pools to nothing in floor mode: take ceil mode there.
    if (ref.poolOutputSize(OH, kernel[0], kernel[0], padding[0], 1, false) < 1 || ref.poolOutputSize(OW, kernel[1], kernel[1], padding[1], 1, false) < 1) pool.ceilMode = true;
    await checkOp({
      name: `conv2dMfmMaxPool2d ${c.describe} (filters doubled) pool ${JSON.stringify(pool)}`,
      inputs: c.bias ? [c.xShape, wShape, [wShape[0]]] : [c.xShape, wShape],
      forward: ([x, w, b]) => conv2dMfmMaxPool2d(x, w, b, c.opts, pool),
      reference: ([x, w, b]) => ref.maxPool2d(ref.mfm(ref.conv2d(x, w, b, c.opts)), pool),
      rng,
    });
  }
  // 2 x 2 windows on rows of whole vec4s: the pair entry points, odd H in ceil and floor mode.
  for (const ceilMode of [true, false]) {
    const [conv, pool] = [{ padding: 1 }, { kernelSize: 2, ceilMode }];
    await checkOp({
      name: `conv2dMfmMaxPool2d pairs ceilMode ${ceilMode}`,
      inputs: [[2, 2, 7, 8], [6, 2, 3, 3], [6]],
      forward: fused(conv, pool),
      reference: ([x, w, b]) => ref.maxPool2d(ref.mfm(ref.conv2d(x, w, b, conv)), pool),
      rng,
    });
  }
});

const SHAPES = [
  // LightCNN-9's pool: 2x2 ceil mode, odd sides (the last window clipped), batch 3.
  { x: [3, 3, 13, 11], w: [10, 3, 3, 3], conv: { padding: 1 }, pool: { kernelSize: 2, stride: 2, ceilMode: true } },
  // Floor mode drops the last row and column (they get zero gradient); padding; strided conv.
  { x: [2, 2, 17, 12], w: [6, 2, 3, 3], conv: { stride: 2, padding: 1 }, pool: { kernelSize: 3, padding: 1 } },
  { x: [2, 4, 9, 14], w: [8, 4, 1, 1], conv: {}, pool: { kernelSize: [2, 3] as [number, number], ceilMode: true, padding: [1, 0] as [number, number] } },
  // 2 x 2 on rows of whole vec4s (W % 4 == 0): the kernels' pair entry points. Odd H in ceil mode
  // (the last window row has one input row) and in floor mode (the last input row is dropped).
  { x: [2, 3, 13, 16], w: [10, 3, 3, 3], conv: { padding: 1 }, pool: { kernelSize: 2, ceilMode: true } },
  { x: [3, 2, 9, 8], w: [6, 2, 1, 1], conv: {}, pool: { kernelSize: 2 } },
];

test('conv2dMfmMaxPool2d equals maxPool2d(conv2dMfm) bit for bit: odd ceil-mode sides, floor mode, padding, batch > 1, vec4 pairs', async () => {
  for (const s of SHAPES) await assertSameAsUnfused(s, randomInputs(s), 'fused vs unfused');
});

test('conv2dMfmMaxPool2d ties: equal halves split the gradient 0.5 / 0.5, equal window values give it to the first', async () => {
  for (const s of SHAPES) {
    const [x, w, b] = randomInputs(s);
    const half = s.w[0] / 2;
    // Both halves' filters and biases equal: every mfm output a tie.
    const tiedW = { shape: s.w, data: w.data.map((_, i, d) => d[i % (d.length / 2)]) };
    const tiedB = { shape: [s.w[0]], data: b.data.map((_, i, d) => d[i % half]) };
    await assertSameAsUnfused(s, [x, tiedW, tiedB], 'mfm ties');
    // A zero input: every conv output is its bias, so every window ties (and, with tied biases, every pair).
    await assertSameAsUnfused(s, [ref.zeros(s.x), w, b], 'window ties');
    await assertSameAsUnfused(s, [ref.zeros(s.x), tiedW, tiedB], 'window and mfm ties');
  }
  // By hand: x = 0, 1x1 filters, biases (1, 1): every output ties in its pair and its window.
  const opts = { kernelSize: 2, ceilMode: true };
  const xs = [ref.zeros([1, 1, 3, 3]), ref.t64([0, 0], [2, 1, 1, 1]), ref.t64([1, 1], [2])];
  const g = ref.t64([1, 2, 3, 4], [1, 1, 2, 2]);
  const [y, gx, gw, gb] = await forwardAndGradients(fused({}, opts), xs, g);
  assert.equal([...y.data], [1, 1, 1, 1]);
  assert.equal([...gb.data], [5, 5], 'each half takes half of every window\'s gradient');
  assert.equal([...gx.data], Array(9).fill(0), 'zero filters: no input gradient');
  assert.equal([...gw.data], [0, 0], 'zero input: no weight gradient');
});

test('conv2dMfmMaxPool2d propagates NaN as maxPool2d(conv2dMfm): NaN output, the NaN wins its window, both halves take its gradient', async () => {
  for (const s of [SHAPES[0], SHAPES[3]]) {
    const [x, w, b] = randomInputs(s);
    b.data[1] = NaN; // channel 1's first half: NaN everywhere
    x.data[rng.int(0, x.data.length - 1)] = NaN; // a NaN pixel reaching every channel near it
    const g = roundF32(ref.randn(rng, ref.maxPool2d(ref.mfm(ref.conv2d(x, w, b, s.conv)), s.pool).shape));
    const expected = await forwardAndGradients(unfused(s.conv, s.pool), [x, w, b], g);
    assert.ok(Array.from(expected[0].data).some(Number.isNaN) && Array.from(expected[0].data).some(Number.isFinite), 'the unfused op has NaN and finite outputs');
    await assertSameAsUnfused(s, [x, w, b], 'NaN');
  }
});

test('conv2dMfmMaxPool2d under a lowered binding limit runs in runs of images and still equals the unfused op (scalar and vec4 pairs)', async () => {
  for (const [W, entry] of [[11, ''], [12, 'Pairs']] as const) {
    // 64 channels: every tensor's image is a whole number of 256-byte offset alignments, odd H.
    const s = { x: [5, 64, 13, W], w: [128, 64, 1, 1], conv: {}, pool: { kernelSize: 2, stride: 2, ceilMode: true } };
    // No bias: its gradient (a sum over the batch) does not run in runs of images.
    const xs = randomInputs(s).slice(0, 2);
    const g = roundF32(ref.randn(rng, [5, 64, 7, Math.ceil(W / 2)]));
    const expected = await forwardAndGradients(unfused(s.conv, s.pool), xs, g);
    // The conv output's gradient holds 128·13·W floats per image: two images per run.
    gpu().setMaxBindingBytes(2 * 128 * 13 * W * 4);
    const actual = await forwardAndGradients(fused(s.conv, s.pool), xs, g);
    WHAT.slice(0, 3).forEach((name, i) => assertNear(actual[i], expected[i], `W ${W} chunked fused vs unfused ${name}`));
    const kernels = await kernelsOf(fused(s.conv, s.pool), xs, g);
    gpu().setMaxBindingBytes(undefined);
    // The pool's input, 64·13·W floats per image, fits four images per run; the conv output's gradient two.
    assert.is(kernels.get(`mfmMaxPool.forward${entry}`), 2, `W ${W}: forward in 2 runs (5 images, 4 per run): ${show(kernels)}`);
    assert.is(kernels.get(`mfmMaxPool.backward${entry}`), 3, `W ${W}: backward in 3 runs (2 per run): ${show(kernels)}`);
  }
});

test('conv2dMfmMaxPool2d: one pool kernel each way, none of maxPool2d or mfm; overlapping or dilated windows fall back to the unfused ops', async () => {
  const s = SHAPES[0];
  const xs = randomInputs(s);
  const g = roundF32(ref.randn(rng, [3, 5, 7, 6]));
  const kernels = await kernelsOf(fused(s.conv, s.pool), xs, g);
  const pooling = [...kernels].filter(([k]) => /^(pool|mfm)/.test(k)).sort();
  assert.equal(pooling, [['mfmMaxPool.backward', 1], ['mfmMaxPool.forward', 1]], `the fused op's pooling and mfm kernels: ${show(kernels)}`);
  const unfusedKernels = await kernelsOf(unfused(s.conv, s.pool), xs, g);
  assert.is(total(unfusedKernels) - total(kernels), 1, `one dispatch fewer than unfused (${show(unfusedKernels)} vs ${show(kernels)})`);
  for (const pool of [{ kernelSize: 3, stride: 2, ceilMode: true }, { kernelSize: 2, stride: 2, dilation: 2 }, { kernelSize: [2, 2] as [number, number], stride: [2, 1] as [number, number] }]) {
    const fallback = { ...s, pool };
    await assertSameAsUnfused(fallback, xs, 'fallback');
    await checkOp({
      name: `conv2dMfmMaxPool2d fallback ${JSON.stringify(pool)}`,
      inputs: [s.x, s.w, [s.w[0]]],
      forward: fused(s.conv, pool),
      reference: ([x, w, b]) => ref.maxPool2d(ref.mfm(ref.conv2d(x, w, b, s.conv)), pool),
      rng,
    });
    const names = await kernelsOf(fused(s.conv, pool), xs, roundF32(ref.randn(rng, ref.maxPool2d(ref.mfm(ref.conv2d(xs[0], xs[1], xs[2], s.conv)), pool).shape)));
    assert.ok(names.has('pool.maxBackward') && ![...names.keys()].some((k) => k.startsWith('mfmMaxPool')), `fallback ${JSON.stringify(pool)} runs the unfused kernels: ${show(names)}`);
  }
});

test('conv2dMfmMaxPool2d keeps one u32 per pooled output for backward, and under noGrad allocates only its output', async () => {
  const s = SHAPES[0];
  const [x, w, b] = randomInputs(s).map((t) => toTensor(t, true));
  const outBytes = 3 * 5 * 7 * 6 * 4;
  const before = memory().bytesInUse;
  const y = noGrad(() => conv2dMfmMaxPool2d(x, w, b, s.conv, s.pool));
  assert.is(memory().bytesInUse - before, sizeClass(outBytes), 'noGrad: the output only');
  y.dispose();
  const z = conv2dMfmMaxPool2d(x, w, b, s.conv, s.pool);
  assert.is(memory().bytesInUse - before, 2 * sizeClass(outBytes), 'with gradients: the output and its route (no mfm output, mask or indices)');
  z.dispose();
  assert.is(memory().bytesInUse, before, 'disposing the output frees the route');
  for (const t of [x, w, b]) t.dispose();
});

test('conv2dMfmMaxPool2d: clear errors from the conv and the pool', () => {
  const x = toTensor(ref.randn(rng, [1, 3, 5, 5]));
  const w = toTensor(ref.randn(rng, [5, 3, 3, 3]));
  const w2 = toTensor(ref.randn(rng, [4, 3, 3, 3]));
  const pool = { kernelSize: 2 };
  throwsWith(() => conv2dMfmMaxPool2d(x, w, undefined, {}, pool), /conv2dMfmMaxPool2d: weight \[5, 3, 3, 3\] has 5 filters; max-feature-map needs an even count/, 'odd filters');
  throwsWith(() => conv2dMfmMaxPool2d(x, w2, undefined, {}, { kernelSize: 4 }), /conv2dMfmMaxPool2d: input \[1, 2, 3, 3\] with kernel \[4, 4\] gives an empty output/, 'pool larger than the conv output');
  throwsWith(() => conv2dMfmMaxPool2d(x, w2, undefined, {}, { kernelSize: 2, padding: 2 }), /conv2dMfmMaxPool2d: padding \[2, 2\] must be between 0 and half the kernel/, 'pool padding');
  for (const t of [x, w, w2]) t.dispose();
});

test.run();
