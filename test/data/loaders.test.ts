import type { PairedBatch } from '../../src/data/batch-loader.js';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import jpeg from 'jpeg-js';
import UTIF from 'utif2';
import { encodePng, decodeImage } from '../../src/data/codecs.js';
import { parseIndexCsv } from '../../src/data/index-csv.js';
import { parseFer2013 } from '../../src/data/datasets/fer2013.js';
import { flipLandmarks, parseLandmarks } from '../../src/data/landmarks.js';
import { BatchLoader, PairedBatchLoader, transformImage } from '../../src/data/batch-loader.js';
import { Random } from '../../src/data/random.js';
import { createSynthDataset } from '../../src/data/synth/synth-dataset.js';
import { centerCrop, crop, resize, flipHorizontal, toGrayscale, writeChw, type ImageU8 } from '../../src/data/image.js';
import { Rng } from '../reference/random.js';
import { summarizeDataset } from '../../src/data/inspect.js';
import { openDataset, detectFormat } from '../../src/node/data/open-dataset.js';
import { writeSplits } from '../../src/node/data/write-splits.js';
import { writeSynthDataset } from '../../src/node/data/write-synth.js';

const root = mkdtempSync(join(tmpdir(), 'webfer-data-'));
const test = suite('loaders and codecs');

/** A gradient image whose pixels encode (x, y, seed) so mix-ups show. */
function gradient(width: number, height: number, seed: number, channels: 1 | 3 = 1): ImageU8 {
  const data = new Uint8Array(width * height * channels);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) for (let c = 0; c < channels; c++) {
    data[(y * width + x) * channels + c] = (x * 7 + y * 3 + seed * 40 + c * 60) % 256;
  }
  return { width, height, channels, data };
}
function rgba(image: ImageU8): Uint8Array {
  const out = new Uint8Array(image.width * image.height * 4);
  for (let i = 0; i < image.width * image.height; i++) {
    for (let c = 0; c < 3; c++) out[4 * i + c] = image.data[i * image.channels + (image.channels === 3 ? c : 0)]!;
    out[4 * i + 3] = 255;
  }
  return out;
}
const write = (path: string, data: Uint8Array | string) => { mkdirSync(join(path, '..'), { recursive: true }); writeFileSync(path, data); };

test('PNG, TIFF and JPEG decode to what was encoded', () => {
  const image = gradient(20, 12, 1);
  assert.equal(decodeImage(encodePng(image), 'a.png').data, image.data);
  const tiff = new Uint8Array(UTIF.encodeImage(rgba(image), 20, 12));
  assert.equal(decodeImage(tiff, 'a.tiff').data, image.data);
  const colour = gradient(16, 16, 2, 3);
  const decoded = decodeImage(new Uint8Array(jpeg.encode({ width: 16, height: 16, data: rgba(colour) }, 100).data), 'a.jpg');
  assert.is(decoded.channels, 3);
  let error = 0;
  for (let i = 0; i < colour.data.length; i++) error = Math.max(error, Math.abs(decoded.data[i]! - colour.data[i]!));
  assert.ok(error < 40, `JPEG error ${error}`);
});

test('PNG: bytes after the IEND chunk are not part of the image (libpng and PIL stop there); a missing IEND is still truncation', () => {
  const image = gradient(20, 12, 3);
  const png = encodePng(image);
  const appended = new Uint8Array([...png, ...new TextEncoder().encode('trailing bytes a download tool appended')]);
  assert.equal(decodeImage(appended, 'appended.png').data, image.data);
  assert.throws(() => decodeImage(png.subarray(0, png.length - 12), 'no-iend.png'), /no-iend\.png: corrupt or truncated PNG/);
});

