// A user's bad inputs, typed at the built `webfer` binary: repeated or out-of-range flags, output
// paths that are files, damaged checkpoints and images, malformed index files. Each is refused in
// one line that names the flag or file, the value and what to do, before anything is written.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { appendFileSync, copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32, deflateSync } from 'node:zlib';
import { writeFileAtomic } from '../../src/node/atomic-write.js';
import { loadSafetensors } from '../../src/node/checkpoint.js';
import { errorLines, expectOk, expectRefused, removeDir, runCli, tempDir, type CliResult } from './run-cli.js';

const root = tempDir('webfer-bad-inputs-');
const dataset = join(root, 'faces');
const fanetRun = join(root, 'fanet');
const at = (name: string) => join(root, name);
const fanetArgs = ['--input-size', '32', '--width', '0.125', '--batch-size', '8', '--epochs', '1'];

/** A copy of a checkpoint with `value` written over the first number of tensor `name`. */
function withValue(source: string, target: string, name: string, value: number): void {
  const bytes = readFileSync(source);
  const headerLength = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.toString('utf8', 8, 8 + headerLength)) as Record<string, { data_offsets: [number, number] }>;
  bytes.writeFloatLE(value, 8 + headerLength + header[name]!.data_offsets[0]);
  writeFileSync(target, bytes);
}


/** A gray 8-bit PNG of the given size, every row filtered 0 and all pixels black. */
function blackPng(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const framed = Buffer.alloc(body.length + 8);
    framed.writeUInt32BE(data.length, 0);
    body.copy(framed, 4);
    framed.writeUInt32BE(crc32(body) >>> 0, body.length + 4);
    return framed;
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth; colour type 0 (gray), no interlace
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', header), chunk('IDAT', deflateSync(Buffer.alloc((width + 1) * height), { level: 9 })), chunk('IEND', Buffer.alloc(0))]);
}

test.before(async () => {
  expectOk(await runCli(['synth', dataset, '--subjects', '2', '--expressions', '2', '--frames', '1', '--size', '64', '--workers', '1']));
  expectOk(await runCli(['train', '--data', join(dataset, 'index.csv'), ...fanetArgs, '--out', fanetRun]));
});

test.after(() => removeDir(root));

test('a flag given twice is refused naming it and both values (it crashed inside the CSV reader, or reported "got 64,32")', async () => {
  const out = at('split-twice');
  expectRefused(await runCli(['split', '--index', join(dataset, 'index.csv'), '--task', 'er-ss', '--seed', '1', '--seed', '2', '--out', out]),
    /^webfer: --seed was given 2 times \(1, 2\): give it once$/);
  assert.not.ok(existsSync(out), 'split wrote files');
  expectRefused(await runCli(['models', '--input-size', '64', '--input-size', '32']), /--input-size was given 2 times \(64, 32\): give it once/);
  // Options that take lists still take several values.
  expectRefused(await runCli(['train', '--extra-train', 'a.csv', '--extra-train', 'b.csv', '--epochs', '0']), /--epochs must be a positive integer, got 0/);
});

