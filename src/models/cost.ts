// Parameter counts and multiply-accumulates per image of the paper's networks, derived from their
// configurations alone (no device, nothing allocated), layer by layer as the constructors in
// lightcnn.ts and fapegan.ts build them. Layer names are the state-dict prefixes of the built
// modules, so a test can hold every layer against the real model's parameters.
//
// MAC convention (fvcore's, and ptflops' without its bias term): one MAC per multiply-add of a
// convolution, transposed convolution or linear layer —
//   conv2d            Cout · Hout · Wout · Cin/groups · Kh · Kw
//   convTranspose2d   Cin · Hin · Win · Cout/groups · Kh · Kw   (each input pixel scatters a kernel)
//   linear            in · out
// Bias additions, normalisation, pooling, max-feature-map, activations, padding and residual adds
// are not counted (they are elementwise and small beside the products).
import { resolveFaPEGanConfig, type FaPEGanConfig } from './fapegan.js';
import { resolveLightCNNConfig, scaledChannels, type LightCNNConfig, type ResolvedLightCNNConfig } from './lightcnn.js';

export type CostedLayerKind = 'conv2d' | 'convTranspose2d' | 'linear' | 'batchNorm2d';

/** One layer that holds parameters or does multiply-adds. */
export interface LayerCost {
  /** State-dict prefix of its parameters: `features.0.filter`, `model.10.conv_block.1`. */
  name: string;
  kind: CostedLayerKind;
  /** Output per image: [C, H, W] for maps, [features] after a flatten. */
  outputShape: number[];
  parameters: number;
  macs: number;
}

export interface ModelCost {
  /** lightcnn9, lightcnn29, lightcnn29v2, fapegan-generator, fapegan-discriminator. */
  model: string;
  /** Input per image, [C, H, W] (the GAN's includes the pose-mask channel). */
  inputShape: number[];
  parameters: number;
  macs: number;
  layers: LayerCost[];
}

const product = (values: readonly number[]) => values.reduce((a, b) => a * b, 1);

/** Output side of a convolution (PyTorch's formula, dilation 1). */
function convOutputSize(size: number, kernel: number, stride: number, padding: number): number {
  return Math.floor((size + 2 * padding - kernel) / stride) + 1;
}

/**
 * Follows the shape of one image through a network and records the cost of each weighted layer.
 * Shapes are per image; a layer that would leave an empty map throws.
 */
class CostTracer {
  readonly layers: LayerCost[] = [];
  private shape: number[];

  constructor(readonly inputShape: number[]) {
    this.shape = [...inputShape];
  }

  private map(): [number, number, number] {
    if (this.shape.length !== 3) throw new Error(`cost: expected a [C, H, W] map, the shape is [${this.shape.join(', ')}]`);
    return this.shape as [number, number, number];
  }

  private setMap(channels: number, height: number, width: number, who: string): void {
    if (!(height >= 1 && width >= 1)) throw new Error(`cost: ${who} leaves an empty ${height}×${width} map; use a larger input size`);
    this.shape = [channels, height, width];
  }

  private record(name: string, kind: CostedLayerKind, parameters: number, macs: number): void {
    this.layers.push({ name, kind, outputShape: [...this.shape], parameters, macs });
  }

  conv2d(name: string, outChannels: number, kernel: number, options: { stride?: number; padding?: number; groups?: number; bias?: boolean } = {}): void {
    const { stride = 1, padding = 0, groups = 1, bias = true } = options;
    const [inChannels, height, width] = this.map();
    const outHeight = convOutputSize(height, kernel, stride, padding), outWidth = convOutputSize(width, kernel, stride, padding);
    this.setMap(outChannels, outHeight, outWidth, name);
    const weights = outChannels * (inChannels / groups) * kernel * kernel;
    this.record(name, 'conv2d', weights + (bias ? outChannels : 0), outHeight * outWidth * weights);
  }

  convTranspose2d(name: string, outChannels: number, kernel: number, options: { stride?: number; padding?: number; outputPadding?: number; bias?: boolean } = {}): void {
    const { stride = 1, padding = 0, outputPadding = 0, bias = true } = options;
    const [inChannels, height, width] = this.map();
    const grow = (size: number) => (size - 1) * stride - 2 * padding + kernel + outputPadding;
    this.setMap(outChannels, grow(height), grow(width), name);
    const weights = inChannels * outChannels * kernel * kernel;
    this.record(name, 'convTranspose2d', weights + (bias ? outChannels : 0), height * width * weights);
  }

