// Launchers for reductions along one dimension, with the tensor viewed as [outer, R, inner].
import { gpu } from '../gpu/index.js';
import { Params, alloc, dispatch1d, kernel, type OperandType } from './launch.js';

export type ReduceOp = 'sum' | 'mean' | 'max' | 'min';

// max / min propagate NaN as torch.max / amax do (WGSL's max and min may return the other
// operand), and start from ±inf, so a row of -inf reduces to -inf (a constant inf is rejected in
// WGSL: the bits are or-ed with p.pad0, 0 at run time).
const REDUCERS: Record<ReduceOp, { COMBINE: string; INITIAL: string; FINISH: string }> = {
  sum: { COMBINE: 'a + b', INITIAL: '0.0', FINISH: 'acc' },
  mean: { COMBINE: 'a + b', INITIAL: '0.0', FINISH: 'acc / f32(n)' },
  max: { COMBINE: 'select(select(max(a, b), b, isNan(b)), a, isNan(a))', INITIAL: 'bitcast<f32>(0xff800000u | p.pad0)', FINISH: 'acc' },
  min: { COMBINE: 'select(select(min(a, b), b, isNan(b)), a, isNan(a))', INITIAL: 'bitcast<f32>(0x7f800000u | p.pad0)', FINISH: 'acc' },
};

/** Reduces the middle axis of x (f32, or float16 read in f32) viewed as [outer, reduced, inner]; returns outer * inner f32 values. */
export function reduceAxis(op: ReduceOp, x: GPUBuffer, outer: number, reduced: number, inner: number, operands: OperandType = 'f32'): GPUBuffer {
  const y = alloc(outer * inner);
  const params = new Params().u32(outer, reduced, inner, 0);
  // A workgroup per output only pays when rows are long or outputs few: many short rows (a conv
  // bias gradient's [N·C·H, W]) are 10-30× faster as one invocation per output (columns).
  if (inner === 1 && (reduced >= 1024 || outer < 256)) {
    const k = kernel('reduce', { name: `reduce.${op}.rows`, entryPoint: 'rows', replacements: REDUCERS[op], operands });
    const maxPerDim = gpu().device.limits.maxComputeWorkgroupsPerDimension;
    const gy = Math.ceil(outer / maxPerDim);
    gpu().dispatch(k, [x, y], params.done(), [Math.ceil(outer / gy), gy]);
  } else {
    const k = kernel('reduce', { name: `reduce.${op}.columns`, entryPoint: 'columns', replacements: REDUCERS[op], operands });
    dispatch1d(k, [x, y], params, outer * inner);
  }
  return y;
}

/**
 * Reduces x of `shape` over each of `dims` (one axis at a time, highest first), keeping them as
 * size 1; intermediate buffers go straight back to the pool. No dims: a copy. x may be float16
 * (`operands`: its first pass reads it, the result and the passes after it are f32).
 */
export function reduceDims(op: ReduceOp, x: GPUBuffer, shape: readonly number[], dims: readonly number[], operands: OperandType = 'f32'): { buffer: GPUBuffer; shape: number[] } {
  const kept = [...shape];
  const size = shape.reduce((a, b) => a * b, 1);
  if (dims.length === 0) {
    if (operands === 'f16') throw new Error('reduceDims: a float16 input needs at least one dimension to reduce');
    const copy = alloc(size);
    gpu().copy(x, 0, copy, 0, size * 4);
    return { buffer: copy, shape: kept };
  }
  let buffer = x;
  for (let i = dims.length - 1; i >= 0; i--) {
    const d = dims[i];
    let outer = 1;
    let inner = 1;
    for (let k = 0; k < d; k++) outer *= kept[k];
    for (let k = d + 1; k < kept.length; k++) inner *= kept[k];
    const next = reduceAxis(op, buffer, outer, kept[d], inner, buffer === x ? operands : 'f32');
    if (buffer !== x) gpu().pool.release(buffer);
    buffer = next;
    kept[d] = 1;
  }
  return { buffer, shape: kept };
}

/** Max along the middle axis with the index of the first maximum (as f32). */
export function argmaxAxis(x: GPUBuffer, outer: number, reduced: number, inner: number): { values: GPUBuffer; indices: GPUBuffer } {
  const values = alloc(outer * inner);
  const indices = alloc(outer * inner);
  dispatch1d(kernel('argmax'), [x, values, indices], new Params().u32(outer, reduced, inner, 0), outer * inner);
  return { values, indices };
}

export function softmaxAxis(x: GPUBuffer, outer: number, reduced: number, inner: number, log: boolean): GPUBuffer {
  const y = alloc(outer * reduced * inner);
  const OUTPUT = log ? 'x - m - log(s)' : 'exp(x - m) / s';
  const k = kernel('softmax', { name: log ? 'logSoftmax' : 'softmax', replacements: { OUTPUT } });
  dispatch1d(k, [x, y], new Params().u32(outer, reduced, inner, 0), outer * inner);
  return y;
}
