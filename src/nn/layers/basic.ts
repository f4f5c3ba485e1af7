// Layers with no convolution: Linear, activations, Dropout, Flatten, Identity, Sequential.
import * as F from '../functional/index.js';
import type { Tensor } from '../../tensor/tensor.js';
import { defaultLayerInit } from '../init.js';
import { Module, Parameter, type AnyModule } from '../module.js';
import { checkOptionNames } from '../functional/util.js';

/** y = x Wᵀ + b; weight [out, in], bias [out]; PyTorch's default initialisation. */
export class Linear extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter | null;

  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    options: { bias?: boolean } = {},
  ) {
    super();
    checkOptionNames('Linear', options, ['bias']);
    this.weight = this.registerParameter('weight', new Parameter([outFeatures, inFeatures]));
    this.bias = this.registerParameter('bias', options.bias ?? true ? new Parameter([outFeatures]) : null);
    defaultLayerInit(this.weight, this.bias);
  }

  forward(x: Tensor): Tensor {
    return F.linear(x, this.weight, this.bias ?? undefined, 'none', this.autocastOptions);
  }
}

export class Identity extends Module {
  forward(x: Tensor): Tensor {
    return x;
  }
}

export class ReLU extends Module {
  forward(x: Tensor): Tensor {
    return F.relu(x);
  }
}

export class LeakyReLU extends Module {
  constructor(readonly negativeSlope = 0.01) {
    super();
  }
  forward(x: Tensor): Tensor {
    return F.leakyRelu(x, this.negativeSlope);
  }
}

export class Tanh extends Module {
  forward(x: Tensor): Tensor {
    return F.tanh(x);
  }
}

export class Sigmoid extends Module {
  forward(x: Tensor): Tensor {
    return F.sigmoid(x);
  }
}

/** Zeroes elements with probability p in train mode (scaling the rest by 1/(1-p)); identity in eval. */
export class Dropout extends Module {
  constructor(readonly p = 0.5) {
    super();
    if (!(p >= 0 && p <= 1)) throw new Error(`Dropout: probability must be in [0, 1], got ${p}`);
  }
  forward(x: Tensor): Tensor {
    return F.dropout(x, this.p, this.training);
  }
}

/** Flattens dimensions startDim..endDim (PyTorch's nn.Flatten defaults: 1..-1). */
export class Flatten extends Module {
  constructor(
    readonly startDim = 1,
    readonly endDim = -1,
  ) {
    super();
  }
  forward(x: Tensor): Tensor {
    return F.flatten(x, this.startDim, this.endDim);
  }
}

/** Runs its children in order; they are named "0", "1", ... like torch.nn.Sequential. */
export class Sequential extends Module {
  private readonly layers: Module[] = [];

  constructor(...layers: Module[]) {
    super();
    for (const layer of layers) this.append(layer);
  }

  append(layer: Module): this {
    this.registerModule(String(this.layers.length), layer);
    this.layers.push(layer);
    return this;
  }

  get length(): number {
    return this.layers.length;
  }

  at(index: number): Module {
    const layer = this.layers[index < 0 ? index + this.layers.length : index];
    if (!layer) throw new Error(`Sequential.at(${index}): there are ${this.layers.length} layers`);
    return layer;
  }

  [Symbol.iterator](): Iterator<AnyModule> {
    return this.layers[Symbol.iterator]();
  }

  forward(x: Tensor): Tensor {
    let y = x;
    for (const layer of this.layers) y = layer.forward(y);
    return y;
  }
}
