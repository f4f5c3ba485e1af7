// FaPE-GAN networks: shapes, ranges, parameter counts, the PatchGAN's grid and receptive field,
// and the losses of one training step against float64 computations.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { init, tensor, F, scope, noGrad } from '../../src/index.js';
import {
  DEFAULT_FAPEGAN_CONFIG, FaPEGenerator, PatchDiscriminator, createFaPEGan, patchGridSize, patchReceptiveField, resolveFaPEGanConfig, type FaPEGanConfig,
} from '../../src/models/fapegan.js';
import { createFaPEGanSession, discriminatorLoss, freeSession, ganStepLosses, generatorGanLoss } from '../../src/train/fapegan.js';
import * as ref from '../reference/index.js';

await init();

function randomInputs(rng: ref.Rng, n: number, channels: number, size: number) {
  const image = Float32Array.from({ length: n * channels * size * size }, () => rng.uniform(-1, 1));
  const mask = Float32Array.from({ length: n * size * size }, () => (rng.uniform(0, 1) < 0.2 ? 1 : -1));
  return { image, mask };
}

test('generator: [N, C, S, S] + mask → [N, C, S, S] in [−1, 1], for gray/batch and RGB/instance', async () => {
  const seed = ref.randomSeed();
  const rng = new ref.Rng(seed);
  for (const config of [
    { channels: 1, baseWidth: 4, residualBlocks: 1, norm: 'batch', imageSize: 24 },
    { channels: 3, baseWidth: 4, residualBlocks: 2, norm: 'instance', imageSize: 28 },
  ] as FaPEGanConfig[]) {
    const { generator, discriminator } = createFaPEGan(config);
    const { image, mask } = randomInputs(rng, 2, config.channels, config.imageSize);
    const out = await scope(async () => {
      const y = generator.call(tensor(image, [2, config.channels, config.imageSize, config.imageSize]), tensor(mask, [2, 1, config.imageSize, config.imageSize]));
      assert.equal(y.shape, [2, config.channels, config.imageSize, config.imageSize]);
      return y.toArray();
    });
    const min = Math.min(...out), max = Math.max(...out);
    assert.ok(min >= -1 && max <= 1, `tanh range: [${min}, ${max}] (seed ${seed})`);
    assert.ok(max - min > 1e-3, `output is not constant: [${min}, ${max}]`);
    generator.dispose();
    discriminator.dispose();
  }
});

test('generator and discriminator reject inputs of the wrong shape with advice', () => {
  const { generator, discriminator } = createFaPEGan({ baseWidth: 2, residualBlocks: 1, imageSize: 24 });
  scope(() => {
    const image = tensor(new Float32Array(2 * 24 * 24), [1, 2, 24, 24]);
    const mask = tensor(new Float32Array(24 * 24), [1, 1, 24, 24]);
    assert.throws(() => generator.call(image, mask), /expected image \[N, 1, 24, 24\].*got \[1, 2, 24, 24\]/);
    assert.throws(() => discriminator.call(F.slice(image, 1, 0, 1), mask.reshape([1, 24, 24, 1])), /pose mask \[N, 1, 24, 24\]/);
  });
  assert.throws(() => resolveFaPEGanConfig({ imageSize: 30 }), /multiple of 4/);
  assert.throws(() => resolveFaPEGanConfig({ imageSize: 16 }), /at least 24/);
  assert.throws(() => resolveFaPEGanConfig({ norm: 'layer' as never }), /"batch" or "instance"/);
  generator.dispose();
  discriminator.dispose();
});

