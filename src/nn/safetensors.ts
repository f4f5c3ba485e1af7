// safetensors: an 8-byte little-endian header length, a JSON header
// { name: { dtype, shape, data_offsets: [begin, end] }, __metadata__: { key: string } }, then the
// raw little-endian tensor bytes. Browser-safe (bytes in, bytes out); files live in src/node/.
// Metadata values must be strings (the format's rule): structured metadata goes in as JSON text.

export interface HostArray {
  shape: readonly number[];
  data: Float32Array;
}

export interface SafetensorsContent {
  tensors: Map<string, HostArray>;
  metadata: Record<string, string>;
}

const ALIGNMENT = 8;

export function encodeSafetensors(tensors: Map<string, HostArray> | Record<string, HostArray>, metadata: Record<string, string> = {}): Uint8Array {
  const entries = tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors);
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) {
    for (const [k, v] of Object.entries(metadata)) if (typeof v !== 'string') throw new Error(`safetensors: metadata value for "${k}" must be a string (JSON.stringify it)`);
    header.__metadata__ = metadata;
  }
  let offset = 0;
  for (const [name, t] of entries) {
    const elements = t.shape.reduce((a, b) => a * b, 1);
    if (elements !== t.data.length) throw new Error(`safetensors: "${name}" has shape [${t.shape.join(', ')}] but ${t.data.length} values`);
    header[name] = { dtype: 'F32', shape: [...t.shape], data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  // Pad the header with spaces so the data starts 8-byte aligned (allowed by the format).
  const headerBytes = new TextEncoder().encode(json);
  const padded = Math.ceil((8 + headerBytes.length) / ALIGNMENT) * ALIGNMENT - 8;
  json = json + ' '.repeat(padded - headerBytes.length);
  const headerFinal = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerFinal.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(headerFinal.length), true);
  out.set(headerFinal, 8);
  let position = 8 + headerFinal.length;
  for (const [, t] of entries) {
    const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    if (littleEndian) out.set(bytes, position);
    else for (let i = 0; i < t.data.length; i++) view.setFloat32(position + 4 * i, t.data[i], true);
    position += t.data.byteLength;
  }
  return out;
}

const littleEndian = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** Parses a safetensors file; `source` names it in errors. Accepts F32, F16 and BF16 (widened to f32). */
export function decodeSafetensors(bytes: Uint8Array, source = 'safetensors data'): SafetensorsContent {
  if (bytes.length < 8) throw new Error(`${source}: ${bytes.length} bytes is too short for a safetensors file (needs an 8-byte header length)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = Number(view.getBigUint64(0, true));
  if (headerLength > bytes.length - 8) throw new Error(`${source}: header length ${headerLength} runs past the end of the file (${bytes.length} bytes): truncated or not safetensors`);
  let header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] } | Record<string, string>>;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength)));
  } catch (error) {
    throw new Error(`${source}: the header is not valid JSON (${(error as Error).message})`);
  }
  const dataStart = 8 + headerLength;
  const dataLength = bytes.length - dataStart;
  const tensors = new Map<string, HostArray>();
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') {
      metadata = entry as Record<string, string>;
      continue;
    }
    const { dtype, shape, data_offsets: offsets } = entry as { dtype: string; shape: number[]; data_offsets: [number, number] };
    const elements = shape.reduce((a, b) => a * b, 1);
    const width = dtype === 'F32' ? 4 : dtype === 'F16' || dtype === 'BF16' ? 2 : 0;
    if (!width) throw new Error(`${source}: tensor "${name}" has dtype ${dtype}; webfer reads F32, F16 and BF16`);
    if (!offsets || offsets[1] - offsets[0] !== elements * width || offsets[1] > dataLength) {
      throw new Error(`${source}: tensor "${name}" (${dtype} [${shape.join(', ')}]) has data offsets ${JSON.stringify(offsets)} that do not fit ${dataLength} data bytes`);
    }
    const data = new Float32Array(elements);
    const base = dataStart + offsets[0];
    for (let i = 0; i < elements; i++) {
      if (dtype === 'F32') data[i] = view.getFloat32(base + 4 * i, true);
      else if (dtype === 'BF16') data[i] = bf16ToF32(view.getUint16(base + 2 * i, true));
      else data[i] = f16ToF32(view.getUint16(base + 2 * i, true));
    }
    tensors.set(name, { shape, data });
  }
  return { tensors, metadata };
}

function bf16ToF32(bits: number): number {
  const f = new Float32Array(new Uint32Array([bits << 16]).buffer);
  return f[0];
}

function f16ToF32(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 31) return fraction ? NaN : sign * Infinity;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}
