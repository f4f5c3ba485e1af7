// safetensors encoding, the format's validation (one function behind the in-memory and the file
// reader), reading by ranges, and the atomic checkpoint writer.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeSafetensors, encodeSafetensors, readHeaderLength } from '../src/nn/safetensors.js';
import { loadSafetensors, saveSafetensors } from '../src/node/checkpoint.js';
import { removeStaleTempFiles } from '../src/node/atomic-write.js';
import { Rng, randomSeed } from './reference/index.js';

function randomTensors(rng: Rng) {
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  const shapes: [string, number[]][] = [['features.0.filter.weight', [6, 1, 5, 5]], ['features.0.filter.bias', [6]], ['fc.weight', [3, 7]], ['empty', [0, 4]]];
  for (const [name, shape] of shapes) {
    const n = shape.reduce((a, b) => a * b, 1);
    tensors.set(name, { shape: [...shape], data: Float32Array.from({ length: n }, () => rng.normal()) });
  }
  return tensors;
}

test('encode/decode round-trips names, shapes, values and metadata', () => {
  const seed = randomSeed();
  const tensors = randomTensors(new Rng(seed));
  const bytes = encodeSafetensors(tensors, { model: 'lightcnn9', config: JSON.stringify({ classes: 54 }) });
  const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assert.is((8 + headerLength) % 8, 0, 'data is 8-byte aligned');
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength)));
  assert.equal(header['fc.weight'].dtype, 'F32');
  const back = decodeSafetensors(bytes);
  assert.equal(back.metadata, { model: 'lightcnn9', config: '{"classes":54}' });
  for (const [name, t] of tensors) {
    assert.equal(back.tensors.get(name)!.shape, t.shape, name);
    assert.equal(Array.from(back.tensors.get(name)!.data), Array.from(t.data), `${name} (seed ${seed})`);
  }
});

test('a hand-built file with F16 and BF16 tensors decodes (PyTorch-written half checkpoints)', () => {
  const header = JSON.stringify({ h: { dtype: 'F16', shape: [2], data_offsets: [0, 4] }, b: { dtype: 'BF16', shape: [1], data_offsets: [4, 6] } });
  const bytes = new Uint8Array(8 + header.length + 6);
  const view = new DataView(bytes.buffer);
  view.setBigUint64(0, BigInt(header.length), true);
  bytes.set(new TextEncoder().encode(header), 8);
  const base = 8 + header.length;
  view.setUint16(base, 0x3c00, true); // 1.0
  view.setUint16(base + 2, 0xc000, true); // -2.0
  view.setUint16(base + 4, 0x4040, true); // bf16 3.0
  const t = decodeSafetensors(bytes).tensors;
  assert.equal(Array.from(t.get('h')!.data), [1, -2]);
  assert.equal(Array.from(t.get('b')!.data), [3]);
});

test('any tensor name the format allows round-trips, "__proto__" and "constructor" included', () => {
  const names = ['__proto__', 'constructor', 'toString', 'a.b', ''];
  const tensors = new Map(names.map((name, k) => [name, { shape: [1], data: new Float32Array([k + 0.5]) }]));
  const back = decodeSafetensors(encodeSafetensors(tensors));
  assert.equal([...back.tensors.keys()], names);
  for (const [name, t] of tensors) assert.equal(Array.from(back.tensors.get(name)!.data), Array.from(t.data), name);
});

test('truncated and malformed files raise errors that name the file', () => {
  const bytes = encodeSafetensors(randomTensors(new Rng(1)));
  assert.throws(() => decodeSafetensors(bytes.subarray(0, 5), 'a.safetensors'), /a\.safetensors.*too short/);
  assert.throws(() => decodeSafetensors(bytes.subarray(0, bytes.length - 10), 'b.safetensors'), /b\.safetensors: tensor "fc\.weight".*run past the data section.*truncated/);
  const garbage = new Uint8Array(16);
  new DataView(garbage.buffer).setBigUint64(0, 8n, true);
  assert.throws(() => decodeSafetensors(garbage, 'c.safetensors'), /c\.safetensors.*not valid JSON/);
});

test('saves are atomic: no temp files left, an existing checkpoint is replaced whole', () => {
  const dir = mkdtempSync(join(tmpdir(), 'webfer-ckpt-'));
  const path = join(dir, 'model.safetensors');
  writeFileSync(path, 'old contents');
  const tensors = randomTensors(new Rng(2));
  saveSafetensors(path, tensors, { epoch: '3' });
  assert.equal(readdirSync(dir), ['model.safetensors']);
  const back = loadSafetensors(path);
  assert.is(back.metadata.epoch, '3');
  assert.is(readFileSync(path).length, encodeSafetensors(tensors, { epoch: '3' }).length);
  assert.throws(() => loadSafetensors(join(dir, 'missing.safetensors')), /missing\.safetensors.*ENOENT/);
});

