// Self-tests of the float64 reference suite: PyTorch fixtures, hand-computed cases, and
// identities that tie independent references to each other.
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  type T64, t64, size, strides, zeros, ones, arange, clone, at, unravel, ravel,
  Rng, randn, randu, randDistinct, randomSeed, randomShape, randomBroadcastPair, randomDims,
  numericGrad, assertGradsClose, roundToF32, assertClose, assertShape, randomConvCase, randomConvTransposeCase, randomPoolCase,
} from './reference/index.js';
import * as ref from './reference/ops.js';

const seed = randomSeed();
const ctx = (what: string) => `${what} (seed ${seed}; replay with WEBFER_SEED=${seed})`;
const close = (actual: T64 | ArrayLike<number>, expected: T64 | ArrayLike<number>, context: string, rtol = 1e-10, atol = 1e-12) =>
  assertClose(actual, expected, { rtol, atol, context });
const dot = (a: T64, b: T64) => a.data.reduce((s, v, i) => s + v * b.data[i], 0);

type JsonTensor = { shape: number[]; data: (number | 'NaN' | 'Infinity' | '-Infinity')[] };
interface Fixture { op: string; inputs: JsonTensor[]; opts: Record<string, any>; out: JsonTensor | JsonTensor[] | Record<string, JsonTensor> }
const fixtures = JSON.parse(readFileSync(new URL('./reference/fixtures/torch-fixtures.json', import.meta.url), 'utf8')) as { torch: string; cases: Fixture[] };
const fromJson = (j: JsonTensor): T64 => t64(j.data.map(Number), j.shape);
const nz = <V>(v: V | null | undefined) => (v === null ? undefined : v);

function runFixture(f: Fixture): T64 | T64[] | Record<string, T64 | null> {
  const x = f.inputs.map(fromJson);
  const o = f.opts;
  switch (f.op) {
    case 'add': case 'sub': case 'mul': case 'div': case 'maximum': case 'minimum': case 'pow':
      return (ref[f.op] as (a: T64, b: T64) => T64)(x[0], x[1]);
    case 'powScalar': return ref.pow(x[0], o.exponent);
    case 'neg': case 'exp': case 'abs': case 'relu': case 'sigmoid': case 'tanh': case 'log': case 'sqrt':
      return (ref[f.op] as (a: T64) => T64)(x[0]);
    case 'leakyRelu': return o.slope === undefined ? ref.leakyRelu(x[0]) : ref.leakyRelu(x[0], o.slope);
    case 'clamp': return ref.clamp(x[0], nz(o.min), nz(o.max));
    case 'sum': return ref.sum(x[0], nz(o.dims), o.keepdim);
    case 'mean': return ref.mean(x[0], nz(o.dims), o.keepdim);
    case 'max': return ref.max(x[0], nz(o.dims), o.keepdim);
    case 'variance': return ref.variance(x[0], nz(o.dims), o.keepdim);
    case 'argmax': return ref.argmax(x[0], nz(o.dim), o.keepdim ?? false);
    case 'argmin': return ref.argmin(x[0], nz(o.dim), o.keepdim ?? false);
    case 'matmul': return ref.matmul(x[0], x[1]);
    case 'linear': return ref.linear(x[0], x[1], x[2]);
    case 'permute': return ref.permute(x[0], o.dims);
    case 'transpose': return ref.transpose(x[0], o.dim0, o.dim1);
    case 'slice': return ref.slice(x[0], o.dim, o.start, nz(o.end), o.step);
    case 'cat': return ref.cat(x, o.dim);
    case 'pad': return ref.pad(x[0], o.pads, o.mode, o.value);
    case 'softmax': return ref.softmax(x[0], o.dim);
    case 'logSoftmax': return ref.logSoftmax(x[0], o.dim);
    case 'crossEntropy': return ref.crossEntropy(x[0], x[1], { reduction: o.reduction, labelSmoothing: o.labelSmoothing, weight: x[2] });
    case 'bceWithLogits': return ref.bceWithLogits(x[0], x[1], { reduction: o.reduction, posWeight: x[2], weight: x[3] });
    case 'bce': return ref.bce(x[0], x[1], { reduction: o.reduction });
    case 'mseLoss': return ref.mseLoss(x[0], x[1], { reduction: o.reduction });
    case 'l1Loss': return ref.l1Loss(x[0], x[1], { reduction: o.reduction });
    case 'smoothL1Loss': return ref.smoothL1Loss(x[0], x[1], { reduction: o.reduction, beta: o.beta });
    case 'conv2d': return ref.conv2d(x[0], x[1], x[2], o);
    case 'convTranspose2d': return ref.convTranspose2d(x[0], x[1], x[2], o);
    case 'maxPool2d': { const r = ref.maxPool2dWithIndices(x[0], o as ref.MaxPool2dOptions); return { values: r.values, indices: r.indices }; }
    case 'avgPool2d': return ref.avgPool2d(x[0], o as ref.AvgPool2dOptions);
    case 'batchNorm': { const r = ref.batchNorm(x[0], x[1], x[2], x[3], x[4], o); return { out: r.out, runningMean: r.runningMean, runningVar: r.runningVar }; }
    case 'instanceNorm': return ref.instanceNorm(x[0], x[1], x[2], o);
    case 'mfm': return ref.mfm(x[0]);
    case 'sgd': case 'adam': {
      const params = x.slice(0, 2).map(clone);
      const state = f.op === 'sgd' ? ref.sgdState(params) : ref.adamState(params);
      for (let k = 2; k < x.length; k += 2) {
        if (f.op === 'sgd') ref.sgdStep(params, [x[k], x[k + 1]], state as ref.SgdState, o as ref.SgdOptions);
        else ref.adamStep(params, [x[k], x[k + 1]], state as ref.AdamState, o as ref.AdamOptions);
      }
      return params;
    }
    default: throw new Error(`no runner for fixture op ${f.op}`);
  }
}

