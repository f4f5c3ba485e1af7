/**
 * Image decoding and PNG encoding that run in Node and browsers alike: PNG through pngjs's
 * browser build, JPEG through jpeg-js (typed-array mode, no Buffer), TIFF through utif2.
 * Formats are recognised by their magic bytes, not by file extension.
 */
import pngModule from 'pngjs/browser.js';
import jpeg from 'jpeg-js';
import UTIF from 'utif2';
import { DataError } from './errors.js';
import { fromRgba, orient, toGrayscale, type ImageU8 } from './image.js';

const { PNG } = pngModule;

export type ImageFormat = 'png' | 'jpeg' | 'tiff';

export function sniffFormat(bytes: Uint8Array): ImageFormat | undefined {
  if (bytes.length >= 8 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47) return 'png';
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  if (bytes.length >= 4 && ((bytes[0] === 0x49 && bytes[1] === 0x49 && bytes[2] === 0x2a && bytes[3] === 0) ||
      (bytes[0] === 0x4d && bytes[1] === 0x4d && bytes[2] === 0 && bytes[3] === 0x2a))) return 'tiff';
  return undefined;
}

const CONVERT_TO_PNG = "convert it to PNG (in Python: PIL.Image.open(FILE).save('FILE.png'))";

/**
 * What a file that is no PNG, JPEG or TIFF is, from its first bytes, for the error message: the
 * files users meet under an image's name (a WebP or HEIC saved as .jpg, a Git LFS pointer left by a
 * clone without LFS, the web page a failed download wrote) each with its own fix.
 */
export function foreignFile(bytes: Uint8Array): { what: string; fix: string } | undefined {
  const ascii = (start: number, end: number) => String.fromCharCode(...bytes.subarray(start, Math.min(end, bytes.length)));
  if (ascii(0, 6) === 'GIF87a' || ascii(0, 6) === 'GIF89a') return { what: 'a GIF image', fix: CONVERT_TO_PNG };
  if (ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WEBP') return { what: 'a WebP image', fix: CONVERT_TO_PNG };
  if (ascii(0, 2) === 'BM' && bytes.length >= 26) return { what: 'a BMP image', fix: CONVERT_TO_PNG };
  if (ascii(4, 8) === 'ftyp') {
    const brand = ascii(8, 12);
    if (brand === 'avif' || brand === 'avis') return { what: 'an AVIF image', fix: CONVERT_TO_PNG };
    if (['heic', 'heix', 'hevc', 'hevx', 'heim', 'heis', 'mif1', 'msf1'].includes(brand)) return { what: 'a HEIC/HEIF image (an iPhone photo)', fix: 'export it as JPEG or PNG (on a Mac: sips -s format png FILE --out FILE.png)' };
    return { what: `an ISO media file (brand ${JSON.stringify(brand)})`, fix: CONVERT_TO_PNG };
  }
  if (ascii(0, 12) === '\0\0\0\x0cjP  \r\n\x87\n' || (bytes[0] === 0xff && bytes[1] === 0x4f && bytes[2] === 0xff && bytes[3] === 0x51)) return { what: 'a JPEG 2000 image', fix: CONVERT_TO_PNG };
  // BigTIFF (64-bit offsets, version 43 where TIFF has 42): PIL reads it, utif2 does not.
  if ((ascii(0, 2) === 'II' && bytes[2] === 0x2b && bytes[3] === 0) || (ascii(0, 2) === 'MM' && bytes[2] === 0 && bytes[3] === 0x2b)) return { what: 'a BigTIFF image (webfer reads classic TIFF)', fix: CONVERT_TO_PNG };
  if (ascii(0, 4) === '8BPS') return { what: 'a Photoshop document', fix: CONVERT_TO_PNG };
  if (ascii(0, 5) === '%PDF-') return { what: 'a PDF document', fix: 'export the page as PNG' };
  if (/^P[1-7]\s/.test(ascii(0, 3))) return { what: 'a PNM (PBM/PGM/PPM) image', fix: CONVERT_TO_PNG };
  if (bytes[0] === 0 && bytes[1] === 5 && bytes[2] === 0x16 && bytes[3] === 7) return { what: 'macOS metadata (an AppleDouble "._" file)', fix: 'delete it (macOS writes one beside each file copied to a non-Mac disk)' };
  if (ascii(0, 31) === 'version https://git-lfs.github.') return { what: 'a Git LFS pointer (the image itself was never downloaded)', fix: 'run `git lfs pull` in the repository it came from' };
  const text = ascii(0, 256).replace(/^\uFEFF|^\xEF\xBB\xBF/, '').trimStart().toLowerCase();
  if (text.startsWith('<!doctype html') || text.startsWith('<html')) return { what: 'an HTML page (a download that got a web page instead of the image)', fix: 'download the image again' };
  if (text.startsWith('<svg') || (text.startsWith('<?xml') && text.includes('<svg'))) return { what: 'an SVG drawing', fix: 'render it to PNG' };
  if (ascii(0, 4) === 'PK\x03\x04') return { what: 'a zip archive', fix: 'extract it and point at the images inside' };
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) return { what: 'a gzip archive', fix: 'extract it and point at the images inside' };
  return undefined;
}

