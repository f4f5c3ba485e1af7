// Changing a resumed run's learning rate the way a PyTorch user means `--lr`: the new value is the
// base rate (the first group's, before any schedule), every other group keeps its multiple of it
// (Fa-Net's 1× / 2× / 10× / 20×), and a schedule continues from the new base where it stands.
import type { LRScheduler, ScheduledOptimizer } from '../optim/lr-scheduler.js';

/** The first group's lr before any schedule (what `--lr` sets when a run starts). */
export function baseLearningRate(optimizer: ScheduledOptimizer): number {
  const first = optimizer.paramGroups[0];
  if (!first) throw new Error('baseLearningRate: the optimizer has no parameter groups');
  return first.initialLr ?? first.lr;
}

/** Sets the base lr to `lr`, scaling every group's base by the same factor; returns the previous base. */
export function setBaseLearningRate(optimizer: ScheduledOptimizer, scheduler: LRScheduler | undefined, lr: number): number {
  if (!(lr > 0 && Number.isFinite(lr))) throw new Error(`setBaseLearningRate: the learning rate must be positive and finite, got ${lr}`);
  const previous = baseLearningRate(optimizer);
  const bases = optimizer.paramGroups.map((group) => ((group.initialLr ?? group.lr) / previous) * lr);
  if (scheduler) {
    // The schedule's state is its epoch and bases: loading both re-applies the rate of that epoch.
    scheduler.loadStateDict({ lastEpoch: scheduler.lastEpoch, baseLrs: bases });
  } else {
    optimizer.paramGroups.forEach((group, i) => {
      group.lr = bases[i]!;
      if (group.initialLr !== undefined) group.initialLr = bases[i];
    });
  }
  return previous;
}
