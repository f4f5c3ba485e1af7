// Small helpers shared by the functional ops.
import { gpu } from '../../gpu/index.js';
import { castToFloat, castToHalf } from '../../kernels/cast.js';
import type { OperandType } from '../../kernels/launch.js';
import { Tensor, formatShape, noGrad, record, shapeSize, type DType, type GradNode, type Shape } from '../../tensor/tensor.js';

// Shared with the tensor layer's creators (tensor(), zeros(), ...).
export { checkOptionNames } from '../../tensor/tensor.js';

export function wrap(buffer: GPUBuffer, shape: Shape): Tensor {
  return Tensor.fromBuffer(buffer, shape);
}

/** A kernel's result stored in `dtype` already (a launcher given its output type) as a tensor. */
export function wrapIn(buffer: GPUBuffer, shape: Shape, dtype: DType): Tensor {
  return Tensor.fromBuffer(buffer, shape, false, dtype);
}

/** A kernel's f32 result as a tensor of `dtype`: float16 rounds it (one pass) and frees the f32 buffer. */
export function wrapAs(buffer: GPUBuffer, shape: Shape, dtype: DType): Tensor {
  if (dtype === 'float32') return wrap(buffer, shape);
  const half = castToHalf(buffer, shapeSize(shape));
  gpu().pool.release(buffer);
  return Tensor.fromBuffer(half, shape, false, 'float16');
}

/**
 * The kernels' operand type for a GEMM's two tensor operands, which share a dtype (as in PyTorch:
 * "Input type and weight type should be the same"): 'f16' for float16, read with f32 accumulation.
 */
export function gemmOperands(op: string, a: Tensor, b: Tensor, names: [string, string] = ['input', 'weight']): OperandType {
  if (a.dtype !== b.dtype) {
    throw new Error(`${op}: ${names[0]} is ${a.dtype} but ${names[1]} is ${b.dtype}; give both one dtype (.half() both, or .float() both)`);
  }
  return operandType(a.dtype);
}

export const operandType = (dtype: DType): OperandType => (dtype === 'float16' ? 'f16' : 'f32');

/** A tensor's buffer whatever its dtype, for a launcher told the type. */
export const storageOf = (t: Tensor): GPUBuffer => t.bufferOf(t.dtype);

/** What a GEMM-shaped op's kernels read: input and weight in one dtype, and its kernel type. */
export interface GemmReads {
  x: Tensor;
  weight: Tensor;
  operands: OperandType;
  /** Copies made for the kernels (outside the graph): disposed once the op has recorded them as saved. */
  copies: Tensor[];
}

/**
 * x and weight as the kernels read them. Without `computeDtype`: themselves, of one dtype. With
 * it (webfer's autocast, Module.autocast): copies in that dtype where they differ, made outside the
 * graph; the op's backward reads its output gradient in that dtype too and returns gradients in
 * the inputs' own dtypes (so the float32 master weight gets its gradient as before). The weight's
 * copy is cached on its storage (Tensor.castCached: made once, dropped at the weight's next write),
 * unless the kernel policy's weightCastCache is 'off'.
 */
export function gemmReads(op: string, x: Tensor, weight: Tensor, computeDtype?: DType): GemmReads {
  if (computeDtype === undefined) return { x, weight, operands: gemmOperands(op, x, weight), copies: [] };
  const copies: Tensor[] = [];
  const read = (t: Tensor, cached: boolean) => {
    if (t.dtype === computeDtype) return t;
    const copy = cached ? t.castCached(computeDtype) : noGrad(() => t.to(computeDtype));
    copies.push(copy);
    return copy;
  };
  const cacheWeight = gpu().policy.get('weightCastCache') === 'on';
  return { x: read(x, false), weight: read(weight, cacheWeight), operands: operandType(computeDtype), copies };
}

/** record() of a GEMM-shaped op saving what its kernels read (and `saved`), then the copies' handles let go. */
export function recordGemm(name: string, inputs: Tensor[], output: Tensor, reads: GemmReads, saved: Tensor[], backward: GradNode['backward']): Tensor {
  const result = record(name, inputs, output, [reads.x, reads.weight, ...saved], backward);
  releaseReads(reads);
  return result;
}

/** Lets go of the copies' handles (what a recorded graph saved stays held by it). */
export function releaseReads(reads: GemmReads): void {
  for (const copy of reads.copies) copy.dispose();
}

/**
 * use(t as `dtype`): t itself, or a copy freed once `use` has encoded its kernels (a backward's
 * float16 output gradient read as float32, say), so casts do not pile up until the step's scope ends.
 */
export function inDtype<T>(t: Tensor, dtype: DType, use: (t: Tensor) => T): T {
  if (t.dtype === dtype) return use(t);
  const copy = t.to(dtype);
  try {
    return use(copy);
  } finally {
    copy.dispose();
  }
}

/**
 * A backward kernel's result [shape] as a tensor of `dtype`, the dtype the kernel reads and writes:
 * `launch` gets g's buffer in that dtype (inDtype: a copy only where g has another).
 */
