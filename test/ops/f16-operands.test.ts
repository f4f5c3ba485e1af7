// Half-precision (f16) operands for the GEMM-shaped kernels, called through their launchers:
// matmul (every transpose layout through strides, batches, broadcast, bias, activation, offsets;
// registerTiled, workgroupTiled, registerTiledVec4, subgroup in place and on packed copies),
// conv2dForward / conv2dTranspose / conv2dWeightGrad (odd sizes, stride, padding, dilation,
// non-square, batches, bias; direct, registerTiled, workgroupTiled, and the packed policy's every
// kernel: vec4, subgroup, packed, phase, weight-gradient subgroup, Cout = 1, each entry point asserted by its
// `.f16` name), and chunked launches under a lowered binding limit. Inputs are random f16 values (encoded by
// test/reference/half.ts, not by the code under test); the float64 reference runs on the decoded
// values, and each output must lie within 1e-5 of the sum of its terms' magnitudes (f16 products are
// exact in f32, so only the f32 accumulation rounds). Elements around an operand inside its buffer
// hold NaN, so a kernel that reads the wrong element or half shows it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { gpu } from '../../src/gpu/index.js';
import { CONV_SUBGROUP_PADDING_ROWS, WINDOW_WEIGHT_GRAD_ROWS, type KernelChoices } from '../../src/gpu/policy.js';
import { matmul, type MatrixOperand } from '../../src/kernels/matmul.js';
import { conv2dForward, conv2dTranspose, conv2dWeightGrad, subgroupsOfEight, type ConvGeometry, type ConvVariant } from '../../src/kernels/conv.js';
import { subgroupMatmulRuns } from '../../src/kernels/matmul.js';
import { alloc, kernel } from '../../src/kernels/launch.js';
import { shaderSources } from '../../src/shaders.generated.js';
import { ACTIVATIONS } from '../../src/nn/functional/linalg.js';
import { floatToHalf, halfToFloat } from '../reference/half.js';
import { context, fileRng, ref, setup, throwsWith, type Rng, type T64 } from './helpers.js';

const rng = fileRng('f16-operands');
const HALF_NAN = 0x7e00;
const GENERIC_VARIANTS = ['direct', 'registerTiled', 'workgroupTiled'] as const;

test.before(setup);
test.after.each(() => {
  gpu().setMaxBindingBytes(undefined);
  gpu().policy.reset();
});

const randint = (r: Rng, lo: number, hi: number) => ref.randint(r, [1], lo, hi).data[0];
const odd = (r: Rng, lo: number, hi: number) => 2 * randint(r, lo, hi) + 1;

/** An f16 buffer: `count` random values (normal, times scale) from element `offset`, NaN elsewhere; `values` are the decoded elements of the whole buffer. */
interface Half {
  buffer: GPUBuffer;
  values: Float64Array;
}

function uploadHalf(count: number, offset = 0, scale = 1): Half {
  const length = offset + count;
  const words = new Uint16Array(Math.max(2, length + (length % 2))).fill(HALF_NAN);
  const random = ref.randn(rng, [count], scale).data;
  for (let i = 0; i < count; i++) words[offset + i] = floatToHalf(random[i]);
  const buffer = alloc(length, 'f16');
  gpu().upload(buffer, words);
  return { buffer, values: Float64Array.from(words, halfToFloat) };
}

function uploadF32(count: number): { buffer: GPUBuffer; values: Float64Array } {
  const data = Float32Array.from(ref.randn(rng, [count]).data);
  const buffer = alloc(count);
  gpu().upload(buffer, data);
  return { buffer, values: Float64Array.from(data) };
}

async function readF32(buffer: GPUBuffer, count: number): Promise<Float32Array> {
  return new Float32Array(await gpu().read(buffer, count * 4));
}

/** Each output within 1e-5 of the sum of its terms' magnitudes (which include the bias) of the float64 result. */
function assertWithinAccumulation(actual: Float32Array, expected: T64, magnitude: T64, what: string): void {
  assert.is(actual.length, expected.data.length, context(`${what}: output length`));
  const failures: string[] = [];
  for (let i = 0; i < actual.length; i++) {
    const error = Math.abs(actual[i] - expected.data[i]);
    if (!(error <= 1e-5 * magnitude.data[i])) failures.push(`[${i}] got ${actual[i]}, expected ${expected.data[i]} (terms' magnitude ${magnitude.data[i]})`);
  }
  assert.ok(failures.length === 0, context(`${what}: ${failures.length} of ${actual.length} outputs off: ${failures.slice(0, 4).join('; ')}`));
}

/** The kernels fn launched, once per launch. */
async function kernelsLaunched(fn: () => void): Promise<string[]> {
  const { timings } = await gpu().profile(fn);
  return timings.flatMap((t) => Array<string>(t.calls).fill(t.name));
}

/**
 * The float16 output path (launcher output 'f16', policy halfStores 'epilogue'): `launch` must store, bit for bit, the
 * f32 result `f32` (the same kernel's, checked against float64) rounded by test/reference/half.ts's encoder, from the
 * kernels' `.toHalf` builds and without a cast pass unless `castAllowed` (a launch whose kernel cannot store float16).
 * Returns the kernels launched.
 */
async function checkHalfStores(what: string, f32: Float32Array, launch: () => GPUBuffer, castAllowed = false): Promise<string[]> {
  let out: GPUBuffer | undefined;
  const names = await gpu().policy.with({ halfStores: 'epilogue' }, () => kernelsLaunched(() => (out = launch())));
  const words = new Uint16Array(await gpu().read(out!, Math.ceil(f32.length / 2) * 4), 0, f32.length);
  const failures: string[] = [];
  for (let i = 0; i < f32.length; i++) {
    const expected = floatToHalf(f32[i]);
    if (words[i] !== expected) failures.push(`[${i}] stored 0x${words[i].toString(16)}, expected 0x${expected.toString(16)} (${f32[i]} rounded)`);
  }
  assert.ok(failures.length === 0, context(`${what}, float16 output: ${failures.length} of ${f32.length} off: ${failures.slice(0, 4).join('; ')}`));
  if (!castAllowed) assert.ok(!names.includes('cast.toHalf') && names.some((name) => name.endsWith('.toHalf')), context(`${what}, float16 output: kernels ${[...new Set(names)]}, expected .toHalf builds and no cast`));
  release(out);
  return names;
}

function release(...buffers: (GPUBuffer | undefined)[]): void {
  for (const b of buffers) if (b) gpu().pool.release(b);
}

// ---------------------------------------------------------------------------------------------
// matmul

interface MatmulCase {
  batch: number;
  M: number;
  N: number;
  K: number;
  /** A stored as [batch, K, M] (read transposed), B as [batch, N, K]. */
  transA: boolean;
  transB: boolean;
  offsetA: number;
  offsetB: number;
  /** B shared by every batch (batch stride 0). */
  broadcastB?: boolean;
  bias: boolean;
}

