// Benchmark inputs: a pooled GPU buffer of `count` floats in [-1, 1) from a seeded LCG (the same values run to run).
import { gpu } from '../src/gpu/index.js';

export function randomBuffer(count: number, seed: number): GPUBuffer {
  let state = seed;
  const data = Float32Array.from({ length: count }, () => (state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 31 - 1);
  const buffer = gpu().pool.acquire(data.byteLength);
  gpu().upload(buffer, data);
  return buffer;
}
