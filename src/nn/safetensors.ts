// safetensors: an 8-byte little-endian header length N, N bytes of UTF-8 JSON
// { name: { dtype, shape, data_offsets: [begin, end] }, __metadata__: { key: string } }, then the
// data section: raw little-endian tensor bytes, offsets relative to its start. Browser-safe (bytes
// in, bytes out); files live in src/node/, which reads by ranges through the same validation.
// Metadata values must be strings (the format's rule): structured metadata goes in as JSON text.
// Validation follows the reference reader (huggingface/safetensors, Metadata::validate): sorted by
// offset, the tensors tile the data section exactly — no holes, no overlaps, nothing after the last.
import { elementReader, type ElementType } from './element-reader.js';

export interface HostArray {
  shape: readonly number[];
  data: Float32Array;
}

export interface SafetensorsContent {
  tensors: Map<string, HostArray>;
  metadata: Record<string, string>;
}

/** One header entry, validated: offsets are relative to the data section. */
export interface TensorLayout {
  name: string;
  dtype: string;
  shape: number[];
  begin: number;
  end: number;
}

/** A validated header: where the data section starts, the tensors in header order, the metadata. */
export interface SafetensorsLayout {
  dataStart: number;
  tensors: TensorLayout[];
  metadata: Record<string, string>;
}

/** The reference reader's limit; a longer header is refused before it is read. */
export const MAX_HEADER_LENGTH = 100_000_000;

const ALIGNMENT = 8;

/** Every dtype of the format, with its size in bits (F4 and F6 pack several elements per byte). */
const DTYPE_BITS: Record<string, number> = {
  BOOL: 8, F4: 4, F6_E2M3: 6, F6_E3M2: 6, U8: 8, I8: 8, F8_E5M2: 8, F8_E4M3: 8, F8_E8M0: 8,
  F8_E4M3FNUZ: 8, F8_E5M2FNUZ: 8, I16: 16, U16: 16, F16: 16, BF16: 16, I32: 32, U32: 32, F32: 32,
  C64: 64, F64: 64, I64: 64, U64: 64,
};

/**
 * The dtypes webfer widens to f32, as torch's `.float()` (what load_state_dict's copy into an f32
 * parameter does): PyTorch-written state dicts hold I64 counters (BatchNorm's num_batches_tracked)
 * and may be saved in F64. The 8-, 6- and 4-bit floats and C64 have no f32 reading here.
 */
const READABLE_DTYPES: Record<string, ElementType> = {
  F32: 'float32', F64: 'float64', F16: 'float16', BF16: 'bfloat16', I64: 'int64', I32: 'int32', I16: 'int16', I8: 'int8',
  U64: 'uint64', U32: 'uint32', U16: 'uint16', U8: 'uint8', BOOL: 'bool',
};

const littleEndian = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

