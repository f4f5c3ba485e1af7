// torch.optim.SGD: momentum (the first step's buffer is the gradient itself), dampening,
// Nesterov, L2 weight decay, per-group hyper-parameters. One in-place dispatch per parameter.
import { sgdUpdate, type SkipFlag } from '../kernels/optim.js';
import { checkOptionNames, type Tensor } from '../tensor/tensor.js';
import { Optimizer, stateTensor, type ParamGroup, type ParamState, type ParamsInput } from './optimizer.js';

export type SgdHyper = {
  lr: number;
  momentum: number;
  dampening: number;
  nesterov: boolean;
  weightDecay: number;
};

export type SgdOptions = { lr: number } & Partial<Omit<SgdHyper, 'lr'>>;

/**
 * Per parameter p with gradient g (torch.optim.SGD.step):
 *   d = g + weightDecay·p;  buf = d (first step) or momentum·buf + (1 − dampening)·d;
 *   d = nesterov ? d + momentum·buf : buf (when momentum ≠ 0);  p -= lr·d
 */
export class SGD extends Optimizer<SgdHyper> {
  protected readonly stateNames = ['momentumBuffer'] as const;

  constructor(params: ParamsInput<SgdHyper>, options: SgdOptions) {
    checkOptionNames('SGD', options, ['lr', 'momentum', 'dampening', 'nesterov', 'weightDecay']);
    super(params, { lr: options.lr, momentum: options.momentum ?? 0, dampening: options.dampening ?? 0, nesterov: options.nesterov ?? false, weightDecay: options.weightDecay ?? 0 });
  }

  protected validate(group: ParamGroup<SgdHyper>, index: number): void {
    const where = `SGD group ${index}`;
    if (!(group.lr >= 0)) throw new Error(`${where}: lr must be ≥ 0, got ${group.lr}`);
    if (!(group.momentum >= 0)) throw new Error(`${where}: momentum must be ≥ 0, got ${group.momentum}`);
    if (!(group.weightDecay >= 0)) throw new Error(`${where}: weightDecay must be ≥ 0, got ${group.weightDecay}`);
    if (group.nesterov && (group.momentum <= 0 || group.dampening !== 0)) {
      throw new Error(`${where}: nesterov needs momentum > 0 and dampening 0 (got momentum ${group.momentum}, dampening ${group.dampening})`);
    }
  }

  /** Without momentum a step creates nothing: the state only counts. */
  protected override stateComplete(state: ParamState<Tensor>, group: ParamGroup<SgdHyper>): boolean {
    return group.momentum === 0 || state.buffers.momentumBuffer !== undefined;
  }

  protected update(p: Tensor, grad: Tensor, group: ParamGroup<SgdHyper>, state: ParamState<Tensor> | undefined, skip?: SkipFlag): ParamState<Tensor> {
    const s = state ?? { step: 0, buffers: {} };
    let momentumBuffer = s.buffers.momentumBuffer;
    const first = group.momentum !== 0 && !momentumBuffer;
    if (first) momentumBuffer = s.buffers.momentumBuffer = stateTensor(p.shape);
    sgdUpdate(p.buffer, grad.buffer, momentumBuffer?.buffer, p.size, { ...group, first }, skip);
    s.step++;
    return s;
  }
}
