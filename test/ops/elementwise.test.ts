// Elementwise arithmetic (NumPy broadcasting), unary maths, activations and dropout.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { F, noGrad, tensor, type Tensor } from '../../src/index.js';
import { assertNear, checkOp, context, draw, fileRng, forwardAndGradients, ref, roundF32, setup, throwsWith, toT64, type Draw, type T64 } from './helpers.js';

const rng = fileRng('elementwise');
await setup();

/** A few shapes per case: odd sizes, a batch, a random rank. */
const shapes = (): number[][] => [[rng.int(1, 9)], [rng.int(2, 4), rng.int(3, 7)], ref.randomShape(rng, rng.int(3, 4), 1, 5)];

/** Broadcast pairs in both directions, leading dims missing on either side, plus random pairs. */
function broadcastPairs(): [number[], number[]][] {
  const n = rng.int(2, 5);
  const m = rng.int(3, 6);
  return [
    [[n, m], [n, m]],
    [[3, 1, m], [n, m]],
    [[n, m], [3, 1, m]],
    [[2, n, 1], [1, m]],
    [[m], [2, n, m]],
    [[1], [n, m]],
    ref.randomBroadcastPair(rng, 4, 5),
    ref.randomBroadcastPair(rng, 4, 5),
  ];
}

/** Normal values kept at least `margin` from each of `points` (kinks of clamp and friends). */
const awayFrom = (points: number[], margin = 0.05): Draw => (r, shape) =>
  ref.map(ref.randn(r, shape), (v) => {
    for (const p of points) if (Math.abs(v - p) < margin) v = v < p ? p - margin : p + margin;
    return v;
  });

type Binary = (a: Tensor, b: Tensor) => Tensor;
type Binary64 = (a: T64, b: T64) => T64;
const binaries: [string, Binary, Binary64, Draw][] = [
  ['add', F.add, ref.add, draw.normal],
  ['sub', F.sub, ref.sub, draw.normal],
  ['mul', F.mul, ref.mul, draw.normal],
  ['div', F.div, ref.div, draw.positive],
];

for (const [name, op, reference, divisor] of binaries) {
  test(`${name} broadcasts like NumPy, forward and both gradients`, async () => {
    for (const [a, b] of broadcastPairs()) {
      await checkOp({ name, rng, inputs: [{ shape: a }, { shape: b, draw: divisor }], forward: ([x, y]) => op(x, y), reference: ([x, y]) => reference(x, y) });
    }
  });
}

test('binary ops with a scalar operand on either side', async () => {
  const shape = [rng.int(2, 5), rng.int(3, 7)];
  const c = Math.fround(rng.uniform(0.5, 3));
  await checkOp({ name: 'add(x, c)', rng, inputs: [shape], forward: ([x]) => F.add(x, c), reference: ([x]) => ref.add(x, c) });
  await checkOp({ name: 'add(c, x)', rng, inputs: [shape], forward: ([x]) => F.add(c, x), reference: ([x]) => ref.add(c, x) });
  await checkOp({ name: 'sub(x, c)', rng, inputs: [shape], forward: ([x]) => F.sub(x, c), reference: ([x]) => ref.sub(x, c) });
  await checkOp({ name: 'sub(c, x)', rng, inputs: [shape], forward: ([x]) => F.sub(c, x), reference: ([x]) => ref.sub(c, x) });
  await checkOp({ name: 'mul(x, c)', rng, inputs: [shape], forward: ([x]) => F.mul(x, -c), reference: ([x]) => ref.mul(x, -c) });
  await checkOp({ name: 'mul(c, x)', rng, inputs: [shape], forward: ([x]) => F.mul(c, x), reference: ([x]) => ref.mul(c, x) });
  await checkOp({ name: 'div(x, c)', rng, inputs: [shape], forward: ([x]) => F.div(x, c), reference: ([x]) => ref.div(x, c) });
  await checkOp({ name: 'div(c, x)', rng, inputs: [{ shape, draw: draw.positive }], forward: ([x]) => F.div(c, x), reference: ([x]) => ref.div(c, x) });
});

