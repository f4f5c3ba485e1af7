// MaxPool2d and AvgPool2d modules over F.maxPool2d / F.avgPool2d (PyTorch options and defaults).
import { avgPool2d, maxPool2d, type AvgPool2dOptions, type MaxPool2dOptions } from '../functional/index.js';
import { checkOptionNames, type Pair } from '../functional/util.js';
import type { Tensor } from '../../tensor/tensor.js';
import { Module } from '../module.js';

export class MaxPool2d extends Module {
  readonly options: MaxPool2dOptions;
  /** stride defaults to kernelSize; LightCNN pools with kernelSize 2, stride 2, ceilMode true. */
  constructor(kernelSize: Pair, options: Omit<MaxPool2dOptions, 'kernelSize'> = {}) {
    super();
    checkOptionNames('MaxPool2d', options, ['stride', 'padding', 'dilation', 'ceilMode']);
    this.options = { ...options, kernelSize };
  }
  forward(x: Tensor): Tensor {
    return maxPool2d(x, this.options);
  }
}

export class AvgPool2d extends Module {
  readonly options: AvgPool2dOptions;
  constructor(kernelSize: Pair, options: Omit<AvgPool2dOptions, 'kernelSize'> = {}) {
    super();
    checkOptionNames('AvgPool2d', options, ['stride', 'padding', 'ceilMode', 'countIncludePad', 'divisorOverride']);
    this.options = { ...options, kernelSize };
  }
  forward(x: Tensor): Tensor {
    return avgPool2d(x, this.options);
  }
}
