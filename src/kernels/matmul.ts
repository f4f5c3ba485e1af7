// Launcher for batched matmul with strided operands, optional bias and fused activation.
// The variant comes from gpu().policy ('matmul'); registerTiledVec4 (shaders/matmul_vec4.wgsl)
// runs where the operands allow vec4 reads and registerTiled elsewhere, so no policy choice makes
// a shape fail; subgroup (shaders/matmul_subgroup.wgsl) runs on adapters with subgroups of 8, on
// packed copies of A and B where vec4 reads do not fit and the product is large enough, and the vec4
// path elsewhere; packed (shaders/matmul_packed.wgsl) packs the operands that are not already in its
// layout (shaders/matmul_pack.wgsl) into pool buffers released after the launch, and takes the
// vec4 path where packing would not fit a binding or would cost more than it saves (packedRuns).
// A product whose A, B or C exceeds one storage binding (gpu().maxBindingBytes) runs as several
// launches over blocks of batches, rows, columns and K, each tensor bound from an aligned offset at
// or below its block's first element; the K blocks add into C.
// f16 operands (MatrixOperand.type 'f16', both A and B) run the kernel the policy's choice runs in
// f32, built for f16 (shaders/include/operand.wgsl; `.f16` names), accumulating in f32 into C (f32,
// or f16 stored by the kernel under halfStores 'epilogue': shaders/include/stored.wgsl, `.toHalf` names):
// matmul.wgsl, matmul_vec4.wgsl and matmul_subgroup.wgsl read f16 in place; where the subgroup kernel
// needs packed copies, matmul_pack.wgsl's f16 build packs both operands into f32 copies that the f32
// subgroup kernel reads; 'packed' takes the vec4 path (matmul_packed.wgsl reads f32 only).
import { assertShaderF16, gpu, type Binding } from '../gpu/index.js';
import { MATMUL_VARIANTS, type KernelChoices } from '../gpu/policy.js';
import { Params, alloc, bytesPerElement, elementRange, epilogueStores, grid1d, kernel, registerTileShape, subgroupsOfEight, SUBGROUP_LANES, workgroupTileGrid, type OperandType } from './launch.js';
import { resultAs } from './cast.js';

export interface MatrixOperand {
  buffer: GPUBuffer;
  /** Element strides: between batches (0 = broadcast), rows and columns. */
  batchStride: number;
  rowStride: number;
  colStride: number;
  /** Element index of [0, 0, 0] in the buffer (default 0). */
  offset?: number;
  /** Element type (default 'f32'); A and B must share it. f16: 2-byte elements, as launch.ts's OperandType. */
  type?: OperandType;
}

/** Chosen by gpu().policy ('matmul'). */
export type MatmulVariant = KernelChoices['matmul'];

/** What the autotuner times for a product (every variant runs every shape: vec4 falls back by itself). */
const TUNED_VARIANTS: readonly MatmulVariant[] = MATMUL_VARIANTS;

/** The product's four dimensions: batch, rows of A and C (M), columns of B and C (N), depth (K). */
const DIMENSIONS = ['batch', 'rows', 'cols', 'depth'] as const;
type Dimension = (typeof DIMENSIONS)[number];
type Sizes = Record<Dimension, number>;

interface StridedTensor extends Layout {
  buffer: GPUBuffer;
}

/** Where a tensor's elements lie, whatever buffer holds them. */
interface Layout {
  /** Bytes per element: 4 (f32), 2 (f16). */
  elementBytes: number;
  offset: number;
  /** Element stride along each dimension of the product (0 where the tensor does not vary). */
  strides: Sizes;
}

/** Elements from a tensor's first to its last element in a block of these sizes (0 for an empty block). */
function span(t: Layout, sizes: Sizes): number {
  if (DIMENSIONS.some((d) => sizes[d] === 0)) return 0;
  return 1 + DIMENSIONS.reduce((sum, d) => sum + t.strides[d] * (sizes[d] - 1), 0);
}

/** Elements of `elementBytes` bytes per minStorageBufferOffsetAlignment: bindings start at multiples of this. */
const offsetAlignment = (elementBytes: number): number => gpu().device.limits.minStorageBufferOffsetAlignment / elementBytes;

/**
 * Block sizes such that every tensor's block fits one binding: the whole product when it fits,
 * else, repeatedly, the dimension that contributes most to a too-large tensor's span is halved
 * (rows, columns and depth kept multiples of 4, so that vec4 reads stay aligned). Stops when
 * nothing more can be split; the runtime then refuses the binding in one line.
 */
function blockSizes(tensors: Layout[], whole: Sizes): Sizes {
  const limit = gpu().maxBindingBytes;
  if (tensors.every((t) => ((t.offset % offsetAlignment(t.elementBytes)) + span(t, whole)) * t.elementBytes <= limit)) return whole;
  // A block may start anywhere: allow for the aligned offset below its first element.
  const bytes = (t: Layout, sizes: Sizes) => (offsetAlignment(t.elementBytes) - 1 + span(t, sizes)) * t.elementBytes;
  const sizes = { ...whole };
  for (;;) {
    const tooLarge = tensors.find((t) => bytes(t, sizes) > limit);
    if (!tooLarge) return sizes;
    let widest: Dimension | undefined;
    for (const d of DIMENSIONS) {
      const contribution = tooLarge.strides[d] * (sizes[d] - 1);
      if (contribution > 0 && (!widest || contribution > tooLarge.strides[widest] * (sizes[widest] - 1))) widest = d;
    }
    if (!widest) return sizes;
    const half = Math.ceil(sizes[widest] / 2);
    sizes[widest] = widest !== 'batch' && half > 4 ? Math.ceil(half / 4) * 4 : half;
  }
}

