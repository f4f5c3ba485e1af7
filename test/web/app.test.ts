// The browser application's pure parts: the run estimate (fraction done and time left from
// prior costs and the pace so far), the settings check and the sizes suggested per adapter.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { formatSecondsLeft, RunEstimate } from '../../web/app/estimate.js';
import { settingsProblems, suggestedSettings, type RunSettings } from '../../web/app/protocol.js';
import { randomSeed, Rng } from '../reference/random.js';

const seed = randomSeed();
const ctx = (what: string) => `${what} (seed ${seed}; replay with WEBFER_SEED=${seed})`;

test('RunEstimate: the fraction weighs units by their prior cost; time left follows the measured pace', () => {
  const rng = new Rng(seed);
  const units = [1 + Math.floor(rng.uniform(0, 50)), 1 + Math.floor(rng.uniform(0, 50))];
  const costs = [rng.uniform(0.5, 2), rng.uniform(5, 20)];
  const estimate = new RunEstimate([{ units: units[0]!, cost: costs[0]! }, { units: units[1]!, cost: costs[1]! }], 0);
  const planned = units[0]! * costs[0]! + units[1]! * costs[1]!;
  assert.is(estimate.fraction(), 0);
  assert.is(estimate.secondsLeft(1000), undefined, ctx('no pace before any work'));
  estimate.finish(0);
  const half = Math.floor(units[1]! / 2);
  estimate.set(1, half);
  const done = units[0]! * costs[0]! + half * costs[1]!;
  assert.ok(Math.abs(estimate.fraction() - done / planned) < 1e-12, ctx('fraction'));
  // 10 s for `done` cost units → the rest at the same pace.
  assert.ok(Math.abs(estimate.secondsLeft(10_000)! - (10 * (planned - done)) / done) < 1e-9, ctx('time left'));
  estimate.set(1, units[1]! + 100);
  assert.is(estimate.fraction(), 1, ctx('clamped to the plan'));
  assert.throws(() => estimate.set(2, 1), /no work item 2/);
  assert.throws(() => new RunEstimate([{ units: -1, cost: 1 }]), /units must be ≥ 0/);
});

test('formatSecondsLeft: rounded, in the unit a person reads', () => {
  assert.is(formatSecondsLeft(undefined), 'estimating time left…');
  assert.is(formatSecondsLeft(3), 'under 5 s left');
  assert.is(formatSecondsLeft(42), 'about 40 s left');
  assert.is(formatSecondsLeft(600), 'about 10 min left');
  assert.is(formatSecondsLeft(3 * 3600), 'about 3.0 h left');
});

test('settings: the suggestions pass the check; each bad field is named with its range', () => {
  for (const software of [true, false]) assert.equal(settingsProblems(suggestedSettings(software)), [], `suggested for software=${software}`);
  assert.ok(suggestedSettings(true).inputSize < suggestedSettings(false).inputSize, 'a software adapter gets smaller inputs');
  const bad: RunSettings = { ...suggestedSettings(true), epochs: 0, width: Number.NaN, inputSize: 40, task: 'er-ss', augment: true };
  const problems = settingsProblems(bad);
  assert.ok(problems.some((p) => /^epochs must be an integer from 1 to 200, got 0/.test(p)), problems.join('\n'));
  assert.ok(problems.some((p) => /^width must be from 0.0625 to 1, got nothing/.test(p)), problems.join('\n'));
  assert.ok(problems.some((p) => /inputSize must be a multiple of 16/.test(p)), problems.join('\n'));
  assert.ok(problems.some((p) => /choose er-up or er-ue/.test(p)), problems.join('\n'));
});

test.run();
