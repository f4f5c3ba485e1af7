// softmax / logSoftmax along any dim and the losses: crossEntropy (class indices, reductions,
// label smoothing, [N, C] and [N, C, H, W]), bceWithLogits, mseLoss, l1Loss.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { F, InvalidInputError, memory, sync, tensor, type Tensor } from '../../src/index.js';
import { assertNear, checkOp, context, draw, fileRng, ref, setup, throwsWith, toT64, toTensor, type Draw } from './helpers.js';

const rng = fileRng('loss');
await setup();

const logits: Draw = (r, shape) => ref.randn(r, shape, 2);

for (const [name, op, reference] of [
  ['softmax', F.softmax, ref.softmax],
  ['logSoftmax', F.logSoftmax, ref.logSoftmax],
] as const) {
  test(`${name} along every dim, negative dims too`, async () => {
    const shape = [rng.int(2, 4), rng.int(3, 7), rng.int(2, 5)];
    for (const dim of [0, 1, 2, -1, -2]) {
      await checkOp({ name: `${name}(dim ${dim})`, rng, inputs: [{ shape, draw: logits }], forward: ([x]) => op(x, dim), reference: ([x]) => reference(x, dim) });
    }
    await checkOp({ name: `${name} long row`, rng, inputs: [{ shape: [2, rng.int(300, 400)], draw: logits }], forward: ([x]) => op(x, -1), reference: ([x]) => reference(x, -1) });
  });
}

test('softmax and logSoftmax stay finite for large logits', async () => {
  const x64 = ref.t64([1000, 0, -1000, 88, 89, 90], [2, 3]);
  const x = tensor(Float32Array.from(x64.data), [2, 3]);
  ref.assertClose(await toT64(F.softmax(x, 1)), ref.softmax(x64, 1), { atol: 1e-7, rtol: 1e-5, context: 'softmax large' });
  ref.assertClose(await toT64(F.logSoftmax(x, 1)), ref.logSoftmax(x64, 1), { atol: 1e-4, rtol: 1e-5, context: 'logSoftmax large' });
});

const reductions = ['mean', 'sum', 'none'] as const;

test('crossEntropy on [N, C]: every reduction, with and without label smoothing, host or tensor targets', async () => {
  for (const reduction of reductions) {
    for (const labelSmoothing of [0, 0.1, 0.35]) {
      const [N, C] = [rng.int(1, 9), rng.int(2, 11)];
      const target = Array.from({ length: N }, () => rng.int(0, C - 1));
      const options = { reduction, labelSmoothing };
      await checkOp({
        name: `crossEntropy ${JSON.stringify(options)}`,
        rng,
        inputs: [{ shape: [N, C], draw: logits }],
        forward: ([x]) => F.crossEntropy(x, target, options),
        reference: ([x]) => ref.crossEntropy(x, target, options),
      });
      const targetTensor = tensor(target, [N]);
      await checkOp({
        name: `crossEntropy tensor target ${JSON.stringify(options)}`,
        rng,
        inputs: [{ shape: [N, C], draw: logits }],
        forward: ([x]) => F.crossEntropy(x, targetTensor, options),
        reference: ([x]) => ref.crossEntropy(x, target, options),
      });
      targetTensor.dispose();
    }
  }
});

test('crossEntropy on [N, C, H, W] (per-pixel classes)', async () => {
  for (const reduction of reductions) {
    for (const labelSmoothing of [0, 0.2]) {
      const [N, C, H, W] = [rng.int(1, 3), rng.int(2, 5), rng.int(1, 4), rng.int(2, 5)];
      const target = Array.from({ length: N * H * W }, () => rng.int(0, C - 1));
      const options = { reduction, labelSmoothing };
      await checkOp({
        name: `crossEntropy NCHW ${JSON.stringify(options)}`,
        rng,
        inputs: [{ shape: [N, C, H, W], draw: logits }],
        forward: ([x]) => F.crossEntropy(x, target, options),
        reference: ([x]) => ref.crossEntropy(x, ref.t64(target, [N, H, W]), options),
      });
    }
  }
});

