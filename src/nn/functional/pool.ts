// maxPool2d (with indices) and avgPool2d: PyTorch's output sizes (ceil mode drops a last window
// that would start in the right padding), tie rule (first maximum wins) and divisor rules.
import { avgPoolBackward, avgPoolForward, maxPoolBackward, maxPoolForward, type PoolGeometry } from '../../kernels/pool.js';
import { Tensor, formatShape, record } from '../../tensor/tensor.js';
import { checkOptionNames, expectTensor, gradientIn, operandType, pair, storageOf, wrap, type Pair } from './util.js';

export interface MaxPool2dOptions {
  kernelSize: Pair;
  /** Defaults to kernelSize. */
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
  ceilMode?: boolean;
}

export interface AvgPool2dOptions {
  kernelSize: Pair;
  /** Defaults to kernelSize. */
  stride?: Pair;
  padding?: Pair;
  ceilMode?: boolean;
  /** Default true: padded positions count in the divisor. */
  countIncludePad?: boolean;
  /** Replaces the divisor when given: a non-zero integer, as in PyTorch. */
  divisorOverride?: number;
}

function outputSize(input: number, kernel: number, stride: number, padding: number, dilation: number, ceilMode: boolean): number {
  const span = input + 2 * padding - dilation * (kernel - 1) - 1;
  let out = Math.floor((span + (ceilMode ? stride - 1 : 0)) / stride) + 1;
  if (ceilMode && (out - 1) * stride >= input + padding) out--;
  return out;
}

function geometry(op: string, shape: readonly number[], kernelSize: Pair, stride: Pair | undefined, padding: Pair, dilation: Pair, ceilMode: boolean): PoolGeometry {
  if (shape.length !== 4) throw new Error(`${op}: expected input [N, C, H, W], got ${formatShape(shape)}; add a batch dimension with F.unsqueeze(x, 0)`);
  const [KH, KW] = pair(kernelSize, 'kernelSize');
  const [SH, SW] = pair(stride ?? kernelSize, 'stride');
  const [PH, PW] = pair(padding, 'padding');
  const [DH, DW] = pair(dilation, 'dilation');
  if (KH < 1 || KW < 1 || SH < 1 || SW < 1 || DH < 1 || DW < 1) throw new Error(`${op}: kernelSize [${KH}, ${KW}], stride [${SH}, ${SW}] and dilation [${DH}, ${DW}] must be positive`);
  if (PH < 0 || PW < 0 || PH > KH / 2 || PW > KW / 2) throw new Error(`${op}: padding [${PH}, ${PW}] must be between 0 and half the kernel [${KH}, ${KW}] (as in PyTorch)`);
  const [N, C, H, W] = shape;
  const OH = outputSize(H, KH, SH, PH, DH, ceilMode);
  const OW = outputSize(W, KW, SW, PW, DW, ceilMode);
  if (OH <= 0 || OW <= 0) throw new Error(`${op}: input ${formatShape(shape)} with kernel [${KH}, ${KW}] gives an empty output ${OH}×${OW}; use a larger input or a smaller kernel`);
  return { planes: N * C, H, W, OH, OW, KH, KW, SH, SW, PH, PW, DH, DW };
}

/** maxPool2d's checked geometry for an input of `shape` (conv2dMfmMaxPool2d pools a tensor it never builds). */
export function maxPool2dGeometry(op: string, shape: readonly number[], options: MaxPool2dOptions): PoolGeometry {
  return geometry(op, shape, options.kernelSize, options.stride, options.padding ?? 0, options.dilation ?? 1, options.ceilMode ?? false);
}

/**
 * Max pooling with PyTorch's indices (flat h·W + w within each plane, as f32) and tie rule: the
 * first maximum in row-major window order wins, and so takes the whole gradient.
 */
export function maxPool2dWithIndices(x: Tensor, options: MaxPool2dOptions): { values: Tensor; indices: Tensor } {
  expectTensor(x, 'maxPool2d', 'input');
  checkOptionNames('maxPool2d', options, ['kernelSize', 'stride', 'padding', 'dilation', 'ceilMode']);
  const g = maxPool2dGeometry('maxPool2d', x.shape, options);
  const shape = [x.shape[0], x.shape[1], g.OH, g.OW];
  // x, the values and the gradients in x's dtype (float16 read and written as such); the indices float32.
  const operands = operandType(x.dtype);
  const { values, indices } = maxPoolForward(storageOf(x), g, 'auto', operands);
  const indexTensor = wrap(indices, shape);
  const out = record('maxPool2d', [x], Tensor.fromBuffer(values, shape, false, x.dtype), [indexTensor], (gy) => [
    gradientIn(gy, x.dtype, x.shape, (gRead) => maxPoolBackward(gRead, indexTensor.buffer, g, 'auto', operands)),
  ]);
  return { values: out, indices: indexTensor };
}

export function maxPool2d(x: Tensor, options: MaxPool2dOptions): Tensor {
  const { values, indices } = maxPool2dWithIndices(x, options);
  indices.dispose();
  return values;
}

/** Average pooling with PyTorch's divisor rules (countIncludePad, ceil-mode edge windows, divisorOverride). */
export function avgPool2d(x: Tensor, options: AvgPool2dOptions): Tensor {
  expectTensor(x, 'avgPool2d', 'input');
  checkOptionNames('avgPool2d', options, ['kernelSize', 'stride', 'padding', 'ceilMode', 'countIncludePad', 'divisorOverride']);
  const g = geometry('avgPool2d', x.shape, options.kernelSize, options.stride, options.padding ?? 0, 1, options.ceilMode ?? false);
  const countIncludePad = options.countIncludePad ?? true;
  // The kernels read 0 as "no override"; a given one must be a non-zero integer (PyTorch: "divisor must be not zero").
  const divisorOverride = options.divisorOverride ?? 0;
  if (options.divisorOverride !== undefined && !(Number.isInteger(divisorOverride) && divisorOverride !== 0)) {
    throw new Error(`avgPool2d: divisorOverride must be a non-zero integer, got ${divisorOverride}; leave it out to divide by the window size`);
  }
  const operands = operandType(x.dtype);
  const y = Tensor.fromBuffer(avgPoolForward(storageOf(x), g, countIncludePad, divisorOverride, operands), [x.shape[0], x.shape[1], g.OH, g.OW], false, x.dtype);
  return record('avgPool2d', [x], y, [], (gy) => [
    gradientIn(gy, x.dtype, x.shape, (gRead) => avgPoolBackward(gRead, g, countIncludePad, divisorOverride, operands)),
  ]);
}
