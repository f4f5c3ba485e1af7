// Checkpoint faults as a user meets them: a loss that turns NaN before and after the first
// checkpoint, a save killed mid-write (its temp file left behind), and damaged checkpoint files.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeSafetensors, encodeSafetensors } from '../../src/nn/safetensors.js';
import { errorLines, removeDir, runCli, tempDir, type CliResult } from './run-cli.js';

const TINY_FANET = ['--width', '0.125', '--input-size', '32', '--batch-size', '8', '--synth-subjects', '2', '--synth-expressions', '2'];
const TINY_GAN = ['--size', '24', '--width', '1', '--blocks', '0', '--batch-size', '8', '--synth-subjects', '2', '--synth-expressions', '2'];

const work = tempDir('webfer-checkpoint-faults-');
const run = (args: string[]) => runCli(args, { cwd: work, timeoutMs: 120_000 });

function oneError(result: CliResult): string {
  assert.is.not(result.code, 0, `${result.command} should fail:\n${result.stderr}`);
  const lines = errorLines(result);
  assert.is(lines.length, 1, `${result.command}: expected one error line, got:\n${result.stderr}`);
  return lines[0]!;
}

/** Rewrites a safetensors file's JSON header, keeping its data section byte for byte. */
function editHeader(path: string, edit: (header: Record<string, any>) => void): void {
  const bytes = readFileSync(path);
  const headerLength = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8'));
  edit(header);
  const json = Buffer.from(JSON.stringify(header));
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(json.length));
  writeFileSync(path, Buffer.concat([prefix, json, bytes.subarray(8 + headerLength)]));
}

/** A temp name of writeFileAtomic's shape whose writer (a process that has exited) was killed mid-save. */
function plantStaleTempFile(folder: string, target: string): string {
  const deadPid = spawnSync(process.execPath, ['-e', '']).pid!;
  const name = `.${target}.${deadPid}.${Date.now()}.tmp`;
  writeFileSync(join(folder, name), 'half a checkpoint');
  return name;
}