function describe(c: MatmulCase): string {
  return `${c.batch}x${c.M}x${c.N}x${c.K} A${c.transA ? 'ᵀ' : ''}+${c.offsetA} B${c.transB ? 'ᵀ' : ''}+${c.offsetB}${c.broadcastB ? ' broadcast' : ''}${c.bias ? ' bias' : ''}`;
}

/** Runs one f16 matmul case and checks it against float64; returns the kernels it launched. */
async function checkMatmul(c: MatmulCase, activation: { wgsl: string; name: string; f: (v: number) => number } = { wgsl: 'v', name: 'none', f: (v) => v }, castAllowed = false): Promise<string[]> {
  const { batch, M, N, K } = c;
  const bBatches = c.broadcastB ? 1 : batch;
  const a = uploadHalf(batch * M * K, c.offsetA);
  const b = uploadHalf(bBatches * K * N, c.offsetB);
  const bias = c.bias ? uploadF32(N) : undefined;
  const A: MatrixOperand = { buffer: a.buffer, batchStride: M * K, rowStride: c.transA ? 1 : K, colStride: c.transA ? M : 1, offset: c.offsetA, type: 'f16' };
  const B: MatrixOperand = { buffer: b.buffer, batchStride: c.broadcastB ? 0 : K * N, rowStride: c.transB ? 1 : N, colStride: c.transB ? K : 1, offset: c.offsetB, type: 'f16' };
  let out: GPUBuffer | undefined;
  const names = await kernelsLaunched(() => {
    out = matmul(A, B, batch, M, N, K, bias?.buffer, activation.wgsl, activation.name);
  });
  const expected = ref.zeros([batch, M, N]);
  const magnitude = ref.zeros([batch, M, N]);
  for (let p = 0; p < batch; p++)
    for (let m = 0; m < M; m++)
      for (let n = 0; n < N; n++) {
        let sum = bias ? bias.values[n] : 0;
        let abs = bias ? Math.abs(bias.values[n]) : 0;
        for (let k = 0; k < K; k++) {
          const term = a.values[A.offset! + p * A.batchStride + m * A.rowStride + k * A.colStride] * b.values[B.offset! + p * B.batchStride + k * B.rowStride + n * B.colStride];
          sum += term;
          abs += Math.abs(term);
        }
        expected.data[(p * M + m) * N + n] = activation.f(sum);
        magnitude.data[(p * M + m) * N + n] = abs;
      }
  const f32 = await readF32(out!, batch * M * N);
  assertWithinAccumulation(f32, expected, magnitude, `f16 matmul ${describe(c)}`);
  await checkHalfStores(`f16 matmul ${describe(c)}`, f32, () => matmul(A, B, batch, M, N, K, bias?.buffer, activation.wgsl, activation.name, 'cols', 'f16'), castAllowed);
  release(a.buffer, b.buffer, bias?.buffer, out);
  return names;
}

function randomMatmul(transA: boolean, transB: boolean): MatmulCase {
  return {
    batch: randint(rng, 1, 3),
    M: odd(rng, 0, 33),
    N: odd(rng, 0, 33),
    K: odd(rng, 0, 40),
    transA,
    transB,
    offsetA: odd(rng, 0, 20),
    offsetB: randint(rng, 0, 1) ? odd(rng, 0, 20) : 0,
    bias: randint(rng, 0, 1) === 1,
  };
}

for (const variant of ['registerTiled', 'workgroupTiled'] as const) {
  test(`f16 matmul under ${variant}: all four transpose layouts, batches, odd sizes, odd offsets, bias`, async () => {
    await gpu().policy.with({ matmul: variant }, async () => {
      for (const transA of [false, true])
        for (const transB of [false, true]) {
          const c = randomMatmul(transA, transB);
          const names = await checkMatmul(c);
          assert.equal([...new Set(names)], [`matmul.${variant}.none.f16`], context(`${describe(c)}: kernels launched`));
        }
      // A fixed case with every size odd and above one 64 x 64 tile, B broadcast over the batch.
      await checkMatmul({ batch: 2, M: 67, N: 71, K: 37, transA: true, transB: false, offsetA: 5, offsetB: 3, broadcastB: true, bias: true });
    });
  });
}

/** The kernel the vec4-readable f16 products run under a policy variant ('packed' takes the vec4 path on f16). */
const vec4Kernel = (variant: 'registerTiledVec4' | 'packed' | 'subgroup', activation: string) =>
  variant === 'subgroup' && subgroupMatmulRuns() ? `matmul.subgroup.${activation}.f16` : `matmul.registerTiledVec4.${activation}.f16`;

/** A product vec4 can read: K and the offsets multiples of 4, and M (N) too where A (B) is read along them (transposed). */
function randomVec4Matmul(transA: boolean, transB: boolean): MatmulCase {
  const quads = (lo: number, hi: number) => 4 * randint(rng, lo, hi);
  return {
    batch: randint(rng, 1, 3),
    M: transA ? quads(1, 9) : odd(rng, 0, 20),
    N: transB ? odd(rng, 0, 20) : quads(1, 9),
    K: quads(1, 10),
    transA,
    transB,
    offsetA: quads(0, 5),
    offsetB: quads(0, 5),
    bias: randint(rng, 0, 1) === 1,
  };
}

for (const variant of ['registerTiledVec4', 'subgroup', 'packed'] as const) {
  test(`f16 matmul under ${variant}: the vec4-read kernel's f16 build in all four layouts (A and B along K or along M / N), batches, offsets, a fused activation`, async () => {
    // The library's relu expression, so that the kernel is the one F.linear(..., 'relu') compiles, under the same name.
    const relu = { wgsl: ACTIVATIONS.relu, name: 'relu', f: (v: number) => Math.max(v, 0) };
    await gpu().policy.with({ matmul: variant }, async () => {
      for (const transA of [false, true])
        for (const transB of [false, true]) {
          const c = randomVec4Matmul(transA, transB);
          const names = await checkMatmul(c, relu);
          assert.equal([...new Set(names)], [vec4Kernel(variant, 'relu')], context(`policy ${variant} ${describe(c)}: kernels launched`));
        }
      // K % 4 != 0: the vec4 kernels cannot read it; a product this small runs registerTiled even under subgroup.
      const names = await checkMatmul({ batch: 1, M: 9, N: 7, K: 13, transA: false, transB: false, offsetA: 1, offsetB: 0, bias: true }, relu);
      assert.equal([...new Set(names)], ['matmul.registerTiled.relu.f16'], context(`policy ${variant} K 13: kernels launched`));
    });
  });
}

