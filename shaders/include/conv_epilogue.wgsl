// Shared by conv2d.wgsl, conv2d_packed.wgsl, conv2d_vec4.wgsl and conv2d_subgroup.wgsl (spliced in after their bindings,
// which must declare p, Bias, Y and Mask as conv2d.wgsl does, and include is_nan and mfm_pair): the forward's epilogue. A 4 x 4 block of GEMM
// rows r0 .. r0 + 3 (r0 a multiple of 4) by pixels pix0 .. pix0 + 3 gets its bias and is stored,
// or under mfm (rows in the pair order of filterOf) reduced to 2 channels x 4 pixels by the max.
fn biasOf(co: u32) -> f32 {
  if (p.hasBias == 1u) { return Bias[co]; }
  return 0.0;
}

/** The filter (weight row) computed as GEMM row r: r itself, or under mfm the pair order 0, C, 1, C + 1, ... */
fn filterOf(r: u32) -> u32 {
  if (p.mfm == 0u) { return r; }
  return (r >> 1u) + (r & 1u) * (p.Cout >> 1u);
}

/** Stores mfm output (n, c, pixel r) from the two halves' biased sums a and b, and its gradient mask. */
fn storeMfm(index: u32, a: f32, b: f32) {
  Y[index] = stored(mfmValue(a, b));
  if (p.mfm == 1u) { Mask[index] = mfmMask(a, b); }
}

/**
 * Where pixel pix0 lies: its image and offset in the plane. The block's next pixels step on from
 * there (nextPixel), so a block pays one per-lane division instead of two per pixel (software
 * Vulkan has no vector integer division: it runs one per lane, and conv1's K = 25 leaves few
 * multiply-adds per stored output to hide them).
 */
struct PixelAt { n: u32, offset: u32 }

fn pixelAt(pix0: u32, plane: u32) -> PixelAt {
  return PixelAt(pix0 / plane, pix0 % plane);
}

fn nextPixel(at: ptr<function, PixelAt>, plane: u32) {
  (*at).offset++;
  if ((*at).offset == plane) { (*at).offset = 0u; (*at).n++; }
}

fn storeRow(co: u32, first: PixelAt, row: vec4<f32>) {
  if (co >= p.Cout) { return; }
  let plane = p.OH * p.OW;
  let bias = biasOf(co);
  var at = first;
  for (var t = 0u; t < TN; t++) {
    if (at.n < p.N) { Y[(at.n * p.Cout + co) * plane + at.offset] = stored(row[t] + bias); }
    nextPixel(&at, plane);
  }
}

/** The epilogue of a 4 x 4 block whose GEMM rows start at r0 (a multiple of 4). */
fn storeBlock(r0: u32, pix0: u32, acc: Acc4x4) {
  let plane = p.OH * p.OW;
  let first = pixelAt(pix0, plane);
  if (p.mfm == 0u) {
    storeRow(r0, first, acc.r0);
    storeRow(r0 + 1u, first, acc.r1);
    storeRow(r0 + 2u, first, acc.r2);
    storeRow(r0 + 3u, first, acc.r3);
    return;
  }
  let C = p.Cout >> 1u;
  var firsts = array<vec4<f32>, 2>(acc.r0, acc.r2);
  var seconds = array<vec4<f32>, 2>(acc.r1, acc.r3);
  for (var pairIndex = 0u; pairIndex < 2u; pairIndex++) {
    let c = (r0 >> 1u) + pairIndex;
    if (c >= C) { return; }
    let biasA = biasOf(c);
    let biasB = biasOf(c + C);
    var at = first;
    for (var t = 0u; t < TN; t++) {
      if (at.n < p.N) { storeMfm((at.n * C + c) * plane + at.offset, firsts[pairIndex][t] + biasA, seconds[pairIndex][t] + biasB); }
      nextPixel(&at, plane);
    }
  }
}
