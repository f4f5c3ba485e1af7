// conv2dMfm (conv2d with LightCNN's max-feature-map fused into the epilogue): forward and the three
// gradients against the float64 reference mfm(conv2d) with finite differences, for every forward
// variant forced through the policy; against the unfused ops on multi-tile shapes and on ties;
// no mask without gradients; the errors.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { conv2d, conv2dMfm } from '../../src/nn/functional/conv.js';
import { mfm } from '../../src/nn/functional/mfm.js';
import type { ConvVariant } from '../../src/kernels/conv.js';
import { gpu } from '../../src/gpu/index.js';
import { sizeClass } from '../../src/gpu/pool.js';
import { memory, noGrad, type Tensor } from '../../src/index.js';
import { assertNear, checkOp, fileRng, ref, setup, throwsWith, toT64, toTensor, forwardAndGradients, type T64 } from './helpers.js';

const rng = fileRng('conv-mfm');
const VARIANTS: ConvVariant[] = ['direct', 'registerTiled', 'workgroupTiled', 'packed'];

test.before(setup);
test.after.each(() => gpu().policy.reset());

const setVariant = (variant: ConvVariant) => gpu().policy.set({ convForward: variant, convInputGrad: variant, convWeightGrad: variant });

for (const variant of VARIANTS) {
  test(`conv2dMfm ${variant}: forward, input, weight and bias gradients on random cases (stride, padding, dilation, batch, odd sizes)`, async () => {
    setVariant(variant);
    for (let trial = 0; trial < 3; trial++) {
      const c = ref.randomConvCase(rng, 3);
      const wShape = [2 * c.wShape[0], ...c.wShape.slice(1)];
      await checkOp({
        name: `${variant} conv2dMfm ${c.describe} (filters doubled)`,
        inputs: c.bias ? [c.xShape, wShape, [wShape[0]]] : [c.xShape, wShape],
        forward: ([x, w, b]) => conv2dMfm(x, w, b, c.opts),
        reference: ([x, w, b]) => ref.mfm(ref.conv2d(x, w, b, c.opts)),
        rng,
      });
    }
  });
}

test('conv2dMfm equals mfm(conv2d) on multi-tile shapes (filters > 64, odd pair count) and on exact ties', async () => {
  const shapes = [
    { x: [2, 9, 13, 11], w: [134, 9, 3, 3], opts: { padding: 1 } },
    { x: [3, 2, 21, 18], w: [6, 2, 5, 5], opts: { stride: 2, padding: 2 } },
  ];
  for (const s of shapes) {
    const xs = [ref.randn(rng, s.x), ref.randn(rng, s.w, 0.2), ref.randn(rng, [s.w[0]])];
    const g = ref.randn(rng, ref.mfm(ref.conv2d(xs[0], xs[1], xs[2], s.opts)).shape);
    // Both halves of the filters and biases equal: every output a tie, the gradient split 0.5 / 0.5.
    const half = s.w[0] / 2;
    const tiedW = { shape: s.w, data: xs[1].data.map((_, i, d) => d[i % (d.length / 2)]) };
    const tiedB = { shape: [s.w[0]], data: xs[2].data.map((_, i, d) => d[i % half]) };
    for (const inputs of [xs, [xs[0], tiedW, tiedB]]) {
      setVariant('direct');
      const unfused = await forwardAndGradients(([x, w, b]) => mfm(conv2d(x, w, b, s.opts)), inputs, g);
      for (const variant of VARIANTS) {
        setVariant(variant);
        const fused = await forwardAndGradients(([x, w, b]) => conv2dMfm(x, w, b, s.opts), inputs, g);
        const tie = inputs === xs ? '' : ' (ties)';
        ['forward', 'input grad', 'weight grad', 'bias grad'].forEach((what, i) => assertNear(fused[i], unfused[i], `${variant} conv2dMfm vs mfm(conv2d) ${what}${tie} x [${s.x}] w [${s.w}]`, 1e-3, 1e-4));
      }
    }
  }
});

