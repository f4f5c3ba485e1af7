// `webfer train` without --data as a user runs it: the synthetic set renders on worker threads
// ahead of training, and a seeded run gives the same curve and weights with 1 and 2 workers; a
// worker that fails ends the run with one line; --workers with files is refused.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { errorLines, removeDir, runCli, tempDir, type CliResult } from './run-cli.js';

const work = tempDir('webfer-train-synth-');
const at = (...parts: string[]) => join(work, ...parts);
const seed = Date.now() % 100_000;
// 2 subjects × 3 expressions × 2 frames × 4 poses = 48 images, LightCNN-9 ×0.125 at 32 px.
const TINY = ['--synth-subjects', '2', '--synth-expressions', '3', '--width', '0.125', '--input-size', '32', '--batch-size', '8', '--optimizer', 'adam', '--seed', String(seed)];

test.after(() => removeDir(work));

function assertOk(result: CliResult): void {
  assert.is(result.code, 0, `${result.command} exited ${result.code} (seed ${seed}):\n${result.stderr.slice(-2000)}`);
}

/** metrics.jsonl without the timings, which differ from run to run. */
function curve(out: string): Record<string, unknown>[] {
  return readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((line) => {
    const { seconds: _seconds, trainImagesPerSecond: _rate, ...record } = JSON.parse(line) as Record<string, unknown>;
    return record;
  });
}

/** The checkpoint's tensor bytes (its header holds the timings too). */
function weights(out: string): Buffer {
  const bytes = readFileSync(join(out, 'checkpoint.safetensors'));
  return bytes.subarray(8 + Number(bytes.readBigUInt64LE(0)));
}

test(`seed ${seed}: --workers 1 and --workers 2 train to the same curve and weights`, async () => {
  const [one, two] = await Promise.all([
    runCli(['train', ...TINY, '--epochs', '2', '--workers', '1', '--out', at('one')], { cwd: work }),
    runCli(['train', ...TINY, '--epochs', '2', '--workers', '2', '--out', at('two')], { cwd: work }),
  ]);
  assertOk(one);
  assertOk(two);
  assert.match(one.stderr, 'rendered on 1 worker thread)');
  assert.match(two.stderr, 'rendered on 2 worker threads)');
  const curveOne = curve(at('one'));
  assert.is(curveOne.length, 2);
  assert.equal(curve(at('two')), curveOne);
  assert.ok(weights(at('one')).equals(weights(at('two'))), 'the weights differ between 1 and 2 workers');
});

test('a render worker that fails ends train with one line naming the image and the worker', async () => {
  // Every worker thread dies on start (a preload that throws off the main thread).
  const fault = at('fault.cjs');
  writeFileSync(fault, "if (!require('node:worker_threads').isMainThread) throw new Error('injected worker fault');\n");
  const result = await runCli(['train', ...TINY, '--epochs', '1', '--workers', '2', '--out', at('fault')], { cwd: work, env: { NODE_OPTIONS: `--require ${fault}` } });
  assert.is(result.code, 1, result.stderr);
  const lines = errorLines(result);
  assert.is(lines.length, 1, JSON.stringify(lines));
  assert.match(lines[0]!, /^webfer: s00\d\/(HL|F|HR|BV)\/e0\d_c0_f\d\.png: synth worker [12] of [12] failed to run: injected worker fault$/);
});

test('--workers with --data is refused: the images come from files', async () => {
  const result = await runCli(['train', '--data', at('anything.csv'), '--workers', '2', '--out', at('never')], { cwd: work });
  assert.is(result.code, 1);
  assert.equal(errorLines(result), ['webfer: --workers 2 sets the threads that render synthetic data; with --data the images are read from files: drop --workers']);
});

test.run();
