// conv2d's weight gradient for any stride, kernel size and padding (conv2d_weight_grad.wgsl's GEMM)
// with the GY loads shared across a subgroup by shuffles:
//   GW[co, ci, i, j] = Σ_{n, oh, ow} GY[n, co, oh, ow] · X[n, ci, oh·SH - PH + i·DH, ow·SW - PW + j·DW]
// M = Cout, N = Cin·KH·KW columns (ci, i, j), K = the pixels, walked in quads of 4 (a quad's missing
// pixels past a plane or an output row count zero).
// Why: on software Vulkan (lavapipe) every storage load whose address varies per lane costs ~7
// instructions per float; registerTiled spends 8 of them per 16 multiply-adds. Here the 8 lanes of a
// subgroup own the same rows (out channels) and 4 columns each; per pixel quad lane l loads the GY of
// rows r0 + 2l and r0 + 2l + 1 (one vec4 along the pixels each where the quads are whole) and every
// lane takes all 16 from the lanes that loaded them by subgroupShuffle.
// Entry points (WGX x WGY invocations, 4 columns each):
//   packedSubgroup  16 rows x 4 consecutive columns (ci, i, j); K walked per image in quads of the
//                   plane; 2 vec4 GY + 16 scalar X loads per 256 multiply-adds. Any geometry.
//   windowSubgroup  16 rows x the 4 neighbouring taps j0 .. j0 + 3 of one (ci, i) (taps past KW
//                   computed, not stored); K walked per output row in quads, so the quad's 16 X values
//                   lie in a window of 3·SW + 4 neighbours in one input row, loaded once (7 at stride 1,
//                   10 at stride 2, instead of 16). Width stride SW 1-4, width dilation 1 (the
//                   launcher: kernel width 3 or more, where few of a lane's tap slots are empty).
//                   WINDOW_ROWS 32: two blocks of 16 rows on the same window (lane l loads rows
//                   2l, 2l + 1 of each): twice the multiply-adds per X load.
//   narrowSubgroup  windowSubgroup with 4 rows (1-8 out channels: the rest of 16 would be waste;
//                   WGY = 1): lane l & 3 loads row l & 3's GY vec4; NARROW_ROWS = 1 for a single
//                   out channel.
// Layouts: X [N, Cin, H, W], GY [N, Cout, OH, OW] (NCHW), Partial [splits, Cout, Cin·KH·KW].
// Bindings: 0 params, 1 X (read), 2 GY (read), 3 GY4 (read: the same buffer as vec4s, read only
//   where the quads are whole: OH·OW % 4 == 0 for packedSubgroup, OW % 4 == 0 for the others),
//   4 Partial (write).
// Split-K: workgroup z sums quads [z·kChunk, (z + 1)·kChunk) into its slice of Partial; the launcher
// adds the slices.
// Override constants: WGX (a multiple of 8, so a subgroup shares lid.y and thus its rows), WGY, SW
// (windowSubgroup, narrowSubgroup: the width stride), NARROW_ROWS (narrowSubgroup: 4 or 1), WINDOW_ROWS
// (windowSubgroup: 16 or 32), WINDOW_TAPS (windowSubgroup: 4 or 3).
// Assumes (the launcher runs it only where they hold): subgroups of exactly 8 invocations made of
// consecutive local invocation indices (lavapipe). Subgroup operations need uniform control flow:
// no invocation returns before the last shuffle; rows and columns past the end are clamped
// (computed, not stored), taps in the padding and pixels past a plane or row read an in-bounds
// stand-in that a select zeroes.
// Invariant: a pixel contributes to a column iff it exists and its tap lands inside the input.
// X, GY and GY4 (GY as vec4: index i holds elements 4i .. 4i + 3, 8 bytes in the f16 build) are Operand
// (shaders/include/operand.wgsl: f32, or f16 in the `.f16` build), converted to f32 on load.
enable subgroups;
//!include conv_geometry
//!include operand
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> X: array<Operand>;
@group(0) @binding(2) var<storage, read> GY: array<Operand>;
@group(0) @binding(3) var<storage, read> GY4: array<vec4<Operand>>;
@group(0) @binding(4) var<storage, read_write> Partial: array<f32>;

