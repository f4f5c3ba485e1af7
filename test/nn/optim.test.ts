// SGD and Adam against torch.optim's update formulas in float64 (test/reference/optim.ts), over
// five steps with fresh gradients each step, several parameter shapes and parameter groups.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { init, tensor, untrack } from '../../src/index.js';
import { Parameter } from '../../src/nn/index.js';
import { SGD, Adam, StepLR, LinearLR, LinearDecayLR, type AnyOptimizer } from '../../src/optim/index.js';
import * as ref from '../reference/index.js';

await init();

const seed = ref.randomSeed();
const ctx = (what: string) => `${what} (seed ${seed}; replay with WEBFER_SEED=${seed})`;
const shapes = [[3, 5], [7], [2, 3, 3, 1]];

function setGrad(p: Parameter, values: Float64Array): void {
  p.grad?.dispose();
  p.grad = untrack(tensor(Float32Array.from(values), p.shape));
}

/** Runs `steps` optimizer steps on GPU parameters and on float64 copies updated by `refStep`. */
async function compare(
  name: string,
  makeOptimizer: (groups: Parameter[][]) => AnyOptimizer,
  refStep: (groupIndex: number, params: ref.T64[], grads: ref.T64[]) => void,
  groupSizes = [2, 1],
  steps = 5,
): Promise<void> {
  const rng = new ref.Rng(seed ^ name.length * 7919);
  const refParams = groupSizes.map((n, g) => Array.from({ length: n }, (_, i) => ref.randn(rng, shapes[(g + i) % shapes.length])));
  const params = refParams.map((group) => group.map((p) => new Parameter(p.shape, Float32Array.from(p.data))));
  const optimizer = makeOptimizer(params);
  for (let step = 0; step < steps; step++) {
    const grads = refParams.map((group) => group.map((p) => ref.randn(rng, p.shape)));
    params.forEach((group, g) => group.forEach((p, i) => setGrad(p, grads[g][i].data)));
    optimizer.step();
    refParams.forEach((group, g) => refStep(g, group, grads[g]));
  }
  for (let g = 0; g < params.length; g++) {
    for (let i = 0; i < params[g].length; i++) {
      ref.assertClose(await params[g][i].toArray(), refParams[g][i], { rtol: 2e-5, atol: 2e-6, context: ctx(`${name}: group ${g} param ${i} [${refParams[g][i].shape}] after ${steps} steps`) });
    }
  }
  optimizer.dispose();
  params.flat().forEach((p) => p.dispose());
}

const sgdCases: [string, ref.SgdOptions[]][] = [
  ['plain with weight decay, per-group lr', [{ lr: 0.1, weightDecay: 0.01 }, { lr: 0.3, weightDecay: 0 }]],
  ['momentum 0.9, weight decay, per-group lr (LightCNN recipe)', [{ lr: 0.01, momentum: 0.9, weightDecay: 1e-2 }, { lr: 0.02, momentum: 0.9, weightDecay: 0 }]],
  ['nesterov', [{ lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 1e-3 }, { lr: 0.1, momentum: 0.8, nesterov: true }]],
  ['dampening', [{ lr: 0.05, momentum: 0.5, dampening: 0.3 }, { lr: 0.07, momentum: 0.9, dampening: 0.9, weightDecay: 0.05 }]],
];

for (const [name, groupOptions] of sgdCases) {
  test(`SGD ${name}: five steps match torch.optim.SGD`, async () => {
    const states = groupOptions.map(() => ref.sgdState([]));
    await compare(
      `SGD ${name}`,
      (groups) => new SGD(groups.map((params, g) => ({ params, ...groupOptions[g] })), { lr: 123 }),
      (g, params, grads) => ref.sgdStep(params, grads, states[g], groupOptions[g]),
    );
  });
}

const adamCases: [string, ref.AdamOptions[]][] = [
  ['defaults', [{}, {}]],
  ['GAN betas (0.5, 0.999), lr 2e-4', [{ lr: 2e-4, betas: [0.5, 0.999] }, { lr: 1e-3, betas: [0.5, 0.999] }]],
  ['L2 weight decay, per-group lr', [{ lr: 1e-2, weightDecay: 0.1 }, { lr: 3e-3, weightDecay: 0, eps: 1e-6 }]],
];