test('a gradient only for the operand that requires it', async () => {
  const [a, b] = [[3, 1, 5], [4, 5]];
  await checkOp({ name: 'mul (b constant)', rng, inputs: [{ shape: a }, { shape: b, requiresGrad: false }], forward: ([x, y]) => F.mul(x, y), reference: ([x, y]) => ref.mul(x, y) });
  await checkOp({ name: 'div (a constant)', rng, inputs: [{ shape: a, requiresGrad: false }, { shape: b, draw: draw.positive }], forward: ([x, y]) => F.div(x, y), reference: ([x, y]) => ref.div(x, y) });
});

const unaries: [string, (x: Tensor) => Tensor, (x: T64) => T64, Draw][] = [
  ['neg', F.neg, ref.neg, draw.normal],
  ['exp', F.exp, ref.exp, draw.normal],
  ['log', F.log, ref.log, draw.positive],
  ['sqrt', F.sqrt, ref.sqrt, draw.positive],
  ['abs', F.abs, ref.abs, draw.awayFromZero],
  ['relu', F.relu, ref.relu, draw.awayFromZero],
  ['leakyRelu', (x) => F.leakyRelu(x), (x) => ref.leakyRelu(x), draw.awayFromZero],
  ['leakyRelu(0.2)', (x) => F.leakyRelu(x, 0.2), (x) => ref.leakyRelu(x, 0.2), draw.awayFromZero],
  ['sigmoid', F.sigmoid, ref.sigmoid, (r, s) => ref.randn(r, s, 3)],
  ['tanh', F.tanh, ref.tanh, (r, s) => ref.randn(r, s, 2)],
  ['clamp(-0.5, 0.7)', (x) => F.clamp(x, -0.5, 0.7), (x) => ref.clamp(x, -0.5, 0.7), awayFrom([-0.5, 0.7])],
  ['clamp(min 0.2)', (x) => F.clamp(x, 0.2), (x) => ref.clamp(x, 0.2), awayFrom([0.2])],
  ['clamp(max -0.3)', (x) => F.clamp(x, undefined, -0.3), (x) => ref.clamp(x, undefined, -0.3), awayFrom([-0.3])],
  ['pow(x, 2)', (x) => F.pow(x, 2), (x) => ref.pow(x, 2), draw.normal],
  ['pow(x, 3)', (x) => F.pow(x, 3), (x) => ref.pow(x, 3), draw.normal],
  ['pow(x, -2)', (x) => F.pow(x, -2), (x) => ref.pow(x, -2), awayFrom([0], 0.4)],
  ['pow(x, 0.5)', (x) => F.pow(x, 0.5), (x) => ref.pow(x, 0.5), draw.positive],
  ['pow(x, -1.7)', (x) => F.pow(x, -1.7), (x) => ref.pow(x, -1.7), draw.positive],
  ['pow(2.5, x)', (x) => F.pow(2.5, x), (x) => ref.pow(2.5, x), draw.normal],
];

for (const [name, op, reference, values] of unaries) {
  test(`${name}: forward and gradient`, async () => {
    for (const shape of shapes()) await checkOp({ name, rng, inputs: [{ shape, draw: values }], forward: ([x]) => op(x), reference: ([x]) => reference(x) });
  });
}

test('pow with a tensor exponent, broadcast both ways', async () => {
  for (const [a, b] of [[[3, 4], [3, 4]], [[2, 1, 5], [3, 1]], [[5], [2, 3, 5]]]) {
    await checkOp({ name: 'pow(a, b)', rng, inputs: [{ shape: a, draw: draw.positive }, { shape: b, draw: draw.uniform(-2, 2) }], forward: ([x, y]) => F.pow(x, y), reference: ([x, y]) => ref.pow(x, y) });
  }
});

test('clamp with other bounds of the same textual length gets its own kernel', async () => {
  // Kernels whose sources differ only in literals once shared a cached pipeline.
  for (const [lo, hi] of [[-0.5, 0.75], [-0.25, 0.5], [-1.5, 0.25]]) {
    await checkOp({ name: `clamp(${lo}, ${hi})`, rng, inputs: [{ shape: [4, 9], draw: awayFrom([lo, hi]) }], forward: ([x]) => F.clamp(x, lo, hi), reference: ([x]) => ref.clamp(x, lo, hi) });
  }
});

