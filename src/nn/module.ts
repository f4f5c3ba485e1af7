// Module and Parameter: PyTorch's nn.Module contract. A module registers its parameters, buffers
// (running statistics) and submodules by name, in declaration order, so `namedParameters()` and
// `stateDict()` produce PyTorch's dotted names (`features.0.filter.weight`) and shapes.
//
// Ownership: parameters and buffers are untracked from scopes at registration, so a training
// step wrapped in scope() never frees them; the module owns them until dispose().
import { gpu } from '../gpu/index.js';
import { fill } from '../kernels/elementwise.js';
import { DTYPES, Storage, Tensor, checkShape, formatShape, noGrad, shapeSize, untrack, type DType, type Shape } from '../tensor/tensor.js';

/** A tensor that a module trains: requiresGrad, owned by its module (never freed by a scope). */
export class Parameter extends Tensor {
  /** A new parameter of `shape`, filled with `values` (a constant, or host data), zeros by default. */
  constructor(shape: Shape, values: number | ArrayLike<number> = 0) {
    // Checked before the buffer is sized from it (a NaN size reached createBuffer).
    const size = shapeSize(checkShape(shape, 'Parameter'));
    super(new Storage(gpu().pool.acquire(size * 4), size), shape, true);
    untrack(this);
    if (typeof values === 'number') fill(size, values, this.buffer);
    else writeHost(this, values, 'Parameter');
  }

  override toString(): string {
    return `Parameter(${formatShape(this.shape)})`;
  }
}

/** A module-owned tensor that is not trained (running mean / var): untracked, no grad. */
export function buffer(shape: Shape, value = 0): Tensor {
  const size = shapeSize(shape);
  const t = untrack(new Tensor(new Storage(fill(size, value), size), shape));
  return t;
}

/** Host copy of a tensor: what checkpoints store. */
export interface HostTensor {
  shape: readonly number[];
  data: Float32Array;
}

/** Source values for loadStateDict: live tensors (copied on the GPU) or host arrays (uploaded). */
export type StateSource = Map<string, Tensor | HostTensor> | Record<string, Tensor | HostTensor>;

export interface LoadResult {
  missingKeys: string[];
  unexpectedKeys: string[];
}

/** Overwrites t's values with host data of the same size. */
export function writeHost(t: Tensor, values: ArrayLike<number>, what: string): void {
  if (values.length !== t.size) throw new Error(`${what}: ${values.length} values for a tensor of shape ${formatShape(t.shape)} (${t.size} elements)`);
  if (t.size === 0) return;
  gpu().upload(t.buffer, values instanceof Float32Array ? values : Float32Array.from(values));
}

