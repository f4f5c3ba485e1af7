// torch.optim.Adam (amsgrad off): bias-corrected moments, L2 weight decay added to the gradient
// (not AdamW's decoupled decay). One in-place dispatch per parameter.
import { adamUpdate, type SkipFlag } from '../kernels/optim.js';
import { checkOptionNames, type Tensor } from '../tensor/tensor.js';
import { Optimizer, stateTensor, type ParamGroup, type ParamState, type ParamsInput } from './optimizer.js';

export type AdamHyper = {
  lr: number;
  betas: readonly [number, number];
  eps: number;
  weightDecay: number;
};

export type AdamOptions = Partial<AdamHyper>;

/**
 * Per parameter p with gradient g at step t (torch.optim.Adam.step):
 *   d = g + weightDecay·p;  m = β1·m + (1 − β1)·d;  v = β2·v + (1 − β2)·d²
 *   p -= lr / (1 − β1^t) · m / (√v / √(1 − β2^t) + eps)
 */
export class Adam extends Optimizer<AdamHyper> {
  protected readonly stateNames = ['expAvg', 'expAvgSq'] as const;

  constructor(params: ParamsInput<AdamHyper>, options: AdamOptions = {}) {
    // amsgrad, maximize, AdamW's decoupled decay and the rest are not implemented: refused, not ignored.
    checkOptionNames('Adam', options, ['lr', 'betas', 'eps', 'weightDecay']);
    super(params, { lr: options.lr ?? 1e-3, betas: options.betas ?? [0.9, 0.999], eps: options.eps ?? 1e-8, weightDecay: options.weightDecay ?? 0 });
  }

  protected validate(group: ParamGroup<AdamHyper>, index: number): void {
    const where = `Adam group ${index}`;
    if (!(group.lr >= 0)) throw new Error(`${where}: lr must be ≥ 0, got ${group.lr}`);
    if (!(group.eps >= 0)) throw new Error(`${where}: eps must be ≥ 0, got ${group.eps}`);
    if (!Array.isArray(group.betas) || group.betas.length !== 2) throw new Error(`${where}: betas must be a pair [beta1, beta2], got ${JSON.stringify(group.betas)}`);
    const [beta1, beta2] = group.betas;
    if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1)) throw new Error(`${where}: betas must be in [0, 1), got [${beta1}, ${beta2}]`);
    if (!(group.weightDecay >= 0)) throw new Error(`${where}: weightDecay must be ≥ 0, got ${group.weightDecay}`);
  }

  protected update(p: Tensor, grad: Tensor, group: ParamGroup<AdamHyper>, state: ParamState<Tensor> | undefined, skip?: SkipFlag): ParamState<Tensor> {
    const s = state ?? { step: 0, buffers: {} };
    // Moments start at zero: the kernel's first-step branch writes them without reading.
    const first = !s.buffers.expAvg || !s.buffers.expAvgSq;
    if (first) {
      s.buffers.expAvg?.dispose();
      s.buffers.expAvgSq?.dispose();
      s.buffers.expAvg = stateTensor(p.shape);
      s.buffers.expAvgSq = stateTensor(p.shape);
    }
    s.step++;
    const [beta1, beta2] = group.betas;
    adamUpdate(p.buffer, grad.buffer, s.buffers.expAvg.buffer, s.buffers.expAvgSq.buffer, p.size, { lr: group.lr, weightDecay: group.weightDecay, beta1, beta2, eps: group.eps, step: s.step, first }, skip);
    return s;
  }
}
