// matmul (torch.matmul semantics, batched with broadcasting) and linear (x W^T + b, with a fused
// activation). Transposed operands in the backward pass are strides, never copies. Both take
// float32 operands, or float16 ones (f32 accumulation, a float16 result, as torch on half tensors).
import { matmul as matmulKernel, type MatrixOperand } from '../../kernels/matmul.js';
import { Tensor, formatShape, record, scope, type DType } from '../../tensor/tensor.js';
import { binary } from '../../kernels/elementwise.js';
import { expand, sumTo } from './shape.js';
import { sum } from './reduce.js';
import { RELU_GRAD, reluExpression } from './elementwise.js';
import { broadcastShapes, expectTensor, gemmOperands, gemmReads, inDtype, operandType, readDtype, recordGemm, withFloatBias, wrap, wrapAs, wrapIn } from './util.js';

/** Row-major [batch, rows, cols] operand, optionally read transposed. */
function operand(t: Tensor, rows: number, cols: number, batched: boolean, transposed = false): MatrixOperand {
  return {
    ...elements(t),
    batchStride: batched ? rows * cols : 0,
    rowStride: transposed ? 1 : cols,
    colStride: transposed ? cols : 1,
  };
}

/** A tensor's buffer and element type, as the matmul kernel reads it. */
function elements(t: Tensor): Pick<MatrixOperand, 'buffer' | 'type'> {
  return t.dtype === 'float16' ? { buffer: t.bufferOf('float16'), type: 'f16' } : { buffer: t.buffer };
}

/** Batched product of a [..., M, K] and b [..., K, N] whose batch shapes already agree (or are 1). */
function batchedProduct(a: Tensor, aT: boolean, b: Tensor, bT: boolean, batch: number, aBatched: boolean, bBatched: boolean): GPUBuffer {
  const [aRows, aCols] = a.shape.slice(-2);
  const [bRows, bCols] = b.shape.slice(-2);
  const M = aT ? aCols : aRows;
  const K = aT ? aRows : aCols;
  const N = bT ? bRows : bCols;
  return matmulKernel(operand(a, aRows, aCols, aBatched, aT), operand(b, bRows, bCols, bBatched, bT), batch, M, N, K);
}

export function matmul(a: Tensor, b: Tensor): Tensor {
  expectTensor(a, 'matmul', 'the first operand');
  expectTensor(b, 'matmul', 'the second operand');
  if (a.rank === 0 || b.rank === 0) throw new Error('matmul: both operands need at least one dimension');
  // scope: the reshaped / expanded operands are freed here; the graph keeps what it saved.
  return scope(() => matmulUnscoped(a, b));
}

function matmulUnscoped(a: Tensor, b: Tensor): Tensor {
  // 1-D operands become a row (a) or a column (b) and the added dimension is removed after.
  const a2 = a.rank === 1 ? a.reshape([1, a.shape[0]]) : a;
  const b2 = b.rank === 1 ? b.reshape([b.shape[0], 1]) : b;
  const [M, K] = a2.shape.slice(-2);
  const [K2, N] = b2.shape.slice(-2);
  if (K !== K2) throw new Error(`matmul: shapes ${formatShape(a.shape)} and ${formatShape(b.shape)} do not multiply (inner dimensions ${K} and ${K2})`);
  gemmOperands('matmul', a, b, ['the first operand', 'the second']);
  const dtype = a.dtype;
  const batchShape = broadcastShapes(a2.shape.slice(0, -2), b2.shape.slice(0, -2), 'matmul');
  const batch = batchShape.reduce((x, y) => x * y, 1);
  const aBatch = a2.shape.slice(0, -2).reduce((x, y) => x * y, 1);
  const bBatch = b2.shape.slice(0, -2).reduce((x, y) => x * y, 1);
  // An operand whose batch is neither full nor a single matrix is broadcast by a copy.
  const aFull = aBatch === batch ? a2 : aBatch === 1 ? a2 : expand(a2, [...batchShape, M, K]);
  const bFull = bBatch === batch ? b2 : bBatch === 1 ? b2 : expand(b2, [...batchShape, K, N]);
  const y = batchedProduct(aFull, false, bFull, false, batch, aFull.size > M * K, bFull.size > K * N);
  let outShape = [...batchShape, M, N];
  if (a.rank === 1) outShape = outShape.filter((_, i) => i !== outShape.length - 2);
  if (b.rank === 1) outShape = outShape.slice(0, -1);
  const out = wrapAs(y, outShape, dtype);
  return record('matmul', [a, b], out, [aFull, bFull], (g) => {
    const g3 = g.reshape([...batchShape, M, N]);
    // dA = g B^T, dB = A^T g (per batch), then summed over broadcast batch dimensions (in float32).
    const ga = a.requiresGrad ? sumTo(wrap(batchedProduct(g3, false, bFull, true, batch, true, bFull.size > K * N), [...batchShape, M, K]), a2.shape).reshape(a.shape).to(dtype) : undefined;
    const gb = b.requiresGrad ? sumTo(wrap(batchedProduct(aFull, true, g3, false, batch, aFull.size > M * K, true), [...batchShape, K, N]), b2.shape).reshape(b.shape).to(dtype) : undefined;
    return [ga, gb];
  });
}