test('f16 matmul under subgroup where vec4 cannot read: both operands packed into f32 copies by the f16 pack kernel, the f32 subgroup kernel on them', async () => {
  await gpu().policy.with({ matmul: 'subgroup' }, async () => {
    // K % 4 != 0 (odd offsets); then K % 4 == 0 with only A misaligned: B, row-major with aligned offset and
    // stride, is what the f32 path reads in place (packed here, or an f16 B would meet the f32 kernel).
    const cases: MatmulCase[] = [
      { batch: 2, M: 67, N: 65, K: 63, transA: true, transB: false, offsetA: 3, offsetB: 5, bias: true },
      { batch: 1, M: 64, N: 72, K: 68, transA: false, transB: false, offsetA: 1, offsetB: 8, bias: false },
    ];
    for (const c of cases) {
      const names = await checkMatmul(c);
      const expected = subgroupMatmulRuns() ? ['matmul.subgroup.none', 'matmul_pack.A.f16', 'matmul_pack.B.f16'] : ['matmul.registerTiled.none.f16'];
      assert.equal([...new Set(names)].sort(), expected.sort(), context(`${describe(c)}: kernels launched`));
    }
  });
});

test('f16 matmul: odd element counts at odd offsets (a matrix-vector product, a 1 x 1 x 1 product)', async () => {
  await checkMatmul({ batch: 1, M: 3, N: 1, K: 5, transA: false, transB: false, offsetA: 7, offsetB: 3, bias: true });
  await checkMatmul({ batch: 1, M: 1, N: 1, K: 1, transA: false, transB: true, offsetA: 1, offsetB: 0, bias: false });
  await checkMatmul({ batch: 3, M: 1, N: 5, K: 3, transA: true, transB: true, offsetA: 9, offsetB: 11, bias: false });
});

test('f16 matmul: operands of different types are refused in one clear line', () => {
  const a = uploadHalf(12);
  const b = alloc(12);
  const A: MatrixOperand = { buffer: a.buffer, batchStride: 12, rowStride: 4, colStride: 1, type: 'f16' };
  const B: MatrixOperand = { buffer: b, batchStride: 12, rowStride: 3, colStride: 1 };
  throwsWith(() => matmul(A, B, 1, 3, 3, 4), /^matmul: A is f16 and B is f32; both operands must have the same type/, 'f16 @ f32');
  throwsWith(() => matmul({ ...B, rowStride: 4, type: 'f32' }, { ...A, rowStride: 3 }, 1, 3, 3, 4), /^matmul: A is f32 and B is f16; both operands must have the same type/, 'f32 @ f16');
  release(a.buffer, b);
});

test('kernel(): f16 builds rewrite the Operand alias and suffix the name; f32 builds are untouched; a file without the alias is refused', () => {
  const f32 = kernel('conv2d', { name: 'conv2d.direct', entryPoint: 'direct' });
  const f16 = kernel('conv2d', { name: 'conv2d.direct', entryPoint: 'direct', operands: 'f16' });
  assert.is(f32.name, 'conv2d.direct');
  assert.is(f16.name, 'conv2d.direct.f16');
  assert.is(f32.code, shaderSources.conv2d, 'the f32 build is the file as written');
  assert.ok(f16.code.startsWith('enable f16;\n') && f16.code.includes('alias Operand = f16;') && !f16.code.includes('alias Operand = f32;'), 'the f16 build');
  throwsWith(() => kernel('matmul_packed', { entryPoint: 'packed', operands: 'f16' }), /shaders\/matmul_packed\.wgsl has no 'alias Operand = f32;' line .*cannot take f16 operands/, 'matmul_packed as f16');
});

// ---------------------------------------------------------------------------------------------
// conv

interface ConvCase {
  g: ConvGeometry;
  bias: boolean;
}

const describeConv = ({ g, bias }: ConvCase) =>
  `N${g.N} ${g.Cin}x${g.H}x${g.W}->${g.Cout}x${g.OH}x${g.OW} k${g.KH}x${g.KW} s${g.SH},${g.SW} p${g.PH},${g.PW} d${g.DH},${g.DW}${bias ? ' bias' : ''}`;

function geometry(N: number, Cin: number, H: number, W: number, Cout: number, [KH, KW]: number[], [SH, SW]: number[], [PH, PW]: number[], [DH, DW]: number[]): ConvGeometry {
  const OH = ref.convOutputSize(H, KH, SH, PH, DH);
  const OW = ref.convOutputSize(W, KW, SW, PW, DW);
  return { N, Cin, H, W, Cout, OH, OW, KH, KW, SH, SW, PH, PW, DH, DW };
}

function randomConv(): ConvCase {
  for (;;) {
    const K = [randint(rng, 1, 4), randint(rng, 1, 4)];
    const D = [randint(rng, 1, 2), randint(rng, 1, 2)];
    const P = K.map((k, i) => randint(rng, 0, Math.floor((D[i] * (k - 1)) / 2) + 1));
    const g = geometry(randint(rng, 1, 3), randint(rng, 1, 5), randint(rng, 3, 11), randint(rng, 3, 11), randint(rng, 1, 9), K, [randint(rng, 1, 2), randint(rng, 1, 2)], P, D);
    if (g.OH >= 1 && g.OW >= 1) return { g, bias: randint(rng, 0, 1) === 1 };
  }
}

/** Fixed cases: odd non-square sizes, stride 2, padding, dilation, batches. */
const FIXED_CONVS: ConvCase[] = [
  { g: geometry(2, 3, 9, 7, 5, [3, 3], [2, 2], [1, 1], [1, 1]), bias: true },
  { g: geometry(3, 2, 8, 11, 6, [3, 2], [1, 2], [2, 0], [2, 1]), bias: true },
  { g: geometry(2, 5, 13, 6, 70, [5, 3], [2, 1], [2, 1], [1, 2]), bias: false },
];

const magnitudes = (t: T64) => ref.map(t, Math.abs);

/** f16 forward (x, weight) against ref.conv2d on the decoded values; returns the kernels launched. */
async function checkForward({ g, bias: withBias }: ConvCase, what: string): Promise<string[]> {
  const x = uploadHalf(g.N * g.Cin * g.H * g.W);
  const w = uploadHalf(g.Cout * g.Cin * g.KH * g.KW, 0, 0.5);
  const bias = withBias ? uploadF32(g.Cout) : undefined;
  let y: GPUBuffer | undefined;
  const names = await kernelsLaunched(() => (y = conv2dForward(x.buffer, w.buffer, bias?.buffer, g, 'f16')));
  const [xt, wt, bt] = [ref.t64(x.values.subarray(0, g.N * g.Cin * g.H * g.W), [g.N, g.Cin, g.H, g.W]), ref.t64(w.values.subarray(0, g.Cout * g.Cin * g.KH * g.KW), [g.Cout, g.Cin, g.KH, g.KW]), bias && ref.t64(bias.values, [g.Cout])];
  const opts = { stride: [g.SH, g.SW] as [number, number], padding: [g.PH, g.PW] as [number, number], dilation: [g.DH, g.DW] as [number, number] };
  const expected = ref.conv2d(xt, wt, bt, opts);
  const magnitude = ref.conv2d(magnitudes(xt), magnitudes(wt), bt && magnitudes(bt), opts);
  const f32 = await readF32(y!, g.N * g.Cout * g.OH * g.OW);
  assertWithinAccumulation(f32, expected, magnitude, `${what} forward`);
  // windowTapsSubgroup and windowStrideTwoTapsSubgroup store float32 only: a float16 output runs windowSubgroup, which adds
  // the taps in another order, so the float16 words are checked against that kernel's float32 result (itself checked
  // against float64 above).
  let halfSource = f32, halfSourceBuffer: GPUBuffer | undefined;
  if (names.includes('conv2d.windowTapsSubgroup.f16') || names.includes('conv2d.windowStrideTwoTapsSubgroup.f16')) {
    await gpu().policy.with({ windowSums: 'rows' }, async () => { halfSourceBuffer = conv2dForward(x.buffer, w.buffer, bias?.buffer, g, 'f16'); });
    halfSource = await readF32(halfSourceBuffer!, g.N * g.Cout * g.OH * g.OW);
    assertWithinAccumulation(halfSource, expected, magnitude, `${what} forward under windowSums 'rows'`);
  }
  // rowsSliced sums f32 slices of channels: its float16 output takes the cast.
  await checkHalfStores(`${what} forward`, halfSource, () => conv2dForward(x.buffer, w.buffer, bias?.buffer, g, 'f16', 'f16'), names.includes('conv2d.rowsSliced.f16'));
  release(x.buffer, w.buffer, bias?.buffer, y, halfSourceBuffer);
  return names;
}

