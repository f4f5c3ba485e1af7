// Shape ops: reshape, flatten, expand, permute, transpose, slice, cat, pad. All move data with
// one strided-copy kernel (or none: reshape is a view); reflect/replicate padding has its own. A
// float16 tensor moves as float16 (the kernels' float16 builds), its gradient float16 too; cat takes
// tensors of one dtype (F.cat promotes mixed ones first).
import { contiguousStrides, fill, stridedCopy } from '../../kernels/elementwise.js';
import { padIndexed } from '../../kernels/pad.js';
import { Tensor, checkShape, formatShape, record, shapeSize, type Shape } from '../../tensor/tensor.js';
import { alloc } from '../../kernels/launch.js';
import { reduceDims } from '../../kernels/reduce.js';
import { checkInteger, expectTensor, normDim, operandType, storageOf, wrapAs } from './util.js';

export function reshape(x: Tensor, shape: Shape): Tensor {
  expectTensor(x, 'reshape');
  return x.reshape(shape);
}

/** Flattens dimensions startDim..endDim into one (torch.flatten). */
export function flatten(x: Tensor, startDim = 0, endDim = -1): Tensor {
  expectTensor(x, 'flatten', 'input');
  if (x.rank === 0) return x.reshape([1]);
  const s = normDim(startDim, x.rank, 'flatten');
  const e = normDim(endDim, x.rank, 'flatten');
  if (s > e) throw new Error(`flatten: startDim ${startDim} comes after endDim ${endDim} for a tensor of rank ${x.rank} (PyTorch: "start_dim cannot come after end_dim"); swap them`);
  const merged = x.shape.slice(s, e + 1).reduce((a, b) => a * b, 1);
  return x.reshape([...x.shape.slice(0, s), merged, ...x.shape.slice(e + 1)]);
}

/** Adds a dimension of size 1 at dim. */
export function unsqueeze(x: Tensor, dim: number): Tensor {
  expectTensor(x, 'unsqueeze', 'input');
  const d = normDim(dim, x.rank + 1, 'unsqueeze');
  return x.reshape([...x.shape.slice(0, d), 1, ...x.shape.slice(d)]);
}

/** Removes dimensions of size 1 (all, or the given one). */
export function squeeze(x: Tensor, dim?: number): Tensor {
  expectTensor(x, 'squeeze', 'input');
  if (dim === undefined) return x.reshape(x.shape.filter((d) => d !== 1));
  const d = normDim(dim, x.rank, 'squeeze');
  return x.shape[d] === 1 ? x.reshape([...x.shape.slice(0, d), ...x.shape.slice(d + 1)]) : x;
}

/** Broadcasts x to `shape` (a materialised copy; torch.expand + contiguous); -1 keeps a dimension's size. */
export function expand(x: Tensor, shape: Shape): Tensor {
  expectTensor(x, 'expand', 'input');
  if (shape.length < x.rank) throw new Error(`expand: cannot expand ${formatShape(x.shape)} to fewer dimensions ${formatShape(shape)}`);
  const offset = shape.length - x.rank;
  // PyTorch: -1 only for an existing dimension ("isn't allowed in a leading, non-existing dimension").
  const out = checkShape(shape.map((n, d) => (n === -1 && d >= offset ? x.shape[d - offset] : n)), 'expand');
  const own = contiguousStrides(x.shape);
  const strides = out.map((n, d) => {
    const i = d - offset;
    if (i < 0) return 0;
    if (x.shape[i] === n) return own[i];
    if (x.shape[i] === 1) return 0;
    throw new Error(`expand: dimension ${i} of ${formatShape(x.shape)} cannot expand to ${n} (target ${formatShape(shape)})`);
  });
  const operands = operandType(x.dtype);
  const y = alloc(shapeSize(out), operands);
  stridedCopy(out, { buffer: storageOf(x), offset: 0, strides }, { buffer: y, offset: 0, strides: contiguousStrides(out) }, operands);
  return record('expand', [x], Tensor.fromBuffer(y, out, false, x.dtype), [], (g) => [sumTo(g, x.shape)]);
}

/**
 * Sums g over the dimensions that broadcasting added or stretched, giving `shape` (the adjoint
 * of expand). Defined here, with a direct reduction kernel, so that shape ops need no import of
 * the reduction module. A float16 g is read as such and its f32 sums rounded to float16 once.
 */
export function sumTo(g: Tensor, shape: Shape): Tensor {
  if (g.rank === shape.length && g.shape.every((d, i) => d === shape[i])) return g;
  const offset = g.rank - shape.length;
  const dims: number[] = [];
  for (let d = 0; d < g.rank; d++) {
    if (d < offset || (shape[d - offset] === 1 && g.shape[d] !== 1)) dims.push(d);
  }
  const summed = reduceDims('sum', storageOf(g), g.shape, dims, operandType(g.dtype));
  return wrapAs(summed.buffer, summed.shape, g.dtype).reshape(shape);
}

