// Optimizer base: parameter groups with their own hyper-parameters, per-parameter state tensors
// (untracked, owned by the optimizer), state dicts for resuming. Subclasses supply the update:
// one in-place GPU dispatch per parameter (src/kernels/optim.ts).
import { gpu } from '../gpu/index.js';
import { fill } from '../kernels/elementwise.js';
import type { SkipFlag } from '../kernels/optim.js';
import { Storage, Tensor, formatShape, noGrad, untrack } from '../tensor/tensor.js';
import { copyInto, type HostTensor } from '../nn/module.js';
import { checkOptionNames } from '../tensor/tensor.js';

/** Hyper-parameters a group may carry: numbers, flags, or pairs (Adam's betas). */
export type Hyper = Record<string, number | boolean | readonly number[]>;

/** A group of parameters sharing hyper-parameters; `initialLr` is set by LR schedules. */
export type ParamGroup<H extends Hyper> = H & { params: Tensor[]; initialLr?: number };

/** What an optimizer is given: a list of tensors, or groups overriding some defaults. */
export type ParamsInput<H extends Hyper> = Iterable<Tensor> | (Partial<H> & { params: Iterable<Tensor> })[];

/** Per-parameter state: the number of updates applied and named state tensors. */
export interface ParamState<T> {
  step: number;
  buffers: Record<string, T>;
}

/**
 * The optimizer's state in PyTorch's shape: groups of hyper-parameters listing their parameters
 * by flat index (order of the groups, then of params within each), and state per index.
 * T is Tensor for stateDict() (live tensors) and HostTensor for exportState() (host copies).
 */
export interface OptimizerState<T> {
  paramGroups: (Record<string, number | boolean | readonly number[]> & { params: number[] })[];
  state: Record<number, ParamState<T>>;
}

function isGroupList<H extends Hyper>(input: ParamsInput<H>): input is (Partial<H> & { params: Iterable<Tensor> })[] {
  return Array.isArray(input) && input.length > 0 && !(input[0] instanceof Tensor);
}

/** A state tensor owned by the optimizer (never freed by a scope). */
export function stateTensor(shape: readonly number[]): Tensor {
  const size = shape.reduce((a, b) => a * b, 1);
  return untrack(new Tensor(new Storage(gpu().pool.acquire(size * 4), size), shape));
}

