// A restricted unpickler for PyTorch checkpoints. In Python a pickle is a program: GLOBAL names
// any importable callable and REDUCE calls it. Here nothing is ever called: GLOBAL resolves only
// names from the table below (containers, tensor rebuilders, storage types) and refuses every
// other one on sight, so a checkpoint can build dicts, lists, tuples, sets, numbers, strings,
// bytes and tensors, and nothing else. Opcodes follow CPython's Lib/pickle.py (protocols 0-5 as
// torch.save writes them: protocol 2 by default, in both the zip and the legacy format).
//
// Representation: dict and OrderedDict → Map, list and tuple → array (tuples frozen), set and
// frozenset → Set, int → number (bigint beyond 2^53), float → number, str → string, bytes →
// Uint8Array, None → null. Tensors come out as PickledTensor, pointing at a StorageRef that the
// caller's persistentLoad made (the bytes live outside the pickle in both checkpoint formats).

/** Element types of torch storages. */
export type TorchDtype = 'float32' | 'float64' | 'float16' | 'bfloat16' | 'int64' | 'int32' | 'int16' | 'int8' | 'uint8' | 'bool';

export const DTYPE_BYTES: Record<TorchDtype, number> = {
  float32: 4, float64: 8, float16: 2, bfloat16: 2, int64: 8, int32: 4, int16: 2, int8: 1, uint8: 1, bool: 1,
};

/** torch.<Name>Storage (and torch.cuda.<Name>Storage) → element type. */
const STORAGE_TYPES: Record<string, TorchDtype> = {
  FloatStorage: 'float32', DoubleStorage: 'float64', HalfStorage: 'float16', BFloat16Storage: 'bfloat16',
  LongStorage: 'int64', IntStorage: 'int32', ShortStorage: 'int16', CharStorage: 'int8', ByteStorage: 'uint8', BoolStorage: 'bool',
};

/** A storage the pickle refers to by persistent id; its bytes are read by the checkpoint reader. */
export interface StorageRef {
  readonly dtype: TorchDtype;
  /** Record name (zip: `data/<key>`) or legacy root key. */
  readonly key: string;
  /** Elements in the root storage. */
  readonly numel: number;
  /** Legacy storage views (PyTorch < 0.4): this storage is root[viewOffset, viewOffset + viewSize). */
  readonly viewOffset: number;
  readonly viewSize: number;
  readonly location: string;
}

/** `torch._utils._rebuild_tensor(_v2)(storage, storage_offset, size, stride, ...)`, not yet materialised. */
export class PickledTensor {
  constructor(
    readonly storage: StorageRef,
    readonly storageOffset: number,
    readonly size: readonly number[],
    readonly stride: readonly number[],
  ) {}
  get dtype(): TorchDtype {
    return this.storage.dtype;
  }
}

/** The type marker a GLOBAL pushes for `torch.FloatStorage` etc. (only meaningful inside a persistent id). */
export class StorageType {
  constructor(readonly name: string, readonly dtype: TorchDtype) {}
}

export interface UnpickleOptions {
  /** Names the data in errors (a file name). */
  source: string;
  /** Resolves BINPERSID / PERSID ids; without it a persistent id is an error. */
  persistentLoad?: (pid: unknown) => unknown;
}

export interface UnpickleResult {
  value: unknown;
  /** Byte position after the STOP opcode (a legacy checkpoint holds several pickles in a row). */
  end: number;
}

interface AllowedGlobal {
  /** REDUCE: called with the argument tuple. */
  call?: (args: unknown[], where: string) => unknown;
  /** NEWOBJ: cls.__new__(cls, *args). */
  construct?: (args: unknown[], where: string) => unknown;
  /** What GLOBAL pushes for a type marker (storage types, torch.Tensor). */
  marker?: unknown;
}

class Global {
  constructor(readonly path: string, readonly spec: AllowedGlobal) {}
}

/** torch.Tensor / torch.nn.Parameter as `_rebuild_from_type_v2` names them. */
const TENSOR_TYPE = Symbol('torch.Tensor');

function isPlainArray(x: unknown): x is unknown[] {
  return Array.isArray(x);
}

