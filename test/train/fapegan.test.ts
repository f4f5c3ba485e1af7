// FaPE-GAN training and augmentation: learning on pose pairs, exact resume, the sample grid, and
// the synthetic images + index that Fa-Net appends to its training split.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { init, memory } from '../../src/index.js';
import { decodeImage } from '../../src/data/codecs.js';
import { parseIndexCsv } from '../../src/data/index-csv.js';
import { createSynthDataset } from '../../src/data/synth/synth-dataset.js';
import type { Dataset } from '../../src/data/dataset.js';
import { captureCheckpoint, restoreCheckpoint } from '../../src/train/checkpoint.js';
import { planAugmentation } from '../../src/train/augmentation.js';
import { createFaPEGanSession, freeSession, resumeSession, sessionParts, trainFaPEGan, type EpochResult } from '../../src/train/fapegan.js';
import { decodeSafetensors, encodeSafetensors } from '../../src/nn/safetensors.js';
import { writeAugmentation } from '../../src/cli/gan-commands.js';
import { randomSeed } from '../reference/index.js';

await init();

// 2 subjects × 2 expressions × 1 frame × 4 poses = 16 images: 16 pairs an epoch.
const synth = createSynthDataset({ subjects: 2, expressions: 2, framesPerClip: 1, size: 64, seed: 3, noise: 0, jitterDegrees: 0 });
const tiny = { channels: 1, baseWidth: 8, residualBlocks: 1, norm: 'batch', imageSize: 32 } as const;

async function weights(session: ReturnType<typeof createFaPEGanSession>): Promise<number[]> {
  const out: number[] = [];
  for (const module of [session.generator, session.discriminator]) for (const t of module.stateDict().values()) out.push(...(await t.toArray()));
  return out;
}

test('32 steps on pose pairs at the paper’s Adam settings reduce the L1 reconstruction loss clearly; metrics and a sample grid each epoch', async () => {
  const seed = randomSeed();
  const session = createFaPEGanSession(tiny, { epochs: 8, batchSize: 4, seed });
  const results: EpochResult[] = [];
  const history = await trainFaPEGan(session, synth, { onEpochEnd: (result) => { results.push(result); } });
  assert.is(history.length, 8);
  assert.is(session.step, 32);
  const first = history[0]!.l1, last = history[history.length - 1]!.l1;
  assert.ok(last < 0.65 * first, `L1 ${history.map((m) => m.l1.toFixed(3)).join(' → ')} (seed ${seed})`);
  for (const m of history) assert.ok(Number.isFinite(m.dLoss) && Number.isFinite(m.gGan) && m.dLoss > 0 && m.gGan > 0, JSON.stringify(m));
  const grid = decodeImage(results[7]!.samplesPng, 'samples.png');
  assert.equal([grid.width, grid.height], [4 * 32, 4 * 32], 'four columns (source | mask | generated | target), one row per example');
  assert.is(results[7]!.info.kind, 'fapegan');
  assert.is(results[7]!.info.epoch, 8);
  freeSession(session);
});

test('a run resumed from an epoch checkpoint continues bit for bit (G, D, both Adams, lr decay, BN statistics)', async () => {
  const seed = randomSeed();
  const config = { ...tiny, baseWidth: 4, imageSize: 24 } as const;
  const options = { epochs: 3, batchSize: 4, seed, decay: true };
  const straight = createFaPEGanSession(config, options);
  await trainFaPEGan(straight, synth);
  const expected = await weights(straight);
  const lrAtEnd = straight.optimizerG.paramGroups[0]!.lr;
  freeSession(straight);

  const first = createFaPEGanSession(config, options);
  let bytes: Uint8Array | undefined;
  await trainFaPEGan(first, synth, { maxEpochs: 1, onEpochEnd: async ({ parts, info }) => { const c = await captureCheckpoint(parts, info); bytes = encodeSafetensors(c.tensors, c.metadata); } });
  freeSession(first);
  const resumed = createFaPEGanSession(config, { ...options, seed: seed + 1 });
  resumeSession(resumed, restoreCheckpoint(decodeSafetensors(bytes!), sessionParts(resumed)));
  assert.is(resumed.epoch, 1);
  // The pair order comes from the run's seed, which the CLI restores from the checkpoint.
  resumed.options.seed = seed;
  await trainFaPEGan(resumed, synth);
  assert.is(resumed.optimizerG.paramGroups[0]!.lr, lrAtEnd);
  assert.equal(await weights(resumed), expected, `seed ${seed}`);
  freeSession(resumed);
});