test(`matches PyTorch ${fixtures.torch} on ${fixtures.cases.length} fixed cases`, () => {
  fixtures.cases.forEach((f, k) => {
    const what = `fixture #${k} ${f.op} inputs ${f.inputs.map((i) => `[${i.shape}]`).join(' ')} opts ${JSON.stringify(f.opts)}`;
    const got = runFixture(f);
    const want = f.out;
    if (Array.isArray(want)) {
      want.forEach((w, i) => close((got as T64[])[i], fromJson(w), `${what} output ${i}`));
    } else if (!('shape' in want)) {
      for (const [key, w] of Object.entries(want)) close((got as Record<string, T64>)[key], fromJson(w), `${what} ${key}`);
    } else {
      close(got as T64, fromJson(want as JsonTensor), what);
    }
  });
});

test('tensor64 basics', () => {
  assert.equal(size([2, 3, 4]), 24);
  assert.equal(size([]), 1);
  assert.equal(strides([2, 3, 4]), [12, 4, 1]);
  assert.equal(unravel(23, [2, 3, 4]), [1, 2, 3]);
  assert.equal(ravel([1, 2, 3], [2, 3, 4]), 23);
  assert.equal(at(arange([2, 3]), 1, 2), 5);
  assert.throws(() => t64([1, 2, 3], [2, 2]), /4 elements/);
});

test('conv2d by hand: 1×1×3×3 input', () => {
  const x = t64([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 1, 3, 3]);
  // out[i, j] = x[i, j] - x[i + 1, j + 1] = -4 everywhere.
  close(ref.conv2d(x, t64([1, 0, 0, -1], [1, 1, 2, 2])), t64([-4, -4, -4, -4], [1, 1, 2, 2]), 'conv2d 2×2');
  // Box sums of the 3×3 neighbourhood with zero padding, plus bias 1.
  const box = ref.conv2d(x, ones([1, 1, 3, 3]), t64([1], [1]), { padding: 1 });
  close(box, t64([12, 21, 16, 27, 45, 33, 24, 39, 28].map((v) => v + 1), [1, 1, 3, 3]), 'conv2d box');
  // Stride 2 with padding 1 picks the corners of the box sums.
  close(ref.conv2d(x, ones([1, 1, 3, 3]), null, { padding: 1, stride: 2 }), t64([12, 16, 24, 28], [1, 1, 2, 2]), 'conv2d stride 2');
  // Dilation 2 on the 3×3 input with a 2×2 kernel reads the four corners: 1 + 3 + 7 + 9.
  close(ref.conv2d(x, ones([1, 1, 2, 2]), null, { dilation: 2 }), [20], 'conv2d dilation');
});

