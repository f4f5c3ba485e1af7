// Shape and layout ops: reshape, permute, transpose, slice, cat, stack, pad.
import { type T64, normDim, size, strides, unravel, zeros } from './tensor64.js';

/** Reshape a contiguous tensor; one dim may be -1 (inferred). */
export function reshape(x: T64, shape: number[]): T64 {
  const n = x.data.length;
  const unknown = shape.filter((d) => d === -1).length;
  if (unknown > 1) throw new Error(`reshape: only one dim may be -1, got [${shape}]`);
  let resolved = shape;
  if (unknown === 1) {
    const known = shape.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
    if (known === 0 || n % known !== 0) throw new Error(`reshape: cannot infer -1 in [${shape}] for ${n} elements`);
    resolved = shape.map((d) => (d === -1 ? n / known : d));
  }
  if (size(resolved) !== n) throw new Error(`reshape: [${x.shape}] (${n} elements) cannot become [${shape}]`);
  return { shape: resolved, data: Float64Array.from(x.data) };
}

export function flatten(x: T64, startDim = 0, endDim = -1): T64 {
  if (x.shape.length === 0) return reshape(x, [1]);
  const s = normDim(startDim, x.shape.length);
  const e = normDim(endDim, x.shape.length);
  const merged = x.shape.slice(s, e + 1).reduce((a, b) => a * b, 1);
  return reshape(x, [...x.shape.slice(0, s), merged, ...x.shape.slice(e + 1)]);
}

export function unsqueeze(x: T64, dim: number): T64 {
  const d = normDim(dim, x.shape.length + 1);
  return reshape(x, [...x.shape.slice(0, d), 1, ...x.shape.slice(d)]);
}

/** Removes size-1 dims (all of them, or only `dim` if it has size 1). */
export function squeeze(x: T64, dim?: number): T64 {
  if (dim === undefined) return reshape(x, x.shape.filter((d) => d !== 1));
  const d = normDim(dim, x.shape.length);
  if (x.shape.length === 0 || x.shape[d] !== 1) return reshape(x, x.shape);
  return reshape(x, x.shape.filter((_, i) => i !== d));
}

/** out.shape[i] = x.shape[dims[i]]. */
export function permute(x: T64, dims: number[]): T64 {
  const rank = x.shape.length;
  if (dims.length !== rank) throw new Error(`permute: expected ${rank} dims, got [${dims}]`);
  const p = dims.map((d) => normDim(d, rank));
  if (new Set(p).size !== rank) throw new Error(`permute: [${dims}] is not a permutation`);
  const outShape = p.map((d) => x.shape[d]);
  const inStrides = strides(x.shape);
  const out = zeros(outShape);
  for (let i = 0; i < out.data.length; i++) {
    const idx = unravel(i, outShape);
    let src = 0;
    for (let k = 0; k < rank; k++) src += idx[k] * inStrides[p[k]];
    out.data[i] = x.data[src];
  }
  return out;
}

export function transpose(x: T64, dim0: number, dim1: number): T64 {
  const rank = x.shape.length;
  if (rank === 0) return reshape(x, []);
  const p = Array.from({ length: rank }, (_, i) => i);
  const a = normDim(dim0, rank);
  const b = normDim(dim1, rank);
  [p[a], p[b]] = [p[b], p[a]];
  return permute(x, p);
}

/** Python slicing x[..., start:end:step, ...] along one dim (step > 0; negative start/end count from the end; out-of-range bounds clamp). */
export function slice(x: T64, dim: number, start = 0, end?: number, step = 1): T64 {
  const d = normDim(dim, x.shape.length);
  const n = x.shape[d];
  if (!Number.isInteger(step) || step <= 0) throw new Error(`slice: step must be a positive integer, got ${step}`);
  const clampBound = (v: number) => Math.min(Math.max(v < 0 ? v + n : v, 0), n);
  const s = clampBound(start);
  const e = end === undefined ? n : clampBound(end);
  const len = e > s ? Math.ceil((e - s) / step) : 0;
  const outShape = [...x.shape];
  outShape[d] = len;
  const outer = size(x.shape.slice(0, d));
  const inner = size(x.shape.slice(d + 1));
  const out = zeros(outShape);
  for (let o = 0; o < outer; o++)
    for (let j = 0; j < len; j++)
      for (let i = 0; i < inner; i++) out.data[(o * len + j) * inner + i] = x.data[(o * n + s + j * step) * inner + i];
  return out;
}

