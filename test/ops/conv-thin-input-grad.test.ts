// conv2d's stride-1 input gradient into 1-2 input channels as a forward over gy through conv2d_single_subgroup.wgsl
// rowsWindow (one launch, the weights read rotated and transposed in place, on subgroups of exactly 8; policy
// convThinUnitStrideInputGrad 'window': conv_transpose2d.thinRowsWindow, workgroup z the channel; 'pairs': 2 channels
// per invocation, conv_transpose2d.thinRowsWindowPair, where there are 2), each: x's gradient against the
// float64 transposed conv (ref.convTranspose2d of gy) and finite differences of the float64 conv2d, on random odd shapes
// (Cin 1 and 2, kernels 3/5/7 and non-square up to 8, padding 0..k-1 per axis, batch > 1, bias); tiles past a workgroup
// of 64 and partial tiles against the old path (policy 'packed'); convTranspose2d's stride-1 forward into 2 channels;
// the shapes it does not take (stride 2, dilation, 3 channels, 9-wide kernels). f16 operands: test/ops/f16-operands.test.ts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { conv2d, convTranspose2d, type Conv2dOptions } from '../../src/nn/functional/conv.js';
import { gpu } from '../../src/gpu/index.js';
import { subgroupsOfEight } from '../../src/kernels/conv.js';
import { type Tensor } from '../../src/index.js';
import { assertNear, checkOp, fileRng, forwardAndGradients, kernelsRun, ref, setup, type T64 } from './helpers.js';

const rng = fileRng('conv-thin-input-grad');
type Choice = 'pairs' | 'window';
const CHOICES: Choice[] = ['pairs', 'window'];
/** The kernel a fitting shape with `cin` input channels runs under `choice`. */
const windowKernel = (cin: number, choice: Choice) => `conv_transpose2d.${cin === 2 && choice === 'pairs' ? 'thinRowsWindowPair' : 'thinRowsWindow'}`;
const WINDOW_KERNELS = ['conv_transpose2d.thinRowsWindow', 'conv_transpose2d.thinRowsWindowPair'];

test.before(setup);
test.before.each(() => gpu().policy.set({ convForward: 'packed', convInputGrad: 'packed', convWeightGrad: 'packed' }));
test.after.each(() => gpu().policy.reset());

const int = (lo: number, hi: number) => lo + Math.floor(rng.uniform() * (hi - lo + 1));
const odd = (lo: number, hi: number) => int(lo, hi) | 1;

interface Case { x: number[]; w: number[]; opts: Conv2dOptions }

/** A random case: Cin 1 or 2, odd sizes, kernel k x k (or kh x kw), padding 0..k-1 per axis, batch 2-3. */
function randomCase(cin: number, kh: number, kw: number): Case {
  const padding: [number, number] = [int(0, kh - 1), int(0, kw - 1)];
  return { x: [int(2, 3), cin, odd(kh + 2, 15), odd(kw + 2, 21)], w: [int(3, 13), cin, kh, kw], opts: { padding } };
}

const label = (c: Case) => `x [${c.x}] w [${c.w}] ${JSON.stringify(c.opts)}`;
const op = (opts: Conv2dOptions) => ([x, w, b]: Tensor[]) => conv2d(x, w, b, opts);

/** x's gradient for gy through the conv (and the output and other gradients), as the current policy runs them. */
async function inputGradient(c: Case, xs: T64[], gy: T64): Promise<T64> {
  const [, gx] = await forwardAndGradients(op(c.opts), xs, gy);
  return gx!;
}

/** The float64 input gradient: the transposed conv of gy through the same weights (PyTorch's conv_transpose2d). */
const referenceGradient = (c: Case, gy: T64, w: T64) => ref.convTranspose2d(gy, w, null, { padding: c.opts.padding, stride: c.opts.stride });

/** Asserts that the input gradient runs `kernel` (undefined: neither window kernel). */
async function assertRuns(c: Case, kernel: string | undefined): Promise<void> {
  const names = await kernelsRun(rng, op(c.opts), [c.x, c.w, [c.w[0]!]]);
  if (kernel) assert.ok(names.includes(kernel), `${label(c)}: ${kernel} expected among ${names.join(', ')}`);
  else assert.ok(!names.some((name) => WINDOW_KERNELS.includes(name)), `${label(c)}: no window kernel expected among ${names.join(', ')}`);
}

/** The window kernel of a fitting shape under `choice` where subgroups are 8 wide, else none. */
const expectedKernel = (cin: number, choice: Choice) => (subgroupsOfEight() ? windowKernel(cin, choice) : undefined);

