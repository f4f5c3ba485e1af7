// conv2d forward over packed weights (shaders/conv_pack_weights.wgsl) that the lanes of a subgroup
// load once between them and share by subgroupBroadcast (needs the device feature 'subgroups' and
// subgroups of at least 8 lanes), for conv2d_vec4.wgsl's pointwise, threeWidePair and fiveWidePair geometries;
// also conv2d's input gradient at stride 1 (the launcher passes the transposed geometry and packing):
//   Y[n, r, oh, ow] = Bias[r] + Σ_{ci, i, j} X[n, ci, oh·SH - PH + i·DH, ow - PW + j] · A[r, (ci, i, j)].
// X [N, Cin, H, W] as vec4, Packed [K][packedWidth] vec4, Y [N, Cout, OH, OW] (or [N, Cout/2, OH, OW]
// under mfm), NCHW.
// Bindings: 0 params, 1 X (read, vec4), 2 Packed (read), 3 Bias (read; used when hasBias == 1),
//   4 Y (write), 5 Mask (write; used when p.mfm == 1) — conv2d_vec4.wgsl's table.
// All entry points: ROWS (override: 4 or 8) rows per invocation unless said otherwise; a workgroup of WGX invocations
//   (override, a multiple of the subgroup size; WGY must be 1) shares one block of rows (wid.y), so
//   every lane of a subgroup needs the same weights.
//   pointwise — 1 x 1, stride 1, no padding, H·W % 4 == 0: one pixel quad per invocation; the 8
//     lanes load the weights of 8 / (ROWS / 4) input channels in one load, beside 1 vec4 of X per
//     channel (ROWS 8: 5 loads per 128 multiply-adds; conv2d_vec4's pointwise: 12).
//   fiveWidePair — KW == 5, PW == 2, SW == 1, DW == 1, OW == W, W % 8 == 0 (any KH, SH, PH, DH):
//     two neighbouring pixel quads per invocation, as conv2d_vec4's fiveWidePair.
//   threeWidePair — conv2d_vec4's threeWidePair geometry, ROWS rows x two quads: 1 weight load per
//     (ci, i) instead of 3·ROWS/4 (ROWS 4: 1.0-1.5x conv2d_vec4's on LightCNN-9's 3×3 rows).
//   fiveWideRow — fiveWidePair's geometry with W % 16 == 0 and one GEMM row, no mfm: 1 row x 4
//     neighbouring quads per invocation (ROWS not used).
// Why: software Vulkan (lavapipe: a subgroup is the 8-lane SIMD vector) runs every storage load per
//   lane, ~10 instructions each, even where all lanes read one address (uniform buffers too, in
//   Mesa 25.0's machine code); a broadcast from a constant lane is a register permute. Per (ci, i)
//   an invocation needs 5·ROWS/4 weight vec4s: its lanes load them in ceil(5·ROWS/32) loads instead
//   of 5·ROWS/4, beside the 4 vec4 loads of X.
// Uniform control flow throughout (subgroup operations need it): rows outside the input are read
// clamped and zeroed, channels past the last read clamped and zeroed, pixels past the end repeat
// the last span and store nothing.
// Invariant: every accumulator sums exactly the taps that land inside the input, each weight taken
// from the lane that loaded it (all lanes of a subgroup share wid.y and the loop iteration).
// X is Operand (shaders/include/operand.wgsl: f32, or f16 in the `.f16` build), converted to f32 on
// load; a vec4 index counts 4 elements either way (an f16 vec4 is 8 bytes), so the element conditions
// below (H·W % 4, W % 4, ...) are the alignment for both.
enable subgroups;
//!include conv_geometry
//!include gemm_core
//!include operand
//!include stored
//!include half_bits
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> X: array<vec4<Operand>>;
@group(0) @binding(2) var<storage, read> Packed: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> Bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> Y: array<Stored>;
@group(0) @binding(5) var<storage, read_write> Mask: array<u32>;
//!include conv_epilogue
//!include mfm_pair
//!include is_nan
//!include row_span

override ROWS: u32 = 8u;

/** One (ci, i)'s weights: 5 taps of ROWS / 4 blocks of 4 rows, tap t of block b at index 5·b + t. */
struct FiveTaps { w: array<vec4<f32>, 10> }

