// conv_transpose2d_single_strips.wgsl's rowStrips (the Cout = 1 input gradient at stride 1 down strips of rows; its header
// says what and how) with GX bound as f32 and each output stored by itself: the launcher's choice where W is odd (rows start
// on any element, so quads would be split for half the octets).
//   GX[n, ci, ih, iw] = Bias[ci] + Σ_{i, j} GY[n, 0, ih + PH - i, iw + PW - j] · W[0, ci, i, j]
// GY [N, 1, OH, OW], W [1, Cin, KH, KW], GX [N, Cin, H, W], NCHW; Params named from conv2d's side.
// Bindings: 0 params (conv_geometry's Params), 1 GY (read), 2 W (read), 3 Bias (read; [Cin], used when hasBias == 1),
//   4 GX (write). Overrides WG, STRIP_ROWS, KERNEL_H, KERNEL_W as there. GY and W are Operand (f32, or f16 in the `.f16`
// build), converted to f32 on load; sums, Bias and GX are f32.
enable subgroups;
//!include conv_geometry
//!include operand
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> GY: array<Operand>;
@group(0) @binding(2) var<storage, read> W: array<Operand>;
@group(0) @binding(3) var<storage, read> Bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> GX: array<f32>;
//!include conv_single_strips

/** Channel ci's sums lo, hi plus its bias into GX[n, ci, ih, iw0 .. iw0 + 7] (the columns inside W), one at a time. */
fn storeOctet(n: u32, ih: u32, iw0: u32, ci: u32, lo: vec4<f32>, hi: vec4<f32>) {
  var bias = 0.0;
  if (p.hasBias == 1u) { bias = Bias[ci]; }
  let a = lo + bias;
  let b = hi + bias;
  let at = ((n * p.Cin + ci) * p.H + ih) * p.W + iw0;
  if (iw0 < p.W) { GX[at] = a.x; }
  if (iw0 + 1u < p.W) { GX[at + 1u] = a.y; }
  if (iw0 + 2u < p.W) { GX[at + 2u] = a.z; }
  if (iw0 + 3u < p.W) { GX[at + 3u] = a.w; }
  if (iw0 + 4u < p.W) { GX[at + 4u] = b.x; }
  if (iw0 + 5u < p.W) { GX[at + 5u] = b.y; }
  if (iw0 + 6u < p.W) { GX[at + 6u] = b.z; }
  if (iw0 + 7u < p.W) { GX[at + 7u] = b.w; }
}