/** [start, count) runs of `size` elements in blocks of `block` (one empty run when size is 0). */
function runs(size: number, block: number): { start: number; count: number }[] {
  if (size === 0) return [{ start: 0, count: 0 }];
  const result: { start: number; count: number }[] = [];
  for (let start = 0; start < size; start += block) result.push({ start, count: Math.min(block, size - start) });
  return result;
}

/** The binding of `count` elements of `elementBytes` bytes from element `start` of a buffer, from the aligned offset at or below it. */
function bindFrom(buffer: GPUBuffer, start: number, count: number, elementBytes: number): { binding: Binding; offset: number } {
  const alignment = offsetAlignment(elementBytes);
  const base = Math.floor(start / alignment) * alignment;
  return { binding: elementRange(buffer, base, start - base + Math.max(count, 1), elementBytes), offset: start - base };
}

const isMultipleOf4 = (x: number) => x % 4 === 0;

/**
 * The vec4 kernel's layout for this launch (which axis each operand is read along), or undefined
 * when it cannot run it: K % 4, and each operand contiguous along an axis with its offset and other
 * strides multiples of 4 (a stride over a dimension of size 1 is never used and does not count).
 */
function vec4Layout(a: StridedTensor, b: StridedTensor, sizes: Sizes): { aAlongM: boolean; bAlongK: boolean } | undefined {
  if (!isMultipleOf4(sizes.depth)) return undefined;
  const aligned = (t: StridedTensor, dimension: Dimension) => sizes[dimension] <= 1 || isMultipleOf4(t.strides[dimension]);
  const alongAxis = (t: StridedTensor, axis: Dimension, other: Dimension) => t.strides[axis] === 1 && isMultipleOf4(t.offset) && aligned(t, other) && aligned(t, 'batch');
  const aAlongK = alongAxis(a, 'depth', 'rows');
  const bAlongN = alongAxis(b, 'cols', 'depth');
  const aAlongM = !aAlongK && alongAxis(a, 'rows', 'depth');
  const bAlongK = !bAlongN && alongAxis(b, 'depth', 'cols');
  if (!(aAlongK || aAlongM) || !(bAlongN || bAlongK)) return undefined;
  return { aAlongM, bAlongK };
}

/**
 * The variant f16 operands run: the policy's matmul choice (launch() routes 'packed' to the vec4
 * path). The autotuner is not asked: it would time the f32 kernels.
 */
function f16Variant(): MatmulVariant {
  return gpu().policy.get('matmul');
}

/** Which index of C the bias follows: its column (bias[N], a linear layer's) or its row (bias[M], a 1×1 conv's per output channel). */
export type BiasAlong = 'cols' | 'rows';

/**
 * C[batch, M, N] = act(A[batch, M, K] @ B[batch, K, N] + bias[N]) (bias[M] with biasAlong 'rows').
 * `activation` is a WGSL expression of v (e.g. "max(v, 0.0)"), "v" for none. A and B are f32, or
 * both f16 (their `type`); bias is f32; C is `output`: f32, or f16 (rounded once from the f32 sum, in
 * the kernel's epilogue where the policy's halfStores is 'epilogue' and K runs in one launch, else by a
 * cast pass after it).
 */
