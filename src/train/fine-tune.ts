// Fine-tuning a pre-trained Fa-Net (the paper's Table 4: LightCNN pre-trained on F²ED, then
// trained on FER2013 or JAFFE): load the backbone from a state dict, keep or replace the
// classifier, optionally freeze the backbone, and give the backbone a smaller learning rate than
// the fresh classifier (the paper's lr drops from 0.01 on F²ED to 2e-3 on FER2013 and 5e-4 on
// JAFFE). Browser-safe; `webfer train --init-from` and the demo use it.
import type { LightCNN } from '../models/lightcnn.js';
import type { HostTensor, StateSource } from '../nn/module.js';
import { Adam, type AdamHyper } from '../optim/adam.js';
import { SGD, type SgdHyper } from '../optim/sgd.js';
import { StepLR } from '../optim/lr-scheduler.js';
import type { ParamsInput } from '../optim/optimizer.js';
import { formatShape, type Tensor } from '../tensor/tensor.js';
import { FANET_RECIPE, fanetParamGroups, type FanetOptimizer } from './fanet.js';

/** The paper's fine-tuning lr over its F²ED lr, per target set (lr at the paper's batch sizes). */
export const PAPER_FINE_TUNE_LR_RATIO = { fer2013: 2e-3 / 0.01, jaffe: 5e-4 / 0.01 } as const;

export interface InitFromPretrainedOptions {
  /**
   * true: the classifier's tensors in the state dict are ignored and the model's own freshly
   * initialised classifier (with its class count) is kept — for a new label set. false: the
   * classifier is loaded too, and must have the model's shape.
   */
  replaceClassifier: boolean;
  /** 'features': every parameter outside the classifier stops learning (requiresGrad false). */
  freeze?: 'features';
}

export interface InitFromPretrainedResult {
  /** State-dict names loaded into the model. */
  loaded: string[];
  /** The model's classifier tensors left at their fresh initialisation. */
  replaced: string[];
  /** Parameters frozen by `freeze`. */
  frozen: string[];
}

function shapeOf(value: Tensor | HostTensor): readonly number[] {
  return value.shape;
}

/**
 * Loads a pre-trained state dict into `model` (in place: optimizers made afterwards see the
 * loaded values). Every backbone tensor must be present with the model's shape; the error names
 * the first tensors that differ and what to change.
 */
export function initFromPretrained(model: LightCNN, stateDict: StateSource, options: InitFromPretrainedOptions): InitFromPretrainedResult {
  const entries = stateDict instanceof Map ? stateDict : new Map(Object.entries(stateDict));
  const classifierPrefix = `${model.classifierName}.`;
  const own = model.stateDict();
  const isClassifier = (name: string) => name.startsWith(classifierPrefix);
  const source = new Map<string, Tensor | HostTensor>();
  const replaced: string[] = [];
  const ignored = model.ignoredStateDictKeys();
  for (const [name, value] of entries) {
    if ((options.replaceClassifier && isClassifier(name)) || ignored.has(name)) continue;
    source.set(name, value);
  }
  if (options.replaceClassifier) for (const name of own.keys()) if (isClassifier(name)) replaced.push(name);
  const missing = [...own.keys()].filter((name) => !(options.replaceClassifier && isClassifier(name)) && !source.has(name));
  const unexpected = [...source.keys()].filter((name) => !own.has(name));
  if (missing.length || unexpected.length) {
    const extraBatchNorm = unexpected.some((name) => name.includes('.norm.')) || missing.some((name) => name.includes('.norm.'));
    throw new Error(
      `the state dict does not fit ${model.config.variant} (width ×${model.config.widthMultiplier}, ${model.config.inputSize} px${model.config.batchNorm ? ', batch norm' : ''}): ` +
        `${missing.length ? `missing ${missing.slice(0, 4).join(', ')}${missing.length > 4 ? ` and ${missing.length - 4} more` : ''}` : ''}` +
        `${missing.length && unexpected.length ? '; ' : ''}${unexpected.length ? `unexpected ${unexpected.slice(0, 4).join(', ')}${unexpected.length > 4 ? ` and ${unexpected.length - 4} more` : ''}` : ''}` +
        `; build the model with the checkpoint's variant${extraBatchNorm ? ' and batch-norm setting' : ''}`,
    );
  }
  for (const [name, value] of source) {
    const target = own.get(name)!;
    const shape = shapeOf(value);
    if (shape.length !== target.shape.length || shape.some((d, i) => d !== target.shape[i])) {
      const hint = isClassifier(name)
        ? 'the class counts differ: pass replaceClassifier: true (--init-from replaces it when the class count differs)'
        : name.startsWith('fc1.') ? 'fc1 follows the input size and width: use the checkpoint\'s --input-size and --width'
        : (name.includes('features.0.') || name.startsWith('conv1.')) && shape[1] !== target.shape[1] ? `the checkpoint takes ${shape[1]}-channel images, the model ${target.shape[1]}: build the model with inputChannels ${shape[1]}`
        : 'the widths differ: use the checkpoint\'s --width';
      throw new Error(`${name} is ${formatShape(shape)} in the state dict but ${formatShape(target.shape)} in the model; ${hint}`);
    }
  }
  model.loadStateDict(source, { strict: false });
  const frozen = options.freeze === 'features' ? freezeFeatures(model) : [];
  return { loaded: [...source.keys()], replaced, frozen };
}

