// LightCNN-9 / -29 / -29v2: the reference's parameter counts, state-dict names and shapes at full
// size, forward shapes at small sizes, the eval-mode forward against a float64 CPU reference
// built from the same weights, and the errors for inputs the flatten cannot take.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { F, gpu, init, manualSeed, noGrad, scope, tensor, type Tensor } from '../../src/index.js';
import { createLightCNN, finalFeatureSize, LightCNN29, LightCNN29v2, LightCNN9, type LightCNN, type LightCNNVariant } from '../../src/models/lightcnn.js';
import * as ref from '../reference/index.js';

await init();

const seed = ref.randomSeed();
const ctx = (what: string) => `${what} (seed ${seed}; replay with WEBFER_SEED=${seed})`;

function shapes(model: LightCNN): Record<string, number[]> {
  return Object.fromEntries([...model.stateDict()].map(([name, t]) => [name, [...t.shape]]));
}

/** mfm(conv k×k in→out) parameters under `prefix`, as light_cnn.py names them. */
function mfmConv(prefix: string, inChannels: number, outChannels: number, k: number): [string, number[]][] {
  return [[`${prefix}.filter.weight`, [2 * outChannels, inChannels, k, k]], [`${prefix}.filter.bias`, [2 * outChannels]]];
}
function group(prefix: string, a: number, b: number): [string, number[]][] {
  return [...mfmConv(`${prefix}.conv_a`, a, a, 1), ...mfmConv(`${prefix}.conv`, a, b, 3)];
}
function blocks(prefix: string, count: number, c: number): [string, number[]][] {
  return Array.from({ length: count }, (_, i) => [...mfmConv(`${prefix}.${i}.conv1`, c, c, 3), ...mfmConv(`${prefix}.${i}.conv2`, c, c, 3)]).flat();
}

test('LightCNN-9: 5,480,864 parameters before the classifier, 5,494,742 with 54 classes, the reference names in order', () => {
  const model = new LightCNN9({ classes: 54 });
  const expected: [string, number[]][] = [
    ...mfmConv('features.0', 1, 48, 5),
    ...group('features.2', 48, 96),
    ...group('features.4', 96, 192),
    ...group('features.6', 192, 128),
    ...group('features.7', 128, 128),
    ['fc1.filter.weight', [512, 8192]], ['fc1.filter.bias', [512]],
    ['fc2.weight', [54, 256]], ['fc2.bias', [54]],
  ];
  assert.equal(Object.entries(shapes(model)), expected);
  assert.is(model.numBackboneParameters(), 5_480_864);
  assert.is(model.numParameters(), 5_494_742);
  model.dispose();
});

test('LightCNN-29 and -29v2: resblocks [1, 2, 3, 4], groups, fc / fc2 names; v2 has 10,475,872 before a bias-free classifier', () => {
  const backbone: [string, number[]][] = [
    ...mfmConv('conv1', 1, 48, 5),
    ...blocks('block1', 1, 48), ...group('group1', 48, 96),
    ...blocks('block2', 2, 96), ...group('group2', 96, 192),
    ...blocks('block3', 3, 192), ...group('group3', 192, 128),
    ...blocks('block4', 4, 128), ...group('group4', 128, 128),
  ];
  const v1 = createLightCNN({ variant: 'lightcnn29', classes: 7 });
  assert.equal(Object.entries(shapes(v1)), [...backbone, ['fc.filter.weight', [512, 8192]], ['fc.filter.bias', [512]], ['fc2.weight', [7, 256]], ['fc2.bias', [7]]]);
  const convCount = backbone.reduce((n, [, s]) => n + s.reduce((a, b) => a * b, 1), 0);
  assert.is(v1.numBackboneParameters(), convCount + 8192 * 512 + 512);
  v1.dispose();

  const v2 = createLightCNN({ variant: 'lightcnn29v2', classes: 54 });
  assert.equal(Object.entries(shapes(v2)), [...backbone, ['fc.weight', [256, 8192]], ['fc.bias', [256]], ['fc2.weight', [54, 256]]]);
  assert.is(v2.numBackboneParameters(), 10_475_872);
  assert.is(v2.numParameters(), 10_475_872 + 54 * 256);
  v2.dispose();
});

