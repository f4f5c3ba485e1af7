// conv2d and convTranspose2d: forward and the three gradients against the float64 reference
// (finite differences), for the direct oracle, both tiled variants of all three kernels and the
// packed forward / input-gradient kernels, plus tiled and packed vs direct on shapes that span
// several tiles and split-K slices, and which packed kernel each geometry reaches.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { conv2d, conv2dMfm, convTranspose2d } from '../../src/nn/functional/conv.js';
import { subgroupsOfEight, type ConvVariant } from '../../src/kernels/conv.js';
import { gpu } from '../../src/gpu/index.js';
import { type Tensor } from '../../src/index.js';
import { checkOp, context, fileRng, ref, setup, throwsWith, toT64, toTensor, assertNear, forwardAndGradients, type T64, kernelsRun } from './helpers.js';

const rng = fileRng('cnn-conv');
const VARIANTS: ConvVariant[] = ['direct', 'registerTiled', 'workgroupTiled', 'packed'];

test.before(setup);

/** Forces the three conv kernels (forward, input gradient, weight gradient) to one variant through the policy. */
function setConvVariant(variant: ConvVariant | undefined): void {
  gpu().policy.set({ convForward: variant, convInputGrad: variant, convWeightGrad: variant });
}
const spec = (name: string, fn: () => void | Promise<void>) =>
  test(name, async () => {
    const start = Date.now();
    await fn();
    if (process.env.WEBFER_TIMING) console.error(`${Date.now() - start} ms  ${name}`);
  });
test.after.each(() => gpu().policy.reset());

for (const variant of VARIANTS) {
  spec(`conv2d ${variant}: forward, input, weight and bias gradients on random cases`, async () => {
    setConvVariant(variant);
    for (let trial = 0; trial < 4; trial++) {
      const c = ref.randomConvCase(rng, 3);
      await checkOp({
        name: `${variant} ${c.describe}`,
        inputs: c.bias ? [c.xShape, c.wShape, [c.wShape[0]]] : [c.xShape, c.wShape],
        forward: ([x, w, b]) => conv2d(x, w, b, c.opts),
        reference: ([x, w, b]) => ref.conv2d(x, w, b, c.opts),
        rng,
      });
    }
  });

  spec(`convTranspose2d ${variant}: forward and gradients on random cases (output padding, dilation)`, async () => {
    setConvVariant(variant);
    for (let trial = 0; trial < 4; trial++) {
      const c = ref.randomConvTransposeCase(rng, 3);
      await checkOp({
        name: `${variant} ${c.describe}`,
        inputs: c.bias ? [c.xShape, c.wShape, [c.wShape[1]]] : [c.xShape, c.wShape],
        forward: ([x, w, b]) => convTranspose2d(x, w, b, c.opts),
        reference: ([x, w, b]) => ref.convTranspose2d(x, w, b, c.opts),
        rng,
      });
    }
  });
}

spec('conv2d: fixed corner cases (1×1, 7×7 stride 2 pad 3, non-square, batch 2)', async () => {
  const cases: { x: number[]; w: number[]; opts: object }[] = [
    { x: [2, 3, 5, 9], w: [4, 3, 1, 1], opts: {} },
    { x: [2, 2, 11, 8], w: [3, 2, 7, 7], opts: { stride: 2, padding: 3 } },
    { x: [1, 2, 9, 7], w: [2, 2, 3, 3], opts: { stride: [2, 1], padding: [1, 2], dilation: [2, 1] } },
  ];
  for (const variant of VARIANTS) {
    setConvVariant(variant);
    for (const c of cases) {
      await checkOp({
        name: `${variant} conv2d x [${c.x}] w [${c.w}] ${JSON.stringify(c.opts)}`,
        inputs: [c.x, c.w, [c.w[0]]],
        forward: ([x, w, b]) => conv2d(x, w, b, c.opts),
        reference: ([x, w, b]) => ref.conv2d(x, w, b, c.opts),
        rng,
      });
    }
  }
});

