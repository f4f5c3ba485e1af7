// Per-kernel GPU timing for Gpu.profile(): timestamp queries around each dispatch, one compute
// pass per dispatch while profiling, resolved into a buffer at every submit and read back
// asynchronously.
import { BufferUsage, MapMode } from './constants.js';

/** Per-kernel GPU time collected while profiling is on (timestamp queries, or none). */
export interface KernelTiming {
  name: string;
  calls: number;
  totalMs: number;
}

/** Timestamp queries around each dispatch: one pass per dispatch while profiling. */
export class Profiler {
  private readonly querySet: GPUQuerySet | undefined;
  private readonly resolveBuffer: GPUBuffer | undefined;
  private readonly pendingNames: string[] = [];
  private readonly reads: Promise<void>[] = [];
  private readonly totals = new Map<string, KernelTiming>();
  /** The mappable copy of the timestamps resolved at the last submit, until collect() reads it. */
  private readTarget: GPUBuffer | undefined;

  constructor(
    private readonly device: GPUDevice,
    private readonly capacity: number,
    readonly active: boolean,
  ) {
    if (!active) return;
    this.querySet = device.createQuerySet({ type: 'timestamp', count: 2 * capacity });
    this.resolveBuffer = device.createBuffer({ size: 16 * capacity, usage: BufferUsage.QUERY_RESOLVE | BufferUsage.COPY_SRC });
  }

  beginPass(encoder: GPUCommandEncoder): GPUComputePassEncoder {
    const index = this.pendingNames.length;
    return encoder.beginComputePass({ timestampWrites: { querySet: this.querySet!, beginningOfPassWriteIndex: 2 * index, endOfPassWriteIndex: 2 * index + 1 } });
  }

  endPass(pass: GPUComputePassEncoder, name: string): void {
    pass.end();
    this.pendingNames.push(name);
  }

  resolve(encoder: GPUCommandEncoder): void {
    const count = this.pendingNames.length;
    if (!this.active || count === 0) return;
    encoder.resolveQuerySet(this.querySet!, 0, 2 * count, this.resolveBuffer!, 0);
    this.readTarget = this.device.createBuffer({ size: 16 * count, usage: BufferUsage.MAP_READ | BufferUsage.COPY_DST });
    encoder.copyBufferToBuffer(this.resolveBuffer!, 0, this.readTarget, 0, 16 * count);
  }

  collect(): void {
    const target = this.readTarget;
    if (!target) return;
    const names = this.pendingNames.splice(0);
    this.readTarget = undefined;
    this.reads.push(
      target.mapAsync(MapMode.READ).then(() => {
        const stamps = new BigInt64Array(target.getMappedRange());
        names.forEach((name, i) => {
          const ns = Number(stamps[2 * i + 1] - stamps[2 * i]);
          const entry = this.totals.get(name) ?? { name, calls: 0, totalMs: 0 };
          entry.calls++;
          entry.totalMs += Math.max(0, ns) / 1e6;
          this.totals.set(name, entry);
        });
        target.unmap();
        target.destroy();
      }),
    );
  }

  async settled(): Promise<void> {
    await Promise.all(this.reads.splice(0));
  }

  timings(): KernelTiming[] {
    return [...this.totals.values()].sort((a, b) => b.totalMs - a.totalMs);
  }

  dispose(): void {
    this.querySet?.destroy();
    this.resolveBuffer?.destroy();
  }
}
