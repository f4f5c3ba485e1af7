// Storage-buffer pool keyed by size class. Training loops allocate the same shapes every step, so
// after the first step almost every allocation is a free-list pop. Classes are powers of two and
// three-quarter powers of two, so at most a third of a buffer is slack.

import { BufferUsage } from './constants.js';

export const STORAGE_USAGE = BufferUsage.STORAGE | BufferUsage.COPY_SRC | BufferUsage.COPY_DST;
const MIN_BYTES = 16;

export function sizeClass(bytes: number): number {
  const wanted = Math.max(MIN_BYTES, Math.ceil(bytes / 4) * 4);
  const power = 2 ** Math.ceil(Math.log2(wanted));
  const threeQuarters = (power / 4) * 3;
  return wanted <= threeQuarters ? threeQuarters : power;
}

const mebibytes = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

export interface PoolStats {
  bytesInUse: number;
  bytesPooled: number;
  peakBytes: number;
  buffersInUse: number;
  buffersPooled: number;
}

export class BufferPool {
  private readonly free = new Map<number, GPUBuffer[]>();
  private readonly classOf = new WeakMap<GPUBuffer, number>();
  /** Bytes asked for at the buffer's latest acquire: the range kernels bind (see bytesAcquired). */
  private readonly acquiredBytes = new WeakMap<GPUBuffer, number>();
  private bytesInUse = 0;
  private bytesPooled = 0;
  private peakBytes = 0;
  private buffersInUse = 0;
  private buffersPooled = 0;

  /**
   * @param destroyLater buffers leaving the pool may still be referenced by commands not yet
   *   submitted; the runtime destroys them after its next submit.
   */
  constructor(
    private readonly device: GPUDevice,
    private readonly destroyLater: (buffer: GPUBuffer) => void,
    public maxPooledBytes: number,
  ) {}

  acquire(bytes: number): GPUBuffer {
    const size = sizeClass(bytes);
    // Refused here, before Dawn makes an invalid buffer whose deferred error would fail the next, innocent op.
    const limit = this.device.limits.maxBufferSize;
    if (size > limit) {
      throw new Error(`cannot allocate ${mebibytes(bytes)} on the GPU: above this adapter's maxBufferSize of ${mebibytes(limit)}; use a smaller batch or input`);
    }
    const list = this.free.get(size);
    let buffer = list?.pop();
    if (buffer) {
      this.bytesPooled -= size;
      this.buffersPooled--;
    } else {
      buffer = this.device.createBuffer({ size, usage: STORAGE_USAGE });
      this.classOf.set(buffer, size);
    }
    this.bytesInUse += size;
    this.buffersInUse++;
    this.peakBytes = Math.max(this.peakBytes, this.bytesInUse);
    this.acquiredBytes.set(buffer, bytes);
    return buffer;
  }

  /** The bytes the holder of a pooled buffer asked for (its size class may be up to a third more); undefined for other buffers. */
  bytesAcquired(buffer: GPUBuffer): number | undefined {
    return this.acquiredBytes.get(buffer);
  }

  release(buffer: GPUBuffer): void {
    const size = this.classOf.get(buffer);
    if (size === undefined) throw new Error('BufferPool.release: buffer was not acquired from this pool');
    this.bytesInUse -= size;
    this.buffersInUse--;
    if (this.bytesPooled + size > this.maxPooledBytes) {
      this.destroyLater(buffer);
      return;
    }
    let list = this.free.get(size);
    if (!list) this.free.set(size, (list = []));
    list.push(buffer);
    this.bytesPooled += size;
    this.buffersPooled++;
  }

  /** Returns every pooled (unused) buffer to the driver. */
  trim(): void {
    for (const list of this.free.values()) for (const buffer of list) this.destroyLater(buffer);
    this.free.clear();
    this.bytesPooled = 0;
    this.buffersPooled = 0;
  }

  resetPeak(): void {
    this.peakBytes = this.bytesInUse;
  }

  stats(): PoolStats {
    return {
      bytesInUse: this.bytesInUse,
      bytesPooled: this.bytesPooled,
      peakBytes: this.peakBytes,
      buffersInUse: this.buffersInUse,
      buffersPooled: this.buffersPooled,
    };
  }
}
