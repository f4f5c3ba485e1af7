/** 8-bit images (HWC, 1 or 3 channels) and the pixel operations the loaders need. */

export interface ImageU8 {
  width: number;
  height: number;
  channels: 1 | 3;
  /** Row-major, channels interleaved (HWC). */
  data: Uint8Array;
  /** Set by the decoders when the file had transparent or translucent pixels (see fromRgba). */
  alphaComposited?: boolean;
  /**
   * A JPEG's EXIF orientation when it is not 1 (upright): 2..8, the turn or flip that viewers
   * apply and the decoders do not, as PIL's Image.open and torchvision do not.
   */
  exifOrientation?: number;
}

export function createImage(width: number, height: number, channels: 1 | 3): ImageU8 {
  return { width, height, channels, data: new Uint8Array(width * height * channels) };
}

/**
 * ITU-R BT.601 luma as PIL's convert('L') computes it, so grayscale matches PyTorch pipelines
 * value for value: L = R·299/1000 + G·587/1000 + B·114/1000 in PIL's 16-bit fixed point
 * ((19595 R + 38470 G + 7471 B + 32768) >> 16). Rounding the decimal weights instead gave 1 more
 * than PIL on 9,040 of the 16.7 million colours (e.g. (0, 0, 250): 29, PIL 28).
 */
export function toGrayscale(image: ImageU8): ImageU8 {
  if (image.channels === 1) return image;
  const out = createImage(image.width, image.height, 1);
  const source = image.data;
  for (let i = 0, j = 0; i < out.data.length; i++, j += 3) {
    out.data[i] = (19595 * source[j]! + 38470 * source[j + 1]! + 7471 * source[j + 2]! + 0x8000) >>> 16;
  }
  return out;
}

export function toRgb(image: ImageU8): ImageU8 {
  if (image.channels === 3) return image;
  const out = createImage(image.width, image.height, 3);
  for (let i = 0; i < image.data.length; i++) {
    const value = image.data[i]!;
    out.data[3 * i] = value; out.data[3 * i + 1] = value; out.data[3 * i + 2] = value;
  }
  return out;
}

export function toChannels(image: ImageU8, channels: 1 | 3): ImageU8 {
  return channels === 1 ? toGrayscale(image) : toRgb(image);
}

/**
 * From RGBA bytes (what the decoders return). The models take no alpha channel, so a transparent
 * or translucent pixel is composited onto black (colour × alpha / 255): what a viewer shows on a
 * black page, and the stored colour under alpha 0 is often garbage. Note that torchvision's
 * loader (PIL `convert('RGB')`) instead drops alpha and keeps the stored colour. Such images
 * carry `alphaComposited` so that `webfer inspect` can count them.
 */
export function fromRgba(rgba: Uint8Array, width: number, height: number, channels: 1 | 3 = 3): ImageU8 {
  const rgb = createImage(width, height, 3);
  let composited = false;
  for (let i = 0, j = 0; i < width * height; i++, j += 4) {
    const alpha = rgba[j + 3]!;
    if (alpha !== 255) composited = true;
    rgb.data[3 * i] = alpha === 255 ? rgba[j]! : Math.round((rgba[j]! * alpha) / 255);
    rgb.data[3 * i + 1] = alpha === 255 ? rgba[j + 1]! : Math.round((rgba[j + 1]! * alpha) / 255);
    rgb.data[3 * i + 2] = alpha === 255 ? rgba[j + 2]! : Math.round((rgba[j + 2]! * alpha) / 255);
  }
  const out = channels === 3 ? rgb : toGrayscale(rgb);
  if (composited) out.alphaComposited = true;
  return out;
}

export function toRgba(image: ImageU8): Uint8Array {
  const rgba = new Uint8Array(image.width * image.height * 4);
  const c = image.channels;
  for (let i = 0; i < image.width * image.height; i++) {
    rgba[4 * i] = image.data[c * i]!;
    rgba[4 * i + 1] = image.data[c * i + (c === 3 ? 1 : 0)]!;
    rgba[4 * i + 2] = image.data[c * i + (c === 3 ? 2 : 0)]!;
    rgba[4 * i + 3] = 255;
  }
  return rgba;
}

