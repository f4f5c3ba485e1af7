// Bad data as a new user meets it on the command line: unreadable images and rows with
// --skip-bad, an image listed twice, one class, an empty class folder, index paths that leave
// the dataset folder, transparency. Each is named (file, line) and counted, or refused in one line.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import pngModule from 'pngjs';
import { errorLines, removeDir, runCli, tempDir, type CliResult } from './run-cli.js';
import { readCsv } from './files.js';

const TINY_FANET = ['--width', '0.125', '--input-size', '32', '--batch-size', '8', '--epochs', '1'];
const TINY_GAN = ['--size', '24', '--width', '1', '--blocks', '0', '--batch-size', '8', '--epochs', '1'];
const INDEX_COMMANDS = ['inspect', 'split', 'train', 'eval', 'gan-train', 'augment'];

const work = tempDir('webfer-data-faults-');
const at = (...parts: string[]) => join(work, ...parts);
const run = (args: string[], timeoutMs = 120_000) => runCli(args, { cwd: work, timeoutMs });
const seed = Date.now() % 100_000;
let state = seed;
/** A seeded pick in [0, n), so each run corrupts a different row (the seed is in failure messages). */
const pick = (n: number) => { state = (state * 1_103_515_245 + 12_345) % 2 ** 31; return state % n; };

function assertOk(result: CliResult): void {
  assert.is(result.code, 0, `${result.command} exited ${result.code} (seed ${seed}):\n${result.stderr}`);
  assert.equal(errorLines(result), [], `${result.command} printed errors`);
}

/** Exit 1 and exactly one error line matching `pattern`. */
function assertRefused(result: CliResult, pattern: RegExp): void {
  assert.is(result.code, 1, `${result.command} should fail (seed ${seed}):\n${result.stdout}\n${result.stderr}`);
  const lines = errorLines(result);
  assert.is(lines.length, 1, `${result.command}: one error line, got ${JSON.stringify(lines)}`);
  assert.match(lines[0]!, pattern);
}

const write = (path: string, data: string | Uint8Array) => { mkdirSync(join(path, '..'), { recursive: true }); writeFileSync(path, data); };
const indexLines = () => readFileSync(at('ds', 'index.csv'), 'utf8').trim().split('\n');
let badImage = '', badLine = 0;

test('setup: a synthetic dataset with one corrupt image', async () => {
  // Two frames: ER-SS then holds out 3 validation images, so the one corrupt image never leaves validation empty
  // (train stops then: nothing to evaluate; cli/image-files tests that).
  assertOk(await run(['synth', 'ds', '--subjects', '2', '--expressions', '2', '--frames', '2', '--size', '64', '--seed', String(seed % 7)]));
  const rows = indexLines();
  badLine = 2 + pick(rows.length - 1);
  badImage = rows[badLine - 1]!.split(',')[0]!;
  writeFileSync(at('ds', badImage), 'this is not a PNG');
});

test('train / eval --skip-bad name the unreadable image as they skip it and count it at the end', async () => {
  const trained = await run(['train', '--data', 'ds/index.csv', '--skip-bad', '--out', 'runs/fanet', ...TINY_FANET]);
  assertOk(trained);
  assert.match(trained.stderr, new RegExp(`skipped an unreadable image \\((train|eval|test), --skip-bad\\): \\S*${badImage}: not a PNG, JPEG or TIFF image`));
  assert.match(trained.stderr, /skipped 1 unreadable image\(s\) \(--skip-bad\): (train|eval|test) 1; `webfer inspect` lists them/);
  assert.not.match(trained.stderr, /pass --skip-bad/, 'the advice to pass --skip-bad where it is on');

  const evaluated = await run(['eval', '--checkpoint', 'runs/fanet/checkpoint.safetensors', '--split', 'all', '--skip-bad']);
  assertOk(evaluated);
  assert.match(evaluated.stderr, new RegExp(`skipped an unreadable image \\(all, --skip-bad\\): \\S*${badImage}`));
  assert.match(evaluated.stderr, /skipped 1 unreadable image\(s\) \(--skip-bad\): all 1/);
  assert.not.match(evaluated.stderr, /pass --skip-bad/);
  assert.match(evaluated.stdout, new RegExp(`on all \\(${indexLines().length - 2} images`));
});

