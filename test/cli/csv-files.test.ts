// CSV files as other tools write them (RFC 4180): pandas, R's write.csv, Kaggle's re-uploads.
// webfer must read what they write as they would read it back, whatever the column order or quoting.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { expectOk, expectRefused, removeDir, runCli, tempDir } from './run-cli.js';
import { parseRfc4180 } from './files.js';

const work = tempDir('webfer-csv-files-');
const at = (name: string) => join(work, name);
const seed = Date.now() % 100_000;
let state = seed;
/** A seeded pick in [0, n) (the seed is in failure messages). */
const pick = (n: number) => { state = (state * 1_103_515_245 + 12_345) % 2 ** 31; return state % n; };

const FER2013_CLASSES = ['angry', 'disgust', 'fear', 'happy', 'sad', 'surprise', 'neutral'];
const USAGE_SPLIT: Record<string, string> = { Training: 'train', PublicTest: 'val', PrivateTest: 'test' };

interface Fer2013Rows { emotion: number; pixels: string; usage: string }

function fer2013Rows(count: number): Fer2013Rows[] {
  return Array.from({ length: count }, () => ({
    emotion: pick(7),
    pixels: Array.from({ length: 48 * 48 }, () => pick(256)).join(' '),
    usage: Object.keys(USAGE_SPLIT)[pick(3)]!,
  }));
}

/** What inspect must count for these rows: images per class name (every class listed) and per split. */
function expectedCounts(rows: Fer2013Rows[]): { perClass: Record<string, number>; perSplit: Record<string, number> } {
  const perClass: Record<string, number> = Object.fromEntries(FER2013_CLASSES.map((name) => [name, 0])), perSplit: Record<string, number> = {};
  for (const row of rows) {
    const name = FER2013_CLASSES[row.emotion]!, split = USAGE_SPLIT[row.usage]!;
    perClass[name] = (perClass[name] ?? 0) + 1;
    perSplit[split] = (perSplit[split] ?? 0) + 1;
  }
  return { perClass, perSplit };
}

const sorted = (counts: Record<string, number>) => Object.fromEntries(Object.entries(counts).sort(([a], [b]) => a.localeCompare(b)));

test('FER2013 files are recognised by their column names in any order and quoting: Kaggle\'s icml_face_data.csv ("emotion, Usage, pixels") and R\'s write.csv (every field quoted)', async () => {
  const rows = fer2013Rows(9 + pick(6));
  const files = {
    // Kaggle's icml_face_data.csv: Usage before pixels, a space after each comma of the header.
    'icml_face_data.csv': ['emotion, Usage, pixels', ...rows.map((r) => `${r.emotion},${r.usage},${r.pixels}`)].join('\n'),
    // R: write.csv(df, row.names = FALSE) quotes every string, the header's names too, CRLF lines.
    'r-write.csv': ['"emotion","pixels","Usage"', ...rows.map((r) => `${r.emotion},"${r.pixels}","${r.usage}"`)].join('\r\n'),
  };
  for (const [name, text] of Object.entries(files)) {
    writeFileSync(at(name), `${text}\n`);
    const result = expectOk(await runCli(['inspect', at(name), '--json']));
    const summary = JSON.parse(result.stdout) as { format: string; images: number; perClass: Record<string, number>; perSplit: Record<string, number> };
    assert.is(summary.format, 'fer2013', `${name} (seed ${seed})`);
    assert.is(summary.images, rows.length, `${name}: rows read (seed ${seed})`);
    const expected = expectedCounts(rows);
    assert.equal(sorted(summary.perClass), sorted(expected.perClass), `${name}: images per class (seed ${seed})`);
    assert.equal(sorted(summary.perSplit), sorted(expected.perSplit), `${name}: images per split (seed ${seed})`);
  }
});