test('--seed must be a 32-bit integer: NaN, fractions, negatives and 2^32 + 1 (which equalled seed 1) are refused by every command', async () => {
  const index = join(dataset, 'index.csv');
  const cases: [string[], string][] = [
    [['split', '--index', index, '--task', 'er-ss', '--out', at('split-seed'), '--seed', '1.5'], '1.5'],
    [['split', '--index', index, '--task', 'er-ss', '--out', at('split-seed'), '--seed', '4294967297'], '4294967297'],
    [['synth', at('synth-seed'), '--subjects', '1', '--expressions', '1', '--frames', '1', '--size', '64', '--seed', '-1'], '-1'],
    [['train', '--data', index, '--epochs', '1', '--out', at('train-seed'), '--seed', '0.5'], '0.5'],
    [['eval', '--checkpoint', at('none.safetensors'), '--seed', '-2'], '-2'],
    [['gan-train', '--data', dataset, '--epochs', '1', '--out', at('gan-seed'), '--seed', '1e10'], '1e10'],
    [['augment', '--checkpoint', at('none.safetensors'), '--data', dataset, '--task', 'er-up', '--out', at('augment-seed'), '--seed', '2.5'], '2.5'],
  ];
  for (const [args, shown] of cases) {
    expectRefused(await runCli(args), new RegExp(`--seed must be an integer from 0 to 4294967295, got ${shown.replace('.', '\\.')}; e\\.g\\. --seed 1`));
  }
  // NaN is no decimal number: refused as typed, for every number flag, before the range checks.
  expectRefused(await runCli(['split', '--index', index, '--task', 'er-ss', '--out', at('split-seed'), '--seed', 'NaN']), /^webfer: --seed takes a decimal number such as 10, 0\.5 or 1e-3, got "NaN"$/);
  for (const name of ['split-seed', 'synth-seed', 'train-seed', 'gan-seed', 'augment-seed']) assert.not.ok(existsSync(at(name)), `${name} was written`);
});

test('gan-train and augment check their numbers before the device starts, naming the flag (not "imageSize"), and augment --batch-size 0 no longer hangs', async () => {
  const gan = (...args: string[]) => runCli(['gan-train', '--data', dataset, '--epochs', '1', '--out', at('gan-flags'), ...args]);
  expectRefused(await gan('--size', '30'), /--size must be a multiple of 4 of at least 24.*got 30/);
  expectRefused(await gan('--width', '2.5'), /--width must be a positive integer, got 2\.5/);
  expectRefused(await gan('--blocks', '-1'), /--blocks must be an integer of at least 0, got -1/);
  // A negative L1 weight trained (exit 0) a generator rewarded for moving away from the target.
  expectRefused(await gan('--lambda', '-3'), /--lambda must be a finite number of at least 0, got -3/);
  expectRefused(await gan('--lambda', 'NaN'), /--lambda takes a decimal number such as 10, 0\.5 or 1e-3, got "NaN"/);
  expectRefused(await gan('--lr', 'Infinity'), /--lr takes a decimal number such as 10, 0\.5 or 1e-3, got "Infinity"/);
  assert.not.ok(existsSync(at('gan-flags')), 'gan-train made its run folder');

  const augment = (...args: string[]) => runCli(['augment', '--checkpoint', at('none.safetensors'), '--data', dataset, '--task', 'er-up', '--out', at('augment-flags'), ...args], { timeoutMs: 60_000 });
  expectRefused(await augment('--batch-size', '0'), /--batch-size must be a positive integer, got 0/);
  // --count 0 / -1 / NaN wrote an empty index.csv and exited 0; 1.5 made 1 image.
  for (const count of ['0', '-1', '1.5']) expectRefused(await augment('--count', count), new RegExp(`--count must be a positive integer, got ${count.replace('.', '\\.')}`));
  assert.not.ok(existsSync(at('augment-flags')), 'augment made its output folder');
});

test('synth --noise and --jitter must be finite and not negative (NaN and -5 silently rendered without noise)', async () => {
  const synth = (...args: string[]) => runCli(['synth', at('synth-noise'), '--subjects', '1', '--expressions', '1', '--frames', '1', '--size', '64', ...args]);
  expectRefused(await synth('--noise', 'NaN'), /--noise takes a decimal number such as 10, 0\.5 or 1e-3, got "NaN"/);
  expectRefused(await synth('--noise', '-5'), /--noise must be a finite number of at least 0, got -5/);
  expectRefused(await synth('--jitter', '1e400'), /--jitter 1e400 is beyond the largest number a double holds/);
  assert.not.ok(existsSync(at('synth-noise')) && readdirSync(at('synth-noise')).length > 0, 'synth wrote images');
});

