import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { LANDMARK_MIRROR } from '../../src/data/landmarks.js';
import { EXPRESSION_FEATURES, FEATURE_NAMES } from '../../src/data/synth/face-model.js';
import { listSynthSpecs, renderSynthSample, synthLandmarks, type SynthOptions } from '../../src/data/synth/generator.js';
import { createSynthDataset } from '../../src/data/synth/synth-dataset.js';
import { renderPoseMask } from '../../src/data/pose-mask.js';

const test = suite('synthetic F²ED');
const still: SynthOptions = { subjects: 3, size: 64, channels: 1, seed: 11, jitterDegrees: 0, noise: 0, framesPerClip: 1 };

test('counts: subjects × expressions × clips × frames × 4 poses, every frame in every pose', () => {
  const specs = listSynthSpecs({ subjects: 2, expressions: 5, clipsPerExpression: 2, framesPerClip: 3, seed: 1 });
  assert.is(specs.length, 2 * 5 * 2 * 3 * 4);
  const frames = new Map<string, Set<string>>();
  for (const s of specs) {
    const key = `${s.subject}/${s.expression}/${s.clip}/${s.frame}`;
    frames.set(key, (frames.get(key) ?? new Set()).add(s.pose));
  }
  assert.ok([...frames.values()].every((poses) => poses.size === 4));
});

test('f2ed pose mix: front most frequent, every frame keeps its front view', () => {
  const specs = listSynthSpecs({ subjects: 4, expressions: 54, framesPerClip: 2, seed: 3, poseMix: 'f2ed' });
  const perPose: Record<string, number> = {};
  for (const s of specs) perPose[s.pose] = (perPose[s.pose] ?? 0) + 1;
  assert.is(perPose.F, 4 * 54 * 2);
  for (const pose of ['HL', 'HR', 'BV']) {
    assert.ok(perPose[pose]! < perPose.F! * 0.75 && perPose[pose]! > perPose.F! * 0.5, `${pose}: ${perPose[pose]} vs F ${perPose.F}`);
  }
});

test('deterministic by seed, different seeds differ, images are not flat', () => {
  const spec = { subject: 1, expression: 7, clip: 0, frame: 2, pose: 'HR' as const };
  const options: SynthOptions = { subjects: 2, size: 64, seed: 5 };
  const a = renderSynthSample(options, spec), b = renderSynthSample(options, spec);
  assert.equal(a.image.data, b.image.data);
  assert.equal(a.landmarks, b.landmarks);
  const c = renderSynthSample({ ...options, seed: 6 }, spec);
  assert.not.equal(a.image.data, c.image.data);
  const values = a.image.data;
  const mean = values.reduce((s, v) => s + v, 0) / values.length;
  const std = Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / values.length);
  assert.ok(std > 15, `image has contrast (std ${std.toFixed(1)})`);
  assert.is(a.image.width, 64); assert.is(a.image.channels, 1);
  assert.is(renderSynthSample({ ...options, channels: 3, size: 128 }, spec).image.data.length, 128 * 128 * 3);
});

function mirrorError(a: Float32Array, b: Float32Array, width: number): number {
  let worst = 0;
  for (let i = 0; i < 68; i++) {
    const j = LANDMARK_MIRROR[i]!;
    worst = Math.max(worst, Math.hypot(width - a[2 * i]! - b[2 * j]!, a[2 * i + 1]! - b[2 * j + 1]!));
  }
  return worst;
}

test('front pose is near-symmetric; HL mirrors HR', () => {
  const base = { subject: 0, expression: 0, clip: 0, frame: 0 };
  const front = synthLandmarks(still, { ...base, pose: 'F' });
  assert.ok(mirrorError(front, front, 64) < 0.5, `front asymmetry ${mirrorError(front, front, 64)}`);
  const left = synthLandmarks(still, { ...base, pose: 'HL' }), right = synthLandmarks(still, { ...base, pose: 'HR' });
  assert.ok(mirrorError(left, right, 64) < 0.5, `HL vs mirrored HR ${mirrorError(left, right, 64)}`);
  // Half-left: the camera is at the subject's left, the nose tip (30) points to image-left of the face centre.
  const centre = (points: Float32Array) => { let x = 0; for (let i = 0; i < 68; i++) x += points[2 * i]!; return x / 68; };
  assert.ok(left[60]! < centre(left) - 3, 'HL nose tip left of centre');
  assert.ok(right[60]! > centre(right) + 3, 'HR nose tip right of centre');
  // Bird view foreshortens the lower face: nose-to-chin shrinks relative to eyes-to-nose.
  const bird = synthLandmarks(still, { ...base, pose: 'BV' });
  const ratio = (p: Float32Array) => (p[17]! - p[61]!) / (p[61]! - (p[79]! + p[91]!) / 2);
  assert.ok(ratio(bird) < ratio(front) * 0.92, `bird view ratio ${ratio(bird).toFixed(2)} vs front ${ratio(front).toFixed(2)}`);
});

