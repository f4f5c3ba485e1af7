// Runtime micro-benchmarks: per-dispatch cost, submit cost, read-back round trip and bandwidth
// (matmul per variant is src/bench/matmul.ts).
import { gpu } from '../gpu/index.js';
import { Params, dispatch1d, kernel } from '../kernels/launch.js';

export interface BenchRow {
  name: string;
  shape: string;
  ms: number;
  gflops?: number;
  gbps?: number;
  note?: string;
}
export type Report = (row: BenchRow) => void;

async function wallMs(repeats: number, fn: () => void | Promise<void>): Promise<number> {
  await fn();
  await gpu().sync();
  const start = performance.now();
  for (let i = 0; i < repeats; i++) await fn();
  await gpu().sync();
  return (performance.now() - start) / repeats;
}

export async function benchRuntime(report: Report, options: { quick?: boolean } = {}): Promise<void> {
  const ctx = gpu();
  const fill = kernel('fill');
  const buffer = ctx.pool.acquire(256);
  const params = new Params().u32(64).f32(1).u32(0, 0);

  const dispatches = options.quick ? 2000 : 10_000;
  const perDispatch = await wallMs(1, () => {
    for (let i = 0; i < dispatches; i++) dispatch1d(fill, [buffer], params, 64);
  });
  report({ name: 'dispatch (encoded, batched submits)', shape: `${dispatches} tiny fills`, ms: perDispatch / dispatches, note: 'per dispatch' });

  const submits = options.quick ? 100 : 300;
  const perSubmit = await wallMs(submits, async () => {
    dispatch1d(fill, [buffer], params, 64);
    await ctx.sync();
  });
  report({ name: 'submit + wait', shape: '1 tiny dispatch', ms: perSubmit });

  const readback = await wallMs(submits, async () => {
    await ctx.read(buffer, 4);
  });
  report({ name: 'read-back round trip', shape: '4 bytes', ms: readback });

  const bigBytes = 64 * 2 ** 20;
  const big = ctx.pool.acquire(bigBytes);
  const readBig = await wallMs(3, async () => {
    await ctx.read(big, bigBytes);
  });
  report({ name: 'read-back bandwidth', shape: '64 MiB', ms: readBig, gbps: bigBytes / readBig / 1e6 });
  ctx.pool.release(big);
  ctx.pool.release(buffer);
}
