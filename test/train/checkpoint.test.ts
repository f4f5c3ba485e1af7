// Training checkpoints: everything a run needs to continue exactly, and clear errors otherwise.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { init, tensor, F, nn, optim, scope, manualSeed } from '../../src/index.js';
import { captureCheckpoint, restoreCheckpoint, readRunInfo } from '../../src/train/checkpoint.js';
import { decodeSafetensors, encodeSafetensors } from '../../src/nn/safetensors.js';
import { loadTrainingCheckpoint, peekTrainingCheckpoint, saveTrainingCheckpoint } from '../../src/node/checkpoint.js';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng, randomSeed } from '../reference/index.js';

await init();

function build() {
  const model = new nn.Sequential(new nn.Linear(5, 8), new nn.ReLU(), new nn.Dropout(0.3), new nn.Linear(8, 3));
  const optimizer = new optim.SGD([{ params: model.parameters(), lr: 0.05, momentum: 0.9 }], { lr: 0.05 });
  const scheduler = new optim.StepLR(optimizer, { stepSize: 2, gamma: 0.5 });
  return { model, optimizer, scheduler };
}

async function trainEpoch(parts: ReturnType<typeof build>, inputs: Float32Array, labels: number[]) {
  for (let step = 0; step < 3; step++) {
    await scope(async () => {
      parts.optimizer.zeroGrad();
      const loss = F.crossEntropy(parts.model.call(tensor(inputs, [labels.length, 5])), labels);
      loss.backward();
      parts.optimizer.step();
    });
  }
  parts.scheduler.step();
}

async function weights(model: nn.Module): Promise<number[]> {
  const out: number[] = [];
  for (const p of model.parameters()) out.push(...(await p.toArray()));
  return out;
}

test('a run resumed from a checkpoint continues bit for bit (weights, momentum, schedule, dropout stream)', async () => {
  const seed = randomSeed();
  const rng = new Rng(seed);
  const inputs = Float32Array.from({ length: 6 * 5 }, () => rng.normal());
  const labels = [0, 1, 2, 1, 0, 2];

  manualSeed(seed);
  const straight = build();
  for (let epoch = 0; epoch < 3; epoch++) await trainEpoch(straight, inputs, labels);
  const expected = await weights(straight.model);

  manualSeed(seed);
  const first = build();
  await trainEpoch(first, inputs, labels);
  const saved = await captureCheckpoint({ modules: { model: first.model }, optimizers: { sgd: first.optimizer }, schedulers: { lr: first.scheduler } }, { kind: 'test', config: { hidden: 8 }, epoch: 1, step: 3 });
  const bytes = encodeSafetensors(saved.tensors, saved.metadata);
  // Disturb the global random stream: the checkpoint must restore it.
  manualSeed(seed + 1);
  const resumed = build();
  const info = restoreCheckpoint(decodeSafetensors(bytes), { modules: { model: resumed.model }, optimizers: { sgd: resumed.optimizer }, schedulers: { lr: resumed.scheduler } });
  assert.is(info.epoch, 1);
  assert.equal(info.config, { hidden: 8 });
  for (let epoch = 1; epoch < 3; epoch++) await trainEpoch(resumed, inputs, labels);
  assert.equal(await weights(resumed.model), expected, `seed ${seed}`);
  for (const parts of [straight, first, resumed]) {
    parts.model.dispose();
    parts.optimizer.dispose();
  }
});

test('restoring into the wrong model or from plain weights explains what is wrong', async () => {
  const parts = build();
  const content = await captureCheckpoint({ modules: { model: parts.model } }, { kind: 'test', config: {}, epoch: 0, step: 0 });
  const other = new nn.Sequential(new nn.Linear(5, 4), new nn.ReLU(), new nn.Linear(4, 3));
  assert.throws(() => restoreCheckpoint(content, { modules: { model: other } }, 'run.safetensors'), /shape/);
  assert.throws(() => restoreCheckpoint(content, { modules: { generator: parts.model } }, 'run.safetensors'), /no weights for "generator"/);
  assert.throws(() => restoreCheckpoint(content, { modules: { model: parts.model }, optimizers: { sgd: parts.optimizer } }, 'run.safetensors'), /no state for optimizer "sgd"/);
  assert.throws(() => readRunInfo({ tensors: new Map(), metadata: {} }, 'weights.safetensors'), /not a webfer training checkpoint/);
  parts.model.dispose();
  parts.optimizer.dispose();
  other.dispose();
});

test('checkpoint files: peek reads only the header, a resume removes a killed save\'s temp file, damage is named', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'webfer-train-ckpt-'));
  const path = join(dir, 'checkpoint.safetensors');
  const parts = build();
  try {
    const info = { kind: 'test', config: { hidden: 8 }, epoch: 2, step: 6 };
    await saveTrainingCheckpoint(path, { modules: { model: parts.model }, optimizers: { sgd: parts.optimizer } }, info);
    const deadPid = spawnSync(process.execPath, ['-e', '']).pid!;
    const stale = `.checkpoint.safetensors.${deadPid}.1700000000000.tmp`;
    writeFileSync(join(dir, stale), 'half a checkpoint');
    assert.equal(loadTrainingCheckpoint(path, { modules: { model: parts.model }, optimizers: { sgd: parts.optimizer } }), info);
    assert.equal(readdirSync(dir), ['checkpoint.safetensors']);

    // A dtype webfer cannot widen: peek (header only) still reads the run info, a load names the tensor.
    const bytes = readFileSync(path);
    const headerLength = Number(bytes.readBigUInt64LE(0));
    // The first tensor's bytes re-read as four times as many 8-bit floats: a valid layout of a dtype with no f32 reading here.
    const header = Buffer.from(bytes.subarray(8, 8 + headerLength).toString('utf8')
      .replace(/"dtype":"F32","shape":\[(\d+)/, (_, first: string) => `"dtype":"F8_E4M3","shape":[${4 * Number(first)}`));
    const length = Buffer.alloc(8);
    length.writeBigUInt64LE(BigInt(header.length));
    writeFileSync(path, Buffer.concat([length, header, bytes.subarray(8 + headerLength)]));
    assert.equal(peekTrainingCheckpoint(path), info);
    assert.throws(() => loadTrainingCheckpoint(path, { modules: { model: parts.model } }), /checkpoint\.safetensors: tensor "model\.[^"]+" has dtype F8_E4M3; webfer reads F32, F64, F16, BF16/);
    writeFileSync(path, bytes.subarray(0, bytes.length - 4));
    assert.throws(() => peekTrainingCheckpoint(path), /checkpoint\.safetensors: tensor "[^"]+": data_offsets .* run past the data section .*truncated file/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    parts.model.dispose();
    parts.optimizer.dispose();
  }
});

test.run();
