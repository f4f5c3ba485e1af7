// conv2d_packed.wgsl's forward (any stride, padding and dilation; bias and the mfm epilogue of
// shaders/include/conv_epilogue.wgsl) with the packed weights shared across a subgroup by shuffles:
//   Y[n, r, oh, ow] = Bias[r] + Σ_{ci, i, j} X[n, ci, oh·SH - PH + i·DH, ow·SW - PW + j·DW] · A[r, (ci, i, j)].
// Why: on software Vulkan (lavapipe) every storage load whose address varies per lane costs ~10
// instructions, and a subgroup is the 8-lane SIMD register there, where a shuffle from a constant lane
// is one broadcast (matmul_subgroup.wgsl, conv_transpose2d_phase_subgroup.wgsl). The 8 lanes of a
// subgroup own the same ROWS (16 or 32) GEMM rows (filters, in filterOf's pair order under mfm) and 4 pixels each;
// per pair of input channels (ci, ci + 1) at one tap, lane l loads the vec4 of rows r0 + 4(l & 3) .. + 3
// at ci + (l >> 2) and every lane takes all 8 from the lanes that loaded them: 1 vec4 + 8 scalar loads
// for 128 multiply-adds, against 4 vec4 + 8 scalar in packedTiled.
// Layouts: X [N, Cin, H, W], Packed [K][packedWidth] vec4 (shaders/conv_pack_weights.wgsl, packedWidth a
// multiple of ROWS / 4: whole blocks of ROWS rows), Y [N, Cout, OH, OW] (or [N, Cout/2, OH, OW] under mfm), NCHW.
// Bindings: 0 params, 1 X (read), 2 Packed (read), 3 Bias (read; used when hasBias == 1), 4 Y (write),
//   5 Mask (write; used when p.mfm == 1) — as conv2d_packed.wgsl.
// Assumes (the launcher runs it only where they hold): subgroups of exactly 8 invocations made of
// consecutive local invocation indices (lavapipe), WGX a multiple of 8 (so a subgroup shares lid.y).
// Subgroup operations need uniform control flow: no invocation returns early or skips a tap; pixels
// past the end are clamped to the last (not stored), taps in the padding read an in-bounds stand-in
// that a select zeroes, an odd Cin's last pair has a zero second channel.
// Entry point packedSubgroup; WGX x WGY invocations.
// Invariant: every accumulator sums exactly the (ci, i, j) taps that land inside the input.
// X is Operand (shaders/include/operand.wgsl: f32, or f16 in the `.f16` build), converted to f32 on load.
enable subgroups;
// The kernel rows a whole subgroup's pixels take from the padding are skipped (SKIP_PADDING_ROWS) on a condition that
// subgroupAny makes uniform per subgroup, which is all the shuffles need; the uniformity analysis asks the workgroup's.
diagnostic(off, subgroup_uniformity);
//!include conv_geometry
//!include gemm_core
//!include subgroup_channel_pairs
//!include operand
//!include stored
//!include half_bits
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> X: array<Operand>;
@group(0) @binding(2) var<storage, read> Packed: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> Bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> Y: array<Stored>;
@group(0) @binding(5) var<storage, read_write> Mask: array<u32>;
//!include conv_epilogue
//!include mfm_pair
//!include is_nan

/** GEMM rows per invocation (override: 16 or 32): 4 (8) quads, each loaded by 2 lanes (one per channel of the pair). */
override ROWS: u32 = 16u;
/**
 * 1: a kernel row (i) whose taps land in the padding for all of the subgroup's 32 pixels is skipped (subgroupAny of the lanes'
 * row tests; e.g. the top and bottom rows of a stride-1 input gradient, whose padding is KH - 1 - PH); 0: every row computed.
 */
override SKIP_PADDING_ROWS: u32 = 0u;

@compute @workgroup_size(WGX, WGY)
fn packedSubgroup(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>, @builtin(subgroup_invocation_id) lane: u32) {
  let r0 = (wid.y * WGY + lid.y) * ROWS;
  let pix0 = (wid.x * WGX + lid.x) * TN;
  let HW = p.H * p.W;
  let origins = forwardOrigins(pix0);
  let base = origins.base;
  let ih0 = origins.ih0;
  let iw0 = origins.iw0;
  let channelStep = p.KH * p.KW * p.packedWidth;
  // This lane's load: quad (lane & 3) of the invocation's first 16 rows, at the pair's channel lane >> 2.
  let laneQuad = r0 / 4u + (lane & 3u);
  let laneChannel = lane >> 2u;
  var acc0 = Acc4x4();
  var acc1 = Acc4x4();
  var acc2 = Acc4x4();
  var acc3 = Acc4x4();
  var acc4 = Acc4x4();
  var acc5 = Acc4x4();
  var acc6 = Acc4x4();
  var acc7 = Acc4x4();
  for (var i = 0u; i < p.KH; i++) {
    let ih = ih0 + vec4<i32>(i32(i * p.DH));
    let rowOk = (ih >= vec4<i32>(0)) & (ih < vec4<i32>(i32(p.H)));
    if (SKIP_PADDING_ROWS == 1u && !subgroupAny(any(rowOk))) { continue; }
    for (var j = 0u; j < p.KW; j++) {
      let iw = iw0 + vec4<i32>(i32(j * p.DW));
      let ok = rowOk & (iw >= vec4<i32>(0)) & (iw < vec4<i32>(i32(p.W)));
      let off = vec4<u32>(select(vec4<i32>(0), base + ih * i32(p.W) + iw, ok));
      accumulateChannelPairs(&acc0, &acc1, &acc2, &acc3, &acc4, &acc5, &acc6, &acc7, (i * p.KW + j) * p.packedWidth + laneQuad, channelStep, laneChannel, off, ok, p.Cin, HW);
    }
  }
  storeBlock(r0, pix0, acc0);
  storeBlock(r0 + 4u, pix0, acc1);
  storeBlock(r0 + 8u, pix0, acc2);
  storeBlock(r0 + 12u, pix0, acc3);
  if (ROWS == 32u) {
    storeBlock(r0 + 16u, pix0, acc4);
    storeBlock(r0 + 20u, pix0, acc5);
    storeBlock(r0 + 24u, pix0, acc6);
    storeBlock(r0 + 28u, pix0, acc7);
  }
}