test('convTranspose2d by hand', () => {
  // Stride 2 scatters each input pixel as a copy of the kernel at 2·position.
  const x = t64([1, 2], [1, 1, 1, 2]);
  const w = t64([1, 10, 100, 1000], [1, 1, 2, 2]);
  close(ref.convTranspose2d(x, w, null, { stride: 2 }), t64([1, 10, 2, 20, 100, 1000, 200, 2000], [1, 1, 2, 4]), 'convT stride 2');
  // Overlap (stride 1) adds up; padding 1 crops one from each side; outputPadding adds a row/col at the end.
  close(ref.convTranspose2d(x, w), t64([1, 12, 20, 100, 1200, 2000], [1, 1, 2, 3]), 'convT stride 1');
  assertShape(ref.convTranspose2d(x, w, null, { stride: 2, padding: 1, outputPadding: 1 }).shape, [1, 1, 1, 3], 'convT shape');
  // Full 3×5 output [[1, 10, 2, 20, 0], [100, 1000, 200, 2000, 0], [0, ...]] cropped by one on each side.
  close(ref.convTranspose2d(x, w, null, { stride: 2, padding: 1, outputPadding: 1 }), [1000, 200, 2000], 'convT crop + outputPadding');
  assert.throws(() => ref.convTranspose2d(x, w, null, { stride: 2, outputPadding: 2 }), /outputPadding/);
});

test('pool output sizes match PyTorch, including ceil-mode edge cases', () => {
  const cases: [number, number, number, number, number, boolean, number][] = [
    // input, kernel, stride, padding, dilation, ceilMode, expected
    [128, 2, 2, 0, 1, true, 64], [127, 2, 2, 0, 1, true, 64], [127, 2, 2, 0, 1, false, 63],
    [5, 2, 2, 0, 1, true, 3], [5, 2, 2, 0, 1, false, 2],
    [6, 3, 2, 1, 1, true, 4], [6, 3, 2, 1, 1, false, 3],
    [5, 2, 2, 1, 1, true, 3], // ceil gives 4, but the 4th window would start in the right padding
    [4, 2, 2, 1, 1, true, 3], [6, 3, 2, 0, 1, true, 3], [6, 3, 2, 0, 1, false, 2],
    [10, 3, 2, 1, 2, true, 5], [7, 3, 3, 1, 1, true, 3], [4, 4, 3, 2, 1, true, 2],
  ];
  for (const [input, k, s, p, d, ceil, expected] of cases) {
    assert.is(ref.poolOutputSize(input, k, s, p, d, ceil), expected, `pool size in=${input} k=${k} s=${s} p=${p} d=${d} ceil=${ceil}`);
  }
  assert.is(ref.convOutputSize(11, 7, 2, 3), 6);
  assert.is(ref.convTransposeOutputSize(6, 3, 2, 1, 1), 12);
});

test('avgPool2d divisors by hand', () => {
  const row = (vals: number[]) => t64(vals, [1, 1, 1, vals.length]);
  const opts = (extra: Partial<ref.AvgPool2dOptions>): ref.AvgPool2dOptions => ({ kernelSize: [1, 2], stride: [1, 2], padding: [0, 1], ceilMode: true, ...extra });
  // Windows over [1, 2, 3, 4] padded by one zero each side: [pad, 1], [2, 3], [4, pad].
  close(ref.avgPool2d(row([1, 2, 3, 4]), opts({})), [0.5, 2.5, 2], 'avg include pad');
  close(ref.avgPool2d(row([1, 2, 3, 4]), opts({ countIncludePad: false })), [1, 2.5, 4], 'avg exclude pad');
  close(ref.avgPool2d(row([1, 2, 3, 4]), opts({ divisorOverride: 4 })), [0.25, 1.25, 1], 'avg divisor override');
  // The ceil-mode window past the input (and past the padding) divides by its clipped size 2, not 3.
  close(ref.avgPool2d(row([1, 2, 3, 4, 5, 6]), { kernelSize: [1, 3], stride: [1, 2], ceilMode: true }), [2, 4, 5.5], 'avg ceil overhang');
  close(ref.avgPool2d(row([1, 2, 3, 4, 5, 6]), { kernelSize: [1, 3], stride: [1, 2] }), [2, 4], 'avg floor');
});

test('maxPool2d by hand: first maximum wins, flat indices', () => {
  const x = t64([1, 5, 5, 2, 0, 3, 3, 0, 9, 9, 1, 1, 7, 7, 7, 7], [1, 1, 4, 4]);
  const r = ref.maxPool2dWithIndices(x, { kernelSize: 2 });
  close(r.values, [5, 5, 9, 7], 'max values');
  close(r.indices, [1, 2, 8, 14], 'max indices');
  const padded = ref.maxPool2dWithIndices(t64([-1, -2, -3, -4], [1, 1, 2, 2]), { kernelSize: 2, stride: 1, padding: 1 });
  close(padded.values, [-1, -1, -2, -1, -1, -2, -3, -3, -4], 'max ignores padding');
  assert.throws(() => ref.maxPool2d(x, { kernelSize: 2, padding: 2 }), /half/);
});