test('maximum and minimum broadcast; the gradient goes to the larger (smaller) operand', async () => {
  for (const [a, b] of [[[3, 4], [3, 4]], [[2, 1, 5], [3, 1]], [[5], [2, 3, 5]]]) {
    // Distinct values across both operands: no ties within finite-difference reach.
    const pool = ref.randDistinct(rng, [a.reduce((x, y) => x * y, 1) + b.reduce((x, y) => x * y, 1)]);
    const first: Draw = (_, shape) => ref.t64(pool.data.slice(0, shape.reduce((x, y) => x * y, 1)), shape);
    const second: Draw = (_, shape) => ref.t64(pool.data.slice(pool.data.length - shape.reduce((x, y) => x * y, 1)), shape);
    await checkOp({ name: 'maximum', rng, inputs: [{ shape: a, draw: first }, { shape: b, draw: second }], forward: ([x, y]) => F.maximum(x, y), reference: ([x, y]) => ref.maximum(x, y) });
    await checkOp({ name: 'minimum', rng, inputs: [{ shape: a, draw: first }, { shape: b, draw: second }], forward: ([x, y]) => F.minimum(x, y), reference: ([x, y]) => ref.minimum(x, y) });
  }
  const x = tensor([1, 2, 3], [3], { requiresGrad: true });
  const y = tensor([1, 5, 0], [3], { requiresGrad: true });
  F.maximum(x, y).backward(tensor([1, 1, 1], [3]));
  assert.equal(Array.from(await x.grad!.toArray()), [0.5, 0, 1], 'maximum splits the gradient of a tie');
  assert.equal(Array.from(await y.grad!.toArray()), [0.5, 1, 0]);
});

