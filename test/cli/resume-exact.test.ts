// A run stopped by Ctrl-C inside an epoch and resumed must end where the uninterrupted run ends:
// the same weights and optimizer state bit for bit (the GPU is deterministic here), and the same
// metrics.jsonl apart from the clock (seconds, images/s).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { encodePng } from '../../src/data/codecs.js';
import { loadSafetensors } from '../../src/node/checkpoint.js';
import { errorLines, expectOk, expectRefused, removeDir, runCli, tempDir } from './run-cli.js';

const work = tempDir('webfer-resume-exact-');
const at = (name: string) => join(work, name);
const TIMING = new Set(['seconds', 'trainImagesPerSecond']);

/** Every tensor of two checkpoints byte for byte (weights, optimizer moments), and their random streams. */
function assertSameState(resumed: string, whole: string, file = 'checkpoint.safetensors'): void {
  const [first, second] = [resumed, whole].map((run) => loadSafetensors(join(run, file)));
  assert.is(first!.metadata.random, second!.metadata.random, 'the random stream of the resumed run differs');
  assert.is(first!.metadata.optimizers, second!.metadata.optimizers, 'the optimizer state (steps, groups) of the resumed run differs');
  const [a, b] = [first!.tensors, second!.tensors];
  assert.equal([...a.keys()].sort(), [...b.keys()].sort());
  const bytes = (t: { data: Float32Array }) => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  for (const [name, t] of a) assert.ok(bytes(t).equals(bytes(b.get(name)!)), `${name}: interrupted + resumed differs from the uninterrupted run`);
}

