// Split folders from `webfer split` that lost or emptied a file, given to train / eval --split-dir:
// a missing val.csv made the run monitor its test part (a note, exit 0), an emptied train.csv was
// called "0 training images all of one class (none)". Each is refused naming the file and split.json.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cpSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expectOk, expectRefused, removeDir, runCli, tempDir } from './run-cli.js';

const root = tempDir('webfer-split-files-');
const faces = join(root, 'faces');
const splits = join(root, 'splits');
const TINY = ['--width', '0.125', '--input-size', '32', '--batch-size', '4', '--epochs', '1'];

test.before(async () => {
  expectOk(await runCli(['synth', faces, '--subjects', '2', '--expressions', '2', '--frames', '1', '--size', '64', '--workers', '1']));
  expectOk(await runCli(['split', '--index', join(faces, 'index.csv'), '--task', 'er-ss', '--out', splits]));
});

test.after(() => removeDir(root));

/** A copy of the split folder with `damage` done to it. */
function damagedCopy(name: string, damage: (folder: string) => void): string {
  const folder = join(root, name);
  cpSync(splits, folder, { recursive: true });
  damage(folder);
  return folder;
}

const headerOnly = (file: string) => writeFileSync(file, `${readFileSync(file, 'utf8').split('\n')[0]}\n`);

test('a missing val.csv, an emptied val.csv and an emptied train.csv are refused by train and eval before a run folder is made', async () => {
  const out = join(root, 'never');
  const noVal = damagedCopy('no-val', (folder) => rmSync(join(folder, 'val.csv')));
  const missing = (folder: string) => new RegExp(`^webfer: ${folder}/val\\.csv: split file missing; expected 1 image\\(s\\), as ${folder}/split\\.json records, got no such file\\. restore it, or split the index again with \`webfer split\``);
  expectRefused(await runCli(['train', '--split-dir', noVal, ...TINY, '--out', out]), missing(noVal));
  const emptyVal = damagedCopy('empty-val', (folder) => headerOnly(join(folder, 'val.csv')));
  expectRefused(await runCli(['train', '--split-dir', emptyVal, ...TINY, '--out', out]),
    new RegExp(`^webfer: ${emptyVal}/val\\.csv: split file lists no images; expected 1 image\\(s\\), as ${emptyVal}/split\\.json records, got none\\.`));
  const emptyTrain = damagedCopy('empty-train', (folder) => headerOnly(join(folder, 'train.csv')));
  expectRefused(await runCli(['train', '--split-dir', emptyTrain, ...TINY, '--out', out]), /empty-train\/train\.csv: split file lists no images; expected \d+ image\(s\).*, got none\./);
  assert.not.ok(existsSync(out), 'train made its run folder');

  const run = join(root, 'run');
  expectOk(await runCli(['train', '--split-dir', splits, ...TINY, '--out', run]));
  expectRefused(await runCli(['eval', '--checkpoint', join(run, 'checkpoint.safetensors'), '--split-dir', noVal]), missing(noVal));
});

test('hand-made split files (no split.json) must list train and test images', async () => {
  const handMade = damagedCopy('hand-made', (folder) => {
    rmSync(join(folder, 'split.json'));
    headerOnly(join(folder, 'test.csv'));
  });
  expectRefused(await runCli(['train', '--split-dir', handMade, '--allow-outside-paths', ...TINY, '--out', join(root, 'never')]),
    /^webfer: \S+hand-made\/test\.csv: no images listed; expected the test images, one row each, got a header without rows\. restore it, or split the index again with `webfer split`$/);
});

test.run();