spec('convTranspose2d 1×1 with output padding (dilation 2): the output plane is larger than the input, so not a pointwise GEMM', async () => {
  // The pointwise GEMM read the output's plane size for the input's: rows past the input held stale pool data and
  // every image after the first was read at the wrong offset.
  const cases: { x: number[]; w: number[]; opts: object }[] = [
    { x: [2, 3, 4, 5], w: [3, 2, 1, 1], opts: { outputPadding: [1, 0], dilation: 2 } },
    { x: [3, 1, 3, 4], w: [1, 3, 1, 1], opts: { outputPadding: [1, 1], dilation: [2, 3] } },
  ];
  for (const variant of VARIANTS) {
    setConvVariant(variant);
    for (const c of cases) {
      for (const size of [64, 128, 256]) toTensor(ref.randn(rng, [size])).dispose();  // stale values in the pool where a kernel reads too far
      await checkOp({
        name: `${variant} convTranspose2d x [${c.x}] w [${c.w}] ${JSON.stringify(c.opts)}`,
        inputs: [c.x, c.w, [c.w[1]]],
        forward: ([x, w, b]) => convTranspose2d(x, w, b, c.opts),
        reference: ([x, w, b]) => ref.convTranspose2d(x, w, b, c.opts),
        rng,
      });
    }
  }
});

spec('tiled variants match the direct oracle on multi-tile shapes (channels > 64, split-K)', async () => {
  const shapes = [
    { x: [2, 67, 13, 11], w: [70, 67, 3, 3], opts: { padding: 1 } },
    { x: [3, 5, 40, 37], w: [9, 5, 5, 5], opts: { stride: 2, padding: 2 } },
  ];
  for (const s of shapes) {
    const xs = [ref.randn(rng, s.x), ref.randn(rng, s.w, 0.2), ref.randn(rng, [s.w[0]])];
    const yShape = ref.conv2d(xs[0], xs[1], xs[2], s.opts).shape;
    const g = ref.randn(rng, yShape);
    setConvVariant('direct');
    const oracle = await forwardAndGradients(([x, w, b]) => conv2d(x, w, b, s.opts), xs, g);
    for (const variant of ['registerTiled', 'workgroupTiled', 'packed'] as const) {
      setConvVariant(variant);
      const got = await forwardAndGradients(([x, w, b]) => conv2d(x, w, b, s.opts), xs, g);
      ['forward', 'input grad', 'weight grad', 'bias grad'].forEach((what, i) =>
        assertNear(got[i], oracle[i], `${variant} vs direct ${what} x [${s.x}] w [${s.w}]`, 1e-3, 1e-4));
    }
    const tShape = [s.x[0], s.w[0], ...yShape.slice(2)];
    const xt = [ref.randn(rng, tShape), ref.randn(rng, [s.w[0], s.w[1], s.w[2], s.w[3]], 0.2), ref.randn(rng, [s.w[1]])];
    const gt = ref.randn(rng, [s.x[0], s.w[1], s.x[2], s.x[3]]);
    const opts = { ...s.opts, outputPadding: 0 };
    // The convTranspose output must be exactly x's size for gt to fit: pick outputPadding to match.
    const base = ref.convTranspose2d(xt[0], xt[1], xt[2], opts).shape;
    const op = [s.x[2] - base[2], s.x[3] - base[3]] as [number, number];
    const topts = { ...s.opts, outputPadding: op };
    setConvVariant('direct');
    const toracle = await forwardAndGradients(([x, w, b]) => convTranspose2d(x, w, b, topts), xt, gt);
    for (const variant of ['registerTiled', 'workgroupTiled', 'packed'] as const) {
      setConvVariant(variant);
      const tgot = await forwardAndGradients(([x, w, b]) => convTranspose2d(x, w, b, topts), xt, gt);
      ['forward', 'input grad', 'weight grad', 'bias grad'].forEach((what, i) => assertNear(tgot[i], toracle[i], `convTranspose2d ${variant} vs direct ${what}`, 1e-3, 1e-4));
    }
  }
});

