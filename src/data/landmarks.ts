/**
 * 68-point landmarks in iBUG/Dlib order (jaw 0–16, brows 17–26, nose 27–35, eyes 36–47,
 * mouth 48–67), stored as Float32Array [x0, y0, x1, y1, …] in pixel coordinates.
 *
 * Text format (`.txt`, written by `webfer synth`): 68 lines `x y` (decimal pixels, origin at the
 * top-left pixel's corner, x right, y down: pixel (i, j)'s centre is (i + 0.5, j + 0.5)). The reader
 * also accepts `x,y` lines and iBUG `.pts` files (`version: 1` / `n_points: 68` / `{` … `}`), whose
 * coordinates are 1-based as MATLAB counts pixels (the 300-W / iBUG annotations: the top-left
 * pixel's centre is (1, 1); menpo's pts importer subtracts 1 for the same reason): a .pts point
 * is moved by −0.5 into this convention.
 */
import { DataError } from './errors.js';

export const NUM_LANDMARKS = 68;

/** Index ranges [start, end) of the Dlib facial parts. */
export const LANDMARK_PARTS = {
  jaw: [0, 17], rightBrow: [17, 22], leftBrow: [22, 27], noseBridge: [27, 31], noseBottom: [31, 36],
  rightEye: [36, 42], leftEye: [42, 48], outerMouth: [48, 60], innerMouth: [60, 68],
} as const;

/** Polylines Dlib's face renderer draws: [indices, closed]. */
export const LANDMARK_POLYLINES: readonly (readonly [readonly number[], boolean])[] = [
  [range(0, 17), false],
  [range(17, 22), false],
  [range(22, 27), false],
  [range(27, 31), false],
  [[30, 31, 32, 33, 34, 35], true],
  [range(36, 42), true],
  [range(42, 48), true],
  [range(48, 60), true],
  [range(60, 68), true],
];

/** Index of each point's mirror image under a horizontal flip (left eye ↔ right eye, …). */
export const LANDMARK_MIRROR: readonly number[] = (() => {
  const mirror = range(0, 68);
  const pairs: [number, number][] = [];
  for (let i = 0; i < 8; i++) pairs.push([i, 16 - i]);
  pairs.push([17, 26], [18, 25], [19, 24], [20, 23], [21, 22], [31, 35], [32, 34],
    [36, 45], [37, 44], [38, 43], [39, 42], [40, 47], [41, 46],
    [48, 54], [49, 53], [50, 52], [55, 59], [56, 58], [60, 64], [61, 63], [65, 67]);
  for (const [a, b] of pairs) { mirror[a] = b; mirror[b] = a; }
  return mirror;
})();

function range(start: number, end: number): number[] {
  return Array.from({ length: end - start }, (_, k) => start + k);
}

/** Flips landmarks for a horizontally flipped image of `width` pixels (coordinates and order). */
export function flipLandmarks(points: Float32Array, width: number): Float32Array {
  const out = new Float32Array(points.length);
  for (let i = 0; i < NUM_LANDMARKS; i++) {
    const j = LANDMARK_MIRROR[i]!;
    out[2 * j] = width - points[2 * i]!;
    out[2 * j + 1] = points[2 * i + 1]!;
  }
  return out;
}

export function scaleLandmarks(points: Float32Array, scaleX: number, scaleY: number, offsetX = 0, offsetY = 0): Float32Array {
  const out = new Float32Array(points.length);
  for (let i = 0; i < points.length; i += 2) {
    out[i] = points[i]! * scaleX + offsetX;
    out[i + 1] = points[i + 1]! * scaleY + offsetY;
  }
  return out;
}

export function formatLandmarks(points: Float32Array): string {
  let text = '';
  for (let i = 0; i < NUM_LANDMARKS; i++) text += `${round2(points[2 * i]!)} ${round2(points[2 * i + 1]!)}\n`;
  return text;
}

function round2(value: number): string {
  return (Math.round(value * 100) / 100).toString();
}

/** From a .pts file's 1-based pixel centres to the top-left corner origin: the centre of pixel 1 (MATLAB) is 0.5 here. */
const PTS_TO_CORNER = 0.5;

/** A decimal number as numpy's loadtxt and the iBUG tools read it (Number() also took "0x10", "0b1", ""). */
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

export function parseLandmarks(text: string, file?: string): Float32Array {
  const values: number[] = [];
  let declaredPoints: number | undefined;
  let isPts = false;
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, index) => {
    const line = raw.trim();
    if (line === '') return;
    if (line === '{' || line === '}' || /^version\s*:/i.test(line)) { isPts = true; return; }
    const count = /^n_points\s*:\s*(\S*)$/i.exec(line);
    if (count) {
      isPts = true;
      if (!/^\d+$/.test(count[1]!)) throw new DataError('malformed n_points line', { file, line: index + 1, expected: '"n_points: 68"', got: JSON.stringify(raw.slice(0, 40)) });
      declaredPoints = Number(count[1]);
      return;
    }
    const parts = line.split(/[\s,]+/);
    if (parts.length !== 2 || !parts.every((part) => DECIMAL.test(part))) {
      throw new DataError('malformed landmark line', { file, line: index + 1, expected: '"x y" with two decimal numbers', got: JSON.stringify(raw.slice(0, 40)) });
    }
    values.push(Number(parts[0]), Number(parts[1]));
  });
  const points = values.length / 2;
  if (declaredPoints !== undefined && declaredPoints !== points) {
    throw new DataError('n_points disagrees with the points listed', { file, expected: `n_points: ${points} for the ${points} points listed`, got: `n_points: ${declaredPoints}`, hint: 'the .pts file is damaged or cut short; export it again' });
  }
  if (points !== NUM_LANDMARKS) {
    throw new DataError('wrong number of landmarks', { file, expected: `${NUM_LANDMARKS} points (iBUG 68)`, got: `${points}`, hint: 'write one "x y" line per point' });
  }
  const oneBased = isPts || /\.pts$/i.test(file ?? '');
  return Float32Array.from(values, (value) => (oneBased ? value - PTS_TO_CORNER : value));
}
