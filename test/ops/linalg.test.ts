// matmul (1-D, 2-D, batched with broadcasting) and linear (bias, fused relu), on every matmul
// kernel variant, at odd sizes that leave partial 64 x 64 tiles and K not a multiple of 16; the
// vec4 and packed variants on each operand layout they read (strided, padded, offset, broadcast
// batches), vec4's fall-back to registerTiled where the layout does not allow vec4 reads, packed on
// those layouts, and packed's choice of the vec4 kernel where packing would cost more than it saves;
// subgroup over several workgroups, on packed copies where vec4 reads do not fit, and its fall-backs.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { F, tensor } from '../../src/index.js';
import { matmul as matmulKernel, subgroupMatmulRuns, type MatmulVariant, type MatrixOperand } from '../../src/kernels/matmul.js';
import { gpu, type AdapterDescription } from '../../src/gpu/index.js';
import { MATMUL_VARIANTS } from '../../src/gpu/policy.js';
import { ACTIVATIONS } from '../../src/nn/functional/linalg.js';
import { assertNear, checkOp, context, draw, fileRng, ref, roundF32, setup, throwsWith, toTensor, type T64 } from './helpers.js';

const rng = fileRng('linalg');
await setup();

const linearRelu64 = (x: T64, w: T64, b?: T64): T64 => ref.relu(ref.linear(x, w, b));

/**
 * x, w, b (f32 values) whose pre-activations all lie at least 1e-3 from relu's kink, so that
 * neither f32 rounding nor a finite-difference step crosses it. Redraws until they do.
 */
function reluCase(xShape: number[], outF: number, inF: number, withBias: boolean): [T64, T64, T64] {
  for (let attempt = 0; attempt < 100; attempt++) {
    const x = roundF32(ref.randn(rng, xShape));
    const w = roundF32(ref.randn(rng, [outF, inF], 1 / Math.sqrt(inF)));
    const b = roundF32(withBias ? ref.randn(rng, [outF]) : ref.zeros([outF]));
    if (ref.linear(x, w, b).data.every((v) => Math.abs(v) > 1e-3)) return [x, w, b];
  }
  throw new Error('reluCase: no draw kept every pre-activation off zero');
}

/** Products in float32 over K terms: absolute error grows like sqrt(K) times the term size. */
const tolerance = (K: number) => ({ rtol: 1e-4, atol: 2e-6 * Math.max(1, Math.sqrt(K)) });

