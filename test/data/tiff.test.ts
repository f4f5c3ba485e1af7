// TIFF layouts beyond 8-bit RGB / gray (audit 6), written from the TIFF 6.0 specification by
// tiff-writer.ts: what PIL reads, decoded to its values; what webfer cannot read exactly, refused
// by name. utif2 (the decoder underneath) returned an all-black image with alpha 0 for 4-bit
// BlackIsZero and 2-bit WhiteIsZero gray, interleaved separate colour planes as if they were chunky,
// scaled float samples by 255, read signed samples as unsigned, left the pixels of an unknown
// compression zero, kept a third of a JPEG-compressed gray image's samples (its JPEG decoder writes
// RGB), and printed "==== 3 2" on stdout for every tiled TIFF.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeImage } from '../../src/data/codecs.js';
import { baseTags, LONG, packRows, SHORT, writeTiff } from './tiff-writer.js';

const test = suite('TIFF layouts');

const WIDTH = 7, HEIGHT = 5;
let state = 12345;
/** xorshift32: deterministic samples in [0, n). */
const pick = (n: number) => { state ^= state << 13; state ^= state >>> 17; state ^= state << 5; state >>>= 0; return state % n; };
const samples = (count: number, bits: number) => Array.from({ length: count }, () => pick(2 ** bits));

test('gray of 1, 2, 4, 8 and 16 bits, BlackIsZero and WhiteIsZero: the 8-bit values PIL gives (its L;2 / L;4 unpackers scale by 85 / 17, L;nI inverts; 16 bits: the high byte)', () => {
  for (const photometric of [0, 1]) {
    for (const bits of [1, 2, 4, 8, 16]) {
      const values = samples(WIDTH * HEIGHT, bits);
      const tiff = writeTiff(baseTags(WIDTH, HEIGHT, bits, photometric), { pixels: packRows(values, WIDTH, bits) });
      const image = decodeImage(tiff, `gray${bits}.tif`, 1);
      // Pillow 12.3 (TiffImagePlugin OPEN_INFO, Unpack.c): n-bit samples v become v · 255 / (2^n − 1), exactly; WhiteIsZero 255 minus that.
      const scale = (v: number) => (bits === 16 ? v >> 8 : (v * 255) / (2 ** bits - 1));
      const expected = values.map((v) => (photometric === 0 ? 255 - scale(v) : scale(v)));
      assert.equal([...image.data], expected, `${bits}-bit, photometric ${photometric}`);
      assert.is(image.alphaComposited, undefined, `${bits}-bit, photometric ${photometric}: no alpha`);
    }
  }
});

test('gray + unassociated alpha (ExtraSamples 2) is composited onto black as every other image with transparency; associated (premultiplied) alpha is already so', () => {
  const gray = samples(WIDTH * HEIGHT, 8), alpha = samples(WIDTH * HEIGHT, 8);
  const interleaved = gray.flatMap((g, i) => [g, alpha[i]!]);
  for (const extra of [2, 1]) {
    const tiff = writeTiff([...baseTags(WIDTH, HEIGHT, 8, 1, 2), SHORT(338, extra)], { pixels: Uint8Array.from(interleaved) });
    const image = decodeImage(tiff, 'gray-alpha.tif', 1);
    assert.equal([...image.data], extra === 2 ? gray.map((g, i) => Math.round((g * alpha[i]!) / 255)) : gray, `ExtraSamples ${extra}`);
    assert.ok(image.alphaComposited, `ExtraSamples ${extra}: counted as transparent`);
  }
});

