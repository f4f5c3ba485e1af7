// Dynamic loss scaling for float16 training (torch.amp.GradScaler): the loss is multiplied by
// `scale` before backward so that small gradients survive float16's range (smallest subnormal
// 2^-24); before the optimizer step the gradients are divided by it again and checked. A step
// whose gradients hold inf or NaN is skipped and the scale halved; after `growthInterval` steps
// without one the scale doubles. Same defaults and update rule as PyTorch's.
import { unary } from '../kernels/elementwise.js';
import * as F from '../nn/functional/index.js';
import { Tensor, noGrad, scope, untrack } from '../tensor/tensor.js';
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

/** 1 where an element is ±inf or NaN, else 0 (by the bits: lavapipe folds v != v). */
const NON_FINITE = 'select(0.0, 1.0, (bitcast<u32>(x) & 0x7f800000u) == 0x7f800000u)';

export class GradScaler {
  private scaleValue: number;
  private growthTracker = 0;
  private skipped = 0;
  readonly growthFactor: number;
  readonly backoffFactor: number;
  readonly growthInterval: number;

  constructor(options: GradScalerOptions = {}) {
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

  /** loss · scale, to call backward() on. */
  scaleLoss(loss: Tensor): Tensor {
    return F.mul(loss, this.scaleValue);
  }

  /**
   * Divides every gradient the optimizer holds by the scale (in place of the old gradient) and
   * reads back whether all are finite: one GPU sync.
   */
  async unscale(optimizer: AnyOptimizer): Promise<boolean> {
    const params = optimizer.paramGroups.flatMap((group) => group.params).filter((p) => p.grad);
    if (params.length === 0) return true;
    const inverse = 1 / this.scaleValue;
    const nonFinite = noGrad(() =>
      scope(() => {
        const counts: Tensor[] = [];
        for (const p of params) {
          const grad = p.grad!;
          const unscaled = untrack(F.mul(grad, inverse));
          grad.dispose();
          p.grad = unscaled;
          counts.push(F.sum(Tensor.fromBuffer(unary('nonFinite', NON_FINITE, unscaled.buffer, unscaled.size), unscaled.shape)).reshape([1]));
        }
        return F.sum(F.cat(counts));
      }),
    );
    try {
      return (await nonFinite.item()) === 0;
    } finally {
      nonFinite.dispose();
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
