// Launcher for batched matmul with strided operands, optional bias and fused activation.
import { gpu } from '../gpu/index.js';
import type { KernelChoices } from '../gpu/policy.js';
import { Params, alloc, kernel, registerTileShape, workgroupTileGrid } from './launch.js';

export interface MatrixOperand {
  buffer: GPUBuffer;
  /** Element strides: between batches (0 = broadcast), rows and columns. */
  batchStride: number;
  rowStride: number;
  colStride: number;
}

/** Chosen by gpu().policy ('matmul'). */
export type MatmulVariant = KernelChoices['matmul'];

/**
 * C[batch, M, N] = act(A[batch, M, K] @ B[batch, K, N] + bias[N]). `activation` is a WGSL
 * expression of v (e.g. "max(v, 0.0)"), "v" for none.
 */
export function matmul(a: MatrixOperand, b: MatrixOperand, batch: number, M: number, N: number, K: number, bias?: GPUBuffer, activation = 'v', activationName = 'none'): GPUBuffer {
  const c = alloc(batch * M * N);
  const variant = gpu().policy.get('matmul');
  const shape = registerTileShape(M, N);
  const registerTiled = variant === 'registerTiled';
  const k = kernel('matmul', { name: `matmul.${variant}.${activationName}`, entryPoint: variant, replacements: { ACT: activation }, constants: registerTiled ? shape.constants : undefined });
  const params = new Params()
    .u32(M, N, K, bias ? 1 : 0)
    .u32(a.batchStride, a.rowStride, a.colStride, 0)
    .u32(b.batchStride, b.rowStride, b.colStride, 0);
  const [x, y] = registerTiled ? shape.workgroups : workgroupTileGrid(M, N);
  gpu().dispatch(k, [a.buffer, b.buffer, bias ?? gpu().placeholder, c], params.done(), [x, y, batch]);
  return c;
}