/**
 * The weights of taps 0-4 of row blocks 0 .. ROWS/4 - 1 at wk (taps tapStep apart, blocks 1 apart):
 * lane l loads index l % 8 (and l % 8 + 8), every lane takes each index from the lane that loaded it.
 */
fn loadFiveTaps(wk: u32, tapStep: u32, lane: u32) -> FiveTaps {
  var taps: FiveTaps;
  let count = 5u * (ROWS / 4u);
  let mine = min(lane % 8u, count - 1u);
  let low = Packed[wk + mine / 5u + (mine % 5u) * tapStep];
  taps.w[0] = subgroupBroadcast(low, 0u);
  taps.w[1] = subgroupBroadcast(low, 1u);
  taps.w[2] = subgroupBroadcast(low, 2u);
  taps.w[3] = subgroupBroadcast(low, 3u);
  taps.w[4] = subgroupBroadcast(low, 4u);
  if (ROWS == 8u) {
    let extra = min(lane % 8u + 8u, count - 1u);
    let high = Packed[wk + extra / 5u + (extra % 5u) * tapStep];
    taps.w[5] = subgroupBroadcast(low, 5u);
    taps.w[6] = subgroupBroadcast(low, 6u);
    taps.w[7] = subgroupBroadcast(low, 7u);
    taps.w[8] = subgroupBroadcast(high, 0u);
    taps.w[9] = subgroupBroadcast(high, 1u);
  }
  return taps;
}

/** Adds one (ci, i)'s 5 taps of 4 rows (block b of taps) to both quads' sums. */
fn accumulateFiveTaps(accA: ptr<function, Acc4x4>, accB: ptr<function, Acc4x4>, w0: vec4<f32>, w1: vec4<f32>, w2: vec4<f32>, w3: vec4<f32>, w4: vec4<f32>, left: vec4<f32>, first: vec4<f32>, second: vec4<f32>, right: vec4<f32>) {
  // Tap j reads the pixels j - 2 to the side: quad A's last tap is quad B's first.
  let middle = vec4<f32>(first.zw, second.xy);
  outerAccumulate(accA, w0, vec4<f32>(left.zw, first.xy));
  outerAccumulate(accA, w1, vec4<f32>(left.w, first.xyz));
  outerAccumulate(accA, w2, first);
  outerAccumulate(accA, w3, vec4<f32>(first.yzw, second.x));
  outerAccumulate(accA, w4, middle);
  outerAccumulate(accB, w0, middle);
  outerAccumulate(accB, w1, vec4<f32>(first.w, second.xyz));
  outerAccumulate(accB, w2, second);
  outerAccumulate(accB, w3, vec4<f32>(second.yzw, right.x));
  outerAccumulate(accB, w4, vec4<f32>(second.zw, right.xy));
}

@compute @workgroup_size(WGX, WGY)
fn fiveWidePair(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>,
                @builtin(subgroup_invocation_id) lane: u32) {
  let quad0 = wid.y * (ROWS / 4u);
  let r0 = wid.y * ROWS;
  let pairIndex = wid.x * WGX + lid.x;
  let at = rowSpan(pairIndex, 2u);
  let leftStep = select(0u, 1u, at.hasLeft);
  let rightStep = select(1u, 2u, at.hasRight);
  let tapStep = p.packedWidth;
  let channelStep = p.KH * 5u * p.packedWidth;
  let zero = vec4<f32>(0.0);
  var accA0 = Acc4x4();
  var accB0 = Acc4x4();
  var accA1 = Acc4x4();
  var accB1 = Acc4x4();
  for (var i = 0u; i < p.KH; i++) {
    let ih = i32(at.oh * p.SH + i * p.DH) - p.PH;
    let rowOk = ih >= 0 && ih < i32(p.H);
    var xo = at.imageBase + u32(select(0, ih, rowOk)) * at.rowQuads;
    var wk = i * 5u * p.packedWidth + quad0;
    for (var ci = 0u; ci < p.Cin; ci++) {
      let first = select(zero, vec4<f32>(X[xo]), rowOk);
      let second = select(zero, vec4<f32>(X[xo + 1u]), rowOk);
      let left = select(zero, vec4<f32>(X[xo - leftStep]), rowOk && at.hasLeft);
      let right = select(zero, vec4<f32>(X[xo + rightStep]), rowOk && at.hasRight);
      let taps = loadFiveTaps(wk, tapStep, lane);
      accumulateFiveTaps(&accA0, &accB0, taps.w[0], taps.w[1], taps.w[2], taps.w[3], taps.w[4], left, first, second, right);
      if (ROWS == 8u) { accumulateFiveTaps(&accA1, &accB1, taps.w[5], taps.w[6], taps.w[7], taps.w[8], taps.w[9], left, first, second, right); }
      wk += channelStep;
      xo += at.planeQuads;
    }
  }
  storeBlock(r0, pairIndex * 8u, accA0);
  storeBlock(r0, pairIndex * 8u + 4u, accB0);
  if (ROWS == 8u) {
    storeBlock(r0 + 4u, pairIndex * 8u, accA1);
    storeBlock(r0 + 4u, pairIndex * 8u + 4u, accB1);
  }
}

