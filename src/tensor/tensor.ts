// Tensor: a shape over reference-counted f32 storage on the GPU, plus the autograd fields.
//
// Memory discipline: storage is freed when its last holder lets go. Holders are tensors (views
// share storage) and autograd nodes that saved a tensor for backward. So disposing a tensor that
// a graph still needs is safe: the graph keeps the bytes until backward or release. Every tensor
// made inside scope(fn) is disposed when fn returns, except the ones it returns.
import { deviceGeneration, gpu } from '../gpu/index.js';
import { accumulate, binary, fill } from '../kernels/elementwise.js';
import { addHalf, castToFloat, castToHalf } from '../kernels/cast.js';
import { bufferBytes } from '../kernels/launch.js';

export type Shape = readonly number[];

/**
 * Element types, PyTorch's names. float16 (IEEE binary16, two per 32-bit word) is a storage type
 * for mixed precision: the ops of F take it (f32 arithmetic, where the adapter has shader-f16;
 * src/nn/functional/half.ts); a float32 kernel launched directly takes float32 only (`buffer`).
 */
export type DType = 'float32' | 'float16';
export const DTYPES: readonly DType[] = ['float32', 'float16'];

export class Storage {
  private holders = 1;
  /** This storage's values in another dtype (castCached), kept until the buffer is next written or freed. */
  private castCopy: Storage | undefined;
  /** The device this storage was allocated on (deviceGeneration() at creation). */
  readonly generation = deviceGeneration();
  constructor(
    public buffer: GPUBuffer | undefined,
    readonly elements: number,
    readonly dtype: DType = 'float32',
  ) {}
  get freed(): boolean {
    return this.buffer === undefined;
  }
  retain(): void {
    if (!this.buffer) throw new Error('retain: the storage was already freed');
    this.holders++;
  }
  release(): void {
    if (!this.buffer) return;
    if (--this.holders === 0) {
      this.dropCastCopy();
      const ctx = gpu();
      // A buffer of an earlier device is not the current pool's to take back; it goes with its device.
      if (ctx.lost === undefined && this.generation === deviceGeneration()) ctx.pool.release(this.buffer);
      this.buffer = undefined;
    }
  }

  /**
   * A storage of this one's values as `dtype`, made by `cast` at the first call and handed out again
   * (one more holder per call) until this buffer is next written — by any kernel, copy or upload: the
   * runtime's write watch — or freed. Then the copy is let go (graphs that saved it keep theirs).
   */
  castTo(dtype: DType, cast: () => GPUBuffer): Storage {
    if (this.castCopy?.dtype !== dtype || this.castCopy.freed) {
      this.dropCastCopy();
      this.castCopy = new Storage(cast(), this.elements, dtype);
      const copy = this.castCopy;
      gpu().watchWrites(this.buffer!, () => {
        if (this.castCopy === copy) this.dropCastCopy();
      });
    }
    this.castCopy.retain();
    return this.castCopy;
  }

  private dropCastCopy(): void {
    const copy = this.castCopy;
    if (!copy) return;
    this.castCopy = undefined;
    if (this.buffer && gpu().lost === undefined) gpu().unwatchWrites(this.buffer);
    copy.release();
  }
}

/** One recorded op: how to turn the gradient of its output into gradients of its inputs. */
export interface GradNode {
  name: string;
  inputs: Tensor[];
  /** Returns one gradient per input (undefined where the input needs none). */
  backward: (grad: Tensor) => (Tensor | undefined)[];
  /** Tensors the backward closure reads; their storage is held until release(). */
  saved: Tensor[];
  released: boolean;
}

let nextId = 1;
let liveTensors = 0;


export function shapeSize(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function formatShape(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}

export function checkShape(shape: Shape, what = 'shape'): number[] {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new Error(`${what} ${formatShape(shape)}: every dimension must be a non-negative integer`);
  }
  return [...shape];
}

/**
 * Refuses an option `op` does not take, so that none is ignored silently: PyTorch's snake_case
 * spellings (weight_decay) and options webfer does not support (ignore_index, pos_weight, ...).
 */
export function checkOptionNames(op: string, options: object, known: readonly string[]): void {
  for (const name of Object.keys(options)) {
    if (known.includes(name)) continue;
    const camel = name.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
    const hint = camel !== name && known.includes(camel) ? `; webfer spells it ${camel}` : '; webfer does not support it: leave it out';
    throw new Error(`${op}: unknown option "${name}" (it takes ${known.join(', ')})${hint}`);
  }
}