export function matmul(a: MatrixOperand, b: MatrixOperand, batch: number, M: number, N: number, K: number, bias?: GPUBuffer, activation = 'v', activationName = 'none', biasAlong: BiasAlong = 'cols', output: OperandType = 'f32'): GPUBuffer {
  const operands = a.type ?? 'f32';
  if ((b.type ?? 'f32') !== operands) throw new Error(`matmul: A is ${operands} and B is ${b.type ?? 'f32'}; both operands must have the same type (cast one first)`);
  if (operands === 'f16') assertShaderF16('matmul');
  const operandBytes = bytesPerElement(operands);
  const A: StridedTensor = { buffer: a.buffer, elementBytes: operandBytes, offset: a.offset ?? 0, strides: { batch: a.batchStride, rows: a.rowStride, cols: 0, depth: a.colStride } };
  const B: StridedTensor = { buffer: b.buffer, elementBytes: operandBytes, offset: b.offset ?? 0, strides: { batch: b.batchStride, rows: 0, cols: b.colStride, depth: b.rowStride } };
  const Bias: StridedTensor | undefined = bias ? { buffer: bias, elementBytes: 4, offset: 0, strides: { batch: 0, rows: biasAlong === 'rows' ? 1 : 0, cols: biasAlong === 'cols' ? 1 : 0, depth: 0 } } : undefined;
  const whole: Sizes = { batch, rows: M, cols: N, depth: K };
  const cLayout = (type: OperandType): Layout => ({ elementBytes: bytesPerElement(type), offset: 0, strides: { batch: M * N, rows: N, cols: 1, depth: 0 } });
  const blockFor = (type: OperandType) => blockSizes(Bias ? [A, B, cLayout(type), Bias] : [A, B, cLayout(type)], whole);
  // A product whose K runs in several launches adds each into C: those sums stay f32, C is rounded after (resultAs).
  let stores = epilogueStores(output);
  if (stores === 'f16' && blockFor('f16').depth < K) stores = 'f32';
  if (stores === 'f16') assertShaderF16('matmul (float16 output)');
  // Whole vec4s: matmul_subgroup.wgsl binds C as array<vec4<Stored>> (a 5-float C's 24-byte pool buffer would hide its last element).
  const c = alloc(Math.ceil((batch * M * N) / 4) * 4, stores);
  if (batch * M * N === 0) return resultAs(c, 0, stores, output);
  const C: StridedTensor = { ...cLayout(stores), buffer: c };
  const shapeClass = () => `matmul ${batch}x${M}x${N}x${K} A[${a.batchStride},${a.rowStride},${a.colStride}]+${A.offset} B[${b.batchStride},${b.rowStride},${b.colStride}]+${B.offset}${bias ? ' bias' : ''}`;
  const chosen: MatmulVariant = operands === 'f16' ? f16Variant() : gpu().policy.choose('matmul', shapeClass, TUNED_VARIANTS, () => {
    // The same product on scratch operands of the same sizes (the caller's buffers may be reused by then).
    const [scratchA, scratchB] = [gpu().pool.acquire(a.buffer.size), gpu().pool.acquire(b.buffer.size)];
    const scratchBias = bias && gpu().pool.acquire(bias.size);
    return {
      run: () => gpu().pool.release(matmul({ ...a, buffer: scratchA }, { ...b, buffer: scratchB }, batch, M, N, K, scratchBias, activation, activationName, biasAlong)),
      dispose: () => [scratchA, scratchB, scratchBias].forEach((buffer) => buffer && gpu().pool.release(buffer)),
    };
  });
  const block = blockFor(stores);
  for (const batches of runs(batch, block.batch)) {
    for (const rows of runs(M, block.rows)) {
      for (const cols of runs(N, block.cols)) {
        const depths = runs(K, block.depth);
        depths.forEach((depth, index) => {
          const start = { batch: batches.start, rows: rows.start, cols: cols.start, depth: depth.start };
          const sizes = { batch: batches.count, rows: rows.count, cols: cols.count, depth: depth.count };
          // Each tensor's block, bound from an aligned offset; the remainder goes in the params.
          const part = (t: StridedTensor) => {
            const first = t.offset + DIMENSIONS.reduce((sum, d) => sum + t.strides[d] * start[d], 0);
            const { binding, offset } = bindFrom(t.buffer, first, span(t, sizes), t.elementBytes);
            return { binding, tensor: { ...t, offset } };
          };
          const [aPart, bPart, cPart] = [part(A), part(B), part(C)];
          const biasPart = Bias ? part(Bias) : undefined;
          const epilogue = { bias: biasPart !== undefined && index === 0, biasAlongRows: biasAlong === 'rows', accumulate: index > 0, activate: index === depths.length - 1 };
          launch(chosen, aPart, bPart, biasPart, cPart, sizes, epilogue, activation, activationName, operands, stores);
        });
      }
    }
  }
  return resultAs(c, batch * M * N, stores, output);
}

interface Part {
  binding: Binding;
  tensor: StridedTensor;
}

/** What a launch's epilogue adds: the bias (in the first K block; along C's rows or columns), C's earlier sum (later K blocks), the activation (the last). */
interface Epilogue {
  bias: boolean;
  biasAlongRows: boolean;
  accumulate: boolean;
  activate: boolean;
}

/**
 * An operand as matmul_packed.wgsl reads it: vec4 quads of 4 rows of A (columns of B) at one k,
 * `width` vec4s per k from vec4 `offset`, `batchStride` vec4s per batch (0: one for all batches).
 */
interface PackedOperand {
  binding: Binding;
  offset: number;
  width: number;
  batchStride: number;
  /** A pool buffer that the launch releases after its dispatch (none when the operand was read in place). */
  scratch?: GPUBuffer;
}

/**
 * Outputs per packed invocation (matmul_packed.wgsl's ROWS x COLS): 4 x 8, the conv kernels'
 * threeWidePair shape. 4 x 4, 8 x 4, 4 x 8 and 8 x 8 were within the noise of each other on
 * lavapipe (3-4 GFLOP/s at 1024³ and 512³ on a loaded machine); 8 x 8 never led (bench/RESULTS.md).
 */
const PACKED_TILE = { rows: 4, cols: 8 };

/**
 * Packing an operand larger than this whose elements are each used by fewer than PACKED_MIN_REUSE
 * outputs costs more than the packed kernel saves where the vec4 kernel can run: the fc layer's
 * 16x8192 @ (512x8192)ᵀ packs 4M weights in 53-59 ms against a 31-37 ms product (1.3-1.9 GFLOP/s,
 * registerTiledVec4 3.3-5.0), so the launcher takes the vec4 kernel there.
 */
const PACKED_LARGE_OPERAND = 1 << 18;
const PACKED_MIN_REUSE = 64;

