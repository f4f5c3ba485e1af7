// The op-test harness: draw inputs, run the GPU op, compare the forward with the float64
// reference, backprop a random gradient and compare every input gradient with central finite
// differences of that reference. One op test is one checkOp call (tinygrad-style).
import * as assert from 'uvu/assert';
import { init, memory, scope, tensor, type Tensor } from '../../src/index.js';
import { gpu } from '../../src/gpu/index.js';
import * as ref from '../reference/index.js';
import { type T64, Rng } from '../reference/index.js';

export { ref, Rng, type T64 };

/** Draws the values of one input (float64, rounded to f32 by the harness). */
export type Draw = (rng: Rng, shape: number[]) => T64;

export const draw = {
  normal: (rng: Rng, shape: number[]): T64 => ref.randn(rng, shape),
  /** Strictly positive, away from 0 (log, sqrt, pow with a non-integer exponent, divisors). */
  positive: (rng: Rng, shape: number[]): T64 => ref.randu(rng, shape, 0.5, 2),
  /** Normal, at least 0.05 from 0 (relu, abs, leakyRelu kinks). */
  awayFromZero: (rng: Rng, shape: number[]): T64 => ref.randnAwayFromZero(rng, shape, 0.05),
  /** Pairwise at least 0.1 apart and off 0 (max without ties). */
  distinct: (rng: Rng, shape: number[]): T64 => ref.randDistinct(rng, shape, 0.1),
  uniform: (lo: number, hi: number) => (rng: Rng, shape: number[]): T64 => ref.randu(rng, shape, lo, hi),
  /**
   * A bias [C] for a norm followed by max-feature-map: normal, plus 20 on one channel of each pair
   * (c, c + C/2), alternating which, so no pair is near a tie (normalised values times a weight of
   * at most 2 stay far below 20) and central differences never straddle the max's kink.
   */
  mfmSeparatingBias: (rng: Rng, shape: number[]): T64 => {
    const bias = ref.randn(rng, shape);
    const half = shape[0]! / 2;
    for (let pair = 0; pair < half; pair++) bias.data[pair % 2 === 0 ? pair : pair + half] += 20;
    return bias;
  },
};

export interface InputSpec {
  shape: number[];
  draw?: Draw;
  /** Default true: the input is a leaf with requiresGrad and its gradient is checked. */
  requiresGrad?: boolean;
}

export interface OpCase {
  name: string;
  /** Shapes (normal values, gradient checked) or full specs. */
  inputs: (number[] | InputSpec)[];
  forward: (ts: Tensor[]) => Tensor;
  reference: (xs: T64[]) => T64;
  rng: Rng;
  /** Forward tolerance (default rtol 1e-4, atol 1e-5 of the largest |value|). */
  rtol?: number;
  atol?: number;
  /** Gradient tolerance (default rtol 1e-3, atol 1e-4 of the largest |gradient|). */
  gradRtol?: number;
  gradAtol?: number;
  /** Skip the backward pass (ops without gradient). */
  forwardOnly?: boolean;
  /**
   * The central differences' step (default 1e-6). Ops with kinks (relu, max-feature-map) after a
   * norm move every output of a channel with each input: 1e-8 makes a step that straddles a kink
   * a hundred times rarer, and float64 differences stay accurate at it.
   */
  fdStep?: number;
  /**
   * Run forward inside scope(): for cases that compose several ops, whose intermediates the
   * caller owns. Single ops run outside any scope, so a temporary they forget shows as a leak.
   */
  scoped?: boolean;
}

let seedOfRun: number | undefined;

/** The run's seed (WEBFER_SEED replays it), printed in every failure. */
export function runSeed(): number {
  seedOfRun ??= ref.randomSeed();
  return seedOfRun;
}

/** A generator per test file, derived from the run's seed, so files replay independently. */
export function fileRng(file: string): Rng {
  let h = runSeed();
  for (let i = 0; i < file.length; i++) h = Math.imul(h ^ file.charCodeAt(i), 0x01000193) >>> 0;
  return new Rng(h);
}

export function context(what: string): string {
  return `${what} (seed ${runSeed()}; replay with WEBFER_SEED=${runSeed()})`;
}

/** Rounds to f32 so the GPU and the reference see the same numbers. */
export function roundF32(x: T64): T64 {
  return ref.map(x, (v) => Math.fround(v));
}

export function toTensor(x: T64, requiresGrad = false): Tensor {
  return tensor(Float32Array.from(x.data), x.shape, { requiresGrad });
}

