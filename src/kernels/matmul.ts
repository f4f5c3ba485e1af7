// Launcher for batched matmul with strided operands, optional bias and fused activation.
// The variant comes from gpu().policy ('matmul'); registerTiledVec4 (shaders/matmul_vec4.wgsl)
// runs where the operands allow vec4 reads and registerTiled elsewhere, so no policy choice makes
// a shape fail. A product whose A, B or C exceeds one storage binding (gpu().maxBindingBytes) runs
// as several launches over blocks of batches, rows, columns and K, each tensor bound from an
// aligned offset at or below its block's first element; the K blocks add into C.
import { gpu, type Binding } from '../gpu/index.js';
import { MATMUL_VARIANTS, type KernelChoices } from '../gpu/policy.js';
import { Params, alloc, elementRange, kernel, registerTileShape, workgroupTileGrid } from './launch.js';

export interface MatrixOperand {
  buffer: GPUBuffer;
  /** Element strides: between batches (0 = broadcast), rows and columns. */
  batchStride: number;
  rowStride: number;
  colStride: number;
  /** Element index of [0, 0, 0] in the buffer (default 0). */
  offset?: number;
}

/** Chosen by gpu().policy ('matmul'). */
export type MatmulVariant = KernelChoices['matmul'];

/** What the autotuner times for a product (every variant runs every shape: vec4 falls back by itself). */
const TUNED_VARIANTS: readonly MatmulVariant[] = MATMUL_VARIANTS;

/** The product's four dimensions: batch, rows of A and C (M), columns of B and C (N), depth (K). */
const DIMENSIONS = ['batch', 'rows', 'cols', 'depth'] as const;
type Dimension = (typeof DIMENSIONS)[number];
type Sizes = Record<Dimension, number>;

interface StridedTensor {
  buffer: GPUBuffer;
  offset: number;
  /** Element stride along each dimension of the product (0 where the tensor does not vary). */
  strides: Sizes;
}

/** Elements from a tensor's first to its last element in a block of these sizes (0 for an empty block). */
function span(t: StridedTensor, sizes: Sizes): number {
  if (DIMENSIONS.some((d) => sizes[d] === 0)) return 0;
  return 1 + DIMENSIONS.reduce((sum, d) => sum + t.strides[d] * (sizes[d] - 1), 0);
}

/** Elements per minStorageBufferOffsetAlignment: bindings start at multiples of this. */
const offsetAlignment = (): number => gpu().device.limits.minStorageBufferOffsetAlignment / 4;

/**
 * Block sizes such that every tensor's block fits one binding: the whole product when it fits,
 * else, repeatedly, the dimension that contributes most to a too-large tensor's span is halved
 * (rows, columns and depth kept multiples of 4, so that vec4 reads stay aligned). Stops when
 * nothing more can be split; the runtime then refuses the binding in one line.
 */
