// Normalisation with the following activation fused in (batchNorm / instanceNorm `activation`,
// batchNormMfm): forward and the gradients of input, weight and bias against the float64
// reference act(norm(x)) with finite differences, and against the unfused ops (same values,
// same gradients, same running statistics), in training and eval mode, affine on and off, odd
// shapes, batch > 1; max-feature-map ties and NaN as torch.maximum's backward routes them.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { leakyRelu, relu, tanh } from '../../src/nn/functional/elementwise.js';
import { mfm } from '../../src/nn/functional/mfm.js';
import { batchNorm, batchNormMfm, instanceNorm, type FusedActivationOptions } from '../../src/nn/functional/norm.js';
import { memory, type Tensor } from '../../src/index.js';
import { assertNear, checkOp, draw, fileRng, forwardAndGradients, ref, setup, throwsWith, toT64, toTensor, type T64 } from './helpers.js';

const rng = fileRng('norm-fused');
test.before(setup);

/** Finite-difference step for the kinked activations and max-feature-map after a norm (OpCase.fdStep). */
const KINK_STEP = 1e-8;

const ACTIVATIONS: { options: FusedActivationOptions; unfused: (t: Tensor) => Tensor; reference: (t: T64) => T64 }[] = [
  { options: { activation: 'relu' }, unfused: relu, reference: ref.relu },
  { options: { activation: 'leakyRelu', negativeSlope: 0.2 }, unfused: (t) => leakyRelu(t, 0.2), reference: (t) => ref.leakyRelu(t, 0.2) },
  { options: { activation: 'tanh' }, unfused: tanh, reference: ref.tanh },
];

/** Odd sizes, batch > 1: [N, C, H, W] with C even (mfm's halves) and a 3-D case. */
const shapes = () => [
  [rng.int(2, 3), 2 * rng.int(1, 3), rng.int(2, 5), rng.int(3, 7)],
  [rng.int(2, 4), 2 * rng.int(1, 2), rng.int(3, 9)],
];

const affineSpecs = (C: number, affine: boolean) => (affine ? [{ shape: [C], draw: draw.positive }, [C]] : []);
/** As affineSpecs, the bias keeping max-feature-map pairs away from ties (draw.mfmSeparatingBias). */
const mfmAffineSpecs = (C: number, affine: boolean) => (affine ? [{ shape: [C], draw: draw.positive }, { shape: [C], draw: draw.mfmSeparatingBias }] : []);

test('batchNorm with a fused activation, training: forward and gradients (input, weight, bias) against act(batchNorm) in float64', async () => {
  for (const shape of shapes()) {
    for (const { options, reference } of ACTIVATIONS) {
      for (const affine of [true, false]) {
        await checkOp({
          name: `batchNorm training ${options.activation} affine ${affine}`,
          inputs: [shape, ...affineSpecs(shape[1], affine)],
          forward: ([x, w, b]) => batchNorm(x, undefined, undefined, w, b, { training: true, ...options }),
          reference: ([x, w, b]) => reference(ref.batchNorm(x, null, null, w, b, { training: true }).out),
          rng,
          fdStep: KINK_STEP,
          gradRtol: 2e-3,
        });
      }
    }
  }
});

test('batchNorm with a fused activation, eval: running statistics, forward and gradients', async () => {
  for (const shape of shapes()) {
    const C = shape[1];
    const mean = ref.map(ref.randn(rng, [C]), Math.fround);
    const variance = ref.map(ref.randu(rng, [C], 0.5, 2), Math.fround);
    const runningMean = toTensor(mean);
    const runningVar = toTensor(variance);
    for (const { options, reference } of ACTIVATIONS) {
      await checkOp({
        name: `batchNorm eval ${options.activation}`,
        inputs: [shape, { shape: [C], draw: draw.positive }, [C]],
        forward: ([x, w, b]) => batchNorm(x, runningMean, runningVar, w, b, { training: false, eps: 1e-3, ...options }),
        reference: ([x, w, b]) => reference(ref.batchNorm(x, mean, variance, w, b, { training: false, eps: 1e-3 }).out),
        rng,
        fdStep: KINK_STEP,
      });
    }
    runningMean.dispose();
    runningVar.dispose();
  }
});

