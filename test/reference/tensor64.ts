// Float64 tensors for the CPU reference: a shape and a contiguous row-major (NCHW) buffer.
// Nothing here is fast; everything here is meant to be obviously right.

export interface T64 {
  shape: number[];
  data: Float64Array;
}

export function size(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Row-major element strides: the last dim has stride 1. */
export function strides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

export function t64(data: ArrayLike<number>, shape: number[]): T64 {
  checkShape(shape);
  if (data.length !== size(shape)) {
    throw new Error(`t64: shape [${shape}] holds ${size(shape)} elements, got ${data.length} values`);
  }
  return { shape: [...shape], data: Float64Array.from(data) };
}

export function scalar(value: number): T64 {
  return { shape: [], data: Float64Array.of(value) };
}

export function zeros(shape: number[]): T64 {
  checkShape(shape);
  return { shape: [...shape], data: new Float64Array(size(shape)) };
}

export function full(shape: number[], value: number): T64 {
  const t = zeros(shape);
  t.data.fill(value);
  return t;
}

export function ones(shape: number[]): T64 {
  return full(shape, 1);
}

/** 0, 1, 2, ... laid out in `shape` (handy for hand-computed cases). */
export function arange(shape: number[], start = 0, step = 1): T64 {
  const t = zeros(shape);
  for (let i = 0; i < t.data.length; i++) t.data[i] = start + i * step;
  return t;
}

export function clone(x: T64): T64 {
  return { shape: [...x.shape], data: Float64Array.from(x.data) };
}

export function map(x: T64, f: (v: number, i: number) => number): T64 {
  const out = zeros(x.shape);
  for (let i = 0; i < x.data.length; i++) out.data[i] = f(x.data[i], i);
  return out;
}

/** Converts a flat index into a multi-index for `shape`. */
export function unravel(flat: number, shape: readonly number[]): number[] {
  const idx = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = flat % shape[d];
    flat = Math.floor(flat / shape[d]);
  }
  return idx;
}

export function ravel(index: readonly number[], shape: readonly number[]): number {
  let flat = 0;
  for (let d = 0; d < shape.length; d++) flat = flat * shape[d] + index[d];
  return flat;
}

/** Reads one element by multi-index (bounds-checked). */
export function at(x: T64, ...index: number[]): number {
  if (index.length !== x.shape.length) throw new Error(`at: expected ${x.shape.length} indices, got ${index.length}`);
  index.forEach((i, d) => {
    if (!Number.isInteger(i) || i < 0 || i >= x.shape[d]) throw new Error(`at: index ${i} out of range for dim ${d} of [${x.shape}]`);
  });
  return x.data[ravel(index, x.shape)];
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Resolves a possibly negative dim against rank (PyTorch's wrap rule). */
export function normDim(dim: number, rank: number): number {
  const r = Math.max(rank, 1); // a 0-d tensor accepts dim 0 and -1
  if (!Number.isInteger(dim) || dim < -r || dim >= r) {
    throw new Error(`dim ${dim} out of range for a tensor of rank ${rank} (expected ${-r}..${r - 1})`);
  }
  return dim < 0 ? dim + r : dim;
}

export function checkShape(shape: readonly number[]): void {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new Error(`invalid shape [${shape}]: dims must be non-negative integers`);
  }
}

/** Plain nested arrays, for readable failure messages and hand-written expectations. */
export function toNested(x: T64): unknown {
  const rec = (dim: number, offset: number, st: number[]): unknown => {
    if (dim === x.shape.length) return x.data[offset];
    const out: unknown[] = [];
    for (let i = 0; i < x.shape[dim]; i++) out.push(rec(dim + 1, offset + i * st[dim], st));
    return out;
  };
  return rec(0, 0, strides(x.shape));
}

export function toF32(x: T64): Float32Array {
  return Float32Array.from(x.data);
}

/** Rounds every value to float32, so a reference sees exactly the inputs a GPU kernel gets. */
export function roundToF32(x: T64): T64 {
  return { shape: [...x.shape], data: Float64Array.from(Float32Array.from(x.data)) };
}