export function permute(x: Tensor, dims: readonly number[]): Tensor {
  expectTensor(x, 'permute', 'input');
  if (dims.length !== x.rank) throw new Error(`permute: ${dims.length} dimensions given for a tensor of rank ${x.rank}`);
  const order = dims.map((d) => normDim(d, x.rank, 'permute'));
  if (new Set(order).size !== order.length) throw new Error(`permute: [${dims.join(', ')}] is not a permutation`);
  const own = contiguousStrides(x.shape);
  const out = order.map((d) => x.shape[d]);
  const operands = operandType(x.dtype);
  const y = alloc(x.size, operands);
  stridedCopy(out, { buffer: storageOf(x), offset: 0, strides: order.map((d) => own[d]) }, { buffer: y, offset: 0, strides: contiguousStrides(out) }, operands);
  const inverse = new Array<number>(order.length);
  order.forEach((d, i) => (inverse[d] = i));
  return record('permute', [x], Tensor.fromBuffer(y, out, false, x.dtype), [], (g) => [permute(g, inverse)]);
}

export function transpose(x: Tensor, dim0 = 0, dim1 = 1): Tensor {
  const a = normDim(dim0, x.rank, 'transpose');
  const b = normDim(dim1, x.rank, 'transpose');
  // A scalar has one dim to swap with itself (PyTorch: x.transpose(0, -1) of a 0-d tensor is x).
  if (x.rank === 0) return permute(x, []);
  const order = [...Array(x.rank).keys()];
  [order[a], order[b]] = [order[b], order[a]];
  return permute(x, order);
}

/** Elements start, start + step, ... below end along dim (Python slicing; negative start/end count from the end). */
export function slice(x: Tensor, dim: number, start = 0, end?: number, step = 1): Tensor {
  expectTensor(x, 'slice', 'input');
  if (x.rank === 0) throw new Error('slice: a 0-dimensional tensor cannot be sliced (as in PyTorch); reshape it to [1] first');
  const d = normDim(dim, x.rank, 'slice');
  const n = x.shape[d];
  if (!Number.isInteger(step) || step < 1) throw new Error(`slice: step must be a positive integer, got ${step}`);
  checkInteger(start, 'start', 'slice');
  if (end !== undefined) checkInteger(end, 'end', 'slice');
  const clampIndex = (i: number) => Math.min(Math.max(i < 0 ? i + n : i, 0), n);
  const s = clampIndex(start);
  const e = clampIndex(end ?? n);
  const length = Math.max(0, Math.ceil((e - s) / step));
  const out = [...x.shape];
  out[d] = length;
  const own = contiguousStrides(x.shape);
  const strides = [...own];
  strides[d] *= step;
  const operands = operandType(x.dtype);
  const y = alloc(shapeSize(out), operands);
  stridedCopy(out, { buffer: storageOf(x), offset: s * own[d], strides }, { buffer: y, offset: 0, strides: contiguousStrides(out) }, operands);
  return record('slice', [x], Tensor.fromBuffer(y, out, false, x.dtype), [], (g) => {
    const gx = fill(x.size, 0, undefined, operands);
    stridedCopy(out, { buffer: storageOf(g), offset: 0, strides: contiguousStrides(out) }, { buffer: gx, offset: s * own[d], strides }, operands);
    return [Tensor.fromBuffer(gx, x.shape, false, x.dtype)];
  });
}

export function cat(xs: readonly Tensor[], dim = 0): Tensor {
  if (typeof xs !== 'object' || xs === null || xs.length === 0) throw new Error('cat: needs a non-empty array of tensors');
  xs.forEach((t, i) => expectTensor(t, 'cat', `tensor ${i}`));
  const first = xs[0];
  if (xs.some((t) => t.rank === 0)) throw new Error('cat: zero-dimensional tensors cannot be concatenated (as in PyTorch); reshape them to [1] first');
  const d = normDim(dim, first.rank, 'cat');
  for (const t of xs) {
    if (t.rank !== first.rank || t.shape.some((n, i) => i !== d && n !== first.shape[i])) {
      throw new Error(`cat: shapes ${xs.map((x) => formatShape(x.shape)).join(', ')} differ outside dimension ${d}`);
    }
  }
  if (xs.some((t) => t.dtype !== first.dtype)) throw new Error(`cat: tensors of dtypes ${xs.map((t) => t.dtype).join(', ')}; call F.cat, which promotes them as torch.cat does`);
  const operands = operandType(first.dtype);
  const out = [...first.shape];
  out[d] = xs.reduce((a, t) => a + t.shape[d], 0);
  const y = alloc(shapeSize(out), operands);
  const outStrides = contiguousStrides(out);
  const offsets: number[] = [];
  let offset = 0;
  for (const t of xs) {
    offsets.push(offset);
    stridedCopy(t.shape, { buffer: storageOf(t), offset: 0, strides: contiguousStrides(t.shape) }, { buffer: y, offset: offset * outStrides[d], strides: outStrides }, operands);
    offset += t.shape[d];
  }
  return record('cat', [...xs], Tensor.fromBuffer(y, out, false, first.dtype), [], (g) => xs.map((t, i) => slice(g, d, offsets[i], offsets[i] + t.shape[d])));
}