/** f16 input gradient (gy, weight) against ref.convTranspose2d on the decoded values. */
async function checkTranspose({ g, bias: withBias }: ConvCase, what: string): Promise<string[]> {
  const gy = uploadHalf(g.N * g.Cout * g.OH * g.OW);
  const w = uploadHalf(g.Cout * g.Cin * g.KH * g.KW, 0, 0.5);
  const bias = withBias ? uploadF32(g.Cin) : undefined;
  let gx: GPUBuffer | undefined;
  const names = await kernelsLaunched(() => (gx = conv2dTranspose(gy.buffer, w.buffer, bias?.buffer, g, 'f16')));
  const [gyt, wt, bt] = [ref.t64(gy.values.subarray(0, g.N * g.Cout * g.OH * g.OW), [g.N, g.Cout, g.OH, g.OW]), ref.t64(w.values.subarray(0, g.Cout * g.Cin * g.KH * g.KW), [g.Cout, g.Cin, g.KH, g.KW]), bias && ref.t64(bias.values, [g.Cin])];
  // The output padding that brings the transposed conv back to H x W.
  const outputPadding: [number, number] = [g.H - ((g.OH - 1) * g.SH - 2 * g.PH + g.DH * (g.KH - 1) + 1), g.W - ((g.OW - 1) * g.SW - 2 * g.PW + g.DW * (g.KW - 1) + 1)];
  const opts = { stride: [g.SH, g.SW] as [number, number], padding: [g.PH, g.PW] as [number, number], dilation: [g.DH, g.DW] as [number, number], outputPadding };
  const expected = ref.convTranspose2d(gyt, wt, bt, opts);
  const magnitude = ref.convTranspose2d(magnitudes(gyt), magnitudes(wt), bt && magnitudes(bt), opts);
  const f32 = await readF32(gx!, g.N * g.Cin * g.H * g.W);
  assertWithinAccumulation(f32, expected, magnitude, `${what} input grad`);
  // The Cout = 1 rowStrips and rowsWindow and the thin rowsWindow and thinQuadRows store f32: their float16 output takes the cast.
  const castAllowed = ['conv_transpose2d.rowStrips.f16', 'conv_transpose2d.rowStripsElements.f16', 'conv_transpose2d.rowsWindow.f16', 'conv_transpose2d.thinRowsWindow.f16', 'conv_transpose2d.thinRowsWindowPair.f16', 'conv_transpose2d.thinQuadRows.f16'].some((name) => names.includes(name));
  await checkHalfStores(`${what} input grad`, f32, () => conv2dTranspose(gy.buffer, w.buffer, bias?.buffer, g, 'f16', 'f16'), castAllowed);
  release(gy.buffer, w.buffer, bias?.buffer, gx);
  return names;
}

/** f16 weight gradient (x, gy) against a float64 sum over the output pixels of the decoded values. */
async function checkWeightGrad({ g }: ConvCase, what: string): Promise<string[]> {
  const x = uploadHalf(g.N * g.Cin * g.H * g.W);
  const gy = uploadHalf(g.N * g.Cout * g.OH * g.OW);
  let gw: GPUBuffer | undefined;
  const names = await kernelsLaunched(() => (gw = conv2dWeightGrad(x.buffer, gy.buffer, g, 'f16')));
  const shape = [g.Cout, g.Cin, g.KH, g.KW];
  const [expected, magnitude] = [ref.zeros(shape), ref.zeros(shape)];
  for (let co = 0; co < g.Cout; co++)
    for (let ci = 0; ci < g.Cin; ci++)
      for (let i = 0; i < g.KH; i++)
        for (let j = 0; j < g.KW; j++) {
          let [sum, abs] = [0, 0];
          for (let n = 0; n < g.N; n++)
            for (let oh = 0; oh < g.OH; oh++) {
              const ih = oh * g.SH - g.PH + i * g.DH;
              if (ih < 0 || ih >= g.H) continue;
              for (let ow = 0; ow < g.OW; ow++) {
                const iw = ow * g.SW - g.PW + j * g.DW;
                if (iw < 0 || iw >= g.W) continue;
                const term = gy.values[((n * g.Cout + co) * g.OH + oh) * g.OW + ow] * x.values[((n * g.Cin + ci) * g.H + ih) * g.W + iw];
                sum += term;
                abs += Math.abs(term);
              }
            }
          const index = ((co * g.Cin + ci) * g.KH + i) * g.KW + j;
          expected.data[index] = sum;
          magnitude.data[index] = abs;
        }
  assertWithinAccumulation(await readF32(gw!, g.Cout * g.Cin * g.KH * g.KW), expected, magnitude, `${what} weight grad`);
  release(x.buffer, gy.buffer, gw);
  return names;
}

const forcing = (variant: ConvVariant) => ({ convForward: variant, convInputGrad: variant, convWeightGrad: variant });

for (const variant of GENERIC_VARIANTS) {
  test(`f16 conv under ${variant}: forward, input grad and weight grad (odd sizes, stride 2, padding, dilation, non-square, batches, bias)`, async () => {
    await gpu().policy.with(forcing(variant), async () => {
      for (const c of [...FIXED_CONVS, randomConv(), randomConv()]) {
        const what = `f16 ${variant} ${describeConv(c)}`;
        const forward = await checkForward(c, what);
        assert.equal([...new Set(forward)], [`conv2d.${variant}.f16`], context(`${what}: forward kernels`));
        const input = await checkTranspose(c, what);
        assert.equal([...new Set(input)], [`conv_transpose2d.${variant}.f16`], context(`${what}: input grad kernels`));
        const weight = await checkWeightGrad(c, what);
        // registerTiled and workgroupTiled split K and add the slices with reduce.wgsl (f32).
        assert.ok(weight.includes(`conv2d_weight_grad.${variant}.f16`) && weight.every((name) => name === `conv2d_weight_grad.${variant}.f16` || name.startsWith('reduce')), context(`${what}: weight grad kernels ${weight}`));
      }
    });
  });
}

