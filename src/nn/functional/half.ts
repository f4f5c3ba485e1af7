// float16 tensors through the ops written for float32, as PyTorch runs them: PyTorch computes an
// op on float16 tensors in float32 (its "opmath" type) and rounds the result to float16 once. Here
// each float16 operand is widened (exact), the float32 op runs, and its result is rounded to float16
// by the cast kernel (nearest, ties to even, as torch's .half()), so results match PyTorch's to the
// last bit wherever the op itself does. The casts are ops of the graph, so gradients come back in
// each input's own dtype. The GEMM-shaped ops (conv, matmul, linear) read float16 natively instead,
// and so do the elementwise ops, activations, pad, cat, slice, permute and expand where every tensor
// operand is float16 (acceptsHalfNatively): their float16 kernels (unary_half, binary_half, pad_half:
// 32-bit words of two elements, rounded by the cast kernel's halfBits; fill and strided copy's f16
// builds) compute the same f32 expression and round once on store — the widening path's bits
// without its cast passes.
import { gpu } from '../../gpu/index.js';
import { Tensor, type DType } from '../../tensor/tensor.js';

/**
 * Which dtype the result takes when an operand is float16:
 * - 'promote': torch.result_type over the tensor operands (float16 unless a float32 tensor of rank > 0
 *   takes part, or only rank-0 tensors take part and one of them is float32); numbers do not promote.
 * - 'input': the first operand's (normalisation layers: float32 parameters and statistics with a
 *   float16 input give a float16 result, as torch's batch_norm does).
 */
export type HalfResult = 'promote' | 'input';

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype;

const isHalf = (value: unknown): value is Tensor => value instanceof Tensor && value.dtype === 'float16';

/** Whether a float16 tensor is among the arguments, without allocating: every F call on float32 asks. */
function anyHalf(args: readonly unknown[]): boolean {
  for (const arg of args) {
    if (isHalf(arg)) return true;
    if (Array.isArray(arg)) {
      if (arg.some(isHalf)) return true;
    } else if (isPlainObject(arg)) {
      for (const key in arg) if (isHalf(arg[key])) return true;
    }
  }
  return false;
}

/** Every tensor among the arguments: direct, in arrays (cat), and in options objects (class weights). */
function tensorsIn(args: readonly unknown[]): Tensor[] {
  const found: Tensor[] = [];
  for (const arg of args) {
    if (arg instanceof Tensor) found.push(arg);
    else if (Array.isArray(arg)) found.push(...arg.filter((item): item is Tensor => item instanceof Tensor));
    else if (isPlainObject(arg)) found.push(...Object.values(arg).filter((item): item is Tensor => item instanceof Tensor));
  }
  return found;
}

/** torch.result_type's rule for float tensors: rank > 0 operands decide; rank-0 ones only when there are no others. */
function promotedDtype(tensors: readonly Tensor[]): DType {
  const dimensioned = tensors.filter((t) => t.rank > 0);
  const deciding = dimensioned.length > 0 ? dimensioned : tensors;
  return deciding.some((t) => t.dtype === 'float32') ? 'float32' : 'float16';
}

/**
 * Runs `op` with every float16 tensor argument widened to float32, then hands its result to `finish`
 * with the dtype the result should take and a function that maps a float32 result tensor to it.
 * With no float16 argument, `op` runs on the arguments as they are.
 */
function inFloat32<A extends unknown[], R>(args: A, op: (...args: A) => R, rule: HalfResult, finish: (result: R, narrow: (t: Tensor) => Tensor) => R, native: readonly number[] = []): R {
  if (!anyHalf(args)) return op(...args);
  const tensors = tensorsIn(args);
  const resultDtype = rule === 'input' ? tensors[0].dtype : promotedDtype(tensors);
  const originals = new Map<Tensor, Tensor>();
  const widen = (value: unknown): unknown => {
    if (!isHalf(value)) return value;
    const wide = value.float();
    originals.set(wide, value);
    return wide;
  };
  const widened = args.map((arg, i) => {
    if (native.includes(i)) return arg;
    if (Array.isArray(arg)) return arg.map(widen);
    if (isPlainObject(arg)) return Object.fromEntries(Object.entries(arg).map(([key, value]) => [key, widen(value)]));
    return widen(arg);
  }) as A;
  const temporaries: Tensor[] = [...originals.keys()];
  try {
    return finish(op(...widened), (t) => {
      // An op that hands an operand back unchanged (dropout in eval mode) hands back the caller's tensor.
      const original = originals.get(t);
      if (original) return original;
      if (resultDtype === 'float32' || t.dtype !== 'float32') return t;
      temporaries.push(t);
      return t.half();
    });
  } finally {
    // The graph keeps what backward needs (saved tensors hold their storage): the float32 handles go now.
    for (const t of temporaries) t.dispose();
  }
}

/**
 * `op` taking float16 tensors too (see the file's head); its tensor result follows `rule`. The
 * arguments at the `native` positions go in as they are: the op reads float16 there itself (the
 * norms' input), and its float16 result is kept.
 */
export function acceptsHalf<A extends unknown[]>(op: (...args: A) => Tensor, rule: HalfResult = 'promote', native: readonly number[] = []): (...args: A) => Tensor {
  return (...args: A) => inFloat32(args, op, rule, (result, narrow) => narrow(result), native);
}

/**
 * `op` reading and writing float16 itself where every tensor argument is float16 (the result float16,
 * the gradients float16, each computed in f32 and rounded once per op, as PyTorch's float16 ops do);
 * arguments mixing float16 and float32 go through acceptsHalf's widening (promotion by torch.result_type).
 * The kernel policy's halfOps 'widen' sends every float16 call through the widening path (the reference),
 * and so does an adapter without shader-f16 (the cast kernels need none).
 */
export function acceptsHalfNatively<A extends unknown[]>(op: (...args: A) => Tensor): (...args: A) => Tensor {
  const widening = acceptsHalf(op);
  return (...args: A) => {
    if (!anyHalf(args) || !tensorsIn(args).every(isHalf) || !nativeHalfOps()) return widening(...args);
    return op(...args);
  };
}

const nativeHalfOps = (): boolean => gpu().policy.get('halfOps') === 'native' && gpu().device.features.has('shader-f16');

/** acceptsHalf for ops returning values and their indices: the values follow the input's dtype, the indices stay float32. */
export function acceptsHalfWithIndices<A extends unknown[]>(op: (...args: A) => { values: Tensor; indices: Tensor }): (...args: A) => { values: Tensor; indices: Tensor } {
  return (...args: A) => inFloat32(args, op, 'input', ({ values, indices }, narrow) => ({ values: narrow(values), indices }));
}

/** acceptsHalf for ops whose result is indices (argmax): float16 inputs are read, the result stays float32. */
export function acceptsHalfReturningIndices<A extends unknown[]>(op: (...args: A) => Tensor): (...args: A) => Tensor {
  return (...args: A) => inFloat32(args, op, 'input', (result) => result);
}