/** The forward output and the gradient of every input for output gradient g (tensors freed after). */
export async function forwardAndGradients(f: (ts: Tensor[]) => Tensor, xs: T64[], g: T64): Promise<T64[]> {
  const inputs = xs.map((x) => toTensor(x, true));
  const gy = toTensor(g);
  const y = f(inputs);
  y.backward(gy);
  const out = [await toT64(y), ...(await Promise.all(inputs.map((t) => toT64(t.grad!))))];
  for (const t of [...inputs, gy, y]) t.dispose();
  return out;
}

/** The kernels one forward and backward of f ran on random inputs of these shapes, by name (a name once per launch). */
export async function kernelsRun(rng: Rng, f: (ts: Tensor[]) => Tensor, shapes: number[][]): Promise<string[]> {
  const inputs = shapes.map((shape) => toTensor(ref.randn(rng, shape), true));
  const { timings } = await gpu().profile(() => {
    const y = f(inputs);
    y.backward(toTensor(ref.randn(rng, [...y.shape])));
    y.dispose();
  });
  for (const t of inputs) t.dispose();
  return timings.flatMap((t) => Array<string>(t.calls).fill(t.name));
}

export async function toT64(t: Tensor): Promise<T64> {
  return { shape: [...t.shape], data: Float64Array.from(await t.toArray()) };
}

function maxAbs(x: T64): number {
  let m = 0;
  for (const v of x.data) if (Number.isFinite(v)) m = Math.max(m, Math.abs(v));
  return m;
}

/** assertClose with atol relative to the largest expected magnitude. */
export function assertNear(actual: T64 | ArrayLike<number>, expected: T64, what: string, rtol = 1e-4, atolScale = 1e-5): void {
  ref.assertClose(actual, expected, { rtol, atol: atolScale * Math.max(1, maxAbs(expected)), context: context(what) });
}

const shapeText = (shapes: number[][]) => shapes.map((s) => `[${s.join(', ')}]`).join(', ');

/**
 * Runs one op case outside any scope and checks: forward against the reference, every input
 * gradient against finite differences, and that disposing inputs, output and gradients returns
 * memory().bytesInUse and liveTensors to where they were (the op frees its own temporaries).
 */
export async function checkOp(c: OpCase): Promise<void> {
  const specs = c.inputs.map((s): InputSpec => (Array.isArray(s) ? { shape: s } : s));
  const label = `${c.name}(${shapeText(specs.map((s) => s.shape))})`;
  const before = memory();
  const xs = specs.map((s) => roundF32((s.draw ?? draw.normal)(c.rng, s.shape)));
  const expected = c.reference(xs);
  const inputs = xs.map((x, i) => toTensor(x, specs[i].requiresGrad ?? true));
  let y: Tensor | undefined;
  let gradOut: Tensor | undefined;
  try {
    y = c.scoped ? scope(() => c.forward(inputs)) : c.forward(inputs);
    assert.equal([...y.shape], expected.shape, context(`${label}: output shape`));
    assertNear(await toT64(y), expected, `${label}: forward`, c.rtol ?? 1e-4, c.atol ?? 1e-5);
    if (!c.forwardOnly) {
      const g = roundF32(ref.randn(c.rng, expected.shape));
      gradOut = toTensor(g);
      y.backward(gradOut);
      for (let i = 0; i < inputs.length; i++) {
        if (!(specs[i].requiresGrad ?? true)) continue;
        const numeric = ref.numericGrad(c.reference, xs, i, g, c.fdStep);
        const grad = inputs[i].grad;
        assert.ok(grad, context(`${label}: input ${i} got no gradient`));
        assert.equal([...grad!.shape], specs[i].shape, context(`${label}: gradient ${i} shape`));
        assertNear(await toT64(grad!), numeric, `${label}: gradient of input ${i}`, c.gradRtol ?? 1e-3, c.gradAtol ?? 1e-4);
      }
    }
  } finally {
    y?.dispose();
    gradOut?.dispose();
    for (const t of inputs) t.dispose();
  }
  const after = memory();
  assert.is(after.liveTensors, before.liveTensors, context(`${label}: live tensors after disposing everything (the op leaks ${after.liveTensors - before.liveTensors})`));
  assert.is(after.bytesInUse, before.bytesInUse, context(`${label}: bytes in use after disposing everything`));
}

/** Expects fn to throw an error whose message matches `pattern`. */
export function throwsWith(fn: () => unknown, pattern: RegExp, what: string): void {
  let error: unknown;
  try {
    fn();
  } catch (e) {
    error = e;
  }
  assert.ok(error instanceof Error, `${what}: expected an error matching ${pattern}, nothing was thrown`);
  assert.match((error as Error).message, pattern, `${what}: unexpected message`);
}

export async function setup(): Promise<void> {
  await init();
}
