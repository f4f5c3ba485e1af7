// Shape ops: reshape, flatten, (un)squeeze, expand, permute, transpose, slice, cat, pad.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { F, tensor } from '../../src/index.js';
import { checkOp, fileRng, ref, setup, throwsWith, type T64 } from './helpers.js';

const rng = fileRng('shape');
await setup();

/** Broadcasting x to shape in float64 (torch.expand + contiguous). */
const expand64 = (x: T64, shape: number[]): T64 => ref.broadcastTo(x, shape);

test('reshape, flatten, unsqueeze, squeeze (views) pass values and gradients through', async () => {
  const [a, b, c] = [rng.int(2, 4), rng.int(3, 5), rng.int(2, 5)];
  await checkOp({ name: 'reshape', rng, inputs: [[a, b, c]], forward: ([x]) => F.reshape(x, [c, -1]), reference: ([x]) => ref.reshape(x, [c, -1]) });
  await checkOp({ name: 'flatten(1)', rng, inputs: [[a, b, c]], forward: ([x]) => F.flatten(x, 1), reference: ([x]) => ref.flatten(x, 1) });
  await checkOp({ name: 'unsqueeze(-1)', rng, inputs: [[a, b]], forward: ([x]) => F.unsqueeze(x, -1), reference: ([x]) => ref.unsqueeze(x, -1) });
  await checkOp({ name: 'squeeze(1)', rng, inputs: [[a, 1, c]], forward: ([x]) => F.squeeze(x, 1), reference: ([x]) => ref.squeeze(x, 1) });
  // A reshape between two ops: the gradient must come back in the input's shape.
  await checkOp({ name: 'mul(reshape)', rng, scoped: true, inputs: [[a, b * c]], forward: ([x]) => F.mul(F.reshape(x, [a, b, c]), 2), reference: ([x]) => ref.mul(ref.reshape(x, [a, b, c]), 2) });
});

test('expand broadcasts by copying; its gradient sums back', async () => {
  const n = rng.int(2, 5);
  for (const [from, to] of [[[n, 1], [3, n, 4]], [[1, 3, 1], [2, 3, 5]], [[5], [2, 3, 5]]]) {
    await checkOp({ name: 'expand', rng, inputs: [from], forward: ([x]) => F.expand(x, to), reference: ([x]) => expand64(x, to) });
  }
  // -1 keeps an existing dimension's size, as in PyTorch (x.expand(3, -1, 4)).
  await checkOp({ name: 'expand with -1', rng, inputs: [[n, 1]], forward: ([x]) => F.expand(x, [3, -1, 4]), reference: ([x]) => expand64(x, [3, n, 4]) });
});

test('permute and transpose, all orders of a rank-4 tensor sample', async () => {
  const shape = ref.randomShape(rng, 4, 2, 5);
  for (const order of [[0, 1, 2, 3], [3, 2, 1, 0], [0, 2, 3, 1], [2, 0, 3, 1], rng.shuffle([0, 1, 2, 3])]) {
    await checkOp({ name: `permute ${JSON.stringify(order)}`, rng, inputs: [shape], forward: ([x]) => F.permute(x, order), reference: ([x]) => ref.permute(x, order) });
  }
  await checkOp({ name: 'permute negative dims', rng, inputs: [shape], forward: ([x]) => F.permute(x, [-1, 0, -3, 2]), reference: ([x]) => ref.permute(x, [3, 0, 1, 2]) });
  for (const [d0, d1] of [[0, 1], [1, -1], [-4, 2]]) {
    await checkOp({ name: `transpose(${d0}, ${d1})`, rng, inputs: [shape], forward: ([x]) => F.transpose(x, d0, d1), reference: ([x]) => ref.transpose(x, d0, d1) });
  }
});