test('parameter counts at the default config match a hand count (pix2pix ResnetGenerator / NLayerDiscriminator)', () => {
  // Hand count, gray + BatchNorm (no conv bias before BN): 7×7 conv 2→64 (6272) + BN 128; down 64→128
  // (73728) + 256; down 128→256 (294912) + 512; 9 blocks × 2 × (256·256·9 + 512) = 10,626,048;
  // up 256→128 (294912) + 256; up 128→64 (73728) + 128; 7×7 conv 64→1 + bias (3137).
  const expectedGenerator = 6272 + 128 + 73728 + 256 + 294912 + 512 + 9 * 2 * (589824 + 512) + 294912 + 256 + 73728 + 128 + 3137;
  assert.is(expectedGenerator, 11_374_017);
  // D: 4×4 conv 2→64 + bias (2112); 64→128 (131072) + BN 256; 128→256 (524288) + 512; 256→512 (2097152) + 1024; 512→1 + bias (8193).
  const expectedDiscriminator = 2112 + 131072 + 256 + 524288 + 512 + 2097152 + 1024 + 8193;
  assert.is(expectedDiscriminator, 2_764_609);
  // RGB + InstanceNorm (affine off, every conv has a bias): 4 input channels.
  const rgbGenerator = (4 * 64 * 49 + 64) + (73728 + 128) + (294912 + 256) + 9 * 2 * (589824 + 256) + (294912 + 128) + (73728 + 64) + (64 * 3 * 49 + 3);
  const rgbDiscriminator = (4 * 64 * 16 + 64) + (131072 + 128) + (524288 + 256) + (2097152 + 512) + 8193;

  const g = new FaPEGenerator(DEFAULT_FAPEGAN_CONFIG);
  const d = new PatchDiscriminator(DEFAULT_FAPEGAN_CONFIG);
  assert.is(g.numParameters(), expectedGenerator);
  assert.is(d.numParameters(), expectedDiscriminator);
  const names = [...g.stateDict().keys()];
  assert.ok(names.includes('model.1.weight') && names.includes('model.10.conv_block.1.weight') && names.includes('model.10.conv_block.2.running_var'), names.slice(0, 14).join(' '));
  g.dispose();
  d.dispose();
  const rgb = { ...DEFAULT_FAPEGAN_CONFIG, channels: 3 as const, norm: 'instance' as const };
  const g3 = new FaPEGenerator(rgb), d3 = new PatchDiscriminator(rgb);
  assert.is(g3.numParameters(), rgbGenerator);
  assert.is(d3.numParameters(), rgbDiscriminator);
  g3.dispose();
  d3.dispose();
});

test('PatchGAN: 70-pixel receptive field; 6×6 logits at 64 px, 14×14 at 128, 30×30 at 256', async () => {
  assert.is(patchReceptiveField(), 70);
  assert.is(patchGridSize(64), 6);
  assert.is(patchGridSize(128), 14);
  assert.is(patchGridSize(256), 30);
  const d64 = new PatchDiscriminator({ baseWidth: 2, imageSize: 64 });
  scope(() => assert.equal(d64.call(tensor(new Float32Array(2 * 64 * 64), [2, 1, 64, 64]), tensor(new Float32Array(2 * 64 * 64), [2, 1, 64, 64])).shape, [2, 1, 6, 6]));
  d64.dispose();

  // The input pixels one logit depends on: the support of its gradient (eval mode keeps BatchNorm local).
  const seed = ref.randomSeed();
  const rng = new ref.Rng(seed);
  const d = new PatchDiscriminator({ baseWidth: 2, imageSize: 128 });
  d.eval();
  const grad = await scope(async () => {
    const image = tensor(Float32Array.from({ length: 128 * 128 }, () => rng.normal()), [1, 1, 128, 128], { requiresGrad: true });
    const logits = d.call(image, tensor(new Float32Array(128 * 128), [1, 1, 128, 128]));
    assert.equal(logits.shape, [1, 1, 14, 14]);
    F.sum(F.slice(F.slice(logits, 2, 7, 8), 3, 7, 8)).backward();
    return image.grad!.toArray();
  });
  let top = 128, bottom = -1, left = 128, right = -1;
  for (let y = 0; y < 128; y++) for (let x = 0; x < 128; x++) {
    if (grad[y * 128 + x] !== 0) { top = Math.min(top, y); bottom = Math.max(bottom, y); left = Math.min(left, x); right = Math.max(right, x); }
  }
  // Logit 7 starts at 7·8 − (1 + 2 + 4 + 8 + 8) = 33 (strides 2,2,2,1,1, padding 1 each).
  assert.equal([top, bottom, left, right], [33, 102, 33, 102], `seed ${seed}`);
  d.dispose();
});

