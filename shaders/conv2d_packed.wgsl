// conv2d forward over packed weights (shaders/conv_pack_weights.wgsl), any stride, padding and
// dilation: Y[n, r, oh, ow] = Bias[r] + Σ_{ci, i, j} X[n, ci, oh·SH - PH + i·DH, ow·SW - PW + j·DW] · A[r, (ci, i, j)]
// (reads outside the input are 0), as an implicit GEMM: M = Cout rows (in filterOf's pair order under
// mfm, as packed), N = N·OH·OW pixels, K = Cin·KH·KW. Also conv2d's input gradient at stride 1 (the
// launcher passes the transposed geometry and the rotated packing). X [N, Cin, H, W], Packed
// [K][packedWidth] vec4 (4 rows at one k), Y [N, Cout, OH, OW] (or [N, Cout/2, OH, OW] under mfm), NCHW.
// Bindings: 0 params, 1 X (read), 2 Packed (read), 3 Bias (read; used when hasBias == 1), 4 Y
//   (write), 5 Mask (write; used when p.mfm == 1) — conv2d.wgsl's table with the weights packed.
// Entry point packedTiled: each invocation ROWS (override: 4 or 8) GEMM rows x TN = 4 pixels, a
//   WGX x WGY workgroup set by the launcher, no workgroup memory. Why it is faster on software Vulkan:
//   every storage load whose address varies per lane costs ~10 instructions there, and the packing
//   turns the 4 scalar weight loads of registerTiled into one vec4 load; taps in the padding read
//   an in-bounds stand-in that a select zeroes, so the inner loop has no branch.
// Invariant: every accumulator sums exactly the (ci, i, j) taps that land inside the input.
// X is Operand (shaders/include/operand.wgsl: f32, or f16 in the `.f16` build), converted to f32 on load.
//!include conv_geometry
//!include gemm_core
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

override ROWS: u32 = 8u;

@compute @workgroup_size(WGX, WGY)
fn packedTiled(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let block = wid.y * WGY + lid.y;
  let r0 = block * ROWS;
  let quad0 = block * (ROWS / 4u);
  let pix0 = (wid.x * WGX + lid.x) * TN;
  let HW = p.H * p.W;
  let KHW = p.KH * p.KW;
  let origins = forwardOrigins(pix0);
  let base = origins.base;
  let ih0 = origins.ih0;
  let iw0 = origins.iw0;
  let channelStep = KHW * p.packedWidth;
  var acc0 = Acc4x4();
  var acc1 = Acc4x4();
  for (var i = 0u; i < p.KH; i++) {
    let ih = ih0 + vec4<i32>(i32(i * p.DH));
    let rowOk = (ih >= vec4<i32>(0)) & (ih < vec4<i32>(i32(p.H)));
    for (var j = 0u; j < p.KW; j++) {
      let iw = iw0 + vec4<i32>(i32(j * p.DW));
      let ok = rowOk & (iw >= vec4<i32>(0)) & (iw < vec4<i32>(i32(p.W)));
      if (!any(ok)) { continue; }
      let off = vec4<u32>(select(vec4<i32>(0), base + ih * i32(p.W) + iw, ok));
      var wk = (i * p.KW + j) * p.packedWidth + quad0;
      var xo = 0u;
      for (var ci = 0u; ci < p.Cin; ci++) {
        let b = select(vec4<f32>(0.0), vec4<f32>(f32(X[off.x + xo]), f32(X[off.y + xo]), f32(X[off.z + xo]), f32(X[off.w + xo])), ok);
        outerAccumulate(&acc0, Packed[wk], b);
        if (ROWS == 8u) { outerAccumulate(&acc1, Packed[wk + 1u], b); }
        wk += channelStep;
        xo += HW;
      }
    }
  }
  storeBlock(r0, pix0, acc0);
  if (ROWS == 8u) { storeBlock(r0 + 4u, pix0, acc1); }
}