/**
 * The bundle's sync reader wants its own Buffer class (it calls readUInt32BE); we obtain that
 * class from an encoded 1×1 PNG, which is the same Buffer as Node's in Node.
 */
let bundledBuffer: { from(bytes: Uint8Array): Uint8Array } | undefined;
function asPngBuffer(bytes: Uint8Array): Uint8Array {
  if (!bundledBuffer) {
    const probe = new PNG({ width: 1, height: 1 });
    bundledBuffer = (PNG.sync.write(probe) as unknown as { constructor: { from(bytes: Uint8Array): Uint8Array } }).constructor;
  }
  return bundledBuffer.from(bytes);
}

/**
 * PIL's DecompressionBombError limit: a file of a few hundred bytes can declare an image whose
 * pixels fill gigabytes, so larger images are refused before they are decoded.
 */
export const MAX_IMAGE_PIXELS = 178_956_970;

/** Refuses an image with no pixels (a decoder returns it empty) or more than MAX_IMAGE_PIXELS. */
function checkImageSize(width: number, height: number, format: ImageFormat, name: string): void {
  if (!(width >= 1 && height >= 1)) {
    throw new DataError(`${format.toUpperCase()} has no pixels`, { file: name, expected: 'a width and height of at least 1', got: `${width}×${height}`, hint: 'the file is damaged: re-export it, or remove it (or pass --skip-bad)' });
  }
  if (width * height > MAX_IMAGE_PIXELS) {
    throw new DataError(`${format.toUpperCase()} is too large`, {
      file: name, expected: `at most ${MAX_IMAGE_PIXELS.toLocaleString('en')} pixels (PIL's limit)`, got: `${width}×${height}`,
      hint: 'shrink it before training (faces are cropped to 128–256 px), or remove it (or pass --skip-bad)',
    });
  }
}

/** The size a PNG's IHDR chunk declares, read before inflating anything (undefined if absent). */
function pngDeclaredSize(bytes: Uint8Array): { width: number; height: number } | undefined {
  if (bytes.length < 24 || String.fromCharCode(...bytes.subarray(12, 16)) !== 'IHDR') return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { width: view.getUint32(16), height: view.getUint32(20) };
}

/** Decodes PNG, JPEG or TIFF bytes. `name` is only used in error messages. */
export function decodeImage(bytes: Uint8Array, name = 'image', channels?: 1 | 3): ImageU8 {
  const format = sniffFormat(bytes);
  if (!format) {
    const foreign = bytes.length === 0 ? undefined : foreignFile(bytes);
    const magic = `bytes ${[...bytes.subarray(0, 4)].map((b) => b.toString(16).padStart(2, '0')).join(' ')}`;
    throw new DataError('not a PNG, JPEG or TIFF image', {
      file: name, expected: 'PNG, JPEG or TIFF magic bytes',
      got: bytes.length === 0 ? 'an empty file' : foreign ? `${foreign.what} (${magic})` : magic,
      hint: `${foreign?.fix ?? 'convert the file to PNG'}, or remove it (or pass --skip-bad)`,
    });
  }
  const declared = format === 'png' ? pngDeclaredSize(bytes) : undefined;
  if (declared) checkImageSize(declared.width, declared.height, format, name);
  let image: ImageU8;
  try {
    image = format === 'png' ? decodePng(bytes) : format === 'jpeg' ? decodeJpeg(bytes, name) : decodeTiff(bytes, name);
  } catch (error) {
    if (error instanceof DataError) throw error;
    throw new DataError(`corrupt or truncated ${format.toUpperCase()}`, {
      file: name, expected: `a readable ${format.toUpperCase()}`, got: `decoder error "${error instanceof Error ? error.message : String(error)}"`,
      hint: 'the file is damaged: re-export or re-download it, or pass --skip-bad',
    });
  }
  checkImageSize(image.width, image.height, format, name);
  if (channels === undefined) return image;
  const converted = channels === 1 ? toGrayscale(image) : image.channels === 3 ? image : fromRgbaGray(image);
  if (image.alphaComposited) converted.alphaComposited = true;
  if (image.exifOrientation !== undefined) converted.exifOrientation = image.exifOrientation;
  return converted;
}