export function gradientIn(g: Tensor, dtype: DType, shape: Shape, launch: (g: GPUBuffer) => GPUBuffer): Tensor {
  return Tensor.fromBuffer(inDtype(g, dtype, (gRead) => launch(storageOf(gRead))), shape, false, dtype);
}

/** The dtype the kernels of `reads` read in. */
export const readDtype = (reads: GemmReads): DType => reads.x.dtype;

/** launch(the bias's f32 buffer): a float16 bias is widened for the launch and freed after it. */
export function withFloatBias<T>(bias: Tensor | undefined, launch: (bias: GPUBuffer | undefined) => T): T {
  if (bias?.dtype !== 'float16') return launch(bias?.buffer);
  const widened = castToFloat(bias.bufferOf('float16'), bias.size);
  try {
    return launch(widened);
  } finally {
    gpu().pool.release(widened);
  }
}

/** What a non-tensor argument is, for an error message. */
function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (ArrayBuffer.isView(value)) return 'a typed array';
  return typeof value;
}

/** A clear error where a caller (JavaScript, or a cast) passes something else than a tensor. */
export function expectTensor(value: unknown, op: string, name = 'input', orNumber = false): asserts value is Tensor {
  if (value instanceof Tensor || (orNumber && typeof value === 'number')) return;
  throw new Error(`${op}: ${name} must be a Tensor${orNumber ? ' or a number' : ''}, got ${describe(value)}; make one with tensor(values, shape)`);
}

/** Normalises a possibly negative dimension index against a rank (a scalar takes 0 and -1, as in PyTorch). */
export function normDim(dim: number, rank: number, op: string): number {
  const d = dim < 0 ? dim + Math.max(rank, 1) : dim;
  if (!Number.isInteger(d) || d < 0 || d >= Math.max(rank, 1)) throw new Error(`${op}: dimension ${dim} is out of range for a tensor of rank ${rank}`);
  return d;
}

/** Sorted, normalised dims; undefined or [] means every dim (torch.sum(x, dim=[]) reduces all). */
export function normDims(dims: number | readonly number[] | undefined, rank: number, op: string): number[] {
  if (dims === undefined || (typeof dims !== 'number' && dims.length === 0)) return [...Array(rank).keys()];
  const list = (typeof dims === 'number' ? [dims] : [...dims]).map((d) => normDim(d, rank, op));
  if (new Set(list).size !== list.length) throw new Error(`${op}: dimension list [${list.join(', ')}] repeats a dimension`);
  // A scalar's dim 0 is the scalar itself: nothing to reduce (torch.tensor(5.).sum(0) is 5).
  if (rank === 0) return [];
  return list.sort((a, b) => a - b);
}

/** Views x as [outer, shape[dim], inner]. */
export function splitAt(shape: Shape, dim: number): { outer: number; reduced: number; inner: number } {
  let outer = 1;
  let inner = 1;
  for (let d = 0; d < dim; d++) outer *= shape[d];
  for (let d = dim + 1; d < shape.length; d++) inner *= shape[d];
  return { outer, reduced: shape[dim] ?? 1, inner };
}

export function broadcastShapes(a: Shape, b: Shape, op: string): number[] {
  const rank = Math.max(a.length, b.length);
  const out = new Array<number>(rank);
  for (let i = 0; i < rank; i++) {
    const x = a[a.length - rank + i] ?? 1;
    const y = b[b.length - rank + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) throw new Error(`${op}: shapes ${formatShape(a)} and ${formatShape(b)} do not broadcast (dimension ${i}: ${x} vs ${y})`);
    out[i] = x === 1 ? y : x;
  }
  return out;
}

/** A whole number, as PyTorch's int arguments (sizes, paddings, indices) require. */
export function checkInteger(value: number, name: string, op: string): number {
  if (!Number.isInteger(value)) throw new Error(`${op}: ${name} must be an integer, got ${value}`);
  return value;
}

export type Pair = number | readonly [number, number];

export function pair(value: Pair, name: string): [number, number] {
  if (typeof value === 'string') throw new Error(`${name} must be an integer or a pair of integers, got "${value}" (PyTorch's 'same' / 'valid' padding strings are not supported: give the padding as numbers)`);
  const p: [number, number] = typeof value === 'number' ? [value, value] : [value[0], value[1]];
  if (!p.every((v) => Number.isInteger(v))) throw new Error(`${name} must be an integer or a pair of integers, got ${JSON.stringify(value)}`);
  return p;
}

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** A WGSL f32 literal for a host number (infinities become the largest finite f32). */
export function f32Literal(value: number): string {
  if (value === Infinity || value > 3.4028234e38) return '3.402823466e+38';
  if (value === -Infinity || value < -3.4028234e38) return '-3.402823466e+38';
  const text = String(Math.fround(value));
  return /[.e]/.test(text) ? text : `${text}.0`;
}
