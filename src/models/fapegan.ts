// FaPE-GAN (paper Sec. 4, Eq. 1–3): a pose-conditioned encoder–decoder generator G(I_i, I_P) and a
// 70×70 PatchGAN discriminator D(image, I_P). The layouts follow pix2pix / CycleGAN's
// ResnetGenerator and NLayerDiscriminator (the design PN-GAN, by the same authors, builds on), so
// state-dict names and shapes map 1:1 to theirs with input_nc = channels + 1 (the pose mask):
// `model.1.weight`, `model.10.conv_block.1.weight`, ...
// As in pix2pix, a conv followed by BatchNorm has no bias (BN's shift makes it redundant); with
// InstanceNorm (affine off, as in pix2pix) it has one. Every norm followed by ReLU / LeakyReLU runs
// fused with it (forwardFusingNorms); the modules, and so the state dict, are pix2pix's.
import * as F from '../nn/functional/index.js';
import { BatchNorm2d, InstanceNorm2d, forwardFusingNorms } from '../nn/layers/norm.js';
import { Conv2d, ConvTranspose2d } from '../nn/layers/conv.js';
import { LeakyReLU, ReLU, Sequential, Tanh } from '../nn/layers/basic.js';
import { initGanWeights } from '../nn/layers/gan-init.js';
import { Module } from '../nn/module.js';
import type { Generator } from '../tensor/random.js';
import { formatShape, type Tensor } from '../tensor/tensor.js';

export type GanNorm = 'batch' | 'instance';

export interface FaPEGanConfig {
  /** Image channels: 1 (grayscale, like Fa-Net) or 3. The pose mask adds one more input channel. */
  channels: 1 | 3;
  /** Width of the first generator and discriminator layers (64 in PN-GAN / pix2pix). */
  baseWidth: number;
  /** Residual blocks at the generator's bottleneck (9 in PN-GAN). */
  residualBlocks: number;
  norm: GanNorm;
  /** Square input size in pixels; a multiple of 4, at least 24. */
  imageSize: number;
}

export const DEFAULT_FAPEGAN_CONFIG: FaPEGanConfig = { channels: 1, baseWidth: 64, residualBlocks: 9, norm: 'batch', imageSize: 128 };

/** Fills defaults and checks a (partial) configuration, with advice on what to change. */
export function resolveFaPEGanConfig(partial: Partial<FaPEGanConfig> = {}): FaPEGanConfig {
  const config = { ...DEFAULT_FAPEGAN_CONFIG, ...Object.fromEntries(Object.entries(partial).filter(([, v]) => v !== undefined)) } as FaPEGanConfig;
  const { channels, baseWidth, residualBlocks, norm, imageSize } = config;
  if (channels !== 1 && channels !== 3) throw new Error(`FaPE-GAN: channels must be 1 (grayscale) or 3 (RGB), got ${channels}`);
  if (!Number.isInteger(baseWidth) || baseWidth < 1) throw new Error(`FaPE-GAN: baseWidth must be a positive integer, got ${baseWidth}`);
  if (!Number.isInteger(residualBlocks) || residualBlocks < 0) throw new Error(`FaPE-GAN: residualBlocks must be a non-negative integer, got ${residualBlocks}`);
  if (norm !== 'batch' && norm !== 'instance') throw new Error(`FaPE-GAN: norm must be "batch" or "instance", got ${JSON.stringify(norm)}`);
  // Two stride-2 convs then two ×2 transposed convs return the input size only for multiples of 4;
  // the discriminator's five 4×4 convs need at least 24 px to leave a patch grid.
  if (!Number.isInteger(imageSize) || imageSize < 24 || imageSize % 4 !== 0) {
    throw new Error(`FaPE-GAN: imageSize must be a multiple of 4 and at least 24, got ${imageSize} (use 32, 64 or 128)`);
  }
  return { channels, baseWidth, residualBlocks, norm, imageSize };
}

/** torch.nn.ReflectionPad2d: reflect-pads the last two dims by `padding` on every side. */
export class ReflectionPad2d extends Module {
  constructor(readonly padding: number) {
    super();
  }
  forward(x: Tensor): Tensor {
    const p = this.padding;
    return F.pad(x, [p, p, p, p], 'reflect');
  }
}

function normLayer(norm: GanNorm, channels: number): Module {
  return norm === 'batch' ? new BatchNorm2d(channels) : new InstanceNorm2d(channels);
}

/** x + conv_block(x); conv_block = reflect-pad 1, 3×3 conv, norm, ReLU, reflect-pad 1, 3×3 conv, norm. */
export class ResidualBlock extends Module {
  readonly convBlock: Sequential;

  constructor(channels: number, norm: GanNorm) {
    super();
    const bias = norm === 'instance';
    this.convBlock = this.registerModule('conv_block', new Sequential(
      new ReflectionPad2d(1), new Conv2d(channels, channels, 3, { bias }), normLayer(norm, channels), new ReLU(),
      new ReflectionPad2d(1), new Conv2d(channels, channels, 3, { bias }), normLayer(norm, channels),
    ));
  }

  forward(x: Tensor): Tensor {
    return F.add(x, forwardFusingNorms(this.convBlock, x));
  }
}

