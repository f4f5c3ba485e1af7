// Storage bindings cover a tensor's own bytes, not its pool buffer's size class: with the binding
// limit the runtime assumes lowered (gpu().setMaxBindingBytes), a tensor that fits the limit in a
// pool buffer that does not still runs; one that does not fit is refused in one line; a buffer
// reused for a larger tensor of the same size class binds its new range; elementwise ops on tensors
// larger than a binding run in binding-sized chunks (dropout masks identical to the unchunked ones),
// convolutions (conv2d, convTranspose2d, conv2dMfm; every variant) in runs of whole images, and
// matmul / linear (every variant) in blocks of batches, rows and K.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { gpu, sizeClass } from '../../src/gpu/index.js';
import { F } from '../../src/index.js';
import { conv2dMfm } from '../../src/nn/functional/conv.js';
import type { ConvVariant } from '../../src/kernels/conv.js';
import { matmul as matmulKernel } from '../../src/kernels/matmul.js';
import { MATMUL_VARIANTS } from '../../src/gpu/policy.js';
import type { Tensor } from '../../src/index.js';
import { assertNear, checkOp, fileRng, forwardAndGradients, ref, roundF32, setup, throwsWith, toT64, toTensor, type T64 } from './helpers.js';

const rng = fileRng('bindings');
const LIMIT = 2992;

test.before(setup);
test.after.each(() => {
  gpu().setMaxBindingBytes(undefined);
  gpu().policy.reset();
});