function fromRgbaGray(gray: ImageU8): ImageU8 {
  const out: ImageU8 = { width: gray.width, height: gray.height, channels: 3, data: new Uint8Array(gray.width * gray.height * 3) };
  for (let i = 0; i < gray.data.length; i++) out.data.fill(gray.data[i]!, 3 * i, 3 * i + 3);
  return out;
}

/** Gray inputs stay one channel (no colour is invented); anything with colour becomes RGB. */
function grayIfNeutral(rgba: Uint8Array, width: number, height: number): ImageU8 {
  let neutral = true;
  for (let j = 0; j < rgba.length && neutral; j += 4) neutral = rgba[j] === rgba[j + 1] && rgba[j] === rgba[j + 2];
  return fromRgba(rgba, width, height, neutral ? 1 : 3);
}

/**
 * The PNG datastream: the bytes up to the end of the IEND chunk. The datastream ends there (PNG
 * spec 5.6), and libpng, PIL and browsers stop reading at IEND, so bytes a tool or a download
 * appended after it are not the image's; pngjs would refuse them ("unrecognised content at end
 * of stream"). Without an IEND the whole file goes to the decoder, which reports the truncation.
 */
function pngDatastream(bytes: Uint8Array): Uint8Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let position = 8; // after the signature
  while (position + 12 <= bytes.length) {
    const end = position + 12 + view.getUint32(position);
    if (bytes[position + 4] === 0x49 && bytes[position + 5] === 0x45 && bytes[position + 6] === 0x4e && bytes[position + 7] === 0x44) {
      return end <= bytes.length ? bytes.subarray(0, end) : bytes;
    }
    position = end;
  }
  return bytes;
}

function decodePng(bytes: Uint8Array): ImageU8 {
  const png = PNG.sync.read(asPngBuffer(pngDatastream(bytes)) as never);
  return grayIfNeutral(new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.length), png.width, png.height);
}

/** jpeg-js's memory cap for one decode (see decodeJpeg). */
const JPEG_MEMORY_MB = 1024;

function decodeJpeg(bytes: Uint8Array, name: string): ImageU8 {
  // The frame's declared size is checked first, as for PNG and TIFF; jpeg-js's own limit (100 MP by default) is raised to match.
  const frame = jpegFrame(bytes);
  if (frame) {
    checkImageSize(frame.width, frame.height, 'jpeg', name);
    checkJpegCoding(frame, name);
  }
  // Three components are YCbCr unless an Adobe marker says RGB; their conversion to RGB is done
  // below (see yccToRgb), so jpeg-js is asked for the raw samples.
  const colour = frame?.components === 3 ? jpegColourCoding(bytes, frame.componentIds) : undefined;
  let decoded: { width: number; height: number; data: Uint8Array };
  try {
    decoded = jpeg.decode(colour?.withoutAdobeMarker ?? (frame?.components === 4 ? withAdobeMarker(bytes) : bytes), {
      useTArray: true, formatAsRGBA: true, maxMemoryUsageInMB: JPEG_MEMORY_MB, maxResolutionInMP: MAX_IMAGE_PIXELS / 1e6,
      ...(colour ? { colorTransform: false } : {}),
    });
  } catch (error) {
    // jpeg-js keeps every 8×8 block as 256 bytes, so a valid JPEG well under the pixel limit can
    // exceed its memory cap: that file is large, not damaged.
    if (!(error instanceof Error && error.message.includes('maxMemoryUsageInMB'))) throw error;
    throw new DataError('JPEG is too large to decode', {
      file: name, expected: `a JPEG the decoder holds in ${JPEG_MEMORY_MB} MB (its 8×8 blocks take about 4 bytes a pixel per channel)`, got: frame ? `${frame.width}×${frame.height}` : 'a larger one',
      hint: 'shrink it before training (faces are cropped to 128–256 px), or remove it (or pass --skip-bad)',
    });
  }
  if (colour?.coding === 'ycc') yccToRgb(decoded.data);
  const image = grayIfNeutral(decoded.data, decoded.width, decoded.height);
  const orientation = jpegExifOrientation(bytes);
  if (orientation !== undefined && orientation >= 2 && orientation <= 8) image.exifOrientation = orientation;
  return image;
}

