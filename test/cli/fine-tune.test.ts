// `webfer train --init-from / --freeze / --preset` as a user runs them: a Fa-Net trained by webfer
// and a PyTorch checkpoint (test/reference/fixtures/pytorch/) start a run on a 7-class
// FER2013-format set; frozen features come out bit-identical to the file's, the classifier is new.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { encodePng } from '../../src/data/codecs.js';
import { FER2013_CLASSES } from '../../src/data/labels.js';
import { init } from '../../src/index.js';
import { createLightCNN } from '../../src/models/lightcnn.js';
import { loadSafetensors, saveSafetensors } from '../../src/node/checkpoint.js';
import { errorLines, removeDir, repoRoot, runCli, tempDir, type CliResult } from './run-cli.js';

const work = tempDir('webfer-fine-tune-');
const at = (...parts: string[]) => join(work, ...parts);
const run = (args: string[]) => runCli(args, { cwd: work, timeoutMs: 180_000 });
const fixture = join(repoRoot, 'test/reference/fixtures/pytorch/lightcnn9-tiny.pth');
const TINY = ['--batch-size', '8', '--epochs', '1'];
const seed = Date.now() % 100_000;

function assertOk(result: CliResult): void {
  assert.is(result.code, 0, `${result.command} exited ${result.code} (seed ${seed}):\n${result.stderr}`);
  assert.equal(errorLines(result), [], `${result.command} printed errors`);
}

function assertRefused(result: CliResult, pattern: RegExp): void {
  assert.is(result.code, 1, `${result.command} should fail:\n${result.stderr}`);
  const lines = errorLines(result);
  assert.is(lines.length, 1, `${result.command}: one error line, got ${JSON.stringify(lines)}`);
  assert.match(lines[0]!, pattern);
}

/** A FER2013-format CSV (emotion,pixels,Usage) of random 48×48 faces, every class in every part. */
function writeFer2013(path: string): void {
  let state = seed;
  const next = () => (state = (state * 1_103_515_245 + 12_345) % 2 ** 31) % 256;
  const rows = ['emotion,pixels,Usage'];
  for (const [usage, perClass] of [['Training', 3], ['PublicTest', 1], ['PrivateTest', 1]] as const) {
    for (let emotion = 0; emotion < 7; emotion++) {
      for (let k = 0; k < perClass; k++) rows.push(`${emotion},${Array.from({ length: 48 * 48 }, next).join(' ')},${usage}`);
    }
  }
  writeFileSync(path, `${rows.join('\n')}\n`);
}

const features = (path: string, prefix = 'model.') =>
  new Map([...loadSafetensors(path).tensors].filter(([name]) => name.startsWith(prefix) && !name.startsWith(`${prefix}fc2.`)).map(([name, t]) => [name.slice(prefix.length), t]));

test('setup: a tiny Fa-Net on synthetic F²ED and a FER2013-format set', async () => {
  writeFer2013(at('fer2013.csv'));
  assertOk(await run(['train', '--width', '0.125', '--input-size', '32', '--synth-subjects', '2', '--synth-expressions', '2', '--seed', String(seed % 5), ...TINY, '--out', 'pretrained']));
});

