// Learning-rate schedules (torch.optim.lr_scheduler). Each sets group.lr from the group's
// initial lr and the epoch counter, in closed form, so a schedule restored from its state dict
// lands on exactly the same rates. Call step() once per epoch, after optimizer.step().
import { checkOptionNames } from '../tensor/tensor.js';

/** What a schedule needs of an optimizer: its groups' learning rates (any optimizer has them). */
export interface ScheduledOptimizer {
  paramGroups: { lr: number; initialLr?: number }[];
}

export interface SchedulerState {
  lastEpoch: number;
  baseLrs: number[];
}

export abstract class LRScheduler {
  lastEpoch = 0;
  baseLrs: number[];
  private lastLrs: number[] = [];

  constructor(readonly optimizer: ScheduledOptimizer) {
    // Like PyTorch: remember each group's starting lr as initialLr, then apply epoch 0.
    for (const group of optimizer.paramGroups) group.initialLr ??= group.lr;
    this.baseLrs = optimizer.paramGroups.map((g) => g.initialLr!);
  }

  /** The factor or rate for a group at an epoch. */
  protected abstract lrAt(baseLr: number, epoch: number, groupIndex: number): number;

  /** Sets every group's lr for the current epoch (subclass constructors call this once). */
  protected apply(): void {
    this.lastLrs = this.baseLrs.map((base, i) => this.lrAt(base, this.lastEpoch, i));
    this.optimizer.paramGroups.forEach((g, i) => (g.lr = this.lastLrs[i]));
  }

  /** Advances one epoch. */
  step(): void {
    this.lastEpoch++;
    this.apply();
  }

  /** The rates set by the last step (one per group). */
  getLastLr(): number[] {
    return [...this.lastLrs];
  }

  stateDict(): SchedulerState {
    return { lastEpoch: this.lastEpoch, baseLrs: [...this.baseLrs] };
  }

  loadStateDict(state: SchedulerState): void {
    if (state.baseLrs.length !== this.optimizer.paramGroups.length) {
      throw new Error(`${this.constructor.name}.loadStateDict: saved for ${state.baseLrs.length} parameter groups, the optimizer has ${this.optimizer.paramGroups.length}`);
    }
    this.lastEpoch = state.lastEpoch;
    this.baseLrs = [...state.baseLrs];
    this.optimizer.paramGroups.forEach((g, i) => (g.initialLr = this.baseLrs[i]));
    this.apply();
  }
}

/** lr = initialLr · gamma^⌊epoch / stepSize⌋ (Fa-Net: gamma 0.457305051927326 every 10 epochs). */
export class StepLR extends LRScheduler {
  readonly stepSize: number;
  readonly gamma: number;

  constructor(optimizer: ScheduledOptimizer, options: { stepSize: number; gamma?: number }) {
    super(optimizer);
    checkOptionNames('StepLR', options, ['stepSize', 'gamma']);
    if (!(Number.isInteger(options.stepSize) && options.stepSize > 0)) throw new Error(`StepLR: stepSize must be a positive integer, got ${options.stepSize}`);
    this.stepSize = options.stepSize;
    this.gamma = options.gamma ?? 0.1;
    this.apply();
  }

  protected lrAt(baseLr: number, epoch: number): number {
    return baseLr * this.gamma ** Math.floor(epoch / this.stepSize);
  }
}

/**
 * torch's LinearLR: the factor goes linearly from startFactor (epoch 0) to endFactor (epoch
 * totalIters) and stays there.
 */
export class LinearLR extends LRScheduler {
  readonly startFactor: number;
  readonly endFactor: number;
  readonly totalIters: number;

  constructor(optimizer: ScheduledOptimizer, options: { startFactor?: number; endFactor?: number; totalIters?: number } = {}) {
    super(optimizer);
    checkOptionNames('LinearLR', options, ['startFactor', 'endFactor', 'totalIters']);
    this.startFactor = options.startFactor ?? 1 / 3;
    this.endFactor = options.endFactor ?? 1;
    this.totalIters = options.totalIters ?? 5;
    if (!(this.startFactor > 0 && this.startFactor <= 1)) throw new Error(`LinearLR: startFactor must be in (0, 1], got ${this.startFactor}`);
    if (!(this.endFactor >= 0 && this.endFactor <= 1)) throw new Error(`LinearLR: endFactor must be in [0, 1], got ${this.endFactor}`);
    if (!(this.totalIters > 0)) throw new Error(`LinearLR: totalIters must be positive, got ${this.totalIters}`);
    this.apply();
  }

  protected lrAt(baseLr: number, epoch: number): number {
    const progress = Math.min(epoch, this.totalIters) / this.totalIters;
    return baseLr * (this.startFactor + (this.endFactor - this.startFactor) * progress);
  }
}

/**
 * Constant for `constantEpochs`, then linear decay to zero over `decayEpochs` (the GAN recipe of
 * pix2pix / PN-GAN): epoch e gets initialLr · (1 − clamp((e − constantEpochs) / decayEpochs, 0, 1)).
 */
export class LinearDecayLR extends LRScheduler {
  readonly constantEpochs: number;
  readonly decayEpochs: number;

  constructor(optimizer: ScheduledOptimizer, options: { constantEpochs: number; decayEpochs: number }) {
    super(optimizer);
    checkOptionNames('LinearDecayLR', options, ['constantEpochs', 'decayEpochs']);
    if (!(options.constantEpochs >= 0)) throw new Error(`LinearDecayLR: constantEpochs must be ≥ 0, got ${options.constantEpochs}`);
    if (!(options.decayEpochs > 0)) throw new Error(`LinearDecayLR: decayEpochs must be > 0, got ${options.decayEpochs}`);
    this.constantEpochs = options.constantEpochs;
    this.decayEpochs = options.decayEpochs;
    this.apply();
  }

  protected lrAt(baseLr: number, epoch: number): number {
    const decayed = Math.min(1, Math.max(0, (epoch - this.constantEpochs) / this.decayEpochs));
    return baseLr * (1 - decayed);
  }
}

/** lr = initialLr · lrLambda(epoch, groupIndex) (torch's LambdaLR). */
export class LambdaLR extends LRScheduler {
  constructor(
    optimizer: ScheduledOptimizer,
    readonly lrLambda: (epoch: number, groupIndex: number) => number,
  ) {
    super(optimizer);
    this.apply();
  }

  protected lrAt(baseLr: number, epoch: number, groupIndex: number): number {
    return baseLr * this.lrLambda(epoch, groupIndex);
  }
}
