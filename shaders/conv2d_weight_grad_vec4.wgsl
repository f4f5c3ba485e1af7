// conv2d weight gradient with X and GY read as vec4 along the pixels, for the stride-1 shapes where
// 4 neighbouring outputs read 4 neighbouring inputs (conv2d_weight_grad.wgsl does any geometry):
//   GW[co, ci, i, j] = Σ_{n, oh, ow} GY[n, co, oh, ow] · X[n, ci, oh·SH - PH + i·DH, ow - PW + j]
// X [N, Cin, H, W], GY [N, Cout, OH, OW], GW [Cout, Cin, KH, KW], NCHW; a GEMM with M = Cout,
// columns (ci, i, j), K = the N·OH·OW pixels walked a quad of 4 at a time.
// Split-K as conv2d_weight_grad.wgsl: workgroup z sums the pixel quads [z·kChunk, (z + 1)·kChunk)
// into its slice Partial[z] of [splits, Cout, Cin·KH·KW]; the launcher adds the slices.
// Bindings: 0 params, 1 X (read, vec4), 2 GY (read, vec4), 3 Partial (write).
// Why: on software Vulkan every storage load whose address varies per lane costs ~10 instructions;
// registerTiled pays 8 scalar loads per 16 multiply-adds, these 8 vec4 loads per 64 (pointwise),
// 7 per 48 (threeWide), 13 per 144 (threeByThree) or 7 per 80 (fiveWide). Each invocation owns 4 output channels (pointwise: ROWS; a
// WGX x WGY workgroup over columns x channels, set by the launcher).
// Entry points:
//   pointwise — 1 x 1, stride 1, no padding, OH == H, OW == W, H·W % 4 == 0: ROWS (4 or 8) channels
//     x 4 input channels; per quad ROWS vec4 of GY and 4 of X.
//   threeWide — KW == 3, PW == 1, SW == 1, DW == 1 (any KH, SH, PH, DH), OW == W, W % 4 == 0:
//     4 channels x the 3 taps j of one (ci, i); per quad 4 vec4 of GY, and X's quad in row
//     oh·SH - PH + i·DH with its two neighbours, which give the 3 taps' vec4s by swizzles (a
//     neighbour outside the row, or a row outside the input, reads as 0: the padding).
//   threeByThree — threeWide's geometry with KH == 3: 4 channels x one ci's 3 x 3, so each quad's
//     4 vec4 of GY serve all 3 kernel rows (13 loads per 144 multiply-adds; 36 accumulators; 1.1-1.5x
//     threeWide side by side on LightCNN-9's 3×3 layers).
//   fiveWide — KW == 5, PW == 2, SW == 1, DW == 1 (any KH, SH, PH, DH), OW == W, W % 4 == 0:
//     threeWide for 5 taps (LightCNN's conv1): 4 channels x the 5 taps j of one (ci, i), per quad 4
//     vec4 of GY and X's quad with its two neighbours (7 loads per 80 multiply-adds).
// Invariant: a quad of 4 output pixels is one aligned vec4 of its GY row and, shifted by j - PW, of
// the X row it reads; every (pixel, column) pair whose tap lands inside the input is summed once.
// X and GY are Operand (shaders/include/operand.wgsl: f32, or f16 in the `.f16` build), converted to f32 on
// load; a vec4 index counts 4 elements either way (an f16 vec4 is 8 bytes), so the element conditions
// below (H·W % 4, W % 4, ...) are the alignment for both.
//!include conv_geometry
//!include operand
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> X: array<vec4<Operand>>;
@group(0) @binding(2) var<storage, read> GY: array<vec4<Operand>>;
@group(0) @binding(3) var<storage, read_write> Partial: array<f32>;

override WGX: u32 = 16u;
override WGY: u32 = 16u;
// Output channels per invocation in pointwise: 4, or 8 (12 loads per 128 multiply-adds instead of 8 per 64); the other entry points take 4.
override ROWS: u32 = 4u;

/** Output channel co0 + r's offset in a GY plane (clamped: duplicates of the last are not stored). */
fn channelOffsets(co0: u32, planeQuads: u32) -> vec4<u32> {
  return vec4<u32>(min(co0, p.Cout - 1u), min(co0 + 1u, p.Cout - 1u), min(co0 + 2u, p.Cout - 1u), min(co0 + 3u, p.Cout - 1u)) * planeQuads;
}

