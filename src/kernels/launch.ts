// Shared launcher plumbing: parameter packing, kernel specialisation and grid sizing.
import { gpu, type AdapterDescription, type Binding, type Kernel } from '../gpu/index.js';
import { shaderSources } from '../shaders.generated.js';

/** Packs a kernel's uniform parameters: scalar u32 / i32 / f32 fields, 4 bytes each, in order. */
export class Params {
  private readonly view: DataView;
  private readonly bytes: ArrayBuffer;
  private offset = 0;
  constructor(capacity = 256) {
    this.bytes = new ArrayBuffer(capacity);
    this.view = new DataView(this.bytes);
  }
  u32(...values: number[]): this {
    for (const v of values) {
      this.view.setUint32(this.offset, v >>> 0, true);
      this.offset += 4;
    }
    return this;
  }
  i32(...values: number[]): this {
    for (const v of values) {
      this.view.setInt32(this.offset, v | 0, true);
      this.offset += 4;
    }
    return this;
  }
  f32(...values: number[]): this {
    for (const v of values) {
      this.view.setFloat32(this.offset, v, true);
      this.offset += 4;
    }
    return this;
  }
  /** The packed bytes, padded to 16 (uniform structs are 16-byte aligned in size). */
  done(): Uint8Array {
    return new Uint8Array(this.bytes, 0, Math.max(16, Math.ceil(this.offset / 16) * 16));
  }
}

const kernelCache = new Map<string, Kernel>();
const codesByName = new Map<string, string[]>();

/**
 * The runtime keys pipelines by name, entry point, constants and full source, so a shared name
 * cannot mix up pipelines; but errors and profiles identify kernels by name alone (profile
 * timings are summed per name). So two different sources never share a name: clampGrad with
 * bounds -0.5 / 0.7 and with -0.3 / 0.2 differ only in literals. The first source keeps the name,
 * later ones get "#2", "#3", ...
 */
function distinctName(name: string, code: string): string {
  let codes = codesByName.get(name);
  if (!codes) codesByName.set(name, (codes = []));
  let index = codes.indexOf(code);
  if (index < 0) index = codes.push(code) - 1;
  return index === 0 ? name : `${name}#${index + 1}`;
}

/**
 * The element type of a GEMM kernel's operands (matmul's A and B, the conv kernels' inputs):
 * 'f16' tensors are IEEE binary16, 2 bytes each, tightly packed (element 2i in the low half of
 * 32-bit word i), read by kernels built with `operands: 'f16'` and accumulated in f32.
 */
export type OperandType = 'f32' | 'f16';

/**
 * What a GEMM / conv kernel stores for an `output` of this type: f16 where the policy's halfStores is 'epilogue'
 * (the kernel's `stores: 'f16'` build), else f32 (a float16 output then takes a cast pass: cast.ts resultAs).
 */
export function epilogueStores(output: OperandType): OperandType {
  return output === 'f16' && gpu().policy.get('halfStores') === 'epilogue' ? 'f16' : 'f32';
}

/** Bytes per element of an operand type. */
export const bytesPerElement = (type: OperandType): number => (type === 'f16' ? 2 : 4);

/** The line of shaders/include/operand.wgsl that `operands: 'f16'` rewrites. */
const OPERAND_ALIAS = 'alias Operand = f32;';

/** The two lines of shaders/include/stored.wgsl that `stores: 'f16'` rewrites, and what they become. */
const STORED_F32 = ['alias Stored = f32;', 'fn stored(v: f32) -> Stored { return v; }'];
const STORED_F16 = ['alias Stored = f16;', 'fn stored(v: f32) -> Stored { return bitcast<vec2<f16>>(halfOf(v)).x; }'];

/** `code` with `lines` (each once, whole lines) replaced by `by`; throws `missing` where one is absent. */
function rewriteLines(code: string, lines: string[], by: string[], missing: string): string {
  const all = code.split('\n');
  lines.forEach((line, i) => {
    const at = all.findIndex((l) => l.trim() === line);
    if (at < 0) throw new Error(missing);
    all[at] = by[i]!;
  });
  return all.join('\n');
}

/**
 * A kernel from shaders/<file>.wgsl. `replacements` fill `/*NAME*\/` markers in the source
 * (elementwise expressions); `constants` set WGSL override constants. `operands: 'f16'` builds the
 * file's f16-operand form (its `alias Operand = f32;` line made f16, `enable f16;` prepended) under
 * the name suffixed `.f16`, so profiles keep the two apart. `stores: 'f16'` builds the form whose
 * output is float16, rounded in the epilogue as cast.wgsl rounds (shaders/include/stored.wgsl), named
 * with `.toHalf` added.
 */