spec('packed: each geometry reaches its kernel (pointwise, threeWide, threeWidePair, threeByThree, fiveWidePair, fiveWide, packedTiled, phaseTiled, the registerTiled fallbacks) for all three passes and matches the reference', async () => {
  setConvVariant('packed');
  // The kernels without subgroups (the subgroup ones have a test of their own); 1×1 convs on the conv kernels
  // (convPointwise gemm: test/ops/conv-pointwise-gemm.test.ts).
  gpu().policy.set({ convSubgroups: 'off', convPointwise: 'conv' });
  const cases: { what: string; x: number[]; w: number[]; opts: object; mfm?: boolean; forward: string; inputGrad: string; weightGrad: string }[] = [
    { what: '1×1, H·W % 4 == 0', x: [2, 5, 6, 6], w: [7, 5, 1, 1], opts: {}, forward: 'conv2d.pointwise', inputGrad: 'conv_transpose2d.pointwise', weightGrad: 'conv2d_weight_grad.pointwise' },
    { what: '1×1, H·W odd, 3 filters', x: [2, 5, 5, 7], w: [3, 5, 1, 1], opts: {}, forward: 'conv2d.packedTiled', inputGrad: 'conv_transpose2d.packedTiled', weightGrad: 'conv2d_weight_grad.registerTiled' },
    { what: '3×3 pad 1, W % 4 == 0', x: [2, 3, 5, 12], w: [9, 3, 3, 3], opts: { padding: 1 }, forward: 'conv2d.threeWide', inputGrad: 'conv_transpose2d.threeWide', weightGrad: 'conv2d_weight_grad.threeByThree' },
    { what: '3×3 pad 1, W % 8 == 0', x: [2, 3, 5, 16], w: [9, 3, 3, 3], opts: { padding: 1 }, forward: 'conv2d.threeWidePair', inputGrad: 'conv_transpose2d.threeWidePair', weightGrad: 'conv2d_weight_grad.threeByThree' },
    { what: '5×3, padding [2, 1], dilation [2, 1]', x: [3, 2, 9, 4], w: [5, 2, 5, 3], opts: { padding: [2, 1], dilation: [2, 1] }, forward: 'conv2d.threeWide', inputGrad: 'conv_transpose2d.threeWide', weightGrad: 'conv2d_weight_grad.threeWide' },
    { what: '3×3 stride [2, 1] pad 1', x: [2, 3, 7, 8], w: [6, 3, 3, 3], opts: { stride: [2, 1], padding: 1 }, forward: 'conv2d.threeWidePair', inputGrad: 'conv_transpose2d.phaseTiled', weightGrad: 'conv2d_weight_grad.threeByThree' },
    { what: 'mfm 3×3 pad 1', x: [2, 3, 6, 8], w: [10, 3, 3, 3], opts: { padding: 1 }, mfm: true, forward: 'conv2dMfm.threeWidePair', inputGrad: 'conv_transpose2d.threeWidePair', weightGrad: 'conv2d_weight_grad.threeByThree' },
    { what: 'mfm 1×1', x: [2, 4, 4, 3], w: [6, 4, 1, 1], opts: {}, mfm: true, forward: 'conv2dMfm.pointwise', inputGrad: 'conv_transpose2d.pointwise', weightGrad: 'conv2d_weight_grad.pointwise' },
    { what: '5×5 pad 2, W % 8 == 0', x: [2, 2, 5, 16], w: [6, 2, 5, 5], opts: { padding: 2 }, forward: 'conv2d.fiveWidePair', inputGrad: 'conv_transpose2d.fiveWidePair', weightGrad: 'conv2d_weight_grad.fiveWide' },
    { what: 'mfm 5×5 pad 2, one input channel (conv1)', x: [3, 1, 7, 8], w: [10, 1, 5, 5], opts: { padding: 2 }, mfm: true, forward: 'conv2dMfm.fiveWidePair', inputGrad: 'conv_transpose2d.fiveWidePair', weightGrad: 'conv2d_weight_grad.fiveWide' },
    { what: '5×5 pad 2, W % 8 == 4', x: [2, 3, 6, 12], w: [5, 3, 5, 5], opts: { padding: 2 }, forward: 'conv2d.packedTiled', inputGrad: 'conv_transpose2d.packedTiled', weightGrad: 'conv2d_weight_grad.fiveWide' },
    { what: '5×3 stride [2, 1] padding [1, 2], dilation [2, 1]', x: [2, 2, 9, 8], w: [4, 2, 3, 5], opts: { stride: [2, 1], padding: [1, 2], dilation: [2, 1] }, forward: 'conv2d.fiveWidePair', inputGrad: 'conv_transpose2d.registerTiled', weightGrad: 'conv2d_weight_grad.fiveWide' },
    { what: '3×3 stride 2 pad 1', x: [2, 3, 9, 8], w: [5, 3, 3, 3], opts: { stride: 2, padding: 1 }, forward: 'conv2d.packedTiled', inputGrad: 'conv_transpose2d.phaseTiled', weightGrad: 'conv2d_weight_grad.registerTiled' },
    { what: '4×4 pad 2 dilation 2', x: [1, 2, 7, 9], w: [3, 2, 4, 4], opts: { padding: 2, dilation: 2 }, forward: 'conv2d.packedTiled', inputGrad: 'conv_transpose2d.packedTiled', weightGrad: 'conv2d_weight_grad.registerTiled' },
  ];
  for (const c of cases) {
    const op = ([x, w, b]: Tensor[]) => (c.mfm ? conv2dMfm(x, w, b, c.opts) : conv2d(x, w, b, c.opts));
    const names = await kernelsRun(rng, op, [c.x, c.w, [c.w[0]]]);
    for (const expected of [c.forward, c.inputGrad, c.weightGrad]) assert.ok(names.includes(expected), `${c.what}: expected ${expected} among ${names.join(', ')}`);
    await checkOp({
      name: `packed ${c.what} x [${c.x}] w [${c.w}]`,
      inputs: [c.x, c.w, [c.w[0]]],
      forward: op,
      reference: ([x, w, b]) => (c.mfm ? ref.mfm(ref.conv2d(x, w, b, c.opts)) : ref.conv2d(x, w, b, c.opts)),
      rng,
    });
  }
  // convTranspose2d at stride 1 with dilation 2 and output padding 1 runs conv2dTranspose at stride 1
  // with an output one row / column larger than the conv formula gives: the packed path must still apply.
  const t = { x: [2, 3, 4, 5], w: [3, 4, 1, 1], opts: { dilation: 2, outputPadding: 1 } };
  const names = await kernelsRun(rng, ([x, w]) => convTranspose2d(x, w, undefined, t.opts), [t.x, t.w]);
  assert.ok(names.includes('conv_transpose2d.packedTiled'), `convTranspose2d 1×1 output padding 1: expected conv_transpose2d.packedTiled among ${names.join(', ')}`);
  await checkOp({ name: 'packed convTranspose2d 1×1 dilation 2 output padding 1', inputs: [t.x, t.w], forward: ([x, w]) => convTranspose2d(x, w, undefined, t.opts), reference: ([x, w]) => ref.convTranspose2d(x, w, undefined, t.opts), rng });
});

