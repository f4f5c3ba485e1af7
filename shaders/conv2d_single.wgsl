// conv2d forward with ONE output channel (Cout == 1; no mfm), stride 1 and no dilation along the width
// (any kernel size, padding, height stride and dilation): shaders/include/conv_single_forward.wgsl's
// walk, each lane loading the 8 weights of every step itself (the fallback where subgroups are not
// exactly 8 wide; conv2d_single_subgroup.wgsl shares them).
//   Y[n, 0, oh, ow] = Bias[0] + Σ_{ci, i, j} X[n, ci, oh·SH - PH + i·DH, ow - PW + j] · W[0, ci, i, j]
// X [N, Cin, H, W], W [1, Cin, KH, KW], Y [N, 1, OH, OW], NCHW.
// Bindings: 0 params (conv_geometry's Params), 1 X (read), 2 W (read), 3 Bias (read; used when
//   hasBias == 1), 4 Y (write).
// Tiling: WG (override) invocations per workgroup along x, 8 outputs each; the grid may be 2-D
//   (grid1d): invocation = (wid.y · groups.x + wid.x) · WG + lid.x.
// X and W are Operand (shaders/include/operand.wgsl: f32, or f16 in the `.f16` build), converted to
// f32 on load; sums, Bias and Y are f32.
//!include conv_geometry
//!include operand
//!include stored
//!include half_bits
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> X: array<Operand>;
@group(0) @binding(2) var<storage, read> W: array<Operand>;
@group(0) @binding(3) var<storage, read> Bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> Y: array<Stored>;
//!include conv_single_forward

override WG: u32 = 64u;

/** W[k0 .. k0 + 7] (0 past the last), loaded by every lane. */
fn weightOctet(k0: u32, lane: u32) -> WeightOctet {
  let last = p.Cin * p.KH * p.KW - 1u;
  var w: array<f32, 8>;
  for (var j = 0u; j < 8u; j++) {
    w[j] = select(0.0, f32(W[min(k0 + j, last)]), k0 + j <= last);
  }
  return WeightOctet(vec4<f32>(w[0], w[1], w[2], w[3]), vec4<f32>(w[4], w[5], w[6], w[7]));
}

@compute @workgroup_size(WG)
fn single(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  singleForward((wid.y * groups.x + wid.x) * WG + lid.x, 0u);
}
