/**
 * The synthetic face: a per-subject identity (head shape, feature placement and size, colours,
 * hairline), 54 expressions built from the seven eye features F²ED's expressions are defined by
 * plus brow lift and mouth shape, and the 3-D 68-landmark face they produce.
 *
 * Head frame: x to the subject's left (image right in the front view), y up, z out of the face
 * toward the front camera; units ≈ half a head width. Eyes sit near y = 0, the chin near −1.3.
 */
import { EXPRESSION_FAMILY_OF, NUM_EXPRESSIONS } from '../labels.js';
import { Random, hashSeed } from '../random.js';

export type Rgb = [number, number, number];

export interface Identity {
  headWidth: number; headHeight: number; headDepth: number; jawWidth: number;
  eyeY: number; eyeSpacing: number; eyeHalfWidth: number; eyeOpening: number; eyeTilt: number;
  browGap: number; browThickness: number; browLength: number;
  noseTipY: number; noseHalfWidth: number; noseProtrusion: number;
  mouthY: number; mouthHalfWidth: number; upperLip: number; lowerLip: number;
  skin: Rgb; hair: Rgb; iris: Rgb; lips: Rgb;
  /** Hairline height at the forehead centre and at the temples; nape height at the back. */
  hairlineY: number; templeY: number; napeY: number; hairVolume: number;
}

/** The 13 expression features: the paper's seven eye features, brow lift and five of the mouth. */
export interface ExpressionFeatures {
  temporalWrinkles: number; // 0..1 crow's feet at the outer eye corners
  underEyeWrinkles: number; // 0..1 folds below the lower lids
  nasalWrinkles: number; // 0..1 lines across the nose bridge
  browSlope: number; // −1 inner ends down (anger) … +1 inner ends up (sorrow)
  browCurve: number; // −1 flat/sunk … +1 high arch
  browDistance: number; // −1 knitted together … +1 apart
  eyeAperture: number; // −1 squint … +1 wide open
  browRaise: number; // −1 lowered … +1 raised
  mouthOpen: number; // 0..1 jaw drop
  mouthCorners: number; // −1 down … +1 up (smile)
  mouthWidth: number; // −1 pursed … +1 stretched
  upperLipRaise: number; // 0..1 (disgust)
  mouthSkew: number; // −1..1 one-sided corner (contempt)
}

export const FEATURE_NAMES: readonly (keyof ExpressionFeatures)[] = [
  'temporalWrinkles', 'underEyeWrinkles', 'nasalWrinkles', 'browSlope', 'browCurve', 'browDistance',
  'eyeAperture', 'browRaise', 'mouthOpen', 'mouthCorners', 'mouthWidth', 'upperLipRaise', 'mouthSkew',
];
const UNIT_FEATURES = new Set<keyof ExpressionFeatures>(['temporalWrinkles', 'underEyeWrinkles', 'nasalWrinkles', 'mouthOpen', 'upperLipRaise']);

/** Family centroids in feature order; members scatter around them (fine-grained neighbours). */
const FAMILY_CENTROIDS: readonly number[][] = [
  // content: smile, cheeks up (crow's feet, under-eye folds), softened eyes
  [0.45, 0.35, 0.05, 0.0, 0.25, 0.1, -0.2, 0.05, 0.15, 0.6, 0.3, 0.0, 0.0],
  // alarmed: raised arched brows, wide eyes, open mouth
  [0.0, 0.05, 0.0, 0.25, 0.55, 0.15, 0.7, 0.7, 0.45, -0.1, 0.1, 0.05, 0.0],
  // hostile: inner brows down and knitted, narrowed eyes, nose wrinkled, lip raised
  [0.1, 0.25, 0.45, -0.7, -0.2, -0.65, -0.3, -0.35, 0.15, -0.35, -0.15, 0.35, 0.0],
  // low: inner brows up, drooping corners, heavy lids
  [0.05, 0.3, 0.0, 0.7, -0.3, -0.15, -0.45, -0.05, 0.05, -0.55, -0.1, 0.0, 0.0],
];

/** Minimum feature-space distance between any two expressions so every class is learnable. */
const MIN_EXPRESSION_DISTANCE = 0.55;

