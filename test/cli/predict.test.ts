// `webfer predict`: a tiny checkpoint trained by `webfer train`, images of other sizes and formats
// written here, and the probabilities held against the library run in this process on the same
// evaluation transform (the model `webfer eval` builds); then the one-line errors.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import jpeg from 'jpeg-js';
import { init, noGrad, tensor } from '../../src/index.js';
import { decodeImage, encodePng } from '../../src/data/codecs.js';
import { EXPRESSIONS } from '../../src/data/labels.js';
import { writeChw, type ImageU8 } from '../../src/data/image.js';
import { transformImage } from '../../src/data/batch-loader.js';
import { Random } from '../../src/data/random.js';
import { createLightCNN, type LightCNNConfig } from '../../src/models/lightcnn.js';
import { loadSafetensors, saveSafetensors } from '../../src/node/checkpoint.js';
import { readRunInfo, restoreCheckpoint } from '../../src/train/checkpoint.js';
import { fanetTransforms } from '../../src/train/fanet.js';
import * as ref from '../reference/index.js';
import { errorLines, removeDir, runCli, tempDir } from './run-cli.js';

const seed = ref.randomSeed();
const ctx = (what: string) => `${what} (seed ${seed}; replay with WEBFER_SEED=${seed})`;
const rng = new ref.Rng(seed);

interface PredictionJson { image: string; predictions: { class: number; name: string; probability: number }[] }

const dir = tempDir('webfer-predict-');
const run = join(dir, 'run');
const checkpoint = join(run, 'checkpoint.safetensors');
const trained = await runCli(['train', '--width', '0.125', '--input-size', '32', '--epochs', '1', '--synth-subjects', '2', '--synth-expressions', '3', '--out', run]);

/** A smooth random pattern, so that the resize and crop matter; gray or RGB. */
function randomImage(width: number, height: number, channels: 1 | 3): ImageU8 {
  const data = new Uint8Array(width * height * channels);
  const phases = Array.from({ length: 3 * channels }, () => rng.uniform(0, 2 * Math.PI));
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < channels; c++) {
        const value = 128 + 60 * Math.sin(x / 3 + phases[3 * c]!) + 50 * Math.cos(y / 5 + phases[3 * c + 1]!) + 15 * rng.normal();
        data[(y * width + x) * channels + c] = Math.max(0, Math.min(255, Math.round(value)));
      }
    }
  }
  return { width, height, channels, data };
}

const grayPng = join(dir, 'gray face.png');
writeFileSync(grayPng, encodePng(randomImage(rng.int(33, 60), rng.int(33, 60), 1)));
const rgb = randomImage(rng.int(40, 80), rng.int(40, 80), 3);
const rgba = new Uint8Array(rgb.width * rgb.height * 4);
for (let i = 0; i < rgb.width * rgb.height; i++) rgba.set([...rgb.data.subarray(3 * i, 3 * i + 3), 255], 4 * i);
const colourJpeg = join(dir, 'colour.jpg');
writeFileSync(colourJpeg, jpeg.encode({ data: rgba, width: rgb.width, height: rgb.height }, 90).data);
const images = [grayPng, colourJpeg];

/** The oracle: the checkpoint loaded here, each image decoded and put through the eval transform, softmax in float64. */
async function libraryProbabilities(): Promise<number[][]> {
  await init();
  const content = loadSafetensors(checkpoint);
  const config = readRunInfo(content, checkpoint).config as unknown as LightCNNConfig;
  const model = createLightCNN(config);
  restoreCheckpoint(content, { modules: { model } }, checkpoint);
  model.eval();
  const size = config.inputSize!;
  const batch = new Float32Array(images.length * size * size);
  images.forEach((path, n) => {
    const image = transformImage(decodeImage(readFileSync(path), path), fanetTransforms(size).eval, new Random(0)).image;
    assert.equal([image.width, image.height, image.channels], [size, size, 1]);
    writeChw(image, batch, n * size * size, 'unit');
  });
  const logits = noGrad(() => model.call(tensor(batch, [images.length, 1, size, size])).logits);
  const values = await logits.toArray();
  logits.dispose();
  model.dispose();
  return images.map((_, n) => {
    const row = Array.from(values.subarray(n * config.classes, (n + 1) * config.classes));
    const max = Math.max(...row);
    const exps = row.map((v) => Math.exp(v - max));
    const total = exps.reduce((a, b) => a + b, 0);
    return exps.map((e) => e / total);
  });
}

test('a checkpoint from `webfer train` names its classes; predict --top all: probabilities sum to 1, sorted, named, equal to the library\'s', async () => {
  assert.is(trained.code, 0, `${trained.command}: ${trained.stderr}`);
  const classes = EXPRESSIONS.length; // the synthetic F²ED keeps the 54-class label set
  const result = await runCli(['predict', ...images, '--checkpoint', checkpoint, '--top', String(classes), '--json']);
  assert.is(result.code, 0, `${result.command}: ${result.stderr}`);
  const predictions = JSON.parse(result.stdout) as PredictionJson[];
  assert.equal(predictions.map((p) => p.image), images);
  const expected = await libraryProbabilities();
  predictions.forEach(({ image, predictions: list }, n) => {
    assert.is(list.length, classes, image);
    assert.equal([...list.map((p) => p.class)].sort((a, b) => a - b), Array.from({ length: classes }, (_, id) => id), `${image}: every class once`);
    const sum = list.reduce((total, p) => total + p.probability, 0);
    assert.ok(Math.abs(sum - 1) <= 1e-4, `${image}: probabilities sum to ${sum}`);
    for (let k = 1; k < list.length; k++) assert.ok(list[k - 1]!.probability >= list[k]!.probability, `${image}: sorted at rank ${k}`);
    for (const p of list) {
      assert.is(p.name, EXPRESSIONS[p.class], `${image}: name of class ${p.class}`);
      assert.ok(Math.abs(p.probability - expected[n]![p.class]!) <= 1e-5, ctx(`${image}: class ${p.class} probability ${p.probability}, library ${expected[n]![p.class]}`));
    }
    const best = Math.max(...expected[n]!);
    const oracleTop = expected[n]!.indexOf(best);
    const runnerUp = Math.max(...expected[n]!.filter((_, id) => id !== oracleTop));
    // Only a near-tie (closer than float32 noise) may order the two differently.
    if (best - runnerUp > 1e-5) assert.is(list[0]!.class, oracleTop, ctx(`${image}: top-1`));
  });
});