override WGX: u32 = 32u;
override WGY: u32 = 8u;
/** Rows per subgroup: 2 per lane. */
const ROWS = 16u;

/** One lane's 4 columns at the 4 pixels of a quad: x0 .. x3, one vec4 (the columns) per pixel. */
struct Quad { x0: vec4<f32>, x1: vec4<f32>, x2: vec4<f32>, x3: vec4<f32> }

/**
 * Columns per lane that windowSubgroup computes: 4, or 3 (the launcher: a 3-wide kernel under the policy's
 * windowWeightGradTaps 'fitted'), where the block's 4th tap would be computed and never stored. lavapipe runs each
 * component as one 8-lane SIMD operation, so 3 components cost 3/4 of 4.
 */
override WINDOW_TAPS: u32 = 4u;

/** acc (4 columns of one row; the first 3 where WINDOW_TAPS is 3) += the row's GY over the quad's pixels · the columns' X at them. */
fn accumulateRow(acc: ptr<function, vec4<f32>>, g: vec4<f32>, x: Quad) {
  if (WINDOW_TAPS == 3u) {
    let sum = fma(vec3<f32>(g.x), x.x0.xyz, fma(vec3<f32>(g.y), x.x1.xyz, fma(vec3<f32>(g.z), x.x2.xyz, fma(vec3<f32>(g.w), x.x3.xyz, (*acc).xyz))));
    *acc = vec4<f32>(sum, 0.0);
    return;
  }
  *acc = fma(vec4<f32>(g.x), x.x0, fma(vec4<f32>(g.y), x.x1, fma(vec4<f32>(g.z), x.x2, fma(vec4<f32>(g.w), x.x3, *acc))));
}

/** GY of one row (plane offset rowOff) at the quad starting at plane index q0; pixels past the plane are 0. */
fn gyQuad(imageBase: u32, rowOff: u32, q0: u32, plane: u32) -> vec4<f32> {
  if (plane % 4u == 0u) { return vec4<f32>(GY4[(imageBase + rowOff + q0) / 4u]); }
  let at = vec4<u32>(q0) + vec4<u32>(0u, 1u, 2u, 3u);
  let idx = vec4<u32>(imageBase + rowOff) + min(at, vec4<u32>(plane - 1u));
  return select(vec4<f32>(0.0), vec4<f32>(f32(GY[idx.x]), f32(GY[idx.y]), f32(GY[idx.z]), f32(GY[idx.w])), at < vec4<u32>(plane));
}

/** The lane's 4 columns' X at one pixel (tap origin ohS, owS; ok false past the plane). */
fn xAt(base: vec4<i32>, dh: vec4<i32>, dw: vec4<i32>, ohS: i32, owS: i32, ok: bool) -> vec4<f32> {
  let ih = vec4<i32>(ohS) + dh;
  let iw = vec4<i32>(owS) + dw;
  let inside = vec4<bool>(ok) & (ih >= vec4<i32>(0)) & (ih < vec4<i32>(i32(p.H))) & (iw >= vec4<i32>(0)) & (iw < vec4<i32>(i32(p.W)));
  let off = vec4<u32>(select(vec4<i32>(0), base + ih * i32(p.W) + iw, inside));
  return select(vec4<f32>(0.0), vec4<f32>(f32(X[off.x]), f32(X[off.y]), f32(X[off.z]), f32(X[off.w])), inside);
}

