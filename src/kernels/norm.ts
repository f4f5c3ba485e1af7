// Launchers for batch / instance normalisation (shaders/norm.wgsl: per-group reductions;
// shaders/norm_apply.wgsl, norm_grad.wgsl: elementwise, and where S % 4 == 0 the vec4 quads kernels
// of norm_quads.wgsl, norm_apply_quads.wgsl and norm_grad_quads.wgsl), with an activation fused after the
// affine output. Element (n, g, s) sits at (n·G + g)·S + s; the affine channel of group g is g % C.
// Per-group statistics travel as one buffer [2G] (mean, then 1 / std), so that every kernel stays
// within 8 storage bindings.
import { gpu } from '../gpu/index.js';
import { Params, alloc, dispatch1d, grid1d, kernel, type OperandType } from './launch.js';

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

/**
 * What follows the affine output z, fused into the same passes. 'mfm' is LightCNN's
 * max-feature-map over the two channel halves (the output has C/2 channels).
 */
export type NormActivation = { kind: 'none' } | { kind: 'relu' } | { kind: 'leakyRelu'; negativeSlope: number } | { kind: 'tanh' } | { kind: 'mfm' };

/** ACTIVATION override codes (shaders/include/norm_params.wgsl). */
export const ACTIVATION_CODE = { none: 0, relu: 1, leakyRelu: 2, tanh: 3, mfm: 4 } as const;

export interface ParamOptions {
  eps?: number;
  momentum?: number;
  hasWeight?: boolean;
  hasBias?: boolean;
  useBatchStats?: boolean;
  activation?: NormActivation;
  writeMask?: boolean;
}

/** The norm kernels' uniform parameters (shaders/include/norm_params.wgsl's Params). */
export function normParams(g: NormGeometry, o: ParamOptions = {}): Params {
  const activation = o.activation ?? { kind: 'none' };
  return new Params()
    .u32(g.G, g.Nb, g.S, g.C)
    .f32(o.eps ?? 0, o.momentum ?? 0)
    .u32(o.hasWeight ? 1 : 0, o.hasBias ? 1 : 0, o.useBatchStats ? 1 : 0)
    .f32(activation.kind === 'leakyRelu' ? activation.negativeSlope : 0)
    .u32(o.writeMask ? 1 : 0, 0);
}

/**
 * Consecutive values of one row (n, g) per invocation (the RUN override, shaders/include/norm_params.wgsl):
 * 4 when they tile the row, so that indices, statistics and affine parameters are worked out once per 4 values.
 */
export function normRun(g: NormGeometry): 1 | 4 {
  return g.S % 4 === 0 ? 4 : 1;
}

/**
 * A norm kernel compiled for one activation kind and run length (the ACTIVATION and RUN overrides: no run-time switch),
 * and for the element type of x, y and their gradients (`operands`: 'f16' reads and writes float16, computing in f32).
 */
function normKernel(file: string, entryPoint: string, g: NormGeometry, activation: NormActivation = { kind: 'none' }, operands: OperandType = 'f32') {
  const suffix = activation.kind === 'none' ? '' : `.${activation.kind}`;
  const constants: Record<string, number> = { ACTIVATION: ACTIVATION_CODE[activation.kind], RUN: normRun(g) };
  if (file === 'norm' || file === 'norm_quads') constants.WG = reductionLanes();
  const name = `norm.${entryPoint}${file === 'norm_quads' ? 'Quads' : ''}${suffix}`;
  return kernel(file, { name, entryPoint, constants, operands });
}

/** The reductions' shader: norm_quads.wgsl (X, G and the mask as vec4) where S % 4 == 0, else norm.wgsl. */
function reductionFile(g: NormGeometry): string {
  return normRun(g) === 4 ? 'norm_quads' : 'norm';
}

/** Lanes of shaders/norm.wgsl's workgroups (the policy's normReductionLanes). */
function reductionLanes(): number {
  return gpu().policy.get('normReductionLanes');
}

/** One workgroup per group, folded into y past the per-dimension limit. */
export function groupGrid(groups: number): [number, number] {
  const maxPerDim = gpu().device.limits.maxComputeWorkgroupsPerDimension;
  const y = Math.ceil(groups / maxPerDim);
  return [Math.ceil(groups / y), y];
}

