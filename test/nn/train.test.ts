// End-to-end: small networks learn synthetic tasks with SGD / Adam, one scope per step, and
// GPU memory stays flat once the first step has allocated gradients and optimizer state.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { F, init, manualSeed, memory, scope, tensor, type Tensor } from '../../src/index.js';
import { BatchNorm2d, Conv2d, Flatten, Linear, MaxPool2d, MFM, ReLU, Sequential, type Module } from '../../src/nn/index.js';
import { Adam, SGD, StepLR, type AnyOptimizer } from '../../src/optim/index.js';
import * as ref from '../reference/index.js';

await init();

const seed = ref.randomSeed();
const ctx = (what: string) => `${what} (seed ${seed}; replay with WEBFER_SEED=${seed})`;

/** Runs `steps` training steps, each inside a scope; returns the losses and memory after each step. */
async function train(model: Module, optimizer: AnyOptimizer, x: Tensor, labels: number[], steps: number, afterStep?: () => void) {
  const losses: number[] = [];
  const bytes: number[] = [];
  const liveTensors: number[] = [];
  for (let step = 0; step < steps; step++) {
    const loss = await scope(async () => {
      optimizer.zeroGrad();
      const value = F.crossEntropy(model.call(x), labels);
      value.backward();
      optimizer.step();
      return value.item();
    });
    afterStep?.();
    losses.push(loss);
    bytes.push(memory().bytesInUse);
    liveTensors.push(memory().liveTensors);
  }
  return { losses, bytes, liveTensors };
}

function assertFlatMemory(bytes: number[], liveTensors: number[], what: string): void {
  // Step 1 allocates gradients and optimizer state; from then on every step frees what it makes.
  for (let i = 2; i < bytes.length; i++) {
    assert.is(bytes[i], bytes[1], ctx(`${what}: bytesInUse after step ${i + 1} (${bytes[i]}) vs after step 2 (${bytes[1]})`));
    assert.is(liveTensors[i], liveTensors[1], ctx(`${what}: live tensors after step ${i + 1}`));
  }
}

test('an MLP (Linear + ReLU) learns three Gaussian blobs with SGD + momentum; memory stays flat', async () => {
  const start = memory().bytesInUse;
  manualSeed(seed);
  const rng = new ref.Rng(seed);
  const centres = [[2, 0], [-1, 1.7], [-1, -1.7]];
  const labels = Array.from({ length: 60 }, (_, i) => i % 3);
  const points = labels.flatMap((c) => [centres[c][0] + 0.5 * rng.normal(), centres[c][1] + 0.5 * rng.normal()]);
  const x = tensor(points, [60, 2]);
  const model = new Sequential(new Linear(2, 16), new ReLU(), new Linear(16, 3));
  const optimizer = new SGD(
    [
      { params: [model.at(0), model.at(2)].map((l) => (l as Linear).weight) },
      { params: [model.at(0), model.at(2)].map((l) => (l as Linear).bias!), lr: 0.2, weightDecay: 0 },
    ],
    { lr: 0.1, momentum: 0.9, weightDecay: 1e-4 },
  );
  const schedule = new StepLR(optimizer, { stepSize: 20, gamma: 0.5 });
  const { losses, bytes, liveTensors } = await train(model, optimizer, x, labels, 40, () => schedule.step());
  assert.ok(losses[39] < 0.25 * losses[0] && losses[39] < 0.2, ctx(`MLP loss should fall: ${losses[0].toFixed(3)} → ${losses[39].toFixed(3)}`));
  assertFlatMemory(bytes, liveTensors, 'MLP');
  assert.equal(optimizer.paramGroups.map((g) => g.lr), [0.1 * 0.25, 0.2 * 0.25]);
  optimizer.dispose();
  model.zeroGrad();
  model.dispose();
  x.dispose();
  assert.is(memory().bytesInUse, start, 'model, gradients and optimizer state all freed');
});

test('a tiny conv net (Conv2d + BatchNorm2d + MaxPool2d + MFM + Linear) tells bars apart with Adam; memory stays flat', async () => {
  const start = memory().bytesInUse;
  manualSeed(seed);
  const rng = new ref.Rng(seed + 1);
  const N = 16;
  const size = 8;
  const labels = Array.from({ length: N }, (_, i) => i % 2);
  const images = new Float32Array(N * size * size);
  labels.forEach((label, n) => {
    const at = rng.int(1, size - 2);
    for (let i = 0; i < size; i++) {
      for (let j = 0; j < size; j++) {
        const onBar = label === 0 ? j === at : i === at;
        images[(n * size + i) * size + j] = (onBar ? 1 : 0) + 0.1 * rng.normal();
      }
    }
  });
  const x = tensor(images, [N, 1, size, size]);
  const model = new Sequential(new Conv2d(1, 4, 3, { padding: 1 }), new BatchNorm2d(4), new ReLU(), new MaxPool2d(2, { ceilMode: true }), new MFM(4, 3, { kernelSize: 3, padding: 1 }), new Flatten(), new Linear(3 * 4 * 4, 2));
  assert.equal(model.namedBuffers().map(([n]) => n), ['1.running_mean', '1.running_var']);
  assert.equal(model.namedParameters().map(([n]) => n), ['0.weight', '0.bias', '1.weight', '1.bias', '4.filter.weight', '4.filter.bias', '6.weight', '6.bias']);
  const optimizer = new Adam(model.parameters(), { lr: 0.02 });
  const { losses, bytes, liveTensors } = await train(model, optimizer, x, labels, 25);
  assert.ok(losses[24] < 0.3 * losses[0], ctx(`conv net loss should fall: ${losses[0].toFixed(3)} → ${losses[24].toFixed(3)}`));
  assertFlatMemory(bytes, liveTensors, 'conv net');
  optimizer.dispose();
  model.dispose();
  x.dispose();
  assert.is(memory().bytesInUse, start);
});

test.run();
