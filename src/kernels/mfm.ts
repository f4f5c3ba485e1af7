// Launchers for the max-feature-map forward and backward (shaders/mfm.wgsl).
import { gpu } from '../gpu/index.js';
import { Params, alloc, batchChunks, dispatch1d, grid1d, images, kernel } from './launch.js';

/** y [N, C, S] = max of the two channel halves of x [N, 2C, S]. */
export function mfmForward(x: GPUBuffer, N: number, C: number, S: number): GPUBuffer {
  const y = alloc(N * C * S);
  dispatch1d(kernel('mfm', { name: 'mfm.forward', entryPoint: 'forward' }), [x, gpu().placeholder, y], new Params().u32(N, C, S, 0), N * C * S);
  return y;
}

/** gx [N, 2C, S]: g routed to the winning half, split evenly on ties (torch.maximum's rule). */
export function mfmBackward(x: GPUBuffer, g: GPUBuffer, N: number, C: number, S: number): GPUBuffer {
  const gx = alloc(N * 2 * C * S);
  dispatch1d(kernel('mfm', { name: 'mfm.backward', entryPoint: 'backward' }), [x, g, gx], new Params().u32(N, C, S, 0), N * 2 * C * S);
  return gx;
}

/** gx [N, 2C, S] from the fused conv2d + mfm forward's mask [N, C, S] (u32; see shaders/conv2d.wgsl), in runs of images that fit a binding. */
export function mfmBackwardFromMask(mask: GPUBuffer, g: GPUBuffer, N: number, C: number, S: number): GPUBuffer {
  const gx = alloc(N * 2 * C * S);
  for (const chunk of batchChunks(N, [C * S, 2 * C * S])) {
    const bindings = [images(mask, chunk, N, C * S), images(g, chunk, N, C * S), images(gx, chunk, N, 2 * C * S)];
    gpu().dispatch(kernel('mfm_grad_from_mask', { name: 'mfm.backwardFromMask' }), bindings, new Params().u32(chunk.count, C, S, 0).done(), grid1d(chunk.count * 2 * C * S));
  }
  return gx;
}
