// Bad input in the data layer, as a library caller meets it: each case names the file (and line)
// and says what to do, or is skipped and counted; nothing is dropped or read silently.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pngModule from 'pngjs';
import { BatchLoader, PairedBatchLoader } from '../../src/data/batch-loader.js';
import { checkImages } from '../../src/data/check-images.js';
import { decodeImage, encodePng } from '../../src/data/codecs.js';
import type { Dataset, Sample } from '../../src/data/dataset.js';
import type { ImageU8 } from '../../src/data/image.js';
import { parseIndexCsv } from '../../src/data/index-csv.js';
import { formatSummary, summarizeDataset } from '../../src/data/inspect.js';
import { isInsideFolder } from '../../src/data/paths.js';
import { Random } from '../../src/data/random.js';
import { assertDisjointParts, splitRows } from '../../src/data/splits.js';
import { createSynthDataset } from '../../src/data/synth/synth-dataset.js';
import { openDataset } from '../../src/node/data/open-dataset.js';
import { writeSplits } from '../../src/node/data/write-splits.js';

const test = suite('data faults');
const root = mkdtempSync(join(tmpdir(), 'webfer-faults-'));
const seed = Date.now() % 100_000;
const random = new Random(seed);
const note = `(seed ${seed})`;

function noise(width: number, height: number): ImageU8 {
  return { width, height, channels: 1, data: Uint8Array.from({ length: width * height }, () => random.int(256)) };
}
const write = (path: string, data: Uint8Array | string) => { mkdirSync(join(path, '..'), { recursive: true }); writeFileSync(path, data); };
const HEADER = 'path,subject,pose,expression\n';

/** In-memory samples whose images arrive after `delayMs`; `badIndex`'s fails at once. */
function slowDataset(count: number, badIndex: number, delayMs = 30): Dataset {
  const samples: Sample[] = Array.from({ length: count }, (_, k) => ({ path: `face-${k}.png`, label: k % 3, subject: 's1', pose: k % 2 ? 'F' : 'HL', frame: 0, clip: 0 }));
  return {
    format: 'test', source: 'memory', classes: ['a', 'b', 'c'], samples, problems: [],
    loadImage: async (sample) => {
      if (sample === samples[badIndex]) return decodeImage(new TextEncoder().encode('not an image'), sample.path);
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      return noise(8, 8);
    },
  };
}

test('a bad image in a prefetched batch reaches the caller\'s catch, never an unhandled rejection', async () => {
  const unhandled: unknown[] = [];
  const listener = (reason: unknown) => unhandled.push(reason);
  process.on('unhandledRejection', listener);
  try {
    const badIndex = 4 + random.int(4); // in the third or fourth batch of two: loaded ahead, while batch one waits
    const loader = new BatchLoader(slowDataset(10, badIndex), { batchSize: 2, shuffle: false, prefetch: 3 });
    let caught: unknown, batches = 0;
    try {
      for await (const batch of loader.epoch(0)) { batches += batch.labels.length > 0 ? 1 : 0; }
    } catch (error) { caught = error; }
    await new Promise((resolve) => setTimeout(resolve, 100)); // let any stray rejection surface
    assert.match(String(caught), new RegExp(`face-${badIndex}\\.png: not a PNG, JPEG or TIFF image`), note);
    assert.is(batches, Math.floor(badIndex / 2), `the batches before the bad one arrive in order ${note}`);

    // A consumer that stops after the first batch leaves prefetched failures nobody awaits.
    const early = new BatchLoader(slowDataset(8, 3), { batchSize: 2, shuffle: false, prefetch: 3 });
    for await (const _ of early.epoch(0)) break;

    // The GAN's pair loader prefetches the same way.
    const synth = createSynthDataset({ subjects: 1, expressions: 2, framesPerClip: 1, size: 64, seed: 1 });
    const broken: Dataset = { ...synth, loadImage: async (sample) => sample === synth.samples[synth.samples.length - 1] ? decodeImage(new Uint8Array(0), 'broken.png') : synth.loadImage(sample) };
    const pairs = new PairedBatchLoader(broken, { batchSize: 1, size: 32, prefetch: 8 });
    let pairError: unknown;
    try { for await (const _ of pairs.epoch(0)) { /* consume */ } } catch (error) { pairError = error; }
    assert.match(String(pairError), /broken\.png: not a PNG, JPEG or TIFF image; expected PNG, JPEG or TIFF magic bytes, got an empty file/);
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(unhandled, [], 'no unhandled rejection');
  } finally {
    process.off('unhandledRejection', listener);
  }
});

