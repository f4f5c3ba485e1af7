// conv2d forward over packed weights (shaders/conv_pack_weights.wgsl) with X read as vec4 along
// the pixels, for the stride-1 shapes where 4 neighbouring outputs read 4 neighbouring inputs:
//   Y[n, r, oh, ow] = Bias[r] + Σ_{ci, i, j} X[n, ci, oh·SH - PH + i·DH, ow - PW + j] · A[r, (ci, i, j)],
// M = Cout rows (filterOf's pair order under mfm, as packed), N = N·OH·OW pixels, K = Cin·KH·KW.
// Also conv2d's input gradient at stride 1 (the launcher passes the transposed geometry and packing).
// X [N, Cin, H, W] as vec4 (W % 4 == 0 or H·W % 4 == 0 below: a vec4 never spans two rows or
// planes), Packed [K][packedWidth] vec4, Y [N, Cout, OH, OW] (or [N, Cout/2, OH, OW] under mfm).
// Bindings: 0 params, 1 X (read, vec4), 2 Packed (read), 3 Bias (read; used when hasBias == 1),
//   4 Y (write), 5 Mask (write; used when p.mfm == 1) — as shaders/conv2d_packed.wgsl.
// Each invocation owns ROWS (override: 4 or 8) rows x 4 consecutive pixels (threeWidePair: 4 rows x
// 8), WGX x WGY workgroups. Why: on software Vulkan every storage load whose address varies per lane
// costs ~10 instructions, so the cost is loads per multiply-add: registerTiled pays 8 loads per 16,
// pointwise 3 per 32, threeWide 9 per 96, threeWidePair 7 per 96, fiveWidePair 9 per 160.
// Entry points:
//   pointwise — 1 x 1, stride 1, no padding (OH == H, OW == W), H·W % 4 == 0: a GEMM per image,
//     per input channel one vec4 of X and ROWS / 4 of weights.
//   threeWide — KW == 3, PW == 1, SW == 1, DW == 1 (any KH, SH, PH, DH), OW == W, W % 4 == 0: per
//     input channel and kernel row, the quad's own vec4 and its two neighbours give the 3 taps'
//     vec4s by swizzles (the neighbour outside the row is 0: the padding).
//   threeWidePair — threeWide's geometry with W % 8 == 0: 4 rows x two neighbouring quads, so each
//     tap's weights (one vec4) serve 8 pixels and 4 vec4 loads of X give both quads' 3 taps
//     (1.4-2.2x threeWide at 8 rows on LightCNN-9's 3×3 layers; bench/RESULTS.md).
//   fiveWidePair — KW == 5, PW == 2, SW == 1, DW == 1 (any KH, SH, PH, DH), OW == W, W % 8 == 0:
//     threeWidePair for 5 taps (LightCNN's conv1, whose single input channel leaves K = 25): the
//     two quads and their neighbours (4 vec4 of X) give the 5 taps' vec4s of both quads by swizzles.
// Invariant: each invocation's quads are aligned vec4s of one output row (pointwise: of its plane),
// and the same columns (shifted by one for the outer taps) of every input row it reads.
// X is Operand (shaders/include/operand.wgsl: f32, or f16 in the `.f16` build), converted to f32 on
// load; a vec4 index counts 4 elements either way (an f16 vec4 is 8 bytes), so the element conditions
// below (H·W % 4, W % 4, ...) are the alignment for both.
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

@compute @workgroup_size(WGX, WGY)
fn pointwise(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let block = wid.y * WGY + lid.y;
  let r0 = block * ROWS;
  let quad0 = block * (ROWS / 4u);
  let pixelQuad = wid.x * WGX + lid.x;
  let planeQuads = (p.H * p.W) / 4u;
  // Clamped: the last invocations repeat the last quad and store nothing.
  let q = min(pixelQuad, p.N * planeQuads - 1u);
  var xo = (q / planeQuads) * p.Cin * planeQuads + q % planeQuads;
  var wk = quad0;
  var acc0 = Acc4x4();
  var acc1 = Acc4x4();
  for (var ci = 0u; ci < p.Cin; ci++) {
    let b = vec4<f32>(X[xo]);
    outerAccumulate(&acc0, Packed[wk], b);
    if (ROWS == 8u) { outerAccumulate(&acc1, Packed[wk + 1u], b); }
    wk += p.packedWidth;
    xo += planeQuads;
  }
  storeBlock(r0, pixelQuad * TN, acc0);
  if (ROWS == 8u) { storeBlock(r0 + 4u, pixelQuad * TN, acc1); }
}

