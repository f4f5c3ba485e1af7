// float16 tensors through the ops written for float32, with PyTorch's semantics: computed in float32
// and rounded to float16 once (torch's opmath), the result dtype by torch.result_type (float16 unless
// a float32 tensor of rank > 0 takes part; the norms follow their input), gradients in each input's
// dtype. Forward against the float64 reference on the float16 values, rounded to float16 (one float16
// step apart at most: float32 and float64 may round a near-tie apart); gradients against finite
// differences of the reference for a float16 output gradient; no tensor or byte left behind.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { F, memory, nn, tensor, type Tensor } from '../../src/index.js';
import { gpu } from '../../src/gpu/index.js';
import { assertNear, context, fileRng, ref, roundF32, setup, toT64, type T64 } from './helpers.js';
import { roundToHalf } from '../reference/half.js';

const rng = fileRng('half-ops');

test.before(setup);

type DTypeName = 'float16' | 'float32';
const toHalfValues = (x: T64): T64 => ref.map(x, roundToHalf);
const leaf = (x: T64, dtype: DTypeName) => tensor(Float32Array.from(x.data), x.shape, { dtype, requiresGrad: true });

interface HalfCase {
  label: string;
  /** Input shapes and dtypes; values are drawn N(0, 1) and mapped by `domain` if given. */
  inputs: { shape: number[]; dtype: DTypeName; domain?: (v: number) => number; distinct?: boolean }[];
  forward: (ts: Tensor[]) => Tensor;
  reference: (xs: T64[]) => T64;
  /** The result dtype PyTorch gives. */
  result: DTypeName;
  /** Gradients are checked unless false (ops without one: eq). */
  gradients?: boolean;
}

async function checkCase(c: HalfCase): Promise<void> {
  const before = memory();
  const xs = c.inputs.map(({ shape, dtype, domain, distinct }) => {
    const drawn = distinct ? distinctValues(shape) : ref.map(ref.randn(rng, shape), domain ?? ((v) => v));
    return dtype === 'float16' ? toHalfValues(drawn) : roundF32(drawn);
  });
  const inputs = xs.map((x, i) => leaf(x, c.inputs[i]!.dtype));
  const y = c.forward(inputs);
  assert.is(y.dtype, c.result, context(`${c.label}: result dtype`));
  const expected = c.reference(xs);
  const rounded = c.result === 'float16' ? toHalfValues(expected) : expected;
  assertNear(await toT64(y), rounded, `${c.label}: forward`, c.result === 'float16' ? 1e-3 : 1e-5, 1e-4);
  if (c.gradients !== false) {
    const g = toHalfValues(ref.randn(rng, expected.shape));
    const gy = tensor(Float32Array.from(g.data), g.shape, { dtype: c.result });
    y.backward(gy);
    gy.dispose();
    for (let i = 0; i < inputs.length; i++) {
      const grad = inputs[i]!.grad!;
      assert.is(grad.dtype, c.inputs[i]!.dtype, context(`${c.label}: gradient ${i} dtype`));
      assertNear(await toT64(grad), ref.numericGrad(c.reference, xs, i, g), `${c.label}: gradient of input ${i}`, 3e-3, 3e-3);
    }
  }
  for (const t of [...inputs, y]) t.dispose();
  const after = memory();
  assert.is(after.liveTensors, before.liveTensors, context(`${c.label}: live tensors`));
  assert.is(after.bytesInUse, before.bytesInUse, context(`${c.label}: bytes in use`));
}

const half = (shape: number[], domain?: (v: number) => number) => ({ shape, dtype: 'float16' as const, domain });
/** Distinct values (k - n/2) / 8 in random order, exact in float16: no ties for max-style ops, whose finite differences split at a tie. */
function distinctValues(shape: number[]): T64 {
  const n = shape.reduce((a, b) => a * b, 1);
  const values = Array.from({ length: n }, (_, k) => (k - n / 2) / 8);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [values[i], values[j]] = [values[j]!, values[i]!];
  }
  return { shape, data: Float64Array.from(values) };
}
const distinctHalf = (shape: number[]) => ({ shape, dtype: 'float16' as const, distinct: true });
const single = (shape: number[]) => ({ shape, dtype: 'float32' as const });
const positive = (v: number) => Math.abs(v) + 0.5;
const oddShape = () => [rng.int(1, 3), rng.int(2, 5), rng.int(3, 9)];

