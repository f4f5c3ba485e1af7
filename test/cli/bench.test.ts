// `webfer bench --step` (whole training steps) and `webfer bench --compare tfjs` (side by side with
// TensorFlow.js WebGPU), spawned as a user types them, at --quick sizes.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { errorLines, removeDir, repoRoot, runCli, tempDir } from './run-cli.js';
import { kernelFamily } from '../../src/bench/step.js';

const work = tempDir('webfer-bench-');
test.after(() => removeDir(work));

test('bench --step families: each conv kernel counts to its pass, both weight packings to one family', () => {
  for (const [name, family] of [
    ['conv2dMfm.fiveWidePairSubgroup', 'conv forward'], ['conv2d.packedSubgroup', 'conv forward'],
    ['conv_transpose2d.phaseSubgroup', 'conv input-grad'], ['conv_transpose2d.threeWidePairSubgroup', 'conv input-grad'],
    ['conv2d_weight_grad.windowSubgroup', 'conv weight-grad'], ['conv_pack_weights', 'conv weight packing'],
    ['conv_pack_phase_weights', 'conv weight packing'], ['norm.gradSums', 'norm'],
  ]) assert.is(kernelFamily(name!), family, name);
});

test('bench --step --quick --precision f32 f16 --json: LightCNN-9 and FaPE-GAN in both precisions, with images/s, family shares, dispatches and submits', async () => {
  const result = await runCli(['bench', '--step', '--quick', '--steps', '1', '--precision', 'f32', 'f16', '--json', 'out.json'], { cwd: work });
  assert.is(result.code, 0, `${result.command} exited ${result.code}:\n${result.stderr}`);
  const written = JSON.parse(readFileSync(join(work, 'out.json'), 'utf8'));
  assert.is(written.quick, true);
  assert.type(written.adapter.description, 'string');
  assert.ok(!Number.isNaN(Date.parse(written.date)), `date ${written.date}`);
  assert.equal(written.steps.map((s: { name: string }) => s.name), ['lightcnn9 quick f32', 'lightcnn9 quick f16', 'fapegan quick f32', 'fapegan quick f16']);
  assert.equal(written.steps.map((s: { precision: string }) => s.precision), ['f32', 'f16', 'f32', 'f16']);
  assert.match(result.stdout, 'float16 operands + loss scaling');
  for (const step of written.steps) {
    assert.is(step.steps, 1);
    assert.ok(step.msPerStep > 0 && Number.isFinite(step.msPerStep), `${step.name}: ${step.msPerStep} ms`);
    assert.ok(Math.abs(step.imagesPerSecond - (1000 * step.batch) / step.msPerStep) < 1e-6 * step.imagesPerSecond, `${step.name}: images/s`);
    assert.ok(step.dispatchesPerStep > 20, `${step.name}: ${step.dispatchesPerStep} dispatches`);
    assert.ok(step.submitsPerStep >= 1, `${step.name}: ${step.submitsPerStep} submits`);
    assert.match(result.stdout, `${step.name}: `);
    if (written.adapter.features.includes('timestamp-query')) {
      const families = step.families.map((f: { family: string }) => f.family);
      for (const family of ['conv forward', 'conv input-grad', 'conv weight-grad']) assert.ok(families.includes(family), `${step.name}: ${family} among ${families}`);
      const shares = step.families.reduce((s: number, f: { share: number }) => s + f.share, 0);
      assert.ok(Math.abs(shares - 1) < 1e-6, `${step.name}: shares sum to ${shares}`);
      const dispatches = step.families.reduce((s: number, f: { dispatches: number }) => s + f.dispatches, 0);
      assert.is(dispatches, step.dispatchesPerStep, `${step.name}: profiled dispatches`);
    }
  }
});

const tfjsMissing = ['@tensorflow/tfjs-core', '@tensorflow/tfjs', '@tensorflow/tfjs-backend-webgpu'].filter((name) => !existsSync(join(repoRoot, 'node_modules', name, 'package.json')));

