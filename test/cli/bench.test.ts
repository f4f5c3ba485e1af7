// `webfer bench --step`: whole training steps, spawned as a user types it, at --quick sizes.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { errorLines, removeDir, runCli, tempDir } from './run-cli.js';

const work = tempDir('webfer-bench-');
test.after(() => removeDir(work));

test('bench --step --quick --json: LightCNN-9 and FaPE-GAN steps with images/s, family shares, dispatches and submits', async () => {
  const result = await runCli(['bench', '--step', '--quick', '--steps', '1', '--json', 'out.json'], { cwd: work });
  assert.is(result.code, 0, `${result.command} exited ${result.code}:\n${result.stderr}`);
  const written = JSON.parse(readFileSync(join(work, 'out.json'), 'utf8'));
  assert.is(written.quick, true);
  assert.type(written.adapter.description, 'string');
  assert.ok(!Number.isNaN(Date.parse(written.date)), `date ${written.date}`);
  assert.equal(written.steps.map((s: { name: string }) => s.name), ['lightcnn9 quick', 'fapegan quick']);
  for (const step of written.steps) {
    assert.is(step.steps, 1);
    assert.ok(step.msPerStep > 0 && Number.isFinite(step.msPerStep), `${step.name}: ${step.msPerStep} ms`);
    assert.ok(Math.abs(step.imagesPerSecond - (1000 * step.batch) / step.msPerStep) < 1e-6 * step.imagesPerSecond, `${step.name}: images/s`);
    assert.ok(step.dispatchesPerStep > 20, `${step.name}: ${step.dispatchesPerStep} dispatches`);
    assert.ok(step.submitsPerStep >= 1, `${step.name}: ${step.submitsPerStep} submits`);
    assert.match(result.stdout, `${step.name}: `);
    if (written.adapter.features.includes('timestamp-query')) {
      const families = step.families.map((f: { family: string }) => f.family);
      for (const family of ['conv forward', 'conv input-grad', 'conv weight-grad']) assert.ok(families.includes(family), `${step.name}: ${family} among ${families}`);
      const shares = step.families.reduce((s: number, f: { share: number }) => s + f.share, 0);
      assert.ok(Math.abs(shares - 1) < 1e-6, `${step.name}: shares sum to ${shares}`);
      const dispatches = step.families.reduce((s: number, f: { dispatches: number }) => s + f.dispatches, 0);
      assert.is(dispatches, step.dispatchesPerStep, `${step.name}: profiled dispatches`);
    }
  }
});

test('bench: --step with --only, and --steps without --step or below 1, are refused in one line', async () => {
  for (const [args, pattern] of [
    [['bench', '--step', '--only', 'runtime'], /pass one of them/],
    [['bench', '--steps', '2'], /--steps applies to --step only/],
    [['bench', '--step', '--steps', '0'], /--steps must be a positive integer, got 0/],
  ] as [string[], RegExp][]) {
    const result = await runCli(args, { cwd: work });
    assert.is.not(result.code, 0, `${args.join(' ')} should fail`);
    assert.is(errorLines(result).length, 1, result.stderr);
    assert.match(errorLines(result)[0]!, pattern);
  }
});

test.run();