/**
 * Cases for the packed policy's kernels: the main kernel each pass should run (without the `.f16`
 * suffix) with convSubgroups 'shared' (on subgroups of 8) and 'off'.
 */
interface PackedCase extends ConvCase {
  name: string;
  /** Policy choices of this case on top of the test's. */
  policy?: Partial<KernelChoices>;
  shared: { forward: string; input: string; weight: string };
  off: { forward: string; input: string; weight: string };
}

const PACKED_CASES: PackedCase[] = [
  {
    name: '3×7 from 2 channels, 20 rows, rows of one octet (windowSubgroup forward, thinRowsWindowPair input grad)',
    g: geometry(2, 2, 9, 14, 20, [3, 7], [1, 1], [0, 0], [1, 1]), bias: true,
    shared: { forward: 'conv2d.windowSubgroup', input: 'conv_transpose2d.thinRowsWindowPair', weight: 'conv2d_weight_grad.windowSubgroup' },
    off: { forward: 'conv2d.packedTiled', input: 'conv_transpose2d.packedTiled', weight: 'conv2d_weight_grad.registerTiled' },
  },
  {
    name: '3×7 from 2 channels under convThinUnitStrideInputGrad window (thinRowsWindow input grad, a channel per workgroup z)',
    g: geometry(2, 2, 9, 14, 20, [3, 7], [1, 1], [0, 0], [1, 1]), bias: true, policy: { convThinUnitStrideInputGrad: 'window' },
    shared: { forward: 'conv2d.windowSubgroup', input: 'conv_transpose2d.thinRowsWindow', weight: 'conv2d_weight_grad.windowSubgroup' },
    off: { forward: 'conv2d.packedTiled', input: 'conv_transpose2d.packedTiled', weight: 'conv2d_weight_grad.registerTiled' },
  },
  {
    name: '3×7 from 2 channels under convThinUnitStrideInputGrad packed (packedTiled input grad)',
    g: geometry(2, 2, 9, 14, 20, [3, 7], [1, 1], [0, 0], [1, 1]), bias: true, policy: { convThinUnitStrideInputGrad: 'packed' },
    shared: { forward: 'conv2d.windowSubgroup', input: 'conv_transpose2d.packedTiled', weight: 'conv2d_weight_grad.windowSubgroup' },
    off: { forward: 'conv2d.packedTiled', input: 'conv_transpose2d.packedTiled', weight: 'conv2d_weight_grad.registerTiled' },
  },
  {
    name: '4×4 stride 2 pad 1 from 2 channels (D-1: windowSubgroup forward, thinBlocks input grad)',
    g: geometry(2, 2, 12, 16, 20, [4, 4], [2, 2], [1, 1], [1, 1]), bias: false,
    shared: { forward: 'conv2d.windowSubgroup', input: 'conv_transpose2d.thinBlocks', weight: 'conv2d_weight_grad.windowSubgroup' },
    off: { forward: 'conv2d.packedTiled', input: 'conv_transpose2d.phaseTiled', weight: 'conv2d_weight_grad.registerTiled' },
  },
  {
    name: '4×4 stride 2 pad 1 from 2 channels on output rows of 16 (D-1: windowStrideTwoTapsSubgroup forward, thinBlocks input grad)',
    g: geometry(2, 2, 9, 32, 20, [4, 4], [2, 2], [1, 1], [1, 1]), bias: true,
    shared: { forward: 'conv2d.windowStrideTwoTapsSubgroup', input: 'conv_transpose2d.thinBlocks', weight: 'conv2d_weight_grad.windowSubgroup' },
    off: { forward: 'conv2d.packedTiled', input: 'conv_transpose2d.phaseTiled', weight: 'conv2d_weight_grad.registerTiled' },
  },
  {
    name: '1×1 (pointwise), 12 rows (two row blocks), 5 channels',
    g: geometry(2, 5, 6, 6, 12, [1, 1], [1, 1], [0, 0], [1, 1]), bias: true,
    shared: { forward: 'conv2d.pointwiseSubgroup', input: 'conv_transpose2d.pointwiseSubgroup', weight: 'conv2d_weight_grad.pointwiseSubgroup' },
    off: { forward: 'conv2d.pointwise', input: 'conv_transpose2d.pointwise', weight: 'conv2d_weight_grad.pointwise' },
  },
  {
    name: '3×3 pad 1 on rows of pairs of quads, odd height',
    g: geometry(3, 3, 5, 8, 6, [3, 3], [1, 1], [1, 1], [1, 1]), bias: true,
    shared: { forward: 'conv2d.threeWidePairSubgroup', input: 'conv_transpose2d.threeWidePairSubgroup', weight: 'conv2d_weight_grad.threeByThreeSubgroup' },
    off: { forward: 'conv2d.threeWidePair', input: 'conv_transpose2d.threeWidePair', weight: 'conv2d_weight_grad.threeByThree' },
  },
  {
    name: '1×3 pad 1 on rows of 3 quads (threeWide)',
    g: geometry(2, 3, 3, 12, 5, [1, 3], [1, 1], [0, 1], [1, 1]), bias: false,
    shared: { forward: 'conv2d.threeWide', input: 'conv_transpose2d.threeWide', weight: 'conv2d_weight_grad.threeWide' },
    off: { forward: 'conv2d.threeWide', input: 'conv_transpose2d.threeWide', weight: 'conv2d_weight_grad.threeWide' },
  },
  {
    name: '5×5 pad 2 from one channel (conv1: fiveWideRow input grad), stride 2 in height',
    g: geometry(2, 1, 7, 16, 6, [5, 5], [2, 1], [2, 2], [1, 1]), bias: true,
    shared: { forward: 'conv2d.fiveWidePairSubgroup', input: 'conv_transpose2d.phaseTiled', weight: 'conv2d_weight_grad.fiveByFiveSubgroup' },
    off: { forward: 'conv2d.fiveWidePair', input: 'conv_transpose2d.phaseTiled', weight: 'conv2d_weight_grad.fiveWide' },
  },
  {
    name: '5×5 pad 2 at stride 1 from one channel, 7 filters (ROWS 8; the input grad under convThinUnitStrideInputGrad packed)',
    g: geometry(2, 1, 5, 16, 7, [5, 5], [1, 1], [2, 2], [1, 1]), bias: false, policy: { convThinUnitStrideInputGrad: 'packed' },
    shared: { forward: 'conv2d.fiveWidePairSubgroup', input: 'conv_transpose2d.fiveWideRowSubgroup', weight: 'conv2d_weight_grad.fiveByFiveSubgroup' },
    off: { forward: 'conv2d.fiveWidePair', input: 'conv_transpose2d.fiveWidePair', weight: 'conv2d_weight_grad.fiveWide' },
  },
  {
    name: '5×5 pad 2 at stride 1 from one channel, 20 filters (conv1: windowTapsSubgroup forward, thinQuadRows input grad)',
    g: geometry(2, 1, 5, 16, 20, [5, 5], [1, 1], [2, 2], [1, 1]), bias: true,
    shared: { forward: 'conv2d.windowTapsSubgroup', input: 'conv_transpose2d.thinQuadRows', weight: 'conv2d_weight_grad.fiveByFiveSubgroup' },
    off: { forward: 'conv2d.fiveWidePair', input: 'conv_transpose2d.fiveWidePair', weight: 'conv2d_weight_grad.fiveWide' },
  },
  {
    name: '3×3 stride 2 pad 1, 10 → 12 channels, odd sizes (16-row subgroup kernels, phases)',
    g: geometry(2, 10, 9, 7, 12, [3, 3], [2, 2], [1, 1], [1, 1]), bias: true,
    shared: { forward: 'conv2d.packedSubgroup', input: 'conv_transpose2d.phaseSubgroup', weight: 'conv2d_weight_grad.windowSubgroup' },
    off: { forward: 'conv2d.packedTiled', input: 'conv_transpose2d.phaseTiled', weight: 'conv2d_weight_grad.registerTiled' },
  },
  {
    name: '4×4 stride 2 pad 1, 3 → 5 channels (few rows)',
    g: geometry(3, 3, 9, 10, 5, [4, 4], [2, 2], [1, 1], [1, 1]), bias: false,
    shared: { forward: 'conv2d.packedTiled', input: 'conv_transpose2d.phaseTiled', weight: 'conv2d_weight_grad.narrowSubgroup' },
    off: { forward: 'conv2d.packedTiled', input: 'conv_transpose2d.phaseTiled', weight: 'conv2d_weight_grad.registerTiled' },
  },
  {
    name: '1×1 stride 2, 3 → 10 channels, odd plane (packedSubgroup weight grad)',
    g: geometry(2, 3, 7, 9, 10, [1, 1], [2, 2], [0, 0], [1, 1]), bias: true,
    shared: { forward: 'conv2d.packedSubgroup', input: 'conv_transpose2d.phaseTiled', weight: 'conv2d_weight_grad.packedSubgroup' },
    off: { forward: 'conv2d.packedTiled', input: 'conv_transpose2d.phaseTiled', weight: 'conv2d_weight_grad.registerTiled' },
  },
  {
    name: '3×3 dilation 2 pad 2 at stride 1, odd sizes (packed over the generic geometry)',
    g: geometry(2, 4, 7, 9, 9, [3, 3], [1, 1], [2, 2], [2, 2]), bias: true,
    shared: { forward: 'conv2d.packedSubgroup', input: 'conv_transpose2d.packedTiled', weight: 'conv2d_weight_grad.packedSubgroup' },
    off: { forward: 'conv2d.packedTiled', input: 'conv_transpose2d.packedTiled', weight: 'conv2d_weight_grad.registerTiled' },
  },
  {
    name: 'one output channel, 7×7 unpadded, 11 input channels (the Cout = 1 kernels, the forward in tiles of rows: rowsWindow, the input grad down strips of rows: rowStripsElements on its odd width; bias: the transposed conv\'s [Cin])',
    g: geometry(2, 11, 12, 13, 1, [7, 7], [1, 1], [0, 0], [1, 1]), bias: true,
    shared: { forward: 'conv2d.rowsWindow', input: 'conv_transpose2d.rowStripsElements', weight: 'conv2d_weight_grad.singleRowsSubgroup' },
    off: { forward: 'conv2d.single', input: 'conv_transpose2d.single', weight: 'conv2d_weight_grad.single' },
  },
  {
    name: 'one output channel, 4×4 pad 1, stride 2 and dilation 2 in height, odd sizes (Cout = 1 forward and weight grad; the input grad falls back: registerTiled)',
    g: geometry(3, 5, 11, 9, 1, [4, 4], [2, 1], [1, 1], [2, 1]), bias: false,
    shared: { forward: 'conv2d.singleSubgroup', input: 'conv_transpose2d.registerTiled', weight: 'conv2d_weight_grad.singleSubgroup' },
    off: { forward: 'conv2d.single', input: 'conv_transpose2d.registerTiled', weight: 'conv2d_weight_grad.single' },
  },
  {
    name: 'one output channel, 4×4 pad 1, 133 input channels over few tiles (the forward in slices of channels without subgroups of 8, rowsSliced; rowsWindow with; the weight grad on its small planes, X as vec4: singlePlaneQuads)',
    g: geometry(2, 133, 6, 9, 1, [4, 4], [1, 1], [1, 1], [1, 1]), bias: true,
    shared: { forward: 'conv2d.rowsWindow', input: 'conv_transpose2d.rowStripsElements', weight: 'conv2d_weight_grad.singlePlaneQuads' },
    off: { forward: 'conv2d.rowsSliced', input: 'conv_transpose2d.single', weight: 'conv2d_weight_grad.single' },
  },
];