function orderedDict(args: unknown[], where: string): Map<unknown, unknown> {
  const map = new Map<unknown, unknown>();
  // Python 3 pickles OrderedDict() empty and fills it with SETITEMS; Python 2 passes [[k, v], ...].
  if (args.length === 0) return map;
  const items = args[0];
  if (args.length === 1 && isPlainArray(items) && items.every((pair) => isPlainArray(pair) && pair.length === 2)) {
    for (const [k, v] of items as unknown[][]) map.set(k, v);
    return map;
  }
  if (args.length === 1 && items instanceof Map) return new Map(items);
  throw new Error(`${where}: collections.OrderedDict called with ${describe(args)}; expected no arguments or a list of [key, value] pairs`);
}

function expectInteger(x: unknown, what: string, where: string): number {
  if (typeof x === 'number' && Number.isInteger(x) && x >= 0) return x;
  throw new Error(`${where}: ${what} must be a non-negative integer, got ${describe(x)}`);
}

function expectIntegers(x: unknown, what: string, where: string): number[] {
  if (!isPlainArray(x)) throw new Error(`${where}: ${what} must be a tuple of integers, got ${describe(x)}`);
  return x.map((d, i) => expectInteger(d, `${what}[${i}]`, where));
}

function rebuildTensor(args: unknown[], where: string): PickledTensor {
  const [storage, offset, size, stride] = args;
  if (!isStorageRef(storage)) throw new Error(`${where}: a tensor's storage must come from a persistent id, got ${describe(storage)}`);
  const sizes = expectIntegers(size, 'size', where);
  const strides = expectIntegers(stride, 'stride', where);
  if (sizes.length !== strides.length) throw new Error(`${where}: tensor size (${sizes.join(', ')}) and stride (${strides.join(', ')}) differ in length`);
  return new PickledTensor(storage, expectInteger(offset, 'storage offset', where), sizes, strides);
}

function expectTensor(x: unknown, where: string): PickledTensor {
  if (x instanceof PickledTensor) return x;
  throw new Error(`${where}: expected a tensor, got ${describe(x)}`);
}

function isStorageRef(x: unknown): x is StorageRef {
  return typeof x === 'object' && x !== null && 'dtype' in x && 'key' in x && 'numel' in x && !(x instanceof PickledTensor);
}

const ALLOWED_GLOBALS: Record<string, AllowedGlobal> = {
  'collections.OrderedDict': { call: orderedDict, construct: orderedDict },
  // (storage, storage_offset, size, stride[, requires_grad, backward_hooks[, metadata]]): hooks and metadata carry no weights.
  'torch._utils._rebuild_tensor': { call: rebuildTensor },
  'torch._utils._rebuild_tensor_v2': { call: rebuildTensor },
  // (data, requires_grad, backward_hooks[, state]): a Parameter is its data here.
  'torch._utils._rebuild_parameter': { call: (args, where) => expectTensor(args[0], where) },
  'torch._utils._rebuild_parameter_with_state': { call: (args, where) => expectTensor(args[0], where) },
  'torch.nn.parameter.Parameter': { construct: (args, where) => expectTensor(args[0], where), marker: TENSOR_TYPE },
  'torch.Tensor': { marker: TENSOR_TYPE },
  // (func, new_type, args, state): a tensor subclass or a tensor with Python attributes.
  'torch._tensor._rebuild_from_type_v2': {
    call: (args, where) => {
      const [func, type, funcArgs, state] = args;
      if (!(func instanceof Global) || !func.spec.call || !func.path.startsWith('torch._utils._rebuild_')) throw new Error(`${where}: _rebuild_from_type_v2 with ${describe(func)}; only tensor rebuilders are allowed`);
      if (type !== TENSOR_TYPE && !(type instanceof Global && type.spec.marker === TENSOR_TYPE)) throw new Error(`${where}: _rebuild_from_type_v2 to ${describe(type)}; only torch.Tensor and torch.nn.Parameter are allowed`);
      if (!isPlainArray(funcArgs)) throw new Error(`${where}: _rebuild_from_type_v2 arguments must be a tuple, got ${describe(funcArgs)}`);
      if (state instanceof Map && state.size > 0) throw new Error(`${where}: a tensor with Python attributes (${[...state.keys()].map(String).join(', ')}); save plain tensors (model.state_dict())`);
      return func.spec.call(funcArgs, where);
    },
  },
  'torch.Size': { call: (args, where) => Object.freeze(expectIntegers(args[0] ?? [], 'torch.Size', where)), construct: (args, where) => Object.freeze(expectIntegers(args[0] ?? [], 'torch.Size', where)) },
  'builtins.set': { call: (args) => new Set(isPlainArray(args[0]) ? args[0] : []), construct: () => new Set() },
  'builtins.frozenset': { call: (args) => new Set(isPlainArray(args[0]) ? args[0] : []), construct: () => new Set() },
  // Python 3 writes bytes as _codecs.encode(text, 'latin1') at protocol 2.
  '_codecs.encode': {
    call: (args, where) => {
      const [text, encoding] = args;
      if (typeof text !== 'string' || (encoding !== 'latin1' && encoding !== 'latin-1')) throw new Error(`${where}: _codecs.encode(${describe(text)}, ${describe(encoding)}); only latin1 byte strings are allowed`);
      return Uint8Array.from(text, (c) => c.charCodeAt(0));
    },
  },
};
for (const [name, dtype] of Object.entries(STORAGE_TYPES)) {
  ALLOWED_GLOBALS[`torch.${name}`] = { marker: new StorageType(`torch.${name}`, dtype) };
  ALLOWED_GLOBALS[`torch.cuda.${name}`] = { marker: new StorageType(`torch.cuda.${name}`, dtype) };
}

