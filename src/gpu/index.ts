// The device context: the only ambient state in webfer. init() makes it, everything else reads it.
import { requestAdapter, requestDevice } from './device.js';
import { Gpu, type RuntimeOptions } from './runtime.js';

export { Gpu, DeviceLostError, KernelError, type Kernel, type Binding, type Counters, type KernelTiming, type RuntimeOptions } from './runtime.js';
export { sizeClass, type PoolStats } from './pool.js';
export type { AdapterDescription } from './device.js';

export interface InitOptions extends RuntimeOptions {
  /** Adopt a device the caller already has (its adapter, if known, for info()). */
  device?: GPUDevice;
  adapter?: GPUAdapter;
  powerPreference?: GPUPowerPreference;
}

let current: Gpu | undefined;

/** Acquires a WebGPU device (Node: Dawn; browser: navigator.gpu) and makes it current. */
export async function init(options: InitOptions = {}): Promise<Gpu> {
  if (current && !options.device && current.lost === undefined) return current;
  let device = options.device;
  let adapter = options.adapter;
  if (!device) {
    adapter ??= await requestAdapter(options.powerPreference);
    device = await requestDevice(adapter);
  }
  current = new Gpu(device, adapter, options);
  return current;
}

/** The current device context; throws if init() has not run. */
export function gpu(): Gpu {
  if (!current) throw new Error('webfer is not initialised: call `await init()` first.');
  return current;
}

export function hasGpu(): boolean {
  return current !== undefined;
}