@compute @workgroup_size(WGX, WGY)
fn packedSubgroup(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>, @builtin(subgroup_invocation_id) lane: u32) {
  let r0 = (wid.y * WGY + lid.y) * ROWS;
  let col0 = (wid.x * WGX + lid.x) * 4u;
  let KHW = p.KH * p.KW;
  let columns = p.Cin * KHW;
  let HW = p.H * p.W;
  let plane = p.OH * p.OW;
  // Per column: the channel plane offset and the tap's displacement from (oh·SH, ow·SW).
  var cOff: vec4<i32>;
  var dh: vec4<i32>;
  var dw: vec4<i32>;
  for (var t = 0u; t < 4u; t++) {
    let c = min(col0 + t, columns - 1u);
    let tap = c % KHW;
    cOff[t] = i32((c / KHW) * HW);
    dh[t] = i32((tap / p.KW) * p.DH) - p.PH;
    dw[t] = i32((tap % p.KW) * p.DW) - p.PW;
  }
  // This lane's GY rows: r0 + 2·lane and the next (clamped: rows past Cout are not stored).
  let rowA = min(r0 + 2u * lane, p.Cout - 1u) * plane;
  let rowB = min(r0 + 2u * lane + 1u, p.Cout - 1u) * plane;
  let quadsPerImage = (plane + 3u) / 4u;
  let kStart = wid.z * p.kChunk;
  let kEnd = min(p.N * quadsPerImage, kStart + p.kChunk);
  var n = kStart / quadsPerImage;
  var q0 = (kStart % quadsPerImage) * 4u;
  var oh = q0 / p.OW;
  var ow = q0 % p.OW;
  var acc00 = vec4<f32>(0.0);
  var acc01 = vec4<f32>(0.0);
  var acc02 = vec4<f32>(0.0);
  var acc03 = vec4<f32>(0.0);
  var acc04 = vec4<f32>(0.0);
  var acc05 = vec4<f32>(0.0);
  var acc06 = vec4<f32>(0.0);
  var acc07 = vec4<f32>(0.0);
  var acc08 = vec4<f32>(0.0);
  var acc09 = vec4<f32>(0.0);
  var acc10 = vec4<f32>(0.0);
  var acc11 = vec4<f32>(0.0);
  var acc12 = vec4<f32>(0.0);
  var acc13 = vec4<f32>(0.0);
  var acc14 = vec4<f32>(0.0);
  var acc15 = vec4<f32>(0.0);
  for (var k = kStart; k < kEnd; k++) {
    // The quad's 4 pixels, stepped one at a time (rows of fewer than 4 pixels wrap inside a quad).
    var ohS: vec4<i32>;
    var owS: vec4<i32>;
    var h = oh;
    var w = ow;
    for (var t = 0u; t < 4u; t++) {
      ohS[t] = i32(h * p.SH);
      owS[t] = i32(w * p.SW);
      w++;
      if (w == p.OW) { w = 0u; h++; }
    }
    let ok = vec4<u32>(q0) + vec4<u32>(0u, 1u, 2u, 3u) < vec4<u32>(plane);
    let base = vec4<i32>(i32(n * p.Cin * HW)) + cOff;
    var x: Quad;
    x.x0 = xAt(base, dh, dw, ohS.x, owS.x, ok.x);
    x.x1 = xAt(base, dh, dw, ohS.y, owS.y, ok.y);
    x.x2 = xAt(base, dh, dw, ohS.z, owS.z, ok.z);
    x.x3 = xAt(base, dh, dw, ohS.w, owS.w, ok.w);
    let imageBase = n * p.Cout * plane;
    let ga = gyQuad(imageBase, rowA, q0, plane);
    let gb = gyQuad(imageBase, rowB, q0, plane);
    accumulateRow(&acc00, subgroupShuffle(ga, 0u), x);
    accumulateRow(&acc01, subgroupShuffle(gb, 0u), x);
    accumulateRow(&acc02, subgroupShuffle(ga, 1u), x);
    accumulateRow(&acc03, subgroupShuffle(gb, 1u), x);
    accumulateRow(&acc04, subgroupShuffle(ga, 2u), x);
    accumulateRow(&acc05, subgroupShuffle(gb, 2u), x);
    accumulateRow(&acc06, subgroupShuffle(ga, 3u), x);
    accumulateRow(&acc07, subgroupShuffle(gb, 3u), x);
    accumulateRow(&acc08, subgroupShuffle(ga, 4u), x);
    accumulateRow(&acc09, subgroupShuffle(gb, 4u), x);
    accumulateRow(&acc10, subgroupShuffle(ga, 5u), x);
    accumulateRow(&acc11, subgroupShuffle(gb, 5u), x);
    accumulateRow(&acc12, subgroupShuffle(ga, 6u), x);
    accumulateRow(&acc13, subgroupShuffle(gb, 6u), x);
    accumulateRow(&acc14, subgroupShuffle(ga, 7u), x);
    accumulateRow(&acc15, subgroupShuffle(gb, 7u), x);
    q0 += 4u;
    if (q0 >= plane) {
      q0 = 0u;
      n++;
      oh = 0u;
      ow = 0u;
    } else {
      oh = h;
      ow = w;
    }
  }
  let slice = wid.z * p.Cout * columns;
  var acc = array<vec4<f32>, 16>(acc00, acc01, acc02, acc03, acc04, acc05, acc06, acc07, acc08, acc09, acc10, acc11, acc12, acc13, acc14, acc15);
  for (var r = 0u; r < ROWS; r++) {
    let co = r0 + r;
    if (co >= p.Cout) { break; }
    for (var t = 0u; t < 4u; t++) {
      let c = col0 + t;
      if (c < columns) { Partial[slice + co * columns + c] = acc[r][t]; }
    }
  }
}