/** metrics.jsonl of two runs: the same epochs and the same numbers, the clock aside. */
function assertSameMetrics(resumed: string, whole: string): void {
  const read = (run: string) => readFileSync(join(run, 'metrics.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as Record<string, number>);
  const [a, b] = [read(resumed), read(whole)];
  assert.equal(a.map((r) => r.epoch), b.map((r) => r.epoch));
  a.forEach((record, k) => {
    const untimed = (r: Record<string, number>) => Object.fromEntries(Object.entries(r).filter(([key]) => !TIMING.has(key)));
    assert.equal(untimed(record), untimed(b[k]!), `epoch ${record.epoch}: the resumed run's record differs from the uninterrupted run's`);
  });
}

test('train stopped by Ctrl-C inside epoch 2 and resumed: the same weights and the same metrics.jsonl as one run (the resumed epoch\'s loss and accuracy covered only its batches after the stop)', async () => {
  const args = (out: string) => ['train', '--synth-subjects', '2', '--synth-expressions', '2', '--width', '0.125', '--input-size', '32', '--batch-size', '2', '--read-every', '3', '--epochs', '2', '--workers', '1', '--out', out];
  const whole = at('fanet-whole'), interrupted = at('fanet-interrupted');
  expectOk(await runCli(args(whole)));
  // Progress lines come at each read-back (every 3 steps): Ctrl-C after epoch 2's third batch.
  const stopped = await runCli(args(interrupted), { signalWhen: { text: 'epoch 2/2 3/', signal: 'SIGINT' } });
  assert.is(stopped.code, 130, `${stopped.command}: exit code after Ctrl-C\n${stopped.stderr.slice(-1500)}`);
  assert.is(errorLines(stopped).length, 0, stopped.stderr);
  const resumed = expectOk(await runCli([...args(interrupted), '--resume']));
  // It says where inside the epoch it goes on (it said only "after epoch 1").
  assert.match(resumed.stderr, /resuming .*after epoch 1 and [3-9]\d* batch\(es\) of epoch 2 \(step \d+\)/);
  assertSameState(interrupted, whole);
  assertSameMetrics(interrupted, whole);
  assertSameState(interrupted, whole, 'best.safetensors');
  // Progress lines (stderr is no TTY here) give the time left, estimated from the batches timed in
  // this process: the resumed epoch's first line must not count the batches done before the stop.
  const done = Number(/after epoch 1 and (\d+) batch/.exec(resumed.stderr)![1]);
  const first = /epoch 2\/2 (\d+)\/(\d+) \((\d+\.\d) s(?:, (\d+) s left)?\)/.exec(resumed.stderr);
  assert.ok(first, `no progress line for epoch 2 in:\n${resumed.stderr.slice(-1500)}`);
  const [reached, total, seconds] = [Number(first[1]), Number(first[2]), Number(first[3])];
  if (reached < total) {
    assert.ok(first[4] !== undefined, `the line gives no time left: ${first[0]}`);
    const estimate = (elapsed: number) => (elapsed / (reached - done)) * (total - reached);
    const left = Number(first[4]);
    assert.ok(left >= Math.floor(estimate(seconds - 0.05)) && left <= Math.ceil(estimate(seconds + 0.05)), `${first[0]}: expected about ${estimate(seconds).toFixed(1)} s left (${reached - done} batches timed)`);
  }
});

test('train keeps best.safetensors, the checkpoint of the epoch with the highest val accuracy (it kept only the last epoch\'s); eval and predict read it', async () => {
  const out = at('fanet-best');
  const args = ['train', '--synth-subjects', '2', '--synth-expressions', '2', '--width', '0.125', '--input-size', '32', '--batch-size', '4', '--optimizer', 'adam', '--epochs', '4', '--workers', '1', '--out', out];
  const trained = expectOk(await runCli(args));
  const records = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { epoch: number; evalAccuracy: number });
  const top = Math.max(...records.map((r) => r.evalAccuracy));
  const bestEpoch = records.find((r) => r.evalAccuracy === top)!.epoch;
  assert.match(trained.stdout, new RegExp(`best\\.safetensors \\(epoch ${bestEpoch}: the best val accuracy, ${(100 * top).toFixed(2)}%\\)`));
  const best = join(out, 'best.safetensors');
  assert.is(JSON.parse(loadSafetensors(best, { select: () => false }).metadata.run!).epoch, bestEpoch);
  assert.match(expectOk(await runCli(['eval', '--checkpoint', best])).stdout, new RegExp(`after epoch ${bestEpoch} on test`));
  const face = join(work, 'face.png');
  writeFileSync(face, encodePng({ width: 40, height: 40, channels: 1, data: new Uint8Array(1600).map((_, k) => (k * 37) % 256) }));
  const predicted = JSON.parse(expectOk(await runCli(['predict', face, '--checkpoint', best, '--json'])).stdout) as { predictions: unknown[] }[];
  assert.is(predicted.length, 1);
  assert.ok(predicted[0]!.predictions.length > 0);
});

test('gan-train stopped inside epoch 2: --batch-size on --resume is refused (it skipped the done batches counted in the new size, dropping the rest of the epoch); resumed as it was, metrics.jsonl equals one run\'s', async () => {
  const args = (out: string) => ['gan-train', '--synth-subjects', '2', '--synth-expressions', '2', '--size', '24', '--width', '1', '--blocks', '0', '--batch-size', '1', '--epochs', '2', '--seed', '3', '--out', out];
  const whole = at('gan-whole'), interrupted = at('gan-interrupted');
  expectOk(await runCli(args(whole)));
  const stopped = await runCli(args(interrupted), { signalWhen: { text: 'epoch 2/2', signal: 'SIGINT' } });
  assert.is(stopped.code, 130, `${stopped.command}: exit code after Ctrl-C\n${stopped.stderr.slice(-1500)}`);
  const checkpoint = readFileSync(join(interrupted, 'checkpoint.safetensors'));
  const withBatch = args(interrupted).map((value, k, all) => (all[k - 1] === '--batch-size' ? '4' : value));
  expectRefused(await runCli([...withBatch, '--resume']), /--batch-size 4: the run in .* stopped inside epoch 2 after \d+ batches of 1; drop --batch-size to finish that epoch, then change it/);
  assert.ok(readFileSync(join(interrupted, 'checkpoint.safetensors')).equals(checkpoint), 'the refused resume left the checkpoint as it was');
  expectOk(await runCli([...args(interrupted), '--resume']));
  assertSameState(interrupted, whole);
  assertSameMetrics(interrupted, whole);
  // The loss curves cover every epoch, the one before the stop included, as one run's do.
  const curves = (run: string) => readFileSync(join(run, 'curves.svg'), 'utf8');
  assert.match(curves(whole), /FaPE-GAN losses, epochs 1–2/);
  for (const series of ['D', 'G adversarial', 'G L1']) assert.ok(curves(whole).includes(`>${series}<`), `the legend names ${series}`);
  assert.is(curves(interrupted), curves(whole), 'curves.svg of the resumed run differs from the uninterrupted run\'s');
});

test('metrics.jsonl on --resume: a record lost to a kill between the checkpoint and the metrics write is restored from the checkpoint (the epoch was missing for good); records past the checkpoint\'s epoch (an earlier checkpoint put back) are refused (they were kept and the epochs written again)', async () => {
  const out = at('metrics-repair');
  const args = ['train', '--synth-subjects', '2', '--synth-expressions', '2', '--width', '0.125', '--input-size', '32', '--batch-size', '8', '--workers', '1', '--out', out];
  const metrics = join(out, 'metrics.jsonl'), checkpoint = join(out, 'checkpoint.safetensors');
  const lines = () => readFileSync(metrics, 'utf8').trim().split('\n');
  expectOk(await runCli([...args, '--epochs', '1']));
  const afterEpoch1 = readFileSync(checkpoint);
  expectOk(await runCli([...args, '--epochs', '2', '--resume']));
  const [line1, line2] = lines();
  writeFileSync(metrics, `${line1}\n`); // the state a kill -9 right after epoch 2's checkpoint leaves
  const repaired = expectOk(await runCli([...args, '--epochs', '3', '--resume']));
  assert.match(repaired.stderr, /metrics\.jsonl lacked epoch 2's record .*; restored it from .*checkpoint\.safetensors/);
  assert.equal(lines().map((line) => (JSON.parse(line) as { epoch: number }).epoch), [1, 2, 3]);
  assert.is(lines()[1], line2, 'the restored record is the one the run wrote');
  writeFileSync(checkpoint, afterEpoch1);
  const before = readFileSync(metrics, 'utf8');
  expectRefused(await runCli([...args, '--epochs', '3', '--resume']), /metrics\.jsonl has records of epoch\(s\) 2, 3, past the epoch 1 of .*checkpoint\.safetensors \(was the checkpoint replaced by an earlier one\?\): move those lines out/);
  assert.is(readFileSync(metrics, 'utf8'), before);

  const gan = at('gan-metrics-repair');
  const ganArgs = ['gan-train', '--synth-subjects', '2', '--synth-expressions', '2', '--size', '24', '--width', '1', '--blocks', '0', '--batch-size', '8', '--out', gan];
  expectOk(await runCli([...ganArgs, '--epochs', '1']));
  const ganLine = readFileSync(join(gan, 'metrics.jsonl'), 'utf8');
  writeFileSync(join(gan, 'metrics.jsonl'), '');
  expectOk(await runCli([...ganArgs, '--epochs', '2', '--resume']));
  const ganLines = readFileSync(join(gan, 'metrics.jsonl'), 'utf8').trim().split('\n');
  assert.equal(ganLines.map((line) => (JSON.parse(line) as { epoch: number }).epoch), [1, 2]);
  assert.is(`${ganLines[0]}\n`, ganLine);
});

test('the data changed under a run (a row removed from its index): --resume and eval from the recipe are refused (the same path and seed split it anew: test images went into training, and eval scored images the model trained on)', async () => {
  const data = at('changing-data');
  expectOk(await runCli(['synth', data, '--subjects', '2', '--expressions', '2', '--frames', '2', '--size', '64', '--workers', '1']));
  const out = at('changing-run');
  const args = ['train', '--data', join(data, 'index.csv'), '--width', '0.125', '--input-size', '32', '--batch-size', '8', '--out', out];
  expectOk(await runCli([...args, '--epochs', '1']));
  const checkpoint = join(out, 'checkpoint.safetensors');
  expectOk(await runCli(['eval', '--checkpoint', checkpoint]));
  const index = readFileSync(join(data, 'index.csv'), 'utf8').trim().split('\n');
  writeFileSync(join(data, 'index.csv'), `${index.slice(0, -1).join('\n')}\n`);
  const saved = readFileSync(checkpoint);
  const changed = /no longer splits as when .*checkpoint\.safetensors was trained \(then train \d+ · val \d+ · test \d+, now train \d+ · val \d+ · test \d+; image list hash [0-9a-f]{16} → [0-9a-f]{16}\): the data changed since, so its test part is not the run's; /;
  expectRefused(await runCli([...args, '--epochs', '2', '--resume']), new RegExp(`${changed.source}restore the data the run was trained on, or start a new run with another --out`));
  assert.ok(readFileSync(checkpoint).equals(saved), 'the refused resume left the checkpoint as it was');
  expectRefused(await runCli(['eval', '--checkpoint', checkpoint]), new RegExp(`${changed.source}restore that data, or pass --data to evaluate on other data knowingly`));
  expectOk(await runCli(['eval', '--checkpoint', checkpoint, '--data', join(data, 'index.csv')]));
});

test('gan-train --data: images changed under the run are refused on --resume (the resumed epochs drew other pose pairs, silently); with the data put back it resumes', async () => {
  const data = at('gan-changing-data');
  expectOk(await runCli(['synth', data, '--subjects', '2', '--expressions', '2', '--frames', '2', '--size', '64', '--workers', '1']));
  const out = at('gan-changing-run');
  const args = ['gan-train', '--data', data, '--size', '24', '--width', '1', '--blocks', '0', '--batch-size', '4', '--out', out];
  expectOk(await runCli([...args, '--epochs', '1']));
  const indexPath = join(data, 'index.csv');
  const index = readFileSync(indexPath, 'utf8');
  const rows = index.trim().split('\n');
  writeFileSync(indexPath, `${rows.slice(0, -1).join('\n')}\n`);
  const checkpoint = join(out, 'checkpoint.safetensors');
  const saved = readFileSync(checkpoint);
  expectRefused(await runCli([...args, '--epochs', '2', '--resume']),
    new RegExp(`${data.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} changed since .*checkpoint\\.safetensors was written \\(then ${rows.length - 1} training images, now ${rows.length - 2}; image list hash [0-9a-f]{16} → [0-9a-f]{16}\\): restore the data the run trained on, or start a new run with another --out`));
  assert.ok(readFileSync(checkpoint).equals(saved), 'the refused resume left the checkpoint as it was');
  writeFileSync(indexPath, index);
  expectOk(await runCli([...args, '--epochs', '2', '--resume']));
  assert.is(readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').length, 2, 'the resumed run trained epoch 2');
});

test.after(() => removeDir(work));
test.run();
