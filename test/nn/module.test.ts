// Module contract: registration order and PyTorch names, state dicts (round trip and errors),
// train / eval, parameter ownership across scopes, default initialisation statistics.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { init, manualSeed, memory, randn, scope, tensor, type Tensor } from '../../src/index.js';
import { AvgPool2d, BatchNorm1d, BatchNorm2d, InstanceNorm2d, MaxPool2d, initGanWeights, Conv2d, ConvTranspose2d, Dropout, Flatten, Identity, Linear, Module, Parameter, ReLU, Sequential, Tanh, init as weightInit } from '../../src/nn/index.js';

await init();

/** features: conv → relu → flatten; head: a custom submodule with its own parameter and a buffer. */
class Head extends Module {
  readonly fc = this.registerModule('fc', new Linear(4 * 3 * 3, 5));
  readonly scale = this.registerParameter('scale', new Parameter([5], 1));
  readonly counter = this.registerBuffer('counter', tensor([0, 0]));
  forward(x: Tensor): Tensor {
    return this.fc.call(x);
  }
}

class Small extends Module {
  readonly features = this.registerModule('features', new Sequential(new Conv2d(2, 4, 3, { padding: 1 }), new ReLU(), new Identity(), new Flatten()));
  readonly head = this.registerModule('head', new Head());
  forward(x: Tensor): Tensor {
    return this.head.call(this.features.call(x));
  }
}

const shapesOf = (entries: [string, Tensor][]) => entries.map(([name, t]) => `${name} [${t.shape.join(', ')}]`);

test('parameters, buffers and children are listed in declaration order with PyTorch names', () => {
  const model = new Small();
  // PyTorch order: each module's own entries before its children's (head.scale before head.fc).
  assert.equal(shapesOf(model.namedParameters()), ['features.0.weight [4, 2, 3, 3]', 'features.0.bias [4]', 'head.scale [5]', 'head.fc.weight [5, 36]', 'head.fc.bias [5]']);
  assert.equal(shapesOf(model.namedBuffers()), ['head.counter [2]']);
  assert.equal([...model.stateDict().keys()], ['features.0.weight', 'features.0.bias', 'head.scale', 'head.counter', 'head.fc.weight', 'head.fc.bias']);
  assert.is(model.numParameters(), 4 * 2 * 9 + 4 + 5 * 36 + 5 + 5);
  assert.is(model.parameters().length, 5);
  assert.equal(model.namedChildren().map(([n]) => n), ['features', 'head']);
  assert.equal(model.features.namedChildren().map(([n]) => n), ['0', '1', '2', '3']);
  assert.ok(model.parameters().every((p) => p.requiresGrad));
  assert.ok(model.buffers().every((b) => !b.requiresGrad));
  const noBias = new Linear(3, 2, { bias: false });
  assert.equal(shapesOf(noBias.namedParameters()), ['weight [2, 3]']);
  model.dispose();
  noBias.dispose();
});

test('a parameter shared by two modules is listed once', () => {
  const layer = new Linear(3, 3);
  const twice = new Sequential(layer, new Tanh(), layer);
  assert.equal(twice.namedParameters().map(([n]) => n), ['0.weight', '0.bias']);
  twice.dispose();
});

test('registering a name twice, or a dotted name, is an error', () => {
  class Bad extends Module {
    readonly a = this.registerParameter('w', new Parameter([1]));
    readonly b = this.registerParameter('w', new Parameter([1]));
    forward(x: Tensor): Tensor {
      return x;
    }
  }
  assert.throws(() => new Bad(), /"w" is already registered/);
  class Dotted extends Module {
    readonly a = this.registerModule('a.b', new Identity());
    forward(x: Tensor): Tensor {
      return x;
    }
  }
  assert.throws(() => new Dotted(), /contain no "."/);
});

test('state dict round trip: export → fresh model → load gives the same outputs', async () => {
  manualSeed(11);
  const original = new Small();
  const x = randn([3, 2, 3, 3], { seed: 5 });
  const expected = await original.call(x).toArray();
  const saved = await original.exportStateDict();
  manualSeed(12);
  const copy = new Small();
  const before = await copy.call(x).toArray();
  assert.not.equal([...before], [...expected], 'a differently seeded model should differ before loading');
  const result = copy.loadStateDict(saved);
  assert.equal(result, { missingKeys: [], unexpectedKeys: [] });
  assert.equal([...(await copy.call(x).toArray())], [...expected]);
  // From live tensors too (copied on the GPU: the copy does not alias the source).
  manualSeed(13);
  const third = new Small();
  third.loadStateDict(original.stateDict());
  original.dispose();
  assert.equal([...(await third.call(x).toArray())], [...expected]);
  for (const m of [copy, third]) m.dispose();
  x.dispose();
});