export type PadMode = 'constant' | 'reflect' | 'replicate';
const PAD_MODES: readonly PadMode[] = ['constant', 'reflect', 'replicate'];

/**
 * Pads the last dimensions (torch.nn.functional.pad order: [left, right, top, bottom, ...], last
 * dimension first). constant: any number of dimensions; reflect / replicate: the last one or two.
 */
export function pad(x: Tensor, pads: readonly number[], mode: PadMode = 'constant', value = 0): Tensor {
  expectTensor(x, 'pad', 'input');
  if (pads.length % 2 !== 0 || pads.length / 2 > x.rank) throw new Error(`pad: ${pads.length} padding values for a tensor of rank ${x.rank}; give [left, right, top, bottom, ...] pairs`);
  if (!pads.every(Number.isInteger)) throw new Error(`pad: padding sizes must be integers, got [${pads.join(', ')}]`);
  if (!PAD_MODES.includes(mode)) throw new Error(`pad: mode ${JSON.stringify(mode)} is not supported; use ${PAD_MODES.map((m) => `'${m}'`).join(', ')}`);
  const out = [...x.shape];
  const before = new Array<number>(x.rank).fill(0);
  for (let i = 0; i < pads.length / 2; i++) {
    const d = x.rank - 1 - i;
    before[d] = pads[2 * i];
    out[d] += pads[2 * i] + pads[2 * i + 1];
    if (out[d] < 0) throw new Error(`pad: padding ${JSON.stringify(pads)} leaves dimension ${d} of ${formatShape(x.shape)} negative`);
  }
  if (mode !== 'constant') {
    const padded = pads.length / 2;
    if (padded < 1 || padded > 2) throw new Error(`pad: ${mode} padding supports the last one or two dimensions, got ${padded}`);
    // PyTorch's rule (aten PadNd.cpp): k padded dimensions take a tensor of rank k + 1 (unbatched) or k + 2.
    if (x.rank !== padded + 1 && x.rank !== padded + 2) {
      throw new Error(`pad: ${mode} padding of ${padded} dimension(s) takes a tensor of rank ${padded + 1} or ${padded + 2}, got ${formatShape(x.shape)}; reshape it, or give ${2 * (x.rank - 2)} padding values for its last ${x.rank - 2} dimensions`);
    }
    if (value !== 0) throw new Error(`pad: mode '${mode}' takes no value (got ${value}); the value is for mode 'constant'`);
    const [left, right, top = 0, bottom = 0] = pads;
    const height = pads.length === 4 ? x.shape[x.rank - 2] : 1;
    const width = x.shape[x.rank - 1];
    if (mode === 'reflect' && (Math.max(left, right) >= width || Math.max(top, bottom) >= height && pads.length === 4)) {
      throw new Error(`pad: reflect padding must be smaller than the padded dimension (pads ${JSON.stringify(pads)}, input ${formatShape(x.shape)})`);
    }
    if (pads.some((p) => p < 0)) throw new Error(`pad: ${mode} padding must be non-negative`);
    const planes = x.size / (height * width);
    const geometry = { planes, height, width, top, left, outHeight: height + top + bottom, outWidth: width + left + right, reflect: mode === 'reflect' };
    const operands = operandType(x.dtype);
    const y = padIndexed(storageOf(x), geometry, false, operands);
    return record(`pad.${mode}`, [x], Tensor.fromBuffer(y, out, false, x.dtype), [], (g) => [Tensor.fromBuffer(padIndexed(storageOf(g), geometry, true, operands), x.shape, false, x.dtype)]);
  }
  // Constant padding: fill, then copy x into the interior (negative pads crop).
  const operands = operandType(x.dtype);
  const y = fill(shapeSize(out), value, undefined, operands);
  const region = x.shape.map((n, d) => n + Math.min(0, before[d]) + Math.min(0, out[d] - x.shape[d] - before[d]));
  const xOffsets = before.map((b) => Math.max(0, -b));
  const yOffsets = before.map((b) => Math.max(0, b));
  const xs = contiguousStrides(x.shape);
  const ys = contiguousStrides(out);
  const dot = (a: number[], b: number[]) => a.reduce((s, v, i) => s + v * b[i], 0);
  stridedCopy(region, { buffer: storageOf(x), offset: dot(xOffsets, xs), strides: xs }, { buffer: y, offset: dot(yOffsets, ys), strides: ys }, operands);
  return record('pad.constant', [x], Tensor.fromBuffer(y, out, false, x.dtype), [], (g) => {
    const gx = fill(x.size, 0, undefined, operands);
    stridedCopy(region, { buffer: storageOf(g), offset: dot(yOffsets, ys), strides: ys }, { buffer: gx, offset: dot(xOffsets, xs), strides: xs }, operands);
    return [Tensor.fromBuffer(gx, x.shape, false, x.dtype)];
  });
}
