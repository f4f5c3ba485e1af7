// 1×1, stride-1, unpadded convs as batched GEMMs through the matmul launcher (policy convPointwise 'gemm' under the
// packed variant: src/kernels/conv.ts pointwiseGemm): the forward W · x[n] with its bias along the rows, the input
// gradient Wᵀ · gy[n] (conv2d's backward, and convTranspose2d's forward with its bias), the weight gradient Σₙ gy[n] · x[n]ᵀ
// — against the float64 reference and finite differences on odd channel counts, planes whose H·W is not a multiple of 4,
// batch > 1; each matmul kernel forced through the policy (subgroup in place and on packed copies, registerTiledVec4,
// registerTiled, workgroupTiled, packed); the direct oracle on a LightCNN-like shape; the mfm forward as one GEMM with its
// bias + max-feature-map + mask epilogue (finite differences, NaN), or its fused conv kernel where that cannot run; batches and products split over several bindings; the subgroup matmul kernel's vec4 stores of C (tiny C, N
// not a multiple of 4, K split into accumulating launches, bias along rows and columns); the forward as xᵀ·Wᵀ stored
// transposed (pointwiseForwardLayout pixelRows: matmulColumnsOut), its B read from storage or a workgroup copy
// (columnsOutB). f16 operands:
// test/ops/f16-operands.test.ts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { conv2d, conv2dMfm, convTranspose2d } from '../../src/nn/functional/conv.js';
import { gpu } from '../../src/gpu/index.js';
import { matmul as matmulKernel, matmulColumnsOut, subgroupMatmulRuns, type BiasAlong } from '../../src/kernels/matmul.js';
import { alloc } from '../../src/kernels/launch.js';
import { type Tensor } from '../../src/index.js';
import { COLUMNS_OUT_B, MATMUL_SUBGROUP_EPILOGUE, POINTWISE_FORWARD_LAYOUT, POINTWISE_WEIGHT_GRAD_LAYOUT, POLICY_DEFAULTS, type KernelChoices } from '../../src/gpu/policy.js';
import { ACTIVATIONS } from '../../src/nn/functional/linalg.js';
import { assertNear, checkOp, context, draw, fileRng, forwardAndGradients, kernelsRun, ref, setup } from './helpers.js';
import { F, tensor } from '../../src/index.js';
import { roundToHalf } from '../reference/half.js';

const rng = fileRng('conv-pointwise-gemm');
const GEMM: Partial<KernelChoices> = { convForward: 'packed', convInputGrad: 'packed', convWeightGrad: 'packed', convPointwise: 'gemm' };

test.before(setup);
test.before.each(() => gpu().policy.set(GEMM));
test.after.each(() => {
  gpu().setMaxBindingBytes(undefined);
  gpu().policy.reset();
});

/** matmulColumnsOut's kernel (without the activation part), B from storage or a workgroup copy (columnsOutB). */
const COLUMNS_OUT = /^matmul\.subgroupColumnsOut(SharedB)?\.none$/;
const MFM_COLUMNS_OUT = /^matmul\.subgroupMfmColumnsOut(SharedB)?$/;

/** The conv kernels among those launched (the weight packing included): a GEMM pass launches none. */
const convKernels = (names: string[]) => names.filter((name) => /^conv/.test(name));
/** The conv kernels that compute a pass (the weight packing left out). */
const convPasses = (names: string[]) => convKernels(names).filter((name) => !name.startsWith('conv_pack'));

interface Case { x: number[]; w: number[]; bias: boolean }
const describe = (c: Case) => `x [${c.x}] w [${c.w}]${c.bias ? ' bias' : ''}`;

/** Odd channel counts, H·W not a multiple of 4 (35, 9, 1), batches; one aligned case (the vec4 reads in place). */
const CASES: Case[] = [
  { x: [3, 5, 5, 7], w: [7, 5, 1, 1], bias: true },
  { x: [2, 9, 3, 3], w: [13, 9, 1, 1], bias: false },
  { x: [4, 3, 1, 1], w: [2, 3, 1, 1], bias: true },
  { x: [2, 8, 4, 6], w: [12, 8, 1, 1], bias: true },
];

async function checkCase(c: Case, what: string): Promise<void> {
  const inputs = c.bias ? [c.x, c.w, [c.w[0]]] : [c.x, c.w];
  await checkOp({
    name: `${what} ${describe(c)}`,
    inputs,
    forward: ([x, w, b]) => conv2d(x, w, b),
    reference: ([x, w, b]) => ref.conv2d(x, w, b),
    rng,
  });
}