fn storePointwiseRows(slice: u32, co0: u32, ci0: u32, rows: array<vec4<f32>, 4>) {
  for (var r = 0u; r < 4u; r++) {
    let co = co0 + r;
    if (co >= p.Cout) { break; }
    for (var t = 0u; t < 4u; t++) {
      if (ci0 + t < p.Cin) { Partial[slice + co * p.Cin + ci0 + t] = rows[r][t]; }
    }
  }
}

@compute @workgroup_size(WGX, WGY)
fn pointwise(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let co0 = (wid.y * WGY + lid.y) * ROWS;
  let ci0 = (wid.x * WGX + lid.x) * 4u;
  let planeQuads = (p.H * p.W) / 4u;
  let kStart = wid.z * p.kChunk;
  let kEnd = min(p.N * planeQuads, kStart + p.kChunk);
  // Clamped rows and columns compute duplicates that are not stored.
  let g = channelOffsets(co0, planeQuads);
  let h = channelOffsets(co0 + 4u, planeQuads);
  let x = vec4<u32>(min(ci0, p.Cin - 1u), min(ci0 + 1u, p.Cin - 1u), min(ci0 + 2u, p.Cin - 1u), min(ci0 + 3u, p.Cin - 1u)) * planeQuads;
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  var acc4 = vec4<f32>(0.0);
  var acc5 = vec4<f32>(0.0);
  var acc6 = vec4<f32>(0.0);
  var acc7 = vec4<f32>(0.0);
  var n = kStart / planeQuads;
  var quad = kStart % planeQuads;
  for (var k = kStart; k < kEnd; k++) {
    let gBase = n * p.Cout * planeQuads + quad;
    let xBase = n * p.Cin * planeQuads + quad;
    let x0 = vec4<f32>(X[xBase + x.x]);
    let x1 = vec4<f32>(X[xBase + x.y]);
    let x2 = vec4<f32>(X[xBase + x.z]);
    let x3 = vec4<f32>(X[xBase + x.w]);
    let g0 = vec4<f32>(GY[gBase + g.x]);
    let g1 = vec4<f32>(GY[gBase + g.y]);
    let g2 = vec4<f32>(GY[gBase + g.z]);
    let g3 = vec4<f32>(GY[gBase + g.w]);
    acc0 += vec4<f32>(dot(g0, x0), dot(g0, x1), dot(g0, x2), dot(g0, x3));
    acc1 += vec4<f32>(dot(g1, x0), dot(g1, x1), dot(g1, x2), dot(g1, x3));
    acc2 += vec4<f32>(dot(g2, x0), dot(g2, x1), dot(g2, x2), dot(g2, x3));
    acc3 += vec4<f32>(dot(g3, x0), dot(g3, x1), dot(g3, x2), dot(g3, x3));
    if (ROWS == 8u) {
      let g4 = vec4<f32>(GY[gBase + h.x]);
      let g5 = vec4<f32>(GY[gBase + h.y]);
      let g6 = vec4<f32>(GY[gBase + h.z]);
      let g7 = vec4<f32>(GY[gBase + h.w]);
      acc4 += vec4<f32>(dot(g4, x0), dot(g4, x1), dot(g4, x2), dot(g4, x3));
      acc5 += vec4<f32>(dot(g5, x0), dot(g5, x1), dot(g5, x2), dot(g5, x3));
      acc6 += vec4<f32>(dot(g6, x0), dot(g6, x1), dot(g6, x2), dot(g6, x3));
      acc7 += vec4<f32>(dot(g7, x0), dot(g7, x1), dot(g7, x2), dot(g7, x3));
    }
    quad++;
    if (quad == planeQuads) { quad = 0u; n++; }
  }
  let slice = wid.z * p.Cout * p.Cin;
  storePointwiseRows(slice, co0, ci0, array<vec4<f32>, 4>(acc0, acc1, acc2, acc3));
  if (ROWS == 8u) { storePointwiseRows(slice, co0 + 4u, ci0, array<vec4<f32>, 4>(acc4, acc5, acc6, acc7)); }
}

