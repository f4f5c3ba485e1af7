// Launchers for shaders/cast.wgsl: f32 <-> float16 storage (two elements per u32 word) and the
// sum of two float16 buffers. Buffers larger than one storage binding run in binding-sized chunks.
import { gpu } from '../gpu/index.js';
import { Params, alloc, bindingChunks, elementRange, grid1d, kernel, type OperandType } from './launch.js';

type CastEntry = 'toHalf' | 'toFloat' | 'addHalf';

function launch(entryPoint: CastEntry, inputs: [GPUBuffer, GPUBuffer | undefined], inputIsHalf: boolean, output: GPUBuffer, outputIsHalf: boolean, count: number): void {
  const k = kernel('cast', { name: `cast.${entryPoint}`, entryPoint });
  // Every chunk's f32 and f16 ranges fit one binding and start bindably.
  for (const chunk of bindingChunks(count, [4, 2])) {
    const bind = (buffer: GPUBuffer, half: boolean) => elementRange(buffer, chunk.start, chunk.count, half ? 2 : 4);
    const [x, z] = inputs;
    // toFloat and addHalf have an invocation per element / word; toHalf one per word of output.
    const invocations = entryPoint === 'toFloat' ? chunk.count : Math.ceil(chunk.count / 2);
    gpu().dispatch(k, [bind(x, inputIsHalf), z ? bind(z, true) : gpu().placeholder, bind(output, outputIsHalf)], new Params().u32(chunk.count, 0, 0, 0).done(), grid1d(invocations));
  }
}

/** A new float16 buffer holding the f32 buffer x's `count` elements rounded to nearest even. */
export function castToHalf(x: GPUBuffer, count: number): GPUBuffer {
  const y = alloc(count, 'f16');
  if (count > 0) launch('toHalf', [x, undefined], false, y, true, count);
  return y;
}

/**
 * A kernel's result as `output`: `buffer` itself when the kernel stored that type (`stored`), or its `count`
 * f32 results rounded to a new float16 buffer by one cast pass (and `buffer` released): the launchers'
 * fallback where a kernel cannot store float16 in its epilogue (policy halfStores).
 */
export function resultAs(buffer: GPUBuffer, count: number, stored: OperandType, output: OperandType): GPUBuffer {
  if (stored === output) return buffer;
  if (stored !== 'f32' || output !== 'f16') throw new Error(`resultAs: a kernel stored ${stored}, which cannot become ${output}`);
  const half = castToHalf(buffer, count);
  gpu().pool.release(buffer);
  return half;
}

/** A new f32 buffer holding the float16 buffer x's `count` elements (exact). */
export function castToFloat(x: GPUBuffer, count: number): GPUBuffer {
  const y = alloc(count);
  if (count > 0) launch('toFloat', [x, undefined], true, y, false, count);
  return y;
}

/** A new float16 buffer a + b (two float16 buffers of `count` elements), each sum rounded once. */
export function addHalf(a: GPUBuffer, b: GPUBuffer, count: number): GPUBuffer {
  const y = alloc(count, 'f16');
  if (count > 0) launch('addHalf', [a, b], true, y, true, count);
  return y;
}

const float32Bits = new DataView(new ArrayBuffer(4));

/**
 * The float16 value nearest to `value` taken as an f32, ties to even, ±inf past 65504: what
 * torch's .half() gives. For constants handed to float16 kernels, which WGSL would otherwise
 * convert with an implementation-defined rounding direction.
 */
export function nearestHalf(value: number): number {
  const f = Math.fround(value);
  if (!Number.isFinite(f) || f === 0) return f;
  const magnitude = Math.abs(f);
  // 65520 lies halfway between 65504 and 2^16 (float16's next step): the tie goes to the even 2^16, inf.
  if (magnitude >= 65520) return Math.sign(f) * Infinity;
  float32Bits.setFloat32(0, magnitude);
  const exponent = Math.max(-14, ((float32Bits.getUint32(0) >>> 23) & 0xff) - 127);
  const step = 2 ** (exponent - 10);
  const units = magnitude / step;
  let rounded = Math.floor(units);
  const rest = units - rounded;
  if (rest > 0.5 || (rest === 0.5 && rounded % 2 === 1)) rounded += 1;
  return Math.sign(f) * rounded * step;
}
