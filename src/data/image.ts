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

/**
 * The image as a viewer shows it under EXIF / TIFF orientation 2..8 (2 mirrored, 3 turned 180°,
 * 4 upside down, 5 transposed, 6 turned 90° clockwise, 7 transversed, 8 turned 90° anticlockwise):
 * PIL's ImageOps.exif_transpose.
 */
export function orient(image: ImageU8, orientation: number): ImageU8 {
  const { width, height, channels } = image, swap = orientation >= 5;
  const out = createImage(swap ? height : width, swap ? width : height, channels);
  if (image.alphaComposited) out.alphaComposited = true;
  for (let y = 0; y < out.height; y++) for (let x = 0; x < out.width; x++) {
    // The stored pixel that lands at (x, y).
    const [sx, sy] = orientation === 2 ? [width - 1 - x, y] : orientation === 3 ? [width - 1 - x, height - 1 - y] : orientation === 4 ? [x, height - 1 - y]
      : orientation === 5 ? [y, x] : orientation === 6 ? [y, height - 1 - x] : orientation === 7 ? [width - 1 - y, height - 1 - x] : [width - 1 - y, x];
    const from = (sy * width + sx) * channels, to = (y * out.width + x) * channels;
    for (let c = 0; c < channels; c++) out.data[to + c] = image.data[from + c]!;
  }
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

/**
 * PIL's Image.resize(size, Image.BILINEAR) on an 8-bit image, bit for bit: what torchvision's
 * transforms.Resize does to the PIL images of the LightCNN reference's loader. As in PIL's
 * Resample.c, the triangle filter's support widens by the scale when shrinking (an antialiased
 * downscale: halving weighs four source pixels 1:3:3:1), the weights are normalised per output
 * pixel and stored in 22-bit fixed point, and the image is resampled horizontally into an
 * 8-bit intermediate (rounded, clipped) and then vertically. Same size: the image itself.
 */
export function resize(image: ImageU8, width: number, height: number): ImageU8 {
  if (width === image.width && height === image.height) return image;
  const c = image.channels;
  let out = image;
  // Rows first ([height][width][c] resampled along width), then columns (one [height][width·c] block along height).
  if (width !== image.width) out = { width, height: out.height, channels: c, data: resampleAxis(out.data, out.height, image.width, width, c) };
  if (height !== image.height) out = { width, height, channels: c, data: resampleAxis(out.data, 1, image.height, height, width * c) };
  return out;
}

/**
 * One PIL pass over data laid out [outer][inSize][inner]: every (outer, inner) line along the middle axis resampled
 * from inSize to outSize samples with pilBilinearTaps, each result rounded and clipped to 8 bits.
 */
function resampleAxis(data: Uint8Array, outer: number, inSize: number, outSize: number, inner: number): Uint8Array {
  const taps = pilBilinearTaps(inSize, outSize);
  const out = new Uint8Array(outer * outSize * inner);
  for (let a = 0; a < outer; a++) {
    for (let o = 0; o < outSize; o++) {
      const first = taps.first[o]!, count = taps.count[o]!, base = o * taps.stride;
      const source = (a * inSize + first) * inner, target = (a * outSize + o) * inner;
      for (let b = 0; b < inner; b++) {
        let sum = FIXED_HALF;
        for (let t = 0; t < count; t++) sum += data[source + t * inner + b]! * taps.weights[base + t]!;
        out[target + b] = clipFixed(sum);
      }
    }
  }
  return out;
}

/** Resample.c's PRECISION_BITS for 8-bit images (32 - 8 - 2). */
const FIXED_BITS = 22;
const FIXED_ONE = 2 ** FIXED_BITS;
const FIXED_HALF = 2 ** (FIXED_BITS - 1);

function clipFixed(sum: number): number {
  return Math.min(Math.max(Math.floor(sum / FIXED_ONE), 0), 255);
}

/** Resample.c's precompute_coeffs + normalize_coeffs_8bpc for the bilinear filter (support 1), in its order of operations. */
function pilBilinearTaps(inSize: number, outSize: number): { first: Int32Array; count: Int32Array; weights: Int32Array; stride: number } {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = filterScale;
  const stride = Math.ceil(support) * 2 + 1;
  const first = new Int32Array(outSize), count = new Int32Array(outSize), weights = new Int32Array(outSize * stride);
  const inverseFilterScale = 1 / filterScale;
  const raw = new Float64Array(stride);
  for (let o = 0; o < outSize; o++) {
    const center = (o + 0.5) * scale;
    const lo = Math.max(Math.trunc(center - support + 0.5), 0);
    const n = Math.min(Math.trunc(center + support + 0.5), inSize) - lo;
    let total = 0;
    for (let t = 0; t < n; t++) {
      const distance = Math.abs((t + lo - center + 0.5) * inverseFilterScale);
      raw[t] = distance < 1 ? 1 - distance : 0;
      total += raw[t]!;
    }
    for (let t = 0; t < n; t++) weights[o * stride + t] = Math.trunc(0.5 + (total !== 0 ? raw[t]! / total : raw[t]!) * FIXED_ONE);
    first[o] = lo; count[o] = n;
  }
  return { first, count, weights, stride };
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
  return crop(image, centerCropOffset(image.width, width), centerCropOffset(image.height, height), width, height);
}

/** Where centerCrop starts along an axis of `size` pixels cropped to `cropSize`. */
export function centerCropOffset(size: number, cropSize: number): number {
  const margin = size - cropSize, half = Math.floor(margin / 2);
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
 * 'symmetric' → [−1, 1] (FaPE-GAN, matching its tanh output). The values are torchvision's
 * float32 arithmetic to the bit: ToTensor's v / 255, then for 'symmetric' Normalize(0.5, 0.5)'s
 * (x − 0.5) / 0.5, each step rounded to float32 (v · 2/255 − 1 in one rounding is 1 ulp off
 * for half the byte values).
 */
export function writeChw(image: ImageU8, out: Float32Array, offset: number, normalization: Normalization): void {
  const c = image.channels, plane = image.width * image.height;
  const values = normalization === 'unit' ? UNIT_VALUES : SYMMETRIC_VALUES;
  for (let k = 0; k < c; k++) {
    for (let i = 0; i < plane; i++) out[offset + k * plane + i] = values[image.data[i * c + k]!]!;
  }
}

const UNIT_VALUES = Float32Array.from({ length: 256 }, (_, v) => v / 255);
const SYMMETRIC_VALUES = Float32Array.from(UNIT_VALUES, (x) => Math.fround(x - 0.5) / 0.5);