export function encodeSafetensors(tensors: Map<string, HostArray> | Record<string, HostArray>, metadata: Record<string, string> = {}): Uint8Array {
  const entries = tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors);
  // No prototype: a tensor named "__proto__" (legal in the format) must become a key, not the object's prototype.
  const header: Record<string, unknown> = Object.create(null);
  if (Object.keys(metadata).length) {
    for (const [k, v] of Object.entries(metadata)) if (typeof v !== 'string') throw new Error(`safetensors: metadata value for "${k}" must be a string (JSON.stringify it)`);
    header.__metadata__ = metadata;
  }
  let offset = 0;
  for (const [name, t] of entries) {
    if (name === '__metadata__') throw new Error('safetensors: "__metadata__" is reserved for the metadata and cannot name a tensor');
    if (!t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw new Error(`safetensors: "${name}" has shape [${t.shape.join(', ')}]; dimensions must be non-negative integers`);
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

/** Parses a whole safetensors file held in memory; `source` names it in errors. Every numeric dtype but the sub-16-bit floats and C64 is widened to f32. */
export function decodeSafetensors(bytes: Uint8Array, source = 'safetensors data'): SafetensorsContent {
  const headerLength = readHeaderLength(bytes.subarray(0, 8), bytes.length, source);
  const layout = parseSafetensorsHeader(bytes.subarray(8, 8 + headerLength), bytes.length, source);
  for (const t of layout.tensors) assertReadableDtype(t, source);
  const tensors = new Map<string, HostArray>();
  for (const t of layout.tensors) {
    const data = decodeTensorData(t, bytes.subarray(layout.dataStart + t.begin, layout.dataStart + t.end));
    tensors.set(t.name, { shape: t.shape, data });
  }
  return { tensors, metadata: layout.metadata };
}

/** The header length N from the file's first 8 bytes, checked against the file's length. */
export function readHeaderLength(prefix: Uint8Array, fileLength: number, source: string): number {
  if (fileLength < 8 || prefix.length < 8) throw new Error(`${source}: ${fileLength} bytes is too short for a safetensors file (needs an 8-byte header length)`);
  const length = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (length > BigInt(Math.min(fileLength - 8, MAX_HEADER_LENGTH))) {
    // torch.save writes a zip archive (PyTorch 1.6+) or a pickle stream (older): its first bytes read as an impossible length.
    const pytorch = prefix[0] === 0x50 && prefix[1] === 0x4b && prefix[2] === 0x03 && prefix[3] === 0x04 ? 'zip' : prefix[0] === 0x80 && prefix[1]! >= 2 && prefix[1]! <= 5 ? 'pickle' : undefined;
    if (pytorch) throw new Error(`${source} is a PyTorch checkpoint (torch.save, ${pytorch} format), not safetensors: convert it with \`webfer convert ${source}\`, or start training from it with \`webfer train --init-from ${source}\``);
  }
  if (length > BigInt(fileLength - 8)) throw new Error(`${source}: header length ${length} runs past the end of the file (${fileLength} bytes): truncated or not safetensors`);
  if (length > BigInt(MAX_HEADER_LENGTH)) throw new Error(`${source}: header length ${length} is over the format's limit of ${MAX_HEADER_LENGTH} bytes: not a safetensors file`);
  return Number(length);
}

/**
 * Parses and validates the JSON header (the N bytes after the length) of a file of `fileLength`
 * bytes. Every rule of the format is checked here, for the in-memory and the file reader alike.
 */
export function parseSafetensorsHeader(headerBytes: Uint8Array, fileLength: number, source: string): SafetensorsLayout {
  const dataStart = 8 + headerBytes.length;
  const dataLength = fileLength - dataStart;
  const fail = (detail: string): never => {
    throw new Error(`${source}: ${detail}; the file is damaged or was not written as safetensors`);
  };
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(headerBytes);
  } catch {
    return fail('the header is not valid UTF-8');
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (error) {
    return fail(`the header is not valid JSON (${(error as Error).message})`);
  }
  if (!isPlainObject(header)) return fail(`the header is ${describeJson(header)}, expected a JSON object of tensors`);
  const textProblem = checkHeaderText(text);
  if (textProblem) return fail(textProblem);

  let metadata: Record<string, string> = {};
  const tensors: TensorLayout[] = [];
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') {
      if (entry === null) continue; // the reference reader treats null as no metadata
      if (!isPlainObject(entry)) return fail(`__metadata__ is ${describeJson(entry)}, expected an object of strings`);
      for (const [key, value] of Object.entries(entry)) {
        if (typeof value !== 'string') return fail(`__metadata__ "${key}" is ${describeJson(value)}; metadata values must be strings`);
      }
      metadata = entry as Record<string, string>;
      continue;
    }
    const at = `tensor "${name}"`;
    if (!isPlainObject(entry)) return fail(`${at} is ${describeJson(entry)}, expected { dtype, shape, data_offsets }`);
    const { dtype, shape, data_offsets: offsets } = entry;
    if (typeof dtype !== 'string' || !(dtype in DTYPE_BITS)) return fail(`${at} has dtype ${JSON.stringify(dtype)}, expected one of ${Object.keys(DTYPE_BITS).join(', ')}`);
    if (!Array.isArray(shape) || !shape.every(isByteCount)) return fail(`${at} has shape ${JSON.stringify(shape)}, expected a list of non-negative integers`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isByteCount)) {
      return fail(`${at}: data_offsets ${JSON.stringify(offsets)}, expected [begin, end]: two non-negative integers`);
    }
    const [begin, end] = offsets as [number, number];
    if (begin > end) return fail(`${at}: data_offsets [${begin}, ${end}] end before they begin, expected begin ≤ end`);
    if (end > dataLength) return fail(`${at}: data_offsets [${begin}, ${end}] run past the data section (${dataLength} bytes after the ${headerBytes.length}-byte header): truncated file`);
    const bits = (shape as number[]).reduce((a, d) => a * BigInt(d), 1n) * BigInt(DTYPE_BITS[dtype]!);
    if (bits % 8n !== 0n) return fail(`${at}: ${dtype} [${shape.join(', ')}] is ${bits} bits, not a whole number of bytes`);
    if (bits / 8n !== BigInt(end - begin)) {
      return fail(`${at}: data_offsets [${begin}, ${end}] hold ${end - begin} bytes, expected ${bits / 8n} for ${dtype} [${shape.join(', ')}]`);
    }
    tensors.push({ name, dtype, shape: [...(shape as number[])], begin, end });
  }

  // Sorted by offset, each tensor starts where the previous one ended and the last ends the file.
  const ordered = [...tensors].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let position = 0;
  let previous: TensorLayout | undefined;
  for (const t of ordered) {
    const at = `tensor "${t.name}": data_offsets [${t.begin}, ${t.end}]`;
    if (t.begin > position) {
      return fail(`${at} leave bytes ${position}..${t.begin} of the data section unused ${previous ? `after "${previous.name}"` : 'at its start'}, expected begin ${position} (no holes between tensors)`);
    }
    if (t.begin < position) return fail(`${at} overlap "${previous!.name}" [${previous!.begin}, ${previous!.end}], expected begin ${position} (tensors must not share bytes)`);
    position = t.end;
    previous = t;
  }
  if (position !== dataLength) {
    return fail(`the data section has ${dataLength} bytes but the tensors end at byte ${position}${previous ? ` ("${previous.name}")` : ''}: ${dataLength - position} bytes belong to no tensor`);
  }
  return { dataStart, tensors, metadata };
}

