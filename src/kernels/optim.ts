// Launchers for the in-place optimizer updates in shaders/optim.wgsl (one dispatch per parameter) and
// for a loss scaler's kernels: unscaling and checking the gradients, per gradient
// (grad_unscale.wgsl) or seven at a time against the scaler's state on the GPU
// (grad_unscale_batched_quads.wgsl, grad_unscale_batched.wgsl), and the scale's update there
// (grad_scale_update.wgsl).
import { gpu } from '../gpu/index.js';
import { BufferUsage } from '../gpu/constants.js';
import { Params, WORKGROUP_SIZE, bindingChunks, elementRange, grid1d, kernel } from './launch.js';

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

/**
 * Word `word` of `buffer` (u32): the GPU skips the update when it is nonzero. A loss scaler's
 * inf / NaN flag (SCALER_WORDS.found of its state), known on the GPU before the update runs.
 */
export interface SkipFlag {
  buffer: GPUBuffer;
  word: number;
}

function pack(count: number, algorithm: number, first: boolean, nesterov: boolean, skipWord: number, f: { lr: number; weightDecay: number; momentum?: number; dampening?: number; beta1?: number; beta2?: number; eps?: number; stepSize?: number; bc2Sqrt?: number }): Uint8Array {
  return new Params()
    .u32(count, algorithm, first ? 1 : 0, nesterov ? 1 : 0)
    .f32(f.lr, f.weightDecay, f.momentum ?? 0, f.dampening ?? 0, f.beta1 ?? 0, f.beta2 ?? 0, f.eps ?? 0, f.stepSize ?? 0, f.bc2Sqrt ?? 1)
    .u32(skipWord, 0, 0)
    .done();
}

/**
 * Distinct 16-byte buffers, zeroed and never written, bound where a launch has less to bind
 * (writable bindings must not alias): the optimizer's two unused state slots and its never-set
 * skip word, the batched unscale's empty gradient slots.
 */
const scratchByDevice = new WeakMap<GPUDevice, GPUBuffer[]>();
function scratch(count: number): GPUBuffer[] {
  const device = gpu().device;
  const buffers = scratchByDevice.get(device) ?? [];
  while (buffers.length < count) buffers.push(device.createBuffer({ label: 'webfer.optim.scratch', size: 16, usage: BufferUsage.STORAGE }));
  scratchByDevice.set(device, buffers);
  return buffers.slice(0, count);
}

/** The update's skip binding and word: the flag given, or a zeroed word (never skipped). */
function skipBinding(skip: SkipFlag | undefined): { buffer: GPUBuffer; word: number } {
  return skip ?? { buffer: scratch(3)[2]!, word: 0 };
}

const optimKernel = () => kernel('optim');

/**
 * SGD step on `count` elements of param in place; `momentumBuffer` (same size) is required when
 * momentum ≠ 0 and is updated in place.
 */
export function sgdUpdate(param: GPUBuffer, grad: GPUBuffer, momentumBuffer: GPUBuffer | undefined, count: number, u: SgdUpdate, skip?: SkipFlag): void {
  if (u.momentum !== 0 && !momentumBuffer) throw new Error('sgdUpdate: momentum ≠ 0 needs a momentum buffer');
  const [scratch1, scratch2] = scratch(2);
  const state = u.momentum !== 0 ? momentumBuffer! : scratch1!;
  const flag = skipBinding(skip);
  gpu().dispatch(optimKernel(), [param, grad, state, scratch2!, flag.buffer], pack(count, SGD, u.first, u.nesterov, flag.word, u), grid1d(count));
}