test('an --out that is a file (or lies under one) is refused at once, naming it (was mkdir\'s raw EEXIST / ENOTDIR, for train after loading the data)', async () => {
  const file = at('taken.txt');
  writeFileSync(file, 'keep me\n');
  const index = join(dataset, 'index.csv');
  const cases: string[][] = [
    ['train', '--data', index, '--epochs', '1', '--input-size', '32', '--width', '0.125', '--out', file],
    ['gan-train', '--data', dataset, '--epochs', '1', '--out', file],
    ['split', '--index', index, '--task', 'er-ss', '--out', file],
    ['augment', '--checkpoint', at('none.safetensors'), '--data', dataset, '--task', 'er-up', '--out', file],
    ['demo', '--quick', '--out', file],
  ];
  for (const args of cases) expectRefused(await runCli(args), new RegExp(`--out ${file} is a file, not a folder: pass a folder path for --out`));
  expectRefused(await runCli(['synth', join(file, 'faces'), '--subjects', '1', '--expressions', '1', '--frames', '1', '--size', '64']),
    new RegExp(`synth OUT ${file}/faces is inside ${file}, which is a file, not a folder`));
  assert.is(readFileSync(file, 'utf8'), 'keep me\n');
});

test('a checkpoint holding NaN or Inf weights is refused naming the tensor (predict printed probability null and exited 0; eval blamed the learning rate)', async () => {
  const checkpoint = join(fanetRun, 'checkpoint.safetensors');
  const image = join(dataset, 'images', 's000', 'F', 'e00_c0_f0.png');
  expectOk(await runCli(['predict', image, '--checkpoint', checkpoint, '--json']));
  const withNaN = at('nan.safetensors'), withInf = at('inf.safetensors');
  withValue(checkpoint, withNaN, 'model.features.0.filter.weight', NaN);
  withValue(checkpoint, withInf, 'model.fc2.weight', -Infinity);
  const damaged = (file: string, tensor: string) => new RegExp(`${file}: tensor "${tensor.replace(/\./g, '\\.')}" holds 1 NaN or infinite value\\(s\\) of \\d+; .*load an earlier checkpoint`);
  expectRefused(await runCli(['predict', image, '--checkpoint', withNaN, '--json']), damaged(withNaN, 'model.features.0.filter.weight'));
  expectRefused(await runCli(['predict', image, '--checkpoint', withInf]), damaged(withInf, 'model.fc2.weight'));
  expectRefused(await runCli(['eval', '--checkpoint', withNaN]), damaged(withNaN, 'model.features.0.filter.weight'));
  expectRefused(await runCli(['train', '--data', join(dataset, 'index.csv'), ...fanetArgs, '--init-from', withInf, '--out', at('fine-tuned')]), damaged(withInf, 'model.fc2.weight'));
});

test('an image of 0 pixels is refused (predict classified it, exit 0), and a 190 KB PNG declaring 14000×14000 pixels is refused before it is inflated (it took 1.7 GB and 13 s)', async () => {
  const checkpoint = join(fanetRun, 'checkpoint.safetensors');
  const empty = at('empty-width.png'), bomb = at('bomb.png');
  writeFileSync(empty, blackPng(0, 10));
  writeFileSync(bomb, blackPng(14_000, 14_000));
  expectRefused(await runCli(['predict', empty, '--checkpoint', checkpoint, '--json']),
    new RegExp(`${empty}: PNG has no pixels; expected a width and height of at least 1, got 0×10`));
  expectRefused(await runCli(['predict', bomb, '--checkpoint', checkpoint, '--json']),
    new RegExp(`${bomb}: PNG is too large; expected at most 178,956,970 pixels \\(PIL's limit\\), got 14000×14000`));
  // --skip-bad names both and predicts the readable image.
  const good = join(dataset, 'images', 's000', 'F', 'e00_c0_f0.png');
  const skipped = expectOk(await runCli(['predict', empty, good, bomb, '--checkpoint', checkpoint, '--json', '--skip-bad']));
  assert.equal((JSON.parse(skipped.stdout) as { image: string }[]).map((result) => result.image), [good]);
  assert.match(skipped.stderr, /skipped .*empty-width\.png: PNG has no pixels/);
  assert.match(skipped.stderr, /skipped .*bomb\.png: PNG is too large/);
});

