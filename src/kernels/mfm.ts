// Launchers for the max-feature-map forward and backward (shaders/mfm.wgsl), its backward from the
// fused conv's mask (shaders/mfm_grad_from_mask.wgsl), and max pooling fused with that backward
// (shaders/mfm_max_pool.wgsl).
import { gpu } from '../gpu/index.js';
import { Params, alloc, batchChunks, bytesPerElement, dispatch1d, grid1d, images, kernel, type OperandType } from './launch.js';
import { scratch, type PoolGeometry } from './pool.js';

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

/** gx [N, 2C, S] from the fused conv2d + mfm forward's mask [N, C, S] (u32; see shaders/conv2d.wgsl), in runs of images that fit a binding; g and gx of `operands` type. */
export function mfmBackwardFromMask(mask: GPUBuffer, g: GPUBuffer, N: number, C: number, S: number, operands: OperandType = 'f32'): GPUBuffer {
  const gx = alloc(N * 2 * C * S, operands);
  const bytes = bytesPerElement(operands);
  for (const chunk of batchChunks(N, [C * S, C * S, 2 * C * S], [4, bytes, bytes])) {
    const bindings = [images(mask, chunk, N, C * S), images(g, chunk, N, C * S, bytes), images(gx, chunk, N, 2 * C * S, bytes)];
    gpu().dispatch(kernel('mfm_grad_from_mask', { name: 'mfm.backwardFromMask', operands }), bindings, new Params().u32(chunk.count, C, S, 0).done(), grid1d(chunk.count * 2 * C * S));
  }
  return gx;
}

/**
 * Non-overlapping max pooling (kernel = stride, dilation 1, padding <= stride / 2) of the fused
 * conv2d + mfm output y [N, C, H, W]: the pooled values [N, C, OH, OW], and with the conv's mask
 * the route [N, C, OH, OW] (u32: the winner's offset in its window << 3 | its mask bits), all that
 * mfmMaxPoolBackward needs. In runs of images that fit a binding.
 */
export function mfmMaxPoolForward(y: GPUBuffer, mask: GPUBuffer | undefined, N: number, C: number, g: PoolGeometry): { values: GPUBuffer; route: GPUBuffer | undefined } {
  const [inPlane, outPlane] = [g.H * g.W, g.OH * g.OW];
  const values = alloc(N * C * outPlane);
  const route = mask ? alloc(N * C * outPlane) : undefined;
  const pairs = inPairs(g);
  const k = kernel('mfm_max_pool', { name: `mfmMaxPool.${pairs ? 'forwardPairs' : 'forward'}`, entryPoint: pairs ? 'forwardPairs' : 'forward' });
  const { placeholder, placeholderOutput } = gpu();
  for (const chunk of batchChunks(N, [C * inPlane, C * outPlane])) {
    const input = images(y, chunk, N, C * inPlane);
    const bindings = [
      pairs ? placeholder : input,
      mask ? images(mask, chunk, N, C * inPlane) : placeholder,
      images(values, chunk, N, C * outPlane),
      route ? images(route, chunk, N, C * outPlane) : placeholderOutput,
      pairs ? input : placeholder,
      scratch(),
    ];
    const invocations = (chunk.count * C * outPlane) / (pairs ? 2 : 1);
    gpu().dispatch(k, bindings, mfmMaxPoolParams(chunk.count, C, g, route !== undefined).done(), grid1d(invocations));
  }
  return { values, route };
}

/** gx [N, 2C, H, W], the conv output's gradient, from the pooled output's gradient gy [N, C, OH, OW] and mfmMaxPoolForward's route. */
export function mfmMaxPoolBackward(gy: GPUBuffer, route: GPUBuffer, N: number, C: number, g: PoolGeometry, operands: OperandType = 'f32'): GPUBuffer {
  const [inPlane, outPlane] = [g.H * g.W, g.OH * g.OW];
  const gx = alloc(N * 2 * C * inPlane, operands);
  const bytes = bytesPerElement(operands);
  const pairs = inPairs(g);
  const k = kernel('mfm_max_pool', { name: `mfmMaxPool.${pairs ? 'backwardPairs' : 'backward'}`, entryPoint: pairs ? 'backwardPairs' : 'backward', operands });
  const tilesPerPlane = tiles(g.H, g.SH, g.PH) * tiles(g.W, g.SW, g.PW);
  const { placeholder, placeholderOutput } = gpu();
  for (const chunk of batchChunks(N, [C * outPlane, C * outPlane, 2 * C * inPlane], [bytes, 4, bytes])) {
    const output = images(gx, chunk, N, 2 * C * inPlane, bytes);
    const bindings = [images(gy, chunk, N, C * outPlane, bytes), images(route, chunk, N, C * outPlane), pairs ? placeholderOutput : output, scratch(), placeholder, pairs ? output : placeholderOutput];
    gpu().dispatch(k, bindings, mfmMaxPoolParams(chunk.count, C, g, false).done(), grid1d((chunk.count * C * tilesPerPlane) / (pairs ? 2 : 1)));
  }
  return gx;
}

/**
 * LightCNN's 2 x 2 pool without padding on rows of whole vec4s (W % 4 == 0): the kernels' pair
 * entry points, two windows per invocation with vec4 loads (forward) and stores (backward).
 */
function inPairs(g: PoolGeometry): boolean {
  return g.SH === 2 && g.SW === 2 && g.PH === 0 && g.PW === 0 && g.W % 4 === 0;
}

/** S-wide tiles, the first starting at -P, that cover a side of `size`. */
function tiles(size: number, S: number, P: number): number {
  return Math.floor((size - 1 + P) / S) + 1;
}

function mfmMaxPoolParams(N: number, C: number, g: PoolGeometry, withRoute: boolean): Params {
  return new Params()
    .u32(N * C, C, g.H, g.W, g.OH, g.OW, g.SH, g.SW)
    .i32(g.PH, g.PW)
    .u32(tiles(g.H, g.SH, g.PH), tiles(g.W, g.SW, g.PW), withRoute ? 1 : 0, 0, 0, 0);
}
