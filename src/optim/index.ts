// optim: optimizers that update parameters in place on the GPU, and learning-rate schedules.
export { Optimizer, type AnyOptimizer, type Hyper, type ParamGroup, type ParamsInput, type ParamState, type OptimizerState } from './optimizer.js';
export { SGD, type SgdHyper, type SgdOptions } from './sgd.js';
export { Adam, type AdamHyper, type AdamOptions } from './adam.js';
export { LRScheduler, StepLR, LinearLR, LinearDecayLR, LambdaLR, type SchedulerState, type ScheduledOptimizer } from './lr-scheduler.js';
export { GradScaler, type GradScalerOptions, type GradScalerState } from './grad-scaler.js';