test('loadStateDict converts a float16 state dict to the float32 parameters, as param.copy_ does in PyTorch', async () => {
  manualSeed(21);
  const original = new Small();
  const halves = new Map([...original.stateDict()].map(([name, t]) => [name, t.half()]));
  manualSeed(22);
  const copy = new Small();
  copy.loadStateDict(halves);
  for (const [name, t] of copy.stateDict()) {
    assert.is(t.dtype, 'float32', `${name} stays float32`);
    assert.equal([...(await t.toArray())], [...(await halves.get(name)!.toArray())], `${name} holds the float16 values`);
  }
  for (const t of halves.values()) t.dispose();
  for (const m of [original, copy]) m.dispose();
});

test('loadStateDict names missing and unexpected keys and both shapes of a mismatch', () => {
  const model = new Small();
  const state = new Map<string, Tensor | { shape: number[]; data: Float32Array }>(model.stateDict());
  state.delete('head.scale');
  state.set('head.extra', { shape: [1], data: new Float32Array(1) });
  assert.throws(() => model.loadStateDict(state), /missing keys: head\.scale; unexpected keys: head\.extra/);
  const partial = model.loadStateDict(state, { strict: false });
  assert.equal(partial, { missingKeys: ['head.scale'], unexpectedKeys: ['head.extra'] });
  state.set('head.fc.weight', { shape: [5, 35], data: new Float32Array(175) });
  assert.throws(() => model.loadStateDict(state, { strict: false }), /head\.fc\.weight: checkpoint has \[5, 35\], this model has \[5, 36\]/);
  model.dispose();
});

test('layers refuse options they do not implement (paddingMode, PyTorch spellings, momentum null) and a NaN dropout probability', () => {
  const live = memory().liveTensors;
  // PyTorch's padding_mode='reflect' would otherwise run as zero padding.
  assert.throws(() => new Conv2d(1, 2, 3, { paddingMode: 'reflect' } as never), /Conv2d: unknown option "paddingMode" .*does not support it/);
  assert.throws(() => new ConvTranspose2d(1, 2, 3, { output_padding: 1 } as never), /ConvTranspose2d: unknown option "output_padding" .*webfer spells it outputPadding/);
  assert.throws(() => new Linear(2, 3, { bias_: false } as never), /Linear: unknown option "bias_"/);
  assert.throws(() => new BatchNorm2d(4, { track_running_stats: false } as never), /BatchNorm2d: .*webfer spells it trackRunningStats/);
  assert.throws(() => new BatchNorm1d(4, { momentum: null as never }), /BatchNorm1d: momentum null .* is not supported/);
  assert.throws(() => new InstanceNorm2d(4, { momentum: 0.1 } as never), /InstanceNorm2d: unknown option "momentum"/);
  assert.throws(() => new Dropout(NaN), /Dropout: probability must be in \[0, 1\], got NaN/);
  assert.throws(() => new MaxPool2d(2, { returnIndices: true } as never), /MaxPool2d: unknown option "returnIndices"/);
  assert.throws(() => new AvgPool2d(2, { count_include_pad: false } as never), /AvgPool2d: .*webfer spells it countIncludePad/);
  // A NaN size reached Dawn's createBuffer before the shape was checked.
  assert.throws(() => new Linear(NaN, 3), /Parameter \[3, NaN\]: every dimension must be a non-negative integer/);
  assert.is(memory().liveTensors, live, 'a refused layer allocates no parameter');
});

test('train() / eval() switch every module; Dropout is identity in eval', async () => {
  const model = new Sequential(new Linear(8, 8), new Dropout(0.5));
  assert.ok(model.training && model.at(1).training);
  model.eval();
  assert.ok(!model.training && !model.at(0).training && !model.at(1).training);
  const x = randn([4, 8], { seed: 3 });
  const linear = await (model.at(0) as Linear).call(x).toArray();
  assert.equal([...(await model.call(x).toArray())], [...linear]);
  model.train();
  const dropped = await model.call(x).toArray();
  const zeros = dropped.filter((v) => v === 0).length;
  assert.ok(zeros > 4 && zeros < 28, `train-mode dropout zeroed ${zeros} of 32`);
  dropped.forEach((v, i) => v !== 0 && assert.ok(Math.abs(v - 2 * linear[i]) < 1e-5, `kept values are scaled by 2 (${v} vs ${linear[i]})`));
  model.dispose();
  x.dispose();
});

