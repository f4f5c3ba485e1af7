// FaPE-GAN D-1's geometry under the policy's windowSums 'tiles' (shaders/conv2d_window_subgroup.wgsl windowStrideTwoTapsSubgroup:
// rows of 4 taps at width stride 2 from up to 4 channels, at most 8 rows of taps, output rows of whole 16s, float32 stores;
// each 4 x 4 block of sums over every tap in registers, several output rows per invocation where rows of taps slide) on
// adapters whose subgroups are exactly 8 wide (lavapipe): conv2d's forward against the float64 reference and finite
// differences on 1-4 channels, height stride 1 and 2, height dilation, width padding 0-3, odd heights and widths, partial
// 32-row blocks, bias, mfm with an odd channel count, inputs as aligned quads and one at a time, quad and element stores;
// D-1 itself (2 channels, pad 1) over several workgroups and row tiles against the float64 reference under 'tiles' and
// 'rows' (windowSubgroup); and the shapes it leaves to windowSubgroup.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { conv2d, type Conv2dOptions } from '../../src/nn/functional/conv.js';
import { gpu } from '../../src/gpu/index.js';
import { subgroupsOfEight } from '../../src/kernels/conv.js';
import type { Tensor } from '../../src/index.js';
import { fileRng, ref, setup, assertNear, kernelsRun } from './helpers.js';
import { checkConvForwardCases, forwardOn, type ConvForwardCase } from './conv-forward-cases.js';

const rng = fileRng('conv-window-stride-two');

test.before(setup);
test.before.each(() => gpu().policy.set({ convForward: 'packed', convInputGrad: 'packed', convWeightGrad: 'packed', convThinForward: 'window', windowTapOrder: 'byRow' }));
test.after.each(() => gpu().policy.reset());

/** The forward kernel a packed conv of these shapes runs here: the register-tiled one where subgroups are 8 wide. */
const tilesKernel = (mfm = false) => `conv2d${mfm ? 'Mfm' : ''}.${subgroupsOfEight() ? 'windowStrideTwoTapsSubgroup' : 'packedTiled'}`;

test('windowStrideTwoTapsSubgroup: 1-4 channels, 1-4 rows of taps, height stride 1 and 2, dilation 2, width padding 0-3, odd sizes, partial row blocks, bias, mfm with an odd channel count, quad and element loads and stores, against finite differences', async () => {
  // Every case has output rows of 16. Tiles of rows: A 4 rows sliding by 2 (D-1's step), B 7 sliding by 1, the rest one row
  // (stride = kernel height, or dilation). Width 32 / 28 with padding 1 / 3 take aligned quads (shift 3 / 1); 33, 34, 30 one at a time.
  const cases: ConvForwardCase[] = [
    { x: [2, 2, 9, 32], w: [20, 2, 4, 4], opts: { stride: 2, padding: 1 } },
    { x: [3, 1, 7, 33], w: [18, 1, 3, 4], opts: { stride: [1, 2], padding: 1 } },
    { x: [2, 3, 6, 28], w: [34, 3, 2, 4], opts: { stride: 2, padding: [2, 3] }, mfm: true },
    { x: [1, 2, 11, 34], w: [17, 2, 4, 4], opts: { stride: 2, padding: [1, 0], dilation: [2, 1] } },
    { x: [2, 4, 5, 30], w: [20, 4, 2, 4], opts: { stride: 2, padding: [0, 2] } },
  ];
  const settings = [
    { windowSums: 'tiles', windowInputLoads: 'quads', windowStores: 'quads' },
    { windowSums: 'tiles', windowInputLoads: 'elements', windowStores: 'elements' },
  ] as const;
  await checkConvForwardCases(rng, cases, settings, (c) => tilesKernel(c.mfm));
});

test('D-1\'s geometry over several workgroups (70 filters: 3 row blocks, batch 9, 35 output rows in tiles of 12, 12 and 11, 64-wide output rows) matches the float64 reference under windowSums tiles and rows', async () => {
  // 9 images x 3 tiles of rows x 4 segments of 16 = 108 invocations: 2 workgroups of 64, the last partial.
  const shape = { x: [9, 2, 70, 128], w: [70, 2, 4, 4] };
  const opts: Conv2dOptions = { stride: 2, padding: 1 };
  const xs = [ref.randn(rng, shape.x), ref.randn(rng, shape.w, 0.2), ref.randn(rng, [70])];
  const op = ([x, w, b]: Tensor[]) => conv2d(x, w, b, opts);
  const forward = forwardOn(op, xs);
  const expected = ref.conv2d(xs[0]!, xs[1]!, xs[2]!, opts);
  for (const [sums, kernel] of [['tiles', tilesKernel()], ['rows', `conv2d.${subgroupsOfEight() ? 'windowSubgroup' : 'packedTiled'}`]] as const) {
    await gpu().policy.with({ windowSums: sums }, async () => {
      const names = await kernelsRun(rng, op, [shape.x, shape.w, [70]]);
      assert.ok(names.includes(kernel), `windowSums ${sums}: expected ${kernel} among ${names.join(', ')}`);
      assertNear(await forward(), expected, `D-1 geometry under windowSums ${sums}`, 1e-3, 1e-4);
    });
  }
});

test('windowSums tiles leaves to windowSubgroup the 4-tap stride-2 rows it does not take: 3 channels x 4 rows of taps (12 > 8), 5 rows of taps, output rows not whole 16s', async () => {
  if (!subgroupsOfEight()) return;
  const cases: { x: number[]; w: number[]; opts: Conv2dOptions }[] = [
    { x: [1, 3, 9, 32], w: [20, 3, 4, 4], opts: { stride: 2, padding: 1 } },
    { x: [1, 1, 9, 32], w: [20, 1, 5, 4], opts: { stride: 2, padding: 1 } },
    { x: [1, 2, 9, 16], w: [20, 2, 4, 4], opts: { stride: 2, padding: 1 } },
  ];
  for (const c of cases) {
    const names = await kernelsRun(rng, ([x, w]) => conv2d(x, w, undefined, c.opts), [c.x, c.w]);
    assert.ok(names.includes('conv2d.windowSubgroup') && !names.includes('conv2d.windowStrideTwoTapsSubgroup'), `x [${c.x}] w [${c.w}]: expected conv2d.windowSubgroup, got ${names.join(', ')}`);
  }
});

test.run();
