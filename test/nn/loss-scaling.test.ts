// Loss scaling on its two paths (the kernel policy's gradUnscale): the unscale kernels against
// float32 products on the host (per gradient and seven at a time, in binding-sized pieces too,
// with ±inf and NaN planted), and GradScaler with SGD momentum and Adam: a step holding an inf /
// NaN gradient updates no parameter and creates no optimizer state, the scale backs off and grows
// as torch's, and both paths give the same bits step after step, in a float16 FaPE-GAN too. The
// batched unscale per quad (gradUnscaleWidth 'quads') on lengths that end in a partial quad, the
// buffer's slack poisoned; and a float16 step that submits no more often than a float32 one.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { memory, optim, tensor, untrack, type Tensor } from '../../src/index.js';
import { gpu, type KernelChoices } from '../../src/gpu/index.js';
import { fill } from '../../src/kernels/elementwise.js';
import { SCALER_STATE_BYTES, SCALER_WORDS, UNSCALE_SLOTS, unscaleGradient, unscaleGradientsBatched } from '../../src/kernels/optim.js';
import { Parameter } from '../../src/nn/index.js';
import { manualSeed } from '../../src/tensor/random.js';
import { createFaPEGanSession, freeSession, ganStepLosses, type FaPEGanSession } from '../../src/train/fapegan.js';
import { ganWorkload, lightcnnWorkload, type StepWorkload } from '../../src/bench/step.js';
import { context, fileRng, ref, setup } from '../ops/helpers.js';

const rng = fileRng('loss-scaling');
const PATHS: KernelChoices['gradUnscale'][] = ['perTensor', 'onDevice'];

test.before(setup);

/** Random float32 gradients of random sizes, spread over many binades; `plant` puts a non-finite value at a random element of gradient `at`. */
function randomGradients(count: number, plant?: { at: number; value: number }): Float32Array[] {
  const grads = Array.from({ length: count }, () => Float32Array.from(ref.randn(rng, [rng.int(1, 700)]).data, (v) => v * 2 ** rng.int(-12, 12)));
  if (plant) grads[plant.at]![rng.int(0, grads[plant.at]!.length - 1)] = plant.value;
  return grads;
}

const bitsOf = (values: Float32Array) => new Uint32Array(values.buffer, values.byteOffset, values.length);

const WIDTHS: KernelChoices['gradUnscaleWidth'][] = ['quads', 'elements'];
type UnscalePath = 'perTensor' | `batched ${KernelChoices['gradUnscaleWidth']}`;
const UNSCALE_PATHS: UnscalePath[] = ['perTensor', ...WIDTHS.map((w) => `batched ${w}` as const)];

async function unscaleOnGpu(path: UnscalePath, grads: Float32Array[], inverse: number): Promise<{ out: Float32Array[]; found: boolean }> {
  const tensors = grads.map((g) => untrack(tensor(g, [g.length])));
  const state = gpu().pool.acquire(SCALER_STATE_BYTES);
  const words = new DataView(new ArrayBuffer(SCALER_STATE_BYTES));
  words.setFloat32(4 * SCALER_WORDS.inverse, inverse, true);
  gpu().upload(state, words);
  const found = fill(1, 0);
  const batched = path !== 'perTensor';
  if (batched) gpu().policy.with({ gradUnscaleWidth: path === 'batched quads' ? 'quads' : 'elements' }, () => unscaleGradientsBatched(tensors.map((t) => ({ buffer: t.buffer, count: t.size })), state));
  else for (const t of tensors) unscaleGradient(t.buffer, t.size, inverse, found);
  const flagWords = new Uint32Array(await gpu().read(batched ? state : found, batched ? SCALER_STATE_BYTES : 4));
  const out = await Promise.all(tensors.map((t) => t.toArray()));
  for (const t of tensors) t.dispose();
  gpu().pool.release(state);
  gpu().pool.release(found);
  return { out, found: flagWords[batched ? SCALER_WORDS.found : 0] !== 0 };
}

