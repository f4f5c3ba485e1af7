// LightCNN (Wu et al., "A Light CNN for Deep Face Representation with Noisy Labels"), the Fa-Net
// backbone: LightCNN-9, LightCNN-29 and LightCNN-29v2 built as the reference light_cnn.py /
// light_cnn_v2.py build them, so a PyTorch state dict converted to safetensors loads 1:1 —
// same module names (`features.0.filter.weight`, `block1.0.conv1.filter.weight`, `fc2.weight`),
// same shapes, same registration order.
//
// Two knobs the reference lacks, for machines without a real GPU: `inputSize` (the flatten of
// fc1 follows it: 128 px → 8×8×128 = 8192 as in the paper) and `widthMultiplier` (every channel
// count is scaled and rounded). With the defaults the models are exactly the reference's.
import * as F from '../nn/functional/index.js';
import { Linear, Sequential } from '../nn/layers/basic.js';
import { MFM } from '../nn/layers/mfm.js';
import { MaxPool2d } from '../nn/layers/pool.js';
import type { MaxPool2dOptions } from '../nn/functional/pool.js';
import { Module } from '../nn/module.js';
import { formatShape, type Tensor } from '../tensor/tensor.js';

export const LIGHTCNN_VARIANTS = ['lightcnn9', 'lightcnn29', 'lightcnn29v2'] as const;
export type LightCNNVariant = (typeof LIGHTCNN_VARIANTS)[number];

export interface LightCNNConfig {
  variant: LightCNNVariant;
  /** Classifier outputs (54 for F²ED, 7 for FER2013 / JAFFE). */
  classes: number;
  /** Square input side in pixels (default 128, the paper's crop). */
  inputSize?: number;
  /** 1 = grayscale (the paper); 3 for RGB inputs. */
  inputChannels?: number;
  /** Scales every channel count (rounded, at least 1); 1 = the reference widths. */
  widthMultiplier?: number;
  /** Dropout before the classifier (reference: 0.5). */
  dropout?: number;
  /**
   * BatchNorm before every convolutional max-feature-map (not in the reference, default off;
   * state-dict names gain `.norm.*`). From scratch on small data the reference network needs
   * thousands of steps to leave chance; with it, a few hundred.
   */
  batchNorm?: boolean;
}

export type ResolvedLightCNNConfig = Required<LightCNNConfig>;

export interface LightCNNOutput {
  /** [N, classes] classifier scores (before softmax). */
  logits: Tensor;
  /** [N, 256·width] embedding: the reference forward's second output. */
  features: Tensor;
}

/** Residual blocks per stage of the 29-layer networks (reference: [1, 2, 3, 4]). */
const BLOCKS_29 = [1, 2, 3, 4] as const;
/** Reference channel counts: first conv, then the outputs of group1..group4, then the embedding. */
const WIDTHS = { conv1: 48, group1: 96, group2: 192, group3: 128, group4: 128, embedding: 256 } as const;

export function resolveLightCNNConfig(config: LightCNNConfig): ResolvedLightCNNConfig {
  const resolved: ResolvedLightCNNConfig = { inputSize: 128, inputChannels: 1, widthMultiplier: 1, dropout: 0.5, batchNorm: false, ...config };
  const { variant, classes, inputSize, inputChannels, widthMultiplier } = resolved;
  if (!(LIGHTCNN_VARIANTS as readonly string[]).includes(variant)) throw new Error(`LightCNN: unknown variant ${JSON.stringify(variant)}; use one of ${LIGHTCNN_VARIANTS.join(', ')}`);
  if (!(Number.isInteger(classes) && classes >= 1)) throw new Error(`LightCNN: classes must be a positive integer, got ${classes}`);
  if (!(Number.isInteger(inputChannels) && inputChannels >= 1)) throw new Error(`LightCNN: inputChannels must be a positive integer, got ${inputChannels}`);
  if (!(resolved.dropout >= 0 && resolved.dropout < 1)) throw new Error(`LightCNN: dropout must be in [0, 1), got ${resolved.dropout}`);
  if (!(widthMultiplier > 0 && widthMultiplier <= 4)) throw new Error(`LightCNN: widthMultiplier must be in (0, 4], got ${widthMultiplier}`);
  // Four 2× poolings: below 16 px the last feature map would be empty.
  if (!(Number.isInteger(inputSize) && inputSize >= 16)) {
    throw new Error(`LightCNN: inputSize must be an integer of at least 16 (four 2× poolings), got ${inputSize}; use 128 (paper), 64 or 48`);
  }
  return resolved;
}

