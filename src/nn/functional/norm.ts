// batchNorm and instanceNorm (PyTorch's F.batch_norm / F.instance_norm with input statistics),
// optionally with the activation that follows them fused in (`activation`: relu, leakyRelu, tanh),
// and batchNormMfm: batch norm then LightCNN's max-feature-map. One kernel family: statistics per
// group (a channel, or a (sample, channel) plane), normalise + activate in one pass, and the
// backward with dz = dL/dz (z the affine output) read through the activation's derivative:
//   dβ = Σ dz,  dγ = Σ dz·x̂,  dx = γ·invStd / m · (m·dz - Σ dz - x̂·Σ dz·x̂)  (batch statistics)
//   or dx = dz·γ·invStd (running statistics, eval mode).
import { normGradSums, normInputGrad, normStats, normStatsFromRunning, normalize, normalizeMfm, type NormActivation, type NormGeometry } from '../../kernels/norm.js';
import { Tensor, formatShape, isGradEnabled, record } from '../../tensor/tensor.js';
import { sum } from './reduce.js';
import { checkOptionNames, expectTensor, inDtype, operandType, storageOf, wrap } from './util.js';

/** An activation applied to the normalised output in the same pass: y = act(norm(x)). */
export interface FusedActivationOptions {
  /** F.relu, F.leakyRelu or F.tanh of the output, fused; none by default. */
  activation?: 'relu' | 'leakyRelu' | 'tanh';
  /** leakyRelu's slope for negative inputs (default 0.01, as F.leakyRelu). */
  negativeSlope?: number;
}

export interface BatchNormOptions extends FusedActivationOptions {
  /** Batch statistics and running-stat updates (true) or the running statistics (false, default). */
  training?: boolean;
  momentum?: number;
  eps?: number;
}

function checkVector(t: Tensor | undefined, C: number, name: string, op: string): void {
  if (t && (t.rank !== 1 || t.shape[0] !== C)) throw new Error(`${op}: ${name} ${formatShape(t.shape)} should be [${C}] (one value per channel)`);
}

function fusedActivation(options: FusedActivationOptions, op: string): NormActivation {
  switch (options.activation) {
    case undefined:
      return { kind: 'none' };
    case 'relu':
    case 'tanh':
      return { kind: options.activation };
    case 'leakyRelu':
      return { kind: 'leakyRelu', negativeSlope: options.negativeSlope ?? 0.01 };
    default:
      throw new Error(`${op}: activation ${JSON.stringify(options.activation)} cannot be fused; use 'relu', 'leakyRelu' or 'tanh', or apply it after the norm`);
  }
}

/** What batchNorm, instanceNorm and batchNormMfm share once the statistics are known. */
interface NormPass {
  op: string;
  x: Tensor;
  weight: Tensor | undefined;
  bias: Tensor | undefined;
  /** [2G]: mean, then 1 / std. Owned by the pass (disposed after recording). */
  stats: Tensor;
  geometry: NormGeometry;
  activation: NormActivation;
  /** Whether the statistics came from this batch (their gradient flows into dx). */
  batchStats: boolean;
  /** Folds per-group sums [G] to per-channel ones [C] (instance norm: a sum over the batch). */
  perChannel: (t: Tensor) => Tensor;
}

