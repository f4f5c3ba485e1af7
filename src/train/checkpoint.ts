// Training checkpoints as safetensors content (browser-safe): every module's state dict, every
// optimizer's state, the schedules, the global random stream and the run's progress, so that a
// run resumed from the end of epoch e continues exactly as if it had not stopped.
// Tensor names: "<module>.<param>" and "optim.<optimizer>.<index>.<buffer>"; everything else is
// JSON in the header's __metadata__ (format in DESIGN.md "Files").
import type { AnyModule } from '../nn/module.js';
import { firstNonFiniteTensor, type HostArray, type SafetensorsContent } from '../nn/safetensors.js';
import type { AnyOptimizer, OptimizerState } from '../optim/optimizer.js';
import type { LRScheduler, SchedulerState } from '../optim/lr-scheduler.js';
import type { GradScaler, GradScalerState } from '../optim/grad-scaler.js';
import { globalGeneratorState, setGlobalGeneratorState } from '../tensor/random.js';
import { NonFiniteStateError } from './guards.js';

export interface TrainingParts {
  modules: Record<string, AnyModule>;
  optimizers?: Record<string, AnyOptimizer>;
  schedulers?: Record<string, LRScheduler>;
  /** Loss scalers of float16 runs. */
  scalers?: Record<string, GradScaler>;
}

/** Where a run stands; stored as JSON next to the tensors. */
export interface RunInfo {
  /** What was trained, e.g. "fanet" or "fapegan". */
  kind: string;
  /** Model configuration, enough to rebuild the modules before loading. */
  config: Record<string, unknown>;
  /** Epochs completed. */
  epoch: number;
  /** Optimizer steps completed. */
  step: number;
  metrics?: Record<string, number>;
  /** Free-form details (data set, task, seed) shown by tools. */
  extra?: Record<string, unknown>;
}

interface OptimizerMeta {
  paramGroups: OptimizerState<unknown>['paramGroups'];
  steps: Record<number, { step: number; buffers: string[] }>;
}

const FORMAT = 'webfer-checkpoint-1';

export async function captureCheckpoint(parts: TrainingParts, info: RunInfo): Promise<SafetensorsContent> {
  // An on-device loss-scaled step's outcome first: a skipped one rewinds its optimizer's step counts.
  for (const scaler of Object.values(parts.scalers ?? {})) await scaler.settle();
  const tensors = new Map<string, HostArray>();
  for (const [prefix, module] of Object.entries(parts.modules)) {
    for (const [name, t] of await module.exportStateDict()) tensors.set(`${prefix}.${name}`, t);
  }
  const optimizers: Record<string, OptimizerMeta> = {};
  for (const [name, optimizer] of Object.entries(parts.optimizers ?? {})) {
    const state = await optimizer.exportState();
    const steps: OptimizerMeta['steps'] = {};
    for (const [index, s] of Object.entries(state.state)) {
      steps[Number(index)] = { step: s.step, buffers: Object.keys(s.buffers) };
      for (const [buffer, t] of Object.entries(s.buffers)) tensors.set(`optim.${name}.${index}.${buffer}`, t);
    }
    optimizers[name] = { paramGroups: state.paramGroups, steps };
  }
  // Weights or moments holding NaN / inf would replace the last good checkpoint with one no command can use.
  const nonFinite = firstNonFiniteTensor(tensors);
  if (nonFinite) throw new NonFiniteStateError(nonFinite.name, nonFinite.count, nonFinite.size);
  const schedulers: Record<string, SchedulerState> = {};
  for (const [name, scheduler] of Object.entries(parts.schedulers ?? {})) schedulers[name] = scheduler.stateDict();
  const scalers: Record<string, GradScalerState> = {};
  for (const [name, scaler] of Object.entries(parts.scalers ?? {})) scalers[name] = scaler.stateDict();
  return {
    tensors,
    metadata: {
      format: FORMAT,
      run: JSON.stringify(info),
      optimizers: JSON.stringify(optimizers),
      schedulers: JSON.stringify(schedulers),
      ...(Object.keys(scalers).length ? { scalers: JSON.stringify(scalers) } : {}),
      random: JSON.stringify(globalGeneratorState()),
    },
  };
}

/**
 * Most often a state dict (`webfer convert` output, a PyTorch-written file): weights without a
 * run, and for a face-ID LightCNN a classifier over thousands of identities, not expressions.
 */