test('RGB + a fourth sample: unassociated alpha (ExtraSamples 2) composited onto black, associated (1) premultiplied already, unspecified (0) no alpha (PIL reads RGB)', () => {
  const rgb = samples(WIDTH * HEIGHT * 3, 8), alpha = samples(WIDTH * HEIGHT, 8);
  const interleaved = alpha.flatMap((a, i) => [rgb[3 * i]!, rgb[3 * i + 1]!, rgb[3 * i + 2]!, a]);
  for (const extra of [2, 1, 0]) {
    const tiff = writeTiff([...baseTags(WIDTH, HEIGHT, 8, 2, 4), SHORT(338, extra)], { pixels: Uint8Array.from(interleaved) });
    const image = decodeImage(tiff, 'rgba.tif', 3);
    assert.equal([...image.data], extra === 2 ? rgb.map((v, k) => Math.round((v * alpha[Math.floor(k / 3)]!) / 255)) : rgb, `ExtraSamples ${extra}`);
    assert.is(image.alphaComposited, extra === 0 ? undefined : true, `ExtraSamples ${extra}: counted as transparent or not`);
  }
});

test('the Orientation tag turns the image upright on load, as PIL\'s TiffImagePlugin does (exif_transpose); JPEG EXIF is left as stored', () => {
  const wide = [0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110]; // 4 × 3
  const square = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  // np.array(Image.open(...)) in Pillow 12.3 for the 4 × 3 image (1..4) and the 3 × 3 one (5..8).
  const pil: Record<number, { width: number; pixels: number[]; values: number[] }> = {
    1: { width: 4, pixels: wide, values: wide },
    2: { width: 4, pixels: wide, values: [30, 20, 10, 0, 70, 60, 50, 40, 110, 100, 90, 80] },
    3: { width: 4, pixels: wide, values: [110, 100, 90, 80, 70, 60, 50, 40, 30, 20, 10, 0] },
    4: { width: 4, pixels: wide, values: [80, 90, 100, 110, 40, 50, 60, 70, 0, 10, 20, 30] },
    5: { width: 3, pixels: square, values: [0, 3, 6, 1, 4, 7, 2, 5, 8] },
    6: { width: 3, pixels: square, values: [6, 3, 0, 7, 4, 1, 8, 5, 2] },
    7: { width: 3, pixels: square, values: [8, 5, 2, 7, 4, 1, 6, 3, 0] },
    8: { width: 3, pixels: square, values: [2, 5, 8, 1, 4, 7, 0, 3, 6] },
  };
  for (const [orientation, { width, pixels, values }] of Object.entries(pil)) {
    const height = pixels.length / width;
    const image = decodeImage(writeTiff([...baseTags(width, height, 8, 1), SHORT(274, Number(orientation))], { pixels: Uint8Array.from(pixels) }), 'turned.tif', 1);
    assert.equal([...image.data], values, `orientation ${orientation}`);
  }
  // A non-square image under 6 (turned 90° clockwise): 3 wide, 4 tall, as TIFF 6.0 says (Pillow 12.3 scrambles this case).
  const turned = decodeImage(writeTiff([...baseTags(4, 3, 8, 1), SHORT(274, 6)], { pixels: Uint8Array.from(wide) }), 'turned.tif', 1);
  assert.equal([turned.width, turned.height, ...turned.data], [3, 4, 80, 40, 0, 90, 50, 10, 100, 60, 20, 110, 70, 30]);
});

test('a tiled TIFF decodes and prints nothing (utif2 logged "==== tilesX tilesY" to stdout, breaking --json output)', () => {
  const width = 20, height = 18, tile = 16;
  const values = samples(width * height, 8);
  const tiles: Uint8Array[] = [];
  for (let ty = 0; ty < height; ty += tile) for (let tx = 0; tx < width; tx += tile) {
    const bytes = new Uint8Array(tile * tile); // a tile past the image's edge is padded (TIFF 6.0, section 15)
    for (let y = 0; y < tile && ty + y < height; y++) for (let x = 0; x < tile && tx + x < width; x++) bytes[y * tile + x] = values[(ty + y) * width + tx + x]!;
    tiles.push(bytes);
  }
  const tags = [LONG(256, width), LONG(257, height), SHORT(258, 8), SHORT(259, 1), SHORT(262, 1), SHORT(277, 1), LONG(322, tile), LONG(323, tile)];
  const printed: unknown[][] = [];
  const log = console.log;
  console.log = (...args: unknown[]) => { printed.push(args); };
  let image;
  try { image = decodeImage(writeTiff(tags, { tiles }), 'tiled.tif', 1); } finally { console.log = log; }
  assert.equal(printed, []);
  assert.equal([...image.data], values);
  // A tile past the end of the file is truncation, as a strip past it is (utif2 filled it with zeros).
  const whole = writeTiff(tags, { tiles });
  assert.throws(() => decodeImage(whole.subarray(0, whole.length - 300), 'cut.tif'), /cut\.tif: corrupt or truncated TIFF; expected a readable TIFF, got decoder error "tile 2 ends at byte \d+ but the file has \d+ bytes \(truncated\)"/);
});