/** Normalises (and activates), records the node with its backward, and frees the statistics. */
function normPass(pass: NormPass): Tensor {
  const { op, x, weight, bias, stats, geometry, activation, batchStats } = pass;
  const inputs = [x, ...(weight ? [weight] : []), ...(bias ? [bias] : [])];
  const needsGrad = isGradEnabled() && inputs.some((t) => t.requiresGrad);
  // x, the output and their gradients in x's dtype (float16: read and written as such, computed in f32).
  const operands = operandType(x.dtype);
  let out: Tensor;
  let mask: Tensor | undefined;
  if (activation.kind === 'mfm') {
    const [N, C] = x.shape;
    const shape = [N, C / 2, ...x.shape.slice(2)];
    const result = normalizeMfm(storageOf(x), stats.buffer, weight?.buffer, bias?.buffer, geometry, needsGrad, operands);
    out = Tensor.fromBuffer(result.y, shape, false, x.dtype);
    mask = result.mask ? wrap(result.mask, shape) : undefined;
  } else {
    out = Tensor.fromBuffer(normalize(storageOf(x), stats.buffer, weight?.buffer, bias?.buffer, geometry, activation, operands), x.shape, false, x.dtype);
  }
  // The backward recomputes z from x, so it keeps bias only when an activation's derivative reads z.
  const readsBias = activation.kind !== 'none' && activation.kind !== 'mfm';
  const saved = [x, stats, ...(weight ? [weight] : []), ...(bias && readsBias ? [bias] : []), ...(mask ? [mask] : [])];
  const result = record(op, inputs, out, saved, (g) => inDtype(g, x.dtype, (gRead) => {
    const backwardInputs = { gy: storageOf(gRead), stats: stats.buffer, weight: weight?.buffer, bias: readsBias ? bias?.buffer : undefined, activation, mask: mask?.buffer, operands };
    const needSums = batchStats || weight?.requiresGrad || bias?.requiresGrad;
    const sums = needSums ? normGradSums(storageOf(x), backwardInputs, geometry) : undefined;
    const gx = x.requiresGrad ? Tensor.fromBuffer(normInputGrad(storageOf(x), backwardInputs, batchStats ? sums : undefined, geometry), x.shape, false, x.dtype) : undefined;
    const sumG = sums ? wrap(sums.sumG, [geometry.G]) : undefined;
    const sumGXhat = sums ? wrap(sums.sumGXhat, [geometry.G]) : undefined;
    const gw = weight?.requiresGrad ? pass.perChannel(sumGXhat!) : undefined;
    const gb = bias?.requiresGrad ? pass.perChannel(sumG!) : undefined;
    return [gx, ...(weight ? [gw] : []), ...(bias ? [gb] : [])];
  }));
  stats.dispose();
  mask?.dispose();
  return result;
}

function normGeometryOf(op: string, x: Tensor, minRank: number, shapeHint: string): { N: number; C: number; S: number } {
  if (x.rank < minRank) throw new Error(`${op}: expected input ${shapeHint}, got ${formatShape(x.shape)}`);
  const [N, C] = x.shape;
  return { N: N!, C: C!, S: x.shape.slice(2).reduce((a, d) => a * d, 1) };
}

/** Batch statistics (updating the running estimates when given) or, in eval mode, the running ones. */
function batchStatistics(op: string, x: Tensor, runningMean: Tensor | undefined, runningVar: Tensor | undefined, geometry: NormGeometry, options: BatchNormOptions): { stats: Tensor; training: boolean } {
  checkOptionNames(op, options, ['training', 'momentum', 'eps', 'activation', 'negativeSlope']);
  // PyTorch's momentum None (a cumulative average) is not implemented: refused, not read as the default.
  if ((options.momentum as unknown) === null) throw new Error(`${op}: momentum null (PyTorch's cumulative moving average) is not supported; give a number (default 0.1)`);
  const training = options.training ?? false;
  const momentum = options.momentum ?? 0.1;
  const eps = options.eps ?? 1e-5;
  const C = geometry.C;
  checkVector(runningMean, C, 'runningMean', op);
  checkVector(runningVar, C, 'runningVar', op);
  if ((runningMean === undefined) !== (runningVar === undefined)) throw new Error(`${op}: pass both runningMean and runningVar, or neither`);
  if (training) {
    if (geometry.Nb * geometry.S <= 1) throw new Error(`${op}: expected more than 1 value per channel when training, got input ${formatShape(x.shape)}; use a batch larger than 1 or eval mode`);
    const running = runningMean && runningVar ? { mean: runningMean.buffer, variance: runningVar.buffer, momentum } : undefined;
    return { stats: wrap(normStats(storageOf(x), geometry, eps, running, operandType(x.dtype)), [2, C]), training };
  }
  if (!runningMean || !runningVar) throw new Error(`${op}: eval mode (training: false) needs runningMean and runningVar; pass them or set training: true`);
  return { stats: wrap(normStatsFromRunning(runningMean.buffer, runningVar.buffer, geometry, eps), [2, C]), training };
}

