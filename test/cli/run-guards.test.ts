// Run folders and datasets are never overwritten unless asked, and a resumed run runs what it
// prints: `gan-train` into an existing run, `augment` into its source or over an index, and
// `train --resume` with changed options, spawned as a user types them. One tiny Fa-Net run and one
// tiny FaPE-GAN run are built once and copied where a test changes them.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { errorLines, expectOk, expectRefused, removeDir, runCli, tempDir, type CliResult } from './run-cli.js';

const root = tempDir('webfer-run-guards-');
const fanetRun = join(root, 'fanet');
const ganRun = join(root, 'gan');
const dataset = join(root, 'faces');
const seed = 1 + Math.floor(Math.random() * 1000);

const fanetArgs = ['--width', '0.125', '--input-size', '32', '--synth-subjects', '2', '--synth-expressions', '2', '--batch-size', '8', '--read-every', '8'];
const ganArgs = ['--size', '32', '--width', '4', '--blocks', '1', '--synth-subjects', '2', '--synth-expressions', '2', '--batch-size', '8'];


/** Every file under a folder with its bytes and modification time. */
function snapshot(dir: string): Map<string, { bytes: Buffer; mtimeMs: number }> {
  const files = new Map<string, { bytes: Buffer; mtimeMs: number }>();
  for (const name of readdirSync(dir, { recursive: true }).map(String)) {
    const path = join(dir, name);
    if (statSync(path).isFile()) files.set(name, { bytes: readFileSync(path), mtimeMs: statSync(path).mtimeMs });
  }
  return files;
}

function assertUnchanged(dir: string, before: ReturnType<typeof snapshot>): void {
  const after = snapshot(dir);
  assert.equal([...after.keys()].sort(), [...before.keys()].sort(), `files in ${dir}`);
  for (const [name, { bytes, mtimeMs }] of before) {
    assert.ok(after.get(name)!.bytes.equals(bytes), `${name} was rewritten`);
    assert.is(after.get(name)!.mtimeMs, mtimeMs, `${name} was touched`);
  }
}

