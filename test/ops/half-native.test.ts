// The float16 builds of the elementwise, activation, pad, cat, slice, permute and expand kernels
// (F routes calls whose tensor operands are all float16 to them) against the float64 reference
// rounded to float16 (one float16 step) and finite differences, bit-equal to the widening path they
// replace (policy halfOps 'widen': cast to float32, the float32 kernel, cast back), with the kernels
// that ran as proof (the float16 builds, no widening cast); and autocast's weight cast cache: made once,
// dropped at any write of the weight (optimizer step, loadStateDict, an upload), freed with the weight.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { F, memory, nn, optim, scope, tensor, type Tensor } from '../../src/index.js';
import { gpu } from '../../src/gpu/index.js';
import { nearestHalf } from '../../src/kernels/cast.js';
import { assertNear, context, fileRng, ref, setup, toT64, type T64 } from './helpers.js';
import { roundToHalf } from '../reference/half.js';

const rng = fileRng('half-native');

test.before(setup);

const toHalfValues = (x: T64): T64 => ref.map(x, roundToHalf);
const halfLeaf = (x: T64) => tensor(Float32Array.from(x.data), x.shape, { dtype: 'float16', requiresGrad: true });
/** Values kept 0.05 away from 0 (relu's and leakyRelu's kink) and from each other's ties. */
const offZero = (v: number) => v + Math.sign(v || 1) * 0.05;

interface NativeCase {
  label: string;
  inputs: { shape: number[]; domain?: (v: number) => number }[];
  forward: (ts: Tensor[]) => Tensor;
  reference: (xs: T64[]) => T64;
  /** Kernels the float16 path must launch (forward and backward): names, or patterns for a reduction's passes. */
  kernels: (string | RegExp)[];
  /**
   * Why the gradients may differ from the widening path's bits, as PyTorch's float16 autograd's do:
   * the backward reads the float16 output (tanh, sigmoid: the widening path saved the float32 one), or
   * rounds a product to float16 before summing it over a broadcast.
   */
  gradientsDiffer?: string;
  /** cast.toHalf launches the native path may make: one per gradient summed back over a broadcast (sumTo's f32 sums rounded). */
  roundedSums?: number;
}

interface Run {
  y: T64;
  grads: T64[];
  kernels: Map<string, number>;
}

/** Forward and backward of a case under one halfOps policy, the kernels profiled; everything freed after. */
async function run(c: NativeCase, xs: T64[], g: T64, halfOps: 'native' | 'widen'): Promise<Run> {
  return gpu().policy.with({ halfOps }, async () => {
    const inputs = xs.map(halfLeaf);
    const gy = tensor(Float32Array.from(g.data), g.shape, { dtype: 'float16' });
    let y: Tensor | undefined;
    const { timings } = await gpu().profile(async () => {
      y = scope(() => c.forward(inputs));
      y.backward(gy);
      await gpu().sync();
    });
    assert.is(y!.dtype, 'float16', context(`${c.label} (${halfOps}): result dtype`));
    const result = { y: await toT64(y!), grads: await Promise.all(inputs.map((t) => toT64(t.grad!))), kernels: new Map(timings.map((t) => [t.name, t.calls])) };
    inputs.forEach((t, i) => assert.is(t.grad!.dtype, 'float16', context(`${c.label} (${halfOps}): gradient ${i} dtype`)));
    for (const t of [...inputs, gy, y!]) t.dispose();
    return result;
  });
}