test('a training epoch leaves GPU memory where it found it', async () => {
  const session = createFaPEGanSession({ ...tiny, baseWidth: 4, imageSize: 24 }, { epochs: 2, batchSize: 8, seed: 1 });
  await trainFaPEGan(session, synth, { maxEpochs: 1 });
  const before = memory().liveTensors;
  await trainFaPEGan(session, synth, { maxEpochs: 1 });
  assert.is(memory().liveTensors, before);
  freeSession(session);
});

function withSplits(dataset: Dataset, isTrain: (index: number, pose: string | undefined) => boolean): Dataset {
  return { ...dataset, samples: dataset.samples.map((s, k) => ({ ...s, split: isTrain(k, s.pose) ? 'train' : 'test' })) };
}

test('augment er-up: re-posed half-left faces from train images only, as PNGs + an index with synthetic/source columns', async () => {
  // 4 subjects × 3 expressions × 4 poses; half-left kept in train for subject s000 only.
  const data = createSynthDataset({ subjects: 4, expressions: 3, framesPerClip: 1, size: 64, seed: 5 });
  const split = withSplits(data, (k) => data.samples[k]!.pose !== 'HL' || data.samples[k]!.subject === 's000');
  const plan = planAugmentation(split, 'er-up', { seed: 2 });
  // Top-up: mean of the other poses in train (12 each) minus the 3 half-left train images.
  assert.is(plan.jobs.length, 9);
  assert.ok(plan.jobs.every((j) => j.targetPose === 'HL' && j.source.pose !== 'HL' && j.source.split === 'train' && j.reference.split === 'train' && j.reference.pose === 'HL'));
  assert.ok(plan.jobs.every((j) => j.expression === j.source.label));
  // Same subject and expression when the train split has it.
  const own = plan.jobs.filter((j) => j.source.subject === 's000');
  assert.ok(own.every((j) => j.reference.subject === 's000' && j.reference.label === j.source.label));

  const { generator, discriminator } = (await import('../../src/models/fapegan.js')).createFaPEGan({ ...tiny, baseWidth: 4 });
  const out = mkdtempSync(join(tmpdir(), 'webfer-augment-'));
  try {
    const result = await writeAugmentation(out, generator, split, { ...plan, jobs: plan.jobs.slice(0, 5) }, { batchSize: 2 });
    assert.is(result.images, 5);
    const text = readFileSync(result.indexPath, 'utf8');
    const header = text.split('\n')[0];
    assert.is(header, 'path,subject,pose,expression,split,synthetic,source');
    const parsed = parseIndexCsv(text, { file: result.indexPath });
    assert.is(parsed.rows.length, 5);
    for (const row of parsed.rows) {
      assert.is(row.pose, 'HL');
      assert.is(row.split, 'train');
      const image = decodeImage(readFileSync(join(out, row.path)), row.path);
      assert.equal([image.width, image.height, image.channels], [32, 32, 1]);
    }
    const pngs = readdirSync(join(out, 'images'), { recursive: true }).filter((name) => String(name).endsWith('.png'));
    assert.is(pngs.length, 5);
  } finally {
    rmSync(out, { recursive: true, force: true });
    generator.dispose();
    discriminator.dispose();
  }
});

test('augment er-ue: the expressions with fewest train images are re-posed to the poses they lack', () => {
  // 5 expressions; expression 3 keeps only its front view in train → it is the rare one (round(20% of 5) = 1).
  const data = createSynthDataset({ subjects: 2, expressions: 5, framesPerClip: 1, size: 64, seed: 6 });
  const split = withSplits(data, (k) => data.samples[k]!.label !== 3 || data.samples[k]!.pose === 'F');
  const plan = planAugmentation(split, 'er-ue', { seed: 1 });
  assert.equal(plan.rareExpressions, [3]);
  // Common expressions have 8 train images each, the rare one 2: 6 to make.
  assert.is(plan.jobs.length, 6);
  assert.ok(plan.jobs.every((j) => j.expression === 3 && j.source.pose === 'F' && j.targetPose !== 'F' && j.reference.pose === j.targetPose));
  const perPose = new Map<string, number>();
  for (const j of plan.jobs) perPose.set(j.targetPose, (perPose.get(j.targetPose) ?? 0) + 1);
  assert.equal([...perPose.values()], [2, 2, 2], 'spread evenly over the missing poses');
  assert.is(planAugmentation(split, 'er-ue', { count: 4 }).jobs.length, 4);
});

test.run();