test('bad images: a clear error naming the file', () => {
  const tiff = new Uint8Array(UTIF.encodeImage(rgba(gradient(20, 12, 1)), 20, 12));
  assert.throws(() => decodeImage(tiff.subarray(0, tiff.length - 50), 'cut.tiff'), /cut\.tiff: corrupt or truncated TIFF/);
  assert.throws(() => decodeImage(encodePng(gradient(20, 12, 1)).subarray(0, 45), 'cut.png'), /cut\.png: corrupt or truncated PNG/);
  assert.throws(() => decodeImage(new TextEncoder().encode('hello'), 'notes.png'), /notes\.png: not a PNG, JPEG or TIFF/);
  assert.throws(() => decodeImage(new Uint8Array(0), 'empty.jpg'), /an empty file/);
});

test('image ops: flip, grayscale, same-size resize', () => {
  const image = gradient(8, 8, 0);
  assert.equal(resize(image, 8, 8).data, image.data);
  const flipped = flipHorizontal(image);
  assert.is(flipped.data[0], image.data[7]);
  assert.equal(flipHorizontal(flipped).data, image.data);
  const gray = toGrayscale({ width: 1, height: 1, channels: 3, data: Uint8Array.of(255, 0, 0) });
  assert.is(gray.data[0], 76);
});

/**
 * PIL's 8-bit BILINEAR resample along one axis, written from Pillow's Resample.c
 * (precompute_coeffs, normalize_coeffs_8bpc, ImagingResampleHorizontal_8bpc): triangle filter of
 * support max(1, in/out), taps from int(centre - support + 0.5) to int(centre + support + 0.5),
 * weights normalised, then int(0.5 + w · 2^22); a pixel is (2^21 + Σ v·w) >> 22 clipped to 0..255.
 */
function pilBilinear1d(values: readonly number[], outSize: number): number[] {
  const scale = values.length / outSize, filterScale = Math.max(1, scale);
  return Array.from({ length: outSize }, (_, o) => {
    const centre = (o + 0.5) * scale;
    const lo = Math.max(0, Math.trunc(centre - filterScale + 0.5)), hi = Math.min(values.length, Math.trunc(centre + filterScale + 0.5));
    const taps: number[] = [];
    for (let i = lo; i < hi; i++) taps.push(Math.max(0, 1 - Math.abs((i - centre + 0.5) * (1 / filterScale))));
    const total = taps.reduce((a, b) => a + b, 0);
    let sum = 2 ** 21;
    taps.forEach((w, t) => { sum += values[lo + t]! * Math.trunc(0.5 + (w / total) * 2 ** 22); });
    return Math.min(255, Math.max(0, Math.floor(sum / 2 ** 22)));
  });
}

/** PIL's Image.resize((width, height), BILINEAR): rows first into 8 bits, then columns. */
function pilResize(image: ImageU8, width: number, height: number): Uint8Array {
  const c = image.channels;
  let rows: number[][][] = []; // [y][x][channel]
  for (let y = 0; y < image.height; y++) {
    const pixels = Array.from({ length: image.width }, (_, x) => Array.from({ length: c }, (_, k) => image.data[(y * image.width + x) * c + k]!));
    if (width === image.width) { rows.push(pixels); continue; }
    const channels = Array.from({ length: c }, (_, k) => pilBilinear1d(pixels.map((p) => p[k]!), width));
    rows.push(Array.from({ length: width }, (_, x) => channels.map((ch) => ch[x]!)));
  }
  if (height !== image.height) {
    const columns = Array.from({ length: width }, (_, x) => Array.from({ length: c }, (_, k) => pilBilinear1d(rows.map((row) => row[x]![k]!), height)));
    rows = Array.from({ length: height }, (_, y) => Array.from({ length: width }, (_, x) => columns[x]!.map((ch) => ch[y]!)));
  }
  return Uint8Array.from(rows.flat(2));
}

