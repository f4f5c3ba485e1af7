// Storage bindings cover a tensor's own bytes, not its pool buffer's size class: with the binding
// limit the runtime assumes lowered (gpu().setMaxBindingBytes), a tensor that fits the limit in a
// pool buffer that does not still runs; one that does not fit is refused in one line; a buffer
// reused for a larger tensor of the same size class binds its new range; elementwise ops on tensors
// larger than a binding run in binding-sized chunks (dropout masks identical to the unchunked ones).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { gpu, sizeClass } from '../../src/gpu/index.js';
import { F } from '../../src/index.js';
import { assertNear, fileRng, ref, setup, throwsWith, toT64, toTensor } from './helpers.js';

const rng = fileRng('bindings');
const LIMIT = 3000;

test.before(setup);
test.after.each(() => gpu().setMaxBindingBytes(undefined));

test('a tensor within the binding limit runs although its pool buffer is larger (conv, matmul, elementwise)', async () => {
  gpu().setMaxBindingBytes(LIMIT);
  // 700 floats = 2800 bytes in a 3072-byte pool buffer.
  assert.ok(sizeClass(2800) > LIMIT, 'the size class exceeds the limit');
  const a = ref.randn(rng, [7, 100]);
  const b = ref.randn(rng, [7, 100]);
  const [ta, tb] = [toTensor(a), toTensor(b)];
  const sum = F.add(ta, tb);
  assertNear(await toT64(sum), ref.binary(a, b, (p, q) => p + q), 'add of 700 elements under a 3000-byte binding limit');
  const x = ref.randn(rng, [1, 7, 10, 10]);
  const w = ref.randn(rng, [7, 7, 3, 3], 0.3);
  const tx = toTensor(x);
  const tw = toTensor(w);
  const y = F.conv2d(tx, tw, undefined, { padding: 1 });
  assertNear(await toT64(y), ref.conv2d(x, w, undefined, { padding: 1 }), 'conv2d [1, 7, 10, 10] -> [1, 7, 10, 10]');
  const m = ref.randn(rng, [100, 7]);
  const tm = toTensor(m);
  const product = F.matmul(ta, tm);
  assertNear(await toT64(product), ref.matmul(a, m), 'matmul [7, 100] @ [100, 7]');
  for (const t of [ta, tb, sum, tx, tw, y, tm, product]) t.dispose();
});

test('a tensor beyond the binding limit is refused in one line naming the kernel, the sizes and what to do', async () => {
  gpu().setMaxBindingBytes(LIMIT);
  // Convolutions are not split over bindings yet: an 800-float input is refused.
  const a = toTensor(ref.randn(rng, [1, 8, 10, 10]));
  const w = toTensor(ref.randn(rng, [2, 8, 1, 1]));
  throwsWith(() => F.conv2d(a, w), /binding 1 is 3200 bytes, above this adapter's maxStorageBufferBindingSize of 3000 bytes; use a smaller batch or input/, 'too large');
  a.dispose();
  w.dispose();
  throwsWith(() => gpu().setMaxBindingBytes(10), /expected a multiple of 4 of at least 16 bytes, got 10/, 'bad limit');
});

test('a pool buffer reused for a larger tensor of the same size class binds the larger range', async () => {
  for (const length of [600, 700]) {
    const a = ref.randn(rng, [length]);
    const ta = toTensor(a);
    const y = F.mul(ta, ta);
    assertNear(await toT64(y), ref.binary(a, a, (p, q) => p * q), `square of ${length} elements`);
    ta.dispose();
    y.dispose();
  }
});

test('elementwise ops larger than a binding run in chunks: unary, same-shape and scalar binary, gradient accumulation, dropout', async () => {
  const shape = [5, 203]; // 1015 floats against a 1024-byte limit: four chunks, the last one partial
  const a = ref.randn(rng, shape);
  const b = ref.randn(rng, shape);
  const s = ref.randn(rng, [1]);
  const ta = toTensor(a, true);
  const [tb, ts] = [toTensor(b), toTensor(s)];
  const dropped = async () => {
    const d = F.dropout(ta, 0.5, true, 1234);
    const values = await toT64(d);
    d.dispose();
    return values;
  };
  const unchunkedDropout = await dropped();
  gpu().setMaxBindingBytes(1024);
  const exp = F.exp(ta);
  assertNear(await toT64(exp), ref.map(a, Math.exp), 'exp');
  const sum = F.add(ta, tb);
  assertNear(await toT64(sum), ref.binary(a, b, (p, q) => p + q), 'same-shape add');
  const scaled = F.mul(ta, ts);
  assertNear(await toT64(scaled), ref.binary(a, s, (p, q) => p * q), 'scalar mul');
  // a is used twice: its gradient is accumulated (2·b + s).
  const ones = toTensor(ref.map(a, () => 1));
  const y = F.add(F.mul(ta, tb), F.mul(ta, F.add(tb, ts)));
  y.backward(ones);
  assertNear(await toT64(ta.grad!), ref.binary(ref.binary(b, b, (p, q) => p + q), s, (p, q) => p + q), 'accumulated gradient');
  assert.equal(Array.from((await dropped()).data), Array.from(unchunkedDropout.data), 'dropout mask with and without chunks');
  for (const t of [ta, tb, ts, exp, sum, scaled, ones, y, ta.grad!]) t.dispose();
});

test.run();