/** Python 2 module names (torch.load maps them the same way). */
const PYTHON2_MODULES: Record<string, string> = { __builtin__: 'builtins', copy_reg: 'copyreg' };

function resolveGlobal(module: string, name: string, source: string): unknown {
  const path = `${PYTHON2_MODULES[module] ?? module}.${name}`;
  const spec = ALLOWED_GLOBALS[path];
  if (!spec) {
    const fix = /^torch(\.cuda)?$/.test(module) && name.endsWith('Storage')
      ? `its tensors are stored as ${name}, which webfer does not read (it reads ${Object.keys(STORAGE_TYPES).join(', ')}): convert them in Python, e.g. {k: v.float() for k, v in state_dict.items()}`
      : "if the file holds a whole model or other Python objects, save only the weights in Python: torch.save(model.state_dict(), 'weights.pth')";
    throw new Error(`refusing to load global ${module}.${name} from ${source}: webfer's unpickler builds only containers, numbers, strings and tensors; ${fix}`);
  }
  return spec.marker !== undefined && !spec.call && !spec.construct ? spec.marker : new Global(path, spec);
}

/** A short description of a value for error messages. */
export function describe(x: unknown): string {
  if (x === null) return 'None';
  if (x instanceof Global) return x.path;
  if (x instanceof StorageType) return x.name;
  if (x instanceof PickledTensor) return `a ${x.dtype} tensor [${x.size.join(', ')}]`;
  if (x instanceof Map) return `a dict of ${x.size} entries`;
  if (x instanceof Set) return `a set of ${x.size} items`;
  if (x instanceof Uint8Array) return `${x.length} bytes`;
  if (isPlainArray(x)) return `${Object.isFrozen(x) ? 'a tuple' : 'a list'} of ${x.length} items`;
  if (typeof x === 'string') return JSON.stringify(x.length > 40 ? `${x.slice(0, 40)}…` : x);
  if (x === TENSOR_TYPE) return 'torch.Tensor';
  return String(x);
}

