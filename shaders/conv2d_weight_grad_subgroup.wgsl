// conv2d weight gradient for conv2d_weight_grad_vec4.wgsl's pointwise and threeByThree geometries
// with GY's loads shared across a subgroup by subgroupBroadcast, and for its fiveWide geometry with KH 5
// with X's shared by subgroupShuffle (needs the device feature 'subgroups'; subgroups of at least 8
// lanes, fiveByFive of exactly 8: its workgroup of 8 is one subgroup):
//   GW[co, ci, i, j] = Σ_{n, oh, ow} GY[n, co, oh, ow] · X[n, ci, oh·SH - PH + i·DH, ow - PW + j]
// X [N, Cin, H, W] and GY [N, Cout, OH, OW] read as vec4 along the pixels; split-K as the vec4
// kernels: workgroup z sums the pixel quads (fiveByFive: output rows) [z·kChunk, (z + 1)·kChunk) into
// Partial[z] of [splits, Cout, Cin·KH·KW]; the launcher adds the slices.
// Bindings: 0 params, 1 X (read, vec4), 2 GY (read, vec4), 3 Partial (write).
// pointwise and threeByThree: each invocation owns 8 output channels (from wid.y alone); a workgroup of WGX invocations
// (override, a multiple of 8; WGY must be 1) spans the input channels. Lane l of a subgroup loads
// GY's quad of channel co0 + (l % 8) and every lane takes the 8 channels' quads by broadcast.
// Entry points:
//   pointwise — 1 x 1, stride 1, no padding, H·W % 4 == 0: 8 channels x 4 input channels; per quad
//     1 load of GY and 4 of X serve 128 multiply-adds (conv2d_weight_grad_vec4's: 8 per 64).
//   threeByThree — KH == KW == 3, PW == 1, SW == 1, DW == 1, OW == W, W % 4 == 0 (any SH, PH, DH):
//     8 channels x one input channel's 3 x 3; per quad 1 load of GY and 9 of X serve 288
//     (conv2d_weight_grad_vec4's: 13 per 144; 1.6-2.2x it on LightCNN-9's 3×3 rows).
//   fiveByFive — fiveWide's geometry with KH == 5 (LightCNN's conv1): 32 output channels per subgroup (4 per lane, from
//     wid.x) x one input channel's 5 x 5 (wid.y), X shared by shuffles instead of GY (see the entry point; workgroups of 8).
// Why: software Vulkan runs each storage load per lane (~10 instructions) even where every lane
//   reads the same address, and a broadcast from a constant lane is a register permute there.
// Uniform control flow up to the stores (subgroup operations need it): clamped channels compute
// duplicates that are not stored, kernel rows outside the input read row 0 and are zeroed.
// Invariant: every stored GW[co, ci, i, j] sums each pixel quad of the slice whose tap lands inside
// the input once.
// X and GY are Operand (shaders/include/operand.wgsl: f32, or f16 in the `.f16` build), converted to f32 on
// load; a vec4 index counts 4 elements either way (an f16 vec4 is 8 bytes), so the element conditions
// below (H·W % 4, W % 4, ...) are the alignment for both.
enable subgroups;
//!include conv_geometry
//!include operand
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> X: array<vec4<Operand>>;
@group(0) @binding(2) var<storage, read> GY: array<vec4<Operand>>;
@group(0) @binding(3) var<storage, read_write> Partial: array<f32>;

override WGX: u32 = 64u;
override WGY: u32 = 1u;

/** acc += the 4 input channels' products with one output channel's quad g. */
fn dot4(g: vec4<f32>, x0: vec4<f32>, x1: vec4<f32>, x2: vec4<f32>, x3: vec4<f32>) -> vec4<f32> {
  return vec4<f32>(dot(g, x0), dot(g, x1), dot(g, x2), dot(g, x3));
}

