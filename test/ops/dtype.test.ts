// float16 tensors: creation, x.half() / x.float() / x.to(dtype) against an independent float64
// rounding (nearest, ties to even, ±inf past 65504 and NaN kept, as torch's .half()), gradients
// cast back, float16 gradients summed in float16, casts larger than one binding in chunks, and a
// clear error where a float32-only op gets a float16 tensor.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { F, full, memory, scope, tensor } from '../../src/index.js';
import { gpu } from '../../src/gpu/index.js';
import { context, fileRng, ref, setup, throwsWith, type T64 } from './helpers.js';
import { roundToHalf as roundHalf } from '../reference/half.js';

const rng = fileRng('dtype');

test.before(setup);
test.after.each(() => gpu().setMaxBindingBytes(undefined));

function assertSameValues(actual: Float32Array, expected: number[], what: string): void {
  assert.is(actual.length, expected.length, context(`${what}: length`));
  for (let i = 0; i < expected.length; i++) {
    const ok = Number.isNaN(expected[i]) ? Number.isNaN(actual[i]) : Object.is(actual[i], expected[i]);
    if (!ok) assert.unreachable(context(`${what}: element ${i} of ${Math.fround(expected[i])} is ${actual[i]}, expected ${expected[i]}`));
  }
}

const SPECIAL = [
  0, -0, 1, -1, 65504, 65519, 65520, -70000, 1e9, Infinity, -Infinity, NaN, 2 ** -24, 2 ** -25, 3 * 2 ** -25, 2 ** -14, 2 ** -14 - 2 ** -25,
  1 + 2 ** -11, 1 + 3 * 2 ** -11, -(1 + 2 ** -11 + 2 ** -20), 1e-40, -1e-40, 0.1, 3.14159, 2049, 2051, 4095,
];

function randomValues(count: number): number[] {
  // Normal values spread over float16's whole range (subnormals to overflow) and an odd count.
  return Array.from(ref.randn(rng, [count]).data, (v) => Math.fround(v * 2 ** Math.round(rng.uniform() * 44 - 28)));
}

test('half() rounds to nearest even like torch .half(): specials, subnormals, overflow to inf, NaN; float() widens exactly', async () => {
  const values = [...SPECIAL, ...randomValues(1001)];
  const x = tensor(values);
  const half = x.half();
  assert.is(half.dtype, 'float16');
  assert.is(x.dtype, 'float32');
  const expected = values.map(roundHalf);
  assertSameValues(await half.toArray(), expected, 'half().toArray()');
  const back = half.float();
  assert.is(back.dtype, 'float32');
  assertSameValues(await back.toArray(), expected, 'half().float()');
  assert.is(x.to('float32'), x, 'to() of the same dtype is the tensor itself');
  for (const t of [x, half, back]) t.dispose();
});

test('tensor() / zeros() / full() with dtype float16 make float16 leaves that keep requiresGrad', async () => {
  const values = randomValues(37);
  const x = tensor(values, [37], { dtype: 'float16', requiresGrad: true });
  assert.is(x.dtype, 'float16');
  assert.ok(x.requiresGrad && x.isLeaf, 'a float16 leaf');
  assertSameValues(await x.toArray(), values.map(roundHalf), 'tensor(..., { dtype: float16 })');
  const z = full([3], 65519.5, { dtype: 'float16' });
  assertSameValues(await z.toArray(), [65504, 65504, 65504], 'full(65519.5) in float16');
  x.dispose();
  z.dispose();
});

test('gradients through casts are cast back: d(sum(x.half().float() * w))/dx = w rounded to float16', async () => {
  const before = memory();
  const x = tensor(randomValues(21), [3, 7], { requiresGrad: true });
  const w: T64 = ref.randn(rng, [3, 7]);
  const weights = tensor(Float32Array.from(w.data), [3, 7]);
  const y = scope(() => F.sum(F.mul(x.half().float(), weights)));
  y.backward();
  assert.is(x.grad!.dtype, 'float32');
  assertSameValues(await x.grad!.toArray(), Array.from(w.data, (v) => roundHalf(Math.fround(v))), 'x.grad');
  for (const t of [x, weights, y]) t.dispose();
  const after = memory();
  assert.is(after.liveTensors, before.liveTensors, context('no tensor left behind'));
  assert.is(after.bytesInUse, before.bytesInUse, context('no bytes left behind'));
});

test('float16 gradients are summed in float16: two uses in one backward, and accumulation across two', async () => {
  const a: T64 = ref.randn(rng, [9]);
  const b: T64 = ref.randn(rng, [9]);
  const [ta, tb] = [tensor(Float32Array.from(a.data)), tensor(Float32Array.from(b.data))];
  const x = tensor(randomValues(9), [9], { dtype: 'float16', requiresGrad: true });
  const loss = () => F.add(F.sum(F.mul(x.float(), ta)), F.sum(F.mul(x.float(), tb)));
  const first = loss();
  first.backward();
  assert.is(x.grad!.dtype, 'float16');
  const once = Array.from(a.data, (v, i) => roundHalf(roundHalf(Math.fround(v)) + roundHalf(Math.fround(b.data[i]))));
  assertSameValues(await x.grad!.toArray(), once, 'x.grad after one backward');
  const second = loss();
  second.backward();
  assertSameValues(await x.grad!.toArray(), once.map((v) => roundHalf(v + v)), 'x.grad after two backwards');
  for (const t of [ta, tb, x, first, second]) t.dispose();
});

test('casts larger than one storage binding run in chunks', async () => {
  // 1 KiB limit, 256-byte offset alignment: f32 chunks of 128 elements, five chunks, the last partial.
  gpu().setMaxBindingBytes(1024);
  const values = randomValues(555);
  const x = tensor(values);
  const half = x.half();
  const expected = values.map(roundHalf);
  const back = half.float();
  gpu().setMaxBindingBytes(undefined);
  assertSameValues(await half.toArray(), expected, 'chunked half()');
  assertSameValues(await back.toArray(), expected, 'chunked float()');
  for (const t of [x, half, back]) t.dispose();
});

test('unknown dtypes are refused', () => {
  const x = tensor([1, 2, 3], [3], { dtype: 'float16' });
  throwsWith(() => x.to('float64' as never), /to: unknown dtype "float64"; use one of float32, float16/, 'float64');
  x.dispose();
});

test.run();
