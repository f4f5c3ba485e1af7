// PyTorch checkpoints: both container formats against the values PyTorch saved
// (test/reference/fixtures/pytorch/, made by make_fixtures.py), the restricted unpickler's
// opcodes on seeded random values, and the refusals (foreign globals, truncation, damage).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadPytorchCheckpoint, readPytorchCheckpoint, unpickle, PickledTensor } from '../../src/nn/pytorch/index.js';
import * as ref from '../reference/index.js';

const fixtures = fileURLToPath(new URL('../reference/fixtures/pytorch/', import.meta.url));
const fixture = (name: string) => new Uint8Array(readFileSync(join(fixtures, name)));
const expected = JSON.parse(readFileSync(join(fixtures, 'expected.json'), 'utf8')) as {
  keys: string[];
  dtypes: Record<string, { dtype: string; shape: number[]; data: number[] }>;
};

const seed = ref.randomSeed();
const ctx = (what: string) => `${what} (seed ${seed}; replay with WEBFER_SEED=${seed})`;
const rng = new ref.Rng(seed);
const random = () => rng.uniform();

test('zip format, bare state dict: the reference names in order, no prefix, float32', () => {
  const checkpoint = readPytorchCheckpoint(fixture('lightcnn9-tiny.pth'), { source: 'lightcnn9-tiny.pth' });
  assert.is(checkpoint.format, 'zip');
  assert.is(checkpoint.stateDictKey, null);
  assert.is(checkpoint.strippedPrefix, null);
  assert.equal([...checkpoint.tensors.keys()], expected.keys);
  assert.equal(checkpoint.tensors.get('features.0.filter.weight')!.shape, [6, 1, 5, 5]);
  assert.ok([...checkpoint.tensors.values()].every((t) => t.dtype === 'float32'));
});

test('legacy format under state_dict with DataParallel prefixes loads the same tensors bit for bit', () => {
  const zip = loadPytorchCheckpoint(fixture('lightcnn9-tiny.pth'));
  const legacy = readPytorchCheckpoint(fixture('lightcnn9-tiny-legacy.pth.tar'), { source: 'legacy.pth.tar' });
  assert.is(legacy.format, 'legacy');
  assert.is(legacy.stateDictKey, 'state_dict');
  assert.is(legacy.strippedPrefix, 'module.');
  assert.equal(legacy.otherEntries, { epoch: '3', arch: '"LightCNN-9"', best_prec1: '12.5' });
  assert.equal([...legacy.tensors.keys()], [...zip.keys()]);
  for (const [name, t] of zip) {
    assert.equal(legacy.tensors.get(name)!.shape, t.shape, name);
    assert.equal(legacy.tensors.get(name)!.data, t.data, name);
  }
});

test('Python 2 / PyTorch 0.2 legacy files (the official LightCNN ones): str keys, OrderedDict([[k, v]]), _rebuild_tensor, CUDA storages', () => {
  const zip = loadPytorchCheckpoint(fixture('lightcnn9-tiny.pth'));
  const py2 = readPytorchCheckpoint(fixture('lightcnn9-tiny-py2.pth.tar'), { source: 'py2.pth.tar' });
  assert.is(py2.format, 'legacy');
  assert.is(py2.strippedPrefix, 'module.');
  assert.equal(py2.otherEntries, { epoch: '3', arch: '"LightCNN-9"', prec1: '12.5' });
  assert.equal([...py2.tensors.keys()], [...zip.keys()]);
  for (const [name, t] of zip) assert.equal(py2.tensors.get(name)!.data, t.data, name);
});

for (const file of ['dtypes.pth', 'dtypes-legacy.pth']) {
  test(`${file}: float16, bfloat16, float64, int64, a transposed view, an offset view and a 0-d tensor`, () => {
    const tensors = loadPytorchCheckpoint(fixture(file), { source: file });
    assert.equal([...tensors.keys()], Object.keys(expected.dtypes));
    for (const [name, want] of Object.entries(expected.dtypes)) {
      const got = tensors.get(name)!;
      assert.is(got.dtype, want.dtype, name);
      assert.equal(got.shape, want.shape, name);
      // Every value is exact in float32 except float64's, which round once.
      assert.equal([...got.data], want.data.map(Math.fround), name);
    }
  });
}

