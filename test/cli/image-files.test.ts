// Images as users have them (audit 3): a class-folder dataset with upper-case extensions, spaces
// and non-ASCII names, macOS archive metadata beside it; then `webfer predict` on every PNG colour
// type and bit depth, a CMYK TIFF and a colour JPEG (written here from their specifications by
// png-writer.ts, cmykTiff and jpeg-writer.ts), each held against an 8-bit gray PNG of what PIL
// gives for it (oracles written from PIL's and libjpeg's sources): the two must predict the same.
// Then what is read as PIL reads it but said (EXIF orientation, non-square), files that are no
// image named for what they are, and a validation split of unreadable images.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import jpeg from 'jpeg-js';
import { errorLines, expectOk, expectRefused, removeDir, runCli, tempDir } from './run-cli.js';
import { writePng, type PngSpec } from './png-writer.js';
import { writeFlatBlockJpeg } from './jpeg-writer.js';

const work = tempDir('webfer-image-files-');
const at = (...parts: string[]) => join(work, ...parts);
const run = (args: string[]) => runCli(args, { cwd: work, timeoutMs: 180_000 });
const write = (path: string, data: Uint8Array | string) => { mkdirSync(join(path, '..'), { recursive: true }); writeFileSync(path, data); };

// The eval transform of a 32 px model resizes to 36 px and crops the centre 32: images of 36 px
// reach the model unresampled, so one gray level of difference anywhere in the crop shows.
const SIZE = 36;
const TINY_FANET = ['--width', '0.125', '--input-size', '32', '--batch-size', '4', '--epochs', '1', '--optimizer', 'adam'];

const seed = Date.now() % 100_000;
let state = seed + 1;
/** xorshift32: a seeded pick in [0, n) (the seed is in failure messages). */
const pick = (n: number) => { state ^= state << 13; state ^= state >>> 17; state ^= state << 5; state >>>= 0; return state % n; };

/** PIL's convert('L') for RGB (libImaging/Convert.c, L24): the oracle, written from PIL's source, not webfer's. */
const pilGray = (r: number, g: number, b: number) => Math.floor((r * 19595 + g * 38470 + b * 7471 + 0x8000) / 65536);
/** webfer's formula before this audit, to show the colours below tell the two apart. */
const roundedDecimalGray = (r: number, g: number, b: number) => Math.round((299 * r + 587 * g + 114 * b) / 1000);

const grayPng = (gray: ArrayLike<number>) => writePng({ width: SIZE, height: SIZE, colorType: 0, bitDepth: 8, samples: gray });
const pixels = SIZE * SIZE;

/** A face-like smooth pattern of `levels` gray levels spread over 0..255 (levels − 1 divides 255). */
function grayPattern(levels: number): number[] {
  const phase = pick(1000) / 100;
  return Array.from({ length: pixels }, (_, i) => {
    const x = i % SIZE, y = Math.floor(i / SIZE);
    const value = 0.5 + 0.3 * Math.sin(x / 4 + phase) + 0.2 * Math.cos(y / 3 + phase);
    return (Math.min(levels - 1, Math.max(0, Math.floor(value * levels))) * 255) / (levels - 1);
  });
}

function jpegOf(gray: number[]): Uint8Array {
  const rgba = new Uint8Array(pixels * 4);
  gray.forEach((value, i) => rgba.set([value, value, value, 255], 4 * i));
  return new Uint8Array(jpeg.encode({ width: SIZE, height: SIZE, data: rgba }, 90).data);
}