/** Runs `launch` with `count` one-element scratch buffers for the write slots an entry point does not use. */
export function withScratch<T>(count: number, launch: (scratch: GPUBuffer[]) => T): T {
  const scratch = Array.from({ length: count }, () => alloc(1));
  const result = launch(scratch);
  for (const b of scratch) gpu().pool.release(b);
  return result;
}

/**
 * Per-group statistics [2G]: the mean, then 1 / sqrt(biased var + eps). With running buffers,
 * updates them in place (momentum, unbiased variance).
 */
export function normStats(x: GPUBuffer, g: NormGeometry, eps: number, running?: { mean: GPUBuffer; variance: GPUBuffer; momentum: number }, operands: OperandType = 'f32'): GPUBuffer {
  const stats = alloc(2 * g.G);
  const entry = running ? 'statsUpdate' : 'stats';
  const placeholder = gpu().placeholder;
  withScratch(running ? 2 : 4, (scratch) => {
    const slots = running ? [running.mean, running.variance, ...scratch] : scratch;
    const [runMean, runVar, sumG, sumGXhat] = slots as [GPUBuffer, GPUBuffer, GPUBuffer, GPUBuffer];
    gpu().dispatch(normKernel(reductionFile(g), entry, g, { kind: 'none' }, operands), [x, placeholder, runMean, runVar, placeholder, stats, sumG, sumGXhat], normParams(g, { eps, momentum: running?.momentum }).done(), groupGrid(g.G));
  });
  return stats;
}

/** Eval-mode statistics [2G] from the running estimates: their mean, then 1 / sqrt(var + eps). */
export function normStatsFromRunning(runningMean: GPUBuffer, runningVar: GPUBuffer, g: NormGeometry, eps: number): GPUBuffer {
  const stats = alloc(2 * g.G);
  const placeholder = gpu().placeholder;
  withScratch(2, ([sumG, sumGXhat]) => {
    gpu().dispatch(normKernel('norm', 'statsFromRunning', g), [placeholder, placeholder, runningMean, runningVar, placeholder, stats, sumG!, sumGXhat!], normParams(g, { eps }).done(), grid1d(g.G, reductionLanes()));
  });
  return stats;
}

/** y = act(z), z the affine normalised x; for 'mfm' use normalizeMfm. */
export function normalize(x: GPUBuffer, stats: GPUBuffer, weight: GPUBuffer | undefined, bias: GPUBuffer | undefined, g: NormGeometry, activation: NormActivation = { kind: 'none' }, operands: OperandType = 'f32'): GPUBuffer {
  if (activation.kind === 'mfm') throw new Error('normalize: max-feature-map changes the shape; call normalizeMfm');
  const count = g.Nb * g.G * g.S;
  const y = alloc(count, operands);
  const placeholder = gpu().placeholder;
  // Quads of x and y where S % 4 == 0 (norm_apply_quads.wgsl).
  const quads = normRun(g) === 4;
  const k = quads ? normKernel('norm_apply_quads', 'normalizeQuads', g, activation, operands) : normKernel('norm_apply', 'normalize', g, activation, operands);
  dispatch1d(k, [x, stats, weight ?? placeholder, bias ?? placeholder, y, gpu().placeholderOutput], normParams(g, { hasWeight: !!weight, hasBias: !!bias, activation }), quads ? count / 4 : count);
  return y;
}

/**
 * y [.., C/2, S] = max of the two channel halves of z (torch.maximum), and with `withMask` the u32
 * routing mask [.., C/2, S] the backward reads (the layout conv2d's fused mfm writes).
 */
