// Reductions: sum, mean, max (and min, argmax) over given dims with and without keepdim, and
// over everything; the long-row and strided-column kernel paths both.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { F, tensor, type Tensor } from '../../src/index.js';
import { assertNear, checkOp, context, draw, fileRng, forwardAndGradients, ref, roundF32, setup, throwsWith, toT64 } from './helpers.js';

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

test('max, min and argmax by hand: NaN propagates (the first NaN is the argmax), a row of -inf gives -inf; gradients as PyTorch', async () => {
  const values = async (t: Tensor) => Array.from(await t.toArray());
  const x = () => tensor([1, NaN, 3, -2], [4], { requiresGrad: true });
  assert.equal(await values(F.argmax(x(), 0)), [1], context('argmax([1, NaN, 3, -2])'));
  assert.equal(await values(F.max(x())), [NaN], context('max([1, NaN, 3, -2])'));
  assert.equal(await values(F.min(x())), [NaN], context('min([1, NaN, 3, -2])'));
  // torch.max(x): the gradient goes to the NaN (evenly_distribute_backward counts NaN as equal to NaN).
  const all = x();
  F.max(all).backward();
  assert.equal(await values(all.grad!), [0, 1, 0, 0], context('max() gradient at NaN'));
  const allMin = x();
  F.min(allMin).backward();
  assert.equal(await values(allMin.grad!), [0, 1, 0, 0], context('min() gradient at NaN'));
  // torch.amax(x, 0): nothing equals NaN, so g / 0 · 0 = NaN everywhere (scale_grad_by_count).
  const listed = x();
  F.max(listed, [0]).backward();
  assert.equal(await values(listed.grad!), [NaN, NaN, NaN, NaN], context('amax gradient at NaN'));
  // torch.max(x, 0): all of it to the index, the first NaN.
  const one = x();
  const m = F.max(one, 0);
  assert.equal(await values(m), [NaN], context('max(x, 0)'));
  m.backward();
  assert.equal(await values(one.grad!), [0, 1, 0, 0], context('max(x, 0) gradient at NaN'));
  const infs = () => tensor([-Infinity, -Infinity, 2, Infinity, Infinity, NaN], [2, 3], { requiresGrad: true });
  assert.equal(await values(F.max(tensor([-Infinity, -Infinity], [2]))), [-Infinity], context('max of -inf'));
  assert.equal(await values(F.min(tensor([Infinity, Infinity], [2]))), [Infinity], context('min of +inf'));
  assert.equal(await values(F.argmax(infs(), 1)), [2, 2], context('argmax rows [-inf, -inf, 2], [inf, inf, NaN]'));
  assert.equal(await values(F.argmax(tensor([-Infinity, -Infinity], [2]), 0)), [0], context('argmax of a -inf tie'));
  const tied = infs();
  F.max(tied, [0]).backward(tensor([1, 2, 4], [3]));
  // Columns [-inf, inf] (inf wins), [-inf, inf], [2, NaN] (NaN: amax's NaN gradient).
  assert.equal(await values(tied.grad!), [0, 0, NaN, 1, 2, NaN], context('amax over dim 0 with ±inf and NaN'));
  const evenly = tensor([-Infinity, -Infinity], [2], { requiresGrad: true });
  F.max(evenly).backward();
  assert.equal(await values(evenly.grad!), [0.5, 0.5], context('max() of a -inf tie splits the gradient'));
});

test('max, min and argmax on random data with ties, NaN and ±inf: forward and gradient against the float64 rules, every kernel path', async () => {
  for (const [shape, dims] of cases()) {
    const count = shape.reduce((a, b) => a * b, 1);
    const outputs = ref.max(ref.zeros(shape), dims).data.length;
    // About one special value per reduced slice: some slices have none, some NaN, some ±inf.
    const x = ref.randWithSpecials(rng, shape, outputs / count);
    for (const which of ['max', 'min'] as const) {
      for (const keepdim of [false, true]) {
        const what = `${which}([${shape}], dims ${JSON.stringify(dims)}, keepdim ${keepdim})`;
        const reference = which === 'max' ? ref.max(x, dims, keepdim) : ref.min(x, dims, keepdim);
        const g = roundF32(ref.randn(rng, reference.shape));
        const op = which === 'max' ? F.max : F.min;
        const [y, gx] = await forwardAndGradients(([t]) => op(t, dims, { keepdim }), [x], g);
        assertNear(y, reference, `${what}: forward`);
        const expected =
          dims === undefined ? ref.maxAllBackward(x, g.data[0], which)
          : typeof dims === 'number' ? ref.maxDimBackward(x, g, dims, which)
          : ref.amaxBackward(x, g, dims, which);
        assertNear(gx, expected, `${what}: gradient`);
      }
    }
    if (typeof dims === 'number') {
      const idx = F.argmax(tensor(Float32Array.from(x.data), shape), dims);
      ref.assertClose(await toT64(idx), ref.argmax(x, dims), { atol: 0, rtol: 0, context: context(`argmax([${shape}], ${dims}) with NaN and ±inf`) });
      idx.dispose();
    }
  }
});

