// Launchers for elementwise kernels: unary expressions, broadcasting binary expressions, fills,
// strided copies (permute, slice, cat, expand, pad) and in-place accumulation. The launchers take
// `operands`: 'f16' runs a float16 form (every array float16, computed in f32, rounded once on
// store) — unary_half.wgsl / binary_half.wgsl, two elements per invocation in 32-bit words, for the
// unary and binary kernels; the fill and strided-copy kernels' float16 builds.
import { gpu } from '../gpu/index.js';
import { nearestHalf } from './cast.js';
import { Params, alloc, bindingChunks, bytesPerElement, dispatch1d, elementRange, grid1d, kernel, type OperandType } from './launch.js';

export const MAX_RANK = 8;

// shaders/unary.wgsl's uniform01 hashes index·HASH_INDEX + seed·HASH_SEED: a chunk starting at
// element `start` gets the seed that makes its local index i hash as start + i, so a chunked
// dropout mask is the unchunked one.
const HASH_INDEX = 747796405;
const HASH_SEED = 2891336453;
const HASH_SEED_INVERSE = (() => {
  let inverse = HASH_SEED; // Newton's iteration for the inverse of an odd number modulo 2^32
  for (let i = 0; i < 5; i++) inverse = Math.imul(inverse, 2 - Math.imul(HASH_SEED, inverse));
  return inverse >>> 0;
})();

function chunkSeed(seed: number, start: number): number {
  return (seed + Math.imul(Math.imul(start, HASH_INDEX), HASH_SEED_INVERSE)) >>> 0;
}

/**
 * Y = f(x) elementwise; `expression` is WGSL over x, p.alpha, p.beta (and uniform01(i, p.seed),
 * float32 only). Tensors larger than one storage binding run as several dispatches over binding-sized ranges.
 */
export function unary(name: string, expression: string, x: GPUBuffer, count: number, alpha = 0, beta = 0, seed = 0, operands: OperandType = 'f32'): GPUBuffer {
  const y = alloc(count, operands);
  const half = operands === 'f16';
  const k = half ? kernel('unary_half', { name: `unary.${name}.f16`, replacements: { EXPR: expression } }) : kernel('unary', { name: `unary.${name}`, replacements: { EXPR: expression } });
  const bytes = bytesPerElement(operands);
  // Chunks start at even elements (a binding offset is a multiple of 256 bytes): whole float16 words.
  for (const chunk of bindingChunks(count, [bytes])) {
    const bindings = [elementRange(x, chunk.start, chunk.count, bytes), elementRange(y, chunk.start, chunk.count, bytes)];
    gpu().dispatch(k, bindings, new Params().u32(chunk.count).f32(alpha, beta).u32(chunkSeed(seed, chunk.start)).done(), grid1d(half ? Math.ceil(chunk.count / 2) : chunk.count));
  }
  return y;
}

export function contiguousStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    strides[d] = s;
    s *= shape[d];
  }
  return strides;
}

/** Strides of `shape` read as broadcast into `outShape` (0 on broadcast dimensions). */
export function broadcastStrides(shape: readonly number[], outShape: readonly number[]): number[] {
  const own = contiguousStrides(shape);
  const offset = outShape.length - shape.length;
  return outShape.map((_, d) => {
    const i = d - offset;
    if (i < 0 || shape[i] === 1) return 0;
    return own[i];
  });
}

/**
 * Merges neighbouring dimensions that every operand walks contiguously, so the common cases
 * (same shape; a row vector against a matrix) index with one or two divisions per element.
 */
export function coalesce(shape: readonly number[], stridesList: number[][]): { shape: number[]; strides: number[][] } {
  const outShape: number[] = [];
  const outStrides: number[][] = stridesList.map(() => []);
  for (let d = 0; d < shape.length; d++) {
    if (shape[d] === 1) continue;
    const last = outShape.length - 1;
    const mergeable = last >= 0 && stridesList.every((s, k) => outStrides[k][last] === s[d] * shape[d]);
    if (mergeable) {
      outShape[last] *= shape[d];
      stridesList.forEach((s, k) => (outStrides[k][last] = s[d]));
    } else {
      outShape.push(shape[d]);
      stridesList.forEach((s, k) => outStrides[k].push(s[d]));
    }
  }
  if (outShape.length === 0) return { shape: [1], strides: stridesList.map(() => [1]) };
  return { shape: outShape, strides: outStrides };
}

function packDims(params: Params, values: number[]): void {
  for (let d = 0; d < MAX_RANK; d++) params.u32(values[d] ?? 0);
}

