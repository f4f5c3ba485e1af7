// Elementwise arithmetic and activations. Each op is its forward expression (WGSL, spliced into
// the unary / binary kernels) next to its backward rule; broadcasting gradients are summed back
// to the operand's shape with sumTo. A float16 tensor runs the kernels' float16 build (read as
// float16, computed in f32, rounded once on store), so gradients come back float16 too; F's wrappers
// (./half.ts) hand these functions operands of one dtype.
import { binary, unary } from '../../kernels/elementwise.js';
import { Tensor, record, scope } from '../../tensor/tensor.js';
import { generator } from '../../tensor/random.js';
import { sumTo } from './shape.js';
import { broadcastShapes, expectTensor, f32Literal, operandType, sameShape, storageOf, wrap } from './util.js';

export type Operand = Tensor | number;

function map(name: string, x: Tensor, expression: string, alpha = 0, beta = 0): Tensor {
  expectTensor(x, name);
  return Tensor.fromBuffer(unary(name, expression, storageOf(x), x.size, alpha, beta, 0, operandType(x.dtype)), x.shape, false, x.dtype);
}

function zip(name: string, a: Tensor, b: Tensor, expression: string, alpha = 0): Tensor {
  expectTensor(a, name, 'the first operand', true);
  expectTensor(b, name, 'the second operand', true);
  if (a.dtype !== b.dtype) throw new Error(`${name}: operands of two dtypes (${a.dtype}, ${b.dtype}) reached a one-dtype kernel; call it through F, which promotes them as torch.result_type does`);
  const shape = sameShape(a.shape, b.shape) ? a.shape : broadcastShapes(a.shape, b.shape, name);
  return Tensor.fromBuffer(binary(name, expression, storageOf(a), a.shape, storageOf(b), b.shape, shape, alpha, operandType(a.dtype)), shape, false, a.dtype);
}

export function neg(x: Tensor): Tensor {
  return record('neg', [x], map('neg', x, '-x'), [], (g) => [neg(g)]);
}

export function exp(x: Tensor): Tensor {
  const y = map('exp', x, 'exp(x)');
  return record('exp', [x], y, [y], (g) => [mul(g, y)]);
}

export function log(x: Tensor): Tensor {
  return record('log', [x], map('log', x, 'log(x)'), [x], (g) => [div(g, x)]);
}

export function sqrt(x: Tensor): Tensor {
  const y = map('sqrt', x, 'sqrt(x)');
  return record('sqrt', [x], y, [y], (g) => [zip('sqrtGrad', g, y, 'a * 0.5 / b')]);
}

export function abs(x: Tensor): Tensor {
  // d|x|/dx = sign(x), 0 at 0 (PyTorch).
  return record('abs', [x], map('abs', x, 'abs(x)'), [x], (g) => [zip('absGrad', g, x, 'a * sign(b)')]);
}

/**
 * Clamps to [min, max] (either may be absent), like torch.clamp: NaN stays NaN, a NaN bound
 * gives NaN everywhere, and min > max gives max. The gradient passes where x >= min (when given)
 * and x <= max (when given), PyTorch's clamp_backward: not at NaN, but at x = -inf for min = -inf.
 */
export function clamp(x: Tensor, min?: number, max?: number): Tensor {
  const lo = Math.fround(min ?? -Infinity);
  const hi = Math.fround(max ?? Infinity);
  // WGSL's max / min may drop a NaN operand, so NaN is passed on by the bits.
  const y = map('clamp', x, 'select(min(max(x, p.alpha), p.beta), x + p.alpha + p.beta, isNan(x) || isNan(p.alpha) || isNan(p.beta))', lo, hi);
  // A bound of ±inf is written as a NaN test: a literal inf is not WGSL, and ±FLT_MAX would cut ±inf.
  const bound = (given: number | undefined, value: number, test: string): string[] => {
    if (given === undefined) return [];
    if (Number.isNaN(value)) return ['false'];
    return [Math.abs(value) === Infinity ? '!isNan(b)' : `!isNan(b) && b ${test} ${f32Literal(value)}`];
  };
  const passes = [...bound(min, lo, '>='), ...bound(max, hi, '<=')];
  return record('clamp', [x], y, [x], (g) => [passes.length === 0 ? g : zip('clampGrad', g, x, `select(0.0, a, ${passes.join(' && ')})`)]);
}

/**
 * max(x, 0) with NaN passed on (WGSL's max may drop it). Backward as PyTorch's
 * threshold_backward(g, y, 0): zero where y <= 0, so at a NaN output the gradient passes.
 */