@compute @workgroup_size(WGX, WGY)
fn threeWide(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let co0 = (wid.y * WGY + lid.y) * 4u;
  let rowsOfTaps = p.Cin * p.KH;
  let tapRow = wid.x * WGX + lid.x;
  let column0 = min(tapRow, rowsOfTaps - 1u) * 3u;
  let ci = min(tapRow, rowsOfTaps - 1u) / p.KH;
  let i = min(tapRow, rowsOfTaps - 1u) % p.KH;
  let rowQuads = p.W / 4u;
  let imageQuads = p.OH * rowQuads;
  let outPlane = imageQuads;
  let inPlane = p.H * rowQuads;
  let kStart = wid.z * p.kChunk;
  let kEnd = min(p.N * imageQuads, kStart + p.kChunk);
  let g = vec4<u32>(min(co0, p.Cout - 1u), min(co0 + 1u, p.Cout - 1u), min(co0 + 2u, p.Cout - 1u), min(co0 + 3u, p.Cout - 1u)) * outPlane;
  let rowOffset = i32(i * p.DH) - p.PH;
  var acc0 = vec3<f32>(0.0);
  var acc1 = vec3<f32>(0.0);
  var acc2 = vec3<f32>(0.0);
  var acc3 = vec3<f32>(0.0);
  var n = kStart / imageQuads;
  var oh = (kStart % imageQuads) / rowQuads;
  var columnQuad = kStart % rowQuads;
  for (var k = kStart; k < kEnd; k++) {
    let ih = i32(oh * p.SH) + rowOffset;
    let rowOk = ih >= 0 && ih < i32(p.H);
    let hasLeft = rowOk && columnQuad > 0u;
    let hasRight = rowOk && columnQuad + 1u < rowQuads;
    // Out-of-row or out-of-input reads use the quad's own (in-bounds) address and are zeroed.
    let xo = (n * p.Cin + ci) * inPlane + u32(select(0, ih, rowOk)) * rowQuads + columnQuad;
    let centre = select(vec4<f32>(0.0), vec4<f32>(X[xo]), rowOk);
    let left = select(vec4<f32>(0.0), vec4<f32>(X[xo - select(0u, 1u, hasLeft)]), hasLeft);
    let right = select(vec4<f32>(0.0), vec4<f32>(X[xo + select(0u, 1u, hasRight)]), hasRight);
    let b0 = vec4<f32>(left.w, centre.xyz);
    let b2 = vec4<f32>(centre.yzw, right.x);
    let gBase = n * p.Cout * outPlane + oh * rowQuads + columnQuad;
    let g0 = vec4<f32>(GY[gBase + g.x]);
    let g1 = vec4<f32>(GY[gBase + g.y]);
    let g2 = vec4<f32>(GY[gBase + g.z]);
    let g3 = vec4<f32>(GY[gBase + g.w]);
    acc0 += vec3<f32>(dot(g0, b0), dot(g0, centre), dot(g0, b2));
    acc1 += vec3<f32>(dot(g1, b0), dot(g1, centre), dot(g1, b2));
    acc2 += vec3<f32>(dot(g2, b0), dot(g2, centre), dot(g2, b2));
    acc3 += vec3<f32>(dot(g3, b0), dot(g3, centre), dot(g3, b2));
    columnQuad++;
    if (columnQuad == rowQuads) {
      columnQuad = 0u;
      oh++;
      if (oh == p.OH) { oh = 0u; n++; }
    }
  }
  if (tapRow >= rowsOfTaps) { return; }
  let columns = rowsOfTaps * 3u;
  let slice = wid.z * p.Cout * columns;
  var rows = array<vec3<f32>, 4>(acc0, acc1, acc2, acc3);
  for (var r = 0u; r < 4u; r++) {
    let co = co0 + r;
    if (co >= p.Cout) { break; }
    for (var j = 0u; j < 3u; j++) { Partial[slice + co * columns + column0 + j] = rows[r][j]; }
  }
}

/** One kernel row's 3 taps for 4 output channels. */
struct TapRow4 { r0: vec3<f32>, r1: vec3<f32>, r2: vec3<f32>, r3: vec3<f32> }

/**
 * Adds one pixel quad's products for kernel row ih (its X quad at offset xo, zeroed when the row is
 * outside the input) to acc: the quad and its neighbours give the 3 taps' vec4s by swizzles.
 */