test('parameters survive scopes; dispose() returns their memory', () => {
  const start = memory().bytesInUse;
  const model = scope(() => new Linear(64, 32));
  assert.ok(!model.weight.isDisposed);
  scope(() => {
    model.call(randn([2, 64]));
  });
  assert.ok(!model.weight.isDisposed && !model.bias!.isDisposed);
  model.dispose();
  assert.is(memory().bytesInUse, start);
});

function stats(values: Float32Array): { min: number; max: number; mean: number; std: number } {
  let sum = 0;
  let sq = 0;
  for (const v of values) {
    sum += v;
    sq += v * v;
  }
  const mean = sum / values.length;
  return { min: Math.min(...values), max: Math.max(...values), mean, std: Math.sqrt(sq / values.length - mean * mean) };
}

/** Values in [-bound, bound), reaching near both ends, with the std of a uniform distribution. */
function assertUniform(values: Float32Array, bound: number, what: string): void {
  const s = stats(values);
  assert.ok(s.min >= -bound && s.max <= bound, `${what}: values within ±${bound} (got ${s.min}..${s.max})`);
  assert.ok(s.min < -0.9 * bound && s.max > 0.9 * bound, `${what}: values reach the bounds ±${bound} (got ${s.min}..${s.max})`);
  const expectedStd = bound / Math.sqrt(3);
  assert.ok(Math.abs(s.std - expectedStd) < 0.1 * expectedStd, `${what}: std ${s.std} vs ${expectedStd}`);
  assert.ok(Math.abs(s.mean) < 0.1 * bound, `${what}: mean ${s.mean}`);
}

test('default initialisation: kaiming_uniform(a=√5) weights and U(±1/√fan_in) biases', async () => {
  manualSeed(7);
  const linear = new Linear(200, 300);
  assertUniform(await linear.weight.toArray(), 1 / Math.sqrt(200), 'Linear weight');
  assertUniform(await linear.bias!.toArray(), 1 / Math.sqrt(200), 'Linear bias');
  const conv = new Conv2d(6, 40, [5, 3]);
  assertUniform(await conv.weight.toArray(), 1 / Math.sqrt(6 * 15), 'Conv2d weight');
  assertUniform(await conv.bias!.toArray(), 1 / Math.sqrt(6 * 15), 'Conv2d bias');
  // ConvTranspose2d weight [in, out, kh, kw]: PyTorch takes fan_in from dim 1 (out · kh · kw).
  const deconv = new ConvTranspose2d(30, 8, 3);
  assert.equal(deconv.weight.shape, [30, 8, 3, 3]);
  assertUniform(await deconv.weight.toArray(), 1 / Math.sqrt(8 * 9), 'ConvTranspose2d weight');
  for (const m of [linear, conv, deconv]) m.dispose();
});

test('init functions: normal_, constant_, zeros_, xavierUniform_, kaimingNormal_; seeded', async () => {
  const p = new Parameter([100, 120]);
  weightInit.normal_(p, 1, 0.02);
  const n = stats(await p.toArray());
  assert.ok(Math.abs(n.mean - 1) < 0.002 && Math.abs(n.std - 0.02) < 0.002, `normal_(1, 0.02): mean ${n.mean}, std ${n.std}`);
  weightInit.xavierUniform_(p, 2);
  assertUniform(await p.toArray(), 2 * Math.sqrt(6 / 220), 'xavierUniform_');
  weightInit.kaimingNormal_(p, { nonlinearity: 'relu' });
  const k = stats(await p.toArray());
  const expected = Math.SQRT2 / Math.sqrt(120);
  assert.ok(Math.abs(k.std - expected) < 0.05 * expected, `kaimingNormal_: std ${k.std} vs ${expected}`);
  weightInit.constant_(p, 0.25);
  assert.ok((await p.toArray()).every((v) => v === 0.25));
  weightInit.zeros_(p);
  assert.ok((await p.toArray()).every((v) => v === 0));
  manualSeed(99);
  const a = await weightInit.normal_(p).toArray();
  manualSeed(99);
  const b = await weightInit.normal_(p).toArray();
  assert.equal([...a.slice(0, 50)], [...b.slice(0, 50)]);
  assert.equal(weightInit.calculateFanInAndFanOut([8, 3, 5, 5]), { fanIn: 75, fanOut: 200 });
  p.dispose();
});