/** Channel count scaled by the width multiplier (rounded, at least 1). */
export function scaledChannels(channels: number, widthMultiplier: number): number {
  return Math.max(1, Math.round(channels * widthMultiplier));
}

/**
 * Side of the last feature map: LightCNN-9/-29 pool with ceil mode (⌈s/2⌉), v2 with
 * F.max_pool2d(x, 2) + F.avg_pool2d(x, 2) (⌊s/2⌋).
 */
export function finalFeatureSize(variant: LightCNNVariant, inputSize: number): number {
  let side = inputSize;
  for (let k = 0; k < 4; k++) side = variant === 'lightcnn29v2' ? Math.floor(side / 2) : Math.ceil(side / 2);
  return side;
}

/** fc1's input size: 8·8·128 = 8192 for the paper's 128 px at full width. */
export function flattenSize(config: ResolvedLightCNNConfig): number {
  const side = finalFeatureSize(config.variant, config.inputSize);
  return scaledChannels(WIDTHS.group4, config.widthMultiplier) * side * side;
}

/** mfm(1×1 a→a) then mfm(k×k a→b): the reference `group`. */
export class Group extends Module {
  readonly conv_a: MFM;
  readonly conv: MFM;
  constructor(inChannels: number, outChannels: number, kernelSize = 3, stride = 1, padding = 1, batchNorm = false) {
    super();
    this.conv_a = this.registerModule('conv_a', new MFM(inChannels, inChannels, { kernelSize: 1, stride: 1, padding: 0, batchNorm }));
    this.conv = this.registerModule('conv', new MFM(inChannels, outChannels, { kernelSize, stride, padding, batchNorm }));
  }
  forward(x: Tensor): Tensor {
    return this.conv.call(this.conv_a.call(x));
  }

  /** maxPool2d(this.forward(x), pool) with the last mfm convolution and the pool as one op. */
  forwardMaxPool(x: Tensor, pool: MaxPool2dOptions): Tensor {
    return this.conv.forwardMaxPool(this.conv_a.call(x), pool);
  }
}

/** Two mfm 3×3 convolutions plus the identity: the reference `resblock`. */
export class ResBlock extends Module {
  readonly conv1: MFM;
  readonly conv2: MFM;
  constructor(channels: number, batchNorm = false) {
    super();
    this.conv1 = this.registerModule('conv1', new MFM(channels, channels, { kernelSize: 3, stride: 1, padding: 1, batchNorm }));
    this.conv2 = this.registerModule('conv2', new MFM(channels, channels, { kernelSize: 3, stride: 1, padding: 1, batchNorm }));
  }
  forward(x: Tensor): Tensor {
    return F.add(this.conv2.call(this.conv1.call(x)), x);
  }
}

function resBlocks(count: number, channels: number, batchNorm: boolean): Sequential {
  return new Sequential(...Array.from({ length: count }, () => new ResBlock(channels, batchNorm)));
}

function ceilPool(): MaxPool2d {
  return new MaxPool2d(2, { stride: 2, ceilMode: true });
}

/**
 * features.call(x), with each mfm convolution (or group) that a MaxPool2d follows run with its pool
 * as one op (forwardMaxPool): the same values and gradients, the pool's backward one pass fewer.
 */