@compute @workgroup_size(WGX, WGY)
fn pointwise(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>, @builtin(subgroup_invocation_id) lane: u32) {
  let co0 = wid.y * 8u;
  let ci0 = (wid.x * WGX + lid.x) * 4u;
  let planeQuads = (p.H * p.W) / 4u;
  let kStart = wid.z * p.kChunk;
  let kEnd = min(p.N * planeQuads, kStart + p.kChunk);
  let mine = min(co0 + lane % 8u, p.Cout - 1u) * planeQuads;
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
    let xBase = n * p.Cin * planeQuads + quad;
    let x0 = vec4<f32>(X[xBase + x.x]);
    let x1 = vec4<f32>(X[xBase + x.y]);
    let x2 = vec4<f32>(X[xBase + x.z]);
    let x3 = vec4<f32>(X[xBase + x.w]);
    let g = vec4<f32>(GY[n * p.Cout * planeQuads + quad + mine]);
    acc0 += dot4(subgroupBroadcast(g, 0u), x0, x1, x2, x3);
    acc1 += dot4(subgroupBroadcast(g, 1u), x0, x1, x2, x3);
    acc2 += dot4(subgroupBroadcast(g, 2u), x0, x1, x2, x3);
    acc3 += dot4(subgroupBroadcast(g, 3u), x0, x1, x2, x3);
    acc4 += dot4(subgroupBroadcast(g, 4u), x0, x1, x2, x3);
    acc5 += dot4(subgroupBroadcast(g, 5u), x0, x1, x2, x3);
    acc6 += dot4(subgroupBroadcast(g, 6u), x0, x1, x2, x3);
    acc7 += dot4(subgroupBroadcast(g, 7u), x0, x1, x2, x3);
    quad++;
    if (quad == planeQuads) { quad = 0u; n++; }
  }
  let slice = wid.z * p.Cout * p.Cin;
  var rows = array<vec4<f32>, 8>(acc0, acc1, acc2, acc3, acc4, acc5, acc6, acc7);
  for (var r = 0u; r < 8u; r++) {
    let co = co0 + r;
    if (co >= p.Cout) { break; }
    for (var t = 0u; t < 4u; t++) {
      if (ci0 + t < p.Cin) { Partial[slice + co * p.Cin + ci0 + t] = rows[r][t]; }
    }
  }
}

/** One kernel row's 3 taps for 4 output channels. */
struct TapRow4 { r0: vec3<f32>, r1: vec3<f32>, r2: vec3<f32>, r3: vec3<f32> }

/** acc += the 3 taps' quads (b0, centre, b2) times 4 channels' gy quads. */
fn accumulateTaps(acc: ptr<function, TapRow4>, b0: vec4<f32>, centre: vec4<f32>, b2: vec4<f32>, g0: vec4<f32>, g1: vec4<f32>, g2: vec4<f32>, g3: vec4<f32>) {
  (*acc).r0 += vec3<f32>(dot(g0, b0), dot(g0, centre), dot(g0, b2));
  (*acc).r1 += vec3<f32>(dot(g1, b0), dot(g1, centre), dot(g1, b2));
  (*acc).r2 += vec3<f32>(dot(g2, b0), dot(g2, centre), dot(g2, b2));
  (*acc).r3 += vec3<f32>(dot(g3, b0), dot(g3, centre), dot(g3, b2));
}

/** Kernel row ih's quad at xo and its neighbours as the 3 taps' quads (zero outside the input). */
struct Taps3 { b0: vec4<f32>, centre: vec4<f32>, b2: vec4<f32> }

fn tapsAt(xo: u32, rowOk: bool, hasLeft: bool, hasRight: bool) -> Taps3 {
  let centre = select(vec4<f32>(0.0), vec4<f32>(X[xo]), rowOk);
  let left = select(vec4<f32>(0.0), vec4<f32>(X[xo - select(0u, 1u, hasLeft)]), rowOk && hasLeft);
  let right = select(vec4<f32>(0.0), vec4<f32>(X[xo + select(0u, 1u, hasRight)]), rowOk && hasRight);
  return Taps3(vec4<f32>(left.w, centre.xyz), centre, vec4<f32>(centre.yzw, right.x));
}