for (const matmul of ['subgroup', 'registerTiledVec4', 'registerTiled', 'workgroupTiled', 'packed'] as const) {
  test(`1×1 conv as GEMM under matmul ${matmul}: forward, input and weight gradients against finite differences (odd channels, H·W % 4 != 0, batches, bias)`, async () => {
    gpu().policy.set({ matmul });
    for (const c of CASES) {
      const names = await kernelsRun(rng, ([x, w, b]) => conv2d(x, w, b), c.bias ? [c.x, c.w, [c.w[0]]] : [c.x, c.w]);
      assert.ok(names.some((name) => name.startsWith('matmul.')), context(`${describe(c)}: expected matmul kernels, got ${names.join(', ')}`));
      assert.equal(convKernels(names), [], context(`${describe(c)}: conv kernels launched under convPointwise gemm: ${names.join(', ')}`));
      await checkCase(c, `gemm (${matmul})`);
    }
  });
}

test('the subgroup matmul kernel runs the three passes in place where vec4 reads fit, and on packed copies where H·W % 4 != 0', async () => {
  gpu().policy.set({ matmul: 'subgroup' });
  const aligned = await kernelsRun(rng, ([x, w]) => conv2d(x, w), [[2, 8, 4, 6], [12, 8, 1, 1]]);
  const expected = subgroupMatmulRuns() ? 'matmul.subgroup.none' : 'matmul.registerTiledVec4.none';
  assert.ok(aligned.filter((name) => name === expected).length === 3 && !aligned.some((name) => name.startsWith('matmul_pack')), context(`aligned: expected 3 × ${expected}, got ${aligned.join(', ')}`));
  if (!subgroupMatmulRuns()) return;
  // 2 x 41 x 37 x 195 multiply-adds (past the packing threshold), plane 13 x 15.
  const odd = await kernelsRun(rng, ([x, w]) => conv2d(x, w), [[2, 37, 13, 15], [41, 37, 1, 1]]);
  assert.ok(odd.includes('matmul.subgroup.none') && odd.some((name) => name.startsWith('matmul_pack')), context(`odd plane: expected packed copies for the subgroup kernel, got ${odd.join(', ')}`));
});

test('GEMM path matches the direct oracle on a LightCNN-like 1×1 (odd Cin, several row blocks, batch 3) and on the packed copies', async () => {
  for (const s of [{ x: [3, 24, 16, 16], w: [48, 24, 1, 1] }, { x: [2, 37, 13, 15], w: [41, 37, 1, 1] }]) {
    const xs = [ref.randn(rng, s.x), ref.randn(rng, s.w, 0.2), ref.randn(rng, [s.w[0]])];
    const g = ref.randn(rng, ref.conv2d(xs[0], xs[1], xs[2]).shape);
    const op = ([x, w, b]: Tensor[]) => conv2d(x, w, b);
    const got = await forwardAndGradients(op, xs, g);
    const oracle = await gpu().policy.with({ convForward: 'direct', convInputGrad: 'direct', convWeightGrad: 'direct' }, () => forwardAndGradients(op, xs, g));
    ['forward', 'input gradient', 'weight gradient', 'bias gradient'].forEach((what, i) => assertNear(got[i], oracle[i], `x [${s.x}] w [${s.w}]: GEMM vs direct ${what}`, 1e-4, 1e-5));
  }
});

test('convTranspose2d 1×1 at stride 1 runs its forward (with the bias, one per output channel) as the input-gradient GEMM', async () => {
  const c = { x: [3, 6, 5, 3], w: [6, 11, 1, 1] };
  const op = ([x, w, b]: Tensor[]) => convTranspose2d(x, w, b);
  const names = await kernelsRun(rng, op, [c.x, c.w, [c.w[1]]]);
  assert.equal(convKernels(names), [], context(`convTranspose2d 1×1: conv kernels launched: ${names.join(', ')}`));
  await checkOp({ name: 'convTranspose2d 1×1 as GEMM', inputs: [c.x, c.w, [c.w[1]]], forward: op, reference: ([x, w, b]) => ref.convTranspose2d(x, w, b), rng });
});

for (const epilogue of MATMUL_SUBGROUP_EPILOGUE) test(`the mfm forward runs as one GEMM with the bias + max-feature-map + mask epilogue (subgroup kernel, epilogue ${epilogue}), else its fused conv kernel; gradients as GEMMs`, async () => {
  gpu().policy.set({ matmul: 'subgroup', matmulSubgroupEpilogue: epilogue });
  // Aligned (Cin % 4 == 0, H·W % 4 == 0): the fused GEMM; 14 filters (7 pairs), 22 (past one 16-row block); H·W 35: the conv kernel.
  const cases = [
    { x: [2, 8, 6, 6], w: [14, 8, 1, 1], gemm: true },
    { x: [3, 12, 4, 5], w: [22, 12, 1, 1], gemm: true },
    { x: [2, 5, 5, 7], w: [10, 5, 1, 1], gemm: false },
    // H·W 20 (C_QUADS: every quad whole and aligned) with 4 row blocks of pairs; H·W 6 (the last quad of a row partial).
    { x: [3, 4, 4, 5], w: [40, 4, 1, 1], gemm: true },
    { x: [2, 8, 2, 3], w: [18, 8, 1, 1], gemm: false },
  ];
  for (const c of cases) {
    const op = ([x, w, b]: Tensor[]) => conv2dMfm(x, w, b);
    const names = await kernelsRun(rng, op, [c.x, c.w, [c.w[0]]]);
    const fused = c.gemm && subgroupMatmulRuns();
    const forward = fused ? names.includes('matmul.subgroupMfm') && convKernels(names).length === 0 : convPasses(names).length === 1 && convPasses(names)[0].startsWith('conv2dMfm.');
    assert.ok(forward, context(`mfm x [${c.x}] w [${c.w}]: expected ${fused ? 'matmul.subgroupMfm' : 'the fused conv2dMfm kernel'}, got ${names.join(', ')}`));
    assert.ok(names.filter((name) => name.startsWith('matmul.') && name !== 'matmul.subgroupMfm').length === 2, context(`mfm: expected the two gradients as matmuls, got ${names.join(', ')}`));
    await checkOp({ name: `conv2dMfm 1×1 x [${c.x}] w [${c.w}]`, inputs: [c.x, c.w, { shape: [c.w[0]], draw: draw.mfmSeparatingBias }], forward: op, reference: ([x, w, b]) => ref.mfm(ref.conv2d(x, w, b)), rng, fdStep: 1e-8 });
  }
});

