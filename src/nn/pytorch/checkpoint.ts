// PyTorch checkpoint files (torch.save) → named host tensors, browser-safe (bytes in).
//
// Two container formats, as torch/serialization.py writes them:
// - zip (PyTorch ≥ 1.6): `<folder>/data.pkl` (the object, storages as persistent ids
//   ('storage', torch.FloatStorage, key, location, numel)), `<folder>/data/<key>` (raw storage
//   bytes), `<folder>/byteorder` ('little' or 'big'; absent before PyTorch 2.1: little). The
//   folder is the archive's name: `archive`, or the stem of the file it was saved to.
// - legacy (PyTorch < 1.6, or _use_new_zipfile_serialization=False): pickles in a row — magic
//   number, protocol version 1001, sys info, the object (persistent ids ('storage', type, root
//   key, location, numel, view metadata)), the sorted storage keys — then each storage as an
//   8-byte element count and its raw bytes. The official LightCNN checkpoints are this format
//   (Python 2, `{'epoch', 'arch', 'state_dict': DataParallel OrderedDict}`).
// The object may be a state dict or a dict holding one (under `state_dict` by default).
import { unzipSync } from 'fflate';
import { DTYPE_BYTES, PickledTensor, StorageType, describe, unpickle, type StorageRef, type TorchDtype } from './unpickle.js';
import { elementReader } from '../element-reader.js';

export type CheckpointFormat = 'zip' | 'legacy';

/** A tensor read from a checkpoint, widened to f32 (`dtype` says what it was). */
export interface PytorchTensor {
  shape: number[];
  data: Float32Array;
  dtype: TorchDtype;
}

export interface PytorchCheckpoint {
  format: CheckpointFormat;
  /** Name → tensor, in the checkpoint's order, DataParallel prefix removed. */
  tensors: Map<string, PytorchTensor>;
  /** The key of the top-level dict the state dict was found under, or null for a bare state dict. */
  stateDictKey: string | null;
  /** The other top-level entries next to the state dict (e.g. `epoch: 3`), for the record. */
  otherEntries: Record<string, string>;
  /** 'module.' when every key had DataParallel's prefix (removed), else null. */
  strippedPrefix: string | null;
}

export interface ReadCheckpointOptions {
  /** Names the file in errors. */
  source?: string;
  /** Top-level key holding the state dict (default: `state_dict` when present, else the object itself). */
  key?: string;
}

const MAGIC_NUMBER = 0x1950a86a20f9469cfc6cn;
const LEGACY_PROTOCOL_VERSION = 1001;
const DATA_PARALLEL_PREFIX = 'module.';

/** Reads a torch.save file (zip or legacy) holding a state dict; see the module comment. */
export function readPytorchCheckpoint(bytes: Uint8Array, options: ReadCheckpointOptions = {}): PytorchCheckpoint {
  const source = options.source ?? 'PyTorch checkpoint';
  const { format, object, storageBytes, littleEndian } = isZip(bytes) ? readZip(bytes, source) : readLegacy(bytes, source);
  const { stateDict, stateDictKey, otherEntries } = findStateDict(object, options.key, source);
  const strippedPrefix = dataParallelPrefix([...stateDict.keys()]);
  const tensors = new Map<string, PytorchTensor>();
  for (const [name, tensor] of stateDict) {
    const key = strippedPrefix ? name.slice(strippedPrefix.length) : name;
    tensors.set(key, materialize(tensor, storageBytes(tensor.storage), littleEndian, `${source}: tensor ${name}`));
  }
  return { format, tensors, stateDictKey, otherEntries, strippedPrefix };
}

/** DataParallel's 'module.' when every key of a state dict carries it (saved from the wrapper, not the model), else null. */
export function dataParallelPrefix(keys: readonly string[]): string | null {
  return keys.length > 0 && keys.every((k) => k.startsWith(DATA_PARALLEL_PREFIX)) ? DATA_PARALLEL_PREFIX : null;
}

/** Name → f32 host array for `--init-from` and the page: every tensor of the checkpoint's state dict. */
export function loadPytorchCheckpoint(bytes: Uint8Array, options: ReadCheckpointOptions = {}): Map<string, PytorchTensor> {
  return readPytorchCheckpoint(bytes, options).tensors;
}

