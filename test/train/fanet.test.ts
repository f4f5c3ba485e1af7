// Fa-Net training: the recipe's parameter groups and schedule, a tiny LightCNN that learns a
// 4-class pattern task, bitwise-exact resume from a checkpoint, evaluation metrics, NaN guard.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { init, manualSeed, memory, noGrad, tensor } from '../../src/index.js';
import { BatchLoader, type Dataset, type ImageU8, type Sample } from '../../src/data/index.js';
import { createLightCNN, type LightCNN } from '../../src/models/lightcnn.js';
import { captureCheckpoint, restoreCheckpoint, type RunInfo, type TrainingParts } from '../../src/train/checkpoint.js';
import { createFanetLoaders, createFanetOptimizer, evaluateFanet, FANET_RECIPE, fanetLearningRate, fanetParamGroups, fanetTransforms, trainFanet } from '../../src/train/fanet.js';
import { NonFiniteLossError } from '../../src/train/guards.js';
import { ConfusionMatrix } from '../../src/train/metrics.js';
import type { SafetensorsContent } from '../../src/nn/safetensors.js';
import type { SGD } from '../../src/optim/sgd.js';
import * as ref from '../reference/index.js';

await init();

const seed = ref.randomSeed();
const ctx = (what: string) => `${what} (seed ${seed}; replay with WEBFER_SEED=${seed})`;

const PATTERNS = ['horizontal stripes', 'vertical stripes', 'centre blob', 'ring'];

/**
 * In-memory dataset of 4 flip-invariant patterns with random phase, contrast and noise: learnable
 * by a tiny network in a few epochs, hard enough that an untrained one sits at chance.
 */
function patternDataset(count: number, size: number, datasetSeed: number): Dataset {
  const images = new Map<string, ImageU8>();
  const rng = new ref.Rng(datasetSeed);
  const samples: Sample[] = [];
  for (let i = 0; i < count; i++) {
    const label = i % PATTERNS.length;
    const data = new Uint8Array(size * size);
    const phase = rng.uniform() * 2 * Math.PI, contrast = 50 + 60 * rng.uniform(), period = 5 + 3 * rng.uniform();
    const cx = size / 2 + (rng.uniform() - 0.5) * 4, cy = size / 2 + (rng.uniform() - 0.5) * 4;
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const r = Math.hypot(x - cx, y - cy) / size;
        const pattern = [Math.sin((2 * Math.PI * y) / period + phase), Math.sin((2 * Math.PI * x) / period + phase), 1.5 * Math.exp(-r * r * 30) - 0.5, Math.exp(-((r - 0.3) ** 2) * 200) * 2 - 0.5][label];
        data[y * size + x] = Math.max(0, Math.min(255, Math.round(128 + contrast * pattern + 12 * rng.normal())));
      }
    }
    const path = `pattern-${i}.png`;
    images.set(path, { width: size, height: size, channels: 1, data });
    samples.push({ path, label });
  }
  return { format: 'synth', source: 'patterns', classes: PATTERNS, samples, problems: [], loadImage: async (s) => images.get(s.path)! };
}

async function parameterArrays(model: LightCNN): Promise<Map<string, Float32Array>> {
  const out = new Map<string, Float32Array>();
  for (const [name, t] of await model.exportStateDict()) out.set(name, t.data);
  return out;
}

