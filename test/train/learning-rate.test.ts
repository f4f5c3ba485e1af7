// setBaseLearningRate: a resumed run's --lr becomes the base of every group (multipliers kept) and
// the schedule continues from it at the epoch where it stands.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { StepLR } from '../../src/optim/lr-scheduler.js';
import { baseLearningRate, setBaseLearningRate } from '../../src/train/learning-rate.js';
import { randomSeed } from '../reference/index.js';

const multiples = [1, 2, 10, 20];
const close = (a: number, b: number) => Math.abs(a - b) <= 1e-12 * Math.max(Math.abs(a), Math.abs(b));

test('with StepLR part-way: every group gets multiple × new base × the decay reached so far, and later steps follow the new base', () => {
  const seed = randomSeed();
  const oldBase = 1e-3 * (1 + (seed % 97));
  const newBase = 1e-4 * (1 + (seed % 89));
  const optimizer = { paramGroups: multiples.map((m) => ({ lr: m * oldBase })) };
  const scheduler = new StepLR(optimizer, { stepSize: 10, gamma: 0.5 });
  for (let epoch = 0; epoch < 12; epoch++) scheduler.step();
  assert.is(setBaseLearningRate(optimizer, scheduler, newBase), oldBase, `seed ${seed}`);
  assert.is(baseLearningRate(optimizer), newBase);
  optimizer.paramGroups.forEach((group, i) => assert.ok(close(group.lr, multiples[i]! * newBase * 0.5), `group ${i}: ${group.lr} (seed ${seed})`));
  assert.ok(scheduler.baseLrs.every((base, i) => close(base, multiples[i]! * newBase)), scheduler.baseLrs.join(' '));
  for (let epoch = 12; epoch < 20; epoch++) scheduler.step();
  optimizer.paramGroups.forEach((group, i) => assert.ok(close(group.lr, multiples[i]! * newBase * 0.25), `group ${i} at epoch 20: ${group.lr}`));
});

test('without a schedule the groups take the new base and keep their multiples', () => {
  const optimizer = { paramGroups: multiples.map((m) => ({ lr: m * 2e-4 })) };
  assert.is(setBaseLearningRate(optimizer, undefined, 5e-4), 2e-4);
  optimizer.paramGroups.forEach((group, i) => assert.ok(close(group.lr, multiples[i]! * 5e-4), `group ${i}: ${group.lr}`));
  assert.throws(() => setBaseLearningRate(optimizer, undefined, 0), /positive and finite/);
});

test.run();