interface Container {
  format: CheckpointFormat;
  object: unknown;
  /** The bytes of a storage (its root storage for legacy views). */
  storageBytes: (ref: StorageRef) => Uint8Array;
  littleEndian: boolean;
}

function isZip(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04;
}

function storageRefFrom(pid: unknown, legacy: boolean, where: string): StorageRef {
  if (!Array.isArray(pid) || pid[0] !== 'storage') {
    const kind = Array.isArray(pid) && typeof pid[0] === 'string' ? pid[0] : describe(pid);
    const hint = kind === 'module' ? ': the file pickles a whole nn.Module; in Python save model.state_dict() instead' : '';
    throw new Error(`${where}: persistent id ${kind} is not a storage${hint}`);
  }
  const [, type, key, location, numel, view] = pid as unknown[];
  if (!(type instanceof StorageType)) throw new Error(`${where}: storage of type ${describe(type)}; webfer reads torch.FloatStorage, HalfStorage, BFloat16Storage, DoubleStorage and the integer storages`);
  if (typeof key !== 'string') throw new Error(`${where}: storage key ${describe(key)} is not a string`);
  if (typeof numel !== 'number' || !Number.isInteger(numel) || numel < 0) throw new Error(`${where}: storage ${key} has element count ${describe(numel)}`);
  let viewOffset = 0, viewSize = numel;
  if (legacy && view !== null && view !== undefined) {
    // (view_key, offset, view_size): a view into the root storage (PyTorch < 0.4).
    const isCount = (x: unknown): x is number => Number.isSafeInteger(x) && (x as number) >= 0;
    if (!Array.isArray(view) || !isCount(view[1]) || !isCount(view[2])) {
      throw new Error(`${where}: storage view ${Array.isArray(view) ? `(${view.map(describe).join(', ')})` : describe(view)} is not (key, offset, size) with a non-negative integer offset and size: the file is damaged`);
    }
    [viewOffset, viewSize] = [view[1], view[2]];
    if (viewOffset + viewSize > numel) throw new Error(`${where}: storage view [${viewOffset}, ${viewOffset + viewSize}) runs past its root storage of ${numel} elements`);
  }
  return { dtype: type.dtype, key, numel, viewOffset, viewSize, location: typeof location === 'string' ? location : String(location) };
}

function readZip(bytes: Uint8Array, source: string): Container {
  let entries: Record<string, Uint8Array>;
  try {
    entries = unzipSync(bytes);
  } catch (error) {
    throw new Error(`${source}: not a readable zip archive (${(error as Error).message}): the file is truncated or damaged; download or save it again`);
  }
  const names = Object.keys(entries);
  const pickles = names.filter((n) => /^[^/]+\/data\.pkl$/.test(n));
  if (pickles.length !== 1) {
    throw new Error(`${source}: a zip archive without ${pickles.length ? 'a single' : 'a'} <folder>/data.pkl (${names.slice(0, 5).join(', ')}${names.length > 5 ? ', …' : ''}): not a torch.save file`);
  }
  const folder = pickles[0].slice(0, -'data.pkl'.length);
  if (names.some((n) => n.startsWith(`${folder}code/`) || n === `${folder}constants.pkl`)) {
    throw new Error(`${source} is a TorchScript archive (torch.jit.save): webfer reads state dicts; in Python: torch.save(torch.jit.load(FILE).state_dict(), 'weights.pth')`);
  }
  const byteorderEntry = entries[`${folder}byteorder`];
  const byteorder = byteorderEntry ? new TextDecoder().decode(byteorderEntry).trim() : 'little';
  if (byteorder !== 'little' && byteorder !== 'big') throw new Error(`${source}: ${folder}byteorder says ${JSON.stringify(byteorder)}; expected little or big`);
  const { value } = unpickle(entries[pickles[0]], 0, {
    source: `${source} (${pickles[0]})`,
    persistentLoad: (pid) => storageRefFrom(pid, false, `${source} (${pickles[0]})`),
  });
  const storageBytes = (ref: StorageRef) => {
    const name = `${folder}data/${ref.key}`;
    const data = entries[name];
    if (!data) throw new Error(`${source}: storage record ${name} is missing: the archive is damaged`);
    const expected = ref.numel * DTYPE_BYTES[ref.dtype];
    if (data.length < expected) throw new Error(`${source}: storage record ${name} has ${data.length} bytes, ${ref.numel} ${ref.dtype} elements need ${expected}: the archive is truncated or damaged`);
    return data;
  };
  return { format: 'zip', object: value, storageBytes, littleEndian: byteorder === 'little' };
}