test('unary ops and activations on float16 (odd shapes): float16 results, float16 gradients', async () => {
  const unary: [string, (x: Tensor) => Tensor, (x: T64) => T64, ((v: number) => number)?][] = [
    ['neg', F.neg, ref.neg],
    ['exp', F.exp, ref.exp],
    ['log', F.log, ref.log, positive],
    ['sqrt', F.sqrt, ref.sqrt, positive],
    ['abs', F.abs, ref.abs, (v) => v + Math.sign(v) * 0.05],
    ['clamp', (x) => F.clamp(x, -0.5, 0.75), (x) => ref.clamp(x, -0.5, 0.75), (v) => (Math.abs(v + 0.5) < 0.02 || Math.abs(v - 0.75) < 0.02 ? v + 0.1 : v)],
    ['relu', F.relu, ref.relu, (v) => v + Math.sign(v) * 0.05],
    ['leakyRelu', (x) => F.leakyRelu(x, 0.2), (x) => ref.leakyRelu(x, 0.2), (v) => v + Math.sign(v) * 0.05],
    ['sigmoid', F.sigmoid, ref.sigmoid],
    ['tanh', F.tanh, ref.tanh],
  ];
  for (const [name, op, reference, domain] of unary) {
    await checkCase({ label: name, inputs: [half(oddShape(), domain)], forward: ([x]) => op(x!), reference: ([x]) => reference(x!), result: 'float16' });
  }
});

test('binary ops on float16 with broadcasting, and scalars', async () => {
  const [A, B, C] = [rng.int(2, 4), rng.int(2, 5), rng.int(3, 7)];
  const nonZero = (v: number) => Math.sign(v || 1) * (Math.abs(v) + 0.5);
  const apart = (v: number) => v + 0.3 * Math.sign(v);
  await checkCase({ label: 'add broadcast', inputs: [half([A, B, C]), half([B, 1])], forward: ([a, b]) => F.add(a!, b!), reference: ([a, b]) => ref.add(a!, b!), result: 'float16' });
  await checkCase({ label: 'sub', inputs: [half([A, 1, C]), half([B, C])], forward: ([a, b]) => F.sub(a!, b!), reference: ([a, b]) => ref.sub(a!, b!), result: 'float16' });
  await checkCase({ label: 'mul', inputs: [half([A, B, C]), half([C])], forward: ([a, b]) => F.mul(a!, b!), reference: ([a, b]) => ref.mul(a!, b!), result: 'float16' });
  await checkCase({ label: 'div', inputs: [half([A, B, C]), half([A, B, C], nonZero)], forward: ([a, b]) => F.div(a!, b!), reference: ([a, b]) => ref.div(a!, b!), result: 'float16' });
  await checkCase({ label: 'maximum', inputs: [half([A, C], apart), half([A, C], (v) => -apart(v))], forward: ([a, b]) => F.maximum(a!, b!), reference: ([a, b]) => ref.maximum(a!, b!), result: 'float16' });
  await checkCase({ label: 'pow scalar', inputs: [half([A, C], positive)], forward: ([a]) => F.pow(a!, 1.5), reference: ([a]) => ref.pow(a!, 1.5), result: 'float16' });
  await checkCase({ label: 'x · scalar', inputs: [half([A, B])], forward: ([a]) => F.mul(a!, 0.3), reference: ([a]) => ref.mul(a!, 0.3), result: 'float16' });
  await checkCase({ label: 'scalar - x', inputs: [half([A, B])], forward: ([a]) => F.sub(2, a!), reference: ([a]) => ref.sub(2, a!), result: 'float16' });
});

