// Conv2d and ConvTranspose2d modules over F.conv2d / F.convTranspose2d, with PyTorch's weight
// layouts and default initialisation.
import { conv2d, convTranspose2d, type Conv2dOptions } from '../functional/conv.js';
import { checkOptionNames, pair, type Pair } from '../functional/util.js';
import type { Tensor } from '../../tensor/tensor.js';
import { defaultLayerInit } from '../init.js';
import { Module, Parameter } from '../module.js';

export interface Conv2dLayerOptions {
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
  groups?: number;
  bias?: boolean;
}

function checkChannels(layer: string, inChannels: number, outChannels: number, groups: number): void {
  if (!(Number.isInteger(groups) && groups >= 1)) throw new Error(`${layer}: groups must be a positive integer, got ${groups}`);
  if (inChannels % groups !== 0 || outChannels % groups !== 0) {
    throw new Error(`${layer}: inChannels ${inChannels} and outChannels ${outChannels} must both be divisible by groups ${groups}`);
  }
}

/** 2-D convolution; weight [out, in / groups, kh, kw], bias [out]. */
export class Conv2d extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter | null;
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly dilation: [number, number];
  readonly groups: number;

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    kernelSize: Pair,
    options: Conv2dLayerOptions = {},
  ) {
    super();
    // paddingMode and the like are not implemented: refused, not ignored.
    checkOptionNames('Conv2d', options, ['stride', 'padding', 'dilation', 'groups', 'bias']);
    this.kernelSize = pair(kernelSize, 'Conv2d kernelSize');
    this.stride = pair(options.stride ?? 1, 'Conv2d stride');
    this.padding = pair(options.padding ?? 0, 'Conv2d padding');
    this.dilation = pair(options.dilation ?? 1, 'Conv2d dilation');
    this.groups = options.groups ?? 1;
    checkChannels('Conv2d', inChannels, outChannels, this.groups);
    this.weight = this.registerParameter('weight', new Parameter([outChannels, inChannels / this.groups, ...this.kernelSize]));
    this.bias = this.registerParameter('bias', options.bias ?? true ? new Parameter([outChannels]) : null);
    defaultLayerInit(this.weight, this.bias);
  }

  forward(x: Tensor): Tensor {
    return conv2d(x, this.weight, this.bias ?? undefined, this.options);
  }

  /** The conv's options, the compute dtype included (MFM passes them to its fused ops). */
  get options(): Conv2dOptions {
    return { stride: this.stride, padding: this.padding, dilation: this.dilation, groups: this.groups, ...this.autocastOptions };
  }
}

/** Transposed 2-D convolution; weight [in, out / groups, kh, kw] (fan_in from dim 1, like PyTorch). */
export class ConvTranspose2d extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter | null;
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly outputPadding: [number, number];
  readonly dilation: [number, number];
  readonly groups: number;

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    kernelSize: Pair,
    options: Conv2dLayerOptions & { outputPadding?: Pair } = {},
  ) {
    super();
    checkOptionNames('ConvTranspose2d', options, ['stride', 'padding', 'outputPadding', 'dilation', 'groups', 'bias']);
    this.kernelSize = pair(kernelSize, 'ConvTranspose2d kernelSize');
    this.stride = pair(options.stride ?? 1, 'ConvTranspose2d stride');
    this.padding = pair(options.padding ?? 0, 'ConvTranspose2d padding');
    this.outputPadding = pair(options.outputPadding ?? 0, 'ConvTranspose2d outputPadding');
    this.dilation = pair(options.dilation ?? 1, 'ConvTranspose2d dilation');
    this.groups = options.groups ?? 1;
    checkChannels('ConvTranspose2d', inChannels, outChannels, this.groups);
    this.weight = this.registerParameter('weight', new Parameter([inChannels, outChannels / this.groups, ...this.kernelSize]));
    this.bias = this.registerParameter('bias', options.bias ?? true ? new Parameter([outChannels]) : null);
    defaultLayerInit(this.weight, this.bias);
  }

  forward(x: Tensor): Tensor {
    const options = { stride: this.stride, padding: this.padding, outputPadding: this.outputPadding, dilation: this.dilation, groups: this.groups, ...this.autocastOptions };
    return convTranspose2d(x, this.weight, this.bias ?? undefined, options);
  }
}