async function checkNative(c: NativeCase): Promise<void> {
  const before = memory();
  const xs = c.inputs.map(({ shape, domain }) => toHalfValues(ref.map(ref.randn(rng, shape), domain ?? ((v) => v))));
  const expected = c.reference(xs);
  const g = toHalfValues(ref.randn(rng, expected.shape));
  const native = await run(c, xs, g, 'native');
  const widened = await run(c, xs, g, 'widen');
  const names = [...native.kernels.keys()].join(', ');
  for (const name of c.kernels) {
    const ran = typeof name === 'string' ? native.kernels.has(name) : [...native.kernels.keys()].some((k) => name.test(k));
    assert.ok(ran, context(`${c.label}: ${name} ran (${names})`));
  }
  assert.not.ok(native.kernels.has('cast.toFloat'), context(`${c.label}: no operand widened (${names})`));
  assert.is(native.kernels.get('cast.toHalf') ?? 0, c.roundedSums ?? 0, context(`${c.label}: cast.toHalf only for the broadcast sums (${names})`));
  assert.ok(widened.kernels.has('cast.toFloat'), context(`${c.label}: the widening path widens (${[...widened.kernels.keys()].join(', ')})`));
  assertNear(native.y, toHalfValues(expected), `${c.label}: forward against float64, rounded`, 1e-3, 1e-4);
  assertNear(native.y, widened.y, `${c.label}: forward bits of the widening path`, 0, 0);
  native.grads.forEach((grad, i) => {
    assertNear(grad, ref.numericGrad(c.reference, xs, i, g), `${c.label}: gradient ${i} against finite differences`, 3e-3, 3e-3);
    if (c.gradientsDiffer) assertNear(grad, widened.grads[i]!, `${c.label}: gradient ${i} near the widening path's (${c.gradientsDiffer})`, 2e-3, 2e-3);
    else assertNear(grad, widened.grads[i]!, `${c.label}: gradient ${i} bits of the widening path`, 0, 0);
  });
  const after = memory();
  assert.is(after.liveTensors, before.liveTensors, context(`${c.label}: live tensors`));
  assert.is(after.bytesInUse, before.bytesInUse, context(`${c.label}: bytes in use`));
}

const odd = (low: number, high: number) => 2 * rng.int(low, high) + 1;
/** The first pass of a broadcast gradient's sum (sumTo), reading the float16 gradient. */
const SUM_F16 = /^reduce\.sum\.\w+\.f16$/;

test('activations read and write float16: relu, leakyRelu, tanh, sigmoid, neg (batch > 1, odd sizes)', async () => {
  const shape = [rng.int(2, 3), odd(1, 3), odd(2, 4), odd(2, 4)];
  const cases: [string, (x: Tensor) => Tensor, (x: T64) => T64, string, string?][] = [
    ['relu', F.relu, ref.relu, 'unary.relu.f16'],
    ['leakyRelu', (x) => F.leakyRelu(x, 0.2), (x) => ref.leakyRelu(x, 0.2), 'unary.leakyRelu.f16'],
    ['tanh', F.tanh, ref.tanh, 'unary.tanh.f16', 'reads the float16 output'],
    ['sigmoid', F.sigmoid, ref.sigmoid, 'unary.sigmoid.f16', 'reads the float16 output'],
    ['neg', F.neg, ref.neg, 'unary.neg.f16'],
  ];
  const gradients: Record<string, string> = { relu: 'binary.reluGrad.f16', leakyRelu: 'binary.leakyReluGrad.f16', tanh: 'binary.tanhGrad.f16', sigmoid: 'binary.sigmoidGrad.f16', neg: 'unary.neg.f16' };
  for (const [label, op, reference, kernel, gradientsDiffer] of cases) {
    await checkNative({ label, inputs: [{ shape, domain: offZero }], forward: ([x]) => op(x!), reference: ([x]) => reference(x!), kernels: [kernel, gradients[label]!], gradientsDiffer });
  }
});

