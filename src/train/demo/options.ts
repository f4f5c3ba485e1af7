// The demo's settings: presets sized to the adapter and a time estimate from the planned step
// counts × per-step costs measured on this device. Browser-safe.
import type { SynthOptions } from '../../data/synth/generator.js';
import { TASKS, type Task } from '../../data/splits.js';
import { BASIC_EXPRESSION_IDS } from '../../data/synth/export-formats.js';
import { EXPRESSIONS, EXPRESSION_FAMILIES, EXPRESSION_FAMILY_OF } from '../../data/labels.js';

export interface FanetSettings {
  inputSize: number;
  widthMultiplier: number;
  epochs: number;
  batchSize: number;
  /** 'adam' (lr 1e-3) by default: from scratch the paper's SGD recipe needs far more epochs than a demo has. */
  optimizer?: 'sgd' | 'adam';
  /** Overrides the optimizer's default lr (Adam 1e-3, SGD the batch-scaled recipe). */
  lr?: number;
  /** Before the classifier (reference 0.5); a narrow embedding (32 values at width ×0.125) learns faster without. */
  dropout?: number;
  batchNorm?: boolean;
}

export interface GanSettings {
  imageSize: number;
  baseWidth: number;
  residualBlocks: number;
  epochs: number;
  batchSize: number;
  /**
   * 'shared': one GAN per seed, trained on the images in every selected task's training split
   * (so it has seen no task's test image) and used for all tasks; 'per-task': one per task, on
   * that task's training split.
   */
  scope: 'shared' | 'per-task';
  /** ER-SS / ER-ZID: re-posed faces added as a share of the training images. */
  reposeShare: number;
}

export interface TransferSettings {
  /** FER2013-format set: posers × 7 expressions × frames × 3 poses (HL, F, HR), 48 px. */
  fer2013: { subjects: number; framesPerExpression: number };
  /** JAFFE-format set: posers (≤ 10) × 7 expressions × takes + extra, 256 px frontal. */
  jaffe: { subjects: number; framesPerExpression: number; extra: number };
  epochs: number;
  batchSize: number;
}

export interface PaperDemoOptions {
  /** Seeds the synthetic data and the task splits; training seeds are seed, seed + 1, … */
  seed: number;
  /** Training repeats (model init, batch order, GAN) for mean ± std. */
  seeds: number;
  tasks: Task[];
  /** The synthetic F²ED: expressionIds picks classes from the 54 (labels stay expression ids). */
  data: Pick<SynthOptions, 'subjects' | 'clipsPerExpression' | 'framesPerClip' | 'size'> & { expressionIds: readonly number[] };
  fanet: FanetSettings;
  /** false: Fa-Net baselines only (Table 5 without its second row). */
  gan: false | GanSettings;
  /** false: no Table 4. */
  transfer: false | TransferSettings;
}

export type PresetName = 'quick' | 'software' | 'gpu' | 'paper';

/**
 * `perFamily` expressions from each of the 4 families, the seven basic ones first (so the model
 * pre-trained for Table 4 has seen them, as F²ED's 54 include them), then spread through the family.
 */
export function expressionsAcrossFamilies(perFamily: number): number[] {
  const ids: number[] = [];
  for (let family = 0; family < EXPRESSION_FAMILIES.length; family++) {
    const members = EXPRESSION_FAMILY_OF.flatMap((f, id) => (f === family ? [id] : []));
    const basic = BASIC_EXPRESSION_IDS.filter((id) => EXPRESSION_FAMILY_OF[id] === family);
    const chosen = basic.slice(0, perFamily);
    for (let k = 0; chosen.length < Math.min(perFamily, members.length); k++) {
      const candidate = members[Math.floor(((k + 0.5) * members.length) / perFamily) % members.length]!;
      if (!chosen.includes(candidate)) chosen.push(candidate);
      if (k > members.length * 2) break;
    }
    ids.push(...chosen.sort((a, b) => a - b));
  }
  return ids;
}

const ALL_TASKS: Task[] = [...TASKS];

/**
 * quick: a smoke run of every stage (minutes on lavapipe; accuracies near chance).
 * software: the default on a CPU-only adapter (lavapipe), within 20 minutes on 2 cores.
 * gpu: the default on a hardware adapter (larger, more seeds).
 * paper: the paper's scale (128 px, full-width LightCNN-9, 100 epochs) for a real GPU.
 */