const packedBatches = (t: Part, sizes: Sizes) => (t.tensor.strides.batch !== 0 && sizes.batch > 1 ? sizes.batch : 1);

/**
 * Whether an operand is already in the packed layout, so the GEMM reads it in place: contiguous
 * along X (A transposed, or B row-major), with its offset, its K stride (at least X) and its batch
 * stride multiples of 4, so every quad is an aligned vec4.
 */
function readsInPlace(t: Part, along: 'rows' | 'cols', X: number, sizes: Sizes): boolean {
  const { strides, offset } = t.tensor;
  return strides[along] === 1 && isMultipleOf4(offset) && (sizes.depth <= 1 || (isMultipleOf4(strides.depth) && strides.depth >= X)) && (packedBatches(t, sizes) === 1 || isMultipleOf4(strides.batch));
}

/**
 * A by rows or B by columns as the GEMM reads it: in place, or packed by shaders/matmul_pack.wgsl (X is M for A, N for B)
 * with `packedK` rows of k (zero from K on; only a packed copy can have more rows than K).
 */
function packOperand(t: Part, X: number, along: 'rows' | 'cols', sizes: Sizes, packedK = sizes.depth, operands: OperandType = 'f32'): PackedOperand {
  const batches = packedBatches(t, sizes);
  const { strides, offset } = t.tensor;
  // An f16 operand is always copied: the copy is f32, and the GEMM reads both operands as one type.
  if (operands === 'f32' && packedK === sizes.depth && readsInPlace(t, along, X, sizes)) return { binding: t.binding, offset: offset / 4, width: sizes.depth <= 1 ? 0 : strides.depth / 4, batchStride: batches > 1 ? strides.batch / 4 : 0 };
  const width = Math.ceil(X / 4);
  const count = batches * packedK * width;
  const buffer = alloc(Math.max(count, 1) * 4);
  const params = new Params().u32(X, sizes.depth, width, batches, strides.batch, strides[along], strides.depth, offset).u32(packedK, 0, 0, 0);
  if (count > 0) gpu().dispatch(kernel('matmul_pack', { name: `matmul_pack.${along === 'rows' ? 'A' : 'B'}`, entryPoint: 'pack', operands }), [t.binding, buffer], params.done(), grid1d(count));
  return { binding: buffer, offset: 0, width, batchStride: batches > 1 ? packedK * width : 0, scratch: buffer };
}

/**
 * Whether a launch under 'packed' runs the packed kernel: the operands it packs fit one binding,
 * and none is a large one used by few outputs where the vec4 kernel can run (PACKED_LARGE_OPERAND).
 */
function packedRuns(a: Part, b: Part, sizes: Sizes): boolean {
  const packed = [
    { elements: readsInPlace(a, 'rows', sizes.rows, sizes) ? 0 : packedBatches(a, sizes) * sizes.depth * Math.ceil(sizes.rows / 4) * 4, reuse: sizes.cols },
    { elements: readsInPlace(b, 'cols', sizes.cols, sizes) ? 0 : packedBatches(b, sizes) * sizes.depth * Math.ceil(sizes.cols / 4) * 4, reuse: sizes.rows },
  ];
  if (packed.some((p) => p.elements * 4 > gpu().maxBindingBytes)) return false;
  return !packed.some((p) => p.elements > PACKED_LARGE_OPERAND && p.reuse < PACKED_MIN_REUSE) || !vec4Layout(a.tensor, b.tensor, sizes);
}

function launchPacked(a: Part, b: Part, bias: Part | undefined, c: Part, sizes: Sizes, epilogue: Epilogue, activation: string, activationName: string, stores: OperandType): void {
  const packedA = packOperand(a, sizes.rows, 'rows', sizes);
  const packedB = packOperand(b, sizes.cols, 'cols', sizes);
  const { rows, cols } = PACKED_TILE;
  // registerTileShape counts 4 x 4 blocks: one per invocation's ROWS x COLS outputs.
  const shape = registerTileShape(Math.ceil(sizes.rows / rows) * 4, Math.ceil(sizes.cols / cols) * 4, 64);
  const k = kernel('matmul_packed', { name: `matmul.packed.${activationName}`, entryPoint: 'packed', replacements: { ACT: activation }, constants: { ...shape.constants, ROWS: rows, COLS: cols }, stores });
  const C = c.tensor;
  const params = new Params()
    .u32(sizes.rows, sizes.cols, sizes.depth, epilogue.bias ? 1 : 0)
    .u32(packedA.batchStride, packedA.width, Math.ceil(sizes.rows / 4), packedA.offset)
    .u32(packedB.batchStride, packedB.width, Math.ceil(sizes.cols / 4), packedB.offset)
    .u32(C.strides.batch, C.strides.rows, C.offset, bias?.tensor.offset ?? 0)
    .u32(epilogue.accumulate ? 1 : 0, epilogue.activate ? 1 : 0, epilogue.biasAlongRows ? 1 : 0, 0);
  gpu().dispatch(k, [packedA.binding, packedB.binding, epilogue.bias ? bias!.binding : gpu().placeholder, c.binding], params.done(), [...shape.workgroups, sizes.batch]);
  // The pool hands buffers out again in queue order, so releasing right after the dispatch is safe.
  for (const scratch of [packedA.scratch, packedB.scratch]) if (scratch) gpu().pool.release(scratch);
}