function forwardFusingPools(features: Sequential, x: Tensor): Tensor {
  const layers = [...features];
  let y = x;
  for (let i = 0; i < layers.length; i++) {
    const [layer, next] = [layers[i], layers[i + 1]];
    if ((layer instanceof MFM || layer instanceof Group) && next instanceof MaxPool2d) {
      y = layer.forwardMaxPool(y, next.options);
      i++;
    } else {
      y = layer.call(y);
    }
  }
  return y;
}

/** Shared by the three variants: configuration, input check, classifier parameter names. */
export abstract class LightCNN extends Module<[Tensor], LightCNNOutput> {
  readonly config: ResolvedLightCNNConfig;
  /** The classifier (its parameters get the recipe's 10× / 20× learning rates). */
  abstract readonly fc2: Linear;
  /** Dotted name of the classifier module in the state dict. */
  readonly classifierName = 'fc2';

  constructor(config: LightCNNConfig) {
    super();
    this.config = resolveLightCNNConfig(config);
  }

  /** F.dropout(x, 0.5, training), as the reference forward calls it (no module, no state). */
  protected dropout(x: Tensor): Tensor {
    return F.dropout(x, this.config.dropout, this.training);
  }

  /**
   * The outputs in float32 whatever dtype the layers passed between them (float16 under autocast):
   * losses, accuracy and predictions read float32, as torch.autocast runs its losses in float32.
   */
  protected output(logits: Tensor, features: Tensor): LightCNNOutput {
    return { logits: logits.float(), features: features.float() };
  }

  get embeddingSize(): number {
    return scaledChannels(WIDTHS.embedding, this.config.widthMultiplier);
  }

  /** Throws a clear error for an input the flatten cannot take. */
  protected checkInput(x: Tensor): void {
    const { inputChannels, inputSize, variant } = this.config;
    if (x.rank !== 4 || x.shape[1] !== inputChannels || x.shape[2] !== inputSize || x.shape[3] !== inputSize) {
      throw new Error(
        `${variant}: expected input [N, ${inputChannels}, ${inputSize}, ${inputSize}], got ${formatShape(x.shape)}; ` +
          `resize/crop images to ${inputSize} px (the fc layer's flatten is fixed by inputSize) or build the model with inputSize ${x.shape[2] ?? '?'}`,
      );
    }
  }

  /** Number of parameters outside the classifier fc2. */
  numBackboneParameters(): number {
    return this.namedParameters()
      .filter(([name]) => !name.startsWith(`${this.classifierName}.`))
      .reduce((n, [, p]) => n + p.size, 0);
  }
}

/** LightCNN-9 (`network_9layers`): features = Sequential of mfm / pool / group, fc1 = mfm linear. */
export class LightCNN9 extends LightCNN {
  readonly features: Sequential;
  readonly fc1: MFM;
  readonly fc2: Linear;

  constructor(config: Omit<LightCNNConfig, 'variant'> & { variant?: 'lightcnn9' }) {
    super({ ...config, variant: 'lightcnn9' });
    const w = (c: number) => scaledChannels(c, this.config.widthMultiplier);
    const [c1, g1, g2, g3, g4] = [w(WIDTHS.conv1), w(WIDTHS.group1), w(WIDTHS.group2), w(WIDTHS.group3), w(WIDTHS.group4)];
    this.features = this.registerModule(
      'features',
      new Sequential(
        new MFM(this.config.inputChannels, c1, { kernelSize: 5, stride: 1, padding: 2, batchNorm: this.config.batchNorm }),
        ceilPool(),
        new Group(c1, g1, 3, 1, 1, this.config.batchNorm),
        ceilPool(),
        new Group(g1, g2, 3, 1, 1, this.config.batchNorm),
        ceilPool(),
        new Group(g2, g3, 3, 1, 1, this.config.batchNorm),
        new Group(g3, g4, 3, 1, 1, this.config.batchNorm),
        ceilPool(),
      ),
    );
    this.fc1 = this.registerModule('fc1', new MFM(flattenSize(this.config), this.embeddingSize, { type: 0 }));
    this.fc2 = this.registerModule('fc2', new Linear(this.embeddingSize, this.config.classes));
  }

