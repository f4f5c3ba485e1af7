// Which webfer LightCNN a foreign state dict (a PyTorch checkpoint's names and shapes) is: the
// variant from its keys, then width, input channels, classes and input size from its shapes,
// checked by building that model and comparing every shape. Browser-safe: `webfer convert` and
// the browser page's checkpoint loader both call it. Building models needs the device (init()).
import { readPytorchCheckpoint, type CheckpointFormat, type TorchDtype } from '../nn/pytorch/index.js';
import { createLightCNN, LIGHTCNN_VARIANTS, type LightCNN, type LightCNNConfig, type LightCNNVariant } from './lightcnn.js';
import type { HostTensor } from '../nn/module.js';
import { assertFiniteTensors } from '../nn/safetensors.js';

/** What detection reads of a tensor. */
export interface ShapedTensor {
  shape: readonly number[];
}

/** light_cnn.py's first layer is mfm(1, 48, 5, 1, 2): its width fixes the width multiplier. */
const REFERENCE_FIRST_CONV_CHANNELS = 48;

/** Where each variant keeps the tensors the configuration is read from. */
const CONFIG_KEYS: Record<LightCNNVariant, { firstConv: string; lastConv: string; embedding: string }> = {
  lightcnn9: { firstConv: 'features.0.filter.weight', lastConv: 'features.7.conv.filter.weight', embedding: 'fc1.filter.weight' },
  lightcnn29: { firstConv: 'conv1.filter.weight', lastConv: 'group4.conv.filter.weight', embedding: 'fc.filter.weight' },
  lightcnn29v2: { firstConv: 'conv1.filter.weight', lastConv: 'group4.conv.filter.weight', embedding: 'fc.weight' },
};

const FLOAT_DTYPES: ReadonlySet<TorchDtype> = new Set<TorchDtype>(['float32', 'float16', 'bfloat16', 'float64']);

const shapeText = (shape: readonly number[]) => `[${shape.join(', ')}]`;

function listSome(names: string[], limit = 3): string {
  return names.length <= limit ? names.join(', ') : `${names.slice(0, limit).join(', ')} and ${names.length - limit} more`;
}

export interface FloatTensors<T> {
  /** The floating-point tensors, in order. */
  tensors: Map<string, T>;
  /** The others as "name (dtype [shape])": integer counters such as BatchNorm's num_batches_tracked, which webfer's modules do not keep. */
  skipped: string[];
  /** How many tensors of each float dtype were kept. */
  byDtype: Map<TorchDtype, number>;
}

/** Splits a PyTorch state dict into the float tensors webfer's modules hold and the integer ones they do not. */
export function floatTensors<T extends ShapedTensor & { dtype: TorchDtype }>(tensors: ReadonlyMap<string, T>): FloatTensors<T> {
  const kept = new Map<string, T>();
  const skipped: string[] = [];
  const byDtype = new Map<TorchDtype, number>();
  for (const [name, t] of tensors) {
    if (!FLOAT_DTYPES.has(t.dtype)) {
      skipped.push(`${name} (${t.dtype} ${shapeText(t.shape)})`);
      continue;
    }
    kept.set(name, t);
    byDtype.set(t.dtype, (byDtype.get(t.dtype) ?? 0) + 1);
  }
  return { tensors: kept, skipped, byDtype };
}

export function describeLightCNNConfig(config: LightCNNConfig): string {
  const channels = config.inputChannels ?? 1;
  return `${config.variant} (width ${config.widthMultiplier}, ${channels} input channel${channels === 1 ? '' : 's'}, ${config.classes} classes, ${config.inputSize} px${config.batchNorm ? ', batch norm' : ''})`;
}

/** The state-dict keys of each variant (with or without batch norm), from tiny probe models. */
function variantKeys(batchNorm: boolean): Map<LightCNNVariant, Set<string>> {
  const keys = new Map<LightCNNVariant, Set<string>>();
  for (const variant of LIGHTCNN_VARIANTS) {
    const probe = createLightCNN({ variant, classes: 1, inputSize: 16, widthMultiplier: 1 / REFERENCE_FIRST_CONV_CHANNELS, batchNorm });
    keys.set(variant, new Set(probe.stateDict().keys()));
    probe.dispose();
  }
  return keys;
}