/** A file from a raw header (object or JSON text) and a data section of `dataLength` random bytes. */
function rawFile(header: unknown, dataLength: number, seed = 1): Uint8Array {
  const json = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const bytes = new Uint8Array(8 + json.length + dataLength);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(json.length), true);
  bytes.set(json, 8);
  const rng = new Rng(seed);
  for (let i = 8 + json.length; i < bytes.length; i++) bytes[i] = Math.floor(rng.uniform() * 256);
  return bytes;
}

const f32 = (shape: number[], offsets: unknown) => ({ dtype: 'F32', shape, data_offsets: offsets });
const weight = 'model.features.0.filter.weight';

// [what, header, data section length, expected error]: each loads (or loads garbage) without validation.
const malformed: [string, unknown, number, RegExp][] = [
  ['negative offsets reach into the header', { [weight]: f32([2], [-8, 0]) }, 8, /tensor "model\.features\.0\.filter\.weight": data_offsets \[-8,0\], expected \[begin, end\]: two non-negative integers/],
  ['fractional offsets', { [weight]: f32([1], [0.5, 4.5]) }, 5, /"model\.features\.0\.filter\.weight": data_offsets \[0\.5,4\.5\], expected .*integers/],
  ['whole offsets written with a fraction (JSON.parse makes 4.0 an integer)', '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4.0]}}', 4, /tensor "a": data_offsets holds 4\.0, expected integers written as such/],
  ['a dimension written with an exponent', '{"a":{"dtype":"F32","shape":[1e0],"data_offsets":[0,4]}}', 4, /tensor "a": shape holds 1e0, expected integers written as such/],
  ['end before begin', { [weight]: f32([-1], [8, 4]) }, 8, /"model\.features\.0\.filter\.weight" has shape \[-1\], expected a list of non-negative integers/],
  ['end before begin (valid shape)', { [weight]: f32([0], [8, 4]) }, 8, /"model\.features\.0\.filter\.weight": data_offsets \[8, 4\] end before they begin, expected begin ≤ end/],
  ['negative dimensions whose product is positive', { w: f32([-2, -1], [0, 8]) }, 8, /"w" has shape \[-2,-1\]/],
  ['overlapping tensors', { a: f32([2], [0, 8]), b: f32([2], [4, 12]) }, 12, /tensor "b": data_offsets \[4, 12\] overlap "a" \[0, 8\], expected begin 8/],
  ['a hole between tensors', { a: f32([2], [0, 8]), b: f32([2], [12, 20]) }, 20, /tensor "b": data_offsets \[12, 20\] leave bytes 8\.\.12 of the data section unused after "a", expected begin 8/],
  ['a hole at the start', { a: f32([2], [4, 12]) }, 12, /tensor "a": data_offsets \[4, 12\] leave bytes 0\.\.4 .* at its start/],
  ['bytes after the last tensor', { a: f32([2], [0, 8]) }, 12, /data section has 12 bytes but the tensors end at byte 8 \("a"\): 4 bytes belong to no tensor/],
  ['a byte range that does not match dtype × shape', { a: f32([3], [0, 8]) }, 8, /tensor "a": data_offsets \[0, 8\] hold 8 bytes, expected 12 for F32 \[3\]/],
  ['an unknown dtype', { a: { dtype: 'float32', shape: [2], data_offsets: [0, 8] } }, 8, /tensor "a" has dtype "float32", expected one of BOOL, .*F32/],
  ['a missing data_offsets', { a: { dtype: 'F32', shape: [2] } }, 8, /tensor "a": data_offsets undefined, expected \[begin, end\]/],
  ['a tensor entry that is not an object', { a: [0, 8] }, 8, /tensor "a" is a list, expected \{ dtype, shape, data_offsets \}/],
  ['a header that is a list', '[]', 0, /the header is a list, expected a JSON object of tensors/],
  ['a header that is null', 'null', 0, /the header is null, expected a JSON object/],
  ['a duplicate tensor name', '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}', 8, /the header names "a" twice/],
  ['a duplicate field', '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"data_offsets":[0,8]}}', 8, /the header names "data_offsets" in "a" twice/],
  ['a metadata value that is not a string', { __metadata__: { epoch: 3 }, a: f32([2], [0, 8]) }, 8, /__metadata__ "epoch" is the number 3; metadata values must be strings/],
  ['metadata that is a list', { __metadata__: ['x'] }, 0, /__metadata__ is a list, expected an object of strings/],
  ['sub-byte elements that do not fill bytes', { a: { dtype: 'F4', shape: [3], data_offsets: [0, 2] } }, 2, /tensor "a": F4 \[3\] is 12 bits, not a whole number of bytes/],
];