/** The strided kernels' parameters (shaders/include/matmul_epilogue.wgsl's Params). */
function stridedParams(a: Part, b: Part, bias: Part | undefined, c: Part, sizes: Sizes, epilogue: Epilogue): Params {
  const [A, B, C] = [a.tensor, b.tensor, c.tensor];
  return new Params()
    .u32(sizes.rows, sizes.cols, sizes.depth, epilogue.bias ? 1 : 0)
    .u32(A.strides.batch, A.strides.rows, A.strides.depth, A.offset)
    .u32(B.strides.batch, B.strides.depth, B.strides.cols, B.offset)
    .u32(C.strides.batch, C.strides.rows, C.offset, bias?.tensor.offset ?? 0)
    .u32(epilogue.accumulate ? 1 : 0, epilogue.activate ? 1 : 0, epilogue.biasAlongRows ? 1 : 0, C.strides.cols);
}

/** Rows of C per invocation of matmul_subgroup.wgsl (its ROWS). */
const SUBGROUP_ROWS = 16;

/** Whether the subgroup kernel can run here (subgroups of exactly SUBGROUP_LANES; elsewhere the vec4 kernel). */
export const subgroupMatmulRuns = subgroupsOfEight;

/**
 * matmul_subgroup.wgsl's workgroup: up to 64 invocations, up to 8 rows of them (16 rows of C each: WGY the largest power
 * of 2 up to 8 that divides the blocks of 16 rows, so no workgroup row computes only clamped copies of the last row) and
 * along the columns whole subgroups, as many as divide the subgroups N needs (a power of 2), so no workgroup runs a
 * subgroup of clamped copies only. Why: rounding M = 96 (LightCNN group1's 1×1 forward) or 48 up to a power of 2 wasted a
 * quarter of the invocations, and so did N = 96 (group2's weight gradient, 3 subgroups) in workgroups of 2 subgroups.
 */
function subgroupTileShape(M: number, N: number): { constants: { WGX: number; WGY: number }; workgroups: [number, number] } {
  const rowBlocks = Math.ceil(M / SUBGROUP_ROWS);
  let wgy = 1;
  while (wgy < 8 && rowBlocks % (2 * wgy) === 0) wgy *= 2;
  const columnSubgroups = Math.ceil(N / (4 * SUBGROUP_LANES));
  let subgroups = 64 / (SUBGROUP_LANES * wgy);
  while (subgroups > 1 && (gpu().policy.get('matmulSubgroupTiles') === 'fitted' ? columnSubgroups % subgroups !== 0 : (subgroups / 2) * SUBGROUP_LANES * 4 >= N)) subgroups /= 2;
  const wgx = subgroups * SUBGROUP_LANES;
  return { constants: { WGX: wgx, WGY: wgy }, workgroups: [Math.ceil(N / (4 * wgx)), Math.ceil(M / (SUBGROUP_ROWS * wgy))] };
}

/**
 * Where vec4 reads do not fit (K % 4, a misaligned offset or stride), the subgroup kernel runs on copies of A and B
 * packed with K rounded up to 4 when the product has at least this many multiply-adds: below it the two pack
 * dispatches (~30-40 µs each on lavapipe) cost more than registerTiled's whole product (1 GFLOP/s or more).
 */
const SUBGROUP_PACK_MIN_PRODUCT = 1 << 18;

const roundUp4 = (x: number) => Math.ceil(x / 4) * 4;

/** Whether a launch under 'subgroup' whose layout vec4 cannot read packs its operands: large enough, and the copies fit a binding each. */
function subgroupPacks(a: Part, b: Part, sizes: Sizes): boolean {
  if (sizes.batch * sizes.rows * sizes.cols * sizes.depth < SUBGROUP_PACK_MIN_PRODUCT) return false;
  const copy = (t: Part, X: number) => packedBatches(t, sizes) * roundUp4(sizes.depth) * roundUp4(X) * 4;
  return copy(a, sizes.rows) <= gpu().maxBindingBytes && copy(b, sizes.cols) <= gpu().maxBindingBytes;
}

/** matmul_subgroup.wgsl's EPILOGUE_PER_ROW from the policy's matmulSubgroupEpilogue. */
const epiloguePerRow = (): number => Number(gpu().policy.get('matmulSubgroupEpilogue') === 'perRow');

/** matmul_subgroup.wgsl's C_QUADS: every 4 columns of a row of C from a multiple of 4 are inside N and one aligned vec4. */
function cQuads(c: Part, sizes: Sizes): number {
  const { offset, strides } = c.tensor;
  return Number(isMultipleOf4(sizes.cols) && isMultipleOf4(offset) && (sizes.rows <= 1 || isMultipleOf4(strides.rows)) && (sizes.batch <= 1 || isMultipleOf4(strides.batch)));
}

/**
 * C_ALONG_M's constants and kernel-name part: with B read along k, the policy's columnsOutB 'workgroup' and the
 * workgroup's 4·WGX columns over the whole K within the workgroup storage, B_SHARED.
 */
