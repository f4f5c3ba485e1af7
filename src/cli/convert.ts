// `webfer convert`: a PyTorch checkpoint (.pth / .pth.tar, zip or legacy format) → safetensors
// with the reference state-dict names, checked against webfer's LightCNN variants.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import type { CommandModule } from 'yargs';
import { init } from '../gpu/index.js';
import { createLightCNN, LIGHTCNN_VARIANTS, type LightCNNConfig, type LightCNNVariant } from '../models/lightcnn.js';
import { readPytorchCheckpoint, type PytorchTensor } from '../nn/pytorch/index.js';
import { encodeSafetensors, type HostArray } from '../nn/safetensors.js';
import { writeFileAtomic } from '../node/checkpoint.js';

interface ConvertArgs {
  file: string;
  out: string;
  model?: LightCNNVariant;
  key?: string;
  overwrite: boolean;
}

/** light_cnn.py's first layer is mfm(1, 48, 5, 1, 2): its width fixes the width multiplier. */
const REFERENCE_FIRST_CONV_CHANNELS = 48;

/** Where each variant keeps the tensors the configuration is read from. */
const CONFIG_KEYS: Record<LightCNNVariant, { firstConv: string; lastConv: string; embedding: string }> = {
  lightcnn9: { firstConv: 'features.0.filter.weight', lastConv: 'features.7.conv.filter.weight', embedding: 'fc1.filter.weight' },
  lightcnn29: { firstConv: 'conv1.filter.weight', lastConv: 'group4.conv.filter.weight', embedding: 'fc.filter.weight' },
  lightcnn29v2: { firstConv: 'conv1.filter.weight', lastConv: 'group4.conv.filter.weight', embedding: 'fc.weight' },
};

const FLOAT_DTYPES = new Set(['float32', 'float16', 'bfloat16', 'float64']);

const shapeText = (shape: readonly number[]) => `[${shape.join(', ')}]`;

function listSome(names: string[], limit = 3): string {
  return names.length <= limit ? names.join(', ') : `${names.slice(0, limit).join(', ')} and ${names.length - limit} more`;
}