for (const [name, groupOptions] of adamCases) {
  test(`Adam ${name}: five steps match torch.optim.Adam`, async () => {
    const states = groupOptions.map(() => ({ step: 0, expAvg: [] as Float64Array[], expAvgSq: [] as Float64Array[] }));
    await compare(
      `Adam ${name}`,
      (groups) => new Adam(groups.map((params, g) => ({ params, ...groupOptions[g] }))),
      (g, params, grads) => ref.adamStep(params, grads, states[g], groupOptions[g]),
    );
  });
}

test('a parameter without a gradient is skipped and keeps no state', async () => {
  const a = new Parameter([4], [1, 2, 3, 4]);
  const b = new Parameter([2], [5, 6]);
  const optimizer = new SGD([a, b], { lr: 0.5, momentum: 0.9 });
  setGrad(a, Float64Array.of(1, 1, 1, 1));
  optimizer.step();
  assert.equal([...(await b.toArray())], [5, 6]);
  assert.equal([...(await a.toArray())], [0.5, 1.5, 2.5, 3.5]);
  assert.equal(Object.keys(optimizer.stateDict().state), ['0']);
  optimizer.zeroGrad();
  assert.is(a.grad, null);
  optimizer.dispose();
  a.dispose();
  b.dispose();
});

test('optimizer state export → import resumes exactly (Adam and SGD momentum)', async () => {
  const rng = new ref.Rng(seed + 1);
  for (const make of [(ps: Parameter[]) => new Adam(ps, { lr: 1e-2, weightDecay: 0.01 }), (ps: Parameter[]) => new SGD(ps, { lr: 0.1, momentum: 0.9 })]) {
    const start = shapes.map((s) => ref.randn(rng, s));
    const gradsPerStep = [0, 1, 2, 3].map(() => start.map((p) => ref.randn(rng, p.shape)));
    const run = (ps: Parameter[], opt: AnyOptimizer, from: number, to: number) => {
      for (let s = from; s < to; s++) {
        ps.forEach((p, i) => setGrad(p, gradsPerStep[s][i].data));
        opt.step();
      }
    };
    const straight = start.map((p) => new Parameter(p.shape, Float32Array.from(p.data)));
    const straightOpt = make(straight);
    run(straight, straightOpt, 0, 4);

    const first = start.map((p) => new Parameter(p.shape, Float32Array.from(p.data)));
    const firstOpt = make(first);
    run(first, firstOpt, 0, 2);
    const saved = await firstOpt.exportState();
    const savedParams = await Promise.all(first.map((p) => p.toArray()));
    const json = JSON.parse(JSON.stringify(saved, (_, v) => (v instanceof Float32Array ? Array.from(v) : v)));
    for (const s of Object.values(json.state) as { buffers: Record<string, { data: number[] }> }[]) for (const b of Object.values(s.buffers)) (b as any).data = Float32Array.from(b.data);
    firstOpt.dispose();
    first.forEach((p) => p.dispose());

    const resumed = savedParams.map((data, i) => new Parameter(start[i].shape, data));
    const resumedOpt = make(resumed);
    resumedOpt.importState(json);
    run(resumed, resumedOpt, 2, 4);
    for (let i = 0; i < shapes.length; i++) {
      assert.equal([...(await resumed[i].toArray())], [...(await straight[i].toArray())], ctx(`${straightOpt.constructor.name} resumed param ${i}`));
    }
    for (const o of [straightOpt, resumedOpt]) o.dispose();
    [...straight, ...resumed].forEach((p) => p.dispose());
  }
});

test('loadStateDict rejects a state built for other groups or shapes', () => {
  const a = new Parameter([3]);
  const b = new Parameter([2, 2]);
  const one = new SGD([a, b], { lr: 0.1 });
  const two = new SGD([{ params: [a] }, { params: [b] }], { lr: 0.1 });
  assert.throws(() => two.loadStateDict(one.stateDict()), /1 parameter groups, this optimizer 2/);
  const other = new Adam([b, a]);
  const bad = { paramGroups: [{ lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, params: [0, 1] }], state: { 0: { step: 1, buffers: { expAvg: { shape: [3], data: new Float32Array(3) }, expAvgSq: { shape: [3], data: new Float32Array(3) } } } } };
  assert.throws(() => other.loadStateDict(bad), /has shape \[3\], the parameter \[2, 2\]/);
  a.dispose();
  b.dispose();
});