/**
 * The 54 expressions' features, fixed for all seeds (an expression must look the same in every
 * synthetic dataset). Expression 0 is neutral; the others scatter around their family centroid.
 */
export const EXPRESSION_FEATURES: readonly ExpressionFeatures[] = (() => {
  const random = new Random('webfer-f2ed-expressions-v1');
  const vectors: number[][] = [];
  for (let id = 0; id < NUM_EXPRESSIONS; id++) {
    if (id === 0) { vectors.push(FEATURE_NAMES.map(() => 0)); continue; }
    const centroid = FAMILY_CENTROIDS[EXPRESSION_FAMILY_OF[id]!]!;
    let candidate: number[] = [];
    for (let attempt = 0; attempt < 500; attempt++) {
      candidate = FEATURE_NAMES.map((name, k) => {
        const spread = name === 'mouthSkew' ? 0.25 : 0.38;
        const value = centroid[k]! + random.normal(0, spread);
        return UNIT_FEATURES.has(name) ? clamp(value, 0, 1) : clamp(value, -1, 1);
      });
      if (vectors.every((other) => distance(other, candidate) >= MIN_EXPRESSION_DISTANCE)) break;
    }
    vectors.push(candidate);
  }
  return vectors.map((vector) => Object.fromEntries(FEATURE_NAMES.map((name, k) => [name, vector[k]!])) as unknown as ExpressionFeatures);
})();

export function scaleFeatures(features: ExpressionFeatures, intensity: number): ExpressionFeatures {
  return Object.fromEntries(FEATURE_NAMES.map((name) => [name, features[name] * intensity])) as unknown as ExpressionFeatures;
}

function distance(a: number[], b: number[]): number {
  let sum = 0;
  for (let k = 0; k < a.length; k++) sum += (a[k]! - b[k]!) ** 2;
  return Math.sqrt(sum);
}

export function clamp(value: number, low: number, high: number): number {
  return value < low ? low : value > high ? high : value;
}

const SKIN_TONES: readonly Rgb[] = [[241, 212, 190], [226, 186, 156], [204, 156, 120], [170, 118, 86], [122, 82, 58], [92, 62, 45]];
const HAIR_COLOURS: readonly Rgb[] = [[28, 24, 22], [48, 36, 28], [86, 58, 38], [132, 92, 58], [196, 162, 110], [116, 52, 30], [150, 148, 146]];
const IRIS_COLOURS: readonly Rgb[] = [[60, 40, 28], [96, 66, 40], [70, 100, 130], [80, 110, 70]];

function mix(a: Rgb, b: Rgb, t: number): Rgb {
  return [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t];
}

export type Sex = 'male' | 'female';

/**
 * A subject's identity, a pure function of (seed, subject[, sex]). With a sex, the dimorphic traits
 * (head and jaw width, brow height and thickness, lip colour, hair length and volume) draw from
 * that sex's part of each range; without one, from the whole range. The same numbers are drawn
 * either way, so giving no sex keeps the identities of earlier versions.
 */