function notACheckpoint(metadata: Record<string, string>, source: string): string {
  let model: { variant?: unknown; classes?: unknown } = {};
  try {
    model = JSON.parse(metadata.model ?? '{}') as typeof model;
  } catch { /* described without its model */ }
  const classes = typeof model.classes === 'number' ? model.classes : undefined;
  const what = metadata.converted_from !== undefined
    ? `a state dict that \`webfer convert\` made from ${metadata.converted_from}${classes !== undefined ? ` (${typeof model.variant === 'string' ? model.variant : 'a model'} with ${classes} classes)` : ''}`
    : `not a webfer training checkpoint (its metadata has no webfer run, format ${JSON.stringify(metadata.format ?? null)})`;
  const classifier = classes !== undefined ? ` (its ${classes}-class classifier is replaced when DATA has another number of classes)` : '';
  return `${source} is ${what}: predict, eval, augment and --resume need a checkpoint.safetensors written by \`webfer train\` or \`gan-train\`; ` +
    `to use these weights, fine-tune them first: \`webfer train --init-from ${source} --data DATA --out RUN\`${classifier}, then pass RUN/checkpoint.safetensors (in code: module.loadStateDict())`;
}

/** Reads the run info without touching any module (to rebuild the right model first). */
export function readRunInfo(content: SafetensorsContent, source = 'checkpoint'): RunInfo {
  const version = /^webfer-checkpoint-(\d+)$/.exec(content.metadata.format ?? '')?.[1];
  if (version !== undefined && content.metadata.format !== FORMAT) {
    // Another version's layout may mean other things under the same names: never guess.
    throw new Error(`${source} is a webfer training checkpoint of format ${version}; this webfer reads format ${FORMAT.split('-').pop()} only: open it with the webfer version that wrote it (a newer one: update webfer)`);
  }
  if (content.metadata.format !== FORMAT || !content.metadata.run) throw new Error(notACheckpoint(content.metadata, source));
  try {
    return JSON.parse(content.metadata.run) as RunInfo;
  } catch (error) {
    throw new Error(`${source}: the run record in its metadata is not JSON (${(error as Error).message}): the checkpoint is damaged; use an earlier one or train again`);
  }
}

/** Restores every part from a checkpoint; returns the run info. Checks everything it can first. */
export function restoreCheckpoint(content: SafetensorsContent, parts: TrainingParts, source = 'checkpoint'): RunInfo {
  const info = readRunInfo(content, source);
  for (const [prefix, module] of Object.entries(parts.modules)) {
    const own = new Map<string, HostArray>();
    for (const [name, t] of content.tensors) if (name.startsWith(`${prefix}.`)) own.set(name.slice(prefix.length + 1), t);
    if (own.size === 0) throw new Error(`${source} has no weights for "${prefix}" (it holds ${[...new Set([...content.tensors.keys()].map((k) => k.split('.')[0]))].join(', ')})`);
    module.loadStateDict(own, { strict: true });
  }
  const optimizers = JSON.parse(content.metadata.optimizers ?? '{}') as Record<string, OptimizerMeta>;
  for (const [name, optimizer] of Object.entries(parts.optimizers ?? {})) {
    const meta = optimizers[name];
    if (!meta) throw new Error(`${source} has no state for optimizer "${name}"`);
    const state: OptimizerState<HostArray> = { paramGroups: meta.paramGroups, state: {} };
    for (const [index, s] of Object.entries(meta.steps)) {
      const buffers: Record<string, HostArray> = {};
      for (const buffer of s.buffers) {
        const t = content.tensors.get(`optim.${name}.${index}.${buffer}`);
        if (!t) throw new Error(`${source} is missing optim.${name}.${index}.${buffer}`);
        buffers[buffer] = t;
      }
      state.state[Number(index)] = { step: s.step, buffers };
    }
    optimizer.importState(state);
  }
  const schedulers = JSON.parse(content.metadata.schedulers ?? '{}') as Record<string, SchedulerState>;
  for (const [name, scheduler] of Object.entries(parts.schedulers ?? {})) {
    if (!schedulers[name]) throw new Error(`${source} has no state for schedule "${name}"`);
    scheduler.loadStateDict(schedulers[name]);
  }
  const scalers = JSON.parse(content.metadata.scalers ?? '{}') as Record<string, GradScalerState>;
  for (const [name, scaler] of Object.entries(parts.scalers ?? {})) {
    if (!scalers[name]) throw new Error(`${source} has no state for loss scaler "${name}" (a float32 run); resume it with --precision f32`);
    scaler.loadStateDict(scalers[name]);
  }
  if (content.metadata.random) setGlobalGeneratorState(JSON.parse(content.metadata.random));
  return info;
}
