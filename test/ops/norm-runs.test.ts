// The norm kernels' run and stepping paths (src/kernels/norm.ts normRun, the RUN override and the
// reduction cursor of shaders/norm.wgsl), each reached by a chosen shape: runs of 4 where
// S % 4 == 0 — a row of 3 runs, so that the reduction (16 lanes on lavapipe) steps over 5 rows and
// 1 run at a time and wraps mid-row (S = 12), and a row of 40 runs, more than the lanes (S = 160) —
// and single values elsewhere (S = 9, S = 35: fewer and more values than lanes); batch > 1,
// batch norm and instance norm, every fused activation and max-feature-map, training (with running
// statistics) and eval: forward and gradients against the float64 reference with finite
// differences; running statistics and outputs of values 1000 + N(0, 1) over several steps; and
// the same at every reduction workgroup width the policy allows (the cursor's steps change with it).
import { test } from 'uvu';
import { gpu } from '../../src/gpu/index.js';
import { NORM_REDUCTION_LANES } from '../../src/gpu/policy.js';
import { batchNorm, batchNormMfm, instanceNorm, type FusedActivationOptions } from '../../src/nn/functional/norm.js';
import { assertNear, checkOp, draw, fileRng, ref, setup, toT64, toTensor, type T64 } from './helpers.js';

const rng = fileRng('norm-runs');
test.before(setup);

/** Finite-difference step for the kinked activations and max-feature-map after a norm (OpCase.fdStep). */
const KINK_STEP = 1e-8;

const SHAPES = [
  [12, 4, 3, 4], // S 12: runs of 4, 3 per row, 36 per channel
  [3, 2, 10, 16], // S 160: 40 runs per row
  [12, 4, 3, 3], // S 9: single values, 108 per channel
  [3, 2, 5, 7], // S 35: single values
];

const ACTIVATIONS: { options: FusedActivationOptions; reference: (t: T64) => T64 }[] = [
  { options: {}, reference: (t) => t },
  { options: { activation: 'relu' }, reference: ref.relu },
  { options: { activation: 'leakyRelu', negativeSlope: 0.2 }, reference: (t) => ref.leakyRelu(t, 0.2) },
  { options: { activation: 'tanh' }, reference: ref.tanh },
];

const affine = (C: number) => [{ shape: [C], draw: draw.positive }, [C]];
/** The affine parameters of a norm whose max-feature-map must have no near-ties (finite differences). */
const mfmAffine = (C: number) => [{ shape: [C], draw: draw.positive }, { shape: [C], draw: draw.mfmSeparatingBias }];

/** batchNormMfm in training mode against the float64 reference, with finite differences across its kinks. */
function checkBatchNormMfm(name: string, shape: number[], C: number): Promise<void> {
  return checkOp({
    name,
    inputs: [shape, ...mfmAffine(C)],
    forward: ([x, w, b]) => batchNormMfm(x, undefined, undefined, w, b, { training: true }),
    reference: ([x, w, b]) => ref.mfm(ref.batchNorm(x, null, null, w, b, { training: true }).out),
    rng,
    fdStep: KINK_STEP,
    gradRtol: 2e-3,
  });
}

test('batchNorm and batchNormMfm, training: forward and gradients at runs of 4 and single values', async () => {
  for (const shape of SHAPES) {
    const C = shape[1]!;
    for (const { options, reference } of ACTIVATIONS) {
      await checkOp({
        name: `batchNorm training ${options.activation ?? 'none'}`,
        inputs: [shape, ...affine(C)],
        forward: ([x, w, b]) => batchNorm(x, undefined, undefined, w, b, { training: true, ...options }),
        reference: ([x, w, b]) => reference(ref.batchNorm(x, null, null, w, b, { training: true }).out),
        rng,
        fdStep: KINK_STEP,
        gradRtol: 2e-3,
      });
    }
    await checkBatchNormMfm('batchNormMfm training', shape, C);
  }
});

test('batchNorm and batchNormMfm, eval: forward and gradients at runs of 4 and single values', async () => {
  for (const shape of SHAPES) {
    const C = shape[1]!;
    const mean = ref.map(ref.randn(rng, [C]), Math.fround);
    const variance = ref.map(ref.randu(rng, [C], 0.5, 2), Math.fround);
    const [runningMean, runningVar] = [toTensor(mean), toTensor(variance)];
    for (const { options, reference } of [ACTIVATIONS[1]!, ACTIVATIONS[3]!]) {
      await checkOp({
        name: `batchNorm eval ${options.activation}`,
        inputs: [shape, ...affine(C)],
        forward: ([x, w, b]) => batchNorm(x, runningMean, runningVar, w, b, { training: false, eps: 1e-3, ...options }),
        reference: ([x, w, b]) => reference(ref.batchNorm(x, mean, variance, w, b, { training: false, eps: 1e-3 }).out),
        rng,
        fdStep: KINK_STEP,
      });
    }
    await checkOp({
      name: 'batchNormMfm eval',
      inputs: [shape, ...mfmAffine(C)],
      forward: ([x, w, b]) => batchNormMfm(x, runningMean, runningVar, w, b, { training: false, eps: 1e-3 }),
      reference: ([x, w, b]) => ref.mfm(ref.batchNorm(x, mean, variance, w, b, { training: false, eps: 1e-3 }).out),
      rng,
      fdStep: KINK_STEP,
    });
    runningMean.dispose();
    runningVar.dispose();
  }
});