test('train --skip-bad on FER2013 names the skipped row at load time', async () => {
  const pixels = (n: number) => Array.from({ length: n }, () => pick(256)).join(' ');
  const rows = ['emotion,pixels,Usage'];
  for (let k = 0; k < 6; k++) rows.push(`${k % 2 ? 3 : 0},${pixels(2304)},${k < 4 ? 'Training' : 'PrivateTest'}`);
  const short = 2 + pick(rows.length - 1);
  rows.splice(short - 1, 0, `4,${pixels(100)},Training`);
  write(at('fer.csv'), `${rows.join('\n')}\n`);
  const result = await runCli(['train', '--data', 'fer.csv', '--skip-bad', '--out', 'runs/fer', ...TINY_FANET],
    { cwd: work, timeoutMs: 120_000, signalWhen: { text: 'wrong number of pixels', signal: 'SIGKILL' } });
  assert.match(result.stderr, new RegExp(`skipped 1 bad row\\(s\\)/file\\(s\\) in fer\\.csv \\(--skip-bad\\):\\n  fer\\.csv:${short}: wrong number of pixels; expected 2304 values`), `seed ${seed}`);
  assert.not.match(result.stderr, /pass --skip-bad/);
});

test('gan-train --skip-bad decodes first and names what it leaves out', async () => {
  const result = await run(['gan-train', '--data', 'ds', '--skip-bad', '--out', 'runs/gan', ...TINY_GAN]);
  assertOk(result);
  assert.match(result.stderr, new RegExp(`skipped 1 unreadable image\\(s\\) in ds/index\\.csv \\(--skip-bad\\):\\n  \\S*${badImage}: not a PNG`));
  assert.not.match(result.stderr, /pass --skip-bad/);
  assert.match(result.stdout, new RegExp(`; ${indexLines().length - 2} images from ds`));
});

test('an image listed twice: split refuses naming both lines; --skip-bad keeps it once and no image is in two splits', async () => {
  const rows = indexLines().filter((_, k) => k + 1 !== badLine);
  const repeated = 1 + pick(rows.length - 1);
  write(at('ds', 'dup.csv'), `${[...rows, rows[repeated]!].join('\n')}\n`);
  const last = rows.length + 1;
  assertRefused(await run(['split', '--index', 'ds/dup.csv', '--task', 'er-ss', '--out', 'dup-split']),
    new RegExp(`^webfer: ds/dup\\.csv:${last}: duplicate image path; .*first on line ${repeated + 1}\\)\\. delete line ${last} or line ${repeated + 1}`));
  const lenient = await run(['split', '--index', 'ds/dup.csv', '--task', 'er-ss', '--out', 'dup-split', '--skip-bad', '--seed', String(seed)]);
  assertOk(lenient);
  assert.match(lenient.stdout, /skipped 1 bad row\(s\) in ds\/dup\.csv/);
  const seen = new Map<string, string>();
  for (const part of ['train', 'val', 'test']) {
    for (const row of readCsv(at('dup-split', `${part}.csv`))) {
      assert.not.ok(seen.has(row.path!), `${row.path} in ${seen.get(row.path!)} and ${part}`);
      seen.set(row.path!, part);
    }
  }
  assert.is(seen.size, rows.length - 1);
});

test('hand-written split files that share an image are refused', async () => {
  const [header, ...rows] = indexLines().filter((_, k) => k + 1 !== badLine);
  const rebased = rows.map((row) => `../ds/${row}`.replace(',landmarks/', ',../ds/landmarks/'));
  const shared = pick(rebased.length - 1); // a training row, listed again in test.csv
  write(at('hand', 'train.csv'), `${[header, ...rebased.slice(0, -1)].join('\n')}\n`);
  write(at('hand', 'test.csv'), `${[header, rebased[rebased.length - 1]!, rebased[shared]!].join('\n')}\n`);
  write(at('hand', 'split.json'), JSON.stringify({ index: '../ds/index.csv', datasetFolder: '../ds' }));
  assertRefused(await run(['train', '--split-dir', 'hand', '--out', 'runs/hand', ...TINY_FANET]),
    new RegExp(`is in both train and test; expected each image in exactly one split, got hand/train\\.csv:${shared + 2} and hand/test\\.csv:3`));
});

test('one class: train refuses; inspect says why', async () => {
  const [header, ...rows] = indexLines().filter((_, k) => k + 1 !== badLine);
  write(at('ds', 'one.csv'), `${[header, ...rows.filter((row) => row.split(',')[3] === '1')].join('\n')}\n`);
  const [trained, inspected] = await Promise.all([run(['train', '--data', 'ds/one.csv', '--out', 'runs/one', ...TINY_FANET]), run(['inspect', 'ds/one.csv'])]);
  assertRefused(trained, /training image\(s\) are all of one class \("calm"\); a classifier needs images of at least 2 classes/);
  assertOk(inspected);
  assert.match(inspected.stdout, /every image is of one class \(calm\)/);
});