  forward(x: Tensor): LightCNNOutput {
    this.checkInput(x);
    const flat = F.flatten(forwardFusingPools(this.features, x), 1);
    // The reference returns the embedding after dropout (identical in eval mode).
    const features = this.dropout(this.fc1.call(flat));
    return this.output(this.fc2.call(features), features);
  }
}

/** LightCNN-29 (`network_29layers` with resblock, [1, 2, 3, 4]): ceil max pools, mfm linear fc. */
export class LightCNN29 extends LightCNN {
  readonly conv1: MFM;
  readonly pool1: MaxPool2d;
  readonly block1: Sequential;
  readonly group1: Group;
  readonly pool2: MaxPool2d;
  readonly block2: Sequential;
  readonly group2: Group;
  readonly pool3: MaxPool2d;
  readonly block3: Sequential;
  readonly group3: Group;
  readonly block4: Sequential;
  readonly group4: Group;
  readonly pool4: MaxPool2d;
  readonly fc: MFM;
  readonly fc2: Linear;

  constructor(config: Omit<LightCNNConfig, 'variant'> & { variant?: 'lightcnn29' }) {
    super({ ...config, variant: 'lightcnn29' });
    const w = (c: number) => scaledChannels(c, this.config.widthMultiplier);
    const [c1, g1, g2, g3, g4] = [w(WIDTHS.conv1), w(WIDTHS.group1), w(WIDTHS.group2), w(WIDTHS.group3), w(WIDTHS.group4)];
    this.conv1 = this.registerModule('conv1', new MFM(this.config.inputChannels, c1, { kernelSize: 5, stride: 1, padding: 2, batchNorm: this.config.batchNorm }));
    this.pool1 = this.registerModule('pool1', ceilPool());
    this.block1 = this.registerModule('block1', resBlocks(BLOCKS_29[0], c1, this.config.batchNorm));
    this.group1 = this.registerModule('group1', new Group(c1, g1, 3, 1, 1, this.config.batchNorm));
    this.pool2 = this.registerModule('pool2', ceilPool());
    this.block2 = this.registerModule('block2', resBlocks(BLOCKS_29[1], g1, this.config.batchNorm));
    this.group2 = this.registerModule('group2', new Group(g1, g2, 3, 1, 1, this.config.batchNorm));
    this.pool3 = this.registerModule('pool3', ceilPool());
    this.block3 = this.registerModule('block3', resBlocks(BLOCKS_29[2], g2, this.config.batchNorm));
    this.group3 = this.registerModule('group3', new Group(g2, g3, 3, 1, 1, this.config.batchNorm));
    this.block4 = this.registerModule('block4', resBlocks(BLOCKS_29[3], g3, this.config.batchNorm));
    this.group4 = this.registerModule('group4', new Group(g3, g4, 3, 1, 1, this.config.batchNorm));
    this.pool4 = this.registerModule('pool4', ceilPool());
    this.fc = this.registerModule('fc', new MFM(flattenSize(this.config), this.embeddingSize, { type: 0 }));
    this.fc2 = this.registerModule('fc2', new Linear(this.embeddingSize, this.config.classes));
  }

  forward(x: Tensor): LightCNNOutput {
    this.checkInput(x);
    // Each pool runs with the mfm convolution before it as one op (forwardMaxPool).
    let y = this.conv1.forwardMaxPool(x, this.pool1.options);
    y = this.group1.forwardMaxPool(this.block1.call(y), this.pool2.options);
    y = this.group2.forwardMaxPool(this.block2.call(y), this.pool3.options);
    y = this.group3.call(this.block3.call(y));
    y = this.group4.forwardMaxPool(this.block4.call(y), this.pool4.options);
    const features = this.dropout(this.fc.call(F.flatten(y, 1)));
    return this.output(this.fc2.call(features), features);
  }
}