export function relu(x: Tensor): Tensor {
  const y = map('relu', x, reluExpression('x'));
  return record('relu', [x], y, [y], (g) => [zip('reluGrad', g, y, RELU_GRAD)]);
}

/** relu of a WGSL f32 expression `v`, NaN passed on as torch.relu does (WGSL's max may drop it). Kernels splicing it include is_nan. */
export const reluExpression = (v: string) => `select(max(${v}, 0.0), ${v}, isNan(${v}))`;

/** relu's gradient as a binary expression of a = upstream gradient, b = relu's output: threshold_backward(a, b, 0). */
export const RELU_GRAD = 'select(0.0, a, b > 0.0 || isNan(b))';

export function leakyRelu(x: Tensor, negativeSlope = 0.01): Tensor {
  const y = map('leakyRelu', x, 'select(x * p.alpha, x, x > 0.0)', negativeSlope);
  return record('leakyRelu', [x], y, [x], (g) => [zip('leakyReluGrad', g, x, 'select(a * p.alpha, a, b > 0.0)', negativeSlope)]);
}

export function sigmoid(x: Tensor): Tensor {
  // Written so that neither branch overflows: exp of a non-positive number only.
  const y = map('sigmoid', x, 'select(exp(x) / (1.0 + exp(x)), 1.0 / (1.0 + exp(-x)), x >= 0.0)');
  return record('sigmoid', [x], y, [y], (g) => [zip('sigmoidGrad', g, y, 'a * b * (1.0 - b)')]);
}

export function tanh(x: Tensor): Tensor {
  // WGSL's tanh is NaN for large |x| on some drivers; clamp first (tanh(15) == 1 in f32). The
  // clamp may turn NaN into ±15, so NaN is passed on by the bits.
  const y = map('tanh', x, 'select(tanh(clamp(x, -15.0, 15.0)), x, isNan(x))');
  return record('tanh', [x], y, [y], (g) => [zip('tanhGrad', g, y, 'a * (1.0 - b * b)')]);
}

/**
 * Inverted dropout: zeroes each element with probability p and scales the rest by 1 / (1 - p).
 * Identity when not training. The mask is a hash of (seed, index), so a seed reproduces it.
 */
export function dropout(x: Tensor, p = 0.5, training = true, seed?: number): Tensor {
  // Written so that NaN fails too (PyTorch: "dropout probability has to be between 0 and 1").
  if (!(p >= 0 && p <= 1)) throw new Error(`dropout: probability must be in [0, 1], got ${p}`);
  if (!training || p === 0) return x;
  if (p === 1) return mul(x, 0);
  const s = seed ?? generator().nextUint32();
  // p and the scale travel as parameters: one pipeline serves every probability.
  const mask = wrap(unary('dropoutMask', 'select(0.0, p.beta, uniform01(i, p.seed) >= p.alpha)', x.buffer, x.size, p, 1 / (1 - p), s), x.shape);
  const y = record('dropout', [x], zip('mul', x, mask, 'a * b'), [mask], (g) => [zip('mul', g, mask, 'a * b')]);
  mask.dispose();
  return y;
}

export function add(a: Operand, b: Operand): Tensor {
  if (typeof a === 'number' && typeof b === 'number') throw new Error('add: at least one operand must be a tensor');
  if (typeof a === 'number') return add(b, a);
  if (typeof b === 'number') return record('add', [a], map('addScalar', a, 'x + p.alpha', b), [], (g) => [g]);
  return record('add', [a, b], zip('add', a, b, 'a + b'), [], (g) => [sumTo(g, a.shape), sumTo(g, b.shape)]);
}

export function sub(a: Operand, b: Operand): Tensor {
  if (typeof a === 'number' && typeof b === 'number') throw new Error('sub: at least one operand must be a tensor');
  if (typeof b === 'number') return add(a, -b);
  if (typeof a === 'number') return record('rsub', [b], map('rsubScalar', b, 'p.alpha - x', a), [], (g) => [neg(g)]);
  return record('sub', [a, b], zip('sub', a, b, 'a - b'), [], (g) => [sumTo(g, a.shape), sumTo(neg(g), b.shape)]);
}

export function mul(a: Operand, b: Operand): Tensor {
  if (typeof a === 'number' && typeof b === 'number') throw new Error('mul: at least one operand must be a tensor');
  if (typeof a === 'number') return mul(b, a);
  if (typeof b === 'number') return record('mul', [a], map('mulScalar', a, 'x * p.alpha', b), [], (g) => [mul(g, b)]);
  return record('mul', [a, b], zip('mul', a, b, 'a * b'), [a, b], (g) => [a.requiresGrad ? sumTo(mul(g, b), a.shape) : undefined, b.requiresGrad ? sumTo(mul(g, a), b.shape) : undefined]);
}