@compute @workgroup_size(WGX, WGY)
fn threeWide(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let block = wid.y * WGY + lid.y;
  let r0 = block * ROWS;
  let quad0 = block * (ROWS / 4u);
  let pixelQuad = wid.x * WGX + lid.x;
  let at = rowSpan(pixelQuad, 1u);
  let rowQuads = at.rowQuads;
  let planeQuads = at.planeQuads;
  let oh = at.oh;
  let imageBase = at.imageBase;
  let hasLeft = at.hasLeft;
  let hasRight = at.hasRight;
  // A missing neighbour reads the quad itself (in bounds) and is zeroed after the load.
  let leftStep = select(0u, 1u, hasLeft);
  let rightStep = select(0u, 1u, hasRight);
  let tapStep = p.packedWidth;
  let channelStep = p.KH * 3u * p.packedWidth;
  var acc0 = Acc4x4();
  var acc1 = Acc4x4();
  for (var i = 0u; i < p.KH; i++) {
    let ih = i32(oh * p.SH + i * p.DH) - p.PH;
    if (ih < 0 || ih >= i32(p.H)) { continue; }
    var xo = imageBase + u32(ih) * rowQuads;
    var wk = i * 3u * p.packedWidth + quad0;
    for (var ci = 0u; ci < p.Cin; ci++) {
      let centre = vec4<f32>(X[xo]);
      let left = select(vec4<f32>(0.0), vec4<f32>(X[xo - leftStep]), hasLeft);
      let right = select(vec4<f32>(0.0), vec4<f32>(X[xo + rightStep]), hasRight);
      let b0 = vec4<f32>(left.w, centre.xyz);
      let b2 = vec4<f32>(centre.yzw, right.x);
      outerAccumulate(&acc0, Packed[wk], b0);
      outerAccumulate(&acc0, Packed[wk + tapStep], centre);
      outerAccumulate(&acc0, Packed[wk + 2u * tapStep], b2);
      if (ROWS == 8u) {
        outerAccumulate(&acc1, Packed[wk + 1u], b0);
        outerAccumulate(&acc1, Packed[wk + tapStep + 1u], centre);
        outerAccumulate(&acc1, Packed[wk + 2u * tapStep + 1u], b2);
      }
      wk += channelStep;
      xo += planeQuads;
    }
  }
  storeBlock(r0, pixelQuad * TN, acc0);
  if (ROWS == 8u) { storeBlock(r0 + 4u, pixelQuad * TN, acc1); }
}

// Reads the packing as blocks of 4 rows (every packedWidth is a whole number of them): ROWS is not used here.
@compute @workgroup_size(WGX, WGY)
fn threeWidePair(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let quad0 = wid.y * WGY + lid.y;
  let r0 = quad0 * 4u;
  let pairIndex = wid.x * WGX + lid.x;
  let at = rowSpan(pairIndex, 2u);
  let rowQuads = at.rowQuads;
  let planeQuads = at.planeQuads;
  let oh = at.oh;
  let imageBase = at.imageBase;
  let hasLeft = at.hasLeft;
  let hasRight = at.hasRight;
  let leftStep = select(0u, 1u, hasLeft);
  let rightStep = select(1u, 2u, hasRight);
  let tapStep = p.packedWidth;
  let channelStep = p.KH * 3u * p.packedWidth;
  var accA = Acc4x4();
  var accB = Acc4x4();
  for (var i = 0u; i < p.KH; i++) {
    let ih = i32(oh * p.SH + i * p.DH) - p.PH;
    if (ih < 0 || ih >= i32(p.H)) { continue; }
    var xo = imageBase + u32(ih) * rowQuads;
    var wk = i * 3u * p.packedWidth + quad0;
    for (var ci = 0u; ci < p.Cin; ci++) {
      let first = vec4<f32>(X[xo]);
      let second = vec4<f32>(X[xo + 1u]);
      let left = select(vec4<f32>(0.0), vec4<f32>(X[xo - leftStep]), hasLeft);
      let right = select(vec4<f32>(0.0), vec4<f32>(X[xo + rightStep]), hasRight);
      let w0 = Packed[wk];
      let w1 = Packed[wk + tapStep];
      let w2 = Packed[wk + 2u * tapStep];
      outerAccumulate(&accA, w0, vec4<f32>(left.w, first.xyz));
      outerAccumulate(&accA, w1, first);
      outerAccumulate(&accA, w2, vec4<f32>(first.yzw, second.x));
      outerAccumulate(&accB, w0, vec4<f32>(first.w, second.xyz));
      outerAccumulate(&accB, w1, second);
      outerAccumulate(&accB, w2, vec4<f32>(second.yzw, right.x));
      wk += channelStep;
      xo += planeQuads;
    }
  }
  storeBlock(r0, pairIndex * 8u, accA);
  storeBlock(r0, pairIndex * 8u + 4u, accB);
}