test("resize is PIL's Image.resize BILINEAR (torchvision's Resize on PIL images) to the bit, shrinking and enlarging", () => {
  // Halving weighs source pixels 1:3:3:1 (support 2); at the edge the taps 3:3:1 of pixels 0..2 are
  // renormalised: 2^22 · 3/7 → 1797559, 2^22 · 1/7 → 599186. Row 0 0 255 255 → (2^21 + 255 · 599186) >> 22 = 36
  // and (2^21 + 255 · 2 · 1797559) >> 22 = 219 (an area average gave 0 and 255).
  assert.equal(Array.from(resize({ width: 4, height: 1, channels: 1, data: Uint8Array.of(0, 0, 255, 255) }, 2, 1).data), [36, 219]);
  const rng = new Rng(5150);
  const cases: [number, number, 1 | 3, number, number][] = [
    [48, 48, 1, 144, 144], [200, 200, 1, 144, 144], [250, 190, 3, 144, 144], [144, 144, 1, 128, 128],
    [7, 5, 3, 3, 9], [33, 17, 1, 33, 40], [17, 33, 1, 40, 33], [101, 64, 3, 57, 64],
  ];
  for (const [w, h, c, ow, oh] of cases) {
    const image: ImageU8 = { width: w, height: h, channels: c, data: Uint8Array.from({ length: w * h * c }, () => rng.u32() % 256) };
    const got = resize(image, ow, oh);
    assert.equal([got.width, got.height, got.channels], [ow, oh, c]);
    assert.equal(Array.from(got.data), Array.from(pilResize(image, ow, oh)), `${w}x${h}x${c} -> ${ow}x${oh}`);
  }
});

test("writeChw: torchvision's ToTensor (v / 255 in float32) and Normalize(0.5, 0.5) ((x - 0.5) / 0.5 in float32), to the bit", () => {
  const rng = new Rng(77);
  const image: ImageU8 = { width: 16, height: 16, channels: 3, data: Uint8Array.from({ length: 768 }, (_, i) => i < 256 ? i : rng.u32() % 256) };
  for (const normalization of ['unit', 'symmetric'] as const) {
    const out = new Float32Array(768 + 5).fill(Number.NaN);
    writeChw(image, out, 5, normalization);
    for (let k = 0; k < 3; k++) for (let i = 0; i < 256; i++) {
      const unit = Math.fround(image.data[i * 3 + k]! / 255);
      const expected = normalization === 'unit' ? unit : Math.fround(Math.fround(unit - 0.5) / 0.5);
      assert.is(out[5 + k * 256 + i], expected, `${normalization} channel ${k} pixel ${i}`);
    }
  }
});

test("centre crop starts where torchvision's center_crop does: int(round(margin / 2)), halves to even", () => {
  // Margins 0..9 → offsets as Python's round(m / 2): 0 0 1 2 2 2 3 4 4 4.
  const expected = [0, 0, 1, 2, 2, 2, 3, 4, 4, 4];
  for (let margin = 0; margin < expected.length; margin++) {
    const image = gradient(6 + margin, 5 + margin, margin + 1);
    const offset = expected[margin]!;
    assert.equal(centerCrop(image, 6, 5).data, crop(image, offset, offset, 6, 5).data, `margin ${margin}`);
    // transformImage reports the same shift for the landmarks that ride along.
    const transformed = transformImage(image, { channels: 1, crop: [5, 6] }, new Random(margin));
    assert.equal([transformed.offsetX, transformed.offsetY], [-offset, -offset], `landmark offsets at margin ${margin}`);
  }
});

test('index CSV: parses names and ids, rejects bad rows with file and line', () => {
  const text = 'path,subject,pose,expression,landmarks\na.png,s1,HL,3,\nb.png,s2,F,calm,b.txt\n';
  const { rows } = parseIndexCsv(text, { file: 'i.csv' });
  assert.equal(rows.map((r) => [r.path, r.subject, r.pose, r.expression, r.landmarks]), [['a.png', 's1', 'HL', 3, undefined], ['b.png', 's2', 'F', 1, 'b.txt']]);
  assert.throws(() => parseIndexCsv('path,subject,pose,expression\na.png,s1,XX,3\n', { file: 'i.csv' }), /i\.csv:2: unknown pose; expected one of HL, F, HR, BV, got "XX"/);
  assert.throws(() => parseIndexCsv('path,subject,pose,expression\na.png,s1,F,99\n', { file: 'i.csv' }), /i\.csv:2: unknown expression/);
  assert.throws(() => parseIndexCsv('path,subject,pose,expression\na.png,s1,F\n', { file: 'i.csv' }), /i\.csv:2: row has 3 fields/);
  assert.throws(() => parseIndexCsv('file,label\n', { file: 'i.csv' }), /index header lacks path, subject, pose, expression/);
  const skipped = parseIndexCsv('path,subject,pose,expression\na.png,s1,F,1\nb.png,s1,ZZ,1\nc.png,,F,1\n', { file: 'i.csv', skipBad: true });
  assert.is(skipped.rows.length, 1);
  assert.is(skipped.problems.count, 2);
  assert.equal(skipped.problems.problems.map((p) => p.line), [3, 4]);
});