/** Throws unless webfer can widen this tensor's dtype to f32 (before any data is read). */
export function assertReadableDtype(tensor: TensorLayout, source: string): void {
  if (!(tensor.dtype in READABLE_DTYPES)) {
    throw new Error(`${source}: tensor "${tensor.name}" has dtype ${tensor.dtype}; webfer reads ${Object.keys(READABLE_DTYPES).join(', ')} (convert it to one of those when saving)`);
  }
}

/** Widens one tensor's bytes (exactly its data_offsets range) to f32. */
export function decodeTensorData(tensor: TensorLayout, bytes: Uint8Array): Float32Array {
  const elements = tensor.shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(elements);
  if (tensor.dtype === 'F32' && littleEndian) {
    new Uint8Array(data.buffer).set(bytes);
    return data;
  }
  const read = elementReader(READABLE_DTYPES[tensor.dtype]!, new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), true);
  for (let i = 0; i < elements; i++) data[i] = read(i);
  return data;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isByteCount(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

function describeJson(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'an object';
  return `the ${typeof value} ${JSON.stringify(value)}`;
}

/**
 * What JSON.parse hides, found in the (already parsed, so well-formed) JSON text: a key an object
 * repeats (JSON.parse keeps the last value silently; the format allows one), and a shape or
 * data_offsets number written with a fraction or exponent ("4.0", "4e0": JSON.parse makes them 4,
 * the reference reader's integer fields refuse them).
 */
const JSON_NUMBER = /-?\d+(\.\d+)?([eE][+-]?\d+)?/y;

function checkHeaderText(json: string): string | undefined {
  // One entry per open object (with its keys) or list, each named by the key it is the value of.
  const open: { keys?: Set<string>; name: string }[] = [];
  let lastKey = '';
  let expectKey = false;
  for (let i = 0; i < json.length; i++) {
    const c = json[i]!;
    if (c === '"') {
      let j = i + 1;
      while (json[j] !== '"') j += json[j] === '\\' ? 2 : 1;
      if (expectKey) {
        const key = JSON.parse(json.slice(i, j + 1)) as string;
        const object = open[open.length - 1]!;
        if (object.keys!.has(key)) return `the header names ${open.length > 1 ? `"${key}" in "${object.name}"` : `"${key}"`} twice`;
        object.keys!.add(key);
        lastKey = key;
        expectKey = false;
      }
      i = j;
    } else if (c === '{') {
      open.push({ keys: new Set(), name: lastKey });
      expectKey = true;
    } else if (c === '[') {
      open.push({ name: lastKey });
    } else if (c === '}' || c === ']') {
      open.pop();
    } else if (c === ',') {
      expectKey = open[open.length - 1]?.keys !== undefined;
    } else if (c === '-' || (c >= '0' && c <= '9')) {
      JSON_NUMBER.lastIndex = i;
      const number = JSON_NUMBER.exec(json)![0];
      const list = open[open.length - 1]!;
      if (open.length === 3 && !list.keys && (list.name === 'shape' || list.name === 'data_offsets') && /[.eE]/.test(number) && Number.isInteger(Number(number))) {
        return `tensor "${open[1]!.name}": ${list.name} holds ${number}, expected integers written as such (no fraction or exponent)`;
      }
      i += number.length - 1;
    }
  }
  return undefined;
}

/**
 * Throws naming the first tensor that holds NaN or ±Inf. The format allows such values, but a
 * model loaded with them predicts NaN for every image (printed as probability null, exit 0):
 * they come from a diverged run or a damaged file, and an earlier checkpoint is the fix.
 */
export function assertFiniteTensors(tensors: ReadonlyMap<string, { data: ArrayLike<number> }>, path: string): void {
  const found = firstNonFiniteTensor(tensors);
  if (found) {
    throw new Error(`${path}: tensor "${found.name}" holds ${found.count} NaN or infinite value(s) of ${found.size}; these weights cannot be used (a diverged run or a damaged file): load an earlier checkpoint or train again`);
  }
}

/** The first tensor holding NaN or ±Inf, with how many of its values are, or undefined when all are finite. */
export function firstNonFiniteTensor(tensors: ReadonlyMap<string, { data: ArrayLike<number> }>): { name: string; count: number; size: number } | undefined {
  for (const [name, { data }] of tensors) {
    let count = 0;
    for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i]!)) count++;
    if (count > 0) return { name, count, size: data.length };
  }
  return undefined;
}
