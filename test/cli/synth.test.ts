// `webfer synth` as a user runs it: the f2ed preset's counts (--dry-run), an interrupted run
// resumed to the same files as an uninterrupted one, options a preset refuses, and a failing
// worker reported in one line.
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { errorLines, removeDir, runCli, tempDir, type CliResult } from './run-cli.js';

const work = tempDir('webfer-synth-');
const seed = Math.floor(Math.random() * 1000);
// 2 subjects × 4 expressions × 2 frames × 4 poses = 64 images at 64 px: a few seconds on 2 cores.
const TINY = ['--subjects', '2', '--expressions', '4', '--frames', '2', '--size', '64', '--seed', String(seed)];
const at = (...parts: string[]) => join(work, ...parts);

function assertOk(result: CliResult): void {
  assert.is(result.code, 0, `${result.command} exited ${result.code}:\n${result.stderr.slice(-2000)}`);
}

function filesUnder(root: string): Map<string, Buffer> {
  const entries = readdirSync(root, { recursive: true, withFileTypes: true }).filter((entry) => entry.isFile());
  return new Map(entries.map((entry) => {
    const path = join(entry.parentPath ?? (entry as unknown as { path: string }).path, entry.name);
    return [path.slice(root.length + 1), readFileSync(path)] as const;
  }));
}

test.after(() => removeDir(work));

test('--preset f2ed --dry-run prints F²ED\'s counts and the split sizes they give, rendering nothing', async () => {
  const result = await runCli(['synth', at('never'), '--preset', 'f2ed', '--dry-run'], { cwd: work });
  assertOk(result);
  assert.match(result.stdout, 'f2ed: 219719 images, 119 subjects (37 male, 82 female), 54 expressions, 5418 clips, 74985 frames; HL 47053 · F 74985 · HR 49152 · BV 48529');
  assert.match(result.stdout, /er-ue test 40730 \(rare expressions( \d+){11}\), er-zid test 30413 \(21 subjects:/);
  assert.equal(readdirSync(work), [], 'a dry run writes nothing');
});

test('a preset refuses the layout options it sets itself, and --scale outside 0.01..1', async () => {
  const [layout, scale] = await Promise.all([
    runCli(['synth', at('x'), '--preset', 'f2ed-small', '--subjects', '3', '--pose-mix', 'f2ed']),
    runCli(['synth', at('x'), '--preset', 'f2ed', '--scale', '0.001']),
  ]);
  assert.equal(errorLines(layout), ['webfer: --preset f2ed-small lays out subjects, expressions, clips, frames and poses itself: drop --subjects, --pose-mix (or drop --preset)']);
  assert.equal(errorLines(scale), ['webfer: --scale 0.001: F²ED scale must be between 0.01 and 1 (a fraction of its 219,719 images), got 0.001']);
  assert.ok(layout.code !== 0 && scale.code !== 0);
});

test('an interrupted synth resumes: finished images kept, missing ones rendered, the same files as an uninterrupted run', async () => {
  const [whole, killed] = await Promise.all([
    runCli(['synth', at('whole'), ...TINY, '--workers', '1']),
    // SIGKILL once the first images are counted: no handler runs, as with a crash or a lost machine.
    runCli(['synth', at('resumed'), ...TINY, '--workers', '2'], { signalWhen: { text: 'images/s', signal: 'SIGKILL' } }),
  ]);
  assertOk(whole);
  assert.match(whole.stdout, /wrote 64 images and .*index\.csv/);
  assert.is.not(killed.code, 0, 'the first run was killed mid-way');
  const before = filesUnder(at('resumed'));
  assert.not.ok(before.has('index.csv'), 'no index before the end');
  // What a writer killed mid-file leaves (its pid gone: 4194304 is above Linux's largest pid).
  const stale = join('images', 's000', 'F', '.e00_c0_f0.png.4194304.1.tmp');
  mkdirSync(at('resumed', 'images', 's000', 'F'), { recursive: true });
  writeFileSync(at('resumed', stale), 'half a png');

  const resumed = await runCli(['synth', at('resumed'), ...TINY, '--workers', '2']);
  assertOk(resumed);
  const [kept, total] = (/resuming .*: (\d+) of (\d+) images already written/.exec(resumed.stdout) ?? []).slice(1).map(Number);
  assert.ok(total === 64 && kept! > 0 && kept! < 64, `resumed with ${kept} of ${total} kept:\n${resumed.stdout}`);
  assert.match(resumed.stdout, `(${64 - kept!} rendered`);
  const after = filesUnder(at('resumed')), reference = filesUnder(at('whole'));
  assert.equal([...after.keys()].sort(), [...reference.keys()].sort(), 'the same files, the stale temp file removed');
  for (const [path, bytes] of reference) assert.ok(bytes.equals(after.get(path)!), `${path} differs from the uninterrupted run's`);
  for (const [path, bytes] of before) if (path.endsWith('.png')) assert.ok(bytes.equals(after.get(path)!), `${path} was kept, not rewritten`);

  // Resuming with other settings would mix two datasets: refused.
  const other = await runCli(['synth', at('resumed'), ...TINY.slice(0, -1), String(seed + 1)]);
  assert.equal(errorLines(other).length, 1);
  assert.match(errorLines(other)[0]!, `holds a synth made with other settings (seed ${seed} → ${seed + 1})`);
});

test('Ctrl-C stops synth with exit 130 and says how to continue; the images written stay', async () => {
  const stopped = await runCli(['synth', at('ctrl-c'), ...TINY, '--workers', '2'], { signalWhen: { text: 'images/s', signal: 'SIGINT' } });
  assert.is(stopped.code, 130, `${stopped.command} exited ${stopped.code}:\n${stopped.stderr.slice(-2000)}`);
  const [written] = (/interrupted: (\d+) image\(s\) written this run are kept in .*; run the same command again to continue/.exec(stopped.stderr) ?? []).slice(1).map(Number);
  assert.ok(written !== undefined, `no interruption note:\n${stopped.stderr.slice(-2000)}`);
  const pngs = [...filesUnder(at('ctrl-c')).keys()].filter((path) => path.endsWith('.png'));
  assert.ok(pngs.length >= written! && pngs.length < 64, `${pngs.length} images on disk, ${written} counted`);
  assert.not.ok(filesUnder(at('ctrl-c')).has('index.csv'), 'no index before every image is written');
});

test('a worker that fails ends synth with one line naming the image', async () => {
  const image = join('images', 's001', 'BV', 'e02_c0_f1.png');
  rmSync(at('whole', image));
  mkdirSync(at('whole', image)); // a folder where the image goes: the worker cannot write it
  const result = await runCli(['synth', at('whole'), ...TINY, '--workers', '2']);
  assert.is.not(result.code, 0);
  const lines = errorLines(result);
  assert.is(lines.length, 1, result.stderr);
  assert.match(lines[0]!, new RegExp(`^webfer: synth worker [12] of 1 failed on .*${image.replace(/\//g, '\\/').replace('.', '\\.')}: `));
  assert.not.match(result.stderr, /^\s+at /m);
});

test.run();
