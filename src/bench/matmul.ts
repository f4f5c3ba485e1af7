// matmul GFLOP/s per kernel variant, side by side: every variant of MATMUL_VARIANTS on each
// product, called in turn within a round (one call each), best of the rounds, so that load from
// other processes falls on all variants alike. Products: square ones and LightCNN-9's fc1 with its
// two gradients, whose operands are transposed (the layouts linear's backward passes).
import { gpu } from '../gpu/index.js';
import { MATMUL_VARIANTS } from '../gpu/policy.js';
import { matmul, type MatrixOperand } from '../kernels/matmul.js';
import type { Report } from './runtime.js';

interface Product {
  name: string;
  M: number;
  N: number;
  K: number;
  /** A stored as [K, M] (read along m), B stored as [N, K] (read along k). */
  aTransposed: boolean;
  bTransposed: boolean;
}

const product = (name: string, M: number, N: number, K: number, aTransposed = false, bTransposed = false): Product => ({ name, M, N, K, aTransposed, bTransposed });

/** fc1 = linear 8192 -> 512 at batch 16: y = x @ Wᵀ, dx = dy @ W, dW = dyᵀ @ x. */
const FC1 = [product('fc1 forward x @ Wᵀ', 16, 512, 8192, false, true), product('fc1 input grad dy @ W', 16, 8192, 512), product('fc1 weight grad dyᵀ @ x', 512, 8192, 16, true)];

function productsFor(quick: boolean): Product[] {
  if (quick) return [product('square', 256, 256, 256), product('square', 512, 512, 512), ...FC1];
  return [product('square', 512, 512, 512), product('square', 1024, 1024, 1024), product('odd', 333, 517, 1020), ...FC1];
}

/** A [rows, cols] operand (stored transposed when asked) with small integer values. */
function operand(rows: number, cols: number, transposed: boolean): { operand: MatrixOperand; buffer: GPUBuffer } {
  const data = Float32Array.from({ length: rows * cols }, (_, i) => (i % 7) - 3);
  const buffer = gpu().pool.acquire(data.byteLength);
  gpu().device.queue.writeBuffer(buffer, 0, data);
  const strides = transposed ? { rowStride: 1, colStride: rows } : { rowStride: cols, colStride: 1 };
  return { operand: { buffer, batchStride: 0, ...strides }, buffer };
}

export async function benchMatmul(report: Report, options: { quick?: boolean } = {}): Promise<void> {
  const ctx = gpu();
  const rounds = options.quick ? 3 : 5;
  // workgroupTiled stages tiles in workgroup memory: 3-5x slower than the others on software adapters.
  const variants = MATMUL_VARIANTS.filter((v) => !(ctx.info.isSoftware && v === 'workgroupTiled'));
  for (const p of productsFor(options.quick ?? false)) {
    const a = operand(p.M, p.K, p.aTransposed);
    const b = operand(p.K, p.N, p.bTransposed);
    const best = new Map<string, number>(variants.map((v) => [v, Infinity]));
    const run = async (variant: string) => {
      await ctx.policy.with({ matmul: variant as (typeof variants)[number] }, () => ctx.pool.release(matmul(a.operand, b.operand, 1, p.M, p.N, p.K)));
      await ctx.sync();
    };
    for (const variant of variants) await run(variant); // compile and warm up
    for (let round = 0; round < rounds; round++) {
      for (const variant of variants) {
        const start = performance.now();
        await run(variant);
        best.set(variant, Math.min(best.get(variant)!, performance.now() - start));
      }
    }
    const layout = `${p.aTransposed ? 'Aᵀ' : 'A'} @ ${p.bTransposed ? 'Bᵀ' : 'B'}`;
    for (const [variant, ms] of best) {
      report({ name: `matmul ${variant}`, shape: `${p.name} ${p.M}x${p.K} @ ${p.K}x${p.N} (${layout})`, ms, gflops: (2 * p.M * p.N * p.K) / ms / 1e6, note: `best of ${rounds} alternated rounds, wall clock` });
    }
    ctx.pool.release(a.buffer);
    ctx.pool.release(b.buffer);
  }
}
