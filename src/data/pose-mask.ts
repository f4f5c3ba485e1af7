/**
 * Landmarks → pose mask: the one-channel image FaPE-GAN is conditioned on (paper Fig. 4b). The
 * 68 points are drawn as small discs and joined by Dlib's polylines (jaw, brows, nose, closed eye
 * and mouth loops), white on black, antialiased by pixel coverage of the distance field.
 */
import { createImage, type ImageU8 } from './image.js';
import { LANDMARK_POLYLINES, NUM_LANDMARKS } from './landmarks.js';

export interface PoseMaskOptions {
  /** Output size in pixels. */
  width: number;
  height: number;
  /** Size of the image the landmarks are in; defaults to the output size (no scaling). */
  sourceWidth?: number;
  sourceHeight?: number;
  /** Disc radius and line width in output pixels; default scale with the image (2 and 1 px at 128). */
  pointRadius?: number;
  lineWidth?: number;
}

/** Renders the mask as intensities in [0, 1] (H×W, row-major). */
export function renderPoseMask(landmarks: Float32Array, options: PoseMaskOptions): Float32Array {
  const { width, height } = options;
  if (landmarks.length !== 2 * NUM_LANDMARKS) {
    throw new RangeError(`pose mask needs ${NUM_LANDMARKS} landmarks (${2 * NUM_LANDMARKS} numbers), got ${landmarks.length} numbers`);
  }
  const scaleX = width / (options.sourceWidth ?? width), scaleY = height / (options.sourceHeight ?? height);
  const unit = Math.min(width, height) / 128;
  const radius = options.pointRadius ?? Math.max(0.75, 2 * unit);
  const halfLine = (options.lineWidth ?? Math.max(0.75, unit)) / 2;
  const points = new Float64Array(2 * NUM_LANDMARKS);
  for (let i = 0; i < NUM_LANDMARKS; i++) { points[2 * i] = landmarks[2 * i]! * scaleX; points[2 * i + 1] = landmarks[2 * i + 1]! * scaleY; }
  const mask = new Float32Array(width * height);
  const stamp = (distance: number, reach: number, px: number, py: number) => {
    // Coverage of a pixel by a shape edge at `distance` from its centre, ramped over one pixel.
    const coverage = Math.min(1, Math.max(0, reach + 0.5 - distance));
    const index = py * width + px;
    if (coverage > mask[index]!) mask[index] = coverage;
  };
  const segment = (ax: number, ay: number, bx: number, by: number, reach: number) => {
    const x0 = Math.max(0, Math.floor(Math.min(ax, bx) - reach - 1)), x1 = Math.min(width - 1, Math.ceil(Math.max(ax, bx) + reach + 1));
    const y0 = Math.max(0, Math.floor(Math.min(ay, by) - reach - 1)), y1 = Math.min(height - 1, Math.ceil(Math.max(ay, by) + reach + 1));
    const dx = bx - ax, dy = by - ay, lengthSquared = dx * dx + dy * dy;
    for (let py = y0; py <= y1; py++) {
      for (let px = x0; px <= x1; px++) {
        const cx = px + 0.5, cy = py + 0.5;
        const t = lengthSquared === 0 ? 0 : Math.min(1, Math.max(0, ((cx - ax) * dx + (cy - ay) * dy) / lengthSquared));
        stamp(Math.hypot(cx - ax - t * dx, cy - ay - t * dy), reach, px, py);
      }
    }
  };
  for (const [indices, closed] of LANDMARK_POLYLINES) {
    const count = indices.length;
    for (let k = 0; k < (closed ? count : count - 1); k++) {
      const a = indices[k]!, b = indices[(k + 1) % count]!;
      segment(points[2 * a]!, points[2 * a + 1]!, points[2 * b]!, points[2 * b + 1]!, halfLine);
    }
  }
  for (let i = 0; i < NUM_LANDMARKS; i++) segment(points[2 * i]!, points[2 * i + 1]!, points[2 * i]!, points[2 * i + 1]!, radius);
  return mask;
}

/** The same mask as an 8-bit one-channel image (for PNG files and contact sheets). */
export function renderPoseMaskImage(landmarks: Float32Array, options: PoseMaskOptions): ImageU8 {
  const mask = renderPoseMask(landmarks, options);
  const image = createImage(options.width, options.height, 1);
  for (let i = 0; i < mask.length; i++) image.data[i] = Math.round(mask[i]! * 255);
  return image;
}
