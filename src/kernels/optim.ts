// Launchers for the in-place optimizer updates in shaders/optim.wgsl: one dispatch per parameter.
import { gpu } from '../gpu/index.js';
import { BufferUsage } from '../gpu/constants.js';
import { Params, bindingChunks, elementRange, grid1d, kernel } from './launch.js';

export interface SgdUpdate {
  lr: number;
  weightDecay: number;
  momentum: number;
  dampening: number;
  nesterov: boolean;
  /** True on the parameter's first step: the momentum buffer is set to the gradient. */
  first: boolean;
}

export interface AdamUpdate {
  lr: number;
  weightDecay: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** The 1-based step number of this update (bias correction). */
  step: number;
  /** True when the moment buffers hold no state yet (they are treated as zeros). */
  first: boolean;
}

const SGD = 0;
const ADAM = 1;

function pack(count: number, algorithm: number, first: boolean, nesterov: boolean, f: { lr: number; weightDecay: number; momentum?: number; dampening?: number; beta1?: number; beta2?: number; eps?: number; stepSize?: number; bc2Sqrt?: number }): Uint8Array {
  return new Params()
    .u32(count, algorithm, first ? 1 : 0, nesterov ? 1 : 0)
    .f32(f.lr, f.weightDecay, f.momentum ?? 0, f.dampening ?? 0, f.beta1 ?? 0, f.beta2 ?? 0, f.eps ?? 0, f.stepSize ?? 0, f.bc2Sqrt ?? 1)
    .u32(0, 0, 0)
    .done();
}

/** Two distinct 16-byte buffers bound where an update keeps less state (writable bindings must not alias). */
const scratchByDevice = new WeakMap<GPUDevice, [GPUBuffer, GPUBuffer]>();
function scratch(): [GPUBuffer, GPUBuffer] {
  const device = gpu().device;
  let buffers = scratchByDevice.get(device);
  if (!buffers) {
    const make = () => device.createBuffer({ label: 'webfer.optim.scratch', size: 16, usage: BufferUsage.STORAGE });
    buffers = [make(), make()];
    scratchByDevice.set(device, buffers);
  }
  return buffers;
}

const optimKernel = () => kernel('optim');

/**
 * SGD step on `count` elements of param in place; `momentumBuffer` (same size) is required when
 * momentum ≠ 0 and is updated in place.
 */
export function sgdUpdate(param: GPUBuffer, grad: GPUBuffer, momentumBuffer: GPUBuffer | undefined, count: number, u: SgdUpdate): void {
  if (u.momentum !== 0 && !momentumBuffer) throw new Error('sgdUpdate: momentum ≠ 0 needs a momentum buffer');
  const [scratch1, scratch2] = scratch();
  const state = u.momentum !== 0 ? momentumBuffer! : scratch1;
  gpu().dispatch(optimKernel(), [param, grad, state, scratch2], pack(count, SGD, u.first, u.nesterov, u), grid1d(count));
}

/** Adam step (L2 weight decay in the gradient, like torch.optim.Adam) in place on param, expAvg, expAvgSq. */
export function adamUpdate(param: GPUBuffer, grad: GPUBuffer, expAvg: GPUBuffer, expAvgSq: GPUBuffer, count: number, u: AdamUpdate): void {
  // Bias corrections in f64 on the host: 1 - β^t loses digits in f32 for β2 near 1.
  const stepSize = u.lr / (1 - u.beta1 ** u.step);
  const bc2Sqrt = Math.sqrt(1 - u.beta2 ** u.step);
  gpu().dispatch(optimKernel(), [param, grad, expAvg, expAvgSq], pack(count, ADAM, u.first, false, { ...u, stepSize, bc2Sqrt }), grid1d(count));
}

/**
 * grad *= inverse in place over `count` elements (binding-sized chunks for large gradients), and
 * sets found's first word to 1 if any element was ±inf or NaN (shaders/grad_unscale.wgsl).
 */
export function unscaleGradient(grad: GPUBuffer, count: number, inverse: number, found: GPUBuffer): void {
  const k = kernel('grad_unscale');
  for (const chunk of bindingChunks(count)) {
    gpu().dispatch(k, [elementRange(grad, chunk.start, chunk.count), found], new Params().u32(chunk.count).f32(inverse).u32(0, 0).done(), grid1d(chunk.count));
  }
}