/** max_pool2d(x, 2) + avg_pool2d(x, 2): LightCNN-29v2's pooling. */
function maxPlusAvgPool(x: Tensor): Tensor {
  return F.add(F.maxPool2d(x, { kernelSize: 2 }), F.avgPool2d(x, { kernelSize: 2 }));
}

/** LightCNN-29v2 (`network_29layers_v2`): max+avg pools, a plain linear fc, a bias-free classifier. */
export class LightCNN29v2 extends LightCNN {
  readonly conv1: MFM;
  readonly block1: Sequential;
  readonly group1: Group;
  readonly block2: Sequential;
  readonly group2: Group;
  readonly block3: Sequential;
  readonly group3: Group;
  readonly block4: Sequential;
  readonly group4: Group;
  readonly fc: Linear;
  readonly fc2: Linear;

  constructor(config: Omit<LightCNNConfig, 'variant'> & { variant?: 'lightcnn29v2' }) {
    super({ ...config, variant: 'lightcnn29v2' });
    const w = (c: number) => scaledChannels(c, this.config.widthMultiplier);
    const [c1, g1, g2, g3, g4] = [w(WIDTHS.conv1), w(WIDTHS.group1), w(WIDTHS.group2), w(WIDTHS.group3), w(WIDTHS.group4)];
    this.conv1 = this.registerModule('conv1', new MFM(this.config.inputChannels, c1, { kernelSize: 5, stride: 1, padding: 2, batchNorm: this.config.batchNorm }));
    this.block1 = this.registerModule('block1', resBlocks(BLOCKS_29[0], c1, this.config.batchNorm));
    this.group1 = this.registerModule('group1', new Group(c1, g1, 3, 1, 1, this.config.batchNorm));
    this.block2 = this.registerModule('block2', resBlocks(BLOCKS_29[1], g1, this.config.batchNorm));
    this.group2 = this.registerModule('group2', new Group(g1, g2, 3, 1, 1, this.config.batchNorm));
    this.block3 = this.registerModule('block3', resBlocks(BLOCKS_29[2], g2, this.config.batchNorm));
    this.group3 = this.registerModule('group3', new Group(g2, g3, 3, 1, 1, this.config.batchNorm));
    this.block4 = this.registerModule('block4', resBlocks(BLOCKS_29[3], g3, this.config.batchNorm));
    this.group4 = this.registerModule('group4', new Group(g3, g4, 3, 1, 1, this.config.batchNorm));
    this.fc = this.registerModule('fc', new Linear(flattenSize(this.config), this.embeddingSize));
    this.fc2 = this.registerModule('fc2', new Linear(this.embeddingSize, this.config.classes, { bias: false }));
  }

  forward(x: Tensor): LightCNNOutput {
    this.checkInput(x);
    let y = maxPlusAvgPool(this.conv1.call(x));
    y = maxPlusAvgPool(this.group1.call(this.block1.call(y)));
    y = maxPlusAvgPool(this.group2.call(this.block2.call(y)));
    y = this.group3.call(this.block3.call(y));
    y = maxPlusAvgPool(this.group4.call(this.block4.call(y)));
    // v2 returns the embedding before dropout.
    const features = this.fc.call(F.flatten(y, 1));
    return this.output(this.fc2.call(this.dropout(features)), features);
  }
}

/** Builds the variant named in the config. */
export function createLightCNN(config: LightCNNConfig): LightCNN {
  switch (config.variant) {
    case 'lightcnn9':
      return new LightCNN9({ ...config, variant: 'lightcnn9' });
    case 'lightcnn29':
      return new LightCNN29({ ...config, variant: 'lightcnn29' });
    case 'lightcnn29v2':
      return new LightCNN29v2({ ...config, variant: 'lightcnn29v2' });
    default:
      throw new Error(`LightCNN: unknown variant ${JSON.stringify((config as LightCNNConfig).variant)}; use one of ${LIGHTCNN_VARIANTS.join(', ')}`);
  }
}