override SW: u32 = 1u;
/** X values per lane per quad in windowSubgroup and narrowSubgroup: taps 0..WINDOW_TAPS-1 at pixels 0..3, SW apart. */
override WINDOW: u32 = 3u * SW + WINDOW_TAPS;

/** GY of one row at the 4 pixels ow0 .. ow0 + 3 of one output row (offset rowStart in GY); pixels past OW are 0. */
fn gyRowQuad(rowStart: u32, ow0: u32) -> vec4<f32> {
  if (p.OW % 4u == 0u) { return vec4<f32>(GY4[(rowStart + ow0) / 4u]); }
  let at = vec4<u32>(ow0) + vec4<u32>(0u, 1u, 2u, 3u);
  let idx = vec4<u32>(rowStart) + min(at, vec4<u32>(p.OW - 1u));
  return select(vec4<f32>(0.0), vec4<f32>(f32(GY[idx.x]), f32(GY[idx.y]), f32(GY[idx.z]), f32(GY[idx.w])), at < vec4<u32>(p.OW));
}

/**
 * Taps j0 .. j0 + 3 of (ci, i) at the 4 pixels ow0 .. ow0 + 3 of one output row (input row ih, first
 * tap's column iw0): the window of 3·SW + 4 neighbours in X, loaded once.
 */
fn windowQuad(n: u32, ci: u32, ih: i32, iw0: i32) -> Quad {
  let rowOk = ih >= 0 && ih < i32(p.H);
  let rowBase = i32((n * p.Cin + ci) * p.H * p.W) + ih * i32(p.W);
  var win: array<f32, 16>;
  for (var d = 0u; d < WINDOW; d++) {
    let iw = iw0 + i32(d);
    let ok = rowOk && iw >= 0 && iw < i32(p.W);
    win[d] = select(0.0, f32(X[select(0u, u32(rowBase + iw), ok)]), ok);
  }
  var x: Quad;
  x.x0 = vec4<f32>(win[0], win[1], win[2], win[3]);
  x.x1 = vec4<f32>(win[SW], win[SW + 1u], win[SW + 2u], win[SW + 3u]);
  x.x2 = vec4<f32>(win[2u * SW], win[2u * SW + 1u], win[2u * SW + 2u], win[2u * SW + 3u]);
  x.x3 = vec4<f32>(win[3u * SW], win[3u * SW + 1u], win[3u * SW + 2u], win[3u * SW + 3u]);
  return x;
}

/** narrowSubgroup's rows per invocation: 4, or 1 for a single out channel (no multiply-adds on copies of it). */
override NARROW_ROWS: u32 = 4u;