  linear(name: string, outFeatures: number, options: { bias?: boolean } = {}): void {
    if (this.shape.length !== 1) throw new Error(`cost: ${name} expects flat features, the shape is [${this.shape.join(', ')}]`);
    const inFeatures = this.shape[0]!;
    this.shape = [outFeatures];
    this.record(name, 'linear', inFeatures * outFeatures + (options.bias ?? true ? outFeatures : 0), inFeatures * outFeatures);
  }

  /** BatchNorm2d: weight and bias per channel (running statistics are buffers, not parameters). */
  batchNorm2d(name: string): void {
    this.record(name, 'batchNorm2d', 2 * this.map()[0], 0);
  }

  /** Max-feature-map: the elementwise max of the two halves of the channels (or features). */
  maxFeatureMap(): void {
    this.shape = [this.shape[0]! / 2, ...this.shape.slice(1)];
  }

  /** 2×2 pooling, stride 2: ceil mode (LightCNN-9/-29's MaxPool2d) or floor (LightCNN-29v2's max + avg). */
  pool2(rounding: 'ceil' | 'floor'): void {
    const [channels, height, width] = this.map();
    // PyTorch's ceil mode: ⌈(s − 2)/2⌉ + 1, minus one if the last window would start past the input.
    const side = (size: number) => {
      if (rounding === 'floor') return Math.floor((size - 2) / 2) + 1;
      const out = Math.ceil((size - 2) / 2) + 1;
      return (out - 1) * 2 >= size ? out - 1 : out;
    };
    this.setMap(channels, side(height), side(width), `a 2×2 pool of a ${height}×${width} map`);
  }

  reflectionPad(padding: number): void {
    const [channels, height, width] = this.map();
    this.setMap(channels, height + 2 * padding, width + 2 * padding, 'padding');
  }

  flatten(): void {
    this.shape = [product(this.shape)];
  }

  result(model: string): ModelCost {
    return {
      model,
      inputShape: [...this.inputShape],
      parameters: this.layers.reduce((n, layer) => n + layer.parameters, 0),
      macs: this.layers.reduce((n, layer) => n + layer.macs, 0),
      layers: this.layers,
    };
  }
}

/** mfm(conv): a convolution to 2·out channels, batch norm when configured, then the max of halves. */
function mfmConv(tracer: CostTracer, name: string, outChannels: number, kernel: number, padding: number, batchNorm: boolean): void {
  tracer.conv2d(`${name}.filter`, 2 * outChannels, kernel, { padding });
  if (batchNorm) tracer.batchNorm2d(`${name}.norm`);
  tracer.maxFeatureMap();
}

/** The reference `group`: mfm(1×1 a→a) then mfm(3×3 a→b). */
function group(tracer: CostTracer, name: string, inChannels: number, outChannels: number, batchNorm: boolean): void {
  mfmConv(tracer, `${name}.conv_a`, inChannels, 1, 0, batchNorm);
  mfmConv(tracer, `${name}.conv`, outChannels, 3, 1, batchNorm);
}

function resBlocks(tracer: CostTracer, name: string, count: number, channels: number, batchNorm: boolean): void {
  for (let i = 0; i < count; i++) {
    mfmConv(tracer, `${name}.${i}.conv1`, channels, 3, 1, batchNorm);
    mfmConv(tracer, `${name}.${i}.conv2`, channels, 3, 1, batchNorm);
  }
}

/** The reference light_cnn.py widths (first conv, group1..group4, embedding) and resblocks per stage. */
const LIGHTCNN_WIDTHS = [48, 96, 192, 128, 128, 256] as const;
const LIGHTCNN29_BLOCKS = [1, 2, 3, 4] as const;