for (const variant of MATMUL_VARIANTS) {
  test(`matmul (${variant}): 2-D at odd sizes, across tile edges`, async () => {
    gpu().policy.set({ matmul: variant });
    try {
      const sizes: [number, number, number][] = [
        [1, 1, 1],
        [rng.int(2, 9), rng.int(2, 9), rng.int(2, 9)],
        // Finite differences cost (M K + K N) M K N: big M and N only with a small K.
        [rng.int(60, 70), rng.int(2, 5), rng.int(60, 70)],
        [rng.int(3, 7), rng.int(17, 40), rng.int(65, 80)],
        [rng.int(2, 5), rng.int(60, 70), rng.int(2, 5)],
        [rng.int(129, 140), rng.int(1, 3), rng.int(1, 5)],
      ];
      for (const [M, K, N] of sizes) {
        await checkOp({ name: `matmul ${variant}`, rng, inputs: [[M, K], [K, N]], forward: ([a, b]) => F.matmul(a, b), reference: ([a, b]) => ref.matmul(a, b), ...tolerance(K) });
      }
    } finally {
      gpu().policy.set({ matmul: undefined });
    }
  });

  test(`matmul (${variant}): 1-D operands and batched broadcasting both ways`, async () => {
    gpu().policy.set({ matmul: variant });
    try {
      const [M, K, N] = [rng.int(2, 7), rng.int(3, 19), rng.int(2, 9)];
      const cases: [number[], number[]][] = [
        [[K], [K]],
        [[K], [K, N]],
        [[M, K], [K]],
        [[K], [3, K, N]],
        [[2, M, K], [K]],
        [[3, M, K], [3, K, N]],
        [[3, M, K], [K, N]],
        [[M, K], [2, K, N]],
        [[2, 1, M, K], [3, K, N]],
        [[1, 3, M, K], [2, 1, K, N]],
        [[2, 3, M, K], [3, K, N]],
      ];
      for (const [a, b] of cases) {
        await checkOp({ name: `matmul ${variant}`, rng, inputs: [a, b], forward: ([x, y]) => F.matmul(x, y), reference: ([x, y]) => ref.matmul(x, y), ...tolerance(K) });
      }
    } finally {
      gpu().policy.set({ matmul: undefined });
    }
  });

  test(`linear (${variant}): with and without bias, fused relu, batched input`, async () => {
    gpu().policy.set({ matmul: variant });
    try {
      for (const [xShape, outF] of [[[rng.int(1, 9), rng.int(3, 37)], rng.int(2, 20)], [[2, rng.int(2, 5), rng.int(3, 20)], rng.int(2, 20)], [[rng.int(3, 20)], rng.int(2, 20)], [[3, 5], rng.int(65, 70)]] as [number[], number][]) {
        const inF = xShape[xShape.length - 1];
        const tol = tolerance(inF);
        await checkOp({ name: 'linear', rng, inputs: [xShape, [outF, inF], [outF]], forward: ([x, w, b]) => F.linear(x, w, b), reference: ([x, w, b]) => ref.linear(x, w, b), ...tol });
        await checkOp({ name: 'linear no bias', rng, inputs: [xShape, [outF, inF]], forward: ([x, w]) => F.linear(x, w), reference: ([x, w]) => ref.linear(x, w), ...tol });
        for (const withBias of [true, false]) {
          const [x, w, b] = reluCase(xShape, outF, inF, withBias);
          const fixed = (t: T64) => ({ shape: t.shape, draw: () => t });
          await checkOp({
            name: `linear relu${withBias ? '' : ' no bias'}`,
            rng,
            inputs: withBias ? [fixed(x), fixed(w), fixed(b)] : [fixed(x), fixed(w)],
            forward: ([xt, wt, bt]) => F.linear(xt, wt, bt, 'relu'),
            reference: ([x64, w64, b64]) => linearRelu64(x64, w64, b64),
            ...tol,
          });
        }
      }
    } finally {
      gpu().policy.set({ matmul: undefined });
    }
  });
}

/** How a test stores one operand: contiguous along its rows (transposed) or columns, with padding and an offset. */
interface Storage {
  transposed: boolean;
  /** Elements between consecutive rows (columns, transposed) beyond the matrix's own: random values the kernel must not use. */
  pad: number;
  offset: number;
  /** One matrix shared by every batch (batch stride 0). */
  broadcast: boolean;
}

/**
 * Stores the logical [batches, rows, cols] matrices x (or x[0] for every batch when broadcast) in a
 * buffer laid out as `storage` says, every other element random, and returns the operand.
 */
function storeOperand(x: T64, storage: Storage): { operand: MatrixOperand; dispose: () => void } {
  const [batches, rows, cols] = x.shape;
  const rowStride = storage.transposed ? 1 : cols + storage.pad;
  const colStride = storage.transposed ? rows + storage.pad : 1;
  const matrixElements = storage.transposed ? cols * colStride : rows * rowStride;
  const stored = storage.broadcast ? 1 : batches;
  const data = Float32Array.from({ length: storage.offset + stored * matrixElements + 4 }, () => rng.normal());
  for (let b = 0; b < stored; b++) {
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) data[storage.offset + b * matrixElements + r * rowStride + c * colStride] = x.data[(b * rows + r) * cols + c];
    }
  }
  const t = tensor(data, [data.length]);
  return { operand: { buffer: t.buffer, batchStride: storage.broadcast ? 0 : matrixElements, rowStride, colStride, offset: storage.offset }, dispose: () => t.dispose() };
}