test('a class folder of .PNG / .JPG / .jpeg files named with spaces and accents trains; macOS metadata is named with the command that deletes it, never read as a class', async () => {
  const names = ['Face 01 été.PNG', 'b.JPG', 'c.jpeg', 'd.png', '表情 5.Jpg'];
  for (const [label, levels] of [['happy', 4], ['sad', 16]] as const) {
    names.forEach((name) => {
      const gray = grayPattern(levels);
      write(at('faces', label, name), /\.png$/i.test(name) ? grayPng(gray) : jpegOf(gray));
    });
  }
  const appleDouble = Buffer.from('\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        ', 'latin1');
  write(at('faces', '__MACOSX', 'happy', '._b.JPG'), appleDouble);
  write(at('faces', '__MACOSX', 'sad', '._Face 01 été.PNG'), appleDouble);

  // A zip made on a Mac: __MACOSX would have been a third class (of no readable images).
  const refused = expectRefused(await run(['train', '--data', 'faces', '--out', 'run', ...TINY_FANET]), /__MACOSX: macOS archive metadata, not images/);
  assert.match(refused, `rm -r '${join('faces', '__MACOSX')}'`); // the folder as the user named it
  const inspected = expectOk(await run(['inspect', 'faces', '--json']));
  const summary = JSON.parse(inspected.stdout) as { perClass: Record<string, number>; problems: { message: string }[] };
  assert.equal(summary.perClass, { happy: names.length, sad: names.length }, inspected.stdout);
  assert.is(summary.problems.length, 1, `one problem for the whole __MACOSX folder:\n${inspected.stdout}`);

  // Copied to a non-Mac disk: an AppleDouble file beside each image.
  rmSync(at('faces', '__MACOSX'), { recursive: true });
  write(at('faces', 'happy', '._b.JPG'), appleDouble);
  const line = expectRefused(await run(['train', '--data', 'faces', '--out', 'run', ...TINY_FANET]), /macOS metadata file, not an image/);
  assert.match(line, join('happy', '._b.JPG'));
  assert.match(line, "find 'faces' -name '._*' -delete");

  // --skip-bad leaves it out, names it, and trains on the two classes with every image.
  const trained = expectOk(await run(['train', '--data', 'faces', '--skip-bad', '--out', 'run', ...TINY_FANET]));
  assert.match(trained.stderr, /\._b\.JPG: macOS metadata file/);
  assert.match(trained.stderr, /train (\d+) · eval (\d+) · test (\d+)/);
  const [train, evaluated, tested] = /train (\d+) · eval (\d+) · test (\d+)/.exec(trained.stderr)!.slice(1).map(Number);
  assert.is(train! + evaluated! + tested!, 2 * names.length, `every image, upper-case and accented names included:\n${trained.stderr}`);
  const predicted = expectOk(await run(['predict', at('faces', 'happy', names[0]!), at('faces', 'sad', names[4]!), '--checkpoint', 'run/checkpoint.safetensors', '--json']));
  for (const entry of JSON.parse(predicted.stdout) as { predictions: { name: string }[] }[]) {
    assert.equal(entry.predictions.map((p) => p.name).sort(), ['happy', 'sad'], 'the checkpoint knows two classes');
  }
});

/** One image in several encodings, each of which must decode to `gray` (what PIL's convert('L') gives). */
interface Case { name: string; gray: number[]; variants: Record<string, Omit<PngSpec, 'width' | 'height'>> }

