// A new researcher's slips, typed at the built `webfer` binary on small real files: each is refused
// in one line naming what is wrong and what to do, before anything is written or guessed.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expectOk, expectRefused, removeDir, repoRoot, runCli, tempDir } from './run-cli.js';

const root = tempDir('webfer-user-inputs-');
const dataset = join(root, 'faces');
const index = join(dataset, 'index.csv');

/**
 * A valid baseline JPEG of one flat colour: one Huffman code of 1 bit per table, so every 8×8 block
 * is two 0 bits (DC difference 0, end of block) and a 9500×9500 image takes 1 MB.
 */
function flatJpeg(width: number, height: number, components: number, frame = { marker: 0xc0, precision: 8 }): Buffer {
  const segment = (marker: number, body: number[]) => {
    const bytes = Buffer.alloc(4 + body.length);
    bytes[0] = 0xff; bytes[1] = marker; bytes.writeUInt16BE(body.length + 2, 2);
    Buffer.from(body).copy(bytes, 4);
    return bytes;
  };
  const ids = Array.from({ length: components }, (_, k) => k + 1);
  const table = (tableClass: number) => segment(0xc4, [tableClass << 4, 1, ...new Array(15).fill(0), 0]);
  const blocks = Math.ceil(width / 8) * Math.ceil(height / 8) * components;
  return Buffer.concat([
    Buffer.from([0xff, 0xd8]),
    segment(0xdb, [0, ...new Array(64).fill(1)]),
    segment(frame.marker, [frame.precision, height >> 8, height & 255, width >> 8, width & 255, components, ...ids.flatMap((id) => [id, 0x11, 0])]),
    table(0), table(1),
    segment(0xda, [components, ...ids.flatMap((id) => [id, 0]), 0, 63, 0]),
    Buffer.alloc(Math.ceil((blocks * 2) / 8)),
    Buffer.from([0xff, 0xd9]),
  ]);
}

test.before(async () => {
  expectOk(await runCli(['synth', dataset, '--subjects', '2', '--expressions', '2', '--frames', '1', '--size', '64', '--workers', '1']));
});

test.after(() => removeDir(root));

test('a flag without its value is refused naming it (split --out "" wrote the CSVs into the current folder; train --data with no path trained on synthetic faces; --epochs alone ran the default 10)', async () => {
  expectRefused(await runCli(['split', '--index', index, '--task', 'er-zid', '--out', ''], { cwd: root }), /^webfer: --out was given without a value \(an empty ""\): write --out VALUE$/);
  expectRefused(await runCli(['split', '--index', index, '--task', 'er-zid', '--out='], { cwd: root }), /--out was given without a value/);
  assert.equal(readdirSync(root).filter((name) => name.endsWith('.csv') || name === 'split.json'), [], 'split wrote into the current folder');
  const out = join(root, 'run');
  expectRefused(await runCli(['train', '--data', '--epochs', '1', '--out', out], { timeoutMs: 60_000 }), /^webfer: --data was given without a value: write --data VALUE$/);
  expectRefused(await runCli(['train', '--data', index, '--out', out, '--epochs'], { timeoutMs: 60_000 }), /^webfer: --epochs was given without a value: write --epochs VALUE, or leave it out for the default 10$/);
  assert.not.ok(existsSync(out), 'train made its run folder');
  expectRefused(await runCli(['eval', '--checkpoint', join(root, 'none.safetensors'), '--data', '']), /--data was given without a value/);
  // Values that look like flags but are numbers still count as values.
  expectRefused(await runCli(['train', '--data', index, '--lr', '-1']), /--lr must be a finite number above 0, got -1/);
});

test('synth names the flag of a bad layout number (it said "synth clipsPerExpression must be a positive integer") and writes nothing', async () => {
  const out = join(root, 'bad-synth');
  for (const [flag, value, rule] of [['--subjects', '0', 'a positive integer'], ['--clips', '0', 'a positive integer'], ['--frames', '1.5', 'a positive integer'], ['--expressions', '55', 'an integer from 1 to 54']]) {
    expectRefused(await runCli(['synth', out, flag!, value!]), new RegExp(`^webfer: ${flag} must be ${rule}, got ${value}; e\\.g\\. ${flag} \\d+$`));
  }
  assert.not.ok(existsSync(out), 'synth made its folder');
});

