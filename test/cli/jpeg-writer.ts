// A baseline JPEG writer for the tests, from the JPEG specification (ITU T.81), for images whose
// decoding every decoder must agree on: each 8×8 block of each component is flat (only its DC
// coefficient is coded, with quantization 1), so the inverse DCT gives the block's value exactly
// and what remains to compare is the colour conversion. Three components (ids 1, 2, 3: YCbCr, as
// libjpeg reads a file without JFIF or Adobe markers) or four (CMYK), no subsampling.

/** Canonical Huffman codes (T.81 Annex C) from the count of codes of each length 1..16. */
function huffmanCodes(counts: number[], symbols: number[]): Map<number, { code: number; length: number }> {
  const codes = new Map<number, { code: number; length: number }>();
  let code = 0, k = 0;
  counts.forEach((count, index) => {
    for (let i = 0; i < count; i++) codes.set(symbols[k++]!, { code: code++, length: index + 1 });
    code <<= 1;
  });
  return codes;
}

// T.81 Table K.3 (luminance DC); the AC table holds only end-of-block, coded '0'.
const DC_COUNTS = [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0];
const DC_SYMBOLS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
const AC_COUNTS = [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
const AC_SYMBOLS = [0x00];

function segment(marker: number, body: number[]): number[] {
  return [0xff, marker, (body.length + 2) >> 8, (body.length + 2) & 0xff, ...body];
}

/** `blocks[row][column]` = [Y, Cb, Cr] (or [C, M, Y, K] as stored) of that 8×8 block; the image is cropped to width × height. */
export function writeFlatBlockJpeg(width: number, height: number, blocks: number[][][]): Buffer {
  const components = blocks[0]![0]!.length;
  const ids = Array.from({ length: components }, (_, c) => c + 1);
  const dc = huffmanCodes(DC_COUNTS, DC_SYMBOLS), ac = huffmanCodes(AC_COUNTS, AC_SYMBOLS);
  const out: number[] = [];
  let buffer = 0, filled = 0;
  const put = (code: number, length: number) => {
    for (let bit = length - 1; bit >= 0; bit--) {
      buffer = (buffer << 1) | ((code >> bit) & 1);
      if (++filled === 8) {
        out.push(buffer);
        if (buffer === 0xff) out.push(0x00); // byte stuffing
        buffer = 0; filled = 0;
      }
    }
  };
  const previous = ids.map(() => 0);
  for (let row = 0; row < Math.ceil(height / 8); row++) {
    for (let column = 0; column < Math.ceil(width / 8); column++) {
      for (let c = 0; c < components; c++) {
        const coefficient = 8 * (blocks[row]![column]![c]! - 128); // F(0,0) of a flat block (T.81 A.3.3)
        const difference = coefficient - previous[c]!;
        previous[c] = coefficient;
        const category = difference === 0 ? 0 : Math.floor(Math.log2(Math.abs(difference))) + 1;
        const symbol = dc.get(category)!;
        put(symbol.code, symbol.length);
        if (category > 0) put(difference > 0 ? difference : difference + (1 << category) - 1, category);
        const eob = ac.get(0x00)!;
        put(eob.code, eob.length);
      }
    }
  }
  if (filled > 0) put((1 << (8 - filled)) - 1, 8 - filled); // pad with 1 bits
  return Buffer.from([
    0xff, 0xd8,
    ...segment(0xdb, [0x00, ...Array(64).fill(1)]),
    ...segment(0xc0, [8, height >> 8, height & 0xff, width >> 8, width & 0xff, components, ...ids.flatMap((id) => [id, 0x11, 0])]),
    ...segment(0xc4, [0x00, ...DC_COUNTS, ...DC_SYMBOLS, 0x10, ...AC_COUNTS, ...AC_SYMBOLS]),
    ...segment(0xda, [components, ...ids.flatMap((id) => [id, 0x00]), 0, 63, 0]),
    ...out,
    0xff, 0xd9,
  ]);
}