function ferRow(emotion: number, usage: string, seed: number, pixels = 2304): string {
  return `${emotion},${Array.from({ length: pixels }, (_, i) => (i * 5 + seed * 31) % 256).join(' ')},${usage}`;
}

test('FER2013: both header spellings, splits, labels, pixels; bad rows reported', () => {
  for (const header of ['emotion,pixels,Usage', 'emotion, pixels, Usage']) {
    const text = [header, ferRow(3, 'Training', 1), ferRow(0, 'PublicTest', 2), ferRow(6, 'PrivateTest', 3)].join('\n');
    const dataset = parseFer2013(text, { file: 'fer.csv' });
    assert.equal(dataset.samples.map((s) => [s.label, s.split]), [[3, 'train'], [0, 'val'], [6, 'test']]);
  }
  const dataset = parseFer2013(['emotion,pixels,Usage', ferRow(4, 'Training', 9)].join('\n'));
  return dataset.loadImage(dataset.samples[0]!).then((image) => {
    assert.is(image.width, 48); assert.is(image.data[1], (5 + 9 * 31) % 256);
    const bad = ['emotion,pixels,Usage', ferRow(2, 'Training', 1), ferRow(9, 'Training', 1), ferRow(1, 'Training', 1, 100), ferRow(1, 'Nope', 1)].join('\n');
    assert.throws(() => parseFer2013(bad, { file: 'fer.csv' }), /fer\.csv:3: bad emotion/);
    const skipped = parseFer2013(bad, { file: 'fer.csv', skipBad: true });
    assert.is(skipped.samples.length, 1);
    assert.equal(skipped.problems.map((p) => p.line), [3, 4, 5]);
    assert.match(skipped.problems[1]!.message, /expected 2304 values \(48×48\), got 100/);
    // A field too many or too few is a damaged row, as pandas' read_csv says ("Expected 3 fields in line 3, saw 4").
    const shifted = ['emotion,pixels,Usage', ferRow(2, 'Training', 1), `${ferRow(3, 'Training', 2)},PublicTest`, ferRow(4, 'Training', 3).replace(/,Training$/, '')].join('\n');
    assert.throws(() => parseFer2013(shifted, { file: 'fer.csv' }), /fer\.csv:3: row has 4 fields; expected 3 fields like the header/);
    const kept = parseFer2013(shifted, { file: 'fer.csv', skipBad: true });
    assert.equal(kept.samples.map((sample) => sample.line), [2]);
    assert.equal(kept.problems.map((p) => p.line), [3, 4]);
  });
});

