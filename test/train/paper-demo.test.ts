// The demo's library parts: the pipeline at a tiny size over two tasks and two seeds (the GAN
// never sees a test image, summaries match the runs, no GPU memory is left behind), the
// ER-SS / ER-ZID re-posing plan, seed statistics, and the FER2013 / JAFFE exports read back by
// the real parsers.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { init, memory } from '../../src/index.js';
import { createSynthDataset } from '../../src/data/synth/synth-dataset.js';
import { decodeImage } from '../../src/data/codecs.js';
import { parseFer2013 } from '../../src/data/datasets/fer2013.js';
import { parseJaffeName } from '../../src/data/datasets/filenames.js';
import { Random } from '../../src/data/random.js';
import { BASIC_EXPRESSION_IDS, JAFFE_SPLIT, createFer2013Csv, createJaffeSet, encodeGrayTiff, splitSizes } from '../../src/data/synth/export-formats.js';
import { EXPRESSIONS } from '../../src/data/labels.js';
import { planAugmentation } from '../../src/train/augmentation.js';
import { compare, summarize } from '../../src/train/demo/stats.js';
import { formatPaperDemo, presetOptions, runPaperDemo, splitByTask, table5Rows } from '../../src/train/paper-demo.js';

await init();

test('two tasks × two seeds: GAN trained on no test image, summaries from the runs, no leaks', async () => {
  const quick = presetOptions('quick');
  const options = { ...quick, seed: 3, seeds: 2, tasks: ['er-up', 'er-zid'] as const, transfer: false as const };
  const before = memory();
  const grids: string[] = [];
  const result = await runPaperDemo({ ...options, tasks: [...options.tasks] }, { png: (name) => { grids.push(name); } });
  assert.equal(result.seeds, [3, 4]);
  assert.is(result.gans.length, 2, 'one shared GAN per seed');
  for (const gan of result.gans) {
    assert.ok(gan.trainedOn.length > 0);
    for (const task of result.tasks) {
      const test = new Set(task.testPaths);
      assert.ok(task.testPaths.length > 0, `${task.task} has test images`);
      assert.is(gan.trainedOn.filter((path) => test.has(path)).length, 0, `GAN of seed ${gan.seed} saw no ${task.task} test image`);
    }
  }
  for (const task of result.tasks) {
    assert.is(task.runs.length, 2);
    const accuracies = task.runs.map((r) => r.baseline.accuracy);
    assert.ok(Math.abs(task.baseline.mean - (accuracies[0]! + accuracies[1]!) / 2) < 1e-12);
    assert.ok(Math.abs(task.baseline.std! - Math.abs(accuracies[0]! - accuracies[1]!) / Math.SQRT2) < 1e-12, 'sample std of two values');
    for (const run of task.runs) {
      assert.ok(run.synthetic > 0, 're-posed faces were added');
      const tested = run.baseline.perPose!.reduce((n, p) => n + p.count, 0);
      assert.is(tested, task.counts.test, 'per-pose counts cover the test split');
      assert.is(run.baseline.confusion.flat().reduce((a, b) => a + b, 0), task.counts.test);
      assert.is(run.baseline.familyConfusion!.flat().reduce((a, b) => a + b, 0), task.counts.test);
    }
  }
  assert.ok(grids.some((name) => name.startsWith('fapegan-samples-shared-seed3')));
  const rows = table5Rows(result);
  assert.equal(rows[0], ['Method (accuracy %)', 'ER-UP', 'ER-ZID']);
  for (const row of rows) for (const cell of row) assert.ok(cell.trim() !== '', `cell of ${row[0]} filled`);
  assert.match(formatPaperDemo(result), /held|did not hold/);
  const after = memory();
  assert.is(after.liveTensors, before.liveTensors, 'every tensor of the pipeline was freed');
  assert.is(after.bytesInUse, before.bytesInUse, 'GPU memory back where it started');
});