spec('packed vec4 weight gradients match the direct oracle with split-K slices that end inside a row and an image', async () => {
  // 3 images of 23 x 20: 345 pixel quads in 2 slices of 173 (one image of 115 quads + 11 rows + 3 quads).
  for (const s of [{ x: [3, 2, 23, 20], w: [5, 2, 3, 3], opts: { padding: 1 } }, { x: [3, 4, 23, 20], w: [5, 4, 1, 1], opts: {} }]) {
    const xs = [ref.randn(rng, s.x), ref.randn(rng, s.w, 0.2)];
    const g = ref.randn(rng, ref.conv2d(xs[0], xs[1], undefined, s.opts).shape);
    setConvVariant('direct');
    const oracle = await forwardAndGradients(([x, w]) => conv2d(x, w, undefined, s.opts), xs, g);
    setConvVariant('packed');
    gpu().policy.set({ convPointwise: 'conv' });
    const names = await kernelsRun(rng, ([x, w]) => conv2d(x, w, undefined, s.opts), [s.x, s.w]);
    assert.ok(names.some((n) => /^conv2d_weight_grad\.(pointwise|threeWide|threeByThree)(Subgroup)?$/.test(n)) && names.some((n) => n.startsWith('reduce.')), `vec4 weight gradient with its slices summed among ${names.join(', ')}`);
    const got = await forwardAndGradients(([x, w]) => conv2d(x, w, undefined, s.opts), xs, g);
    ['forward', 'input grad', 'weight grad'].forEach((what, i) => assertNear(got[i], oracle[i], `packed vs direct ${what} x [${s.x}] w [${s.w}]`, 1e-3, 1e-4));
  }
});

