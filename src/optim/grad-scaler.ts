// Dynamic loss scaling for float16 training (torch.amp.GradScaler): the loss is multiplied by
// `scale` before backward so that small gradients survive float16's range (smallest subnormal
// 2^-24); before the optimizer step the gradients are divided by it again and checked. A step
// whose gradients hold inf or NaN is skipped and the scale halved; after `growthInterval` steps
// without one the scale doubles. Same defaults and update rule as PyTorch's.
// Two ways to run a step (the kernel policy's gradUnscale): perTensor checks on the host (one read
// back, the GPU drained mid-step); onDevice keeps the scale on the GPU, where the optimizer's kernels
// skip a step with a non-finite gradient themselves, and brings the outcome back without a wait or
// a submit of its own: the read-back rides the next submit (the step's loss read, a sync).
import { gpu } from '../gpu/index.js';
import type { ReadAfterSubmit } from '../gpu/runtime.js';
import { fill } from '../kernels/elementwise.js';
import { SCALER_STATE_BYTES, SCALER_WORDS, unscaleGradient, unscaleGradientsBatched, updateLossScale } from '../kernels/optim.js';
import * as F from '../nn/functional/index.js';
import { checkOptionNames, Storage, Tensor, untrack } from '../tensor/tensor.js';
import type { AnyOptimizer } from './optimizer.js';

export interface GradScalerOptions {
  /** Default 2^16. */
  initScale?: number;
  growthFactor?: number;
  backoffFactor?: number;
  /** Steps without inf / NaN gradients before the scale grows; default 2000. */
  growthInterval?: number;
}

export interface GradScalerState {
  scale: number;
  growthTracker: number;
  /** Steps skipped for inf / NaN gradients since the scaler was made. */
  skippedSteps: number;
}

/** A power of two whose inverse is a normal float32 too: scaling by it, and by its inverse, is exact. */
function exactScale(x: number): boolean {
  const exponent = Math.log2(x);
  return Number.isInteger(exponent) && Math.abs(exponent) <= 126;
}

/** An on-device step whose outcome the host has not read yet: its state words, and how to undo the optimizer's bookkeeping if it was skipped. */
interface PendingStep {
  words: ReadAfterSubmit;
  undo: () => void;
}

export class GradScaler {
  private scaleValue: number;
  private growthTracker = 0;
  private skipped = 0;
  /** The state on the GPU (SCALER_WORDS), made by the first onDevice step; `scale` views its first word. current: it, not the host's copy, is the latest. */
  private onDevice?: { buffer: GPUBuffer; scale: Tensor; current: boolean };
  private pending?: PendingStep;
  private settling?: Promise<void>;
  /** Optimizers whose gradients unscale() divided since their last step(), with what it found (finite or not). */
  private readonly unscaled = new WeakMap<AnyOptimizer, boolean>();
  readonly growthFactor: number;
  readonly backoffFactor: number;
  readonly growthInterval: number;

  constructor(options: GradScalerOptions = {}) {
    // PyTorch's enabled=False has no counterpart (leave the scaler out): refused, not ignored.
    checkOptionNames('GradScaler', options, ['initScale', 'growthFactor', 'backoffFactor', 'growthInterval']);
    this.scaleValue = options.initScale ?? 2 ** 16;
    this.growthFactor = options.growthFactor ?? 2;
    this.backoffFactor = options.backoffFactor ?? 0.5;
    this.growthInterval = options.growthInterval ?? 2000;
    if (!(this.scaleValue > 0 && Number.isFinite(this.scaleValue))) throw new Error(`GradScaler: initScale must be a positive number, got ${this.scaleValue}`);
    if (!(this.growthFactor > 1)) throw new Error(`GradScaler: growthFactor must be above 1, got ${this.growthFactor}`);
    if (!(this.backoffFactor > 0 && this.backoffFactor < 1)) throw new Error(`GradScaler: backoffFactor must be in (0, 1), got ${this.backoffFactor}`);
    if (!(Number.isInteger(this.growthInterval) && this.growthInterval >= 1)) throw new Error(`GradScaler: growthInterval must be a positive integer, got ${this.growthInterval}`);
  }