/**
 * x [N, C] or [N, C, *]. Training: normalise with the batch mean and biased variance over N and
 * the spatial dims, and update runningMean / runningVar in place (momentum, unbiased variance),
 * when given. Eval: normalise with runningMean / runningVar. weight (γ) and bias (β) are optional.
 * With `activation`, returns act(batchNorm(x)) from the same passes (F.relu / F.leakyRelu /
 * F.tanh of the result, the same values and gradients).
 */
export function batchNorm(x: Tensor, runningMean: Tensor | undefined, runningVar: Tensor | undefined, weight?: Tensor, bias?: Tensor, options: BatchNormOptions = {}): Tensor {
  expectTensor(x, 'batchNorm', 'input');
  const op = 'batchNorm';
  const { N, C, S } = normGeometryOf(op, x, 2, '[N, C] or [N, C, ...]');
  checkVector(weight, C, 'weight', op);
  checkVector(bias, C, 'bias', op);
  const activation = fusedActivation(options, op);
  const geometry: NormGeometry = { G: C, Nb: N, S, C };
  const { stats, training } = batchStatistics(op, x, runningMean, runningVar, geometry, options);
  return normPass({ op, x, weight, bias, stats, geometry, activation, batchStats: training, perChannel: (t) => t });
}

/**
 * mfm(batchNorm(x)): batch norm over the 2C channels of x [N, 2C, H, W], then LightCNN's
 * max-feature-map (torch.max of the two channel halves) in the same pass → [N, C, H, W]. The
 * normalised 2C-channel activations are never written: the backward routes the gradient by a
 * C-channel mask (torch.maximum's rule: all to the larger half, half each on a tie, both on NaN)
 * inside the norm's own gradient passes. Options, statistics and running updates as batchNorm.
 */
export function batchNormMfm(x: Tensor, runningMean: Tensor | undefined, runningVar: Tensor | undefined, weight?: Tensor, bias?: Tensor, options: Omit<BatchNormOptions, keyof FusedActivationOptions> = {}): Tensor {
  expectTensor(x, 'batchNormMfm', 'input');
  const op = 'batchNormMfm';
  const { N, C, S } = normGeometryOf(op, x, 2, '[N, 2C, H, W] or [N, 2C]');
  if (C % 2 !== 0) throw new Error(`${op}: dimension 1 of ${formatShape(x.shape)} must be even (two halves for the max-feature-map); give the layer before it 2·C outputs`);
  checkVector(weight, C, 'weight', op);
  checkVector(bias, C, 'bias', op);
  const geometry: NormGeometry = { G: C, Nb: N, S, C };
  const { stats, training } = batchStatistics(op, x, runningMean, runningVar, geometry, options);
  return normPass({ op, x, weight, bias, stats, geometry, activation: { kind: 'mfm' }, batchStats: training, perChannel: (t) => t });
}

/**
 * x [N, C, *spatial]: each (sample, channel) plane normalised by its own mean and biased
 * variance; optional per-channel affine weight and bias; `activation` fused as in batchNorm.
 */
export function instanceNorm(x: Tensor, weight?: Tensor, bias?: Tensor, options: { eps?: number } & FusedActivationOptions = {}): Tensor {
  expectTensor(x, 'instanceNorm', 'input');
  const op = 'instanceNorm';
  // Running statistics (use_input_stats=False) are not implemented: refused, not ignored.
  checkOptionNames(op, options, ['eps', 'activation', 'negativeSlope']);
  const eps = options.eps ?? 1e-5;
  const { N, C, S } = normGeometryOf(op, x, 3, '[N, C, H, W] (or [N, C, L]); add the missing dimensions with F.unsqueeze');
  checkVector(weight, C, 'weight', op);
  checkVector(bias, C, 'bias', op);
  if (S <= 1) throw new Error(`${op}: expected more than 1 spatial element per channel, got input ${formatShape(x.shape)}`);
  const activation = fusedActivation(options, op);
  const geometry: NormGeometry = { G: N * C, Nb: 1, S, C };
  const stats = wrap(normStats(storageOf(x), geometry, eps, undefined, operandType(x.dtype)), [2, N * C]);
  return normPass({ op, x, weight, bias, stats, geometry, activation, batchStats: true, perChannel: (t) => sum(t.reshape([N, C]), 0) });
}
