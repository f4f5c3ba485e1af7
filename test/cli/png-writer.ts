// A PNG writer for the tests, written from the PNG specification (ISO/IEC 15948), for what pngjs
// cannot encode: sub-byte gray, palettes with tRNS, Adam7 interlacing, any colour type at 16 bits.
// Every scanline uses filter 0 (None); the decoder under test must handle that like any other.
import { crc32, deflateSync } from 'node:zlib';

export type PngColorType = 0 | 2 | 3 | 4 | 6;

export interface PngSpec {
  width: number;
  height: number;
  colorType: PngColorType;
  bitDepth: 1 | 2 | 4 | 8 | 16;
  /** Sample values per pixel, row-major (gray: 1, gray+alpha: 2, RGB: 3, palette index: 1, RGBA: 4), each below 2**bitDepth. */
  samples: ArrayLike<number>;
  /** Palette entries [r, g, b] (colour type 3). */
  palette?: [number, number, number][];
  /** tRNS: an alpha per palette entry (type 3), or the transparent gray value [g] (type 0) or colour [r, g, b] (type 2). */
  transparency?: number[];
  interlace?: boolean;
}

const CHANNELS: Record<PngColorType, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

/** The 7 Adam7 passes: [x start, y start, x step, y step]. */
const ADAM7: [number, number, number, number][] = [[0, 0, 8, 8], [4, 0, 8, 8], [0, 4, 4, 8], [2, 0, 4, 4], [0, 2, 2, 4], [1, 0, 2, 2], [0, 1, 1, 2]];

function chunk(type: string, body: Buffer): Buffer {
  const out = Buffer.alloc(body.length + 12);
  out.writeUInt32BE(body.length, 0);
  out.write(type, 4, 'latin1');
  body.copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + body.length)) >>> 0, 8 + body.length);
  return out;
}

/** Filter-0 scanlines of the pixels at (x0 + i·dx, y0 + j·dy), samples packed most significant bit first. */
function scanlines(spec: PngSpec, x0: number, y0: number, dx: number, dy: number): Buffer {
  const channels = CHANNELS[spec.colorType];
  const columns = Math.ceil((spec.width - x0) / dx), rows = Math.ceil((spec.height - y0) / dy);
  if (columns <= 0 || rows <= 0) return Buffer.alloc(0);
  const rowBytes = Math.ceil((columns * channels * spec.bitDepth) / 8);
  const out = Buffer.alloc(rows * (rowBytes + 1));
  for (let j = 0; j < rows; j++) {
    const row = out.subarray(j * (rowBytes + 1) + 1, (j + 1) * (rowBytes + 1));
    let bit = 0;
    for (let i = 0; i < columns; i++) {
      const pixel = (y0 + j * dy) * spec.width + x0 + i * dx;
      for (let k = 0; k < channels; k++) {
        const value = spec.samples[pixel * channels + k]!;
        if (spec.bitDepth === 16) row.writeUInt16BE(value, bit / 8);
        else if (spec.bitDepth === 8) row[bit / 8] = value;
        else row[bit >> 3]! |= value << (8 - spec.bitDepth - (bit & 7));
        bit += spec.bitDepth;
      }
    }
  }
  return out;
}

export function writePng(spec: PngSpec): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(spec.width, 0);
  header.writeUInt32BE(spec.height, 4);
  header[8] = spec.bitDepth;
  header[9] = spec.colorType;
  header[12] = spec.interlace ? 1 : 0;
  const raw = spec.interlace
    ? Buffer.concat(ADAM7.map(([x0, y0, dx, dy]) => scanlines(spec, x0, y0, dx, dy)))
    : scanlines(spec, 0, 0, 1, 1);
  const chunks = [chunk('IHDR', header)];
  if (spec.palette) chunks.push(chunk('PLTE', Buffer.from(spec.palette.flat())));
  if (spec.transparency) {
    const body = spec.colorType === 3 ? Buffer.from(spec.transparency) : Buffer.alloc(2 * spec.transparency.length);
    if (spec.colorType !== 3) spec.transparency.forEach((value, k) => body.writeUInt16BE(value, 2 * k));
    chunks.push(chunk('tRNS', body));
  }
  chunks.push(chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0)));
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), ...chunks]);
}