test('skipped images: each reported once (not once per epoch), as it happens', async () => {
  const badIndex = random.int(6);
  const problems: string[] = [];
  const loader = new BatchLoader(slowDataset(6, badIndex, 1), { batchSize: 4, skipBad: true, seed, onProblem: (problem) => problems.push(problem.message) });
  let seen = 0;
  for (let epoch = 0; epoch < 3; epoch++) for await (const batch of loader.epoch(epoch)) seen += batch.labels.length;
  assert.is(seen, 3 * 5);
  assert.is(problems.length, 1, note);
  assert.match(problems[0]!, new RegExp(`face-${badIndex}\\.png`));
  assert.is(loader.problems.length, 1);
});

test('index: an image listed twice is refused naming both lines, or kept once with --skip-bad', () => {
  const names = Array.from({ length: 4 + random.int(4) }, (_, k) => `img/${k}.png`);
  const repeat = random.int(names.length);
  const spelled = ['', './', 'img/../'][random.int(3)]! + names[repeat]!;
  const text = HEADER + names.map((name, k) => `${name},s${k},F,${k % 3}\n`).join('') + `${spelled},s9,HL,1\n`;
  const lastLine = names.length + 2;
  assert.throws(() => parseIndexCsv(text, { file: 'i.csv' }), (error: Error) =>
    error.message.startsWith(`i.csv:${lastLine}: duplicate image path`) && error.message.includes(`first on line ${repeat + 2}`) && error.message.includes(`delete line ${lastLine} or line ${repeat + 2}`));
  const kept = parseIndexCsv(text, { file: 'i.csv', skipBad: true });
  assert.is(kept.rows.length, names.length);
  assert.equal(kept.problems.problems.map((p) => p.line), [lastLine]);
});

test('index: paths that leave the dataset folder are refused unless allowed', () => {
  for (const path of ['../../etc/passwd', '/etc/passwd', 'a/../../x.png', 'a\\..\\..\\x.png', 'C:\\Windows\\x.png']) {
    const text = `${HEADER}fine.png,s1,F,0\n${path},s1,F,1\n`;
    assert.throws(() => parseIndexCsv(text, { file: 'i.csv' }), /i\.csv:3: image path leaves the dataset folder; .*pass --allow-outside-paths/, path);
    assert.is(parseIndexCsv(text, { file: 'i.csv', allowOutsidePaths: true }).rows.length, 2);
  }
  assert.throws(() => parseIndexCsv('path,subject,pose,expression,landmarks\na.png,s1,F,0,../../secret.txt\n', { file: 'i.csv' }), /i\.csv:2: landmarks path leaves the dataset folder/);
  // Split files reach back into the dataset folder their split.json names, and no further.
  assert.ok(isInsideFolder('../data/images/a.png', '../data'));
  assert.not.ok(isInsideFolder('../data/../other/a.png', '../data'));
  assert.not.ok(isInsideFolder('../../a.png', '..'));
  assert.ok(isInsideFolder('../images/a.png', '..'));
});

test('files: ../ in an index on disk is not read; split files in a sibling folder still open', async () => {
  const data = join(root, 'outside', 'data');
  write(join(root, 'outside', 'secret.png'), encodePng(noise(4, 4)));
  write(join(data, 'images', 'a.png'), encodePng(noise(4, 4)));
  write(join(data, 'images', 'b.png'), encodePng(noise(4, 4)));
  write(join(data, 'evil.csv'), `${HEADER}images/a.png,s1,F,0\n../secret.png,s1,F,1\n`);
  await openDataset(join(data, 'evil.csv')).then(() => assert.unreachable('should refuse ../secret.png'), (error) => assert.match(String(error), /evil\.csv:3: image path leaves the dataset folder/));
  const lenient = await openDataset(join(data, 'evil.csv'), { skipBad: true });
  assert.is(lenient.samples.length, 1);
  assert.is((await openDataset(join(data, 'evil.csv'), { allowOutsidePaths: true })).samples.length, 2);

  write(join(data, 'index.csv'), `${HEADER}images/a.png,s1,F,0\nimages/b.png,s2,HL,1\n`);
  const { files } = await writeSplits(join(data, 'index.csv'), 'er-zid', 1, join(root, 'outside', 'splits'));
  const manifest = JSON.parse(readFileSync(join(root, 'outside', 'splits', 'split.json'), 'utf8'));
  assert.is(manifest.datasetFolder, '../data');
  for (const file of files.filter((f) => f.endsWith('.csv'))) assert.is((await openDataset(file)).samples.length, 1);
  write(join(root, 'outside', 'splits', 'train.csv'), `${HEADER}../data/images/a.png,s1,F,0\n../secret.png,s1,F,1\n`);
  await openDataset(join(root, 'outside', 'splits', 'train.csv')).then(() => assert.unreachable('should refuse'), (error) => assert.match(String(error), /train\.csv:3: image path leaves the dataset folder; expected a path inside the dataset folder "\.\.\/data" named by split\.json/));
});