test('width multiplier rounds every channel count; the flatten follows inputSize (ceil pools for v1, floor for v2)', () => {
  const model = createLightCNN({ variant: 'lightcnn9', classes: 5, widthMultiplier: 0.25, inputSize: 48 });
  const s = shapes(model);
  assert.equal(s['features.0.filter.weight'], [24, 1, 5, 5]); // 48 · 0.25 = 12 → 2·12
  assert.equal(s['features.4.conv.filter.weight'], [96, 24, 3, 3]); // 192 · 0.25 = 48
  assert.equal(s['fc1.filter.weight'], [128, 32 * 3 * 3]); // 48 → 24 → 12 → 6 → 3
  model.dispose();
  assert.is(finalFeatureSize('lightcnn9', 40), 3); // 40 → 20 → 10 → 5 → 3 (ceil)
  assert.is(finalFeatureSize('lightcnn29v2', 40), 2); // 40 → 20 → 10 → 5 → 2 (floor)
  assert.is(finalFeatureSize('lightcnn29', 128), 8);
});

test('forward: logits [N, classes] and 256·width features for every variant at small sizes, train and eval', () => {
  manualSeed(seed);
  const rng = new ref.Rng(seed);
  for (const [variant, inputSize] of [['lightcnn9', 32], ['lightcnn29', 36], ['lightcnn29v2', 40]] as [LightCNNVariant, number][]) {
    const model = createLightCNN({ variant, classes: 6, widthMultiplier: 0.25, inputSize });
    const x = tensor(ref.randu(rng, [3, 1, inputSize, inputSize]).data, [3, 1, inputSize, inputSize]);
    for (const training of [true, false]) {
      model.train(training);
      const { logits, features } = model.call(x);
      assert.equal([...logits.shape], [3, 6], ctx(`${variant} logits`));
      assert.equal([...features.shape], [3, 64], ctx(`${variant} features`));
      logits.dispose();
      features.dispose();
    }
    x.dispose();
    model.dispose();
  }
});

// A float64 reference forward in eval mode, where dropout is the identity.

type HostDict = Map<string, ref.T64>;

function refMfmConv(x: ref.T64, w: HostDict, prefix: string, padding: number): ref.T64 {
  return ref.mfm(ref.conv2d(x, w.get(`${prefix}.filter.weight`)!, w.get(`${prefix}.filter.bias`)!, { padding }));
}
function refGroup(x: ref.T64, w: HostDict, prefix: string): ref.T64 {
  return refMfmConv(refMfmConv(x, w, `${prefix}.conv_a`, 0), w, `${prefix}.conv`, 1);
}
function refFlatten(x: ref.T64): ref.T64 {
  return { shape: [x.shape[0], x.data.length / x.shape[0]], data: x.data };
}
function refAdd(a: ref.T64, b: ref.T64): ref.T64 {
  return { shape: a.shape, data: a.data.map((v, i) => v + b.data[i]) };
}

function refLightCNN9(x: ref.T64, w: HostDict): ref.T64 {
  const pool = (t: ref.T64) => ref.maxPool2d(t, { kernelSize: 2, stride: 2, ceilMode: true });
  let y = pool(refMfmConv(x, w, 'features.0', 2));
  y = pool(refGroup(y, w, 'features.2'));
  y = pool(refGroup(y, w, 'features.4'));
  y = pool(refGroup(refGroup(y, w, 'features.6'), w, 'features.7'));
  const features = ref.mfm(ref.linear(refFlatten(y), w.get('fc1.filter.weight')!, w.get('fc1.filter.bias')!));
  return ref.linear(features, w.get('fc2.weight')!, w.get('fc2.bias')!);
}