test('instanceNorm with a fused activation: forward and gradients, affine on and off', async () => {
  for (const shape of shapes()) {
    for (const { options, reference } of ACTIVATIONS) {
      for (const affine of [true, false]) {
        await checkOp({
          name: `instanceNorm ${options.activation} affine ${affine}`,
          inputs: [shape, ...affineSpecs(shape[1], affine)],
          forward: ([x, w, b]) => instanceNorm(x, w, b, options),
          reference: ([x, w, b]) => reference(ref.instanceNorm(x, w, b)),
          rng,
          fdStep: KINK_STEP,
          gradRtol: 2e-3,
        });
      }
    }
  }
});

test('batchNormMfm: forward and gradients against mfm(batchNorm) in float64, training and eval, affine on and off', async () => {
  for (const shape of shapes()) {
    const C = shape[1];
    for (const affine of [true, false]) {
      await checkOp({
        name: `batchNormMfm training affine ${affine}`,
        inputs: [shape, ...mfmAffineSpecs(C, affine)],
        forward: ([x, w, b]) => batchNormMfm(x, undefined, undefined, w, b, { training: true }),
        reference: ([x, w, b]) => ref.mfm(ref.batchNorm(x, null, null, w, b, { training: true }).out),
        rng,
        fdStep: KINK_STEP,
        gradRtol: 2e-3,
      });
    }
    const mean = ref.map(ref.randn(rng, [C]), Math.fround);
    const variance = ref.map(ref.randu(rng, [C], 0.5, 2), Math.fround);
    const [runningMean, runningVar] = [toTensor(mean), toTensor(variance)];
    await checkOp({
      name: 'batchNormMfm eval',
      inputs: [shape, { shape: [C], draw: draw.positive }, { shape: [C], draw: draw.mfmSeparatingBias }],
      forward: ([x, w, b]) => batchNormMfm(x, runningMean, runningVar, w, b, { training: false, eps: 1e-3 }),
      reference: ([x, w, b]) => ref.mfm(ref.batchNorm(x, mean, variance, w, b, { training: false, eps: 1e-3 }).out),
      rng,
      fdStep: KINK_STEP,
    });
    runningMean.dispose();
    runningVar.dispose();
  }
});

/** Runs f on fresh running statistics (zeros / ones, as a new layer has): output, input gradients, running mean and variance after. */
async function withRunningStats(f: (ts: Tensor[], runningMean: Tensor, runningVar: Tensor) => Tensor, xs: T64[], g: T64, C: number): Promise<T64[]> {
  const runningMean = toTensor(ref.map(ref.randn(rng, [C]), () => 0));
  const runningVar = toTensor(ref.ones([C]));
  const results = await forwardAndGradients((ts) => f(ts, runningMean, runningVar), xs, g);
  results.push(await toT64(runningMean), await toT64(runningVar));
  runningMean.dispose();
  runningVar.dispose();
  return results;
}