// Opcodes (CPython Lib/pickle.py).
const OP = {
  MARK: 0x28, STOP: 0x2e, POP: 0x30, POP_MARK: 0x31, DUP: 0x32, FLOAT: 0x46, INT: 0x49, BININT: 0x4a, BININT1: 0x4b,
  LONG: 0x4c, BININT2: 0x4d, NONE: 0x4e, PERSID: 0x50, BINPERSID: 0x51, REDUCE: 0x52, STRING: 0x53, BINSTRING: 0x54,
  SHORT_BINSTRING: 0x55, UNICODE: 0x56, BINUNICODE: 0x58, APPEND: 0x61, BUILD: 0x62, GLOBAL: 0x63, DICT: 0x64,
  EMPTY_DICT: 0x7d, APPENDS: 0x65, GET: 0x67, BINGET: 0x68, INST: 0x69, LONG_BINGET: 0x6a, LIST: 0x6c, EMPTY_LIST: 0x5d,
  OBJ: 0x6f, PUT: 0x70, BINPUT: 0x71, LONG_BINPUT: 0x72, SETITEM: 0x73, TUPLE: 0x74, EMPTY_TUPLE: 0x29, SETITEMS: 0x75,
  BINFLOAT: 0x47,
  PROTO: 0x80, NEWOBJ: 0x81, EXT1: 0x82, EXT2: 0x83, EXT4: 0x84, TUPLE1: 0x85, TUPLE2: 0x86, TUPLE3: 0x87,
  NEWTRUE: 0x88, NEWFALSE: 0x89, LONG1: 0x8a, LONG4: 0x8b,
  BINBYTES: 0x42, SHORT_BINBYTES: 0x43,
  SHORT_BINUNICODE: 0x8c, BINUNICODE8: 0x8d, BINBYTES8: 0x8e, EMPTY_SET: 0x8f, ADDITEMS: 0x90, FROZENSET: 0x91,
  NEWOBJ_EX: 0x92, STACK_GLOBAL: 0x93, MEMOIZE: 0x94, FRAME: 0x95,
  BYTEARRAY8: 0x96,
} as const;
const OPCODE_NAMES = new Map<number, string>(Object.entries(OP).map(([name, code]) => [code, name]));

const MARK = Symbol('MARK');

class Reader {
  position: number;
  private readonly view: DataView;
  constructor(readonly bytes: Uint8Array, start: number, readonly source: string) {
    this.position = start;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  private need(count: number, what: string): number {
    const at = this.position;
    if (count < 0 || at + count > this.bytes.length) {
      throw new Error(`${this.source}: the pickle ends at byte ${this.bytes.length} in the middle of ${what} (byte ${at} needs ${count} more): the file is truncated or damaged`);
    }
    this.position += count;
    return at;
  }
  byte(what: string): number {
    return this.bytes[this.need(1, what)];
  }
  uint16(what: string): number {
    return this.view.getUint16(this.need(2, what), true);
  }
  int32(what: string): number {
    return this.view.getInt32(this.need(4, what), true);
  }
  uint32(what: string): number {
    return this.view.getUint32(this.need(4, what), true);
  }
  uint64(what: string): number {
    const value = this.view.getBigUint64(this.need(8, what), true);
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error(`${this.source}: ${what} claims ${value} bytes at byte ${this.position - 8}: the file is damaged`);
    return Number(value);
  }
  float64BigEndian(what: string): number {
    return this.view.getFloat64(this.need(8, what), false);
  }
  take(count: number, what: string): Uint8Array {
    const at = this.need(count, what);
    return this.bytes.subarray(at, at + count);
  }
  line(what: string): string {
    const end = this.bytes.indexOf(0x0a, this.position);
    if (end < 0) this.need(this.bytes.length - this.position + 1, what);
    const text = latin1(this.bytes.subarray(this.position, end));
    this.position = end + 1;
    return text;
  }
}

function latin1(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 8192) s += String.fromCharCode(...bytes.subarray(i, i + 8192));
  return s;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Little-endian two's complement integer of any length (LONG1 / LONG4). */
function decodeLong(bytes: Uint8Array): number | bigint {
  if (bytes.length === 0) return 0;
  let value = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) value = (value << 8n) | BigInt(bytes[i]);
  if (bytes[bytes.length - 1] & 0x80) value -= 1n << BigInt(8 * bytes.length);
  return narrow(value);
}

function narrow(value: bigint): number | bigint {
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
}

/**
 * Reads one pickle starting at `start` and returns its value and where it ended. Throws on any
 * global outside the allowed table, any opcode that would run code (INST, OBJ, EXT*), and on
 * truncated or malformed data, naming `options.source` and the byte position.
 */