test('conv2dMfm propagates NaN as torch.maximum on every variant: the output is NaN and both halves take the gradient', async () => {
  const s = { x: [2, 3, 6, 8], w: [10, 3, 3, 3], opts: { padding: 1 } };
  const xs = [ref.randn(rng, s.x), ref.randn(rng, s.w, 0.2), ref.randn(rng, [s.w[0]])];
  xs[2].data[1] = NaN; // channel 1's first half: NaN everywhere
  xs[0].data[rng.int(0, xs[0].data.length - 1)] = NaN; // and a NaN pixel reaching every channel near it
  const g = ref.randn(rng, ref.mfm(ref.conv2d(xs[0], xs[1], xs[2], s.opts)).shape);
  setVariant('direct');
  const unfused = await forwardAndGradients(([x, w, b]) => mfm(conv2d(x, w, b, s.opts)), xs, g);
  assert.ok(Array.from(unfused[0].data).some(Number.isNaN), 'the reference has NaN outputs');
  for (const variant of VARIANTS) {
    setVariant(variant);
    const fused = await forwardAndGradients(([x, w, b]) => conv2dMfm(x, w, b, s.opts), xs, g);
    ['forward', 'input grad', 'weight grad', 'bias grad'].forEach((what, i) => ref.assertClose(fused[i], unfused[i], { rtol: 1e-3, atol: 1e-3, context: `${variant} conv2dMfm vs mfm(conv2d) ${what} with NaN` }));
  }
});

test('conv2dMfm: one convolution kernel forward, every variant (no 2C-channel activations, no mfm pass), and no mask without gradients', async () => {
  const x = toTensor(ref.randn(rng, [2, 3, 9, 7]), true);
  const w = toTensor(ref.randn(rng, [8, 3, 3, 3]), true);
  const b = toTensor(ref.randn(rng, [8]), true);
  const outputBytes = 2 * 4 * 9 * 7 * 4;
  for (const variant of VARIANTS) {
    setVariant(variant);
    const before = memory().bytesInUse;
    const { timings } = await gpu().profile(async () => {
      const y = noGrad(() => conv2dMfm(x, w, b, { padding: 1 }));
      assert.is(memory().bytesInUse - before, sizeClass(outputBytes), `${variant}: only the output is allocated under noGrad`);
      assertNear(await toT64(y), ref.mfm(ref.conv2d(await toT64(x), await toT64(w), await toT64(b), { padding: 1 })), `${variant} noGrad forward`);
      y.dispose();
    });
    // conv2dMfm.<variant or packed entry point> (after conv_pack_weights, which only reorders the weights).
    const names = timings.map((t) => t.name);
    const convolutions = names.filter((n) => n !== 'conv_pack_weights');
    assert.equal(convolutions.length, 1, `${variant}: one kernel besides the weight packing, got ${names}`);
    assert.match(convolutions[0], /^conv2dMfm\./, `${variant}: the fused kernel, got ${names}`);
  }
  for (const t of [x, w, b]) t.dispose();
});

test('conv2dMfm: clear errors for an odd filter count and conv2d mistakes', () => {
  const x = toTensor(ref.randn(rng, [1, 3, 5, 5]));
  const w = toTensor(ref.randn(rng, [5, 3, 3, 3]));
  const w2 = toTensor(ref.randn(rng, [4, 2, 3, 3]));
  throwsWith(() => conv2dMfm(x, w), /conv2dMfm: weight \[5, 3, 3, 3\] has 5 filters; max-feature-map needs an even count/, 'odd filters');
  throwsWith(() => conv2dMfm(x, w2), /conv2dMfm: input \[1, 3, 5, 5\] has 3 channels but weight \[4, 2, 3, 3\]/, 'channel mismatch');
  for (const t of [x, w, w2]) t.dispose();
});

test.run();
