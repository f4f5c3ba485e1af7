// Weights that are not a webfer run, given where a run's checkpoint is needed: a face-ID LightCNN
// converted by `webfer convert` (a classifier over 10,575 identities, not expressions) and the
// PyTorch file itself. predict, eval, augment and --resume refuse them in one line that says what
// the file is and which command makes a usable checkpoint from it; that command then works.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeSafetensors, encodeSafetensors } from '../../src/nn/safetensors.js';
import { expectOk, expectRefused, removeDir, repoRoot, runCli, tempDir } from './run-cli.js';

const root = tempDir('webfer-foreign-weights-');
const faces = join(root, 'faces');
const index = join(faces, 'index.csv');
const pth = join(repoRoot, 'test/reference/fixtures/pytorch/lightcnn9-tiny.pth');
const faceId = join(root, 'face-id.safetensors');
const IDENTITIES = 10_575;

test.before(async () => {
  expectOk(await runCli(['synth', faces, '--subjects', '2', '--expressions', '2', '--frames', '1', '--size', '64', '--workers', '1']));
  // The fixture's architecture with CASIA-WebFace's identity classifier, as a face-ID model converts.
  const converted = join(root, 'converted.safetensors');
  expectOk(await runCli(['convert', pth, '--out', converted]));
  const content = decodeSafetensors(readFileSync(converted));
  const features = content.tensors.get('fc2.weight')!.shape[1]!;
  content.tensors.set('fc2.weight', { shape: [IDENTITIES, features], data: new Float32Array(IDENTITIES * features).fill(0.01) });
  content.tensors.set('fc2.bias', { shape: [IDENTITIES], data: new Float32Array(IDENTITIES) });
  const model = { ...JSON.parse(content.metadata.model!), classes: IDENTITIES };
  writeFileSync(faceId, encodeSafetensors(content.tensors, { ...content.metadata, converted_from: 'LightCNN_9Layers_checkpoint.pth.tar', model: JSON.stringify(model) }));
});

test.after(() => removeDir(root));

const image = () => join(faces, 'images', 's000', 'F', readdirSync(join(faces, 'images', 's000', 'F'))[0]!);

test('predict, eval, augment and train --resume refuse a converted face-ID state dict, naming it and the train --init-from command', async () => {
  const escape = (text: string) => text.replace(/[.\\]/g, '\\$&');
  const refusal = (path: string) => new RegExp(
    `^webfer: ${escape(path)} is a state dict that \`webfer convert\` made from LightCNN_9Layers_checkpoint\\.pth\\.tar \\(lightcnn9 with ${IDENTITIES} classes\\): ` +
      'predict, eval, augment and --resume need a checkpoint\\.safetensors written by `webfer train` or `gan-train`; ' +
      `to use these weights, fine-tune them first: \`webfer train --init-from ${escape(path)} --data DATA --out RUN\` \\(its ${IDENTITIES}-class classifier is replaced when DATA has another number of classes\\), then pass RUN/checkpoint\\.safetensors`,
  );
  const expected = refusal(faceId);
  expectRefused(await runCli(['predict', image(), '--checkpoint', faceId]), expected);
  expectRefused(await runCli(['eval', '--checkpoint', faceId, '--data', index]), expected);
  const augmented = join(root, 'augmented');
  expectRefused(await runCli(['augment', '--checkpoint', faceId, '--data', index, '--task', 'er-up', '--out', augmented]), expected);
  assert.not.ok(existsSync(augmented), 'augment made its output folder');
  const resumed = join(root, 'resumed');
  mkdirSync(resumed);
  writeFileSync(join(resumed, 'checkpoint.safetensors'), readFileSync(faceId));
  expectRefused(await runCli(['train', '--resume', '--out', resumed]), refusal(join(resumed, 'checkpoint.safetensors')));
  assert.equal(readdirSync(resumed), ['checkpoint.safetensors'], 'the refused resume wrote into the run folder');
});

test('a PyTorch checkpoint given to predict or eval is named as one (it was "header length 578712552184433488 runs past the end of the file"), with convert and --init-from; convert given safetensors says it is already converted', async () => {
  const expected = /^webfer: \S+lightcnn9-tiny\.pth is a PyTorch checkpoint \(torch\.save, zip format\), not safetensors: convert it with `webfer convert \S+lightcnn9-tiny\.pth`, or start training from it with `webfer train --init-from \S+lightcnn9-tiny\.pth`$/;
  expectRefused(await runCli(['predict', image(), '--checkpoint', pth]), expected);
  expectRefused(await runCli(['eval', '--checkpoint', pth, '--data', index]), expected);
  const legacy = join(repoRoot, 'test/reference/fixtures/pytorch/lightcnn9-tiny-legacy.pth.tar');
  expectRefused(await runCli(['predict', image(), '--checkpoint', legacy]), /lightcnn9-tiny-legacy\.pth\.tar is a PyTorch checkpoint \(torch\.save, pickle format\), not safetensors/);
  // The other way round: convert given what it already wrote (it said "neither a zip archive nor a pickle").
  const again = join(root, 'again.safetensors');
  expectRefused(await runCli(['convert', faceId, '--out', again]),
    /^webfer: \S+face-id\.safetensors is already safetensors \(convert reads PyTorch \.pth \/ \.pth\.tar\): pass it as it is to `webfer train --init-from \S+face-id\.safetensors`$/);
  assert.not.ok(existsSync(again), 'convert wrote --out');
});

test('the suggested train --init-from replaces the identity classifier, and predict takes the run it writes (its folder and gan-train --resume are refused naming the fix)', async () => {
  const run = join(root, 'fine-tuned');
  const trained = await runCli(['train', '--init-from', faceId, '--data', index, '--epochs', '1', '--batch-size', '4', '--out', run], { timeoutMs: 180_000 });
  expectOk(trained);
  assert.match(trained.stderr, new RegExp(`a new classifier for 54 classes \\(the file's has ${IDENTITIES}\\)`));
  const predicted = await runCli(['predict', image(), '--checkpoint', join(run, 'checkpoint.safetensors'), '--json']);
  expectOk(predicted);
  const [result] = JSON.parse(predicted.stdout) as { predictions: { name: string }[] }[];
  assert.is(result!.predictions.length, 5, 'the top 5 of the 54 F²ED classes');
  // The run folder itself (it said "cannot read checkpoint RUN: not a file") names the files to pass.
  const folderGiven = new RegExp(`^webfer: \\S+fine-tuned is a folder, not a checkpoint file: pass \\S+fine-tuned/checkpoint\\.safetensors or \\S+fine-tuned/best\\.safetensors$`);
  expectRefused(await runCli(['predict', image(), '--checkpoint', run]), folderGiven);
  expectRefused(await runCli(['eval', '--checkpoint', run]), folderGiven);
  // A Fa-Net run given to gan-train --resume names the fix, not only the mismatch.
  expectRefused(await runCli(['gan-train', '--resume', '--epochs', '2', '--out', run]),
    /^webfer: --resume: \S+fine-tuned\/checkpoint\.safetensors is a "fanet" checkpoint, not FaPE-GAN: pass the --out of a gan-train run, or another --out without --resume for a new one$/);
});

test.run();