/** What EXIF orientations 2..8 ask a viewer to do to the stored pixels (EXIF 2.3, tag 0x0112). */
export const EXIF_ORIENTATIONS: Record<number, string> = {
  2: 'mirrored', 3: 'turned 180°', 4: 'flipped upside down', 5: 'mirrored and turned 90° anticlockwise',
  6: 'turned 90° clockwise', 7: 'mirrored and turned 90° clockwise', 8: 'turned 90° anticlockwise',
};

/** The orientation tag of IFD0 in a JPEG's APP1 Exif segment, if there is one. */
function jpegExifOrientation(bytes: Uint8Array): number | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let position = 2;
  while (position + 4 <= bytes.length && bytes[position] === 0xff) {
    const marker = bytes[position + 1]!, length = view.getUint16(position + 2);
    if (marker === 0xda || marker === 0xd9) return undefined; // image data: the metadata segments are behind
    const tiff = position + 10;
    if (marker === 0xe1 && String.fromCharCode(...bytes.subarray(position + 4, tiff)) === 'Exif\0\0' && tiff + 8 <= bytes.length) {
      const little = bytes[tiff] === 0x49;
      const ifd = tiff + view.getUint32(tiff + 4, little);
      if (ifd + 2 > bytes.length) return undefined;
      const entries = view.getUint16(ifd, little);
      for (let k = 0; k < entries && ifd + 2 + 12 * (k + 1) <= bytes.length; k++) {
        const entry = ifd + 2 + 12 * k;
        if (view.getUint16(entry, little) === 0x0112) return view.getUint16(entry + 8, little);
      }
      return undefined;
    }
    position += 2 + length;
  }
  return undefined;
}

/**
 * How a three-component JPEG codes colour, decided as libjpeg decides it (jdapimin.c): a JFIF
 * marker means YCbCr; else an Adobe APP14 marker's transform (0: RGB, otherwise YCbCr); else the
 * component ids ('R', 'G', 'B': RGB; otherwise YCbCr). jpeg-js applies the YCbCr transform
 * whenever an Adobe marker asks for it, whatever its options say, so such a marker is cut out of
 * the bytes it is given.
 */
function jpegColourCoding(bytes: Uint8Array, componentIds: number[]): { coding: 'ycc' | 'rgb'; withoutAdobeMarker?: Uint8Array } {
  let jfif = false, adobe: { transform: number; start: number; end: number } | undefined;
  let position = 2;
  while (position + 4 <= bytes.length && bytes[position] === 0xff) {
    const marker = bytes[position + 1]!, end = position + 2 + ((bytes[position + 2]! << 8) | bytes[position + 3]!);
    if (marker === 0xda || marker === 0xd9 || end > bytes.length) break;
    const label = String.fromCharCode(...bytes.subarray(position + 4, Math.min(position + 9, end)));
    if (marker === 0xe0 && label === 'JFIF\0') jfif = true;
    if (marker === 0xee && label === 'Adobe' && end >= position + 16) adobe = { transform: bytes[position + 15]!, start: position, end };
    position = end;
  }
  const rgbIds = componentIds[0] === 0x52 && componentIds[1] === 0x47 && componentIds[2] === 0x42;
  const coding = jfif ? 'ycc' : adobe ? (adobe.transform === 0 ? 'rgb' : 'ycc') : rgbIds ? 'rgb' : 'ycc';
  if (!adobe || adobe.transform === 0) return { coding };
  const without = new Uint8Array(bytes.length - (adobe.end - adobe.start));
  without.set(bytes.subarray(0, adobe.start));
  without.set(bytes.subarray(adobe.end), adobe.start);
  return { coding, withoutAdobeMarker: without };
}

/**
 * A four-component JPEG with an Adobe APP14 marker (transform 0: CMYK) after its SOI if it has
 * none. PIL reads every CMYK JPEG by Adobe's convention, inverted ink (JpegImagePlugin: "CMYK;I",
 * "assume adobe conventions"); jpeg-js refuses one without the marker ("Unsupported color mode
 * (4 components)"), which was reported as a damaged file.
 */