function blockSizes(tensors: StridedTensor[], whole: Sizes): Sizes {
  const limit = gpu().maxBindingBytes;
  if (tensors.every((t) => ((t.offset % offsetAlignment()) + span(t, whole)) * 4 <= limit)) return whole;
  // A block may start anywhere: allow for the aligned offset below its first element.
  const bytes = (t: StridedTensor, sizes: Sizes) => (offsetAlignment() - 1 + span(t, sizes)) * 4;
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

/** The binding of `count` elements from element `start` of a buffer, from the aligned offset at or below it. */
function bindFrom(buffer: GPUBuffer, start: number, count: number): { binding: Binding; offset: number } {
  const base = Math.floor(start / offsetAlignment()) * offsetAlignment();
  return { binding: elementRange(buffer, base, start - base + Math.max(count, 1)), offset: start - base };
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
 * C[batch, M, N] = act(A[batch, M, K] @ B[batch, K, N] + bias[N]). `activation` is a WGSL
 * expression of v (e.g. "max(v, 0.0)"), "v" for none.
 */
export function matmul(a: MatrixOperand, b: MatrixOperand, batch: number, M: number, N: number, K: number, bias?: GPUBuffer, activation = 'v', activationName = 'none'): GPUBuffer {
  const c = alloc(batch * M * N);
  if (batch * M * N === 0) return c;
  const A: StridedTensor = { buffer: a.buffer, offset: a.offset ?? 0, strides: { batch: a.batchStride, rows: a.rowStride, cols: 0, depth: a.colStride } };
  const B: StridedTensor = { buffer: b.buffer, offset: b.offset ?? 0, strides: { batch: b.batchStride, rows: 0, cols: b.colStride, depth: b.rowStride } };
  const C: StridedTensor = { buffer: c, offset: 0, strides: { batch: M * N, rows: N, cols: 1, depth: 0 } };
  const Bias: StridedTensor | undefined = bias ? { buffer: bias, offset: 0, strides: { batch: 0, rows: 0, cols: 1, depth: 0 } } : undefined;
  const whole: Sizes = { batch, rows: M, cols: N, depth: K };
  const shapeClass = `matmul ${batch}x${M}x${N}x${K} A[${a.batchStride},${a.rowStride},${a.colStride}]+${A.offset} B[${b.batchStride},${b.rowStride},${b.colStride}]+${B.offset}${bias ? ' bias' : ''}`;
  const chosen = gpu().policy.choose('matmul', shapeClass, TUNED_VARIANTS, () => {
    // The same product on scratch operands of the same sizes (the caller's buffers may be reused by then).
    const [scratchA, scratchB] = [gpu().pool.acquire(a.buffer.size), gpu().pool.acquire(b.buffer.size)];
    const scratchBias = bias && gpu().pool.acquire(bias.size);
    return {
      run: () => gpu().pool.release(matmul({ ...a, buffer: scratchA }, { ...b, buffer: scratchB }, batch, M, N, K, scratchBias, activation, activationName)),
      dispose: () => [scratchA, scratchB, scratchBias].forEach((buffer) => buffer && gpu().pool.release(buffer)),
    };
  });
  const block = blockSizes(Bias ? [A, B, C, Bias] : [A, B, C], whole);
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
            const { binding, offset } = bindFrom(t.buffer, first, span(t, sizes));
            return { binding, tensor: { ...t, offset } };
          };
          const [aPart, bPart, cPart] = [part(A), part(B), part(C)];
          const biasPart = Bias ? part(Bias) : undefined;
          launch(chosen, aPart, bPart, biasPart, cPart, sizes, { bias: biasPart !== undefined && index === 0, accumulate: index > 0, activate: index === depths.length - 1 }, activation, activationName);
        });
      }
    }
  }
  return c;
}

interface Part {
  binding: Binding;
  tensor: StridedTensor;
}

function launch(chosen: MatmulVariant, a: Part, b: Part, bias: Part | undefined, c: Part, sizes: Sizes, epilogue: { bias: boolean; accumulate: boolean; activate: boolean }, activation: string, activationName: string): void {
  const layout = chosen === 'registerTiledVec4' ? vec4Layout(a.tensor, b.tensor, sizes) : undefined;
  const variant = chosen === 'registerTiledVec4' && !layout ? 'registerTiled' : chosen;
  // 64 invocations for the vec4 kernel: on lavapipe as fast as 256 or up to 1.2x faster (bench/RESULTS.md).
  const shape = registerTileShape(sizes.rows, sizes.cols, layout ? 64 : 256);
  const constants = variant === 'workgroupTiled' ? undefined : layout ? { ...shape.constants, A_ALONG_M: Number(layout.aAlongM), B_ALONG_K: Number(layout.bAlongK) } : shape.constants;
  const k = kernel(layout ? 'matmul_vec4' : 'matmul', { name: `matmul.${variant}.${activationName}`, entryPoint: variant, replacements: { ACT: activation }, constants });
  const [A, B, C] = [a.tensor, b.tensor, c.tensor];
  const params = new Params()
    .u32(sizes.rows, sizes.cols, sizes.depth, epilogue.bias ? 1 : 0)
    .u32(A.strides.batch, A.strides.rows, A.strides.depth, A.offset)
    .u32(B.strides.batch, B.strides.depth, B.strides.cols, B.offset)
    .u32(C.strides.batch, C.strides.rows, C.offset, bias?.tensor.offset ?? 0)
    .u32(epilogue.accumulate ? 1 : 0, epilogue.activate ? 1 : 0, 0, 0);
  const [x, y] = variant === 'workgroupTiled' ? workgroupTileGrid(sizes.rows, sizes.cols) : shape.workgroups;
  gpu().dispatch(k, [a.binding, b.binding, epilogue.bias ? bias!.binding : gpu().placeholder, c.binding], params.done(), [x, y, sizes.batch]);
}
