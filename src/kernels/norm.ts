// Launchers for batch / instance normalisation (shaders/norm.wgsl: per-group reductions;
// shaders/norm_apply.wgsl, norm_grad.wgsl: elementwise). Element (n, g, s) sits at (n·G + g)·S + s; the affine
// channel of group g is g % C.
import { gpu } from '../gpu/index.js';
import { Params, alloc, dispatch1d, kernel } from './launch.js';

export interface NormGeometry {
  /** Statistics groups: C for batch norm, N·C for instance norm. */
  G: number;
  /** Batch entries per group: N for batch norm, 1 for instance norm. */
  Nb: number;
  /** Spatial size (1 for [N, C] input). */
  S: number;
  /** Affine channels. */
  C: number;
}

function params(g: NormGeometry, o: { eps?: number; momentum?: number; hasWeight?: boolean; hasBias?: boolean; useBatchStats?: boolean } = {}): Params {
  return new Params()
    .u32(g.G, g.Nb, g.S, g.C)
    .f32(o.eps ?? 0, o.momentum ?? 0)
    .u32(o.hasWeight ? 1 : 0, o.hasBias ? 1 : 0, o.useBatchStats ? 1 : 0, 0, 0, 0);
}

/** One workgroup per group, folded into y past the per-dimension limit. */
function groupGrid(groups: number): [number, number] {
  const maxPerDim = gpu().device.limits.maxComputeWorkgroupsPerDimension;
  const y = Math.ceil(groups / maxPerDim);
  return [Math.ceil(groups / y), y];
}

/**
 * Per-group mean and 1 / sqrt(biased var + eps). With running buffers, updates them in place
 * (momentum, unbiased variance).
 */
export function normStats(x: GPUBuffer, g: NormGeometry, eps: number, running?: { mean: GPUBuffer; variance: GPUBuffer; momentum: number }): { mean: GPUBuffer; invStd: GPUBuffer } {
  const mean = alloc(g.G);
  const invStd = alloc(g.G);
  const entry = running ? 'statsUpdate' : 'stats';
  // Without running estimates their two read_write slots get throw-away buffers.
  const slots = running ? [running.mean, running.variance] : [alloc(1), alloc(1)];
  gpu().dispatch(kernel('norm', { name: `norm.${entry}`, entryPoint: entry }), [x, gpu().placeholder, ...slots, mean, invStd], params(g, { eps, momentum: running?.momentum }).done(), groupGrid(g.G));
  if (!running) for (const b of slots) gpu().pool.release(b);
  return { mean, invStd };
}

export function normalize(x: GPUBuffer, mean: GPUBuffer, invStd: GPUBuffer, weight: GPUBuffer | undefined, bias: GPUBuffer | undefined, g: NormGeometry): GPUBuffer {
  const count = g.Nb * g.G * g.S;
  const y = alloc(count);
  const placeholder = gpu().placeholder;
  dispatch1d(kernel('norm_apply', { name: 'norm.normalize', entryPoint: 'normalize' }), [x, mean, invStd, weight ?? placeholder, bias ?? placeholder, y], params(g, { hasWeight: !!weight, hasBias: !!bias }), count);
  return y;
}

/** Per group: Σ gy (the bias gradient) and Σ gy·x̂ (the weight gradient). */
export function normGradSums(x: GPUBuffer, gy: GPUBuffer, mean: GPUBuffer, invStd: GPUBuffer, g: NormGeometry): { sumG: GPUBuffer; sumGXhat: GPUBuffer } {
  const sumG = alloc(g.G);
  const sumGXhat = alloc(g.G);
  gpu().dispatch(kernel('norm', { name: 'norm.gradSums', entryPoint: 'gradSums' }), [x, gy, mean, invStd, sumG, sumGXhat], params(g).done(), groupGrid(g.G));
  return { sumG, sumGXhat };
}

/** dL/dx; the sums are needed (and read) only when the statistics came from the batch. */
export function normInputGrad(x: GPUBuffer, gy: GPUBuffer, mean: GPUBuffer, invStd: GPUBuffer, weight: GPUBuffer | undefined, sums: { sumG: GPUBuffer; sumGXhat: GPUBuffer } | undefined, g: NormGeometry): GPUBuffer {
  const count = g.Nb * g.G * g.S;
  const gx = alloc(count);
  const placeholder = gpu().placeholder;
  dispatch1d(
    kernel('norm_grad', { name: 'norm.inputGrad', entryPoint: 'inputGrad' }),
    [x, mean, invStd, weight ?? placeholder, gy, sums?.sumG ?? placeholder, sums?.sumGXhat ?? placeholder, gx],
    params(g, { hasWeight: !!weight, useBatchStats: !!sums }),
    count,
  );
  return gx;
}