test('the mfm GEMM propagates NaN as torch.maximum: the output is NaN and both halves take the gradient (against mfm(conv2d))', async () => {
  gpu().policy.set({ matmul: 'subgroup' });
  const s = { x: [2, 8, 4, 6], w: [12, 8, 1, 1] };
  const xs = [ref.randn(rng, s.x), ref.randn(rng, s.w, 0.3), ref.randn(rng, [s.w[0]])];
  xs[2].data[1] = NaN;  // channel 1's first half: NaN everywhere
  xs[0].data[rng.int(0, xs[0].data.length - 1)] = NaN;  // a NaN pixel reaching every channel there
  const g = ref.randn(rng, [s.x[0], s.w[0] / 2, s.x[2], s.x[3]]);
  const fused = await forwardAndGradients(([x, w, b]) => conv2dMfm(x, w, b), xs, g);
  const unfused = await gpu().policy.with({ convForward: 'direct', convInputGrad: 'direct', convWeightGrad: 'direct' }, () => forwardAndGradients(([x, w, b]) => F.mfm(conv2d(x, w, b)), xs, g));
  assert.ok(Array.from(unfused[0].data).some(Number.isNaN), 'the reference has NaN outputs');
  ['forward', 'input grad', 'weight grad', 'bias grad'].forEach((what, i) => ref.assertClose(fused[i], unfused[i], { rtol: 1e-3, atol: 1e-3, context: context(`mfm GEMM vs mfm(conv2d) ${what} with NaN`) }));
});

test('the mfm GEMM with float16 operands (computeDtype float16): its f16 build, against the reference on the float16-rounded inputs', async () => {
  gpu().policy.set({ matmul: 'subgroup' });
  const s = { x: [2, 8, 6, 6], w: [14, 8, 1, 1] };
  // The kernel rounds the float32 inputs it is given, so the reference rounds those too: float64 → float16
  // directly differs from float64 → float32 → float16 where the float32 rounding lands on a float16 tie.
  const half = (t: ReturnType<typeof ref.randn>) => ref.map(t, (v) => roundToHalf(Math.fround(v)));
  const [x, w, b] = [ref.randn(rng, s.x), ref.randn(rng, s.w, 0.3), ref.randn(rng, [s.w[0]])];
  const inputs = [x, w, b].map((t) => tensor(Float32Array.from(t.data), t.shape));
  let y: Tensor | undefined;
  const { timings } = await gpu().profile(() => {
    y = conv2dMfm(inputs[0], inputs[1], inputs[2], { computeDtype: 'float16' });
  });
  const names = timings.map((t) => t.name);
  // `.toHalf`: the float16 output stored by the kernel (policy halfStores 'epilogue').
  if (subgroupMatmulRuns()) assert.ok(names.some((name) => /^matmul\.subgroupMfm\.f16(\.toHalf)?$/.test(name)) && !names.some((name) => name.startsWith('conv')), context(`f16 mfm: kernels ${names.join(', ')}`));
  const expected = ref.mfm(ref.conv2d(half(x), half(w), b));
  // A float16 output (activations kept in float16 between layers) is the f32 result rounded once: within one float16 ulp.
  const float16 = y!.dtype === 'float16';
  assertNear(Float64Array.from(await y!.toArray()), float16 ? half(expected) : expected, `f16 mfm GEMM forward (${y!.dtype} output)`, float16 ? 1e-3 : 1e-4, 1e-5);
  for (const t of [...inputs, y!]) t.dispose();
});