export function kernel(file: string, options: { name?: string; entryPoint?: string; replacements?: Record<string, string>; constants?: Record<string, number>; operands?: OperandType; stores?: OperandType } = {}): Kernel {
  const f16 = options.operands === 'f16';
  const halfStores = options.stores === 'f16';
  const name = `${options.name ?? file}${f16 ? '.f16' : ''}${halfStores ? '.toHalf' : ''}`;
  const key = `${file}|${name}|${options.entryPoint ?? ''}|${JSON.stringify(options.replacements ?? {})}|${JSON.stringify(options.constants ?? {})}`;
  let cached = kernelCache.get(key);
  if (!cached) {
    let code = shaderSources[file];
    if (code === undefined) throw new Error(`no shader named ${file}.wgsl (run \`npm run gen\` after adding one)`);
    if (f16) code = rewriteLines(code, [OPERAND_ALIAS], ['alias Operand = f16;'], `kernel ${name}: shaders/${file}.wgsl has no '${OPERAND_ALIAS}' line (//!include operand), so it cannot take f16 operands`);
    if (halfStores) code = rewriteLines(code, STORED_F32, STORED_F16, `kernel ${name}: shaders/${file}.wgsl does not include stored.wgsl, so it cannot store float16`);
    if (f16 || halfStores) code = `enable f16;\n${code}`;
    for (const [marker, text] of Object.entries(options.replacements ?? {})) code = code.split(`/*${marker}*/`).join(text);
    cached = { name: distinctName(name, code), code, entryPoint: options.entryPoint, constants: options.constants };
    kernelCache.set(key, cached);
  }
  return cached;
}

export const WORKGROUP_SIZE = 256;

/**
 * Workgroups for a 1-D range of `count` invocations, folded into x and y so that neither exceeds
 * the per-dimension limit. Shaders recover the flat index as gid.x + gid.y * num_workgroups.x * WG.
 */
export function grid1d(count: number, workgroupSize = WORKGROUP_SIZE): [number, number] {
  const groups = Math.ceil(count / workgroupSize);
  const maxPerDim = gpu().device.limits.maxComputeWorkgroupsPerDimension;
  if (groups <= maxPerDim) return [groups, 1];
  const y = Math.ceil(groups / maxPerDim);
  return [Math.ceil(groups / y), y];
}

/**
 * A registerTiled GEMM's workgroup (shaders/include/gemm_core.wgsl) for M rows by `columns`
 * columns: 256 invocations of 4 x 4 each, WGY narrowed (and WGX widened) when M has few rows, and
 * WGX narrowed when there are few columns, so that few invocations work on clamped rows or columns only. Returns the override constants and the grid.
 * `invocations` (a power of 2) other than 256 caps WGY at its square root (matmul's vec4 variant runs best with 64).
 */
export function registerTileShape(M: number, columns: number, invocations = 256): { constants: { WGX: number; WGY: number }; workgroups: [number, number] } {
  let wgy = 1;
  while (wgy * wgy < invocations && wgy * 4 < M) wgy *= 2;
  let wgx = invocations / wgy;
  // Few columns (conv1's weight gradient has 25): the spare invocations take rows instead.
  while (wgx > 1 && (wgx / 2) * 4 >= columns && wgy * 4 < M) {
    wgx /= 2;
    wgy *= 2;
  }
  return { constants: { WGX: wgx, WGY: wgy }, workgroups: [Math.ceil(columns / (4 * wgx)), Math.ceil(M / (4 * wgy))] };
}

/** workgroupTiled's grid: one 16 x 16 workgroup per 64 x 64 tile of C. */
export function workgroupTileGrid(M: number, columns: number): [number, number] {
  return [Math.ceil(columns / 64), Math.ceil(M / 64)];
}

/** Bytes of `elements` elements of `type` in a buffer: f16 fills whole 32-bit words, at least one. */
export function bufferBytes(elements: number, type: OperandType): number {
  return type === 'f16' ? Math.max(1, Math.ceil(elements / 2)) * 4 : elements * 4;
}

/** A pool buffer for `elements` elements of `type`. */
export function alloc(elements: number, type: OperandType = 'f32'): GPUBuffer {
  return gpu().pool.acquire(bufferBytes(elements, type));
}

export function dispatch1d(k: Kernel, bindings: GPUBuffer[], params: Params, count: number, workgroupSize = WORKGROUP_SIZE): void {
  gpu().dispatch(k, bindings, params.done(), grid1d(count, workgroupSize));
}