function refLightCNN29v2(x: ref.T64, w: HostDict): ref.T64 {
  const pool = (t: ref.T64) => refAdd(ref.maxPool2d(t, { kernelSize: 2 }), ref.avgPool2d(t, { kernelSize: 2 }));
  const stage = (t: ref.T64, block: string, count: number, groupName: string) => {
    let y = t;
    for (let i = 0; i < count; i++) y = refAdd(refMfmConv(refMfmConv(y, w, `${block}.${i}.conv1`, 1), w, `${block}.${i}.conv2`, 1), y);
    return refGroup(y, w, groupName);
  };
  let y = pool(refMfmConv(x, w, 'conv1', 2));
  y = pool(stage(y, 'block1', 1, 'group1'));
  y = pool(stage(y, 'block2', 2, 'group2'));
  y = stage(y, 'block3', 3, 'group3');
  y = pool(stage(y, 'block4', 4, 'group4'));
  const features = ref.linear(refFlatten(y), w.get('fc.weight')!, w.get('fc.bias')!);
  return ref.linear(features, w.get('fc2.weight')!, null);
}

test('eval-mode forward equals a float64 reference of light_cnn.py / light_cnn_v2.py on the same weights', async () => {
  manualSeed(seed);
  const rng = new ref.Rng(seed + 1);
  for (const [model, reference, inputSize] of [
    [new LightCNN9({ classes: 5, widthMultiplier: 0.125, inputSize: 20 }), refLightCNN9, 20],
    [new LightCNN29v2({ classes: 4, widthMultiplier: 0.125, inputSize: 18 }), refLightCNN29v2, 18],
  ] as [LightCNN, (x: ref.T64, w: HostDict) => ref.T64, number][]) {
    model.eval();
    const x64 = ref.randu(rng, [2, 1, inputSize, inputSize]);
    const weights: HostDict = new Map();
    for (const [name, t] of await model.exportStateDict()) weights.set(name, { shape: [...t.shape], data: Float64Array.from(t.data) });
    const x = tensor(Float32Array.from(x64.data), x64.shape);
    const logits = noGrad(() => model.call(x).logits);
    const expected = reference(x64, weights);
    const scale = Math.max(...expected.data.map(Math.abs));
    ref.assertClose(await logits.toArray(), expected, { rtol: 1e-3, atol: 1e-4 * scale + 1e-6, context: ctx(`${model.config.variant} logits at ${inputSize} px`) });
    x.dispose();
    logits.dispose();
    model.dispose();
  }
});

/** LightCNN-9's / -29's forward with every module called in turn: the pools unfused from the convolutions before them. */
function layerByLayer(model: LightCNN, x: Tensor): Tensor {
  if (model instanceof LightCNN9) return model.fc2.call(model.fc1.call(F.flatten(model.features.call(x), 1)));
  const m = model as LightCNN29;
  let y = m.pool1.call(m.conv1.call(x));
  y = m.pool2.call(m.group1.call(m.block1.call(y)));
  y = m.pool3.call(m.group2.call(m.block2.call(y)));
  y = m.group3.call(m.block3.call(y));
  y = m.pool4.call(m.group4.call(m.block4.call(y)));
  return m.fc2.call(m.fc.call(F.flatten(y, 1)));
}

