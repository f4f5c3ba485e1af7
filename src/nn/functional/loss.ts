// softmax, logSoftmax and the losses, composed from the ops above where that is exact and cheap,
// so their gradients come from rules that are already tested.
import { softmaxAxis } from '../../kernels/reduce.js';
import { binary } from '../../kernels/elementwise.js';
import { crossEntropyBackward, crossEntropyForward, decodeTargetFlags } from '../../kernels/cross-entropy.js';
import { gpu } from '../../gpu/index.js';
import { tensor } from '../../tensor/creation.js';
import { Tensor, formatShape, record, scope } from '../../tensor/tensor.js';
import { abs, exp, mul, neg, sub } from './elementwise.js';
import { mean, sum } from './reduce.js';
import { checkOptionNames, expectTensor, normDim, sameShape, splitAt, wrap } from './util.js';
import { sumTo } from './shape.js';

/**
 * The dim softmax / logSoftmax run along. Without one, PyTorch's (deprecated) implicit choice,
 * _get_softmax_dim: dim 0 for ranks 0, 1 and 3, else dim 1 (so not the last dim from rank 3 on).
 */
function softmaxDim(x: Tensor, dim: number | undefined, op: string): number {
  const implicit = x.rank === 0 || x.rank === 1 || x.rank === 3 ? 0 : 1;
  return normDim(dim ?? implicit, x.rank, op);
}

export function softmax(x: Tensor, dim?: number): Tensor {
  expectTensor(x, 'softmax', 'input');
  const d = softmaxDim(x, dim, 'softmax');
  const { outer, reduced, inner } = splitAt(x.shape, d);
  const y = wrap(softmaxAxis(x.buffer, outer, reduced, inner, false), x.shape);
  // dx = y * (g - sum(g * y, dim))
  return record('softmax', [x], y, [y], (g) => {
    const dot = sum(mul(g, y), d, { keepdim: true });
    return [mul(y, sub(g, dot))];
  });
}

export function logSoftmax(x: Tensor, dim?: number): Tensor {
  expectTensor(x, 'logSoftmax', 'input');
  const d = softmaxDim(x, dim, 'logSoftmax');
  const { outer, reduced, inner } = splitAt(x.shape, d);
  const y = wrap(softmaxAxis(x.buffer, outer, reduced, inner, true), x.shape);
  // dx = g - softmax(x) * sum(g, dim)
  return record('logSoftmax', [x], y, [y], (g) => [sub(g, mul(exp(y), sum(g, d, { keepdim: true })))]);
}

export type Reduction = 'mean' | 'sum' | 'none';

const REDUCTIONS: readonly Reduction[] = ['mean', 'sum', 'none'];

/** A loss's options checked up front (PyTorch: "... is not a valid value for reduction"); returns the reduction. */
function checkLossOptions(op: string, options: { reduction?: Reduction }, known: readonly string[] = ['reduction']): Reduction {
  checkOptionNames(op, options, known);
  const reduction = options.reduction ?? 'mean';
  if (!REDUCTIONS.includes(reduction)) throw new Error(`${op}: ${JSON.stringify(reduction)} is not a valid value for reduction; use 'mean', 'sum' or 'none'`);
  return reduction;
}

function reduce(x: Tensor, reduction: Reduction): Tensor {
  if (reduction === 'mean') return mean(x);
  if (reduction === 'sum') return sum(x);
  return x;
}

export interface CrossEntropyOptions {
  reduction?: Reduction;
  /** PyTorch's label_smoothing: the target becomes (1 - e) one-hot + e / C. */
  labelSmoothing?: number;
}

/**
 * Cross-entropy of logits [N, C] (or [N, C, d1, ...]) against class indices [N] (or [N, d1, ...]),
 * given as a tensor or host integers. Matches torch.nn.functional.cross_entropy, without
 * ignore_index and class weights. Every target must be an integer in [0, C): host targets are
 * checked here; a target tensor is checked by the kernel, and the next read-back or sync()
 * (loss.item(), say) rejects with an InvalidInputError naming the first bad target. Until then
 * a row with a bad target has a NaN loss and a zero gradient, so it cannot pass for a real loss.
 */