fn storeTaps(slice: u32, co0: u32, ci: u32, i: u32, acc: TapRow4) {
  let columns = p.Cin * 9u;
  var rows = array<vec3<f32>, 4>(acc.r0, acc.r1, acc.r2, acc.r3);
  for (var r = 0u; r < 4u; r++) {
    let co = co0 + r;
    if (co >= p.Cout) { break; }
    for (var j = 0u; j < 3u; j++) { Partial[slice + co * columns + ci * 9u + i * 3u + j] = rows[r][j]; }
  }
}

// conv2d_weight_grad_vec4's threeByThree geometry (KH == KW == 3, PW == 1, SW == 1, DW == 1, OW == W,
// W % 4 == 0; any SH, PH, DH): 8 output channels (wid.y) x one input channel's 3 x 3 per invocation,
// lanes along the input channels; per quad 1 load of GY (lane l: channel co0 + l % 8) and 9 of X
// serve 288 multiply-adds (threeByThree: 4 + 9 per 144).
@compute @workgroup_size(WGX, WGY)
fn threeByThree(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>, @builtin(subgroup_invocation_id) lane: u32) {
  let co0 = wid.y * 8u;
  let ciIndex = wid.x * WGX + lid.x;
  let ci = min(ciIndex, p.Cin - 1u);
  let rowQuads = p.W / 4u;
  let imageQuads = p.OH * rowQuads;
  let inPlane = p.H * rowQuads;
  let kStart = wid.z * p.kChunk;
  let kEnd = min(p.N * imageQuads, kStart + p.kChunk);
  let mine = min(co0 + lane % 8u, p.Cout - 1u) * imageQuads;
  var low0 = TapRow4();
  var low1 = TapRow4();
  var low2 = TapRow4();
  var high0 = TapRow4();
  var high1 = TapRow4();
  var high2 = TapRow4();
  var n = kStart / imageQuads;
  var oh = (kStart % imageQuads) / rowQuads;
  var columnQuad = kStart % rowQuads;
  for (var k = kStart; k < kEnd; k++) {
    let g = vec4<f32>(GY[n * p.Cout * imageQuads + oh * rowQuads + columnQuad + mine]);
    let g0 = subgroupBroadcast(g, 0u);
    let g1 = subgroupBroadcast(g, 1u);
    let g2 = subgroupBroadcast(g, 2u);
    let g3 = subgroupBroadcast(g, 3u);
    let g4 = subgroupBroadcast(g, 4u);
    let g5 = subgroupBroadcast(g, 5u);
    let g6 = subgroupBroadcast(g, 6u);
    let g7 = subgroupBroadcast(g, 7u);
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
    let t0 = tapsAt(plane + u32(select(0, ih0, ok0)) * rowQuads, ok0, hasLeft, hasRight);
    let t1 = tapsAt(plane + u32(select(0, ih1, ok1)) * rowQuads, ok1, hasLeft, hasRight);
    let t2 = tapsAt(plane + u32(select(0, ih2, ok2)) * rowQuads, ok2, hasLeft, hasRight);
    accumulateTaps(&low0, t0.b0, t0.centre, t0.b2, g0, g1, g2, g3);
    accumulateTaps(&low1, t1.b0, t1.centre, t1.b2, g0, g1, g2, g3);
    accumulateTaps(&low2, t2.b0, t2.centre, t2.b2, g0, g1, g2, g3);
    accumulateTaps(&high0, t0.b0, t0.centre, t0.b2, g4, g5, g6, g7);
    accumulateTaps(&high1, t1.b0, t1.centre, t1.b2, g4, g5, g6, g7);
    accumulateTaps(&high2, t2.b0, t2.centre, t2.b2, g4, g5, g6, g7);
    columnQuad++;
    if (columnQuad == rowQuads) {
      columnQuad = 0u;
      oh++;
      if (oh == p.OH) { oh = 0u; n++; }
    }
  }
  if (ciIndex >= p.Cin) { return; }
  let slice = wid.z * p.Cout * p.Cin * 9u;
  storeTaps(slice, co0, ci, 0u, low0);
  storeTaps(slice, co0, ci, 1u, low1);
  storeTaps(slice, co0, ci, 2u, low2);
  storeTaps(slice, co0 + 4u, ci, 0u, high0);
  storeTaps(slice, co0 + 4u, ci, 1u, high1);
  storeTaps(slice, co0 + 4u, ci, 2u, high2);
}