function checkPair(who: string, config: FaPEGanConfig, image: Tensor, mask: Tensor): void {
  const { channels, imageSize } = config;
  const n = image.shape[0];
  const imageOk = image.rank === 4 && image.shape[1] === channels && image.shape[2] === imageSize && image.shape[3] === imageSize;
  const maskOk = mask.rank === 4 && mask.shape[0] === n && mask.shape[1] === 1 && mask.shape[2] === imageSize && mask.shape[3] === imageSize;
  if (!imageOk || !maskOk) {
    throw new Error(
      `${who}: expected image [N, ${channels}, ${imageSize}, ${imageSize}] and pose mask [N, 1, ${imageSize}, ${imageSize}], ` +
        `got ${formatShape(image.shape)} and ${formatShape(mask.shape)}; resize the batch to the model's imageSize or build the model for this size`,
    );
  }
}

/**
 * G(I_i, I_P): source image [N, C, S, S] in [−1, 1] and target pose mask [N, 1, S, S] → the same
 * face in the target pose, [N, C, S, S] in [−1, 1] (tanh).
 */
export class FaPEGenerator extends Module<[Tensor, Tensor], Tensor> {
  readonly config: FaPEGanConfig;
  readonly model: Sequential;

  constructor(config: Partial<FaPEGanConfig> = {}) {
    super();
    this.config = resolveFaPEGanConfig(config);
    const { channels, baseWidth: w, residualBlocks, norm } = this.config;
    const bias = norm === 'instance';
    const layers: Module[] = [new ReflectionPad2d(3), new Conv2d(channels + 1, w, 7, { bias }), normLayer(norm, w), new ReLU()];
    for (const mult of [1, 2]) {
      layers.push(new Conv2d(w * mult, w * mult * 2, 3, { stride: 2, padding: 1, bias }), normLayer(norm, w * mult * 2), new ReLU());
    }
    for (let i = 0; i < residualBlocks; i++) layers.push(new ResidualBlock(w * 4, norm));
    for (const mult of [4, 2]) {
      layers.push(new ConvTranspose2d(w * mult, (w * mult) / 2, 3, { stride: 2, padding: 1, outputPadding: 1, bias }), normLayer(norm, (w * mult) / 2), new ReLU());
    }
    layers.push(new ReflectionPad2d(3), new Conv2d(w, channels, 7), new Tanh());
    this.model = this.registerModule('model', new Sequential(...layers));
  }

  forward(image: Tensor, mask: Tensor): Tensor {
    checkPair('FaPEGenerator', this.config, image, mask);
    // float32 out whatever the layers passed between them (float16 under autocast), for the losses.
    return forwardFusingNorms(this.model, F.cat([image, mask], 1)).float();
  }
}

/**
 * 70×70 PatchGAN conditioned on the pose mask: D(image, I_P) → logits [N, 1, P, P], one per
 * overlapping 70×70 input patch (P = patchGridSize(imageSize)). Logits, not probabilities: the
 * losses use bceWithLogits.
 */
export class PatchDiscriminator extends Module<[Tensor, Tensor], Tensor> {
  readonly config: FaPEGanConfig;
  readonly model: Sequential;

  constructor(config: Partial<FaPEGanConfig> = {}) {
    super();
    this.config = resolveFaPEGanConfig(config);
    const { channels, baseWidth: w, norm } = this.config;
    const bias = norm === 'instance';
    this.model = this.registerModule('model', new Sequential(
      new Conv2d(channels + 1, w, 4, { stride: 2, padding: 1 }), new LeakyReLU(0.2),
      new Conv2d(w, w * 2, 4, { stride: 2, padding: 1, bias }), normLayer(norm, w * 2), new LeakyReLU(0.2),
      new Conv2d(w * 2, w * 4, 4, { stride: 2, padding: 1, bias }), normLayer(norm, w * 4), new LeakyReLU(0.2),
      new Conv2d(w * 4, w * 8, 4, { stride: 1, padding: 1, bias }), normLayer(norm, w * 8), new LeakyReLU(0.2),
      new Conv2d(w * 8, 1, 4, { stride: 1, padding: 1 }),
    ));
  }

  forward(image: Tensor, mask: Tensor): Tensor {
    checkPair('PatchDiscriminator', this.config, image, mask);
    // float32 out whatever the layers passed between them (float16 under autocast), for the losses.
    return forwardFusingNorms(this.model, F.cat([image, mask], 1)).float();
  }
}

/** The discriminator's (kernel, stride, padding) per conv, input to output. */
export const PATCH_DISCRIMINATOR_LAYERS: readonly (readonly [number, number, number])[] = [[4, 2, 1], [4, 2, 1], [4, 2, 1], [4, 1, 1], [4, 1, 1]];

/** Side of the logit grid D produces for a square input (30 at 256 px, 14 at 128, 6 at 64). */
export function patchGridSize(imageSize: number): number {
  return PATCH_DISCRIMINATOR_LAYERS.reduce((size, [k, s, p]) => Math.floor((size + 2 * p - k) / s) + 1, imageSize);
}

/** Input pixels one logit sees along each axis: r = 1 + Σ (k − 1)·∏(earlier strides) = 70. */
export function patchReceptiveField(): number {
  let field = 1, jump = 1;
  for (const [k, s] of PATCH_DISCRIMINATOR_LAYERS) {
    field += (k - 1) * jump;
    jump *= s;
  }
  return field;
}

/** Both networks, GAN-initialised (weights N(0, 0.02), norm scales N(1, 0.02), biases 0). */
export function createFaPEGan(config: Partial<FaPEGanConfig> = {}, options: { generator?: Generator } = {}): { generator: FaPEGenerator; discriminator: PatchDiscriminator } {
  const resolved = resolveFaPEGanConfig(config);
  const generator = new FaPEGenerator(resolved);
  const discriminator = new PatchDiscriminator(resolved);
  initGanWeights(generator, { generator: options.generator });
  initGanWeights(discriminator, { generator: options.generator });
  return { generator, discriminator };
}