export function crossEntropy(logits: Tensor, target: Tensor | ArrayLike<number>, options: CrossEntropyOptions = {}): Tensor {
  expectTensor(logits, 'crossEntropy', 'logits');
  checkLossOptions('crossEntropy', options, ['reduction', 'labelSmoothing']);
  const smoothing = options.labelSmoothing ?? 0;
  if (!(smoothing >= 0 && smoothing <= 1)) throw new Error(`crossEntropy: labelSmoothing must be between 0 and 1 (as in PyTorch), got ${smoothing}`);
  // scope: the target tensors and the composed intermediates are freed; the graph keeps what it needs.
  return scope(() => crossEntropyUnscoped(logits, target, options));
}

function crossEntropyUnscoped(logits: Tensor, target: Tensor | ArrayLike<number>, options: CrossEntropyOptions): Tensor {
  const { reduction = 'mean', labelSmoothing = 0 } = options;
  if (logits.rank < 2) throw new Error(`crossEntropy: logits should be [N, C, ...], got ${formatShape(logits.shape)}`);
  const classes = logits.shape[1];
  const targetShape = [logits.shape[0], ...logits.shape.slice(2)];
  const targetCount = targetShape.reduce((a, b) => a * b, 1);
  let targetTensor: Tensor;
  // Host targets are checked here; a target tensor's values are only on the GPU, so the kernel
  // checks them and flags what it finds for the next read-back.
  let flags: GPUBuffer | undefined;
  if (target instanceof Tensor) {
    if (!sameShape(target.shape, targetShape)) {
      const probabilities = sameShape(target.shape, logits.shape) ? "; class-probability targets (PyTorch's soft labels) are not supported: give class indices" : '';
      throw new Error(`crossEntropy: target ${formatShape(target.shape)} does not match logits ${formatShape(logits.shape)} (expected ${formatShape(targetShape)})${probabilities}`);
    }
    targetTensor = target;
    flags = gpu().checkedFlags((words) => {
      const found = decodeTargetFlags(words, targetCount);
      if (!found) return undefined;
      const ignoreNote = found.sawIgnoreIndex && found.firstValue !== IGNORE_INDEX ? `; some targets are -100, ${IGNORE_INDEX_NOTE}` : '';
      return `${invalidTargetMessage(found.firstIndex, found.firstValue, classes)} (${found.count} of the ${targetCount} targets in the target tensor ${formatShape(targetShape)} are invalid${ignoreNote}; checked on the GPU, where their losses are NaN and their gradients 0)`;
    });
  } else {
    if (target.length !== targetCount) throw new Error(`crossEntropy: ${target.length} targets for logits ${formatShape(logits.shape)} (expected ${targetCount})`);
    for (let i = 0; i < target.length; i++) {
      const c = target[i];
      if (!Number.isInteger(c) || c < 0 || c >= classes) throw new Error(invalidTargetMessage(i, c, classes));
    }
    targetTensor = tensor(Float32Array.from(target), targetShape);
  }
  // One fused kernel: per-row logsumexp minus the smoothed target's expected logit; its backward
  // is softmax minus the target distribution. The graph saves the logits and the targets.
  const geometry = { batch: logits.shape[0], classes, inner: logits.shape.slice(2).reduce((a, b) => a * b, 1), smoothing: labelSmoothing };
  const rows = wrap(crossEntropyForward(logits.buffer, targetTensor.buffer, flags, geometry), targetShape);
  const perSample = record('crossEntropy', [logits], rows, [logits, targetTensor], (g) => [
    wrap(crossEntropyBackward(logits.buffer, targetTensor.buffer, g.buffer, geometry), logits.shape),
  ]);
  return reduce(perSample, reduction);
}