export function sampleIdentity(seed: number, subject: number, sex?: Sex): Identity {
  const random = new Random(hashSeed(seed, 'identity', subject));
  const u = (low: number, high: number) => random.uniform(low, high);
  // Men take the upper 60 % of a range where `maleHigher`, women the lower 60 % (and vice versa).
  const dimorphic = (low: number, high: number, maleHigher: boolean) => {
    if (!sex) return u(low, high);
    const upper = (sex === 'male') === maleHigher, span = 0.6 * (high - low);
    return upper ? u(high - span, high) : u(low, low + span);
  };
  const toneAt = u(0, SKIN_TONES.length - 1);
  const skin = mix(SKIN_TONES[Math.floor(toneAt)]!, SKIN_TONES[Math.min(SKIN_TONES.length - 1, Math.floor(toneAt) + 1)]!, toneAt % 1);
  const hair = random.pick(HAIR_COLOURS);
  const headHeight = u(1.28, 1.5);
  const eyeHalfWidth = u(0.13, 0.185);
  const lips = mix(skin, [170, 62, 70], dimorphic(0.45, 0.7, false));
  return {
    headWidth: dimorphic(0.86, 1.1, true), headHeight, headDepth: u(0.95, 1.1), jawWidth: dimorphic(0.5, 0.9, true),
    eyeY: u(-0.04, 0.14), eyeSpacing: u(0.31, 0.45), eyeHalfWidth, eyeOpening: u(0.28, 0.42), eyeTilt: u(-0.03, 0.04),
    browGap: dimorphic(0.15, 0.29, false), browThickness: dimorphic(0.035, 0.075, true), browLength: u(0.95, 1.2),
    noseTipY: u(-0.5, -0.3), noseHalfWidth: u(0.13, 0.2), noseProtrusion: u(0.17, 0.27),
    mouthY: u(-0.86, -0.66), mouthHalfWidth: u(0.27, 0.36), upperLip: u(0.04, 0.07), lowerLip: u(0.05, 0.09),
    skin, hair, iris: random.pick(IRIS_COLOURS), lips,
    hairlineY: u(0.62, 0.95), templeY: u(0.2, 0.45), napeY: dimorphic(-0.9, -0.2, true), hairVolume: dimorphic(0.04, 0.14, false),
  };
}

/** Front-view half-width of the head at height y (the jaw tapers toward the chin). */
export function headHalfWidth(identity: Identity, y: number): number {
  const v = clamp(y / identity.headHeight, -1, 1);
  const taper = v < 0 ? 1 - (1 - identity.jawWidth) * v * v : 1;
  return identity.headWidth * taper * Math.sqrt(1 - v * v);
}

/** Cross-sections are superellipses (flatter front than a plain ellipse, like a face). */
export const CROSS_SECTION_POWER = 0.8;

/** Depth of the head's front surface at (x, y); 0 at the silhouette. */
export function surfaceDepth(identity: Identity, x: number, y: number): number {
  const v = clamp(y / identity.headHeight, -1, 1);
  const ring = Math.sqrt(1 - v * v);
  const halfWidth = headHalfWidth(identity, y);
  if (halfWidth <= 1e-6) return 0;
  const s = clamp(Math.abs(x) / halfWidth, 0, 1);
  const sinPhi = Math.pow(s, 1 / CROSS_SECTION_POWER);
  const cosPhi = Math.sqrt(Math.max(0, 1 - sinPhi * sinPhi));
  return identity.headDepth * ring * Math.pow(cosPhi, CROSS_SECTION_POWER);
}

/** Chin drop of the open mouth at height y: the jaw below the mouth moves down with it. */
export function jawDrop(identity: Identity, features: ExpressionFeatures, y: number): number {
  const below = identity.mouthY - y;
  if (below <= 0) return 0;
  return -0.16 * features.mouthOpen * Math.min(1, below / 0.18);
}

export interface FaceGeometry {
  /** 68 landmarks, head frame, [x, y, z] each. */
  landmarks: Float64Array;
}

