// The live per-step chart: renders without a warning, draws one line point per training step,
// leaves out a split that has no values yet (Vega would warn about an empty extent), names
// values it cannot draw, and refuses steps that are not positive integers.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { stepCurvesSpec, type StepPoint } from '../../src/plots/step-curves.js';
import { compileVegaLite, renderSvg } from '../../src/plots/render.js';
import { randomSeed, Rng } from '../reference/random.js';

const seed = randomSeed();
const ctx = (what: string) => `${what} (seed ${seed}; replay with WEBFER_SEED=${seed})`;

function trainPoints(rng: Rng, steps: number): StepPoint[] {
  const points: StepPoint[] = [];
  for (let step = 1; step <= steps; step++) {
    points.push({ step, metric: 'loss', split: 'train', value: 4 * rng.uniform(0.1, 1) });
    points.push({ step, metric: 'accuracy', split: 'train', value: rng.uniform(0, 1) });
  }
  return points;
}

test('train points only: no eval layer, no warning, one line vertex per step in each panel', async () => {
  const rng = new Rng(seed);
  const steps = 3 + Math.floor(rng.uniform(0, 20));
  const spec = stepCurvesSpec(trainPoints(rng, steps), 'live');
  assert.equal(compileVegaLite(spec).warnings, [], ctx('compile warnings'));
  const svg = await renderSvg(spec);
  const lines = [...svg.matchAll(/<g class="mark-line role-mark[^"]*"[^>]*><path[^>]*d="([^"]*)"/g)].map((m) => m[1]!);
  assert.is(lines.length, 2, ctx('one line per panel'));
  for (const d of lines) assert.is(d.split(/[ML]/).filter(Boolean).length, steps, ctx(`vertices of ${d.slice(0, 40)}`));
  assert.not.match(svg, /mark-symbol role-mark/, ctx('no eval points drawn'));
});

test('eval points after an epoch are drawn as points; non-finite values are named in the subtitle', async () => {
  const rng = new Rng(seed + 1);
  const points = trainPoints(rng, 6);
  points.push({ step: 3, metric: 'loss', split: 'eval', value: 1.5 }, { step: 6, metric: 'loss', split: 'eval', value: 1.2 });
  points.push({ step: 6, metric: 'accuracy', split: 'eval', value: Number.NaN });
  const spec = stepCurvesSpec(points);
  assert.match(JSON.stringify(spec.title), /eval accuracy NaN at step 6/, ctx('subtitle'));
  const svg = await renderSvg(spec);
  assert.match(svg, /mark-symbol role-mark/, ctx('eval points'));
});

test('refuses an empty history, fractional steps and histories with nothing finite', () => {
  assert.throws(() => stepCurvesSpec([]), /no points/);
  assert.throws(() => stepCurvesSpec([{ step: 1.5, metric: 'loss', split: 'train', value: 1 }]), /positive integer, got 1.5/);
  assert.throws(() => stepCurvesSpec([{ step: 1, metric: 'loss', split: 'train', value: Infinity }]), /no finite value/);
});

test.run();