function readLegacy(bytes: Uint8Array, source: string): Container {
  if (bytes.length > 262 && new TextDecoder().decode(bytes.subarray(257, 262)) === 'ustar') {
    throw new Error(`${source}: a tar archive, PyTorch's pre-0.1.10 checkpoint format, which webfer does not read; load and re-save it with a newer PyTorch (torch.save(torch.load(FILE), 'new.pth'))`);
  }
  if (bytes[0] !== 0x80) throw new Error(`${source}: neither a zip archive nor a pickle (first byte 0x${(bytes[0] ?? 0).toString(16).padStart(2, '0')}): not a PyTorch checkpoint`);
  const plain = { source };
  const magic = unpickle(bytes, 0, plain);
  if (magic.value !== MAGIC_NUMBER) {
    throw new Error(`${source}: a pickle without torch.save's magic number: not a PyTorch checkpoint (plain pickles are not read; in Python: torch.save(state_dict, 'weights.pth'))`);
  }
  const protocol = unpickle(bytes, magic.end, plain);
  if (protocol.value !== LEGACY_PROTOCOL_VERSION) throw new Error(`${source}: legacy checkpoint protocol ${describe(protocol.value)}; webfer reads ${LEGACY_PROTOCOL_VERSION}`);
  const sysInfo = unpickle(bytes, protocol.end, plain);
  const littleEndian = sysInfo.value instanceof Map ? sysInfo.value.get('little_endian') !== false : true;

  const refs = new Map<string, StorageRef>();
  const main = unpickle(bytes, sysInfo.end, {
    source,
    persistentLoad: (pid) => {
      const ref = storageRefFrom(pid, true, source);
      const known = refs.get(ref.key);
      if (known && (known.numel !== ref.numel || known.dtype !== ref.dtype)) throw new Error(`${source}: storage ${ref.key} appears as ${known.numel} ${known.dtype} and as ${ref.numel} ${ref.dtype} elements: the file is damaged`);
      refs.set(ref.key, known ?? ref);
      return ref;
    },
  });
  const keyList = unpickle(bytes, main.end, plain);
  if (!Array.isArray(keyList.value) || !keyList.value.every((k) => typeof k === 'string')) throw new Error(`${source}: the storage key list is ${describe(keyList.value)}, not a list of strings: the file is damaged`);

  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const storages = new Map<string, Uint8Array>();
  let position = keyList.end;
  for (const key of keyList.value as string[]) {
    const ref = refs.get(key);
    if (!ref) throw new Error(`${source}: storage ${key} is listed but no tensor uses it: the file is damaged`);
    if (position + 8 > bytes.length) throw new Error(`${source}: the file ends at byte ${bytes.length} before storage ${key}: it is truncated; download or save it again`);
    const count = view.getBigUint64(position, littleEndian);
    if (count !== BigInt(ref.numel)) throw new Error(`${source}: storage ${key} holds ${count} elements at byte ${position}, its tensors expect ${ref.numel}: the file is damaged`);
    const length = ref.numel * DTYPE_BYTES[ref.dtype];
    const start = position + 8;
    if (start + length > bytes.length) throw new Error(`${source}: storage ${key} needs ${length} bytes from byte ${start}, the file ends at ${bytes.length}: it is truncated; download or save it again`);
    storages.set(key, bytes.subarray(start, start + length));
    position = start + length;
  }
  const storageBytes = (ref: StorageRef) => {
    const data = storages.get(ref.key);
    if (!data) throw new Error(`${source}: storage ${ref.key} is used by a tensor but not stored in the file: it is damaged`);
    return data;
  };
  return { format: 'legacy', object: main.value, storageBytes, littleEndian };
}