/** Every kernel an f16 pass launched is an f16 build, except the f32 reduction of split-K slices and the sum of chunks. */
const f16Only = (names: string[]) => names.every((name) => name.endsWith('.f16') || name.startsWith('reduce') || name.startsWith('accumulate'));

for (const subgroups of ['shared', 'off'] as const) {
  test(`f16 conv under the packed policy, convSubgroups ${subgroups}: every packed, vec4, subgroup and phase kernel's f16 build (weights packed from f16)`, async () => {
    await gpu().policy.with({ ...forcing('packed'), convSubgroups: subgroups, convSingleChannel: 'shared', convPointwise: 'conv' }, async () => {
      const expectedSet = subgroups === 'shared' && subgroupsOfEight() ? 'shared' : 'off';
      for (const c of PACKED_CASES) {
        const what = `f16 packed (${subgroups}) ${c.name}: ${describeConv(c)}`;
        const expected = c[expectedSet];
        const runs = await gpu().policy.with(c.policy ?? {}, async () => [
          ['forward', await checkForward(c, what)],
          ['input', await checkTranspose(c, what)],
          ['weight', await checkWeightGrad(c, what)],
        ] as const);
        for (const [pass, names] of runs) {
          const main = `${expected[pass]}.f16`;
          assert.ok(names.includes(main) && f16Only(names), context(`${what}: ${pass} kernels ${[...new Set(names)]}, expected ${main}`));
        }
      }
    });
  });
}

for (const rows of WINDOW_WEIGHT_GRAD_ROWS) {
  test(`f16 weight gradient by windowSubgroup with windowWeightGradRows ${rows}: 3×3 stride 2 and unpadded 3×3 on 8-wide output rows, 37 out channels (a second row block, partly past the end)`, async () => {
    await gpu().policy.with({ ...forcing('packed'), convSubgroups: 'shared', windowWeightGradRows: rows }, async () => {
      const cases: ConvCase[] = [
        { g: geometry(2, 5, 11, 15, 37, [3, 3], [2, 2], [1, 1], [1, 1]), bias: false },
        { g: geometry(3, 4, 9, 10, 37, [3, 3], [1, 1], [0, 0], [1, 1]), bias: false },
      ];
      for (const c of cases) {
        const what = `f16 windowSubgroup (${rows} rows) ${describeConv(c)}`;
        const names = await checkWeightGrad(c, what);
        const main = subgroupsOfEight() ? 'conv2d_weight_grad.windowSubgroup.f16' : 'conv2d_weight_grad.registerTiled.f16';
        assert.ok(names.includes(main) && f16Only(names), context(`${what}: kernels ${[...new Set(names)]}, expected ${main}`));
      }
    });
  });
}

