// Elementwise ops with NumPy/PyTorch broadcasting, and the unary activations.
import { type T64, map, scalar, size, strides, zeros } from './tensor64.js';

export type Operand = T64 | number;

const asT64 = (x: Operand): T64 => (typeof x === 'number' ? scalar(x) : x);

/** NumPy broadcasting: align trailing dims; each pair must be equal or contain a 1. */
export function broadcastShapes(a: readonly number[], b: readonly number[]): number[] {
  const rank = Math.max(a.length, b.length);
  const out = new Array<number>(rank);
  for (let i = 0; i < rank; i++) {
    const da = i < rank - a.length ? 1 : a[i - (rank - a.length)];
    const db = i < rank - b.length ? 1 : b[i - (rank - b.length)];
    if (da !== db && da !== 1 && db !== 1) {
      throw new Error(`shapes [${a}] and [${b}] do not broadcast: dim ${i} is ${da} vs ${db}`);
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/**
 * For each flat index of `outShape`, the flat index of the element of an `inShape` tensor that
 * broadcasting reads there. `inShape` must broadcast to `outShape`.
 */
export function broadcastIndexMap(inShape: readonly number[], outShape: readonly number[]): Int32Array {
  const rank = outShape.length;
  if (inShape.length > rank) throw new Error(`cannot broadcast [${inShape}] to [${outShape}]`);
  const inStrides = strides(inShape);
  const lead = rank - inShape.length;
  const eff = new Array<number>(rank).fill(0);
  for (let d = 0; d < inShape.length; d++) {
    const di = inShape[d];
    const dout = outShape[lead + d];
    if (di !== dout && di !== 1) throw new Error(`cannot broadcast [${inShape}] to [${outShape}]`);
    eff[lead + d] = di === 1 ? 0 : inStrides[d];
  }
  const n = size(outShape);
  const result = new Int32Array(n);
  const idx = new Array<number>(rank).fill(0);
  let offset = 0;
  for (let i = 0; i < n; i++) {
    result[i] = offset;
    for (let d = rank - 1; d >= 0; d--) {
      idx[d]++;
      offset += eff[d];
      if (idx[d] < outShape[d]) break;
      offset -= eff[d] * idx[d];
      idx[d] = 0;
    }
  }
  return result;
}

export function broadcastTo(x: T64, shape: number[]): T64 {
  const m = broadcastIndexMap(x.shape, shape);
  const out = zeros(shape);
  for (let i = 0; i < m.length; i++) out.data[i] = x.data[m[i]];
  return out;
}

/** Sums a broadcast result back to `shape` (the gradient of broadcasting). */
export function sumTo(x: T64, shape: number[]): T64 {
  const full = broadcastShapes(shape, x.shape);
  if (full.length !== x.shape.length || full.some((d, i) => d !== x.shape[i])) {
    throw new Error(`sumTo: [${shape}] does not broadcast to [${x.shape}]`);
  }
  const m = broadcastIndexMap(shape, x.shape);
  const out = zeros(shape);
  for (let i = 0; i < m.length; i++) out.data[m[i]] += x.data[i];
  return out;
}

export function binary(a: Operand, b: Operand, f: (x: number, y: number) => number): T64 {
  const ta = asT64(a);
  const tb = asT64(b);
  const shape = broadcastShapes(ta.shape, tb.shape);
  const ma = broadcastIndexMap(ta.shape, shape);
  const mb = broadcastIndexMap(tb.shape, shape);
  const out = zeros(shape);
  for (let i = 0; i < out.data.length; i++) out.data[i] = f(ta.data[ma[i]], tb.data[mb[i]]);
  return out;
}

export const add = (a: Operand, b: Operand): T64 => binary(a, b, (x, y) => x + y);
export const sub = (a: Operand, b: Operand): T64 => binary(a, b, (x, y) => x - y);
export const mul = (a: Operand, b: Operand): T64 => binary(a, b, (x, y) => x * y);
export const div = (a: Operand, b: Operand): T64 => binary(a, b, (x, y) => x / y);

/** C's pow, which differs from Math.pow on 1^NaN and (-1)^±Infinity (both 1 in PyTorch). */
export function powScalar(x: number, y: number): number {
  if (x === 1 || y === 0) return 1;
  if (x === -1 && (y === Infinity || y === -Infinity)) return 1;
  return Math.pow(x, y);
}
export const pow = (x: Operand, y: Operand): T64 => binary(x, y, powScalar);

/** torch.maximum / torch.minimum: NaN in either input gives NaN. */
export const maximum = (a: Operand, b: Operand): T64 =>
  binary(a, b, (x, y) => (Number.isNaN(x) || Number.isNaN(y) ? NaN : x >= y ? x : y));
export const minimum = (a: Operand, b: Operand): T64 =>
  binary(a, b, (x, y) => (Number.isNaN(x) || Number.isNaN(y) ? NaN : x <= y ? x : y));

// Backward rules written out from PyTorch's (tools/autograd/derivatives.yaml), for the points
// where central differences say nothing: NaN, ±inf, ties and kinks.

/**
 * torch.maximum's gradients [dA, dB] for output gradient g: where(a == b, g / 2, g) masked to 0
 * where a < b (dA) or a > b (dB), summed back over broadcasting. Where either is NaN both get g.
 */
export function maximumBackward(a: T64, b: T64, g: T64): [T64, T64] {
  return extremumBackward(a, b, g, (x, y) => x < y);
}

/** torch.minimum's gradients: as maximum's with the comparison reversed. */
export function minimumBackward(a: T64, b: T64, g: T64): [T64, T64] {
  return extremumBackward(a, b, g, (x, y) => x > y);
}

function extremumBackward(a: T64, b: T64, g: T64, loses: (x: number, y: number) => boolean): [T64, T64] {
  const ga = binary(binary(a, b, (x, y) => (x === y ? 0.5 : loses(x, y) ? 0 : 1)), g, (s, v) => s * v);
  const gb = binary(binary(a, b, (x, y) => (x === y ? 0.5 : loses(y, x) ? 0 : 1)), g, (s, v) => s * v);
  return [sumTo(ga, a.shape), sumTo(gb, b.shape)];
}

export const neg = (x: T64): T64 => map(x, (v) => -v);
export const exp = (x: T64): T64 => map(x, Math.exp);
export const log = (x: T64): T64 => map(x, Math.log);
export const sqrt = (x: T64): T64 => map(x, Math.sqrt);
export const abs = (x: T64): T64 => map(x, Math.abs);
export const square = (x: T64): T64 => map(x, (v) => v * v);
/** relu(NaN) = NaN, as in PyTorch. */
export const relu = (x: T64): T64 => map(x, (v) => (v > 0 || Number.isNaN(v) ? v : 0));
/** relu's gradient, threshold_backward(g, relu(x), 0): 0 where relu(x) <= 0, else g (NaN included). */
export const reluBackward = (x: T64, g: T64): T64 => map(x, (v, i) => (v <= 0 ? 0 : g.data[i]));
/** x if x > 0 else slope * x. */
export const leakyRelu = (x: T64, slope = 0.01): T64 => map(x, (v) => (v > 0 ? v : v * slope));
export const sigmoid = (x: T64): T64 => map(x, (v) => 1 / (1 + Math.exp(-v)));
export const tanh = (x: T64): T64 => map(x, Math.tanh);
/** log(1 + exp(x)), computed without overflow. */
export const softplus = (x: T64): T64 => map(x, (v) => Math.max(v, 0) + Math.log1p(Math.exp(-Math.abs(v))));

/**
 * torch.clamp: max(x, min) then min(., max); when min > max every element becomes max.
 * NaN stays NaN; a NaN bound gives NaN everywhere.
 */
export function clamp(x: T64, min?: number, max?: number): T64 {
  return map(x, (v) => {
    if (Number.isNaN(min) || Number.isNaN(max)) return NaN;
    let r = v;
    if (min !== undefined && r < min) r = min;
    if (max !== undefined && r > max) r = max;
    return r;
  });
}

/**
 * clamp's gradient (PyTorch's clamp_backward): g where x >= min (if given) and x <= max (if
 * given), else 0; so 0 at NaN (or with a NaN bound), g at x = -inf when min = -inf.
 */
export function clampBackward(x: T64, g: T64, min?: number, max?: number): T64 {
  return map(x, (v, i) => ((min === undefined || v >= min) && (max === undefined || v <= max) ? g.data[i] : 0));
}

/** Inverted dropout with a given keep mask (1 = keep): x * mask / (1 - p); p = 1 gives zeros. */
export function applyMask(x: T64, mask: T64 | ArrayLike<number>, p: number): T64 {
  const m = 'shape' in mask ? (mask as T64).data : (mask as ArrayLike<number>);
  if (m.length !== x.data.length) throw new Error(`applyMask: mask has ${m.length} elements, x has ${x.data.length}`);
  if (p < 0 || p > 1) throw new Error(`applyMask: p must be in [0, 1], got ${p}`);
  return map(x, (v, i) => (p === 1 ? 0 : (v * m[i]) / (1 - p)));
}