test('crossEntropy rejects targets that do not fit', () => {
  const x = tensor(new Float32Array(12), [4, 3]);
  throwsWith(() => F.crossEntropy(x, [0, 1, 2]), /3 targets for logits \[4, 3\] \(expected 4\)/, 'count');
  throwsWith(() => F.crossEntropy(x, [0, 1, 3, 0]), /target 2 is 3, outside the 3 classes/, 'class range');
  throwsWith(() => F.crossEntropy(x, [0, 1.5, 2, 0]), /target 1 is 1.5, not an integer class index/, 'integer');
  throwsWith(() => F.crossEntropy(tensor([1, 2, 3], [3]), [0]), /logits should be \[N, C, \.\.\.\]/, 'rank');
  // PyTorch wants the target tensor in the shape [N, d1, ...], not only the same count.
  const pixels = tensor(new Float32Array(2 * 3 * 2 * 2), [2, 3, 2, 2]);
  const flatTarget = tensor(new Float32Array(8), [8]);
  throwsWith(() => F.crossEntropy(pixels, flatTarget), /target \[8\] does not match logits \[2, 3, 2, 2\] \(expected \[2, 2, 2\]\)/, 'target shape');
  const columnTarget = tensor(new Float32Array(4), [4, 1]);
  throwsWith(() => F.crossEntropy(x, columnTarget), /target \[4, 1\] does not match logits \[4, 3\] \(expected \[4\]\)/, 'target [N, 1]');
  throwsWith(() => F.crossEntropy(x, x), /class-probability targets .* are not supported: give class indices/, 'soft labels');
  for (const t of [x, pixels, flatTarget, columnTarget]) t.dispose();
});

test('losses refuse what PyTorch refuses and the options webfer does not implement, rather than ignore them', () => {
  const before = memory();
  const x = tensor(Float32Array.from({ length: 12 }, () => rng.normal()), [4, 3]);
  const y = tensor(Float32Array.from({ length: 12 }, () => rng.normal()), [4, 3]);
  const target = [0, 2, 1, 2];
  // PyTorch: "avg is not a valid value for reduction" (a typo must not fall through to 'none').
  for (const [name, loss] of [['crossEntropy', (o: object) => F.crossEntropy(x, target, o)], ['bceWithLogits', (o: object) => F.bceWithLogits(x, y, o)], ['mseLoss', (o: object) => F.mseLoss(x, y, o)], ['l1Loss', (o: object) => F.l1Loss(x, y, o)]] as const) {
    throwsWith(() => loss({ reduction: 'avg' }), new RegExp(`${name}: "avg" is not a valid value for reduction`), `${name} reduction`);
    throwsWith(() => loss({ reduction: 'mean', weight: y }), new RegExp(`${name}: unknown option "weight"`), `${name} weight`);
  }
  // PyTorch: "label_smoothing must be between 0.0 and 1.0".
  for (const labelSmoothing of [-0.1, 1.5, NaN]) throwsWith(() => F.crossEntropy(x, target, { labelSmoothing }), /labelSmoothing must be between 0 and 1/, `labelSmoothing ${labelSmoothing}`);
  throwsWith(() => F.crossEntropy(x, target, { ignoreIndex: 1 } as object), /unknown option "ignoreIndex" .*does not support it/, 'ignoreIndex');
  throwsWith(() => F.crossEntropy(x, target, { label_smoothing: 0.1 } as object), /webfer spells it labelSmoothing/, 'snake_case');
  throwsWith(() => F.bceWithLogits(x, y, { posWeight: y } as object), /unknown option "posWeight"/, 'posWeight');
  x.dispose();
  y.dispose();
  const after = memory();
  assert.is(after.liveTensors, before.liveTensors, 'live tensors');
});

test('softmax / logSoftmax without a dim take the implicit dim of PyTorch: 0 for ranks 1 and 3, 1 for ranks 2 and 4 (not the last)', async () => {
  const [N, C, H, W] = [rng.int(2, 4), rng.int(3, 6), rng.int(2, 4), rng.int(2, 5)];
  await checkOp({ name: 'softmax() on [N, C]', rng, inputs: [[N, C]], forward: ([x]) => F.softmax(x), reference: ([x]) => ref.softmax(x, 1) });
  await checkOp({ name: 'logSoftmax() on [C]', rng, inputs: [[C]], forward: ([x]) => F.logSoftmax(x), reference: ([x]) => ref.logSoftmax(x, 0) });
  await checkOp({ name: 'softmax() on [C, H, W]', rng, inputs: [[C, H, W]], forward: ([x]) => F.softmax(x), reference: ([x]) => ref.softmax(x, 0) });
  await checkOp({ name: 'logSoftmax() on [N, C, H, W]', rng, inputs: [[N, C, H, W]], forward: ([x]) => F.logSoftmax(x), reference: ([x]) => ref.logSoftmax(x, 1) });
});