/** Adam step (L2 weight decay in the gradient, like torch.optim.Adam) in place on param, expAvg, expAvgSq. */
export function adamUpdate(param: GPUBuffer, grad: GPUBuffer, expAvg: GPUBuffer, expAvgSq: GPUBuffer, count: number, u: AdamUpdate, skip?: SkipFlag): void {
  // Bias corrections in f64 on the host: 1 - β^t loses digits in f32 for β2 near 1.
  const stepSize = u.lr / (1 - u.beta1 ** u.step);
  const bc2Sqrt = Math.sqrt(1 - u.beta2 ** u.step);
  const flag = skipBinding(skip);
  gpu().dispatch(optimKernel(), [param, grad, expAvg, expAvgSq, flag.buffer], pack(count, ADAM, u.first, false, flag.word, { ...u, stepSize, bc2Sqrt }), grid1d(count));
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

/** The words of a loss scaler's state on the GPU (u32 each; scale and inverse hold f32 bits). */
export const SCALER_WORDS = { scale: 0, inverse: 1, found: 2, growthTracker: 3, skipped: 4 } as const;
export const SCALER_STATE_BYTES = 32;

/** Gradients one grad_unscale_batched launch takes: its 7 slots and the state make 8 storage bindings, a browser's limit. */
export const UNSCALE_SLOTS = 7;

/**
 * grad *= the state's inverse scale in place for every gradient (`count` elements each), seven
 * gradients (or binding-sized pieces of one) per launch, and the state's found word set to 1 if any
 * element was ±inf or NaN. The kernel policy's gradUnscaleWidth 'quads' runs a quad per invocation
 * (shaders/grad_unscale_batched_quads.wgsl) on every piece whose buffer holds its last quad whole
 * (a pooled buffer does, but for 5-6 elements), the rest one element per invocation
 * (shaders/grad_unscale_batched.wgsl), as 'elements' runs everything.
 */
export function unscaleGradientsBatched(grads: readonly { buffer: GPUBuffer; count: number }[], state: GPUBuffer): void {
  const pieces = grads.flatMap((g) => bindingChunks(g.count).map((chunk) => ({ binding: elementRange(g.buffer, chunk.start, chunk.count), count: chunk.count })));
  const quads = gpu().policy.get('gradUnscaleWidth') === 'quads';
  const wholeQuads = (piece: (typeof pieces)[number]) => quads && piece.binding.size >= Math.ceil(piece.count / 4) * 16;
  launchUnscale('grad_unscale_batched_quads', 4, pieces.filter(wholeQuads), state);
  launchUnscale('grad_unscale_batched', 1, pieces.filter((piece) => !wholeQuads(piece)), state);
}

/** Launches of `name` over the pieces, seven at a time, `perInvocation` elements per invocation. */
function launchUnscale(name: string, perInvocation: number, pieces: readonly { binding: ReturnType<typeof elementRange>; count: number }[], state: GPUBuffer): void {
  if (pieces.length === 0) return;
  const k = kernel(name);
  const empty = scratch(UNSCALE_SLOTS);
  for (let first = 0; first < pieces.length; first += UNSCALE_SLOTS) {
    const slots = pieces.slice(first, first + UNSCALE_SLOTS);
    const counts = Array.from({ length: 8 }, (_, s) => slots[s]?.count ?? 0);
    let groups = 0;
    const groupEnds = counts.map((count) => (groups += Math.ceil(count / (perInvocation * WORKGROUP_SIZE))));
    if (groups === 0) continue;
    const bindings = Array.from({ length: UNSCALE_SLOTS }, (_, s) => slots[s]?.binding ?? empty[s]!);
    gpu().dispatch(k, [state, ...bindings], new Params().u32(...counts, ...groupEnds).done(), grid1d(groups * WORKGROUP_SIZE));
  }
}

export interface LossScaleFactors {
  growthFactor: number;
  backoffFactor: number;
  growthInterval: number;
}

/** The scaler state's update after a step, on the GPU (shaders/grad_scale_update.wgsl). */
export function updateLossScale(state: GPUBuffer, f: LossScaleFactors): void {
  gpu().dispatch(kernel('grad_scale_update'), [state], new Params().f32(f.growthFactor, f.backoffFactor, 1 / f.growthFactor, 1 / f.backoffFactor).u32(f.growthInterval, 0, 0, 0).done(), [1, 1]);
}