test('broadcasting binary ops read and write float16: add, sub, mul, div, maximum, and with scalars', async () => {
  const [N, C, H, W] = [rng.int(2, 3), odd(1, 3), odd(1, 3), odd(2, 4)];
  const nonZero = (v: number) => Math.sign(v || 1) * (Math.abs(v) + 0.5);
  // Each case: the kernels it must launch, and how many gradients are summed back over a broadcast.
  await checkNative({ label: 'add, same shape', inputs: [{ shape: [N, C, H, W] }, { shape: [N, C, H, W] }], forward: ([a, b]) => F.add(a!, b!), reference: ([a, b]) => ref.add(a!, b!), kernels: ['binary.add.f16'] });
  await checkNative({ label: 'add [N,C,H,W] + [C,1,1]', inputs: [{ shape: [N, C, H, W] }, { shape: [C, 1, 1] }], forward: ([a, b]) => F.add(a!, b!), reference: ([a, b]) => ref.add(a!, b!), kernels: ['binary.add.f16', SUM_F16], roundedSums: 1 });
  await checkNative({ label: 'sub [N,1,H,W] - [C,H,1]', inputs: [{ shape: [N, 1, H, W] }, { shape: [C, H, 1] }], forward: ([a, b]) => F.sub(a!, b!), reference: ([a, b]) => ref.sub(a!, b!), kernels: ['binary.sub.f16', 'unary.neg.f16', SUM_F16], roundedSums: 2 });
  await checkNative({ label: 'mul, same shape', inputs: [{ shape: [N, C, H, W] }, { shape: [N, C, H, W] }], forward: ([a, b]) => F.mul(a!, b!), reference: ([a, b]) => ref.mul(a!, b!), kernels: ['binary.mul.f16'] });
  await checkNative({ label: 'mul [N,C,H,W] · [W]', inputs: [{ shape: [N, C, H, W] }, { shape: [W] }], forward: ([a, b]) => F.mul(a!, b!), reference: ([a, b]) => ref.mul(a!, b!), kernels: ['binary.mul.f16', SUM_F16], roundedSums: 1, gradientsDiffer: 'products rounded before the broadcast sum' });
  await checkNative({ label: 'div [N,C,H,W] / [N,1,1,W]', inputs: [{ shape: [N, C, H, W] }, { shape: [N, 1, 1, W], domain: nonZero }], forward: ([a, b]) => F.div(a!, b!), reference: ([a, b]) => ref.div(a!, b!), kernels: ['binary.div.f16', SUM_F16], roundedSums: 1, gradientsDiffer: 'quotients rounded before the broadcast sum' });
  await checkNative({ label: 'maximum', inputs: [{ shape: [N, C, W], domain: (v) => v + 0.3 * Math.sign(v) }, { shape: [N, C, W], domain: (v) => -v - 0.3 * Math.sign(v) }], forward: ([a, b]) => F.maximum(a!, b!), reference: ([a, b]) => ref.maximum(a!, b!), kernels: ['binary.maximum.f16', 'binary.maximumShareA.f16'] });
  await checkNative({ label: 'x · 0.3 + 2', inputs: [{ shape: [N, C, W] }], forward: ([a]) => F.add(F.mul(a!, 0.3), 2), reference: ([a]) => ref.add(ref.mul(a!, 0.3), 2), kernels: ['unary.mulScalar.f16', 'unary.addScalar.f16'] });
});

test('pad (zero, reflect, replicate), cat, slice, permute and expand move float16 as float16', async () => {
  const [N, C, H, W] = [rng.int(2, 3), odd(1, 2), odd(2, 3), odd(2, 4)];
  const x = { shape: [N, C, H, W] };
  await checkNative({ label: 'zero pad', inputs: [x], forward: ([t]) => F.pad(t!, [1, 2, 3, 1]), reference: ([t]) => ref.pad(t!, [1, 2, 3, 1]), kernels: ['fill.f16', 'strided_copy.f16'] });
  await checkNative({ label: 'reflect pad', inputs: [x], forward: ([t]) => F.pad(t!, [2, 1, 1, 2], 'reflect'), reference: ([t]) => ref.pad(t!, [2, 1, 1, 2], 'reflect'), kernels: ['pad.reflect.forward.f16', 'pad.reflect.backward.f16'] });
  await checkNative({ label: 'replicate pad', inputs: [x], forward: ([t]) => F.pad(t!, [3, 1, 2, 2], 'replicate'), reference: ([t]) => ref.pad(t!, [3, 1, 2, 2], 'replicate'), kernels: ['pad.replicate.forward.f16', 'pad.replicate.backward.f16'] });
  await checkNative({ label: 'cat on channels', inputs: [x, { shape: [N, 2, H, W] }], forward: (ts) => F.cat(ts, 1), reference: (xs) => ref.cat(xs, 1), kernels: ['strided_copy.f16'] });
  await checkNative({ label: 'slice with a step', inputs: [x], forward: ([t]) => F.slice(t!, 3, 1, undefined, 2), reference: ([t]) => ref.slice(t!, 3, 1, undefined, 2), kernels: ['strided_copy.f16', 'fill.f16'] });
  await checkNative({ label: 'permute', inputs: [x], forward: ([t]) => F.permute(t!, [0, 2, 3, 1]), reference: ([t]) => ref.permute(t!, [0, 2, 3, 1]), kernels: ['strided_copy.f16'] });
  await checkNative({ label: 'expand', inputs: [{ shape: [N, 1, W] }], forward: ([t]) => F.expand(t!, [N, C, W]), reference: ([t]) => ref.broadcastTo(t!, [N, C, W]), kernels: ['strided_copy.f16', SUM_F16], roundedSums: 1 });
});