/** Bilinear resize with half-pixel centres (PyTorch align_corners=False, OpenCV INTER_LINEAR). */
export function resizeBilinear(image: ImageU8, width: number, height: number): ImageU8 {
  const out = createImage(width, height, image.channels);
  const c = image.channels;
  const scaleX = image.width / width, scaleY = image.height / height;
  for (let y = 0; y < height; y++) {
    const sy = Math.min(Math.max((y + 0.5) * scaleY - 0.5, 0), image.height - 1);
    const y0 = Math.floor(sy), y1 = Math.min(y0 + 1, image.height - 1), fy = sy - y0;
    for (let x = 0; x < width; x++) {
      const sx = Math.min(Math.max((x + 0.5) * scaleX - 0.5, 0), image.width - 1);
      const x0 = Math.floor(sx), x1 = Math.min(x0 + 1, image.width - 1), fx = sx - x0;
      for (let k = 0; k < c; k++) {
        const a = image.data[(y0 * image.width + x0) * c + k]!, b = image.data[(y0 * image.width + x1) * c + k]!;
        const d = image.data[(y1 * image.width + x0) * c + k]!, e = image.data[(y1 * image.width + x1) * c + k]!;
        const top = a + (b - a) * fx, bottom = d + (e - d) * fx;
        out.data[(y * width + x) * c + k] = Math.round(top + (bottom - top) * fy);
      }
    }
  }
  return out;
}

/**
 * Area (box) resize for downscaling: each output pixel averages the source area it covers,
 * with fractional edge weights, so thin features (wrinkle lines) do not alias away.
 */
export function resizeArea(image: ImageU8, width: number, height: number): ImageU8 {
  const c = image.channels;
  const scaleX = image.width / width, scaleY = image.height / height;
  const out = createImage(width, height, c);
  const sums = new Float64Array(c);
  for (let y = 0; y < height; y++) {
    const top = y * scaleY, bottom = top + scaleY;
    for (let x = 0; x < width; x++) {
      const left = x * scaleX, right = left + scaleX;
      sums.fill(0);
      let total = 0;
      for (let sy = Math.floor(top); sy < Math.min(Math.ceil(bottom), image.height); sy++) {
        const wy = Math.min(bottom, sy + 1) - Math.max(top, sy);
        for (let sx = Math.floor(left); sx < Math.min(Math.ceil(right), image.width); sx++) {
          const weight = wy * (Math.min(right, sx + 1) - Math.max(left, sx));
          const base = (sy * image.width + sx) * c;
          for (let k = 0; k < c; k++) sums[k]! += weight * image.data[base + k]!;
          total += weight;
        }
      }
      for (let k = 0; k < c; k++) out.data[(y * width + x) * c + k] = Math.round(sums[k]! / total);
    }
  }
  return out;
}

/** Area filter when shrinking in both directions, bilinear otherwise. */
export function resize(image: ImageU8, width: number, height: number): ImageU8 {
  if (width === image.width && height === image.height) return image;
  return width <= image.width && height <= image.height ? resizeArea(image, width, height) : resizeBilinear(image, width, height);
}

export function crop(image: ImageU8, left: number, top: number, width: number, height: number): ImageU8 {
  if (left < 0 || top < 0 || left + width > image.width || top + height > image.height) {
    throw new RangeError(`crop ${width}x${height} at (${left}, ${top}) does not fit a ${image.width}x${image.height} image; resize to at least the crop size first`);
  }
  const c = image.channels;
  const out = createImage(width, height, c);
  for (let y = 0; y < height; y++) {
    const start = ((top + y) * image.width + left) * c;
    out.data.set(image.data.subarray(start, start + width * c), y * width * c);
  }
  return out;
}

/** torchvision's center_crop: the offset is int(round(margin / 2)), Python's round taking halves to even (a margin of 3 starts at 2). */
export function centerCrop(image: ImageU8, width: number, height: number): ImageU8 {
  return crop(image, halfMarginToEven(image.width - width), halfMarginToEven(image.height - height), width, height);
}

function halfMarginToEven(margin: number): number {
  const half = Math.floor(margin / 2);
  return margin % 2 !== 0 && half % 2 !== 0 ? half + 1 : half;
}

export function flipHorizontal(image: ImageU8): ImageU8 {
  const c = image.channels;
  const out = createImage(image.width, image.height, c);
  for (let y = 0; y < image.height; y++) {
    for (let x = 0; x < image.width; x++) {
      const from = (y * image.width + x) * c, to = (y * image.width + image.width - 1 - x) * c;
      for (let k = 0; k < c; k++) out.data[to + k] = image.data[from + k]!;
    }
  }
  return out;
}

export type Normalization = 'unit' | 'symmetric';

/**
 * Writes an image as CHW floats into `out` at `offset`: 'unit' → [0, 1] (Fa-Net / LightCNN),
 * 'symmetric' → [−1, 1] (FaPE-GAN, matching its tanh output).
 */
export function writeChw(image: ImageU8, out: Float32Array, offset: number, normalization: Normalization): void {
  const c = image.channels, plane = image.width * image.height;
  const scale = normalization === 'unit' ? 1 / 255 : 2 / 255;
  const shift = normalization === 'unit' ? 0 : -1;
  for (let k = 0; k < c; k++) {
    for (let i = 0; i < plane; i++) out[offset + k * plane + i] = image.data[i * c + k]! * scale + shift;
  }
}
