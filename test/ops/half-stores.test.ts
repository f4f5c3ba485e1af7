// Autocast's float16 outputs stored by the GEMM and conv kernels themselves (policy halfStores 'epilogue') against the
// cast pass they replace ('cast': an f32 output, then cast.wgsl's toHalf): conv2d, conv2dMfm, convTranspose2d and linear
// with computeDtype float16 on float16 inputs and float32 master weights (Module.autocast's reads), forward and backward,
// bit for bit, on odd shapes, stride 2, padding, batches, forced through the conv variants; the epilogue path launches no
// cast of an output or input gradient (only the weights' casts). Each kernel's float16 store against the test's own
// float16 encoder: checkHalfStores in test/ops/f16-operands.test.ts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { F, noGrad, tensor, zeros, type Tensor } from '../../src/index.js';
import { gpu } from '../../src/gpu/index.js';
import type { KernelChoices } from '../../src/gpu/policy.js';
import { context, fileRng, ref, setup, type T64 } from './helpers.js';
import { roundToHalf } from '../reference/half.js';

const rng = fileRng('half-stores');

test.before(setup);
test.after.each(() => gpu().policy.reset());

const toHalfValues = (x: T64): T64 => ref.map(x, roundToHalf);

interface StoreCase {
  label: string;
  /** x [N, C, H, W] (float16), weight (float32 master), bias (float32) or none. */
  x: number[];
  weight: number[];
  bias?: number;
  op: (x: Tensor, weight: Tensor, bias: Tensor | undefined) => Tensor;
  /** Casts of the op's own beside the weight's, under either setting (linear's fused relu: its gradient formed in float32, then rounded). */
  otherCasts?: number;
}

const autocast = { computeDtype: 'float16' as const };

const CASES: StoreCase[] = [
  { label: 'conv2d 3×3 stride 2 pad 1, 5 → 7 channels, 9×11, batch 2', x: [2, 5, 9, 11], weight: [7, 5, 3, 3], bias: 7, op: (x, w, b) => F.conv2d(x, w, b, { stride: 2, padding: 1, ...autocast }) },
  { label: 'conv2d 3×3 pad 1, 6 → 10 channels, 7×13, batch 3', x: [3, 6, 7, 13], weight: [10, 6, 3, 3], bias: 10, op: (x, w, b) => F.conv2d(x, w, b, { padding: 1, ...autocast }) },
  { label: 'conv2d 1×1, 9 → 11 channels, 5×7, batch 2', x: [2, 9, 5, 7], weight: [11, 9, 1, 1], bias: 11, op: (x, w, b) => F.conv2d(x, w, b, autocast) },
  { label: 'conv2d 1×1, 8 → 12 channels, 4×6 (vec4-aligned GEMM), batch 2', x: [2, 8, 4, 6], weight: [12, 8, 1, 1], op: (x, w, b) => F.conv2d(x, w, b, autocast) },
  { label: 'conv2d 5×5 pad 2 from one channel, 7 filters, 6×16, batch 2', x: [2, 1, 6, 16], weight: [7, 1, 5, 5], bias: 7, op: (x, w, b) => F.conv2d(x, w, b, { padding: 2, ...autocast }) },
  { label: 'conv2d 5×5 pad 2 from one channel, 20 filters, 5×16 (conv1: the window kernel\'s quad stores), batch 2', x: [2, 1, 5, 16], weight: [20, 1, 5, 5], bias: 20, op: (x, w, b) => F.conv2d(x, w, b, { padding: 2, ...autocast }) },
  { label: 'conv2dMfm 5×5 pad 2 from one channel, 2·17 filters, 3×8 (conv1-mfm: the window kernel\'s quad mfm epilogue), batch 3', x: [3, 1, 3, 8], weight: [34, 1, 5, 5], bias: 34, op: (x, w, b) => F.conv2dMfm(x, w, b, { padding: 2, ...autocast }) },
  { label: 'conv2d 7×7 to one channel, 4 → 1, 11×12, batch 2', x: [2, 4, 11, 12], weight: [1, 4, 7, 7], bias: 1, op: (x, w, b) => F.conv2d(x, w, b, autocast) },
  { label: 'conv2d 7×7 to one channel, 3 → 1, 8×70 (G-out\'s kind, 64 outputs wide: rowsWindowShared where subgroups are 8 wide), batch 2', x: [2, 3, 8, 70], weight: [1, 3, 7, 7], bias: 1, op: (x, w, b) => F.conv2d(x, w, b, autocast) },
  { label: 'conv2d 4×4 pad 1, 18 → 5, 5×16, batch 2 (the input gradient by packedSubgroup, kernel rows in the padding skipped)', x: [2, 18, 5, 16], weight: [5, 18, 4, 4], bias: 5, op: (x, w, b) => F.conv2d(x, w, b, { padding: 1, ...autocast }) },
  { label: 'conv2d 4×4 stride 2 pad 1, 3 → 5, 9×10, batch 3', x: [3, 3, 9, 10], weight: [5, 3, 4, 4], op: (x, w, b) => F.conv2d(x, w, b, { stride: 2, padding: 1, ...autocast }) },
  { label: 'conv2dMfm 3×3 pad 1, 5 → 2·6, 7×9, batch 2', x: [2, 5, 7, 9], weight: [12, 5, 3, 3], bias: 12, op: (x, w, b) => F.conv2dMfm(x, w, b, { padding: 1, ...autocast }) },
  { label: 'conv2dMfm 1×1, 8 → 2·8, 4×8 (the GEMM with the mfm epilogue), batch 2', x: [2, 8, 4, 8], weight: [16, 8, 1, 1], bias: 16, op: (x, w, b) => F.conv2dMfm(x, w, b, autocast) },
  { label: 'convTranspose2d 3×3 stride 2 pad 1 output padding 1, 6 → 4, 5×7, batch 2', x: [2, 6, 5, 7], weight: [6, 4, 3, 3], bias: 4, op: (x, w, b) => F.convTranspose2d(x, w, b, { stride: 2, padding: 1, outputPadding: 1, ...autocast }) },
  { label: 'linear 13 → 9 on [3, 5, 13]', x: [3, 5, 13], weight: [9, 13], bias: 9, op: (x, w, b) => F.linear(x, w, b, 'none', autocast) },
  { label: 'linear 16 → 12 with relu on [6, 16]', x: [6, 16], weight: [12, 16], bias: 12, op: (x, w, b) => F.linear(x, w, b, 'relu', autocast), otherCasts: 1 },
];