/** A target value that is not a class index of C classes, of each kind PyTorch refuses. */
function invalidTarget(kind: string, C: number): number {
  if (kind === 'too large') return C + rng.int(0, 5);
  if (kind === 'negative') return -rng.int(1, 5);
  if (kind === 'ignore_index') return -100;
  if (kind === 'fraction') return rng.int(0, C - 2) + 0.5;
  return NaN;
}
const invalidKinds = ['too large', 'negative', 'ignore_index', 'fraction', 'NaN'];

function expectedMessage(index: number, value: number, C: number): RegExp {
  const escaped = String(value).replace('.', '\\.');
  const why = value === -100 ? "PyTorch's ignore_index, which webfer's crossEntropy does not support" : Number.isInteger(value) ? `outside the ${C} classes \\[0, ${C - 1}\\]` : `not an integer class index in \\[0, ${C - 1}\\]`;
  return new RegExp(`crossEntropy: target ${index} is ${escaped}, ${why.replace(/[()]/g, '\\$&')}`);
}

test('crossEntropy with host targets: a bad class index of any kind is refused at once, naming it', () => {
  for (const kind of invalidKinds) {
    const [N, C] = [rng.int(2, 9), rng.int(2, 7)];
    const x = tensor(new Float32Array(N * C), [N, C]);
    const target = Array.from({ length: N }, () => rng.int(0, C - 1));
    const bad = rng.int(0, N - 1);
    target[bad] = invalidTarget(kind, C);
    throwsWith(() => F.crossEntropy(x, target), expectedMessage(bad, target[bad], C), context(`${kind} at ${bad} of [${N}, ${C}]`));
    x.dispose();
  }
});

test('crossEntropy with a target tensor: bad class indices raise at the next read-back, their rows stay NaN with zero gradient', async () => {
  for (const kind of invalidKinds) {
    const shape = rng.bool() ? [rng.int(2, 6), rng.int(2, 6)] : [rng.int(1, 3), rng.int(2, 4), rng.int(1, 3), rng.int(2, 4)];
    const [N, C] = shape;
    const targetShape = [N, ...shape.slice(2)];
    const count = targetShape.reduce((a, b) => a * b, 1);
    const target = Array.from({ length: count }, () => rng.int(0, C - 1));
    const badRows = [...new Set(Array.from({ length: rng.int(1, Math.min(3, count)) }, () => rng.int(0, count - 1)))].sort((a, b) => a - b);
    for (const row of badRows) target[row] = invalidTarget(kind, C);
    const what = context(`${kind} at rows ${badRows} of target ${JSON.stringify(targetShape)}, logits ${JSON.stringify(shape)}`);
    const x64 = ref.map(ref.randn(rng, shape, 2), Math.fround);
    const x = toTensor(x64, true);
    const targetTensor = tensor(target, targetShape);
    const losses = F.crossEntropy(x, targetTensor, { reduction: 'none' });
    let error: unknown;
    await losses.toArray().catch((e) => (error = e));
    assert.instance(error, InvalidInputError, what);
    const message = (error as Error).message;
    assert.match(message, expectedMessage(badRows[0], target[badRows[0]], C), what);
    assert.match(message, `${badRows.length} of the ${count} targets`, what);
    // The error is raised once: the same values read again show NaN exactly on the bad rows.
    const values = await losses.toArray();
    const valid = target.map((t, i) => (badRows.includes(i) ? 0 : t));
    const expected = ref.crossEntropy(x64, ref.t64(valid, targetShape), { reduction: 'none' });
    values.forEach((v, i) => {
      if (badRows.includes(i)) assert.ok(Number.isNaN(v), `${what}: row ${i} should be NaN, got ${v}`);
      else assert.ok(Math.abs(v - expected.data[i]) <= 1e-4 * Math.max(1, Math.abs(expected.data[i])), `${what}: row ${i}: ${v} vs ${expected.data[i]}`);
    });
    losses.backward(tensor(new Float32Array(count).fill(1), targetShape));
    const grad = await x.grad!.toArray();
    const inner = count / N;
    for (let row = 0; row < count; row++) {
      const [n, s] = [Math.floor(row / inner), row % inner];
      const rowGrad = Array.from({ length: C }, (_, c) => grad[(n * C + c) * inner + s]);
      if (badRows.includes(row)) assert.equal(rowGrad, new Array(C).fill(0), `${what}: gradient of bad row ${row}`);
      else assert.ok(Math.abs(rowGrad.reduce((a, b) => a + b, 0)) < 1e-5, `${what}: gradient of row ${row} sums to 0`);
    }
    for (const t of [x, targetTensor, losses]) t.dispose();
  }
});

