// CSV files as other tools write them (RFC 4180): pandas, R's write.csv, Kaggle's re-uploads.
// webfer must read what they write as they would read it back, whatever the column order or quoting.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { expectOk, removeDir, runCli, tempDir } from './run-cli.js';

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

test.after(() => removeDir(work));
test.run();
