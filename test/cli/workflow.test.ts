// The whole command-line path a user walks, in one temporary folder, each command run once and
// its outputs handed to the next: synth → inspect → split (4 tasks) → train → eval → gan-train →
// augment → train on the augmented split → eval; then info, selfcheck and bench (demo --quick has
// its own suite: test/cli/demo.test.ts).
// Sizes are the smallest the commands take, so the walk stays fast on a software adapter.
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { errorLines, removeDir, runCli, tempDir, type CliResult } from './run-cli.js';
import { assertPercent, numbersIn, pngInfo, readCsv, safetensorsHeader, sum } from './files.js';

const SUBJECTS = 3, EXPRESSIONS = 3, FRAMES = 2, POSES = 4, SIZE = 64;
const IMAGES = SUBJECTS * EXPRESSIONS * FRAMES * POSES;
const TINY_FANET = ['--width', '0.125', '--input-size', '32', '--batch-size', '8', '--epochs', '1'];
const TINY_GAN = ['--size', '24', '--width', '1', '--blocks', '0', '--batch-size', '8', '--epochs', '1'];

const work = tempDir('webfer-workflow-');
const at = (...parts: string[]) => join(work, ...parts);
const run = (args: string[], timeoutMs = 120_000) => runCli(args, { cwd: work, timeoutMs });
const splitSizes: Record<string, { train: number; val: number; test: number }> = {};
let augmentedImages = 0;

function assertOk(result: CliResult): void {
  assert.is(result.code, 0, `${result.command} exited ${result.code}:\n${result.stderr}`);
  assert.equal(errorLines(result), [], `${result.command} printed errors`);
}

/** Checks a Fa-Net run folder and the printed test result; returns the test accuracy in %. */
function assertFanetRun(result: CliResult, out: string, expected: { train: number; test: number }): number {
  assertOk(result);
  const [train, monitored, test] = numbersIn(result.stderr, /train (\d+) · eval (\d+) · test (\d+)/);
  assert.is(train, expected.train, 'training images');
  assert.is(test, expected.test, 'test images');
  assert.is(monitored, expected.test, 'er-up has no val split: the test split is monitored');
  const [accuracy, count, meanClass] = numbersIn(result.stdout, /test: accuracy ([\d.]+)% of (\d+) · mean class accuracy ([\d.]+)%/);
  assertPercent(accuracy!, 'test accuracy');
  assertPercent(meanClass!, 'mean class accuracy');
  assert.is(count, expected.test);
  const tensors = safetensorsHeader(at(out, 'checkpoint.safetensors'));
  assert.ok(Object.keys(tensors).some((name) => name.startsWith('model.')), `no model tensors in ${out}/checkpoint.safetensors: ${Object.keys(tensors).slice(0, 5)}`);
  const epochs = readFileSync(at(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line));
  assert.is(epochs.length, 1);
  assert.is(epochs[0].epoch, 1);
  assert.ok(Number.isFinite(epochs[0].trainLoss) && epochs[0].trainLoss > 0, `train loss ${epochs[0].trainLoss}`);
  for (const picture of ['curves.png', 'confusion.png']) assert.ok(pngInfo(at(out, picture)).width > 0);
  for (const path of [`${out}/checkpoint.safetensors`, `${out}/metrics.jsonl`, `${out}/curves.png`, `${out}/confusion.png`]) {
    assert.ok(result.stdout.includes(path), `train did not name ${path} among what it wrote`);
  }
  return accuracy!;
}

