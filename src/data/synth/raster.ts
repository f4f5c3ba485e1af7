/**
 * A small software rasteriser: triangles in pixel space with a depth per vertex, a z-buffer
 * (larger z = nearer the camera) and a stencil. Solid surfaces write depth; features painted on
 * the skin (eyes, lips, brows, wrinkles) test depth with a tolerance so the nose hides the far
 * eye in half-profile, and blend with an alpha.
 */

export interface Canvas {
  width: number;
  height: number;
  /** Linear RGB in 0..255, 3 floats per pixel. */
  colour: Float32Array;
  depth: Float32Array;
  stencil: Uint8Array;
  /** Per-pixel id of the last stroke that painted it, so a stroke blends each pixel once. */
  strokeMark: Uint32Array;
  nextStroke: number;
}

export function createCanvas(width: number, height: number, background: (x: number, y: number) => [number, number, number]): Canvas {
  const colour = new Float32Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const [r, g, b] = background(x, y);
      const i = 3 * (y * width + x);
      colour[i] = r; colour[i + 1] = g; colour[i + 2] = b;
    }
  }
  return { width, height, colour, depth: new Float32Array(width * height).fill(-Infinity), stencil: new Uint8Array(width * height), strokeMark: new Uint32Array(width * height), nextStroke: 1 };
}

/** A projected vertex: pixel x, y and camera depth z. */
export type ScreenPoint = [number, number, number];

export interface FillOptions {
  /** 'write': opaque surface with z-buffer; 'test': painted on a surface, hidden where something is nearer. */
  depth: 'write' | 'test';
  /** How far behind the stored depth a painted feature may be and still show. */
  tolerance?: number;
  /** Only draw where the stencil equals this value. */
  stencilTest?: number;
  /** Write this stencil value where drawn. */
  stencilWrite?: number;
}

/**
 * Fills a triangle. `shade(pixel, b0, b1, b2)` receives the pixel index and barycentric weights
 * and paints the pixel itself, so surfaces can interpolate any attributes they carry.
 */
export function fillTriangle(canvas: Canvas, a: ScreenPoint, b: ScreenPoint, c: ScreenPoint, options: FillOptions,
  shade: (pixel: number, b0: number, b1: number, b2: number) => void): void {
  const area = (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]);
  if (Math.abs(area) < 1e-9) return;
  const { width, height, depth, stencil } = canvas;
  const x0 = Math.max(0, Math.floor(Math.min(a[0], b[0], c[0]))), x1 = Math.min(width - 1, Math.ceil(Math.max(a[0], b[0], c[0])));
  const y0 = Math.max(0, Math.floor(Math.min(a[1], b[1], c[1]))), y1 = Math.min(height - 1, Math.ceil(Math.max(a[1], b[1], c[1])));
  const inverseArea = 1 / area;
  const tolerance = options.tolerance ?? 0;
  for (let py = y0; py <= y1; py++) {
    const sy = py + 0.5;
    for (let px = x0; px <= x1; px++) {
      const sx = px + 0.5;
      const w0 = ((b[0] - sx) * (c[1] - sy) - (b[1] - sy) * (c[0] - sx)) * inverseArea;
      const w1 = ((c[0] - sx) * (a[1] - sy) - (c[1] - sy) * (a[0] - sx)) * inverseArea;
      const w2 = 1 - w0 - w1;
      if (w0 < 0 || w1 < 0 || w2 < 0) continue;
      const pixel = py * width + px;
      if (options.stencilTest !== undefined && stencil[pixel] !== options.stencilTest) continue;
      const z = w0 * a[2] + w1 * b[2] + w2 * c[2];
      if (options.depth === 'write') {
        if (z <= depth[pixel]!) continue;
        depth[pixel] = z;
      } else if (z < depth[pixel]! - tolerance) {
        continue;
      }
      if (options.stencilWrite !== undefined) stencil[pixel] = options.stencilWrite;
      shade(pixel, w0, w1, w2);
    }
  }
}

/** Blends a colour into a pixel with coverage alpha. */
export function blend(canvas: Canvas, pixel: number, r: number, g: number, b: number, alpha: number): void {
  const i = 3 * pixel, colour = canvas.colour;
  colour[i] = colour[i]! + (r - colour[i]!) * alpha;
  colour[i + 1] = colour[i + 1]! + (g - colour[i + 1]!) * alpha;
  colour[i + 2] = colour[i + 2]! + (b - colour[i + 2]!) * alpha;
}

/** Multiplies a pixel's colour (shadows, creases). */
export function darken(canvas: Canvas, pixel: number, factor: number): void {
  const i = 3 * pixel, colour = canvas.colour;
  colour[i] = colour[i]! * factor; colour[i + 1] = colour[i + 1]! * factor; colour[i + 2] = colour[i + 2]! * factor;
}