/** LightCNN-9 / -29 / -29v2 as lightcnn.ts builds them for this configuration. */
export function lightcnnCost(config: LightCNNConfig): ModelCost {
  const resolved: ResolvedLightCNNConfig = resolveLightCNNConfig(config);
  const { variant, classes, inputSize, inputChannels, widthMultiplier, batchNorm } = resolved;
  const [c1, g1, g2, g3, g4, embedding] = LIGHTCNN_WIDTHS.map((c) => scaledChannels(c, widthMultiplier)) as [number, number, number, number, number, number];
  const tracer = new CostTracer([inputChannels, inputSize, inputSize]);
  if (variant === 'lightcnn9') {
    mfmConv(tracer, 'features.0', c1, 5, 2, batchNorm);
    tracer.pool2('ceil');
    group(tracer, 'features.2', c1, g1, batchNorm);
    tracer.pool2('ceil');
    group(tracer, 'features.4', g1, g2, batchNorm);
    tracer.pool2('ceil');
    group(tracer, 'features.6', g2, g3, batchNorm);
    group(tracer, 'features.7', g3, g4, batchNorm);
    tracer.pool2('ceil');
    tracer.flatten();
    tracer.linear('fc1.filter', 2 * embedding);
    tracer.maxFeatureMap();
    tracer.linear('fc2', classes);
    return tracer.result(variant);
  }
  const v2 = variant === 'lightcnn29v2';
  const pool = () => tracer.pool2(v2 ? 'floor' : 'ceil');
  mfmConv(tracer, 'conv1', c1, 5, 2, batchNorm);
  pool();
  resBlocks(tracer, 'block1', LIGHTCNN29_BLOCKS[0], c1, batchNorm);
  group(tracer, 'group1', c1, g1, batchNorm);
  pool();
  resBlocks(tracer, 'block2', LIGHTCNN29_BLOCKS[1], g1, batchNorm);
  group(tracer, 'group2', g1, g2, batchNorm);
  pool();
  resBlocks(tracer, 'block3', LIGHTCNN29_BLOCKS[2], g2, batchNorm);
  group(tracer, 'group3', g2, g3, batchNorm);
  resBlocks(tracer, 'block4', LIGHTCNN29_BLOCKS[3], g3, batchNorm);
  group(tracer, 'group4', g3, g4, batchNorm);
  pool();
  tracer.flatten();
  if (v2) {
    tracer.linear('fc', embedding);
    tracer.linear('fc2', classes, { bias: false });
  } else {
    tracer.linear('fc.filter', 2 * embedding);
    tracer.maxFeatureMap();
    tracer.linear('fc2', classes);
  }
  return tracer.result(variant);
}

/**
 * FaPE-GAN's generator G(I_i, I_P) (pix2pix ResnetGenerator layout): input image + pose mask.
 * Convs before BatchNorm have no bias; with InstanceNorm (affine off) they have one and the norm
 * holds no parameters.
 */
export function fapeGeneratorCost(config: Partial<FaPEGanConfig> = {}): ModelCost {
  const { channels, baseWidth: w, residualBlocks, norm, imageSize } = resolveFaPEGanConfig(config);
  const bias = norm === 'instance';
  const tracer = new CostTracer([channels + 1, imageSize, imageSize]);
  let index = 0;
  // Sequential indices: every module counts, weighted or not.
  const next = () => `model.${index++}`;
  const normalize = (name: string) => (norm === 'batch' ? tracer.batchNorm2d(name) : undefined);
  tracer.reflectionPad(3); next();
  tracer.conv2d(next(), w, 7, { bias });
  normalize(next()); next();
  for (const mult of [1, 2]) {
    tracer.conv2d(next(), w * mult * 2, 3, { stride: 2, padding: 1, bias });
    normalize(next()); next();
  }
  for (let block = 0; block < residualBlocks; block++) {
    const name = next();
    // conv_block: 0 pad, 1 conv, 2 norm, 3 ReLU, 4 pad, 5 conv, 6 norm; the identity keeps the shape.
    for (const conv of [1, 5]) {
      tracer.reflectionPad(1);
      tracer.conv2d(`${name}.conv_block.${conv}`, w * 4, 3, { bias });
      normalize(`${name}.conv_block.${conv + 1}`);
    }
  }
  for (const mult of [4, 2]) {
    tracer.convTranspose2d(next(), (w * mult) / 2, 3, { stride: 2, padding: 1, outputPadding: 1, bias });
    normalize(next()); next();
  }
  tracer.reflectionPad(3); next();
  tracer.conv2d(next(), channels, 7);
  return tracer.result('fapegan-generator');
}

/** FaPE-GAN's 70×70 PatchGAN discriminator D(image, I_P) (pix2pix NLayerDiscriminator layout). */
export function patchDiscriminatorCost(config: Partial<FaPEGanConfig> = {}): ModelCost {
  const { channels, baseWidth: w, norm, imageSize } = resolveFaPEGanConfig(config);
  const bias = norm === 'instance';
  const tracer = new CostTracer([channels + 1, imageSize, imageSize]);
  const normalize = (name: string) => (norm === 'batch' ? tracer.batchNorm2d(name) : undefined);
  tracer.conv2d('model.0', w, 4, { stride: 2, padding: 1 });
  tracer.conv2d('model.2', w * 2, 4, { stride: 2, padding: 1, bias });
  normalize('model.3');
  tracer.conv2d('model.5', w * 4, 4, { stride: 2, padding: 1, bias });
  normalize('model.6');
  tracer.conv2d('model.8', w * 8, 4, { stride: 1, padding: 1, bias });
  normalize('model.9');
  tracer.conv2d('model.11', 1, 4, { stride: 1, padding: 1 });
  return tracer.result('fapegan-discriminator');
}
