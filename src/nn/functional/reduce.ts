// Reductions: sum, mean, max (values, or values and indices along one dimension), argmax.
import { argmaxAxis, reduceDims, type ReduceOp } from '../../kernels/reduce.js';
import { binary, unary } from '../../kernels/elementwise.js';
import { tensor } from '../../tensor/creation.js';
import { Tensor, formatShape, record, scope, type Shape } from '../../tensor/tensor.js';
import { expand } from './shape.js';
import { checkOptionNames, expectTensor, normDim, normDims, splitAt, wrap } from './util.js';

function reducedShape(shape: Shape, dims: number[], keepdim: boolean): number[] {
  if (keepdim) return shape.map((n, d) => (dims.includes(d) ? 1 : n));
  return shape.filter((_, d) => !dims.includes(d));
}

/** Reduces over each of dims (kept as size 1) into a new tensor; no dims: a copy. */
function reduceOver(op: ReduceOp, x: Tensor, dims: number[]): Tensor {
  const { buffer, shape } = reduceDims(op, x.buffer, x.shape, dims);
  return wrap(buffer, shape);
}

export interface ReduceOptions {
  keepdim?: boolean;
}

/** options.keepdim, checked: an options object (not PyTorch's positional keepdim=True) with nothing else in it. */
function keepdimOf(op: string, options: ReduceOptions): boolean {
  if (typeof options !== 'object' || options === null) throw new Error(`${op}: options must be an object such as { keepdim: true }, got ${String(options)}`);
  checkOptionNames(op, options, ['keepdim']);
  return options.keepdim ?? false;
}

/** Sum over dims (all when undefined), like torch.sum. */
export function sum(x: Tensor, dims?: number | readonly number[], options: ReduceOptions = {}): Tensor {
  expectTensor(x, 'sum', 'input');
  const list = normDims(dims, x.rank, 'sum');
  const keepdim = keepdimOf('sum', options);
  // scope: the keepdim-shaped intermediate is freed; the returned view keeps its storage.
  return scope(() => {
    const kept = reduceOver('sum', x, list);
    const out = reducedShape(x.shape, list, keepdim);
    const keptShape = kept.shape;
    return record('sum', [x], kept.reshape(out), [], (g) => [expand(g.reshape(keptShape), x.shape)]);
  });
}

/** Mean over dims (all when undefined), like torch.mean. */
export function mean(x: Tensor, dims?: number | readonly number[], options: ReduceOptions = {}): Tensor {
  expectTensor(x, 'mean', 'input');
  const list = normDims(dims, x.rank, 'mean');
  const keepdim = keepdimOf('mean', options);
  const count = list.reduce((a, d) => a * x.shape[d], 1);
  return scope(() => {
    const summed = reduceOver('sum', x, list);
    const keptShape = summed.shape;
    const scaled = wrap(unary('scale', 'x * p.alpha', summed.buffer, summed.size, 1 / count), reducedShape(x.shape, list, keepdim));
    return record('mean', [x], scaled, [], (g) => {
      const spread = expand(g.reshape(keptShape), x.shape);
      return [wrap(unary('scale', 'x * p.alpha', spread.buffer, spread.size, 1 / count), x.shape)];
    });
  });
}

/**
 * Maximum; NaN propagates (a NaN in a slice makes its maximum NaN). The gradient, as PyTorch's:
 * - one dimension (a number), torch.max(x, dim): all to the first maximum (the first NaN);
 * - no dims, torch.max(x): shared evenly among the elements equal to the maximum, NaN counting
 *   as equal to NaN (evenly_distribute_backward);
 * - a list of dims, torch.amax: shared evenly among the elements equal to the maximum
 *   (scale_grad_by_count: g / count · mask), so a slice whose maximum is NaN, where nothing
 *   equals it, gets g / 0 · 0 = NaN everywhere.
 */
export function max(x: Tensor, dims?: number | readonly number[], options: ReduceOptions = {}): Tensor {
  expectTensor(x, 'max', 'input');
  const keepdim = keepdimOf('max', options);
  if (typeof dims === 'number') {
    const { values, indices } = maxWithIndices(x, dims, { keepdim });
    indices.dispose(); // the backward rule holds its storage
    return values;
  }
  const list = normDims(dims, x.rank, 'max');
  checkNonEmpty(x, list);
  return scope(() => maxOver(x, list, keepdim, dims === undefined));
}

