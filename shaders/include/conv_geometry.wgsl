// Shared by conv2d.wgsl, conv2d_packed.wgsl, conv2d_pointwise.wgsl, conv_transpose2d.wgsl and
// conv2d_weight_grad.wgsl (spliced in by
// scripts/bundle-shaders.mjs at their //!include line): the convolution's geometry, named from
// conv2d's point of view ([N, Cin, H, W] -> [N, Cout, OH, OW], kernel KH x KW, stride S,
// padding P, dilation D; kChunk = split-K slice for the weight gradient; mfm = conv2d's fused
// max-feature-map epilogue: 0 off, 1 on with the gradient mask written, 2 on without it; packedWidth =
// vec4s per k of the packed weights, shaders/conv_pack_weights.wgsl). The kernels include gemm_core next.
struct Params {
  N: u32, Cin: u32, H: u32, W: u32,
  Cout: u32, OH: u32, OW: u32, hasBias: u32,
  KH: u32, KW: u32, SH: u32, SW: u32,
  PH: i32, PW: i32, DH: u32, DW: u32,
  kChunk: u32, mfm: u32, packedWidth: u32, pad: u32,
}


/** The forward's 4 output pixels pix0 .. pix0 + 3 (clamped to the last): where each one's image starts in X and its top-left tap (may lie in the padding). */
struct ForwardOrigins { base: vec4<i32>, ih0: vec4<i32>, iw0: vec4<i32> }

fn forwardOrigins(pix0: u32) -> ForwardOrigins {
  let plane = p.OH * p.OW;
  let pixels = p.N * plane;
  var o: ForwardOrigins;
  for (var t = 0u; t < 4u; t++) {
    let q = min(pix0 + t, pixels - 1u);
    let r = q % plane;
    o.base[t] = i32((q / plane) * p.Cin * p.H * p.W);
    o.ih0[t] = i32((r / p.OW) * p.SH) - p.PH;
    o.iw0[t] = i32((r % p.OW) * p.SW) - p.PW;
  }
  return o;
}