export function presetOptions(preset: PresetName): PaperDemoOptions {
  switch (preset) {
    case 'quick':
      return {
        seed: 1, seeds: 1, tasks: ALL_TASKS,
        data: { subjects: 4, expressionIds: expressionsAcrossFamilies(1), clipsPerExpression: 1, framesPerClip: 1, size: 64 },
        fanet: { inputSize: 32, widthMultiplier: 0.125, epochs: 1, batchSize: 16, batchNorm: true },
        gan: { imageSize: 32, baseWidth: 8, residualBlocks: 1, epochs: 1, batchSize: 8, scope: 'shared', reposeShare: 0.5 },
        transfer: { fer2013: { subjects: 3, framesPerExpression: 1 }, jaffe: { subjects: 3, framesPerExpression: 1, extra: 0 }, epochs: 1, batchSize: 16 },
      };
    case 'software':
      return {
        seed: 1, seeds: 1, tasks: ALL_TASKS,
        // One expression per family (joy, fear, angry, sadness): on 2 CPU cores a narrow LightCNN-9
        // leaves chance within the budget on these, not on 8 finer classes (measured: 8 classes at
        // 16 epochs stayed near chance on test).
        data: { subjects: 8, expressionIds: expressionsAcrossFamilies(1), clipsPerExpression: 1, framesPerClip: 3, size: 64 },
        fanet: { inputSize: 32, widthMultiplier: 0.125, epochs: 16, batchSize: 32, lr: 2e-3, dropout: 0, batchNorm: true },
        gan: { imageSize: 32, baseWidth: 8, residualBlocks: 1, epochs: 4, batchSize: 8, scope: 'shared', reposeShare: 0.5 },
        transfer: { fer2013: { subjects: 8, framesPerExpression: 2 }, jaffe: { subjects: 10, framesPerExpression: 3, extra: 3 }, epochs: 12, batchSize: 32 },
      };
    case 'gpu':
      return {
        seed: 1, seeds: 2, tasks: ALL_TASKS,
        data: { subjects: 12, expressionIds: expressionsAcrossFamilies(4), clipsPerExpression: 1, framesPerClip: 3, size: 64 },
        fanet: { inputSize: 64, widthMultiplier: 0.5, epochs: 20, batchSize: 32, batchNorm: true },
        gan: { imageSize: 64, baseWidth: 32, residualBlocks: 6, epochs: 6, batchSize: 16, scope: 'shared', reposeShare: 0.5 },
        transfer: { fer2013: { subjects: 16, framesPerExpression: 3 }, jaffe: { subjects: 10, framesPerExpression: 3, extra: 3 }, epochs: 20, batchSize: 32 },
      };
    case 'paper':
      return {
        seed: 1, seeds: 2, tasks: ALL_TASKS,
        data: { subjects: 24, expressionIds: [...EXPRESSIONS.keys()], clipsPerExpression: 1, framesPerClip: 3, size: 128 },
        fanet: { inputSize: 128, widthMultiplier: 1, epochs: 100, batchSize: 128, optimizer: 'sgd' },
        gan: { imageSize: 128, baseWidth: 64, residualBlocks: 9, epochs: 100, batchSize: 16, scope: 'shared', reposeShare: 0.5 },
        transfer: { fer2013: { subjects: 40, framesPerExpression: 3 }, jaffe: { subjects: 10, framesPerExpression: 3, extra: 3 }, epochs: 100, batchSize: 64 },
      };
  }
}

/** The default preset for an adapter: quick when asked, else by whether it is a software one. */
export function defaultPaperDemoOptions(software: boolean, quick = false): PaperDemoOptions {
  return presetOptions(quick ? 'quick' : software ? 'software' : 'gpu');
}

/** Seconds per unit of work, measured on this device (measureCosts in paper-demo.ts). */
export interface MeasuredCosts {
  /** One Fa-Net training step at the configured batch size. */
  fanetStep: number;
  /** One FaPE-GAN step (D then G) at its batch size. */
  ganStep: number;
  /** Rendering one 64 px / 256 px synthetic face. */
  render64: number;
  render256: number;
}

/** The work a run plans, counted without rendering anything (see planWork in paper-demo.ts). */
export interface PlannedWork {
  /** Per seed. */
  fanetSteps: number;
  /** Evaluation batches per seed (a forward pass: about a third of a step). */
  evalBatches: number;
  ganSteps: number;
  /** Generator batches for the augmentation (forward only). */
  generateBatches: number;
  /** Once per run. */
  renders64: number;
  renders256: number;
}

export function estimateSeconds(work: PlannedWork, costs: MeasuredCosts, seeds: number): { total: number; perSeed: number; once: number } {
  const perSeed = work.fanetSteps * costs.fanetStep + (work.evalBatches / 3) * costs.fanetStep + work.ganSteps * costs.ganStep + (work.generateBatches / 3) * costs.ganStep;
  const once = work.renders64 * costs.render64 + work.renders256 * costs.render256;
  return { total: once + seeds * perSeed, perSeed, once };
}

/**
 * The default run's time budget, for choosing how many seeds it repeats: on a software adapter the
 * 20-minute promise less a margin (the estimate ran ~15 % high on the development machine), on a
 * hardware GPU ten minutes.
 */
export const SEED_BUDGET_SECONDS = { software: 18 * 60, gpu: 600 } as const;

/**
 * As many seeds as fit the budget after the one-off work (rendering), measured on the spot — so a
 * loaded machine runs fewer — at least 1 on a software adapter and 2 on a GPU, at most 5.
 */
export function defaultSeedCount(software: boolean, perSeedSeconds: number, onceSeconds = 0): number {
  const budget = software ? SEED_BUDGET_SECONDS.software : SEED_BUDGET_SECONDS.gpu;
  const fit = Math.floor((budget - onceSeconds) / Math.max(1e-3, perSeedSeconds));
  return Math.max(software ? 1 : 2, Math.min(5, fit));
}