export class Tensor {
  readonly id = nextId++;
  readonly shape: readonly number[];
  readonly size: number;
  requiresGrad: boolean;
  grad: Tensor | null = null;
  /** The op that made this tensor (PyTorch's grad_fn); null for leaves. */
  gradFn: GradNode | null = null;
  /** Unreleased graph nodes that take this tensor as an input. */
  consumers = 0;
  private disposed = false;

  constructor(
    readonly storage: Storage,
    shape: Shape,
    requiresGrad = false,
  ) {
    this.shape = Object.freeze(checkShape(shape));
    this.size = shapeSize(shape);
    if (this.size > storage.elements) throw new Error(`shape ${formatShape(shape)} needs ${this.size} elements, storage has ${storage.elements}`);
    this.requiresGrad = requiresGrad;
    liveTensors++;
    scopes[scopes.length - 1]?.add(this);
  }

  /** Wraps a freshly allocated buffer (the caller hands over ownership). */
  static fromBuffer(buffer: GPUBuffer, shape: Shape, requiresGrad = false, dtype: DType = 'float32'): Tensor {
    return new Tensor(new Storage(buffer, shapeSize(shape), dtype), shape, requiresGrad);
  }

  get dtype(): DType {
    return this.storage.dtype;
  }

  /**
   * The storage's float32 buffer, for launching an op: checks that it belongs to the current device,
   * and that the tensor is float32 (the ops that take float16 ask for bufferOf('float16')).
   */
  get buffer(): GPUBuffer {
    if (this.storage.dtype !== 'float32') {
      throw new Error(
        `this op takes float32 tensors, got a float16 tensor ${formatShape(this.shape)}: cast it with .float() first ` +
          '(the ops of F take float16 tensors; a float32 kernel launched directly does not)',
      );
    }
    return this.storageBuffer();
  }

  /** The storage's buffer of a tensor that must hold `dtype` elements. */
  bufferOf(dtype: DType): GPUBuffer {
    if (this.storage.dtype !== dtype) throw new Error(`expected a ${dtype} tensor, got a ${this.storage.dtype} tensor ${formatShape(this.shape)}`);
    return this.storageBuffer();
  }

  private storageBuffer(): GPUBuffer {
    this.checkLive();
    if (this.storage.generation !== deviceGeneration()) throw new Error(staleDeviceMessage(this.shape, this.storage.generation));
    const buffer = this.storage.buffer;
    if (!buffer) throw new Error(`tensor ${formatShape(this.shape)} was disposed and its storage freed`);
    return buffer;
  }

  /**
   * Refuses a disposed tensor, even where its storage lives on in a view or a graph: only the backward
   * rules read what a graph saved (disposing a tensor a graph still needs is allowed).
   */
  private checkLive(): void {
    if (this.disposed && backwardDepth === 0) {
      throw new Error(`tensor ${formatShape(this.shape)} was disposed (by dispose() or the scope() that made it); keep it alive where it is still used, or return it from the scope`);
    }
  }

  get rank(): number {
    return this.shape.length;
  }