/** `webfer eval` as text and as JSON; both must agree with each other and with the count. */
async function assertEval(checkpoint: string, split: 'test' | 'train', count: number): Promise<{ accuracy: number; meanLoss: number }> {
  const text = await run(['eval', '--checkpoint', checkpoint, '--split', split]);
  assertOk(text);
  const [epoch, images] = numbersIn(text.stdout, new RegExp(`lightcnn9 after epoch (\\d+) on ${split} \\((\\d+) images`));
  assert.is(epoch, 1);
  assert.is(images, count);
  const [accuracy, of, meanClass, meanLoss] = numbersIn(text.stdout, /accuracy ([\d.]+)% of (\d+) · mean class accuracy ([\d.]+)% · mean loss ([\d.]+)/);
  assertPercent(accuracy!, 'eval accuracy');
  assertPercent(meanClass!, 'eval mean class accuracy');
  assert.is(of, count);

  const json = await run(['eval', '--checkpoint', checkpoint, '--split', split, '--json']);
  assertOk(json);
  const report = JSON.parse(json.stdout);
  assert.is(report.count, count);
  assert.is(report.split, split);
  assert.ok(report.accuracy >= 0 && report.accuracy <= 1, `JSON accuracy ${report.accuracy} is a fraction`);
  assert.is((100 * report.accuracy).toFixed(2), accuracy!.toFixed(2), 'text and JSON accuracy');
  assert.ok(Math.abs(report.meanLoss - meanLoss!) < 1e-3, `text loss ${meanLoss} vs JSON ${report.meanLoss}`);
  assert.is(sum(report.perClassCount as number[]), count);
  assert.is(sum((report.confusion as number[][]).flat()), count, 'the confusion matrix counts every image once');
  const correct = sum((report.confusion as number[][]).map((row, k) => row[k]!));
  assert.is(correct, Math.round(report.accuracy * count), 'the diagonal is the correct count');
  return { accuracy: accuracy!, meanLoss: meanLoss! };
}

test.after(() => removeDir(work));

test('synth writes the images, landmarks, index.csv and contact sheet it promises', async () => {
  const result = await run(['synth', 'faces', '--subjects', `${SUBJECTS}`, '--expressions', `${EXPRESSIONS}`, '--frames', `${FRAMES}`,
    '--size', `${SIZE}`, '--contact-sheet', 'sheet.png', '--masks']);
  assertOk(result);
  const [images] = numbersIn(result.stdout, /wrote (\d+) images and faces\/index\.csv/);
  assert.is(images, IMAGES);
  assert.match(result.stdout, 'wrote sheet.png');
  assert.ok(pngInfo(at('sheet.png')).width > SIZE);
  const rows = readCsv(at('faces', 'index.csv'));
  assert.is(rows.length, IMAGES);
  assert.equal(new Set(rows.map((row) => row.subject)).size, SUBJECTS);
  assert.equal([...new Set(rows.map((row) => row.pose))].sort(), ['BV', 'F', 'HL', 'HR']);
  assert.equal([...new Set(rows.map((row) => row.expression))].sort(), ['0', '1', '2']);
  for (const row of [rows[0]!, rows[rows.length - 1]!]) {
    assert.equal(pngInfo(at('faces', row.path!)), { width: SIZE, height: SIZE, channels: 1 });
    const points = readFileSync(at('faces', row.landmarks!), 'utf8').trim().split('\n').map((line) => line.trim().split(/\s+/).map(Number));
    assert.is(points.length, 68, `${row.landmarks}: 68 landmark points`);
    assert.ok(points.every((point) => point.length === 2 && point.every((v) => v >= 0 && v <= SIZE)), `${row.landmarks}: x y inside the crop`);
  }
});

test('inspect counts the synthetic set by pose, subject and expression (text and --json)', async () => {
  const text = await run(['inspect', 'faces']);
  assertOk(text);
  const [images] = numbersIn(text.stdout, /\(index\): (\d+) images/);
  assert.is(images, IMAGES);
  const poseBlock = /poses \(4\):\n((?:\s+\S+\s+\d+\n){4})/.exec(text.stdout);
  assert.ok(poseBlock, `no pose counts in:\n${text.stdout}`);
  assert.is(sum(poseBlock![1]!.trim().split('\n').map((line) => Number(line.trim().split(/\s+/)[1]))), IMAGES);

  const json = await run(['inspect', 'faces/index.csv', '--json']);
  assertOk(json);
  const summary = JSON.parse(json.stdout);
  assert.is(summary.format, 'index');
  assert.is(summary.images, IMAGES);
  assert.equal(summary.perPose, { BV: IMAGES / 4, F: IMAGES / 4, HL: IMAGES / 4, HR: IMAGES / 4 });
  assert.is(Object.keys(summary.perSubject).length, SUBJECTS);
  assert.is(sum(Object.values(summary.perSubject) as number[]), IMAGES);
  assert.is(sum(Object.values(summary.perClass) as number[]), IMAGES);
});