for (const padding of CONV_SUBGROUP_PADDING_ROWS) {
  test(`f16 stride-1 input gradient by packedSubgroup with convSubgroupPaddingRows ${padding}: a 4×4 pad-1 conv on 16-wide rows (its first subgroup's kernel row 0 in the padding), 18 and 37 rows`, async () => {
    await gpu().policy.with({ ...forcing('packed'), convSubgroups: 'shared', convSubgroupPaddingRows: padding }, async () => {
      for (const c of [{ g: geometry(2, 18, 5, 16, 5, [4, 4], [1, 1], [1, 1], [1, 1]), bias: true }, { g: geometry(2, 37, 6, 16, 6, [4, 4], [1, 1], [1, 1], [1, 1]), bias: false }]) {
        const what = `f16 packedSubgroup (${padding}) ${describeConv(c)}`;
        const names = await checkTranspose(c, what);
        const main = subgroupsOfEight() ? 'conv_transpose2d.packedSubgroup.f16' : 'conv_transpose2d.packedTiled.f16';
        assert.ok(names.includes(main) && f16Only(names), context(`${what}: kernels ${[...new Set(names)]}, expected ${main}`));
      }
    });
  });
}

test('f16 Cout = 1 forward under convSingleForward rows and input grad under convSingleInputGrad octets: the 4-row tiles (rowsSubgroup on subgroups of 8), the channel slices over few tiles (rowsSliced), one row\'s octets x 8 channels (singleSubgroup)', async () => {
  await gpu().policy.with({ ...forcing('packed'), convSubgroups: 'shared', convSingleChannel: 'shared', convSingleForward: 'rows', convSingleInputGrad: 'octets' }, async () => {
    const rows: ConvCase = { g: geometry(2, 11, 12, 13, 1, [7, 7], [1, 1], [0, 0], [1, 1]), bias: true };
    const sliced: ConvCase = { g: geometry(2, 133, 6, 9, 1, [4, 4], [1, 1], [1, 1], [1, 1]), bias: true };
    for (const [c, name] of [[rows, subgroupsOfEight() ? 'conv2d.rowsSubgroup' : 'conv2d.single'], [sliced, 'conv2d.rowsSliced']] as const) {
      const what = `f16 Cout = 1 forward (rows): ${describeConv(c)}`;
      const names = await checkForward(c, what);
      assert.ok(names.includes(`${name}.f16`) && f16Only(names), context(`${what}: kernels ${[...new Set(names)]}, expected ${name}.f16`));
      const transpose = subgroupsOfEight() ? 'conv_transpose2d.singleSubgroup' : 'conv_transpose2d.single';
      const inputNames = await checkTranspose(c, what);
      assert.ok(inputNames.includes(`${transpose}.f16`) && f16Only(inputNames), context(`${what}: input grad kernels ${[...new Set(inputNames)]}, expected ${transpose}.f16`));
    }
  });
});

test('f16 Cout = 1 input grad under convSingleInputGrad window: the 2-D tiles (rowsWindow on subgroups of 8) beside the default strips of rows (rowStrips with quad stores on an even width, rowStripsElements on an odd one)', async () => {
  for (const tiles of ['window', 'strips'] as const) {
    await gpu().policy.with({ ...forcing('packed'), convSubgroups: 'shared', convSingleChannel: 'shared', convSingleInputGrad: tiles }, async () => {
      for (const c of [{ g: geometry(2, 11, 12, 14, 1, [7, 7], [1, 1], [0, 0], [1, 1]), bias: true }, { g: geometry(3, 9, 15, 15, 1, [4, 4], [1, 1], [1, 1], [1, 1]), bias: false }]) {
        const what = `f16 Cout = 1 input grad (${tiles}): ${describeConv(c)}`;
        const names = await checkTranspose(c, what);
        const strips = c.g.W % 2 === 0 ? 'conv_transpose2d.rowStrips' : 'conv_transpose2d.rowStripsElements';
        const main = subgroupsOfEight() ? (tiles === 'window' ? 'conv_transpose2d.rowsWindow' : strips) : 'conv_transpose2d.single';
        assert.ok(names.includes(`${main}.f16`) && f16Only(names), context(`${what}: kernels ${[...new Set(names)]}, expected ${main}.f16`));
      }
    });
  }
});

/** 1×1 convs under convPointwise 'gemm': odd channels, H·W not a multiple of 4 (the subgroup kernel on packed copies), batches, bias; an aligned case read in place. */
const POINTWISE_GEMM_CASES: ConvCase[] = [
  { g: geometry(3, 5, 5, 7, 7, [1, 1], [1, 1], [0, 0], [1, 1]), bias: true },
  { g: geometry(2, 37, 13, 15, 41, [1, 1], [1, 1], [0, 0], [1, 1]), bias: false },
  { g: geometry(2, 8, 4, 6, 12, [1, 1], [1, 1], [0, 0], [1, 1]), bias: true },
];

for (const matmulVariant of ['subgroup', 'registerTiledVec4', 'registerTiled'] as const) {
  test(`f16 1×1 conv as GEMM (convPointwise gemm, matmul ${matmulVariant}): forward, input grad and weight grad through the matmul kernels`, async () => {
    await gpu().policy.with({ ...forcing('packed'), convPointwise: 'gemm', matmul: matmulVariant }, async () => {
      for (const c of POINTWISE_GEMM_CASES) {
        const what = `f16 gemm (${matmulVariant}) ${describeConv(c)}`;
        for (const [pass, names] of [
          ['forward', await checkForward(c, what)],
          ['input', await checkTranspose(c, what)],
          ['weight', await checkWeightGrad(c, what)],
        ] as const) {
          // f16 in place: the matmul kernels' .f16 builds; on packed copies (subgroup, H·W % 4 != 0) matmul_pack's f16 build feeds the f32 kernel.
          const read = names.some((name) => /^matmul\..*\.f16$/.test(name)) || (names.some((name) => name.startsWith('matmul_pack') && name.endsWith('.f16')) && names.includes('matmul.subgroup.none'));
          assert.ok(read && !names.some((name) => name.startsWith('conv')), context(`${what}: ${pass} kernels ${[...new Set(names)]}, expected matmul kernels reading f16`));
        }
      }
    });
  });
}

// ---------------------------------------------------------------------------------------------
// chunked launches