/** One kernel row's 5 taps j (t0 .. t4) for 4 output channels (the components). */
struct FiveTapRow { t0: vec4<f32>, t1: vec4<f32>, t2: vec4<f32>, t3: vec4<f32>, t4: vec4<f32> }

/** The 4 channels' gy quads' products with one tap's X quad b. */
fn channelDots(b: vec4<f32>, g0: vec4<f32>, g1: vec4<f32>, g2: vec4<f32>, g3: vec4<f32>) -> vec4<f32> {
  return vec4<f32>(dot(g0, b), dot(g1, b), dot(g2, b), dot(g3, b));
}

/** acc += one kernel row's 5 taps (read from the quads left, centre, right: tap j meets the pixels j - 2 to the side) times 4 channels' gy quads. */
fn accumulateFiveTaps(acc: ptr<function, FiveTapRow>, left: vec4<f32>, centre: vec4<f32>, right: vec4<f32>, g0: vec4<f32>, g1: vec4<f32>, g2: vec4<f32>, g3: vec4<f32>) {
  (*acc).t0 += channelDots(vec4<f32>(left.zw, centre.xy), g0, g1, g2, g3);
  (*acc).t1 += channelDots(vec4<f32>(left.w, centre.xyz), g0, g1, g2, g3);
  (*acc).t2 += channelDots(centre, g0, g1, g2, g3);
  (*acc).t3 += channelDots(vec4<f32>(centre.yzw, right.x), g0, g1, g2, g3);
  (*acc).t4 += channelDots(vec4<f32>(centre.zw, right.xy), g0, g1, g2, g3);
}

/** Kernel row i's 5 taps of channels co0 .. co0 + 3 into slice `slice` (channels past Cout are not stored). */
fn storeFiveTaps(slice: u32, co0: u32, ci: u32, i: u32, acc: FiveTapRow) {
  let columns = p.Cin * 25u;
  for (var r = 0u; r < 4u; r++) {
    let co = co0 + r;
    if (co >= p.Cout) { break; }
    let at = slice + co * columns + ci * 25u + i * 5u;
    Partial[at] = acc.t0[r];
    Partial[at + 1u] = acc.t1[r];
    Partial[at + 2u] = acc.t2[r];
    Partial[at + 3u] = acc.t3[r];
    Partial[at + 4u] = acc.t4[r];
  }
}