/** Any optimizer, whatever its hyper-parameters (containers such as checkpoint part lists). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyOptimizer = Optimizer<any>;

export abstract class Optimizer<H extends Hyper> {
  readonly paramGroups: ParamGroup<H>[];
  protected readonly state = new Map<Tensor, ParamState<Tensor>>();
  /** The parameters whose state the last stepUnlessFlagged only counted on (one array, reused step after step). */
  private readonly countedUnlessFlagged: Tensor[] = [];

  constructor(
    params: ParamsInput<H>,
    readonly defaults: H,
  ) {
    this.paramGroups = [];
    const groups = isGroupList(params) ? params : [{ params }];
    for (const group of groups) this.addParamGroup(group as Partial<H> & { params: Iterable<Tensor> });
    // PyTorch: "optimizer got an empty parameter list".
    if (this.paramGroups.every((g) => g.params.length === 0)) throw new Error(`${this.constructor.name}: got an empty parameter list; pass model.parameters() (with at least one parameter)`);
  }

  /** Adds a group (e.g. layers unfrozen for fine-tuning); unset hyper-parameters take the defaults. */
  addParamGroup(group: Partial<H> & { params: Iterable<Tensor> }): void {
    const index = this.paramGroups.length;
    checkOptionNames(`${this.constructor.name} group ${index}`, group, ['params', 'initialLr', ...Object.keys(this.defaults)]);
    const list = [...group.params];
    const seen = new Set(this.paramGroups.flatMap((g) => g.params));
    for (const p of list) {
      if (!(p instanceof Tensor)) throw new Error(`${this.constructor.name}: group ${index} holds something that is not a tensor`);
      if (seen.has(p)) throw new Error(`${this.constructor.name}: a parameter ${formatShape(p.shape)} appears in more than one group (or twice in one)`);
      seen.add(p);
    }
    const given = Object.fromEntries(Object.entries(group).filter(([, value]) => value !== undefined));
    const merged = { ...this.defaults, ...given, params: list } as ParamGroup<H>;
    this.validate(merged, index);
    this.paramGroups.push(merged);
  }

  /** Throws if a group's hyper-parameters are invalid (PyTorch's constructor checks). */
  protected abstract validate(group: ParamGroup<H>, index: number): void;

  /** Applies one update to p in place (skipped by the GPU when `skip` is set), creating its state on the first step. */
  protected abstract update(p: Tensor, grad: Tensor, group: ParamGroup<H>, state: ParamState<Tensor> | undefined, skip?: SkipFlag): ParamState<Tensor>;

  /** The state tensor names this optimizer keeps per parameter (for checking loaded state). */
  protected abstract readonly stateNames: readonly string[];

  /** One update of every parameter that has a gradient (parameters without one are skipped). */
  step(): void {
    this.updateAll(undefined);
  }

  /**
   * step() that the GPU skips as a whole, every parameter's update, when the flag word is nonzero
   * (a loss scaler's inf / NaN check, not yet known on the host). The host's side of the step (step
   * counts, state created by a first step) is done as if it ran; the function returned undoes it,
   * to be called once the flag is known to have been set. No other step may come in between.
   */
  stepUnlessFlagged(skip: SkipFlag): () => void {
    // A step that only counts (every state tensor there already: the steady state) is undone by
    // counting back, with no copy; only a step that creates state (a first one) snapshots it.
    const counted = this.countedUnlessFlagged;
    counted.length = 0;
    let created: Map<Tensor, ParamState<Tensor> | undefined> | undefined;
    for (const group of this.paramGroups) {
      for (const p of group.params) {
        if (!p.grad) continue;
        const s = this.state.get(p);
        if (s && this.stateComplete(s, group)) counted.push(p);
        else (created ??= new Map()).set(p, s && { step: s.step, buffers: { ...s.buffers } });
      }
    }
    this.updateAll(skip);
    return () => {
      for (const p of counted) this.state.get(p)!.step--;
      for (const [p, previous] of created ?? []) {
        const now = this.state.get(p);
        for (const [name, t] of Object.entries(now?.buffers ?? {})) if (previous?.buffers[name] !== t) t.dispose();
        if (!previous) {
          this.state.delete(p);
          continue;
        }
        // A first step replaces a partial state's buffers (Adam disposes a lone moment): those are gone.
        const kept = Object.entries(previous.buffers).filter(([, t]) => !t.isDisposed);
        this.state.set(p, { step: previous.step, buffers: Object.fromEntries(kept) });
      }
    };
  }

  /** Whether a step leaves this state's tensors as they are and only counts: once every state tensor exists. */
  protected stateComplete(state: ParamState<Tensor>, _group: ParamGroup<H>): boolean {
    for (const name of this.stateNames) if (!state.buffers[name]) return false;
    return true;
  }

  private updateAll(skip: SkipFlag | undefined): void {
    noGrad(() => {
      for (const group of this.paramGroups) {
        for (const p of group.params) {
          const grad = p.grad;
          if (!grad) continue;
          if (grad.size !== p.size) throw new Error(`${this.constructor.name}.step: gradient ${formatShape(grad.shape)} does not match parameter ${formatShape(p.shape)}`);
          this.state.set(p, this.update(p, grad, group, this.state.get(p), skip));
        }
      }
    });
  }

  /** Frees every parameter's gradient (setToNone, the default) or zeroes it in place. */
  zeroGrad(setToNone = true): void {
    for (const group of this.paramGroups) {
      for (const p of group.params) {
        if (!p.grad) continue;
        if (setToNone) {
          p.grad.dispose();
          p.grad = null;
        } else {
          fill(p.grad.size, 0, p.grad.buffer);
        }
      }
    }
  }

  private flatParams(): Tensor[] {
    return this.paramGroups.flatMap((g) => g.params);
  }

  private groupsState(): OptimizerState<never>['paramGroups'] {
    let next = 0;
    return this.paramGroups.map((group) => {
      const { params, ...hyper } = group;
      return { ...(hyper as Hyper), params: params.map(() => next++) };
    });
  }

  /** Live state (no copies), like torch's optimizer.state_dict(). */
  stateDict(): OptimizerState<Tensor> {
    const state: Record<number, ParamState<Tensor>> = {};
    this.flatParams().forEach((p, index) => {
      const s = this.state.get(p);
      if (s) state[index] = { step: s.step, buffers: { ...s.buffers } };
    });
    return { paramGroups: this.groupsState(), state };
  }

  /** The state read back to host arrays, for checkpoints (JSON hyper-parameters + f32 data). */
  async exportState(): Promise<OptimizerState<HostTensor>> {
    const live = this.stateDict();
    const state: Record<number, ParamState<HostTensor>> = {};
    for (const [index, s] of Object.entries(live.state)) {
      const buffers: Record<string, HostTensor> = {};
      for (const [name, t] of Object.entries(s.buffers)) buffers[name] = { shape: [...t.shape], data: await t.toArray() };
      state[Number(index)] = { step: s.step, buffers };
    }
    return { paramGroups: live.paramGroups, state };
  }

  /**
   * Restores hyper-parameters and per-parameter state (copied, so the source may be freed).
   * The groups must match this optimizer's in number and size, and every state tensor must have
   * its parameter's shape.
   */
  loadStateDict(source: OptimizerState<Tensor | HostTensor>): void {
    const name = this.constructor.name;
    if (source.paramGroups.length !== this.paramGroups.length) {
      throw new Error(`${name}.loadStateDict: the saved state has ${source.paramGroups.length} parameter groups, this optimizer ${this.paramGroups.length}; build the optimizer with the same groups as the run that saved it`);
    }
    source.paramGroups.forEach((g, i) => {
      if (g.params.length !== this.paramGroups[i].params.length) {
        throw new Error(`${name}.loadStateDict: group ${i} has ${g.params.length} parameters in the saved state, ${this.paramGroups[i].params.length} here`);
      }
    });
    const params = this.flatParams();
    const indexOf = new Map<number, Tensor>();
    source.paramGroups.forEach((g, i) => g.params.forEach((savedIndex, j) => indexOf.set(savedIndex, this.paramGroups[i].params[j])));
    for (const [index, s] of Object.entries(source.state)) {
      const p = indexOf.get(Number(index));
      if (!p) throw new Error(`${name}.loadStateDict: state for parameter ${index}, but the groups list ${params.length} parameters`);
      for (const [key, t] of Object.entries(s.buffers)) {
        if (!this.stateNames.includes(key)) throw new Error(`${name}.loadStateDict: parameter ${index} has state "${key}", expected only ${this.stateNames.join(', ') || 'none'}`);
        const count = t instanceof Tensor ? t.size : t.data.length;
        if (count !== p.size) throw new Error(`${name}.loadStateDict: "${key}" of parameter ${index} has shape ${formatShape(t.shape)}, the parameter ${formatShape(p.shape)}`);
      }
    }
    // Everything checked: now replace.
    source.paramGroups.forEach((g, i) => {
      const { params: _params, ...hyper } = g;
      Object.assign(this.paramGroups[i], hyper);
    });
    this.disposeState();
    for (const [index, s] of Object.entries(source.state)) {
      const p = indexOf.get(Number(index))!;
      const buffers: Record<string, Tensor> = {};
      for (const [key, value] of Object.entries(s.buffers)) {
        const t = stateTensor(p.shape);
        copyInto(t, value, `${name}.loadStateDict ${key}`);
        buffers[key] = t;
      }
      this.state.set(p, { step: s.step, buffers });
    }
  }

  /** loadStateDict for host state from exportState() (a checkpoint). */
  importState(source: OptimizerState<HostTensor>): void {
    this.loadStateDict(source);
  }

  private disposeState(): void {
    for (const s of this.state.values()) for (const t of Object.values(s.buffers)) t.dispose();
    this.state.clear();
  }

  /** Frees the optimizer's state tensors (not the parameters). */
  dispose(): void {
    this.disposeState();
  }
}
