// BatchNorm1d / BatchNorm2d and InstanceNorm2d modules over F.batchNorm / F.instanceNorm.
// BatchNorm keeps running_mean / running_var as buffers (saved in the state dict; updated in
// place by F.batchNorm in train mode) and accepts PyTorch's num_batches_tracked key on load.
import { batchNorm, instanceNorm } from '../functional/norm.js';
import { formatShape, type Tensor } from '../../tensor/tensor.js';
import { Module, Parameter, buffer } from '../module.js';

export interface BatchNormLayerOptions {
  eps?: number;
  momentum?: number;
  affine?: boolean;
  /** When false there are no running statistics and batch statistics are used in eval too. */
  trackRunningStats?: boolean;
}

abstract class BatchNormBase extends Module {
  readonly weight: Parameter | null;
  readonly bias: Parameter | null;
  readonly runningMean: Tensor | null;
  readonly runningVar: Tensor | null;
  readonly eps: number;
  readonly momentum: number;
  protected override readonly ignoredStateKeys = ['num_batches_tracked'];

  constructor(
    readonly numFeatures: number,
    options: BatchNormLayerOptions = {},
  ) {
    super();
    this.eps = options.eps ?? 1e-5;
    this.momentum = options.momentum ?? 0.1;
    const affine = options.affine ?? true;
    this.weight = this.registerParameter('weight', affine ? new Parameter([numFeatures], 1) : null);
    this.bias = this.registerParameter('bias', affine ? new Parameter([numFeatures], 0) : null);
    const track = options.trackRunningStats ?? true;
    this.runningMean = track ? this.registerBuffer('running_mean', buffer([numFeatures], 0)) : null;
    this.runningVar = track ? this.registerBuffer('running_var', buffer([numFeatures], 1)) : null;
  }

  protected normalize(x: Tensor): Tensor {
    const useBatchStats = this.training || this.runningMean === null;
    return batchNorm(x, this.runningMean ?? undefined, this.runningVar ?? undefined, this.weight ?? undefined, this.bias ?? undefined, {
      training: useBatchStats,
      momentum: this.momentum,
      eps: this.eps,
    });
  }
}

/** Normalises [N, C, H, W] per channel over N, H, W. */
export class BatchNorm2d extends BatchNormBase {
  forward(x: Tensor): Tensor {
    if (x.rank !== 4 || x.shape[1] !== this.numFeatures) throw new Error(`BatchNorm2d(${this.numFeatures}): expected input [N, ${this.numFeatures}, H, W], got ${formatShape(x.shape)}`);
    return this.normalize(x);
  }
}

/** Normalises [N, C] or [N, C, L] per channel over N (and L). */
export class BatchNorm1d extends BatchNormBase {
  forward(x: Tensor): Tensor {
    if ((x.rank !== 2 && x.rank !== 3) || x.shape[1] !== this.numFeatures) {
      throw new Error(`BatchNorm1d(${this.numFeatures}): expected input [N, ${this.numFeatures}] or [N, ${this.numFeatures}, L], got ${formatShape(x.shape)}`);
    }
    return this.normalize(x);
  }
}

/** Normalises [N, C, H, W] per sample and channel over H, W; affine off by default, like PyTorch. */
export class InstanceNorm2d extends Module {
  readonly weight: Parameter | null;
  readonly bias: Parameter | null;
  readonly eps: number;

  constructor(
    readonly numFeatures: number,
    options: { eps?: number; affine?: boolean; trackRunningStats?: boolean } = {},
  ) {
    super();
    if (options.trackRunningStats) throw new Error('InstanceNorm2d: trackRunningStats is not supported (PyTorch default false); per-sample statistics are always used');
    this.eps = options.eps ?? 1e-5;
    const affine = options.affine ?? false;
    this.weight = this.registerParameter('weight', affine ? new Parameter([numFeatures], 1) : null);
    this.bias = this.registerParameter('bias', affine ? new Parameter([numFeatures], 0) : null);
  }

  forward(x: Tensor): Tensor {
    if (x.rank !== 4 || x.shape[1] !== this.numFeatures) throw new Error(`InstanceNorm2d(${this.numFeatures}): expected input [N, ${this.numFeatures}, H, W], got ${formatShape(x.shape)}`);
    return instanceNorm(x, this.weight ?? undefined, this.bias ?? undefined, { eps: this.eps });
  }
}