/** Y = f(a, b) with broadcasting into outShape; `expression` is WGSL over a, b and p.alpha. */
export function binary(name: string, expression: string, a: GPUBuffer, aShape: readonly number[], b: GPUBuffer, bShape: readonly number[], outShape: readonly number[], alpha = 0, operands: OperandType = 'f32'): GPUBuffer {
  const count = outShape.reduce((x, y) => x * y, 1);
  const y = alloc(count, operands);
  const bytes = bytesPerElement(operands);
  const merged = coalesce(outShape, [broadcastStrides(aShape, outShape), broadcastStrides(bShape, outShape)]);
  if (merged.shape.length > MAX_RANK) throw new Error(`binary ${name}: rank ${outShape.length} exceeds ${MAX_RANK}`);
  const params = new Params().u32(count, merged.shape.length).f32(alpha).u32(0);
  packDims(params, merged.shape);
  packDims(params, merged.strides[0]);
  packDims(params, merged.strides[1]);
  const half = operands === 'f16';
  const k = half ? kernel('binary_half', { name: `binary.${name}.f16`, replacements: { EXPR: expression } }) : kernel('binary', { name: `binary.${name}`, replacements: { EXPR: expression } });
  // binary_half.wgsl takes two outputs per invocation.
  const grid = (outputs: number) => grid1d(half ? Math.ceil(outputs / 2) : outputs);
  const chunks = bindingChunks(count, [bytes]);
  // Chunked only where each operand is read contiguously (stride 1) or as one value (stride 0):
  // same shapes and scalars. Other broadcasts larger than a binding are refused by the runtime.
  if (chunks.length === 1 || merged.shape.length !== 1) {
    gpu().dispatch(k, [a, b, y], params.done(), grid(count));
    return y;
  }
  for (const chunk of chunks) {
    const chunkParams = new Params().u32(chunk.count, 1).f32(alpha).u32(0);
    packDims(chunkParams, [chunk.count]);
    packDims(chunkParams, merged.strides[0]);
    packDims(chunkParams, merged.strides[1]);
    const operand = (buffer: GPUBuffer, stride: number) => (stride === 0 ? buffer : elementRange(buffer, chunk.start, chunk.count, bytes));
    gpu().dispatch(k, [operand(a, merged.strides[0][0]), operand(b, merged.strides[1][0]), elementRange(y, chunk.start, chunk.count, bytes)], chunkParams.done(), grid(chunk.count));
  }
  return y;
}

export function fill(count: number, value: number, target?: GPUBuffer, operands: OperandType = 'f32'): GPUBuffer {
  const y = target ?? alloc(count, operands);
  // Rounded here, so the float16 build's f32 -> f16 conversion (rounding implementation-defined in WGSL) is exact.
  const stored = operands === 'f16' ? nearestHalf(value) : value;
  dispatch1d(kernel('fill', { operands }), [y], new Params().u32(count).f32(stored).u32(0, 0), count);
  return y;
}

export interface StridedView {
  buffer: GPUBuffer;
  offset: number;
  strides: readonly number[];
}

/** Copies the elements of a strided view of x into a strided view of y, both over `shape`. */
export function stridedCopy(shape: readonly number[], x: StridedView, y: StridedView, operands: OperandType = 'f32'): void {
  const count = shape.reduce((a, b) => a * b, 1);
  if (count === 0) return;
  const merged = coalesce(shape, [[...x.strides], [...y.strides]]);
  if (merged.shape.length > MAX_RANK) throw new Error(`strided copy: rank ${shape.length} exceeds ${MAX_RANK}`);
  const params = new Params().u32(count, merged.shape.length, x.offset, y.offset);
  packDims(params, merged.shape);
  packDims(params, merged.strides[0]);
  packDims(params, merged.strides[1]);
  gpu().dispatch(kernel('strided_copy', { operands }), [x.buffer, y.buffer], params.done(), grid1d(count));
}

/** y += alpha * x in place (in binding-sized chunks when the tensors are larger than one binding). */
export function accumulate(y: GPUBuffer, x: GPUBuffer, count: number, alpha = 1): void {
  for (const chunk of bindingChunks(count)) {
    const bindings = [elementRange(x, chunk.start, chunk.count), elementRange(y, chunk.start, chunk.count)];
    gpu().dispatch(kernel('accumulate'), bindings, new Params().u32(chunk.count).f32(alpha).u32(0, 0).done(), grid1d(chunk.count));
  }
}
