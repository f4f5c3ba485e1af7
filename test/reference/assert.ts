// Closeness checks whose failures say what, where and by how much.
import { type T64, unravel } from './tensor64.js';

export interface CloseOptions {
  /** Relative tolerance (default 1.3e-6, torch.testing's float32 value). */
  rtol?: number;
  /** Absolute tolerance (default 1e-5, torch.testing's float32 value). */
  atol?: number;
  /** Seed, op and shapes: printed first in the failure message. */
  context: string;
}

const isT64 = (x: unknown): x is T64 => typeof x === 'object' && x !== null && 'shape' in x && 'data' in x;

/**
 * Passes when every |actual - expected| <= atol + rtol·|expected| (torch.isclose), NaN matches
 * only NaN and an infinity only the same infinity. Otherwise throws naming the context, the
 * worst element (flat and multi-index), both values, the max abs/rel errors and the count.
 */
export function assertClose(actual: ArrayLike<number> | T64, expected: T64 | ArrayLike<number>, opts: CloseOptions): void {
  const rtol = opts.rtol ?? 1.3e-6;
  const atol = opts.atol ?? 1e-5;
  const a = isT64(actual) ? actual.data : actual;
  const e = isT64(expected) ? expected.data : expected;
  const shape = isT64(expected) ? expected.shape : isT64(actual) ? actual.shape : undefined;
  if (isT64(actual) && isT64(expected) && (actual.shape.length !== expected.shape.length || actual.shape.some((d, i) => d !== expected.shape[i]))) {
    throw new Error(`${opts.context}: shape mismatch: actual [${actual.shape}], expected [${expected.shape}]`);
  }
  if (a.length !== e.length) {
    throw new Error(`${opts.context}: length mismatch: actual has ${a.length} elements, expected ${e.length}${shape ? ` (shape [${shape}])` : ''}`);
  }
  let bad = 0;
  let worst = -1;
  let worstExcess = -Infinity;
  let maxAbs = 0;
  let maxRel = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = e[i];
    let excess: number;
    if (Number.isNaN(x) || Number.isNaN(y)) {
      excess = Number.isNaN(x) && Number.isNaN(y) ? -Infinity : Infinity;
    } else if (!Number.isFinite(x) || !Number.isFinite(y)) {
      excess = x === y ? -Infinity : Infinity;
    } else {
      const diff = Math.abs(x - y);
      maxAbs = Math.max(maxAbs, diff);
      if (y !== 0) maxRel = Math.max(maxRel, diff / Math.abs(y));
      excess = diff - (atol + rtol * Math.abs(y));
    }
    if (excess > 0) bad++;
    if (excess > worstExcess) {
      worstExcess = excess;
      worst = i;
    }
  }
  if (bad === 0) return;
  const where = shape && shape.length > 0 ? ` [${unravel(worst, shape).join(', ')}]` : '';
  throw new Error(
    `${opts.context}: ${bad} of ${a.length} elements not close (rtol ${rtol}, atol ${atol}); ` +
      `worst at flat index ${worst}${where}: actual ${a[worst]}, expected ${e[worst]}; ` +
      `max abs error ${maxAbs.toExponential(3)}, max rel error ${maxRel.toExponential(3)}`,
  );
}

export function assertShape(actual: readonly number[], expected: readonly number[], context: string): void {
  if (actual.length !== expected.length || actual.some((d, i) => d !== expected[i])) {
    throw new Error(`${context}: shape mismatch: actual [${actual}], expected [${expected}]`);
  }
}

export { randomConvCase, randomConvTransposeCase, randomPoolCase } from './cases.js';
export type { ConvCase, ConvTransposeCase, PoolCase } from './cases.js';