// conv2d_weight_grad_vec4's fiveWide geometry with KH == 5 (KW == 5, PW == 2, SW == 1, DW == 1, OW == W, W % 4 == 0;
// any SH, PH, DH): LightCNN's conv1 (1→96 5×5, one input channel, so lanes along the input channels as threeByThree's
// would idle). A subgroup of 8 lanes walks the same pixel quads of one input channel (wid.y): lane l owns output channels
// co0 + 4l .. + 3 (co0 = 32·wid.x) and all 25 taps; kChunk counts output rows (n, oh). Along a row each lane loads the
// next quad of kernel row min(l, 4)'s X row (the quad to the right) and every lane takes the 5 rows' quads by shuffles,
// sliding left ← centre ← right: per quad 1 X load, 5 shuffles and 4 GY loads serve 400 multiply-adds (fiveWide: 7 loads
// per 80).
@compute @workgroup_size(8)
fn fiveByFive(@builtin(workgroup_id) wid: vec3<u32>, @builtin(subgroup_invocation_id) lane: u32) {
  let co0 = wid.x * 32u + 4u * lane;
  let ci = wid.y;
  let rowQuads = p.W / 4u;
  let imageQuads = p.OH * rowQuads;
  let inPlane = p.H * rowQuads;
  let rowStart = wid.z * p.kChunk;
  let rowEnd = min(p.N * p.OH, rowStart + p.kChunk);
  // GY offsets of this lane's 4 channels (clamped: duplicates of the last are computed and not stored).
  let g = vec4<u32>(min(co0, p.Cout - 1u), min(co0 + 1u, p.Cout - 1u), min(co0 + 2u, p.Cout - 1u), min(co0 + 3u, p.Cout - 1u)) * imageQuads;
  let myRowOffset = i32(min(lane, 4u) * p.DH) - p.PH;
  var acc0 = FiveTapRow();
  var acc1 = FiveTapRow();
  var acc2 = FiveTapRow();
  var acc3 = FiveTapRow();
  var acc4 = FiveTapRow();
  let zero = vec4<f32>(0.0);
  for (var row = rowStart; row < rowEnd; row++) {
    let n = row / p.OH;
    let oh = row % p.OH;
    let ih = i32(oh * p.SH) + myRowOffset;
    let rowOk = (ih >= 0) & (ih < i32(p.H));
    // A kernel row outside the input reads row 0 (in bounds) and is zeroed.
    let xRow = (n * p.Cin + ci) * inPlane + u32(select(0, ih, rowOk)) * rowQuads;
    let gRow = n * p.Cout * imageQuads + oh * rowQuads;
    let first = select(zero, vec4<f32>(X[xRow]), rowOk);
    var centre0 = subgroupShuffle(first, 0u);
    var centre1 = subgroupShuffle(first, 1u);
    var centre2 = subgroupShuffle(first, 2u);
    var centre3 = subgroupShuffle(first, 3u);
    var centre4 = subgroupShuffle(first, 4u);
    var left0 = zero;
    var left1 = zero;
    var left2 = zero;
    var left3 = zero;
    var left4 = zero;
    for (var c = 0u; c < rowQuads; c++) {
      let hasRight = rowOk & (c + 1u < rowQuads);
      let next = select(zero, vec4<f32>(X[xRow + min(c + 1u, rowQuads - 1u)]), hasRight);
      let right0 = subgroupShuffle(next, 0u);
      let right1 = subgroupShuffle(next, 1u);
      let right2 = subgroupShuffle(next, 2u);
      let right3 = subgroupShuffle(next, 3u);
      let right4 = subgroupShuffle(next, 4u);
      let gQuad = gRow + c;
      let g0 = vec4<f32>(GY[gQuad + g.x]);
      let g1 = vec4<f32>(GY[gQuad + g.y]);
      let g2 = vec4<f32>(GY[gQuad + g.z]);
      let g3 = vec4<f32>(GY[gQuad + g.w]);
      accumulateFiveTaps(&acc0, left0, centre0, right0, g0, g1, g2, g3);
      accumulateFiveTaps(&acc1, left1, centre1, right1, g0, g1, g2, g3);
      accumulateFiveTaps(&acc2, left2, centre2, right2, g0, g1, g2, g3);
      accumulateFiveTaps(&acc3, left3, centre3, right3, g0, g1, g2, g3);
      accumulateFiveTaps(&acc4, left4, centre4, right4, g0, g1, g2, g3);
      left0 = centre0;
      left1 = centre1;
      left2 = centre2;
      left3 = centre3;
      left4 = centre4;
      centre0 = right0;
      centre1 = right1;
      centre2 = right2;
      centre3 = right3;
      centre4 = right4;
    }
  }
  let slice = wid.z * p.Cout * p.Cin * 25u;
  storeFiveTaps(slice, co0, ci, 0u, acc0);
  storeFiveTaps(slice, co0, ci, 1u, acc1);
  storeFiveTaps(slice, co0, ci, 2u, acc2);
  storeFiveTaps(slice, co0, ci, 3u, acc3);
  storeFiveTaps(slice, co0, ci, 4u, acc4);
}