/** X's quad of channel ci at image offset xImage, 0 past the last channel (read clamped). */
fn channelQuad(xImage: u32, ci: u32, planeQuads: u32) -> vec4<f32> {
  return select(vec4<f32>(0.0), vec4<f32>(X[xImage + min(ci, p.Cin - 1u) * planeQuads]), ci < p.Cin);
}

@compute @workgroup_size(WGX, WGY)
fn pointwise(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>, @builtin(subgroup_invocation_id) lane: u32) {
  // Lane l loads block l % blocks of channel ci0 + l / blocks: 8 lanes cover 8 / blocks channels.
  let blocks = ROWS / 4u;
  let quad0 = wid.y * blocks;
  let r0 = wid.y * ROWS;
  let pixelQuad = wid.x * WGX + lid.x;
  let planeQuads = (p.H * p.W) / 4u;
  // Clamped: the last invocations repeat the last quad and store nothing.
  let q = min(pixelQuad, p.N * planeQuads - 1u);
  let xImage = (q / planeQuads) * p.Cin * planeQuads + q % planeQuads;
  let myChannel = (lane % 8u) / blocks;
  let myBlock = lane % blocks;
  var acc0 = Acc4x4();
  var acc1 = Acc4x4();
  for (var ci0 = 0u; ci0 < p.Cin; ci0 += 8u / blocks) {
    let w = Packed[min(ci0 + myChannel, p.Cin - 1u) * p.packedWidth + quad0 + myBlock];
    let b0 = channelQuad(xImage, ci0, planeQuads);
    let b1 = channelQuad(xImage, ci0 + 1u, planeQuads);
    let b2 = channelQuad(xImage, ci0 + 2u, planeQuads);
    let b3 = channelQuad(xImage, ci0 + 3u, planeQuads);
    if (ROWS == 8u) {
      outerAccumulate(&acc0, subgroupBroadcast(w, 0u), b0);
      outerAccumulate(&acc1, subgroupBroadcast(w, 1u), b0);
      outerAccumulate(&acc0, subgroupBroadcast(w, 2u), b1);
      outerAccumulate(&acc1, subgroupBroadcast(w, 3u), b1);
      outerAccumulate(&acc0, subgroupBroadcast(w, 4u), b2);
      outerAccumulate(&acc1, subgroupBroadcast(w, 5u), b2);
      outerAccumulate(&acc0, subgroupBroadcast(w, 6u), b3);
      outerAccumulate(&acc1, subgroupBroadcast(w, 7u), b3);
    } else {
      outerAccumulate(&acc0, subgroupBroadcast(w, 0u), b0);
      outerAccumulate(&acc0, subgroupBroadcast(w, 1u), b1);
      outerAccumulate(&acc0, subgroupBroadcast(w, 2u), b2);
      outerAccumulate(&acc0, subgroupBroadcast(w, 3u), b3);
      outerAccumulate(&acc0, subgroupBroadcast(w, 4u), channelQuad(xImage, ci0 + 4u, planeQuads));
      outerAccumulate(&acc0, subgroupBroadcast(w, 5u), channelQuad(xImage, ci0 + 5u, planeQuads));
      outerAccumulate(&acc0, subgroupBroadcast(w, 6u), channelQuad(xImage, ci0 + 6u, planeQuads));
      outerAccumulate(&acc0, subgroupBroadcast(w, 7u), channelQuad(xImage, ci0 + 7u, planeQuads));
    }
  }
  storeBlock(r0, pixelQuad * TN, acc0);
  if (ROWS == 8u) { storeBlock(r0 + 4u, pixelQuad * TN, acc1); }
}