function columnsOut(shape: { constants: { WGX: number } }, K: number, bAlongK: boolean): { constants: Record<string, number>; name: string } {
  const quads = shape.constants.WGX * K;
  const shared = bAlongK && gpu().policy.get('columnsOutB') === 'workgroup' && quads * 16 <= gpu().device.limits.maxComputeWorkgroupStorageSize;
  return { constants: { C_ALONG_M: 1, ...(shared ? { B_SHARED: 1, B_SHARED_QUADS: quads } : {}) }, name: shared ? 'ColumnsOutSharedB' : 'ColumnsOut' };
}

/** C contiguous along n (C_QUADS where its quads are whole) or, with `cAlongM`, along m (matmul_subgroup.wgsl's C_ALONG_M: matmulColumnsOut). */
function launchSubgroup(a: Part, b: Part, bias: Part | undefined, c: Part, sizes: Sizes, layout: { aAlongM: boolean; bAlongK: boolean }, epilogue: Epilogue, activation: string, activationName: string, operands: OperandType, stores: OperandType, cAlongM = false): void {
  const shape = subgroupTileShape(sizes.rows, sizes.cols);
  const cLayout = cAlongM ? columnsOut(shape, sizes.depth, layout.bAlongK) : { constants: { C_QUADS: cQuads(c, sizes) }, name: '' };
  const constants = { ...shape.constants, A_ALONG_M: Number(layout.aAlongM), B_ALONG_K: Number(layout.bAlongK), EPILOGUE_PER_ROW: epiloguePerRow(), ...cLayout.constants };
  const k = kernel('matmul_subgroup', { name: `matmul.subgroup${cLayout.name}.${activationName}`, entryPoint: 'subgroupTiled', replacements: { ACT: activation }, constants, operands, stores });
  const bindings = [a.binding, b.binding, epilogue.bias ? bias!.binding : gpu().placeholder, c.binding, gpu().placeholderOutput];
  gpu().dispatch(k, bindings, stridedParams(a, b, bias, c, sizes, epilogue).done(), [...shape.workgroups, sizes.batch]);
}

/**
 * The max-feature-map of a product's row pairs, a 1×1 conv2dMfm's forward as one GEMM launch (matmul_subgroup.wgsl's MFM):
 * C[batch, c, n] = max over h of (A[batch] @ B[batch])[c + h·M/2, n] + bias[c + h·M/2] (M = 2C rows, bias along rows),
 * and with `withMask` the mask [batch, C, N] (u32; shaders/include/mfm_pair.wgsl) mfmBackwardFromMask routes by.
 * With pairs 'columns' the pairs are the product's columns, stored transposed as matmulColumnsOut stores:
 * C[batch, c, m] = max over h of (A[batch] @ B[batch])[m, c + h·N/2] + bias[c + h·N/2] (the forward as xᵀ·Wᵀ).
 * Undefined where that one launch cannot run — the policy's matmul not 'subgroup', subgroups not 8 wide, the paired
 * dimension odd, operands not in matmul's vec4 layouts (rows: A read along k; columns: B read along k, M % 16 == 0),
 * or a tensor past one binding — and the caller runs its own kernels.
 */
export function matmulMfm(a: MatrixOperand, b: MatrixOperand, batch: number, M: number, N: number, K: number, bias: GPUBuffer | undefined, withMask: boolean, output: OperandType = 'f32', pairs: 'rows' | 'columns' = 'rows'): { c: GPUBuffer; mask: GPUBuffer | undefined } | undefined {
  const operands = a.type ?? 'f32';
  const columns = pairs === 'columns';
  if (gpu().policy.get('matmul') !== 'subgroup' || !subgroupMatmulRuns() || (columns ? N % 2 !== 0 || M % SUBGROUP_ROWS !== 0 : M % 2 !== 0) || batch * M * N === 0 || (b.type ?? 'f32') !== operands) return undefined;
  const operandBytes = bytesPerElement(operands);
  const A: StridedTensor = { buffer: a.buffer, elementBytes: operandBytes, offset: a.offset ?? 0, strides: { batch: a.batchStride, rows: a.rowStride, cols: 0, depth: a.colStride } };
  const B: StridedTensor = { buffer: b.buffer, elementBytes: operandBytes, offset: b.offset ?? 0, strides: { batch: b.batchStride, rows: 0, cols: b.colStride, depth: b.rowStride } };
  const sizes: Sizes = { batch, rows: M, cols: N, depth: K };
  const layout = vec4Layout(A, B, sizes);
  const outputs = (batch * M * N) / 2;
  const fits = [A, B].every((t) => ((t.offset % offsetAlignment(t.elementBytes)) + span(t, sizes)) * t.elementBytes <= gpu().maxBindingBytes) && outputs * 4 <= gpu().maxBindingBytes;
  if (!layout || (columns ? !layout.bAlongK : layout.aAlongM) || !fits) return undefined;
  if (operands === 'f16') assertShaderF16('matmulMfm');
  const stores = epilogueStores(output);
  const c = alloc(Math.ceil(outputs / 4) * 4, stores);
  // Whole vec4s, as C: the kernel stores the mask by vec4.
  const mask = withMask ? alloc(Math.ceil(outputs / 4) * 4) : undefined;
  const part = (t: StridedTensor): Part => {
    const { binding, offset } = bindFrom(t.buffer, t.offset, span(t, sizes), t.elementBytes);
    return { binding, tensor: { ...t, offset } };
  };
  const cStrides = columns ? { batch: (M * N) / 2, rows: 1, cols: M, depth: 0 } : { batch: (M / 2) * N, rows: N, cols: 1, depth: 0 };
  const C: Part = { binding: c, tensor: { buffer: c, elementBytes: bytesPerElement(stores), offset: 0, strides: cStrides } };
  const Bias: Part | undefined = bias ? { binding: bias, tensor: { buffer: bias, elementBytes: 4, offset: 0, strides: { batch: 0, rows: 1, cols: 0, depth: 0 } } } : undefined;
  const [aPart, bPart] = [part(A), part(B)];
  const shape = subgroupTileShape(M, N);
  const cLayout = columns ? columnsOut(shape, K, layout.bAlongK) : { constants: { C_QUADS: cQuads(C, { ...sizes, rows: M / 2 }) }, name: '' };
  const constants = { ...shape.constants, A_ALONG_M: Number(layout.aAlongM), B_ALONG_K: Number(layout.bAlongK), MFM: withMask ? 1 : 2, EPILOGUE_PER_ROW: epiloguePerRow(), ...cLayout.constants };
  const k = kernel('matmul_subgroup', { name: `matmul.subgroupMfm${cLayout.name}`, entryPoint: 'subgroupTiled', replacements: { ACT: 'v' }, constants, operands, stores });
  const epilogue: Epilogue = { bias: bias !== undefined, biasAlongRows: !columns, accumulate: false, activate: false };
  const bindings = [aPart.binding, bPart.binding, bias ?? gpu().placeholder, c, mask ?? gpu().placeholderOutput];
  gpu().dispatch(k, bindings, stridedParams(aPart, bPart, Bias, C, sizes, epilogue).done(), [...shape.workgroups, batch]);
  return { c: resultAs(c, outputs, stores, output), mask };
}

