// The packed variant's transposed convolution at stride > 1 by phases (shaders/conv_transpose2d_phase.wgsl):
// conv2d's input gradient and convTranspose2d's forward against the float64 reference and finite
// differences on random shapes (stride 2, 3 and mixed, padding 0-2, kernel 2-4 and non-square, odd and
// non-square sizes, output padding, batch > 1, bias), against the direct oracle where the phases span
// several workgroups along pixels and channels, which geometries fall back to the gather kernel, and
// batches split over several bindings.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { conv2d, convTranspose2d, type Conv2dOptions } from '../../src/nn/functional/conv.js';
import { gpu } from '../../src/gpu/index.js';
import { type Tensor } from '../../src/index.js';
import { checkOp, fileRng, ref, setup, toTensor, assertNear, forwardAndGradients } from './helpers.js';

const rng = fileRng('conv-phase');
const PHASE_KERNEL = 'conv_transpose2d.phaseTiled';

test.before(setup);
test.before.each(() => gpu().policy.set({ convForward: 'packed', convInputGrad: 'packed', convWeightGrad: 'packed' }));
test.after.each(() => gpu().policy.reset());

const pick = <T>(items: readonly T[]): T => items[rng.int(0, items.length - 1)];
const STRIDES: [number, number][] = [[2, 2], [2, 2], [3, 3], [2, 3], [3, 2], [2, 1]];
const KERNELS: [number, number][] = [[3, 3], [4, 4], [3, 4], [4, 3], [2, 2], [2, 3]];

/** The kernels one forward and backward of f ran, by name (a name once per launch). */
async function kernelsRun(f: (ts: Tensor[]) => Tensor, shapes: number[][]): Promise<string[]> {
  const inputs = shapes.map((shape) => toTensor(ref.randn(rng, shape), true));
  const { timings } = await gpu().profile(() => {
    const y = f(inputs);
    y.backward(toTensor(ref.randn(rng, [...y.shape])));
    y.dispose();
  });
  for (const t of inputs) t.dispose();
  return timings.flatMap((t) => Array<string>(t.calls).fill(t.name));
}

test('conv2d at stride > 1: the input gradient runs by phases and matches finite differences on random shapes', async () => {
  for (let trial = 0; trial < 6; trial++) {
    const [KH, KW] = pick(KERNELS);
    const stride = pick(STRIDES);
    const padding: [number, number] = [rng.int(0, Math.min(2, Math.floor(KH / 2))), rng.int(0, Math.min(2, Math.floor(KW / 2)))];
    const x = [rng.int(1, 3), rng.int(1, 5), KH + rng.int(0, 8), KW + rng.int(0, 8)];
    const w = [rng.int(1, 6), x[1], KH, KW];
    const opts = { stride, padding };
    const what = `conv2d x [${x}] w [${w}] stride [${stride}] padding [${padding}]`;
    const names = await kernelsRun(([a, b]) => conv2d(a, b, undefined, opts), [x, w]);
    assert.ok(names.includes(PHASE_KERNEL), `${what}: expected ${PHASE_KERNEL} among ${names.join(', ')}`);
    await checkOp({ name: what, inputs: [x, w, [w[0]]], forward: ([a, b, c]) => conv2d(a, b, c, opts), reference: ([a, b, c]) => ref.conv2d(a, b, c, opts), rng });
  }
});

test('convTranspose2d at stride > 1: the forward runs by phases and matches the reference with output padding, padding up to 2 and bias', async () => {
  for (let trial = 0; trial < 6; trial++) {
    const [KH, KW] = pick(KERNELS);
    const stride = pick(STRIDES);
    const padding: [number, number] = [rng.int(0, Math.min(2, KH - 1)), rng.int(0, Math.min(2, KW - 1))];
    const outputPadding: [number, number] = [rng.int(0, stride[0] - 1), rng.int(0, stride[1] - 1)];
    const x = [rng.int(1, 3), rng.int(1, 5), rng.int(2, 7), rng.int(2, 7)];
    const w = [x[1], rng.int(1, 6), KH, KW];
    const opts = { stride, padding, outputPadding };
    const what = `convTranspose2d x [${x}] w [${w}] stride [${stride}] padding [${padding}] outputPadding [${outputPadding}]`;
    const names = await kernelsRun(([a, b]) => convTranspose2d(a, b, undefined, opts), [x, w]);
    assert.ok(names.includes(PHASE_KERNEL), `${what}: expected ${PHASE_KERNEL} among ${names.join(', ')}`);
    await checkOp({ name: what, inputs: [x, w, [w[1]]], forward: ([a, b, c]) => convTranspose2d(a, b, c, opts), reference: ([a, b, c]) => ref.convTranspose2d(a, b, c, opts), rng });
  }
});