test('landmarks lie inside the crop and on the face', () => {
  for (const pose of ['HL', 'F', 'HR', 'BV'] as const) {
    const sample = renderSynthSample(still, { subject: 2, expression: 20, clip: 0, frame: 0, pose });
    for (let i = 0; i < 136; i++) assert.ok(sample.landmarks[i]! > 0 && sample.landmarks[i]! < 64, `${pose} landmark ${i >> 1} inside`);
  }
});

test('54 distinct expressions in 4 families; identity changes a face more than expression', () => {
  assert.is(EXPRESSION_FEATURES.length, 54);
  const vectors = EXPRESSION_FEATURES.map((f) => FEATURE_NAMES.map((name) => f[name]));
  for (let a = 0; a < 54; a++) for (let b = a + 1; b < 54; b++) {
    assert.ok(Math.hypot(...vectors[a]!.map((v, k) => v - vectors[b]![k]!)) > 0.3, `expressions ${a} and ${b} are distinct`);
  }
  const distance = (x: Uint8Array, y: Uint8Array) => { let s = 0; for (let i = 0; i < x.length; i++) s += Math.abs(x[i]! - y[i]!); return s / x.length; };
  const render = (subject: number, expression: number) => renderSynthSample(still, { subject, expression, clip: 0, frame: 0, pose: 'F' }).image.data;
  let identity = 0, expression = 0;
  for (const [s, e1, e2] of [[0, 0, 15], [1, 29, 42], [2, 5, 14]] as const) expression += distance(render(s, e1), render(s, e2));
  for (const [s1, s2, e] of [[0, 1, 0], [1, 2, 15], [0, 2, 29]] as const) identity += distance(render(s1, e), render(s2, e));
  assert.ok(identity > 1.5 * expression, `identity ${identity.toFixed(1)} vs expression ${expression.toFixed(1)}`);
});

test('expressions move the face: brows, eyes and mouth differ between families', () => {
  const landmarks = (expression: number) => synthLandmarks(still, { subject: 0, expression, clip: 0, frame: 0, pose: 'F' });
  const knitted = EXPRESSION_FEATURES.reduce((best, f, id) => f.browDistance < EXPRESSION_FEATURES[best]!.browDistance ? id : best, 0);
  assert.ok(EXPRESSION_FEATURES[knitted]!.browDistance < -0.5);
  const neutral = landmarks(0), surprise = landmarks(14), angry = landmarks(knitted);
  // Surprise raises the brows off the eyes and opens the mouth (y grows downward).
  const browToEye = (p: Float32Array) => p[2 * 37 + 1]! - p[2 * 19 + 1]!;
  const mouthGap = (p: Float32Array) => p[2 * 66 + 1]! - p[2 * 62 + 1]!;
  assert.ok(browToEye(surprise) > browToEye(neutral) + 0.5, 'surprise: brows raised');
  assert.ok(mouthGap(surprise) > mouthGap(neutral) + 1, 'surprise: mouth open');
  // The most knitted expression pulls the inner brow ends (21, 22) together.
  assert.ok(angry[44]! - angry[42]! < neutral[44]! - neutral[42]!, 'anger: brows knitted');
});

test('synth dataset serves images and landmarks; masks are drawn where the landmarks are', async () => {
  const dataset = createSynthDataset({ subjects: 1, expressions: 2, framesPerClip: 1, size: 64, seed: 2 });
  assert.is(dataset.samples.length, 8);
  const sample = dataset.samples[3]!;
  const image = await dataset.loadImage(sample);
  const points = (await dataset.loadLandmarks!(sample))!;
  assert.is(image.width, 64);
  const mask = renderPoseMask(points, { width: 64, height: 64 });
  for (let i = 0; i < 68; i++) {
    const x = Math.min(63, Math.floor(points[2 * i]!)), y = Math.min(63, Math.floor(points[2 * i + 1]!));
    assert.ok(mask[y * 64 + x]! > 0.5, `mask lit at landmark ${i}`);
  }
  assert.is(mask[0], 0); assert.is(mask[63], 0);
  // Scaled to the GAN input size, the mask follows.
  const big = renderPoseMask(points, { width: 128, height: 128, sourceWidth: 64, sourceHeight: 64 });
  const x = Math.floor(points[60]! * 2), y = Math.floor(points[61]! * 2);
  assert.ok(big[y * 128 + x]! > 0.5);
  const lit = big.reduce((s, v) => s + (v > 0.5 ? 1 : 0), 0);
  assert.ok(lit > 300 && lit < 0.3 * 128 * 128, `mask covers ${lit} pixels`);
});

test.run();
