// The packed variant's transposed convolution at stride > 1 by phases (shaders/conv_transpose2d_phase.wgsl,
// and conv_transpose2d_phase_subgroup.wgsl for more than 8 input channels where subgroups are 8 wide):
// conv2d's input gradient and convTranspose2d's forward against the float64 reference and finite
// differences on random shapes (stride 2, 3 and mixed, padding 0-2, kernel 2-4 and non-square, odd and
// non-square sizes, output padding, 1-12 channels, batch > 1, bias), against the direct oracle where the
// phases span several workgroups along pixels and channels (odd channel counts, partial row blocks,
// outputs smaller than a workgroup), the subgroup kernel's adapter condition, which geometries fall
// back to the gather kernel, and batches split over several bindings; the thin kernel (conv_transpose2d_thin.wgsl) under
// both of its orders of multiply-adds (policy thinBlocksOrder).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { conv2d, convTranspose2d, type Conv2dOptions } from '../../src/nn/functional/conv.js';
import { gpu } from '../../src/gpu/index.js';
import { subgroupsOfEight } from '../../src/kernels/conv.js';
import { type Tensor } from '../../src/index.js';
import { checkOp, fileRng, ref, setup, toTensor, assertNear, forwardAndGradients, kernelsRun } from './helpers.js';

const rng = fileRng('conv-phase');
const PHASE_KERNEL = 'conv_transpose2d.phaseTiled';
const SUBGROUP_KERNEL = 'conv_transpose2d.phaseSubgroup';
const THIN_KERNEL = 'conv_transpose2d.thinBlocks';
/**
 * Where the adapter's subgroups are 8 wide (lavapipe) more than 8 input channels take the subgroup kernel, and at most 2
 * (the transposed conv's outputs) at strides up to 2 with at most 2 taps per phase the thin kernel (policy convThinInputGrad 'blocks').
 */
const thinFits = (channels: number, stride: readonly number[], kernelSize: readonly number[]) =>
  channels <= 2 && stride[0]! <= 2 && stride[1]! <= 2 && kernelSize[0]! <= 2 * stride[0]! && kernelSize[1]! <= 2 * stride[1]!;
const kernelFor = (inputChannels: number, stride: readonly number[] = [3, 3], kernelSize: readonly number[] = [3, 3]) =>
  subgroupsOfEight() && gpu().policy.get('convThinInputGrad') === 'blocks' && thinFits(inputChannels, stride, kernelSize)
    ? THIN_KERNEL
    : subgroupsOfEight() && inputChannels > 8 ? SUBGROUP_KERNEL : PHASE_KERNEL;
const byPhases = (names: string[]) => names.includes(PHASE_KERNEL) || names.includes(SUBGROUP_KERNEL) || names.includes(THIN_KERNEL);

test.before(setup);
test.before.each(() => gpu().policy.set({ convForward: 'packed', convInputGrad: 'packed', convWeightGrad: 'packed' }));
test.after.each(() => gpu().policy.reset());

const pick = <T>(items: readonly T[]): T => items[rng.int(0, items.length - 1)];
const STRIDES: [number, number][] = [[2, 2], [2, 2], [3, 3], [2, 3], [3, 2], [2, 1]];
const KERNELS: [number, number][] = [[3, 3], [4, 4], [3, 4], [4, 3], [2, 2], [2, 3]];

test('conv2d at stride > 1: the input gradient runs by phases and matches finite differences on random shapes', async () => {
  for (let trial = 0; trial < 6; trial++) {
    const [KH, KW] = pick(KERNELS);
    const stride = pick(STRIDES);
    const padding: [number, number] = [rng.int(0, Math.min(2, Math.floor(KH / 2))), rng.int(0, Math.min(2, Math.floor(KW / 2)))];
    const x = [rng.int(1, 3), rng.int(1, 12), KH + rng.int(0, 8), KW + rng.int(0, 8)];
    const w = [rng.int(1, 6), x[1], KH, KW];
    const opts = { stride, padding };
    const what = `conv2d x [${x}] w [${w}] stride [${stride}] padding [${padding}]`;
    const names = await kernelsRun(rng, ([a, b]) => conv2d(a, b, undefined, opts), [x, w]);
    assert.ok(names.includes(kernelFor(x[1], stride, [KH, KW])), `${what}: expected ${kernelFor(x[1], stride, [KH, KW])} among ${names.join(', ')}`);
    await checkOp({ name: what, inputs: [x, w, [w[0]]], forward: ([a, b, c]) => conv2d(a, b, c, opts), reference: ([a, b, c]) => ref.conv2d(a, b, c, opts), rng });
  }
});