test('instanceNorm: forward and gradients at runs of 4 and single values, with and without affine', async () => {
  for (const shape of SHAPES) {
    const C = shape[1]!;
    const small = [Math.min(shape[0]!, 3), ...shape.slice(1)];
    for (const { options, reference } of ACTIVATIONS) {
      await checkOp({
        name: `instanceNorm ${options.activation ?? 'none'}`,
        inputs: [small, ...affine(C)],
        forward: ([x, w, b]) => instanceNorm(x, w, b, options),
        reference: ([x, w, b]) => reference(ref.instanceNorm(x, w, b)),
        rng,
        fdStep: KINK_STEP,
        gradRtol: 2e-3,
      });
    }
    await checkOp({ name: 'instanceNorm no affine', inputs: [small], forward: ([x]) => instanceNorm(x), reference: ([x]) => ref.instanceNorm(x, null, null), rng, fdStep: KINK_STEP, gradRtol: 2e-3 });
  }
});

test('batchNorm / batchNormMfm of values 1000 + N(0, 1): outputs and running statistics over several steps (the variance from the deviations)', async () => {
  for (const shape of SHAPES) {
    const C = shape[1]!;
    for (const mfm of [false, true]) {
      let mean = ref.zeros([C]);
      let variance = ref.ones([C]);
      const [runningMean, runningVar] = [toTensor(mean), toTensor(variance)];
      for (let step = 0; step < 3; step++) {
        const x = ref.map(ref.randn(rng, shape), (v) => Math.fround(v + 1000));
        const expected = ref.batchNorm(x, mean, variance, null, null, { training: true, momentum: 0.3 });
        const xt = toTensor(x);
        const y = mfm ? batchNormMfm(xt, runningMean, runningVar, undefined, undefined, { training: true, momentum: 0.3 }) : batchNorm(xt, runningMean, runningVar, undefined, undefined, { training: true, momentum: 0.3 });
        const label = `${mfm ? 'batchNormMfm' : 'batchNorm'} [${shape.join(', ')}] step ${step}`;
        // f32 inputs near 1000 are exact to ~6e-5, so a normalised value is good to ~1e-4 of its unit scale.
        assertNear(await toT64(y), mfm ? ref.mfm(expected.out) : expected.out, `${label} forward`, 1e-3, 2e-4);
        mean = expected.runningMean!;
        variance = expected.runningVar!;
        assertNear(await toT64(runningMean), mean, `${label} runningMean`, 1e-6, 1e-7);
        assertNear(await toT64(runningVar), variance, `${label} runningVar`, 1e-3, 1e-4);
        xt.dispose();
        y.dispose();
      }
      runningMean.dispose();
      runningVar.dispose();
    }
  }
});

test('every normReductionLanes choice (the reduction workgroup width the policy sets): batchNorm relu, batchNormMfm and instanceNorm, forward and gradients', async () => {
  try {
    for (const lanes of NORM_REDUCTION_LANES) {
      gpu().policy.set({ normReductionLanes: lanes });
      for (const shape of [SHAPES[0]!, SHAPES[3]!]) {
        const C = shape[1]!;
        await checkOp({
          name: `batchNorm training relu, ${lanes} lanes`,
          inputs: [shape, ...affine(C)],
          forward: ([x, w, b]) => batchNorm(x, undefined, undefined, w, b, { training: true, activation: 'relu' }),
          reference: ([x, w, b]) => ref.relu(ref.batchNorm(x, null, null, w, b, { training: true }).out),
          rng,
          fdStep: KINK_STEP,
          gradRtol: 2e-3,
        });
        await checkBatchNormMfm(`batchNormMfm training, ${lanes} lanes`, shape, C);
        await checkOp({ name: `instanceNorm, ${lanes} lanes`, inputs: [[2, ...shape.slice(1)]], forward: ([x]) => instanceNorm(x), reference: ([x]) => ref.instanceNorm(x, null, null), rng, fdStep: KINK_STEP, gradRtol: 2e-3 });
      }
    }
  } finally {
    gpu().policy.set({ normReductionLanes: undefined });
  }
});

test.run();