test('cross-entropy with label smoothing, 2 classes, by hand', () => {
  // p = softmax([0, ln 3]) = [1/4, 3/4]; target 1; ε = 0.2:
  // 0.8 · (-ln 3/4) + 0.1 · (-ln 1/4 - ln 3/4) = 0.9 ln(4/3) + 0.1 ln 4.
  const logits = t64([0, Math.log(3)], [1, 2]);
  close(ref.crossEntropy(logits, [1], { labelSmoothing: 0.2 }), [0.9 * Math.log(4 / 3) + 0.1 * Math.log(4)], 'ce smoothing');
  close(ref.crossEntropy(logits, [0]), [Math.log(4)], 'ce plain');
  // Weighted mean divides by the summed target weights: (2·ln 4 + 1·ln 4/3) / 3.
  const two = t64([0, Math.log(3), 0, Math.log(3)], [2, 2]);
  close(ref.crossEntropy(two, [0, 1], { weight: t64([2, 1], [2]) }), [(2 * Math.log(4) + Math.log(4 / 3)) / 3], 'ce weighted mean');
  close(ref.crossEntropy(two, [0, -100], { reduction: 'none' }), [Math.log(4), 0], 'ce ignore');
});

test('bceWithLogits, mse, l1 by hand', () => {
  const x = t64([0, 0], [2]);
  close(ref.bceWithLogits(x, t64([1, 0], [2])), [Math.log(2)], 'bce logits');
  close(ref.bceWithLogits(x, t64([1, 0], [2]), { posWeight: t64([3], [1]), reduction: 'sum' }), [4 * Math.log(2)], 'bce posWeight');
  close(ref.bceWithLogits(t64([1000, -1000], [2]), t64([1, 0], [2])), [0], 'bce stable at large logits');
  close(ref.mseLoss(t64([1, 2, 3], [3]), t64([1, 4, 0], [3])), [13 / 3], 'mse');
  close(ref.l1Loss(t64([1, 2, 3], [3]), t64([1, 4, 0], [3]), { reduction: 'sum' }), [5], 'l1');
});

test('batchNorm by hand', () => {
  // Channel values [1, 3]: mean 2, biased var 1, unbiased var 2.
  const r = ref.batchNorm(t64([1, 3], [2, 1]), t64([0], [1]), t64([1], [1]), null, null, { training: true, eps: 0 });
  close(r.out, [-1, 1], 'bn out');
  close(r.runningMean!, [0.2], 'bn running mean');
  close(r.runningVar!, [0.9 + 0.2], 'bn running var is unbiased');
  const e = ref.batchNorm(t64([1, 3], [2, 1]), t64([1], [1]), t64([4], [1]), t64([2], [1]), t64([1], [1]), { eps: 0 });
  close(e.out, [1, 3], 'bn eval'); // (x - 1) / sqrt(4) · 2 + 1
  assert.throws(() => ref.batchNorm(t64([1], [1, 1]), null, null, null, null, { training: true }), /more than 1 value/);
});

test('matmul and shape ops by hand', () => {
  close(ref.matmul(t64([1, 2, 3, 4], [2, 2]), t64([5, 6, 7, 8], [2, 2])), [19, 22, 43, 50], 'matmul 2×2');
  const d = ref.matmul(t64([1, 2, 3], [3]), t64([4, 5, 6], [3]));
  assertShape(d.shape, [], 'dot shape');
  close(d, [32], 'dot');
  close(ref.transpose(arange([2, 3]), 0, 1), [0, 3, 1, 4, 2, 5], 'transpose');
  close(ref.slice(arange([7]), 0, 1, undefined, 3), [1, 4], 'slice step');
  close(ref.pad(t64([1, 2, 3], [3]), [2, 2], 'reflect'), [3, 2, 1, 2, 3, 2, 1], 'pad reflect');
  close(ref.pad(t64([1, 2, 3], [3]), [2, 1], 'replicate'), [1, 1, 1, 2, 3, 3], 'pad replicate');
  close(ref.sum(arange([2, 3]), 1), [3, 12], 'sum');
  close(ref.sumTo(ones([2, 3, 4]), [3, 1]), [8, 8, 8], 'sumTo');
  close(ref.argmax(t64([1, 3, 3, 2], [4]), 0), [1], 'argmax first occurrence');
  close(ref.clamp(t64([-2, 0, 2], [3]), 1, -1), [-1, -1, -1], 'clamp min > max');
});