/** Adds tap weights w (taps 0-4) times the 5 taps' vec4s of quad `centre` (neighbours before and after) to acc. */
fn accumulateRowQuad(acc: ptr<function, vec4<f32>>, w0: f32, w1: f32, w2: f32, w3: f32, w4: f32, before: vec4<f32>, centre: vec4<f32>, after: vec4<f32>) {
  *acc += w0 * vec4<f32>(before.zw, centre.xy) + w1 * vec4<f32>(before.w, centre.xyz) + w2 * centre
    + w3 * vec4<f32>(centre.yzw, after.x) + w4 * vec4<f32>(centre.zw, after.xy);
}

// fiveWidePair's geometry with W % 16 == 0 and a single GEMM row (conv1's input gradient: Cin = 1),
// no mfm: one row (wid.y) x four neighbouring pixel quads per invocation, so no multiply-add is
// spent on the zero rows of a 4-row block; per (ci, i) 6 vec4 loads of X and 1 of weights serve 80.
@compute @workgroup_size(WGX, WGY)
fn fiveWideRow(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>, @builtin(subgroup_invocation_id) lane: u32) {
  let r = wid.y;
  let spanIndex = wid.x * WGX + lid.x;
  let at = rowSpan(spanIndex, 4u);
  let leftStep = select(0u, 1u, at.hasLeft);
  let rightStep = select(3u, 4u, at.hasRight);
  let tapStep = p.packedWidth;
  let channelStep = p.KH * 5u * p.packedWidth;
  let component = r % 4u;
  let zero = vec4<f32>(0.0);
  var acc0 = zero;
  var acc1 = zero;
  var acc2 = zero;
  var acc3 = zero;
  for (var i = 0u; i < p.KH; i++) {
    let ih = i32(at.oh * p.SH + i * p.DH) - p.PH;
    let rowOk = ih >= 0 && ih < i32(p.H);
    var xo = at.imageBase + u32(select(0, ih, rowOk)) * at.rowQuads;
    var wk = i * 5u * p.packedWidth + r / 4u;
    for (var ci = 0u; ci < p.Cin; ci++) {
      let q0 = select(zero, vec4<f32>(X[xo]), rowOk);
      let q1 = select(zero, vec4<f32>(X[xo + 1u]), rowOk);
      let q2 = select(zero, vec4<f32>(X[xo + 2u]), rowOk);
      let q3 = select(zero, vec4<f32>(X[xo + 3u]), rowOk);
      let left = select(zero, vec4<f32>(X[xo - leftStep]), rowOk && at.hasLeft);
      let right = select(zero, vec4<f32>(X[xo + rightStep]), rowOk && at.hasRight);
      // Lane l loads tap l % 5's 4 rows; the row's weight is one component of each.
      let mine = Packed[wk + ((lane % 8u) % 5u) * tapStep];
      let w0 = subgroupBroadcast(mine, 0u)[component];
      let w1 = subgroupBroadcast(mine, 1u)[component];
      let w2 = subgroupBroadcast(mine, 2u)[component];
      let w3 = subgroupBroadcast(mine, 3u)[component];
      let w4 = subgroupBroadcast(mine, 4u)[component];
      accumulateRowQuad(&acc0, w0, w1, w2, w3, w4, left, q0, q1);
      accumulateRowQuad(&acc1, w0, w1, w2, w3, w4, q0, q1, q2);
      accumulateRowQuad(&acc2, w0, w1, w2, w3, w4, q1, q2, q3);
      accumulateRowQuad(&acc3, w0, w1, w2, w3, w4, q2, q3, right);
      wk += channelStep;
      xo += at.planeQuads;
    }
  }
  let plane = p.OH * p.OW;
  storeRow(r, pixelAt(spanIndex * 16u, plane), acc0);
  storeRow(r, pixelAt(spanIndex * 16u + 4u, plane), acc1);
  storeRow(r, pixelAt(spanIndex * 16u + 8u, plane), acc2);
  storeRow(r, pixelAt(spanIndex * 16u + 12u, plane), acc3);
}

