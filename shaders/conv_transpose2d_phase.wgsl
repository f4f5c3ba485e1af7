// Transposed convolution at stride S > 1 (dilation 1) by phases — the sub-pixel decomposition of
// conv_transpose2d.wgsl's product (conv2d's input gradient, convTranspose2d's forward):
//   Y[n, ci, h, w] = Bias[ci] + Σ_{co, i, j} X[n, co, oh, ow] · Wt[co, ci, i, j], h = oh·SH - PH + i, w = ow·SW - PW + j.
// Sizes from conv2d's point of view: X [N, Cout, OH, OW] (gy), Y [N, Cin, H, W], NCHW.
// Output rows h with (h + PH) mod SH = rh take only the kernel rows i = rh + SH·t (shaders/include/
// conv_phase.wgsl): phase (rh, rw) is a stride-1 correlation over X with a Ti x Tj sub-kernel,
// writing every SH-th row from hb = (rh - PH) mod SH and every SW-th column from wb. For phase pixel
// (a, b) (h = hb + SH·a, w = wb + SW·b) its taps read X[oh0 + t, ow0 + u], t < Ti, u < Tj, with
// oh0 = a + (hb + PH - rh) / SH - (Ti - 1) and the rotated sub-kernel packed by
// conv_pack_phase_weights.wgsl. Every tap of the loops does useful work (the gather form tests
// divisibility per pixel and wastes 1 - 1/S² of its taps' lanes at stride S).
// Params: PhaseParams and the phase geometry of shaders/include/conv_phase_geometry.wgsl.
// Bindings: 0 params, 1 X (read), 2 Packed (read, vec4), 3 Bias (read; used when hasBias == 1), 4 Y (write).
// Entry point phaseTiled: workgroup z = the phase; each invocation ROWS (override: 4 or 8) input
// channels x TN = 4 phase pixels, WGX x WGY invocations (conv2d_packed.wgsl's packedTiled over one phase:
// one vec4 load brings 4 channels' weights, padding taps read an in-bounds stand-in a select zeroes).
// Invariant: each Y element is written by exactly one invocation of exactly one phase, and sums exactly
// the taps whose source (oh, ow) lies inside X; a phase without taps (KH < SH) writes the bias.
// X (the gradient GY) is Operand (shaders/include/operand.wgsl: f32, or f16 in the `.f16` build), converted to f32 on load.
//!include gemm_core
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

override ROWS: u32 = 8u;

@compute @workgroup_size(WGX, WGY)
fn phaseTiled(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let ph = phaseOf(wid.z);
  let plane = ph.rowsOut * ph.colsOut;
  let pixels = p.N * plane;
  let pix0 = (wid.x * WGX + lid.x) * TN;
  if (pix0 >= pixels) { return; }
  let block = wid.y * WGY + lid.y;
  let r0 = block * ROWS;
  let quad0 = block * (ROWS / 4u);
  let px = phasePixels(ph, pix0);
  let OHW = p.OH * p.OW;
  let channelStep = ph.Ti * ph.Tj * p.packedWidth;
  var acc0 = Acc4x4();
  var acc1 = Acc4x4();
  for (var i = 0u; i < ph.Ti; i++) {
    let ih = px.ih0 + vec4<i32>(i32(i));
    let rowOk = (ih >= vec4<i32>(0)) & (ih < vec4<i32>(i32(p.OH)));
    for (var j = 0u; j < ph.Tj; j++) {
      let iw = px.iw0 + vec4<i32>(i32(j));
      let ok = rowOk & (iw >= vec4<i32>(0)) & (iw < vec4<i32>(i32(p.OW)));
      if (!any(ok)) { continue; }
      let off = vec4<u32>(select(vec4<i32>(0), px.base + ih * i32(p.OW) + iw, ok));
      var wk = ph.packedStart + (i * ph.Tj + j) * p.packedWidth + quad0;
      var xo = 0u;
      for (var co = 0u; co < p.Cout; co++) {
        let x = select(vec4<f32>(0.0), vec4<f32>(f32(X[off.x + xo]), f32(X[off.y + xo]), f32(X[off.z + xo]), f32(X[off.w + xo])), ok);
        outerAccumulate(&acc0, Packed[wk], x);
        if (ROWS == 8u) { outerAccumulate(&acc1, Packed[wk + 1u], x); }
        wk += channelStep;
        xo += OHW;
      }
    }
  }
  storePhaseBlock(r0, px.outBase, px.valid, acc0, acc1);
}