test('phases match the direct oracle where they span several workgroups (channels past one row block, 8 and 4 rows per invocation)', async () => {
  const cases: { x: number[]; w: number[]; opts: Conv2dOptions }[] = [
    { x: [3, 19, 21, 18], w: [21, 19, 3, 3], opts: { stride: 2, padding: 1 } },
    { x: [2, 3, 34, 23], w: [5, 3, 4, 4], opts: { stride: 2, padding: 1 } },
    { x: [2, 37, 16, 17], w: [6, 37, 4, 3], opts: { stride: [3, 2], padding: [2, 1] } },
  ];
  for (const s of cases) {
    const xs = [ref.randn(rng, s.x), ref.randn(rng, s.w, 0.2), ref.randn(rng, [s.w[0]])];
    const g = ref.randn(rng, ref.conv2d(xs[0], xs[1], xs[2], s.opts).shape);
    const op = ([a, b, c]: Tensor[]) => conv2d(a, b, c, s.opts);
    const names = await kernelsRun(op, [s.x, s.w, [s.w[0]]]);
    assert.ok(names.includes(PHASE_KERNEL), `x [${s.x}] w [${s.w}]: expected ${PHASE_KERNEL} among ${names.join(', ')}`);
    const got = await forwardAndGradients(op, xs, g);
    gpu().policy.set({ convForward: 'direct', convInputGrad: 'direct', convWeightGrad: 'direct' });
    const oracle = await forwardAndGradients(op, xs, g);
    assertNear(got[1], oracle[1], `phases vs direct input grad x [${s.x}] w [${s.w}] ${JSON.stringify(s.opts)}`, 1e-3, 1e-4);
    gpu().policy.set({ convForward: 'packed', convInputGrad: 'packed', convWeightGrad: 'packed' });
  }
});

test('fall-backs: dilation > 1 at stride 2 takes the gather kernel, stride 1 the forward kernels, other variants never the phases', async () => {
  const dilated = { x: [2, 3, 11, 10], w: [4, 3, 3, 3], opts: { stride: 2, padding: 1, dilation: 2 } };
  const names = await kernelsRun(([a, b]) => conv2d(a, b, undefined, dilated.opts), [dilated.x, dilated.w]);
  assert.ok(names.includes('conv_transpose2d.registerTiled') && !names.includes(PHASE_KERNEL), `dilation 2: expected conv_transpose2d.registerTiled, got ${names.join(', ')}`);
  await checkOp({ name: 'packed stride 2 dilation 2', inputs: [dilated.x, dilated.w], forward: ([a, b]) => conv2d(a, b, undefined, dilated.opts), reference: ([a, b]) => ref.conv2d(a, b, undefined, dilated.opts), rng });
  const unit = await kernelsRun(([a, b]) => conv2d(a, b, undefined, { padding: 1 }), [[2, 3, 7, 9], [4, 3, 3, 3]]);
  assert.ok(!unit.includes(PHASE_KERNEL) && unit.includes('conv_transpose2d.packedTiled'), `stride 1: expected conv_transpose2d.packedTiled, got ${unit.join(', ')}`);
  gpu().policy.set({ convInputGrad: 'registerTiled' });
  const tiled = await kernelsRun(([a, b]) => conv2d(a, b, undefined, { stride: 2, padding: 1 }), [[2, 3, 9, 9], [4, 3, 3, 3]]);
  assert.ok(!tiled.includes(PHASE_KERNEL) && tiled.includes('conv_transpose2d.registerTiled'), `registerTiled forced: got ${tiled.join(', ')}`);
});

test('phases over a batch larger than one binding run in runs of whole images', async () => {
  // Whole images per run at 256-byte binding offsets: 4 + 1 and 4 + 2 images.
  gpu().setMaxBindingBytes(2048);
  try {
    for (const c of [{ x: [5, 2, 8, 8], w: [3, 2, 3, 3], opts: { stride: 2, padding: 1 } }, { x: [6, 4, 4, 8], w: [4, 4, 4, 4], opts: { stride: 2, padding: 1 } }]) {
      const names = await kernelsRun(([a, b]) => conv2d(a, b, undefined, c.opts), [c.x, c.w]);
      assert.ok(names.filter((n) => n === PHASE_KERNEL).length > 1, `x [${c.x}]: expected several ${PHASE_KERNEL} launches, got ${names.join(', ')}`);
      await checkOp({ name: `chunked phases conv2d x [${c.x}] w [${c.w}]`, inputs: [c.x, c.w], forward: ([a, b]) => conv2d(a, b, undefined, c.opts), reference: ([a, b]) => ref.conv2d(a, b, undefined, c.opts), rng });
    }
  } finally {
    gpu().setMaxBindingBytes(undefined);
  }
});

test.run();