function withAdobeMarker(bytes: Uint8Array): Uint8Array {
  let position = 2;
  while (position + 4 <= bytes.length && bytes[position] === 0xff) {
    const marker = bytes[position + 1]!;
    if (marker === 0xda || marker === 0xd9) break;
    if (marker === 0xee && String.fromCharCode(...bytes.subarray(position + 4, position + 9)) === 'Adobe') return bytes;
    position += 2 + ((bytes[position + 2]! << 8) | bytes[position + 3]!);
  }
  // FF EE, length 14, "Adobe", version 100, flags0 0, flags1 0, transform 0.
  const marker = [0xff, 0xee, 0, 14, 0x41, 0x64, 0x6f, 0x62, 0x65, 0, 100, 0, 0, 0, 0, 0];
  const out = new Uint8Array(bytes.length + marker.length);
  out.set(bytes.subarray(0, 2));
  out.set(marker, 2);
  out.set(bytes.subarray(2), 2 + marker.length);
  return out;
}

/**
 * YCbCr → RGB in place (RGBA bytes) in libjpeg's fixed point (jdcolor.c, 16 fraction bits), which
 * PIL decodes with. jpeg-js's own conversion stores its float result into bytes, truncating: colour
 * JPEGs came out about 0.4 of a level darker than in PIL, half their gray pixels 1 below.
 */
function yccToRgb(rgba: Uint8Array): void {
  const fix = (x: number) => Math.round(x * 65536), half = 1 << 15;
  const clamp = (v: number) => (v < 0 ? 0 : v > 255 ? 255 : v);
  for (let i = 0; i < rgba.length; i += 4) {
    const y = rgba[i]!, cb = rgba[i + 1]! - 128, cr = rgba[i + 2]! - 128;
    rgba[i] = clamp(y + ((fix(1.402) * cr + half) >> 16));
    rgba[i + 1] = clamp(y + ((-fix(0.34414) * cb + half - fix(0.71414) * cr) >> 16));
    rgba[i + 2] = clamp(y + ((fix(1.772) * cb + half) >> 16));
  }
}

/** A JPEG's start-of-frame segment (SOF0..SOF15 but DHT, JPG and DAC): its marker, sample precision, size and components (count, first three ids), read before decoding. */
function jpegFrame(bytes: Uint8Array): { marker: number; precision: number; width: number; height: number; components: number; componentIds: number[] } | undefined {
  let position = 2;
  while (position + 9 <= bytes.length && bytes[position] === 0xff) {
    const marker = bytes[position + 1]!;
    const length = (bytes[position + 2]! << 8) | bytes[position + 3]!;
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      return { marker, precision: bytes[position + 4]!, height: (bytes[position + 5]! << 8) | bytes[position + 6]!, width: (bytes[position + 7]! << 8) | bytes[position + 8]!,
        components: bytes[position + 9]!, componentIds: [bytes[position + 10] ?? 0, bytes[position + 13] ?? 0, bytes[position + 16] ?? 0],
      };
    }
    position += 2 + length;
  }
  return undefined;
}

/**
 * jpeg-js decodes 8-bit Huffman-coded sequential and progressive JPEGs (SOF0..SOF2). It reads any
 * other precision as 8-bit (a 12-bit JPEG came out saturated, without an error) and calls the
 * other codings unknown markers, so those are named here instead (PIL's libjpeg refuses 12-bit too).
 */
const UNSUPPORTED_JPEG_CODINGS: Record<number, string> = {
  0xc3: 'lossless', 0xc5: 'hierarchical sequential', 0xc6: 'hierarchical progressive', 0xc7: 'hierarchical lossless',
  0xc9: 'arithmetic-coded sequential', 0xca: 'arithmetic-coded progressive', 0xcb: 'arithmetic-coded lossless',
  0xcd: 'arithmetic-coded hierarchical sequential', 0xce: 'arithmetic-coded hierarchical progressive', 0xcf: 'arithmetic-coded hierarchical lossless',
};

function checkJpegCoding(frame: { marker: number; precision: number }, name: string): void {
  const coding = UNSUPPORTED_JPEG_CODINGS[frame.marker];
  if (coding === undefined && frame.precision === 8) return;
  throw new DataError('unsupported JPEG', {
    file: name, expected: 'an 8-bit baseline, extended or progressive JPEG (Huffman-coded)',
    got: coding ? `SOF${frame.marker - 0xc0}: ${coding}` : `${frame.precision}-bit samples`,
    hint: 're-save it as an ordinary 8-bit JPEG or as PNG, or remove it (or pass --skip-bad)',
  });
}