test('train --init-from weights of another --width names --width, not the --gray / --rgb flags train does not have', async () => {
  const weights = join(root, 'tiny.safetensors');
  expectOk(await runCli(['convert', join(repoRoot, 'test/reference/fixtures/pytorch/lightcnn9-tiny.pth'), '--out', weights]));
  const out = join(root, 'wider');
  const result = await runCli(['train', '--data', index, '--init-from', weights, '--width', '0.125', '--input-size', '32', '--epochs', '1', '--out', out]);
  expectRefused(result, /^webfer: --init-from .*tiny\.safetensors: features\.0\.filter\.weight is \[6, 1, 5, 5\] in the state dict but \[12, 1, 5, 5\] in the model; the widths differ: use the checkpoint's --width$/);
  assert.match(result.stderr, /was --width 0\.0625; using --width 0\.125 as given/);
});

test('--synth-subjects / --synth-expressions beside --data or --split-dir are refused (they were ignored without a word)', async () => {
  const out = join(root, 'synth-flags');
  expectRefused(await runCli(['train', '--data', index, '--synth-subjects', '3', '--epochs', '1', '--out', out]),
    /^webfer: --synth-subjects shapes the synthetic data made without a dataset; with --data the images are read from files: drop it$/);
  expectRefused(await runCli(['eval', '--checkpoint', join(root, 'none.safetensors'), '--split-dir', root, '--synth-expressions', '3', '--synth-subjects', '2']),
    /^webfer: --synth-subjects and --synth-expressions shape the synthetic data made without a dataset; with --split-dir the images are read from files: drop them$/);
  expectRefused(await runCli(['gan-train', '--data', index, '--synth-expressions', '2', '--epochs', '1', '--out', out]), /^webfer: --synth-expressions shapes .* with --data .*: drop it$/);
  assert.not.ok(existsSync(out), 'a run folder was made');
});

test('an index in Windows-1252 or UTF-16 is refused naming the line (split wrote U+FFFD into its CSVs in place of "é"); the same index in UTF-8 with a BOM, CRLF and quoted paths holding commas and spaces is read', async () => {
  const folder = join(root, 'accents');
  mkdirSync(join(folder, 'José, 1'), { recursive: true });
  const rows = ['path,subject,pose,expression'];
  for (const [k, name] of readdirSync(join(dataset, 'images', 's000', 'F')).entries()) {
    copyFileSync(join(dataset, 'images', 's000', 'F', name), join(folder, 'José, 1', name));
    rows.push(`"José, 1/${name}",${k % 2 ? 'José' : 'Josè'},F,${k % 2}`);
  }
  const text = `${rows.join('\r\n')}\r\n`;
  writeFileSync(join(folder, 'latin1.csv'), Buffer.from(text, 'latin1'));
  writeFileSync(join(folder, 'utf16.csv'), Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]));
  writeFileSync(join(folder, 'utf8.csv'), `\ufeff${text}`);
  const splits = join(folder, 'splits');
  expectRefused(await runCli(['split', '--index', join(folder, 'latin1.csv'), '--task', 'er-zid', '--out', splits]),
    /latin1\.csv:2: not UTF-8 text; expected UTF-8 text, got bytes UTF-8 does not allow .*save it as UTF-8/);
  assert.not.ok(existsSync(splits), 'split wrote files');
  expectRefused(await runCli(['inspect', join(folder, 'utf16.csv')]), /utf16\.csv: UTF-16 text; expected UTF-8 text, got a UTF-16 byte-order mark\. save it as UTF-8/);
  expectOk(await runCli(['split', '--index', join(folder, 'utf8.csv'), '--task', 'er-zid', '--out', splits]));
  const written = ['train.csv', 'test.csv'].flatMap((name) => readFileSync(join(splits, name), 'utf8').split('\n').slice(1, -1));
  assert.is(written.length, rows.length - 1);
  for (const line of written) assert.ok(line.startsWith('"../José, 1/'), `path kept as written: ${line}`);
  assert.equal(new Set(written.map((line) => line.split(',')[2])), new Set(['José', 'Josè']), 'two subjects');
});

