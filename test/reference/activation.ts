// softmax and logSoftmax along one dim, both max-shifted (exact in float64 for test ranges).
import { type T64, normDim, size, zeros } from './tensor64.js';

/** Calls f(offsets) for every 1-D fibre along `dim` (offsets are flat indices in order). */
export function forEachFibre(shape: readonly number[], dim: number, f: (offsets: number[]) => void): void {
  const d = normDim(dim, shape.length);
  if (shape.length === 0) { f([0]); return; }
  const outer = size(shape.slice(0, d));
  const len = shape[d];
  const inner = size(shape.slice(d + 1));
  for (let o = 0; o < outer; o++)
    for (let i = 0; i < inner; i++) f(Array.from({ length: len }, (_, j) => (o * len + j) * inner + i));
}

export function softmax(x: T64, dim: number): T64 {
  const out = zeros(x.shape);
  forEachFibre(x.shape, dim, (offs) => {
    const m = Math.max(...offs.map((o) => x.data[o]));
    const e = offs.map((o) => Math.exp(x.data[o] - m));
    const s = e.reduce((a, b) => a + b, 0);
    offs.forEach((o, j) => (out.data[o] = e[j] / s));
  });
  return out;
}

export function logSoftmax(x: T64, dim: number): T64 {
  const out = zeros(x.shape);
  forEachFibre(x.shape, dim, (offs) => {
    const m = Math.max(...offs.map((o) => x.data[o]));
    const lse = m + Math.log(offs.reduce((a, o) => a + Math.exp(x.data[o] - m), 0));
    offs.forEach((o) => (out.data[o] = x.data[o] - lse));
  });
  return out;
}
