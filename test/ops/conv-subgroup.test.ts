// The packed variant's subgroup forward (shaders/conv2d_packed_subgroup.wgsl): where packedTiled would
// run (no vec4 kernel fits) with more than 8 filters and at least 2 input channels, on adapters whose
// subgroups are exactly 8 wide (lavapipe) — conv2d's forward (bias, mfm with its mask), the stride-1
// input gradient through the same kernel, against the float64 reference and finite differences on
// shapes with odd and paired input channels, filters past one 16-row block and partial blocks, stride
// 2, 4×4 kernels, outputs smaller than a workgroup; the direct oracle on a multi-workgroup shape; which
// shapes keep packedTiled; batches split over several bindings.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { conv2d, conv2dMfm, type Conv2dOptions } from '../../src/nn/functional/conv.js';
import { gpu } from '../../src/gpu/index.js';
import { subgroupsOfEight } from '../../src/kernels/conv.js';
import { CONV_SUBGROUP_PADDING_ROWS } from '../../src/gpu/policy.js';
import { type Tensor } from '../../src/index.js';
import { checkOp, fileRng, ref, setup, toTensor, assertNear, forwardAndGradients, kernelsRun } from './helpers.js';

const rng = fileRng('conv-subgroup');

test.before(setup);
test.before.each(() => gpu().policy.set({ convForward: 'packed', convInputGrad: 'packed', convWeightGrad: 'packed' }));
test.after.each(() => gpu().policy.reset());

/** The kernel a packed forward of this shape runs here: the subgroup kernel, or packedTiled on other adapters. */
const forwardKernel = (mfm = false) => `conv2d${mfm ? 'Mfm' : ''}.${subgroupsOfEight() ? 'packedSubgroup' : 'packedTiled'}`;

test('packed forward on subgroups: stride 2, 4×4, odd and paired channels, partial row blocks, bias, mfm, against finite differences', async () => {
  const cases: { x: number[]; w: number[]; opts: Conv2dOptions; mfm?: boolean }[] = [
    { x: [2, 3, 9, 8], w: [9, 3, 3, 3], opts: { stride: 2, padding: 1 } },
    { x: [2, 4, 10, 9], w: [20, 4, 4, 4], opts: { stride: 2, padding: 1 } },
    { x: [1, 5, 7, 6], w: [17, 5, 4, 4], opts: { padding: 1 } },
    { x: [3, 2, 6, 11], w: [12, 2, 3, 2], opts: { stride: [2, 3], padding: [1, 0] } },
    { x: [2, 3, 9, 7], w: [18, 3, 3, 3], opts: { stride: 2, padding: 1 }, mfm: true },
  ];
  for (const c of cases) {
    const what = `${c.mfm ? 'conv2dMfm' : 'conv2d'} x [${c.x}] w [${c.w}] ${JSON.stringify(c.opts)}`;
    const op = ([x, w, b]: Tensor[]) => (c.mfm ? conv2dMfm(x, w, b, c.opts) : conv2d(x, w, b, c.opts));
    const names = await kernelsRun(rng, op, [c.x, c.w, [c.w[0]]]);
    assert.ok(names.includes(forwardKernel(c.mfm)), `${what}: expected ${forwardKernel(c.mfm)} among ${names.join(', ')}`);
    await checkOp({ name: what, inputs: [c.x, c.w, [c.w[0]]], forward: op, reference: ([x, w, b]) => (c.mfm ? ref.mfm(ref.conv2d(x, w, b, c.opts)) : ref.conv2d(x, w, b, c.opts)), rng });
  }
});

test('the stride-1 input gradient of a 4×4 conv runs the subgroup kernel over gy and matches finite differences', async () => {
  const c = { x: [2, 11, 6, 7], w: [3, 11, 4, 4], opts: { padding: 1 } };
  const names = await kernelsRun(rng, ([x, w]) => conv2d(x, w, undefined, c.opts), [c.x, c.w]);
  const expected = subgroupsOfEight() ? 'conv_transpose2d.packedSubgroup' : 'conv_transpose2d.packedTiled';
  assert.ok(names.includes(expected), `expected ${expected} among ${names.join(', ')}`);
  await checkOp({ name: 'input gradient 4×4 s1 p1', inputs: [c.x, c.w], forward: ([x, w]) => conv2d(x, w, undefined, c.opts), reference: ([x, w]) => ref.conv2d(x, w, undefined, c.opts), rng });
});