export function div(a: Operand, b: Operand): Tensor {
  if (typeof a === 'number' && typeof b === 'number') throw new Error('div: at least one operand must be a tensor');
  if (typeof b === 'number') return mul(a, 1 / b);
  if (typeof a === 'number') {
    const y = map('rdivScalar', b, 'p.alpha / x', a);
    // d(c / x)/dx = -c / x^2 = -y / x
    return record('rdiv', [b], y, [y, b], (g) => [neg(div(mul(g, y), b))]);
  }
  const y = zip('div', a, b, 'a / b');
  return record('div', [a, b], y, [b, y], (g) => [
    a.requiresGrad ? sumTo(div(g, b), a.shape) : undefined,
    b.requiresGrad ? sumTo(neg(div(mul(g, y), b)), b.shape) : undefined,
  ]);
}

/** a ** b. A negative base with an integral scalar exponent follows the sign rule, like PyTorch. */
export function pow(a: Operand, b: Operand): Tensor {
  if (typeof a === 'number' && typeof b === 'number') throw new Error('pow: at least one operand must be a tensor');
  if (typeof b === 'number') {
    const x = a as Tensor;
    // x ** 0 is 1 everywhere and its gradient 0 (PyTorch), even where x ** -1 is infinite.
    if (b === 0) return record('pow', [x], map('powZero', x, '1.0', 0), [], (g) => [mul(g, 0)]);
    const y = map('powScalar', x, 'powReal(x, p.alpha)', b);
    return record('pow', [x], y, [x], (g) => [mul(g, mul(pow(x, b - 1), b))]);
  }
  if (typeof a === 'number') {
    const c = a;
    const y = map('rpowScalar', b, 'powReal(p.alpha, x)', c);
    // d(c ** x)/dx = c ** x · ln c; PyTorch takes it as 0 where c == 0 and x >= 0.
    return record('rpow', [b], y, [y, b], (g) => [c === 0 ? zip('rpowZeroGrad', g, b, 'select(a * b * p.alpha, 0.0, b >= 0.0)', -Infinity) : mul(mul(g, y), Math.log(c))]);
  }
  const y = zip('pow', a, b, 'powReal(a, b)');
  return record('pow', [a, b], y, [a, b, y], (g) => [
    // b · a ** (b - 1), taken as 0 where b == 0 (PyTorch), even where a ** -1 is infinite.
    a.requiresGrad ? sumTo(mul(g, zip('powBaseGrad', mul(b, pow(a, sub(b, 1))), b, 'select(a, 0.0, b == 0.0)')), a.shape) : undefined,
    // y · ln a, taken as 0 where a == 0 and b >= 0, like PyTorch.
    b.requiresGrad ? sumTo(mul(g, zip('powExponentGrad', mul(y, log(a)), zip('zeroBaseMask', a, b, 'select(1.0, 0.0, a == 0.0 && b >= 0.0)'), 'select(a, 0.0, b == 0.0)')), b.shape) : undefined,
  ]);
}

/**
 * Elementwise maximum like torch.maximum: NaN in either operand gives NaN (WGSL's max may drop
 * it, so NaN is passed on by the bits; torch.fmax would ignore it). Backward as PyTorch's:
 * where(a == b, g / 2, g) masked to 0 where a < b (for a; where a > b for b), so on a tie each
 * operand gets half and where either is NaN both get all of g.
 */
export function maximum(a: Tensor, b: Tensor): Tensor {
  const y = zip('maximum', a, b, 'select(select(max(a, b), b, isNan(b)), a, isNan(a))');
  return record('maximum', [a, b], y, [a, b], (g) => {
    // The NaN test comes first: no comparison with NaN is trusted (lavapipe folds some of them).
    const share = (name: string, loses: string) => zip(name, a, b, `select(select(select(1.0, 0.0, ${loses}), 0.5, a == b), 1.0, isNan(a) || isNan(b))`);
    return [
      a.requiresGrad ? sumTo(mul(g, share('maximumShareA', 'a < b')), a.shape) : undefined,
      b.requiresGrad ? sumTo(mul(g, share('maximumShareB', 'a > b')), b.shape) : undefined,
    ];
  });
}

export function minimum(a: Tensor, b: Tensor): Tensor {
  // scope: the negated copies are freed; the graph keeps what it needs.
  return scope(() => neg(maximum(neg(a), neg(b))));
}

/** 1 where a == b, else 0 (no gradient). */
export function eq(a: Tensor, b: Tensor): Tensor {
  return zip('eq', a, b, 'select(0.0, 1.0, a == b)');
}