/** PyTorch refuses a max / min over no elements ("the operation does not have an identity"); -inf is not an answer. */
function checkNonEmpty(x: Tensor, dims: number[]): void {
  const empty = dims.find((d) => x.shape[d] === 0);
  if (empty !== undefined) throw new Error(`max / min: dimension ${empty} of ${formatShape(x.shape)} is empty, and a maximum or minimum of no elements is undefined; reduce over a non-empty dimension or skip the empty tensor`);
}

function maxOver(x: Tensor, list: number[], keepdim: boolean, nanMatchesNan: boolean): Tensor {
  const kept = reduceOver('max', x, list);
  const keptShape = kept.shape;
  const values = kept.reshape(reducedShape(x.shape, list, keepdim));
  return record('max', [x], values, [x, kept], (g) => {
    const m = expand(kept, x.shape);
    // NaN tested by the bits: no comparison with NaN is trusted on every driver.
    const ties = nanMatchesNan
      ? wrap(binary('maxTiesNan', 'select(0.0, 1.0, a == b || (isNan(a) && isNan(b)))', x.buffer, x.shape, m.buffer, x.shape, x.shape), x.shape)
      : wrap(binary('maxTies', 'select(0.0, 1.0, a == b && !isNan(a))', x.buffer, x.shape, m.buffer, x.shape, x.shape), x.shape);
    const tieCount = reduceOver('sum', ties, list);
    const share = wrap(binary('div', 'a / b', g.buffer, keptShape, tieCount.buffer, keptShape, keptShape), keptShape);
    return [wrap(binary('mul', 'a * b', ties.buffer, x.shape, share.buffer, keptShape, x.shape), x.shape)];
  });
}

export function min(x: Tensor, dims?: number | readonly number[], options: ReduceOptions = {}): Tensor {
  return scope(() => {
    const negated = record('neg', [x], wrap(unary('neg', '-x', x.buffer, x.size), x.shape), [], (g) => [wrap(unary('neg', '-x', g.buffer, g.size), g.shape)]);
    const m = max(negated, dims, options);
    return record('neg', [m], wrap(unary('neg', '-x', m.buffer, m.size), m.shape), [], (g) => [wrap(unary('neg', '-x', g.buffer, g.size), g.shape)]);
  });
}

/** Max along one dimension with the indices of the first maxima (as f32 values). */
export function maxWithIndices(x: Tensor, dim: number, options: ReduceOptions = {}): { values: Tensor; indices: Tensor } {
  expectTensor(x, 'max', 'input');
  const d = normDim(dim, x.rank, 'max');
  const keepdim = keepdimOf('max', options);
  checkNonEmpty(x, [d]);
  const { outer, reduced, inner } = splitAt(x.shape, d);
  const { values, indices } = argmaxAxis(x.buffer, outer, reduced, inner);
  const out = reducedShape(x.shape, [d], keepdim);
  const indexTensor = wrap(indices, out);
  const valueTensor = record('max', [x], wrap(values, out), [indexTensor], (g) => {
    // One-hot of the index along dim, times the gradient broadcast back over dim.
    const positions = tensor(Float32Array.from({ length: reduced }, (_, i) => i), [1, reduced, 1]);
    const idx = indexTensor.reshape([outer, 1, inner]);
    const hot = wrap(binary('eq', 'select(0.0, 1.0, a == b)', idx.buffer, idx.shape, positions.buffer, positions.shape, [outer, reduced, inner]), [outer, reduced, inner]);
    const gx = binary('mul', 'a * b', hot.buffer, hot.shape, g.buffer, [outer, 1, inner], [outer, reduced, inner]);
    return [wrap(gx, x.shape)];
  });
  return { values: valueTensor, indices: indexTensor };
}

/** Indices of the first maxima along dim (f32 values); without dim, the index into the flattened x (torch.argmax(x)). */
export function argmax(x: Tensor, dim?: number, options: ReduceOptions = {}): Tensor {
  if (dim === undefined) {
    expectTensor(x, 'argmax');
    if (keepdimOf('argmax', options)) throw new Error('argmax: keepdim needs a dim; without one the index is into the flattened tensor');
    // scope: the flat view is freed; the indices are a tensor of their own.
    return scope(() => argmax(x.reshape([x.size]), 0));
  }
  const { values, indices } = maxWithIndices(x, dim, options);
  values.dispose();
  return indices;
}

