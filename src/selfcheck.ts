// A quick kernel self-check: a handful of ops and gradients against plain host arithmetic.
// Browser-safe; run by `webfer selfcheck`, the demo and the browser smoke test.
import * as F from './nn/functional/index.js';
import { gpu } from './gpu/index.js';
import { tensor } from './tensor/creation.js';
import { scope } from './tensor/tensor.js';
import { Generator } from './tensor/random.js';

export interface CheckResult {
  name: string;
  ok: boolean;
  maxError: number;
  detail?: string;
}

function randomArray(rng: Generator, n: number): Float32Array {
  return Float32Array.from({ length: n }, () => rng.normal());
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

/** Runs each check; never throws for a wrong result (returns ok: false), only for a dead device. */
export async function selfCheck(seed = 1): Promise<CheckResult[]> {
  const rng = new Generator(seed);
  const results: CheckResult[] = [];
  const check = async (name: string, run: () => Promise<[ArrayLike<number>, ArrayLike<number>]>, tolerance = 1e-4) => {
    try {
      const [actual, expected] = await scope(run);
      const maxError = maxAbsDiff(actual, expected);
      results.push({ name, ok: maxError <= tolerance, maxError });
    } catch (error) {
      results.push({ name, ok: false, maxError: Infinity, detail: (error as Error).message });
    }
  };

  await check('read-back round trip', async () => {
    const values = randomArray(rng, 1000);
    return [await tensor(values, [10, 100]).toArray(), values];
  }, 0);

  await check('add with broadcasting', async () => {
    const a = randomArray(rng, 12);
    const b = randomArray(rng, 4);
    const expected = a.map((v, i) => v + b[i % 4]);
    return [await F.add(tensor(a, [3, 4]), tensor(b, [4])).toArray(), expected];
  });

  await check('matmul 33x17 @ 17x9', async () => {
    const [M, K, N] = [33, 17, 9];
    const a = randomArray(rng, M * K);
    const b = randomArray(rng, K * N);
    const expected = new Float64Array(M * N);
    for (let m = 0; m < M; m++) for (let n = 0; n < N; n++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += a[m * K + k] * b[k * N + n];
      expected[m * N + n] = s;
    }
    return [await F.matmul(tensor(a, [M, K]), tensor(b, [K, N])).toArray(), expected];
  });

  await check('sum gradient', async () => {
    const values = randomArray(rng, 24);
    const x = tensor(values, [2, 3, 4], { requiresGrad: true });
    F.sum(F.mul(x, x)).backward();
    return [await x.grad!.toArray(), values.map((v) => 2 * v)];
  });

  await check('softmax rows sum to one', async () => {
    const x = tensor(randomArray(rng, 35), [5, 7]);
    const rows = await F.sum(F.softmax(x, 1), 1).toArray();
    return [rows, new Float32Array(5).fill(1)];
  });

  await gpu().sync();
  return results;
}
