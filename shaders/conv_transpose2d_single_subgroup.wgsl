// conv2d's input gradient for ONE output channel: conv_transpose2d_single.wgsl's geometry and
// computation, the 8 channels' weights of each tap loaded once per subgroup: lane l loads channel
// ci0 + l % 8's and every lane takes each by subgroupBroadcast (needs the device feature 'subgroups'
// and subgroups of at least 8 lanes; the launcher runs it on exactly 8). Why: software Vulkan
// (lavapipe) runs a storage load per lane even where all lanes read one address.
//   GX[n, ci, ih, iw] = Bias[ci] + Σ_{i, j} GY[n, 0, ih + PH - i·DH, iw + PW - j] · W[0, ci, i, j]
// GY [N, 1, OH, OW], W [1, Cin, KH, KW], GX [N, Cin, H, W], NCHW; Params named from conv2d's side.
// Bindings: 0 params (conv_geometry's Params), 1 GY (read), 2 W (read), 3 Bias (read; [Cin], used when
//   hasBias == 1), 4 GX (write).
// Tiling: WG (override, a multiple of the subgroup size) invocations per workgroup along x, each 8
//   outputs of a row; wid.y: the block of 8 channels; the pixel grid folds into z:
//   invocation = (wid.z · groups.x + wid.x) · WG + lid.x.
// GY and W are Operand (shaders/include/operand.wgsl: f32, or f16 in the `.f16` build), converted to
// f32 on load; sums, Bias and GX are f32.
enable subgroups;
//!include conv_geometry
//!include operand
//!include stored
//!include half_bits
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> GY: array<Operand>;
@group(0) @binding(2) var<storage, read> W: array<Operand>;
@group(0) @binding(3) var<storage, read> Bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> GX: array<Stored>;
//!include conv_single_transpose

override WG: u32 = 64u;

/** W[0, ci0 + c, tap] for c = 0 .. 7 (0 past Cin): one load per lane, shared by broadcast. */
fn channelWeights(ci0: u32, tap: u32, lane: u32) -> WeightOctet {
  let ci = ci0 + lane % 8u;
  let mine = select(0.0, f32(W[min(ci, p.Cin - 1u) * p.KH * p.KW + tap]), ci < p.Cin);
  return WeightOctet(
    vec4<f32>(subgroupBroadcast(mine, 0u), subgroupBroadcast(mine, 1u), subgroupBroadcast(mine, 2u), subgroupBroadcast(mine, 3u)),
    vec4<f32>(subgroupBroadcast(mine, 4u), subgroupBroadcast(mine, 5u), subgroupBroadcast(mine, 6u), subgroupBroadcast(mine, 7u)));
}

@compute @workgroup_size(WG)
fn singleSubgroup(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>, @builtin(subgroup_invocation_id) lane: u32) {
  singleTranspose((wid.z * groups.x + wid.x) * WG + lid.x, wid.y * 8u, lane);
}