test('optimisers by hand', () => {
  const p = [t64([1], [1])];
  const s = ref.sgdState(p);
  ref.sgdStep(p, [t64([1], [1])], s, { lr: 0.1, momentum: 0.9 });
  close(p[0], [0.9], 'sgd step 1');
  ref.sgdStep(p, [t64([1], [1])], s, { lr: 0.1, momentum: 0.9 });
  close(p[0], [0.9 - 0.1 * 1.9], 'sgd step 2');
  // Adam's first step moves by lr · g / (|g| + eps) whatever the betas.
  const q = [t64([1, 1], [2])];
  ref.adamStep(q, [t64([0.5, -3], [2])], ref.adamState(q), { lr: 0.01, betas: [0.5, 0.9], eps: 1e-8 });
  close(q[0], [1 - 0.01 * 0.5 / (0.5 + 1e-8), 1 + 0.01 * 3 / (3 + 1e-8)], 'adam step 1');
  close([ref.stepLR(0.01, 25, 10, 0.5)], [0.0025], 'stepLR');
});

test('convTranspose2d is the adjoint of conv2d', () => {
  const rng = new Rng(seed);
  for (let k = 0; k < 30; k++) {
    const c = randomConvCase(rng);
    const x = randn(rng, c.xShape);
    const w = randn(rng, c.wShape);
    const y = randn(rng, c.outShape);
    const conv = ref.conv2d(x, w, null, c.opts);
    assertShape(conv.shape, c.outShape, ctx(c.describe));
    const [, , H, W] = c.xShape;
    const [, , OH, OW] = c.outShape;
    const outputPadding: [number, number] = [
      H - ref.convTransposeOutputSize(OH, c.wShape[2], c.opts.stride[0], c.opts.padding[0], 0, c.opts.dilation[0]),
      W - ref.convTransposeOutputSize(OW, c.wShape[3], c.opts.stride[1], c.opts.padding[1], 0, c.opts.dilation[1]),
    ];
    // convT's weight layout [Ci_of_convT = Co, Co_of_convT = Ci, kh, kw] is conv's weight as is.
    const back = ref.convTranspose2d(y, w, null, { ...c.opts, outputPadding });
    assertShape(back.shape, c.xShape, ctx(c.describe));
    close([dot(conv, y)], [dot(x, back)], ctx(`<conv(x,w), y> = <x, convT(y,w)> for ${c.describe}`), 1e-10, 1e-9);
  }
});

test('random convTranspose cases are valid and match conv2d adjointness', () => {
  const rng = new Rng(seed + 1);
  for (let k = 0; k < 20; k++) {
    const c = randomConvTransposeCase(rng);
    const x = randn(rng, c.xShape);
    const w = randn(rng, c.wShape);
    const out = ref.convTranspose2d(x, w, null, c.opts);
    assertShape(out.shape, c.outShape, ctx(c.describe));
    const y = randn(rng, c.outShape);
    // The adjoint of convT is conv2d with the same stride/padding/dilation (its output is x's shape).
    // When outputPadding >= stride (allowed if < dilation) conv2d sees extra rows no input reached: drop them.
    const full = ref.conv2d(y, w, null, { stride: c.opts.stride, padding: c.opts.padding, dilation: c.opts.dilation });
    const fwd = ref.slice(ref.slice(full, 2, 0, c.xShape[2]), 3, 0, c.xShape[3]);
    assertShape(fwd.shape, c.xShape, ctx(c.describe));
    close([dot(out, y)], [dot(x, fwd)], ctx(`adjoint ${c.describe}`), 1e-10, 1e-9);
  }
});

test('conv2d with a 1×1 kernel is a matmul over channels', () => {
  const rng = new Rng(seed + 2);
  const [N, Ci, Co, H, W] = [2, 3, 4, 5, 7];
  const x = randn(rng, [N, Ci, H, W]);
  const w = randn(rng, [Co, Ci, 1, 1]);
  const viaMatmul = ref.reshape(ref.matmul(ref.reshape(w, [Co, Ci]), ref.reshape(x, [N, Ci, H * W])), [N, Co, H, W]);
  close(ref.conv2d(x, w), viaMatmul, ctx('conv 1×1 vs matmul'));
});

