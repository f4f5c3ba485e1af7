// The models run each norm together with the activation after it as one fused op (FaPE-GAN:
// BatchNorm / InstanceNorm + ReLU / LeakyReLU; LightCNN with batch norm: BatchNorm + mfm). Their
// forward, every parameter gradient and the running statistics equal the same model run layer by
// layer with the unfused ops, in train and eval mode; the state dict names are unchanged.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { F, init, scope, tensor, type Tensor } from '../../src/index.js';
import { FaPEGenerator, PatchDiscriminator, ResidualBlock, createFaPEGan, type FaPEGanConfig } from '../../src/models/fapegan.js';
import { Group, LightCNN9 } from '../../src/models/lightcnn.js';
import { Sequential } from '../../src/nn/layers/basic.js';
import { MFM } from '../../src/nn/layers/mfm.js';
import type { AnyModule, Module } from '../../src/nn/module.js';
import * as ref from '../reference/index.js';

await init();

/** The model's forward, layer by layer with unfused ops (what the models did before the fusion). */
function unfused(module: AnyModule, x: Tensor): Tensor {
  if (module instanceof Sequential) return [...module].reduce((y, layer) => unfused(layer, y), x);
  if (module instanceof ResidualBlock) return F.add(x, unfused(module.convBlock, x));
  if (module instanceof Group) return unfused(module.conv, unfused(module.conv_a, x));
  if (module instanceof MFM && module.norm) return F.mfm(module.norm.call(module.filter.call(x)));
  return (module as Module<[Tensor], Tensor>).call(x);
}

/** Output, every parameter gradient and every buffer (running statistics) after one forward + backward. */
async function run(model: AnyModule, forward: () => Tensor, seed: number): Promise<Map<string, Float32Array>> {
  const results = new Map<string, Float32Array>();
  for (const p of model.parameters()) p.grad = null;
  await scope(async () => {
    const y = forward();
    const rng = new ref.Rng(seed);
    y.backward(tensor(Float32Array.from({ length: y.size }, () => rng.normal()), y.shape));
    results.set('output', await y.toArray());
  });
  for (const [name, p] of model.namedParameters()) results.set(`${name}.grad`, await p.grad!.toArray());
  for (const [name, b] of model.namedBuffers()) results.set(name, await b.toArray());
  model.zeroGrad();
  return results;
}

/** Runs fused and unfused from the same state (the running statistics restored in between) and compares everything. */
async function compareFusedToUnfused(label: string, model: AnyModule, fused: () => Tensor, layered: () => Tensor): Promise<void> {
  const start = await model.exportStateDict();
  const seed = ref.randomSeed();
  const a = await run(model, fused, seed);
  model.loadStateDict(start);
  const b = await run(model, layered, seed);
  model.loadStateDict(start);
  assert.equal([...a.keys()], [...b.keys()], `${label}: the same tensors`);
  for (const [name, values] of a) {
    const expected = b.get(name)!;
    const scale = Math.max(1e-6, ...expected.map(Math.abs));
    values.forEach((v, i) => {
      const e = expected[i]!;
      if (!(Math.abs(v - e) <= 1e-5 * scale + 1e-4 * Math.abs(e))) assert.unreachable(`${label} ${name}[${i}]: fused ${v}, unfused ${e} (seed ${seed})`);
    });
  }
}

function randomBatch(rng: ref.Rng, shape: number[]): Tensor {
  return tensor(Float32Array.from({ length: shape.reduce((a, d) => a * d, 1) }, () => rng.uniform(-1, 1)), shape);
}

test('FaPE-GAN generator and discriminator (batch and instance norm): fused norm + activation equals the layer-by-layer ops, train and eval', async () => {
  const rng = new ref.Rng(ref.randomSeed());
  for (const norm of ['batch', 'instance'] as const) {
    const config: FaPEGanConfig = { channels: 1, baseWidth: 4, residualBlocks: 1, norm, imageSize: 24 };
    const { generator, discriminator } = createFaPEGan(config);
    const image = randomBatch(rng, [2, 1, 24, 24]);
    const mask = randomBatch(rng, [2, 1, 24, 24]);
    for (const training of [true, false]) {
      generator.train(training);
      discriminator.train(training);
      await compareFusedToUnfused(`generator ${norm} training ${training}`, generator, () => generator.call(image, mask), () => unfused(generator.model, F.cat([image, mask], 1)));
      await compareFusedToUnfused(`discriminator ${norm} training ${training}`, discriminator, () => discriminator.call(image, mask), () => unfused(discriminator.model, F.cat([image, mask], 1)));
    }
    for (const t of [image, mask]) t.dispose();
    generator.dispose();
    discriminator.dispose();
  }
});

test('LightCNN-9 with batch norm: batchNormMfm in every convolutional mfm equals BatchNorm2d then mfm, train and eval', async () => {
  const rng = new ref.Rng(ref.randomSeed());
  const model = new LightCNN9({ classes: 3, inputSize: 16, widthMultiplier: 0.0625, batchNorm: true, dropout: 0 });
  const x = randomBatch(rng, [3, 1, 16, 16]);
  const layered = () => model.fc2.call(model.fc1.call(F.flatten(unfused(model.features, x), 1)));
  for (const training of [true, false]) {
    model.train(training);
    await compareFusedToUnfused(`LightCNN-9 training ${training}`, model, () => model.call(x).logits, layered);
  }
  assert.ok([...model.stateDict().keys()].includes('features.0.norm.running_mean'), 'state dict names unchanged');
  x.dispose();
  model.dispose();
});

test.run();
