// matmul (1-D, 2-D, batched with broadcasting) and linear (bias, fused relu), on both matmul
// kernel variants, at odd sizes that leave partial 64 x 64 tiles and K not a multiple of 16.
import { test } from 'uvu';
import { F, tensor } from '../../src/index.js';
import type { MatmulVariant } from '../../src/kernels/matmul.js';
import { gpu } from '../../src/gpu/index.js';
import { checkOp, draw, fileRng, ref, roundF32, setup, throwsWith, type T64 } from './helpers.js';

const rng = fileRng('linalg');
await setup();

const linearRelu64 = (x: T64, w: T64, b?: T64): T64 => ref.relu(ref.linear(x, w, b));

/**
 * x, w, b (f32 values) whose pre-activations all lie at least 1e-3 from relu's kink, so that
 * neither f32 rounding nor a finite-difference step crosses it. Redraws until they do.
 */
function reluCase(xShape: number[], outF: number, inF: number, withBias: boolean): [T64, T64, T64] {
  for (let attempt = 0; attempt < 100; attempt++) {
    const x = roundF32(ref.randn(rng, xShape));
    const w = roundF32(ref.randn(rng, [outF, inF], 1 / Math.sqrt(inF)));
    const b = roundF32(withBias ? ref.randn(rng, [outF]) : ref.zeros([outF]));
    if (ref.linear(x, w, b).data.every((v) => Math.abs(v) > 1e-3)) return [x, w, b];
  }
  throw new Error('reluCase: no draw kept every pre-activation off zero');
}

/** Products in float32 over K terms: absolute error grows like sqrt(K) times the term size. */
const tolerance = (K: number) => ({ rtol: 1e-4, atol: 2e-6 * Math.max(1, Math.sqrt(K)) });

for (const variant of ['registerTiled', 'workgroupTiled'] as MatmulVariant[]) {
  test(`matmul (${variant}): 2-D at odd sizes, across tile edges`, async () => {
    gpu().policy.set({ matmul: variant });
    try {
      const sizes: [number, number, number][] = [
        [1, 1, 1],
        [rng.int(2, 9), rng.int(2, 9), rng.int(2, 9)],
        // Finite differences cost (M K + K N) M K N: big M and N only with a small K.
        [rng.int(60, 70), rng.int(2, 5), rng.int(60, 70)],
        [rng.int(3, 7), rng.int(17, 40), rng.int(65, 80)],
        [rng.int(2, 5), rng.int(60, 70), rng.int(2, 5)],
        [rng.int(129, 140), rng.int(1, 3), rng.int(1, 5)],
      ];
      for (const [M, K, N] of sizes) {
        await checkOp({ name: `matmul ${variant}`, rng, inputs: [[M, K], [K, N]], forward: ([a, b]) => F.matmul(a, b), reference: ([a, b]) => ref.matmul(a, b), ...tolerance(K) });
      }
    } finally {
      gpu().policy.set({ matmul: undefined });
    }
  });

  test(`matmul (${variant}): 1-D operands and batched broadcasting both ways`, async () => {
    gpu().policy.set({ matmul: variant });
    try {
      const [M, K, N] = [rng.int(2, 7), rng.int(3, 19), rng.int(2, 9)];
      const cases: [number[], number[]][] = [
        [[K], [K]],
        [[K], [K, N]],
        [[M, K], [K]],
        [[K], [3, K, N]],
        [[2, M, K], [K]],
        [[3, M, K], [3, K, N]],
        [[3, M, K], [K, N]],
        [[M, K], [2, K, N]],
        [[2, 1, M, K], [3, K, N]],
        [[1, 3, M, K], [2, 1, K, N]],
        [[2, 3, M, K], [3, K, N]],
      ];
      for (const [a, b] of cases) {
        await checkOp({ name: `matmul ${variant}`, rng, inputs: [a, b], forward: ([x, y]) => F.matmul(x, y), reference: ([x, y]) => ref.matmul(x, y), ...tolerance(K) });
      }
    } finally {
      gpu().policy.set({ matmul: undefined });
    }
  });

  test(`linear (${variant}): with and without bias, fused relu, batched input`, async () => {
    gpu().policy.set({ matmul: variant });
    try {
      for (const [xShape, outF] of [[[rng.int(1, 9), rng.int(3, 37)], rng.int(2, 20)], [[2, rng.int(2, 5), rng.int(3, 20)], rng.int(2, 20)], [[rng.int(3, 20)], rng.int(2, 20)], [[3, 5], rng.int(65, 70)]] as [number[], number][]) {
        const inF = xShape[xShape.length - 1];
        const tol = tolerance(inF);
        await checkOp({ name: 'linear', rng, inputs: [xShape, [outF, inF], [outF]], forward: ([x, w, b]) => F.linear(x, w, b), reference: ([x, w, b]) => ref.linear(x, w, b), ...tol });
        await checkOp({ name: 'linear no bias', rng, inputs: [xShape, [outF, inF]], forward: ([x, w]) => F.linear(x, w), reference: ([x, w]) => ref.linear(x, w), ...tol });
        for (const withBias of [true, false]) {
          const [x, w, b] = reluCase(xShape, outF, inF, withBias);
          const fixed = (t: T64) => ({ shape: t.shape, draw: () => t });
          await checkOp({
            name: `linear relu${withBias ? '' : ' no bias'}`,
            rng,
            inputs: withBias ? [fixed(x), fixed(w), fixed(b)] : [fixed(x), fixed(w)],
            forward: ([xt, wt, bt]) => F.linear(xt, wt, bt, 'relu'),
            reference: ([x64, w64, b64]) => linearRelu64(x64, w64, b64),
            ...tol,
          });
        }
      }
    } finally {
      gpu().policy.set({ matmul: undefined });
    }
  });
}

test('linear with an operand that needs no gradient', async () => {
  await checkOp({ name: 'linear (x constant)', rng, inputs: [{ shape: [5, 7], requiresGrad: false }, [3, 7], [3]], forward: ([x, w, b]) => F.linear(x, w, b), reference: ([x, w, b]) => ref.linear(x, w, b) });
  await checkOp({ name: 'linear (w constant)', rng, inputs: [[5, 7], { shape: [3, 7], requiresGrad: false }, { shape: [3], draw: draw.normal }], forward: ([x, w, b]) => F.linear(x, w, b), reference: ([x, w, b]) => ref.linear(x, w, b) });
  await checkOp({ name: 'matmul (b constant)', rng, inputs: [[2, 4, 6], { shape: [6, 3], requiresGrad: false }], forward: ([a, b]) => F.matmul(a, b), reference: ([a, b]) => ref.matmul(a, b) });
});

test('matmul and linear shape errors', () => {
  const a = tensor(new Float32Array(12), [3, 4]);
  const b = tensor(new Float32Array(15), [5, 3]);
  throwsWith(() => F.matmul(a, b), /matmul: shapes \[3, 4\] and \[5, 3\] do not multiply \(inner dimensions 4 and 5\)/, 'matmul inner');
  throwsWith(() => F.matmul(tensor(new Float32Array(24), [2, 3, 4]), tensor(new Float32Array(36), [3, 4, 3])), /do not broadcast/, 'matmul batch');
  throwsWith(() => F.linear(a, b), /linear: input \[3, 4\] does not match weight \[5, 3\]/, 'linear');
  throwsWith(() => F.linear(a, tensor(new Float32Array(8), [2, 4]), tensor(new Float32Array(3), [3])), /bias \[3\] should be \[2\]/, 'linear bias');
});

test.run();
