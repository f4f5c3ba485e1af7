/**
 * Uncompressed little-endian TIFFs written from the TIFF 6.0 specification (a header, one IFD,
 * then the pixel bytes), for the layouts the decoder must read or refuse: any tags, one strip or
 * square tiles.
 */

/** A tag's value: a SHORT (type 3) or LONG (type 4) list. */
export type TiffTag = { tag: number; type: 3 | 4; values: number[] };

export const SHORT = (tag: number, ...values: number[]): TiffTag => ({ tag, type: 3, values });
export const LONG = (tag: number, ...values: number[]): TiffTag => ({ tag, type: 4, values });

/**
 * Packs samples of `bits` bits (1, 2, 4, 8, 16) row by row, each row starting on a byte (TIFF 6.0,
 * section 'Image Data'), 16-bit samples little-endian.
 */
export function packRows(samples: number[], rowLength: number, bits: number): Uint8Array {
  const rows = samples.length / rowLength, rowBytes = Math.ceil((rowLength * bits) / 8);
  const out = new Uint8Array(rows * rowBytes);
  for (let y = 0; y < rows; y++) for (let x = 0; x < rowLength; x++) {
    const value = samples[y * rowLength + x]!, at = y * rowBytes;
    if (bits === 16) { out[at + 2 * x] = value & 255; out[at + 2 * x + 1] = value >> 8; continue; }
    const bit = x * bits;
    out[at + (bit >> 3)]! |= value << (8 - bits - (bit & 7));
  }
  return out;
}

/**
 * A TIFF of one IFD: `tags` (width, height, photometric, ...), plus StripOffsets / StripByteCounts
 * for `pixels` as one strip, or TileOffsets / TileByteCounts for `tiles` (each tile's bytes).
 */
export function writeTiff(tags: TiffTag[], data: { pixels: Uint8Array } | { tiles: Uint8Array[] }): Uint8Array {
  const chunks = 'pixels' in data ? [data.pixels] : data.tiles;
  const [offsetsTag, countsTag] = 'pixels' in data ? [273, 279] : [324, 325];
  const all = [...tags, LONG(offsetsTag, ...chunks.map(() => 0)), LONG(countsTag, ...chunks.map((c) => c.length))].sort((a, b) => a.tag - b.tag);
  const ifdSize = 2 + 12 * all.length + 4;
  let valuesAt = 8 + ifdSize;
  const valueOffsets = all.map((entry) => {
    const size = entry.values.length * (entry.type === 3 ? 2 : 4);
    if (size <= 4) return -1;
    const at = valuesAt; valuesAt += size; return at;
  });
  let pixelsAt = valuesAt;
  const chunkOffsets = chunks.map((chunk) => { const at = pixelsAt; pixelsAt += chunk.length; return at; });
  all.find((entry) => entry.tag === offsetsTag)!.values = chunkOffsets;
  const out = new Uint8Array(pixelsAt);
  const view = new DataView(out.buffer);
  out.set([0x49, 0x49]); view.setUint16(2, 42, true); view.setUint32(4, 8, true);
  view.setUint16(8, all.length, true);
  all.forEach((entry, k) => {
    const at = 10 + 12 * k, target = valueOffsets[k]! < 0 ? at + 8 : valueOffsets[k]!;
    view.setUint16(at, entry.tag, true); view.setUint16(at + 2, entry.type, true); view.setUint32(at + 4, entry.values.length, true);
    if (valueOffsets[k]! >= 0) view.setUint32(at + 8, valueOffsets[k]!, true);
    entry.values.forEach((value, i) => (entry.type === 3 ? view.setUint16(target + 2 * i, value, true) : view.setUint32(target + 4 * i, value, true)));
  });
  chunks.forEach((chunk, i) => out.set(chunk, chunkOffsets[i]!));
  return out;
}

/** The tags of a chunky (interleaved), uncompressed image: width, height, bits per sample, photometric, samples, rows per strip. */
export function baseTags(width: number, height: number, bits: number, photometric: number, samples = 1): TiffTag[] {
  return [
    LONG(256, width), LONG(257, height), SHORT(258, ...Array<number>(samples).fill(bits)), SHORT(259, 1), SHORT(262, photometric),
    SHORT(277, samples), LONG(278, height),
  ];
}