/** act(A @ B + bias) through the launcher under `variant`: the values and the kernels dispatched. */
async function launchProduct(variant: MatmulVariant, a: MatrixOperand, b: MatrixOperand, shape: { batch: number; M: number; N: number; K: number }, bias: T64 | undefined, relu: boolean): Promise<{ values: Float32Array; kernels: string[] }> {
  const biasTensor = bias ? toTensor(bias) : undefined;
  const { batch, M, N, K } = shape;
  const { result: c, timings } = await gpu().profile(() =>
    gpu().policy.with({ matmul: variant }, () => matmulKernel(a, b, batch, M, N, K, biasTensor?.buffer, relu ? ACTIVATIONS.relu : 'v', relu ? 'relu' : 'none')),
  );
  const values = new Float32Array(await gpu().read(c, batch * M * N * 4));
  gpu().pool.release(c);
  biasTensor?.dispose();
  // Without the #n that tells apart kernels of one name compiled with different activations.
  return { values, kernels: timings.map((t) => t.name.replace(/#\d+$/, '')) };
}

/** The float64 act(A @ B + bias) of logical [batch, M, K] and [batch, K, N] (or [1, ...] broadcast) matrices. */
function productReference(a: T64, b: T64, bias: T64 | undefined, relu: boolean): T64 {
  const y = ref.matmul(a, b);
  const [M, N] = y.shape.slice(-2);
  const data = y.data.map((v, i) => {
    const sum = v + (bias ? bias.data[i % N] : 0);
    return relu ? Math.max(sum, 0) : sum;
  });
  return { shape: [y.shape[0], M, N], data };
}

const layoutName = (s: Storage, axes: [string, string]) => `along ${s.transposed ? axes[0] : axes[1]}${s.pad ? ` +${s.pad} pad` : ''}${s.offset ? ` offset ${s.offset}` : ''}${s.broadcast ? ' broadcast' : ''}`;

/**
 * The kernels a launch under `variant` dispatches for this layout (sorted): packed packs A along k and B along k, and reads
 * the others in place; subgroup runs its kernel where the adapter's subgroups are 8 wide, the vec4 kernel elsewhere.
 */
function expectedKernels(variant: 'registerTiledVec4' | 'packed' | 'subgroup', aTransposed: boolean, bTransposed: boolean, relu: boolean): string[] {
  const activation = relu ? 'relu' : 'none';
  const product = `matmul.${variant}.${activation}`;
  if (variant === 'subgroup') return [subgroupMatmulRuns() ? product : `matmul.registerTiledVec4.${activation}`];
  if (variant === 'registerTiledVec4') return [product];
  return [product, ...(aTransposed ? [] : ['matmul_pack.A']), ...(bTransposed ? ['matmul_pack.B'] : [])].sort();
}

for (const variant of ['registerTiledVec4', 'packed', 'subgroup'] as const) test(`matmul ${variant} on every operand layout (A along k or m, B along n or k), padded, offset, batched and broadcast, with bias and relu`, async () => {
  for (const aTransposed of [false, true]) {
    for (const bTransposed of [false, true]) {
      // Odd M and N: the last vec4 of a transposed A or of B along n straddles the edge into padding.
      const [batch, M, N, K] = [2, 2 * rng.int(1, 20) + 1, 2 * rng.int(1, 20) + 1, 4 * rng.int(1, 12)];
      const aStorage: Storage = { transposed: aTransposed, pad: 4 - ((aTransposed ? M : K) % 4) + 4 * rng.int(0, 1), offset: 4 * rng.int(0, 3), broadcast: bTransposed };
      const bStorage: Storage = { transposed: bTransposed, pad: 4 - ((bTransposed ? K : N) % 4) + 4 * rng.int(0, 1), offset: 4 * rng.int(0, 3), broadcast: !bTransposed };
      const a = roundF32(ref.randn(rng, [aStorage.broadcast ? 1 : batch, M, K]));
      const b = roundF32(ref.randn(rng, [bStorage.broadcast ? 1 : batch, K, N]));
      const bias = roundF32(ref.randn(rng, [N]));
      const A = storeOperand(a, aStorage);
      const B = storeOperand(b, bStorage);
      for (const relu of [false, true]) {
        const what = `[${batch}, ${M}, ${K}] (${layoutName(aStorage, ['m', 'k'])}) @ [${batch}, ${K}, ${N}] (${layoutName(bStorage, ['k', 'n'])})${relu ? ' + bias, relu' : ''}`;
        const { values, kernels } = await launchProduct(variant, A.operand, B.operand, { batch, M, N, K }, relu ? bias : undefined, relu);
        assert.equal(kernels.sort(), expectedKernels(variant, aTransposed, bTransposed, relu), context(`${what}: the ${variant} kernels run`));
        const broadcastA = { shape: [batch, M, K], data: aStorage.broadcast ? Float64Array.from({ length: batch * M * K }, (_, i) => a.data[i % (M * K)]) : a.data };
        const broadcastB = { shape: [batch, K, N], data: bStorage.broadcast ? Float64Array.from({ length: batch * K * N }, (_, i) => b.data[i % (K * N)]) : b.data };
        assertNear(values, productReference(broadcastA, broadcastB, relu ? bias : undefined, relu), what, 1e-4, 2e-6 * Math.sqrt(K));
      }
      A.dispose();
      B.dispose();
    }
  }
});

test('matmul registerTiledVec4 falls back to registerTiled (same values, same kernel) where vec4 reads do not fit: K % 4, misaligned offset, stride not a multiple of 4', async () => {
  const [M, N] = [rng.int(3, 30), rng.int(3, 30)];
  const cases: { what: string; K: number; a: Storage; b: Storage }[] = [
    { what: 'K % 4 != 0', K: 4 * rng.int(1, 8) + rng.int(1, 3), a: { transposed: false, pad: 0, offset: 0, broadcast: false }, b: { transposed: true, pad: 0, offset: 0, broadcast: false } },
    { what: 'A at a misaligned offset', K: 4 * rng.int(1, 8), a: { transposed: false, pad: 0, offset: 4 * rng.int(0, 3) + rng.int(1, 3), broadcast: false }, b: { transposed: false, pad: 4 - (N % 4), offset: 0, broadcast: false } },
    { what: 'B at a misaligned offset', K: 4 * rng.int(1, 8), a: { transposed: true, pad: 4 - (M % 4), offset: 0, broadcast: false }, b: { transposed: true, pad: 0, offset: rng.int(1, 3), broadcast: false } },
    { what: 'B row stride not a multiple of 4', K: 4 * rng.int(1, 8), a: { transposed: false, pad: 0, offset: 0, broadcast: false }, b: { transposed: false, pad: 4 - (N % 4) + 1, offset: 0, broadcast: false } },
  ];
  for (const c of cases) {
    const a = roundF32(ref.randn(rng, [1, M, c.K]));
    const b = roundF32(ref.randn(rng, [1, c.K, N]));
    const A = storeOperand(a, c.a);
    const B = storeOperand(b, c.b);
    const shape = { batch: 1, M, N, K: c.K };
    const what = `${c.what}: [${M}, ${c.K}] @ [${c.K}, ${N}]`;
    const vec4 = await launchProduct('registerTiledVec4', A.operand, B.operand, shape, undefined, false);
    const scalar = await launchProduct('registerTiled', A.operand, B.operand, shape, undefined, false);
    assert.equal(vec4.kernels, ['matmul.registerTiled.none'], context(`${what}: registerTiled runs`));
    assert.equal(Array.from(vec4.values), Array.from(scalar.values), context(`${what}: same values as registerTiled`));
    assertNear(vec4.values, productReference(a, b, undefined, false), what, 1e-4, 2e-6 * Math.sqrt(c.K));
    A.dispose();
    B.dispose();
  }
});

test('matmul subgroup runs only on adapters whose subgroups are exactly 8 wide, with the subgroups feature', () => {
  const features = ['subgroups', 'timestamp-query'];
  assert.ok(subgroupMatmulRuns({ features, subgroupSizes: { min: 8, max: 8 } }), 'subgroups of 8');
  const cases: [string, Pick<AdapterDescription, 'features' | 'subgroupSizes'>][] = [
    ['no subgroups feature', { features: ['timestamp-query'], subgroupSizes: { min: 8, max: 8 } }],
    ['sizes not reported', { features }],
    ['subgroups of 4 (SwiftShader)', { features, subgroupSizes: { min: 4, max: 4 } }],
    ['subgroups of 32', { features, subgroupSizes: { min: 32, max: 32 } }],
    ['8 to 32 wide (size not fixed)', { features, subgroupSizes: { min: 8, max: 32 } }],
  ];
  for (const [what, info] of cases) {
    assert.not.ok(subgroupMatmulRuns(info), what);
  }
});

test('matmul subgroup across several workgroups (M > 128 rows, N > 256 columns), batched, on both A layouts, with bias and relu', async () => {
  for (const aTransposed of [false, true]) {
    const [batch, M, N, K] = [2, 2 * rng.int(65, 100) + 1, 2 * rng.int(129, 150) + 1, 4 * rng.int(1, 16)];
    const aStorage: Storage = { transposed: aTransposed, pad: 4 - ((aTransposed ? M : K) % 4), offset: 4 * rng.int(0, 3), broadcast: false };
    const bStorage: Storage = { transposed: !aTransposed, pad: 4 - ((aTransposed ? N : K) % 4), offset: 4 * rng.int(0, 3), broadcast: false };
    const a = roundF32(ref.randn(rng, [batch, M, K]));
    const b = roundF32(ref.randn(rng, [batch, K, N]));
    const bias = roundF32(ref.randn(rng, [N]));
    const [A, B] = [storeOperand(a, aStorage), storeOperand(b, bStorage)];
    const what = `[${batch}, ${M}, ${K}] (${layoutName(aStorage, ['m', 'k'])}) @ [${batch}, ${K}, ${N}] (${layoutName(bStorage, ['k', 'n'])}) + bias, relu`;
    const { values, kernels } = await launchProduct('subgroup', A.operand, B.operand, { batch, M, N, K }, bias, true);
    assert.equal(kernels, expectedKernels('subgroup', aTransposed, !aTransposed, true), context(`${what}: the kernels run`));
    assertNear(values, productReference(a, b, bias, true), what, 1e-4, 2e-6 * Math.sqrt(K));
    A.dispose();
    B.dispose();
  }
});

test('matmul subgroup falls back (same values, same kernel): to registerTiledVec4 on an adapter whose subgroups are not 8 wide, to registerTiled on a small product where vec4 reads do not fit', async () => {
  const [M, N, K] = [rng.int(3, 40), 4 * rng.int(1, 10), 4 * rng.int(1, 10)];
  const a = roundF32(ref.randn(rng, [1, M, K]));
  const b = roundF32(ref.randn(rng, [1, K, N]));
  const aligned = { transposed: false, pad: 0, offset: 0, broadcast: false };
  const [A, B] = [storeOperand(a, aligned), storeOperand(b, aligned)];
  const shape = { batch: 1, M, N, K };
  const device = gpu() as unknown as { info: AdapterDescription };
  const saved = device.info;
  device.info = { ...saved, subgroupSizes: { min: 32, max: 32 } };
  try {
    const what = `[${M}, ${K}] @ [${K}, ${N}] with subgroups of 32`;
    const fallback = await launchProduct('subgroup', A.operand, B.operand, shape, undefined, false);
    const vec4 = await launchProduct('registerTiledVec4', A.operand, B.operand, shape, undefined, false);
    assert.equal(fallback.kernels, ['matmul.registerTiledVec4.none'], context(`${what}: registerTiledVec4 runs`));
    assert.equal(Array.from(fallback.values), Array.from(vec4.values), context(`${what}: same values as registerTiledVec4`));
  } finally {
    device.info = saved;
  }
  const misaligned = storeOperand(a, { ...aligned, offset: rng.int(1, 3) });
  const what = `[${M}, ${K}] at a misaligned offset @ [${K}, ${N}]`;
  const fallback = await launchProduct('subgroup', misaligned.operand, B.operand, shape, undefined, false);
  const scalar = await launchProduct('registerTiled', misaligned.operand, B.operand, shape, undefined, false);
  assert.equal(fallback.kernels, ['matmul.registerTiled.none'], context(`${what}: registerTiled runs`));
  assert.equal(Array.from(fallback.values), Array.from(scalar.values), context(`${what}: same values as registerTiled`));
  assertNear(fallback.values, productReference(a, b, undefined, false), what, 1e-4, 2e-6 * Math.sqrt(K));
  for (const t of [A, B, misaligned]) t.dispose();
});

test('matmul subgroup runs on packed copies (K rounded up to 4) where vec4 reads do not fit and the product is large: K % 4, misaligned offsets, odd strides, batched and broadcast, bias and relu, also in blocks over a lowered binding limit', async () => {
  for (let round = 0; round < 3; round++) {
    // At least SUBGROUP_PACK_MIN_PRODUCT (2^18) multiply-adds per block, also with one batch per block.
    const [batch, M, N, K] = [2, rng.int(66, 75), rng.int(66, 75), 4 * rng.int(21, 24) + (round === 0 ? 0 : rng.int(1, 3))];
    const aStorage: Storage = { transposed: round === 1, pad: rng.int(0, 3), offset: round === 0 ? rng.int(1, 3) : rng.int(0, 7), broadcast: round === 2 };
    // An odd offset: B can never be read in place (round 0 has K % 4 == 0, where an aligned B would be).
    const bStorage: Storage = { transposed: round === 2, pad: 2 * rng.int(0, 2) + 1, offset: 2 * rng.int(0, 3) + 1, broadcast: round === 1 };
    const a = roundF32(ref.randn(rng, [aStorage.broadcast ? 1 : batch, M, K]));
    const b = roundF32(ref.randn(rng, [bStorage.broadcast ? 1 : batch, K, N]));
    const bias = roundF32(ref.randn(rng, [N]));
    const [A, B] = [storeOperand(a, aStorage), storeOperand(b, bStorage)];
    const broadcast = (x: T64, s: Storage, rows: number, cols: number) => ({ shape: [batch, rows, cols], data: s.broadcast ? Float64Array.from({ length: batch * rows * cols }, (_, i) => x.data[i % (rows * cols)]) : x.data });
    const expected = productReference(broadcast(a, aStorage, M, K), broadcast(b, bStorage, K, N), bias, true);
    const what = `[${batch}, ${M}, ${K}] (${layoutName(aStorage, ['m', 'k'])}) @ [${batch}, ${K}, ${N}] (${layoutName(bStorage, ['k', 'n'])}) + bias, relu`;
    // 32 KiB: A, B and C in blocks of one batch (each block still packs: its copies fit, and it has over 2^18 multiply-adds).
    for (const limit of [undefined, 32768]) {
      gpu().setMaxBindingBytes(limit);
      try {
        const { values, kernels } = await launchProduct('subgroup', A.operand, B.operand, { batch, M, N, K }, bias, true);
        const expectedKernels = subgroupMatmulRuns() ? ['matmul.subgroup.relu', 'matmul_pack.A', 'matmul_pack.B'] : ['matmul.registerTiled.relu'];
        assert.equal([...new Set(kernels)].sort(), expectedKernels, context(`${what}, binding limit ${limit ?? 'the adapter\'s'}: the kernels run (got ${kernels.join(', ')})`));
        assertNear(values, expected, `${what}, binding limit ${limit ?? "the adapter's"}`, 1e-4, 2e-6 * Math.sqrt(K));
      } finally {
        gpu().setMaxBindingBytes(undefined);
      }
    }
    A.dispose();
    B.dispose();
  }
});

test('matmul packed runs its kernel where vec4 reads do not fit (K % 4, misaligned offsets, strides not a multiple of 4, odd sizes), packing both operands', async () => {
  for (let round = 0; round < 4; round++) {
    const [batch, M, N, K] = [rng.int(1, 3), rng.int(1, 40), rng.int(1, 40), rng.int(1, 40)];
    const storage = (transposed: boolean): Storage => ({ transposed, pad: rng.int(0, 5), offset: rng.int(0, 7), broadcast: batch > 1 && rng.int(0, 1) === 1 });
    const [aStorage, bStorage] = [storage(rng.int(0, 1) === 1), storage(rng.int(0, 1) === 1)];
    const a = roundF32(ref.randn(rng, [aStorage.broadcast ? 1 : batch, M, K]));
    const b = roundF32(ref.randn(rng, [bStorage.broadcast ? 1 : batch, K, N]));
    const bias = roundF32(ref.randn(rng, [N]));
    const [A, B] = [storeOperand(a, aStorage), storeOperand(b, bStorage)];
    const what = `[${batch}, ${M}, ${K}] (${layoutName(aStorage, ['m', 'k'])}) @ [${batch}, ${K}, ${N}] (${layoutName(bStorage, ['k', 'n'])}) + bias, relu`;
    const { values, kernels } = await launchProduct('packed', A.operand, B.operand, { batch, M, N, K }, bias, true);
    assert.ok(kernels.includes('matmul.packed.relu'), context(`${what}: the packed kernel runs (got ${kernels.join(', ')})`));
    const broadcast = (x: T64, s: Storage, rows: number, cols: number) => ({ shape: [batch, rows, cols], data: s.broadcast ? Float64Array.from({ length: batch * rows * cols }, (_, i) => x.data[i % (rows * cols)]) : x.data });
    assertNear(values, productReference(broadcast(a, aStorage, M, K), broadcast(b, bStorage, K, N), bias, true), what, 1e-4, 2e-6 * Math.sqrt(K));
    A.dispose();
    B.dispose();
  }
});

test('matmul packed takes the vec4 kernel where it would pack a large operand that few outputs use (the fc layer x @ Wᵀ at a small batch)', async () => {
  const [M, N, K] = [rng.int(2, 8), 4 * rng.int(64, 80), 4 * rng.int(256, 300)];
  const x = roundF32(ref.randn(rng, [1, M, K]));
  const w = roundF32(ref.randn(rng, [1, K, N], 1 / Math.sqrt(K)));
  const X = storeOperand(x, { transposed: false, pad: 0, offset: 0, broadcast: false });
  const W = storeOperand(w, { transposed: true, pad: 0, offset: 0, broadcast: false });
  const { values, kernels } = await launchProduct('packed', X.operand, W.operand, { batch: 1, M, N, K }, undefined, false);
  assert.equal(kernels, ['matmul.registerTiledVec4.none'], context(`[${M}, ${K}] @ [${N}, ${K}]ᵀ: the vec4 kernel runs`));
  assertNear(values, productReference(x, w, undefined, false), `[${M}, ${K}] @ [${N}, ${K}]ᵀ`, 1e-4, 2e-6 * Math.sqrt(K));
  X.dispose();
  W.dispose();
});

test('linear with the fused relu passes NaN and ±inf on as torch.relu(linear) does, on every matmul variant', async () => {
  const [rows, inF, outF] = [4, rng.int(3, 20), rng.int(2, 20)];
  const x = roundF32(ref.randn(rng, [rows, inF]));
  x.data[rng.int(0, inF - 1)] = NaN; // row 0: NaN in every output
  x.data[inF + rng.int(0, inF - 1)] = Infinity; // row 1: ±inf by the weight's sign, relu(-inf) = 0
  x.data[2 * inF + rng.int(0, inF - 1)] = -Infinity;
  const w = roundF32(ref.randn(rng, [outF, inF]));
  const b = roundF32(ref.randn(rng, [outF]));
  const [xt, wt, bt] = [toTensor(x), toTensor(w), toTensor(b)];
  try {
    for (const variant of MATMUL_VARIANTS) {
      const y = await gpu().policy.with({ matmul: variant }, () => F.linear(xt, wt, bt, 'relu'));
      assertNear(await y.toArray(), linearRelu64(x, w, b), `linear relu (${variant}) with NaN and ±inf inputs`, 1e-4, tolerance(inF).atol);
      y.dispose();
    }
    // torch's relu backward (threshold_backward) zeroes only where the output is <= 0: a NaN output passes the gradient.
    const bias = toTensor(b, true);
    F.sum(F.linear(xt, wt, bias, 'relu')).backward();
    const y64 = linearRelu64(x, w, b).data;
    const expected = Array.from({ length: outF }, (_, j) => Array.from({ length: rows }, (_, r) => (y64[r * outF + j]! <= 0 ? 0 : 1)).reduce((s: number, v) => s + v, 0));
    assert.equal(Array.from(await bias.grad!.toArray()), expected, 'd sum(relu(linear)) / d bias with NaN outputs');
    bias.dispose();
  } finally {
    for (const t of [xt, wt, bt]) t.dispose();
  }
});

test('linear with an operand that needs no gradient', async () => {
  await checkOp({ name: 'linear (x constant)', rng, inputs: [{ shape: [5, 7], requiresGrad: false }, [3, 7], [3]], forward: ([x, w, b]) => F.linear(x, w, b), reference: ([x, w, b]) => ref.linear(x, w, b) });
  await checkOp({ name: 'linear (w constant)', rng, inputs: [[5, 7], { shape: [3, 7], requiresGrad: false }, { shape: [3], draw: draw.normal }], forward: ([x, w, b]) => F.linear(x, w, b), reference: ([x, w, b]) => ref.linear(x, w, b) });
  await checkOp({ name: 'matmul (b constant)', rng, inputs: [[2, 4, 6], { shape: [6, 3], requiresGrad: false }], forward: ([a, b]) => F.matmul(a, b), reference: ([a, b]) => ref.matmul(a, b) });
});

test('matmul and linear shape errors', () => {
  const a = tensor(new Float32Array(12), [3, 4]);
  const b = tensor(new Float32Array(15), [5, 3]);
  throwsWith(() => F.matmul(a, b), /matmul: shapes \[3, 4\] and \[5, 3\] do not multiply \(inner dimensions 4 and 5\)/, 'matmul inner');
  throwsWith(() => F.matmul(tensor(new Float32Array(24), [2, 3, 4]), tensor(new Float32Array(36), [3, 4, 3])), /do not broadcast/, 'matmul batch');
  throwsWith(() => F.linear(a, b), /linear: input \[3, 4\] does not match weight \[5, 3\]/, 'linear');
  throwsWith(() => F.linear(a, tensor(new Float32Array(8), [2, 4]), tensor(new Float32Array(3), [3])), /bias \[3\] should be \[2\]/, 'linear bias');
  // An activation the epilogue does not know must not run as some other one.
  throwsWith(() => F.linear(a, tensor(new Float32Array(8), [2, 4]), undefined, 'gelu' as never), /linear: activation "gelu" cannot be fused/, 'linear activation');
  // No input features: PyTorch returns the bias; the kernel's bias epilogue wrote it to the first row only.
  throwsWith(() => F.linear(tensor([], [2, 0]), tensor([], [3, 0]), tensor([1, 2, 3], [3])), /linear: weight \[3, 0\] has no input features/, 'linear in 0');
});

test.run();