test('a NaN loss before the first checkpoint says none was written; the advised rerun with a lower --lr takes the same --out (its empty metrics.jsonl refused it)', async () => {
  const out = join(work, 'nan-first');
  const line = oneError(await run(['train', ...TINY_FANET, '--epochs', '1', '--lr', '1e30', '--out', out]));
  assert.match(line, /training loss became (NaN|Infinity) at epoch 1, step \d+\. No checkpoint was written yet\. Usual causes: a learning rate too high .*\(lower --lr\)/);
  assert.not.match(line, /intact/);
  assert.not.ok(existsSync(join(out, 'checkpoint.safetensors')));
  const rerun = await run(['train', ...TINY_FANET, '--epochs', '1', '--lr', '1e-3', '--out', out]);
  assert.is(rerun.code, 0, rerun.stderr);
  assert.is(readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').length, 1, 'one epoch record');
});

test('a NaN loss after a checkpoint names it, leaves it untouched; the resume removed a killed save\'s temp file', async () => {
  const out = join(work, 'nan-later');
  const first = await run(['train', ...TINY_FANET, '--epochs', '1', '--out', out]);
  assert.is(first.code, 0, first.stderr);
  const checkpoint = join(out, 'checkpoint.safetensors');
  // The checkpoint's schedule and optimizer carry the learning rate a resumed run uses: make it diverge.
  const content = decodeSafetensors(readFileSync(checkpoint));
  const optimizers = JSON.parse(content.metadata.optimizers!);
  for (const group of optimizers.optimizer.paramGroups) group.lr = group.initialLr = 1e30;
  const schedulers = JSON.parse(content.metadata.schedulers!);
  schedulers.lr.baseLrs = schedulers.lr.baseLrs.map(() => 1e30);
  content.metadata.optimizers = JSON.stringify(optimizers);
  content.metadata.schedulers = JSON.stringify(schedulers);
  const poisoned = encodeSafetensors(content.tensors, content.metadata);
  writeFileSync(checkpoint, poisoned);
  const step = JSON.parse(content.metadata.run!).step as number;
  const stale = plantStaleTempFile(out, 'checkpoint.safetensors');

  const line = oneError(await run(['train', ...TINY_FANET, '--epochs', '2', '--resume', '--out', out]));
  assert.match(line, new RegExp(`training loss became (NaN|Infinity) at epoch 2, step \\d+\\. The last checkpoint \\(epoch 1 done, step ${step}\\) is intact\\.`));
  assert.ok(Buffer.from(poisoned).equals(readFileSync(checkpoint)), 'the checkpoint was rewritten');
  assert.not.ok(readdirSync(out).includes(stale), `${stale} is still in ${out}`);
});

test('gan-train: a NaN loss before the first checkpoint says none was written', async () => {
  const out = join(work, 'gan-nan');
  const line = oneError(await run(['gan-train', ...TINY_GAN, '--epochs', '1', '--lr', '1e30', '--out', out]));
  assert.match(line, /loss became (NaN|Infinity|-Infinity) at epoch 1, step \d+\. No checkpoint was written yet\./);
});

test('damaged checkpoints are refused in one line naming the file, the tensor and the rule', async () => {
  const source = join(work, 'nan-later', 'checkpoint.safetensors');
  const damaged: [string, (header: Record<string, any>) => void, RegExp][] = [
    // Offsets into the header: the old reader loaded header bytes as weights.
    ['negative.safetensors', (h) => { const [begin, end] = h['model.features.0.filter.weight'].data_offsets; h['model.features.0.filter.weight'].data_offsets = [begin - 8 - end, -8]; }, /tensor "model\.features\.0\.filter\.weight": data_offsets \[-\d+,-8\], expected \[begin, end\]: two non-negative integers/],
    ['overlap.safetensors', (h) => { const t = Object.values(h).find((e: any) => e.data_offsets?.[0] >= 4); t.data_offsets = t.data_offsets.map((o: number) => o - 4); }, /data_offsets \[\d+, \d+\] overlap "[^"]+" \[\d+, \d+\], expected begin \d+/],
  ];
  for (const [name, edit, expected] of damaged) {
    const path = join(work, name);
    writeFileSync(path, readFileSync(source));
    editHeader(path, edit);
    const line = oneError(await run(['eval', '--checkpoint', path, ...TINY_FANET.slice(6)]));
    assert.ok(line.includes(path), `${name}: the error does not name the file: ${line}`);
    assert.match(line, expected, name);
  }
  const truncated = join(work, 'truncated.safetensors');
  writeFileSync(truncated, readFileSync(source).subarray(0, 5000));
  assert.match(oneError(await run(['eval', '--checkpoint', truncated])), /truncated\.safetensors: (header length \d+ runs past the end|tensor "[^"]+": data_offsets .* run past the data section .*truncated file)/);
});

test('a checkpoint of another format version (a newer webfer\'s) is refused as such by --resume and eval (it was called "not a webfer training checkpoint", with advice to --init-from it)', async () => {
  const out = join(work, 'newer-format');
  mkdirSync(out);
  const path = join(out, 'checkpoint.safetensors');
  writeFileSync(path, readFileSync(join(work, 'nan-later', 'checkpoint.safetensors')));
  editHeader(path, (header) => { header.__metadata__.format = 'webfer-checkpoint-2'; });
  const expected = /newer-format\/checkpoint\.safetensors is a webfer training checkpoint of format 2; this webfer reads format 1 only: open it with the webfer version that wrote it \(a newer one: update webfer\)/;
  assert.match(oneError(await run(['train', '--resume', '--epochs', '3', '--out', out])), expected);
  assert.match(oneError(await run(['eval', '--checkpoint', path])), expected);
  assert.match(oneError(await run(['gan-train', '--resume', '--epochs', '3', '--out', out])), expected);
});

test('gan-train: a step that leaves G\'s weights NaN while its losses were finite (--lambda 3e38 overflows G\'s gradients) no longer writes them over the last good checkpoint (it did, and said that checkpoint was intact)', async () => {
  const out = join(work, 'nan-state');
  const args = ['gan-train', '--size', '24', '--width', '1', '--blocks', '0', '--batch-size', '64', '--synth-subjects', '2', '--synth-expressions', '2', '--out', out];
  const first = await run([...args, '--epochs', '1']);
  assert.is(first.code, 0, first.stderr);
  const checkpoint = join(out, 'checkpoint.safetensors');
  const good = readFileSync(checkpoint);
  // One batch per epoch: epoch 2's only step ends the epoch, and its checkpoint would follow at once.
  const line = oneError(await run([...args, '--epochs', '3', '--resume', '--lambda', '3e38']));
  assert.match(line, /the training state became NaN or infinite \(generator\.\S+ holds \d+ NaN or infinite value\(s\) of \d+; not saved\) at epoch 2, step 2\. The last checkpoint \(epoch 1 done, step 1\) is intact\./);
  assert.ok(readFileSync(checkpoint).equals(good), 'the epoch-1 checkpoint was replaced');
  const resumed = await run([...args, '--epochs', '2', '--resume']);
  assert.is(resumed.code, 0, `the kept checkpoint resumes:\n${resumed.stderr}`);
});

test.after(() => removeDir(work));
test.run();
