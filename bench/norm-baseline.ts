// The norm launchers as they were before the norm-speed work (commit 148e3d7's src/kernels/norm.ts,
// unchanged but for the shader names), run on that commit's shaders (registerBaselineShaders reads
// them from git), so that bench/norm-variants.ts times old and new side by side in one process.
// Kernel names start with "norm0." so profiles tell them apart.
import { execFileSync } from 'node:child_process';
import { shaderSources } from '../src/shaders.generated.js';
import { gpu } from '../src/gpu/index.js';
import { alloc, dispatch1d, grid1d, kernel } from '../src/kernels/launch.js';
// The uniform layout (norm_params.wgsl) and the launch helpers did not change since the baseline.
import { ACTIVATION_CODE, groupGrid, normParams, withScratch, type NormActivation, type NormGeometry } from '../src/kernels/norm.js';

export type { NormActivation, NormGeometry };

/** The commit whose norm shaders are the baseline. */
export const BASELINE_COMMIT = '148e3d7';

/** Registers norm_v0, norm_apply_v0 and norm_grad_v0: the baseline's shaders/norm*.wgsl with their includes spliced in. */
export function registerBaselineShaders(): void {
  const show = (path: string) => execFileSync('git', ['show', `${BASELINE_COMMIT}:${path}`], { encoding: 'utf8' });
  for (const file of ['norm', 'norm_apply', 'norm_grad']) {
    shaderSources[`${file}_v0`] = show(`shaders/${file}.wgsl`).replace(/^\/\/!include (\S+)\s*$/gm, (_, name: string) => show(`shaders/include/${name}.wgsl`).trimEnd());
  }
}

/** A norm kernel compiled for one activation kind (the ACTIVATION override: no run-time switch). */
function normKernel(file: string, entryPoint: string, activation: NormActivation = { kind: 'none' }) {
  const suffix = activation.kind === 'none' ? '' : `.${activation.kind}`;
  return kernel(`${file}_v0`, { name: `norm0.${entryPoint}${suffix}`, entryPoint, constants: { ACTIVATION: ACTIVATION_CODE[activation.kind] } });
}

/**
 * Per-group statistics [2G]: the mean, then 1 / sqrt(biased var + eps). With running buffers,
 * updates them in place (momentum, unbiased variance).
 */
export function normStats(x: GPUBuffer, g: NormGeometry, eps: number, running?: { mean: GPUBuffer; variance: GPUBuffer; momentum: number }): GPUBuffer {
  const stats = alloc(2 * g.G);
  const entry = running ? 'statsUpdate' : 'stats';
  const placeholder = gpu().placeholder;
  withScratch(running ? 2 : 4, (scratch) => {
    const slots = running ? [running.mean, running.variance, ...scratch] : scratch;
    const [runMean, runVar, sumG, sumGXhat] = slots as [GPUBuffer, GPUBuffer, GPUBuffer, GPUBuffer];
    gpu().dispatch(normKernel('norm', entry), [x, placeholder, runMean, runVar, placeholder, stats, sumG, sumGXhat], normParams(g, { eps, momentum: running?.momentum }).done(), groupGrid(g.G));
  });
  return stats;
}

/** Eval-mode statistics [2G] from the running estimates: their mean, then 1 / sqrt(var + eps). */
export function normStatsFromRunning(runningMean: GPUBuffer, runningVar: GPUBuffer, g: NormGeometry, eps: number): GPUBuffer {
  const stats = alloc(2 * g.G);
  const placeholder = gpu().placeholder;
  withScratch(2, ([sumG, sumGXhat]) => {
    gpu().dispatch(normKernel('norm', 'statsFromRunning'), [placeholder, placeholder, runningMean, runningVar, placeholder, stats, sumG!, sumGXhat!], normParams(g, { eps }).done(), grid1d(g.G));
  });
  return stats;
}

/** y = act(z), z the affine normalised x; for 'mfm' use normalizeMfm. */
export function normalize(x: GPUBuffer, stats: GPUBuffer, weight: GPUBuffer | undefined, bias: GPUBuffer | undefined, g: NormGeometry, activation: NormActivation = { kind: 'none' }): GPUBuffer {
  if (activation.kind === 'mfm') throw new Error('normalize: max-feature-map changes the shape; call normalizeMfm');
  const count = g.Nb * g.G * g.S;
  const y = alloc(count);
  const placeholder = gpu().placeholder;
  dispatch1d(normKernel('norm_apply', 'normalize', activation), [x, stats, weight ?? placeholder, bias ?? placeholder, y, gpu().placeholderOutput], normParams(g, { hasWeight: !!weight, hasBias: !!bias, activation }), count);
  return y;
}

/**
 * y [.., C/2, S] = max of the two channel halves of z (torch.maximum), and with `withMask` the u32
 * routing mask [.., C/2, S] the backward reads (the layout conv2d's fused mfm writes).
 */
export function normalizeMfm(x: GPUBuffer, stats: GPUBuffer, weight: GPUBuffer | undefined, bias: GPUBuffer | undefined, g: NormGeometry, withMask: boolean): { y: GPUBuffer; mask: GPUBuffer | undefined } {
  const count = (g.Nb * g.G * g.S) / 2;
  const y = alloc(count);
  const mask = withMask ? alloc(count) : undefined;
  const placeholder = gpu().placeholder;
  dispatch1d(
    normKernel('norm_apply', 'normalizeMfm', { kind: 'mfm' }),
    [x, stats, weight ?? placeholder, bias ?? placeholder, y, mask ?? gpu().placeholderOutput],
    normParams(g, { hasWeight: !!weight, hasBias: !!bias, writeMask: withMask }),
    count,
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
    gpu().dispatch(normKernel('norm', 'gradSums', b.activation), bindings, normParams(g, { hasWeight: !!b.weight, hasBias: !!b.bias, activation: b.activation }).done(), groupGrid(g.G));
  });
  return { sumG, sumGXhat };
}

/** dL/dx; the sums are needed (and read) only when the statistics came from the batch. */
export function normInputGrad(x: GPUBuffer, b: NormBackwardInputs, sums: { sumG: GPUBuffer; sumGXhat: GPUBuffer } | undefined, g: NormGeometry): GPUBuffer {
  checkMask(b);
  const count = g.Nb * g.G * g.S;
  const gx = alloc(count);
  const placeholder = gpu().placeholder;
  // One slot holds the bias (read by relu / leakyRelu / tanh) or the mask (max-feature-map).
  const biasOrMask = (b.activation.kind === 'mfm' ? b.mask : b.bias) ?? placeholder;
  dispatch1d(
    normKernel('norm_grad', 'inputGrad', b.activation),
    [x, b.stats, b.weight ?? placeholder, biasOrMask, b.gy, sums?.sumG ?? placeholder, sums?.sumGXhat ?? placeholder, gx],
    normParams(g, { hasWeight: !!b.weight, hasBias: !!b.bias, useBatchStats: !!sums, activation: b.activation }),
    count,
  );
  return gx;
}
