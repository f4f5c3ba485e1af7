// `webfer train --precision f16` and `webfer gan-train --precision f16` as a user runs them: a
// tiny synthetic run trains with float16 operands and loss scaling, logs the loss scale, stores the
// scalers' state and the precision in its checkpoint, resumes in float16, and refuses to resume in
// another precision.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { errorLines, removeDir, runCli, tempDir, type CliResult } from './run-cli.js';

const work = tempDir('webfer-train-precision-');
const out = join(work, 'run');
// 2 subjects × 3 expressions × 2 frames × 4 poses = 48 images, LightCNN-9 ×0.125 at 32 px.
const TINY = ['--synth-subjects', '2', '--synth-expressions', '3', '--width', '0.125', '--input-size', '32', '--batch-size', '8', '--optimizer', 'adam', '--out', out];

test.after(() => removeDir(work));

function assertOk(result: CliResult): void {
  assert.is(result.code, 0, `${result.command} exited ${result.code}:\n${result.stderr.slice(-2000)}`);
}

/** The checkpoint header's __metadata__ (safetensors: an 8-byte length, then JSON). */
function checkpointMetadata(folder = out): Record<string, string> {
  const bytes = readFileSync(join(folder, 'checkpoint.safetensors'));
  const header = JSON.parse(bytes.subarray(8, 8 + Number(bytes.readBigUInt64LE(0))).toString('utf8')) as { __metadata__: Record<string, string> };
  return header.__metadata__;
}

test('--precision f16 trains, logs the loss scale and checkpoints the scaler and the precision', async () => {
  const result = await runCli(['train', ...TINY, '--epochs', '1', '--precision', 'f16'], { cwd: work });
  assertOk(result);
  assert.match(result.stderr, 'float16 operands, loss scaling');
  assert.match(result.stderr, /epoch 1: train loss \d+\.\d+ .* · loss scale \d+ \(\d+ step\(s\) skipped so far\)/);
  const [record] = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { trainLoss: number });
  assert.ok(Number.isFinite(record!.trainLoss), `a finite training loss: ${record!.trainLoss}`);
  const metadata = checkpointMetadata();
  const scaler = (JSON.parse(metadata.scalers!) as Record<string, { scale: number; growthTracker: number; skippedSteps: number }>).loss!;
  assert.ok(scaler.scale > 0 && scaler.growthTracker + scaler.skippedSteps > 0, `the scaler's state after 5 steps: ${JSON.stringify(scaler)}`);
  assert.is((JSON.parse(metadata.run!) as { extra: { precision: string } }).extra.precision, 'f16');
});

test('a float16 run resumes in float16 and refuses --precision f32', async () => {
  const refused = await runCli(['train', '--resume', '--epochs', '2', '--precision', 'f32', '--out', out], { cwd: work });
  assert.is(refused.code, 1);
  assert.equal(errorLines(refused), [`webfer: --precision f32: the run in ${join(out, 'checkpoint.safetensors')} trains in f16; drop --precision to continue it, or start a new run with another --out`]);
  const resumed = await runCli(['train', '--resume', '--epochs', '2', '--out', out], { cwd: work });
  assertOk(resumed);
  assert.match(resumed.stderr, /epoch 2: train loss .* · loss scale \d+/);
});

test('gan-train --precision f16: a loss scaler each for G and D in the checkpoint; resumes in float16 only', async () => {
  const ganOut = join(work, 'gan');
  const tiny = ['--size', '24', '--width', '4', '--blocks', '1', '--batch-size', '4', '--synth-subjects', '2', '--synth-expressions', '2', '--out', ganOut];
  const result = await runCli(['gan-train', ...tiny, '--epochs', '1', '--precision', 'f16'], { cwd: work });
  assertOk(result);
  assert.match(result.stdout, 'float16 operands, loss scaling');
  assert.match(result.stdout + result.stderr, /epoch 1: D \d+\.\d+ .* loss scale G \d+ D \d+ \(\d+ update\(s\) skipped so far\)/);
  const metadata = checkpointMetadata(ganOut);
  const scalers = JSON.parse(metadata.scalers!) as Record<string, { scale: number }>;
  assert.equal(Object.keys(scalers).sort(), ['discriminator', 'generator']);
  assert.is((JSON.parse(metadata.run!) as { extra: { training: { precision: string } } }).extra.training.precision, 'f16');
  const refused = await runCli(['gan-train', '--resume', '--epochs', '2', '--precision', 'f32', '--out', ganOut], { cwd: work });
  assert.is(refused.code, 1);
  assert.match(errorLines(refused)[0]!, /^webfer: --precision f32: the run in .* trains in f16; drop --precision to continue it/);
  assertOk(await runCli(['gan-train', '--resume', '--epochs', '2', '--out', ganOut], { cwd: work }));
});

test.run();
