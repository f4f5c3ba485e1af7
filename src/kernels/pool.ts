// Launchers for 2-D max / average pooling and their gather-form backward passes (shaders/pool.wgsl).
import { gpu, type Gpu } from '../gpu/index.js';
import { Params, alloc, dispatch1d, kernel, type WindowGeometry } from './launch.js';

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

/** Values and flat in-plane indices (f32) of the first maximum of each window. */
export function maxPoolForward(x: GPUBuffer, g: PoolGeometry): { values: GPUBuffer; indices: GPUBuffer } {
  const count = g.planes * g.OH * g.OW;
  const values = alloc(count);
  const indices = alloc(count);
  dispatch1d(kernel('pool', { name: 'pool.maxForward', entryPoint: 'maxForward' }), [x, gpu().placeholder, values, indices], params(g), count);
  return { values, indices };
}

export function maxPoolBackward(gy: GPUBuffer, indices: GPUBuffer, g: PoolGeometry): GPUBuffer {
  const count = g.planes * g.H * g.W;
  const gx = alloc(count);
  dispatch1d(kernel('pool', { name: 'pool.maxBackward', entryPoint: 'maxBackward' }), [gy, indices, gx, scratch()], params(g), count);
  return gx;
}

/** divisorOverride 0 means none. */
export function avgPoolForward(x: GPUBuffer, g: PoolGeometry, countIncludePad: boolean, divisorOverride: number): GPUBuffer {
  const count = g.planes * g.OH * g.OW;
  const y = alloc(count);
  dispatch1d(kernel('pool', { name: 'pool.avgForward', entryPoint: 'avgForward' }), [x, gpu().placeholder, y, scratch()], params(g, countIncludePad, divisorOverride), count);
  return y;
}

export function avgPoolBackward(gy: GPUBuffer, g: PoolGeometry, countIncludePad: boolean, divisorOverride: number): GPUBuffer {
  const count = g.planes * g.H * g.W;
  const gx = alloc(count);
  dispatch1d(kernel('pool', { name: 'pool.avgBackward', entryPoint: 'avgBackward' }), [gy, gpu().placeholder, gx, scratch()], params(g, countIncludePad, divisorOverride), count);
  return gx;
}