test('the recipe: lr 0.01 at batch 128 scaled with the batch; biases 2× without decay; fc2 10× / 20×; StepLR γ every 10 epochs', () => {
  assert.is(fanetLearningRate(128), 0.01);
  assert.is(fanetLearningRate(32), 0.0025);
  const model = createLightCNN({ variant: 'lightcnn9', classes: 7, widthMultiplier: 0.125, inputSize: 32 });
  const groups = fanetParamGroups(model, 0.01);
  const names = new Map(model.namedParameters().map(([name, p]) => [p, name]));
  const summary = groups.map((g) => ({ role: g.role, lr: g.lr, weightDecay: g.weightDecay, names: g.params.map((p) => names.get(p as never)) }));
  assert.equal(summary.map((g) => [g.role, g.lr, g.weightDecay]), [['weights', 0.01, 1e-4], ['biases', 0.02, 0], ['classifier weight', 0.1, 1e-4], ['classifier bias', 0.2, 0]]);
  assert.equal(summary[2]!.names, ['fc2.weight']);
  assert.equal(summary[3]!.names, ['fc2.bias']);
  assert.ok(summary[0]!.names.every((n) => n!.endsWith('weight') && !n!.startsWith('fc2')));
  assert.ok(summary[1]!.names.every((n) => n!.endsWith('bias') && !n!.startsWith('fc2')));
  assert.is(summary.reduce((n, g) => n + g.names.length, 0), model.parameters().length);

  const { optimizer, scheduler, lr } = createFanetOptimizer(model, { batchSize: 64 });
  assert.is(lr, 0.005);
  assert.is((optimizer as SGD).paramGroups[0]!.momentum, 0.9);
  for (let epoch = 0; epoch < 10; epoch++) scheduler.step();
  assert.ok(Math.abs(optimizer.paramGroups[3]!.lr - 20 * 0.005 * FANET_RECIPE.gamma) < 1e-15);
  optimizer.dispose();
  model.dispose();

  const v2 = createLightCNN({ variant: 'lightcnn29v2', classes: 7, widthMultiplier: 0.125, inputSize: 32 });
  assert.equal(fanetParamGroups(v2, 0.01).map((g) => g.role), ['weights', 'biases', 'classifier weight'], 'v2 classifier has no bias');
  v2.dispose();

  assert.equal(fanetTransforms(128).train, { channels: 1, resize: 144, crop: 128, normalization: 'unit', randomCrop: true, flip: true });
  assert.equal(fanetTransforms(64).eval, { channels: 1, resize: 72, crop: 64, normalization: 'unit', randomCrop: false, flip: false });
});

// From PyTorch's default init a narrow LightCNN's signal is faint: SGD at the paper's rate needs
// far more steps than a test can afford to leave chance, so this uses the recipe's Adam option.
test('a tiny Fa-Net (LightCNN-9, width 0.25, 32 px, Adam) learns a 4-class pattern task well above chance (0.25); memory stays bounded', async () => {
  // A fixed seed: where the plateau ends varies between seeds by a few epochs, and a test must
  // not be a coin toss. Everything here is deterministic (seeded data, init, order, dropout).
  const fixed = 1;
  manualSeed(fixed);
  const { trainLoader, evalLoader } = createFanetLoaders(patternDataset(96, 36, fixed), patternDataset(48, 36, fixed + 7), { batchSize: 16, inputSize: 32, seed: fixed });
  const model = createLightCNN({ variant: 'lightcnn9', classes: 4, widthMultiplier: 0.25, inputSize: 32 });
  const { optimizer, scheduler } = createFanetOptimizer(model, { batchSize: 16, optimizer: 'adam', lr: 1e-3 });
  const before = await evaluateFanet(model, evalLoader!, { classes: PATTERNS });
  const bytes: number[] = [];
  const result = await trainFanet({ model, optimizer, scheduler, trainLoader: trainLoader!, evalLoader, epochs: 10, onEpoch: () => void bytes.push(memory().bytesInUse) });
  const history = result.history.map((h) => `${h.epoch}: loss ${h.trainLoss.toFixed(3)} acc ${h.trainAccuracy.toFixed(2)} eval ${h.evalAccuracy?.toFixed(2)}`).join('; ');
  assert.is(result.epoch, 10);
  assert.is(result.step, 60);
  assert.ok(result.lastEvaluation!.accuracy >= 0.6, `eval accuracy ${result.lastEvaluation!.accuracy} (before training ${before.accuracy}); ${history}`);
  assert.ok(result.history[9]!.trainLoss < 0.7 * result.history[0]!.trainLoss, `training loss did not fall: ${history}`);
  assert.is(bytes[9], bytes[2], `GPU bytes in use after epochs 3 and 10: ${bytes}`);
  optimizer.dispose();
  model.dispose();
});

/** A tiny Fa-Net run on the pattern set (SGD recipe, halving lr each epoch): resume tests. */
function buildPatternRun(data: Dataset) {
  const model = createLightCNN({ variant: 'lightcnn9', classes: 4, widthMultiplier: 0.125, inputSize: 24 });
  const { optimizer, scheduler } = createFanetOptimizer(model, { batchSize: 8, lr: 0.01, stepSize: 1, gamma: 0.5 });
  const { trainLoader } = createFanetLoaders(data, undefined, { batchSize: 8, inputSize: 24, seed: 3 });
  return { model, optimizer, scheduler, trainLoader: trainLoader! };
}