test('NaN, ±inf and ties by hand: relu, clamp, tanh, leakyRelu, maximum and minimum, forward and gradients as PyTorch', async () => {
  const values = async (t: Tensor) => Array.from(await t.toArray());
  const x = () => tensor([1, NaN, 3, -2], [4], { requiresGrad: true });
  const ones = tensor([1, 1, 1, 1], [4]);
  const run = async (what: string, f: (t: Tensor) => Tensor, forward: number[], gradient: number[]) => {
    const input = x();
    const y = f(input);
    assertNear(await values(y), ref.t64(forward, [4]), `${what}: forward`, 1e-6);
    y.backward(ones);
    assertNear(await values(input.grad!), ref.t64(gradient, [4]), `${what}: gradient`, 1e-6);
  };
  // relu's backward is threshold_backward(g, relu(x), 0): a NaN output passes the gradient.
  await run('relu', (t) => F.relu(t), [1, NaN, 3, 0], [1, 1, 1, 0]);
  // clamp's backward passes where min <= x <= max, which NaN is not.
  await run('clamp(-1, 2)', (t) => F.clamp(t, -1, 2), [1, NaN, 2, -1], [1, 0, 0, 0]);
  await run('clamp(2, -1): min > max gives max', (t) => F.clamp(t, 2, -1), [-1, NaN, -1, -1], [0, 0, 0, 0]);
  await run('clamp(NaN, 2): a NaN bound gives NaN', (t) => F.clamp(t, NaN, 2), [NaN, NaN, NaN, NaN], [0, 0, 0, 0]);
  await run('tanh', (t) => F.tanh(t), [Math.tanh(1), NaN, Math.tanh(3), Math.tanh(-2)], [1 - Math.tanh(1) ** 2, NaN, 1 - Math.tanh(3) ** 2, 1 - Math.tanh(-2) ** 2]);
  await run('leakyRelu(0.5)', (t) => F.leakyRelu(t, 0.5), [1, NaN, 3, -1], [1, 0.5, 1, 0.5]);
  // torch.maximum's backward: a NaN in either operand sends all of g to both.
  const zero = () => tensor([0, 0, 0, 0], [4], { requiresGrad: true });
  for (const [name, op, forward, gradX, gradZero] of [
    ['maximum', F.maximum, [1, NaN, 3, 0], [1, 1, 1, 0], [0, 1, 0, 1]],
    ['minimum', F.minimum, [0, NaN, 0, -2], [0, 1, 0, 1], [1, 1, 1, 0]],
  ] as const) {
    const a = x();
    const b = zero();
    const y = op(a, b);
    assert.equal(await values(y), [...forward], context(`${name}(x, 0): forward`));
    y.backward(ones);
    assert.equal(await values(a.grad!), [...gradX], context(`${name}(x, 0): gradient of x`));
    assert.equal(await values(b.grad!), [...gradZero], context(`${name}(x, 0): gradient of 0`));
  }
  const infs = () => tensor([-Infinity, Infinity, NaN, 0], [4], { requiresGrad: true });
  const infRun = async (what: string, f: (t: Tensor) => Tensor, forward: number[], gradient: number[]) => {
    const input = infs();
    const y = f(input);
    assert.equal(await values(y), forward, context(`${what}: forward`));
    y.backward(ones);
    assert.equal(await values(input.grad!), gradient, context(`${what}: gradient`));
  };
  await infRun('relu(±inf)', (t) => F.relu(t), [0, Infinity, NaN, 0], [0, 1, 1, 0]);
  // An infinite bound still tests x: -inf >= -inf passes; NaN fails every bound.
  await infRun('clamp(-inf, 1)', (t) => F.clamp(t, -Infinity, 1), [-Infinity, 1, NaN, 0], [1, 0, 0, 1]);
  await infRun('clamp(max 1)', (t) => F.clamp(t, undefined, 1), [-Infinity, 1, NaN, 0], [1, 0, 0, 1]);
  await infRun('clamp(min 0)', (t) => F.clamp(t, 0), [0, Infinity, NaN, 0], [0, 1, 0, 1]);
  await infRun('clamp(min 0, max inf)', (t) => F.clamp(t, 0, Infinity), [0, Infinity, NaN, 0], [0, 1, 0, 1]);
  await infRun('tanh(±inf)', (t) => F.tanh(t), [-1, 1, NaN, 0], [0, 0, NaN, 1]);
  const a = tensor([Infinity, -Infinity, 2], [3], { requiresGrad: true });
  const b = tensor([Infinity, -Infinity, 2], [3], { requiresGrad: true });
  F.maximum(a, b).backward(tensor([1, 1, 1], [3]));
  assert.equal(await values(a.grad!), [0.5, 0.5, 0.5], context('maximum splits ties at ±inf'));
  assert.equal(await values(b.grad!), [0.5, 0.5, 0.5], context('maximum splits ties at ±inf'));
});

test('relu, clamp, maximum and minimum on random data with ties, NaN and ±inf (broadcast too): forward and gradients against the float64 rules', async () => {
  for (const shape of shapes()) {
    const x = ref.randWithSpecials(rng, shape);
    const g = roundF32(ref.randn(rng, shape));
    const [y, gx] = await forwardAndGradients(([t]) => F.relu(t), [x], g);
    assertNear(y, ref.relu(x), `relu([${shape}]): forward`);
    assertNear(gx, ref.reluBackward(x, g), `relu([${shape}]): gradient`);
    // Integer bounds, so some elements sit exactly on them; one case with min > max.
    const lo = rng.int(-3, 1);
    for (const [min, max] of [[lo, lo + rng.int(0, 3)], [lo, undefined], [undefined, lo], [lo + 1, lo - 1], [-Infinity, lo]]) {
      const what = `clamp([${shape}], ${min}, ${max})`;
      const [c, gc] = await forwardAndGradients(([t]) => F.clamp(t, min, max), [x], g);
      assertNear(c, ref.clamp(x, min, max), `${what}: forward`);
      assertNear(gc, ref.clampBackward(x, g, min, max), `${what}: gradient`);
    }
  }
  for (const [aShape, bShape] of broadcastPairs().slice(0, 5)) {
    const a = ref.randWithSpecials(rng, aShape);
    const b = ref.randWithSpecials(rng, bShape);
    for (const [name, op, forward, backward] of [
      ['maximum', F.maximum, ref.maximum, ref.maximumBackward],
      ['minimum', F.minimum, ref.minimum, ref.minimumBackward],
    ] as const) {
      const expected = forward(a, b);
      const g = roundF32(ref.randn(rng, expected.shape));
      const what = `${name}([${aShape}], [${bShape}])`;
      const [y, ga, gb] = await forwardAndGradients(([s, t]) => op(s, t), [a, b], g);
      const [ea, eb] = backward(a, b, g);
      assertNear(y, expected, `${what}: forward`);
      assertNear(ga, ea, `${what}: gradient of a`);
      assertNear(gb, eb, `${what}: gradient of b`);
    }
  }
});

