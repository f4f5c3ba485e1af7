// The device context: the only ambient state in webfer. init() makes it, everything else reads it.
import { requestAdapter, requestDevice } from './device.js';
import { Gpu, type RuntimeOptions } from './runtime.js';

export { Gpu, DeviceLostError, KernelError, InvalidInputError, FLAG_WORDS, type Kernel, type Binding, type Counters, type KernelTiming, type RuntimeOptions } from './runtime.js';
export { sizeClass, type PoolStats } from './pool.js';
export type { AdapterDescription } from './device.js';
export { KernelPolicy, POLICY_DEFAULTS, adapterClassOf, type AdapterClass, type KernelChoices, type TunableKey } from './policy.js';
export { Autotuner, type TuningRecord, type TuningRun } from './autotune.js';

export interface InitOptions extends RuntimeOptions {
  /** Adopt a device the caller already has (its adapter, if known, for info()). */
  device?: GPUDevice;
  adapter?: GPUAdapter;
  powerPreference?: GPUPowerPreference;
}

let current: Gpu | undefined;
/** Counts the devices init() has made current: tensors record it, to refuse use on a later device. */
let generation = 0;

/** Acquires a WebGPU device (Node: Dawn; browser: navigator.gpu) and makes it current. */
export async function init(options: InitOptions = {}): Promise<Gpu> {
  if (current && !options.device && current.lost === undefined) {
    // The device is kept; a kernel policy or autotuning asked for now still applies to it.
    if (options.kernelPolicy) current.policy.set(options.kernelPolicy);
    if (options.autotune !== undefined) current.policy.autotuner.enabled = options.autotune;
    if (options.asyncCompile !== undefined) current.asyncCompile = options.asyncCompile;
    return current;
  }
  let device = options.device;
  let adapter = options.adapter;
  if (!device) {
    adapter ??= await requestAdapter(options.powerPreference);
    device = await requestDevice(adapter);
  }
  current = new Gpu(device, adapter, { ...options, autotune: options.autotune ?? autotuneFromEnvironment() });
  generation++;
  return current;
}

/** WEBFER_AUTOTUNE=1 (or true) in Node's environment; false in a browser. */
function autotuneFromEnvironment(): boolean {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  return ['1', 'true'].includes(env?.WEBFER_AUTOTUNE ?? '');
}

/** The current device context; throws if init() has not run. */
export function gpu(): Gpu {
  if (!current) throw new Error('webfer is not initialised: call `await init()` first.');
  return current;
}

export function hasGpu(): boolean {
  return current !== undefined;
}

/** The number of the current device: 1 after the first init(), 2 after a second, ... (0 before). */
export function deviceGeneration(): number {
  return generation;
}

/**
 * Throws unless the device has 'shader-f16', which the float16-operand kernels need: `what`
 * names the caller ("--precision f16", "conv2d").
 */
export function assertShaderF16(what: string): void {
  if (gpu().device.features.has('shader-f16')) return;
  throw new Error(`${what}: float16 kernels need the adapter feature shader-f16, which ${gpu().info.description || 'this adapter'} lacks; run in float32 (--precision f32)`);
}