test('grad_unscale and grad_unscale_batched: every gradient times the inverse scale, bit for bit with float32 on the host; found set by an inf or NaN in any gradient of any launch', async () => {
  // A non-finite value in each slot of a later launch in turn (+inf, -inf, NaN), then gradients larger than a binding, in pieces.
  const nonFinite = [Infinity, -Infinity, NaN];
  const cases: { label: string; plant?: { at: number; value: number }; bindingBytes?: number }[] = [
    { label: 'finite' },
    ...Array.from({ length: UNSCALE_SLOTS }, (_, slot) => ({ label: `${nonFinite[slot % 3]} in slot ${slot} of launch 2`, plant: { at: UNSCALE_SLOTS + slot, value: nonFinite[slot % 3]! } })),
    { label: 'NaN, 1 KiB bindings', plant: { at: rng.int(0, 2 * UNSCALE_SLOTS), value: NaN }, bindingBytes: 1024 },
    { label: 'finite, 1 KiB bindings', bindingBytes: 1024 },
  ];
  for (const c of cases) {
    const count = rng.int(2 * UNSCALE_SLOTS + 1, 3 * UNSCALE_SLOTS + 1);
    const grads = randomGradients(count, c.plant);
    const inverse = 2 ** -rng.int(0, 24);
    gpu().setMaxBindingBytes(c.bindingBytes);
    try {
      for (const path of UNSCALE_PATHS) {
        const { out, found } = await unscaleOnGpu(path, grads, inverse);
        assert.is(found, c.plant !== undefined, context(`${path}, ${c.label}: found flag`));
        grads.forEach((g, k) => {
          const expected = Float32Array.from(g, (v) => Math.fround(v * inverse));
          assert.equal(Array.from(bitsOf(out[k]!)), Array.from(bitsOf(expected)), context(`${path}, ${c.label}: gradient ${k} of ${count} (${g.length} elements)`));
        });
      }
    } finally {
      gpu().setMaxBindingBytes(undefined);
    }
  }
});

/** Lengths ending in a partial quad (4m + 1..3), with the 5-6 element ones (whose pooled buffer lacks the last quad: the element kernel) and whole quads among them. */
function oddLengths(count: number): number[] {
  return Array.from({ length: count }, (_, i) => (i % 5 === 4 ? rng.int(5, 6) : 4 * rng.int(0, 180) + (i % 5 === 3 ? 4 : rng.int(1, 3))));
}

test('grad_unscale_batched per quad: lengths ending in a partial quad, a non-finite value planted in the quads or the last partial quad, the buffers\' slack poisoned with inf / NaN: every element in range unscaled and checked, the slack neither checked nor changed, the same bits as per element', async () => {
  const cases: { label: string; where?: 'quads' | 'tail'; bindingBytes?: number }[] = [
    { label: 'finite' }, { label: 'in the quads', where: 'quads' }, { label: 'in the last partial quad', where: 'tail' },
    { label: 'in the last partial quad, 1 KiB bindings', where: 'tail', bindingBytes: 1024 }, { label: 'finite, 1 KiB bindings', bindingBytes: 1024 },
  ];
  const nonFinite = [Infinity, -Infinity, NaN];
  for (const c of cases) {
    const lengths = oddLengths(rng.int(UNSCALE_SLOTS + 2, 3 * UNSCALE_SLOTS));
    const grads = lengths.map((n) => Float32Array.from(ref.randn(rng, [n]).data, (v) => v * 2 ** rng.int(-12, 12)));
    if (c.where) {
      // A gradient with elements past its last whole quad (the tail) or with whole quads, per case.
      const candidates = grads.flatMap((g, k) => ((c.where === 'tail' ? g.length % 4 !== 0 : g.length >= 4) ? [k] : []));
      const g = grads[candidates[rng.int(0, candidates.length - 1)]!]!;
      const wholeQuads = g.length - (g.length % 4);
      g[c.where === 'tail' ? rng.int(wholeQuads, g.length - 1) : rng.int(0, wholeQuads - 1)] = nonFinite[rng.int(0, 2)]!;
    }
    const inverse = 2 ** -rng.int(0, 24);
    const results: { out: Float32Array[]; slack: Uint32Array[]; found: boolean }[] = [];
    gpu().setMaxBindingBytes(c.bindingBytes);
    try {
      for (const width of WIDTHS) {
        const tensors = grads.map((g) => untrack(tensor(g, [g.length])));
        // The slack past each gradient (its pooled buffer's spare bytes) holds inf and NaN: not the gradient's, so never checked.
        const slacks = tensors.map((t, k) => {
          const words = new Uint32Array(t.buffer.size / 4);
          words.set(bitsOf(grads[k]!));
          for (let i = grads[k]!.length; i < words.length; i++) words[i] = i % 2 ? 0x7f800000 : 0x7fc00001;
          gpu().upload(t.buffer, words);
          return words.slice(grads[k]!.length);
        });
        const state = gpu().pool.acquire(SCALER_STATE_BYTES);
        const stateWords = new DataView(new ArrayBuffer(SCALER_STATE_BYTES));
        stateWords.setFloat32(4 * SCALER_WORDS.inverse, inverse, true);
        gpu().upload(state, stateWords);
        gpu().policy.with({ gradUnscaleWidth: width }, () => unscaleGradientsBatched(tensors.map((t) => ({ buffer: t.buffer, count: t.size })), state));
        const found = new Uint32Array(await gpu().read(state, SCALER_STATE_BYTES))[SCALER_WORDS.found] !== 0;
        const whole = await Promise.all(tensors.map(async (t) => new Uint32Array(await gpu().read(t.buffer, t.buffer.size))));
        const out = whole.map((words, k) => new Float32Array(words.buffer.slice(0, 4 * grads[k]!.length)));
        const slack = whole.map((words, k) => words.slice(grads[k]!.length));
        slack.forEach((words, k) => assert.equal(Array.from(words), Array.from(slacks[k]!), context(`${width}, ${c.label}: the slack past gradient ${k} (${grads[k]!.length} elements) unchanged`)));
        results.push({ out, slack, found });
        for (const t of tensors) t.dispose();
        gpu().pool.release(state);
      }
    } finally {
      gpu().setMaxBindingBytes(undefined);
    }
    results.forEach(({ out, found }, w) => {
      assert.is(found, c.where !== undefined, context(`${WIDTHS[w]}, ${c.label}: found flag`));
      grads.forEach((g, k) => {
        const expected = Float32Array.from(g, (v) => Math.fround(v * inverse));
        assert.equal(Array.from(bitsOf(out[k]!)), Array.from(bitsOf(expected)), context(`${WIDTHS[w]}, ${c.label}: gradient ${k} of ${grads.length} (${g.length} elements)`));
      });
    });
  }
});