fn accumulateTapRow(acc: ptr<function, TapRow4>, xo: u32, rowOk: bool, hasLeft: bool, hasRight: bool, g0: vec4<f32>, g1: vec4<f32>, g2: vec4<f32>, g3: vec4<f32>) {
  let centre = select(vec4<f32>(0.0), vec4<f32>(X[xo]), rowOk);
  let left = select(vec4<f32>(0.0), vec4<f32>(X[xo - select(0u, 1u, hasLeft)]), rowOk && hasLeft);
  let right = select(vec4<f32>(0.0), vec4<f32>(X[xo + select(0u, 1u, hasRight)]), rowOk && hasRight);
  let b0 = vec4<f32>(left.w, centre.xyz);
  let b2 = vec4<f32>(centre.yzw, right.x);
  (*acc).r0 += vec3<f32>(dot(g0, b0), dot(g0, centre), dot(g0, b2));
  (*acc).r1 += vec3<f32>(dot(g1, b0), dot(g1, centre), dot(g1, b2));
  (*acc).r2 += vec3<f32>(dot(g2, b0), dot(g2, centre), dot(g2, b2));
  (*acc).r3 += vec3<f32>(dot(g3, b0), dot(g3, centre), dot(g3, b2));
}

@compute @workgroup_size(WGX, WGY)
fn threeByThree(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let co0 = (wid.y * WGY + lid.y) * 4u;
  let ciIndex = wid.x * WGX + lid.x;
  let ci = min(ciIndex, p.Cin - 1u);
  let rowQuads = p.W / 4u;
  let imageQuads = p.OH * rowQuads;
  let inPlane = p.H * rowQuads;
  let kStart = wid.z * p.kChunk;
  let kEnd = min(p.N * imageQuads, kStart + p.kChunk);
  let g = vec4<u32>(min(co0, p.Cout - 1u), min(co0 + 1u, p.Cout - 1u), min(co0 + 2u, p.Cout - 1u), min(co0 + 3u, p.Cout - 1u)) * imageQuads;
  var acc0 = TapRow4();
  var acc1 = TapRow4();
  var acc2 = TapRow4();
  var n = kStart / imageQuads;
  var oh = (kStart % imageQuads) / rowQuads;
  var columnQuad = kStart % rowQuads;
  for (var k = kStart; k < kEnd; k++) {
    let gBase = n * p.Cout * imageQuads + oh * rowQuads + columnQuad;
    let g0 = vec4<f32>(GY[gBase + g.x]);
    let g1 = vec4<f32>(GY[gBase + g.y]);
    let g2 = vec4<f32>(GY[gBase + g.z]);
    let g3 = vec4<f32>(GY[gBase + g.w]);
    let hasLeft = columnQuad > 0u;
    let hasRight = columnQuad + 1u < rowQuads;
    let plane = (n * p.Cin + ci) * inPlane + columnQuad;
    let ih0 = i32(oh * p.SH) - p.PH;
    let ih1 = ih0 + i32(p.DH);
    let ih2 = ih1 + i32(p.DH);
    // A row outside the input reads row 0 (in bounds) and is zeroed.
    let ok0 = ih0 >= 0 && ih0 < i32(p.H);
    let ok1 = ih1 >= 0 && ih1 < i32(p.H);
    let ok2 = ih2 >= 0 && ih2 < i32(p.H);
    accumulateTapRow(&acc0, plane + u32(select(0, ih0, ok0)) * rowQuads, ok0, hasLeft, hasRight, g0, g1, g2, g3);
    accumulateTapRow(&acc1, plane + u32(select(0, ih1, ok1)) * rowQuads, ok1, hasLeft, hasRight, g0, g1, g2, g3);
    accumulateTapRow(&acc2, plane + u32(select(0, ih2, ok2)) * rowQuads, ok2, hasLeft, hasRight, g0, g1, g2, g3);
    columnQuad++;
    if (columnQuad == rowQuads) {
      columnQuad = 0u;
      oh++;
      if (oh == p.OH) { oh = 0u; n++; }
    }
  }
  if (ciIndex >= p.Cin) { return; }
  let columns = p.Cin * 9u;
  let slice = wid.z * p.Cout * columns;
  var taps = array<TapRow4, 3>(acc0, acc1, acc2);
  for (var i = 0u; i < 3u; i++) {
    var rows = array<vec3<f32>, 4>(taps[i].r0, taps[i].r1, taps[i].r2, taps[i].r3);
    for (var r = 0u; r < 4u; r++) {
      let co = co0 + r;
      if (co >= p.Cout) { break; }
      for (var j = 0u; j < 3u; j++) { Partial[slice + co * columns + ci * 9u + i * 3u + j] = rows[r][j]; }
    }
  }
}

