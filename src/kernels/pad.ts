// Launcher for reflect / replicate padding of the last two dimensions and its adjoint.
import { Params, alloc, dispatch1d, kernel, type OperandType } from './launch.js';

export interface PadGeometry {
  planes: number;
  height: number;
  width: number;
  top: number;
  left: number;
  outHeight: number;
  outWidth: number;
  reflect: boolean;
}

/** forward: x [planes, H, W] -> padded; adjoint: gradient of the padded -> [planes, H, W]. `operands` 'f16': both float16 (pad_half.wgsl). */
export function padIndexed(source: GPUBuffer, g: PadGeometry, adjoint: boolean, operands: OperandType = 'f32'): GPUBuffer {
  const count = g.planes * (adjoint ? g.height * g.width : g.outHeight * g.outWidth);
  const target = alloc(count, operands);
  const params = new Params().u32(g.planes, g.height, g.width, g.outHeight, g.outWidth, g.top, g.left, g.reflect ? 1 : 0);
  const entryPoint = adjoint ? 'backward' : 'forward';
  const name = `pad.${g.reflect ? 'reflect' : 'replicate'}.${entryPoint}`;
  // pad_half.wgsl: float16 in 32-bit words, two target elements per invocation.
  if (operands === 'f16') dispatch1d(kernel('pad_half', { name: `${name}.f16`, entryPoint }), [source, target], params, Math.ceil(count / 2));
  else dispatch1d(kernel('pad', { name, entryPoint }), [source, target], params, count);
  return target;
}