/**
 * C[batch, n, m] = (A[batch] @ B[batch])[m, n] + bias[n] (bias[m] with biasAlong 'rows'): the product stored transposed,
 * [batch, N, M], in one launch of the subgroup kernel with C_ALONG_M. A 1×1 conv's forward as xᵀ·Wᵀ (M the pixels,
 * N the output channels) so, y [N, Cout, HW] being C, each invocation stores 16 contiguous pixels per channel
 * (matmul_subgroup.wgsl's C_ALONG_M says why). Undefined where that one launch cannot run — the policy's matmul not
 * 'subgroup', subgroups not 8 wide, M not a multiple of 16, operands not in a vec4 layout, operand types that differ, or a
 * tensor past one binding — and the caller runs the product another way.
 */
export function matmulColumnsOut(a: MatrixOperand, b: MatrixOperand, batch: number, M: number, N: number, K: number, bias: GPUBuffer | undefined, biasAlong: BiasAlong = 'cols', output: OperandType = 'f32'): GPUBuffer | undefined {
  const operands = a.type ?? 'f32';
  if (gpu().policy.get('matmul') !== 'subgroup' || !subgroupMatmulRuns() || M % SUBGROUP_ROWS !== 0 || batch * M * N === 0 || (b.type ?? 'f32') !== operands) return undefined;
  const operandBytes = bytesPerElement(operands);
  const A: StridedTensor = { buffer: a.buffer, elementBytes: operandBytes, offset: a.offset ?? 0, strides: { batch: a.batchStride, rows: a.rowStride, cols: 0, depth: a.colStride } };
  const B: StridedTensor = { buffer: b.buffer, elementBytes: operandBytes, offset: b.offset ?? 0, strides: { batch: b.batchStride, rows: 0, cols: b.colStride, depth: b.rowStride } };
  const sizes: Sizes = { batch, rows: M, cols: N, depth: K };
  const layout = vec4Layout(A, B, sizes);
  const stores = epilogueStores(output);
  const fits = [A, B].every((t) => ((t.offset % offsetAlignment(t.elementBytes)) + span(t, sizes)) * t.elementBytes <= gpu().maxBindingBytes) && batch * M * N * bytesPerElement(stores) <= gpu().maxBindingBytes;
  if (!layout || !fits) return undefined;
  if (operands === 'f16') assertShaderF16('matmulColumnsOut');
  if (stores === 'f16') assertShaderF16('matmulColumnsOut (float16 output)');
  const c = alloc(batch * M * N, stores);
  const part = (t: StridedTensor): Part => {
    const { binding, offset } = bindFrom(t.buffer, t.offset, span(t, sizes), t.elementBytes);
    return { binding, tensor: { ...t, offset } };
  };
  const C: Part = { binding: c, tensor: { buffer: c, elementBytes: bytesPerElement(stores), offset: 0, strides: { batch: M * N, rows: 1, cols: M, depth: 0 } } };
  const Bias: Part | undefined = bias ? { binding: bias, tensor: { buffer: bias, elementBytes: 4, offset: 0, strides: { batch: 0, rows: 0, cols: 0, depth: 0 } } } : undefined;
  const epilogue: Epilogue = { bias: bias !== undefined, biasAlongRows: biasAlong === 'rows', accumulate: false, activate: false };
  launchSubgroup(part(A), part(B), Bias, C, sizes, layout, epilogue, 'v', 'none', operands, stores, true);
  return resultAs(c, batch * M * N, stores, output);
}