test('grouped conv2d equals per-group convs concatenated', () => {
  const rng = new Rng(seed + 3);
  const x = randn(rng, [2, 4, 6, 5]);
  const w = randn(rng, [6, 2, 3, 3]);
  const opts = { stride: 2, padding: 1 };
  const parts = [0, 1].map((g) => ref.conv2d(ref.slice(x, 1, 2 * g, 2 * g + 2), ref.slice(w, 0, 3 * g, 3 * g + 3), null, opts));
  close(ref.conv2d(x, w, null, { ...opts, groups: 2 }), ref.cat(parts, 1), ctx('grouped conv'));
});

test('pooling identities and random pool cases', () => {
  const rng = new Rng(seed + 4);
  const x = randn(rng, [2, 3, 5, 4]);
  close(ref.avgPool2d(x, { kernelSize: 1 }), x, ctx('avgPool k=1'));
  close(ref.maxPool2d(x, { kernelSize: 1 }), x, ctx('maxPool k=1'));
  for (let k = 0; k < 50; k++) {
    const c = randomPoolCase(rng);
    const xx = randn(rng, c.xShape);
    assertShape(ref.maxPool2d(xx, c.maxOpts).shape, c.outShape, ctx(c.describe));
    assertShape(ref.avgPool2d(xx, c.avgOpts).shape, c.avgOutShape, ctx(c.describe));
    // avg of a constant is the constant wherever no padding is counted.
    const avg = ref.avgPool2d(ones(c.xShape), { ...c.avgOpts, countIncludePad: false });
    close(avg, ones(c.avgOutShape), ctx(`avg of ones ${c.describe}`));
    // Every max is the input value at its index.
    const r = ref.maxPool2dWithIndices(xx, c.maxOpts);
    const [, , H, W] = c.xShape;
    r.values.data.forEach((v, i) => {
      const plane = Math.floor(i / (c.outShape[2] * c.outShape[3]));
      assert.is(xx.data[plane * H * W + r.indices.data[i]], v, ctx(`max index ${c.describe}`));
    });
  }
});

test('softmax rows sum to 1 and logSoftmax = log(softmax)', () => {
  const rng = new Rng(seed + 5);
  const x = randn(rng, [3, 4, 5], 5);
  for (const dim of [0, 1, 2, -1]) {
    const s = ref.softmax(x, dim);
    close(ref.sum(s, dim), ones(ref.sum(s, dim).shape), ctx(`softmax dim ${dim}`));
    close(ref.logSoftmax(x, dim), ref.log(s), ctx(`logSoftmax dim ${dim}`));
  }
});

test('mfm of cat(a, b) is maximum(a, b)', () => {
  const rng = new Rng(seed + 6);
  for (const shape of [[3, 4], [2, 5, 3, 4]]) {
    const a = randn(rng, shape);
    const b = randn(rng, shape);
    close(ref.mfm(ref.cat([a, b], 1)), ref.maximum(a, b), ctx(`mfm [${shape}]`));
  }
});

test('batchNorm in training normalises each channel; instanceNorm each (sample, channel)', () => {
  const rng = new Rng(seed + 7);
  const x = randn(rng, [4, 3, 5, 2], 3);
  const { out } = ref.batchNorm(x, null, null, null, null, { training: true, eps: 0 });
  close(ref.mean(out, [0, 2, 3]), zeros([3]), ctx('bn mean'), 0, 1e-12);
  close(ref.variance(out, [0, 2, 3], false, 0), ones([3]), ctx('bn var'));
  const inorm = ref.instanceNorm(x, null, null, { eps: 0 });
  close(ref.mean(inorm, [2, 3]), zeros([4, 3]), ctx('in mean'), 0, 1e-12);
  close(ref.variance(inorm, [2, 3], false, 0), ones([4, 3]), ctx('in var'));
  // instanceNorm = batchNorm applied to each sample alone.
  const n1 = ref.batchNorm(ref.slice(x, 0, 1, 2), null, null, null, null, { training: true });
  close(ref.slice(ref.instanceNorm(x), 0, 1, 2), n1.out, ctx('in vs bn per sample'));
});

test('broadcasting: sumTo undoes broadcastTo up to the repeat count; random pairs broadcast', () => {
  const rng = new Rng(seed + 8);
  for (let k = 0; k < 50; k++) {
    const [sa, sb] = randomBroadcastPair(rng);
    const out = ref.broadcastShapes(sa, sb);
    const a = randn(rng, sa);
    const big = ref.broadcastTo(a, out);
    const repeats = size(out) / size(sa);
    close(ref.sumTo(big, sa), ref.mul(a, repeats), ctx(`sumTo [${sa}] from [${out}]`));
    close(ref.add(a, zeros(sb)), big, ctx(`add zeros [${sa}] + [${sb}]`));
  }
});

