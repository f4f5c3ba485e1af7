// batchNorm and instanceNorm (PyTorch's F.batch_norm / F.instance_norm with input statistics).
// Both are one kernel family: statistics per group (a channel, or a (sample, channel) plane),
// normalise, and the backward
//   dβ = Σ g,  dγ = Σ g·x̂,  dx = γ·invStd / m · (m·g - Σ g - x̂·Σ g·x̂)  (batch statistics)
//   or dx = g·γ·invStd (running statistics, eval mode).
import { unary } from '../../kernels/elementwise.js';
import { normGradSums, normInputGrad, normStats, normalize, type NormGeometry } from '../../kernels/norm.js';
import { Tensor, formatShape, record } from '../../tensor/tensor.js';
import { sum } from './reduce.js';
import { wrap } from './util.js';

export interface BatchNormOptions {
  /** Batch statistics and running-stat updates (true) or the running statistics (false, default). */
  training?: boolean;
  momentum?: number;
  eps?: number;
}

function checkVector(t: Tensor | undefined, C: number, name: string, op: string): void {
  if (t && (t.rank !== 1 || t.shape[0] !== C)) throw new Error(`${op}: ${name} ${formatShape(t.shape)} should be [${C}] (one value per channel)`);
}

/** Backward shared by both ops; `reduceWeightGrad` folds per-group sums to per-channel ones. */
function normBackward(x: Tensor, weight: Tensor | undefined, bias: Tensor | undefined, mean: Tensor, invStd: Tensor, g: Tensor, geometry: NormGeometry, batchStats: boolean, perChannel: (t: Tensor) => Tensor) {
  const needSums = batchStats || weight?.requiresGrad || bias?.requiresGrad;
  const sums = needSums ? normGradSums(x.buffer, g.buffer, mean.buffer, invStd.buffer, geometry) : undefined;
  const gx = x.requiresGrad ? wrap(normInputGrad(x.buffer, g.buffer, mean.buffer, invStd.buffer, weight?.buffer, batchStats ? sums : undefined, geometry), x.shape) : undefined;
  const sumG = sums ? wrap(sums.sumG, [geometry.G]) : undefined;
  const sumGXhat = sums ? wrap(sums.sumGXhat, [geometry.G]) : undefined;
  const gw = weight?.requiresGrad ? perChannel(sumGXhat!) : undefined;
  const gb = bias?.requiresGrad ? perChannel(sumG!) : undefined;
  return { gx, gw, gb };
}

/**
 * x [N, C] or [N, C, *]. Training: normalise with the batch mean and biased variance over N and
 * the spatial dims, and update runningMean / runningVar in place (momentum, unbiased variance),
 * when given. Eval: normalise with runningMean / runningVar. weight (γ) and bias (β) are optional.
 */
export function batchNorm(x: Tensor, runningMean: Tensor | undefined, runningVar: Tensor | undefined, weight?: Tensor, bias?: Tensor, options: BatchNormOptions = {}): Tensor {
  const op = 'batchNorm';
  const training = options.training ?? false;
  const momentum = options.momentum ?? 0.1;
  const eps = options.eps ?? 1e-5;
  if (x.rank < 2) throw new Error(`${op}: expected input [N, C] or [N, C, ...], got ${formatShape(x.shape)}`);
  const [N, C] = x.shape;
  const S = x.shape.slice(2).reduce((a, d) => a * d, 1);
  checkVector(runningMean, C, 'runningMean', op);
  checkVector(runningVar, C, 'runningVar', op);
  checkVector(weight, C, 'weight', op);
  checkVector(bias, C, 'bias', op);
  if ((runningMean === undefined) !== (runningVar === undefined)) throw new Error(`${op}: pass both runningMean and runningVar, or neither`);
  const geometry: NormGeometry = { G: C, Nb: N, S, C };
  let mean: Tensor;
  let invStd: Tensor;
  if (training) {
    if (N * S <= 1) throw new Error(`${op}: expected more than 1 value per channel when training, got input ${formatShape(x.shape)}; use a batch larger than 1 or eval mode`);
    const running = runningMean && runningVar ? { mean: runningMean.buffer, variance: runningVar.buffer, momentum } : undefined;
    const stats = normStats(x.buffer, geometry, eps, running);
    mean = wrap(stats.mean, [C]);
    invStd = wrap(stats.invStd, [C]);
  } else {
    if (!runningMean || !runningVar) throw new Error(`${op}: eval mode (training: false) needs runningMean and runningVar; pass them or set training: true`);
    mean = runningMean.detach();
    invStd = wrap(unary('inverseSqrtEps', 'inverseSqrt(x + p.alpha)', runningVar.buffer, C, eps), [C]);
  }
  const y = wrap(normalize(x.buffer, mean.buffer, invStd.buffer, weight?.buffer, bias?.buffer, geometry), x.shape);
  const inputs = [x, ...(weight ? [weight] : []), ...(bias ? [bias] : [])];
  const out = record(op, inputs, y, [x, mean, invStd, ...(weight ? [weight] : [])], (g) => {
    const { gx, gw, gb } = normBackward(x, weight, bias, mean, invStd, g, geometry, training, (t) => t);
    return [gx, ...(weight ? [gw] : []), ...(bias ? [gb] : [])];
  });
  mean.dispose();
  invStd.dispose();
  return out;
}

/**
 * x [N, C, *spatial]: each (sample, channel) plane normalised by its own mean and biased
 * variance; optional per-channel affine weight and bias.
 */
export function instanceNorm(x: Tensor, weight?: Tensor, bias?: Tensor, options: { eps?: number } = {}): Tensor {
  const op = 'instanceNorm';
  const eps = options.eps ?? 1e-5;
  if (x.rank < 3) throw new Error(`${op}: expected input [N, C, H, W] (or [N, C, L]), got ${formatShape(x.shape)}; add the missing dimensions with F.unsqueeze`);
  const [N, C] = x.shape;
  const S = x.shape.slice(2).reduce((a, d) => a * d, 1);
  checkVector(weight, C, 'weight', op);
  checkVector(bias, C, 'bias', op);
  if (S <= 1) throw new Error(`${op}: expected more than 1 spatial element per channel, got input ${formatShape(x.shape)}`);
  const geometry: NormGeometry = { G: N * C, Nb: 1, S, C };
  const stats = normStats(x.buffer, geometry, eps);
  const mean = wrap(stats.mean, [N * C]);
  const invStd = wrap(stats.invStd, [N * C]);
  const y = wrap(normalize(x.buffer, mean.buffer, invStd.buffer, weight?.buffer, bias?.buffer, geometry), x.shape);
  const inputs = [x, ...(weight ? [weight] : []), ...(bias ? [bias] : [])];
  const out = record(op, inputs, y, [x, mean, invStd, ...(weight ? [weight] : [])], (g) => {
    const { gx, gw, gb } = normBackward(x, weight, bias, mean, invStd, g, geometry, true, (t) => sum(t.reshape([N, C]), 0));
    return [gx, ...(weight ? [gw] : []), ...(bias ? [gb] : [])];
  });
  mean.dispose();
  invStd.dispose();
  return out;
}