test('torch.result_type: a float32 tensor of rank > 0 promotes to float32; a rank-0 float32 does not; gradients keep each input dtype', async () => {
  const [A, B] = [rng.int(2, 5), rng.int(2, 6)];
  await checkCase({ label: 'float16 + float32', inputs: [half([A, B]), single([A, B])], forward: ([a, b]) => F.add(a!, b!), reference: ([a, b]) => ref.add(a!, b!), result: 'float32' });
  await checkCase({ label: 'float32 · float16 (broadcast)', inputs: [single([B]), half([A, B])], forward: ([a, b]) => F.mul(a!, b!), reference: ([a, b]) => ref.mul(a!, b!), result: 'float32' });
  await checkCase({ label: 'float16 + rank-0 float32', inputs: [half([A, B]), single([])], forward: ([a, b]) => F.add(a!, b!), reference: ([a, b]) => ref.add(a!, b!), result: 'float16' });
  await checkCase({ label: 'rank-0 float16 + rank-0 float32', inputs: [half([]), single([])], forward: ([a, b]) => F.add(a!, b!), reference: ([a, b]) => ref.add(a!, b!), result: 'float32' });
  await checkCase({ label: 'cat float16 and float32', inputs: [half([A, B]), single([1, B])], forward: (ts) => F.cat(ts, 0), reference: (xs) => ref.cat(xs, 0), result: 'float32' });
});

test('reductions, shape ops and losses on float16', async () => {
  const shape = [rng.int(2, 4), rng.int(2, 5), rng.int(3, 7)];
  await checkCase({ label: 'sum over dims', inputs: [half(shape)], forward: ([x]) => F.sum(x!, [0, 2]), reference: ([x]) => ref.sum(x!, [0, 2]), result: 'float16' });
  await checkCase({ label: 'mean keepdim', inputs: [half(shape)], forward: ([x]) => F.mean(x!, 1, { keepdim: true }), reference: ([x]) => ref.mean(x!, 1, true), result: 'float16' });
  await checkCase({ label: 'max over a dim', inputs: [distinctHalf(shape)], forward: ([x]) => F.max(x!, 2), reference: ([x]) => ref.max(x!, 2), result: 'float16' });
  await checkCase({ label: 'permute', inputs: [half(shape)], forward: ([x]) => F.permute(x!, [2, 0, 1]), reference: ([x]) => ref.permute(x!, [2, 0, 1]), result: 'float16' });
  await checkCase({ label: 'slice with a step', inputs: [half(shape)], forward: ([x]) => F.slice(x!, 2, 1, undefined, 2), reference: ([x]) => ref.slice(x!, 2, 1, undefined, 2), result: 'float16' });
  await checkCase({ label: 'cat', inputs: [half(shape), half(shape)], forward: (ts) => F.cat(ts, 1), reference: (xs) => ref.cat(xs, 1), result: 'float16' });
  await checkCase({ label: 'reflect pad', inputs: [half([2, ...shape])], forward: ([x]) => F.pad(x!, [2, 1, 1, 1], 'reflect'), reference: ([x]) => ref.pad(x!, [2, 1, 1, 1], 'reflect'), result: 'float16' });
  await checkCase({ label: 'expand', inputs: [half([shape[0]!, 1, shape[2]!])], forward: ([x]) => F.expand(x!, shape), reference: ([x]) => ref.broadcastTo(x!, shape), result: 'float16' });
  await checkCase({ label: 'logSoftmax', inputs: [half(shape)], forward: ([x]) => F.logSoftmax(x!, 1), reference: ([x]) => ref.logSoftmax(x!, 1), result: 'float16' });
  const classes = rng.int(2, 7);
  const rows = rng.int(1, 9);
  const labels = Array.from({ length: rows }, () => rng.int(0, classes - 1));
  await checkCase({ label: 'crossEntropy', inputs: [half([rows, classes])], forward: ([x]) => F.crossEntropy(x!, labels), reference: ([x]) => ref.crossEntropy(x!, labels), result: 'float16' });
  await checkCase({ label: 'mseLoss', inputs: [half(shape), half(shape)], forward: ([a, b]) => F.mseLoss(a!, b!), reference: ([a, b]) => ref.mseLoss(a!, b!), result: 'float16' });
});