@compute @workgroup_size(WGX, 1)
fn narrowSubgroup(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>, @builtin(subgroup_invocation_id) lane: u32) {
  let r0 = wid.y * NARROW_ROWS;
  // The lane's column block: taps j0 .. j0 + 3 of (ci, i); blocks past the last are clamped to it.
  let blocksPerRow = (p.KW + 3u) / 4u;
  let block = min(wid.x * WGX + lid.x, p.Cin * p.KH * blocksPerRow - 1u);
  let j0 = (block % blocksPerRow) * 4u;
  let i = (block / blocksPerRow) % p.KH;
  let ci = block / (blocksPerRow * p.KH);
  let plane = p.OH * p.OW;
  let gyRow = min(r0 + (lane & 3u), p.Cout - 1u) * plane;
  let quadsPerRow = (p.OW + 3u) / 4u;
  let quadsPerImage = p.OH * quadsPerRow;
  let kStart = wid.z * p.kChunk;
  let kEnd = min(p.N * quadsPerImage, kStart + p.kChunk);
  var n = kStart / quadsPerImage;
  var oh = (kStart % quadsPerImage) / quadsPerRow;
  var ow0 = (kStart % quadsPerRow) * 4u;
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  for (var k = kStart; k < kEnd; k++) {
    let x = windowQuad(n, ci, i32(oh * p.SH + i * p.DH) - p.PH, i32(ow0 * SW + j0) - p.PW);
    let g = gyRowQuad(n * p.Cout * plane + gyRow + oh * p.OW, ow0);
    accumulateRow(&acc0, subgroupShuffle(g, 0u), x);
    if (NARROW_ROWS > 1u) {
      accumulateRow(&acc1, subgroupShuffle(g, 1u), x);
      accumulateRow(&acc2, subgroupShuffle(g, 2u), x);
      accumulateRow(&acc3, subgroupShuffle(g, 3u), x);
    }
    ow0 += 4u;
    if (ow0 >= p.OW) {
      ow0 = 0u;
      oh++;
      if (oh == p.OH) { oh = 0u; n++; }
    }
  }
  if (wid.x * WGX + lid.x >= p.Cin * p.KH * blocksPerRow) { return; }
  let columns = p.Cin * p.KH * p.KW;
  let slice = wid.z * p.Cout * columns;
  let c0 = (ci * p.KH + i) * p.KW + j0;
  var acc = array<vec4<f32>, 4>(acc0, acc1, acc2, acc3);
  for (var r = 0u; r < NARROW_ROWS; r++) {
    let co = r0 + r;
    if (co >= p.Cout) { break; }
    for (var t = 0u; t < 4u; t++) {
      if (j0 + t < p.KW) { Partial[slice + co * columns + c0 + t] = acc[r][t]; }
    }
  }
}

/** windowSubgroup's 16 rows of one row block: a<2r> row r0 + 2r, a<2r+1> row r0 + 2r + 1 (lane r loads both). */
struct Rows16 {
  a00: vec4<f32>, a01: vec4<f32>, a02: vec4<f32>, a03: vec4<f32>, a04: vec4<f32>, a05: vec4<f32>, a06: vec4<f32>, a07: vec4<f32>,
  a08: vec4<f32>, a09: vec4<f32>, a10: vec4<f32>, a11: vec4<f32>, a12: vec4<f32>, a13: vec4<f32>, a14: vec4<f32>, a15: vec4<f32>,
}

/** acc += the 16 rows' GY (lane l's ga, gb: rows 2l, 2l + 1) · the quad's X (subgroupBroadcast measured no faster than the shuffles). */
fn accumulateRows16(acc: ptr<function, Rows16>, ga: vec4<f32>, gb: vec4<f32>, x: Quad) {
  accumulateRow(&(*acc).a00, subgroupShuffle(ga, 0u), x);
  accumulateRow(&(*acc).a01, subgroupShuffle(gb, 0u), x);
  accumulateRow(&(*acc).a02, subgroupShuffle(ga, 1u), x);
  accumulateRow(&(*acc).a03, subgroupShuffle(gb, 1u), x);
  accumulateRow(&(*acc).a04, subgroupShuffle(ga, 2u), x);
  accumulateRow(&(*acc).a05, subgroupShuffle(gb, 2u), x);
  accumulateRow(&(*acc).a06, subgroupShuffle(ga, 3u), x);
  accumulateRow(&(*acc).a07, subgroupShuffle(gb, 3u), x);
  accumulateRow(&(*acc).a08, subgroupShuffle(ga, 4u), x);
  accumulateRow(&(*acc).a09, subgroupShuffle(gb, 4u), x);
  accumulateRow(&(*acc).a10, subgroupShuffle(ga, 5u), x);
  accumulateRow(&(*acc).a11, subgroupShuffle(gb, 5u), x);
  accumulateRow(&(*acc).a12, subgroupShuffle(ga, 6u), x);
  accumulateRow(&(*acc).a13, subgroupShuffle(gb, 6u), x);
  accumulateRow(&(*acc).a14, subgroupShuffle(ga, 7u), x);
  accumulateRow(&(*acc).a15, subgroupShuffle(gb, 7u), x);
}