/** Stops every parameter outside the classifier from learning (a fine-tuning run, and its resume); returns their names. */
export function freezeFeatures(model: LightCNN): string[] {
  const frozen: string[] = [];
  for (const [name, parameter] of model.namedParameters()) {
    if (name.startsWith(`${model.classifierName}.`)) continue;
    parameter.requiresGrad = false;
    frozen.push(name);
  }
  return frozen;
}

export interface FineTuneOptimizerOptions {
  batchSize: number;
  optimizer?: 'sgd' | 'adam';
  /** The classifier's lr (default: Adam 1e-3, SGD the batch-scaled recipe lr). */
  lr?: number;
  /** The backbone's lr as a share of `lr` (the paper's ratio: PAPER_FINE_TUNE_LR_RATIO). */
  backboneLrRatio: number;
  weightDecay?: number;
}

/**
 * The recipe's parameter groups with the backbone's learning rates scaled by backboneLrRatio
 * (frozen parameters left out): the fresh classifier learns at full speed, the pre-trained
 * features move gently. Returns the optimizer and a StepLR as createFanetOptimizer does.
 */
export function createFineTuneOptimizer(model: LightCNN, options: FineTuneOptimizerOptions): { optimizer: FanetOptimizer; scheduler: StepLR; lr: number } {
  const kind = options.optimizer ?? 'adam';
  if (!(options.backboneLrRatio > 0 && options.backboneLrRatio <= 1)) throw new Error(`fine-tuning: backboneLrRatio must be in (0, 1], got ${options.backboneLrRatio}`);
  const lr = options.lr ?? (kind === 'adam' ? 1e-3 : (FANET_RECIPE.baseLr * options.batchSize) / FANET_RECIPE.baseBatchSize);
  const weightDecay = options.weightDecay ?? FANET_RECIPE.weightDecay;
  const groups = fanetParamGroups(model, lr, weightDecay)
    .map(({ role, ...group }) => {
      const classifier = role.startsWith('classifier');
      // Adam: one lr per part (no 2× / 10× factors: Adam's steps do not scale with the lr factors the same way).
      const base = kind === 'adam' ? lr : group.lr!;
      return { ...group, params: group.params.filter((p) => p.requiresGrad), lr: classifier ? base : base * options.backboneLrRatio };
    })
    .filter((group) => group.params.length > 0);
  const optimizer = kind === 'adam'
    ? new Adam(groups as ParamsInput<AdamHyper>, { lr, weightDecay })
    : new SGD(groups as ParamsInput<SgdHyper>, { lr, momentum: FANET_RECIPE.momentum, weightDecay });
  const scheduler = new StepLR(optimizer, { stepSize: FANET_RECIPE.stepSize, gamma: FANET_RECIPE.gamma });
  return { optimizer, scheduler, lr };
}