  get isLeaf(): boolean {
    return this.gradFn === null;
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  /** Releases this tensor's hold on its storage (and its gradient's). Idempotent. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    liveTensors--;
    this.storage.release();
    // Nothing downstream can reach this node any more: free what it saved for backward.
    if (this.consumers === 0 && this.gradFn) releaseNode(this.gradFn);
    if (this.grad) {
      this.grad.dispose();
      this.grad = null;
    }
  }

  /** Copies the values back to the host (float16 values widened to float32, exactly). */
  async toArray(): Promise<Float32Array> {
    if (this.disposed) throw new Error(`toArray: tensor ${formatShape(this.shape)} was disposed`);
    if (this.dtype === 'float32') return new Float32Array(await gpu().read(this.buffer, this.size * 4));
    const widened = castToFloat(this.bufferOf('float16'), this.size);
    try {
      return new Float32Array(await gpu().read(widened, this.size * 4));
    } finally {
      gpu().pool.release(widened);
    }
  }

  /** The single value of a one-element tensor. */
  async item(): Promise<number> {
    if (this.size !== 1) throw new Error(`item: expected a tensor with one element, got shape ${formatShape(this.shape)}`);
    return (await this.toArray())[0];
  }

  /** Same storage, new shape (no copy); one dimension may be -1. */
  reshape(shape: Shape): Tensor {
    this.checkLive();
    const resolved = resolveShape(shape, this.size);
    const view = new Tensor(this.storage, resolved);
    this.storage.retain();
    const input = this;
    return record('reshape', [input], view, [], (g) => [g.reshape(input.shape)]);
  }

  /**
   * This tensor's values as `dtype` (PyTorch's x.to(dtype)): itself when it already is, else a copy,
   * float16 rounded to nearest even (±inf past 65504, as torch's .half()). The gradient is cast back.
   */
  to(dtype: DType): Tensor {
    if (!DTYPES.includes(dtype)) throw new Error(`to: unknown dtype ${JSON.stringify(dtype)}; use one of ${DTYPES.join(', ')}`);
    if (dtype === this.dtype) return this;
    const source = this.dtype;
    return record(`to.${dtype}`, [this], Tensor.fromBuffer(this.castBuffer(dtype), this.shape, false, dtype), [], (g) => [g.to(source)]);
  }

  /** A new buffer of this tensor's values in the other dtype (the exact cast kernels). */
  private castBuffer(dtype: DType): GPUBuffer {
    return dtype === 'float16' ? castToHalf(this.buffer, this.size) : castToFloat(this.bufferOf('float16'), this.size);
  }

  /**
   * to(dtype) for a kernel to read, outside the graph, made once and reused until this tensor's storage
   * is written (optimizer step, loadStateDict, any kernel or copy into it) or freed: autocast's float16
   * copies of the float32 master weights. The caller disposes the handle it gets (the copy stays cached).
   */
  castCached(dtype: DType): Tensor {
    if (dtype === this.dtype) return this.detach();
    return new Tensor(this.storage.castTo(dtype, () => this.castBuffer(dtype)), this.shape);
  }

  /** to('float16'). */
  half(): Tensor {
    return this.to('float16');
  }

  /** to('float32'). */
  float(): Tensor {
    return this.to('float32');
  }

  /** A new tensor over the same storage, cut off from the graph. */
  detach(): Tensor {
    this.checkLive();
    this.storage.retain();
    return new Tensor(this.storage, this.shape);
  }

  /**
   * Reverse-mode differentiation from this tensor. Visits every node once in reverse topological
   * order, sums gradients where a tensor feeds several ops, accumulates into leaves' .grad, and
   * releases the graph (saved tensors) unless retainGraph.
   */
  backward(gradient?: Tensor, options: { retainGraph?: boolean } = {}): void {
    runBackward(this, gradient, options.retainGraph ?? false);
  }

  toString(): string {
    return `Tensor(${formatShape(this.shape)}${this.requiresGrad ? ', requiresGrad' : ''}${this.gradFn ? `, gradFn=${this.gradFn.name}` : ''})`;
  }
}

function staleDeviceMessage(shape: Shape, generation: number): string {
  return (
    `tensor ${formatShape(shape)} is from an earlier init(): it was created on device #${generation}, the current device is #${deviceGeneration()}; ` +
    'recreate it (or keep one init() for the process)'
  );
}

export function liveTensorCount(): number {
  return liveTensors;
}

export function resolveShape(shape: Shape, size: number): number[] {
  if (!Array.isArray(shape)) throw new Error(`reshape: the shape must be an array of integers such as [2, -1], got ${typeof shape}`);
  const inferred = shape.indexOf(-1);
  if (inferred !== shape.lastIndexOf(-1)) throw new Error(`reshape ${formatShape(shape)}: only one dimension can be -1`);
  const known = shape.reduce((a, d, i) => (i === inferred ? a : a * d), 1);
  const resolved = [...shape];
  if (inferred >= 0) {
    if (known === 0 || size % known !== 0) throw new Error(`reshape: cannot infer the -1 in ${formatShape(shape)} for ${size} elements`);
    resolved[inferred] = size / known;
  }
  if (shapeSize(resolved) !== size) throw new Error(`reshape: shape ${formatShape(shape)} does not hold ${size} elements`);
  return checkShape(resolved, 'reshape');
}

let gradEnabled = true;
/** > 0 while backward rules run: they may read saved tensors their owners have disposed. */
let backwardDepth = 0;

export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Runs fn without recording ops for autograd (inference, optimizer updates). */
export function noGrad<T>(fn: () => T): T {
  const previous = gradEnabled;
  gradEnabled = false;
  try {
    const result = fn();
    if (result instanceof Promise) {
      return result.finally(() => (gradEnabled = previous)) as T;
    }
    gradEnabled = previous;
    return result;
  } catch (error) {
    gradEnabled = previous;
    throw error;
  }
}

/**
 * Attaches a backward rule to `output` if grad mode is on and an input requires grad. `saved`
 * lists the tensors the rule reads; their storage is held until the graph is released, so the
 * caller may dispose them freely. Returns output.
 */
export function record(name: string, inputs: Tensor[], output: Tensor, saved: Tensor[], backward: GradNode['backward']): Tensor {
  if (!gradEnabled || !inputs.some((t) => t.requiresGrad)) return output;
  for (const t of saved) t.storage.retain();
  for (const t of inputs) t.consumers++;
  output.requiresGrad = true;
  output.gradFn = { name, inputs, backward, saved, released: false };
  return output;
}

/**
 * Frees what a node saved for backward, then (with `upstream`) walks up: an input that was
 * disposed and has no other consumer can never be differentiated through again, so its node goes
 * too. Backward releases node by node without the walk: the nodes above are still to be run.
 */
function releaseNode(first: GradNode, upstream = true): void {
  const pending = [first];
  while (pending.length) {
    const node = pending.pop()!;
    if (node.released) continue;
    node.released = true;
    for (const t of node.saved) t.storage.release();
    node.saved = [];
    for (const input of node.inputs) {
      input.consumers--;
      if (upstream && input.consumers === 0 && input.isDisposed && input.gradFn) pending.push(input.gradFn);
    }
  }
}

function topologicalOrder(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const visited = new Set<Tensor>();
  // Iterative DFS: deep networks would overflow the call stack with recursion.
  const stack: [Tensor, boolean][] = [[root, false]];
  while (stack.length) {
    const [t, expanded] = stack.pop()!;
    if (expanded) {
      order.push(t);
      continue;
    }
    if (visited.has(t)) continue;
    visited.add(t);
    stack.push([t, true]);
    for (const input of t.gradFn?.inputs ?? []) if (input.requiresGrad && !visited.has(input)) stack.push([input, false]);
  }
  return order.reverse();
}

function runBackward(root: Tensor, gradient: Tensor | undefined, retainGraph: boolean): void {
  if (root.isDisposed) throw new Error(`backward: tensor ${formatShape(root.shape)} was disposed (and its graph with it); call backward before disposing it`);
  if (gradient !== undefined && !(gradient instanceof Tensor)) throw new Error(`backward: the gradient must be a Tensor of the output's shape ${formatShape(root.shape)}, got ${Array.isArray(gradient) ? 'an array' : typeof gradient}`);
  if (!root.requiresGrad) throw new Error('backward: this tensor does not require grad (no input had requiresGrad: true, or it was made under noGrad)');
  if (!gradient && root.size !== 1) throw new Error(`backward: a gradient is needed for a non-scalar output of shape ${formatShape(root.shape)}`);
  // The shape itself, not only the size (PyTorch: "Mismatch in shape: grad_output[0] has a shape of ...").
  if (gradient && !(gradient.rank === root.rank && gradient.shape.every((d, i) => d === root.shape[i]))) {
    throw new Error(`backward: gradient shape ${formatShape(gradient.shape)} does not match output ${formatShape(root.shape)}; reshape the gradient to the output's shape`);
  }
  const order = topologicalOrder(root);
  const grads = new Map<Tensor, Tensor>();
  scope(() => {
    noGrad(() => {
      // A gradient of another dtype is cast to the output's, as PyTorch's validate_outputs does.
      const seed = gradient ? gradient.detach().to(root.dtype) : Tensor.fromBuffer(fill(1, 1), root.shape).to(root.dtype);
      grads.set(root, seed);
      for (const t of order) {
        const g = grads.get(t);
        const node = t.gradFn;
        if (!g) {
          // No gradient reached this node (a rule returned none): release it all the same.
          if (node && !retainGraph) releaseNode(node, false);
          continue;
        }
        if (!node) {
          accumulateLeafGrad(t, g);
          continue;
        }
        if (node.released) throw new Error(`backward: the graph through ${node.name} was already released; pass { retainGraph: true } to the first backward to run it twice`);
        backwardDepth++;
        let inputGrads: (Tensor | undefined)[];
        try {
          inputGrads = node.backward(g);
        } finally {
          backwardDepth--;
        }
        node.inputs.forEach((input, i) => {
          const ig = inputGrads[i];
          if (!ig || !input.requiresGrad) return;
          if (shapeSize(ig.shape) !== input.size) throw new Error(`backward of ${node.name}: gradient ${formatShape(ig.shape)} for input ${i} of shape ${formatShape(input.shape)}`);
          if (ig.dtype !== input.dtype) throw new Error(`backward of ${node.name}: a ${ig.dtype} gradient for ${input.dtype} input ${i}`);
          const previous = grads.get(input);
          if (previous) {
            // A fresh sum, not an in-place add: the two gradients may share storage (x + x).
            grads.set(input, sumOfGradients(previous, ig, input.shape));
          } else {
            grads.set(input, ig);
          }
        });
        if (!retainGraph) releaseNode(node, false);
      }
    });
  });
}

/** a + b of two gradients of one tensor, in their dtype (float16 sums are rounded once). */
function sumOfGradients(a: Tensor, b: Tensor, shape: Shape): Tensor {
  const size = shapeSize(shape);
  if (a.dtype === 'float16') return Tensor.fromBuffer(addHalf(a.bufferOf('float16'), b.bufferOf('float16'), size), shape, false, 'float16');
  return Tensor.fromBuffer(binary('add', 'a + b', a.buffer, [size], b.buffer, [size], [size]), shape);
}

function accumulateLeafGrad(leaf: Tensor, g: Tensor): void {
  if (g.dtype !== leaf.dtype) throw new Error(`backward: a ${g.dtype} gradient reached a ${leaf.dtype} tensor ${formatShape(leaf.shape)}`);
  if (leaf.grad && leaf.dtype === 'float16') {
    const sum = sumOfGradients(leaf.grad, g, leaf.shape);
    leaf.grad.dispose();
    leaf.grad = untrack(sum);
    return;
  }
  if (leaf.grad) {
    accumulate(leaf.grad.buffer, g.buffer, leaf.size);
    return;
  }
  // The leaf owns its gradient: a fresh copy that outlives the backward scope.
  const bytes = bufferBytes(leaf.size, leaf.dtype === 'float16' ? 'f16' : 'f32');
  const grad = Tensor.fromBuffer(gpu().pool.acquire(bytes), leaf.shape, false, leaf.dtype);
  untrack(grad);
  gpu().copy(g.bufferOf(leaf.dtype), 0, grad.bufferOf(leaf.dtype), 0, bytes);
  leaf.grad = grad;
}

const scopes: Set<Tensor>[] = [];

function collectTensors(value: unknown, into: Set<Tensor>, seen = new Set<unknown>()): void {
  if (value instanceof Tensor) {
    into.add(value);
    return;
  }
  if (value === null || typeof value !== 'object' || seen.has(value)) return;
  seen.add(value);
  if (value instanceof Map) {
    for (const v of value.values()) collectTensors(v, into, seen);
  } else if (Array.isArray(value)) {
    for (const v of value) collectTensors(v, into, seen);
  } else if (Object.getPrototypeOf(value) === Object.prototype) {
    for (const v of Object.values(value)) collectTensors(v, into, seen);
  }
}

function closeScope(tracked: Set<Tensor>, result: unknown): void {
  const kept = new Set<Tensor>();
  collectTensors(result, kept);
  scopes.pop();
  const parent = scopes[scopes.length - 1];
  for (const t of tracked) {
    if (kept.has(t)) parent?.add(t);
    else t.dispose();
  }
}

/**
 * Runs fn and disposes every tensor created inside it, except those in its result (tensors,
 * or arrays / plain objects / Maps holding them), which move to the enclosing scope. Works with
 * async fn too; then no other tensor-making work should interleave with it.
 */
export function scope<T>(fn: () => T): T {
  const tracked = new Set<Tensor>();
  scopes.push(tracked);
  let result: T;
  try {
    result = fn();
  } catch (error) {
    closeScope(tracked, undefined);
    throw error;
  }
  if (result instanceof Promise) {
    return result.then(
      (value) => {
        closeScope(tracked, value);
        return value;
      },
      (error) => {
        closeScope(tracked, undefined);
        throw error;
      },
    ) as T;
  }
  closeScope(tracked, result);
  return result;
}

/** Removes a tensor from every open scope: the caller now owns it (parameters, optimizer state). */
export function untrack<T extends Tensor>(t: T): T {
  for (const s of scopes) s.delete(t);
  return t;
}
