// Launchers for 2-D max / average pooling and their gather-form backward passes (shaders/pool.wgsl).
import { Params, alloc, dispatch1d, kernel } from './launch.js';

export interface PoolGeometry {
  /** N·C. */
  planes: number;
  H: number;
  W: number;
  OH: number;
  OW: number;
  KH: number;
  KW: number;
  SH: number;
  SW: number;
  PH: number;
  PW: number;
  DH: number;
  DW: number;
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
  dispatch1d(kernel('pool', { name: 'pool.maxForward', entryPoint: 'maxForward' }), [x, values, indices], params(g), count);
  return { values, indices };
}

export function maxPoolBackward(gy: GPUBuffer, indices: GPUBuffer, g: PoolGeometry): GPUBuffer {
  const count = g.planes * g.H * g.W;
  const gx = alloc(count);
  dispatch1d(kernel('pool', { name: 'pool.maxBackward', entryPoint: 'maxBackward' }), [gy, indices, gx], params(g), count);
  return gx;
}

/** divisorOverride 0 means none. */
export function avgPoolForward(x: GPUBuffer, g: PoolGeometry, countIncludePad: boolean, divisorOverride: number): GPUBuffer {
  const count = g.planes * g.OH * g.OW;
  const y = alloc(count);
  dispatch1d(kernel('pool', { name: 'pool.avgForward', entryPoint: 'avgForward' }), [x, y], params(g, countIncludePad, divisorOverride), count);
  return y;
}

export function avgPoolBackward(gy: GPUBuffer, g: PoolGeometry, countIncludePad: boolean, divisorOverride: number): GPUBuffer {
  const count = g.planes * g.H * g.W;
  const gx = alloc(count);
  dispatch1d(kernel('pool', { name: 'pool.avgBackward', entryPoint: 'avgBackward' }), [gy, gx], params(g, countIncludePad, divisorOverride), count);
  return gx;
}