test('reductions over random dims agree with nested single-dim reductions', () => {
  const rng = new Rng(seed + 9);
  for (let k = 0; k < 30; k++) {
    const shape = randomShape(rng, rng.int(1, 4), 1, 4);
    const x = randn(rng, shape);
    const dims = randomDims(rng, shape.length);
    const norm = dims.map((d) => (d < 0 ? d + shape.length : d)).sort((p, q) => q - p);
    let nestedSum = x;
    let nestedMax = x;
    for (const d of norm) {
      nestedSum = ref.sum(nestedSum, d);
      nestedMax = ref.max(nestedMax, d);
    }
    close(ref.sum(x, dims), nestedSum, ctx(`sum [${shape}] dims [${dims}]`));
    close(ref.max(x, dims), nestedMax, ctx(`max [${shape}] dims [${dims}]`));
    close(ref.mean(x, dims, true), ref.div(ref.sum(x, dims, true), size(norm.map((d) => shape[d]))), ctx('mean'));
  }
});

test('slice/cat and permute round trips', () => {
  const rng = new Rng(seed + 10);
  const x = randn(rng, [3, 7, 2]);
  close(ref.cat([ref.slice(x, 1, 0, 3), ref.slice(x, 1, 3, 4), ref.slice(x, 1, 4)], 1), x, ctx('cat of slices'));
  const p = ref.permute(x, [2, 0, 1]);
  close(ref.permute(p, [1, 2, 0]), x, ctx('permute inverse'));
  close(ref.pad(ref.pad(x, [1, 1, 0, 3], 'reflect'), [-1, -1, 0, -3]), x, ctx('pad then crop'));
});

test('numericGrad of sum(x·y) w.r.t. x is y; of matmul is gradOut·bᵀ', () => {
  const rng = new Rng(seed + 11);
  const x = randn(rng, [3, 4]);
  const y = randn(rng, [3, 4]);
  close(numericGrad(([a, b]) => ref.mul(a, b), [x, y], 0, ones([3, 4])), y, ctx('d sum(xy)/dx'), 1e-7, 1e-8);
  const b = randn(rng, [4, 5]);
  const g = randn(rng, [3, 5]);
  close(numericGrad(([p, q]) => ref.matmul(p, q), [x, b], 0, g), ref.matmul(g, ref.transpose(b, 0, 1)), ctx('d matmul/da'), 1e-7, 1e-8);
  close(numericGrad(([p, q]) => ref.matmul(p, q), [x, b], 1, g), ref.matmul(ref.transpose(x, 0, 1), g), ctx('d matmul/db'), 1e-7, 1e-8);
});

test('numericGrad of conv2d [3,5,11,9] with a 7×7 kernel w.r.t. x is convT(gradOut)', () => {
  const rng = new Rng(seed + 12);
  const x = randn(rng, [3, 5, 11, 9]);
  const w = randn(rng, [4, 5, 7, 7], 0.2);
  const opts = { stride: 2, padding: 3 };
  const out = ref.conv2d(x, w, null, opts);
  const g = randn(rng, out.shape);
  const numeric = numericGrad(([a, b]) => ref.conv2d(a, b, null, opts), [x, w], 0, g);
  const outputPadding: [number, number] = [11 - ref.convTransposeOutputSize(out.shape[2], 7, 2, 3), 9 - ref.convTransposeOutputSize(out.shape[3], 7, 2, 3)];
  close(numeric, ref.convTranspose2d(g, w, null, { ...opts, outputPadding }), ctx('conv2d input grad'), 1e-6, 1e-7);
});

