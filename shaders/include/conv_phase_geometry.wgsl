// Shared by conv_transpose2d_phase.wgsl and conv_transpose2d_phase_subgroup.wgsl (spliced in after
// conv_phase, before the bindings): their parameters, sizes named from conv2d's point of view
// (X = gy [N, Cout, OH, OW], Y = gx [N, Cin, H, W]; packedWidth = vec4s per k of the packing), and one
// phase's geometry. Phase (rh, rw) writes rows h = hb + SH·a, a < rowsOut, and columns w = wb + SW·b,
// b < colsOut; its output (a, b) reads X rows a + shiftH + t, t < Ti, and columns b + shiftW + u,
// u < Tj, against packed k = Cout·phaseTapsBefore + (co·Ti + t)·Tj + u (packedStart counts vec4s).
struct PhaseParams {
  N: u32, Cin: u32, H: u32, W: u32,
  Cout: u32, OH: u32, OW: u32, hasBias: u32,
  KH: u32, KW: u32, SH: u32, SW: u32,
  PH: u32, PW: u32, packedWidth: u32, pad: u32,
}

struct Phase { hb: u32, wb: u32, Ti: u32, Tj: u32, shiftH: i32, shiftW: i32, rowsOut: u32, colsOut: u32, packedStart: u32 }

fn phaseOf(phase: u32) -> Phase {
  var f: Phase;
  let rh = phase / p.SW;
  let rw = phase % p.SW;
  // The first output row in the phase: (hb + PH) mod SH == rh.
  f.hb = (rh + p.SH - p.PH % p.SH) % p.SH;
  f.wb = (rw + p.SW - p.PW % p.SW) % p.SW;
  f.Ti = phaseTaps(rh, p.KH, p.SH);
  f.Tj = phaseTaps(rw, p.KW, p.SW);
  // Tap i = rh + SH·(Ti - 1 - t) of output row hb + SH·a reads X row (hb + PH - i) / SH + a.
  f.shiftH = i32((f.hb + p.PH - rh) / p.SH) - i32(f.Ti) + 1;
  f.shiftW = i32((f.wb + p.PW - rw) / p.SW) - i32(f.Tj) + 1;
  f.rowsOut = select(0u, (p.H - f.hb + p.SH - 1u) / p.SH, f.hb < p.H);
  f.colsOut = select(0u, (p.W - f.wb + p.SW - 1u) / p.SW, f.wb < p.W);
  f.packedStart = p.Cout * phaseTapsBefore(phase, p.KH, p.KW, p.SH, p.SW) * p.packedWidth;
  return f;
}

/**
 * The TN = 4 output pixels pix0.. of a phase (a pixel past the phase's last is clamped to it): their
 * first X offsets (image base, row and column of tap (0, 0)), their Y offsets within channel 0, and
 * which are real. An empty phase (rowsOut·colsOut == 0) gives no valid pixel.
 */
struct PhasePixels { base: vec4<i32>, ih0: vec4<i32>, iw0: vec4<i32>, outBase: vec4<u32>, valid: vec4<bool> }

fn phasePixels(ph: Phase, pix0: u32) -> PhasePixels {
  var o: PhasePixels;
  let plane = max(ph.rowsOut * ph.colsOut, 1u);
  let cols = max(ph.colsOut, 1u);
  let pixels = p.N * plane;
  for (var t = 0u; t < TN; t++) {
    let q = min(pix0 + t, pixels - 1u);
    let n = q / plane;
    let r = q % plane;
    let a = r / cols;
    let b = r % cols;
    o.base[t] = i32(n * p.Cout * p.OH * p.OW);
    o.ih0[t] = i32(a) + ph.shiftH;
    o.iw0[t] = i32(b) + ph.shiftW;
    o.outBase[t] = n * p.Cin * p.H * p.W + (ph.hb + p.SH * a) * p.W + ph.wb + p.SW * b;
    o.valid[t] = pix0 + t < pixels && ph.rowsOut * ph.colsOut > 0u;
  }
  return o;
}

/** Stores 4 outputs of channel ci (plus its bias) at Y offsets outBase (within channel 0) where valid. */
fn storePhaseRow(ci: u32, outBase: vec4<u32>, valid: vec4<bool>, row: vec4<f32>) {
  if (ci >= p.Cin) { return; }
  var bias = 0.0;
  if (p.hasBias == 1u) { bias = Bias[ci]; }
  let channel = ci * p.H * p.W;
  for (var t = 0u; t < 4u; t++) {
    if (valid[t]) { Y[outBase[t] + channel] = stored(row[t] + bias); }
  }
}

/** The epilogue of ROWS channels from r0 (acc1 used when ROWS == 8). */
fn storePhaseBlock(r0: u32, outBase: vec4<u32>, valid: vec4<bool>, acc0: Acc4x4, acc1: Acc4x4) {
  storePhaseRow(r0, outBase, valid, acc0.r0);
  storePhaseRow(r0 + 1u, outBase, valid, acc0.r1);
  storePhaseRow(r0 + 2u, outBase, valid, acc0.r2);
  storePhaseRow(r0 + 3u, outBase, valid, acc0.r3);
  if (ROWS == 8u) {
    storePhaseRow(r0 + 4u, outBase, valid, acc1.r0);
    storePhaseRow(r0 + 5u, outBase, valid, acc1.r1);
    storePhaseRow(r0 + 6u, outBase, valid, acc1.r2);
    storePhaseRow(r0 + 7u, outBase, valid, acc1.r3);
  }
}