/** A parameter set, its optimizer and scaler on one path; gradients are set by hand, already scaled. */
interface Run {
  params: Parameter[];
  optimizer: optim.AnyOptimizer;
  scaler: optim.GradScaler;
}

function makeRun(initial: Float32Array[], shapes: number[][], kind: 'sgd' | 'adam'): Run {
  const params = initial.map((values, i) => new Parameter(shapes[i]!, values));
  const optimizer = kind === 'adam' ? new optim.Adam(params, { lr: 0.01, weightDecay: 0.01 }) : new optim.SGD(params, { lr: 0.1, momentum: 0.9, weightDecay: 0.01 });
  return { params, optimizer, scaler: new optim.GradScaler({ initScale: 2 ** 10, growthInterval: 2 }) };
}

async function scaledStep(run: Run, path: KernelChoices['gradUnscale'], grads: Float32Array[]): Promise<void> {
  await run.scaler.settle();
  const scale = run.scaler.scale;
  run.params.forEach((p, i) => {
    p.grad?.dispose();
    p.grad = untrack(tensor(Float32Array.from(grads[i]!, (v) => v * scale), p.shape));
  });
  await gpu().policy.with({ gradUnscale: path }, () => run.scaler.step(run.optimizer));
  await run.scaler.settle();
}

const valuesOf = (run: Run) => Promise.all(run.params.map((p) => p.toArray()));