  /** The current scale (after settle() when the last step ran on the device). */
  get scale(): number {
    this.assertSettled('scale');
    return this.scaleValue;
  }

  /** Steps skipped for inf / NaN gradients so far (after settle() when the last step ran on the device). */
  get skippedSteps(): number {
    this.assertSettled('skippedSteps');
    return this.skipped;
  }

  /**
   * loss · scale in float32, to call backward() on: a float16 loss (a model autocast to float16 whose
   * output went straight into a loss) times 2^16 would overflow float16 and skip every step. After an
   * on-device step the scale is read on the GPU, so no wait for the host's copy.
   */
  scaleLoss(loss: Tensor): Tensor {
    return F.mul(loss.float(), this.onDevice?.current ? this.onDevice.scale : this.scaleValue);
  }

  /**
   * Divides every gradient the optimizer holds by the scale, in place, and reads back whether all
   * are finite: one dispatch per gradient and one GPU sync (torch's unscale_, e.g. before clipping).
   * The next step(optimizer) steps on these gradients as they are, as torch's step() after
   * unscale_(); a second unscale() before that step is refused, as torch refuses it.
   */
  async unscale(optimizer: AnyOptimizer): Promise<boolean> {
    if (this.unscaled.has(optimizer)) {
      throw new Error('GradScaler.unscale: already called on this optimizer since its last scaler.step() (its gradients are unscaled; a second division would shrink them again); call it once per step');
    }
    const finite = await this.unscaleGradients(optimizer);
    this.unscaled.set(optimizer, finite);
    return finite;
  }

  private async unscaleGradients(optimizer: AnyOptimizer): Promise<boolean> {
    await this.settle();
    const grads = gradients(optimizer);
    if (grads.length === 0) return true;
    const found = fill(1, 0);
    try {
      for (const grad of grads) unscaleGradient(grad.buffer, grad.size, 1 / this.scaleValue, found);
      const [flag] = new Uint32Array(await gpu().read(found, 4));
      return flag === 0;
    } finally {
      gpu().pool.release(found);
    }
  }

  /**
   * Unscales the gradients and runs optimizer.step() unless one of them holds inf / NaN; then
   * updates the scale (halved after a skipped step, grown after growthInterval good ones). The
   * kernel policy's gradUnscale 'perTensor' decides on the host after a read-back; 'onDevice' leaves
   * the decision to the GPU and returns without waiting: scale, skippedSteps and stateDict() wait
   * for settle(), and the optimizer's host state (step counts) is right once this scaler's next
   * step() or settle() has run. Either way the parameters, gradients and scale get the same bits.
   */
  async step(optimizer: AnyOptimizer): Promise<void> {
    await this.settle();
    // After unscale(optimizer) the gradients are already divided and checked (torch: OptState.UNSCALED).
    const unscaled = this.unscaled.get(optimizer);
    this.unscaled.delete(optimizer);
    if (unscaled === undefined && gpu().policy.get('gradUnscale') === 'onDevice' && exactScale(this.scaleValue) && exactScale(this.growthFactor) && exactScale(this.backoffFactor)) {
      this.stepOnDevice(optimizer);
      return;
    }
    const finite = unscaled ?? (await this.unscaleGradients(optimizer));
    if (finite) optimizer.step();
    this.update(finite);
  }

  /**
   * Brings the host's copy of the state up to date with the last on-device step (normally already
   * done on the GPU: no wait). Submits the step's check if no submit has carried it yet.
   */
  settle(): Promise<void> {
    const pending = this.pending;
    if (!pending) return this.settling ?? Promise.resolve();
    this.pending = undefined;
    this.settling = (async () => {
      try {
        pending.words.submit();
        const words = new DataView(await pending.words.bytes);
        const skipped = words.getUint32(4 * SCALER_WORDS.skipped, true);
        if (skipped !== this.skipped) pending.undo();
        this.scaleValue = words.getFloat32(4 * SCALER_WORDS.scale, true);
        this.growthTracker = words.getUint32(4 * SCALER_WORDS.growthTracker, true);
        this.skipped = skipped;
      } finally {
        this.settling = undefined;
      }
    })();
    return this.settling;
  }