test('the key option picks the dict to read; a dict that is not a state dict names the way out', () => {
  const legacy = fixture('lightcnn9-tiny-legacy.pth.tar');
  assert.is(readPytorchCheckpoint(legacy, { key: 'state_dict' }).tensors.size, expected.keys.length);
  assert.throws(() => readPytorchCheckpoint(legacy, { source: 'f.pth', key: 'model' }), /f\.pth: no dict under key "model" \(top-level keys: epoch, arch, state_dict, best_prec1\); dicts of tensors are under: state_dict/);
});

test('a global outside the table is refused on sight, in both formats, before anything runs', () => {
  for (const file of ['malicious.pth', 'malicious-legacy.pth']) {
    assert.throws(() => loadPytorchCheckpoint(fixture(file), { source: file }), new RegExp(`^refusing to load global os\\.system from ${file.replace('.', '\\.')}.*: webfer's unpickler builds only containers, numbers, strings and tensors; if the file holds a whole model .*torch\\.save\\(model\\.state_dict\\(\\), 'weights\\.pth'\\)$`));
  }
});

test('a truncated zip and a legacy file cut anywhere give a clear error', () => {
  assert.throws(() => loadPytorchCheckpoint(fixture('truncated.pth'), { source: 'truncated.pth' }), /^truncated\.pth: not a readable zip archive \(.*\): the file is truncated or damaged; download or save it again$/);
  const legacy = fixture('lightcnn9-tiny-legacy.pth.tar');
  for (let i = 0; i < 8; i++) {
    const cut = 1 + Math.floor(random() * (legacy.length - 2));
    assert.throws(() => loadPytorchCheckpoint(legacy.subarray(0, cut), { source: 'cut.pth' }), /^cut\.pth.*truncated/, ctx(`cut at byte ${cut} of ${legacy.length}`));
  }
});

