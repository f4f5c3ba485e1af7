// The f2ed preset's layout (counted, never rendered) and the paper's task sizes on it, the sex
// priors of the identities, and rendering on worker threads: the same bytes whatever the number
// of workers, and a worker's failure reported in one line.
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { encodePng } from '../../src/data/codecs.js';
import { POSES } from '../../src/data/labels.js';
import { splitRows, type SplitRow } from '../../src/data/splits.js';
import { sampleIdentity } from '../../src/data/synth/face-model.js';
import { F2ED_STATISTICS, f2edSynthOptions, planF2edSynth } from '../../src/data/synth/f2ed-preset.js';
import { renderSynthSample, synthSubjectName } from '../../src/data/synth/generator.js';
import { renderSynthInWorkers, synthFilePaths } from '../../src/node/data/synth-workers.js';
import { writeSynthDataset } from '../../src/node/data/write-synth.js';

const seed = 1 + Math.floor(Math.random() * 1000);
const fullPlan = planF2edSynth({ seed });
const rowsOf = (plan: ReturnType<typeof planF2edSynth>): SplitRow[] =>
  plan.specs.map((spec) => ({ subject: synthSubjectName(spec.subject), pose: spec.pose, expression: spec.expression }));

test(`f2ed preset (seed ${seed}): F²ED's counts, without rendering`, () => {
  const plan = fullPlan;
  const { counts } = plan;
  assert.is(counts.images, 219_719);
  assert.equal(counts.poses, { HL: 47_053, F: 74_985, HR: 49_152, BV: 48_529 });
  assert.equal([counts.subjects, counts.males, counts.females, counts.expressions, counts.clips, counts.frames], [119, 37, 82, 54, 5_418, 74_985]);
  assert.is(plan.subjectSexes.filter((sex) => sex === 'male').length, 37);
  // One clip per (subject, expression) performed; every frame has its front view.
  const frontFrames = new Set(plan.specs.filter((s) => s.pose === 'F').map((s) => `${s.subject}/${s.expression}/${s.frame}`));
  assert.ok(plan.specs.every((s) => s.clip === 0 && frontFrames.has(`${s.subject}/${s.expression}/${s.frame}`) && s.frame < s.clipFrames!));
  assert.is(new Set(plan.specs.map((s) => `${s.subject}/${s.expression}`)).size, 5_418);
  assert.is(new Set(plan.specs.map((s) => synthFilePaths(s).image)).size, 219_719, 'every image has its own file');
});

test(`f2ed preset (seed ${seed}): webfer split gives the paper's four task sizes`, () => {
  const rows = rowsOf(fullPlan);
  const size = (task: Parameters<typeof splitRows>[1]) => splitRows(rows, task, 0);
  const ss = size('er-ss'), ue = size('er-ue'), up = size('er-up'), zid = size('er-zid');
  assert.equal([ss.train.length, ss.val.length, ss.test.length], [175_000, 19_719, 25_000]);
  assert.equal([up.train.length, up.test.length], [177_372, 42_347]);
  assert.equal([ue.train.length, ue.test.length, ue.rareExpressions!.length], [178_989, 40_730, 11]);
  assert.is(zid.testSubjects!.length, 21);
  assert.is(new Set(zid.train.map((row) => row.subject)).size, 98);
  assert.equal([zid.train.length, zid.test.length], [189_306, 30_413]);
  // Other split seeds draw other rare expressions and subjects: the counts of each still hold.
  const other = splitRows(rows, 'er-zid', 1 + seed);
  assert.equal([new Set(other.train.map((row) => row.subject)).size, other.testSubjects!.length], [98, 21]);
});

test('smaller scales keep the proportions and the designed split sizes', () => {
  const scale = 0.01 + Math.random() * 0.2;
  const plan = planF2edSynth({ scale, seed });
  const { counts, design } = plan;
  const message = `scale ${scale}, seed ${seed}`;
  assert.is(counts.images, Math.round(F2ED_STATISTICS.images * scale), message);
  for (const pose of POSES) {
    assert.ok(Math.abs(counts.poses[pose] - F2ED_STATISTICS.poses[pose] * scale) <= 1, `${message}: ${pose} ${counts.poses[pose]}`);
  }
  assert.ok(Math.abs(counts.males / counts.subjects - 37 / 119) < 0.1, message);
  const rows = rowsOf(plan);
  assert.is(splitRows(rows, 'er-ue', 0).test.length, design.erUeTest, message);
  assert.is(splitRows(rows, 'er-zid', 0).test.length, design.erZidTest, message);
  assert.is(design.erUeTest, Math.round((40_730 * counts.images) / 219_719));
  assert.equal(planF2edSynth({ scale, seed }).specs, plan.specs, 'a plan is a function of (scale, seed)');
  assert.throws(() => planF2edSynth({ scale: 0.005 }), /F²ED scale must be between 0\.01 and 1.*got 0\.005/);
});