const metricsLines = (run: string) => readFileSync(join(run, 'metrics.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { epoch: number; lr: number });

test.before(async () => {
  const built = await Promise.all([
    runCli(['train', ...fanetArgs, '--epochs', '1', '--seed', String(seed), '--out', fanetRun]),
    runCli(['gan-train', ...ganArgs, '--epochs', '1', '--seed', String(seed), '--out', ganRun]),
    runCli(['synth', dataset, '--subjects', '2', '--expressions', '2', '--frames', '1', '--size', '64', '--seed', String(seed)]),
  ]);
  built.forEach(expectOk);
});

test.after(() => removeDir(root));

test('gan-train --out of an existing run without --resume is refused and leaves checkpoint, metrics and samples untouched', async () => {
  const before = snapshot(ganRun);
  assert.ok(before.has('checkpoint.safetensors') && before.has('metrics.jsonl') && before.has('samples-epoch001.png'), [...before.keys()].join(', '));
  const line = expectRefused(await runCli(['gan-train', ...ganArgs, '--epochs', '1', '--out', ganRun]), /checkpoint\.safetensors exists: pass --resume to continue that run, or another --out/);
  assert.ok(line.includes(join(ganRun, 'checkpoint.safetensors')), line);
  assertUnchanged(ganRun, before);

  // A folder holding a run's metrics but no checkpoint is not silently replaced either.
  const partial = join(root, 'gan-partial');
  mkdirSync(partial);
  writeFileSync(join(partial, 'metrics.jsonl'), '{"epoch":1}\n');
  expectRefused(await runCli(['gan-train', ...ganArgs, '--epochs', '1', '--out', partial]), /metrics\.jsonl exists .*another --out/);
  assert.is(readFileSync(join(partial, 'metrics.jsonl'), 'utf8'), '{"epoch":1}\n');
});

test('train --out of a folder holding a run\'s metrics and curves but no checkpoint (cut short before epoch 1 ended) is refused and left as it was', async () => {
  // gan-train refused such a folder; train only looked for checkpoint.safetensors and wrote over metrics.jsonl and the plots.
  const partial = join(root, 'fanet-partial');
  mkdirSync(partial);
  writeFileSync(join(partial, 'metrics.jsonl'), '{"epoch":1,"trainLoss":3.9}\n');
  writeFileSync(join(partial, 'curves.png'), 'an earlier run\'s plot');
  const before = snapshot(partial);
  expectRefused(await runCli(['train', ...fanetArgs, '--epochs', '1', '--out', partial]), /fanet-partial\/(metrics\.jsonl|curves\.png) exists \(a run without a checkpoint\): pass another --out, or delete .*fanet-partial to start over/);
  assertUnchanged(partial, before);
  // A folder with other files (notes, a dataset) is still a fine --out: only a run's own files stop a new run.
  const notes = join(root, 'fanet-notes');
  mkdirSync(notes);
  writeFileSync(join(notes, 'README.txt'), 'runs for the paper\n');
  expectOk(await runCli(['train', ...fanetArgs, '--epochs', '1', '--out', notes]));
  assert.ok(existsSync(join(notes, 'checkpoint.safetensors')) && readFileSync(join(notes, 'README.txt'), 'utf8') === 'runs for the paper\n');
});

test('augment --out naming the source dataset folder (or a folder inside it) is refused; its index.csv is unchanged', async () => {
  const before = snapshot(dataset);
  const checkpoint = join(ganRun, 'checkpoint.safetensors');
  const outs = [dataset, join(dataset, 'images')];
  const results = await Promise.all([
    ...outs.map((out) => runCli(['augment', '--checkpoint', checkpoint, '--data', dataset, '--task', 'er-up', '--out', out])),
    runCli(['augment', '--checkpoint', checkpoint, '--data', join(dataset, 'index.csv'), '--task', 'er-up', '--out', dataset]),
  ]);
  outs.forEach((out, k) => {
    const line = expectRefused(results[k]!, /source dataset .*never writes into its input/);
    assert.ok(line.includes(out), line);
  });
  expectRefused(results[2]!, /never writes into its input/);
  assertUnchanged(dataset, before);
});

test('augment into a folder that already holds an index.csv is refused and writes nothing', async () => {
  const out = join(root, 'augmented');
  mkdirSync(out);
  const index = `path,subject,pose,expression\nimages/a.png,s${seed},F,${seed % 54}\n`;
  writeFileSync(join(out, 'index.csv'), index);
  const line = expectRefused(await runCli(['augment', '--checkpoint', join(ganRun, 'checkpoint.safetensors'), '--data', dataset, '--task', 'er-up', '--count', '2', '--out', out]), /index\.csv exists: augment never writes over an index/);
  assert.ok(line.includes(join(out, 'index.csv')), line);
  assert.is(readFileSync(join(out, 'index.csv'), 'utf8'), index);
  assert.equal(readdirSync(out), ['index.csv']);
});

test('augment with nothing to make by default (half-left already at the other poses\' mean) is refused and writes nothing (it wrote an empty index.csv and advised --extra-train, which train refused as "no train rows (its split column names other splits only)")', async () => {
  const out = join(root, 'nothing-to-make');
  // A balanced synthetic set: every pose has as many training images as the others.
  expectRefused(await runCli(['augment', '--checkpoint', join(ganRun, 'checkpoint.safetensors'), '--data', dataset, '--task', 'er-up', '--out', out]),
    /^webfer: er-up: no synthetic images to make by default \(training images before: HL \d+, already the other poses' mean or more\); nothing was written: pass --count N to make N anyway$/);
  assert.not.ok(existsSync(out), 'augment made its output folder');
  const empty = join(root, 'empty-augment.csv');
  writeFileSync(empty, 'path,subject,pose,expression,split,synthetic,source\n');
  expectRefused(await runCli(['train', '--data', join(dataset, 'index.csv'), '--extra-train', empty, '--epochs', '1', '--out', join(root, 'never')]),
    /^webfer: --extra-train \S+empty-augment\.csv: the index lists no images: drop --extra-train \S+empty-augment\.csv, or make images into it \(webfer augment\)$/);
  assert.not.ok(existsSync(join(root, 'never')), 'train made its run folder');
});

test('train --resume --optimizer adam on an SGD run: one line naming the run\'s optimizer, before anything is built', async () => {
  const before = snapshot(fanetRun);
  const line = expectRefused(await runCli(['train', '--resume', '--optimizer', 'adam', '--epochs', '2', '--out', fanetRun]), /used sgd; drop --optimizer or pass --optimizer sgd/);
  assert.not.match(line, /loadStateDict|momentumBuffer/);
  assertUnchanged(fanetRun, before);
});

test('train --resume refuses a different model, seed or data recipe, naming what the run used', async () => {
  const before = snapshot(fanetRun);
  const cases: [string[], RegExp][] = [
    [['--width', '0.5'], /--width 0\.5: .* is lightcnn9 width 0\.125 at 32 px; drop --width/],
    [['--seed', String(seed + 1)], new RegExp(`--seed ${seed + 1}: .*used seed ${seed} .*drop --seed`)],
    [['--data', dataset], /--data .*trained on synthetic F²ED \(2 subjects × 2 expressions\).*drop --data/],
    [['--epochs', '1'], /--epochs 1: .*already completed 1 epoch/],
    [[], /this run is complete \(1 of 1 epochs\); pass --epochs above 1/],
  ];
  const results = await Promise.all(cases.map(([args]) => runCli(['train', '--resume', ...args, '--out', fanetRun])));
  cases.forEach(([, pattern], k) => expectRefused(results[k]!, pattern));
  assertUnchanged(fanetRun, before);
});

test('train --resume --lr X runs at X: "lr changed from A to B", the header and metrics.jsonl show X', async () => {
  const run = join(root, 'fanet-lr');
  cpSync(fanetRun, run, { recursive: true });
  const [first] = metricsLines(run);
  const lr = Number((0.001 + seed * 1e-6).toPrecision(6));
  const result = expectOk(await runCli(['train', '--resume', '--lr', String(lr), '--epochs', '2', '--out', run]));
  assert.match(result.stderr, new RegExp(`lr changed from ${first!.lr} to ${lr} \\(parameter groups at 1×/2×/10×/20× of it`));
  assert.match(result.stderr, new RegExp(`sgd lr ${lr} batch 8 · epochs 2–2`));
  const records = metricsLines(run);
  assert.equal(records.map((r) => r.epoch), [1, 2]);
  assert.is(records[1]!.lr, lr, 'the resumed epoch ran at the new base lr');
});

test('gan-train --resume --lr X --epochs 2 applies X to G and D and says so; a different --seed is refused', async () => {
  const run = join(root, 'gan-lr');
  cpSync(ganRun, run, { recursive: true });
  expectRefused(await runCli(['gan-train', '--resume', '--seed', String(seed + 1), '--out', run]), /--seed .*used seed .*drop --seed/);
  const lr = 3e-4;
  const result = expectOk(await runCli(['gan-train', '--resume', '--lr', String(lr), '--epochs', '2', '--out', run]));
  assert.match(result.stdout, /epochs changed from 1 to 2/);
  assert.match(result.stdout, new RegExp(`lr changed from 0\\.0002 to ${lr} \\(G and D\\)`));
  assert.match(result.stdout, new RegExp(`Adam lr ${lr} .*batch 8 lambda 10 seed ${seed} · epochs 2–2`));
  assert.equal(metricsLines(run).map((r) => [r.epoch, r.lr]), [[1, 2e-4], [2, lr]]);
  assert.ok(existsSync(join(run, 'samples-epoch002.png')));
});

test('an output folder that cannot be made is refused naming the folder and why: no raw EPERM, and no endless spin under /proc', async () => {
  // mkdir under sysfs fails (EPERM) even for root; under /proc Node's recursive mkdir looped forever.
  const cases: Array<[string[], RegExp]> = [
    [['train', ...fanetArgs, '--epochs', '1', '--out', '/proc/self/webfer-run'], /^webfer: --out \/proc\/self\/webfer-run: cannot make the folder \/proc\/self\/webfer-run \(ENOENT.*\): pass a folder you can write to$/],
    [['gan-train', ...ganArgs, '--epochs', '1', '--out', '/sys/kernel/webfer-run/a'], /^webfer: --out \/sys\/kernel\/webfer-run\/a: cannot make the folder \/sys\/kernel\/webfer-run \(EPERM.*\): pass a folder you can write to$/],
    [['synth', '/proc/self/webfer-faces', '--subjects', '1', '--expressions', '1', '--frames', '1', '--size', '64'], /cannot make the folder \/proc\/self\/webfer-faces \(ENOENT.*\): pass a folder you can write to$/],
  ];
  const results = await Promise.all(cases.map(([args]) => runCli(args, { timeoutMs: 90_000 })));
  results.forEach((result, i) => {
    assert.is.not(result.code, 124, `${result.command} hung`);
    expectRefused(result, cases[i]![1]);
  });
});

test.run();