/**
 * The first page of a TIFF, turned upright by its Orientation tag (274) as PIL's TiffImagePlugin
 * does on load (ImageOps.exif_transpose; JPEGs it leaves as stored). For 5..8 on a non-square
 * image Pillow (12.3) decodes the raster with width and height swapped before turning it, which
 * scrambles the pixels; webfer turns the image as TIFF 6.0 says.
 */
function decodeTiff(bytes: Uint8Array, name: string): ImageU8 {
  let orientation: number | undefined;
  const image = decodeTiffPage(bytes, name, (directory) => { orientation = (directory['t274'] as number[] | undefined)?.[0]; });
  return orientation !== undefined && orientation >= 2 && orientation <= 8 ? orient(image, orientation) : image;
}

function decodeTiffPage(bytes: Uint8Array, name: string, seen: (directory: UTIF.IFD) => void): ImageU8 {
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  const directories = UTIF.decode(buffer);
  const first = directories[0];
  if (!first) throw new Error('no image directory');
  seen(first);
  const declaredWidth = (first['t256'] as number[] | undefined)?.[0] ?? 0, declaredHeight = (first['t257'] as number[] | undefined)?.[0] ?? 0;
  checkImageSize(declaredWidth, declaredHeight, 'tiff', name);
  checkTiffLayout(first, name);
  withoutConsoleLog(() => UTIF.decodeImage(buffer, first));
  const width = first.width, height = first.height;
  if (!width || !height) throw new Error('image directory without width/height');
  // utif2 leaves missing strips (or tiles) as zeros rather than failing, so check they fit the file.
  const tiled = first['t322'] !== undefined;
  const offsets = first[tiled ? 't324' : 't273'] as number[] | undefined, counts = first[tiled ? 't325' : 't279'] as number[] | undefined;
  if (offsets && counts) {
    for (let i = 0; i < offsets.length; i++) {
      if (offsets[i]! + (counts[i] ?? 0) > bytes.length) {
        throw new Error(`${tiled ? 'tile' : 'strip'} ${i} ends at byte ${offsets[i]! + (counts[i] ?? 0)} but the file has ${bytes.length} bytes (truncated)`);
      }
    }
  }
  const photometric = (first['t262'] as number[] | undefined)?.[0];
  if (photometric === TIFF_WHITE_IS_ZERO || photometric === TIFF_BLACK_IS_ZERO) return decodeGrayTiff(first, width, height);
  if (photometric === TIFF_SEPARATED) return grayIfNeutral(cmykTiffToRgba(first, width, height, name), width, height);
  const rgba = UTIF.toRGBA8(first);
  // utif2 takes an RGB image's fourth sample as unassociated alpha whatever ExtraSamples says. An
  // unspecified one (0) is no alpha (PIL reads the image as RGB); an associated one (1) has its
  // colour premultiplied, i.e. composited onto black already.
  const extra = photometric === TIFF_RGB && ((first['t277'] as number[] | undefined)?.[0] ?? 3) > 3 ? (first['t338'] as number[] | undefined)?.[0] : undefined;
  let premultiplied = false;
  if (extra === 0 || extra === 1) {
    for (let j = 3; j < rgba.length; j += 4) { if (rgba[j] !== 255) premultiplied = true; rgba[j] = 255; }
  }
  const image = grayIfNeutral(rgba, width, height);
  if (extra === 1 && premultiplied) image.alphaComposited = true;
  return image;
}

/**
 * utif2 prints "==== tilesX tilesY" with console.log for every tiled TIFF it decodes: on stdout,
 * in the middle of `inspect --json` or `predict --json` output. Its decoding is synchronous.
 */
function withoutConsoleLog<T>(run: () => T): T {
  const log = console.log;
  console.log = () => {};
  try { return run(); } finally { console.log = log; }
}

const TIFF_WHITE_IS_ZERO = 0, TIFF_BLACK_IS_ZERO = 1, TIFF_RGB = 2, TIFF_PALETTE = 3, TIFF_YCBCR = 6;