test('GradScaler on both paths, SGD momentum and Adam: a step with an inf / NaN gradient updates no parameter (a first step creates no state), the scale backs off; growth after the interval; the two paths agree bit for bit', async () => {
  for (const kind of ['adam', 'sgd'] as const) {
    const count = rng.int(UNSCALE_SLOTS + 1, 2 * UNSCALE_SLOTS + 3);
    const shapes = Array.from({ length: count }, () => [rng.int(1, 9), rng.int(1, 40)]);
    const initial = shapes.map((shape) => Float32Array.from(ref.randn(rng, shape).data));
    const runs = PATHS.map(() => makeRun(initial, shapes, kind));
    // Step 1 overflows (the first step: no state may remain), 2-3 are finite (the scale grows after 3), 4 holds NaN, 5-6 finite.
    const plan: (number | undefined)[] = [Infinity, undefined, undefined, NaN, undefined, -Infinity, undefined];
    let expectedScale = 2 ** 10, tracker = 0, skipped = 0;
    for (const [s, plant] of plan.entries()) {
      const grads = shapes.map((shape) => Float32Array.from(ref.randn(rng, shape).data));
      if (plant !== undefined) grads[rng.int(0, count - 1)]![0] = plant;
      const before = await valuesOf(runs[0]!);
      for (const [r, run] of runs.entries()) await scaledStep(run, PATHS[r]!, grads);
      const what = (x: string) => context(`${kind}, step ${s + 1}${plant === undefined ? '' : ` (${plant} planted)`}: ${x}`);
      if (plant === undefined) {
        if (++tracker === 2) [expectedScale, tracker] = [expectedScale * 2, 0];
      } else {
        [expectedScale, tracker, skipped] = [expectedScale / 2, 0, skipped + 1];
      }
      for (const [r, run] of runs.entries()) {
        assert.equal(run.scaler.stateDict(), { scale: expectedScale, growthTracker: tracker, skippedSteps: skipped }, what(`${PATHS[r]} scaler state`));
        if (plant !== undefined) assert.equal(await valuesOf(run), before, what(`${PATHS[r]}: no parameter moved`));
        if (s === 0) assert.equal(Object.keys(run.optimizer.stateDict().state), [], what(`${PATHS[r]}: the skipped first step left no optimizer state`));
      }
      const [reference, onDevice] = await Promise.all(runs.map(valuesOf));
      reference!.forEach((values, i) => assert.equal(Array.from(bitsOf(onDevice![i]!)), Array.from(bitsOf(values)), what(`parameter ${i}: onDevice's bits = perTensor's`)));
      const [referenceState, onDeviceState] = await Promise.all(runs.map((run) => run.optimizer.exportState()));
      assert.equal(onDeviceState, referenceState, what('optimizer state (step counts, moments / momentum)'));
    }
    for (const run of runs) {
      run.optimizer.zeroGrad();
      run.optimizer.dispose();
      run.scaler.dispose();
      for (const p of run.params) p.dispose();
    }
  }
});

test('GradScaler.unscale() then step(), as torch\'s unscale_() before clipping: the step takes the gradients as unscaled (not divided again), skips when unscale found inf / NaN; a second unscale() before the step is refused', async () => {
  for (const path of PATHS) {
    for (const kind of ['adam', 'sgd'] as const) {
      const shapes = Array.from({ length: rng.int(2, 5) }, () => [rng.int(1, 6), rng.int(1, 20)]);
      const initial = shapes.map((shape) => Float32Array.from(ref.randn(rng, shape).data));
      // The same steps twice: through unscale() then step(), and through step() alone.
      const [viaUnscale, direct] = [makeRun(initial, shapes, kind), makeRun(initial, shapes, kind)];
      const plan: (number | undefined)[] = [undefined, NaN, undefined];
      for (const [s, plant] of plan.entries()) {
        const grads = shapes.map((shape) => Float32Array.from(ref.randn(rng, shape).data));
        if (plant !== undefined) grads[rng.int(0, grads.length - 1)]![0] = plant;
        const what = (x: string) => context(`${path}, ${kind}, step ${s + 1}${plant === undefined ? '' : ` (${plant} planted)`}: ${x}`);
        const scale = viaUnscale.scaler.scale;
        viaUnscale.params.forEach((p, i) => {
          p.grad?.dispose();
          p.grad = untrack(tensor(Float32Array.from(grads[i]!, (v) => v * scale), p.shape));
        });
        const finite = await viaUnscale.scaler.unscale(viaUnscale.optimizer);
        assert.is(finite, plant === undefined, what('unscale() tells whether every gradient is finite'));
        const unscaled = await Promise.all(viaUnscale.params.map((p) => p.grad!.toArray()));
        unscaled.forEach((g, i) => assert.equal(Array.from(bitsOf(g)), Array.from(bitsOf(grads[i]!)), what(`gradient ${i} divided by the scale ${scale}`)));
        let refusal: unknown;
        await viaUnscale.scaler.unscale(viaUnscale.optimizer).catch((error: unknown) => (refusal = error));
        assert.match(String(refusal), /already called on this optimizer since its last scaler\.step\(\)/, what('a second unscale() refused'));
        await gpu().policy.with({ gradUnscale: path }, () => viaUnscale.scaler.step(viaUnscale.optimizer));
        await viaUnscale.scaler.settle();
        await scaledStep(direct, path, grads);
        const [got, expected] = await Promise.all([valuesOf(viaUnscale), valuesOf(direct)]);
        got.forEach((values, i) => assert.equal(Array.from(bitsOf(values)), Array.from(bitsOf(expected[i]!)), what(`parameter ${i}: unscale() + step() = step()`)));
        assert.equal(viaUnscale.scaler.stateDict(), direct.scaler.stateDict(), what('scaler state'));
      }
      for (const run of [viaUnscale, direct]) {
        run.optimizer.zeroGrad();
        run.optimizer.dispose();
        run.scaler.dispose();
        for (const p of run.params) p.dispose();
      }
    }
  }
});