function cases(): Case[] {
  const expand = (gray: number[], channels: number, extra: number[] = []) => gray.flatMap((value) => [...Array(channels).fill(value), ...extra]);
  const wide = (samples: number[]) => samples.map((value) => value * 257); // 8 → 16 bits exactly (PNG spec 12.5)

  const four = grayPattern(4); // 0, 85, 170, 255: exact at 2, 4, 8 and 16 bits
  const palette4: [number, number, number][] = [[0, 0, 0], [85, 85, 85], [170, 170, 170], [255, 255, 255]];
  const byLevel = four.map((value) => value / 85);
  const two = grayPattern(2);

  // Colours on which rounding the decimal weights is one above PIL, and colours at random.
  const colours: [number, number, number][] = [];
  for (let tries = 0; colours.length < 256; tries++) {
    assert.ok(tries < 10_000_000, 'found the colours');
    const colour: [number, number, number] = [pick(256), pick(256), pick(256)];
    if (colours.length < 128 && pilGray(...colour) === roundedDecimalGray(...colour)) continue;
    colours.push(colour);
  }
  const colourIndex = Array.from({ length: pixels }, () => pick(colours.length));
  const rgb = colourIndex.flatMap((k) => colours[k]!);
  const colourGray = colourIndex.map((k) => pilGray(...colours[k]!));
  assert.ok(colourIndex.some((k) => k < 128), 'the image holds colours the old formula got wrong');

  // Translucent pixels are composited onto black, then made gray (README: transparency).
  const alpha = Array.from({ length: pixels }, (_, i) => (i % 3 === 0 ? 255 : pick(256)));
  const rgba = colourIndex.flatMap((k, i) => [...colours[k]!, alpha[i]!]);
  const composited = colourIndex.map((k, i) => pilGray(...colours[k]!.map((c) => Math.round((c * alpha[i]!) / 255)) as [number, number, number]));
  // tRNS on a gray image: the pixels of that one value are fully transparent, so black.
  const transparentLevel = four[pick(pixels)]!;

  return [
    {
      name: 'gray', gray: four, variants: {
        'gray 2-bit': { colorType: 0, bitDepth: 2, samples: byLevel },
        'gray 4-bit': { colorType: 0, bitDepth: 4, samples: four.map((value) => value / 17) },
        'gray 16-bit': { colorType: 0, bitDepth: 16, samples: wide(four) },
        'gray 8-bit Adam7': { colorType: 0, bitDepth: 8, samples: four, interlace: true },
        'gray 2-bit Adam7': { colorType: 0, bitDepth: 2, samples: byLevel, interlace: true },
        'gray+alpha 8-bit': { colorType: 4, bitDepth: 8, samples: expand(four, 1, [255]) },
        'gray+alpha 16-bit': { colorType: 4, bitDepth: 16, samples: wide(expand(four, 1, [255])) },
        'RGB 16-bit': { colorType: 2, bitDepth: 16, samples: wide(expand(four, 3)) },
        'RGBA 16-bit Adam7': { colorType: 6, bitDepth: 16, samples: wide(expand(four, 3, [255])), interlace: true },
        'palette 2-bit': { colorType: 3, bitDepth: 2, samples: byLevel, palette: palette4 },
        'palette 8-bit, opaque tRNS': { colorType: 3, bitDepth: 8, samples: byLevel, palette: palette4, transparency: [255, 255, 255, 255] },
      },
    },
    {
      name: 'black and white', gray: two, variants: {
        'gray 1-bit': { colorType: 0, bitDepth: 1, samples: two.map((value) => value / 255) },
        'palette 1-bit': { colorType: 3, bitDepth: 1, samples: two.map((value) => value / 255), palette: [[0, 0, 0], [255, 255, 255]] },
      },
    },
    {
      name: 'colour', gray: colourGray, variants: {
        'RGB 8-bit': { colorType: 2, bitDepth: 8, samples: rgb },
        'RGB 8-bit Adam7': { colorType: 2, bitDepth: 8, samples: rgb, interlace: true },
        'RGB 16-bit': { colorType: 2, bitDepth: 16, samples: wide(rgb) },
        'RGBA 8-bit, opaque': { colorType: 6, bitDepth: 8, samples: colourIndex.flatMap((k) => [...colours[k]!, 255]) },
        'palette 8-bit': { colorType: 3, bitDepth: 8, samples: colourIndex, palette: colours },
      },
    },
    { name: 'translucent', gray: composited, variants: { 'RGBA 8-bit': { colorType: 6, bitDepth: 8, samples: rgba } } },
    {
      name: 'gray with a transparent level', gray: four.map((value) => (value === transparentLevel ? 0 : value)), variants: {
        'gray 8-bit + tRNS': { colorType: 0, bitDepth: 8, samples: four, transparency: [transparentLevel] },
      },
    },
  ];
}

test('predict: every PNG colour type and bit depth (1/2/4/8/16-bit gray, gray+alpha, RGB, RGBA, palette, tRNS, Adam7) gives the probabilities of the 8-bit gray PNG that PIL\'s convert(\'L\') makes of it', async () => {
  const files: { file: string; reference: string; what: string }[] = [];
  for (const { name, gray, variants } of cases()) {
    const reference = at('png', `${name} reference.png`);
    write(reference, grayPng(gray));
    for (const [what, spec] of Object.entries(variants)) {
      const file = at('png', `${name} ${what}.png`);
      write(file, writePng({ width: SIZE, height: SIZE, ...spec }));
      files.push({ file, reference, what: `${name}: ${what}` });
    }
  }
  const images = [...new Set(files.flatMap(({ file, reference }) => [reference, file]))];
  const result = expectOk(await run(['predict', ...images, '--checkpoint', 'run/checkpoint.safetensors', '--top', '2', '--json', '--batch-size', String(images.length)]));
  assert.equal(errorLines(result), []);
  const byImage = new Map((JSON.parse(result.stdout) as { image: string; predictions: { class: number; probability: number }[] }[])
    .map(({ image, predictions }) => [image, predictions.find((p) => p.class === 0)!.probability]));
  for (const { file, reference, what } of files) {
    const got = byImage.get(file)!, expected = byImage.get(reference)!;
    assert.ok(Math.abs(got - expected) <= 1e-7, `${what} (seed ${seed}): P(class 0) ${got}, its PIL gray ${expected}`);
  }
});