/**
 * The subgroup kernel over copies of A (by rows: contiguous along m) and B (by columns: along n) packed with K
 * rounded up to 4 and zero past K, M and N, so every vec4 read is aligned and the padding adds nothing.
 * The copies are f32 for either operand type (f16 packed by matmul_pack.wgsl's f16 build), read by the f32 kernel.
 */
function launchSubgroupPacked(a: Part, b: Part, bias: Part | undefined, c: Part, sizes: Sizes, epilogue: Epilogue, activation: string, activationName: string, operands: OperandType, stores: OperandType): void {
  const depth = roundUp4(sizes.depth);
  const packedA = packOperand(a, sizes.rows, 'rows', sizes, depth, operands);
  const packedB = packOperand(b, sizes.cols, 'cols', sizes, depth, operands);
  const part = (packed: PackedOperand, t: Part, along: 'rows' | 'cols'): Part => ({
    binding: packed.binding,
    tensor: { buffer: t.tensor.buffer, elementBytes: 4, offset: 0, strides: { batch: packed.batchStride * 4, rows: along === 'rows' ? 1 : 0, cols: along === 'cols' ? 1 : 0, depth: packed.width * 4 } },
  });
  launchSubgroup(part(packedA, a, 'rows'), part(packedB, b, 'cols'), bias, c, { ...sizes, depth }, { aAlongM: true, bAlongK: false }, epilogue, activation, activationName, 'f32', stores);
  // The pool hands buffers out again in queue order, so releasing right after the dispatch is safe.
  for (const scratch of [packedA.scratch, packedB.scratch]) if (scratch) gpu().pool.release(scratch);
}

function launch(chosen: MatmulVariant, a: Part, b: Part, bias: Part | undefined, c: Part, sizes: Sizes, epilogue: Epilogue, activation: string, activationName: string, operands: OperandType, stores: OperandType): void {
  if (chosen === 'packed' && operands === 'f32' && packedRuns(a, b, sizes)) return launchPacked(a, b, bias, c, sizes, epilogue, activation, activationName, stores);
  // packed where packedRuns declines or on f16, subgroup where the adapter's subgroups are not 8 wide, and subgroup
  // on a small product vec4 cannot read take the vec4 path (registerTiled where that cannot run).
  const vec4 = chosen === 'registerTiledVec4' || chosen === 'packed' || chosen === 'subgroup';
  const layout = vec4 ? vec4Layout(a.tensor, b.tensor, sizes) : undefined;
  if (chosen === 'subgroup' && subgroupMatmulRuns()) {
    if (layout) return launchSubgroup(a, b, bias, c, sizes, layout, epilogue, activation, activationName, operands, stores);
    if (subgroupPacks(a, b, sizes)) return launchSubgroupPacked(a, b, bias, c, sizes, epilogue, activation, activationName, operands, stores);
  }
  if (!layout) return launchGeneric(vec4 ? 'registerTiled' : (chosen as 'registerTiled' | 'workgroupTiled'), a, b, bias, c, sizes, epilogue, activation, activationName, operands, stores);
  const bindings = [a.binding, b.binding, epilogue.bias ? bias!.binding : gpu().placeholder, c.binding];
  // 64 invocations for the vec4 kernel: on lavapipe as fast as 256 or up to 1.2x faster (bench/RESULTS.md).
  const shape = registerTileShape(sizes.rows, sizes.cols, 64);
  const constants = { ...shape.constants, A_ALONG_M: Number(layout.aAlongM), B_ALONG_K: Number(layout.bAlongK) };
  const k = kernel('matmul_vec4', { name: `matmul.registerTiledVec4.${activationName}`, entryPoint: 'registerTiledVec4', replacements: { ACT: activation }, constants, operands, stores });
  gpu().dispatch(k, bindings, stridedParams(a, b, bias, c, sizes, epilogue).done(), [...shape.workgroups, sizes.batch]);
}

/** matmul.wgsl's registerTiled or workgroupTiled, with f32 or f16 operands (the kernel named with `.f16` for f16). */
function launchGeneric(variant: 'registerTiled' | 'workgroupTiled', a: Part, b: Part, bias: Part | undefined, c: Part, sizes: Sizes, epilogue: Epilogue, activation: string, activationName: string, operands: OperandType, stores: OperandType): void {
  const bindings = [a.binding, b.binding, epilogue.bias ? bias!.binding : gpu().placeholder, c.binding];
  const shape = registerTileShape(sizes.rows, sizes.cols);
  const constants = variant === 'workgroupTiled' ? undefined : shape.constants;
  const k = kernel('matmul', { name: `matmul.${variant}.${activationName}`, entryPoint: variant, replacements: { ACT: activation }, constants, operands, stores });
  const [x, y] = variant === 'workgroupTiled' ? workgroupTileGrid(sizes.rows, sizes.cols) : shape.workgroups;
  gpu().dispatch(k, bindings, stridedParams(a, b, bias, c, sizes, epilogue).done(), [x, y, sizes.batch]);
}