test('landmarks: "x y" lines (CRLF, BOM, commas) and iBUG .pts (1-based, moved by -0.5); hex numbers and an n_points that disagrees are refused', () => {
  const points = Array.from({ length: 68 }, (_, i) => [i + 0.25, 2 * i - 1e-1] as const);
  const lines = points.map(([x, y]) => `${x} ${y}`);
  const expected = points.flat().map(Math.fround);
  assert.equal(Array.from(parseLandmarks(`\ufeff${lines.join('\r\n')}\r\n`, 'a.txt')), expected);
  assert.equal(Array.from(parseLandmarks(points.map(([x, y]) => `${x},${y}`).join('\n'), 'a.csv')), expected);
  // iBUG .pts are 1-based (MATLAB: the top-left pixel's centre is (1, 1); menpo's importer subtracts 1):
  // here the top-left pixel's centre is (0.5, 0.5), so each coordinate moves by -0.5, with or without the header.
  const fromPts = points.flat().map((v) => Math.fround(v - 0.5));
  assert.equal(Array.from(parseLandmarks(`version: 1\nn_points: 68\n{\n${lines.join('\n')}\n}\n`, 'a.pts')), fromPts);
  assert.equal(Array.from(parseLandmarks(`version: 1\nn_points: 68\n{\n${lines.join('\n')}\n}\n`, 'annotation')), fromPts);
  assert.equal(Array.from(parseLandmarks(lines.join('\n'), 'FACE_01.PTS')), fromPts);
  // A .pts point on pixel column 1 (the first) flips with the image onto its last column, whose centre is width - 0.5.
  const firstColumn = parseLandmarks(`version: 1\nn_points: 68\n{\n${points.map(([, y]) => `1 ${y}`).join('\n')}\n}\n`, 'edge.pts');
  assert.is(flipLandmarks(firstColumn, 40)[0], 40 - 0.5);
  // Number() read "0x10" as 16; numpy.loadtxt and the iBUG readers refuse it.
  assert.throws(() => parseLandmarks(['0x10 5', ...lines.slice(1)].join('\n'), 'hex.txt'), /hex\.txt:1: malformed landmark line; expected "x y" with two decimal numbers, got "0x10 5"/);
  assert.throws(() => parseLandmarks(`version: 1\nn_points: 70\n{\n${lines.join('\n')}\n}\n`, 'b.pts'), /b\.pts: n_points disagrees with the points listed; expected n_points: 68 .* got n_points: 70/);
  assert.throws(() => parseLandmarks(`version: 1\nn_points: 68\n{\n${lines.slice(0, 67).join('\n')}\n}\n`, 'cut.pts'), /cut\.pts: n_points disagrees .* got n_points: 68/);
  assert.throws(() => parseLandmarks(lines.slice(0, 67).join('\n'), 'c.txt'), /c\.txt: wrong number of landmarks; expected 68 points \(iBUG 68\), got 67/);
});

test("class folders: labels and sample order as torchvision's ImageFolder (Python's code-point order, case-sensitive)", async () => {
  const folder = join(root, 'imagefolder-order');
  // Class names: 'Zed' (Z = U+5A) before 'apple'; 'ｈappy' (U+FF48) before '😀' (U+1F600), which UTF-16 order reverses.
  // Files: 'B' before 'a', 'img10' before 'img2' (no numeric order); folder by folder as sorted(os.walk()) lists
  // the roots: 'apple', 'apple/sub', then 'apple/sub-2' before 'apple/sub/deep' ('-' is U+2D, '/' U+2F).
  const files = ['apple/img2.png', 'apple/img10.png', 'apple/a.png', 'apple/B.png', 'apple/sub/z.png', 'apple/sub-2/y.png', 'apple/sub/deep/x.png',
    'Zed/c.png', '😀/e.png', 'ｈappy/d.png'];
  const rng = new Rng(31);
  for (const file of files) write(join(folder, file), encodePng(gradient(10, 10, rng.u32() % 5)));
  const dataset = await openDataset(folder, { format: 'folder' });
  assert.equal(dataset.classes, ['Zed', 'apple', 'ｈappy', '😀']);
  const relative = dataset.samples.map((sample) => sample.path.slice(folder.length + 1).split(/[\\/]/).join('/'));
  assert.equal(relative, ['Zed/c.png', 'apple/B.png', 'apple/a.png', 'apple/img10.png', 'apple/img2.png', 'apple/sub/z.png', 'apple/sub-2/y.png',
    'apple/sub/deep/x.png', 'ｈappy/d.png', '😀/e.png']);
  assert.equal(dataset.samples.map((sample) => sample.label), [0, 1, 1, 1, 1, 1, 1, 1, 2, 3]);
});

