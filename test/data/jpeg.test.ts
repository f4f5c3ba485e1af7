// JPEG colour models beyond YCbCr and gray (audit 6), from flat-block JPEGs of the test's own
// writer (test/cli/jpeg-writer.ts: every decoder's inverse DCT gives such blocks exactly).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeImage } from '../../src/data/codecs.js';
import { writeFlatBlockJpeg } from '../cli/jpeg-writer.js';

const test = suite('JPEG colour models');

let state = 2024;
/** xorshift32: deterministic samples in [0, n). */
const pick = (n: number) => { state ^= state << 13; state ^= state >>> 17; state ^= state << 5; state >>>= 0; return state % n; };

/**
 * PIL's RGB of a CMYK JPEG's stored samples: JpegImagePlugin reads every CMYK JPEG as "CMYK;I"
 * (inverted, "assume adobe conventions"), then Convert.c's cmyk2rgb gives R = (255 − K) − MULDIV255(C, 255 − K).
 */
function pilRgbOfStoredCmyk(stored: number[]): number[] {
  const [c, m, y, k] = stored.map((v) => 255 - v) as [number, number, number, number];
  const white = 255 - k, muldiv255 = (a: number) => { const t = a * white + 128; return ((t >> 8) + t) >> 8; };
  return [white - muldiv255(c), white - muldiv255(m), white - muldiv255(y)];
}

test('a CMYK JPEG without an Adobe marker is read as PIL reads it (Adobe\'s inverted CMYK), not called damaged ("Unsupported color mode (4 components)")', () => {
  const rows = 3, columns = 5;
  const blocks = Array.from({ length: rows }, () => Array.from({ length: columns }, () => [pick(256), pick(256), pick(256), pick(256)]));
  const image = decodeImage(new Uint8Array(writeFlatBlockJpeg(8 * columns, 8 * rows, blocks)), 'print scan.jpg', 3);
  assert.is(image.channels, 3);
  let worst = 0;
  for (let y = 0; y < 8 * rows; y++) for (let x = 0; x < 8 * columns; x++) {
    const expected = pilRgbOfStoredCmyk(blocks[y >> 3]![x >> 3]!);
    // jpeg-js stores its float CMYK → RGB truncated where PIL rounds: at most 1 level apart (README).
    for (let c = 0; c < 3; c++) worst = Math.max(worst, Math.abs(image.data[3 * (y * 8 * columns + x) + c]! - expected[c]!));
  }
  assert.ok(worst <= 1, `largest difference from PIL ${worst}`);
});

test.run();