test('maxWithIndices, argmax and maxPool2dWithIndices on float16: float16 values, float32 indices as for float32 input', async () => {
  const x64 = toHalfValues(ref.map(ref.randn(rng, [2, 3, 7, 5]), (v) => v * 3));
  const x = tensor(Float32Array.from(x64.data), x64.shape, { dtype: 'float16' });
  const { values, indices } = F.maxWithIndices(x, 3);
  assert.is(values.dtype, 'float16', context('maxWithIndices values dtype'));
  assert.is(indices.dtype, 'float32', context('maxWithIndices indices dtype'));
  assertNear(await toT64(values), ref.max(x64, 3), 'maxWithIndices values', 0, 0);
  assertNear(await toT64(indices), ref.argmax(x64, 3), 'maxWithIndices indices', 0, 0);
  const arg = F.argmax(x, 2);
  assert.is(arg.dtype, 'float32', context('argmax dtype'));
  assertNear(await toT64(arg), ref.argmax(x64, 2), 'argmax', 0, 0);
  const pool = F.maxPool2dWithIndices(x, { kernelSize: 3, stride: 2, padding: 1 });
  assert.is(pool.values.dtype, 'float16', context('maxPool2d values dtype'));
  assertNear(await toT64(pool.values), ref.maxPool2d(x64, { kernelSize: 3, stride: 2, padding: 1 }), 'maxPool2d values', 0, 0);
  assertNear(await toT64(pool.indices), ref.maxPool2dIndices(x64, { kernelSize: 3, stride: 2, padding: 1 }), 'maxPool2d indices', 0, 0);
  for (const t of [x, values, indices, arg, pool.values, pool.indices]) t.dispose();
});

test('pooling, max-feature-map and the norms on float16 (float32 affine parameters and running statistics)', async () => {
  const [N, C, H, W] = [rng.int(2, 3), 2 * rng.int(1, 3), rng.int(5, 9), rng.int(5, 9)];
  await checkCase({ label: 'maxPool2d', inputs: [distinctHalf([N, C, H, W])], forward: ([x]) => F.maxPool2d(x!, { kernelSize: 2, stride: 2, ceilMode: true }), reference: ([x]) => ref.maxPool2d(x!, { kernelSize: 2, stride: 2, ceilMode: true }), result: 'float16' });
  await checkCase({ label: 'avgPool2d', inputs: [half([N, C, H, W])], forward: ([x]) => F.avgPool2d(x!, { kernelSize: 3, stride: 2, padding: 1 }), reference: ([x]) => ref.avgPool2d(x!, { kernelSize: 3, stride: 2, padding: 1 }), result: 'float16' });
  await checkCase({ label: 'mfm', inputs: [distinctHalf([N, C, H, W])], forward: ([x]) => F.mfm(x!), reference: ([x]) => ref.mfm(x!), result: 'float16' });
  await checkCase({
    label: 'batchNorm (training, affine)',
    inputs: [half([N, C, H, W]), single([C]), single([C])],
    forward: ([x, w, b]) => F.batchNorm(x!, undefined, undefined, w, b, { training: true }),
    reference: ([x, w, b]) => ref.batchNorm(x!, null, null, w, b, { training: true }).out,
    result: 'float16',
  });
  await checkCase({
    label: 'instanceNorm (affine)',
    inputs: [half([N, C, H, W]), single([C]), single([C])],
    forward: ([x, w, b]) => F.instanceNorm(x!, w, b),
    reference: ([x, w, b]) => ref.instanceNorm(x!, w, b),
    result: 'float16',
  });
});

