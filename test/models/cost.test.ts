// Parameter and MAC counts from configurations (src/models/cost.ts): the and DESIGN.md's
// figures, a hand count of LightCNN-9's products, every layer held against the built model's
// parameters, and MACs and output shapes against the shapes a real forward pass produces.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { init, noGrad, randn, scope, type Tensor } from '../../src/index.js';
import { fapeGeneratorCost, lightcnnCost, patchDiscriminatorCost, type ModelCost } from '../../src/models/cost.js';
import { createLightCNN, flattenSize, LIGHTCNN_VARIANTS, resolveLightCNNConfig, type LightCNNConfig } from '../../src/models/lightcnn.js';
import { FaPEGenerator, PatchDiscriminator, patchGridSize, type FaPEGanConfig } from '../../src/models/fapegan.js';
import { Linear } from '../../src/nn/layers/basic.js';
import { Conv2d, ConvTranspose2d } from '../../src/nn/layers/conv.js';
import { MFM } from '../../src/nn/layers/mfm.js';
import type { AnyModule } from '../../src/nn/module.js';
import type { MaxPool2dOptions } from '../../src/nn/functional/pool.js';
import * as ref from '../reference/index.js';

await init();

const seed = ref.randomSeed();
const ctx = (what: string) => `${what} (seed ${seed}; replay with WEBFER_SEED=${seed})`;

test('LightCNN-9 / -29 / -29v2 with 54 classes at 128 px: 5,494,742 / 12,587,158 / 10,489,696 parameters', () => {
  const parameters = LIGHTCNN_VARIANTS.map((variant) => lightcnnCost({ variant, classes: 54 }).parameters);
  assert.equal(parameters, [5_494_742, 12_587_158, 10_489_696]);
});

test('LightCNN-9 at 128 px: 976,762,368 MACs per image (≈ 0.98 G), the same as a hand count of its layers', () => {
  // mfm conv: 2·out channels at the map size after the previous pool (128 → 64 → 32 → 16 → 8).
  const conv = (out: number, side: number, inChannels: number, k: number) => 2 * out * side * side * inChannels * k * k;
  const hand =
    conv(48, 128, 1, 5) +
    conv(48, 64, 48, 1) + conv(96, 64, 48, 3) +
    conv(96, 32, 96, 1) + conv(192, 32, 96, 3) +
    conv(192, 16, 192, 1) + conv(128, 16, 192, 3) +
    conv(128, 16, 128, 1) + conv(128, 16, 128, 3) +
    8 * 8 * 128 * 512 + 256 * 54;
  const cost = lightcnnCost({ variant: 'lightcnn9', classes: 54 });
  assert.is(hand, 976_762_368);
  assert.is(cost.macs, hand);
});

test('FaPE-GAN at 128 px, width 64, 9 blocks: G 11,374,017 / D 2,764,609 parameters; transposed convs counted on their input grid', () => {
  const generator = fapeGeneratorCost(), discriminator = patchDiscriminatorCost();
  assert.is(generator.parameters, 11_374_017);
  assert.is(discriminator.parameters, 2_764_609);
  // G: 7×7 2→64 at 128²; 3×3 s2 64→128 at 64², 128→256 at 32²; 18 × 3×3 256→256 at 32²;
  // transposed 3×3 256→128 on the 32² input, 128→64 on 64²; 7×7 64→1 at 128².
  const g = 128 ** 2 * 64 * 2 * 49 + 64 ** 2 * 128 * 64 * 9 + 32 ** 2 * 256 * 128 * 9 + 18 * 32 ** 2 * 256 * 256 * 9 +
    32 ** 2 * 256 * 128 * 9 + 64 ** 2 * 128 * 64 * 9 + 128 ** 2 * 64 * 49;
  // D: 4×4 convs, outputs 64², 32², 16², 15², 14².
  const d = 64 ** 2 * 64 * 2 * 16 + 32 ** 2 * 128 * 64 * 16 + 16 ** 2 * 256 * 128 * 16 + 15 ** 2 * 512 * 256 * 16 + 14 ** 2 * 512 * 16;
  assert.is(generator.macs, g);
  assert.is(discriminator.macs, d);
});

/** Sums the built module's parameters per layer prefix and checks that every parameter is covered. */
function assertLayersMatchParameters(cost: ModelCost, module: AnyModule, what: string): void {
  const named = module.namedParameters();
  for (const layer of cost.layers) {
    const own = named.filter(([name]) => name.startsWith(`${layer.name}.`)).reduce((n, [, p]) => n + p.size, 0);
    assert.is(own, layer.parameters, ctx(`${what}: ${layer.name} parameters`));
  }
  const covered = named.filter(([name]) => cost.layers.some((layer) => name.startsWith(`${layer.name}.`)));
  assert.equal(covered.map(([name]) => name), named.map(([name]) => name), ctx(`${what}: every parameter belongs to a counted layer`));
  assert.is(cost.parameters, module.numParameters(), ctx(`${what}: total`));
}

test('full-size models: every counted layer holds exactly the built module\'s parameters under its name', () => {
  for (const variant of LIGHTCNN_VARIANTS) {
    for (const config of [{ variant, classes: 54 }, { variant, classes: 7, batchNorm: true }] as LightCNNConfig[]) {
      const model = createLightCNN(config);
      assertLayersMatchParameters(lightcnnCost(config), model, JSON.stringify(config));
      model.dispose();
    }
  }
  for (const config of [{}, { channels: 3, norm: 'instance' }] as Partial<FaPEGanConfig>[]) {
    const g = new FaPEGenerator(config), d = new PatchDiscriminator(config);
    assertLayersMatchParameters(fapeGeneratorCost(config), g, `G ${JSON.stringify(config)}`);
    assertLayersMatchParameters(patchDiscriminatorCost(config), d, `D ${JSON.stringify(config)}`);
    g.dispose();
    d.dispose();
  }
});

