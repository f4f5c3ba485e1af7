// Losses with torch.nn.functional semantics.
import { logSoftmax } from './activation.js';
import { broadcastIndexMap, broadcastShapes, mul } from './elementwise.js';
import { type T64, sameShape, scalar, size, zeros } from './tensor64.js';

export type Reduction = 'mean' | 'sum' | 'none';

function reduceLoss(loss: T64, reduction: Reduction): T64 {
  if (reduction === 'none') return loss;
  const s = loss.data.reduce((a, b) => a + b, 0);
  return scalar(reduction === 'sum' ? s : s / loss.data.length);
}

export interface CrossEntropyOptions {
  reduction?: Reduction;
  labelSmoothing?: number;
  /** Per-class weights [C]. */
  weight?: T64 | null;
  /** Targets equal to this contribute nothing (and are left out of the mean's divisor). Default -100. */
  ignoreIndex?: number;
}

/**
 * F.nll_loss on log-probabilities [N, C, d1, ...] (or [C] with one target) and class indices
 * [N, d1, ...]. 'mean' divides by the summed weights of the non-ignored targets.
 */
export function nllLoss(logProbs: T64, target: number[] | T64, opts: Omit<CrossEntropyOptions, 'labelSmoothing'> = {}): T64 {
  return classIndexLoss(logProbs, target, { ...opts, labelSmoothing: 0 });
}

/**
 * F.cross_entropy. Logits [N, C, d1, ...] (class dim 1) or unbatched [C].
 * Target either class indices (number[] or T64 of shape [N, d1, ...]) or class probabilities
 * (a T64 of the logits' shape).
 *
 * With indices, per element i with target t_i (w = weight or ones, ε = labelSmoothing):
 *   nll_i    = -w[t_i] · logp[i, t_i]
 *   smooth_i = -Σ_c w[c] · logp[i, c]
 *   loss_i   = (1 - ε) · nll_i + (ε / C) · smooth_i        (0 where t_i == ignoreIndex)
 *   'mean'   = Σ_i loss_i / Σ_{i not ignored} w[t_i]      (PyTorch divides both terms by this)
 * With probabilities p (smoothed to p(1-ε) + ε/C): loss_i = -Σ_c w[c] p[i,c] logp[i,c];
 * 'mean' divides by the number of elements N·d1·..., not by weights.
 */
export function crossEntropy(logits: T64, target: number[] | T64, opts: CrossEntropyOptions = {}): T64 {
  const classDim = logits.shape.length === 1 ? 0 : 1;
  const logp = logSoftmax(logits, classDim);
  // Index targets have one dim fewer than the logits, so a target of the logits' shape holds probabilities.
  if (!Array.isArray(target) && sameShape(target.shape, logits.shape)) {
    return probabilityLoss(logp, target, classDim, opts);
  }
  return classIndexLoss(logp, target, opts);
}

function classIndexLoss(logp: T64, target: number[] | T64, opts: CrossEntropyOptions): T64 {
  const reduction = opts.reduction ?? 'mean';
  const eps = opts.labelSmoothing ?? 0;
  const ignoreIndex = opts.ignoreIndex ?? -100;
  const unbatched = logp.shape.length === 1;
  const shape = unbatched ? [1, logp.shape[0]] : logp.shape;
  if (shape.length < 2) throw new Error(`crossEntropy: expected logits [N, C, ...] or [C], got [${logp.shape}]`);
  const [N, C] = shape;
  const spatial = shape.slice(2);
  const S = size(spatial);
  const t = Array.isArray(target) ? target : Array.from(target.data);
  const expectedTargetShape = unbatched ? [] : [N, ...spatial];
  if (!Array.isArray(target) && !unbatched && !sameShape(target.shape, expectedTargetShape)) {
    throw new Error(`crossEntropy: target shape [${target.shape}] should be [${expectedTargetShape}] for logits [${logp.shape}]`);
  }
  if (t.length !== N * S) throw new Error(`crossEntropy: expected ${N * S} targets for logits [${logp.shape}], got ${t.length}`);
  const w = opts.weight ?? null;
  if (w && (w.shape.length !== 1 || w.shape[0] !== C)) throw new Error(`crossEntropy: weight must be [${C}], got [${w.shape}]`);
  const wc = (c: number) => (w ? w.data[c] : 1);
  const perElement = zeros(expectedTargetShape);
  let weightSum = 0;
  for (let n = 0; n < N; n++)
    for (let s = 0; s < S; s++) {
      const i = n * S + s;
      const ti = t[i];
      if (ti === ignoreIndex) continue;
      if (!Number.isInteger(ti) || ti < 0 || ti >= C) throw new Error(`crossEntropy: target ${ti} at ${i} is not a class in [0, ${C - 1}]`);
      const lp = (c: number) => logp.data[(n * C + c) * S + s];
      const nll = -wc(ti) * lp(ti);
      // PyTorch takes the smoothing path only when label_smoothing > 0: without it a masked class
      // (log-probability -inf) does not enter the loss (0 · -inf would make it NaN).
      let smooth = 0;
      for (let c = 0; c < C; c++) smooth -= wc(c) * lp(c);
      perElement.data[i] = eps > 0 ? (1 - eps) * nll + (eps / C) * smooth : nll;
      weightSum += wc(ti);
    }
  if (reduction === 'none') return perElement;
  const total = perElement.data.reduce((a, b) => a + b, 0);
  return scalar(reduction === 'sum' ? total : total / weightSum);
}