test('fused equals unfused: act(batchNorm), mfm(batchNorm) and act(instanceNorm) give the same outputs, gradients and running statistics', async () => {
  const shape = [3, 6, 5, 7];
  const C = shape[1];
  const xs = [ref.map(ref.randn(rng, shape, 1.5), (v) => Math.fround(v + 0.7)), ref.randu(rng, [C], 0.5, 2), ref.randn(rng, [C])].map((t) => ref.map(t, Math.fround));
  const what = ['forward', 'input grad', 'weight grad', 'bias grad', 'runningMean', 'runningVar'];
  const compare = (fused: T64[], unfused: T64[], label: string) => fused.forEach((t, i) => assertNear(t, unfused[i]!, `${label} ${what[i]}`, 1e-5, 1e-6));
  for (const training of [true, false]) {
    const options = { training, momentum: 0.3 };
    for (const { options: act, unfused } of ACTIVATIONS) {
      const g = ref.map(ref.randn(rng, shape), Math.fround);
      const fused = await withRunningStats(([x, w, b], rm, rv) => batchNorm(x, rm, rv, w, b, { ...options, ...act }), xs, g, C);
      const separate = await withRunningStats(([x, w, b], rm, rv) => unfused(batchNorm(x, rm, rv, w, b, options)), xs, g, C);
      compare(fused, separate, `batchNorm ${act.activation} training ${training}`);
      const fusedInstance = await forwardAndGradients(([x, w, b]) => instanceNorm(x, w, b, act), xs, g);
      const separateInstance = await forwardAndGradients(([x, w, b]) => unfused(instanceNorm(x, w, b)), xs, g);
      compare(fusedInstance, separateInstance, `instanceNorm ${act.activation}`);
    }
    const g = ref.map(ref.randn(rng, [3, C / 2, 5, 7]), Math.fround);
    const fused = await withRunningStats(([x, w, b], rm, rv) => batchNormMfm(x, rm, rv, w, b, options), xs, g, C);
    const separate = await withRunningStats(([x, w, b], rm, rv) => mfm(batchNorm(x, rm, rv, w, b, options)), xs, g, C);
    compare(fused, separate, `batchNormMfm training ${training}`);
  }
});

// W 5: single values per invocation; W 4 (S % 4 == 0): the quads kernels (norm_apply_quads.wgsl, norm_grad_quads.wgsl).
test('batchNormMfm routes ties half and half and NaN to both halves, as mfm(batchNorm) does', async () => {
  for (const W of [5, 4]) await mfmTiesAndNaN(W);
});

async function mfmTiesAndNaN(W: number): Promise<void> {
  const shape = [2, 4, 3, W];
  const C = shape[1];
  const x = ref.map(ref.randn(rng, shape), Math.fround);
  // Channels 0 and 2 (a pair of halves) hold the same values, with the same affine parameters: every output of pair 0 a tie.
  const S = 3 * W;
  for (let n = 0; n < 2; n++) for (let k = 0; k < S; k++) x.data[(n * C + 2) * S + k] = x.data[(n * C + 0) * S + k]!;
  const w = { shape: [C], data: Float64Array.from([1.5, 0.7, 1.5, 1.2]) };
  const b = { shape: [C], data: Float64Array.from([0.1, -0.3, 0.1, 0.4]) };
  const g = ref.map(ref.randn(rng, [2, C / 2, 3, W]), Math.fround);
  const mean = ref.map(ref.randn(rng, [C]), Math.fround);
  const variance = ref.map(ref.randu(rng, [C], 0.5, 2), Math.fround);
  const runningMean = toTensor(mean);
  const runningVar = toTensor(variance);
  for (const training of [true, false]) {
    const fused = await forwardAndGradients(([xt, wt, bt]) => batchNormMfm(xt, training ? undefined : runningMean, training ? undefined : runningVar, wt, bt, { training }), [x, w, b], g);
    const separate = await forwardAndGradients(([xt, wt, bt]) => mfm(batchNorm(xt, training ? undefined : runningMean, training ? undefined : runningVar, wt, bt, { training })), [x, w, b], g);
    ['forward', 'input grad', 'weight grad', 'bias grad'].forEach((what, i) => assertNear(fused[i]!, separate[i]!, `ties training ${training} ${what}`, 1e-5, 1e-6));
  }
  // Eval mode keeps a NaN where it is: that output is NaN and both halves take its gradient.
  const withNaN = { shape: x.shape, data: Float64Array.from(x.data) };
  withNaN.data[(1 * C + 3) * S + 4] = NaN;
  const fused = await forwardAndGradients(([xt, wt, bt]) => batchNormMfm(xt, runningMean, runningVar, wt, bt), [withNaN, w, b], g);
  const separate = await forwardAndGradients(([xt, wt, bt]) => mfm(batchNorm(xt, runningMean, runningVar, wt, bt)), [withNaN, w, b], g);
  assert.ok(Number.isNaN(fused[0]!.data[(1 * (C / 2) + 1) * S + 4]!), 'NaN output');
  ['forward', 'input grad'].forEach((what, i) => assertNear(fused[i]!, separate[i]!, `NaN ${what}`, 1e-5, 1e-6));
  assert.ok(Number.isFinite(fused[1]!.data[(1 * C + 1) * S + 4]!) && fused[1]!.data[(1 * C + 1) * S + 4] !== 0, 'the other half of the NaN pair takes the gradient too');
  runningMean.dispose();
  runningVar.dispose();
}