test('GradScaler onDevice: the step waits for nothing — its state reads back at settle(), and until then scale / stateDict refuse with the fix; no tensor or byte left after dispose', async () => {
  const before = memory();
  const p = new Parameter([5], Float32Array.from(ref.randn(rng, [5]).data));
  const sgd = new optim.SGD([p], { lr: 0.5 });
  const scaler = new optim.GradScaler({ initScale: 4 });
  p.grad = untrack(tensor([1, 2, Infinity, 4, 5], [5]));
  await gpu().policy.with({ gradUnscale: 'onDevice' }, () => scaler.step(sgd));
  assert.throws(() => scaler.scale, /await scaler\.settle\(\) first/);
  assert.throws(() => scaler.stateDict(), /await scaler\.settle\(\) first/);
  await scaler.settle();
  assert.equal(scaler.stateDict(), { scale: 2, growthTracker: 0, skippedSteps: 1 });
  sgd.zeroGrad();
  sgd.dispose();
  scaler.dispose();
  p.dispose();
  const after = memory();
  assert.is(after.liveTensors, before.liveTensors, 'live tensors');
  assert.is(after.bytesInUse, before.bytesInUse, 'bytes in use');
});

test('GradScaler onDevice per quad: an inf / NaN in a gradient\'s last partial quad or in its whole quads skips the step after a finite one (no parameter moves, step counts back), the scale halves; the next step runs; the same bits as perTensor', async () => {
  for (const where of ['tail', 'quads'] as const) {
    const count = rng.int(3, 2 * UNSCALE_SLOTS);
    const shapes = Array.from({ length: count }, () => [rng.int(1, 9), rng.int(1, 40)]);
    const planted = rng.int(0, count - 1);
    shapes[planted] = [2 * rng.int(1, 8) + 1, 4 * rng.int(1, 10) + 1]; // odd x (4m + 1): a partial last quad after whole ones
    const size = shapes[planted]![0]! * shapes[planted]![1]!;
    const initial = shapes.map((shape) => Float32Array.from(ref.randn(rng, shape).data));
    const runs = PATHS.map(() => makeRun(initial, shapes, 'adam'));
    const value = [Infinity, -Infinity, NaN][rng.int(0, 2)]!;
    for (let s = 0; s < 3; s++) {
      const grads = shapes.map((shape) => Float32Array.from(ref.randn(rng, shape).data));
      if (s === 1) grads[planted]![where === 'tail' ? size - 1 : rng.int(0, size - 1 - (size % 4))] = value;
      const before = await valuesOf(runs[0]!);
      const what = (x: string) => context(`${where}, step ${s + 1}${s === 1 ? ` (${value} planted in parameter ${planted} of ${size} elements)` : ''}: ${x}`);
      for (const [r, run] of runs.entries()) {
        const scaleBefore = run.scaler.scale;
        await scaledStep(run, PATHS[r]!, grads);
        const moved = (await valuesOf(run)).some((values, i) => values.some((v, j) => v !== before[i]![j]));
        assert.is(moved, s !== 1, what(`${PATHS[r]}: parameters moved`));
        if (s === 1) {
          assert.equal(run.scaler.stateDict(), { scale: scaleBefore / 2, growthTracker: 0, skippedSteps: 1 }, what(`${PATHS[r]}: scale halved, one step skipped`));
          assert.equal(Object.values(run.optimizer.stateDict().state).map((state) => state.step), shapes.map(() => 1), what(`${PATHS[r]}: step counts back to 1`));
        }
      }
      const [reference, onDevice] = await Promise.all(runs.map(valuesOf));
      reference!.forEach((values, i) => assert.equal(Array.from(bitsOf(onDevice![i]!)), Array.from(bitsOf(values)), what(`parameter ${i}: onDevice's bits = perTensor's`)));
    }
    for (const run of runs) {
      run.optimizer.zeroGrad();
      run.optimizer.dispose();
      run.scaler.dispose();
      for (const p of run.params) p.dispose();
    }
  }
});