/** Overwrites target's values with source's (same element count), in encoded order on the GPU. */
export function copyInto(target: Tensor, source: Tensor | HostTensor, what: string): void {
  if (source instanceof Tensor) {
    if (source.size !== target.size) throw new Error(`${what}: ${source.size} values for a tensor of shape ${formatShape(target.shape)}`);
    if (source.dtype !== target.dtype) {
      // PyTorch's load_state_dict copies with param.copy_(value), which converts the dtype (a .half() state dict loads).
      const converted = noGrad(() => source.to(target.dtype));
      try {
        copyInto(target, converted, what);
      } finally {
        converted.dispose();
      }
      return;
    }
    if (source.buffer === target.buffer) return; // loading a module's own state: nothing to copy
    gpu().copy(source.buffer, 0, target.buffer, 0, target.size * 4);
  } else {
    writeHost(target, source.data, what);
  }
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyModule = Module<any, any>;

/**
 * Base class of every layer and model. Subclasses register state in their field initialisers:
 *
 *   readonly weight = this.registerParameter('weight', new Parameter([out, in]));
 *   readonly features = this.registerModule('features', new Sequential(...));
 *
 * and implement forward(). `call(x)` is forward(x) (PyTorch's `module(x)`).
 */
export abstract class Module<In extends unknown[] = [Tensor], Out = Tensor> {
  /** Train mode (dropout active, batch statistics); switch with train() / eval(). */
  training = true;
  /**
   * The dtype the GEMM-shaped layers (Conv2d, ConvTranspose2d, Linear) compute in; set with
   * autocast(). Parameters stay float32 whatever it is.
   */
  computeDtype: DType = 'float32';
  private readonly ownParameters = new Map<string, Parameter | null>();
  private readonly ownBuffers = new Map<string, Tensor>();
  private readonly ownModules = new Map<string, AnyModule>();
  /** State-dict keys this module accepts and ignores when loading (e.g. BatchNorm's num_batches_tracked). */
  protected readonly ignoredStateKeys: readonly string[] = [];

  abstract forward(...inputs: In): Out;

  call(...inputs: In): Out {
    return this.forward(...inputs);
  }

  private checkName(name: string, kind: string): void {
    if (name === '' || name.includes('.')) throw new Error(`register${kind}: name "${name}" must be non-empty and contain no "."`);
    if (this.ownParameters.has(name) || this.ownBuffers.has(name) || this.ownModules.has(name)) {
      throw new Error(`register${kind}: "${name}" is already registered on ${this.constructor.name}`);
    }
  }

  /** Registers a parameter (or null for an absent one, like bias=False) and returns it. */
  protected registerParameter<P extends Parameter | null>(name: string, parameter: P): P {
    this.checkName(name, 'Parameter');
    this.ownParameters.set(name, parameter);
    return parameter;
  }

  /** Registers a non-trained state tensor (saved in the state dict) and takes ownership of it. */
  protected registerBuffer(name: string, tensor: Tensor): Tensor {
    this.checkName(name, 'Buffer');
    this.ownBuffers.set(name, untrack(tensor));
    return tensor;
  }

  protected registerModule<M extends AnyModule>(name: string, module: M): M {
    this.checkName(name, 'Module');
    this.ownModules.set(name, module);
    return module;
  }

  // Traversal in PyTorch's order: own state first, then children in registration order.

  namedChildren(): [string, AnyModule][] {
    return [...this.ownModules];
  }

  children(): AnyModule[] {
    return [...this.ownModules.values()];
  }

  /** This module and every descendant, pre-order, each once, with dotted names ('' for this one). */
  namedModules(prefix = ''): [string, AnyModule][] {
    const out: [string, AnyModule][] = [];
    const seen = new Set<AnyModule>();
    const visit = (m: AnyModule, name: string) => {
      if (seen.has(m)) return;
      seen.add(m);
      out.push([name, m]);
      for (const [childName, child] of m.ownModules) visit(child, name ? `${name}.${childName}` : childName);
    };
    visit(this, prefix);
    return out;
  }

  modules(): AnyModule[] {
    return this.namedModules().map(([, m]) => m);
  }

  namedParameters(): [string, Parameter][] {
    const out: [string, Parameter][] = [];
    const seen = new Set<Parameter>();
    for (const [prefix, m] of this.namedModules()) {
      for (const [name, p] of m.ownParameters) {
        if (!p || seen.has(p)) continue;
        seen.add(p);
        out.push([prefix ? `${prefix}.${name}` : name, p]);
      }
    }
    return out;
  }

  parameters(): Parameter[] {
    return this.namedParameters().map(([, p]) => p);
  }

  namedBuffers(): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [prefix, m] of this.namedModules()) {
      for (const [name, b] of m.ownBuffers) out.push([prefix ? `${prefix}.${name}` : name, b]);
    }
    return out;
  }

  buffers(): Tensor[] {
    return this.namedBuffers().map(([, b]) => b);
  }

  /** Number of trainable scalars. */
  numParameters(): number {
    return this.parameters().reduce((n, p) => n + p.size, 0);
  }

  /** Calls fn on every descendant and then this module (PyTorch's Module.apply order). */
  apply(fn: (module: AnyModule) => void): this {
    for (const child of this.ownModules.values()) child.apply(fn);
    fn(this);
    return this;
  }

  /**
   * Mixed precision (torch.autocast's role, held by the modules): with 'float16' every Conv2d,
   * ConvTranspose2d, Linear and MFM inside reads float16 copies of its input and weight (f32
   * accumulation; the bias stays float32) and returns float32 (the ops' computeDtype option), so
   * the layers between run as before and the float32 parameters get float32 gradients. Needs the
   * adapter feature shader-f16; 'float32' turns it off.
   */
  autocast(dtype: DType): this {
    if (!DTYPES.includes(dtype)) throw new Error(`autocast: unknown dtype ${JSON.stringify(dtype)}; use one of ${DTYPES.join(', ')}`);
    return this.apply((module) => (module.computeDtype = dtype));
  }

  /** The ops' computeDtype option for this module's compute dtype (none in float32: the inputs' own). */
  protected get autocastOptions(): { computeDtype?: DType } {
    return this.computeDtype === 'float32' ? {} : { computeDtype: this.computeDtype };
  }

  train(mode = true): this {
    this.training = mode;
    for (const child of this.ownModules.values()) child.train(mode);
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /** Frees every parameter's gradient (PyTorch's zero_grad(set_to_none=True)). */
  zeroGrad(): void {
    for (const p of this.parameters()) {
      p.grad?.dispose();
      p.grad = null;
    }
  }

  /**
   * Name → live tensor for every parameter and buffer (no copies, like PyTorch's state_dict).
   * Per module: its parameters, then its buffers, then its children's entries.
   */
  stateDict(): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    for (const [prefix, m] of this.namedModules()) {
      const key = (name: string) => (prefix ? `${prefix}.${name}` : name);
      for (const [name, p] of m.ownParameters) if (p) out.set(key(name), p);
      for (const [name, b] of m.ownBuffers) out.set(key(name), b);
    }
    return out;
  }

  /** The state dict read back to host arrays, for checkpoints. */
  async exportStateDict(): Promise<Map<string, HostTensor>> {
    const out = new Map<string, HostTensor>();
    for (const [name, t] of this.stateDict()) out.set(name, { shape: [...t.shape], data: await t.toArray() });
    return out;
  }

  /** The state-dict keys loading accepts and skips, with their module prefixes (PyTorch's BatchNorm num_batches_tracked). */
  ignoredStateDictKeys(): Set<string> {
    const ignored = new Set<string>();
    for (const [prefix, m] of this.namedModules()) for (const key of m.ignoredStateKeys) ignored.add(prefix ? `${prefix}.${key}` : key);
    return ignored;
  }

  /**
   * Copies values into this module's parameters and buffers (in place, so optimizers and other
   * holders keep seeing the same tensors). Every key and shape is checked before anything is
   * written. strict (default): missing or unexpected keys are errors; otherwise they are
   * returned. Shape mismatches are always errors.
   */
  loadStateDict(source: StateSource, options: { strict?: boolean } = {}): LoadResult {
    const strict = options.strict ?? true;
    const entries = source instanceof Map ? source : new Map(Object.entries(source));
    const own = this.stateDict();
    const ignored = this.ignoredStateDictKeys();

    const missingKeys = [...own.keys()].filter((k) => !entries.has(k));
    const unexpectedKeys = [...entries.keys()].filter((k) => !own.has(k) && !ignored.has(k));
    const mismatches: string[] = [];
    for (const [name, target] of own) {
      const value = entries.get(name);
      if (!value) continue;
      const shape = value.shape;
      if (shape.length !== target.shape.length || shape.some((d, i) => d !== target.shape[i])) {
        mismatches.push(`  ${name}: checkpoint has ${formatShape(shape)}, this model has ${formatShape(target.shape)}`);
      } else if (!(value instanceof Tensor) && value.data.length !== target.size) {
        mismatches.push(`  ${name}: ${value.data.length} values for shape ${formatShape(shape)}`);
      }
    }
    const problems: string[] = [];
    if (mismatches.length) problems.push(`shape mismatch:\n${mismatches.join('\n')}`);
    if (strict && missingKeys.length) problems.push(`missing keys: ${missingKeys.join(', ')}`);
    if (strict && unexpectedKeys.length) problems.push(`unexpected keys: ${unexpectedKeys.join(', ')}`);
    if (problems.length) {
      const hint = mismatches.length
        ? 'check that the checkpoint was saved from the same architecture and configuration (channels, classes)'
        : 'pass { strict: false } to load a partial state dict';
      throw new Error(`loadStateDict(${this.constructor.name}): ${problems.join('; ')}. ${hint}.`);
    }
    for (const [name, target] of own) {
      const value = entries.get(name);
      if (value) copyInto(target, value, `loadStateDict ${name}`);
    }
    return { missingKeys, unexpectedKeys };
  }

  /** Frees every parameter (with its gradient) and buffer of this module and its descendants. */
  dispose(): void {
    for (const p of this.parameters()) p.dispose();
    for (const b of this.buffers()) b.dispose();
  }
}