test('the readers enforce the format and name the file and the tensor (in memory and from a file alike)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'webfer-st-'));
  try {
    for (const [what, header, dataLength, expected] of malformed) {
      const bytes = rawFile(header, dataLength);
      assert.throws(() => decodeSafetensors(bytes, 'bad.safetensors'), (error: Error) => error.message.startsWith('bad.safetensors: ') && expected.test(error.message), `decode: ${what}`);
      const path = join(dir, 'bad.safetensors');
      writeFileSync(path, bytes);
      assert.throws(() => loadSafetensors(path), (error: Error) => error.message.startsWith(`${path}: `) && expected.test(error.message), `load: ${what}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('valid layouts the format allows still load: any header order, zero-size tensors, padding, no tensors', () => {
  const seed = randomSeed();
  const bytes = rawFile({ b: f32([2], [8, 16]), empty: f32([0, 3], [8, 8]), a: f32([2], [0, 8]), __metadata__: { k: 'v' } }, 16, seed);
  const content = decodeSafetensors(bytes);
  assert.equal([...content.tensors.keys()], ['b', 'empty', 'a']);
  const data = new DataView(bytes.buffer, bytes.length - 16);
  assert.equal(Array.from(content.tensors.get('a')!.data), [data.getFloat32(0, true), data.getFloat32(4, true)], `seed ${seed}`);
  assert.equal(content.tensors.get('empty')!.shape, [0, 3]);
  assert.equal(content.metadata, { k: 'v' });
  assert.equal(decodeSafetensors(rawFile('{}        ', 0)).tensors.size, 0);
  assert.equal(decodeSafetensors(rawFile({ __metadata__: null }, 0)).metadata, {});
  // Numbers in fields the format does not define are not its business (the reference reader ignores unknown fields).
  assert.equal(decodeSafetensors(rawFile('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"scale":0.5e1}}', 4)).tensors.get('a')!.shape, [1]);
});

test('PyTorch-written dtypes widen to f32 as torch .float() does: F64, every integer type, BOOL (in memory and from a file)', () => {
  // safetensors.torch.save_file(model.state_dict()) writes BatchNorm's num_batches_tracked as I64, a .double() model as F64.
  const columns: [string, number, (view: DataView, at: number, value: number) => void, number[], number[]][] = [
    ['F64', 8, (v, at, x) => v.setFloat64(at, x, true), [0.1, -2.5e-300, 1e300], [Math.fround(0.1), -0, Infinity]],
    ['I64', 8, (v, at, x) => v.setBigInt64(at, BigInt(x), true), [-3, 2 ** 40, 123456789], [-3, 2 ** 40, Math.fround(123456789)]],
    ['U64', 8, (v, at, x) => v.setBigUint64(at, BigInt(x), true), [0, 7, 2 ** 53], [0, 7, 2 ** 53]],
    ['I32', 4, (v, at, x) => v.setInt32(at, x, true), [-2147483648, 5, -1], [-2147483648, 5, -1]],
    ['U32', 4, (v, at, x) => v.setUint32(at, x, true), [4294967295, 5, 0], [4294967296, 5, 0]],
    ['I16', 2, (v, at, x) => v.setInt16(at, x, true), [-32768, 1, 32767], [-32768, 1, 32767]],
    ['U16', 2, (v, at, x) => v.setUint16(at, x, true), [65535, 1, 0], [65535, 1, 0]],
    ['I8', 1, (v, at, x) => v.setInt8(at, x), [-128, 0, 127], [-128, 0, 127]],
    ['U8', 1, (v, at, x) => v.setUint8(at, x), [255, 0, 9], [255, 0, 9]],
    ['BOOL', 1, (v, at, x) => v.setUint8(at, x), [1, 0, 1], [1, 0, 1]],
  ];
  const header: Record<string, unknown> = {};
  let offset = 0;
  for (const [dtype, size] of columns) {
    header[dtype.toLowerCase()] = { dtype, shape: [3], data_offsets: [offset, offset + 3 * size] };
    offset += 3 * size;
  }
  const bytes = rawFile(header, offset);
  const dataStart = bytes.length - offset;
  const view = new DataView(bytes.buffer, dataStart);
  offset = 0;
  for (const [, size, write, values] of columns) {
    values.forEach((x, i) => write(view, offset + i * size, x));
    offset += 3 * size;
  }
  const dir = mkdtempSync(join(tmpdir(), 'webfer-st-dtypes-'));
  try {
    const path = join(dir, 'torch.safetensors');
    writeFileSync(path, bytes);
    for (const content of [decodeSafetensors(bytes, 'torch.safetensors'), loadSafetensors(path)]) {
      for (const [dtype, , , , expected] of columns) assert.equal(Array.from(content.tensors.get(dtype.toLowerCase())!.data), expected, dtype);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('known dtypes webfer does not widen are refused by name; header lengths past the file or the format limit too', () => {
  assert.throws(() => decodeSafetensors(rawFile({ scales: { dtype: 'F8_E4M3', shape: [1], data_offsets: [0, 1] } }, 1), 'x.safetensors'), /x\.safetensors: tensor "scales" has dtype F8_E4M3; webfer reads F32, F64, F16, BF16, I64, .*BOOL \(convert it to one of those when saving\)/);
  const prefix = new Uint8Array(8);
  new DataView(prefix.buffer).setBigUint64(0, 200_000_000n, true);
  assert.throws(() => readHeaderLength(prefix, 300_000_000, 'huge.safetensors'), /huge\.safetensors: header length 200000000 is over the format's limit of 100000000 bytes/);
  new DataView(prefix.buffer).setBigUint64(0, 2n ** 63n, true);
  assert.throws(() => readHeaderLength(prefix, 64, 'y.safetensors'), /y\.safetensors: header length 9223372036854775808 runs past the end of the file \(64 bytes\)/);
  const notUtf8 = rawFile('{}', 0);
  notUtf8[8] = 0xff;
  assert.throws(() => decodeSafetensors(notUtf8, 'z.safetensors'), /z\.safetensors: the header is not valid UTF-8/);
  assert.throws(() => encodeSafetensors({ __metadata__: { shape: [1], data: new Float32Array(1) } }), /reserved/);
});

test('files over 2 GiB load by ranges: a tensor past the 2 GiB mark of a sparse file reads back exactly', () => {
  const dir = mkdtempSync(join(tmpdir(), 'webfer-st-big-'));
  const path = join(dir, 'big.safetensors');
  try {
    const seed = randomSeed();
    const rng = new Rng(seed);
    const bigElements = 2 ** 29 + 8; // 2 GiB + 32 bytes of zeros, never written (sparse)
    const tail = Float32Array.from({ length: 6 }, () => rng.normal());
    const header = new TextEncoder().encode(JSON.stringify({ __metadata__: { note: 'sparse' }, big: f32([bigElements], [0, 4 * bigElements]), tail: f32([2, 3], [4 * bigElements, 4 * bigElements + 24]) }));
    const fileLength = 8 + header.length + 4 * bigElements + 24;
    const fd = openSync(path, 'w');
    const prefix = new Uint8Array(8);
    new DataView(prefix.buffer).setBigUint64(0, BigInt(header.length), true);
    writeSync(fd, prefix, 0, 8, 0);
    writeSync(fd, header, 0, header.length, 8);
    writeSync(fd, new Uint8Array(tail.buffer), 0, 24, fileLength - 24);
    closeSync(fd);
    assert.is(statSync(path).size, fileLength);
    assert.ok(fileLength > 2 ** 31);
    const content = loadSafetensors(path, { select: (name) => name === 'tail' });
    assert.equal([...content.tensors.keys()], ['tail']);
    assert.equal(content.tensors.get('tail')!.shape, [2, 3]);
    assert.equal(Array.from(content.tensors.get('tail')!.data), Array.from(tail), `seed ${seed}`);
    assert.equal(content.metadata, { note: 'sparse' });
    // Truncated by one byte: the layout no longer fits, found from the header alone.
    truncateSync(path, fileLength - 1);
    assert.throws(() => loadSafetensors(path, { select: () => false }), /tensor "tail": data_offsets .* run past the data section/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a save removes temp files that killed writers left, keeps a live writer\'s and other targets\'', () => {
  const dir = mkdtempSync(join(tmpdir(), 'webfer-ckpt-'));
  try {
    const deadPid = spawnSync(process.execPath, ['-e', '']).pid!;
    const stale = `.model.safetensors.${deadPid}.1700000000000.tmp`;
    const ownEarlier = `.model.safetensors.${process.pid}.1700000000001.tmp`; // this process's writes are synchronous: none is in flight
    const live = `.model.safetensors.${process.ppid}.1700000000002.tmp`;
    const otherTarget = `.metrics.json.${deadPid}.1700000000003.tmp`;
    for (const name of [stale, ownEarlier, live, otherTarget]) writeFileSync(join(dir, name), 'partial');
    saveSafetensors(join(dir, 'model.safetensors'), randomTensors(new Rng(3)));
    assert.equal(readdirSync(dir).sort(), [otherTarget, live, 'model.safetensors'].sort());
    assert.equal(removeStaleTempFiles(join(dir, 'metrics.json')), [otherTarget]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