function probabilityLoss(logp: T64, target: T64, classDim: number, opts: CrossEntropyOptions): T64 {
  const reduction = opts.reduction ?? 'mean';
  const eps = opts.labelSmoothing ?? 0;
  const shape = classDim === 0 ? [1, ...logp.shape] : logp.shape;
  const [N, C] = shape;
  const S = size(shape.slice(2));
  const w = opts.weight ?? null;
  const perElement = zeros(classDim === 0 ? [] : [N, ...shape.slice(2)]);
  for (let n = 0; n < N; n++)
    for (let s = 0; s < S; s++) {
      let acc = 0;
      for (let c = 0; c < C; c++) {
        const k = (n * C + c) * S + s;
        const p = target.data[k] * (1 - eps) + eps / C;
        acc -= (w ? w.data[c] : 1) * p * logp.data[k];
      }
      perElement.data[n * S + s] = acc;
    }
  return reduceLoss(perElement, reduction);
}

export interface BceOptions {
  reduction?: Reduction;
  /** Weight of positive examples, broadcast against the target (usually [C]). */
  posWeight?: T64 | null;
  /** Per-element rescaling weight, broadcast against the input. */
  weight?: T64 | null;
}

/**
 * F.binary_cross_entropy_with_logits:
 *   loss = w · [ (1 - t) · x + (1 + (pw - 1) · t) · softplus(-x) ],  softplus(-x) = log(1 + e^-x)
 * which is -w · [ pw · t · log σ(x) + (1 - t) · log(1 - σ(x)) ] computed stably.
 */
export function bceWithLogits(x: T64, target: T64, opts: BceOptions = {}): T64 {
  if (!sameShape(x.shape, target.shape)) throw new Error(`bceWithLogits: target [${target.shape}] must match input [${x.shape}]`);
  const pw = opts.posWeight ?? null;
  const shape = pw ? broadcastShapes(x.shape, pw.shape) : x.shape;
  const mx = broadcastIndexMap(x.shape, shape);
  const mp = pw ? broadcastIndexMap(pw.shape, shape) : null;
  let loss = zeros(shape);
  for (let i = 0; i < loss.data.length; i++) {
    const v = x.data[mx[i]];
    const t = target.data[mx[i]];
    const logWeight = pw && mp ? 1 + (pw.data[mp[i]] - 1) * t : 1;
    const softplusNeg = Math.max(-v, 0) + Math.log1p(Math.exp(-Math.abs(v)));
    // Without pos_weight, torch's (1 - t) v - log_sigmoid(v) = (1 - t) v - min(v, 0) + log1p(exp(-|v|)):
    // (1 - t) v and min(v, 0) are the same number where the loss is tiny (v = -30, t = 0), so it keeps its digits.
    loss.data[i] = pw ? (1 - t) * v + logWeight * softplusNeg : (1 - t) * v - Math.min(v, 0) + Math.log1p(Math.exp(-Math.abs(v)));
  }
  if (opts.weight) loss = mul(loss, opts.weight);
  return reduceLoss(loss, opts.reduction ?? 'mean');
}

/** F.binary_cross_entropy on probabilities: -w [t log p + (1 - t) log(1 - p)], each log clamped at -100. */
export function bce(p: T64, target: T64, opts: { reduction?: Reduction; weight?: T64 | null } = {}): T64 {
  if (!sameShape(p.shape, target.shape)) throw new Error(`bce: target [${target.shape}] must match input [${p.shape}]`);
  let loss = zeros(p.shape);
  for (let i = 0; i < loss.data.length; i++) {
    const v = p.data[i];
    const t = target.data[i];
    loss.data[i] = -(t * Math.max(Math.log(v), -100) + (1 - t) * Math.max(Math.log(1 - v), -100));
  }
  if (opts.weight) loss = mul(loss, opts.weight);
  return reduceLoss(loss, opts.reduction ?? 'mean');
}

function pairwise(x: T64, y: T64, f: (a: number, b: number) => number, reduction: Reduction): T64 {
  const shape = broadcastShapes(x.shape, y.shape);
  const mx = broadcastIndexMap(x.shape, shape);
  const my = broadcastIndexMap(y.shape, shape);
  const loss = zeros(shape);
  for (let i = 0; i < loss.data.length; i++) loss.data[i] = f(x.data[mx[i]], y.data[my[i]]);
  return reduceLoss(loss, reduction);
}

/** F.mse_loss: (x - y)², reduced ('mean' over all elements). Broadcasts like PyTorch. */
export function mseLoss(x: T64, y: T64, opts: { reduction?: Reduction } = {}): T64 {
  return pairwise(x, y, (a, b) => (a - b) * (a - b), opts.reduction ?? 'mean');
}

/** F.l1_loss: |x - y|, reduced ('mean' over all elements). */
export function l1Loss(x: T64, y: T64, opts: { reduction?: Reduction } = {}): T64 {
  return pairwise(x, y, (a, b) => Math.abs(a - b), opts.reduction ?? 'mean');
}

/** F.smooth_l1_loss with threshold beta: 0.5 d²/β if |d| < β else |d| - 0.5β. */
export function smoothL1Loss(x: T64, y: T64, opts: { reduction?: Reduction; beta?: number } = {}): T64 {
  const beta = opts.beta ?? 1;
  return pairwise(x, y, (a, b) => {
    const d = Math.abs(a - b);
    return beta === 0 ? d : d < beta ? (0.5 * d * d) / beta : d - 0.5 * beta;
  }, opts.reduction ?? 'mean');
}
