// Reductions: sum, mean, max (and min, argmax) over given dims with and without keepdim, and
// over everything; the long-row and strided-column kernel paths both.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { F, tensor } from '../../src/index.js';
import { checkOp, context, draw, fileRng, ref, roundF32, setup, throwsWith, toT64 } from './helpers.js';

const rng = fileRng('reduce');
await setup();

/** (shape, dims) cases: single dims (negative too), several dims, first / middle / last. */
function cases(): [number[], number | number[] | undefined][] {
  const shape = [rng.int(2, 4), rng.int(3, 7), rng.int(2, 5)];
  const r4 = ref.randomShape(rng, 4, 1, 5);
  return [
    [shape, 0],
    [shape, 1],
    [shape, -1],
    [shape, [0, 2]],
    [shape, [-1, 1]],
    [shape, undefined],
    [shape, []],
    [r4, ref.randomDims(rng, 4)],
    [r4, ref.randomDims(rng, 4)],
    [[rng.int(300, 700)], 0],
    [[3, rng.int(300, 500)], 1],
    [[rng.int(260, 400), 3], 0],
  ];
}

const ops = [
  { name: 'sum', op: F.sum, reference: ref.sum },
  { name: 'mean', op: F.mean, reference: ref.mean },
  { name: 'max', op: F.max, reference: ref.max },
  { name: 'min', op: F.min, reference: ref.min },
] as const;

for (const { name, op, reference } of ops) {
  for (const keepdim of [false, true]) {
    test(`${name} over dims${keepdim ? ', keepdim' : ''}`, async () => {
      for (const [shape, dims] of cases()) {
        const values = name === 'max' || name === 'min' ? draw.distinct : draw.normal;
        await checkOp({
          name: `${name}(dims ${JSON.stringify(dims)}, keepdim ${keepdim})`,
          rng,
          inputs: [{ shape, draw: values }],
          forward: ([x]) => op(x, dims, { keepdim }),
          reference: ([x]) => reference(x, dims, keepdim),
          // Sums of a few hundred f32 values round differently from float64.
          rtol: 1e-4,
          atol: 1e-5 * Math.sqrt(shape.reduce((a, b) => a * b, 1)),
        });
      }
    });
  }
}

test('max over one dim sends the gradient to the first maximum; over several dims it splits ties', async () => {
  const x = tensor([1, 5, 5, 2, 3, 3, 3, 0], [2, 4], { requiresGrad: true });
  const m = F.max(x, 1);
  assert.equal(Array.from(await m.toArray()), [5, 3]);
  m.backward(tensor([1, 1], [2]));
  assert.equal(Array.from(await x.grad!.toArray()), [0, 1, 0, 0, 1, 0, 0, 0], context('max(dim) tie rule'));
  const y = tensor([1, 5, 5, 2, 3, 3, 3, 0], [2, 4], { requiresGrad: true });
  F.max(y, [1]).backward(tensor([1, 1], [2]));
  assert.equal(Array.from(await y.grad!.toArray()), [0, 0.5, 0.5, 0, 1 / 3, 1 / 3, 1 / 3, 0].map(Math.fround), context('max(dims) tie rule'));
  const z = tensor([4, 1, 4, 4], [2, 2], { requiresGrad: true });
  F.max(z).backward();
  assert.equal(Array.from(await z.grad!.toArray()), [1 / 3, 0, 1 / 3, 1 / 3].map(Math.fround), context('max() tie rule'));
});

test('argmax and maxWithIndices give the first maximum, keepdim respected', async () => {
  const x64 = roundF32(ref.randDistinct(rng, [3, 6, 4]));
  const x = tensor(Float32Array.from(x64.data), [3, 6, 4]);
  for (const dim of [0, 1, 2, -1]) {
    for (const keepdim of [false, true]) {
      const idx = F.argmax(x, dim, { keepdim });
      const expected = ref.argmax(x64, dim, keepdim);
      assert.equal([...idx.shape], expected.shape, context(`argmax dim ${dim} shape`));
      ref.assertClose(await toT64(idx), expected, { atol: 0, rtol: 0, context: context(`argmax dim ${dim}`) });
      const { values } = F.maxWithIndices(x, dim, { keepdim });
      ref.assertClose(await toT64(values), ref.max(x64, dim, keepdim), { atol: 0, rtol: 0, context: context(`maxWithIndices dim ${dim}`) });
    }
  }
  const ties = tensor([2, 7, 7, 1, 7], [5]);
  assert.is(await F.argmax(ties, 0).item(), 1, 'argmax picks the first of equal maxima');
});

test('reducing over an out-of-range or repeated dim is a clear error', () => {
  const x = tensor(new Float32Array(6), [2, 3]);
  throwsWith(() => F.sum(x, 2), /dimension 2 is out of range for a tensor of rank 2/, 'sum dim 2');
  throwsWith(() => F.mean(x, [0, -2]), /repeats a dimension/, 'mean [0, -2]');
  throwsWith(() => F.max(x, -3), /out of range/, 'max dim -3');
});

test.run();