  private stepOnDevice(optimizer: AnyOptimizer): void {
    const state = this.deviceState();
    unscaleGradientsBatched(gradients(optimizer).map((g) => ({ buffer: g.buffer, count: g.size })), state);
    const undo = optimizer.stepUnlessFlagged({ buffer: state, word: SCALER_WORDS.found });
    updateLossScale(state, this);
    const words = gpu().readAfterSubmit(state, 4 * (SCALER_WORDS.skipped + 1));
    // settle() awaits it; meanwhile a lost device must not be an unhandled rejection.
    words.bytes.catch(() => undefined);
    this.pending = { words, undo };
  }

  /**
   * Submits the last on-device step's check unless a submit has carried it already. A trainer
   * that reads its losses only every few steps calls it as a step begins, so that the GPU runs the
   * previous step while the host encodes this one; where each step ends in a read or sync, that
   * submit carries the check and this does nothing (no submit of the scaler's own).
   */
  submitCheck(): void {
    this.pending?.words.submit();
  }

  /** The state buffer on the GPU, written from the host's copy when that is the latest. */
  private deviceState(): GPUBuffer {
    if (!this.onDevice) {
      const buffer = gpu().pool.acquire(SCALER_STATE_BYTES);
      this.onDevice = { buffer, scale: untrack(new Tensor(new Storage(buffer, 1), [])), current: false };
    }
    if (!this.onDevice.current) {
      const words = new DataView(new ArrayBuffer(SCALER_STATE_BYTES));
      words.setFloat32(4 * SCALER_WORDS.scale, this.scaleValue, true);
      words.setFloat32(4 * SCALER_WORDS.inverse, 1 / this.scaleValue, true);
      words.setUint32(4 * SCALER_WORDS.found, 0, true);
      words.setUint32(4 * SCALER_WORDS.growthTracker, this.growthTracker, true);
      words.setUint32(4 * SCALER_WORDS.skipped, this.skipped, true);
      gpu().upload(this.onDevice.buffer, words);
      this.onDevice.current = true;
    }
    return this.onDevice.buffer;
  }

  private update(finite: boolean): void {
    if (this.onDevice) this.onDevice.current = false;
    if (!finite) {
      this.skipped++;
      this.scaleValue *= this.backoffFactor;
      this.growthTracker = 0;
      return;
    }
    this.growthTracker++;
    if (this.growthTracker === this.growthInterval) {
      this.scaleValue *= this.growthFactor;
      this.growthTracker = 0;
    }
  }

  private assertSettled(what: string): void {
    if (this.pending || this.settling) throw new Error(`GradScaler.${what}: the last step's check is still on the GPU; await scaler.settle() first`);
  }

  stateDict(): GradScalerState {
    this.assertSettled('stateDict');
    return { scale: this.scaleValue, growthTracker: this.growthTracker, skippedSteps: this.skipped };
  }

  loadStateDict(state: GradScalerState): void {
    this.assertSettled('loadStateDict');
    if (!(state.scale > 0 && Number.isFinite(state.scale)) || !(Number.isInteger(state.growthTracker) && state.growthTracker >= 0)) {
      throw new Error(`GradScaler.loadStateDict: expected { scale > 0, growthTracker >= 0 }, got ${JSON.stringify(state)}`);
    }
    this.scaleValue = state.scale;
    this.growthTracker = state.growthTracker;
    this.skipped = state.skippedSteps ?? 0;
    if (this.onDevice) this.onDevice.current = false;
  }

  /** Frees the state on the GPU (an on-device step makes it). */
  dispose(): void {
    this.onDevice?.scale.dispose();
    this.onDevice = undefined;
  }
}

function gradients(optimizer: AnyOptimizer): Tensor[] {
  return optimizer.paramGroups.flatMap((group) => group.params).flatMap((p) => (p.grad ? [p.grad] : []));
}