for (const task of ['er-ss', 'er-ue', 'er-up', 'er-zid'] as const) {
  test(`split --task ${task}: the printed sizes add up to the set and match the CSVs`, async () => {
    const result = await run(['split', '--index', 'faces/index.csv', '--task', task, '--seed', '3', '--out', `split-${task}`]);
    assertOk(result);
    const [train, ...rest] = numbersIn(result.stdout, task === 'er-ss' ? /train (\d+) · val (\d+) · test (\d+)/ : /train (\d+) · test (\d+)/);
    const [val, testCount] = task === 'er-ss' ? rest : [0, rest[0]];
    assert.is(train! + val! + testCount!, IMAGES, 'every image lands in exactly one part');
    const parts = { train: readCsv(at(`split-${task}`, 'train.csv')), test: readCsv(at(`split-${task}`, 'test.csv')), val: task === 'er-ss' ? readCsv(at(`split-${task}`, 'val.csv')) : [] };
    assert.is(parts.train.length, train);
    assert.is(parts.val.length, val);
    assert.is(parts.test.length, testCount);
    assert.is(existsSync(at(`split-${task}`, 'val.csv')), task === 'er-ss', 'val.csv only for er-ss');
    const files = new Set([...parts.train, ...parts.val, ...parts.test].map((row) => resolve(at(`split-${task}`), row.path!)));
    assert.is(files.size, IMAGES, 'no image in two parts');
    for (const file of [...files].slice(0, 3)) assert.ok(existsSync(file), `${file}: split paths resolve from the split folder`);
    if (task === 'er-up') assert.ok(parts.test.every((row) => row.pose === 'HL'), 'er-up tests on the half-left pose');
    if (task === 'er-zid') {
      const testSubjects = new Set(parts.test.map((row) => row.subject));
      assert.ok(parts.train.every((row) => !testSubjects.has(row.subject)), 'er-zid: test subjects are unseen in training');
      const [printed] = numbersIn(result.stdout, /test subjects \((\d+)\)/);
      assert.is(printed, testSubjects.size);
    }
    if (task === 'er-ue') assert.match(result.stdout, /rare expressions: \d/);
    splitSizes[task] = { train: train!, val: val!, test: testCount! };
  });
}

test('train Fa-Net on the er-up split files, then eval its checkpoint (text and --json)', async () => {
  const sizes = splitSizes['er-up']!;
  const result = await run(['train', '--split-dir', 'split-er-up', ...TINY_FANET, '--out', 'fanet']);
  const trainAccuracy = assertFanetRun(result, 'fanet', sizes);
  const evaluated = await assertEval('fanet/checkpoint.safetensors', 'test', sizes.test);
  assert.is(evaluated.accuracy, trainAccuracy, 'eval of the checkpoint reproduces the accuracy train printed');
});

test('train refuses to overwrite an existing run', async () => {
  const result = await run(['train', '--split-dir', 'split-er-up', ...TINY_FANET, '--out', 'fanet']);
  assert.is.not(result.code, 0);
  assert.equal(errorLines(result), ['webfer: fanet/checkpoint.safetensors exists: pass --resume to continue that run, or another --out']);
});

