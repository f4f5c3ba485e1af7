// Launchers for 2-D max / average pooling and their gather-form backward passes (shaders/pool.wgsl),
// with faster paths for max pooling whose windows tile the plane (shaders/pool.wgsl's
// maxBackwardTiles, shaders/pool_quads.wgsl for LightCNN's 2 x 2 / stride 2 on rows of 8k floats).
import { gpu, type Gpu } from '../gpu/index.js';
import { Params, alloc, dispatch1d, kernel, type OperandType, type WindowGeometry } from './launch.js';

const scratchByDevice = new WeakMap<Gpu, GPUBuffer>();

/** A 16-byte buffer for a write-only slot a kernel does not use (the Indices slot of kernels that do not write indices); distinct from gpu().placeholderOutput, so a kernel with two unused write slots binds both. */
export function scratch(): GPUBuffer {
  const ctx = gpu();
  let buffer = scratchByDevice.get(ctx);
  if (!buffer) {
    buffer = ctx.device.createBuffer({ label: 'webfer.pool.scratch', size: 16, usage: 0x80 /* STORAGE */ });
    scratchByDevice.set(ctx, buffer);
  }
  return buffer;
}

export interface PoolGeometry extends WindowGeometry {
  /** N·C. */
  planes: number;
}

function params(g: PoolGeometry, countIncludePad = true, divisorOverride = 0): Params {
  return new Params()
    .u32(g.planes, g.H, g.W, g.OH, g.OW, g.KH, g.KW, g.SH, g.SW)
    .i32(g.PH, g.PW)
    .u32(g.DH, g.DW, countIncludePad ? 1 : 0)
    .f32(divisorOverride)
    .u32(0);
}

/**
 * Which max-pool kernels run: 'general' the window-scanning forward and the gather backward for any
 * geometry; 'auto' (the default) the faster ones where the geometry allows (the same results;
 * bench/pool-variants.ts compares the two).
 */
export type MaxPoolPath = 'auto' | 'general';

/** Windows that tile the plane: kernel = stride, no dilation, padding <= stride / 2 (every window holds an input, none overlap). */
export function tilesPlane(g: PoolGeometry): boolean {
  return g.KH === g.SH && g.KW === g.SW && g.DH === 1 && g.DW === 1 && 2 * g.PH <= g.SH && 2 * g.PW <= g.SW;
}

/** LightCNN's 2 x 2 / stride 2 pool without padding on rows of 8k floats: pool_quads.wgsl's four windows per invocation. */
export function inQuads(g: PoolGeometry): boolean {
  return g.KH === 2 && g.KW === 2 && g.SH === 2 && g.SW === 2 && g.PH === 0 && g.PW === 0 && g.DH === 1 && g.DW === 1 && g.W % 8 === 0;
}

/**
 * Values and flat in-plane indices (f32) of the first maximum of each window. `operands` is the
 * element type of x and the values (and of the gradients, backward): 'f16' reads and writes float16.
 */
export function maxPoolForward(x: GPUBuffer, g: PoolGeometry, path: MaxPoolPath = 'auto', operands: OperandType = 'f32'): { values: GPUBuffer; indices: GPUBuffer } {
  const count = g.planes * g.OH * g.OW;
  const values = alloc(count, operands);
  const indices = alloc(count);
  if (path === 'auto' && inQuads(g)) {
    dispatch1d(kernel('pool_quads', { name: 'pool.maxForwardQuads', entryPoint: 'maxForwardQuads', operands }), [x, gpu().placeholder, values, indices], params(g), count / 4);
  } else {
    dispatch1d(kernel('pool', { name: 'pool.maxForward', entryPoint: 'maxForward', operands }), [x, gpu().placeholder, values, indices], params(g), count);
  }
  return { values, indices };
}

export function maxPoolBackward(gy: GPUBuffer, indices: GPUBuffer, g: PoolGeometry, path: MaxPoolPath = 'auto', operands: OperandType = 'f32'): GPUBuffer {
  const count = g.planes * g.H * g.W;
  const gx = alloc(count, operands);
  if (path === 'auto' && inQuads(g)) {
    // One invocation per 2 x 8 block of input (4 tiles); the last tile row of an odd H is one row.
    const tileRows = g.planes * Math.ceil(g.H / 2);
    dispatch1d(kernel('pool_quads', { name: 'pool.maxBackwardQuads', entryPoint: 'maxBackwardQuads', operands }), [gy, indices, gx, scratch()], params(g), (tileRows * g.W) / 8);
  } else if (path === 'auto' && tilesPlane(g)) {
    const tiles = g.planes * (Math.floor((g.H - 1 + g.PH) / g.SH) + 1) * (Math.floor((g.W - 1 + g.PW) / g.SW) + 1);
    dispatch1d(kernel('pool', { name: 'pool.maxBackwardTiles', entryPoint: 'maxBackwardTiles', operands }), [gy, indices, gx, scratch()], params(g), tiles);
  } else {
    dispatch1d(kernel('pool', { name: 'pool.maxBackward', entryPoint: 'maxBackward', operands }), [gy, indices, gx, scratch()], params(g), count);
  }
  return gx;
}

/** divisorOverride 0 means none. */
export function avgPoolForward(x: GPUBuffer, g: PoolGeometry, countIncludePad: boolean, divisorOverride: number, operands: OperandType = 'f32'): GPUBuffer {
  const count = g.planes * g.OH * g.OW;
  const y = alloc(count, operands);
  dispatch1d(kernel('pool', { name: 'pool.avgForward', entryPoint: 'avgForward', operands }), [x, gpu().placeholder, y, scratch()], params(g, countIncludePad, divisorOverride), count);
  return y;
}

export function avgPoolBackward(gy: GPUBuffer, g: PoolGeometry, countIncludePad: boolean, divisorOverride: number, operands: OperandType = 'f32'): GPUBuffer {
  const count = g.planes * g.H * g.W;
  const gx = alloc(count, operands);
  dispatch1d(kernel('pool', { name: 'pool.avgBackward', entryPoint: 'avgBackward', operands }), [gy, gpu().placeholder, gx, scratch()], params(g, countIncludePad, divisorOverride), count);
  return gx;
}