test('an empty class folder: inspect lists it, train refuses naming it', async () => {
  const { PNG } = pngModule;
  const png = (alpha: number) => {
    const image = new PNG({ width: 40, height: 40 });
    for (let i = 0; i < 1600; i++) image.data.set([pick(256), pick(256), pick(256), i % 7 === 0 ? alpha : 255], 4 * i);
    return new Uint8Array(PNG.sync.write(image));
  };
  for (const [name, alpha] of [['happy/a.png', 255], ['happy/b.png', 255], ['sad/c.png', 1 + pick(254)], ['sad/d.png', 255]] as const) write(at('faces', name), png(alpha));
  mkdirSync(at('faces', 'angry'));
  const [inspected, trained] = await Promise.all([run(['inspect', 'faces']), run(['train', '--data', 'faces', '--out', 'runs/faces', ...TINY_FANET])]);
  assertOk(inspected);
  assert.match(inspected.stdout, /faces\/angry: class folder has no images/);
  assert.match(inspected.stdout, /1 image\(s\) with transparency, composited onto black: \S*sad\/c\.png/);
  assertRefused(trained, /faces\/angry: class folder has no images; .*add images or delete the folder/);
});

test('index paths outside the dataset folder: refused by every command that reads an index, unless --allow-outside-paths', async () => {
  write(at('secret.png'), readFileSync(at('ds', indexLines()[badLine === 2 ? 2 : 1]!.split(',')[0]!)));
  const [header, ...rows] = indexLines().filter((_, k) => k + 1 !== badLine);
  const outside = ['../secret.png', `${work}/secret.png`][pick(2)]!;
  // Five rows: enough that the allowed split below leaves er-ss's test part non-empty.
  write(at('ds', 'evil.csv'), `${[header, ...rows.slice(0, 4), rows[4]!.replace(/^[^,]+/, outside)].join('\n')}\n`);
  const refusal = /^webfer: ds\/evil\.csv:6: image path leaves the dataset folder; expected a path inside the index's folder, got ".*secret\.png"\. move the file into the dataset folder, or pass --allow-outside-paths/;

  // Independent commands, run side by side to keep the suite short.
  const [inspected, allowed, splitRefused, trainRefused, evalRefused, ganRefused, augmentRefused] = await Promise.all([
    run(['inspect', 'ds/evil.csv']),
    run(['inspect', 'ds/evil.csv', '--allow-outside-paths']),
    run(['split', '--index', 'ds/evil.csv', '--task', 'er-ss', '--out', 'evil-split']),
    run(['train', '--data', 'ds/evil.csv', '--out', 'runs/evil', ...TINY_FANET]),
    run(['eval', '--checkpoint', 'runs/fanet/checkpoint.safetensors', '--data', 'ds/evil.csv']),
    run(['gan-train', '--data', 'ds/evil.csv', '--out', 'runs/evil-gan', ...TINY_GAN]),
    run(['augment', '--checkpoint', 'runs/gan/checkpoint.safetensors', '--data', 'ds/evil.csv', '--task', 'er-up', '--out', 'evil-aug']),
  ]);
  assert.match(inspected.stdout, /evil\.csv \(index\): 4 images/);
  assert.match(inspected.stdout, /evil\.csv:6: image path leaves the dataset folder/);
  assert.match(allowed.stdout, /evil\.csv \(index\): 5 images/);
  for (const refused of [splitRefused, trainRefused, evalRefused, ganRefused, augmentRefused]) assertRefused(refused, refusal);
  const [split, ...helps] = await Promise.all([
    run(['split', '--index', 'ds/evil.csv', '--task', 'er-ss', '--out', 'evil-split', '--allow-outside-paths']),
    ...INDEX_COMMANDS.map((command) => run([command, '--help'])),
  ]);
  assertOk(split!);
  helps.forEach((help, k) => assert.match(help.stdout, /--allow-outside-paths/, `${INDEX_COMMANDS[k]} --help`));
});

test('split never writes over earlier split files unless --overwrite', async () => {
  assertOk(await run(['split', '--index', 'ds/index.csv', '--task', 'er-up', '--out', 'split-twice']));
  const before = readFileSync(at('split-twice', 'train.csv'), 'utf8');
  assertRefused(await run(['split', '--index', 'ds/index.csv', '--task', 'er-ss', '--seed', '3', '--out', 'split-twice']), /split-twice\/train\.csv: split files exist.*--overwrite/);
  assert.is(readFileSync(at('split-twice', 'train.csv'), 'utf8'), before, 'the refused split left train.csv as it was');
  assertOk(await run(['split', '--index', 'ds/index.csv', '--task', 'er-ss', '--seed', '3', '--out', 'split-twice', '--overwrite']));
  assert.is(JSON.parse(readFileSync(at('split-twice', 'split.json'), 'utf8')).task, 'er-ss');
});

test.after(() => removeDir(work));
test.run();