interface MeasuredLayer { name: string; outputShape: number[]; macs: number }

/**
 * Runs one image through the module with every conv / transposed conv / linear instance wrapped
 * to record the shapes it really saw, and counts MACs from those shapes and its weight.
 */
function measure(module: AnyModule, run: () => Tensor): MeasuredLayer[] {
  const measured: MeasuredLayer[] = [];
  for (const [name, layer] of module.namedModules()) {
    // An MFM without a norm runs its convolution fused with the max (F.conv2dMfm), or with the max
    // and the pool after it (F.conv2dMfmMaxPool2d), never calling the filter module: record the
    // filter's 2·C-channel output, its side from the input's and the filter's geometry.
    if (layer instanceof MFM && layer.filter instanceof Conv2d && !layer.norm) {
      const forward = layer.forward.bind(layer), forwardMaxPool = layer.forwardMaxPool.bind(layer), filter = layer.filter;
      const record = (x: Tensor) => {
        const side = (d: 0 | 1) => Math.floor((x.shape[2 + d]! + 2 * filter.padding[d] - filter.dilation[d] * (filter.kernelSize[d] - 1) - 1) / filter.stride[d]) + 1;
        measured.push({ name: `${name}.filter`, outputShape: [filter.weight.shape[0]!, side(0), side(1)], macs: side(0) * side(1) * filter.weight.size });
      };
      layer.forward = (x: Tensor) => {
        record(x);
        return forward(x);
      };
      layer.forwardMaxPool = (x: Tensor, pool: MaxPool2dOptions) => {
        record(x);
        return forwardMaxPool(x, pool);
      };
      continue;
    }
    if (!(layer instanceof Conv2d || layer instanceof ConvTranspose2d || layer instanceof Linear)) continue;
    const forward = layer.forward.bind(layer);
    layer.forward = (x: Tensor) => {
      const y = forward(x);
      const spatial = layer instanceof Conv2d ? y.shape[2]! * y.shape[3]! : layer instanceof ConvTranspose2d ? x.shape[2]! * x.shape[3]! : 1;
      measured.push({ name, outputShape: y.shape.slice(1), macs: spatial * layer.weight.size });
      return y;
    };
  }
  noGrad(() => scope(() => { run(); }));
  return measured;
}

function assertMatchesForward(cost: ModelCost, measured: MeasuredLayer[], what: string): void {
  const counted = cost.layers.filter((layer) => layer.kind !== 'batchNorm2d').map(({ name, outputShape, macs }) => ({ name, outputShape, macs }));
  assert.equal(counted, measured, ctx(`${what}: layers, output shapes and MACs as the forward pass runs them`));
  assert.is(cost.macs, measured.reduce((n, layer) => n + layer.macs, 0), ctx(`${what}: total MACs`));
}

test('random small configurations: layer order, output shapes and MACs equal those of a real forward pass', () => {
  const rng = new ref.Rng(seed);
  for (const variant of LIGHTCNN_VARIANTS) {
    // Odd sizes exercise ceil-mode (LightCNN-9/-29) against floor (29v2) pooling.
    const config = resolveLightCNNConfig({ variant, classes: rng.int(2, 9), inputSize: rng.int(16, 37), widthMultiplier: rng.int(2, 5) / 32, batchNorm: rng.uniform() < 0.5 });
    const model = createLightCNN(config).eval();
    const cost = lightcnnCost(config);
    assertMatchesForward(cost, measure(model, () => model.call(randn([1, 1, config.inputSize, config.inputSize])).logits), JSON.stringify(config));
    const fc = cost.layers.find((layer) => layer.kind === 'linear')!;
    assert.is(fc.macs / fc.outputShape[0]!, flattenSize(config), ctx(`${variant}: the flatten matches flattenSize`));
    model.dispose();
  }
  const gan: FaPEGanConfig = { channels: rng.uniform() < 0.5 ? 1 : 3, baseWidth: rng.int(2, 5), residualBlocks: rng.int(0, 2), norm: rng.uniform() < 0.5 ? 'batch' : 'instance', imageSize: 4 * rng.int(6, 9) };
  const image = () => randn([1, gan.channels, gan.imageSize, gan.imageSize]), mask = () => randn([1, 1, gan.imageSize, gan.imageSize]);
  const g = new FaPEGenerator(gan).eval(), d = new PatchDiscriminator(gan).eval();
  const generatorCost = fapeGeneratorCost(gan), discriminatorCost = patchDiscriminatorCost(gan);
  assertMatchesForward(generatorCost, measure(g, () => g.call(image(), mask())), `G ${JSON.stringify(gan)}`);
  assertMatchesForward(discriminatorCost, measure(d, () => d.call(image(), mask())), `D ${JSON.stringify(gan)}`);
  assert.equal(generatorCost.layers.at(-1)!.outputShape, [gan.channels, gan.imageSize, gan.imageSize]);
  assert.equal(discriminatorCost.layers.at(-1)!.outputShape, [1, patchGridSize(gan.imageSize), patchGridSize(gan.imageSize)]);
  g.dispose();
  d.dispose();
});

test('configurations the models refuse are refused with their message', () => {
  assert.throws(() => lightcnnCost({ variant: 'lightcnn9', classes: 54, inputSize: 12 }), /inputSize must be an integer of at least 16/);
  assert.throws(() => fapeGeneratorCost({ imageSize: 30 }), /multiple of 4/);
});

test.run();