export function normalizeMfm(x: GPUBuffer, stats: GPUBuffer, weight: GPUBuffer | undefined, bias: GPUBuffer | undefined, g: NormGeometry, withMask: boolean, operands: OperandType = 'f32'): { y: GPUBuffer; mask: GPUBuffer | undefined } {
  const count = (g.Nb * g.G * g.S) / 2;
  const quads = normRun(g) === 4;
  const y = alloc(count, operands);
  const mask = withMask ? alloc(count) : undefined;
  const placeholder = gpu().placeholder;
  dispatch1d(
    // Quads of y and the mask where S % 4 == 0 (norm_apply_quads.wgsl).
    quads ? normKernel('norm_apply_quads', 'normalizeMfmQuads', g, { kind: 'mfm' }, operands) : normKernel('norm_apply', 'normalizeMfm', g, { kind: 'mfm' }, operands),
    [x, stats, weight ?? placeholder, bias ?? placeholder, y, mask ?? gpu().placeholderOutput],
    normParams(g, { hasWeight: !!weight, hasBias: !!bias, writeMask: withMask }),
    quads ? count / 4 : count,
  );
  return { y, mask };
}

/** What the backward kernels read besides x: the output gradient, statistics, affine parameters, and the activation with its mask. */
export interface NormBackwardInputs {
  /** dL/dy: the shape of y (C/2 channels for 'mfm'). */
  gy: GPUBuffer;
  stats: GPUBuffer;
  weight: GPUBuffer | undefined;
  bias: GPUBuffer | undefined;
  activation: NormActivation;
  /** normalizeMfm's mask, for 'mfm'. */
  mask: GPUBuffer | undefined;
  /** The element type of x, gy and the input gradient (default f32). */
  operands?: OperandType;
}

function checkMask(b: NormBackwardInputs): void {
  if (b.activation.kind === 'mfm' && !b.mask) throw new Error('norm backward: max-feature-map needs the mask normalizeMfm wrote');
}

/** Per group: Σ dz (the bias gradient) and Σ dz·x̂ (the weight gradient); dz = dL/dz through the activation. */
export function normGradSums(x: GPUBuffer, b: NormBackwardInputs, g: NormGeometry): { sumG: GPUBuffer; sumGXhat: GPUBuffer } {
  checkMask(b);
  const sumG = alloc(g.G);
  const sumGXhat = alloc(g.G);
  // Weight and bias sit in read_write slots (the running estimates' in the statistics entries):
  // an absent one gets its own scratch buffer, not the shared read-only placeholder.
  withScratch(2, ([noWeight, noBias]) => {
    const bindings = [x, b.gy, b.weight ?? noWeight!, b.bias ?? noBias!, b.mask ?? gpu().placeholder, b.stats, sumG, sumGXhat];
    gpu().dispatch(normKernel(reductionFile(g), 'gradSums', g, b.activation, b.operands), bindings, normParams(g, { hasWeight: !!b.weight, hasBias: !!b.bias, activation: b.activation }).done(), groupGrid(g.G));
  });
  return { sumG, sumGXhat };
}

/** dL/dx; the sums are needed (and read) only when the statistics came from the batch. */
export function normInputGrad(x: GPUBuffer, b: NormBackwardInputs, sums: { sumG: GPUBuffer; sumGXhat: GPUBuffer } | undefined, g: NormGeometry): GPUBuffer {
  checkMask(b);
  const count = g.Nb * g.G * g.S;
  const gx = alloc(count, b.operands ?? 'f32');
  const placeholder = gpu().placeholder;
  // One slot holds the bias (read by relu / leakyRelu / tanh) or the mask (max-feature-map).
  const biasOrMask = (b.activation.kind === 'mfm' ? b.mask : b.bias) ?? placeholder;
  // Quads where S % 4 == 0 (norm_grad_quads.wgsl; max-feature-map: one quad of the half-size gradient for both halves).
  const quads = normRun(g) === 4;
  const mfm = b.activation.kind === 'mfm';
  const k = quads ? normKernel('norm_grad_quads', mfm ? 'inputGradMfmQuads' : 'inputGradQuads', g, b.activation, b.operands) : normKernel('norm_grad', 'inputGrad', g, b.activation, b.operands);
  dispatch1d(
    k,
    [x, b.stats, b.weight ?? placeholder, biasOrMask, b.gy, sums?.sumG ?? placeholder, sums?.sumGXhat ?? placeholder, gx],
    normParams(g, { hasWeight: !!b.weight, hasBias: !!b.bias, useBatchStats: !!sums, activation: b.activation }),
    quads ? count / (mfm ? 8 : 4) : count,
  );
  return gx;
}