test('loss functions equal float64 BCE-with-logits: L_D = −log σ(r) − log(1 − σ(f)), L_G = −log σ(f)', async () => {
  const seed = ref.randomSeed();
  const rng = new ref.Rng(seed);
  const real = Float32Array.from({ length: 2 * 5 * 5 }, () => rng.normal() * 4);
  const fake = Float32Array.from({ length: 2 * 5 * 5 }, () => rng.normal() * 4);
  const [dLoss, gLoss] = await scope(async () => {
    const r = tensor(real, [2, 1, 5, 5]), f = tensor(fake, [2, 1, 5, 5]);
    return [await discriminatorLoss(r, f).item(), await generatorGanLoss(f).item()];
  });
  const logSigmoid = (x: number) => -Math.log1p(Math.exp(-x));
  const mean = (xs: Float32Array, fn: (x: number) => number) => xs.reduce((a, x) => a + fn(x), 0) / xs.length;
  const expectedD = mean(real, (x) => -logSigmoid(x)) + mean(fake, (x) => -logSigmoid(-x));
  const expectedG = mean(fake, (x) => -logSigmoid(x));
  ref.assertClose([dLoss], [expectedD], { rtol: 1e-5, atol: 1e-6, context: `D loss, seed ${seed}` });
  ref.assertClose([gLoss], [expectedG], { rtol: 1e-5, atol: 1e-6, context: `G loss, seed ${seed}` });
});

test('one training step: D loss on (real, detached fake), then G loss with the updated D and λ·L1, as float64 recomputes them', async () => {
  const seed = ref.randomSeed();
  const rng = new ref.Rng(seed);
  const config = { channels: 1, baseWidth: 4, residualBlocks: 1, norm: 'batch', imageSize: 32 } as const;
  const session = createFaPEGanSession(config, { epochs: 1, batchSize: 2, seed });
  const n = 2, s = 32;
  const { image: source, mask } = randomInputs(rng, n, 1, s);
  const target = Float32Array.from({ length: n * s * s }, () => rng.uniform(-1, 1));
  const shape = [n, 1, s, s];
  // Before the step: G's output and D's logits (train mode: batch statistics, as in the step).
  const before = await scope(async () => noGrad(async () => {
    const m = tensor(mask, [n, 1, s, s]);
    const fake = session.generator.call(tensor(source, shape), m);
    return {
      fake: await fake.toArray(),
      real: await session.discriminator.call(tensor(target, shape), m).toArray(),
      fakeLogits: await session.discriminator.call(fake, m).toArray(),
    };
  }));
  const losses = await scope(() => ganStepLosses(session, tensor(source, shape), tensor(mask, [n, 1, s, s]), tensor(target, shape)));
  const [dLoss, gGan, l1] = [await losses.dLoss.item(), await losses.gGan.item(), await losses.l1.item()];
  // G's adversarial term uses D after its update, on the same (pre-update) fake.
  const after = await scope(() => noGrad(() => session.discriminator.call(tensor(before.fake, shape), tensor(mask, [n, 1, s, s])).toArray()));
  const t64 = (data: Float32Array, dims: number[]) => ref.t64(data, dims);
  const grid = patchGridSize(s);
  const logitShape = [n, 1, grid, grid];
  const ones = ref.ones(logitShape), zeros = ref.zeros(logitShape);
  const expectedD = ref.bceWithLogits(t64(before.real, logitShape), ones).data[0]! + ref.bceWithLogits(t64(before.fakeLogits, logitShape), zeros).data[0]!;
  const expectedG = ref.bceWithLogits(t64(after, logitShape), ones).data[0]!;
  const expectedL1 = ref.l1Loss(t64(before.fake, shape), t64(target, shape)).data[0]!;
  const context = `seed ${seed}, batch ${n}×1×${s}×${s}`;
  ref.assertClose([dLoss], [expectedD], { rtol: 1e-4, atol: 1e-5, context: `D loss, ${context}` });
  ref.assertClose([gGan], [expectedG], { rtol: 1e-4, atol: 1e-5, context: `G GAN loss, ${context}` });
  ref.assertClose([l1], [expectedL1], { rtol: 1e-4, atol: 1e-5, context: `L1, ${context}` });
  assert.is(session.step, 1);
  assert.ok(session.discriminator.parameters().every((p) => p.requiresGrad), 'D is trainable again after the G update');
  for (const t of Object.values(losses)) t.dispose();
  freeSession(session);
});

test.run();