test('convPointwise conv keeps the conv kernels; other geometries never take the GEMM path', async () => {
  const pointwise = await gpu().policy.with({ convPointwise: 'conv' }, () => kernelsRun(rng, ([x, w]) => conv2d(x, w), [[2, 8, 4, 6], [12, 8, 1, 1]]));
  assert.ok(!pointwise.some((name) => name.startsWith('matmul')) && convPasses(pointwise).length === 3, context(`convPointwise conv: ${pointwise.join(', ')}`));
  for (const [opts, what] of [[{ stride: 2 }, 'stride 2'], [{ padding: 1 }, 'padding 1']] as const) {
    const names = await kernelsRun(rng, ([x, w]) => conv2d(x, w, undefined, opts), [[2, 8, 6, 6], [12, 8, 1, 1]]);
    assert.ok(!names.some((name) => name.startsWith('matmul')), context(`1×1 ${what}: ${names.join(', ')}`));
  }
  const registerTiled = await gpu().policy.with({ convForward: 'registerTiled', convInputGrad: 'registerTiled', convWeightGrad: 'registerTiled' }, () => kernelsRun(rng, ([x, w]) => conv2d(x, w), [[2, 8, 4, 6], [12, 8, 1, 1]]));
  assert.ok(!registerTiled.some((name) => name.startsWith('matmul')), context(`registerTiled variant: ${registerTiled.join(', ')}`));
});

test("convPointwise subgroupGemm (the software default) takes the GEMM exactly where the subgroup matmul runs, else the conv kernels (SwiftShader's subgroups of 4: 0.92x with the GEMM)", async () => {
  assert.is(POLICY_DEFAULTS.software.convPointwise, 'subgroupGemm');
  const names = await gpu().policy.with({ convPointwise: 'subgroupGemm' }, () => kernelsRun(rng, ([x, w]) => conv2d(x, w), [[2, 8, 4, 6], [12, 8, 1, 1]]));
  const gemm = names.some((name) => name.startsWith('matmul'));
  assert.is(gemm, subgroupMatmulRuns(), context(`subgroupGemm on subgroups ${JSON.stringify(gpu().info.subgroupSizes)}: ${names.join(', ')}`));
  if (!gemm) assert.is(convPasses(names).length, 3, context(`the conv kernels run the three passes: ${names.join(', ')}`));
});

test('GEMM passes larger than a binding: products in blocks, the weight gradient in runs of images whose products fit', async () => {
  // x [5, 12, 6, 6] f32 is 1728 bytes an image, y / gy [5, 20, 6, 6] 2880; the weight gradient's products 960 bytes an
  // image. No bias: its gradient's reduction (src/nn) binds all of gy at once.
  gpu().setMaxBindingBytes(4096);
  const c = { x: [5, 12, 6, 6], w: [20, 12, 1, 1] };
  for (const matmul of ['subgroup', 'registerTiled'] as const) {
    gpu().policy.set({ matmul });
    const names = await kernelsRun(rng, ([x, w]) => conv2d(x, w), [c.x, c.w]);
    assert.ok(names.filter((name) => name.startsWith('matmul.')).length > 3, context(`chunked (${matmul}): expected more than one launch per pass, got ${names.join(', ')}`));
    assert.equal(convKernels(names), [], context(`chunked (${matmul}): ${names.join(', ')}`));
    await checkOp({ name: `chunked 1×1 GEMM (${matmul})`, inputs: [c.x, c.w], forward: ([x, w]) => conv2d(x, w), reference: ([x, w]) => ref.conv2d(x, w), rng });
  }
});

for (const layout of POINTWISE_WEIGHT_GRAD_LAYOUT) test(`the weight gradient's GEMMs under pointwiseWeightGradLayout ${layout}: transposed (input channels as rows, copied back) where that pads the subgroup matmul less, against the reference and finite differences`, async () => {
  gpu().policy.set({ matmul: 'subgroup', pointwiseWeightGradLayout: layout });
  // 12 → 40 channels: 16-row blocks x 32-column subgroups pad 1024 outputs transposed, 1536 not; 40 → 12 the other way;
  // H·W 20 reads in place, H·W 21 on packed copies.
  const cases = [
    { x: [3, 12, 4, 5], w: [40, 12, 1, 1], transposed: true },
    { x: [2, 10, 3, 7], w: [36, 10, 1, 1], transposed: true },
    { x: [2, 40, 4, 5], w: [12, 40, 1, 1], transposed: false },
  ];
  for (const c of cases) {
    const names = await kernelsRun(rng, ([x, w, b]) => conv2d(x, w, b), [c.x, c.w, [c.w[0]]]);
    const transposed = layout === 'fitted' && c.transposed && subgroupMatmulRuns();
    assert.is(names.includes('strided_copy'), transposed, context(`${describe({ ...c, bias: true })} (${layout}): expected ${transposed ? 'the transposed sum copied back' : 'no copy'}, got ${names.join(', ')}`));
    await checkCase({ ...c, bias: true }, `weight gradient layout ${layout}`);
  }
});

/** A random f32 buffer of `count` values and their float64 copy. */
function upload(count: number): { buffer: GPUBuffer; values: Float64Array } {
  const data = Float32Array.from(ref.randn(rng, [count]).data);
  const buffer = alloc(count);
  gpu().upload(buffer, data);
  return { buffer, values: Float64Array.from(data) };
}

