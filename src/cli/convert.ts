// `webfer convert`: a PyTorch checkpoint (.pth / .pth.tar, zip or legacy format) → safetensors
// with the reference state-dict names, checked against webfer's LightCNN variants.
import { existsSync, lstatSync, readFileSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import type { CommandModule } from 'yargs';
import { init } from '../gpu/index.js';
import { LIGHTCNN_VARIANTS, type LightCNNVariant } from '../models/lightcnn.js';
import { detectLightCNN, floatTensors } from '../models/lightcnn-detect.js';
import { readPytorchCheckpoint } from '../nn/pytorch/index.js';
import { encodeSafetensors, parseSafetensorsHeader, readHeaderLength, type HostArray } from '../nn/safetensors.js';
import { writeFileAtomic } from '../node/atomic-write.js';
import { formatBytes } from './format.js';
import { checkOutputFile } from './option-checks.js';

interface ConvertArgs {
  file: string;
  out: string;
  model?: LightCNNVariant;
  key?: string;
  overwrite: boolean;
}

function listSome(names: string[], limit: number): string {
  return names.length <= limit ? names.join(', ') : `${names.slice(0, limit).join(', ')} and ${names.length - limit} more`;
}

/** Whether replacing `out` (a rename over it, so a link there is replaced, not its target) would replace the file `input` reads. */
function replacesInput(out: string, input: string): boolean {
  try {
    const [x, y] = [lstatSync(out), statSync(input)];
    return x.dev === y.dev && x.ino === y.ino;
  } catch {
    return false;
  }
}

/** A file whose header keeps every safetensors rule (what convert writes, or a webfer checkpoint). */
function isSafetensors(bytes: Uint8Array): boolean {
  try {
    const headerLength = readHeaderLength(bytes.subarray(0, 8), bytes.length, '');
    parseSafetensorsHeader(bytes.subarray(8, 8 + headerLength), bytes.length, '');
    return true;
  } catch {
    return false;
  }
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
    checkOutputFile(argv.out, '--out', `${basename(argv.file).replace(/\.pth(\.tar)?$/, '')}.safetensors`);
    if (existsSync(argv.out) && replacesInput(argv.out, argv.file)) {
      throw new Error(`--out ${argv.out} is the checkpoint being converted (${argv.file}): writing there would replace it; choose another --out, e.g. --out ${basename(argv.file).replace(/\.pth(\.tar)?$/, '')}.safetensors`);
    }
    if (existsSync(argv.out) && !argv.overwrite) throw new Error(`--out ${argv.out} exists: pass --overwrite to replace it, or choose another --out`);
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(argv.file);
    } catch (error) {
      throw new Error(`cannot read ${argv.file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}; check the path`);
    }
    // It was called "neither a zip archive nor a pickle: not a PyTorch checkpoint".
    if (isSafetensors(bytes)) throw new Error(`${argv.file} is already safetensors (convert reads PyTorch .pth / .pth.tar): pass it as it is to \`webfer train --init-from ${argv.file}\``);
    const checkpoint = readPytorchCheckpoint(bytes, { source: argv.file, key: argv.key });
    const other = Object.entries(checkpoint.otherEntries).map(([k, v]) => `${k} ${v}`);
    console.log(
      `read ${argv.file}: PyTorch ${checkpoint.format} format, ${checkpoint.stateDictKey === null ? 'a bare state dict' : `the state dict under '${checkpoint.stateDictKey}'`}` +
        (other.length ? ` (also: ${other.join(', ')})` : '') +
        (checkpoint.strippedPrefix ? `; DataParallel prefix '${checkpoint.strippedPrefix}' removed from ${checkpoint.tensors.size} keys` : ''),
    );

    const { tensors, skipped, byDtype } = floatTensors(checkpoint.tensors);
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
    const detected = deviceError ? undefined : detectLightCNN(tensors, { variant: argv.model, source: argv.file });
    const check = !detected
      ? { config: null, summary: `not checked against webfer's models (no WebGPU device: ${deviceError!.message.split('\n')[0]})` }
      : detected.config ? detected : { config: null, summary: `not a webfer LightCNN: ${detected.problem}; written as is` };
    console.log(check.summary);

    const metadata: Record<string, string> = { converted_from: basename(argv.file), source_format: `pytorch-${checkpoint.format}` };
    if (check.config) metadata.model = JSON.stringify(check.config);
    const encoded = encodeSafetensors(new Map<string, HostArray>([...tensors].map(([name, t]) => [name, { shape: t.shape, data: t.data }])), metadata);
    writeFileAtomic(argv.out, encoded);
    console.log(`wrote ${argv.out} (${formatBytes(encoded.length)})`);
  },
};