test('ER-SS / ER-ZID re-posing: share × training images, from the training split, into another pose', () => {
  const random = new Random(Date.now() % 1e6);
  const share = [0.25, 0.5, 1][random.int(3)]!;
  const dataset = createSynthDataset({ subjects: 4, expressionIds: [0, 20, 30, 45], framesPerClip: 2, size: 64, poseMix: 'f2ed', seed: random.int(1000) });
  for (const task of ['er-ss', 'er-zid'] as const) {
    const split = splitByTask(dataset, task, 1);
    const train = split.samples.filter((s) => s.split === 'train');
    const plan = planAugmentation(split, task, { seed: 2, share });
    assert.is(plan.jobs.length, Math.round(share * train.length), `${task} share ${share}`);
    const trainPaths = new Set(train.map((s) => s.path));
    for (const job of plan.jobs) {
      assert.ok(trainPaths.has(job.source.path) && trainPaths.has(job.reference.path), 'sources and pose references are training images');
      assert.is.not(job.targetPose, job.source.pose);
      assert.is(job.reference.pose, job.targetPose);
      assert.is(job.expression, job.source.label);
    }
  }
});

test('seed statistics: sample std and the spread rule', () => {
  const a = summarize([0.3, 0.5, 0.4]);
  assert.ok(Math.abs(a.mean - 0.4) < 1e-12);
  assert.ok(Math.abs(a.std! - 0.1) < 1e-12, 'n − 1 in the denominator');
  const b = summarize([0.9, 0.9, 0.9]);
  assert.equal(compare(a, b).exceedsSpread, true);
  assert.equal(compare(a, summarize([0.35, 0.45, 0.4])).exceedsSpread, false);
  const single = compare(summarize([0.2]), summarize([0.3]));
  assert.is(single.exceedsSpread, null);
  assert.ok(Math.abs(single.difference - 0.1) < 1e-12);
});

test('FER2013 export: the emotion,pixels,Usage CSV parses back with its labels and Usage order', async () => {
  const exported = await createFer2013Csv({ subjects: 2, framesPerExpression: 1, seed: 77 });
  const lines = exported.csv.trim().split('\n');
  assert.is(lines[0], 'emotion,pixels,Usage');
  const usages = lines.slice(1).map((line) => line.split(',')[2]);
  assert.equal(usages, [...usages].sort((x, y) => ['Training', 'PublicTest', 'PrivateTest'].indexOf(x!) - ['Training', 'PublicTest', 'PrivateTest'].indexOf(y!)), 'Training rows, then PublicTest, then PrivateTest');
  const dataset = parseFer2013(exported.csv);
  assert.is(dataset.samples.length, 2 * 7 * 3);
  assert.equal(dataset.samples.filter((s) => s.split === 'train').length, exported.counts.train);
  assert.equal(dataset.samples.filter((s) => s.split === 'test').length, exported.counts.test);
  assert.equal(exported.perClass, new Array(7).fill(6));
  const image = await dataset.loadImage(dataset.samples[0]!);
  assert.equal([image.width, image.height, image.channels], [48, 48, 1]);
  assert.equal(BASIC_EXPRESSION_IDS.map((id) => EXPRESSIONS[id]), ['angry', 'disgust', 'fear', 'joy', 'sadness', 'surprise', 'neutral']);
});

test('JAFFE export: KA.AN1.39.tiff names, 256×256 grey TIFFs, split in the 120 / 23 / 70 proportions', async () => {
  const exported = await createJaffeSet({ subjects: 2, framesPerExpression: 1, extra: 2, seed: 5 });
  assert.is(exported.files.length, 2 * 7 + 2);
  assert.equal(exported.counts, splitSizes(16, JAFFE_SPLIT));
  for (const file of exported.files) {
    const name = file.path.split('/').pop()!;
    assert.match(file.path, new RegExp(`^${file.split}/`));
    const parsed = parseJaffeName(name);
    assert.ok(parsed, `${name} parses`);
    assert.is(parsed!.label, file.label);
    assert.is(parsed!.subject, file.subject);
  }
  const image = decodeImage(exported.files[0]!.bytes, exported.files[0]!.path);
  assert.equal([image.width, image.height, image.channels], [256, 256, 1]);
  assert.equal(splitSizes(213, JAFFE_SPLIT), { train: 120, val: 23, test: 70 });
});

test('encodeGrayTiff round-trips random pixels through the TIFF decoder', () => {
  const random = new Random(Date.now() % 1e6);
  const width = 1 + random.int(40), height = 1 + random.int(40);
  const data = Uint8Array.from({ length: width * height }, () => random.int(256));
  const decoded = decodeImage(encodeGrayTiff({ width, height, channels: 1, data }), `random ${width}×${height}`);
  assert.equal([decoded.width, decoded.height, decoded.channels], [width, height, 1]);
  assert.equal(Array.from(decoded.data), Array.from(data));
});

test.run();