test('convTranspose2d at stride > 1: the forward runs by phases and matches the reference with output padding, padding up to 2 and bias', async () => {
  for (let trial = 0; trial < 6; trial++) {
    const [KH, KW] = pick(KERNELS);
    const stride = pick(STRIDES);
    const outputPadding: [number, number] = [rng.int(0, stride[0] - 1), rng.int(0, stride[1] - 1)];
    const x = [rng.int(1, 3), rng.int(1, 5), rng.int(2, 7), rng.int(2, 7)];
    // Padding up to 2, but never so much that the output (size - 1)·S − 2P + K + outputPadding is empty.
    const padFor = (axis: 0 | 1, K: number) => rng.int(0, Math.min(2, K - 1, Math.floor(((x[2 + axis]! - 1) * stride[axis] + K + outputPadding[axis] - 1) / 2)));
    const padding: [number, number] = [padFor(0, KH), padFor(1, KW)];
    const w = [x[1], rng.int(1, 12), KH, KW];
    const opts = { stride, padding, outputPadding };
    const what = `convTranspose2d x [${x}] w [${w}] stride [${stride}] padding [${padding}] outputPadding [${outputPadding}]`;
    const names = await kernelsRun(rng, ([a, b]) => convTranspose2d(a, b, undefined, opts), [x, w]);
    assert.ok(names.includes(kernelFor(w[1], stride, [KH, KW])), `${what}: expected ${kernelFor(w[1], stride, [KH, KW])} among ${names.join(', ')}`);
    await checkOp({ name: what, inputs: [x, w, [w[1]]], forward: ([a, b, c]) => convTranspose2d(a, b, c, opts), reference: ([a, b, c]) => ref.convTranspose2d(a, b, c, opts), rng });
  }
});

test('phases match the direct oracle where they span several workgroups (channels past one row block, odd output channels, tiny outputs)', async () => {
  const cases: { x: number[]; w: number[]; opts: Conv2dOptions }[] = [
    { x: [3, 19, 21, 18], w: [21, 19, 3, 3], opts: { stride: 2, padding: 1 } },
    { x: [2, 3, 34, 23], w: [5, 3, 4, 4], opts: { stride: 2, padding: 1 } },
    { x: [2, 37, 16, 17], w: [6, 37, 4, 3], opts: { stride: [3, 2], padding: [2, 1] } },
    { x: [3, 70, 13, 11], w: [7, 70, 3, 3], opts: { stride: 2, padding: 1 } },
    { x: [1, 11, 3, 3], w: [5, 11, 3, 3], opts: { stride: 2, padding: 0 } },
  ];
  for (const s of cases) {
    const xs = [ref.randn(rng, s.x), ref.randn(rng, s.w, 0.2), ref.randn(rng, [s.w[0]])];
    const g = ref.randn(rng, ref.conv2d(xs[0], xs[1], xs[2], s.opts).shape);
    const op = ([a, b, c]: Tensor[]) => conv2d(a, b, c, s.opts);
    const names = await kernelsRun(rng, op, [s.x, s.w, [s.w[0]]]);
    const stride = typeof s.opts.stride === 'number' ? [s.opts.stride, s.opts.stride] : s.opts.stride!;
    const expected = kernelFor(s.x[1], stride, [s.w[2]!, s.w[3]!]);
    assert.ok(names.includes(expected), `x [${s.x}] w [${s.w}]: expected ${expected} among ${names.join(', ')}`);
    const got = await forwardAndGradients(op, xs, g);
    gpu().policy.set({ convForward: 'direct', convInputGrad: 'direct', convWeightGrad: 'direct' });
    const oracle = await forwardAndGradients(op, xs, g);
    assertNear(got[1], oracle[1], `phases vs direct input grad x [${s.x}] w [${s.w}] ${JSON.stringify(s.opts)}`, 1e-3, 1e-4);
    gpu().policy.set({ convForward: 'packed', convInputGrad: 'packed', convWeightGrad: 'packed' });
  }
});