test('text output: one block per image, the default top 5 with names and probabilities', async () => {
  const result = await runCli(['predict', ...images, '--checkpoint', checkpoint]);
  assert.is(result.code, 0, `${result.command}: ${result.stderr}`);
  const blocks = result.stdout.trim().split(/\n\s*\n/);
  assert.is(blocks.length, images.length, result.stdout);
  blocks.forEach((block, n) => {
    const [title, ...rows] = block.split('\n');
    assert.is(title, images[n]);
    assert.is(rows.length, 5, block);
    rows.forEach((row, rank) => {
      const match = /^\s+(\d+)\. (\S+)\s+(0\.\d{4}|1\.0000)$/.exec(row);
      assert.ok(match && Number(match[1]) === rank + 1 && EXPRESSIONS.includes(match[2]!), `row ${rank + 1}: ${row}`);
    });
  });
});

test('a checkpoint written before class names were stored: class ids as names, said on stderr', async () => {
  const content = loadSafetensors(checkpoint);
  const info = readRunInfo(content, checkpoint);
  const { classes: _classes, ...extra } = info.extra ?? {};
  assert.ok(Array.isArray(_classes), 'the new checkpoint stores its class names');
  const old = join(dir, 'old.safetensors');
  saveSafetensors(old, content.tensors, { ...content.metadata, run: JSON.stringify({ ...info, extra }) });
  const result = await runCli(['predict', grayPng, '--checkpoint', old, '--top', '3', '--json']);
  assert.is(result.code, 0, `${result.command}: ${result.stderr}`);
  const [only] = JSON.parse(result.stdout) as PredictionJson[];
  assert.equal(only!.predictions.map((p) => p.name), only!.predictions.map((p) => String(p.class)));
  assert.match(result.stderr, 'stores no class names');
});

test('errors: a missing image, an unreadable one (or skipped with --skip-bad), a checkpoint that is not Fa-Net, --top out of range', async () => {
  const expectOneLine = async (args: string[], pattern: RegExp) => {
    const result = await runCli(args);
    assert.is(result.code, 1, `${result.command}: exit ${result.code}\n${result.stderr}`);
    const lines = errorLines(result);
    assert.is(lines.length, 1, `${result.command}: ${result.stderr}`);
    assert.match(lines[0]!, pattern);
    return result;
  };
  const missing = join(dir, 'no-such-face.png');
  await expectOneLine(['predict', grayPng, missing, '--checkpoint', checkpoint], /image .*no-such-face\.png not found/);
  const bad = join(dir, 'not-an-image.png');
  writeFileSync(bad, 'hello, not pixels');
  await expectOneLine(['predict', grayPng, bad, '--checkpoint', checkpoint], /not-an-image\.png: not a PNG, JPEG or TIFF image/);
  const skipped = await runCli(['predict', bad, grayPng, '--checkpoint', checkpoint, '--skip-bad', '--json']);
  assert.is(skipped.code, 0, `${skipped.command}: ${skipped.stderr}`);
  assert.equal((JSON.parse(skipped.stdout) as PredictionJson[]).map((p) => p.image), [grayPng]);
  assert.match(skipped.stderr, /skipped .*not-an-image\.png/);
  assert.not.match(skipped.stderr, /pass --skip-bad/, 'the advice to pass --skip-bad where it is on');

  const content = loadSafetensors(checkpoint);
  const gan = join(dir, 'gan.safetensors');
  saveSafetensors(gan, content.tensors, { ...content.metadata, run: JSON.stringify({ ...readRunInfo(content, checkpoint), kind: 'fapegan' }) });
  await expectOneLine(['predict', grayPng, '--checkpoint', gan], /gan\.safetensors is a fapegan checkpoint, not Fa-Net/);
  // A state dict (what `webfer convert` writes): the error names the command that takes plain weights.
  const stateDict = join(dir, 'state-dict.safetensors');
  saveSafetensors(stateDict, new Map([...content.tensors].filter(([name]) => name.startsWith('model.')).map(([name, t]) => [name.slice('model.'.length), t])), { converted_from: 'weights.pth' });
  await expectOneLine(['predict', grayPng, '--checkpoint', stateDict], /state-dict\.safetensors is a state dict that `webfer convert` made from weights\.pth: predict, eval, augment and --resume need a checkpoint\.safetensors written by `webfer train` .*fine-tune them first: `webfer train --init-from .*state-dict\.safetensors --data DATA --out RUN`/);
  await expectOneLine(['predict', grayPng, '--checkpoint', checkpoint, '--top', '0'], /--top must be a positive integer, got 0/);
  await expectOneLine(['predict', grayPng, '--checkpoint', checkpoint, '--top', '55'], /--top 55 is more than the model's 54 classes/);
});

test.after(() => removeDir(dir));

test.run();