function findStateDict(object: unknown, key: string | undefined, source: string): { stateDict: Map<string, PickledTensor>; stateDictKey: string | null; otherEntries: Record<string, string> } {
  if (!(object instanceof Map)) throw new Error(`${source} holds ${describe(object)}, not a dict: expected a state dict (torch.save(model.state_dict(), FILE))`);
  const dictKeys = [...object.keys()].map(String);
  const tensorDicts = [...object.entries()].filter(([, v]) => v instanceof Map && [...v.values()].some((x) => x instanceof PickledTensor)).map(([k]) => String(k));
  let stateDict: Map<unknown, unknown> = object;
  let stateDictKey: string | null = null;
  if (key !== undefined || (object.has('state_dict') && object.get('state_dict') instanceof Map)) {
    stateDictKey = key ?? 'state_dict';
    const inner = object.get(stateDictKey);
    if (!(inner instanceof Map)) {
      const choices = tensorDicts.length ? `; dicts of tensors are under: ${tensorDicts.join(', ')}` : '';
      throw new Error(`${source}: no dict under key ${JSON.stringify(stateDictKey)} (top-level keys: ${dictKeys.join(', ')})${choices}`);
    }
    stateDict = inner;
  }
  const out = new Map<string, PickledTensor>();
  for (const [name, value] of stateDict) {
    if (typeof name !== 'string') throw new Error(`${source}: state dict key ${describe(name)} is not a string`);
    if (!(value instanceof PickledTensor)) {
      const hint = stateDictKey === null && tensorDicts.length ? `; the tensors look to be under ${tensorDicts.map((k) => JSON.stringify(k)).join(', ')}: pass --key ${tensorDicts[0]}` : '';
      throw new Error(`${source}: entry ${JSON.stringify(name)} of the ${stateDictKey === null ? 'top-level dict' : `dict under ${JSON.stringify(stateDictKey)}`} is ${describe(value)}, not a tensor${hint}`);
    }
    out.set(name, value);
  }
  const otherEntries: Record<string, string> = {};
  if (stateDictKey !== null) for (const [k, v] of object) if (k !== stateDictKey) otherEntries[String(k)] = typeof v === 'bigint' ? String(v) : describe(v);
  return { stateDict: out, stateDictKey, otherEntries };
}

/** Gathers size/stride/offset from the storage (any strides, so transposed views come out right) and widens to f32. */
function materialize(tensor: PickledTensor, bytes: Uint8Array, littleEndian: boolean, where: string): PytorchTensor {
  const { storage, size, stride } = tensor;
  const count = size.reduce((a, b) => a * b, 1);
  // Stride 0 lets a one-element storage claim any size; refuse before allocating.
  if (count > 2 ** 30) throw new Error(`${where}: size (${size.join(', ')}) is ${count} elements, more than one array holds: the file is damaged or not a weight file`);
  const data = new Float32Array(count);
  const shape = [...size];
  if (count === 0) return { shape, data, dtype: storage.dtype };
  const base = storage.viewOffset + tensor.storageOffset;
  const last = base + size.reduce((sum, s, d) => sum + (s - 1) * stride[d], 0);
  if (last >= storage.viewOffset + storage.viewSize) {
    throw new Error(`${where}: offset ${tensor.storageOffset}, size (${size.join(', ')}) and stride (${stride.join(', ')}) reach element ${last - storage.viewOffset} of a storage of ${storage.viewSize}: the file is damaged`);
  }
  const read = elementReader(storage.dtype, new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), littleEndian);
  const rank = size.length;
  const index = new Array<number>(rank).fill(0);
  let offset = base;
  for (let i = 0; i < count; i++) {
    data[i] = read(offset);
    // Odometer over the index, innermost dimension fastest (row-major output).
    for (let d = rank - 1; d >= 0; d--) {
      if (++index[d] < size[d]) {
        offset += stride[d];
        break;
      }
      index[d] = 0;
      offset -= (size[d] - 1) * stride[d];
    }
  }
  return { shape, data, dtype: storage.dtype };
}