/** An uncompressed little-endian CMYK TIFF (PhotometricInterpretation 5), one strip, written from the TIFF 6.0 specification. */
function cmykTiff(width: number, height: number, cmyk: number[]): Buffer {
  const tags: [number, number, number, number | number[]][] = [ // tag, type (3 SHORT, 4 LONG), count, value
    [256, 4, 1, width], [257, 4, 1, height], [258, 3, 4, [8, 8, 8, 8]], [259, 3, 1, 1], [262, 3, 1, 5],
    [273, 4, 1, 0], [277, 3, 1, 4], [278, 4, 1, height], [279, 4, 1, cmyk.length], [284, 3, 1, 1],
  ];
  const ifdAt = 8, ifdSize = 2 + 12 * tags.length + 4, bitsAt = ifdAt + ifdSize, pixelsAt = bitsAt + 8;
  const out = Buffer.alloc(pixelsAt + cmyk.length);
  out.write('II', 0, 'latin1'); out.writeUInt16LE(42, 2); out.writeUInt32LE(ifdAt, 4);
  out.writeUInt16LE(tags.length, ifdAt);
  tags.forEach(([tag, type, count, value], k) => {
    const at = ifdAt + 2 + 12 * k;
    out.writeUInt16LE(tag, at); out.writeUInt16LE(type, at + 2); out.writeUInt32LE(count, at + 4);
    if (tag === 258) out.writeUInt32LE(bitsAt, at + 8);
    else if (tag === 273) out.writeUInt32LE(pixelsAt, at + 8);
    else if (type === 3) out.writeUInt16LE(value as number, at + 8);
    else out.writeUInt32LE(value as number, at + 8);
  });
  [8, 8, 8, 8].forEach((bits, k) => out.writeUInt16LE(bits, bitsAt + 2 * k));
  Buffer.from(cmyk).copy(out, pixelsAt);
  return out;
}

/** PIL's convert('RGB') of CMYK (libImaging/Convert.c cmyk2rgb): (255 − K) − MULDIV255(C, 255 − K). */
function pilCmykToRgb(c: number, m: number, y: number, k: number): [number, number, number] {
  const white = 255 - k, muldiv255 = (a: number) => { const t = a * white + 128; return ((t >> 8) + t) >> 8; };
  return [white - muldiv255(c), white - muldiv255(m), white - muldiv255(y)];
}

test('predict reads a CMYK TIFF (it failed as "corrupt or truncated TIFF": window is not defined) as PIL converts it', async () => {
  const cmyk = Array.from({ length: pixels * 4 }, () => pick(256));
  const gray = Array.from({ length: pixels }, (_, i) => pilGray(...pilCmykToRgb(cmyk[4 * i]!, cmyk[4 * i + 1]!, cmyk[4 * i + 2]!, cmyk[4 * i + 3]!)));
  const [tiff, reference] = [at('cmyk', 'print scan.tif'), at('cmyk', 'reference.png')];
  write(tiff, cmykTiff(SIZE, SIZE, cmyk));
  write(reference, grayPng(gray));
  const result = expectOk(await run(['predict', tiff, reference, '--checkpoint', 'run/checkpoint.safetensors', '--top', '2', '--json']));
  const [fromTiff, fromReference] = (JSON.parse(result.stdout) as { predictions: { class: number; probability: number }[] }[])
    .map(({ predictions }) => predictions.find((p) => p.class === 0)!.probability);
  assert.ok(Math.abs(fromTiff! - fromReference!) <= 1e-7, `CMYK TIFF (seed ${seed}): P(class 0) ${fromTiff}, its PIL gray ${fromReference}`);
});

/** A JPEG with an APP1 Exif segment whose IFD0 holds one tag, Orientation (0x0112), big-endian (EXIF 2.3). */
function withExifOrientation(jpegBytes: Uint8Array, orientation: number): Buffer {
  const tiff = Buffer.alloc(8 + 2 + 12 + 4);
  tiff.write('MM', 0, 'latin1'); tiff.writeUInt16BE(42, 2); tiff.writeUInt32BE(8, 4);
  tiff.writeUInt16BE(1, 8);
  tiff.writeUInt16BE(0x0112, 10); tiff.writeUInt16BE(3, 12); tiff.writeUInt32BE(1, 14); tiff.writeUInt16BE(orientation, 18);
  const body = Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), tiff]);
  const segment = Buffer.alloc(4);
  segment[0] = 0xff; segment[1] = 0xe1; segment.writeUInt16BE(body.length + 2, 2);
  return Buffer.concat([Buffer.from(jpegBytes.subarray(0, 2)), segment, body, Buffer.from(jpegBytes.subarray(2))]);
}

