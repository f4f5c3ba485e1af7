/**
 * Synthetic F²ED: subjects × expressions × clips × frames, each frame rendered in every pose
 * (so FaPE-GAN gets true pose pairs). Everything about one image is a pure function of
 * (seed, subject, expression, clip, frame, pose): any image can be rendered alone, in any order,
 * in Node or a browser, and comes out bit-identical.
 */
import { EXPRESSIONS, NUM_EXPRESSIONS, POSES, type Pose } from '../labels.js';
import type { ImageU8 } from '../image.js';
import { Random, hashSeed } from '../random.js';
import { EXPRESSION_FEATURES, sampleIdentity, scaleFeatures, type Identity, type Rgb, type Sex } from './face-model.js';
import { renderFace, type FaceScene } from './render-face.js';

/** F²ED's pose counts (paper Sec. 3): front most frequent. */
export const F2ED_POSE_COUNTS: Record<Pose, number> = { HL: 47_053, F: 74_985, HR: 49_152, BV: 48_529 };

export interface SynthOptions {
  subjects: number;
  /** Expressions 0..expressions−1 (default all 54). */
  expressions?: number;
  /** These expression ids instead (labels stay the ids): e.g. a few from each family. */
  expressionIds?: readonly number[];
  clipsPerExpression?: number;
  framesPerClip?: number;
  poses?: readonly Pose[];
  size?: 64 | 128 | 256;
  channels?: 1 | 3;
  seed?: number;
  /**
   * 'balanced': every frame in every pose. 'f2ed': the front is always kept and each other pose
   * is kept with probability count(pose)/count(F), giving F²ED's pose proportions while every
   * kept image still has its front-view partner.
   */
  poseMix?: 'balanced' | 'f2ed';
  /** Std of head jitter in degrees (default 3) and of pixel noise in grey levels (default 3). */
  jitterDegrees?: number;
  noise?: number;
  supersample?: number;
  /** Each subject's sex, for the identity priors (F²ED: 37 male, 82 female); none: sexless priors. */
  subjectSexes?: readonly Sex[];
}

export interface SynthSpec {
  subject: number; expression: number; clip: number; frame: number; pose: Pose;
  /** Frames in this clip when clips differ in length (the f2ed preset); else framesPerClip. */
  clipFrames?: number;
}

export interface SynthSample extends SynthSpec { image: ImageU8; landmarks: Float32Array }

type ResolvedOptions = Required<Omit<SynthOptions, 'supersample' | 'subjectSexes'>> & Pick<SynthOptions, 'supersample' | 'subjectSexes'>;

export function resolveSynthOptions(options: SynthOptions): ResolvedOptions {
  const resolved: ResolvedOptions = {
    subjects: options.subjects, expressions: options.expressionIds?.length ?? options.expressions ?? NUM_EXPRESSIONS,
    expressionIds: options.expressionIds ?? [...Array(options.expressions ?? NUM_EXPRESSIONS).keys()],
    clipsPerExpression: options.clipsPerExpression ?? 1, framesPerClip: options.framesPerClip ?? 3,
    poses: options.poses ?? POSES, size: options.size ?? 128, channels: options.channels ?? 1,
    seed: options.seed ?? 0, poseMix: options.poseMix ?? 'balanced',
    jitterDegrees: options.jitterDegrees ?? 3, noise: options.noise ?? 3, supersample: options.supersample,
    subjectSexes: options.subjectSexes,
  };
  const positive = (name: string, value: number) => {
    if (!Number.isInteger(value) || value < 1) throw new RangeError(`synth ${name} must be a positive integer, got ${value}`);
  };
  positive('subjects', resolved.subjects); positive('clipsPerExpression', resolved.clipsPerExpression); positive('framesPerClip', resolved.framesPerClip);
  if (!Number.isInteger(resolved.expressions) || resolved.expressions < 1 || resolved.expressions > NUM_EXPRESSIONS) {
    throw new RangeError(`synth expressions must be 1..${NUM_EXPRESSIONS}, got ${resolved.expressions}`);
  }
  for (const id of resolved.expressionIds) {
    if (!Number.isInteger(id) || id < 0 || id >= NUM_EXPRESSIONS) throw new RangeError(`synth expression ids must be 0..${NUM_EXPRESSIONS - 1}, got ${id}`);
  }
  if (new Set(resolved.expressionIds).size !== resolved.expressionIds.length) throw new RangeError(`synth expression ids repeat: ${resolved.expressionIds.join(', ')}`);
  if (![64, 128, 256].includes(resolved.size)) throw new RangeError(`synth size must be 64, 128 or 256 (F²ED crops are 256), got ${resolved.size}`);
  for (const pose of resolved.poses) if (!(POSES as readonly string[]).includes(pose)) throw new RangeError(`unknown pose ${JSON.stringify(pose)}: use ${POSES.join(', ')}`);
  const sexes = resolved.subjectSexes;
  if (sexes && (sexes.length !== resolved.subjects || sexes.some((sex) => sex !== 'male' && sex !== 'female'))) {
    throw new RangeError(`synth subjectSexes must give 'male' or 'female' for each of the ${resolved.subjects} subjects, got ${sexes.length} entries`);
  }
  return resolved;
}

/** Whether a (frame, pose) is kept under the pose mix. */
function keepPose(options: ResolvedOptions, spec: SynthSpec): boolean {
  if (options.poseMix === 'balanced' || spec.pose === 'F') return true;
  const keep = F2ED_POSE_COUNTS[spec.pose] / F2ED_POSE_COUNTS.F;
  return new Random(hashSeed(options.seed, 'pose-mix', spec.subject, spec.expression, spec.clip, spec.frame, spec.pose)).random() < keep;
}