test('slice with steps, negative and out-of-range bounds, on every dim', async () => {
  const shape = [rng.int(2, 4), rng.int(7, 11), rng.int(5, 9)];
  const cases: [number, number, number | undefined, number][] = [
    [1, 2, 6, 1],
    [1, 1, undefined, 2],
    [1, -5, -1, 3],
    [2, -3, undefined, 1],
    [2, 0, 100, 4],
    [0, 1, 2, 1],
    [-1, -100, 3, 2],
    [1, 5, 2, 1], // empty
  ];
  for (const [dim, start, end, step] of cases) {
    await checkOp({ name: `slice(dim ${dim}, ${start}:${end}:${step})`, rng, inputs: [shape], forward: ([x]) => F.slice(x, dim, start, end, step), reference: ([x]) => ref.slice(x, dim, start, end, step) });
  }
});

test('cat along every dim, two and three operands of different lengths', async () => {
  const [a, b] = [rng.int(2, 4), rng.int(2, 5)];
  await checkOp({ name: 'cat dim 0', rng, inputs: [[2, a, b], [3, a, b]], forward: (xs) => F.cat(xs, 0), reference: (xs) => ref.cat(xs, 0) });
  await checkOp({ name: 'cat dim 1', rng, inputs: [[a, 1, b], [a, 4, b], [a, 2, b]], forward: (xs) => F.cat(xs, 1), reference: (xs) => ref.cat(xs, 1) });
  await checkOp({ name: 'cat dim -1', rng, inputs: [[a, b, 3], [a, b, 5]], forward: (xs) => F.cat(xs, -1), reference: (xs) => ref.cat(xs, -1) });
  await checkOp({ name: 'cat one', rng, inputs: [[a, b]], forward: (xs) => F.cat(xs, 0), reference: (xs) => ref.cat(xs, 0) });
});

test('pad constant: positive, negative (cropping), mixed, 1 to 3 padded dims, with a value', async () => {
  const shape = [rng.int(1, 3), rng.int(2, 4), rng.int(5, 8), rng.int(5, 8)];
  const cases: number[][] = [[1, 2], [2, 0, 1, 3], [-1, 2, 3, -2], [-2, -1], [0, 0, -1, -1], [1, 1, 1, 1, 1, 1]];
  for (const pads of cases) {
    await checkOp({ name: `pad constant ${JSON.stringify(pads)}`, rng, inputs: [shape], forward: ([x]) => F.pad(x, pads), reference: ([x]) => ref.pad(x, pads) });
  }
  await checkOp({ name: 'pad constant value 1.5', rng, inputs: [shape], forward: ([x]) => F.pad(x, [1, 0, 2, 1], 'constant', 1.5), reference: ([x]) => ref.pad(x, [1, 0, 2, 1], 'constant', 1.5) });
});

for (const mode of ['reflect', 'replicate'] as const) {
  test(`pad ${mode}: 1 and 2 padded dims, asymmetric, up to size - 1`, async () => {
    const [h, w] = [rng.int(3, 6), rng.int(4, 7)];
    const cases: [number[], number[]][] = [
      [[2, 3, w], [1, 2]],
      [[2, 3, h, w], [2, 1, 1, 2]],
      [[3, h, w], [w - 1, 0, 0, h - 1]],
      [[2, h, w], [0, 3, 2, 0]],
      [[3, w], [w - 1, w - 1]],
    ];
    if (mode === 'replicate') cases.push([[2, 1, 1], [3, 2, 4, 1]], [[2, h, w], [w + 2, 5, h + 1, 3]]);
    for (const [shape, pads] of cases) {
      await checkOp({ name: `pad ${mode} ${JSON.stringify(pads)}`, rng, inputs: [shape], forward: ([x]) => F.pad(x, pads, mode), reference: ([x]) => ref.pad(x, pads, mode) });
    }
  });
}

