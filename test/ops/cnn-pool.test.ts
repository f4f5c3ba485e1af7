// maxPool2d / avgPool2d and mfm against the float64 reference: forward, indices, gradients by
// finite differences, ceil-mode edge windows, divisor rules, and the tie rules.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { avgPool2d, maxPool2d, maxPool2dWithIndices } from '../../src/nn/functional/pool.js';
import { mfm } from '../../src/nn/functional/mfm.js';
import { assertNear, checkOp, draw, fileRng, ref, setup, throwsWith, toT64, toTensor } from './helpers.js';

const rng = fileRng('cnn-pool');
test.before(setup);

test('maxPool2d: forward, indices and gradient on random cases (ceil mode, padding, dilation)', async () => {
  for (let trial = 0; trial < 8; trial++) {
    const c = ref.randomPoolCase(rng);
    await checkOp({
      name: `maxPool2d ${c.describe}`,
      inputs: [{ shape: c.xShape, draw: draw.distinct }],
      forward: ([x]) => maxPool2d(x, c.maxOpts),
      reference: ([x]) => ref.maxPool2d(x, c.maxOpts),
      rng,
    });
    const x = roundedDistinct(c.xShape);
    const { values, indices } = maxPool2dWithIndices(toTensor(x), c.maxOpts);
    assertNear(await toT64(indices), ref.maxPool2dIndices(x, c.maxOpts), `maxPool2d indices ${c.describe}`, 0, 0);
    values.dispose();
    indices.dispose();
  }
});

function roundedDistinct(shape: number[]) {
  return ref.map(ref.randDistinct(rng, shape, 0.1), Math.fround);
}

test('maxPool2d: ties go to the first maximum in the window (forward index and gradient)', async () => {
  // Every window holds equal values: PyTorch picks the first in row-major order.
  const x = ref.t64([1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 0, 0, 3, 3, 0, 0], [1, 1, 4, 4]);
  const opts = { kernelSize: 2, ceilMode: true };
  const t = toTensor(x, true);
  const { values, indices } = maxPool2dWithIndices(t, opts);
  assert.equal([...(await indices.toArray())], [0, 2, 8, 10]);
  const g = toTensor(ref.t64([1, 2, 3, 4], [1, 1, 2, 2]));
  values.backward(g);
  assert.equal([...(await t.grad!.toArray())], [1, 0, 2, 0, 0, 0, 0, 0, 3, 0, 4, 0, 0, 0, 0, 0]);
  for (const u of [t, values, indices, g]) u.dispose();
});

test('avgPool2d: forward and gradient on random cases (countIncludePad, ceil mode, divisorOverride)', async () => {
  for (let trial = 0; trial < 8; trial++) {
    const c = ref.randomPoolCase(rng);
    const opts = { ...c.avgOpts, divisorOverride: trial % 4 === 3 ? 3 : undefined };
    await checkOp({
      name: `avgPool2d ${c.describe} divisorOverride ${opts.divisorOverride}`,
      inputs: [c.xShape],
      forward: ([x]) => avgPool2d(x, opts),
      reference: ([x]) => ref.avgPool2d(x, opts),
      rng,
    });
  }
});

test('pooling: ceil-mode edge windows (dropped last window, window running past the padded edge)', async () => {
  const cases = [
    { x: [1, 2, 5, 7], opts: { kernelSize: 3, stride: 3, padding: 1, ceilMode: true } },
    { x: [2, 1, 4, 5], opts: { kernelSize: 2, stride: 2, padding: 1, ceilMode: true } },
    { x: [1, 1, 7, 6], opts: { kernelSize: [3, 2] as [number, number], stride: [2, 3] as [number, number], ceilMode: true } },
    { x: [1, 2, 6, 6], opts: { kernelSize: 4, stride: 3, padding: 2, ceilMode: true, countIncludePad: false } },
  ];
  for (const c of cases) {
    await checkOp({ name: `avgPool2d x [${c.x}] ${JSON.stringify(c.opts)}`, inputs: [c.x], forward: ([x]) => avgPool2d(x, c.opts), reference: ([x]) => ref.avgPool2d(x, c.opts), rng });
    // maxPool2d has no countIncludePad (PyTorch's max_pool2d refuses the keyword too).
    const { countIncludePad: _avgOnly, ...maxOpts } = c.opts as typeof c.opts & { countIncludePad?: boolean };
    await checkOp({
      name: `maxPool2d x [${c.x}] ${JSON.stringify(maxOpts)}`,
      inputs: [{ shape: c.x, draw: draw.distinct }],
      forward: ([x]) => maxPool2d(x, maxOpts),
      reference: ([x]) => ref.maxPool2d(x, c.opts),
      rng,
    });
  }
});

