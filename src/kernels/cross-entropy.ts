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

/**
 * What the forward kernel found wrong with the targets, decoded from its flags words (see
 * shaders/cross_entropy.wgsl); undefined when every target was a class index.
 */
export interface InvalidTargets {
  count: number;
  /** Flat index of the first invalid target, and its value. */
  firstIndex: number;
  firstValue: number;
  /** Some target was -100, PyTorch's ignore_index. */
  sawIgnoreIndex: boolean;
}

export function decodeTargetFlags(words: Uint32Array, rows: number): InvalidTargets | undefined {
  if (words[0] === 0) return undefined;
  return { count: words[0], firstIndex: rows - words[1], firstValue: new Float32Array(Uint32Array.of(words[2]).buffer)[0], sawIgnoreIndex: words[3] !== 0 };
}

/**
 * Per-row losses [N, S]. `flags` is a zeroed 4-word buffer (Gpu.checkedFlags) that the kernel
 * sets when a target is not a class index (decode it with decodeTargetFlags); undefined for
 * targets already checked on the host, which the kernel then never flags.
 */
export function crossEntropyForward(logits: GPUBuffer, targets: GPUBuffer, flags: GPUBuffer | undefined, g: CrossEntropyGeometry): GPUBuffer {
  const rows = g.batch * g.inner;
  const out = alloc(rows);
  const params = new Params().u32(rows, g.classes, g.inner, 0).f32(g.smoothing).u32(0, 0, 0);
  // G is unused in the forward pass: the logits stand in for it, so that the placeholder can
  // stand in for Flags (one buffer may not be bound both read-only and writable).
  const bindings = [logits, targets, logits, out, flags ?? gpu().placeholder];
  dispatch1d(kernel('cross_entropy', { name: 'crossEntropy.forward' }), bindings, params, rows);
  if (flags) gpu().dispatch(kernel('cross_entropy', { name: 'crossEntropy.firstInvalid', entryPoint: 'firstInvalid' }), bindings, params.done(), [1]);
  return out;
}

/** Logit gradients [N, C, S] for row-loss gradients gradRows [N, S]; rows with an invalid target get 0. */
export function crossEntropyBackward(logits: GPUBuffer, targets: GPUBuffer, gradRows: GPUBuffer, g: CrossEntropyGeometry): GPUBuffer {
  const rows = g.batch * g.inner;
  const out = alloc(rows * g.classes);
  const params = new Params().u32(rows, g.classes, g.inner, 1).f32(g.smoothing).u32(0, 0, 0);
  dispatch1d(kernel('cross_entropy', { name: 'crossEntropy.backward' }), [logits, targets, gradRows, out, gpu().placeholder], params, rows);
  return out;
}