test('JAFFE (TIFF), KDEF (JPEG), CK+, class folders, index: from files on disk', async () => {
  const jaffe = join(root, 'jaffe');
  for (const [name, seed] of [['KA.AN1.39.tiff', 1], ['KA.HA2.44.tiff', 2], ['YM.NE1.49.tiff', 3]] as const) {
    write(join(jaffe, name), new Uint8Array(UTIF.encodeImage(rgba(gradient(32, 32, seed)), 32, 32)));
  }
  const kdef = join(root, 'kdef');
  for (const [name, seed] of [['AF01ANS.JPG', 1], ['AF01HAHL.JPG', 2], ['BM12SUFR.JPG', 3]] as const) {
    write(join(kdef, name.slice(0, 4), name), new Uint8Array(jpeg.encode({ width: 24, height: 32, data: rgba(gradient(24, 32, seed)) }, 90).data));
  }
  const ck = join(root, 'ckplus');
  for (let frame = 1; frame <= 3; frame++) write(join(ck, 'cohn-kanade-images/S005/001', `S005_001_0000000${frame}.png`), encodePng(gradient(16, 16, frame)));
  write(join(ck, 'Emotion/S005/001/S005_001_00000003_emotion.txt'), '   3.0000000e+00\n');
  const folder = join(root, 'folder');
  write(join(folder, 'train/happy/a.png'), encodePng(gradient(10, 10, 1)));
  write(join(folder, 'train/sad/b.png'), encodePng(gradient(10, 10, 2)));
  write(join(folder, 'test/sad/c.png'), encodePng(gradient(10, 10, 3)));

  assert.is(await detectFormat(jaffe), 'jaffe');
  assert.is(await detectFormat(kdef), 'kdef');
  assert.is(await detectFormat(ck), 'ckplus');
  assert.is(await detectFormat(folder), 'folder');

  const j = await openDataset(jaffe);
  assert.equal(j.samples.map((s) => [s.subject, j.classes[s.label]]), [['KA', 'angry'], ['KA', 'happy'], ['YM', 'neutral']]);
  assert.equal((await j.loadImage(j.samples[1]!)).data, gradient(32, 32, 2).data);
  const k = await openDataset(kdef);
  assert.equal(k.samples.map((s) => [s.subject, k.classes[s.label], s.pose]), [['F01', 'angry', 'F'], ['F01', 'happy', 'HL'], ['M12', 'surprise', 'FR']]);
  assert.is((await k.loadImage(k.samples[0]!)).height, 32);
  const c = await openDataset(ck);
  assert.is(c.samples.length, 1);
  assert.is(c.classes[c.samples[0]!.label], 'disgust');
  assert.match(c.samples[0]!.path, /S005_001_00000003\.png$/);
  const f = await openDataset(folder);
  assert.equal(f.classes, ['happy', 'sad']);
  assert.equal(f.samples.map((s) => [s.label, s.split]), [[1, 'test'], [0, 'train'], [1, 'train']]);

  // Bad names are errors naming the file, or skipped and counted.
  write(join(jaffe, 'holiday.tiff'), readFileSync(join(jaffe, 'KA.AN1.39.tiff')));
  try { await openDataset(jaffe, { format: 'jaffe' }); assert.unreachable('should reject holiday.tiff'); } catch (error) { assert.match(String(error), /holiday\.tiff: file name does not follow the JAFFE convention/); }
  const lenient = await openDataset(jaffe, { format: 'jaffe', skipBad: true });
  assert.is(lenient.samples.length, 3); assert.is(lenient.problems.length, 1);
  rmSync(join(jaffe, 'holiday.tiff'));
});