spec('packed: with convFiveWide generic, 5-wide rows take the generic kernels; both settings (fiveWide: the window forward and fiveByFive weight gradient, or fiveWidePair and fiveWide), with and without the subgroup kernels, both weight-gradient workgroups and 4 or 8 pointwise weight-gradient rows match the direct oracle across workgroups and split-K slices', async () => {
  const shapes = [
    { x: [3, 2, 21, 16], w: [70, 2, 5, 5], opts: { padding: 2 } },
    { x: [2, 70, 8, 8], w: [100, 70, 1, 1], opts: {} },
  ];
  for (const s of shapes) {
    const xs = [ref.randn(rng, s.x), ref.randn(rng, s.w, 0.2)];
    const g = ref.randn(rng, ref.conv2d(xs[0], xs[1], undefined, s.opts).shape);
    setConvVariant('direct');
    const oracle = await forwardAndGradients(([x, w]) => conv2d(x, w, undefined, s.opts), xs, g);
    setConvVariant('packed');
    const settings = [
      { convFiveWide: 'generic', convSubgroups: 'off', weightGradTile: 'square', pointwiseWeightGradRows: 4, convPointwise: 'conv' },
      { convFiveWide: 'fiveWide', convSubgroups: 'off', weightGradTile: 'square', pointwiseWeightGradRows: 8, convPointwise: 'conv' },
      { convFiveWide: 'fiveWide', convSubgroups: 'off', weightGradTile: 'fitted', pointwiseWeightGradRows: 4, convPointwise: 'conv' },
      { convFiveWide: 'fiveWide', convSubgroups: 'off', weightGradTile: 'fitted', pointwiseWeightGradRows: 8, convPointwise: 'conv' },
      { convFiveWide: 'fiveWide', convSubgroups: 'shared', weightGradTile: 'fitted', pointwiseWeightGradRows: 4, convPointwise: 'conv' },
      { convFiveWide: 'generic', convSubgroups: 'shared', weightGradTile: 'fitted', pointwiseWeightGradRows: 4, convPointwise: 'conv' },
      { convFiveWide: 'fiveWide', convSubgroups: 'shared', weightGradTile: 'fitted', pointwiseWeightGradRows: 4, convPointwise: 'gemm' },
      { convFiveWide: 'fiveWide', convSubgroups: 'shared', weightGradTile: 'fitted', pointwiseWeightGradRows: 4, convPointwise: 'conv', convFiveWideForward: 'pair', convFiveByFiveWeightGrad: 'vec4' },
    ] as const;
    for (const choices of settings) {
      await gpu().policy.with(choices, async () => {
        const names = await kernelsRun(rng, ([x, w]) => conv2d(x, w, undefined, s.opts), [s.x, s.w]);
        if (s.w[3] === 5) {
          const forward = choices.convSubgroups === 'shared' && subgroupsOfEight() ? 'conv2d.fiveWidePairSubgroup' : 'conv2d.fiveWidePair';
          // The generic forward: conv2d_packed_subgroup.wgsl where it applies (more than 8 filters, at least 2 input channels).
          // and weight gradient: conv2d_weight_grad_packed_subgroup.wgsl's windowSubgroup (more than 8 filters, stride 1).
          const subgroups = choices.convSubgroups === 'shared' && subgroupsOfEight();
          // With at most 4 input channels, more than 16 filters and output rows of whole octets (16 here) conv2d_window_subgroup.wgsl.
          const window = subgroups && s.w[1]! <= 4 && s.w[0]! > 16;
          const generic = window ? 'conv2d.windowSubgroup' : subgroups && s.w[0]! > 8 && s.w[1]! >= 2 ? 'conv2d.packedSubgroup' : 'conv2d.packedTiled';
          const genericWeightGrad = subgroups && s.w[0]! > 8 ? 'conv2d_weight_grad.windowSubgroup' : 'conv2d_weight_grad.registerTiled';
          // fiveWide with subgroups: the window forward (convFiveWideForward window, its geometry as above) and the fiveByFive
          // weight gradient (convFiveByFiveWeightGrad subgroup) unless the policy keeps fiveWidePair / fiveWide.
          const fiveWideForward = window && !('convFiveWideForward' in choices) ? 'conv2d.windowSubgroup' : forward;
          const fiveWideWeightGrad = subgroups && !('convFiveByFiveWeightGrad' in choices) ? 'conv2d_weight_grad.fiveByFiveSubgroup' : 'conv2d_weight_grad.fiveWide';
          const expected = choices.convFiveWide === 'generic' ? [generic, genericWeightGrad] : [fiveWideForward, fiveWideWeightGrad];
          for (const name of expected) assert.ok(names.includes(name), `${JSON.stringify(choices)}: expected ${name} among ${names.join(', ')}`);
        }
        const got = await forwardAndGradients(([x, w]) => conv2d(x, w, undefined, s.opts), xs, g);
        ['forward', 'input grad', 'weight grad'].forEach((what, i) => assertNear(got[i], oracle[i], `packed ${JSON.stringify(choices)} vs direct ${what} x [${s.x}] w [${s.w}]`, 1e-3, 1e-4));
      });
    }
  }
});