/** The compressions utif2 decodes for the layouts below (6 is the old-style JPEG, 32946 Deflate's old code). */
const TIFF_COMPRESSIONS = new Set([1, 2, 3, 4, 5, 6, 7, 8, 32773, 32946]);
/** Names of compressions that TIFF writers use and utif2 does not decode (it left their pixels zero). */
const UNSUPPORTED_TIFF_COMPRESSIONS: Record<number, string> = {
  34925: 'LZMA', 50000: 'Zstandard', 50001: 'WebP', 50002: 'JPEG XL', 34712: 'JPEG 2000', 34887: 'LERC', 32809: 'ThunderScan', 34676: 'SGI LogLuv',
};
const TIFF_PHOTOMETRICS: Record<number, string> = {
  4: 'transparency mask', 8: 'CIELab', 9: 'ICC Lab', 10: 'ITU Lab', 32803: 'colour filter array (camera raw)', 32844: 'LogL', 32845: 'LogLuv', 34892: 'linear raw',
};
const TIFF_SAMPLE_FORMATS: Record<number, string> = { 2: 'signed integer', 3: 'floating-point', 4: 'undefined' };

/**
 * Refuses the TIFF layouts that utif2 decodes into other pixels than PIL's (or none) instead of
 * failing: float samples scaled by 255 or gamma-corrected, signed ones read unsigned, separate
 * colour planes read as interleaved, unknown compressions left zero, 32-bit integers.
 */
function checkTiffLayout(directory: UTIF.IFD, name: string): void {
  const tag = (id: number) => directory[`t${id}`] as number[] | undefined;
  const compression = tag(259)?.[0] ?? 1, photometric = tag(262)?.[0], samples = tag(277)?.[0] ?? 1;
  const bits = tag(258)?.[0] ?? 1, sampleFormat = tag(339)?.find((format) => format !== 1), planar = tag(284)?.[0] ?? 1;
  let got: string | undefined;
  if (!TIFF_COMPRESSIONS.has(compression)) got = `compression ${compression}${UNSUPPORTED_TIFF_COMPRESSIONS[compression] ? ` (${UNSUPPORTED_TIFF_COMPRESSIONS[compression]})` : ''}`;
  else if (sampleFormat !== undefined) got = `${TIFF_SAMPLE_FORMATS[sampleFormat] ?? `sample format ${sampleFormat}`} samples`;
  else if (planar === 2 && samples > 1) got = 'separate colour planes (PlanarConfiguration 2)';
  else if (photometric !== undefined && TIFF_PHOTOMETRICS[photometric]) got = `photometric interpretation ${photometric} (${TIFF_PHOTOMETRICS[photometric]})`;
  else if (photometric === TIFF_YCBCR && compression !== 7) got = 'YCbCr samples without JPEG compression';
  // utif2's JPEG decoder writes three samples a pixel, into room for one: the gray came out as every third byte of RGB triplets.
  else if ((photometric === TIFF_WHITE_IS_ZERO || photometric === TIFF_BLACK_IS_ZERO) && (compression === 6 || compression === 7)) got = 'gray with JPEG compression';
  else if ((photometric === TIFF_WHITE_IS_ZERO || photometric === TIFF_BLACK_IS_ZERO) && ![1, 2, 4, 8, 16].includes(bits)) got = `gray of ${bits} bits a sample`;
  else if (photometric === TIFF_RGB && !(bits === 8 || (bits === 16 && samples <= 4))) got = `RGB of ${bits} bits a sample${bits === 16 ? ` with ${samples} samples` : ''}`;
  else if (photometric === TIFF_PALETTE && ![1, 2, 4, 8].includes(bits)) got = `a palette indexed by ${bits} bits`;
  if (got === undefined) return;
  throw new DataError('unsupported TIFF', {
    file: name, got,
    expected: 'gray of 1-16 bits, RGB of 8 or 16 bits, palette or CMYK, unsigned integer samples interleaved, uncompressed or LZW, Deflate, PackBits, CCITT or (colour only) JPEG',
    hint: 're-save it as an 8-bit TIFF, JPEG or PNG (in Python: PIL.Image.open(FILE).save(\'FILE.png\')), or remove it (or pass --skip-bad)',
  });
}

/**
 * A gray TIFF's pixels, as PIL unpacks them: 1, 2, 4 and 8-bit samples v become v · 255 / (2^bits − 1)
 * (its "1", L;2, L;4 and L rawmodes), WhiteIsZero inverted (L;2I, ...), 16-bit ones their high byte
 * (see README). utif2 returned black, with alpha 0, for 4-bit BlackIsZero and 2-bit WhiteIsZero.
 * An unassociated alpha sample (ExtraSamples 2) is composited onto black as in every other image;
 * an associated one's gray is premultiplied, composited already.
 */