test('float16 pair kernels in binding-sized chunks (odd element counts): unary and same-shape binary, forward and backward', async () => {
  // 1 KiB bindings: 512 float16 elements per chunk (offsets a multiple of 256 bytes), so 1101 elements run as three chunks, the last odd.
  const n = 1101;
  gpu().setMaxBindingBytes(1024);
  try {
    await checkNative({ label: 'chunked relu', inputs: [{ shape: [3, n / 3], domain: offZero }], forward: ([x]) => F.relu(x!), reference: ([x]) => ref.relu(x!), kernels: ['unary.relu.f16'] });
    await checkNative({ label: 'chunked add', inputs: [{ shape: [n] }, { shape: [n] }], forward: ([a, b]) => F.add(a!, b!), reference: ([a, b]) => ref.add(a!, b!), kernels: ['binary.add.f16'] });
    await checkNative({ label: 'chunked sigmoid', inputs: [{ shape: [n] }], forward: ([x]) => F.sigmoid(x!), reference: ([x]) => ref.sigmoid(x!), kernels: ['unary.sigmoid.f16', 'binary.sigmoidGrad.f16'], gradientsDiffer: 'reads the float16 output' });
  } finally {
    gpu().setMaxBindingBytes(undefined);
  }
});

test('mixed float16 / float32 operands still promote to float32 (torch.result_type), gradients in each dtype', async () => {
  const a = tensor(Float32Array.from(ref.randn(rng, [3, 5]).data), [3, 5], { dtype: 'float16', requiresGrad: true });
  const b = tensor(Float32Array.from(ref.randn(rng, [5]).data), [5], { requiresGrad: true });
  const y = F.mul(a, b);
  assert.is(y.dtype, 'float32', context('float16 · float32 result'));
  F.sum(y).backward();
  assert.is(a.grad!.dtype, 'float16', context('float16 operand gradient'));
  assert.is(b.grad!.dtype, 'float32', context('float32 operand gradient'));
  const c = F.cat([a, tensor(Float32Array.from(ref.randn(rng, [1, 5]).data), [1, 5])], 0);
  assert.is(c.dtype, 'float32', context('cat of float16 and float32'));
  for (const t of [a, b, y, c]) t.dispose();
});

/** A conv with its weight read as float16 (autocast) on a float16 input; its cast.toHalf launches (the weight's, and its f32 output rounded). */
async function autocastConv(conv: nn.Conv2d, x: Tensor): Promise<{ y: Tensor; casts: number }> {
  let y: Tensor | undefined;
  const { timings } = await gpu().profile(async () => {
    y = conv.call(x);
    await gpu().sync();
  });
  return { y: y!, casts: timings.find((t) => t.name === 'cast.toHalf')?.calls ?? 0 };
}

