// Launcher for the fused softmax cross-entropy (forward per-row losses, backward logit gradients).
import { gpu } from '../gpu/index.js';
import { Params, alloc, dispatch1d, kernel } from './launch.js';

export interface CrossEntropyGeometry {
  batch: number;
  classes: number;
  /** Product of the spatial sizes (1 for [N, C] logits). */
  inner: number;
  smoothing: number;
}

/** Per-row losses [N, S]. */
export function crossEntropyForward(logits: GPUBuffer, targets: GPUBuffer, g: CrossEntropyGeometry): GPUBuffer {
  const rows = g.batch * g.inner;
  const out = alloc(rows);
  const params = new Params().u32(rows, g.classes, g.inner, 0).f32(g.smoothing).u32(0, 0, 0);
  dispatch1d(kernel('cross_entropy', { name: 'crossEntropy.forward' }), [logits, targets, gpu().placeholder, out], params, rows);
  return out;
}

/** Logit gradients [N, C, S] for row-loss gradients gradRows [N, S]. */
export function crossEntropyBackward(logits: GPUBuffer, targets: GPUBuffer, gradRows: GPUBuffer, g: CrossEntropyGeometry): GPUBuffer {
  const rows = g.batch * g.inner;
  const out = alloc(rows * g.classes);
  const params = new Params().u32(rows, g.classes, g.inner, 1).f32(g.smoothing).u32(0, 0, 0);
  dispatch1d(kernel('cross_entropy', { name: 'crossEntropy.backward' }), [logits, targets, gradRows, out], params, rows);
  return out;
}