/** The bits of a tensor's values (float16 values are exact in f32, so equal bits here are equal float16 bits). */
async function bitsOf(t: Tensor): Promise<Uint32Array> {
  return new Uint32Array((await t.toArray()).buffer);
}

interface Run {
  y: Uint32Array;
  grads: Uint32Array[];
  dtypes: string[];
  kernels: string[];
}

/** One forward and backward of c under a halfStores setting (and the other policy choices), on the given values. */
async function run(c: StoreCase, values: { x: T64; weight: T64; bias?: T64; g: T64 }, policy: Partial<KernelChoices>): Promise<Run> {
  return gpu().policy.with(policy, async () => {
    const x = tensor(Float32Array.from(values.x.data), c.x, { dtype: 'float16', requiresGrad: true });
    const weight = tensor(Float32Array.from(values.weight.data), c.weight, { requiresGrad: true });
    const bias = values.bias && tensor(Float32Array.from(values.bias.data), values.bias.shape, { requiresGrad: true });
    const g = tensor(Float32Array.from(values.g.data), values.g.shape, { dtype: 'float16' });
    let y: Tensor | undefined;
    const { timings } = await gpu().profile(async () => {
      y = c.op(x, weight, bias);
      y.backward(g);
      await gpu().sync();
    });
    const leaves = bias ? [x, weight, bias] : [x, weight];
    const result: Run = {
      y: await bitsOf(y!),
      grads: await Promise.all(leaves.map((t) => bitsOf(t.grad!))),
      dtypes: [y!.dtype, ...leaves.map((t) => t.grad!.dtype)],
      kernels: timings.flatMap((t) => Array<string>(t.calls).fill(t.name)),
    };
    for (const t of [...leaves, y!, g]) t.dispose();
    return result;
  });
}