test('Ctrl-C during train saves a checkpoint and exits 130 (it exited 0, so `train && eval` went on with a half-trained model); --resume finishes the run', async () => {
  const run = at('interrupted');
  const args = ['train', '--data', join(dataset, 'index.csv'), '--input-size', '32', '--width', '0.125', '--batch-size', '2', '--epochs', '2', '--out', run];
  const stopped = await runCli(args, { signalWhen: { text: 'epoch 1/2 ', signal: 'SIGINT' } });
  assert.is(stopped.code, 130, `${stopped.command}: exit code after Ctrl-C\n${stopped.stderr.slice(-1500)}`);
  assert.match(stopped.stderr, /stopped in epoch [12] at step \d+; saved .*checkpoint\.safetensors \(continue with `webfer train --resume --out \S+`\)/);
  assert.is(errorLines(stopped).length, 0, stopped.stderr);
  // The command the message gives, word for word: the checkpoint holds the data recipe and every setting.
  const resumeCommand = /continue with `webfer ([^`]+)`/.exec(stopped.stderr)![1]!.split(' ');
  assert.equal(resumeCommand, ['train', '--resume', '--out', run]);
  const resumed = expectOk(await runCli(resumeCommand));
  assert.match(resumed.stderr, /resuming .*after epoch [01]( and [1-9]\d* batch\(es\) of epoch [12])? \(step [1-9]\d*\)/);
  const epochs = readFileSync(join(run, 'metrics.jsonl'), 'utf8').trim().split('\n').map((line) => (JSON.parse(line) as { epoch: number }).epoch);
  assert.equal(epochs, [1, 2]);
});

test('Ctrl-C during gan-train saves a checkpoint mid-epoch and exits 130 (it had no handler: the epoch in progress was lost); --resume continues with the next batch and ends where an uninterrupted run ends', async () => {
  const args = (out: string) => ['gan-train', '--synth-subjects', '2', '--synth-expressions', '2', '--size', '24', '--width', '1', '--blocks', '0', '--batch-size', '1', '--epochs', '2', '--seed', '3', '--out', out];
  const interrupted = at('gan-interrupted');
  const stopped = await runCli(args(interrupted), { signalWhen: { text: 'epoch 1/2', signal: 'SIGINT' } });
  assert.is(stopped.code, 130, `${stopped.command}: exit code after Ctrl-C\n${stopped.stderr.slice(-1500)}`);
  assert.match(stopped.stderr, /stopped in epoch 1 after batch [1-9]\d* \(step [1-9]\d*\); saved .*checkpoint\.safetensors \(continue with `webfer gan-train --resume --out \S+`\)/);
  assert.is(errorLines(stopped).length, 0, stopped.stderr);
  assert.not.ok(existsSync(join(interrupted, 'metrics.jsonl')) && readFileSync(join(interrupted, 'metrics.jsonl'), 'utf8').trim() !== '', 'no epoch was finished, so no metrics line');
  const resumed = expectOk(await runCli([...args(interrupted), '--resume']));
  assert.match(resumed.stdout, /resuming .*after epoch 0 and [1-9]\d* batch\(es\) of epoch 1 \(step [1-9]\d*\)/);
  const epochs = readFileSync(join(interrupted, 'metrics.jsonl'), 'utf8').trim().split('\n').map((line) => (JSON.parse(line) as { epoch: number }).epoch);
  assert.equal(epochs, [1, 2]);
  const whole = at('gan-whole');
  expectOk(await runCli(args(whole)));
  // The pair order of an epoch depends only on (seed, epoch) and the optimizers' state is saved: the same weights, bit for bit.
  const weights = (run: string) => loadSafetensors(join(run, 'checkpoint.safetensors')).tensors;
  const [a, b] = [weights(interrupted), weights(whole)];
  assert.equal([...a.keys()].sort(), [...b.keys()].sort());
  for (const [name, tensor] of a) assert.ok(Buffer.from(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength).equals(Buffer.from(b.get(name)!.data.buffer, b.get(name)!.data.byteOffset, b.get(name)!.data.byteLength)), `${name}: interrupted + resumed differs from the uninterrupted run`);
});

test('a class folder holding .bmp / .gif / .pgm images: inspect lists each, train refuses naming it (they were dropped unseen: "problems: none")', async () => {
  const folders = at('class-folders');
  const face = join(dataset, 'images', 's000', 'F', 'e00_c0_f0.png');
  for (const name of ['happy', 'sad']) {
    mkdirSync(join(folders, name), { recursive: true });
    copyFileSync(face, join(folders, name, 'a.png'));
  }
  writeFileSync(join(folders, 'happy', 'b.bmp'), Buffer.from('BM6\0\0\0'));
  writeFileSync(join(folders, 'sad', 'c.pgm'), Buffer.concat([Buffer.from('P5\n2 2\n255\n'), Buffer.alloc(4, 100)]));
  writeFileSync(join(folders, 'sad', 'notes.txt'), 'not an image, not a problem\n');
  const inspected = expectOk(await runCli(['inspect', folders]));
  assert.match(inspected.stdout, /problems \(2\):/);
  assert.match(inspected.stdout, /happy\/b\.bmp: image format not supported; expected PNG, JPEG or TIFF, got a \.bmp file\. convert it to PNG/);
  assert.match(inspected.stdout, /sad\/c\.pgm: image format not supported/);
  expectRefused(await runCli(['train', '--data', folders, ...fanetArgs, '--out', at('class-folders-run')]), /happy\/b\.bmp: image format not supported/);
  assert.not.ok(existsSync(at('class-folders-run')), 'train made its run folder');
});

test('an index or FER2013 header naming a column twice is refused (the last "expression" column was read, the first ignored)', async () => {
  const index = join(dataset, 'twice.csv');
  writeFileSync(index, 'path,subject,pose,expression,expression\nimages/s000/F/e00_c0_f0.png,s000,F,0,5\nimages/s000/F/e01_c0_f0.png,s000,F,1,6\n');
  const twice = /twice\.csv:1: header names a column twice; expected each column name once, got "expression" in columns 4 and 5\. delete or rename one of them/;
  expectRefused(await runCli(['inspect', index]), twice);
  expectRefused(await runCli(['split', '--index', index, '--task', 'er-ss', '--out', at('split-twice-column')]), twice);
  const fer = at('fer2013.csv');
  writeFileSync(fer, `emotion,pixels,Usage,Emotion\n3,${Array(2304).fill('0').join(' ')},Training,4\n`);
  expectRefused(await runCli(['inspect', fer]), /fer2013\.csv:1: header names a column twice; .*got "emotion" in columns 1 and 4/);
});

test('inspect parses the landmark files an index names: a missing or short one is a problem (gan-train stopped on it mid-epoch while inspect said nothing)', async () => {
  const rows = readFileSync(join(dataset, 'index.csv'), 'utf8').trim().split('\n');
  writeFileSync(join(dataset, 'landmarks', 'short.txt'), '1 2\n3 4\n');
  const edited = [rows[0], rows[1]!.replace(/landmarks\/[^,]+\.txt/, 'landmarks/missing.txt'), rows[2]!.replace(/landmarks\/[^,]+\.txt/, 'landmarks/short.txt'), ...rows.slice(3)];
  const index = join(dataset, 'landmarks-broken.csv');
  writeFileSync(index, `${edited.join('\n')}\n`);
  const inspected = expectOk(await runCli(['inspect', index]));
  assert.match(inspected.stdout, /landmarks\/missing\.txt: cannot read file; expected a readable file, got ENOENT/);
  assert.match(inspected.stdout, /landmarks\/short\.txt: wrong number of landmarks; expected 68 points \(iBUG 68\), got 2/);
  assert.match(inspected.stdout, new RegExp(`landmarks-broken\\.csv \\(index\\): ${rows.length - 3} images`));
});

test('split refuses a task that leaves train or test empty (it wrote the empty CSVs and exited 0; the run reading them failed later)', async () => {
  const index = join(dataset, 'one-subject.csv');
  writeFileSync(index, 'path,subject,pose,expression\nimages/s000/F/e00_c0_f0.png,s000,F,0\nimages/s000/F/e01_c0_f0.png,s000,F,1\n');
  const out = at('split-empty');
  expectRefused(await runCli(['split', '--index', index, '--task', 'er-zid', '--out', out]),
    /one-subject\.csv: er-zid \(seed 0\) leaves a split empty; expected rows in both train and test, got train 2 · test 0 of 2 row\(s\)\. .*at least 2/);
  const header = join(dataset, 'header-only.csv');
  writeFileSync(header, 'path,subject,pose,expression\n');
  expectRefused(await runCli(['split', '--index', header, '--task', 'er-ss', '--out', out]), /header-only\.csv: er-ss \(seed 0\) leaves a split empty; .*got train 0 · test 0 of 0 row\(s\)/);
  assert.not.ok(existsSync(out), 'split wrote files');
});

test('--split-dir with --data, --task or --format is refused (the other flag was ignored without a word)', async () => {
  const split = at('split-for-conflict');
  expectOk(await runCli(['split', '--index', join(dataset, 'index.csv'), '--task', 'er-zid', '--out', split]));
  const other = join(dataset, 'twice.csv');
  expectRefused(await runCli(['train', '--split-dir', split, '--data', other, ...fanetArgs, '--out', at('conflict-run')]),
    new RegExp(`--split-dir ${split} already names the data and its split; --data ${other} would be ignored: pass one of them`));
  expectRefused(await runCli(['train', '--split-dir', split, '--task', 'er-up', ...fanetArgs, '--out', at('conflict-run')]), /--task er-up would be ignored: pass one of them/);
  expectRefused(await runCli(['eval', '--checkpoint', join(fanetRun, 'checkpoint.safetensors'), '--split-dir', split, '--format', 'fer2013']), /--format fer2013 would be ignored: pass one of them/);
  assert.not.ok(existsSync(at('conflict-run')), 'train made its run folder');
});

test('train --batch-size above the training split without --lr is refused (the default lr scaled by the batch: --batch-size 1e9 trained at lr 78125 to a loss of 1e36, exit 0)', async () => {
  const args = ['train', '--data', join(dataset, 'index.csv'), '--input-size', '32', '--width', '0.125', '--epochs', '1', '--batch-size', '1000000000'];
  expectRefused(await runCli([...args, '--out', at('huge-batch')]),
    /--batch-size 1000000000 is more than the \d+ training images \(index .*\), and the default lr is scaled by the batch size: use --batch-size \d+ or less, or give --lr/);
  assert.not.ok(existsSync(join(at('huge-batch'), 'checkpoint.safetensors')), 'a checkpoint was written');
});

test('a hand-made split.json cannot widen the dataset folder beyond the split index\'s own (datasetFolder "../.." let train.csv read any file)', async () => {
  const secret = at('secret.png');
  copyFileSync(join(dataset, 'images', 's000', 'F', 'e00_c0_f0.png'), secret);
  const split = join(dataset, 'splits', 'evil');
  mkdirSync(split, { recursive: true });
  // From faces/splits/evil, "../../.." is the temporary root that holds secret.png.
  writeFileSync(join(split, 'split.json'), JSON.stringify({ task: 'er-ss', seed: 0, index: '../../../nothing.csv', datasetFolder: '../../..' }));
  for (const part of ['train', 'test']) writeFileSync(join(split, `${part}.csv`), 'path,subject,pose,expression\n../../../secret.png,s000,F,0\n');
  const refused = /split\.json: split manifest names a dataset folder without its index; expected "datasetFolder" to be the folder of the split index \("index"\), which exists, got datasetFolder "\.\.\/\.\.\/\.\.", index "\.\.\/\.\.\/\.\.\/nothing\.csv" \(missing\)\. split the index again, or delete split\.json/;
  expectRefused(await runCli(['inspect', join(split, 'train.csv')]), refused);
  expectRefused(await runCli(['train', '--split-dir', split, ...fanetArgs, '--out', at('evil-run')]), refused);
  // What `webfer split` writes still opens.
  const real = join(root, 'real-split');
  expectOk(await runCli(['split', '--index', join(dataset, 'index.csv'), '--task', 'er-zid', '--out', real]));
  assert.match(expectOk(await runCli(['inspect', join(real, 'test.csv'), '--no-decode'])).stdout, /test\.csv \(index\): \d+ images/);
});

test('eval --split val on data without a validation part is refused (it evaluated the test part and printed it as "val")', async () => {
  const checkpoint = join(fanetRun, 'checkpoint.safetensors');
  const index = join(dataset, 'index.csv');
  expectRefused(await runCli(['eval', '--checkpoint', checkpoint, '--data', index, '--task', 'er-zid', '--split', 'val']),
    /--split val: index .*index\.csv, er-zid seed 0 has no validation part \(train \d+ · test \d+\): use --split test/);
  assert.match(expectOk(await runCli(['eval', '--checkpoint', checkpoint, '--data', index, '--task', 'er-zid', '--split', 'test'])).stdout, /on test \(\d+ images/);
});

test('FER2013 pixels must be decimal integers: "0x10", "1e2" and "12.0" are bad rows (they were read as 16, 100 and 12)', async () => {
  const fer = at('fer-pixels.csv');
  const pixels = (first: string) => [first, ...Array(2303).fill('0')].join(' ');
  writeFileSync(fer, `emotion,pixels,Usage\r\n3,${pixels('7')},Training\r\n4,${pixels('0x10')},Training\r\n5,${pixels('1e2')},PublicTest\r\n2,"${pixels('12.0')}",PrivateTest\r\n`);
  const inspected = expectOk(await runCli(['inspect', fer]));
  assert.match(inspected.stdout, /fer-pixels\.csv \(fer2013\): 1 images/);
  for (const [line, value] of [[3, '0x10'], [4, '1e2'], [5, '12.0']] as const) {
    assert.match(inspected.stdout, new RegExp(`fer-pixels\\.csv:${line}: bad pixel value; expected integers 0\\.\\.255, got "${value.replace('.', '\\.')}"`));
  }
});

test('an output file flag naming a folder is refused before the work (bench ran its suites, then failed on rename\'s EISDIR and left a temp file)', async () => {
  const folder = at('a-folder');
  mkdirSync(folder, { recursive: true });
  expectRefused(await runCli(['bench', '--quick', '--only', 'runtime', '--json', folder]), new RegExp(`--json ${folder} is a folder: name a file, e\\.g\\. --json ${folder}/bench\\.json`));
  expectRefused(await runCli(['synth', '--contact-sheet', folder, '--subjects', '1', '--expressions', '1', '--size', '64']), new RegExp(`--contact-sheet ${folder} is a folder: name a file`));
  assert.throws(() => writeFileAtomic(folder, 'x'), /EISDIR/);
  assert.equal(readdirSync(root).filter((name) => name.endsWith('.tmp')), [], 'a temp file was left behind');
});

test('train --resume over a metrics.jsonl whose last line was cut short names the file and line (it printed only "Unterminated string in JSON at position 14")', async () => {
  const run = at('cut-metrics');
  cpSync(fanetRun, run, { recursive: true });
  appendFileSync(join(run, 'metrics.jsonl'), '{"epoch":2,"st');
  const before = readFileSync(join(run, 'metrics.jsonl'), 'utf8');
  const lines = before.split('\n').length;
  expectRefused(await runCli(['train', '--out', run, '--resume', '--epochs', '2']),
    new RegExp(`${run}/metrics\\.jsonl:${lines} is not a JSON record \\(.*; a write cut short\\?\\): delete that line, then run --resume again`));
  assert.is(readFileSync(join(run, 'metrics.jsonl'), 'utf8'), before, 'metrics.jsonl was changed');
});

test('a synthetic layout of billions of images is refused in one line (synth --dry-run and train crashed V8 out of memory with a native stack)', async () => {
  // A small heap makes the old crash quick; the refusal needs none of it.
  const env = { NODE_OPTIONS: '--max-old-space-size=256' };
  expectRefused(await runCli(['synth', '--subjects', '100000000', '--dry-run'], { env }),
    /--subjects × --expressions × --clips × --frames × poses make 64,800,000,000 synthetic images, more than the 10,000,000 webfer can list \(F²ED has 219,719\): lower them/);
  expectRefused(await runCli(['train', '--synth-subjects', '100000000', '--out', at('huge-synth')], { env }),
    /--synth-subjects × --synth-expressions × 2 frames × 4 poses make 4,800,000,000 synthetic images/);
  assert.match(expectOk(await runCli(['synth', '--subjects', '3', '--dry-run'], { env })).stdout, /^1944 images of 3 subjects/);
});

test('split --overwrite never writes over the index it splits (an index named train.csv, split into its own folder, lost every row but its train part)', async () => {
  const index = join(dataset, 'train.csv');
  copyFileSync(join(dataset, 'index.csv'), index);
  const before = readFileSync(index, 'utf8');
  expectRefused(await runCli(['split', '--index', index, '--task', 'er-ss', '--out', dataset, '--overwrite']),
    new RegExp(`${index}: the split would overwrite its own index; .*got --out ${dataset} writes ${index}\\. pass another --out`));
  assert.is(readFileSync(index, 'utf8'), before, 'the index was rewritten');
  assert.not.ok(existsSync(join(dataset, 'test.csv')), 'split wrote test.csv');
});

test('an index whose split column has train and val rows but no test rows is refused without --task (the column was ignored and its val rows re-split into train)', async () => {
  const [header, ...rows] = readFileSync(join(dataset, 'index.csv'), 'utf8').trim().split('\n');
  const index = join(dataset, 'train-val.csv');
  writeFileSync(index, `${[`${header},split`, ...rows.map((row, k) => `${row},${k % 4 === 0 ? 'val' : 'train'}`)].join('\n')}\n`);
  expectRefused(await runCli(['train', '--data', index, ...fanetArgs, '--out', at('train-val-run')]),
    /train-val\.csv: the split column names (train and val|val and train) rows but no test rows: add test rows, or pass --task to split the data anew/);
  assert.not.ok(existsSync(at('train-val-run')), 'train made its run folder');
});

test('an index whose split column is empty on some rows is refused without --task naming their lines (those rows were left out of train and test unseen)', async () => {
  const [header, ...rows] = readFileSync(join(dataset, 'index.csv'), 'utf8').trim().split('\n');
  const index = join(dataset, 'part-split.csv');
  writeFileSync(index, `${[`${header},split`, ...rows.map((row, k) => `${row},${k < 2 ? '' : k % 3 === 0 ? 'test' : 'train'}`)].join('\n')}\n`);
  expectRefused(await runCli(['train', '--data', index, ...fanetArgs, '--out', at('part-split-run')]),
    new RegExp(`part-split\\.csv: 2 of ${rows.length} rows have an empty split cell \\(line 2, line 3\\) while others name train/val/test: fill in their split, or pass --task`));
  assert.not.ok(existsSync(at('part-split-run')), 'train made its run folder');
  // gan-train reads only a split index's train rows: the unsplit ones were left out the same way.
  expectRefused(await runCli(['gan-train', '--data', index, '--size', '32', '--width', '4', '--blocks', '1', '--epochs', '1', '--out', at('part-split-gan')]),
    /part-split\.csv: 2 of \d+ rows have an empty split cell \(line 2, line 3\) .*fill in their split \(gan-train reads only the train rows of a split index\)/);
  assert.not.ok(existsSync(at('part-split-gan')), 'gan-train made its run folder');
});

test.run();
