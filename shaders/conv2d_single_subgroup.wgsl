// conv2d forward with ONE output channel: conv2d_single.wgsl's geometry and computation (Cout == 1, no
// mfm, stride 1 and no dilation along the width), the 8 weights of each step loaded once per subgroup:
// lane l loads W[k0 + l % 8] and every lane takes each from its loader by subgroupBroadcast (needs the
// device feature 'subgroups' and subgroups of at least 8 lanes; the launcher runs it on exactly 8).
// Why: software Vulkan (lavapipe: a subgroup is the 8-lane SIMD vector) runs a storage load per lane
// even where all lanes read one address; a broadcast from a constant lane is a register permute.
//   Y[n, 0, oh, ow] = Bias[0] + Σ_{ci, i, j} X[n, ci, oh·SH - PH + i·DH, ow - PW + j] · W[0, ci, i, j]
// X [N, Cin, H, W], W [1, Cin, KH, KW], Y [N, 1, OH, OW], NCHW.
// Bindings: 0 params (conv_geometry's Params), 1 X (read), 2 W (read), 3 Bias (read; used when
//   hasBias == 1), 4 Y (write) — conv2d_single.wgsl's table.
// Tiling: WG (override, a multiple of the subgroup size) invocations per workgroup along x, 8 outputs
//   each; invocation = (wid.y · groups.x + wid.x) · WG + lid.x. Control flow is uniform up to the
//   stores (shaders/include/conv_single_forward.wgsl).
// X and W are Operand (shaders/include/operand.wgsl), converted to f32 on load; sums, Bias and Y f32.
enable subgroups;
//!include conv_geometry
//!include operand
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> X: array<Operand>;
@group(0) @binding(2) var<storage, read> W: array<Operand>;
@group(0) @binding(3) var<storage, read> Bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> Y: array<f32>;
//!include conv_single_forward

override WG: u32 = 64u;

/** W[k0 .. k0 + 7] (0 past the last): one load per lane, shared by broadcast. */
fn weightOctet(k0: u32, lane: u32) -> WeightOctet {
  let last = p.Cin * p.KH * p.KW - 1u;
  let k = k0 + lane % 8u;
  let mine = select(0.0, f32(W[min(k, last)]), k <= last);
  return WeightOctet(
    vec4<f32>(subgroupBroadcast(mine, 0u), subgroupBroadcast(mine, 1u), subgroupBroadcast(mine, 2u), subgroupBroadcast(mine, 3u)),
    vec4<f32>(subgroupBroadcast(mine, 4u), subgroupBroadcast(mine, 5u), subgroupBroadcast(mine, 6u), subgroupBroadcast(mine, 7u)));
}

@compute @workgroup_size(WG)
fn singleSubgroup(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>, @builtin(subgroup_invocation_id) lane: u32) {
  singleForward((wid.y * groups.x + wid.x) * WG + lid.x, lane);
}
