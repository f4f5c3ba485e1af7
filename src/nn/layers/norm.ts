// BatchNorm1d / BatchNorm2d and InstanceNorm2d modules over F.batchNorm / F.instanceNorm.
// BatchNorm keeps running_mean / running_var as buffers (saved in the state dict; updated in
// place by F.batchNorm in train mode) and accepts PyTorch's num_batches_tracked key on load.
// callWithActivation / callMfm run the norm and the activation after it as one fused op, and
// forwardFusingNorms runs a list of layers as Sequential does with such pairs fused.
import { batchNorm, batchNormMfm, instanceNorm, type FusedActivationOptions } from '../functional/index.js';
import { formatShape, type Tensor } from '../../tensor/tensor.js';
import { Module, Parameter, buffer, type AnyModule } from '../module.js';
import { checkOptionNames } from '../functional/util.js';
import { LeakyReLU, ReLU, Tanh } from './basic.js';

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
    checkOptionNames(this.constructor.name, options, ['eps', 'momentum', 'affine', 'trackRunningStats']);
    if ((options.momentum as unknown) === null) throw new Error(`${this.constructor.name}: momentum null (PyTorch's cumulative moving average) is not supported; give a number (default 0.1)`);
    this.eps = options.eps ?? 1e-5;
    this.momentum = options.momentum ?? 0.1;
    const affine = options.affine ?? true;
    this.weight = this.registerParameter('weight', affine ? new Parameter([numFeatures], 1) : null);
    this.bias = this.registerParameter('bias', affine ? new Parameter([numFeatures], 0) : null);
    const track = options.trackRunningStats ?? true;
    this.runningMean = track ? this.registerBuffer('running_mean', buffer([numFeatures], 0)) : null;
    this.runningVar = track ? this.registerBuffer('running_var', buffer([numFeatures], 1)) : null;
  }

  protected normalize(x: Tensor, activation: FusedActivationOptions = {}): Tensor {
    return batchNorm(x, this.runningMean ?? undefined, this.runningVar ?? undefined, this.weight ?? undefined, this.bias ?? undefined, { ...this.batchNormOptions(), ...activation });
  }

  private batchNormOptions(): { training: boolean; momentum: number; eps: number } {
    return { training: this.training || this.runningMean === null, momentum: this.momentum, eps: this.eps };
  }

  protected abstract checkInput(x: Tensor): void;

  forward(x: Tensor): Tensor {
    this.checkInput(x);
    return this.normalize(x);
  }

  /** activation(this(x)) as one op: the same values, gradients and running statistics. */
  callWithActivation(x: Tensor, activation: FusedActivationOptions): Tensor {
    this.checkInput(x);
    return this.normalize(x, activation);
  }

  /** mfm(this(x)) as one op (F.batchNormMfm): LightCNN's max-feature-map over the two channel halves. */
  callMfm(x: Tensor): Tensor {
    this.checkInput(x);
    return batchNormMfm(x, this.runningMean ?? undefined, this.runningVar ?? undefined, this.weight ?? undefined, this.bias ?? undefined, this.batchNormOptions());
  }
}

/** Normalises [N, C, H, W] per channel over N, H, W. */
export class BatchNorm2d extends BatchNormBase {
  protected checkInput(x: Tensor): void {
    if (x.rank !== 4 || x.shape[1] !== this.numFeatures) throw new Error(`BatchNorm2d(${this.numFeatures}): expected input [N, ${this.numFeatures}, H, W], got ${formatShape(x.shape)}`);
  }
}

/** Normalises [N, C] or [N, C, L] per channel over N (and L). */
export class BatchNorm1d extends BatchNormBase {
  protected checkInput(x: Tensor): void {
    if ((x.rank !== 2 && x.rank !== 3) || x.shape[1] !== this.numFeatures) {
      throw new Error(`BatchNorm1d(${this.numFeatures}): expected input [N, ${this.numFeatures}] or [N, ${this.numFeatures}, L], got ${formatShape(x.shape)}`);
    }
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
    checkOptionNames('InstanceNorm2d', options, ['eps', 'affine', 'trackRunningStats']);
    if (options.trackRunningStats) throw new Error('InstanceNorm2d: trackRunningStats is not supported (PyTorch default false); per-sample statistics are always used');
    this.eps = options.eps ?? 1e-5;
    const affine = options.affine ?? false;
    this.weight = this.registerParameter('weight', affine ? new Parameter([numFeatures], 1) : null);
    this.bias = this.registerParameter('bias', affine ? new Parameter([numFeatures], 0) : null);
  }

  forward(x: Tensor): Tensor {
    return this.callWithActivation(x, {});
  }

  /** activation(this(x)) as one op: the same values and gradients. */
  callWithActivation(x: Tensor, activation: FusedActivationOptions): Tensor {
    if (x.rank !== 4 || x.shape[1] !== this.numFeatures) throw new Error(`InstanceNorm2d(${this.numFeatures}): expected input [N, ${this.numFeatures}, H, W], got ${formatShape(x.shape)}`);
    return instanceNorm(x, this.weight ?? undefined, this.bias ?? undefined, { eps: this.eps, ...activation });
  }
}

/** The fused form of an activation layer, or undefined for a layer the norms cannot fuse. */
function fusableActivation(layer: AnyModule | undefined): FusedActivationOptions | undefined {
  if (layer instanceof ReLU) return { activation: 'relu' };
  if (layer instanceof LeakyReLU) return { activation: 'leakyRelu', negativeSlope: layer.negativeSlope };
  if (layer instanceof Tanh) return { activation: 'tanh' };
  return undefined;
}

/**
 * Runs `layers` in order, as Sequential.forward does, except that a BatchNorm / InstanceNorm
 * followed by ReLU, LeakyReLU or Tanh runs as one fused op (callWithActivation): the same values
 * and gradients with one full-size pass less each way. The modules stay as they are, so state
 * dicts and printed structure do not change.
 */
export function forwardFusingNorms(layers: Iterable<AnyModule>, x: Tensor): Tensor {
  const list = [...layers];
  let y = x;
  for (let i = 0; i < list.length; i++) {
    const layer = list[i]!;
    const activation = fusableActivation(list[i + 1]);
    if (activation && (layer instanceof BatchNormBase || layer instanceof InstanceNorm2d)) {
      y = layer.callWithActivation(y, activation);
      i++;
    } else {
      y = (layer as Module<[Tensor], Tensor>).call(y);
    }
  }
  return y;
}