test('shape errors say what was expected', () => {
  const x = tensor(new Float32Array(24), [2, 3, 4]);
  throwsWith(() => F.reshape(x, [5, -1]), /cannot infer the -1/, 'reshape -1');
  throwsWith(() => F.reshape(x, [2, 13]), /does not hold 24 elements/, 'reshape size');
  throwsWith(() => F.permute(x, [0, 1]), /2 dimensions given for a tensor of rank 3/, 'permute rank');
  throwsWith(() => F.permute(x, [0, 1, 1]), /not a permutation/, 'permute repeat');
  throwsWith(() => F.cat([x, tensor(new Float32Array(6), [2, 3])], 0), /differ outside dimension/, 'cat rank');
  throwsWith(() => F.cat([x, tensor(new Float32Array(10), [2, 5, 1])], 2), /differ outside dimension 2/, 'cat shape');
  throwsWith(() => F.pad(x, [4, 0], 'reflect'), /reflect padding must be smaller/, 'pad reflect too wide');
  // PyTorch (aten PadNd.cpp): k padded dimensions need rank k + 1 or k + 2 ("Only 2D, 3D, 4D, 5D padding with
  // non-constant padding are supported for now"), and "Padding mode ... doesn't take in value argument".
  throwsWith(() => F.pad(tensor(new Float32Array(48), [2, 2, 3, 4]), [1, 1], 'replicate'), /replicate padding of 1 dimension\(s\) takes a tensor of rank 2 or 3, got \[2, 2, 3, 4\]/, 'pad 1 dim of rank 4');
  throwsWith(() => F.pad(tensor(new Float32Array(4), [4]), [1, 1], 'reflect'), /rank 2 or 3/, 'pad reflect rank 1');
  throwsWith(() => F.pad(tensor(new Float32Array(4), [4]), [], 'reflect'), /last one or two dimensions, got 0/, 'pad reflect nothing');
  throwsWith(() => F.pad(x, [1, 1], 'reflect', 0.5), /mode 'reflect' takes no value \(got 0.5\)/, 'pad reflect value');
  throwsWith(() => F.pad(x, [-5, 0]), /negative/, 'pad crop too far');
  throwsWith(() => F.pad(x, [1]), /pairs/, 'pad odd count');
  throwsWith(() => F.slice(x, 1, 0, 2, 0), /step must be a positive integer/, 'slice step 0');
  throwsWith(() => F.expand(x, [2, 5, 4]), /cannot expand/, 'expand');
  // PyTorch: -1 "isn't allowed in a leading, non-existing dimension".
  throwsWith(() => F.expand(x, [-1, 2, 3, 4]), /expand \[-1, 2, 3, 4\]: every dimension must be a non-negative integer/, 'expand leading -1');
  // PyTorch: "zero-dimensional tensor cannot be concatenated", "slice() cannot be applied to a 0-dim tensor".
  const scalar = tensor([1], []);
  throwsWith(() => F.cat([scalar, scalar]), /cat: zero-dimensional tensors cannot be concatenated/, 'cat scalars');
  throwsWith(() => F.slice(scalar, 0, 0, 1), /slice: a 0-dimensional tensor cannot be sliced/, 'slice scalar');
  // PyTorch: a 0-d tensor's transpose(0, -1) is itself.
  assert.equal([...F.transpose(scalar, 0, -1).shape], [], 'transpose of a scalar');
  // PyTorch: "flatten() has invalid args: start_dim cannot come after end_dim" ([2, 3, 4] would become [2, 1, 3, 4]).
  throwsWith(() => F.flatten(x, 2, 1), /flatten: startDim 2 comes after endDim 1/, 'flatten order');
  // Sizes and indices are integers in PyTorch; a fraction or NaN must not reach a buffer size.
  for (const bad of [1.5, NaN]) {
    throwsWith(() => F.pad(x, [bad, 1]), /pad: padding sizes must be integers/, `pad ${bad}`);
    throwsWith(() => F.slice(x, 1, bad, 2), /slice: start must be an integer/, `slice start ${bad}`);
    throwsWith(() => F.slice(x, 1, 0, bad), /slice: end must be an integer/, `slice end ${bad}`);
  }
  // 'circular' is PyTorch's too, but webfer does not implement it: refused, not run as another mode.
  throwsWith(() => F.pad(x, [1, 1], 'circular' as never), /pad: mode "circular" is not supported/, 'pad circular');
});

test.run();