test('--init-from a webfer checkpoint takes its architecture, replaces the classifier and --freeze keeps the features', async () => {
  const result = await run(['train', '--data', 'fer2013.csv', '--init-from', 'pretrained/checkpoint.safetensors', '--freeze', 'features', ...TINY, '--out', 'fer']);
  assertOk(result);
  assert.match(result.stderr, /initialised from webfer Fa-Net checkpoint pretrained\/checkpoint\.safetensors \(after epoch 1\): \d+ tensors; a new classifier for 7 classes \(the file's has 54\); \d+ feature parameters frozen/);
  assert.match(result.stderr, /lightcnn9 \(width 0\.125, 32 px/);
  const before = features(at('pretrained', 'checkpoint.safetensors'));
  const after = features(at('fer', 'checkpoint.safetensors'));
  assert.equal([...after.keys()], [...before.keys()]);
  for (const [name, tensor] of before) assert.equal(after.get(name)!.data, tensor.data, `${name} stayed as loaded`);
  const classifier = loadSafetensors(at('fer', 'checkpoint.safetensors')).tensors.get('model.fc2.weight')!;
  assert.is(classifier.shape[0], 7);
});

test('--init-from a PyTorch checkpoint loads its reference-named weights', async () => {
  const result = await run(['train', '--data', 'fer2013.csv', '--init-from', fixture, '--width', '0.0625', '--input-size', '32', '--freeze', 'features', ...TINY, '--out', 'fer-pth']);
  assertOk(result);
  assert.match(result.stderr, /initialised from PyTorch checkpoint \(zip format\) .*lightcnn9-tiny\.pth: \d+ tensors; a new classifier for 7 classes \(the file's has 5\)/);
  assertOk(await run(['convert', fixture, '--out', 'converted.safetensors']));
  const reference = features(at('converted.safetensors'), '');
  const after = features(at('fer-pth', 'checkpoint.safetensors'));
  assert.ok(reference.size > 5, `${reference.size} feature tensors in the fixture`);
  for (const [name, tensor] of reference) assert.equal(after.get(name)?.data, tensor.data, `${name} is the PyTorch file's`);
});

interface TorchTensor {
  dtype: 'F32' | 'F64' | 'I64';
  shape: readonly number[];
  data: ArrayLike<number>;
}

/** What safetensors.torch.save_file(state_dict, path) writes: each tensor in its own dtype, metadata {format: pt}. */
function writeTorchSafetensors(path: string, tensors: ReadonlyMap<string, TorchTensor>): void {
  const bytesPer = { F32: 4, F64: 8, I64: 8 };
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  let offset = 0;
  for (const [name, t] of tensors) {
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytesPer[t.dtype] * t.data.length] };
    offset += bytesPer[t.dtype] * t.data.length;
  }
  const json = Buffer.from(JSON.stringify(header));
  const file = Buffer.alloc(8 + json.length + offset);
  file.writeBigUInt64LE(BigInt(json.length), 0);
  json.copy(file, 8);
  let position = 8 + json.length;
  for (const t of tensors.values()) {
    for (let i = 0; i < t.data.length; i++) {
      const value = t.data[i]!;
      if (t.dtype === 'F32') file.writeFloatLE(value, position);
      else if (t.dtype === 'F64') file.writeDoubleLE(value, position);
      else file.writeBigInt64LE(BigInt(value), position);
      position += bytesPer[t.dtype];
    }
  }
  writeFileSync(path, file);
}

test('--init-from a safetensors state dict PyTorch wrote in float64 loads it, rounded to f32 as load_state_dict copies it', async () => {
  // safetensors.torch.save_file(model.double().state_dict(), FILE).
  const reference = loadSafetensors(at('converted.safetensors')).tensors;
  writeTorchSafetensors(at('torch-f64.safetensors'), new Map([...reference].map(([name, t]) => [name, { dtype: 'F64', shape: t.shape, data: t.data }])));

  const result = await run(['train', '--data', 'fer2013.csv', '--init-from', 'torch-f64.safetensors', '--width', '0.0625', '--input-size', '32', '--freeze', 'features', ...TINY, '--out', 'fer-f64']);
  assertOk(result);
  assert.match(result.stderr, /initialised from state dict torch-f64\.safetensors: \d+ tensors; a new classifier for 7 classes \(the file's has 5\)/);
  const after = features(at('fer-f64', 'checkpoint.safetensors'));
  for (const [name, tensor] of features(at('converted.safetensors'), '')) assert.equal(after.get(name)?.data, tensor.data, `${name} is the float64 file's`);
});

test('--init-from a batch-norm LightCNN state dict as PyTorch saves it (running statistics, I64 num_batches_tracked): batch norm read from its keys', async () => {
  await init();
  const model = createLightCNN({ variant: 'lightcnn9', classes: 5, inputSize: 32, widthMultiplier: 0.0625, batchNorm: true });
  const state = new Map<string, TorchTensor>();
  for (const [name, t] of model.stateDict()) {
    const data = await t.toArray();
    // Running statistics as a trained model has them, not the fresh 0 / 1.
    if (name.endsWith('running_var') || name.endsWith('running_mean')) data.forEach((_, i) => (data[i] = 0.5 + ((i * 7919 + seed) % 101) / 100));
    state.set(name, { dtype: 'F32', shape: t.shape, data });
    if (name.endsWith('.norm.running_var')) state.set(name.replace('running_var', 'num_batches_tracked'), { dtype: 'I64', shape: [], data: [120] });
  }
  model.dispose();
  writeTorchSafetensors(at('torch-batch-norm.safetensors'), state);
  const result = await run(['train', '--data', 'fer2013.csv', '--init-from', 'torch-batch-norm.safetensors', '--width', '0.0625', '--input-size', '32', '--freeze', 'features', ...TINY, '--out', 'fer-batch-norm']);
  assertOk(result);
  const after = loadSafetensors(at('fer-batch-norm', 'checkpoint.safetensors'));
  assert.ok(JSON.parse(after.metadata.run!).config.batchNorm, 'the run\'s model has batch norm');
  // The frozen parameters are the file's; the running statistics moved on in training mode, as PyTorch's do under requires_grad_(False).
  for (const [name, t] of state) {
    if (t.dtype !== 'F32' || name.startsWith('fc2.') || name.includes('.running_')) continue;
    assert.equal(after.tensors.get(`model.${name}`)?.data, Float32Array.from(t.data), `${name} is the file's`);
  }
});

test('--init-from a safetensors state dict saved from a DataParallel model: \'module.\' removed as for a .pth', async () => {
  // safetensors.torch.save_file(torch.nn.DataParallel(model).state_dict(), FILE): every key starts with module.
  const reference = loadSafetensors(at('converted.safetensors')).tensors;
  saveSafetensors(at('data-parallel.safetensors'), new Map([...reference].map(([name, t]) => [`module.${name}`, t])), { format: 'pt' });
  const result = await run(['train', '--data', 'fer2013.csv', '--init-from', 'data-parallel.safetensors', '--width', '0.0625', '--input-size', '32', '--freeze', 'features', ...TINY, '--out', 'fer-data-parallel']);
  assertOk(result);
  assert.match(result.stderr, new RegExp(`initialised from state dict data-parallel\\.safetensors \\(DataParallel prefix 'module\\.' removed from ${reference.size} keys\\): \\d+ tensors`));
  const after = features(at('fer-data-parallel', 'checkpoint.safetensors'));
  for (const [name, tensor] of features(at('converted.safetensors'), '')) assert.equal(after.get(name)?.data, tensor.data, `${name} is the file's`);
});

test('eval on class folders of the same faces: their alphabetical classes are matched by name to the checkpoint\'s FER2013 order', async () => {
  // The FER2013 rows as PNGs in class folders: a folder dataset numbers angry, disgust, fear, happy, neutral, sad, surprise;
  // FER2013 (and the checkpoint) angry, disgust, fear, happy, sad, surprise, neutral. Output 4 of the model means sad.
  const rows = readFileSync(at('fer2013.csv'), 'utf8').trim().split('\n').slice(1);
  rows.forEach((row, k) => {
    const [emotion, pixels] = row.split(',') as [string, string];
    const folder = at('fer-folders', FER2013_CLASSES[Number(emotion)]!);
    mkdirSync(folder, { recursive: true });
    writeFileSync(join(folder, `${k}.png`), encodePng({ width: 48, height: 48, channels: 1, data: Uint8Array.from(pixels.split(' ').map(Number)) }));
  });
  const evaluate = async (data: string) => {
    const result = await run(['eval', '--checkpoint', 'fer/checkpoint.safetensors', '--data', data, '--split', 'all', '--json']);
    assertOk(result);
    return { report: JSON.parse(result.stdout) as { count: number; classes: string[]; confusion: number[][]; perClassCount: number[] }, stderr: result.stderr };
  };
  const fromCsv = await evaluate('fer2013.csv');
  const fromFolders = await evaluate('fer-folders');
  assert.is(fromFolders.report.count, rows.length);
  assert.equal(fromFolders.report.classes, [...FER2013_CLASSES]);
  assert.equal(fromFolders.report.perClassCount, fromCsv.report.perClassCount);
  assert.equal(fromFolders.report.confusion, fromCsv.report.confusion, 'the same faces, the same predictions per class');
  assert.match(fromFolders.stderr, /note: this data \(folder\) numbers its classes angry, disgust, fear, happy, neutral, sad, surprise; matched by name/);

  renameSync(at('fer-folders', 'neutral'), at('fer-folders', 'calm'));
  assertRefused(await run(['eval', '--checkpoint', 'fer/checkpoint.safetensors', '--data', 'fer-folders']), /fer\/checkpoint\.safetensors was trained on the classes angry, .*, neutral; this data \(folder\) names calm, which it does not know/);
});

test('--init-from keeps a classifier only for the same class names in the same order; other names get a new one, said in the log', async () => {
  const same = await run(['train', '--data', 'fer2013.csv', '--init-from', 'fer/checkpoint.safetensors', ...TINY, '--out', 'fer-again']);
  assertOk(same);
  assert.match(same.stderr, /initialised from webfer Fa-Net checkpoint fer\/checkpoint\.safetensors .*; its classifier kept/);
  // fer-folders (from the eval test): angry, calm, disgust, fear, happy, sad, surprise: 7 classes, but not FER2013's.
  const other = await run(['train', '--data', 'fer-folders', '--init-from', 'fer/checkpoint.safetensors', ...TINY, '--out', 'folders-run']);
  assertOk(other);
  assert.match(other.stderr, /a new classifier for 7 classes \(the file's was trained on angry, disgust, fear, happy, sad, surprise, neutral; this data's are angry, calm, disgust, fear, happy, sad, surprise\)/);
});

test('--preset sets the paper\'s lr and batch size unless given', async () => {
  const result = await run(['train', '--data', 'fer2013.csv', '--preset', 'jaffe', '--width', '0.125', '--input-size', '32', '--epochs', '1', '--out', 'preset']);
  assertOk(result);
  assert.match(result.stderr, /sgd lr 0\.0005 batch 32/);
  const firstEpoch = JSON.parse(readFileSync(at('preset', 'metrics.jsonl'), 'utf8').split('\n')[0]!);
  assert.is(firstEpoch.lr, 0.0005, 'the epoch ran at the preset lr');
});

test('bad --init-from / --freeze / --preset combinations: one line each, nothing written', async () => {
  const results = await Promise.all([
    run(['train', '--data', 'fer2013.csv', '--freeze', 'features', '--out', 'never-1']),
    run(['train', '--data', 'fer2013.csv', '--init-from', 'pretrained/checkpoint.safetensors', '--width', '0.25', ...TINY, '--out', 'never-2']),
    run(['train', '--data', 'fer2013.csv', '--init-from', 'missing.pth', '--out', 'never-3']),
    run(['train', '--data', 'fer2013.csv', '--init-from', join(repoRoot, 'test/reference/fixtures/pytorch/malicious.pth'), '--out', 'never-4']),
    run(['train', '--resume', '--init-from', 'pretrained/checkpoint.safetensors', '--out', 'pretrained']),
    run(['train', '--data', 'fer2013.csv', '--preset', 'fer2013', '--optimizer', 'adam', '--out', 'never-5']),
  ]);
  assertRefused(results[0]!, /--freeze features needs --init-from FILE/);
  assertRefused(results[1]!, /^webfer: --init-from pretrained\/checkpoint\.safetensors: features\.0\.filter\.weight is \[\d+(, \d+)*\] in the state dict but \[\d+(, \d+)*\] in the model; .*--width/);
  assertRefused(results[2]!, /--init-from missing\.pth: cannot read it \(ENOENT\)/);
  assertRefused(results[3]!, /refusing to load global os\.system/);
  assertRefused(results[4]!, /--resume continues from the run's checkpoint; --init-from is for a new run/);
  assertRefused(results[5]!, /--preset fer2013 is the paper's SGD recipe/);
  for (const k of [1, 2, 3, 4, 5]) assert.not.ok(existsSync(at(`never-${k}`)), `never-${k} was not created`);
});

test.after(() => removeDir(work));
test.run();
