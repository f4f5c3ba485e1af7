// Dynamic loss scaling for float16 training (torch.amp.GradScaler): the loss is multiplied by
// `scale` before backward so that small gradients survive float16's range (smallest subnormal
// 2^-24); before the optimizer step the gradients are divided by it again and checked. A step
// whose gradients hold inf or NaN is skipped and the scale halved; after `growthInterval` steps
// without one the scale doubles. Same defaults and update rule as PyTorch's.
import { gpu } from '../gpu/index.js';
import { fill } from '../kernels/elementwise.js';
import { unscaleGradient } from '../kernels/optim.js';
import * as F from '../nn/functional/index.js';
import { checkOptionNames, type Tensor } from '../tensor/tensor.js';
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

export class GradScaler {
  private scaleValue: number;
  private growthTracker = 0;
  private skipped = 0;
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

  /** The current scale. */
  get scale(): number {
    return this.scaleValue;
  }

  /** Steps skipped for inf / NaN gradients so far. */
  get skippedSteps(): number {
    return this.skipped;
  }

  /**
   * loss · scale in float32, to call backward() on: a float16 loss (a model autocast to float16 whose
   * output went straight into a loss) times 2^16 would overflow float16 and skip every step.
   */
  scaleLoss(loss: Tensor): Tensor {
    return F.mul(loss.float(), this.scaleValue);
  }

  /**
   * Divides every gradient the optimizer holds by the scale, in place, and reads back whether all
   * are finite: one dispatch per gradient and one GPU sync.
   */
  async unscale(optimizer: AnyOptimizer): Promise<boolean> {
    const grads = optimizer.paramGroups.flatMap((group) => group.params).flatMap((p) => (p.grad ? [p.grad] : []));
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
   * Unscales the gradients and runs optimizer.step() if they are all finite; then updates the
   * scale (halved after a skipped step, grown after growthInterval good ones). Returns whether
   * the step ran.
   */
  async step(optimizer: AnyOptimizer): Promise<boolean> {
    const finite = await this.unscale(optimizer);
    if (finite) optimizer.step();
    this.update(finite);
    return finite;
  }

  private update(finite: boolean): void {
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

  stateDict(): GradScalerState {
    return { scale: this.scaleValue, growthTracker: this.growthTracker, skippedSteps: this.skipped };
  }

  loadStateDict(state: GradScalerState): void {
    if (!(state.scale > 0 && Number.isFinite(state.scale)) || !(Number.isInteger(state.growthTracker) && state.growthTracker >= 0)) {
      throw new Error(`GradScaler.loadStateDict: expected { scale > 0, growthTracker >= 0 }, got ${JSON.stringify(state)}`);
    }
    this.scaleValue = state.scale;
    this.growthTracker = state.growthTracker;
    this.skipped = state.skippedSteps ?? 0;
  }
}
