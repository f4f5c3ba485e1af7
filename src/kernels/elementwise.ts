// Launchers for elementwise kernels: unary expressions, broadcasting binary expressions, fills,
// strided copies (permute, slice, cat, expand, pad) and in-place accumulation.
import { gpu } from '../gpu/index.js';
import { Params, alloc, dispatch1d, grid1d, kernel } from './launch.js';

export const MAX_RANK = 8;

/** Y = f(x) elementwise; `expression` is WGSL over x, p.alpha, p.beta (and uniform01(i, p.seed)). */
export function unary(name: string, expression: string, x: GPUBuffer, count: number, alpha = 0, beta = 0, seed = 0): GPUBuffer {
  const y = alloc(count);
  const k = kernel('unary', { name: `unary.${name}`, replacements: { EXPR: expression } });
  dispatch1d(k, [x, y], new Params().u32(count).f32(alpha, beta).u32(seed), count);
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
export function binary(name: string, expression: string, a: GPUBuffer, aShape: readonly number[], b: GPUBuffer, bShape: readonly number[], outShape: readonly number[], alpha = 0): GPUBuffer {
  const count = outShape.reduce((x, y) => x * y, 1);
  const y = alloc(count);
  const merged = coalesce(outShape, [broadcastStrides(aShape, outShape), broadcastStrides(bShape, outShape)]);
  if (merged.shape.length > MAX_RANK) throw new Error(`binary ${name}: rank ${outShape.length} exceeds ${MAX_RANK}`);
  const params = new Params().u32(count, merged.shape.length).f32(alpha).u32(0);
  packDims(params, merged.shape);
  packDims(params, merged.strides[0]);
  packDims(params, merged.strides[1]);
  const k = kernel('binary', { name: `binary.${name}`, replacements: { EXPR: expression } });
  gpu().dispatch(k, [a, b, y], params.done(), grid1d(count));
  return y;
}

export function fill(count: number, value: number, target?: GPUBuffer): GPUBuffer {
  const y = target ?? alloc(count);
  dispatch1d(kernel('fill'), [y], new Params().u32(count).f32(value).u32(0, 0), count);
  return y;
}

export interface StridedView {
  buffer: GPUBuffer;
  offset: number;
  strides: readonly number[];
}

/** Copies the elements of a strided view of x into a strided view of y, both over `shape`. */
export function stridedCopy(shape: readonly number[], x: StridedView, y: StridedView): void {
  const count = shape.reduce((a, b) => a * b, 1);
  if (count === 0) return;
  const merged = coalesce(shape, [[...x.strides], [...y.strides]]);
  if (merged.shape.length > MAX_RANK) throw new Error(`strided copy: rank ${shape.length} exceeds ${MAX_RANK}`);
  const params = new Params().u32(count, merged.shape.length, x.offset, y.offset);
  packDims(params, merged.shape);
  packDims(params, merged.strides[0]);
  packDims(params, merged.strides[1]);
  gpu().dispatch(kernel('strided_copy'), [x.buffer, y.buffer], params.done(), grid1d(count));
}

/** y += alpha * x in place. */
export function accumulate(y: GPUBuffer, x: GPUBuffer, count: number, alpha = 1): void {
  dispatch1d(kernel('accumulate'), [x, y], new Params().u32(count).f32(alpha).u32(0, 0), count);
}