export function unpickle(bytes: Uint8Array, start: number, options: UnpickleOptions): UnpickleResult {
  const { source } = options;
  const reader = new Reader(bytes, start, source);
  const stack: unknown[] = [];
  const marks: number[] = [];
  const memo = new Map<number, unknown>();

  const where = (at: number) => `${source}, pickle byte ${at}`;
  const pop = (at: number): unknown => {
    if (stack.length === 0 || (marks.length && stack.length <= marks[marks.length - 1])) throw new Error(`${where(at)}: stack underflow: the pickle is damaged`);
    return stack.pop();
  };
  const top = (at: number): unknown => {
    if (stack.length === 0) throw new Error(`${where(at)}: stack underflow: the pickle is damaged`);
    return stack[stack.length - 1];
  };
  const popMark = (at: number): unknown[] => {
    const mark = marks.pop();
    if (mark === undefined) throw new Error(`${where(at)}: no MARK on the stack: the pickle is damaged`);
    return stack.splice(mark);
  };
  const memoGet = (index: number, at: number): unknown => {
    if (!memo.has(index)) throw new Error(`${where(at)}: memo entry ${index} was never stored: the pickle is damaged`);
    return memo.get(index);
  };
  const setItems = (target: unknown, items: unknown[], at: number) => {
    if (!(target instanceof Map)) throw new Error(`${where(at)}: SETITEMS on ${describe(target)}; only dicts take items`);
    if (items.length % 2) throw new Error(`${where(at)}: SETITEMS with an odd number of values: the pickle is damaged`);
    for (let i = 0; i < items.length; i += 2) target.set(items[i], items[i + 1]);
  };
  const appendItems = (target: unknown, items: unknown[], at: number) => {
    if (!isPlainArray(target) || Object.isFrozen(target)) throw new Error(`${where(at)}: APPENDS on ${describe(target)}; only lists take items`);
    target.push(...items);
  };
  const pushGlobal = (module: string, name: string) => stack.push(resolveGlobal(module, name, source));
  const callGlobal = (func: unknown, args: unknown, kind: 'call' | 'construct', at: number) => {
    if (!(func instanceof Global) || !func.spec[kind]) {
      throw new Error(`${where(at)}: ${kind === 'call' ? 'REDUCE calls' : 'NEWOBJ constructs'} ${describe(func)}, which webfer's unpickler does not ${kind === 'call' ? 'call' : 'construct'}`);
    }
    if (!isPlainArray(args)) throw new Error(`${where(at)}: arguments of ${func.path} must be a tuple, got ${describe(args)}`);
    return func.spec[kind]!(args, `${where(at)}: ${func.path}`);
  };
  const decodeText = (raw: Uint8Array, at: number): string => {
    try {
      return utf8.decode(raw);
    } catch {
      throw new Error(`${where(at)}: a string is not valid UTF-8: the pickle is damaged`);
    }
  };
  const persistent = (pid: unknown, at: number) => {
    if (!options.persistentLoad) throw new Error(`${where(at)}: a persistent id (${describe(pid)}) outside a PyTorch checkpoint`);
    return options.persistentLoad(pid);
  };

  for (;;) {
    const at = reader.position;
    const op = reader.byte('an opcode');
    switch (op) {
      case OP.PROTO: {
        const protocol = reader.byte('PROTO');
        if (protocol > 5) throw new Error(`${where(at)}: pickle protocol ${protocol} is newer than 5: not a pickle webfer can read`);
        break;
      }
      case OP.FRAME:
        reader.uint64('FRAME');
        break;
      case OP.STOP: {
        if (stack.length !== 1 || marks.length) throw new Error(`${where(at)}: STOP with ${stack.length} values on the stack: the pickle is damaged`);
        return { value: stack[0], end: reader.position };
      }
      case OP.MARK:
        marks.push(stack.length);
        break;
      case OP.POP:
        if (stack.length && marks.length && stack.length === marks[marks.length - 1]) marks.pop();
        else pop(at);
        break;
      case OP.POP_MARK:
        popMark(at);
        break;
      case OP.DUP:
        stack.push(top(at));
        break;

      case OP.NONE: stack.push(null); break;
      case OP.NEWTRUE: stack.push(true); break;
      case OP.NEWFALSE: stack.push(false); break;
      case OP.BININT: stack.push(reader.int32('BININT')); break;
      case OP.BININT1: stack.push(reader.byte('BININT1')); break;
      case OP.BININT2: stack.push(reader.uint16('BININT2')); break;
      case OP.LONG1: stack.push(decodeLong(reader.take(reader.byte('LONG1'), 'LONG1'))); break;
      case OP.LONG4: {
        const length = reader.int32('LONG4');
        stack.push(decodeLong(reader.take(length, 'LONG4')));
        break;
      }
      case OP.INT: {
        const text = reader.line('INT');
        // Protocol 0 spells booleans as I01 / I00.
        if (text === '01' || text === '00') stack.push(text === '01');
        else if (/^[+-]?\d+$/.test(text)) stack.push(narrow(BigInt(text)));
        else throw new Error(`${where(at)}: INT ${JSON.stringify(text)} is not an integer`);
        break;
      }
      case OP.LONG: {
        const text = reader.line('LONG').replace(/L$/, '');
        if (!/^[+-]?\d+$/.test(text)) throw new Error(`${where(at)}: LONG ${JSON.stringify(text)} is not an integer`);
        stack.push(narrow(BigInt(text)));
        break;
      }
      case OP.BINFLOAT: stack.push(reader.float64BigEndian('BINFLOAT')); break;
      case OP.FLOAT: {
        const text = reader.line('FLOAT');
        const value = Number(text);
        if (Number.isNaN(value) && !/^[+-]?nan$/i.test(text)) throw new Error(`${where(at)}: FLOAT ${JSON.stringify(text)} is not a number`);
        stack.push(value);
        break;
      }

      case OP.BINUNICODE: stack.push(decodeText(reader.take(reader.uint32('BINUNICODE'), 'BINUNICODE'), at)); break;
      case OP.SHORT_BINUNICODE: stack.push(decodeText(reader.take(reader.byte('SHORT_BINUNICODE'), 'SHORT_BINUNICODE'), at)); break;
      case OP.BINUNICODE8: stack.push(decodeText(reader.take(reader.uint64('BINUNICODE8'), 'BINUNICODE8'), at)); break;
      // Python 2 str: torch.load decodes it as UTF-8 by default; so does this.
      case OP.BINSTRING: {
        const length = reader.int32('BINSTRING');
        stack.push(decodeText(reader.take(length, 'BINSTRING'), at));
        break;
      }
      case OP.SHORT_BINSTRING: stack.push(decodeText(reader.take(reader.byte('SHORT_BINSTRING'), 'SHORT_BINSTRING'), at)); break;
      case OP.BINBYTES: stack.push(reader.take(reader.uint32('BINBYTES'), 'BINBYTES').slice()); break;
      case OP.SHORT_BINBYTES: stack.push(reader.take(reader.byte('SHORT_BINBYTES'), 'SHORT_BINBYTES').slice()); break;
      case OP.BINBYTES8: stack.push(reader.take(reader.uint64('BINBYTES8'), 'BINBYTES8').slice()); break;
      case OP.BYTEARRAY8: stack.push(reader.take(reader.uint64('BYTEARRAY8'), 'BYTEARRAY8').slice()); break;

      case OP.EMPTY_DICT: stack.push(new Map()); break;
      case OP.EMPTY_LIST: stack.push([]); break;
      case OP.EMPTY_TUPLE: stack.push(Object.freeze([])); break;
      case OP.EMPTY_SET: stack.push(new Set()); break;
      case OP.DICT: {
        const map = new Map();
        setItems(map, popMark(at), at);
        stack.push(map);
        break;
      }
      case OP.LIST: stack.push(popMark(at)); break;
      case OP.TUPLE: stack.push(Object.freeze(popMark(at))); break;
      case OP.TUPLE1: stack.push(Object.freeze([pop(at)])); break;
      case OP.TUPLE2: {
        const b = pop(at), a = pop(at);
        stack.push(Object.freeze([a, b]));
        break;
      }
      case OP.TUPLE3: {
        const c = pop(at), b = pop(at), a = pop(at);
        stack.push(Object.freeze([a, b, c]));
        break;
      }
      case OP.FROZENSET: stack.push(new Set(popMark(at))); break;
      case OP.SETITEM: {
        const value = pop(at), key = pop(at);
        setItems(top(at), [key, value], at);
        break;
      }
      case OP.SETITEMS: {
        const items = popMark(at);
        setItems(top(at), items, at);
        break;
      }
      case OP.APPEND: {
        const value = pop(at);
        appendItems(top(at), [value], at);
        break;
      }
      case OP.APPENDS: {
        const items = popMark(at);
        appendItems(top(at), items, at);
        break;
      }
      case OP.ADDITEMS: {
        const items = popMark(at);
        const target = top(at);
        if (!(target instanceof Set)) throw new Error(`${where(at)}: ADDITEMS on ${describe(target)}; only sets take items`);
        for (const item of items) target.add(item);
        break;
      }

      case OP.BINPUT: memo.set(reader.byte('BINPUT'), top(at)); break;
      case OP.LONG_BINPUT: memo.set(reader.uint32('LONG_BINPUT'), top(at)); break;
      case OP.PUT: memo.set(Number(reader.line('PUT')), top(at)); break;
      case OP.MEMOIZE: memo.set(memo.size, top(at)); break;
      case OP.BINGET: stack.push(memoGet(reader.byte('BINGET'), at)); break;
      case OP.LONG_BINGET: stack.push(memoGet(reader.uint32('LONG_BINGET'), at)); break;
      case OP.GET: stack.push(memoGet(Number(reader.line('GET')), at)); break;

      case OP.GLOBAL: {
        const module = reader.line('GLOBAL');
        const name = reader.line('GLOBAL');
        pushGlobal(module, name);
        break;
      }
      case OP.STACK_GLOBAL: {
        const name = pop(at), module = pop(at);
        if (typeof module !== 'string' || typeof name !== 'string') throw new Error(`${where(at)}: STACK_GLOBAL needs two strings, got ${describe(module)} and ${describe(name)}`);
        pushGlobal(module, name);
        break;
      }
      case OP.REDUCE: {
        const args = pop(at);
        const func = pop(at);
        stack.push(callGlobal(func, args, 'call', at));
        break;
      }
      case OP.NEWOBJ: {
        const args = pop(at);
        const cls = pop(at);
        stack.push(callGlobal(cls, args, 'construct', at));
        break;
      }
      case OP.NEWOBJ_EX: {
        const kwargs = pop(at), args = pop(at), cls = pop(at);
        if (!(kwargs instanceof Map) || kwargs.size) throw new Error(`${where(at)}: NEWOBJ_EX with keyword arguments (${describe(kwargs)}) is not supported`);
        stack.push(callGlobal(cls, args, 'construct', at));
        break;
      }
      case OP.BUILD: {
        const state = pop(at);
        const target = top(at);
        // OrderedDict state dicts carry `_metadata` (per-module versions) as an attribute; it holds no weights.
        const isAttributeDict = state === null || (state instanceof Map && [...state.keys()].every((k) => typeof k === 'string'));
        if (!(target instanceof Map) || !isAttributeDict) throw new Error(`${where(at)}: BUILD sets ${describe(state)} on ${describe(target)}; webfer's unpickler sets state only on dicts`);
        break;
      }
      case OP.BINPERSID: {
        const pid = pop(at);
        stack.push(persistent(pid, at));
        break;
      }
      case OP.PERSID: stack.push(persistent(reader.line('PERSID'), at)); break;

      default: {
        const name = OPCODE_NAMES.get(op);
        if (name) throw new Error(`${where(at)}: pickle opcode ${name} is not supported by webfer's unpickler (it builds only containers, numbers, strings and tensors)`);
        throw new Error(`${where(at)}: byte 0x${op.toString(16).padStart(2, '0')} is not a pickle opcode: the file is damaged or not a PyTorch checkpoint`);
      }
    }
  }
}