test('an EXIF-rotated JPEG and a non-square image: read as PIL reads them, and said so by predict (per image) and inspect (counted)', async () => {
  const sideways = at('shapes', 'a', 'phone photo.jpg'), wide = at('shapes', 'b', 'wide.png'), square = at('shapes', 'b', 'square.png');
  const upright = jpegOf(grayPattern(16));
  write(sideways, withExifOrientation(upright, 6));
  write(at('shapes', 'upright.jpg'), upright);
  write(wide, writePng({ width: 48, height: 30, colorType: 0, bitDepth: 8, samples: Array.from({ length: 48 * 30 }, () => pick(256)) }));
  write(square, grayPng(grayPattern(4)));
  const checkpoint = ['--checkpoint', 'run/checkpoint.safetensors', '--json', '--top', '2'];
  const result = expectOk(await run(['predict', sideways, at('shapes', 'upright.jpg'), wide, square, ...checkpoint]));
  const notes = result.stderr.split('\n').filter((line) => line.startsWith('note:'));
  assert.equal(notes, [
    `note: ${sideways} has EXIF orientation 6 (viewers show it turned 90° clockwise): read as stored, as PIL and torchvision read it; turn it upright first (PIL: ImageOps.exif_transpose)`,
    `note: ${wide} is 48×30: squashed to a square before the centre crop (the aspect ratio is not kept); crop the face square first`,
  ]);
  // Read as stored: the same pixels as the JPEG without the tag.
  const [rotated, plain] = (JSON.parse(result.stdout) as { predictions: { class: number; probability: number }[] }[])
    .map(({ predictions }) => predictions.find((p) => p.class === 0)!.probability);
  assert.is(rotated, plain);

  rmSync(at('shapes', 'upright.jpg'));
  const inspected = expectOk(await run(['inspect', 'shapes', '--json']));
  const summary = JSON.parse(inspected.stdout) as { rotatedImages: number; rotatedExamples: string[]; nonSquareImages: number; nonSquareExamples: string[] };
  assert.equal([summary.rotatedImages, summary.rotatedExamples], [1, [`${join('shapes', 'a', 'phone photo.jpg')} (turned 90° clockwise)`]], inspected.stdout);
  assert.equal([summary.nonSquareImages, summary.nonSquareExamples], [1, [`${join('shapes', 'b', 'wide.png')} (48×30)`]], inspected.stdout);
  const text = expectOk(await run(['inspect', 'shapes'])).stdout;
  assert.match(text, "1 JPEG(s) whose EXIF orientation viewers apply, read as stored (as PIL and torchvision read them; turn them upright first)");
  assert.match(text, '1 image(s) not square, squashed to a square for the model');
});

/** libjpeg's YCbCr → RGB (jdcolor.c, 16 fraction bits), which PIL decodes JPEGs with: the oracle, written from libjpeg's source. */
function libjpegYccToRgb(y: number, cb: number, cr: number): [number, number, number] {
  const fix = (x: number) => Math.floor(x * 65536 + 0.5), half = 1 << 15, limit = (v: number) => Math.min(255, Math.max(0, v));
  return [
    limit(y + ((fix(1.402) * (cr - 128) + half) >> 16)),
    limit(y + ((-fix(0.34414) * (cb - 128) + half - fix(0.71414) * (cr - 128)) >> 16)),
    limit(y + ((fix(1.772) * (cb - 128) + half) >> 16)),
  ];
}