test('the norms read and write float16 natively: batch (training and eval) and instance norm with each fused activation, batchNormMfm, runs of 1 and of 4', async () => {
  const activations = [{}, { activation: 'relu' as const }, { activation: 'leakyRelu' as const, negativeSlope: 0.2 }, { activation: 'tanh' as const }];
  const refActivation = (y: T64, o: { activation?: string; negativeSlope?: number }) =>
    o.activation === 'relu' ? ref.relu(y) : o.activation === 'leakyRelu' ? ref.leakyRelu(y, o.negativeSlope) : o.activation === 'tanh' ? ref.tanh(y) : y;
  for (const [H, W] of [[4, 6], [3, 5]]) {
    const [N, C] = [rng.int(2, 3), 2 * rng.int(1, 3)];
    const shape = [N, C, H!, W!];
    const runs = (H! * W!) % 4 === 0 ? 'runs of 4' : 'runs of 1';
    for (const o of activations) {
      const label = `${runs}, ${o.activation ?? 'no activation'}`;
      await checkCase({ label: `batchNorm ${label}`, inputs: [half(shape), single([C]), single([C])], forward: ([x, w, b]) => F.batchNorm(x!, undefined, undefined, w, b, { training: true, ...o }), reference: ([x, w, b]) => refActivation(ref.batchNorm(x!, null, null, w, b, { training: true }).out, o), result: 'float16' });
      await checkCase({ label: `instanceNorm ${label}`, inputs: [half(shape), single([C]), single([C])], forward: ([x, w, b]) => F.instanceNorm(x!, w, b, o), reference: ([x, w, b]) => refActivation(ref.instanceNorm(x!, w, b), o), result: 'float16' });
    }
    const spread = (v: number) => v * 4;
    const stats = [ref.randn(rng, [C]), ref.map(ref.randn(rng, [C]), (v) => Math.abs(v) + 0.5)].map(roundF32);
    const running = () => stats.map((t) => tensor(Float32Array.from(t.data), t.shape));
    await checkCase({
      label: `batchNorm eval ${runs}`,
      inputs: [half(shape), single([C]), single([C])],
      forward: ([x, w, b]) => {
        const [mean, variance] = running();
        const y = F.batchNorm(x!, mean, variance, w, b, { training: false });
        mean!.dispose();
        variance!.dispose();
        return y;
      },
      reference: ([x, w, b]) => ref.batchNorm(x!, stats[0], stats[1], w, b, { training: false }).out,
      result: 'float16',
    });
    await checkCase({ label: `batchNormMfm ${runs}`, inputs: [half(shape, spread), single([C]), single([C])], forward: ([x, w, b]) => F.batchNormMfm(x!, undefined, undefined, w, b, { training: true }), reference: ([x, w, b]) => ref.mfm(ref.batchNorm(x!, null, null, w, b, { training: true }).out), result: 'float16' });
  }
  const x = tensor(Float32Array.from(ref.randn(rng, [2, 4, 4, 4]).data), [2, 4, 4, 4], { dtype: 'float16', requiresGrad: true });
  const gy = tensor(Float32Array.from(ref.randn(rng, [2, 4, 4, 4]).data), [2, 4, 4, 4], { dtype: 'float16' });
  let y: Tensor | undefined;
  const { timings } = await gpu().profile(async () => {
    y = F.instanceNorm(x, undefined, undefined, { activation: 'relu' });
    y.backward(gy);
    await gpu().sync();
  });
  const names = timings.map((t) => t.name);
  assert.ok(names.every((name) => !name.startsWith('cast.') && (!name.startsWith('norm.') || name.endsWith('.f16'))), context(`the float16 norm runs float16 kernels and no cast: ${names.join(', ')}`));
  for (const t of [x, gy, y!]) t.dispose();
});