test('TIFF layouts webfer cannot read as PIL does are refused by name, not decoded into other pixels', () => {
  const rgb = samples(WIDTH * HEIGHT * 3, 8);
  const cases: { name: string; tiff: Uint8Array; got: RegExp }[] = [
    { name: 'float', tiff: writeTiff([...baseTags(WIDTH, HEIGHT, 32, 1), SHORT(339, 3)], { pixels: new Uint8Array(WIDTH * HEIGHT * 4) }), got: /floating-point samples/ },
    { name: 'signed', tiff: writeTiff([...baseTags(WIDTH, HEIGHT, 16, 1), SHORT(339, 2)], { pixels: new Uint8Array(WIDTH * HEIGHT * 2) }), got: /signed integer samples/ },
    { name: '32-bit', tiff: writeTiff(baseTags(WIDTH, HEIGHT, 32, 1), { pixels: new Uint8Array(WIDTH * HEIGHT * 4) }), got: /gray of 32 bits a sample/ },
    { name: 'planar', tiff: writeTiff([...baseTags(WIDTH, HEIGHT, 8, 2, 3), SHORT(284, 2)], { pixels: Uint8Array.from(rgb) }), got: /separate colour planes/ },
    { name: 'lzma', tiff: writeTiff([...baseTags(WIDTH, HEIGHT, 8, 2, 3).filter((t) => t.tag !== 259), SHORT(259, 34925)], { pixels: Uint8Array.from(rgb) }), got: /compression 34925 \(LZMA\)/ },
    { name: 'gray-jpeg', tiff: writeTiff([...baseTags(WIDTH, HEIGHT, 8, 1).filter((t) => t.tag !== 259), SHORT(259, 7)], { pixels: new Uint8Array(16) }), got: /gray with JPEG compression/ },
    { name: 'lab', tiff: writeTiff(baseTags(WIDTH, HEIGHT, 8, 8, 3), { pixels: Uint8Array.from(rgb) }), got: /photometric interpretation 8 \(CIELab\)/ },
  ];
  for (const { name, tiff, got } of cases) {
    assert.throws(() => decodeImage(tiff, `${name}.tif`), (error: Error) => {
      assert.match(error.message, new RegExp(`^${name}\\.tif: unsupported TIFF; expected `));
      assert.match(error.message, got);
      assert.match(error.message, /re-save it as an 8-bit TIFF, JPEG or PNG/);
      return true;
    }, name);
  }
});

test('a BigTIFF is named as one (it was "not a PNG, JPEG or TIFF image ... bytes 49 49 2b 00")', () => {
  for (const header of [[0x49, 0x49, 0x2b, 0, 8, 0, 0, 0], [0x4d, 0x4d, 0, 0x2b, 0, 8, 0, 0]]) {
    const bytes = Uint8Array.from([...header, ...new Uint8Array(32)]);
    assert.throws(() => decodeImage(bytes, 'stack.tif'), /stack\.tif: not a PNG, JPEG or TIFF image; expected PNG, JPEG or TIFF magic bytes, got a BigTIFF image \(webfer reads classic TIFF\) \(bytes (49 49 2b 00|4d 4d 00 2b)\)\. convert it to PNG/);
  }
});

test.run();