/** Submits made by one warm training step that ends in a sync (as bench --step's, or a read of its losses). */
async function submitsPerStep(workload: StepWorkload): Promise<number> {
  const step = async () => {
    const losses = await workload.step();
    await gpu().sync();
    losses.dispose();
  };
  await step(); // pipelines compiled, buffers pooled
  await step();
  const before = gpu().counters.submits;
  await step();
  return gpu().counters.submits - before;
}

test('a float16 training step with loss scaling on the device submits no more often than the float32 step (LightCNN-9, FaPE-GAN): the scalers\' checks ride the step\'s own submit', async () => {
  const workloads = {
    'LightCNN-9': (precision: 'f32' | 'f16') => lightcnnWorkload('lightcnn9', { inputSize: 32, width: 0.125, batch: 2, batchNorm: false, optimizer: 'sgd', classes: 7, precision }),
    'FaPE-GAN': (precision: 'f32' | 'f16') => ganWorkload('fapegan', { imageSize: 24, baseWidth: 4, residualBlocks: 1, batch: 2, precision }),
  };
  for (const [name, make] of Object.entries(workloads)) {
    const submits: Record<string, number> = {};
    for (const precision of ['f32', 'f16'] as const) {
      const workload = make(precision);
      try {
        submits[precision] = await gpu().policy.with({ gradUnscale: 'onDevice' }, () => submitsPerStep(workload));
      } finally {
        workload.free();
      }
    }
    assert.ok(submits.f16! <= submits.f32!, context(`${name}: ${submits.f16} submits per float16 step, ${submits.f32} per float32 step`));
  }
});

/** A tiny float16 FaPE-GAN session whose scalers start high (2^20) and grow every 2 steps, so that steps overflow. */
function ganSession(): FaPEGanSession {
  manualSeed(3);
  const session = createFaPEGanSession({ channels: 1, imageSize: 24, baseWidth: 4, residualBlocks: 1 }, { epochs: 1, batchSize: 2, seed: 3, precision: 'f16' });
  session.scalerG?.dispose();
  session.scalerD?.dispose();
  session.scalerG = new optim.GradScaler({ initScale: 2 ** 20, growthInterval: 2 });
  session.scalerD = new optim.GradScaler({ initScale: 2 ** 20, growthInterval: 2 });
  return session;
}

test('a float16 FaPE-GAN trains to the same bits on both paths, overflowing steps skipped alike', async () => {
  const shape = [2, 1, 24, 24];
  const images = [0, 1, 2].map(() => tensor(Float32Array.from(ref.randn(rng, shape).data, (v) => Math.tanh(v)), shape));
  const [source, mask, target] = images as [Tensor, Tensor, Tensor];
  const results: { weights: Float32Array[]; losses: number[]; scalers: unknown }[] = [];
  for (const path of PATHS) {
    const session = ganSession();
    const losses: number[] = [];
    await gpu().policy.with({ gradUnscale: path }, async () => {
      for (let step = 0; step < 8; step++) {
        const { dLoss, gGan, l1 } = await ganStepLosses(session, source, mask, target);
        for (const loss of [dLoss, gGan, l1]) {
          losses.push(await loss.item());
          loss.dispose();
        }
      }
    });
    await session.scalerG!.settle();
    await session.scalerD!.settle();
    const weights = await Promise.all([...session.generator.parameters(), ...session.discriminator.parameters()].map((q) => q.toArray()));
    results.push({ weights, losses, scalers: { G: session.scalerG!.stateDict(), D: session.scalerD!.stateDict() } });
    freeSession(session);
  }
  const [reference, onDevice] = results as [(typeof results)[0], (typeof results)[0]];
  const skipped = (reference.scalers as { G: optim.GradScalerState; D: optim.GradScalerState }).G.skippedSteps + (reference.scalers as { D: optim.GradScalerState }).D.skippedSteps;
  assert.ok(skipped > 0 && skipped < 16, context(`some steps overflow at scale 2^20 and some run: ${JSON.stringify(reference.scalers)}`));
  assert.equal(onDevice.scalers, reference.scalers, context('scaler states'));
  assert.equal(onDevice.losses, reference.losses, context('losses'));
  reference.weights.forEach((w, i) => assert.equal(Array.from(bitsOf(onDevice.weights[i]!)), Array.from(bitsOf(w)), context(`parameter ${i}`)));
  for (const t of images) t.dispose();
});

test.run();