/** Builds the 68 3-D landmarks of a subject wearing an expression. */
export function buildLandmarks(identity: Identity, features: ExpressionFeatures): Float64Array {
  const points = new Float64Array(68 * 3);
  const set = (index: number, x: number, y: number, zOffset = 0.02) => {
    points[3 * index] = x; points[3 * index + 1] = y;
    points[3 * index + 2] = surfaceDepth(identity, x, y) + zOffset;
  };
  const f = features, id = identity;

  // Jaw: the front-view outline from ear level, around the chin, to the other ear, resampled
  // by arc length so the 17 points are evenly spaced like Dlib's.
  const top = id.eyeY - 0.02;
  const outline: [number, number][] = [];
  const samples = 120;
  for (let k = 0; k <= samples; k++) {
    const t = k / samples; // 0 left ear … 1 right ear (image left to right)
    const angle = Math.PI * t; // around the lower half
    const bottom = -id.headHeight;
    const y = top + (bottom - top) * Math.sin(angle);
    const side = t < 0.5 ? -1 : 1;
    outline.push([side * 0.97 * headHalfWidth(id, y) * Math.min(1, Math.abs(Math.cos(angle)) * 3 + 0.0), y]);
  }
  const cumulative = [0];
  for (let k = 1; k < outline.length; k++) cumulative.push(cumulative[k - 1]! + Math.hypot(outline[k]![0] - outline[k - 1]![0], outline[k]![1] - outline[k - 1]![1]));
  const total = cumulative[cumulative.length - 1]!;
  for (let i = 0; i < 17; i++) {
    const target = (total * i) / 16;
    let k = 1;
    while (k < outline.length - 1 && cumulative[k]! < target) k++;
    const t = (target - cumulative[k - 1]!) / Math.max(1e-9, cumulative[k]! - cumulative[k - 1]!);
    const x = outline[k - 1]![0] + (outline[k]![0] - outline[k - 1]![0]) * t;
    const y = outline[k - 1]![1] + (outline[k]![1] - outline[k - 1]![1]) * t;
    set(i, x, y + jawDrop(id, f, y), 0.0);
  }

  // Brows: five points each from outer to inner end (17–21 image-left, 22–26 image-right).
  const browBaseY = id.eyeY + id.browGap + 0.07 * f.browRaise;
  for (const side of [-1, 1] as const) {
    const innerX = 0.11 + 0.045 * f.browDistance + (id.eyeSpacing - 0.38) * 0.5;
    const outerX = id.eyeSpacing + id.eyeHalfWidth * id.browLength + 0.04;
    for (let k = 0; k < 5; k++) {
      const t = k / 4; // 0 outer … 1 inner
      const x = side * (outerX + (innerX - outerX) * t);
      const arch = Math.sin(Math.PI * (0.15 + 0.7 * (1 - t))) * (0.045 + 0.05 * f.browCurve);
      const slope = (t - 0.35) * 0.11 * f.browSlope;
      const y = browBaseY + arch + slope - (1 - t) * 0.03;
      set(side < 0 ? 17 + k : 26 - k, x, y, 0.035);
    }
  }

  // Nose: bridge 27–30 from between the eyes to the tip, then the base 31–35.
  const tipY = id.noseTipY + 0.02 * f.upperLipRaise;
  for (let k = 0; k < 4; k++) {
    const y = id.eyeY + 0.02 + (tipY - id.eyeY - 0.02) * (k / 3);
    points[3 * (27 + k)] = 0; points[3 * (27 + k) + 1] = y;
    points[3 * (27 + k) + 2] = surfaceDepth(id, 0, y) + 0.03 + id.noseProtrusion * Math.pow(k / 3, 1.6);
  }
  const baseY = tipY - 0.07 + 0.03 * f.upperLipRaise;
  const wing = id.noseHalfWidth * (1 + 0.12 * f.nasalWrinkles);
  const noseBase: [number, number, number][] = [[-wing, baseY + 0.03, 0.08], [-wing * 0.5, baseY - 0.005, 0.16], [0, baseY - 0.02, 0.22], [wing * 0.5, baseY - 0.005, 0.16], [wing, baseY + 0.03, 0.08]];
  noseBase.forEach(([x, y, lift], k) => set(31 + k, x, y, lift * id.noseProtrusion / 0.3));

  // Eyes: 36 outer, 37–38 upper lid, 39 inner, 40–41 lower lid (image-left eye); mirrored for 42–47.
  const aperture = clamp(1 + 0.55 * f.eyeAperture - 0.25 * f.underEyeWrinkles, 0.15, 1.8);
  for (const side of [-1, 1] as const) {
    const centreX = side * id.eyeSpacing, centreY = id.eyeY;
    const halfWidth = id.eyeHalfWidth, halfHeight = id.eyeHalfWidth * id.eyeOpening;
    const upper = halfHeight * aperture * (f.eyeAperture > 0 ? 1.1 : 1);
    const lower = halfHeight * 0.75 * (1 - 0.35 * f.underEyeWrinkles) * (f.eyeAperture < 0 ? 1 + 0.4 * f.eyeAperture : 1 + 0.2 * f.eyeAperture);
    const tilt = id.eyeTilt; // outer corner height above the inner one
    const outer: [number, number] = [centreX + side * halfWidth, centreY + tilt / 2];
    const inner: [number, number] = [centreX - side * halfWidth, centreY - tilt / 2];
    const lid = (t: number, up: boolean): [number, number] => {
      const x = outer[0] + (inner[0] - outer[0]) * t;
      const base = outer[1] + (inner[1] - outer[1]) * t;
      const bulge = Math.sin(Math.PI * t) * (up ? upper : -lower) * (up ? 1 + 0.15 * (0.5 - t) : 1);
      return [x, base + bulge];
    };
    const first = side < 0 ? 36 : 45;
    const order = side < 0 ? [36, 37, 38, 39, 40, 41] : [45, 44, 43, 42, 47, 46];
    const positions: [number, number][] = [outer, lid(1 / 3, true), lid(2 / 3, true), inner, lid(2 / 3, false), lid(1 / 3, false)];
    order.forEach((index, k) => set(index, positions[k]![0], positions[k]![1], 0.0));
    void first;
  }

  // Mouth: outer loop 48–59 from the image-left corner clockwise, inner loop 60–67.
  const open = 0.16 * f.mouthOpen;
  const cornerLift = 0.1 * f.mouthCorners - 0.02 * f.mouthOpen;
  const halfWidth = id.mouthHalfWidth * (1 + 0.14 * f.mouthWidth + 0.1 * Math.max(0, f.mouthCorners) - 0.08 * f.mouthOpen);
  const mouthY = id.mouthY;
  const upperRaise = 0.035 * f.upperLipRaise;
  const skew = 0.04 * f.mouthSkew;
  const corner = (side: number): [number, number] => [side * halfWidth, mouthY + cornerLift + side * skew];
  const [lx, ly] = corner(-1), [rx, ry] = corner(1);
  const along = (t: number) => [lx + (rx - lx) * t, ly + (ry - ly) * t] as const;
  // Upper outer lip with a cupid's bow; lower outer lip a smooth arc.
  const upperOuter = (t: number) => {
    const [x, y] = along(t);
    const bow = Math.sin(Math.PI * t) * (id.upperLip + 0.02) - 0.012 * Math.exp(-((t - 0.5) ** 2) / 0.004);
    return [x, y + bow + upperRaise * Math.sin(Math.PI * t) - (cornerLift * 0.6) * Math.sin(Math.PI * t)] as const;
  };
  const lowerOuter = (t: number) => {
    const [x, y] = along(t);
    return [x, y - Math.sin(Math.PI * t) * (id.lowerLip + 0.03 + open) - (cornerLift * 0.6) * Math.sin(Math.PI * t)] as const;
  };
  const innerUpper = (t: number) => {
    const [x, y] = along(0.12 + 0.76 * t);
    return [x, y + Math.sin(Math.PI * t) * (0.006 + open * 0.1) + upperRaise * 0.8 * Math.sin(Math.PI * t) - cornerLift * 0.6 * Math.sin(Math.PI * t)] as const;
  };
  const innerLower = (t: number) => {
    const [x, y] = along(0.12 + 0.76 * t);
    return [x, y - Math.sin(Math.PI * t) * (0.004 + open * 0.95) - cornerLift * 0.6 * Math.sin(Math.PI * t)] as const;
  };
  set(48, lx, ly, 0.03);
  [1 / 6, 2 / 6, 3 / 6, 4 / 6, 5 / 6].forEach((t, k) => { const [x, y] = upperOuter(t); set(49 + k, x, y, 0.06); });
  set(54, rx, ry, 0.03);
  [5 / 6, 4 / 6, 3 / 6, 2 / 6, 1 / 6].forEach((t, k) => { const [x, y] = lowerOuter(t); set(55 + k, x, y + jawDrop(id, f, y) * 0.3, 0.06); });
  const [ix0, iy0] = along(0.1), [ix1, iy1] = along(0.9);
  set(60, ix0, iy0, 0.03);
  [0.25, 0.5, 0.75].forEach((t, k) => { const [x, y] = innerUpper(t); set(61 + k, x, y, 0.04); });
  set(64, ix1, iy1, 0.03);
  [0.75, 0.5, 0.25].forEach((t, k) => { const [x, y] = innerLower(t); set(65 + k, x, y, 0.04); });
  return points;
}