test('LightCNN-9 / -29 run each mfm convolution and its pool as one op (conv2dMfmMaxPool2d): the same logits and parameter gradients as module by module', async () => {
  manualSeed(seed);
  const rng = new ref.Rng(seed + 2);
  // Odd sides: every ceil-mode pool clips its last window; 32 px: every pool on vec4 rows (the pair kernels).
  for (const [variant, inputSize] of [['lightcnn9', 21], ['lightcnn29', 19], ['lightcnn9', 32]] as [LightCNNVariant, number][]) {
    const model = createLightCNN({ variant, classes: 5, widthMultiplier: 0.125, inputSize }).eval();
    const x = tensor(ref.randu(rng, [3, 1, inputSize, inputSize]).data, [3, 1, inputSize, inputSize]);
    const gy = tensor(ref.randn(rng, [3, 5]).data, [3, 5]);
    const run = async (forward: () => Tensor) => {
      const results = scope(() => {
        const logits = forward();
        logits.backward(gy);
        return logits;
      });
      const out = [await results.toArray(), ...(await Promise.all(model.parameters().map((p) => p.grad!.toArray())))];
      results.dispose();
      model.zeroGrad();
      return out;
    };
    const { timings } = await gpu().profile(async () => {
      const fused = await run(() => model.call(x).logits);
      const unfused = await run(() => layerByLayer(model, x));
      const names = ['logits', ...model.namedParameters().map(([name]) => `${name} gradient`)];
      fused.forEach((values, i) => ref.assertClose(values, { shape: [values.length], data: Float64Array.from(unfused[i]) }, { rtol: 0, atol: 0, context: ctx(`${variant} ${inputSize} px: ${names[i]}`) }));
    });
    const calls = (name: string) => timings.filter((t) => t.name.startsWith(name)).reduce((n, t) => n + t.calls, 0);
    assert.is(calls('mfmMaxPool.backward'), 4, ctx(`${variant}: four fused pool backward passes`));
    assert.is(calls('pool.maxBackward'), 4, ctx(`${variant}: and four unfused ones, module by module`));
    for (const t of [x, gy]) t.dispose();
    model.dispose();
  }
});

test('clear errors: an input of the wrong size or channels, and an input size the flatten cannot take', () => {
  const model = createLightCNN({ variant: 'lightcnn9', classes: 3, widthMultiplier: 0.125, inputSize: 32 });
  const x = tensor(new Float32Array(2 * 48 * 48), [2, 1, 48, 48]);
  assert.throws(() => model.call(x), /expected input \[N, 1, 32, 32\], got \[2, 1, 48, 48\].*inputSize 48/);
  x.dispose();
  model.dispose();
  assert.throws(() => createLightCNN({ variant: 'lightcnn9', classes: 3, inputSize: 8 }), /inputSize must be an integer of at least 16/);
  assert.throws(() => createLightCNN({ variant: 'lightcnn13' as LightCNNVariant, classes: 3 }), /unknown variant "lightcnn13"/);
  assert.throws(() => createLightCNN({ variant: 'lightcnn9', classes: 0 }), /classes must be a positive integer/);
});

test('batchNorm option: a BatchNorm2d before every convolutional mfm, named .norm, off by default', async () => {
  const plain = createLightCNN({ variant: 'lightcnn9', classes: 4, inputSize: 32, widthMultiplier: 0.125 });
  assert.ok(plain.namedParameters().every(([name]) => !name.includes('.norm.')));
  const normed = createLightCNN({ variant: 'lightcnn9', classes: 4, inputSize: 32, widthMultiplier: 0.125, batchNorm: true });
  const names = normed.namedParameters().map(([name]) => name);
  // conv1 + two mfm per group x 4 groups = 9 normalised layers; fc1 (linear) has none.
  assert.is(names.filter((n) => n.endsWith('.norm.weight')).length, 9);
  assert.ok(names.includes('features.0.norm.weight') && names.includes('features.2.conv_a.norm.bias'));
  assert.ok(normed.namedBuffers().some(([name]) => name === 'features.7.conv.norm.running_var'));
  const x = tensor(Float32Array.from({ length: 2 * 32 * 32 }, (_, i) => Math.sin(i * 0.7)), [2, 1, 32, 32]);
  const { logits } = normed.call(x);
  assert.equal(logits.shape, [2, 4]);
  assert.throws(() => createLightCNN({ variant: 'lightcnn9', classes: 4, dropout: 1 }), /dropout must be in \[0, 1\)/);
  for (const t of [x, logits]) t.dispose();
  plain.dispose();
  normed.dispose();
});

test.run();