const IGNORE_INDEX = -100;
const IGNORE_INDEX_NOTE = "PyTorch's ignore_index, which webfer's crossEntropy does not support: leave those samples out of the batch";

/** PyTorch says "Target N is out of bounds."; this says which target, what it is and what fits. */
function invalidTargetMessage(index: number, value: number, classes: number): string {
  const what = `crossEntropy: target ${index} is ${value}`;
  if (value === IGNORE_INDEX) return `${what}, ${IGNORE_INDEX_NOTE}`;
  if (!Number.isInteger(value)) return `${what}, not an integer class index in [0, ${classes - 1}]`;
  return `${what}, outside the ${classes} classes [0, ${classes - 1}]`;
}

/**
 * log1p(z) for z = exp(-|x|) in (0, 1] as a WGSL expression (WGSL has no log1p): log(1 + z) loses
 * z's digits once z < 0.01, so there the series z - z²/2 + z³/3 (error below z⁴/4) stands in.
 */
const log1pExpNegAbs = (x: string) => `select(log(1.0 + exp(-abs(${x}))), exp(-abs(${x})) * (1.0 - exp(-abs(${x})) * (0.5 - exp(-abs(${x})) / 3.0)), abs(${x}) > 4.6)`;

/**
 * Binary cross-entropy on logits, numerically stable, written as torch's (1 - t) x - log_sigmoid(x)
 * = (1 - t) x - min(x, 0) + log1p(exp(-|x|)): a well-classified logit (x = 20, t = 1) keeps its tiny
 * loss, and x = ±inf gives PyTorch's inf or NaN.
 * Gradients: (sigmoid(x) - t) for x, -x for t, exact at x = 0 too.
 */
export function bceWithLogits(x: Tensor, target: Tensor, options: { reduction?: Reduction } = {}): Tensor {
  expectTensor(x, 'bceWithLogits', 'input');
  expectTensor(target, 'bceWithLogits', 'target');
  const reduction = checkLossOptions('bceWithLogits', options);
  return scope(() => reduce(bceElementwise(x, target), reduction));
}

function bceElementwise(x: Tensor, target: Tensor): Tensor {
  if (!sameShape(x.shape, target.shape)) {
    throw new Error(`bceWithLogits: target size ${formatShape(target.shape)} must be the same as input size ${formatShape(x.shape)} (PyTorch's rule)`);
  }
  const shape = x.shape;
  const loss = wrap(binary('bceWithLogits', `(1.0 - b) * a - min(a, 0.0) + ${log1pExpNegAbs('a')}`, x.buffer, x.shape, target.buffer, target.shape, shape), shape);
  const elementwise = record('bceWithLogits', [x, target], loss, [x, target], (g) => [
    x.requiresGrad ? sumTo(mul(g, wrap(binary('bceGrad', 'select(exp(a) / (1.0 + exp(a)), 1.0 / (1.0 + exp(-a)), a >= 0.0) - b', x.buffer, x.shape, target.buffer, target.shape, shape), shape)), x.shape) : undefined,
    target.requiresGrad ? sumTo(neg(mul(g, x)), target.shape) : undefined,
  ]);
  return elementwise;
}

export function mseLoss(x: Tensor, target: Tensor, options: { reduction?: Reduction } = {}): Tensor {
  expectTensor(x, 'mseLoss', 'input');
  expectTensor(target, 'mseLoss', 'target');
  const reduction = checkLossOptions('mseLoss', options);
  return scope(() => {
    const d = sub(x, target);
    return reduce(mul(d, d), reduction);
  });
}

export function l1Loss(x: Tensor, target: Tensor, options: { reduction?: Reduction } = {}): Tensor {
  expectTensor(x, 'l1Loss', 'input');
  expectTensor(target, 'l1Loss', 'target');
  const reduction = checkLossOptions('l1Loss', options);
  return scope(() => reduce(abs(sub(x, target)), reduction));
}