test('a tensor within the binding limit runs although its pool buffer is larger (conv, matmul, elementwise)', async () => {
  gpu().setMaxBindingBytes(LIMIT);
  // 700 floats = 2800 bytes in a 3072-byte pool buffer.
  assert.ok(sizeClass(2800) > LIMIT, 'the size class exceeds the limit');
  const a = ref.randn(rng, [7, 100]);
  const b = ref.randn(rng, [7, 100]);
  const [ta, tb] = [toTensor(a), toTensor(b)];
  const sum = F.add(ta, tb);
  assertNear(await toT64(sum), ref.binary(a, b, (p, q) => p + q), 'add of 700 elements under a 2992-byte binding limit');
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
  // One image of 800 floats cannot be split further by the conv kernels (a 1×1 conv would run as GEMMs, which split it).
  const a = toTensor(ref.randn(rng, [1, 8, 10, 10]));
  const w = toTensor(ref.randn(rng, [2, 8, 3, 3]));
  throwsWith(() => F.conv2d(a, w, undefined, { padding: 1 }), /binding 1 is 3200 bytes, above this adapter's maxStorageBufferBindingSize of 2992 bytes; use a smaller batch or input/, 'too large');
  a.dispose();
  w.dispose();
  throwsWith(() => gpu().setMaxBindingBytes(10), /expected a positive multiple of 16 bytes, got 10/, 'bad limit');
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

test('convolutions whose batch exceeds a binding run in runs of whole images: forward and gradients against the float64 reference, every variant', async () => {
  // 2 KiB limit: x [5, 2, 8, 8] is 512 bytes an image, its conv outputs 1-2 KiB an image, so runs of 1-2 images.
  for (const variant of ['direct', 'registerTiled', 'workgroupTiled'] as ConvVariant[]) {
    gpu().policy.set({ convForward: variant, convInputGrad: variant, convWeightGrad: variant });
    gpu().setMaxBindingBytes(2048);
    const opts = { padding: 1 };
    await checkOp({ name: `${variant} chunked conv2d`, inputs: [[5, 2, 8, 8], [4, 2, 3, 3]], forward: ([x, w]) => F.conv2d(x, w, undefined, opts), reference: ([x, w]) => ref.conv2d(x, w, undefined, opts), rng });
    await checkOp({ name: `${variant} chunked convTranspose2d`, inputs: [[5, 4, 8, 8], [4, 2, 3, 3]], forward: ([x, w]) => F.convTranspose2d(x, w, undefined, opts), reference: ([x, w]) => ref.convTranspose2d(x, w, undefined, opts), rng });
    await checkOp({ name: `${variant} chunked conv2dMfm`, inputs: [[5, 2, 8, 8], [8, 2, 3, 3]], forward: ([x, w]) => conv2dMfm(x, w, undefined, opts), reference: ([x, w]) => ref.mfm(ref.conv2d(x, w, undefined, opts)), rng });
  }
});

test('matmul and linear whose tensors exceed a binding run in blocks of batches, rows and K (K blocks added into C): forward and both gradients against the float64 reference and the unsplit run, every variant', async () => {
  // A 1 KiB limit against 256-byte offset alignment: blocks of at most 193 elements.
  const cases: { name: string; shapes: number[][]; forward: (ts: Tensor[]) => Tensor; reference: (xs: T64[]) => T64 }[] = [
    // [batch, M, N] over the limit: runs of batches; the gradients too.
    { name: 'batched matmul', shapes: [[5, 12, 16], [5, 16, 8]], forward: ([a, b]) => F.matmul(a, b), reference: ([a, b]) => ref.matmul(a, b) },
    // One product: blocks of rows of A and C; A's gradient A^T g in blocks of K.
    { name: 'one large product', shapes: [[40, 12], [12, 6]], forward: ([a, b]) => F.matmul(a, b), reference: ([a, b]) => ref.matmul(a, b) },
    // The fc layer at a large batch: rows of x and y; the weight gradient gy^T x in blocks of the batch.
    { name: 'linear with bias', shapes: [[30, 20], [6, 20], [6]], forward: ([x, w, b]) => F.linear(x, w, b), reference: ([x, w, b]) => ref.linear(x, w, b) },
  ];
  for (const variant of MATMUL_VARIANTS) {
    gpu().policy.set({ matmul: variant });
    for (const c of cases) {
      const xs = c.shapes.map((shape) => roundF32(ref.randn(rng, shape)));
      const g = roundF32(ref.randn(rng, c.reference(xs).shape));
      gpu().setMaxBindingBytes(undefined);
      const unsplit = await forwardAndGradients(c.forward, xs, g);
      gpu().setMaxBindingBytes(1024);
      const split = await forwardAndGradients(c.forward, xs, g);
      split.forEach((t, i) => assertNear(t, unsplit[i], `${variant} ${c.name}: ${i === 0 ? 'forward' : `gradient ${i - 1}`} split vs unsplit`));
      await checkOp({ name: `${variant} ${c.name} over the binding limit`, rng, inputs: c.shapes, forward: c.forward, reference: c.reference });
    }
  }
});

test('a product split over K adds the bias once and applies the activation to the whole sum', async () => {
  // A [6, 200]: one row of A is 800 bytes, so K is split as well as the rows.
  const [M, K, N] = [6, 200, 5];
  const a = roundF32(ref.randn(rng, [M, K]));
  const b = roundF32(ref.randn(rng, [K, N]));
  const bias = roundF32(ref.randn(rng, [N]));
  const [ta, tb, tbias] = [toTensor(a), toTensor(b), toTensor(bias)];
  const expected = ref.relu(ref.add(ref.matmul(a, b), bias));
  for (const variant of MATMUL_VARIANTS) {
    gpu().policy.set({ matmul: variant });
    for (const limit of [undefined, 1024]) {
      gpu().setMaxBindingBytes(limit);
      const dispatches = gpu().counters.dispatches;
      const { result: c, timings } = await gpu().profile(() => matmulKernel({ buffer: ta.buffer, batchStride: 0, rowStride: K, colStride: 1 }, { buffer: tb.buffer, batchStride: 0, rowStride: N, colStride: 1 }, 1, M, N, K, tbias.buffer, 'max(v, 0.0)', 'relu'));
      if (variant === 'packed') assert.ok(timings.some((t) => /^matmul\.packed\.relu(#\d+)?$/.test(t.name)), `packed: its kernel runs (got ${timings.map((t) => t.name).join(', ')})`);
      const values = new Float32Array(await gpu().read(c, M * N * 4));
      gpu().pool.release(c);
      if (limit) assert.ok(gpu().counters.dispatches - dispatches > M, `${variant}: K split too (${gpu().counters.dispatches - dispatches} launches for ${M} rows)`);
      assertNear(values, expected, `${variant} relu(A @ B + bias) [${M}, ${K}] @ [${K}, ${N}], binding limit ${limit ?? 'the adapter\'s'}`, 1e-4, 2e-6 * Math.sqrt(K));
    }
  }
  for (const t of [ta, tb, tbias]) t.dispose();
});

test.run();
