// conv_transpose2d_phase.wgsl's product (the transposed conv at stride > 1, dilation 1, by phases:
// conv2d's input gradient, convTranspose2d's forward) with the weights shared across a subgroup by
// shuffles. Why: on software Vulkan (lavapipe) every storage load whose address varies per lane costs
// ~10 instructions, and a subgroup is the 8-lane SIMD register there, where a shuffle from a constant
// lane is one broadcast (matmul_subgroup.wgsl: 3-4.6x its vec4 kernel). The 8 lanes of a subgroup own
// the same ROWS (16 or 32) input channels (GEMM rows) and 4 phase pixels each; per pair of output channels
// (co, co + 1) at one tap, lane l loads the vec4 of rows r0 + 4(l & 3) .. + 3 at co + (l >> 2) and
// every lane takes all 8 from the lanes that loaded them: 1 vec4 + 8 scalar loads for 128
// multiply-adds, against 4 vec4 + 8 scalar in phaseTiled.
// Layouts: X [N, Cout, OH, OW] (gy), Packed as conv_pack_phase_weights.wgsl with packedWidth a
// multiple of ROWS / 4 (whole blocks of ROWS rows), Y [N, Cin, H, W].
// Assumes (the launcher runs it only where they hold): subgroups of exactly 8 invocations made of
// consecutive local invocation indices (lavapipe), WGX a multiple of 8 (so a subgroup shares lid.y).
// Subgroup operations need uniform control flow: no invocation returns early or skips a tap; pixels
// past the end are clamped to the last (not stored), taps outside X read an in-bounds stand-in that a
// select zeroes, an odd Cout's last pair has a zero second channel.
// Params: PhaseParams and the phase geometry of shaders/include/conv_phase_geometry.wgsl.
// Bindings: 0 params, 1 X (read), 2 Packed (read, vec4), 3 Bias (read; used when hasBias == 1), 4 Y (write).
// Entry point phaseSubgroup; workgroup z = the phase, WGX x WGY invocations.
// Invariant: as conv_transpose2d_phase.wgsl — each Y element written once, summing exactly its phase's taps inside X.
// X (the gradient GY) is Operand (shaders/include/operand.wgsl: f32, or f16 in the `.f16` build), converted to f32 on load.
enable subgroups;
//!include gemm_core
//!include subgroup_channel_pairs
//!include conv_phase
//!include conv_phase_geometry
//!include operand
//!include stored
//!include half_bits
@group(0) @binding(0) var<uniform> p: PhaseParams;
@group(0) @binding(1) var<storage, read> X: array<Operand>;
@group(0) @binding(2) var<storage, read> Packed: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> Bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> Y: array<Stored>;

/** Input channels per invocation (override: 16 or 32): 4 (8) quads, each loaded by 2 lanes (one per channel of the pair). */
override ROWS: u32 = 16u;

@compute @workgroup_size(WGX, WGY)
fn phaseSubgroup(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>, @builtin(subgroup_invocation_id) lane: u32) {
  let ph = phaseOf(wid.z);
  let pix0 = (wid.x * WGX + lid.x) * TN;
  let r0 = (wid.y * WGY + lid.y) * ROWS;
  let px = phasePixels(ph, pix0);
  let OHW = p.OH * p.OW;
  let channelStep = ph.Ti * ph.Tj * p.packedWidth;
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
  for (var i = 0u; i < ph.Ti; i++) {
    let ih = px.ih0 + vec4<i32>(i32(i));
    let rowOk = (ih >= vec4<i32>(0)) & (ih < vec4<i32>(i32(p.OH)));
    for (var j = 0u; j < ph.Tj; j++) {
      let iw = px.iw0 + vec4<i32>(i32(j));
      let ok = rowOk & (iw >= vec4<i32>(0)) & (iw < vec4<i32>(i32(p.OW)));
      let off = vec4<u32>(select(vec4<i32>(0), px.base + ih * i32(p.OW) + iw, ok));
      accumulateChannelPairs(&acc0, &acc1, &acc2, &acc3, &acc4, &acc5, &acc6, &acc7, ph.packedStart + (i * ph.Tj + j) * p.packedWidth + laneQuad, channelStep, laneChannel, off, ok, p.Cout, OHW);
    }
  }
  storeQuad(r0, px.outBase, px.valid, acc0);
  storeQuad(r0 + 4u, px.outBase, px.valid, acc1);
  storeQuad(r0 + 8u, px.outBase, px.valid, acc2);
  storeQuad(r0 + 12u, px.outBase, px.valid, acc3);
  if (ROWS == 32u) {
    storeQuad(r0 + 16u, px.outBase, px.valid, acc4);
    storeQuad(r0 + 20u, px.outBase, px.valid, acc5);
    storeQuad(r0 + 24u, px.outBase, px.valid, acc6);
    storeQuad(r0 + 28u, px.outBase, px.valid, acc7);
  }
}

fn storeQuad(r0: u32, outBase: vec4<u32>, valid: vec4<bool>, acc: Acc4x4) {
  storePhaseRow(r0, outBase, valid, acc.r0);
  storePhaseRow(r0 + 1u, outBase, valid, acc.r1);
  storePhaseRow(r0 + 2u, outBase, valid, acc.r2);
  storePhaseRow(r0 + 3u, outBase, valid, acc.r3);
}