test('splits: no image in two parts', () => {
  const rows = Array.from({ length: 30 + random.int(30) }, (_, k) => ({ subject: `s${k % 5}`, pose: 'F' as const, expression: k % 4, path: `${k}.png` }));
  for (const task of ['er-ss', 'er-ue', 'er-up', 'er-zid'] as const) {
    const split = splitRows(rows, task, seed);
    assert.is(split.train.length + split.val.length + split.test.length, rows.length);
  }
  const shared = rows[random.int(10)]!; // a training row, listed again for test
  assert.throws(() => assertDisjointParts([['train', rows.slice(0, 10)], ['test', [...rows.slice(10, 12), shared]]], (row) => row.path, (row, part) => `${part}.csv:${row.path}`),
    (error: Error) => error.message === `"${shared.path}" is in both train and test; expected each image in exactly one split, got train.csv:${shared.path} and test.csv:${shared.path}. remove it from one of them (or split again with \`webfer split\`)`);
});

test('folders: an empty class folder is an error (or a listed problem); one class is a problem', async () => {
  const folder = join(root, 'classes');
  write(join(folder, 'happy', 'a.png'), encodePng(noise(6, 6)));
  write(join(folder, 'sad', 'b.png'), encodePng(noise(6, 6)));
  mkdirSync(join(folder, 'disgust'));
  await openDataset(folder).then(() => assert.unreachable('should refuse the empty folder'), (error) => assert.match(String(error), /classes\/disgust: class folder has no images; .*add images or delete the folder/));
  const listed = await openDataset(folder, { skipBad: true });
  assert.equal(listed.classes, ['happy', 'sad']);
  assert.match(formatSummary(summarizeDataset(listed)), /disgust: class folder has no images/);

  const oneClass = await openDataset(folder, { skipBad: true });
  oneClass.samples = oneClass.samples.filter((sample) => oneClass.classes[sample.label] === 'sad');
  assert.match(formatSummary(summarizeDataset(oneClass)), /every image is of one class \(sad\): a classifier needs at least 2 classes/);
});

test('transparency: composited onto black, flagged, and counted by inspect', async () => {
  const { PNG } = pngModule;
  const png = new PNG({ width: 4, height: 4 });
  const alpha = 1 + random.int(254);
  for (let i = 0; i < 16; i++) png.data.set([200, 100, 50, i === 5 ? alpha : 255], 4 * i);
  const bytes = new Uint8Array(PNG.sync.write(png));
  const image = decodeImage(bytes, 'clear.png');
  assert.ok(image.alphaComposited);
  assert.equal([...image.data.subarray(15, 18)], [200, 100, 50].map((v) => Math.round((v * alpha) / 255)), note);
  assert.not.ok(decodeImage(encodePng(noise(4, 4)), 'solid.png').alphaComposited);
  const dir = join(root, 'alpha');
  write(join(dir, 'clear.png'), bytes);
  write(join(dir, 'solid.png'), encodePng(noise(4, 4)));
  write(join(dir, 'index.csv'), `${HEADER}clear.png,s1,F,0\nsolid.png,s1,F,1\n`);
  const dataset = await openDataset(join(dir, 'index.csv'));
  const check = await checkImages(dataset);
  assert.is(check.transparent.length, 1);
  assert.match(formatSummary(summarizeDataset(dataset, check)), /1 image\(s\) with transparency, composited onto black: .*clear\.png/);
});

test.after(() => rmSync(root, { recursive: true, force: true }));
test.run();