/** torch.narrow: `length` elements from `start` along `dim`. */
export function narrow(x: T64, dim: number, start: number, length: number): T64 {
  const d = normDim(dim, x.shape.length);
  if (start < 0 || start + length > x.shape[d]) throw new Error(`narrow: [${start}, ${start + length}) outside dim ${d} of size ${x.shape[d]}`);
  return slice(x, d, start, start + length);
}

export function cat(xs: T64[], dim: number): T64 {
  if (xs.length === 0) throw new Error('cat: expected at least one tensor');
  const rank = xs[0].shape.length;
  const d = normDim(dim, rank);
  for (const x of xs) {
    if (x.shape.length !== rank || x.shape.some((s, i) => i !== d && s !== xs[0].shape[i])) {
      throw new Error(`cat: shapes ${xs.map((t) => `[${t.shape}]`).join(', ')} differ outside dim ${d}`);
    }
  }
  const total = xs.reduce((a, x) => a + x.shape[d], 0);
  const outShape = [...xs[0].shape];
  outShape[d] = total;
  const outer = size(outShape.slice(0, d));
  const inner = size(outShape.slice(d + 1));
  const out = zeros(outShape);
  let offset = 0;
  for (const x of xs) {
    const len = x.shape[d];
    for (let o = 0; o < outer; o++)
      for (let j = 0; j < len; j++)
        for (let i = 0; i < inner; i++) out.data[(o * total + offset + j) * inner + i] = x.data[(o * len + j) * inner + i];
    offset += len;
  }
  return out;
}

export function stack(xs: T64[], dim = 0): T64 {
  if (xs.length === 0) throw new Error('stack: expected at least one tensor');
  const d = normDim(dim, xs[0].shape.length + 1);
  return cat(xs.map((x) => unsqueeze(x, d)), d);
}

export type PadMode = 'constant' | 'reflect' | 'replicate' | 'circular';

/**
 * torch.nn.functional.pad: `pads` = [lastLeft, lastRight, prevLeft, prevRight, ...], last dim first.
 * constant pads may be negative (they crop); reflect needs pad < dim size; replicate needs a
 * non-empty dim; circular needs pad <= dim size.
 */
export function pad(x: T64, pads: number[], mode: PadMode = 'constant', value = 0): T64 {
  const rank = x.shape.length;
  if (pads.length % 2 !== 0 || pads.length / 2 > rank) {
    throw new Error(`pad: expected an even number of pads, at most ${2 * rank} for rank ${rank}, got [${pads}]`);
  }
  const before = new Array<number>(rank).fill(0);
  const after = new Array<number>(rank).fill(0);
  for (let k = 0; k < pads.length / 2; k++) {
    before[rank - 1 - k] = pads[2 * k];
    after[rank - 1 - k] = pads[2 * k + 1];
  }
  const outShape = x.shape.map((s, d) => s + before[d] + after[d]);
  if (outShape.some((s) => s < 0)) throw new Error(`pad: [${pads}] makes a negative size from [${x.shape}]`);
  for (let d = 0; d < rank; d++) {
    const n = x.shape[d];
    const p = Math.max(before[d], after[d]);
    if (mode === 'reflect' && p > 0 && p >= n) throw new Error(`pad reflect: padding ${p} must be < dim ${d} size ${n}`);
    if (mode === 'replicate' && p > 0 && n === 0) throw new Error(`pad replicate: dim ${d} is empty`);
    if (mode === 'circular' && p > n) throw new Error(`pad circular: padding ${p} must be <= dim ${d} size ${n}`);
    if (mode !== 'constant' && Math.min(before[d], after[d]) < 0) throw new Error(`pad ${mode}: negative padding is only allowed in constant mode`);
  }
  const inStrides = strides(x.shape);
  const out = zeros(outShape);
  for (let i = 0; i < out.data.length; i++) {
    const idx = unravel(i, outShape);
    let src = 0;
    let inside = true;
    for (let d = 0; d < rank; d++) {
      const n = x.shape[d];
      let j = idx[d] - before[d];
      if (j < 0 || j >= n) {
        if (mode === 'constant') { inside = false; break; }
        if (mode === 'reflect') j = j < 0 ? -j : 2 * (n - 1) - j;
        else if (mode === 'replicate') j = j < 0 ? 0 : n - 1;
        else j = ((j % n) + n) % n;
      }
      src += j * inStrides[d];
    }
    out.data[i] = inside ? x.data[src] : value;
  }
  return out;
}
