// Fine-tuning from a pre-trained Fa-Net: training starts from the loaded weights (its first
// step's loss is the loaded model's loss on that batch), a new label set gets a fresh classifier
// of its size over the same features, freezing keeps the backbone still, and a state dict of
// another width is refused naming the tensor.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { init, manualSeed, noGrad, scope, F, tensor } from '../../src/index.js';
import { createLightCNN } from '../../src/models/lightcnn.js';
import { createFanetOptimizer, fanetTrainStep } from '../../src/train/fanet.js';
import { createFineTuneOptimizer, initFromPretrained } from '../../src/train/fine-tune.js';

await init();

const seed = Date.now() % 100_000;
const config = { variant: 'lightcnn9' as const, inputSize: 32, widthMultiplier: 0.125, dropout: 0, batchNorm: true };

function batch(n: number, classes: number): { images: Float32Array; labels: Int32Array } {
  const images = new Float32Array(n * 32 * 32);
  for (let i = 0; i < images.length; i++) images[i] = Math.sin(seed + i * 0.37) * 0.5 + 0.5;
  return { images, labels: Int32Array.from({ length: n }, (_, i) => (seed + i) % classes) };
}

/** A "pre-trained" model: a few steps away from its initialisation. */
async function pretrained(classes: number) {
  manualSeed(seed);
  const model = createLightCNN({ ...config, classes });
  const { optimizer } = createFanetOptimizer(model, { batchSize: 4, optimizer: 'adam' });
  const { images, labels } = batch(4, classes);
  for (let k = 0; k < 3; k++) (fanetTrainStep(model, optimizer, images, [4, 1, 32, 32], labels)).dispose();
  optimizer.dispose();
  return { model, weights: await model.exportStateDict() };
}

async function lossOf(model: ReturnType<typeof createLightCNN>, images: Float32Array, labels: Int32Array): Promise<number> {
  model.train();
  const loss = noGrad(() => scope(() => F.crossEntropy(model.call(tensor(images, [labels.length, 1, 32, 32])).logits, labels)));
  try { return (await loss.toArray())[0]!; } finally { loss.dispose(); }
}

test('same label set: the first fine-tuning step starts from the loaded weights', async () => {
  const source = await pretrained(54);
  const { images, labels } = batch(6, 54);
  const expected = await lossOf(source.model, images, labels);
  manualSeed(seed + 1); // a different initialisation, overwritten by the load
  const model = createLightCNN({ ...config, classes: 54 });
  const result = initFromPretrained(model, source.weights, { replaceClassifier: false });
  assert.is(result.replaced.length, 0);
  assert.is(result.loaded.length, source.weights.size);
  const { optimizer } = createFineTuneOptimizer(model, { batchSize: 6, backboneLrRatio: 0.2 });
  const step = fanetTrainStep(model, optimizer, images, [6, 1, 32, 32], labels);
  const [lossSum] = await step.toArray();
  step.dispose();
  assert.ok(Math.abs(lossSum! / 6 - expected) < 1e-4, `first-step loss ${lossSum! / 6} vs loaded model ${expected} (seed ${seed})`);
  optimizer.dispose(); model.dispose(); source.model.dispose();
});

test('new label set: the classifier is replaced with the new class count over the same features', async () => {
  const source = await pretrained(54);
  const model = createLightCNN({ ...config, classes: 7 });
  const result = initFromPretrained(model, source.weights, { replaceClassifier: true });
  assert.equal(result.replaced.sort(), ['fc2.bias', 'fc2.weight']);
  assert.equal([...model.fc2.weight.shape], [7, model.embeddingSize]);
  const { images } = batch(3, 7);
  const features = async (m: typeof model) => {
    m.eval();
    const out = noGrad(() => scope(() => m.call(tensor(images, [3, 1, 32, 32])).features));
    try { return await out.toArray(); } finally { out.dispose(); }
  };
  const [a, b] = [await features(source.model), await features(model)];
  assert.ok(a.every((v, i) => Math.abs(v - b[i]!) < 1e-5), `embeddings equal (seed ${seed})`);
  // Keeping the 54-class classifier for a 7-class model is refused with the way out.
  assert.throws(() => initFromPretrained(model, source.weights, { replaceClassifier: false }), /fc2\.weight is \[54, \d+\] in the state dict but \[7, \d+\] in the model; the class counts differ: pass replaceClassifier: true/);
  model.dispose(); source.model.dispose();
});

test('freeze features: one step moves the classifier only', async () => {
  const source = await pretrained(54);
  const model = createLightCNN({ ...config, classes: 7 });
  const result = initFromPretrained(model, source.weights, { replaceClassifier: true, freeze: 'features' });
  assert.ok(result.frozen.length > 0 && result.frozen.every((name) => !name.startsWith('fc2.')));
  const before = await model.exportStateDict();
  const { optimizer } = createFineTuneOptimizer(model, { batchSize: 4, backboneLrRatio: 0.05 });
  const { images, labels } = batch(4, 7);
  fanetTrainStep(model, optimizer, images, [4, 1, 32, 32], labels).dispose();
  const after = await model.exportStateDict();
  for (const [name, parameter] of model.namedParameters()) {
    const changed = before.get(name)!.data.some((v, i) => v !== after.get(name)!.data[i]);
    assert.is(changed, !parameter.requiresGrad ? false : true, `${name} ${parameter.requiresGrad ? 'learns' : 'frozen'}`);
  }
  optimizer.dispose(); model.dispose(); source.model.dispose();
});

test('a state dict of another width is refused naming the tensor', async () => {
  const source = await pretrained(54);
  const wider = createLightCNN({ ...config, widthMultiplier: 0.25, classes: 7 });
  assert.throws(() => initFromPretrained(wider, source.weights, { replaceClassifier: true }), /features\.0\.filter\.weight is \[\d+, 1, 5, 5\] in the state dict but \[\d+, 1, 5, 5\] in the model; .*--width/);
  const withoutNorm = createLightCNN({ ...config, batchNorm: false, classes: 7 });
  assert.throws(() => initFromPretrained(withoutNorm, source.weights, { replaceClassifier: true }), /unexpected .*norm.*batch-norm setting/);
  wider.dispose(); withoutNorm.dispose(); source.model.dispose();
});

test.run();