test('files that are not checkpoints: a plain pickle, random bytes, a tar archive', () => {
  const plainPickle = new Uint8Array([0x80, 0x02, 0x7d, 0x71, 0x00, 0x2e]); // {}
  assert.throws(() => loadPytorchCheckpoint(plainPickle, { source: 'p.pkl' }), /p\.pkl: a pickle without torch\.save's magic number/);
  const noise = Uint8Array.from({ length: 64 }, () => 1 + Math.floor(random() * 0x7e));
  assert.throws(() => loadPytorchCheckpoint(noise, { source: 'noise.bin' }), /noise\.bin: neither a zip archive nor a pickle/);
  const tar = new Uint8Array(1024);
  tar[0] = 0x80;
  tar.set(new TextEncoder().encode('ustar'), 257);
  assert.throws(() => loadPytorchCheckpoint(tar, { source: 'old.tar' }), /old\.tar: a tar archive, PyTorch's pre-0\.1\.10 checkpoint format/);
});

// A few opcodes by hand, so the unpickler's arithmetic meets values torch's fixtures do not hold.
function pickle(...parts: (number | number[] | Uint8Array)[]): Uint8Array {
  return Uint8Array.from(parts.flatMap((p) => (typeof p === 'number' ? [p] : [...p])));
}
const u32 = (n: number) => [n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, (n >>> 24) & 0xff];
const text = (s: string) => [...new TextEncoder().encode(s)];
const binunicode = (s: string) => [0x58, ...u32(text(s).length), ...text(s)];
function long1(value: bigint): number[] {
  const bytes: number[] = [];
  let v = value;
  do {
    bytes.push(Number(v & 0xffn));
    v >>= 8n;
  } while (!(v === 0n && !(bytes[bytes.length - 1] & 0x80)) && !(v === -1n && bytes[bytes.length - 1] & 0x80));
  return [0x8a, bytes.length, ...bytes];
}
function binfloat(x: number): number[] {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x, false);
  return [0x47, ...new Uint8Array(view.buffer)];
}
const run = (bytes: Uint8Array) => unpickle(bytes, 0, { source: 'test.pkl' }).value;

test('integers and floats: BININT, BININT1/2, LONG1 (bigint beyond 2^53), BINFLOAT (big-endian), protocol-0 INT', () => {
  for (let i = 0; i < 20; i++) {
    const int32 = Math.floor(random() * 2 ** 32) - 2 ** 31;
    const big = (BigInt(Math.floor(random() * 2 ** 40)) << 40n) * (random() < 0.5 ? -1n : 1n) - 3n;
    const small = BigInt(Math.floor(random() * 2 ** 50)) * (random() < 0.5 ? -1n : 1n);
    const x = (random() - 0.5) * 10 ** Math.floor(random() * 20 - 10);
    const value = run(pickle(0x80, 2, 0x28, 0x4a, u32(int32), 0x4b, 200, 0x4d, [0x34, 0x12], long1(big), long1(small), binfloat(x), 0x49, text(`${int32}\n`), 0x74, 0x2e));
    assert.equal(value, [int32, 200, 0x1234, big, Number(small), x, int32], ctx(`values ${int32}, ${big}, ${small}, ${x}`));
  }
});

test('containers and memo: dict, list, tuple, set, shared references through BINPUT / BINGET and MEMOIZE', () => {
  const key = `k${Math.floor(random() * 1e6)}`;
  // {key: [1, 2], 'again': <the same list>} with protocol 4 framing and MEMOIZE.
  const value = run(pickle(0x80, 4, 0x95, [0, 0, 0, 0, 0, 0, 0, 0], 0x7d, 0x94, 0x28, 0x8c, text(key).length, text(key), 0x94, 0x5d, 0x94, 0x28, 0x4b, 1, 0x4b, 2, 0x65, 0x8c, 5, text('again'), 0x68, 2, 0x75, 0x2e)) as Map<string, unknown>;
  assert.ok(value instanceof Map);
  assert.equal(value.get(key), [1, 2]);
  assert.ok(value.get('again') === value.get(key), 'memo gives the same object back');
  const set = run(pickle(0x80, 4, 0x8f, 0x28, 0x4b, 3, 0x4b, 4, 0x90, 0x2e));
  assert.equal(set, new Set([3, 4]));
  const tuple = run(pickle(0x80, 2, 0x88, 0x89, 0x4e, 0x87, 0x2e)) as unknown[];
  assert.equal(tuple, [true, false, null]);
  assert.ok(Object.isFrozen(tuple), 'tuples are frozen');
});

test('OrderedDict with _metadata state (BUILD) and Python 2 OrderedDict([[k, v]]) both become Maps', () => {
  const global = (module: string, name: string) => [0x63, ...text(`${module}\n${name}\n`)];
  const py3 = run(pickle(0x80, 2, global('collections', 'OrderedDict'), 0x29, 0x52, binunicode('a'), 0x4b, 7, 0x73, 0x7d, binunicode('_metadata'), 0x7d, 0x73, 0x62, 0x2e));
  assert.equal(py3, new Map([['a', 7]]));
  const py2 = run(pickle(0x80, 2, global('collections', 'OrderedDict'), 0x5d, 0x28, 0x5d, 0x28, 0x55, 1, ...text('w'), 0x4b, 9, 0x65, 0x65, 0x85, 0x52, 0x2e));
  assert.equal(py2, new Map([['w', 9]]));
});

test('refusals: STACK_GLOBAL to posix.system, opcodes that build arbitrary objects, BUILD on a list, damage', () => {
  const stackGlobal = pickle(0x80, 4, 0x8c, 5, text('posix'), 0x8c, 6, text('system'), 0x93, 0x2e);
  assert.throws(() => run(stackGlobal), /^refusing to load global posix\.system from test\.pkl: webfer's unpickler builds only containers, numbers, strings and tensors; if the file holds a whole model/);
  // A storage type outside the table says which storages are read and how to convert.
  assert.throws(() => run(pickle(0x80, 2, 0x63, ...text('torch\nComplexFloatStorage\n'), 0x2e)), /^refusing to load global torch\.ComplexFloatStorage from test\.pkl: .*stored as ComplexFloatStorage, which webfer does not read \(it reads FloatStorage, .*BoolStorage\): convert them in Python/);
  assert.throws(() => run(pickle(0x80, 2, 0x28, 0x69, text('os\nsystem\n'), 0x2e)), /INST is not supported by webfer's unpickler/);
  assert.throws(() => run(pickle(0x80, 2, 0x5d, 0x7d, 0x62, 0x2e)), /BUILD sets a dict of 0 entries on a list of 0 items/);
  assert.throws(() => run(pickle(0x80, 2, 0x68, 5, 0x2e)), /test\.pkl, pickle byte 2: memo entry 5 was never stored/);
  assert.throws(() => run(pickle(0x80, 2, 0xff)), /byte 0xff is not a pickle opcode/);
  assert.throws(() => run(pickle(0x80, 2, 0x58, u32(100), text('short'))), /the pickle ends at byte 12 in the middle of BINUNICODE/);
  assert.throws(() => run(pickle(0x80, 2, 0x51, 0x2e)), /stack underflow/);
  // A tensor needs a storage from a persistent id: a tuple in its place is refused.
  const global = (module: string, name: string) => [0x63, ...text(`${module}\n${name}\n`)];
  assert.throws(() => run(pickle(0x80, 2, global('torch._utils', '_rebuild_tensor_v2'), 0x28, 0x29, 0x4b, 0, 0x29, 0x29, 0x74, 0x52, 0x2e)), /a tensor's storage must come from a persistent id/);
  assert.ok(!(run(pickle(0x80, 2, 0x4e, 0x2e)) instanceof PickledTensor));
});

test('legacy storage views (PyTorch < 0.4): read from their root storage; a view with a negative or fractional offset is refused naming the file', () => {
  // magic, protocol 1001, sys info, {'w': _rebuild_tensor(pid, 0, (2,), (1,))} with pid ('storage', FloatStorage, '0', 'cpu', 4, ('1', offset, 2)),
  // the key list ['0'], then storage 0: 4 elements. A negative offset read outside the DataView ("Offset is outside the bounds of the DataView", no file named).
  const legacyWithView = (offset: number[]) => {
    const header = (body: number[]) => [0x80, 0x02, ...body, 0x2e];
    const magic = [0x8a, 0x0a, ...Array.from({ length: 10 }, (_, k) => Number((0x1950a86a20f9469cfc6cn >> BigInt(8 * k)) & 0xffn))];
    const global = (module: string, name: string) => [0x63, ...text(`${module}\n${name}\n`)];
    const pid = [0x28, ...binunicode('storage'), ...global('torch', 'FloatStorage'), ...binunicode('0'), ...binunicode('cpu'), 0x4b, 4,
      ...binunicode('1'), ...offset, 0x4b, 2, 0x87, 0x74, 0x51];
    const tensor = [...global('torch._utils', '_rebuild_tensor'), 0x28, ...pid, 0x4b, 0, 0x4b, 2, 0x85, 0x4b, 1, 0x85, 0x74, 0x52];
    const main = [0x7d, ...binunicode('w'), ...tensor, 0x73];
    const data = new Uint8Array(8 + 16);
    const view = new DataView(data.buffer);
    view.setBigUint64(0, 4n, true);
    [1.5, 2.5, 3.5, 4.5].forEach((x, i) => view.setFloat32(8 + 4 * i, x, true));
    return pickle(header(magic), header([0x4d, 0xe9, 0x03]), header([0x7d]), header(main), header([0x5d, ...binunicode('0'), 0x61]), data);
  };
  const read = readPytorchCheckpoint(legacyWithView([0x4b, 1]), { source: 'view.pth' });
  assert.equal(Array.from(read.tensors.get('w')!.data), [2.5, 3.5], 'elements 1..2 of the root storage');
  assert.throws(() => readPytorchCheckpoint(legacyWithView([0x4a, ...u32(-1 >>> 0)]), { source: 'neg.pth' }), /^neg\.pth: storage view .* is not \(key, offset, size\) with a non-negative integer offset and size: the file is damaged$/);
  assert.throws(() => readPytorchCheckpoint(legacyWithView(binfloat(0.5)), { source: 'half.pth' }), /^half\.pth: storage view .* non-negative integer offset and size/);
});

test.run();