test('subgroup forward matches the direct oracle over several workgroups (odd Cin, 3 row blocks, pixels past a workgroup)', async () => {
  const s = { x: [3, 37, 21, 19], w: [40, 37, 3, 3], opts: { stride: 2, padding: 1 } };
  const xs = [ref.randn(rng, s.x), ref.randn(rng, s.w, 0.2), ref.randn(rng, [s.w[0]])];
  const g = ref.randn(rng, ref.conv2d(xs[0], xs[1], xs[2], s.opts).shape);
  const op = ([x, w, b]: Tensor[]) => conv2d(x, w, b, s.opts);
  const names = await kernelsRun(rng, op, [s.x, s.w, [s.w[0]]]);
  assert.ok(names.includes(forwardKernel()), `expected ${forwardKernel()} among ${names.join(', ')}`);
  const got = await forwardAndGradients(op, xs, g);
  gpu().policy.set({ convForward: 'direct', convInputGrad: 'direct', convWeightGrad: 'direct' });
  const oracle = await forwardAndGradients(op, xs, g);
  assertNear(got[0], oracle[0], 'subgroup vs direct forward', 1e-3, 1e-4);
});

test('packedTiled stays where the subgroup kernel does not apply (8 filters or fewer, one input channel), vec4 geometries keep their own kernels', async () => {
  for (const c of [{ x: [2, 4, 9, 8], w: [8, 4, 3, 3], opts: { stride: 2, padding: 1 } }, { x: [2, 1, 9, 8], w: [12, 1, 3, 3], opts: { stride: 2, padding: 1 } }]) {
    const names = await kernelsRun(rng, ([x, w]) => conv2d(x, w, undefined, c.opts), [c.x, c.w]);
    assert.ok(names.includes('conv2d.packedTiled') && !names.includes('conv2d.packedSubgroup'), `x [${c.x}] w [${c.w}]: expected conv2d.packedTiled, got ${names.join(', ')}`);
  }
  const vec4 = await kernelsRun(rng, ([x, w]) => conv2d(x, w, undefined, { padding: 1 }), [[2, 3, 5, 16], [12, 3, 3, 3]]);
  // The vec4 geometries have subgroup kernels of their own (conv2d_subgroup.wgsl).
  const pair = subgroupsOfEight() ? 'conv2d.threeWidePairSubgroup' : 'conv2d.threeWidePair';
  assert.ok(vec4.includes(pair) && !vec4.includes('conv2d.packedSubgroup'), `3×3 pad 1, W % 8 == 0: expected ${pair}, got ${vec4.join(', ')}`);
});

test('threeWidePair in blocks of 4 and of 8 rows (convThreeWideRows): forward with bias and mfm, stride-1 input gradient, partial row blocks, odd channels, height stride 2, against the float64 reference and finite differences', async () => {
  const cases: { x: number[]; w: number[]; opts: Conv2dOptions; mfm?: boolean }[] = [
    { x: [2, 3, 5, 16], w: [12, 3, 3, 3], opts: { padding: 1 } },
    { x: [3, 13, 4, 8], w: [20, 13, 3, 3], opts: { padding: 1 } },
    { x: [2, 5, 7, 8], w: [9, 5, 3, 3], opts: { stride: [2, 1], padding: 1 } },
    { x: [2, 4, 3, 16], w: [3, 4, 5, 3], opts: { padding: [2, 1] } },
    { x: [2, 3, 6, 8], w: [12, 3, 3, 3], opts: { padding: 1 }, mfm: true },
  ];
  const pair = subgroupsOfEight() ? 'threeWidePairSubgroup' : 'threeWidePair';
  for (const rows of [4, 8] as const) {
    gpu().policy.set({ convThreeWideRows: rows });
    for (const c of cases) {
      const what = `rows ${rows}: ${c.mfm ? 'conv2dMfm' : 'conv2d'} x [${c.x}] w [${c.w}] ${JSON.stringify(c.opts)}`;
      const op = ([x, w, b]: Tensor[]) => (c.mfm ? conv2dMfm(x, w, b, c.opts) : conv2d(x, w, b, c.opts));
      const names = await kernelsRun(rng, op, [c.x, c.w, [c.w[0]]]);
      const forward = `${c.mfm ? 'conv2dMfm' : 'conv2d'}.${pair}`;
      assert.ok(names.includes(forward), `${what}: expected ${forward} among ${names.join(', ')}`);
      // The stride-1 input gradient runs the same kernel over gy, its rows the input channels.
      if (c.opts.stride === undefined) assert.ok(names.includes(`conv_transpose2d.${pair}`), `${what}: expected conv_transpose2d.${pair} among ${names.join(', ')}`);
      await checkOp({ name: what, inputs: [c.x, c.w, [c.w[0]]], forward: op, reference: ([x, w, b]) => (c.mfm ? ref.mfm(ref.conv2d(x, w, b, c.opts)) : ref.conv2d(x, w, b, c.opts)), rng });
    }
  }
});