/** The variant whose keys overlap the checkpoint's most (Jaccard), if it shares at least half of them. */
function closestVariant(names: string[], keys: Map<LightCNNVariant, Set<string>>): { variant: LightCNNVariant; exact: boolean } | null {
  let best: { variant: LightCNNVariant; score: number; exact: boolean } | null = null;
  for (const [variant, own] of keys) {
    const shared = names.filter((n) => own.has(n)).length;
    const score = shared / (names.length + own.size - shared);
    if (!best || score > best.score) best = { variant, score, exact: shared === names.length && shared === own.size };
  }
  return best && best.score >= 0.5 ? best : null;
}

/** Reads width, input channels, classes and input size of a `variant` from the checkpoint's shapes. */
function inferConfig(variant: LightCNNVariant, tensors: ReadonlyMap<string, ShapedTensor>, batchNorm: boolean): LightCNNConfig {
  const { firstConv, lastConv, embedding } = CONFIG_KEYS[variant];
  const shapeOf = (name: string, rank: number) => {
    const t = tensors.get(name);
    if (!t || t.shape.length !== rank) throw new Error(`tensor ${name} is ${t ? shapeText(t.shape) : 'missing'}; ${variant} needs a ${rank}-d tensor there`);
    return t.shape;
  };
  const first = shapeOf(firstConv, 4);
  const groupOut = shapeOf(lastConv, 4)[0]! / 2;
  const flatten = shapeOf(embedding, 2)[1]!;
  const classes = shapeOf('fc2.weight', 2)[0]!;
  const side = Math.sqrt(flatten / groupOut);
  if (!Number.isInteger(side)) {
    throw new Error(`tensor ${embedding} is ${shapeText(tensors.get(embedding)!.shape)}: ${flatten} inputs are not ${groupOut} channels × s² for any side s, as ${variant}'s flatten needs`);
  }
  return { variant, classes, inputChannels: first[1], widthMultiplier: first[0]! / 2 / REFERENCE_FIRST_CONV_CHANNELS, inputSize: 16 * side, batchNorm };
}

/** Every shape that differs from the model built with `config`, as "tensor name is [..], variant expects [..]". */
function shapeMismatches(config: LightCNNConfig, tensors: ReadonlyMap<string, ShapedTensor>): string[] {
  const model = createLightCNN(config);
  try {
    const problems: string[] = [];
    for (const [name, t] of model.stateDict()) {
      const own = tensors.get(name);
      if (own && (own.shape.length !== t.shape.length || own.shape.some((d, i) => d !== t.shape[i]))) problems.push(`tensor ${name} is ${shapeText(own.shape)}, ${config.variant} expects ${shapeText(t.shape)}`);
    }
    return problems;
  } finally {
    model.dispose();
  }
}

/** Whether a state dict's keys are those of a LightCNN built with batch norm (its MFM layers' running statistics). */
export function hasBatchNormKeys(names: Iterable<string>): boolean {
  for (const name of names) if (name.endsWith('.norm.running_mean')) return true;
  return false;
}

export type LightCNNDetection =
  | { config: LightCNNConfig; summary: string; problem?: undefined }
  | { config: null; summary?: undefined; problem: string };

export interface DetectLightCNNOptions {
  /** Require this variant: a misfit throws (naming `source`) instead of being reported. */
  variant?: LightCNNVariant;
  /** Names the file in thrown errors. */
  source: string;
}

/**
 * The LightCNN configuration every key and shape of `tensors` (float tensors only: see
 * floatTensors) fits, with a one-line summary; or, when none fits, the reason in one line.
 */