test('sigmoid and tanh saturate without NaN', async () => {
  const x = tensor([-200, -90, -20, 0, 20, 90, 200], [7]);
  const s = await toT64(F.sigmoid(x));
  const t = await toT64(F.tanh(x));
  const x64 = ref.t64([-200, -90, -20, 0, 20, 90, 200], [7]);
  ref.assertClose(s, ref.sigmoid(x64), { atol: 1e-7, rtol: 1e-5, context: context('sigmoid saturation') });
  ref.assertClose(t, ref.tanh(x64), { atol: 1e-7, rtol: 1e-5, context: context('tanh saturation') });
});

test('dropout: the same seed gives the same mask, another seed another', async () => {
  const x = tensor(Float32Array.from({ length: 999 }, (_, i) => 1 + (i % 7)), [27, 37]);
  const a = await F.dropout(x, 0.3, true, 1234).toArray();
  const b = await F.dropout(x, 0.3, true, 1234).toArray();
  const c = await F.dropout(x, 0.3, true, 4321).toArray();
  assert.equal(a, b, 'same seed, same output');
  assert.ok(a.some((v, i) => v !== c[i]), 'different seeds should give different masks');
});

test('dropout: identity in eval mode and for p = 0; zeros for p = 1', async () => {
  const x64 = ref.randn(rng, [5, 7]);
  const x = tensor(Float32Array.from(x64.data), [5, 7]);
  assert.equal(await F.dropout(x, 0.5, false).toArray(), await x.toArray());
  assert.equal(await F.dropout(x, 0, true, 7).toArray(), await x.toArray());
  assert.ok((await F.dropout(x, 1, true, 7).toArray()).every((v) => v === 0));
  throwsWith(() => F.dropout(x, 1.5), /probability/, 'dropout p > 1');
  // PyTorch: "dropout probability has to be between 0 and 1, but got nan".
  throwsWith(() => F.dropout(x, NaN), /probability must be in \[0, 1\], got NaN/, 'dropout p NaN');
});

test('dropout: kept fraction near 1 - p, kept values scaled by 1 / (1 - p), gradient through the same mask', async () => {
  for (const p of [0.1, 0.5, 0.8]) {
    const n = 20000;
    const x64 = ref.randu(rng, [100, 200], 0.5, 2);
    const x = tensor(Float32Array.from(x64.data), [100, 200], { requiresGrad: true });
    const y = F.dropout(x, p, true, rng.u32());
    const values = await y.toArray();
    let kept = 0;
    for (let i = 0; i < n; i++) {
      if (values[i] === 0) continue;
      kept++;
      const expected = Math.fround(x64.data[i]) * Math.fround(1 / (1 - p));
      assert.ok(Math.abs(values[i] - expected) <= 1e-6 * Math.abs(expected), context(`dropout p=${p}: element ${i} is ${values[i]}, expected 0 or ${expected}`));
    }
    // Binomial(n, 1 - p): five standard deviations.
    const sd = Math.sqrt(n * p * (1 - p));
    assert.ok(Math.abs(kept - n * (1 - p)) < 5 * sd, context(`dropout p=${p}: kept ${kept} of ${n}, expected about ${n * (1 - p)}`));
    const g64 = ref.randn(rng, [100, 200]);
    y.backward(tensor(Float32Array.from(g64.data), [100, 200]));
    const grad = await x.grad!.toArray();
    for (let i = 0; i < n; i++) {
      const expected = values[i] === 0 ? 0 : Math.fround(g64.data[i]) * Math.fround(1 / (1 - p));
      assert.ok(Math.abs(grad[i] - expected) <= 1e-6 * Math.abs(expected), context(`dropout p=${p}: gradient ${i} is ${grad[i]}, expected ${expected}`));
    }
  }
});