test('the pools read and write float16 natively on each path: 2 x 2 quads, tiling windows, overlapping windows, average', async () => {
  const cases = [
    { label: 'max 2 x 2 quads', shape: [2, 3, 6, 16], options: { kernelSize: 2, stride: 2 }, kernel: 'pool.maxBackwardQuads.f16' },
    { label: 'max 3 x 3 tiles', shape: [2, 3, 9, 7], options: { kernelSize: 3, stride: 3, ceilMode: true }, kernel: 'pool.maxBackwardTiles.f16' },
    { label: 'max 3 x 3 / 2 overlapping', shape: [2, 3, 9, 7], options: { kernelSize: 3, stride: 2, padding: 1 }, kernel: 'pool.maxBackward.f16' },
  ];
  for (const c of cases) {
    await checkCase({ label: c.label, inputs: [distinctHalf(c.shape)], forward: ([x]) => F.maxPool2d(x!, c.options), reference: ([x]) => ref.maxPool2d(x!, c.options), result: 'float16' });
    const x = tensor(Float32Array.from(ref.randn(rng, c.shape).data), c.shape, { dtype: 'float16', requiresGrad: true });
    const y0 = F.maxPool2d(x, c.options);
    const gy = tensor(Float32Array.from(ref.randn(rng, [...y0.shape]).data), [...y0.shape], { dtype: 'float16' });
    y0.dispose();
    let y: Tensor | undefined;
    const { timings } = await gpu().profile(async () => {
      y = F.maxPool2d(x, c.options);
      y.backward(gy);
      await gpu().sync();
    });
    const names = timings.map((t) => t.name);
    assert.ok(names.includes(c.kernel) && !names.some((name) => name.startsWith('cast.')), context(`${c.label}: ${c.kernel} and no cast (${names.join(', ')})`));
    for (const t of [x, gy, y!]) t.dispose();
  }
  await checkCase({ label: 'avg 3 x 3 / 2, ceil, no pad counted', inputs: [half([2, 3, 9, 8])], forward: ([x]) => F.avgPool2d(x!, { kernelSize: 3, stride: 2, padding: 1, ceilMode: true, countIncludePad: false }), reference: ([x]) => ref.avgPool2d(x!, { kernelSize: 3, stride: 2, padding: 1, ceilMode: true, countIncludePad: false }), result: 'float16' });
});

test('BatchNorm2d on a float16 input updates its float32 running statistics as on the same values in float32', async () => {
  const x64 = toHalfValues(ref.randn(rng, [3, 4, 5, 6]));
  const layers = [new nn.BatchNorm2d(4), new nn.BatchNorm2d(4)];
  const outputs = [
    layers[0]!.call(tensor(Float32Array.from(x64.data), x64.shape, { dtype: 'float16' })),
    layers[1]!.call(tensor(Float32Array.from(x64.data), x64.shape)),
  ];
  assert.is(outputs[0]!.dtype, 'float16', context('BatchNorm2d output dtype'));
  assert.is(layers[0]!.runningMean!.dtype, 'float32', context('running mean dtype'));
  assertNear(await toT64(layers[0]!.runningMean!), await toT64(layers[1]!.runningMean!), 'running mean', 0, 0);
  assertNear(await toT64(layers[0]!.runningVar!), await toT64(layers[1]!.runningVar!), 'running variance', 0, 0);
  assertNear(await toT64(outputs[0]!), toHalfValues(await toT64(outputs[1]!)), 'output: the float32 output rounded', 0, 0);
});

test('dropout on float16: the same mask as on float32 for a seed; in eval mode the input itself', async () => {
  const x64 = toHalfValues(ref.randn(rng, [4, 33]));
  const x = tensor(Float32Array.from(x64.data), x64.shape, { dtype: 'float16' });
  const x32 = tensor(Float32Array.from(x64.data), x64.shape);
  const seed = rng.int(1, 1e9);
  const y = F.dropout(x, 0.3, true, seed);
  const y32 = F.dropout(x32, 0.3, true, seed);
  assert.is(y.dtype, 'float16', context('dropout dtype'));
  assertNear(await toT64(y), toHalfValues(await toT64(y32)), 'dropout: float32 dropout rounded', 0, 0);
  assert.is(F.dropout(x, 0.3, false), x, context('eval-mode dropout hands back its input'));
  for (const t of [x, x32, y, y32]) t.dispose();
});

test('linear with the fused relu on float16 operands', async () => {
  const [rows, inF, outF] = [rng.int(1, 7), rng.int(1, 17), rng.int(1, 9)];
  const apart = (v: number) => v + 0.2 * Math.sign(v);
  await checkCase({
    label: `linear relu [${rows},${inF}] -> ${outF}`,
    inputs: [half([rows, inF], apart), half([outF, inF]), single([outF])],
    forward: ([x, w, b]) => F.linear(x!, w!, b, 'relu'),
    reference: ([x, w, b]) => ref.relu(ref.linear(x!, w!, b)),
    result: 'float16',
  });
});