function assertSameParameters(expected: Map<string, Float32Array>, actual: Map<string, Float32Array>, what: string): void {
  for (const [name, values] of expected) {
    const got = actual.get(name)!;
    const differing = values.findIndex((v, i) => !Object.is(v, got[i]));
    assert.is(differing, -1, ctx(`${name}[${differing}]: straight ${values[differing]}, ${what} ${got[differing]}`));
  }
}

test('a run stopped mid-epoch (Ctrl-C) and resumed from its checkpoint continues bit for bit', async () => {
  const data = patternDataset(24, 28, seed);
  const build = () => buildPatternRun(data);
  manualSeed(seed);
  const straight = build();
  await trainFanet({ ...straight, epochs: 2 });
  const expected = await parameterArrays(straight.model);

  manualSeed(seed);
  const first = build();
  let saved: SafetensorsContent | undefined;
  let steps = 0;
  const result = await trainFanet({
    ...first, epochs: 2,
    shouldStop: () => ++steps === 5, // the second step of epoch 2 (3 batches per epoch)
    saveCheckpoint: async (parts, info) => { saved = await captureCheckpoint(parts, info); },
  });
  assert.ok(result.stopped, 'stopped early');
  first.optimizer.dispose();
  first.model.dispose();

  manualSeed(seed + 777);
  const resumed = build();
  const info = restoreCheckpoint(saved!, { modules: { model: resumed.model }, optimizers: { optimizer: resumed.optimizer }, schedulers: { lr: resumed.scheduler } });
  const batchInEpoch = Number(info.extra?.batchInEpoch ?? 0);
  assert.equal([info.epoch, info.step, batchInEpoch], [1, 5, 2], 'stopped in epoch 2 after its second batch');
  await trainFanet({ ...resumed, epochs: 2, start: { epoch: info.epoch, step: info.step, batchInEpoch } });
  const actual = await parameterArrays(resumed.model);
  assertSameParameters(expected, actual, 'stopped and resumed');
  for (const run of [straight, resumed]) {
    run.optimizer.dispose();
    run.model.dispose();
  }
});

test('resume is exact: 2 epochs straight == 1 epoch + checkpoint + fresh model/optimizer + load + 1 epoch (bitwise)', async () => {
  const data = patternDataset(24, 28, seed);
  const build = () => buildPatternRun(data);

  manualSeed(seed);
  const straight = build();
  await trainFanet({ ...straight, epochs: 2 });
  const expected = await parameterArrays(straight.model);
  const expectedMomentum = await straight.optimizer.exportState();

  manualSeed(seed);
  const first = build();
  let saved: SafetensorsContent | undefined;
  let savedInfo: RunInfo | undefined;
  const save = async (parts: TrainingParts, info: RunInfo) => {
    saved = await captureCheckpoint(parts, info);
    savedInfo = info;
  };
  await trainFanet({ ...first, epochs: 1, saveCheckpoint: save });
  first.optimizer.dispose();
  first.model.dispose();
  assert.equal([savedInfo!.epoch, savedInfo!.step, savedInfo!.kind], [1, 3, 'fanet']);

  manualSeed(seed + 12345); // the fresh model starts elsewhere; the checkpoint must restore everything
  const resumed = build();
  const info = restoreCheckpoint(saved!, { modules: { model: resumed.model }, optimizers: { optimizer: resumed.optimizer }, schedulers: { lr: resumed.scheduler } });
  assert.is(resumed.optimizer.paramGroups[0]!.lr, 0.005, 'schedule restored');
  await trainFanet({ ...resumed, epochs: 2, start: { epoch: info.epoch, step: info.step } });
  const actual = await parameterArrays(resumed.model);
  assertSameParameters(expected, actual, 'resumed');
  const resumedMomentum = await resumed.optimizer.exportState();
  for (const [index, state] of Object.entries(expectedMomentum.state)) {
    assert.equal(Array.from(resumedMomentum.state[Number(index)]!.buffers.momentumBuffer!.data), Array.from(state.buffers.momentumBuffer!.data), `momentum of parameter ${index}`);
  }
  for (const run of [straight, resumed]) {
    run.optimizer.dispose();
    run.model.dispose();
  }
});