test('mfm: forward and gradient for [N, 2C, H, W] and [N, 2C]', async () => {
  for (const shape of [[2, 6, 5, 3], [3, 10], [1, 2, 7, 4]]) {
    await checkOp({ name: 'mfm', inputs: [{ shape, draw: draw.distinct }], forward: ([x]) => mfm(x), reference: ([x]) => ref.mfm(x), rng });
  }
});

test('mfm: ties split the gradient 0.5 / 0.5 like torch.max(a, b) (= torch.maximum)', async () => {
  // x [1, 4, 1, 2]: halves a = channels 0-1, b = channels 2-3; positions 0 and 3 tie.
  const x = toTensor(ref.t64([1, 5, 2, 7, 1, 6, 0, 7], [1, 4, 1, 2]), true);
  const y = mfm(x);
  assert.equal([...(await y.toArray())], [1, 6, 2, 7]);
  const g = toTensor(ref.t64([2, 4, 6, 8], [1, 2, 1, 2]));
  y.backward(g);
  assert.equal([...(await x.grad!.toArray())], [1, 0, 6, 4, 1, 4, 0, 4]);
  for (const t of [x, y, g]) t.dispose();
});

test('maxPool2d and mfm propagate NaN as PyTorch does (the NaN wins the window / the pair; both halves take its gradient)', async () => {
  // x [1, 2, 2, 2]: a NaN at plane 0 (1, 0) and plane 1 (0, 1), among random values.
  const data = ref.map(ref.randn(rng, [1, 2, 2, 2]), Math.fround);
  data.data[2] = NaN;
  data.data[5] = NaN;
  const x = toTensor(data, true);
  const { values, indices } = maxPool2dWithIndices(x, { kernelSize: 2 });
  assert.ok([...(await values.toArray())].every(Number.isNaN), 'every window holding a NaN gives NaN');
  assert.equal([...(await indices.toArray())], [2, 1], 'the NaN takes the index');
  const pooled = mfm(x);
  const y = await pooled.toArray();
  assert.ok(Number.isNaN(y[1]!) && Number.isNaN(y[2]!), `mfm pairs holding a NaN give NaN, got ${[...y]}`);
  assert.ok(Number.isFinite(y[0]!) && Number.isFinite(y[3]!), 'the other pairs stay finite');
  const g = toTensor(ref.t64([1, 2, 3, 4], [1, 1, 2, 2]));
  pooled.backward(g);
  const gx = [...(await x.grad!.toArray())];
  assert.equal([gx[1], gx[5], gx[2], gx[6]], [2, 2, 3, 3], 'both halves of a NaN pair take its gradient');
  for (const t of [x, values, indices, pooled, g]) t.dispose();
});

test('pooling and mfm: clear errors', () => {
  const x = toTensor(ref.randn(rng, [1, 3, 4, 4]));
  throwsWith(() => mfm(x), /must be even/, 'odd channels');
  throwsWith(() => mfm(x.reshape([3, 4, 4])), /expected \[N, 2C, H, W\] or \[N, 2C\]/, 'rank');
  throwsWith(() => maxPool2d(x, { kernelSize: 5 }), /empty output/, 'too small');
  throwsWith(() => avgPool2d(x, { kernelSize: 2, padding: 2 }), /half the kernel/, 'padding');
  throwsWith(() => maxPool2d(x.reshape([3, 4, 4]), { kernelSize: 2 }), /expected input \[N, C, H, W\]/, 'rank');
  // PyTorch: "divisor must be not zero"; divisor_override is an int.
  for (const divisorOverride of [0, 1.5, NaN]) throwsWith(() => avgPool2d(x, { kernelSize: 2, divisorOverride }), /divisorOverride must be a non-zero integer/, `divisorOverride ${divisorOverride}`);
  // Options webfer's pools do not implement are refused, not ignored.
  throwsWith(() => maxPool2d(x, { kernelSize: 2, returnIndices: true } as never), /maxPool2d: unknown option "returnIndices"/, 'returnIndices');
  throwsWith(() => avgPool2d(x, { kernelSize: 2, count_include_pad: false } as never), /webfer spells it countIncludePad/, 'count_include_pad');
  x.dispose();
});

test.run();