/** The shape c.op gives (from a forward without a graph on zeros). */
function outputShape(c: StoreCase): number[] {
  return noGrad(() => {
    const inputs = [zeros(c.x, { dtype: 'float16' }), zeros(c.weight), ...(c.bias === undefined ? [] : [zeros([c.bias])])];
    const y = c.op(inputs[0]!, inputs[1]!, inputs[2]);
    const shape = [...y.shape];
    for (const t of [...inputs, y]) t.dispose();
    return shape;
  });
}

function assertSameBits(a: Uint32Array, b: Uint32Array, what: string): void {
  assert.is(a.length, b.length, context(`${what}: length`));
  const differ: string[] = [];
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) differ.push(`[${i}] 0x${a[i]!.toString(16)} vs 0x${b[i]!.toString(16)}`);
  assert.ok(differ.length === 0, context(`${what}: ${differ.length} of ${a.length} differ: ${differ.slice(0, 4).join('; ')}`));
}

/**
 * The conv kernels forced: the generic registerTiled ones, and the packed policy (software default) with and without subgroups.
 * windowSums 'rows': conv1's windowTapsSubgroup stores float32 only, so under 'cast' it would run where 'epilogue' runs
 * windowSubgroup, which adds the taps in another order; this test compares the two store paths of one kernel.
 */
const CONV_POLICIES: [string, Partial<KernelChoices>][] = [
  ['registerTiled', { convForward: 'registerTiled', convInputGrad: 'registerTiled', convWeightGrad: 'registerTiled', matmul: 'registerTiled' }],
  ['packed, subgroups shared, 1×1 as GEMM', { convForward: 'packed', convInputGrad: 'packed', convWeightGrad: 'packed', convSubgroups: 'shared', convSingleChannel: 'shared', convPointwise: 'gemm', matmul: 'subgroup', windowSums: 'rows' }],
  ['packed, subgroups off, 1×1 conv kernels', { convForward: 'packed', convInputGrad: 'packed', convWeightGrad: 'packed', convSubgroups: 'off', convSingleChannel: 'dedicated', convPointwise: 'conv', matmul: 'registerTiledVec4' }],
];

for (const [policyName, policy] of CONV_POLICIES) {
  test(`halfStores 'epilogue' equals 'cast' bit for bit (${policyName}): autocast conv2d, conv2dMfm, convTranspose2d, linear, forward and backward`, async () => {
    for (const c of CASES) {
      const x = toHalfValues(ref.randn(rng, c.x));
      const weight = ref.randn(rng, c.weight, 0.5);
      const bias = c.bias === undefined ? undefined : ref.randn(rng, [c.bias]);
      const values = { x, weight, bias, g: toHalfValues(ref.randn(rng, outputShape(c))) };
      const what = `${policyName}: ${c.label}`;
      const viaCast = await run(c, values, { ...policy, halfStores: 'cast' });
      const inEpilogue = await run(c, values, { ...policy, halfStores: 'epilogue' });
      assert.equal(inEpilogue.dtypes, viaCast.dtypes, context(`${what}: dtypes`));
      assert.is(inEpilogue.dtypes[0], 'float16', context(`${what}: the output is float16`));
      assertSameBits(inEpilogue.y, viaCast.y, `${what}: output`);
      inEpilogue.grads.forEach((grad, i) => assertSameBits(grad, viaCast.grads[i]!, `${what}: gradient ${i} (${inEpilogue.dtypes[i + 1]})`));
      // Casts left: the weight's copy (one per call: a fresh weight each run), none of y or of x's gradient.
      const casts = (r: Run) => r.kernels.filter((name) => name === 'cast.toHalf').length;
      assert.ok(casts(viaCast) >= 3, context(`${what}: 'cast' rounds the weight, y and x's gradient (${casts(viaCast)} casts)`));
      // The rowStrips and rowsWindow input gradients (Cout = 1's, and the thin one into 1-2 channels: thinRowsWindow,
      // thinRowsWindowPair, thinQuadRows) store f32, and their float16 gradient takes a cast.
      const windowCast = inEpilogue.kernels.some((name) => /^conv_transpose2d\.(rowStrips|rowsWindow|thinRowsWindow|thinQuadRows)/.test(name)) ? 1 : 0;
      assert.is(casts(inEpilogue), 1 + (c.otherCasts ?? 0) + windowCast, context(`${what}: 'epilogue' casts the weight only, kernels ${[...new Set(inEpilogue.kernels)]}`));
    }
  });
}

test.run();