/** Stores the 16 rows r0 .. r0 + 15 (those below Cout) at the lane's taps c0 .. (those below KW from j0). */
fn storeRows16(slice: u32, r0: u32, c0: u32, j0: u32, columns: u32, rows: Rows16) {
  var acc = array<vec4<f32>, 16>(rows.a00, rows.a01, rows.a02, rows.a03, rows.a04, rows.a05, rows.a06, rows.a07, rows.a08, rows.a09, rows.a10, rows.a11, rows.a12, rows.a13, rows.a14, rows.a15);
  for (var r = 0u; r < ROWS; r++) {
    let co = r0 + r;
    if (co >= p.Cout) { break; }
    for (var t = 0u; t < 4u; t++) {
      if (j0 + t < p.KW) { Partial[slice + co * columns + c0 + t] = acc[r][t]; }
    }
  }
}

/** windowSubgroup's rows per invocation (override): 16, or 32 (two blocks of 16 on the same X window: twice the multiply-adds per X load). */
override WINDOW_ROWS: u32 = 16u;

@compute @workgroup_size(WGX, WGY)
fn windowSubgroup(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>, @builtin(subgroup_invocation_id) lane: u32) {
  let r0 = (wid.y * WGY + lid.y) * WINDOW_ROWS;
  let blocksPerRow = (p.KW + 3u) / 4u;
  let blockIndex = wid.x * WGX + lid.x;
  let block = min(blockIndex, p.Cin * p.KH * blocksPerRow - 1u);
  let j0 = (block % blocksPerRow) * 4u;
  let i = (block / blocksPerRow) % p.KH;
  let ci = block / (blocksPerRow * p.KH);
  let plane = p.OH * p.OW;
  // This lane's GY rows: 2·lane and the next in each block of 16 (clamped: rows past Cout are not stored).
  let rowA = min(r0 + 2u * lane, p.Cout - 1u) * plane;
  let rowB = min(r0 + 2u * lane + 1u, p.Cout - 1u) * plane;
  let rowC = min(r0 + ROWS + 2u * lane, p.Cout - 1u) * plane;
  let rowD = min(r0 + ROWS + 2u * lane + 1u, p.Cout - 1u) * plane;
  let quadsPerRow = (p.OW + 3u) / 4u;
  let quadsPerImage = p.OH * quadsPerRow;
  let kStart = wid.z * p.kChunk;
  let kEnd = min(p.N * quadsPerImage, kStart + p.kChunk);
  var n = kStart / quadsPerImage;
  var oh = (kStart % quadsPerImage) / quadsPerRow;
  var ow0 = (kStart % quadsPerRow) * 4u;
  var low = Rows16();
  var high = Rows16();
  for (var k = kStart; k < kEnd; k++) {
    let x = windowQuad(n, ci, i32(oh * p.SH + i * p.DH) - p.PH, i32(ow0 * SW + j0) - p.PW);
    let rowStart = n * p.Cout * plane + oh * p.OW;
    accumulateRows16(&low, gyRowQuad(rowStart + rowA, ow0), gyRowQuad(rowStart + rowB, ow0), x);
    if (WINDOW_ROWS == 32u) { accumulateRows16(&high, gyRowQuad(rowStart + rowC, ow0), gyRowQuad(rowStart + rowD, ow0), x); }
    ow0 += 4u;
    if (ow0 >= p.OW) {
      ow0 = 0u;
      oh++;
      if (oh == p.OH) { oh = 0u; n++; }
    }
  }
  if (blockIndex >= p.Cin * p.KH * blocksPerRow) { return; }
  let columns = p.Cin * p.KH * p.KW;
  let slice = wid.z * p.Cout * columns;
  let c0 = (ci * p.KH + i) * p.KW + j0;
  storeRows16(slice, r0, c0, j0, columns, low);
  if (WINDOW_ROWS == 32u) { storeRows16(slice, r0 + ROWS, c0, j0, columns, high); }
}