/** Gradients of x and weight through `op` for output gradient g, and the kernels that ran. */
async function mfmGradients(op: (x: Tensor, w: Tensor) => Tensor, xs: T64[], g: T64, dtype: DTypeName): Promise<{ grads: T64[]; kernels: Map<string, number> }> {
  const inputs = xs.map((x) => leaf(x, dtype));
  let grads: T64[] = [];
  const { timings } = await gpu().profile(async () => {
    const y = op(inputs[0]!, inputs[1]!);
    const gy = tensor(Float32Array.from(g.data), g.shape, { dtype });
    y.backward(gy);
    grads = await Promise.all(inputs.map((t) => toT64(t.grad!)));
    for (const t of [y, gy]) t.dispose();
  });
  for (const t of inputs) t.dispose();
  return { grads, kernels: new Map(timings.map((t) => [t.name, t.calls])) };
}

test('conv2dMfm and conv2dMfmMaxPool2d backward on float16: the mfm kernels write the float16 gradient the conv kernels read (both pool entry points, in binding-sized runs)', async () => {
  // Sizes whose per-image byte counts are multiples of the 256-byte binding offset alignment, so runs of 2 images can bind.
  const [N, Cin, C, H, W] = [5, 4, 8, 16, 16];
  const cases = [
    { label: 'conv2dMfm', window: 1, op: (x: Tensor, w: Tensor) => F.conv2dMfm(x, w, undefined, { padding: 1 }), kernel: 'mfm.backwardFromMask.f16' },
    { label: 'mfm + 2 x 2 pool (pairs)', window: 2, op: (x: Tensor, w: Tensor) => F.conv2dMfmMaxPool2d(x, w, undefined, { padding: 1 }, { kernelSize: 2, stride: 2 }), kernel: 'mfmMaxPool.backwardPairs.f16' },
    { label: 'mfm + 4 x 4 pool', window: 4, op: (x: Tensor, w: Tensor) => F.conv2dMfmMaxPool2d(x, w, undefined, { padding: 1 }, { kernelSize: 4, stride: 4 }), kernel: 'mfmMaxPool.backward.f16' },
  ];
  for (const c of cases) {
    const xs = [toHalfValues(ref.randn(rng, [N, Cin, H, W])), toHalfValues(ref.randn(rng, [2 * C, Cin, 3, 3]))];
    const g = toHalfValues(ref.randn(rng, [N, C, H / c.window, W / c.window]));
    const single = await mfmGradients(c.op, xs, g, 'float32');
    // Two images' conv-output gradient (float16) per binding: the backward runs in three launches.
    gpu().setMaxBindingBytes(2 * 2 * C * H * W * 2);
    try {
      const halfRun = await mfmGradients(c.op, xs, g, 'float16');
      const launched = [...halfRun.kernels.keys()].join(', ');
      assert.is(halfRun.kernels.get(c.kernel), 3, context(`${c.label}: ${c.kernel} in 3 runs of 2 images (${launched})`));
      assert.not.ok([...halfRun.kernels.keys()].some((name) => /^(mfm|mfmMaxPool)\.backward/.test(name) && !name.endsWith('.f16')), context(`${c.label}: no float32 mfm backward (${launched})`));
      ['x', 'weight'].forEach((what, i) => assertNear(halfRun.grads[i]!, toHalfValues(single.grads[i]!), `${c.label}: ${what} gradient (float16 vs float32 on the same values)`, 1e-3, 1e-3));
    } finally {
      gpu().setMaxBindingBytes(undefined);
    }
  }
});

test('the float32-only kernels still refuse a float16 buffer handed to them directly', () => {
  const x = tensor([1, 2, 3], [3], { dtype: 'float16' });
  assert.throws(() => x.buffer, /takes float32 tensors, got a float16 tensor \[3\]: cast it with \.float\(\) first/);
  // The float16 storage itself is what bufferOf('float16') hands the kernels that read it.
  assert.is(x.bufferOf('float16').size, 16, 'three float16 values in one 16-byte pooled buffer');
  x.dispose();
});

test.run();