test('autocast weight cast cache: one cast per weight write; an optimizer step, loadStateDict or an upload invalidates it; gradients reach the float32 master', async () => {
  const before = memory();
  const [N, Cin, Cout, H, W] = [2, 3, 5, 7, 9];
  const x64 = toHalfValues(ref.randn(rng, [N, Cin, H, W]));
  const x = tensor(Float32Array.from(x64.data), x64.shape, { dtype: 'float16' });
  const make = () => {
    const conv = new nn.Conv2d(Cin, Cout, 3, { padding: 1, bias: false });
    conv.autocast('float16');
    return conv;
  };
  const cached = make();
  const uncached = make();
  uncached.loadStateDict(cached.stateDict());
  // Both modules' outputs and weight gradients, the uncached one made with the cache off.
  // Without the cache a call casts its weight; with it, only where the weight changed. (The conv kernel stores its
  // float16 output itself: policy halfStores 'epilogue'.)
  const outputs = async (label: string, weightCasts: number) => {
    const on = await autocastConv(cached, x);
    const off = await gpu().policy.with({ weightCastCache: 'off' }, () => autocastConv(uncached, x));
    assert.is(off.casts, 1, context(`${label}: casts without the cache (the weight)`));
    assert.is(on.casts, weightCasts, context(`${label}: casts with the cache (${weightCasts} of the weight)`));
    assertNear(await toT64(on.y), await toT64(off.y), `${label}: output equals the uncached one`, 0, 0);
    return [on.y, off.y];
  };
  let [y1, y2] = await outputs('first call', 1);
  for (const t of [y1!, y2!]) t.dispose();
  [y1, y2] = await outputs('second call, weight unchanged', 0);
  // Gradients: the float32 master weights get the same float32 gradient with and without the cache.
  const g = tensor(Float32Array.from(ref.randn(rng, [...y1!.shape]).data), [...y1!.shape], { dtype: y1!.dtype });
  y1!.backward(g);
  y2!.backward(g);
  assert.is(cached.weight.grad!.dtype, 'float32', context('master weight gradient dtype'));
  assertNear(await toT64(cached.weight.grad!), await toT64(uncached.weight.grad!), 'master weight gradient', 0, 0);
  for (const t of [y1!, y2!, g]) t.dispose();

  // An optimizer step writes the weights in place: the next call casts again and sees the new weight.
  const optimizers = [new optim.SGD(cached.parameters(), { lr: 0.5 }), new optim.SGD(uncached.parameters(), { lr: 0.5 })];
  for (const o of optimizers) o.step();
  [y1, y2] = await outputs('after an optimizer step', 1);
  for (const t of [y1!, y2!]) t.dispose();
  [y1, y2] = await outputs('the call after that', 0);
  for (const t of [y1!, y2!]) t.dispose();

  // loadStateDict and a direct upload write the weight too.
  const fresh = make();
  for (const m of [cached, uncached]) m.loadStateDict(fresh.stateDict());
  [y1, y2] = await outputs('after loadStateDict', 1);
  for (const t of [y1!, y2!]) t.dispose();
  const values = Float32Array.from(ref.randn(rng, [...cached.weight.shape]).data);
  for (const m of [cached, uncached]) gpu().upload(m.weight.buffer, values);
  [y1, y2] = await outputs('after an upload into the weight', 1);
  for (const t of [y1!, y2!]) t.dispose();

  for (const o of optimizers) o.dispose();
  for (const t of [cached, uncached, fresh, x]) t.dispose();
  const after = memory();
  assert.is(after.liveTensors, before.liveTensors, context('cache test: live tensors'));
  assert.is(after.bytesInUse, before.bytesInUse, context('cache test: bytes in use (the cached copies freed with their weights)'));
});