function decodeGrayTiff(directory: UTIF.IFD, width: number, height: number): ImageU8 {
  const bits = (directory['t258'] as number[] | undefined)?.[0] ?? 1, samples = (directory['t277'] as number[] | undefined)?.[0] ?? 1;
  const whiteIsZero = (directory['t262'] as number[])[0] === TIFF_WHITE_IS_ZERO;
  const alpha = samples > 1 ? (directory['t338'] as number[] | undefined)?.[0] : undefined; // 1 associated, 2 unassociated
  const data = directory.data, rowBytes = Math.ceil((width * samples * bits) / 8), maxValue = 2 ** bits - 1;
  // 16-bit samples are little-endian here: utif2 swaps a big-endian file's.
  const sample = (row: number, index: number) => (bits === 16 ? data[row + 2 * index + 1]!
    : bits === 8 ? data[row + index]! : (((data[row + ((index * bits) >> 3)]! >> (8 - bits - ((index * bits) & 7))) & maxValue) * 255) / maxValue);
  const rgba = new Uint8Array(width * height * 4);
  let translucent = false;
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) {
    const at = 4 * (y * width + x), gray = sample(y * rowBytes, x * samples);
    const opacity = alpha === 1 || alpha === 2 ? sample(y * rowBytes, x * samples + 1) : 255;
    if (opacity !== 255) translucent = true;
    rgba.fill(whiteIsZero ? 255 - gray : gray, at, at + 3);
    rgba[at + 3] = alpha === 2 ? opacity : 255;
  }
  const image = fromRgba(rgba, width, height, 1);
  if (translucent) image.alphaComposited = true;
  return image;
}

/** TIFF PhotometricInterpretation 5: separated, i.e. CMYK ink. */
const TIFF_SEPARATED = 5;

/**
 * A CMYK TIFF's pixels as RGBA. utif2's own CMYK branch reads `window` (there is none in Node or
 * a worker, so every CMYK TIFF failed as "corrupt"); this is its other branch, which is PIL's
 * convert('RGB') too: R = (255 − C)(255 − K) / 255, rounded, and so on for G, B. A fifth sample is alpha.
 */
function cmykTiffToRgba(directory: UTIF.IFD, width: number, height: number, name: string): Uint8Array {
  const bits = (directory['t258'] as number[] | undefined) ?? [8];
  const samples = (directory['t277'] as number[] | undefined)?.[0] ?? 4;
  const inkSet = (directory['t332'] as number[] | undefined)?.[0] ?? 1;
  if (bits.some((b) => b !== 8) || samples < 4 || inkSet !== 1) {
    throw new DataError('unsupported TIFF', {
      file: name, expected: 'CMYK with 8 bits a sample', got: `${samples} ink samples of ${bits.join('/')} bits${inkSet !== 1 ? ' (not CMYK inks)' : ''}`,
      hint: 're-save it as an RGB TIFF, JPEG or PNG, or remove it (or pass --skip-bad)',
    });
  }
  const data = directory.data, rgba = new Uint8Array(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    const at = i * samples, white = 255 - data[at + 3]!;
    for (let k = 0; k < 3; k++) rgba[4 * i + k] = Math.round(((255 - data[at + k]!) * white) / 255);
    rgba[4 * i + 3] = samples > 4 ? data[at + 4]! : 255;
  }
  return rgba;
}

/** Encodes an 8-bit gray or RGB image as PNG (deflate-compressed). */
export function encodePng(image: ImageU8): Uint8Array {
  const png = new PNG({ width: image.width, height: image.height });
  const c = image.channels;
  for (let i = 0; i < image.width * image.height; i++) {
    png.data[4 * i] = image.data[c * i]!;
    png.data[4 * i + 1] = image.data[c * i + (c === 3 ? 1 : 0)]!;
    png.data[4 * i + 2] = image.data[c * i + (c === 3 ? 2 : 0)]!;
    png.data[4 * i + 3] = 255;
  }
  const encoded = PNG.sync.write(png, { colorType: c === 1 ? 0 : 2, inputColorType: 6, inputHasAlpha: true } as never);
  return new Uint8Array(encoded.buffer, encoded.byteOffset, encoded.length);
}