/** 4 output channels' sums for 5 taps (one vec4 for taps 0-3, a scalar for tap 4). */
struct TapRow5 { a0: vec4<f32>, a1: vec4<f32>, a2: vec4<f32>, a3: vec4<f32>, b: vec4<f32> }

@compute @workgroup_size(WGX, WGY)
fn fiveWide(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let co0 = (wid.y * WGY + lid.y) * 4u;
  let rowsOfTaps = p.Cin * p.KH;
  let tapRow = wid.x * WGX + lid.x;
  let column0 = min(tapRow, rowsOfTaps - 1u) * 5u;
  let ci = min(tapRow, rowsOfTaps - 1u) / p.KH;
  let i = min(tapRow, rowsOfTaps - 1u) % p.KH;
  let rowQuads = p.W / 4u;
  let imageQuads = p.OH * rowQuads;
  let inPlane = p.H * rowQuads;
  let kStart = wid.z * p.kChunk;
  let kEnd = min(p.N * imageQuads, kStart + p.kChunk);
  let g = vec4<u32>(min(co0, p.Cout - 1u), min(co0 + 1u, p.Cout - 1u), min(co0 + 2u, p.Cout - 1u), min(co0 + 3u, p.Cout - 1u)) * imageQuads;
  let rowOffset = i32(i * p.DH) - p.PH;
  var acc = TapRow5();
  var n = kStart / imageQuads;
  var oh = (kStart % imageQuads) / rowQuads;
  var columnQuad = kStart % rowQuads;
  for (var k = kStart; k < kEnd; k++) {
    let ih = i32(oh * p.SH) + rowOffset;
    let rowOk = ih >= 0 && ih < i32(p.H);
    let hasLeft = rowOk && columnQuad > 0u;
    let hasRight = rowOk && columnQuad + 1u < rowQuads;
    // Out-of-row or out-of-input reads use the quad's own (in-bounds) address and are zeroed.
    let xo = (n * p.Cin + ci) * inPlane + u32(select(0, ih, rowOk)) * rowQuads + columnQuad;
    let centre = select(vec4<f32>(0.0), vec4<f32>(X[xo]), rowOk);
    let left = select(vec4<f32>(0.0), vec4<f32>(X[xo - select(0u, 1u, hasLeft)]), hasLeft);
    let right = select(vec4<f32>(0.0), vec4<f32>(X[xo + select(0u, 1u, hasRight)]), hasRight);
    // Tap j reads the pixels j - 2 to the side of the quad's.
    let b0 = vec4<f32>(left.zw, centre.xy);
    let b1 = vec4<f32>(left.w, centre.xyz);
    let b3 = vec4<f32>(centre.yzw, right.x);
    let b4 = vec4<f32>(centre.zw, right.xy);
    let gBase = n * p.Cout * imageQuads + oh * rowQuads + columnQuad;
    let g0 = vec4<f32>(GY[gBase + g.x]);
    let g1 = vec4<f32>(GY[gBase + g.y]);
    let g2 = vec4<f32>(GY[gBase + g.z]);
    let g3 = vec4<f32>(GY[gBase + g.w]);
    acc.a0 += vec4<f32>(dot(g0, b0), dot(g0, b1), dot(g0, centre), dot(g0, b3));
    acc.a1 += vec4<f32>(dot(g1, b0), dot(g1, b1), dot(g1, centre), dot(g1, b3));
    acc.a2 += vec4<f32>(dot(g2, b0), dot(g2, b1), dot(g2, centre), dot(g2, b3));
    acc.a3 += vec4<f32>(dot(g3, b0), dot(g3, b1), dot(g3, centre), dot(g3, b3));
    acc.b += vec4<f32>(dot(g0, b4), dot(g1, b4), dot(g2, b4), dot(g3, b4));
    columnQuad++;
    if (columnQuad == rowQuads) {
      columnQuad = 0u;
      oh++;
      if (oh == p.OH) { oh = 0u; n++; }
    }
  }
  if (tapRow >= rowsOfTaps) { return; }
  let columns = rowsOfTaps * 5u;
  let slice = wid.z * p.Cout * columns;
  var rows = array<vec4<f32>, 4>(acc.a0, acc.a1, acc.a2, acc.a3);
  for (var r = 0u; r < 4u; r++) {
    let co = co0 + r;
    if (co >= p.Cout) { break; }
    let at = slice + co * columns + column0;
    for (var j = 0u; j < 4u; j++) { Partial[at + j] = rows[r][j]; }
    Partial[at + 4u] = acc.b[r];
  }
}
