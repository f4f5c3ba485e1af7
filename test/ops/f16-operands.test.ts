// Half-precision (f16) operands for the GEMM-shaped kernels, called through their launchers:
// matmul (every transpose layout through strides, batches, broadcast, bias, activation, offsets,
// registerTiled and workgroupTiled), conv2dForward / conv2dTranspose / conv2dWeightGrad (odd sizes,
// stride, padding, dilation, non-square, batches, bias; direct, registerTiled, workgroupTiled), and
// chunked launches under a lowered binding limit. Inputs are random f16 values (encoded by
// test/reference/half.ts, not by the code under test); the float64 reference runs on the decoded
// values, and each output must lie within 1e-5 of the sum of its terms' magnitudes (f16 products are
// exact in f32, so only the f32 accumulation rounds). Elements around an operand inside its buffer
// hold NaN, so a kernel that reads the wrong element or half shows it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { gpu } from '../../src/gpu/index.js';
import { matmul, type MatrixOperand } from '../../src/kernels/matmul.js';
import { conv2dForward, conv2dTranspose, conv2dWeightGrad, type ConvGeometry, type ConvVariant } from '../../src/kernels/conv.js';
import { alloc, kernel } from '../../src/kernels/launch.js';
import { shaderSources } from '../../src/shaders.generated.js';
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
async function checkMatmul(c: MatmulCase, activation: { wgsl: string; name: string; f: (v: number) => number } = { wgsl: 'v', name: 'none', f: (v) => v }): Promise<string[]> {
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
  assertWithinAccumulation(await readF32(out!, batch * M * N), expected, magnitude, `f16 matmul ${describe(c)}`);
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

test('f16 matmul: a fused activation, and registerTiled wherever the policy names an f32-only variant', async () => {
  const relu = { wgsl: 'max(v, 0.0)', name: 'relu', f: (v: number) => Math.max(v, 0) };
  for (const variant of ['registerTiledVec4', 'packed', 'subgroup'] as const) {
    await gpu().policy.with({ matmul: variant }, async () => {
      // Shapes vec4 and packed would take in f32: K % 4 = 0, aligned and contiguous.
      const names = await checkMatmul({ batch: 2, M: 16, N: 32, K: 64, transA: false, transB: false, offsetA: 0, offsetB: 0, bias: true }, relu);
      assert.equal([...new Set(names)], ['matmul.registerTiled.relu.f16'], context(`policy ${variant}: kernels launched`));
    });
  }
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
  throwsWith(() => kernel('matmul_vec4', { entryPoint: 'registerTiledVec4', operands: 'f16' }), /shaders\/matmul_vec4\.wgsl has no 'alias Operand = f32;' line .*cannot take f16 operands/, 'matmul_vec4 as f16');
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
  assertWithinAccumulation(await readF32(y!, g.N * g.Cout * g.OH * g.OW), expected, magnitude, `${what} forward`);
  release(x.buffer, w.buffer, bias?.buffer, y);
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
  assertWithinAccumulation(await readF32(gx!, g.N * g.Cin * g.H * g.W), expected, magnitude, `${what} input grad`);
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

test('f16 conv under the packed policy (the software default) runs registerTiled: the packed kernels are f32-only', async () => {
  await gpu().policy.with(forcing('packed'), async () => {
    // A 3 x 3 stride-1 pad-1 layer on rows of whole vec4s: the geometry the packed kernels take in f32.
    const c: ConvCase = { g: geometry(2, 4, 8, 8, 8, [3, 3], [1, 1], [1, 1], [1, 1]), bias: true };
    assert.equal([...new Set(await checkForward(c, 'packed policy'))], ['conv2d.registerTiled.f16']);
    assert.equal([...new Set(await checkTranspose(c, 'packed policy'))], ['conv_transpose2d.registerTiled.f16']);
    assert.ok((await checkWeightGrad(c, 'packed policy')).includes('conv2d_weight_grad.registerTiled.f16'));
  });
});

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
        const names = await checkMatmul(c);
        assert.ok(names.length > 1 && names.every((name) => name === `matmul.${variant}.none.f16`), context(`chunked ${describe(c)}: kernels ${names}`));
      }
    });
  }
  // Forward and weight grad: x [5, 4, 8, 16] f16 is 1024 bytes an image (5120 in all), y / gy [5, 2, 4, 8] 256 / 128.
  const strided: ConvCase = { g: geometry(5, 4, 8, 16, 2, [3, 3], [2, 2], [1, 1], [1, 1]), bias: true };
  // Input grad: gy [5, 8, 8, 8] f16 is 1024 bytes an image (5120 in all), gx [5, 2, 8, 8] f32 512.
  const wide: ConvCase = { g: geometry(5, 2, 8, 8, 8, [3, 3], [1, 1], [1, 1], [1, 1]), bias: true };
  for (const variant of GENERIC_VARIANTS) {
    await gpu().policy.with(forcing(variant), async () => {
      const runs = (names: string[], name: string) => names.filter((n) => n === name).length;
      assert.ok(runs(await checkForward(strided, `chunked ${variant}`), `conv2d.${variant}.f16`) > 1, `chunked ${variant} forward: one launch`);
      assert.ok(runs(await checkTranspose(wide, `chunked ${variant}`), `conv_transpose2d.${variant}.f16`) > 1, `chunked ${variant} input grad: one launch`);
      assert.ok(runs(await checkWeightGrad(strided, `chunked ${variant}`), `conv2d_weight_grad.${variant}.f16`) > 1, `chunked ${variant} weight grad: one launch`);
    });
  }
});

test.run();
