// Reductions over any set of dims (negative dims allowed; undefined or [] = all dims).
import { type T64, normDim, size, zeros } from './tensor64.js';

export type Dims = number | number[] | undefined;

/** Normalised, sorted, duplicate-free dims; undefined or [] means every dim. */
export function reduceDims(dims: Dims, rank: number): number[] {
  if (dims === undefined) return Array.from({ length: rank }, (_, i) => i);
  const list = typeof dims === 'number' ? [dims] : dims;
  if (list.length === 0) return Array.from({ length: rank }, (_, i) => i);
  const norm = list.map((d) => normDim(d, rank));
  if (new Set(norm).size !== norm.length) throw new Error(`dims [${list}] name a dim twice`);
  return norm.filter((d) => d < rank).sort((a, b) => a - b);
}

export function reducedShape(shape: readonly number[], dims: number[], keepdim: boolean): number[] {
  const out: number[] = [];
  shape.forEach((d, i) => {
    if (dims.includes(i)) {
      if (keepdim) out.push(1);
    } else out.push(d);
  });
  return out;
}

/**
 * Groups input elements by output element: groups[o] lists the input flat indices that reduce
 * into output o, in row-major order (so for a single reduced dim, position k is index k).
 */
export function reduceGroups(shape: readonly number[], dims: number[]): number[][] {
  const keptShape = shape.filter((_, i) => !dims.includes(i));
  const groups: number[][] = Array.from({ length: size(keptShape) }, () => []);
  const n = size(shape);
  const idx = new Array<number>(shape.length).fill(0);
  for (let i = 0; i < n; i++) {
    let o = 0;
    for (let d = 0; d < shape.length; d++) if (!dims.includes(d)) o = o * shape[d] + idx[d];
    groups[o].push(i);
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
  return groups;
}

function reduce(x: T64, dims: Dims, keepdim: boolean, f: (values: number[], group: number[]) => number): T64 {
  const rd = reduceDims(dims, x.shape.length);
  const groups = reduceGroups(x.shape, rd);
  const out = zeros(reducedShape(x.shape, rd, keepdim));
  groups.forEach((g, o) => {
    out.data[o] = f(g.map((i) => x.data[i]), g);
  });
  return out;
}

export function sum(x: T64, dims?: Dims, keepdim = false): T64 {
  return reduce(x, dims, keepdim, (v) => v.reduce((a, b) => a + b, 0));
}

/** Mean; an empty reduction gives NaN as in PyTorch. */
export function mean(x: T64, dims?: Dims, keepdim = false): T64 {
  return reduce(x, dims, keepdim, (v) => v.reduce((a, b) => a + b, 0) / v.length);
}

/** Variance with Bessel's `correction` (1 = unbiased, PyTorch's default; 0 = biased). */
export function variance(x: T64, dims?: Dims, keepdim = false, correction = 1): T64 {
  return reduce(x, dims, keepdim, (v) => {
    const m = v.reduce((a, b) => a + b, 0) / v.length;
    return v.reduce((a, b) => a + (b - m) * (b - m), 0) / (v.length - correction);
  });
}

function extremum(values: number[], better: (v: number, best: number) => boolean): number {
  if (values.length === 0) throw new Error('max/min of an empty reduction is undefined (PyTorch raises)');
  let best = values[0];
  for (const v of values) {
    if (Number.isNaN(best)) break;
    if (Number.isNaN(v) || better(v, best)) best = v;
  }
  return best;
}

/** Max values (torch.amax semantics; NaN propagates). Accepts several dims. */
export function max(x: T64, dims?: Dims, keepdim = false): T64 {
  return reduce(x, dims, keepdim, (v) => extremum(v, (a, b) => a > b));
}
export const amax = max;

export function min(x: T64, dims?: Dims, keepdim = false): T64 {
  return reduce(x, dims, keepdim, (v) => extremum(v, (a, b) => a < b));
}
export const amin = min;

/**
 * Gradient of torch.max(x) / torch.min(x) over everything for output gradient g (a number):
 * shared evenly among the elements equal to the result, NaN counting as equal to NaN
 * (PyTorch's evenly_distribute_backward).
 */
export function maxAllBackward(x: T64, g: number, which: 'max' | 'min' = 'max'): T64 {
  const value = (which === 'max' ? max : min)(x).data[0];
  const mask = Array.from(x.data, (v) => (Number.isNaN(value) ? Number.isNaN(v) : v === value));
  const count = mask.filter(Boolean).length;
  return { shape: [...x.shape], data: Float64Array.from(mask, (m) => (m ? g / count : 0)) };
}

/**
 * Gradient of torch.amax / torch.amin over dims for output gradient g (the reduced shape):
 * scale_grad_by_count, (g / count) · mask with mask = (x == result). Where the result is NaN
 * nothing equals it, so that slice gets g / 0 · 0 = NaN everywhere, as in PyTorch.
 */
export function amaxBackward(x: T64, g: T64, dims: Dims, which: 'max' | 'min' = 'max'): T64 {
  const groups = reduceGroups(x.shape, reduceDims(dims, x.shape.length));
  const out = zeros(x.shape);
  groups.forEach((group, o) => {
    const values = group.map((i) => x.data[i]);
    const r = extremum(values, which === 'max' ? (a, b) => a > b : (a, b) => a < b);
    const count = values.filter((v) => v === r).length;
    group.forEach((i, k) => (out.data[i] = (g.data[o] / count) * (values[k] === r ? 1 : 0)));
  });
  return out;
}

/** Gradient of torch.max(x, dim) / torch.min(x, dim): all of g to the index argmax / argmin gives. */
export function maxDimBackward(x: T64, g: T64, dim: number, which: 'max' | 'min' = 'max'): T64 {
  const groups = reduceGroups(x.shape, reduceDims(dim, x.shape.length));
  const out = zeros(x.shape);
  groups.forEach((group, o) => {
    const k = argExtremum(group.map((i) => x.data[i]), which === 'max' ? (a, b) => a > b : (a, b) => a < b);
    out.data[group[k]] = g.data[o];
  });
  return out;
}

function argExtremum(values: number[], better: (v: number, best: number) => boolean): number {
  if (values.length === 0) throw new Error('argmax/argmin of an empty reduction is undefined (PyTorch raises)');
  let bestIdx = 0;
  for (let k = 1; k < values.length; k++) {
    const best = values[bestIdx];
    if (Number.isNaN(best)) break;
    if (Number.isNaN(values[k]) || better(values[k], best)) bestIdx = k;
  }
  return bestIdx;
}

/**
 * Index of the first maximum along one dim (NaN counts as the maximum, as in PyTorch);
 * with dim undefined, the flat index over the whole tensor.
 */
export function argmax(x: T64, dim?: number, keepdim = false): T64 {
  if (dim === undefined) return reduce(x, undefined, keepdim, (v) => argExtremum(v, (a, b) => a > b));
  return reduce(x, [dim], keepdim, (v) => argExtremum(v, (a, b) => a > b));
}

export function argmin(x: T64, dim?: number, keepdim = false): T64 {
  if (dim === undefined) return reduce(x, undefined, keepdim, (v) => argExtremum(v, (a, b) => a < b));
  return reduce(x, [dim], keepdim, (v) => argExtremum(v, (a, b) => a < b));
}