export type Activation = 'none' | 'relu';

/** The fused activation spliced into the matmul epilogue as an expression of v (relu: elementwise's, NaN passed on). */
export const ACTIVATIONS: Record<Activation, string> = { none: 'v', relu: reluExpression('v') };

/**
 * y = x W^T + b over the last dimension of x (W: [out, in]), with an optional fused activation.
 * x and weight float32, or both float16 (the bias may be either; no fused activation), or any,
 * read as options.computeDtype (webfer's autocast, as conv2d's: y and the gradients in the inputs' dtypes).
 */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor, activation: Activation = 'none', options: { computeDtype?: DType } = {}): Tensor {
  expectTensor(x, 'linear', 'input');
  expectTensor(weight, 'linear', 'weight');
  if (bias !== undefined) expectTensor(bias, 'linear', 'bias');
  if (!(activation in ACTIVATIONS)) throw new Error(`linear: activation ${JSON.stringify(activation)} cannot be fused; use 'none' or 'relu', or apply it after linear`);
  const [outFeatures, inFeatures] = weight.shape;
  if (weight.rank !== 2 || x.shape[x.rank - 1] !== inFeatures) {
    throw new Error(`linear: input ${formatShape(x.shape)} does not match weight ${formatShape(weight.shape)} (expected [..., ${inFeatures}])`);
  }
  if (bias && (bias.rank !== 1 || bias.shape[0] !== outFeatures)) throw new Error(`linear: bias ${formatShape(bias.shape)} should be [${outFeatures}]`);
  const reads = gemmReads('linear', x, weight, options.computeDtype);
  // PyTorch returns the bias broadcast; the fused epilogue does not run without a product to add it to.
  if (inFeatures === 0) throw new Error(`linear: weight ${formatShape(weight.shape)} has no input features, which webfer does not support; give the layer at least one input`);
  const rows = x.size / inFeatures;
  const input: MatrixOperand = { ...elements(reads.x), batchStride: 0, rowStride: inFeatures, colStride: 1 };
  const weightT: MatrixOperand = { ...elements(reads.weight), batchStride: 0, rowStride: 1, colStride: inFeatures };
  const y = withFloatBias(bias, (b) => matmulKernel(input, weightT, 1, rows, outFeatures, inFeatures, b, ACTIVATIONS[activation], activation, 'cols', reads.operands));
  const outShape = [...x.shape.slice(0, -1), outFeatures];
  const out = wrapIn(y, outShape, readDtype(reads));
  const inputs = bias ? [x, weight, bias] : [x, weight];
  return recordGemm(activation === 'relu' ? 'linear.relu' : 'linear', inputs, out, reads, activation === 'relu' ? [out] : [], (g) => {
    // relu's mask from the (possibly float16) output, both read as float32.
    const reluGrad = () => inDtype(g, 'float32', (g32) => inDtype(out, 'float32', (out32) => wrap(binary('reluGrad', RELU_GRAD, g32.buffer, g.shape, out32.buffer, out.shape, g.shape), g.shape)));
    const gy = activation === 'relu' ? reluGrad() : g;
    const [gx, gw] = inDtype(gy, readDtype(reads), (gyRead) => [
      x.requiresGrad ? wrapIn(matmulKernel({ ...elements(gyRead), batchStride: 0, rowStride: outFeatures, colStride: 1 }, { ...elements(reads.weight), batchStride: 0, rowStride: inFeatures, colStride: 1 }, 1, rows, inFeatures, outFeatures, undefined, 'v', 'none', 'cols', operandType(x.dtype)), x.shape, x.dtype) : undefined,
      weight.requiresGrad
        ? wrapAs(matmulKernel({ ...elements(gyRead), batchStride: 0, rowStride: 1, colStride: outFeatures }, { ...elements(reads.x), batchStride: 0, rowStride: inFeatures, colStride: 1 }, 1, outFeatures, inFeatures, rows), weight.shape, weight.dtype)
        : undefined,
    ]);
    const gb = bias?.requiresGrad ? inDtype(gy, 'float32', (gy32) => scope(() => sum(gy32.reshape([rows, outFeatures]), 0))).to(bias.dtype) : undefined;
    if (gy !== g) gy.dispose();
    return bias ? [gx, gw, gb] : [gx, gw];
  });
}