test('crossEntropy with a valid target tensor adds no error, and sync() raises a pending bad-target flag too', async () => {
  const [N, C] = [rng.int(2, 8), rng.int(2, 6)];
  const x = tensor(Float32Array.from({ length: N * C }, () => rng.normal()), [N, C]);
  const good = tensor(Array.from({ length: N }, () => rng.int(0, C - 1)), [N]);
  const loss = F.crossEntropy(x, good);
  assert.ok(Number.isFinite(await loss.item()));
  const badTarget = Array.from({ length: N }, () => rng.int(0, C - 1));
  badTarget[N - 1] = C;
  const bad = tensor(badTarget, [N]);
  const badLoss = F.crossEntropy(x, bad);
  let error: unknown;
  await sync().catch((e) => (error = e));
  assert.instance(error, InvalidInputError);
  assert.match((error as Error).message, `target ${N - 1} is ${C}, outside the ${C} classes`);
  await sync();
  for (const t of [x, good, loss, bad, badLoss] as Tensor[]) t.dispose();
});

test('bceWithLogits: gradients for logits and targets, every reduction, large logits', async () => {
  for (const reduction of reductions) {
    for (const shape of [[rng.int(1, 9)], [rng.int(2, 4), rng.int(3, 6)], [2, 3, rng.int(2, 5)]]) {
      await checkOp({
        name: `bceWithLogits ${reduction}`,
        rng,
        inputs: [{ shape, draw: (r, s) => ref.randn(r, s, 3) }, { shape, draw: draw.uniform(0, 1) }],
        forward: ([x, t]) => F.bceWithLogits(x, t, { reduction }),
        reference: ([x, t]) => ref.bceWithLogits(x, t, { reduction }),
      });
    }
  }
  await checkOp({
    name: 'bceWithLogits saturated',
    rng,
    inputs: [{ shape: [6], draw: () => ref.t64([-60, -30, -15, 15, 30, 60], [6]) }, { shape: [6], draw: draw.uniform(0, 1) }],
    forward: ([x, t]) => F.bceWithLogits(x, t, { reduction: 'none' }),
    reference: ([x, t]) => ref.bceWithLogits(x, t, { reduction: 'none' }),
  });
});

test('bceWithLogits keeps the precision of tiny losses (|x| from 5 to 40 on the side of its target), as torch.nn.functional.logsigmoid (log1p) does', async () => {
  const n = rng.int(5, 13);
  const xs = Array.from({ length: n }, () => (rng.bool() ? 1 : -1) * rng.uniform(5, 40));
  const x64 = ref.t64(xs.map(Math.fround), [n]);
  const t64 = ref.t64(xs.map((v) => (v > 0 ? 1 : 0)), [n]);
  const x = toTensor(x64);
  const t = toTensor(t64);
  // Each loss is about exp(-|x|): compared elementwise in relative terms, not against the largest one.
  const losses = await F.bceWithLogits(x, t, { reduction: 'none' }).toArray();
  ref.assertClose(losses, ref.bceWithLogits(x64, t64, { reduction: 'none' }), { rtol: 1e-4, atol: 0, context: context(`bceWithLogits x ${xs.map((v) => v.toFixed(2))}`) });
  x.dispose();
  t.dispose();
});

test('bceWithLogits at ±inf gives the inf or NaN of PyTorch ((1 - t) x - log_sigmoid(x))', async () => {
  const x64 = ref.t64([Infinity, -Infinity, Infinity, -Infinity], [4]);
  const t64 = ref.t64([1, 0, 0, 1], [4]);
  const losses = Array.from(await F.bceWithLogits(toTensor(x64), toTensor(t64), { reduction: 'none' }).toArray());
  // 0 · inf is NaN for x = inf, t = 1 (and -inf + inf for x = -inf, t = 0): torch gives NaN there, not 0.
  assert.equal(losses, [NaN, NaN, Infinity, NaN], context('bceWithLogits([inf, -inf, inf, -inf], [1, 0, 0, 1])'));
  assert.equal(losses, Array.from(ref.bceWithLogits(x64, t64, { reduction: 'none' }).data), context('against the float64 reference'));
});