function describeConfig(config: LightCNNConfig): string {
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
function inferConfig(variant: LightCNNVariant, tensors: Map<string, PytorchTensor>, batchNorm: boolean): LightCNNConfig {
  const { firstConv, lastConv, embedding } = CONFIG_KEYS[variant];
  const shapeOf = (name: string, rank: number) => {
    const t = tensors.get(name);
    if (!t || t.shape.length !== rank) throw new Error(`tensor ${name} is ${t ? shapeText(t.shape) : 'missing'}; ${variant} needs a ${rank}-d tensor there`);
    return t.shape;
  };
  const first = shapeOf(firstConv, 4);
  const groupOut = shapeOf(lastConv, 4)[0] / 2;
  const flatten = shapeOf(embedding, 2)[1];
  const classes = shapeOf('fc2.weight', 2)[0];
  const side = Math.sqrt(flatten / groupOut);
  if (!Number.isInteger(side)) {
    throw new Error(`tensor ${embedding} is ${shapeText(tensors.get(embedding)!.shape)}: ${flatten} inputs are not ${groupOut} channels × s² for any side s, as ${variant}'s flatten needs`);
  }
  return { variant, classes, inputChannels: first[1], widthMultiplier: first[0] / 2 / REFERENCE_FIRST_CONV_CHANNELS, inputSize: 16 * side, batchNorm };
}

/** Every shape that differs from the model built with `config`, as "name is [..], expects [..]". */
function shapeMismatches(config: LightCNNConfig, tensors: Map<string, PytorchTensor>): string[] {
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

interface ModelCheck {
  /** The configuration every key and shape fits, or null. */
  config: LightCNNConfig | null;
  /** What was found, one line. */
  summary: string;
}

/** Compares the float tensors with webfer's LightCNN variants; throws when `wanted` is given and does not fit. */
function checkAgainstModels(tensors: Map<string, PytorchTensor>, wanted: LightCNNVariant | undefined, source: string): ModelCheck {
  const names = [...tensors.keys()];
  const batchNorm = names.some((n) => n.endsWith('.norm.running_mean'));
  const keys = variantKeys(batchNorm);
  const closest = closestVariant(names, keys);
  const looksLike = closest ? `the keys ${closest.exact ? 'are' : 'are closest to'} ${closest.variant}'s` : 'the keys match none of webfer\'s LightCNN variants';
  const variant = wanted ?? (closest?.exact ? closest.variant : undefined);
  const fail = (message: string): ModelCheck => {
    if (wanted) throw new Error(`${source}: ${message}`);
    return { config: null, summary: `not a webfer LightCNN: ${message}; written as is` };
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
    const more = mismatches.length > 1 ? ` (${mismatches.length - 1} more: ${listSome(mismatches.slice(1).map((m) => m.split(' ')[1]))})` : '';
    return fail(`${mismatches[0]}${more}; the keys are ${variant}'s, read as ${describeConfig(config)}, but that tensor's shape is not: the file was saved from a different architecture`);
  }
  return { config, summary: `every key and shape fits ${describeConfig(config)}` };
}

function formatBytes(bytes: number): string {
  return bytes >= 2 ** 20 ? `${(bytes / 2 ** 20).toFixed(1)} MiB` : `${(bytes / 1024).toFixed(1)} KiB`;
}

export const convertCommand: CommandModule<object, ConvertArgs> = {
  command: 'convert <file>',
  describe: 'Convert a PyTorch checkpoint (.pth / .pth.tar, zip or legacy format) to safetensors with the reference names',
  builder: (yargs) =>
    yargs
      .positional('file', { type: 'string', demandOption: true, describe: 'torch.save file: a state dict, or a dict holding one under state_dict' })
      .option('out', { type: 'string', demandOption: true, describe: 'safetensors file to write' })
      .option('model', { type: 'string', choices: LIGHTCNN_VARIANTS, describe: 'require every key and shape to fit this LightCNN (width, classes and input size are read from the shapes)' })
      .option('key', { type: 'string', describe: 'top-level key of the state dict (default: state_dict when present, else the whole file)' })
      .option('overwrite', { type: 'boolean', default: false, describe: 'replace --out if it exists' }) as never,
  handler: async (argv) => {
    if (existsSync(argv.out) && !argv.overwrite) throw new Error(`--out ${argv.out} exists: pass --overwrite to replace it, or choose another --out`);
    if (existsSync(argv.out) && statSync(argv.out).isDirectory()) throw new Error(`--out ${argv.out} is a folder: name a file, e.g. --out ${argv.out.replace(/\/$/, '')}/${basename(argv.file).replace(/\.pth(\.tar)?$/, '')}.safetensors`);
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(argv.file);
    } catch (error) {
      throw new Error(`cannot read ${argv.file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}; check the path`);
    }
    const checkpoint = readPytorchCheckpoint(bytes, { source: argv.file, key: argv.key });
    const other = Object.entries(checkpoint.otherEntries).map(([k, v]) => `${k} ${v}`);
    console.log(
      `read ${argv.file}: PyTorch ${checkpoint.format} format, ${checkpoint.stateDictKey === null ? 'a bare state dict' : `the state dict under '${checkpoint.stateDictKey}'`}` +
        (other.length ? ` (also: ${other.join(', ')})` : '') +
        (checkpoint.strippedPrefix ? `; DataParallel prefix '${checkpoint.strippedPrefix}' removed from ${checkpoint.tensors.size} keys` : ''),
    );

    const tensors = new Map<string, PytorchTensor>();
    const skipped: string[] = [];
    const byDtype = new Map<string, number>();
    for (const [name, t] of checkpoint.tensors) {
      if (!FLOAT_DTYPES.has(t.dtype)) {
        skipped.push(`${name} (${t.dtype} ${shapeText(t.shape)})`);
        continue;
      }
      tensors.set(name, t);
      byDtype.set(t.dtype, (byDtype.get(t.dtype) ?? 0) + 1);
    }
    const values = [...tensors.values()].reduce((n, t) => n + t.data.length, 0);
    console.log(`${tensors.size} tensors, ${values.toLocaleString('en')} values: ${[...byDtype].map(([d, n]) => `${n} ${d}`).join(', ')}`);
    if (byDtype.has('float16') || byDtype.has('bfloat16')) console.log('float16 / bfloat16 widened to float32 (exact)');
    if (byDtype.has('float64')) console.log(`float64 rounded to float32 (${byDtype.get('float64')} tensor${byDtype.get('float64') === 1 ? '' : 's'}; about 7 significant digits kept)`);
    // Integer tensors are counters (BatchNorm's num_batches_tracked), which webfer's modules do not keep.
    if (skipped.length) console.log(`skipped ${skipped.length} integer tensor${skipped.length === 1 ? '' : 's'} webfer's modules do not keep: ${listSome(skipped, 5)}`);
    if (tensors.size === 0) throw new Error(`${argv.file}: no floating-point tensors to convert`);

    // The check builds the models, which needs the device; without one the file is still converted.
    let deviceError: Error | undefined;
    await init().catch((error: Error) => {
      if (argv.model) throw error;
      deviceError = error;
    });
    const check: ModelCheck = deviceError
      ? { config: null, summary: `not checked against webfer's models (no WebGPU device: ${deviceError.message.split('\n')[0]})` }
      : checkAgainstModels(tensors, argv.model, argv.file);
    console.log(check.summary);

    const metadata: Record<string, string> = { converted_from: basename(argv.file), source_format: `pytorch-${checkpoint.format}` };
    if (check.config) metadata.model = JSON.stringify(check.config);
    const encoded = encodeSafetensors(new Map<string, HostArray>([...tensors].map(([name, t]) => [name, { shape: t.shape, data: t.data }])), metadata);
    writeFileAtomic(argv.out, encoded);
    console.log(`wrote ${argv.out} (${formatBytes(encoded.length)})`);
  },
};