test('BatchNorm2d: running statistics are buffers, updated in train mode and used in eval', async () => {
  const bn = new BatchNorm2d(3, { momentum: 0.2 });
  assert.equal(shapesOf([...bn.stateDict()]), ['weight [3]', 'bias [3]', 'running_mean [3]', 'running_var [3]']);
  assert.equal(bn.parameters().length, 2);
  const N = 2, C = 3, H = 3, W = 2;
  const values = Array.from({ length: N * C * H * W }, (_, i) => Math.sin(i * 1.7) * 2 + (i % 5));
  const x = tensor(values, [N, C, H, W]);
  bn.call(x);
  const mean = [0, 1, 2].map((c) => {
    const v: number[] = [];
    for (let n = 0; n < N; n++) for (let s = 0; s < H * W; s++) v.push(values[(n * C + c) * H * W + s]);
    const m = v.reduce((a, b) => a + b, 0) / v.length;
    return { m, unbiased: v.reduce((a, b) => a + (b - m) ** 2, 0) / (v.length - 1) };
  });
  const runningMean = await bn.runningMean!.toArray();
  const runningVar = await bn.runningVar!.toArray();
  mean.forEach(({ m, unbiased }, c) => {
    assert.ok(Math.abs(runningMean[c] - 0.2 * m) < 1e-5, `running_mean[${c}] ${runningMean[c]} vs ${0.2 * m}`);
    assert.ok(Math.abs(runningVar[c] - (0.8 + 0.2 * unbiased)) < 1e-4, `running_var[${c}] ${runningVar[c]} vs ${0.8 + 0.2 * unbiased}`);
  });
  bn.eval();
  const y = await bn.call(x).toArray();
  for (let i = 0; i < values.length; i++) {
    const c = Math.floor(i / (H * W)) % C;
    const expected = (values[i] - runningMean[c]) / Math.sqrt(runningVar[c] + 1e-5);
    assert.ok(Math.abs(y[i] - expected) < 1e-4, `eval output ${i}: ${y[i]} vs ${expected}`);
  }
  const before = [...(await bn.runningMean!.toArray())];
  bn.call(x);
  assert.equal([...(await bn.runningMean!.toArray())], before, 'eval mode leaves running stats alone');
  // PyTorch checkpoints carry num_batches_tracked: accepted and ignored.
  const saved = new Map<string, Tensor | { shape: readonly number[]; data: Float32Array }>(await bn.exportStateDict());
  saved.set('num_batches_tracked', { shape: [], data: Float32Array.of(1) });
  assert.equal(bn.loadStateDict(saved), { missingKeys: [], unexpectedKeys: [] });
  bn.dispose();
  x.dispose();
});

test('BatchNorm1d on [N, C]; InstanceNorm2d has no parameters unless affine', async () => {
  const bn = new BatchNorm1d(4);
  const x = tensor([1, 2, 3, 4, 3, 2, 5, 0, 2, 2, 1, 8], [3, 4]);
  const y = await bn.call(x).toArray();
  for (let c = 0; c < 4; c++) {
    const column = [0, 1, 2].map((n) => y[n * 4 + c]);
    assert.ok(Math.abs(column.reduce((a, b) => a + b, 0)) < 1e-4, `column ${c} of the output has mean 0`);
  }
  assert.equal(new InstanceNorm2d(5).namedParameters(), []);
  const affine = new InstanceNorm2d(5, { affine: true });
  assert.equal(shapesOf(affine.namedParameters()), ['weight [5]', 'bias [5]']);
  assert.equal([...affine.stateDict().keys()], ['weight', 'bias']);
  for (const m of [bn, affine]) m.dispose();
  x.dispose();
});

test('initGanWeights: conv / linear weights N(0, 0.02), norm scales N(1, 0.02), biases 0', async () => {
  const model = new Sequential(new Conv2d(16, 32, 4), new BatchNorm2d(32), new ConvTranspose2d(32, 16, 4), new Linear(64, 40));
  initGanWeights(model);
  for (const [name, p] of model.namedParameters()) {
    const s = stats(await p.toArray());
    if (name.endsWith('bias')) assert.ok(s.min === 0 && s.max === 0, `${name} is zero`);
    else {
      const mean = name.startsWith('1.') ? 1 : 0;
      assert.ok(Math.abs(s.mean - mean) < 0.006 && Math.abs(s.std - 0.02) < 0.006, `${name}: mean ${s.mean}, std ${s.std}`);
    }
  }
  model.dispose();
});

test.run();