test('threeWidePair in blocks of 8 rows matches the direct oracle over several workgroups (odd Cin, a partial last block, a batch of 3)', async () => {
  const s = { x: [3, 21, 9, 24], w: [44, 21, 3, 3], opts: { padding: 1 } };
  const xs = [ref.randn(rng, s.x), ref.randn(rng, s.w, 0.2), ref.randn(rng, [s.w[0]])];
  const g = ref.randn(rng, ref.conv2d(xs[0], xs[1], xs[2], s.opts).shape);
  const op = ([x, w, b]: Tensor[]) => conv2d(x, w, b, s.opts);
  gpu().policy.set({ convThreeWideRows: 8 });
  const got = await forwardAndGradients(op, xs, g);
  gpu().policy.set({ convForward: 'direct', convInputGrad: 'direct', convWeightGrad: 'direct' });
  const oracle = await forwardAndGradients(op, xs, g);
  assertNear(got[0], oracle[0], 'threeWidePair rows 8 vs direct forward', 1e-3, 1e-4);
  assertNear(got[1], oracle[1], 'threeWidePair rows 8 vs direct input gradient', 1e-3, 1e-4);
});

test('the 16-row subgroup kernels in invocations of 16 and of 32 rows (convSubgroupRows): forward with bias and mfm, the stride-1 input gradient (packedSubgroup over gy) and the stride-2 one (phaseSubgroup), partial last blocks, odd channels, against the float64 reference and finite differences', async () => {
  const cases: { x: number[]; w: number[]; opts: Conv2dOptions; mfm?: boolean; inputGrad: string }[] = [
    // 40 filters: a second 32-row block of 8; 19 input channels at stride 2: 2 phase blocks of 16 or one of 32.
    { x: [2, 19, 9, 7], w: [40, 19, 3, 3], opts: { stride: 2, padding: 1 }, inputGrad: 'conv_transpose2d.phaseSubgroup' },
    // Stride 1, 4×4: the input gradient over gy with 34 input channels as rows, 21 filters (an odd last pair).
    { x: [2, 34, 6, 5], w: [21, 34, 4, 4], opts: { padding: 1 }, inputGrad: 'conv_transpose2d.packedSubgroup' },
    { x: [3, 3, 8, 9], w: [36, 3, 3, 3], opts: { stride: 2, padding: 1 }, mfm: true, inputGrad: 'conv_transpose2d.phaseTiled' },
  ];
  for (const rows of [16, 32] as const) {
    gpu().policy.set({ convSubgroupRows: rows });
    for (const c of cases) {
      const what = `rows ${rows}: ${c.mfm ? 'conv2dMfm' : 'conv2d'} x [${c.x}] w [${c.w}] ${JSON.stringify(c.opts)}`;
      const op = ([x, w, b]: Tensor[]) => (c.mfm ? conv2dMfm(x, w, b, c.opts) : conv2d(x, w, b, c.opts));
      const names = await kernelsRun(rng, op, [c.x, c.w, [c.w[0]]]);
      assert.ok(names.includes(forwardKernel(c.mfm)), `${what}: expected ${forwardKernel(c.mfm)} among ${names.join(', ')}`);
      const inputGrad = subgroupsOfEight() ? c.inputGrad : c.inputGrad.replace('Subgroup', 'Tiled');
      assert.ok(names.includes(inputGrad), `${what}: expected ${inputGrad} among ${names.join(', ')}`);
      await checkOp({ name: what, inputs: [c.x, c.w, [c.w[0]]], forward: op, reference: ([x, w, b]) => (c.mfm ? ref.mfm(ref.conv2d(x, w, b, c.opts)) : ref.conv2d(x, w, b, c.opts)), rng });
    }
  }
});

