// `webfer demo` as a user runs it: the quick demo end to end (report.md with both tables filled,
// results.json agreeing with it, the GAN's training images disjoint from every test split, the
// FER2013 CSV and JAFFE TIFFs in the run folder readable by the real loaders), and bad input
// refused in one line before anything runs.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { errorLines, removeDir, runCli, tempDir } from './run-cli.js';
import { openDataset } from '../../src/node/data/open-dataset.js';
import { decodeImage } from '../../src/data/codecs.js';

/** The markdown table that follows `heading`: rows of trimmed cells, header first, separator dropped. */
function tableAfter(markdown: string, heading: string): string[][] {
  const lines = markdown.split('\n');
  const start = lines.findIndex((line) => line.startsWith(heading));
  assert.ok(start >= 0, `report has "${heading}"`);
  const rows: string[][] = [];
  for (let k = start + 1; k < lines.length; k++) {
    const line = lines[k]!;
    if (!line.startsWith('|')) { if (rows.length) break; continue; }
    const cells = line.slice(1, -1).split(/(?<!\\)\|/).map((cell) => cell.trim());
    if (cells.every((cell) => /^-+:?$/.test(cell))) continue;
    rows.push(cells);
  }
  return rows;
}

const pct = (value: number) => (100 * value).toFixed(1);

test('demo --quick: report.md with both tables filled, results.json agrees, GAN never saw a test image, transfer sets in real formats', async () => {
  const dir = tempDir();
  const out = join(dir, 'run');
  try {
    const started = Date.now();
    const result = await runCli(['demo', '--quick', '--out', out], { timeoutMs: 180_000 });
    assert.is(result.code, 0, `${result.command}: ${result.stderr.slice(-800)}`);
    assert.ok(Date.now() - started < 180_000, 'quick demo within 3 minutes');
    assert.match(result.stdout, /estimate \d/);
    const report = readFileSync(join(out, 'report.md'), 'utf8');
    const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));

    const table5 = tableAfter(report, '## Table 5');
    assert.equal(table5[0], ['Method (accuracy %)', 'ER-SS', 'ER-UE', 'ER-UP', 'ER-ZID']);
    const table4 = tableAfter(report, '## Table 4');
    assert.equal(table4[0], ['Method (accuracy %)', 'FER2013', 'JAFFE']);
    for (const [table, columns] of [[table5, 5], [table4, 3]] as const) {
      for (const row of table) {
        assert.is(row.length, columns, `row ${row[0]} has a cell per column`);
        for (const cell of row) assert.ok(cell !== '' && cell !== '—', `cell of "${row[0]}" filled: ${JSON.stringify(row)}`);
      }
    }
    const row = (table: string[][], name: string) => table.find((r) => r[0] === name)!;
    results.tasks.forEach((task: { task: string; baseline: { mean: number }; augmented: { mean: number }; runs: { baseline: { accuracy: number } }[] }, k: number) => {
      assert.is(row(table5, 'Fa-Net (this run)')[k + 1], pct(task.baseline.mean), `${task.task} Fa-Net`);
      assert.is(row(table5, 'FaPE-GAN + Fa-Net (this run)')[k + 1], pct(task.augmented.mean), `${task.task} FaPE-GAN + Fa-Net`);
      assert.is(task.baseline.mean, task.runs[0]!.baseline.accuracy, 'one seed: the mean is the run');
    });
    results.transfer.forEach((set: { scratch: { mean: number }; pretrained: { mean: number } }, k: number) => {
      assert.is(row(table4, 'Fa-Net from scratch (this run)')[k + 1], pct(set.scratch.mean));
      assert.is(row(table4, 'Fa-Net pre-trained on synthetic F²ED (this run)')[k + 1], pct(set.pretrained.mean));
    });
    assert.match(report, /The paper's direction \(FaPE-GAN \+ Fa-Net above Fa-Net on every task\) (held|did not hold)/);
    assert.match(report, /The paper's direction \(pre-training on F²ED above training from scratch\) (held|did not hold)/);
    assert.match(report, new RegExp(`commit: (unknown|[0-9a-f]{40})`));

    assert.ok(results.gans.length >= 1);
    for (const gan of results.gans) {
      assert.ok(gan.trainedOn.length > 0);
      for (const task of results.tasks) {
        const testPaths = new Set<string>(task.testPaths);
        assert.ok(testPaths.size > 0);
        assert.is(gan.trainedOn.filter((path: string) => testPaths.has(path)).length, 0, `GAN saw no ${task.task} test image`);
      }
    }
    for (const name of Object.values(results.figures) as string[]) assert.ok(existsSync(join(out, name)), `figure ${name} exists`);

    const fer = await openDataset(join(out, 'fer2013', 'fer2013.csv'), { format: 'fer2013' });
    const ferSet = results.transfer.find((s: { set: string }) => s.set === 'fer2013');
    assert.is(fer.samples.filter((s) => s.split === 'test').length, ferSet.counts.test);
    assert.is(fer.samples.length, ferSet.counts.train + ferSet.counts.val + ferSet.counts.test);
    const jaffe = await openDataset(join(out, 'jaffe'), { format: 'jaffe' });
    const jaffeSet = results.transfer.find((s: { set: string }) => s.set === 'jaffe');
    assert.is(jaffe.samples.length, jaffeSet.counts.train + jaffeSet.counts.val + jaffeSet.counts.test);
    for (const split of ['train', 'val', 'test'] as const) {
      const files = readdirSync(join(out, 'jaffe', split));
      assert.is(files.length, jaffeSet.counts[split]);
      for (const file of files) assert.match(file, /^[A-Z]{2}\.(AN|DI|FE|HA|SA|SU|NE)\d+\.\d+\.tiff$/);
    }
    const image = decodeImage(readFileSync(jaffe.samples[0]!.path), jaffe.samples[0]!.path);
    assert.equal([image.width, image.height], [256, 256]);

    const again = await runCli(['demo', '--quick', '--out', out], { timeoutMs: 60_000 });
    assert.is.not(again.code, 0, 'an existing run is not overwritten');
    assert.match(errorLines(again).join('\n'), /holds an earlier demo run .*--overwrite/);
  } finally {
    removeDir(dir);
  }
});