test('the subgroup kernel runs only where subgroups are exactly 8 wide (the adapter reports both sizes)', () => {
  assert.ok(subgroupsOfEight({ features: ['subgroups'], subgroupSizes: { min: 8, max: 8 } }), 'lavapipe: 8 / 8');
  assert.not.ok(subgroupsOfEight({ features: ['subgroups'], subgroupSizes: { min: 4, max: 8 } }), 'sizes 4 .. 8');
  assert.not.ok(subgroupsOfEight({ features: ['subgroups'], subgroupSizes: { min: 32, max: 32 } }), '32 wide');
  assert.not.ok(subgroupsOfEight({ features: ['subgroups'] }), 'sizes not reported');
  assert.not.ok(subgroupsOfEight({ features: [], subgroupSizes: { min: 8, max: 8 } }), 'no subgroups feature');
});

test('fall-backs: dilation > 1 at stride 2 takes the gather kernel, stride 1 the forward kernels, other variants never the phases', async () => {
  const dilated = { x: [2, 3, 11, 10], w: [4, 3, 3, 3], opts: { stride: 2, padding: 1, dilation: 2 } };
  const names = await kernelsRun(rng, ([a, b]) => conv2d(a, b, undefined, dilated.opts), [dilated.x, dilated.w]);
  assert.ok(names.includes('conv_transpose2d.registerTiled') && !byPhases(names), `dilation 2: expected conv_transpose2d.registerTiled, got ${names.join(', ')}`);
  await checkOp({ name: 'packed stride 2 dilation 2', inputs: [dilated.x, dilated.w], forward: ([a, b]) => conv2d(a, b, undefined, dilated.opts), reference: ([a, b]) => ref.conv2d(a, b, undefined, dilated.opts), rng });
  const unit = await kernelsRun(rng, ([a, b]) => conv2d(a, b, undefined, { padding: 1 }), [[2, 3, 7, 9], [4, 3, 3, 3]]);
  assert.ok(!byPhases(unit) && unit.includes('conv_transpose2d.packedTiled'), `stride 1: expected conv_transpose2d.packedTiled, got ${unit.join(', ')}`);
  gpu().policy.set({ convInputGrad: 'registerTiled' });
  const tiled = await kernelsRun(rng, ([a, b]) => conv2d(a, b, undefined, { stride: 2, padding: 1 }), [[2, 3, 9, 9], [4, 3, 3, 3]]);
  assert.ok(!byPhases(tiled) && tiled.includes('conv_transpose2d.registerTiled'), `registerTiled forced: got ${tiled.join(', ')}`);
});

test('phases over a batch larger than one binding run in runs of whole images', async () => {
  // Whole images per run at 256-byte binding offsets: 4 + 1, 4 + 2 and 2 + 2 + 1 images.
  const cases = [
    { x: [5, 2, 8, 8], w: [3, 2, 3, 3], opts: { stride: 2, padding: 1 }, limit: 2048 },
    { x: [6, 4, 4, 8], w: [4, 4, 4, 4], opts: { stride: 2, padding: 1 }, limit: 2048 },
    { x: [5, 16, 8, 16], w: [4, 16, 3, 3], opts: { stride: 2, padding: 1 }, limit: 16384 },
  ];
  try {
    for (const c of cases) {
      gpu().setMaxBindingBytes(c.limit);
      const kernelName = kernelFor(c.x[1], [c.opts.stride, c.opts.stride], [c.w[2]!, c.w[3]!]);
      const names = await kernelsRun(rng, ([a, b]) => conv2d(a, b, undefined, c.opts), [c.x, c.w]);
      assert.ok(names.filter((n) => n === kernelName).length > 1, `x [${c.x}]: expected several ${kernelName} launches, got ${names.join(', ')}`);
      await checkOp({ name: `chunked phases conv2d x [${c.x}] w [${c.w}]`, inputs: [c.x, c.w], forward: ([a, b]) => conv2d(a, b, undefined, c.opts), reference: ([a, b]) => ref.conv2d(a, b, undefined, c.opts), rng });
    }
  } finally {
    gpu().setMaxBindingBytes(undefined);
  }
});

