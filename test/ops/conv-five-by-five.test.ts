// The packed variant's weight gradient of 5 x 5 kernels with 5-wide pad-2 stride-1 rows where subgroups are exactly 8
// wide (shaders/conv2d_weight_grad_subgroup.wgsl fiveByFive, policy convFiveByFiveWeightGrad 'subgroup'; LightCNN's conv1):
// against the float64 reference and finite differences on odd heights, rows of 1-4 quads, output channels past and
// inside a 32-channel block, 1-2 input channels, height stride 2, height padding and dilation, batch > 1; the direct oracle
// and the fiveWide kernel ('vec4') over several blocks and split-K slices that end inside an image.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { conv2d, type Conv2dOptions } from '../../src/nn/functional/conv.js';
import { gpu } from '../../src/gpu/index.js';
import { subgroupsOfEight } from '../../src/kernels/conv.js';
import { type Tensor } from '../../src/index.js';
import { checkOp, fileRng, ref, setup, assertNear, forwardAndGradients, kernelsRun } from './helpers.js';

const rng = fileRng('conv-five-by-five');

test.before(setup);
test.before.each(() => gpu().policy.set({ convForward: 'packed', convInputGrad: 'packed', convWeightGrad: 'packed', convSubgroups: 'shared' }));
test.after.each(() => gpu().policy.reset());

/** The weight-gradient kernel a packed 5 x 5 pad-2 (width) conv runs here under convFiveByFiveWeightGrad 'subgroup'. */
const weightGradKernel = () => `conv2d_weight_grad.${subgroupsOfEight() ? 'fiveByFiveSubgroup' : 'fiveWide'}`;

test('fiveByFive weight gradient against finite differences: one and two input channels, 9-35 filters, rows of 1-4 quads, height stride 2, padding and dilation', async () => {
  const cases: { x: number[]; w: number[]; opts: Conv2dOptions }[] = [
    { x: [2, 1, 7, 16], w: [20, 1, 5, 5], opts: { padding: 2 } },
    { x: [3, 2, 5, 12], w: [35, 2, 5, 5], opts: { stride: [2, 1], padding: 2 } },
    { x: [2, 1, 7, 4], w: [9, 1, 5, 5], opts: { padding: [0, 2] } },
    { x: [2, 1, 9, 8], w: [11, 1, 5, 5], opts: { padding: [3, 2], dilation: [2, 1] } },
  ];
  for (const c of cases) {
    const what = `x [${c.x}] w [${c.w}] ${JSON.stringify(c.opts)}`;
    const op = ([x, w]: Tensor[]) => conv2d(x, w, undefined, c.opts);
    const names = await kernelsRun(rng, op, [c.x, c.w]);
    assert.ok(names.includes(weightGradKernel()), `${what}: expected ${weightGradKernel()} among ${names.join(', ')}`);
    await checkOp({ name: what, inputs: [{ shape: c.x, requiresGrad: false }, c.w], forward: op, reference: ([x, w]) => ref.conv2d(x, w, undefined, c.opts), rng });
  }
});

test('fiveByFive and fiveWide weight gradients match the direct oracle: 96 filters (3 blocks of 32), split-K slices ending inside an image', async () => {
  const s = { x: [3, 1, 21, 24], w: [96, 1, 5, 5], opts: { padding: 2 } };
  const xs = [ref.randn(rng, s.x), ref.randn(rng, s.w, 0.2)];
  const g = ref.randn(rng, ref.conv2d(xs[0]!, xs[1]!, undefined, s.opts).shape);
  const run = () => forwardAndGradients(([x, w]) => conv2d(x, w, undefined, s.opts), xs, g);
  const oracle = await gpu().policy.with({ convForward: 'direct', convInputGrad: 'direct', convWeightGrad: 'direct' }, run);
  // 63 output rows in 2 slices of 32, the second from row 11 of image 1 (weightGradWorkgroups 12: 4 wanted over 3 blocks, 2 at
  // most for 1512 pixels), and in one slice.
  for (const setting of [{ weightGradWorkgroups: 12 }, { weightGradWorkgroups: 1 }, { convFiveByFiveWeightGrad: 'vec4' as const }]) {
    await gpu().policy.with(setting, async () => {
      const names = await kernelsRun(rng, ([x, w]) => conv2d(x, w, undefined, s.opts), [s.x, s.w]);
      const expected = 'convFiveByFiveWeightGrad' in setting ? 'conv2d_weight_grad.fiveWide' : weightGradKernel();
      assert.ok(names.includes(expected), `${JSON.stringify(setting)}: expected ${expected} among ${names.join(', ')}`);
      const got = await run();
      assertNear(got[2], oracle[2], `${JSON.stringify(setting)} vs direct weight grad`, 1e-3, 1e-4);
    });
  }
});

test.run();