test('SGD rejects nesterov without momentum', () => {
  const a = new Parameter([3]);
  assert.throws(() => new SGD([a], { lr: 0.1, nesterov: true }), /nesterov needs momentum > 0/);
  a.dispose();
});

test('optimizers refuse an empty parameter list and options they do not implement (PyTorch spellings, amsgrad), rather than ignore them', () => {
  const a = new Parameter([3]);
  // PyTorch: "optimizer got an empty parameter list".
  assert.throws(() => new SGD([], { lr: 0.1 }), /SGD: got an empty parameter list/);
  assert.throws(() => new Adam([{ params: [] }]), /Adam: got an empty parameter list/);
  // A ported weight_decay would otherwise train without decay.
  assert.throws(() => new SGD([a], { lr: 0.1, weight_decay: 1e-4 } as never), /SGD: unknown option "weight_decay" .*webfer spells it weightDecay/);
  assert.throws(() => new SGD([{ params: [a], weight_decay: 0 } as never], { lr: 0.1 }), /SGD group 0: unknown option "weight_decay"/);
  assert.throws(() => new Adam([a], { amsgrad: true } as never), /Adam: unknown option "amsgrad" .*does not support it/);
  assert.throws(() => new Adam([a], { betas: 0.9 as never }), /Adam group 0: betas must be a pair \[beta1, beta2\], got 0.9/);
  // A misspelt schedule option would run the default (gamma 0.1) without a word.
  const sgd = new SGD([a], { lr: 0.1 });
  assert.throws(() => new StepLR(sgd, { stepSize: 2, Gamma: 0.5 } as never), /StepLR: unknown option "Gamma"/);
  assert.throws(() => new LinearLR(sgd, { total_iters: 3 } as never), /LinearLR: .*webfer spells it totalIters/);
  a.dispose();
});

test('StepLR, LinearLR and LinearDecayLR set group rates like torch and restore from state', () => {
  const a = new Parameter([1]);
  const b = new Parameter([1]);
  const gamma = 0.457305051927326;
  const sgd = new SGD([{ params: [a] }, { params: [b], lr: 0.02 }], { lr: 0.01, momentum: 0.9 });
  const schedule = new StepLR(sgd, { stepSize: 10, gamma });
  const seen: number[][] = [];
  for (let epoch = 0; epoch < 25; epoch++) {
    seen.push(schedule.getLastLr());
    schedule.step();
  }
  for (const epoch of [0, 9, 10, 19, 20, 24]) {
    const expected = [0.01, 0.02].map((base) => ref.stepLR(base, epoch, 10, gamma));
    ref.assertClose(seen[epoch], expected, { rtol: 1e-12, atol: 0, context: `StepLR epoch ${epoch}` });
  }
  const restored = new StepLR(new SGD([{ params: [a] }, { params: [b], lr: 0.5 }], { lr: 0.5 }), { stepSize: 10, gamma });
  restored.loadStateDict(JSON.parse(JSON.stringify(schedule.stateDict())));
  assert.equal(restored.getLastLr(), schedule.getLastLr());
  assert.equal(restored.optimizer.paramGroups.map((g) => g.lr), schedule.getLastLr());

  const adam = new Adam([a], { lr: 2e-4 });
  const linear = new LinearLR(adam, { startFactor: 0.5, endFactor: 1, totalIters: 4 });
  const linearRates = [0, 1, 2, 3, 4, 5].map(() => {
    const lr = linear.getLastLr()[0];
    linear.step();
    return lr;
  });
  ref.assertClose(linearRates, [1e-4, 1.25e-4, 1.5e-4, 1.75e-4, 2e-4, 2e-4], { rtol: 1e-12, atol: 0, context: 'LinearLR' });

  const gan = new Adam([b], { lr: 2e-4 });
  const decay = new LinearDecayLR(gan, { constantEpochs: 3, decayEpochs: 4 });
  const decayRates = [0, 1, 2, 3, 4, 5, 6, 7, 8].map(() => {
    const lr = gan.paramGroups[0].lr;
    decay.step();
    return lr;
  });
  ref.assertClose(decayRates, [2e-4, 2e-4, 2e-4, 2e-4, 1.5e-4, 1e-4, 0.5e-4, 0, 0], { rtol: 1e-12, atol: 1e-18, context: 'LinearDecayLR' });
  a.dispose();
  b.dispose();
});

test.run();