for (const choice of CHOICES) test(`thin input gradient (${choice}): random odd shapes, Cin 1 and 2, kernels 3/5/7 and non-square, padding 0..k-1, batch > 1, against the float64 transposed conv and finite differences`, async () => {
  gpu().policy.set({ convThinUnitStrideInputGrad: choice });
  const kernels: [number, number][] = [[3, 3], [5, 5], [7, 7], [3, 5], [8, 2], [1, 7]];
  for (const cin of [1, 2]) {
    for (const [kh, kw] of kernels) {
      const c = randomCase(cin, kh, kw);
      await assertRuns(c, expectedKernel(cin, choice));
      const xs = [ref.randn(rng, c.x), ref.randn(rng, c.w), ref.randn(rng, [c.w[0]!])];
      const gy = ref.randn(rng, ref.conv2d(xs[0]!, xs[1]!, null, c.opts).shape);
      assertNear(await inputGradient(c, xs, gy), referenceGradient(c, gy, xs[1]!), `${label(c)}: input gradient vs float64 transposed conv`);
      // Finite differences of the float64 conv for x only (the weights' and bias's gradients are other kernels').
      await checkOp({ name: label(c), inputs: [c.x, { shape: c.w, requiresGrad: false }, { shape: [c.w[0]!], requiresGrad: false }], forward: op(c.opts), reference: ([x, w, b]) => ref.conv2d(x, w, b, c.opts), rng });
    }
  }
});

test('thin input gradient over many tiles (workgroups of 64, 16-row and partial tiles, two octets and a partial one) under pairs and window matches the float64 reference and the old path (convThinUnitStrideInputGrad packed)', async () => {
  const cases: Case[] = [
    // LightCNN conv1's kind (1 channel, 5×5 pad 2) and G-in's (2 channels, 7×7 unpadded), smaller; 1024+ tiles in the first.
    { x: [16, 1, 64, 254], w: [6, 1, 5, 5], opts: { padding: 2 } },
    { x: [3, 2, 37, 45], w: [21, 2, 7, 7], opts: {} },
    { x: [2, 2, 19, 9], w: [9, 2, 4, 6], opts: { padding: [3, 1] } },
  ];
  for (const c of cases) {
    const xs = [ref.randn(rng, c.x), ref.randn(rng, c.w, 0.3), ref.randn(rng, [c.w[0]!])];
    const gy = ref.randn(rng, ref.conv2d(xs[0]!, xs[1]!, null, c.opts).shape);
    const expected = referenceGradient(c, gy, xs[1]!);
    const old = await gpu().policy.with({ convThinUnitStrideInputGrad: 'packed' }, async () => {
      await assertRuns(c, undefined);
      return inputGradient(c, xs, gy);
    });
    assertNear(old, expected, `${label(c)}: packed input gradient vs float64`, 1e-4, 1e-5);
    for (const choice of CHOICES) {
      const window = await gpu().policy.with({ convThinUnitStrideInputGrad: choice }, async () => {
        await assertRuns(c, expectedKernel(c.x[1]!, choice));
        return inputGradient(c, xs, gy);
      });
      assertNear(window, expected, `${label(c)}: ${choice} input gradient vs float64`, 1e-4, 1e-5);
      assertNear(window, old, `${label(c)}: ${choice} vs packed input gradient`, 1e-4, 1e-5);
    }
  }
});

test('convTranspose2d at stride 1 into 2 channels (the same launch) against the float64 reference and finite differences', async () => {
  const x = [2, 11, 7, 9];
  const w = [11, 2, 5, 3];
  const opts = { padding: [1, 2] as [number, number] };
  const transpose = ([xt, wt, b]: Tensor[]) => convTranspose2d(xt, wt, b, opts);
  const names = await kernelsRun(rng, transpose, [x, w, [2]]);
  const expected = expectedKernel(2, 'pairs');
  if (expected) assert.ok(names.includes(expected), `convTranspose2d: ${expected} expected among ${names.join(', ')}`);
  await checkOp({ name: 'convTranspose2d 11→2 5×3', inputs: [x, { shape: w, requiresGrad: false }, [2]], forward: transpose, reference: ([xt, wt, b]) => ref.convTranspose2d(xt, wt, b, opts), rng });
});

test('thin input gradient leaves stride 2, dilation, 3 input channels and 9-wide kernels to the other kernels, which stay correct', async () => {
  const cases: Case[] = [
    { x: [2, 2, 9, 11], w: [5, 2, 3, 3], opts: { stride: 2, padding: 1 } },
    { x: [2, 1, 9, 11], w: [5, 1, 3, 3], opts: { dilation: [1, 2], padding: 1 } },
    { x: [2, 3, 9, 11], w: [5, 3, 3, 3], opts: { padding: 1 } },
    { x: [2, 2, 9, 11], w: [5, 2, 3, 9], opts: { padding: [1, 4] } },
  ];
  for (const c of cases) {
    await assertRuns(c, undefined);
    const xs = [ref.randn(rng, c.x), ref.randn(rng, c.w), ref.randn(rng, [c.w[0]!])];
    const gy = ref.randn(rng, ref.conv2d(xs[0]!, xs[1]!, null, c.opts).shape);
    const expected = ref.convTranspose2d(gy, xs[1]!, null, { padding: c.opts.padding, stride: c.opts.stride, dilation: c.opts.dilation });
    assertNear(await inputGradient(c, xs, gy), expected, `${label(c)}: input gradient vs float64`);
  }
});

test.run();
