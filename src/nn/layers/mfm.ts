// LightCNN's mfm layer: a convolution (type 1) or linear map (type 0) to 2·out channels, then
// max-feature-map (the elementwise max of the two halves). Parameter names follow the reference
// light_cnn.py: `filter.weight`, `filter.bias`.
import { mfm } from '../functional/mfm.js';
import type { Pair } from '../functional/util.js';
import type { Tensor } from '../../tensor/tensor.js';
import { Module } from '../module.js';
import { Linear } from './basic.js';
import { Conv2d } from './conv.js';

export interface MFMOptions {
  kernelSize?: Pair;
  stride?: Pair;
  padding?: Pair;
  /** 1: Conv2d filter (default), 0: Linear filter (kernel options ignored), as in light_cnn.py. */
  type?: 0 | 1;
}

export class MFM extends Module {
  readonly filter: Conv2d | Linear;

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    options: MFMOptions = {},
  ) {
    super();
    const { kernelSize = 3, stride = 1, padding = 1, type = 1 } = options;
    this.filter = this.registerModule('filter', type === 1 ? new Conv2d(inChannels, 2 * outChannels, kernelSize, { stride, padding }) : new Linear(inChannels, 2 * outChannels));
  }

  forward(x: Tensor): Tensor {
    return mfm(this.filter.call(x));
  }
}
