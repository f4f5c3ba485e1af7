// `webfer models`: the parameter and MAC table without a device, its flags wired to the model
// configurations, and the one-line errors.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fapeGeneratorCost, lightcnnCost, patchDiscriminatorCost, type ModelCost } from '../../src/models/cost.js';
import { LIGHTCNN_VARIANTS } from '../../src/models/lightcnn.js';
import * as ref from '../reference/index.js';
import { errorLines, runCli } from './run-cli.js';

const seed = ref.randomSeed();
const ctx = (what: string) => `${what} (seed ${seed}; replay with WEBFER_SEED=${seed})`;

interface ModelsJson { macConvention: string; models: ModelCost[] }

test('defaults: the paper\'s sizes, printed as a table and as JSON, without starting the GPU', async () => {
  const text = await runCli(['models']);
  assert.is(text.code, 0, `${text.command}: ${text.stderr}`);
  assert.is(text.stderr, '', 'no device is acquired (Dawn would warn on stderr)');
  const expected: [string, string, string][] = [
    ['lightcnn9', '5,494,742', '976,762,368'],
    ['lightcnn29', '12,587,158', '3,619,173,888'],
    ['lightcnn29v2', '10,489,696', '3,617,076,736'],
    ['fapegan-generator', '11,374,017', '12,233,736,192'],
    ['fapegan-discriminator', '2,764,609', '750,288,896'],
  ];
  for (const [model, parameters, macs] of expected) {
    assert.match(text.stdout, new RegExp(`^${model}\\s+\\S+\\s+${parameters}\\s+${macs}\\s`, 'm'), `${model} row:\n${text.stdout}`);
  }
  assert.match(text.stdout, /MACs: one per multiply-add of conv \/ transposed conv \/ linear layers/);

  const json = await runCli(['models', '--json']);
  assert.is(json.code, 0, `${json.command}: ${json.stderr}`);
  const parsed = JSON.parse(json.stdout) as ModelsJson;
  assert.equal(parsed.models.map((m) => [m.model, m.parameters.toLocaleString('en'), m.macs.toLocaleString('en')]), expected);
  assert.equal(parsed.models[0]!.inputShape, [1, 128, 128]);
  assert.equal(parsed.models[3]!.inputShape, [2, 128, 128], 'G sees the image and the pose mask');
});

test('--input-size, --classes, --width, --gan-width and --gan-blocks reach the counts', async () => {
  const rng = new ref.Rng(seed);
  const inputSize = 4 * rng.int(6, 40), classes = rng.int(2, 100), width = rng.int(1, 16) / 8, ganWidth = rng.int(4, 64), ganBlocks = rng.int(0, 9);
  const result = await runCli(['models', '--json', '--input-size', String(inputSize), '--classes', String(classes), '--width', String(width), '--gan-width', String(ganWidth), '--gan-blocks', String(ganBlocks)]);
  assert.is(result.code, 0, `${result.command}: ${result.stderr}`);
  const gan = { channels: 1 as const, baseWidth: ganWidth, residualBlocks: ganBlocks, norm: 'batch' as const, imageSize: inputSize };
  const expected = [
    ...LIGHTCNN_VARIANTS.map((variant) => lightcnnCost({ variant, classes, inputSize, widthMultiplier: width })),
    fapeGeneratorCost(gan),
    patchDiscriminatorCost(gan),
  ];
  assert.equal((JSON.parse(result.stdout) as ModelsJson).models, expected, ctx(result.command));
});

test('bad sizes are one-line errors naming the flag', async () => {
  const cases: [string[], RegExp][] = [
    [['--input-size', '50'], /--input-size must be a multiple of 4 of at least 24.*got 50/],
    [['--classes', '0'], /--classes must be an integer of at least 1, got 0/],
    [['--width', '5'], /--width must be a finite number above 0 and at most 4, got 5/],
    [['--gan-blocks', '-1'], /--gan-blocks must be an integer of at least 0, got -1/],
  ];
  for (const [args, pattern] of cases) {
    const result = await runCli(['models', ...args]);
    assert.is(result.code, 1, `${result.command}: exit ${result.code}`);
    const lines = errorLines(result);
    assert.is(lines.length, 1, `${result.command}: ${result.stderr}`);
    assert.match(lines[0]!, pattern);
  }
});

test.run();