export function detectLightCNN(tensors: ReadonlyMap<string, ShapedTensor>, options: DetectLightCNNOptions): LightCNNDetection {
  const wanted = options.variant;
  const names = [...tensors.keys()];
  const batchNorm = hasBatchNormKeys(names);
  const keys = variantKeys(batchNorm);
  const closest = closestVariant(names, keys);
  const looksLike = closest ? `the keys ${closest.exact ? 'are' : 'are closest to'} ${closest.variant}'s` : 'the keys match none of webfer\'s LightCNN variants';
  const variant = wanted ?? (closest?.exact ? closest.variant : undefined);
  const fail = (problem: string): LightCNNDetection => {
    if (wanted) throw new Error(`${options.source}: ${problem}`);
    return { config: null, problem };
  };
  if (!variant) {
    if (!closest) return fail(`${looksLike} (first keys: ${listSome(names)})`);
    const own = keys.get(closest.variant)!;
    const missing = [...own].filter((k) => !tensors.has(k));
    const unexpected = names.filter((n) => !own.has(n));
    return fail(`${looksLike}, but ${[missing.length ? `missing ${listSome(missing)}` : '', unexpected.length ? `unexpected ${listSome(unexpected)}` : ''].filter(Boolean).join('; ')}`);
  }
  const own = keys.get(variant)!;
  const missing = [...own].filter((k) => !tensors.has(k));
  const unexpected = names.filter((n) => !own.has(n));
  if (missing.length || unexpected.length) {
    const advice = closest?.exact ? `: pass --model ${closest.variant}` : '';
    const parts = [missing.length ? `missing ${listSome(missing)}` : '', unexpected.length ? `unexpected ${listSome(unexpected)}` : ''].filter(Boolean).join('; ');
    return fail(`the keys do not fit ${variant} (${parts}); ${looksLike}${advice}`);
  }
  let config: LightCNNConfig;
  try {
    config = inferConfig(variant, tensors, batchNorm);
    createLightCNN(config).dispose();
  } catch (error) {
    return fail(`the keys are ${variant}'s but its configuration cannot be read from the shapes: ${(error as Error).message.replace(/^LightCNN: /, '')}`);
  }
  const mismatches = shapeMismatches(config, tensors);
  if (mismatches.length) {
    const more = mismatches.length > 1 ? ` (${mismatches.length - 1} more: ${listSome(mismatches.slice(1).map((m) => m.split(' ')[1]!))})` : '';
    return fail(`${mismatches[0]}${more}; the keys are ${variant}'s, read as ${describeLightCNNConfig(config)}, but that tensor's shape is not: the file was saved from a different architecture`);
  }
  return { config, summary: `every key and shape fits ${describeLightCNNConfig(config)}` };
}

/**
 * A LightCNN built and loaded from a PyTorch checkpoint's bytes (zip or legacy torch.save, bare
 * or under state_dict), its architecture detected as above. Throws one line naming `source` when
 * the file is not a state dict of a LightCNN webfer can build.
 */
export function lightCNNFromPytorch(bytes: Uint8Array, source: string): { model: LightCNN; config: LightCNNConfig; format: CheckpointFormat; summary: string } {
  const checkpoint = readPytorchCheckpoint(bytes, { source });
  const { tensors } = floatTensors(checkpoint.tensors);
  if (tensors.size === 0) throw new Error(`${source} holds no floating-point tensors, so no model weights`);
  // As `--init-from` refuses them: weights holding NaN / inf would predict NaN.
  assertFiniteTensors(tensors, source);
  return { ...lightCNNFromStateDict(tensors, source), format: checkpoint.format };
}

/**
 * A LightCNN built and loaded from a state dict's float tensors (a PyTorch checkpoint's, or a
 * safetensors file of weights only such as `webfer convert` writes), its architecture detected
 * from the names and shapes. Throws one line naming `source` when they are no LightCNN webfer can build.
 */
export function lightCNNFromStateDict(tensors: Map<string, HostTensor>, source: string): { model: LightCNN; config: LightCNNConfig; summary: string } {
  const detected = detectLightCNN(tensors, { source });
  if (!detected.config) throw new Error(`${source} is not a LightCNN state dict webfer can build: ${detected.problem}`);
  const model = createLightCNN(detected.config);
  try {
    model.loadStateDict(tensors, { strict: true });
  } catch (error) {
    model.dispose();
    throw error;
  }
  return { model, config: detected.config, summary: detected.summary };
}