test('fused relu / leakyRelu / tanh pass NaN and ±inf on as the unfused ops do (relu\'s gradient at a NaN output too)', async () => {
  for (const W of [5, 4]) await activationsWithNaN(W);
});

async function activationsWithNaN(W: number): Promise<void> {
  const shape = [2, 4, 3, W];
  const C = shape[1];
  const x = ref.map(ref.randn(rng, shape), Math.fround);
  const S = 3 * W;
  x.data[(0 * C + 1) * S + rng.int(0, S - 1)] = NaN;
  x.data[(1 * C + 2) * S + rng.int(0, S - 1)] = Infinity;
  x.data[(1 * C + 3) * S + rng.int(0, S - 1)] = -Infinity;
  const w = ref.map(ref.randu(rng, [C], 0.5, 2), Math.fround);
  const b = ref.map(ref.randn(rng, [C]), Math.fround);
  const g = ref.map(ref.randn(rng, shape), Math.fround);
  const runningMean = toTensor(ref.map(ref.randn(rng, [C]), Math.fround));
  const runningVar = toTensor(ref.map(ref.randu(rng, [C], 0.5, 2), Math.fround));
  for (const { options, unfused, reference } of ACTIVATIONS) {
    // Eval mode normalises elementwise, so NaN and ±inf stay where they are.
    const fused = await forwardAndGradients(([xt, wt, bt]) => batchNorm(xt, runningMean, runningVar, wt, bt, options), [x, w, b], g);
    const separate = await forwardAndGradients(([xt, wt, bt]) => unfused(batchNorm(xt, runningMean, runningVar, wt, bt)), [x, w, b], g);
    ['forward', 'input grad'].forEach((what, i) => assertNear(fused[i]!, separate[i]!, `batchNorm eval ${options.activation} with NaN and ±inf: ${what}`, 1e-5, 1e-6));
    const z = ref.batchNorm(x, await toT64(runningMean), await toT64(runningVar), w, b, { training: false }).out;
    assertNear(fused[0]!, reference(z), `batchNorm eval ${options.activation} with NaN and ±inf against float64`, 1e-5, 1e-6);
    // Training statistics of an instance with NaN are NaN: every output there is NaN, fused or not.
    const fusedInstance = await forwardAndGradients(([xt]) => instanceNorm(xt, undefined, undefined, options), [x], g);
    const separateInstance = await forwardAndGradients(([xt]) => unfused(instanceNorm(xt)), [x], g);
    assertNear(fusedInstance[0]!, separateInstance[0]!, `instanceNorm ${options.activation} with NaN and ±inf: forward`, 1e-5, 1e-6);
  }
  runningMean.dispose();
  runningVar.dispose();
}

test('fused norms: clear errors, and a refused call leaves no tensor or buffer behind', () => {
  const before = memory();
  const odd = toTensor(ref.randn(rng, [2, 3, 4, 4]));
  const x = toTensor(ref.randn(rng, [2, 4, 3]));
  throwsWith(() => batchNormMfm(odd, undefined, undefined, undefined, undefined, { training: true }), /must be even/, 'odd channels');
  throwsWith(() => batchNorm(x, undefined, undefined, undefined, undefined, { training: true, activation: 'gelu' as 'relu' }), /cannot be fused/, 'unknown activation');
  throwsWith(() => instanceNorm(x, undefined, undefined, { activation: 'softmax' as 'relu' }), /cannot be fused/, 'unknown activation');
  for (const t of [odd, x]) t.dispose();
  const after = memory();
  assert.is(after.liveTensors, before.liveTensors, 'live tensors');
  assert.is(after.bytesInUse, before.bytesInUse, 'bytes in use');
});

test.run();