test('an index written on Windows (backslash separators) is named as such, and an unknown expression lists the 54 names (the hints pointed at src/data/labels.ts and at the path alone)', async () => {
  const [header, row] = readFileSync(index, 'utf8').split('\n');
  const cells = row.split(',');
  const windowsIndex = join(dataset, 'windows.csv');
  writeFileSync(windowsIndex, `${header}\n${[cells[0].replaceAll('/', '\\'), ...cells.slice(1)].join(',')}\n`);
  const backslashes = await runCli(['inspect', windowsIndex]);
  assert.match(backslashes.stdout + backslashes.stderr, /got ENOENT\. the path has backslashes \(Windows separators\): write the index's paths with \//);
  const unknownIndex = join(dataset, 'unknown-expression.csv');
  writeFileSync(unknownIndex, `${header}\n${[...cells.slice(0, 3), 'glee', ...cells.slice(4)].join(',')}\n`);
  const unknown = await runCli(['inspect', unknownIndex]);
  assert.match(unknown.stdout + unknown.stderr, /unknown-expression\.csv:2: unknown expression; .*got "glee"\. the 54 names, ids 0\.\.53 in order: neutral, calm, .*, despair, pain/);
});

test('a valid JPEG too large for the decoder\'s memory is called too large, with its size (it was "corrupt or truncated JPEG ... the file is damaged")', async () => {
  const folder = join(root, 'large-jpeg');
  mkdirSync(join(folder, 'big'), { recursive: true });
  mkdirSync(join(folder, 'small'));
  writeFileSync(join(folder, 'big', 'scan.jpg'), flatJpeg(9500, 9500, 3));
  writeFileSync(join(folder, 'small', 'face.jpg'), flatJpeg(64, 48, 3));
  const result = expectOk(await runCli(['inspect', folder], { timeoutMs: 180_000 }));
  assert.match(result.stdout, /big\/scan\.jpg: JPEG is too large to decode; expected a JPEG the decoder holds in 1024 MB .*, got 9500×9500\. shrink it before training/);
  assert.not.match(result.stdout, /corrupt|damaged/);
  assert.match(result.stdout, /small +1/, 'the small JPEG of the same make is read');
});

test('a 12-bit JPEG (decoded as 8-bit, without a word) and an arithmetic-coded one (called damaged) are refused as unsupported, naming what they are', async () => {
  const folder = join(root, 'jpeg-codings');
  for (const name of ['a', 'b']) mkdirSync(join(folder, name), { recursive: true });
  writeFileSync(join(folder, 'a', 'twelve-bit.jpg'), flatJpeg(16, 16, 1, { marker: 0xc1, precision: 12 }));
  writeFileSync(join(folder, 'a', 'arithmetic.jpg'), flatJpeg(16, 16, 1, { marker: 0xc9, precision: 8 }));
  writeFileSync(join(folder, 'b', 'extended.jpg'), flatJpeg(16, 16, 1, { marker: 0xc1, precision: 8 }));
  const result = expectOk(await runCli(['inspect', folder]));
  assert.match(result.stdout, /twelve-bit\.jpg: unsupported JPEG; expected an 8-bit baseline, extended or progressive JPEG \(Huffman-coded\), got 12-bit samples\. re-save it/);
  assert.match(result.stdout, /arithmetic\.jpg: unsupported JPEG; .*, got SOF9: arithmetic-coded sequential\. re-save it/);
  assert.match(result.stdout, /b +1/, 'an 8-bit extended-sequential JPEG is read');
});

test.run();