// conv2d_vec4's threeWidePair geometry (KW == 3, PW == 1, SW == 1, DW == 1, OW == W, W % 8 == 0):
// ROWS rows (ROWS / 4 blocks from wid.y·ROWS / 4) x two neighbouring quads per invocation; per (ci, i)
// lanes 0 .. 3·ROWS/4 - 1 load the taps' weights for every lane (lane l: block l / 3, tap l % 3): 4 vec4
// loads of X and 1 of weights serve 24·ROWS multiply-adds (ROWS 4: 96, ROWS 8: 192; conv2d_vec4's
// threeWidePair: 4 and 3 for 96).
@compute @workgroup_size(WGX, WGY)
fn threeWidePair(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>, @builtin(subgroup_invocation_id) lane: u32) {
  let quad0 = wid.y * (ROWS / 4u);
  let r0 = wid.y * ROWS;
  let pairIndex = wid.x * WGX + lid.x;
  let at = rowSpan(pairIndex, 2u);
  let leftStep = select(0u, 1u, at.hasLeft);
  let rightStep = select(1u, 2u, at.hasRight);
  let tapStep = p.packedWidth;
  let channelStep = p.KH * 3u * p.packedWidth;
  let mine = min(lane % 8u, 3u * (ROWS / 4u) - 1u);
  let myWeight = mine / 3u + (mine % 3u) * tapStep;
  let zero = vec4<f32>(0.0);
  var accA = Acc4x4();
  var accB = Acc4x4();
  var accA1 = Acc4x4();
  var accB1 = Acc4x4();
  for (var i = 0u; i < p.KH; i++) {
    let ih = i32(at.oh * p.SH + i * p.DH) - p.PH;
    let rowOk = (ih >= 0) & (ih < i32(p.H));
    var xo = at.imageBase + u32(select(0, ih, rowOk)) * at.rowQuads;
    var wk = i * 3u * p.packedWidth + quad0;
    for (var ci = 0u; ci < p.Cin; ci++) {
      let first = select(zero, vec4<f32>(X[xo]), rowOk);
      let second = select(zero, vec4<f32>(X[xo + 1u]), rowOk);
      let left = select(zero, vec4<f32>(X[xo - leftStep]), rowOk & at.hasLeft);
      let right = select(zero, vec4<f32>(X[xo + rightStep]), rowOk & at.hasRight);
      // The taps' shifted quads, shared by both blocks of rows.
      let a0 = vec4<f32>(left.w, first.xyz);
      let a2 = vec4<f32>(first.yzw, second.x);
      let b0 = vec4<f32>(first.w, second.xyz);
      let b2 = vec4<f32>(second.yzw, right.x);
      let weights = Packed[wk + myWeight];
      let w0 = subgroupBroadcast(weights, 0u);
      let w1 = subgroupBroadcast(weights, 1u);
      let w2 = subgroupBroadcast(weights, 2u);
      outerAccumulate(&accA, w0, a0);
      outerAccumulate(&accA, w1, first);
      outerAccumulate(&accA, w2, a2);
      outerAccumulate(&accB, w0, b0);
      outerAccumulate(&accB, w1, second);
      outerAccumulate(&accB, w2, b2);
      if (ROWS == 8u) {
        let v0 = subgroupBroadcast(weights, 3u);
        let v1 = subgroupBroadcast(weights, 4u);
        let v2 = subgroupBroadcast(weights, 5u);
        outerAccumulate(&accA1, v0, a0);
        outerAccumulate(&accA1, v1, first);
        outerAccumulate(&accA1, v2, a2);
        outerAccumulate(&accB1, v0, b0);
        outerAccumulate(&accB1, v1, second);
        outerAccumulate(&accB1, v2, b2);
      }
      wk += channelStep;
      xo += at.planeQuads;
    }
  }
  storeBlock(r0, pairIndex * 8u, accA);
  storeBlock(r0, pairIndex * 8u + 4u, accB);
  if (ROWS == 8u) {
    storeBlock(r0 + 4u, pairIndex * 8u, accA1);
    storeBlock(r0 + 4u, pairIndex * 8u + 4u, accB1);
  }
}
