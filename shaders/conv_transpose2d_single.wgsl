// conv2d's input gradient for ONE output channel (Cout == 1) at stride 1 and no width dilation (any
// kernel size, padding, height dilation): shaders/include/conv_single_transpose.wgsl's walk, 8 outputs
// x 8 input channels per invocation, each lane loading the 8 channels' weights of every tap itself (the
// fallback where subgroups are not exactly 8 wide; conv_transpose2d_single_subgroup.wgsl shares them).
//   GX[n, ci, ih, iw] = Bias[ci] + Σ_{i, j} GY[n, 0, ih + PH - i·DH, iw + PW - j] · W[0, ci, i, j]
// GY [N, 1, OH, OW], W [1, Cin, KH, KW], GX [N, Cin, H, W], NCHW; Params named from conv2d's side.
// Bindings: 0 params (conv_geometry's Params), 1 GY (read), 2 W (read), 3 Bias (read; [Cin], used when
//   hasBias == 1), 4 GX (write).
// Tiling: WG (override, a multiple of the subgroup size) invocations per workgroup along x, each 8
//   outputs of a row; wid.y: the block of 8 channels; the pixel grid folds into z:
//   invocation = (wid.z · groups.x + wid.x) · WG + lid.x.
// GY and W are Operand (shaders/include/operand.wgsl: f32, or f16 in the `.f16` build), converted to
// f32 on load; sums, Bias and GX are f32.

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

/** W[0, ci0 + c, tap] for c = 0 .. 7 (0 past Cin), loaded by every lane. */
fn channelWeights(ci0: u32, tap: u32, lane: u32) -> WeightOctet {
  let taps = p.KH * p.KW;
  var w: array<f32, 8>;
  for (var c = 0u; c < 8u; c++) {
    w[c] = select(0.0, f32(W[min(ci0 + c, p.Cin - 1u) * taps + tap]), ci0 + c < p.Cin);
  }
  return WeightOctet(vec4<f32>(w[0], w[1], w[2], w[3]), vec4<f32>(w[4], w[5], w[6], w[7]));
}

@compute @workgroup_size(WG)
fn single(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  singleTranspose((wid.z * groups.x + wid.x) * WG + lid.x, wid.y * 8u, 0u);
}