test('identity priors: men and women differ in the dimorphic traits only', () => {
  for (let subject = 0; subject < 40; subject++) {
    const male = sampleIdentity(seed, subject, 'male'), female = sampleIdentity(seed, subject, 'female'), either = sampleIdentity(seed, subject);
    assert.ok(male.jawWidth >= 0.66 && female.jawWidth <= 0.74, `subject ${subject}: jaw ${male.jawWidth} / ${female.jawWidth}`);
    assert.ok(male.browThickness > female.browThickness - 0.008 && male.napeY > -0.62 && female.napeY < -0.48);
    assert.equal([male.eyeSpacing, male.skin, male.noseTipY], [either.eyeSpacing, either.skin, either.noseTipY], 'the other traits are the same draws');
    assert.equal([female.eyeSpacing, female.hair], [either.eyeSpacing, either.hair]);
  }
});

function filesUnder(root: string): Map<string, Buffer> {
  const entries = readdirSync(root, { recursive: true, withFileTypes: true }).filter((entry) => entry.isFile());
  return new Map(entries.map((entry) => {
    const path = join(entry.parentPath ?? (entry as unknown as { path: string }).path, entry.name);
    return [path.slice(root.length + 1), readFileSync(path)] as const;
  }));
}

test('1 and 3 worker threads write the same bytes, equal to rendering in this thread', async () => {
  const root = mkdtempSync(join(tmpdir(), 'webfer-synth-workers-'));
  try {
    const plan = planF2edSynth({ scale: 0.01, seed });
    // Both sexes must reach the workers intact: 7 images of a man and 7 of a woman (a fixed subject /
    // expression filter found no image at some seeds).
    const man = plan.subjectSexes.indexOf('male'), woman = plan.subjectSexes.indexOf('female');
    const specs = [man, woman].flatMap((subject) => plan.specs.filter((spec) => spec.subject === subject).slice(0, 7));
    assert.is(specs.length, 14, `seed ${seed}: 7 images each of subjects ${man} and ${woman}`);
    const options = f2edSynthOptions(plan, { size: 64 });
    const one = await writeSynthDataset(join(root, 'one'), options, { specs, workers: 1, batchSize: 3 });
    const three = await writeSynthDataset(join(root, 'three'), options, { specs, workers: 3, batchSize: 2 });
    assert.equal([one.rendered, three.rendered], [specs.length, specs.length]);
    const a = filesUnder(join(root, 'one')), b = filesUnder(join(root, 'three'));
    assert.is(a.size, 2 * specs.length + 2, 'images, landmarks, index.csv, synth.json');
    assert.equal([...a.keys()].sort(), [...b.keys()].sort());
    for (const [path, bytes] of a) assert.ok(bytes.equals(b.get(path)!), `${path} differs between 1 and 3 workers`);
    const spec = specs[specs.length - 1]!;
    assert.ok(a.get(synthFilePaths(spec).image)!.equals(Buffer.from(encodePng(renderSynthSample(options, spec).image))), 'a worker renders what this thread renders');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a worker that fails stops the run with one line naming the worker and the image', async () => {
  const root = mkdtempSync(join(tmpdir(), 'webfer-synth-fail-'));
  try {
    const specs = [{ subject: 0, expression: 4, clip: 0, frame: 1, pose: 'HR' as const }];
    // Bypassing writeSynthDataset's checks, an invalid size reaches the renderer in the worker.
    const failing = renderSynthInWorkers(root, { subjects: 1, size: 100 as 64 }, specs, { workers: 2 });
    await failing.then(() => assert.unreachable('the run should fail'), (error: Error) => {
      assert.match(error.message, /^synth worker 1 of 1 failed on .*images\/s000\/HR\/e04_c0_f1\.png: synth size must be 64, 128 or 256 .*got 100$/);
      assert.not.match(error.message, '\n');
    });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test.run();