/** The images a dataset holds, in file order (subject, expression, clip, frame, pose), without rendering. */
export function listSynthSpecs(options: SynthOptions): SynthSpec[] {
  const o = resolveSynthOptions(options);
  const specs: SynthSpec[] = [];
  for (let subject = 0; subject < o.subjects; subject++) {
    for (const expression of o.expressionIds) {
      for (let clip = 0; clip < o.clipsPerExpression; clip++) {
        for (let frame = 0; frame < o.framesPerClip; frame++) {
          for (const pose of o.poses) {
            const spec = { subject, expression, clip, frame, pose };
            if (keepPose(o, spec)) specs.push(spec);
          }
        }
      }
    }
  }
  return specs;
}

const identityCache = new Map<string, Identity>();
function identityOf(seed: number, subject: number, sex: Sex | undefined): Identity {
  const key = `${seed}:${subject}:${sex ?? ''}`;
  let identity = identityCache.get(key);
  if (!identity) {
    if (identityCache.size > 4096) identityCache.clear();
    identity = sampleIdentity(seed, subject, sex);
    identityCache.set(key, identity);
  }
  return identity;
}

/** The scene of one image: identity, expression at this frame's intensity, jitter, light. */
export function sceneFor(options: SynthOptions, spec: SynthSpec): FaceScene {
  const o = resolveSynthOptions(options);
  const clipRandom = new Random(hashSeed(o.seed, 'clip', spec.subject, spec.expression, spec.clip));
  const frameRandom = new Random(hashSeed(o.seed, 'frame', spec.subject, spec.expression, spec.clip, spec.frame));
  // A clip ramps toward its peak intensity; frames wander around the ramp.
  const peak = clipRandom.uniform(0.8, 1.0);
  const clipFrames = spec.clipFrames ?? o.framesPerClip;
  const progress = clipFrames === 1 ? 1 : spec.frame / (clipFrames - 1);
  const intensity = Math.min(1, Math.max(0.35, peak * (0.6 + 0.4 * progress) + frameRandom.normal(0, 0.04)));
  const baseYaw = clipRandom.normal(0, o.jitterDegrees), basePitch = clipRandom.normal(0, o.jitterDegrees), baseRoll = clipRandom.normal(0, o.jitterDegrees * 0.6);
  const jitter = o.jitterDegrees * 0.4;
  // Background and key light belong to the subject's recording session (F²ED films each person
  // in one sitting); clips vary them only slightly.
  const session = new Random(hashSeed(o.seed, 'session', spec.subject));
  const azimuth = session.uniform(-0.7, 0.7) + clipRandom.normal(0, 0.08), elevation = session.uniform(0.15, 0.8) + clipRandom.normal(0, 0.05);
  const grey = session.uniform(70, 200) * clipRandom.uniform(0.95, 1.05);
  const tint: Rgb = [grey * session.uniform(0.9, 1.1), grey * session.uniform(0.9, 1.1), grey * session.uniform(0.9, 1.1)];
  const ambient = session.uniform(0.3, 0.5), brightness = session.uniform(0.8, 1.0) * clipRandom.uniform(0.96, 1.04);
  return {
    identity: identityOf(o.seed, spec.subject, o.subjectSexes?.[spec.subject]),
    features: scaleFeatures(EXPRESSION_FEATURES[spec.expression]!, intensity),
    pose: spec.pose,
    headYaw: baseYaw + frameRandom.normal(0, jitter), headPitch: basePitch + frameRandom.normal(0, jitter), headRoll: baseRoll + frameRandom.normal(0, jitter),
    lightDirection: [Math.sin(azimuth) * Math.cos(elevation), Math.sin(elevation), Math.cos(azimuth) * Math.cos(elevation)],
    ambient, brightness,
    background: tint,
    noise: o.noise,
    // Noise differs per pose (separate sensors); everything else is shared by the frame.
    noiseSeed: hashSeed(o.seed, 'noise', spec.subject, spec.expression, spec.clip, spec.frame, spec.pose),
    gaze: [frameRandom.normal(0, 0.012), frameRandom.normal(0, 0.008)],
  };
}

export function renderSynthSample(options: SynthOptions, spec: SynthSpec): SynthSample {
  const o = resolveSynthOptions(options);
  const { image, landmarks } = renderFace(sceneFor(o, spec), { size: o.size, channels: o.channels, supersample: o.supersample });
  return { ...spec, image, landmarks };
}

/** The landmarks of one image without rendering it (pixel coordinates of the size×size crop). */
export function synthLandmarks(options: SynthOptions, spec: SynthSpec): Float32Array {
  const o = resolveSynthOptions(options);
  return renderFace(sceneFor(o, spec), { size: o.size, channels: o.channels, supersample: o.supersample, landmarksOnly: true }).landmarks;
}

/** Renders every image of the dataset lazily, in listSynthSpecs order. */
export function* generateSynthF2ED(options: SynthOptions): Generator<SynthSample> {
  for (const spec of listSynthSpecs(options)) yield renderSynthSample(options, spec);
}

/** Names used in file names and index rows. */
export function synthSubjectName(subject: number): string { return `s${String(subject).padStart(3, '0')}`; }
export function synthExpressionName(expression: number): string { return EXPRESSIONS[expression]!; }