test('numericGrad of maxPool2d routes gradOut to the argmax; of crossEntropy is softmax - onehot', () => {
  const rng = new Rng(seed + 13);
  const x = randDistinct(rng, [2, 2, 5, 6]);
  const opts = { kernelSize: 3, stride: 2, padding: 1, ceilMode: true };
  const { values, indices } = ref.maxPool2dWithIndices(x, opts);
  const g = randn(rng, values.shape);
  const expected = zeros(x.shape);
  const planeOut = values.shape[2] * values.shape[3];
  g.data.forEach((v, i) => (expected.data[Math.floor(i / planeOut) * 30 + indices.data[i]] += v));
  close(numericGrad(([a]) => ref.maxPool2d(a, opts), [x], 0, g), expected, ctx('maxPool grad'), 1e-7, 1e-8);

  const logits = randn(rng, [4, 3]);
  const target = [2, 0, 1, 2];
  const onehot = zeros([4, 3]);
  target.forEach((t, n) => (onehot.data[n * 3 + t] = 1));
  const analytic = ref.div(ref.sub(ref.softmax(logits, 1), onehot), 4);
  close(numericGrad(([a]) => ref.crossEntropy(a, target), [logits], 0, ones([])), analytic, ctx('ce grad'), 1e-7, 1e-8);
});

test('conv2d weight gradient = conv2d(xᵀ, gradOutᵀ) with stride and dilation swapped (assertGradsClose)', () => {
  const rng = new Rng(seed + 14);
  for (let k = 0; k < 4; k++) {
    const c = randomConvCase(rng, 3);
    const x = randn(rng, c.xShape);
    const w = randn(rng, c.wShape);
    const b = randn(rng, [c.wShape[0]]);
    const g = randn(rng, c.outShape);
    const { stride, padding, dilation } = c.opts;
    // dW[co, ci, i, j] = Σ_{n, oh, ow} g[n, co, oh, ow] · x[n, ci, oh·s - p + i·d, ow·s - p + j·d]
    const full = ref.conv2d(ref.transpose(x, 0, 1), ref.transpose(g, 0, 1), null, { stride: dilation, padding, dilation: stride });
    const dW = ref.transpose(ref.slice(ref.slice(full, 2, 0, c.wShape[2]), 3, 0, c.wShape[3]), 0, 1);
    const db = ref.sum(g, [0, 2, 3]);
    assertGradsClose(([a, q, r]) => ref.conv2d(a, q, r, c.opts), [x, w, b], g, [null, dW, db], { rtol: 1e-6, atol: 1e-7, context: ctx(c.describe) });
  }
  assert.equal(Array.from(roundToF32(t64([0.1], [1])).data), [Math.fround(0.1)]);
});

test('assertClose reports context, worst index and errors; checks lengths and NaN', () => {
  assertClose([1, 2, NaN], t64([1, 2 + 1e-9, NaN], [3]), { context: 'ok' });
  assertClose([Infinity], [Infinity], { context: 'inf' });
  const err = (() => {
    try {
      assertClose([1, 2, 3, 4], t64([1, 2, 3.5, 4], [2, 2]), { context: 'seed 42 conv [2,2]' });
    } catch (e) {
      return (e as Error).message;
    }
    return '';
  })();
  assert.match(err, /seed 42 conv \[2,2\]/);
  assert.match(err, /flat index 2 \[1, 0\]/);
  assert.match(err, /actual 3, expected 3\.5/);
  assert.match(err, /max abs error 5\.000e-1/);
  assert.throws(() => assertClose([1, 2], [1, 2, 3], { context: 'len' }), /length mismatch/);
  assert.throws(() => assertClose([NaN], [1], { context: 'nan' }), /nan: 1 of 1/);
  assert.throws(() => assertClose([1], [NaN], { context: 'nan2' }), /not close/);
  assert.throws(() => assertClose([-Infinity], [Infinity], { context: 'inf' }), /not close/);
});

test('Rng is reproducible and roughly right', () => {
  const a = new Rng(7);
  const b = new Rng(7);
  const xs = Array.from({ length: 5 }, () => a.uniform());
  assert.equal(Array.from({ length: 5 }, () => b.uniform()), xs);
  const r = new Rng(seed);
  const n = randn(r, [20000]);
  const m = ref.mean(n).data[0];
  const v = ref.variance(n).data[0];
  assert.ok(Math.abs(m) < 0.05 && Math.abs(v - 1) < 0.05, ctx(`normal mean ${m} var ${v}`));
  const u = randu(r, [1000], -2, 3);
  assert.ok(u.data.every((e) => e >= -2 && e < 3));
  const ints = Array.from({ length: 1000 }, () => r.int(2, 4));
  assert.equal([...new Set(ints)].sort(), [2, 3, 4]);
  const d = randDistinct(r, [50], 0.1);
  const sorted = [...d.data].sort((p, q) => p - q);
  for (let i = 1; i < sorted.length; i++) assert.ok(sorted[i] - sorted[i - 1] > 0.05);
  assert.ok(Number.isInteger(randomSeed()));
});

test.run();
