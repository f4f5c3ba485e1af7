// batchNorm and instanceNorm against the float64 reference: forward, gradients of input, weight
// and bias (finite differences), running statistics over several training steps, eval mode.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { memory } from '../../src/index.js';
import { batchNorm, instanceNorm } from '../../src/nn/functional/norm.js';
import { assertNear, checkOp, draw, fileRng, ref, setup, throwsWith, toT64, toTensor } from './helpers.js';

const rng = fileRng('cnn-norm');
test.before(setup);

const shapes = () => [
  [rng.int(2, 3), rng.int(1, 4), rng.int(2, 5), rng.int(2, 6)],
  [rng.int(3, 9), rng.int(1, 5)],
  [rng.int(1, 2), rng.int(2, 3), rng.int(5, 9)],
];

test('batchNorm training: forward and gradients (input, weight, bias) with batch statistics', async () => {
  for (const shape of shapes()) {
    const C = shape[1];
    for (const affine of [true, false]) {
      await checkOp({
        name: `batchNorm training affine ${affine}`,
        inputs: affine ? [shape, { shape: [C], draw: draw.positive }, [C]] : [shape],
        forward: ([x, w, b]) => batchNorm(x, undefined, undefined, w, b, { training: true }),
        reference: ([x, w, b]) => ref.batchNorm(x, null, null, w, b, { training: true }).out,
        rng,
        gradRtol: 2e-3,
      });
    }
  }
});

test('batchNorm eval: running statistics, forward and gradients', async () => {
  for (const shape of shapes()) {
    const C = shape[1];
    const mean = ref.map(ref.randn(rng, [C]), Math.fround);
    const variance = ref.map(ref.randu(rng, [C], 0.5, 2), Math.fround);
    const runningMean = toTensor(mean);
    const runningVar = toTensor(variance);
    await checkOp({
      name: 'batchNorm eval',
      inputs: [shape, { shape: [C], draw: draw.positive }, [C]],
      forward: ([x, w, b]) => batchNorm(x, runningMean, runningVar, w, b, { training: false, eps: 1e-3 }),
      reference: ([x, w, b]) => ref.batchNorm(x, mean, variance, w, b, { training: false, eps: 1e-3 }).out,
      rng,
    });
    runningMean.dispose();
    runningVar.dispose();
  }
});

test('batchNorm training: runningMean / runningVar after several steps (momentum, unbiased variance)', async () => {
  const shape = [3, 4, 5, 7];
  let mean = ref.zeros([4]);
  let variance = ref.ones([4]);
  const runningMean = toTensor(mean);
  const runningVar = toTensor(variance);
  for (let step = 0; step < 4; step++) {
    const x = ref.map(ref.randn(rng, shape, 2), (v) => Math.fround(v + 1.5));
    const expected = ref.batchNorm(x, mean, variance, null, null, { training: true, momentum: 0.3 });
    const xt = toTensor(x);
    const y = batchNorm(xt, runningMean, runningVar, undefined, undefined, { training: true, momentum: 0.3 });
    assertNear(await toT64(y), expected.out, `batchNorm step ${step} forward`);
    mean = expected.runningMean!;
    variance = expected.runningVar!;
    assertNear(await toT64(runningMean), mean, `batchNorm step ${step} runningMean`);
    assertNear(await toT64(runningVar), variance, `batchNorm step ${step} runningVar`);
    xt.dispose();
    y.dispose();
  }
  runningMean.dispose();
  runningVar.dispose();
});

test('batchNorm: statistics of a large channel (parallel reduction, values far from 0)', async () => {
  const shape = [4, 2, 60, 70];
  const x = ref.map(ref.randn(rng, shape, 0.5), (v) => Math.fround(v + 20));
  const xt = toTensor(x);
  const y = batchNorm(xt, undefined, undefined, undefined, undefined, { training: true });
  assertNear(await toT64(y), ref.batchNorm(x, null, null, null, null, { training: true }).out, 'batchNorm large', 1e-3, 1e-4);
  xt.dispose();
  y.dispose();
});

test('instanceNorm: forward and gradients with and without affine', async () => {
  for (const shape of [[2, 3, 4, 5], [3, 2, 7], [1, 4, 3, 3]]) {
    const C = shape[1];
    await checkOp({
      name: 'instanceNorm affine',
      inputs: [shape, { shape: [C], draw: draw.positive }, [C]],
      forward: ([x, w, b]) => instanceNorm(x, w, b),
      reference: ([x, w, b]) => ref.instanceNorm(x, w, b),
      rng,
      gradRtol: 2e-3,
    });
    await checkOp({ name: 'instanceNorm', inputs: [shape], forward: ([x]) => instanceNorm(x, undefined, undefined, { eps: 1e-3 }), reference: ([x]) => ref.instanceNorm(x, null, null, { eps: 1e-3 }), rng, gradRtol: 2e-3 });
  }
});

test('batchNorm / instanceNorm: clear errors, and a refused call leaves no tensor or buffer behind', () => {
  const before = memory();
  const x = toTensor(ref.randn(rng, [2, 3, 4]));
  const v3 = toTensor(ref.ones([3]));
  const v4 = toTensor(ref.ones([4]));
  const flat = x.reshape([24]);
  const batchOfOne = toTensor(ref.ones([1, 3]));
  const matrix = x.reshape([6, 4]);
  throwsWith(() => batchNorm(x, v4, v4), /runningMean \[4\] should be \[3\]/, 'channel mismatch');
  throwsWith(() => batchNorm(x, undefined, undefined), /eval mode/, 'eval without stats');
  throwsWith(() => batchNorm(flat, v3, v3), /expected input \[N, C\]/, 'rank');
  throwsWith(() => batchNorm(batchOfOne, v3, v3, undefined, undefined, { training: true }), /more than 1 value per channel/, 'batch 1');
  throwsWith(() => instanceNorm(x, v4), /weight \[4\] should be \[3\]/, 'weight');
  throwsWith(() => instanceNorm(matrix), /expected input \[N, C, H, W\]/, 'rank');
  // PyTorch's momentum=None (a cumulative average) and instance norm's running statistics are not implemented: refused, not defaulted.
  throwsWith(() => batchNorm(x, v3, v3, undefined, undefined, { training: true, momentum: null as never }), /momentum null .* is not supported/, 'momentum null');
  throwsWith(() => instanceNorm(x, undefined, undefined, { runningMean: v3 } as never), /instanceNorm: unknown option "runningMean"/, 'instanceNorm running stats');
  for (const t of [x, v3, v4, flat, batchOfOne, matrix]) t.dispose();
  const after = memory();
  assert.is(after.liveTensors, before.liveTensors, 'live tensors');
  assert.is(after.bytesInUse, before.bytesInUse, 'bytes in use');
});

test.run();