test('f16 operands larger than a binding: matmul in blocks, conv in runs of whole images (every generic variant)', async () => {
  const limit = 2048;
  const alignment = gpu().device.limits.minStorageBufferOffsetAlignment;
  assert.ok(alignment <= 1024, `the cases assume a minStorageBufferOffsetAlignment of at most 1024 bytes, got ${alignment}`);
  gpu().setMaxBindingBytes(limit);
  for (const variant of ['registerTiled', 'workgroupTiled'] as const) {
    await gpu().policy.with({ matmul: variant }, async () => {
      // A: 40 x 50 f16 = 4000 bytes (plus the offset) against a 2048-byte limit.
      for (const transA of [false, true]) {
        const c: MatmulCase = { batch: 1, M: 40, N: 9, K: 50, transA, transB: false, offsetA: 3, offsetB: 1, bias: true };
        const names = await checkMatmul(c, undefined, true);
        assert.ok(names.length > 1 && names.every((name) => name === `matmul.${variant}.none.f16`), context(`chunked ${describe(c)}: kernels ${names}`));
      }
    });
  }
  // Forward and weight grad: x [5, 4, 8, 16] f16 is 1024 bytes an image (5120 in all), y / gy [5, 2, 4, 8] 256 / 128.
  const strided: ConvCase = { g: geometry(5, 4, 8, 16, 2, [3, 3], [2, 2], [1, 1], [1, 1]), bias: true };
  // Input grad: gy [5, 8, 8, 8] f16 is 1024 bytes an image (5120 in all), gx [5, 2, 8, 8] f32 512.
  const wide: ConvCase = { g: geometry(5, 2, 8, 8, 8, [3, 3], [1, 1], [1, 1], [1, 1]), bias: true };
  const runs = (names: string[], name: string) => names.filter((n) => n === name).length;
  for (const variant of GENERIC_VARIANTS) {
    await gpu().policy.with(forcing(variant), async () => {
      assert.ok(runs(await checkForward(strided, `chunked ${variant}`), `conv2d.${variant}.f16`) > 1, `chunked ${variant} forward: one launch`);
      assert.ok(runs(await checkTranspose(wide, `chunked ${variant}`), `conv_transpose2d.${variant}.f16`) > 1, `chunked ${variant} input grad: one launch`);
      assert.ok(runs(await checkWeightGrad(strided, `chunked ${variant}`), `conv2d_weight_grad.${variant}.f16`) > 1, `chunked ${variant} weight grad: one launch`);
    });
  }
  // The packed policy: a 1×1 conv, x [5, 8, 8, 8] f16 1024 bytes an image, y / gy [5, 4, 8, 8] f32 1024 / f16 512; the
  // cases above; and a stride-2 input grad by phases (gy [5, 8, 4, 8] f16 512 bytes an image, gx [5, 2, 8, 16] f32 1024).
  const pointwise: ConvCase = { g: geometry(5, 8, 8, 8, 4, [1, 1], [1, 1], [0, 0], [1, 1]), bias: true };
  const phased: ConvCase = { g: geometry(5, 2, 8, 16, 8, [3, 3], [2, 2], [1, 1], [1, 1]), bias: true };
  for (const subgroups of ['shared', 'off'] as const) {
    await gpu().policy.with({ ...forcing('packed'), convSubgroups: subgroups, convSingleChannel: 'shared', convPointwise: 'conv' }, async () => {
      const sg = subgroups === 'shared' && subgroupsOfEight();
      const what = `chunked packed (${subgroups})`;
      const chunked = (names: string[], name: string, pass: string) => assert.ok(runs(names, `${name}.f16`) > 1 && f16Only(names), context(`${what} ${pass}: kernels ${names}, expected ${name}.f16 more than once`));
      chunked(await checkForward(pointwise, what), sg ? 'conv2d.pointwiseSubgroup' : 'conv2d.pointwise', 'pointwise forward');
      chunked(await checkWeightGrad(pointwise, what), sg ? 'conv2d_weight_grad.pointwiseSubgroup' : 'conv2d_weight_grad.pointwise', 'pointwise weight grad');
      // Two input channels at stride 1: the thin rowsWindow where subgroups are 8 wide (convThinUnitStrideInputGrad 'pairs').
      chunked(await checkTranspose(wide, what), sg ? 'conv_transpose2d.thinRowsWindowPair' : 'conv_transpose2d.threeWidePair', 'input grad');
      chunked(await checkForward(strided, what), 'conv2d.packedTiled', 'stride-2 forward');
      chunked(await checkWeightGrad(strided, what), sg ? 'conv2d_weight_grad.narrowSubgroup' : 'conv2d_weight_grad.registerTiled', 'stride-2 weight grad');
      // Two output channels at stride 2: the thin kernel where subgroups are 8 wide (policy convThinInputGrad 'blocks').
      chunked(await checkTranspose(phased, what), sg ? 'conv_transpose2d.thinBlocks' : 'conv_transpose2d.phaseTiled', 'phased input grad');
      // One output channel: x [5, 4, 8, 16] f16 1024 bytes an image, y / gy [5, 1, 8, 16] f32 512 / f16 256 (the
      // weight gradient's partial sums capped to one binding).
      const single: ConvCase = { g: geometry(5, 4, 8, 16, 1, [3, 3], [1, 1], [1, 1], [1, 1]), bias: true };
      chunked(await checkForward(single, what), sg ? 'conv2d.rowsWindow' : 'conv2d.single', 'Cout = 1 forward');
      chunked(await checkWeightGrad(single, what), sg ? 'conv2d_weight_grad.singlePlaneQuads' : 'conv2d_weight_grad.single', 'Cout = 1 weight grad');
      // Its input grad: gy f16 256 bytes an image, gx [5, 4, 8, 16] f32 2048.
      chunked(await checkTranspose(single, what), sg ? 'conv_transpose2d.rowStrips' : 'conv_transpose2d.single', 'Cout = 1 input grad');
    });
  }
  // The 1×1 conv as GEMM: the matmul launcher splits the products, the weight gradient runs in runs of images.
  await gpu().policy.with({ ...forcing('packed'), convPointwise: 'gemm' }, async () => {
    for (const [pass, names] of [
      ['forward', await checkForward(pointwise, 'chunked gemm')],
      ['input', await checkTranspose(pointwise, 'chunked gemm')],
      ['weight', await checkWeightGrad(pointwise, 'chunked gemm')],
    ] as const) {
      assert.ok(names.filter((name) => name.startsWith('matmul.')).length > 1 && !names.some((name) => name.startsWith('conv')), context(`chunked gemm ${pass}: kernels ${names}, expected several matmul launches`));
    }
  });
  gpu().setMaxBindingBytes(limit);
  for (const variant of ['registerTiledVec4', 'subgroup'] as const) {
    await gpu().policy.with({ matmul: variant }, async () => {
      // A: 32 x 64 f16 = 4096 bytes: blocks of rows (and K) read as vec4.
      const c: MatmulCase = { batch: 1, M: 32, N: 8, K: 64, transA: false, transB: false, offsetA: 4, offsetB: 0, bias: true };
      const names = await checkMatmul(c, undefined, true);
      assert.ok(runs(names, vec4Kernel(variant, 'none')) > 1, context(`chunked ${variant} ${describe(c)}: kernels ${names}`));
    });
  }
});

test.run();
