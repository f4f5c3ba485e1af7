// LightCNN's mfm layer: a convolution (type 1) or linear map (type 0) to 2·out channels, then
// max-feature-map (the elementwise max of the two halves). Parameter names follow the reference
// light_cnn.py: `filter.weight`, `filter.bias`.
import { conv2dMfm, conv2dMfmMaxPool2d } from '../functional/conv.js';
import { maxPool2d, mfm, type MaxPool2dOptions } from '../functional/index.js';
import type { Pair } from '../functional/util.js';
import type { Tensor } from '../../tensor/tensor.js';
import { Module } from '../module.js';
import { Linear } from './basic.js';
import { Conv2d } from './conv.js';
import { BatchNorm2d } from './norm.js';

export interface MFMOptions {
  kernelSize?: Pair;
  stride?: Pair;
  padding?: Pair;
  /** 1: Conv2d filter (default), 0: Linear filter (kernel options ignored), as in light_cnn.py. */
  type?: 0 | 1;
  /**
   * BatchNorm2d on the 2·out filter outputs before the max (type 1 only; registered as `norm`).
   * Not in the reference: it lets narrow networks leave chance within a few hundred steps.
   */
  batchNorm?: boolean;
}

export class MFM extends Module {
  readonly filter: Conv2d | Linear;
  readonly norm: BatchNorm2d | undefined;

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    options: MFMOptions = {},
  ) {
    super();
    const { kernelSize = 3, stride = 1, padding = 1, type = 1, batchNorm = false } = options;
    this.filter = this.registerModule('filter', type === 1 ? new Conv2d(inChannels, 2 * outChannels, kernelSize, { stride, padding }) : new Linear(inChannels, 2 * outChannels));
    this.norm = batchNorm && type === 1 ? this.registerModule('norm', new BatchNorm2d(2 * outChannels)) : undefined;
  }

  forward(x: Tensor): Tensor {
    const filter = this.filter;
    // Without a norm between them, conv and max are one kernel: the 2·out activations are never written.
    if (!this.norm && filter instanceof Conv2d) return conv2dMfm(x, filter.weight, filter.bias ?? undefined, filter.options);
    const y = filter.call(x);
    // With a norm, norm and max are one op (F.batchNormMfm): the normalised 2·out activations are never written.
    return this.norm ? this.norm.callMfm(y) : mfm(y);
  }

  /**
   * maxPool2d(this.forward(x), pool): one op (F.conv2dMfmMaxPool2d) for the mfm convolution
   * without a norm, whose backward goes from the pooled gradient straight to the conv output's.
   */
  forwardMaxPool(x: Tensor, pool: MaxPool2dOptions): Tensor {
    const filter = this.filter;
    if (!this.norm && filter instanceof Conv2d) return conv2dMfmMaxPool2d(x, filter.weight, filter.bias ?? undefined, filter.options, pool);
    return maxPool2d(this.forward(x), pool);
  }
}