test('training with the cache gives the weights training without it gives: two calls per step (as FaPE-GAN calls D), Adam steps in between', async () => {
  const before = memory();
  const make = () => new nn.Sequential(new nn.Conv2d(3, 6, 3, { padding: 1 }), new nn.LeakyReLU(0.2), new nn.Conv2d(6, 2, 3, { stride: 2 })).autocast('float16');
  const nets = [make(), make()];
  nets[1]!.loadStateDict(nets[0]!.stateDict());
  const optimizers = nets.map((net) => new optim.Adam(net.parameters(), { lr: 0.01 }));
  const inputs = [0, 1].map(() => tensor(Float32Array.from(ref.randn(rng, [2, 3, 9, 7]).data), [2, 3, 9, 7], { dtype: 'float16' }));
  const train = (i: number) =>
    scope(() => {
      optimizers[i]!.zeroGrad();
      // Two calls reading the same weights before a write: the second reads the cached copies.
      const loss = F.add(F.mean(nets[i]!.call(inputs[0]!).float()), F.mean(F.mul(nets[i]!.call(inputs[1]!).float(), 2)));
      loss.backward();
      optimizers[i]!.step();
    });
  for (let step = 0; step < 3; step++) {
    train(0);
    await gpu().policy.with({ weightCastCache: 'off' }, () => train(1));
    const [cached, uncached] = nets.map((net) => net.parameters());
    for (let k = 0; k < cached!.length; k++) assertNear(await toT64(cached![k]!), await toT64(uncached![k]!), `step ${step}: parameter ${k} with and without the cache`, 0, 0);
  }
  for (const t of [...nets, ...optimizers, ...inputs]) t.dispose();
  const after = memory();
  assert.is(after.liveTensors, before.liveTensors, context('training with the cache: live tensors'));
  assert.is(after.bytesInUse, before.bytesInUse, context('training with the cache: bytes in use'));
});

test('a stale cached copy is freed at the write, not kept until the next call', async () => {
  const conv = new nn.Conv2d(4, 6, 3, { bias: false });
  conv.autocast('float16');
  const x = tensor(Float32Array.from(ref.randn(rng, [2, 4, 5, 5]).data), [2, 4, 5, 5], { dtype: 'float16' });
  const start = memory().bytesInUse;
  const y = conv.call(x);
  y.dispose();
  const cachedBytes = memory().bytesInUse - start;
  assert.ok(cachedBytes > 0, context(`the cached float16 weight holds memory (${cachedBytes} bytes)`));
  gpu().upload(conv.weight.buffer, Float32Array.from(ref.randn(rng, [...conv.weight.shape]).data));
  assert.is(memory().bytesInUse, start, context('bytes in use after the weight was written'));
  for (const t of [conv, x]) t.dispose();
});

test('nearestHalf (host rounding of float16 kernel constants) rounds as torch .half(): ties, subnormals, overflow', () => {
  const ties = [1 + 2 ** -11, 1 + 3 * 2 ** -11, 2 ** -25, 3 * 2 ** -25, 65520, 2048 + 1, 2048 + 3];
  const randoms = Array.from({ length: 2000 }, () => rng.normal() * 2 ** rng.int(-26, 17));
  for (const v of [...ties, ...ties.map((t) => -t), ...randoms, 0, -0, Infinity, -Infinity]) {
    const f = Math.fround(v);
    assert.ok(Object.is(nearestHalf(f), roundToHalf(f)), context(`nearestHalf(${f}) = ${nearestHalf(f)}, expected ${roundToHalf(f)}`));
  }
  assert.ok(Number.isNaN(nearestHalf(NaN)));
});

test('a float16 constant pad stores the pad value rounded as torch .half() rounds it (ties to even, inf past 65504)', async () => {
  const values = [0.1, 1 + 2 ** -11, 1 + 3 * 2 ** -11, -(2 ** -24) * 1.5, 2 ** -25, 65519.9, 65520, -7.3e-6, rng.uniform(-50, 50)];
  for (const value of values) {
    await scope(async () => {
      const x = tensor(new Float32Array([1.5, -2]), [1, 2], { dtype: 'float16' });
      const padded = await F.pad(x, [1, 0], 'constant', value).toArray();
      assert.is(padded[0], roundToHalf(Math.fround(value)), context(`pad value ${value}: got ${padded[0]}`));
    });
  }
});

test.run();
