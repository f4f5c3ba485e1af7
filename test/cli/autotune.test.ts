// WEBFER_AUTOTUNE=1 as a user runs it: `webfer bench --step --quick` times the kernel variants of
// every shape class its first steps meet, keeps the choices in the cache file, and a second run
// restores them; a cache file that is not webfer's is reported and left as it was.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { removeDir, runCli, tempDir } from './run-cli.js';
import { CONV_FORWARD_VARIANTS, MATMUL_VARIANTS } from '../../src/gpu/policy.js';

const work = tempDir('webfer-autotune-');
test.after(() => removeDir(work));

const benchStep = (cache: string) =>
  runCli(['bench', '--step', '--quick', '--steps', '1', '--json', 'steps.json'], { cwd: work, env: { WEBFER_AUTOTUNE: '1', WEBFER_AUTOTUNE_CACHE: cache }, timeoutMs: 240_000 });

test('bench --step with WEBFER_AUTOTUNE=1: choices for matmul and the three conv passes are saved, then restored by the next run', async () => {
  const cache = join(work, 'cache', 'autotune.json');
  const first = await benchStep(cache);
  assert.is(first.code, 0, first.stderr);
  assert.match(first.stderr, `autotune: on; 0 choices restored from ${cache}`);
  const saved = JSON.parse(readFileSync(cache, 'utf8'));
  assert.is(saved.format, 'webfer-autotune');
  const [entry] = Object.values(saved.adapters) as { kernels: string; choices: Record<string, string> }[];
  const keys = Object.keys(entry!.choices);
  for (const kind of ['matmul', 'convForward', 'convInputGrad', 'convWeightGrad']) assert.ok(keys.some((k) => k.startsWith(`${kind}|`)), `${kind} among ${keys.length} choices`);
  for (const [key, variant] of Object.entries(entry!.choices)) {
    const allowed: readonly string[] = key.startsWith('matmul|') ? MATMUL_VARIANTS : CONV_FORWARD_VARIANTS;
    assert.ok(allowed.includes(variant), `${key}: ${variant}`);
  }
  const second = await benchStep(cache);
  assert.is(second.code, 0, second.stderr);
  assert.match(second.stderr, `autotune: on; ${keys.length} choices restored from ${cache}`);
  assert.equal(JSON.parse(readFileSync(cache, 'utf8')).adapters, saved.adapters, 'nothing new to tune: the file is unchanged');
});

test('a cache file that is not webfer\'s is reported, left untouched, and the run goes on', async () => {
  const foreign = join(work, 'foreign.json');
  writeFileSync(foreign, '[1, 2, 3]\n');
  const result = await benchStep(foreign);
  assert.is(result.code, 0, result.stderr);
  assert.match(result.stderr, `autotune: on; ${foreign} is not a webfer autotune cache`);
  assert.is(readFileSync(foreign, 'utf8'), '[1, 2, 3]\n');
});

test.run();