test('bad input: unknown task, --seeds 0, an existing report; one line each, before the device starts', async () => {
  const dir = tempDir();
  try {
    const unknown = await runCli(['demo', '--quick', '--tasks', 'er-ss,er-xx', '--out', join(dir, 'a')], { timeoutMs: 60_000 });
    assert.is.not(unknown.code, 0);
    assert.equal(errorLines(unknown).length, 1);
    assert.match(errorLines(unknown)[0]!, /--tasks: unknown task "er-xx"; use a comma-separated list of er-ss, er-ue, er-up, er-zid/);
    const seeds = await runCli(['demo', '--quick', '--seeds', '0', '--out', join(dir, 'b')], { timeoutMs: 60_000 });
    assert.is.not(seeds.code, 0);
    assert.match(errorLines(seeds)[0]!, /--seeds must be a positive integer, got 0/);
    const existing = join(dir, 'c');
    mkdirSync(existing);
    const marker = `report of an earlier run ${Math.random()}`;
    writeFileSync(join(existing, 'report.md'), marker);
    const refused = await runCli(['demo', '--quick', '--out', existing], { timeoutMs: 60_000 });
    assert.is.not(refused.code, 0);
    assert.match(errorLines(refused)[0]!, /--out .* holds an earlier demo run/);
    assert.is(readFileSync(join(existing, 'report.md'), 'utf8'), marker, 'the earlier report is untouched');
    assert.not.match(unknown.stdout + seeds.stdout + refused.stdout, /adapter /, 'refused before the device started');
  } finally {
    removeDir(dir);
  }
});

test.run();