for (const padding of CONV_SUBGROUP_PADDING_ROWS) test(`packedSubgroup with convSubgroupPaddingRows ${padding}: subgroups of 32 pixels whose top or bottom kernel rows lie in the padding (the stride-1 input gradient of a 4×4 conv on 16-wide rows, a stride-2 forward on 32-wide rows), 16 and 32 rows, against the float64 reference and finite differences`, async () => {
  const cases: { x: number[]; w: number[]; opts: Conv2dOptions }[] = [
    // The input gradient, a conv over gy 4 x 15 padded by 2 into rows of 16: the first subgroup (rows 0-1) skips kernel row 0;
    // 18 input channels (a partial second block), 5 filters (an odd last channel pair).
    { x: [2, 18, 5, 16], w: [5, 18, 4, 4], opts: { padding: 1 } },
    // The forward: 2 output rows of 32 pixels, the first of which takes kernel row 0 from the padding; an odd channel count
    // (5: more than conv2d_window_subgroup.wgsl's 4).
    { x: [2, 5, 5, 64], w: [18, 5, 4, 4], opts: { stride: 2, padding: 1 } },
  ];
  for (const rows of [16, 32] as const) {
    gpu().policy.set({ convSubgroupRows: rows, convSubgroupPaddingRows: padding });
    for (const c of cases) {
      const what = `${padding}, rows ${rows}: conv2d x [${c.x}] w [${c.w}] ${JSON.stringify(c.opts)}`;
      const op = ([x, w, b]: Tensor[]) => conv2d(x, w, b, c.opts);
      const names = await kernelsRun(rng, op, [c.x, c.w, [c.w[0]]]);
      const stride1 = c.opts.stride === undefined;
      const expected = subgroupsOfEight() ? (stride1 ? 'conv_transpose2d.packedSubgroup' : forwardKernel()) : stride1 ? 'conv_transpose2d.packedTiled' : 'conv2d.packedTiled';
      assert.ok(names.includes(expected), `${what}: expected ${expected} among ${names.join(', ')}`);
      await checkOp({ name: what, inputs: [c.x, c.w, [c.w[0]]], forward: op, reference: ([x, w, b]) => ref.conv2d(x, w, b, c.opts), rng });
    }
  }
});

test('subgroup forward over a batch larger than one binding runs in runs of whole images', async () => {
  gpu().setMaxBindingBytes(4096);
  try {
    // x 2 x 8 x 16 per image (1 KiB), y 12 x 4 x 8 (1.5 KiB): 5 images run as 2 + 2 + 1.
    const c = { x: [5, 2, 8, 16], w: [12, 2, 3, 3], opts: { stride: 2, padding: 1 } };
    const names = await kernelsRun(rng, ([x, w]) => conv2d(x, w, undefined, c.opts), [c.x, c.w]);
    assert.ok(names.filter((n) => n === forwardKernel()).length > 1, `expected several ${forwardKernel()} launches, got ${names.join(', ')}`);
    await checkOp({ name: 'chunked subgroup conv2d', inputs: [c.x, c.w], forward: ([x, w]) => conv2d(x, w, undefined, c.opts), reference: ([x, w]) => ref.conv2d(x, w, undefined, c.opts), rng });
  } finally {
    gpu().setMaxBindingBytes(undefined);
  }
});

test.run();