/**
 * A sliding window over an H x W plane (convolution and pooling): output size, kernel size,
 * stride, padding and dilation per axis, PyTorch's meanings.
 */
export interface WindowGeometry {
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

/**
 * Splits a 1-D range of `count` elements into chunks that each fit one storage binding
 * (gpu().maxBindingBytes) and start at an offset the adapter can bind (minStorageBufferOffsetAlignment,
 * in bytes), for every buffer of the launch: `elementBytes` lists their element sizes (4: f32, 2:
 * f16), so the largest bounds a chunk and the smallest sets the alignment of its start. One chunk
 * when the whole range fits.
 */
export function bindingChunks(count: number, elementBytes: readonly number[] = [4]): { start: number; count: number }[] {
  const largest = Math.max(...elementBytes);
  const step = gpu().device.limits.minStorageBufferOffsetAlignment / Math.min(...elementBytes);
  const chunk = Math.floor(gpu().maxBindingBytes / (largest * step)) * step;
  if (count * largest <= gpu().maxBindingBytes || chunk === 0) return [{ start: 0, count }];
  const chunks: { start: number; count: number }[] = [];
  for (let start = 0; start < count; start += chunk) chunks.push({ start, count: Math.min(chunk, count - start) });
  return chunks;
}

/**
 * The binding of elements [start, start + count) of `elementBytes` bytes each (4: f32, 2: f16) of a
 * buffer (size rounded up to 16 bytes, within the buffer; the caller aligns start's byte offset).
 */
export function elementRange(buffer: GPUBuffer, start: number, count: number, elementBytes = 4): { buffer: GPUBuffer; offset: number; size: number } {
  const offset = start * elementBytes;
  return { buffer, offset, size: Math.min(buffer.size - offset, Math.max(16, Math.ceil((count * elementBytes) / 16) * 16)) };
}

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

/**
 * Runs of whole images [start, start + count) for tensors holding `perImage` elements per image
 * each, of `elementBytes` bytes (default 4 each; 2 for an f16 tensor): every run's range of every
 * tensor fits one binding and starts at a bindable offset (minStorageBufferOffsetAlignment), so a
 * batch too large for one binding runs in several launches. One run of N when everything fits; one
 * run of N too when a single aligned run of images does not fit (the runtime then refuses the
 * binding with its message).
 */
export function batchChunks(N: number, perImage: number[], elementBytes: number[] = perImage.map(() => 4)): { start: number; count: number }[] {
  const limit = gpu().maxBindingBytes;
  const imageBytes = perImage.map((elements, i) => elements * elementBytes[i]);
  const largest = Math.max(...imageBytes);
  if (N * largest <= limit) return [{ start: 0, count: N }];
  const alignment = gpu().device.limits.minStorageBufferOffsetAlignment;
  // Images per step so that every tensor's byte offset stays a multiple of the alignment.
  const step = imageBytes.reduce((acc, bytes) => {
    const need = alignment / gcd(bytes, alignment);
    return (acc * need) / gcd(acc, need);
  }, 1);
  const perRun = Math.floor(limit / largest / step) * step;
  if (perRun === 0) return [{ start: 0, count: N }];
  const chunks: { start: number; count: number }[] = [];
  for (let start = 0; start < N; start += perRun) chunks.push({ start, count: Math.min(perRun, N - start) });
  return chunks;
}

/**
 * The binding of images [start, start + count) of a tensor with `perImage` elements of
 * `elementBytes` bytes per image (the whole buffer for one run of all).
 */
export function images(buffer: GPUBuffer, chunk: { start: number; count: number }, N: number, perImage: number, elementBytes = 4): Binding {
  return chunk.start === 0 && chunk.count === N ? buffer : elementRange(buffer, chunk.start * perImage, chunk.count * perImage, elementBytes);
}

/** The subgroup width the subgroup matmul and conv kernels are written for (lavapipe on AVX2: its SIMD width). */
export const SUBGROUP_LANES = 8;

/**
 * Whether the adapter's subgroups are exactly SUBGROUP_LANES invocations wide, as the subgroup matmul
 * and conv kernels assume (GPUs report 16-128 or a range, SwiftShader 4: they take other kernels).
 */
export function subgroupsOfEight({ features, subgroupSizes }: Pick<AdapterDescription, 'features' | 'subgroupSizes'> = gpu().info): boolean {
  return features.includes('subgroups') && subgroupSizes?.min === SUBGROUP_LANES && subgroupSizes.max === SUBGROUP_LANES;
}
