// Launcher for batched matmul with strided operands, optional bias and fused activation.
import { gpu } from '../gpu/index.js';
import { Params, alloc, kernel } from './launch.js';

export interface MatrixOperand {
  buffer: GPUBuffer;
  /** Element strides: between batches (0 = broadcast), rows and columns. */
  batchStride: number;
  rowStride: number;
  colStride: number;
}

export type MatmulVariant = 'registerTiled' | 'workgroupTiled';

let forcedVariant: MatmulVariant | undefined;

/** Overrides the adapter-based choice (benchmarks and tests compare both). */
export function setMatmulVariant(variant: MatmulVariant | undefined): void {
  forcedVariant = variant;
}

export function matmulVariant(): MatmulVariant {
  return forcedVariant ?? (gpu().info.isSoftware ? 'registerTiled' : 'workgroupTiled');
}

/**
 * C[batch, M, N] = act(A[batch, M, K] @ B[batch, K, N] + bias[N]). `activation` is a WGSL
 * expression of v (e.g. "max(v, 0.0)"), "v" for none.
 */
export function matmul(a: MatrixOperand, b: MatrixOperand, batch: number, M: number, N: number, K: number, bias?: GPUBuffer, activation = 'v', activationName = 'none'): GPUBuffer {
  const c = alloc(batch * M * N);
  const variant = matmulVariant();
  const k = kernel('matmul', { name: `matmul.${variant}.${activationName}`, entryPoint: variant, replacements: { ACT: activation } });
  const params = new Params()
    .u32(M, N, K, bias ? 1 : 0)
    .u32(a.batchStride, a.rowStride, a.colStride, 0)
    .u32(b.batchStride, b.rowStride, b.colStride, 0);
  gpu().dispatch(k, [a.buffer, b.buffer, bias ?? gpu().placeholder, c], params.done(), [Math.ceil(N / 64), Math.ceil(M / 64), batch]);
  return c;
}