test('predict: a colour JPEG gives the probabilities of the gray PNG PIL makes of it (jpeg-js truncated its YCbCr → RGB: a level darker on half the pixels)', async () => {
  // Flat 8×8 blocks: every decoder's inverse DCT gives their values exactly (see jpeg-writer.ts).
  const blocks = Array.from({ length: Math.ceil(SIZE / 8) }, () => Array.from({ length: Math.ceil(SIZE / 8) }, () => [pick(256), pick(256), pick(256)] as [number, number, number]));
  const gray = Array.from({ length: pixels }, (_, i) => pilGray(...libjpegYccToRgb(...blocks[Math.floor(Math.floor(i / SIZE) / 8)]![Math.floor((i % SIZE) / 8)]!)));
  const [photo, reference] = [at('ycc', 'colour photo.jpg'), at('ycc', 'reference.png')];
  write(photo, writeFlatBlockJpeg(SIZE, SIZE, blocks));
  write(reference, grayPng(gray));
  const result = expectOk(await run(['predict', photo, reference, '--checkpoint', 'run/checkpoint.safetensors', '--top', '2', '--json']));
  const [fromJpeg, fromReference] = (JSON.parse(result.stdout) as { predictions: { class: number; probability: number }[] }[])
    .map(({ predictions }) => predictions.find((p) => p.class === 0)!.probability);
  assert.ok(Math.abs(fromJpeg! - fromReference!) <= 1e-7, `colour JPEG (seed ${seed}): P(class 0) ${fromJpeg}, its PIL gray ${fromReference}`);
});

test('predict names what a file under an image\'s name is (WebP or HEIC saved as .jpg, a Git LFS pointer, a web page, GIF) with its fix; --skip-bad names each and predicts the rest', async () => {
  const ascii = (text: string) => Buffer.from(text, 'latin1');
  const foreign: [string, Buffer, RegExp][] = [
    ['photo.jpg', Buffer.concat([ascii('RIFF'), Buffer.from([0x24, 0, 0, 0]), ascii('WEBPVP8 '), Buffer.alloc(24)]), /got a WebP image \(bytes 52 49 46 46\)\. convert it to PNG/],
    ['IMG_0001.JPG', Buffer.concat([Buffer.from([0, 0, 0, 0x18]), ascii('ftypheic'), Buffer.alloc(24)]), /got a HEIC\/HEIF image \(an iPhone photo\).*\. export it as JPEG or PNG/],
    ['face.png', ascii('version https://git-lfs.github.com/spec/v1\noid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\nsize 4096\n'), /got a Git LFS pointer .*\. run `git lfs pull`/],
    ['download.jpg', ascii('\n<!DOCTYPE html><html><body>403 Forbidden</body></html>'), /got an HTML page .*\. download the image again/],
    ['smile.jpeg', Buffer.concat([ascii('GIF89a'), Buffer.alloc(20)]), /got a GIF image \(bytes 47 49 46 38\)\. convert it to PNG/],
  ];
  for (const [name, bytes] of foreign) write(at('foreign', name), bytes);
  const good = at('foreign', 'good.png');
  write(good, grayPng(grayPattern(4)));
  const checkpoint = ['--checkpoint', 'run/checkpoint.safetensors'];
  for (const [name, , pattern] of foreign) {
    const line = expectRefused(await run(['predict', at('foreign', name), ...checkpoint]), pattern);
    assert.match(line, `${at('foreign', name)}: not a PNG, JPEG or TIFF image`);
  }
  const skipped = expectOk(await run(['predict', ...foreign.map(([name]) => at('foreign', name)), good, ...checkpoint, '--skip-bad', '--json']));
  for (const [name, , pattern] of foreign) assert.match(skipped.stderr, new RegExp(`skipped ${at('foreign', name).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: .*${pattern.source}`));
  assert.equal((JSON.parse(skipped.stdout) as { image: string }[]).map((entry) => entry.image), [good]);
});

test('train --skip-bad with every validation image unreadable stops naming the split (it reported "eval acc 0.00%" as the best epoch); eval likewise', async () => {
  for (const split of ['train', 'val', 'test']) {
    for (const label of ['happy', 'sad']) {
      for (let k = 0; k < 2; k++) write(at('splits', split, label, `${k}.png`), split === 'val' ? 'not a PNG' : grayPng(grayPattern(label === 'happy' ? 4 : 16)));
    }
  }
  const trained = await run(['train', '--data', 'splits', '--skip-bad', '--out', 'run-splits', ...TINY_FANET]);
  expectRefused(trained, /^webfer: eval 1: none of its 4 images could be read \(each was named above as skipped\): nothing to evaluate; fix or replace them$/);
  assert.match(trained.stderr, /skipped an unreadable image \(eval, --skip-bad\): \S*splits\/val\/happy\/0\.png: not a PNG, JPEG or TIFF image/);
  assert.not.match(trained.stderr, /best so far/);
  expectRefused(await run(['eval', '--checkpoint', 'run/checkpoint.safetensors', '--data', 'splits', '--split', 'val', '--skip-bad']), /^webfer: val: none of its 4 images could be read/);
});

test.after(() => removeDir(work));
test.run();