test('metrics: accuracy, per-class accuracy, confusion matrix and mean loss on a hand-made case', () => {
  const matrix = new ConfusionMatrix(3);
  matrix.add([0, 0, 1, 2, 2, 2], [0, 1, 1, 2, 2, 0], 3.0);
  matrix.add([1], [1], 0.5);
  const report = matrix.report(['a', 'b', 'c']);
  assert.equal(report.confusion, [[1, 0, 1], [1, 2, 0], [0, 0, 2]]);
  assert.is(report.count, 7);
  assert.is(report.accuracy, 5 / 7);
  assert.equal(report.perClassAccuracy, [1 / 2, 2 / 3, 1]);
  assert.equal(report.perClassCount, [2, 3, 2]);
  assert.is(report.meanLoss, 3.5 / 7);
  assert.is(report.meanClassAccuracy, (1 / 2 + 2 / 3 + 1) / 3);
  assert.equal(new ConfusionMatrix(4).report().perClassAccuracy, [null, null, null, null]);
  assert.throws(() => matrix.add([3], [0]), /outside \[0, 2\]/);
});

test('evaluateFanet agrees with the model\'s own argmax and cross-entropy, in eval mode, and restores train mode', async () => {
  manualSeed(seed);
  const data = patternDataset(10, 20, seed);
  const model = createLightCNN({ variant: 'lightcnn29v2', classes: 4, widthMultiplier: 0.125, inputSize: 16 });
  const loader = new BatchLoader(data, { ...fanetTransforms(16).eval, batchSize: 4, shuffle: false });
  const report = await evaluateFanet(model, loader, { classes: PATTERNS });
  assert.ok(model.training, 'train mode restored');
  const matrix = new ConfusionMatrix(4);
  let loss = 0;
  model.eval();
  for await (const batch of loader.epoch(0)) {
    const logits = noGrad(() => model.call(tensor(batch.images, batch.shape)).logits);
    const values = await logits.toArray();
    logits.dispose();
    const predictions = batch.labels.map((label, n) => {
      const row = Array.from(values.subarray(n * 4, n * 4 + 4));
      const max = Math.max(...row);
      loss += Math.log(row.reduce((s, v) => s + Math.exp(v - max), 0)) + max - row[label]!;
      return row.indexOf(max);
    });
    matrix.add(predictions, batch.labels);
  }
  assert.equal(report.confusion, matrix.report().confusion);
  assert.ok(Math.abs(report.meanLoss - loss / 10) < 1e-4 * Math.max(1, loss / 10), ctx(`mean loss ${report.meanLoss} vs ${loss / 10}`));
  const mismatch = await evaluateFanet(model, loader, { classes: 7 }).then(() => undefined, (error: Error) => error.message);
  assert.match(mismatch ?? 'no error', /the data has 7 classes, the model 4/);
  model.dispose();
});

test('a loss that is not finite stops training with NonFiniteLossError and the advice to lower --lr', async () => {
  manualSeed(seed);
  const model = createLightCNN({ variant: 'lightcnn9', classes: 4, widthMultiplier: 0.125, inputSize: 24 });
  const { optimizer, scheduler } = createFanetOptimizer(model, { batchSize: 8, lr: 1e6 });
  const { trainLoader } = createFanetLoaders(patternDataset(48, 28, seed), undefined, { batchSize: 8, inputSize: 24, seed });
  let saves = 0;
  try {
    await trainFanet({ model, optimizer, scheduler, trainLoader: trainLoader!, epochs: 3, readEvery: 1, saveCheckpoint: async () => void saves++ });
    assert.unreachable('expected NonFiniteLossError');
  } catch (error) {
    assert.instance(error, NonFiniteLossError);
    assert.match((error as Error).message, /training loss became (NaN|Infinity|-Infinity) at epoch 1, step \d+.*lower --lr/);
  }
  assert.is(saves, 0, 'no checkpoint of a diverged model');
  optimizer.dispose();
  model.dispose();
});

test.run();