spec('subgroup kernels (1×1, 3-wide and 5-wide forward and stride-1 input gradient, one-row 5-wide input gradient, 1×1 and 3×3 weight gradients) match the reference and the direct oracle, or the launchers fall back without subgroups of 8', async () => {
  setConvVariant('packed');
  // The one-channel input gradients keep these kernels (rowsWindow takes them by default: test/ops/conv-thin-input-grad.test.ts).
  gpu().policy.set({ convSubgroups: 'shared', convPointwise: 'conv', convThinUnitStrideInputGrad: 'packed' });
  const subgroup = subgroupsOfEight();
  const cases: { what: string; x: number[]; w: number[]; opts: object; mfm?: boolean; expected: string[] }[] = [
    { what: 'conv1-like mfm 5×5 pad 2, one input channel', x: [3, 1, 7, 16], w: [10, 1, 5, 5], opts: { padding: 2 }, mfm: true, expected: subgroup ? ['conv2dMfm.fiveWidePairSubgroup', 'conv_transpose2d.fiveWideRowSubgroup'] : ['conv2dMfm.fiveWidePair'] },
    { what: '5×5 pad 2, one input channel, W % 16 == 8', x: [2, 1, 5, 8], w: [4, 1, 5, 5], opts: { padding: 2 }, expected: subgroup ? ['conv2d.fiveWidePairSubgroup', 'conv_transpose2d.fiveWidePairSubgroup'] : ['conv2d.fiveWidePair'] },
    { what: '5×3 stride [2, 1] padding [1, 2], 3 filters (4-row packing)', x: [2, 2, 9, 8], w: [3, 2, 3, 5], opts: { stride: [2, 1], padding: [1, 2] }, expected: [subgroup ? 'conv2d.fiveWidePairSubgroup' : 'conv2d.fiveWidePair', 'conv_transpose2d.phaseTiled'] },
    { what: 'mfm 3×3 pad 1, W % 8 == 0', x: [2, 3, 5, 16], w: [10, 3, 3, 3], opts: { padding: 1 }, mfm: true, expected: subgroup ? ['conv2dMfm.threeWidePairSubgroup', 'conv_transpose2d.threeWidePairSubgroup', 'conv2d_weight_grad.threeByThreeSubgroup'] : ['conv2dMfm.threeWidePair', 'conv2d_weight_grad.threeByThree'] },
    { what: '3×3 stride [2, 1] padding [2, 1] dilation [2, 1], 5 filters', x: [2, 2, 9, 8], w: [5, 2, 3, 3], opts: { stride: [2, 1], padding: [2, 1], dilation: [2, 1] }, expected: [subgroup ? 'conv2d.threeWidePairSubgroup' : 'conv2d.threeWidePair', 'conv_transpose2d.registerTiled', subgroup ? 'conv2d_weight_grad.threeByThreeSubgroup' : 'conv2d_weight_grad.threeByThree'] },
    { what: '1×1, 13 filters, 6 input channels', x: [2, 6, 4, 6], w: [13, 6, 1, 1], opts: {}, expected: subgroup ? ['conv2d.pointwiseSubgroup', 'conv_transpose2d.pointwiseSubgroup', 'conv2d_weight_grad.pointwiseSubgroup'] : ['conv2d.pointwise', 'conv2d_weight_grad.pointwise'] },
    { what: 'mfm 1×1, 3 input channels, 4 filters (4-row packing)', x: [3, 3, 2, 6], w: [4, 3, 1, 1], opts: {}, mfm: true, expected: subgroup ? ['conv2dMfm.pointwiseSubgroup', 'conv_transpose2d.pointwiseSubgroup'] : ['conv2dMfm.pointwise'] },
  ];
  for (const c of cases) {
    const op = ([x, w, b]: Tensor[]) => (c.mfm ? conv2dMfm(x, w, b, c.opts) : conv2d(x, w, b, c.opts));
    const names = await kernelsRun(rng, op, [c.x, c.w, [c.w[0]]]);
    for (const expected of c.expected) assert.ok(names.includes(expected), `${c.what}: expected ${expected} among ${names.join(', ')}`);
    await checkOp({
      name: `subgroup ${c.what} x [${c.x}] w [${c.w}]`,
      inputs: [c.x, c.w, [c.w[0]]],
      forward: op,
      reference: ([x, w, b]) => (c.mfm ? ref.mfm(ref.conv2d(x, w, b, c.opts)) : ref.conv2d(x, w, b, c.opts)),
      rng,
    });
  }
  // Several workgroups of 64 pixel pairs and of 64 input-channel blocks, and split-K slices, against the oracle.
  for (const s of [{ x: [2, 5, 12, 32], w: [12, 5, 3, 3], opts: { padding: 1 } }, { x: [2, 70, 6, 8], w: [10, 70, 3, 3], opts: { padding: 1 } }, { x: [3, 1, 24, 32], w: [12, 1, 5, 5], opts: { padding: 2 } }, { x: [3, 300, 8, 8], w: [20, 300, 1, 1], opts: {} }, { x: [3, 4, 23, 20], w: [9, 4, 1, 1], opts: {} }, { x: [2, 9, 16, 16], w: [6, 9, 1, 1], opts: {} }]) {
    const xs = [ref.randn(rng, s.x), ref.randn(rng, s.w, 0.2)];
    const g = ref.randn(rng, ref.conv2d(xs[0], xs[1], undefined, s.opts).shape);
    const oracle = await gpu().policy.with({ convForward: 'direct', convInputGrad: 'direct', convWeightGrad: 'direct' }, () => forwardAndGradients(([x, w]) => conv2d(x, w, undefined, s.opts), xs, g));
    const got = await forwardAndGradients(([x, w]) => conv2d(x, w, undefined, s.opts), xs, g);
    ['forward', 'input grad', 'weight grad'].forEach((what, i) => assertNear(got[i], oracle[i], `subgroup vs direct ${what} x [${s.x}] w [${s.w}]`, 1e-3, 1e-4));
  }
});