/** A CSV field as Python's csv.writer quotes it (QUOTE_MINIMAL). */
const quote = (value: string) => (/[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value);

test('webfer split keeps the index\'s own columns (a user\'s age, notes, ...) in its train / val / test files, each value as written, read back by an RFC 4180 reader; a stray empty column is not kept', async () => {
  const POSES = ['HL', 'F', 'HR', 'BV'];
  const notes = ['plain', 'with, comma', 'with "quotes"', 'two\nlines', 'émotion 表情', ' spaced '];
  // Extra columns before, between and after the ones webfer reads; one name needs quoting.
  const header = ['session', 'path', 'subject', 'age', 'pose', 'expression', 'note, free text'];
  const rows = Array.from({ length: 24 + pick(12) }, (_, k) => ({
    session: `s${pick(5)}`, path: `images/img${k}.png`, subject: `p${pick(4)}`, age: String(18 + pick(60)),
    pose: POSES[pick(4)]!, expression: String(pick(54)), 'note, free text': notes[pick(notes.length)]!,
  }));
  // Each line ends in a comma, as a spreadsheet writes a stray empty column: a nameless column of no values, nothing to keep.
  writeFileSync(at('index.csv'), `${[header.map(quote).join(','), ...rows.map((row) => header.map((name) => quote(row[name as keyof typeof row])).join(','))].map((line) => `${line},`).join('\r\n')}\r\n`);
  expectOk(await runCli(['split', '--index', at('index.csv'), '--task', 'er-ss', '--seed', String(seed), '--out', at('splits')]));
  const byPath = new Map(rows.map((row) => [`../${row.path}`, row]));
  let read = 0;
  for (const part of ['train', 'val', 'test']) {
    const [names, ...records] = parseRfc4180(readFileSync(at(join('splits', `${part}.csv`)), 'utf8'));
    for (const name of ['session', 'age', 'note, free text']) assert.ok(names!.includes(name), `${part}.csv lacks the column ${JSON.stringify(name)}: ${JSON.stringify(names)} (seed ${seed})`);
    assert.not.ok(names!.includes(''), `${part}.csv keeps the empty nameless column: ${JSON.stringify(names)} (seed ${seed})`);
    for (const record of records) {
      assert.is(record.length, names!.length, `${part}.csv: ${JSON.stringify(record)} (seed ${seed})`);
      const got = Object.fromEntries(names!.map((name, k) => [name, record[k]!]));
      const source = byPath.get(got.path!);
      assert.ok(source, `${part}.csv lists ${got.path}, which the index does not (seed ${seed})`);
      for (const name of ['session', 'age', 'note, free text', 'subject', 'pose', 'expression'] as const) {
        assert.is(got[name], source[name], `${part}.csv ${got.path}: ${name} (seed ${seed})`);
      }
      read++;
    }
  }
  assert.is(read, rows.length, `rows in the split files (seed ${seed})`);
});

test('an index or FER2013 file separated by semicolons or tabs (a spreadsheet\'s regional CSV, a TSV) is refused naming the separator and how to write commas, whether detected or given --format', async () => {
  const rows = fer2013Rows(3);
  const POSES = ['HL', 'F', 'HR', 'BV'];
  for (const [separator, name] of [[';', 'semicolons'], ['\t', 'tabs']] as const) {
    const index = at(`index-${name}.csv`), fer = at(`fer-${name}.csv`);
    const indexRows = Array.from({ length: 3 + pick(4) }, (_, k) => [`img${k}.png`, `s${pick(3)}`, POSES[pick(4)]!, String(pick(54))].join(separator));
    writeFileSync(index, `${['path', 'subject', 'pose', 'expression'].join(separator)}\n${indexRows.join('\n')}\n`);
    writeFileSync(fer, `${['emotion', 'pixels', 'Usage'].join(separator)}\n${rows.map((r) => [r.emotion, r.pixels, r.usage].join(separator)).join('\n')}\n`);
    const fix = new RegExp(`the file is separated by ${name}, not commas: save it as comma-separated CSV`);
    for (const args of [['inspect', index], ['inspect', index, '--format', 'index'], ['split', '--index', index, '--task', 'er-ss', '--out', at(`splits-${name}`)], ['inspect', fer], ['inspect', fer, '--format', 'fer2013']]) {
      expectRefused(await runCli(args), fix);
    }
  }
});

test.after(() => removeDir(work));
test.run();
