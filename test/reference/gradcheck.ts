// Finite-difference gradients of float64 references: the oracle for every backward rule.
import { assertClose } from './assert.js';
import { type T64, clone, sameShape, zeros } from './tensor64.js';

function dot(y: T64, gradOut: T64): number {
  if (!sameShape(y.shape, gradOut.shape)) throw new Error(`numericGrad: f returned [${y.shape}] but gradOut is [${gradOut.shape}]`);
  let s = 0;
  for (let i = 0; i < y.data.length; i++) s += y.data[i] * gradOut.data[i];
  return s;
}

/**
 * d/d inputs[wrt] of Σ f(inputs) · gradOut by central differences
 * (f(x + eps) - f(x - eps)) / 2eps, element by element. The inputs are not modified.
 */
export function numericGrad(f: (inputs: T64[]) => T64, inputs: T64[], wrt: number, gradOut: T64, eps = 1e-6): T64 {
  if (wrt < 0 || wrt >= inputs.length) throw new Error(`numericGrad: wrt ${wrt} outside the ${inputs.length} inputs`);
  const args = inputs.map((x, i) => (i === wrt ? clone(x) : x));
  const x = args[wrt];
  const grad = zeros(x.shape);
  for (let i = 0; i < x.data.length; i++) {
    const orig = x.data[i];
    x.data[i] = orig + eps;
    const plus = dot(f(args), gradOut);
    x.data[i] = orig - eps;
    const minus = dot(f(args), gradOut);
    x.data[i] = orig;
    grad.data[i] = (plus - minus) / (2 * eps);
  }
  return grad;
}

/** numericGrad for every input (or the listed ones; others get null). */
export function numericGrads(f: (inputs: T64[]) => T64, inputs: T64[], gradOut: T64, wrt?: number[], eps = 1e-6): (T64 | null)[] {
  return inputs.map((_, i) => (wrt === undefined || wrt.includes(i) ? numericGrad(f, inputs, i, gradOut, eps) : null));
}

/**
 * Checks analytic gradients (e.g. read back from the GPU) against numericGrad for each input
 * with a non-null entry in `analytic`. The context gets ` d/d input k` appended on failure.
 */
export function assertGradsClose(
  f: (inputs: T64[]) => T64,
  inputs: T64[],
  gradOut: T64,
  analytic: (ArrayLike<number> | T64 | null | undefined)[],
  opts: { rtol?: number; atol?: number; eps?: number; context: string },
): void {
  analytic.forEach((a, k) => {
    if (a === null || a === undefined) return;
    const expected = numericGrad(f, inputs, k, gradOut, opts.eps);
    assertClose(a, expected, { rtol: opts.rtol, atol: opts.atol, context: `${opts.context} d/d input ${k} [${inputs[k].shape}]` });
  });
}