spec('packed: a batch larger than one binding runs in runs of whole images (vec4 bindings at image offsets)', async () => {
  setConvVariant('packed');
  gpu().setMaxBindingBytes(2048);
  try {
    for (const c of [{ x: [5, 2, 8, 8], w: [4, 2, 3, 3], opts: { padding: 1 } }, { x: [5, 4, 4, 8], w: [6, 4, 1, 1], opts: {} }, { x: [5, 1, 8, 8], w: [4, 1, 5, 5], opts: { padding: 2 } }]) {
      // No bias: its gradient's reduction is not chunked.
      await checkOp({ name: `packed chunked conv2d x [${c.x}] w [${c.w}]`, inputs: [c.x, c.w], forward: ([x, w]) => conv2d(x, w, undefined, c.opts), reference: ([x, w]) => ref.conv2d(x, w, undefined, c.opts), rng });
    }
  } finally {
    gpu().setMaxBindingBytes(undefined);
  }
});

spec('conv2d and convTranspose2d: clear errors for wrong ranks, channels, groups and sizes', () => {
  const x = toTensor(ref.randn(rng, [1, 3, 5, 5]));
  const w = toTensor(ref.randn(rng, [4, 2, 3, 3]));
  const w3 = toTensor(ref.randn(rng, [4, 3, 3, 3]));
  throwsWith(() => conv2d(x, w), /3 channels but weight \[4, 2, 3, 3\]/, 'channel mismatch');
  throwsWith(() => conv2d(x.reshape([3, 5, 5]), w3), /expected input \[N, C, H, W\]/, 'rank');
  throwsWith(() => conv2d(x, w3, undefined, { groups: 3 }), /groups=3 is not supported/, 'groups');
  throwsWith(() => conv2d(x, toTensor(ref.randn(rng, [4, 3, 7, 7]))), /empty output/, 'too small');
  throwsWith(() => convTranspose2d(x, toTensor(ref.randn(rng, [3, 4, 3, 3])), undefined, { stride: 2, outputPadding: 2 }), /outputPadding \[2, 2\] must be smaller/, 'outputPadding');
  throwsWith(() => conv2d(x, w3, toTensor(ref.randn(rng, [3]))), /bias \[3\] should be \[4\]/, 'bias');
  // PyTorch's padding_mode belongs to nn.Conv2d, not F.conv2d; a misspelt option is refused, not ignored.
  throwsWith(() => conv2d(x, w3, undefined, { paddingMode: 'reflect' } as never), /conv2d: unknown option "paddingMode"/, 'conv2d option');
  throwsWith(() => conv2d(x, w3, undefined, { padding: 'same' as never }), /'same' \/ 'valid' padding strings are not supported: give the padding as numbers/, "padding 'same'");
  throwsWith(() => convTranspose2d(x, toTensor(ref.randn(rng, [3, 4, 3, 3])), undefined, { output_padding: 1 } as never), /webfer spells it outputPadding/, 'convTranspose2d option');
  for (const t of [x, w, w3]) t.dispose();
  assert.ok(context('').includes('seed'));
});

test.run();