// Reads the packing as blocks of 4 rows, as threeWidePair: ROWS is not used here.
@compute @workgroup_size(WGX, WGY)
fn fiveWidePair(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let quad0 = wid.y * WGY + lid.y;
  let r0 = quad0 * 4u;
  let pairIndex = wid.x * WGX + lid.x;
  let at = rowSpan(pairIndex, 2u);
  let rowQuads = at.rowQuads;
  let planeQuads = at.planeQuads;
  let oh = at.oh;
  let imageBase = at.imageBase;
  let hasLeft = at.hasLeft;
  let hasRight = at.hasRight;
  let leftStep = select(0u, 1u, hasLeft);
  let rightStep = select(1u, 2u, hasRight);
  let tapStep = p.packedWidth;
  let channelStep = p.KH * 5u * p.packedWidth;
  var accA = Acc4x4();
  var accB = Acc4x4();
  for (var i = 0u; i < p.KH; i++) {
    let ih = i32(oh * p.SH + i * p.DH) - p.PH;
    if (ih < 0 || ih >= i32(p.H)) { continue; }
    var xo = imageBase + u32(ih) * rowQuads;
    var wk = i * 5u * p.packedWidth + quad0;
    for (var ci = 0u; ci < p.Cin; ci++) {
      let first = vec4<f32>(X[xo]);
      let second = vec4<f32>(X[xo + 1u]);
      let left = select(vec4<f32>(0.0), vec4<f32>(X[xo - leftStep]), hasLeft);
      let right = select(vec4<f32>(0.0), vec4<f32>(X[xo + rightStep]), hasRight);
      // Tap j reads the pixels j - 2 to the side: quad A's last tap is quad B's first.
      let middle = vec4<f32>(first.zw, second.xy);
      let w0 = Packed[wk];
      let w1 = Packed[wk + tapStep];
      let w2 = Packed[wk + 2u * tapStep];
      let w3 = Packed[wk + 3u * tapStep];
      let w4 = Packed[wk + 4u * tapStep];
      outerAccumulate(&accA, w0, vec4<f32>(left.zw, first.xy));
      outerAccumulate(&accA, w1, vec4<f32>(left.w, first.xyz));
      outerAccumulate(&accA, w2, first);
      outerAccumulate(&accA, w3, vec4<f32>(first.yzw, second.x));
      outerAccumulate(&accA, w4, middle);
      outerAccumulate(&accB, w0, middle);
      outerAccumulate(&accB, w1, vec4<f32>(first.w, second.xyz));
      outerAccumulate(&accB, w2, second);
      outerAccumulate(&accB, w3, vec4<f32>(second.yzw, right.x));
      outerAccumulate(&accB, w4, vec4<f32>(second.zw, right.xy));
      wk += channelStep;
      xo += planeQuads;
    }
  }
  storeBlock(r0, pairIndex * 8u, accA);
  storeBlock(r0, pairIndex * 8u + 4u, accB);
}