test('bench --compare tfjs --quick --json: matmul, every LightCNN-9 and FaPE-GAN conv pass and the step, both libraries timed, agreeing, with ratios', async () => {
  if (tfjsMissing.length > 0) {
    console.log(`  skipped bench --compare tfjs: ${tfjsMissing.join(' and ')} not installed (npm install)`);
    return;
  }
  const results = join(repoRoot, 'bench', 'RESULTS.md');
  const recorded = readFileSync(results, 'utf8');
  // Seconds with Mesa's shader cache warm; the first run on a machine compiled for about 90 s.
  const result = await runCli(['bench', '--compare', 'tfjs', '--quick', '--json', 'compare.json'], { cwd: work, timeoutMs: 180_000 });
  assert.is(result.code, 0, `${result.command} exited ${result.code}:\n${result.stderr}`);
  const written = JSON.parse(readFileSync(join(work, 'compare.json'), 'utf8'));
  assert.is(written.quick, true);
  assert.is(written.tfjsVersion, '4.22.0');
  assert.type(written.adapter.description, 'string');
  assert.ok(!Number.isNaN(Date.parse(written.date)), `date ${written.date}`);
  const names = written.rows.map((r: { name: string }) => r.name);
  const layers = ['conv1 5x5', 'group1 1x1', 'group1 3x3', 'group2 1x1', 'group2 3x3', 'group3 1x1', 'group3 3x3', 'group4 1x1', 'group4 3x3'];
  // The quick FaPE-GAN has one residual block: its two 3×3 convolutions share a row.
  const ganLayers = [
    'G conv1 7x7', 'G conv2 3x3 s2', 'G conv3 3x3 s2', 'G conv4 3x3 (×2)', 'G convT5 3x3 s2', 'G convT6 3x3 s2', 'G conv7 7x7',
    'D conv1 4x4 s2', 'D conv2 4x4 s2', 'D conv3 4x4 s2', 'D conv4 4x4', 'D conv5 4x4',
  ];
  assert.equal(names, [
    'matmul 256³', 'matmul LightCNN-9 fc1',
    ...[...layers, ...ganLayers].flatMap((layer) => ['forward', 'input grad', 'weight grad'].map((pass) => `${layer} ${pass}`)),
    'LightCNN-9 training step (quick)',
  ]);
  const shapeOf = (name: string) => written.rows.find((r: { name: string }) => r.name === name).shape;
  // The transposed convolutions' rows read as the layer runs: 16 channels at 8² up to 8 at 16² (batch 2).
  assert.is(shapeOf('G convT5 3x3 s2 forward'), 'N2 16→8 8²→16² k3 s2 p1');
  assert.is(shapeOf('G conv1 7x7 forward'), 'N2 2→4 38² k7 p0');
  for (const row of written.rows) {
    for (const library of ['webfer', 'tfjs']) {
      const figures = row[library];
      assert.ok(figures.ms > 0 && Number.isFinite(figures.ms), `${row.name}: ${library} ${figures.ms} ms`);
      const rate = row.kind === 'step' ? (1000 * row.batch) / figures.ms : row.flops / (figures.ms * 1e6);
      const reported = row.kind === 'step' ? figures.imagesPerSecond : figures.gflops;
      assert.ok(Math.abs(reported - rate) <= 1e-9 * rate, `${row.name}: ${library} rate ${reported}, expected ${rate}`);
    }
    assert.ok(Math.abs(row.ratio - row.tfjs.ms / row.webfer.ms) <= 1e-9 * row.ratio, `${row.name}: ratio ${row.ratio}`);
    assert.ok(row.agree && row.difference <= 1e-3, `${row.name}: webfer and TF.js differ by ${row.difference}`);
    assert.match(result.stdout, row.name);
  }
  assert.is(readFileSync(results, 'utf8'), recorded, 'without --record bench/RESULTS.md is left alone');
});

test('bench: --step with --only, --compare with --step, --record or --rows without --compare, --steps without --step or below 1, and --precision without --step, are refused in one line', async () => {
  for (const [args, pattern] of [
    [['bench', '--step', '--only', 'runtime'], /pass one of them/],
    [['bench', '--compare', 'tfjs', '--step'], /--compare runs its own rows: drop --step/],
    [['bench', '--record'], /add --compare tfjs/],
    [['bench', '--steps', '2'], /--steps applies to --step and --compare only/],
    [['bench', '--rows', 'fapegan'], /--rows picks the groups of --compare rows/],
    [['bench', '--step', '--steps', '0'], /--steps must be a positive integer, got 0/],
    [['bench', '--precision', 'f16'], /--precision applies to --step: add --step/],
  ] as [string[], RegExp][]) {
    const result = await runCli(args, { cwd: work });
    assert.is.not(result.code, 0, `${args.join(' ')} should fail`);
    assert.is(errorLines(result).length, 1, result.stderr);
    assert.match(errorLines(result)[0]!, pattern);
  }
});

test.run();