for (const [epilogue, tiles] of [['perRow', 'fitted'], ['perElement', 'fitted'], ['perRow', 'halved']] as const) test(`subgroup matmul (epilogue ${epilogue}, tiles ${tiles}) stores C by vec4 where whole and aligned, by component elsewhere: tiny C, odd N, K split into accumulating launches, bias along rows and columns, relu, 3 column subgroups`, async () => {
  gpu().policy.set({ matmul: 'subgroup', matmulSubgroupEpilogue: epilogue, matmulSubgroupTiles: tiles });
  // B transposed ([N, K] per batch, read along k) lets odd N run in place; N % 4 == 0 cases read B along n (every row's
  // quads whole and aligned: the launcher's C_QUADS, stored without the per-quad test).
  const cases: { batch: number; M: number; N: number; K: number; along: BiasAlong; relu?: boolean; limit?: number }[] = [
    { batch: 1, M: 1, N: 5, K: 8, along: 'cols' },
    { batch: 2, M: 3, N: 6, K: 4, along: 'rows', relu: true },
    { batch: 3, M: 17, N: 13, K: 12, along: 'rows' },
    { batch: 2, M: 18, N: 24, K: 20, along: 'cols' },
    { batch: 3, M: 21, N: 36, K: 12, along: 'rows', relu: true },
    { batch: 2, M: 35, N: 8, K: 16, along: 'cols', relu: true },
    { batch: 2, M: 40, N: 96, K: 8, along: 'rows' },
    { batch: 1, M: 20, N: 9, K: 256, along: 'cols', limit: 4096 },
    { batch: 2, M: 18, N: 24, K: 200, along: 'rows', relu: true, limit: 4096 },
  ];
  for (const c of cases) {
    const transposed = c.N % 4 !== 0;
    const what = `${epilogue}, ${tiles}: batch ${c.batch} ${c.M}x${c.K} @ ${c.K}x${c.N}${transposed ? ' (B transposed)' : ''}, bias along ${c.along}${c.relu ? ', relu' : ''}${c.limit ? `, bindings of ${c.limit} bytes` : ''}`;
    const [a, b, bias] = [upload(c.batch * c.M * c.K), upload(c.batch * c.K * c.N), upload(c.along === 'rows' ? c.M : c.N)];
    const bOperand = { buffer: b.buffer, batchStride: c.K * c.N, rowStride: transposed ? 1 : c.N, colStride: transposed ? c.K : 1 };
    const activation = c.relu ? 'relu' : 'none';
    const run = () => matmulKernel({ buffer: a.buffer, batchStride: c.M * c.K, rowStride: c.K, colStride: 1 }, bOperand, c.batch, c.M, c.N, c.K, bias.buffer, c.relu ? ACTIVATIONS.relu : 'v', activation, c.along);
    if (c.limit) gpu().setMaxBindingBytes(c.limit);
    const { timings } = await gpu().profile(() => gpu().pool.release(run()));
    const launches = timings.filter((t) => t.name.replace(/#\d+$/, '') === `matmul.subgroup.${activation}`).reduce((sum, t) => sum + t.calls, 0);
    if (subgroupMatmulRuns()) assert.ok(c.limit ? launches > 1 : launches === 1, context(`${what}: ${launches} subgroup launches`));
    const product = run();
    const got = new Float32Array(await gpu().read(product, c.batch * c.M * c.N * 4));
    gpu().setMaxBindingBytes(undefined);
    const expected = ref.zeros([c.batch, c.M, c.N]);
    for (let n = 0; n < c.batch; n++)
      for (let m = 0; m < c.M; m++)
        for (let j = 0; j < c.N; j++) {
          let sum = bias.values[c.along === 'rows' ? m : j];
          for (let k = 0; k < c.K; k++) sum += a.values[(n * c.M + m) * c.K + k] * b.values[n * c.K * c.N + (transposed ? j * c.K + k : k * c.N + j)];
          expected.data[(n * c.M + m) * c.N + j] = c.relu ? Math.max(sum, 0) : sum;
        }
    assertNear(got, expected, what);
    for (const buffer of [a.buffer, b.buffer, bias.buffer, product]) gpu().pool.release(buffer);
  }
});

for (const layout of POINTWISE_FORWARD_LAYOUT) test(`the forward under pointwiseForwardLayout ${layout}: xᵀ·Wᵀ stored along the pixels (pixelRows, where H·W % 16 == 0 and Cin % 4 == 0), else W·x; against the reference and finite differences`, async () => {
  gpu().policy.set({ matmul: 'subgroup', pointwiseForwardLayout: layout });
  // Odd output channels (columns past N clamped), 1-3 column subgroups, 1-4 row blocks of 16 pixels, batches; H·W 25 and
  // Cin 5 (not in a vec4 layout) take W·x.
  const cases = [
    { x: [3, 12, 4, 8], w: [13, 12, 1, 1], bias: true, columnsOut: true },
    { x: [2, 8, 8, 8], w: [40, 8, 1, 1], bias: true, columnsOut: true },
    { x: [3, 4, 4, 4], w: [6, 4, 1, 1], bias: false, columnsOut: true },
    { x: [2, 16, 4, 12], w: [71, 16, 1, 1], bias: true, columnsOut: true },
    { x: [2, 12, 5, 5], w: [7, 12, 1, 1], bias: true, columnsOut: false },
    { x: [2, 5, 4, 4], w: [9, 5, 1, 1], bias: true, columnsOut: false },
  ];
  for (const c of cases) {
    const names = await kernelsRun(rng, ([x, w, b]) => conv2d(x, w, b), c.bias ? [c.x, c.w, [c.w[0]]] : [c.x, c.w]);
    const columnsOut = layout === 'pixelRows' && c.columnsOut && subgroupMatmulRuns();
    assert.is(names.some((name) => COLUMNS_OUT.test(name)), columnsOut, context(`${describe(c)} (${layout}): expected ${columnsOut ? 'matmul.subgroupColumnsOut' : 'W·x'}, got ${names.join(', ')}`));
    await checkCase(c, `forward layout ${layout}`);
  }
  // fitted: pixelRows from 1024 pixels a plane (the forward alone against the reference: finite differences on a 32² plane
  // would take minutes), W·x below.
  const fittedCases: [{ x: number[]; w: number[] }, boolean][] = [[{ x: [2, 4, 32, 32], w: [6, 4, 1, 1] }, true], [{ x: [2, 4, 16, 16], w: [6, 4, 1, 1] }, false]];
  for (const [c, large] of fittedCases) {
    const xs = [ref.randn(rng, c.x), ref.randn(rng, c.w, 0.3), ref.randn(rng, [c.w[0]])];
    const inputs = xs.map((t) => tensor(Float32Array.from(t.data), t.shape));
    let y: Tensor | undefined;
    const { timings } = await gpu().profile(() => {
      y = conv2d(inputs[0], inputs[1], inputs[2]);
    });
    const columnsOut = subgroupMatmulRuns() && (layout === 'pixelRows' || (layout === 'fitted' && large));
    assert.is(timings.some((t) => COLUMNS_OUT.test(t.name)), columnsOut, context(`x [${c.x}] (${layout}): ${timings.map((t) => t.name).join(', ')}`));
    assertNear(Float64Array.from(await y!.toArray()), ref.conv2d(xs[0], xs[1], xs[2]), `x [${c.x}] w [${c.w}] (${layout})`, 1e-4, 1e-5);
    for (const t of [...inputs, y!]) t.dispose();
  }
  // The mfm forward: filter pairs along the columns (7 pairs: the last quad half past N; 20 pairs over 2 column subgroups).
  const mfmCases = [
    { x: [2, 8, 4, 4], w: [14, 8, 1, 1], columnsOut: true },
    { x: [3, 12, 4, 8], w: [40, 12, 1, 1], columnsOut: true },
    { x: [2, 8, 6, 6], w: [10, 8, 1, 1], columnsOut: false },
  ];
  for (const c of mfmCases) {
    const op = ([x, w, b]: Tensor[]) => conv2dMfm(x, w, b);
    const names = await kernelsRun(rng, op, [c.x, c.w, [c.w[0]]]);
    const columnsOut = layout === 'pixelRows' && c.columnsOut && subgroupMatmulRuns();
    assert.is(names.some((name) => MFM_COLUMNS_OUT.test(name)), columnsOut, context(`mfm x [${c.x}] w [${c.w}] (${layout}): got ${names.join(', ')}`));
    await checkOp({ name: `conv2dMfm 1×1 ${layout} x [${c.x}] w [${c.w}]`, inputs: [c.x, c.w, { shape: [c.w[0]], draw: draw.mfmSeparatingBias }], forward: op, reference: ([x, w, b]) => ref.mfm(ref.conv2d(x, w, b)), rng, fdStep: 1e-8 });
  }
});

test('the pixelRows mfm GEMM propagates NaN as torch.maximum (against mfm(conv2d))', async () => {
  gpu().policy.set({ matmul: 'subgroup', pointwiseForwardLayout: 'pixelRows' });
  const s = { x: [2, 8, 4, 8], w: [12, 8, 1, 1] };
  const xs = [ref.randn(rng, s.x), ref.randn(rng, s.w, 0.3), ref.randn(rng, [s.w[0]])];
  xs[2].data[1] = NaN;
  xs[0].data[rng.int(0, xs[0].data.length - 1)] = NaN;
  const g = ref.randn(rng, [s.x[0], s.w[0] / 2, s.x[2], s.x[3]]);
  const fused = await forwardAndGradients(([x, w, b]) => conv2dMfm(x, w, b), xs, g);
  const unfused = await gpu().policy.with({ convForward: 'direct', convInputGrad: 'direct', convWeightGrad: 'direct' }, () => forwardAndGradients(([x, w, b]) => F.mfm(conv2d(x, w, b)), xs, g));
  assert.ok(Array.from(unfused[0].data).some(Number.isNaN), 'the reference has NaN outputs');
  ['forward', 'input grad', 'weight grad', 'bias grad'].forEach((what, i) => ref.assertClose(fused[i], unfused[i], { rtol: 1e-3, atol: 1e-3, context: context(`pixelRows mfm GEMM vs mfm(conv2d) ${what} with NaN`) }));
});

for (const source of COLUMNS_OUT_B) test(`matmulColumnsOut (columnsOutB ${source}): C stored [batch, N, M] (bias along columns and rows, odd N, A along m or k, B along n or k, B's workgroup copy over 1-3 workgroups of columns or past the workgroup storage), undefined where it cannot run`, async () => {
  gpu().policy.set({ matmul: 'subgroup', columnsOutB: source });
  // Past the workgroup storage: 8 lanes of 4 columns (N <= 32, one block of 16 rows) over a K whose copy needs 16 bytes more.
  const pastStorage = Math.ceil((gpu().device.limits.maxComputeWorkgroupStorageSize / 16 / 8 + 1) / 4) * 4;
  const cases: { batch: number; M: number; N: number; K: number; along: BiasAlong; aAlongM: boolean; bAlongK: boolean }[] = [
    { batch: 3, M: 32, N: 13, K: 12, along: 'cols', aAlongM: true, bAlongK: true },
    { batch: 2, M: 16, N: 36, K: 8, along: 'rows', aAlongM: false, bAlongK: false },
    { batch: 1, M: 48, N: 5, K: 20, along: 'rows', aAlongM: true, bAlongK: true },
    { batch: 2, M: 64, N: 40, K: 4, along: 'cols', aAlongM: false, bAlongK: true },
    { batch: 2, M: 32, N: 74, K: 28, along: 'cols', aAlongM: true, bAlongK: true },
    { batch: 1, M: 16, N: 6, K: pastStorage, along: 'cols', aAlongM: true, bAlongK: true },
  ];
  for (const c of cases) {
    const what = `batch ${c.batch} ${c.M}x${c.K} @ ${c.K}x${c.N}, A along ${c.aAlongM ? 'm' : 'k'}, B along ${c.bAlongK ? 'k' : 'n'}, bias along ${c.along} (${source})`;
    const [a, b, bias] = [upload(c.batch * c.M * c.K), upload(c.batch * c.K * c.N), upload(c.along === 'rows' ? c.M : c.N)];
    const aAt = (n: number, m: number, k: number) => n * c.M * c.K + (c.aAlongM ? k * c.M + m : m * c.K + k);
    const bAt = (n: number, k: number, j: number) => n * c.K * c.N + (c.bAlongK ? j * c.K + k : k * c.N + j);
    const aOperand = { buffer: a.buffer, batchStride: c.M * c.K, rowStride: c.aAlongM ? 1 : c.K, colStride: c.aAlongM ? c.M : 1 };
    const bOperand = { buffer: b.buffer, batchStride: c.K * c.N, rowStride: c.bAlongK ? 1 : c.N, colStride: c.bAlongK ? c.K : 1 };
    let product: GPUBuffer | undefined;
    const { timings } = await gpu().profile(() => {
      product = matmulColumnsOut(aOperand, bOperand, c.batch, c.M, c.N, c.K, bias.buffer, c.along);
    });
    if (!subgroupMatmulRuns()) {
      assert.is(product, undefined, context(`${what}: runs only where subgroups are 8 wide`));
      continue;
    }
    assert.ok(product, context(`${what}: expected one launch`));
    const sharedB = source === 'workgroup' && c.bAlongK && c.K !== pastStorage;
    assert.equal(timings.map((t) => t.name), [sharedB ? 'matmul.subgroupColumnsOutSharedB.none' : 'matmul.subgroupColumnsOut.none'], context(what));
    const got = new Float32Array(await gpu().read(product!, c.batch * c.M * c.N * 4));
    const expected = ref.zeros([c.batch, c.N, c.M]);
    for (let n = 0; n < c.batch; n++)
      for (let m = 0; m < c.M; m++)
        for (let j = 0; j < c.N; j++) {
          let sum = bias.values[c.along === 'rows' ? m : j];
          for (let k = 0; k < c.K; k++) sum += a.values[aAt(n, m, k)] * b.values[bAt(n, k, j)];
          expected.data[(n * c.N + j) * c.M + m] = sum;
        }
    assertNear(got, expected, what);
    for (const buffer of [a.buffer, b.buffer, bias.buffer, product!]) gpu().pool.release(buffer);
  }
  // M % 16 != 0, K % 4 != 0, or another matmul variant: the caller's path.
  const [a, b] = [upload(2 * 20 * 8), upload(2 * 8 * 8)];
  const operand = (buffer: GPUBuffer, rows: number, cols: number) => ({ buffer, batchStride: rows * cols, rowStride: cols, colStride: 1 });
  assert.is(matmulColumnsOut(operand(a.buffer, 20, 8), operand(b.buffer, 8, 8), 2, 20, 8, 8, undefined), undefined, 'M = 20');
  assert.is(matmulColumnsOut(operand(a.buffer, 16, 6), operand(b.buffer, 6, 8), 2, 16, 8, 6, undefined), undefined, 'K = 6');
  assert.is(await gpu().policy.with({ matmul: 'registerTiled' }, async () => matmulColumnsOut(operand(a.buffer, 16, 8), operand(b.buffer, 8, 8), 2, 16, 8, 8, undefined)), undefined, 'matmul registerTiled');
  for (const buffer of [a.buffer, b.buffer]) gpu().pool.release(buffer);
});

for (const source of COLUMNS_OUT_B) test(`the pixelRows forward and mfm forward with B from ${source} (columnsOutB): against the reference on odd output channels, 1-3 column subgroups, 2-4 row blocks, batches`, async () => {
  gpu().policy.set({ matmul: 'subgroup', pointwiseForwardLayout: 'pixelRows', columnsOutB: source });
  const cases = [
    { x: [2, 12, 4, 8], w: [13, 12, 1, 1], mfm: false },
    { x: [3, 8, 8, 8], w: [74, 8, 1, 1], mfm: false },
    { x: [2, 8, 4, 4], w: [14, 8, 1, 1], mfm: true },
    { x: [3, 12, 4, 8], w: [40, 12, 1, 1], mfm: true },
  ];
  for (const c of cases) {
    const xs = [ref.randn(rng, c.x), ref.randn(rng, c.w, 0.3), ref.randn(rng, [c.w[0]])];
    const inputs = xs.map((t) => tensor(Float32Array.from(t.data), t.shape));
    let y: Tensor | undefined;
    const { timings } = await gpu().profile(() => {
      y = (c.mfm ? conv2dMfm : conv2d)(inputs[0], inputs[1], inputs[2]);
    });
    const what = `${c.mfm ? 'mfm ' : ''}x [${c.x}] w [${c.w}] (${source})`;
    if (subgroupMatmulRuns()) {
      const kernelName = `matmul.subgroup${c.mfm ? 'Mfm' : ''}ColumnsOut${source === 'workgroup' ? 'SharedB' : ''}${c.mfm ? '' : '.none'}`;
      assert.ok(timings.some((t) => t.name === kernelName), context(`${what}: expected ${kernelName}, got ${timings.map((t) => t.name).join(', ')}`));
    }
    const product = ref.conv2d(xs[0], xs[1], xs[2]);
    assertNear(Float64Array.from(await y!.toArray()), c.mfm ? ref.mfm(product) : product, what, 1e-4, 1e-5);
    for (const t of [...inputs, y!]) t.dispose();
  }
});

for (const mfm of [false, true]) test(`the pixelRows ${mfm ? 'mfm ' : ''}forward with float16 operands (computeDtype float16): its f16 build, against the reference on the float16-rounded inputs`, async () => {
  gpu().policy.set({ matmul: 'subgroup', pointwiseForwardLayout: 'pixelRows' });
  const s = { x: [2, 8, 4, 8], w: [14, 8, 1, 1] };
  // The kernel rounds the float32 inputs it is given, so the reference rounds those too: float64 → float16
  // directly differs from float64 → float32 → float16 where the float32 rounding lands on a float16 tie.
  const half = (t: ReturnType<typeof ref.randn>) => ref.map(t, (v) => roundToHalf(Math.fround(v)));
  const [x, w, b] = [ref.randn(rng, s.x), ref.randn(rng, s.w, 0.3), ref.randn(rng, [s.w[0]])];
  const inputs = [x, w, b].map((t) => tensor(Float32Array.from(t.data), t.shape));
  let y: Tensor | undefined;
  const { timings } = await gpu().profile(() => {
    y = (mfm ? conv2dMfm : conv2d)(inputs[0], inputs[1], inputs[2], { computeDtype: 'float16' });
  });
  const names = timings.map((t) => t.name);
  const kernelName = mfm ? /^matmul\.subgroupMfmColumnsOut(SharedB)?\.f16(\.toHalf)?$/ : /^matmul\.subgroupColumnsOut(SharedB)?\.none\.f16(\.toHalf)?$/;
  if (subgroupMatmulRuns()) assert.ok(names.some((name) => kernelName.test(name)), context(`f16 pixelRows forward: kernels ${names.join(', ')}`));
  const product = ref.conv2d(half(x), half(w), b);
  const expected = mfm ? ref.mfm(product) : product;
  const float16 = y!.dtype === 'float16';
  assertNear(Float64Array.from(await y!.toArray()), float16 ? half(expected) : expected, `f16 pixelRows ${mfm ? 'mfm ' : ''}forward (${y!.dtype} output)`, float16 ? 1e-3 : 1e-4, 1e-5);
  for (const t of [...inputs, y!]) t.dispose();
});

test.run();