test('synth → index → split → loaders → batches (and the GAN pairs)', async () => {
  const out = join(root, 'synth');
  const options = { subjects: 3, expressions: 3, framesPerClip: 2, size: 64 as const, seed: 4 };
  const written = await writeSynthDataset(out, options);
  assert.is(written.images, 3 * 3 * 2 * 4);
  const header = readFileSync(written.indexPath, 'utf8').split('\n')[0];
  assert.is(header, 'path,subject,pose,expression,landmarks,clip,frame');
  const dataset = await openDataset(written.indexPath);
  assert.is(dataset.format, 'index');
  const summary = summarizeDataset(dataset);
  assert.equal(summary.perPose, { BV: 18, F: 18, HL: 18, HR: 18 });
  assert.is(summary.perSubject.s001, 24);

  const { result, files } = await writeSplits(written.indexPath, 'er-zid', 1, join(out, 'zid'));
  assert.is(result.testSubjects!.length, 1); // round(21/119 · 3)
  const test = await openDataset(files[1]!);
  assert.is(test.samples.length, 24);
  assert.ok(test.samples.every((s) => s.subject === result.testSubjects![0] && s.split === 'test'));
  assert.is((await test.loadImage(test.samples[0]!)).width, 64); // rebased paths resolve

  const loader = new BatchLoader(dataset, { batchSize: 10, resize: 72, crop: 64, randomCrop: true, flip: true, seed: 3 });
  assert.is(loader.length, 8);
  const batches = [];
  for await (const batch of loader.epoch(0)) batches.push(batch);
  assert.is(batches.length, 8);
  assert.equal(batches[0]!.shape, [10, 1, 64, 64]);
  assert.equal(batches[7]!.shape, [2, 1, 64, 64]);
  const all = batches.flatMap((b) => b.samples.map((s) => s.path));
  assert.is(new Set(all).size, 72, 'an epoch visits every sample once');
  const images = batches[0]!.images;
  assert.ok(Math.min(...images) >= 0 && Math.max(...images) <= 1 && Math.max(...images) > 0.5);
  const again = [];
  for await (const batch of loader.epoch(0)) again.push(batch);
  assert.equal(again[3]!.images, batches[3]!.images, 'same seed and epoch, same batch');
  const next = (await loader.epoch(1).next()).value!;
  assert.not.equal(next.labels, batches[0]!.labels);

  const pairs = new PairedBatchLoader(createSynthDataset(options), { batchSize: 4, size: 64, targetPoses: ['HL'] });
  const pair = (await pairs.epoch(0).next()).value as PairedBatch;
  assert.equal(pair.shape, [4, 1, 64, 64]); assert.equal(pair.maskShape, [4, 1, 64, 64]);
  assert.ok(pair.targetSamples.every((t, k) => t.pose === 'HL' && t.subject === pair.samples[k]!.subject && t.frame === pair.samples[k]!.frame && t.label === pair.samples[k]!.label));
  assert.ok(Math.min(...pair.images) >= -1 && Math.min(...pair.images) < -0.3, 'GAN images in [-1, 1]');
  const lit = pair.targetMasks.subarray(0, 4096).filter((v) => v > 0).length;
  assert.ok(lit > 100 && lit < 2000, `target mask has ${lit} lit pixels`);
});

test('a corrupt image in a batch: error naming the file, or skipped and counted', async () => {
  const dir = join(root, 'bad');
  write(join(dir, 'good.png'), encodePng(gradient(8, 8, 1)));
  write(join(dir, 'bad.png'), new TextEncoder().encode('not an image'));
  write(join(dir, 'index.csv'), 'path,subject,pose,expression\ngood.png,s1,F,1\nbad.png,s1,F,2\n');
  const dataset = await openDataset(join(dir, 'index.csv'));
  const strict = new BatchLoader(dataset, { batchSize: 2, shuffle: false });
  try { await strict.epoch(0).next(); assert.unreachable('should throw'); } catch (error) { assert.match(String(error), /bad\.png: not a PNG, JPEG or TIFF image/); }
  const lenient = new BatchLoader(dataset, { batchSize: 2, shuffle: false, skipBad: true });
  const batch = (await lenient.epoch(0).next()).value!;
  assert.equal(batch.shape, [1, 1, 8, 8]);
  assert.is(lenient.problems.length, 1);
  assert.match(lenient.problems[0]!.message, /bad\.png/);
});

test.after(() => rmSync(root, { recursive: true, force: true }));
test.run();
