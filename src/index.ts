// webfer: deep learning on WebGPU. Browser-safe entry point (no Node built-ins anywhere below).
// The declarations name WebGPU's types (GPUBuffer, GPUDevice, ...), which live in @webgpu/types,
// not in TypeScript's lib: this directive makes a user's tsc load them (preserve: kept in the .d.ts).
/// <reference types="@webgpu/types" preserve="true" />
import { gpu, hasGpu, init as initGpu, type InitOptions } from './gpu/index.js';
import { liveTensorCount } from './tensor/tensor.js';
import type { MemoryStats } from './tensor/creation.js';

export { Tensor, noGrad, isGradEnabled, scope, untrack, record, type Shape, type GradNode, type DType, DTYPES } from './tensor/tensor.js';
export { tensor, zeros, ones, full, zerosLike, randn, rand, arange, type CreateOptions, type MemoryStats } from './tensor/creation.js';
export { manualSeed, Generator } from './tensor/random.js';
export { gpu, DeviceLostError, KernelError, InvalidInputError, type Gpu, type InitOptions, type AdapterDescription, type Counters, type KernelTiming, type KernelPolicy, type KernelChoices, type AdapterClass } from './gpu/index.js';
export * as F from './nn/functional/index.js';
export { selfCheck, type CheckResult } from './selfcheck.js';

/** Acquires the WebGPU device: Dawn in Node, navigator.gpu in a browser, or { device } you pass. */
export async function init(options: InitOptions = {}): Promise<void> {
  await initGpu(options);
}

/** Submits pending GPU work and waits for it; raises deferred kernel errors. */
export async function sync(): Promise<void> {
  await gpu().sync();
}

/** GPU memory held by tensors and the pool, for leak checks and progress displays. */
export function memory(): MemoryStats {
  const stats = hasGpu() ? gpu().poolStats() : { bytesInUse: 0, bytesPooled: 0, peakBytes: 0 };
  return { bytesInUse: stats.bytesInUse, bytesPooled: stats.bytesPooled, peakBytes: stats.peakBytes, liveTensors: liveTensorCount() };
}
export * as nn from './nn/index.js';
export * as optim from './optim/index.js';

/** Returns the buffer pool's unused buffers to the driver (like torch.cuda.empty_cache()). */
export function emptyCache(): void {
  if (hasGpu()) gpu().releasePool();
}
export * as models from './models/index.js';
export * as data from './data/index.js';
export { encodeSafetensors, decodeSafetensors, type HostArray, type SafetensorsContent } from './nn/safetensors.js';