test('gan-train on the er-up training split writes checkpoint, metrics and a sample grid', async () => {
  const result = await run(['gan-train', '--data', 'split-er-up/train.csv', ...TINY_GAN, '--out', 'gan']);
  assertOk(result);
  const [images] = numbersIn(result.stdout, /(\d+) images from split-er-up\/train\.csv/);
  assert.is(images, splitSizes['er-up']!.train);
  const epochs = readFileSync(at('gan', 'metrics.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line));
  assert.is(epochs.length, 1);
  for (const key of ['dLoss', 'gGan', 'l1']) assert.ok(Number.isFinite(epochs[0][key]) && epochs[0][key] > 0, `${key} ${epochs[0][key]}`);
  const tensors = Object.keys(safetensorsHeader(at('gan', 'checkpoint.safetensors')));
  assert.ok(tensors.some((name) => name.startsWith('generator.')) && tensors.some((name) => name.startsWith('discriminator.')), `G and D in the checkpoint: ${tensors.slice(0, 6)}`);
  assert.ok(pngInfo(at('gan', 'samples-epoch001.png')).width >= 4 * 24, 'sample grid: source | mask | generated | target');
});

test('augment re-poses training faces into half-left with that generator', async () => {
  const result = await run(['augment', '--checkpoint', 'gan/checkpoint.safetensors', '--data', 'split-er-up/train.csv', '--task', 'er-up', '--out', 'augmented']);
  assertOk(result);
  const [planned] = numbersIn(result.stdout, /er-up: (\d+) synthetic images to make/);
  const [written] = numbersIn(result.stdout, /wrote (\d+) images and augmented\/index\.csv/);
  assert.ok(planned! > 0, 'the rare pose gets topped up');
  assert.is(written, planned);
  const rows = readCsv(at('augmented', 'index.csv'));
  assert.is(rows.length, written);
  for (const row of rows) {
    assert.equal([row.pose, row.split, row.synthetic], ['HL', 'train', '1']);
    assert.equal(pngInfo(at('augmented', row.path!)), { width: 24, height: 24, channels: 1 });
    assert.ok(existsSync(resolve(at('augmented'), row.source!)), `${row.source}: source resolves from the augment folder`);
  }
  augmentedImages = rows.length;
});

test('train on the er-up split plus the augmented rows, then eval (test and train parts)', async () => {
  const sizes = splitSizes['er-up']!;
  assert.ok(augmentedImages > 0, 'augment ran first');
  const result = await run(['train', '--split-dir', 'split-er-up', '--extra-train', 'augmented/index.csv', ...TINY_FANET, '--out', 'fanet-augmented']);
  const accuracy = assertFanetRun(result, 'fanet-augmented', { train: sizes.train + augmentedImages, test: sizes.test });
  assert.is((await assertEval('fanet-augmented/checkpoint.safetensors', 'test', sizes.test)).accuracy, accuracy);
  await assertEval('fanet-augmented/checkpoint.safetensors', 'train', sizes.train + augmentedImages);
});

test('eval run from another folder finds the data the run recorded (split files, --extra-train)', async () => {
  const elsewhere = tempDir('webfer-cli-elsewhere-');
  try {
    const result = await runCli(['eval', '--checkpoint', at('fanet-augmented', 'checkpoint.safetensors'), '--split', 'train', '--json'], { cwd: elsewhere });
    assertOk(result);
    assert.is(JSON.parse(result.stdout).count, splitSizes['er-up']!.train + augmentedImages);
  } finally {
    removeDir(elsewhere);
  }
});

test('info names the adapter (text and --json)', async () => {
  const json = await run(['info', '--json']);
  assertOk(json);
  const info = JSON.parse(json.stdout);
  assert.type(info.description, 'string');
  assert.type(info.isSoftware, 'boolean');
  assert.ok(Array.isArray(info.features));
  assert.ok(info.limits.maxStorageBufferBindingSize > 0);
  const text = await run(['info']);
  assertOk(text);
  assert.match(text.stdout, `adapter      ${info.description || info.device}`);
  assert.match(text.stdout, info.isSoftware ? 'kind         software' : 'kind         hardware GPU');
  assert.match(text.stdout, `maxStorageBufferBindingSize`);
  if (info.subgroupSizes) assert.match(text.stdout, /subgroups\s+\d+(-\d+)? invocations/);
});

test('selfcheck passes every check and says how many', async () => {
  const result = await run(['selfcheck']);
  assertOk(result);
  const [passed, total] = numbersIn(result.stdout, /(\d+)\/(\d+) checks passed/);
  assert.ok(total! >= 1);
  assert.is(passed, total);
  assert.not.match(result.stdout, /^FAIL/m);
});

test('bench --quick --only runtime prints and writes only the runtime rows', async () => {
  const result = await run(['bench', '--quick', '--only', 'runtime', '--json', 'bench.json']);
  assertOk(result);
  assert.match(result.stdout, 'quick shapes');
  const written = JSON.parse(readFileSync(at('bench.json'), 'utf8'));
  assert.is(written.quick, true);
  assert.ok(written.rows.length > 0);
  for (const row of written.rows) {
    assert.is(row.suite, 'runtime');
    assert.ok(row.ms > 0 && Number.isFinite(row.ms), `${row.name}: ${row.ms} ms`);
    assert.match(result.stdout, row.name);
  }
});

test.run();