test('crossEntropy with masked classes (logit -inf off the target): finite losses and gradients without smoothing, inf with it, as PyTorch', async () => {
  // PyTorch reads only the target's log-probability unless label_smoothing > 0; with smoothing the
  // -inf log-probabilities enter the smoothing term and the loss is inf.
  const [N, C] = [rng.int(2, 6), rng.int(3, 8)];
  const target = Array.from({ length: N }, () => rng.int(0, C - 1));
  const x64 = ref.randn(rng, [N, C], 2);
  for (let n = 0; n < N; n++) {
    const masked = (target[n]! + rng.int(1, C - 1)) % C;
    x64.data[n * C + masked] = -Infinity;
  }
  for (const labelSmoothing of [0, 0.1]) {
    for (const reduction of reductions) {
      const options = { reduction, labelSmoothing };
      const x = tensor(Float32Array.from(x64.data), [N, C], { requiresGrad: true });
      const loss = F.crossEntropy(x, target, options);
      assertNear(await toT64(loss), ref.crossEntropy(x64, target, options), `masked crossEntropy ${JSON.stringify(options)}`);
      if (labelSmoothing === 0) {
        F.sum(loss).backward();
        // d loss / d x = softmax(x) - onehot(target) per row (divided by N for the mean): 0 at a masked class.
        const p = ref.softmax(x64, 1);
        const expected = ref.map(p, (v, i) => (v - (target[Math.floor(i / C)] === i % C ? 1 : 0)) / (reduction === 'mean' ? N : 1));
        assertNear(await toT64(x.grad!), expected, `masked crossEntropy gradient ${reduction}`);
      }
      x.dispose();
      loss.dispose();
    }
  }
});

test('crossEntropy of an empty batch: NaN (mean), 0 (sum), [] (none), as PyTorch', async () => {
  const C = rng.int(2, 6);
  const x = tensor([], [0, C], { requiresGrad: true });
  assert.equal(Array.from(await F.crossEntropy(x, []).toArray()), [NaN], context('mean'));
  assert.equal(Array.from(await F.crossEntropy(x, tensor([], [0]), { reduction: 'sum' }).toArray()), [0], context('sum'));
  const none = F.crossEntropy(tensor([], [0, C, 3]), [], { reduction: 'none' });
  assert.equal([...none.shape], [0, 3], context('none shape'));
  x.dispose();
  none.dispose();
});

test('mseLoss and l1Loss: every reduction, both gradients, broadcast target', async () => {
  // l1's kink is at x == target: keep |x| >= 0.6 and |target| <= 0.4.
  const farFromTarget: Draw = (r, s) => ref.map(ref.randu(r, s, 0.6, 2), (v) => (r.bool() ? v : -v));
  const nearZero = draw.uniform(-0.4, 0.4);
  for (const reduction of reductions) {
    for (const [xShape, tShape] of [[[rng.int(1, 9)], null], [[rng.int(2, 4), rng.int(3, 6)], null], [[3, 4, 5], [4, 1]]] as [number[], number[] | null][]) {
      const t = tShape ?? xShape;
      await checkOp({ name: `mseLoss ${reduction}`, rng, inputs: [xShape, t], forward: ([x, y]) => F.mseLoss(x, y, { reduction }), reference: ([x, y]) => ref.mseLoss(x, y, { reduction })});
      await checkOp({ name: `l1Loss ${reduction}`, rng, inputs: [{ shape: xShape, draw: farFromTarget }, { shape: t, draw: nearZero }], forward: ([x, y]) => F.l1Loss(x, y, { reduction }), reference: ([x, y]) => ref.l1Loss(x, y, { reduction })});
    }
  }
});

test('losses on mismatched shapes fail clearly, and a refused loss leaves no tensor or buffer behind', () => {
  const before = memory();
  const a = tensor(new Float32Array(6), [2, 3]);
  const b = tensor(new Float32Array(8), [2, 4]);
  const row = tensor(new Float32Array(3), [3]);
  throwsWith(() => F.mseLoss(a, b), /do not broadcast/, 'mse');
  throwsWith(() => F.l1Loss(a, b), /do not broadcast/, 'l1');
  throwsWith(() => F.bceWithLogits(a, b), /must be the same as input size/, 'bce');
  // PyTorch refuses a broadcastable but different target for bce too.
  throwsWith(() => F.bceWithLogits(a, row), /must be the same as input size/, 'bce broadcast');
  for (const t of [a, b, row]) t.dispose();
  const after = memory();
  assert.is(after.liveTensors, before.liveTensors, 'live tensors');
  assert.is(after.bytesInUse, before.bytesInUse, 'bytes in use');
});

test.run();