test('dropout: neighbouring seeds and positions are not correlated', async () => {
  // A bad hash shows up as masks that agree far more (or less) often than chance.
  const x = tensor(new Float32Array(4096).fill(1), [4096]);
  const a = await F.dropout(x, 0.5, true, 1).toArray();
  const b = await F.dropout(x, 0.5, true, 2).toArray();
  let agree = 0;
  for (let i = 0; i < a.length; i++) if ((a[i] === 0) === (b[i] === 0)) agree++;
  assert.ok(Math.abs(agree - 2048) < 5 * 32, context(`masks of seeds 1 and 2 agree on ${agree} of 4096`));
});

test('an op handed an array, a number, a string or nothing where it takes a tensor says so (not a TypeError from inside)', () => {
  const x = tensor(Float32Array.from({ length: 6 }, () => rng.normal()), [2, 3]);
  const values = [1, 2, 3] as never;
  const needs = (op: string, name: string, what: string) => new RegExp(`^${op}: ${name} must be a Tensor( or a number)?, got ${what}; make one with tensor\\(values, shape\\)$`);
  throwsWith(() => F.exp(3 as never), needs('exp', 'input', 'number'), 'exp(3)');
  throwsWith(() => F.relu(values), needs('relu', 'input', 'an array'), 'relu([1, 2, 3])');
  throwsWith(() => F.add(values, x), needs('add', 'the first operand', 'an array'), 'add(array, x)');
  throwsWith(() => F.mul(x, '2' as never), needs('mul', 'the second operand', 'string'), "mul(x, '2')");
  // Two numbers: add and mul swapped them back and forth until the stack overflowed.
  throwsWith(() => F.add(1, 2), /add: at least one operand must be a tensor/, 'add(1, 2)');
  throwsWith(() => F.mul(1, 2), /mul: at least one operand must be a tensor/, 'mul(1, 2)');
  throwsWith(() => F.matmul(x, new Float32Array(3) as never), needs('matmul', 'the second operand', 'a typed array'), 'matmul(x, Float32Array)');
  throwsWith(() => F.linear(x, undefined as never), needs('linear', 'weight', 'undefined'), 'linear without weight');
  throwsWith(() => F.conv2d(null as never, x), needs('conv2d', 'input', 'null'), 'conv2d(null)');
  throwsWith(() => F.sum(values), needs('sum', 'input', 'an array'), 'sum(array)');
  throwsWith(() => F.softmax(values, 0), needs('softmax', 'input', 'an array'), 'softmax(array)');
  throwsWith(() => F.cat([x, values]), needs('cat', 'tensor 1', 'an array'), 'cat([x, array])');
  throwsWith(() => F.reshape(values, [3]), needs('reshape', 'input', 'an array'), 'reshape(array)');
  throwsWith(() => F.reshape(x, '3, 2' as never), /reshape: the shape must be an array of integers such as \[2, -1\], got string/, "reshape(x, '3, 2')");
  throwsWith(() => F.crossEntropy(values, [0]), needs('crossEntropy', 'logits', 'an array'), 'crossEntropy(array)');
  throwsWith(() => F.maxPool2d(values, { kernelSize: 2 }), needs('maxPool2d', 'input', 'an array'), 'maxPool2d(array)');
  throwsWith(() => F.batchNorm(values, undefined, undefined), needs('batchNorm', 'input', 'an array'), 'batchNorm(array)');
  x.dispose();
});

test('mismatched shapes fail with a clear error', () => {
  const a = tensor(new Float32Array(12), [3, 4]);
  const b = tensor(new Float32Array(15), [3, 5]);
  throwsWith(() => F.add(a, b), /add: shapes \[3, 4\] and \[3, 5\] do not broadcast/, 'add');
  throwsWith(() => F.mul(a, b), /do not broadcast/, 'mul');
  throwsWith(() => noGrad(() => F.pow(a, b)), /do not broadcast/, 'pow');
});

test.run();