test('a 0-dimensional tensor reduces over dim 0 or -1 to itself, as in PyTorch (torch.tensor(5.).sum(0) is 5)', async () => {
  const value = rng.normal() * 3;
  for (const dim of [0, -1]) {
    const at = (op: string) => context(`${op}(scalar ${value}, ${dim})`);
    const scalar = () => tensor([value], [], { requiresGrad: true });
    for (const [op, reduce] of [['sum', (x: Tensor) => F.sum(x, dim, { keepdim: true })], ['mean', (x: Tensor) => F.mean(x, dim)], ['max', (x: Tensor) => F.max(x, dim)], ['min', (x: Tensor) => F.min(x, [dim])]] as const) {
      const x = scalar();
      const y = reduce(x);
      assert.equal([...y.shape], [], at(`${op} shape`));
      assert.equal([...(await y.toArray())], [Math.fround(value)], at(op));
      y.backward();
      assert.equal([...(await x.grad!.toArray())], [1], at(`${op} gradient`));
    }
    assert.equal([...(await F.argmax(scalar(), dim).toArray())], [0], at('argmax'));
    assert.equal([...(await F.softmax(scalar(), dim).toArray())], [1], at('softmax'));
  }
});

test('argmax without a dim indexes the flattened tensor, as torch.argmax(x) (the first maximum)', async () => {
  const shape = [rng.int(2, 4), rng.int(3, 6), rng.int(2, 5)];
  const x64 = ref.randDistinct(rng, shape, 0.1);
  const size = x64.data.length;
  // A tie with the maximum further on: the first one wins.
  const first = rng.int(0, size - 2);
  x64.data[first] = 100;
  x64.data[size - 1] = 100;
  const x = tensor(Float32Array.from(x64.data), shape);
  const index = F.argmax(x);
  assert.equal([...index.shape], [], context(`argmax of ${JSON.stringify(shape)} shape`));
  assert.equal([...(await index.toArray())], [first], context(`argmax of ${JSON.stringify(shape)} with maxima at ${first} and ${size - 1}`));
  throwsWith(() => F.argmax(x, undefined, { keepdim: true }), /argmax: keepdim needs a dim/, 'keepdim without dim');
  for (const t of [x, index]) t.dispose();
});

test('max, min and argmax over an empty dimension are refused (PyTorch: no identity), not -inf', () => {
  const empty = tensor([], [0, 3]);
  throwsWith(() => F.max(empty), /dimension 0 of \[0, 3\] is empty/, 'max()');
  throwsWith(() => F.min(empty, [0]), /dimension 0 of \[0, 3\] is empty/, 'amin over 0');
  throwsWith(() => F.argmax(empty, 0), /dimension 0 of \[0, 3\] is empty/, 'argmax over 0');
  // Over a non-empty dim the result is empty, as PyTorch's.
  assert.equal([...F.max(empty, 1).shape], [0], context('max over dim 1 of [0, 3]'));
  empty.dispose();
});

test('reducing over an out-of-range or repeated dim is a clear error', () => {
  const x = tensor(new Float32Array(6), [2, 3]);
  throwsWith(() => F.sum(x, 2), /dimension 2 is out of range for a tensor of rank 2/, 'sum dim 2');
  throwsWith(() => F.mean(x, [0, -2]), /repeats a dimension/, 'mean [0, -2]');
  throwsWith(() => F.max(x, -3), /out of range/, 'max dim -3');
  // PyTorch's positional keepdim (x.sum(1, True)) has to be { keepdim: true } here: refused, not dropped.
  throwsWith(() => F.sum(x, 1, true as never), /sum: options must be an object such as \{ keepdim: true \}/, 'positional keepdim');
  throwsWith(() => F.max(x, 1, { keepDim: true } as never), /max: unknown option "keepDim"/, 'misspelt keepdim');
});

test('long sums and means keep float32 accuracy (PyTorch sums pairwise): down 10^5 rows of positive values, along rows of 10^6, max / min unchanged', async () => {
  // One float32 addition after another drifts by up to n roundings: the mean over dim 0 of
  // [10^5, C] positive values was ~1e-5 off; pairwise it stays within a few roundings.
  const cases: [number[], number][] = [[[rng.int(100_000, 140_000), rng.int(2, 4)], 0], [[rng.int(2, 3), rng.int(1_000_000, 1_200_000)], 1], [[rng.int(60, 90), rng.int(3_000, 4_000), rng.int(2, 3)], 1]];
  for (const [shape, dim] of cases) {
    const x64 = roundF32(ref.randu(rng, shape, 0.5, 1));
    const x = tensor(Float32Array.from(x64.data), shape);
    for (const [name, op, reference] of [['sum', F.sum, ref.sum], ['mean', F.mean, ref.mean], ['max', F.max, ref.max], ['min', F.min, ref.min]] as const) {
      const y = op(x, dim);
      // rtol 1e-6: float32 rounding of the result and a few roundings on the way.
      ref.assertClose(await toT64(y), reference(x64, [dim]), { rtol: 1e-6, atol: 0, context: context(`${name} over dim ${dim} of [${shape}]`) });
      y.dispose();
    }
    x.dispose();
  }
});

test.run();