test('thin outputs (1-2 channels) at stride 2 run conv_transpose2d_thin.wgsl under thinBlocksOrder byBlockRow and byWindowRow: conv2d input gradient against finite differences, convTranspose2d forward with bias, odd sizes, batch > 1', async () => {
  const cases: { x: number[]; w: number[]; opts: Conv2dOptions }[] = [
    { x: [3, 2, 21, 18], w: [5, 2, 4, 4], opts: { stride: 2, padding: 1 } },
    { x: [2, 1, 13, 11], w: [3, 1, 3, 2], opts: { stride: [2, 1], padding: [1, 0] } },
    { x: [2, 2, 9, 14], w: [4, 2, 2, 4], opts: { stride: [1, 2], padding: [0, 2] } },
    { x: [2, 2, 17, 16], w: [3, 2, 3, 3], opts: { stride: 2, padding: 0 } },
  ];
  for (const order of ['byBlockRow', 'byWindowRow'] as const) {
    await gpu().policy.with({ thinBlocksOrder: order }, async () => {
      for (const c of cases) {
        const what = `thin conv2d x [${c.x}] w [${c.w}] ${JSON.stringify(c.opts)} ${order}`;
        const names = await kernelsRun(rng, ([a, b]) => conv2d(a, b, undefined, c.opts), [c.x, c.w]);
        if (subgroupsOfEight()) assert.ok(names.includes(THIN_KERNEL), `${what}: expected ${THIN_KERNEL} among ${names.join(', ')}`);
        await checkOp({ name: what, inputs: [c.x, c.w, [c.w[0]!]], forward: ([a, b, bias]) => conv2d(a, b, bias, c.opts), reference: ([a, b, bias]) => ref.conv2d(a, b, bias, c.opts), rng });
      }
      // convTranspose2d's forward: 2 output channels, bias, output padding (an output row no tap reaches holds the bias).
      const transposed = { x: [2, 3, 6, 7], w: [3, 2, 4, 4], opts: { stride: 2, padding: 1, outputPadding: 1 } };
      const names = await kernelsRun(rng, ([a, b]) => convTranspose2d(a, b, undefined, transposed.opts), [transposed.x, transposed.w]);
      if (subgroupsOfEight()) assert.ok(names.includes(THIN_KERNEL), `convTranspose2d: expected ${THIN_KERNEL} among ${names.join(', ')}`);
      await checkOp({ name: `thin convTranspose2d ${order}`, inputs: [transposed.x, transposed.w, [2]], forward: ([a, b, bias]) => convTranspose2d(a, b, bias, transposed.opts), reference: ([a, b, bias]) => ref.convTranspose2d(a, b, bias, transposed.opts), rng });
    });
  }
});

test('thin kernel against the direct oracle on D-1\'s geometry (4×4 stride 2 pad 1) over several workgroups, aligned quads and not, and against phases', async () => {
  const cases = [
    { x: [3, 2, 40, 36], w: [9, 2, 4, 4] },
    { x: [2, 2, 37, 30], w: [6, 2, 4, 4] },
    { x: [2, 1, 64, 64], w: [4, 1, 4, 4] },
  ];
  const opts = { stride: 2, padding: 1 };
  for (const s of cases) {
    const xs = [ref.randn(rng, s.x), ref.randn(rng, s.w, 0.2)];
    const g = ref.randn(rng, ref.conv2d(xs[0], xs[1], undefined, opts).shape);
    const op = ([a, b]: Tensor[]) => conv2d(a, b, undefined, opts);
    const got = await forwardAndGradients(op, xs, g);
    const byWindowRow = await gpu().policy.with({ thinBlocksOrder: 'byWindowRow' }, () => forwardAndGradients(op, xs, g));
    gpu().policy.set({ convThinInputGrad: 'phases' });
    const phases = await forwardAndGradients(op, xs, g);
    gpu().policy.set({ convThinInputGrad: undefined, convForward: 'direct', convInputGrad: 'direct', convWeightGrad: 'direct' });
    const oracle = await forwardAndGradients(op, xs, g);
    assertNear(got[1], oracle[1], `thin vs direct input grad x [${s.x}] w [${s.w}]`, 1e-3, 1e-4);
    assertNear(byWindowRow[1], oracle[1], `thin byWindowRow vs direct input grad x [${s.x}] w [${s.w}]`, 1e-3, 1e-4);
    assertNear(phases[1], oracle[1], `phases vs direct input grad x [${s.x}] w [${s.w}]`, 1e-3, 1e-4);
    gpu().policy.set({ convForward: 'packed', convInputGrad: 'packed', convWeightGrad: 'packed' });
  }
});

test.run();
