// conv2d's weight gradient with ONE output channel on small planes (FaPE-GAN D's last conv: 512 → 1,
// 4×4 pad 1 on 15² → 14²), stride and dilation 1, input rows of at most 16, output rows of at most 16,
// KH·KW <= 16 taps, subgroups of 8:
//   Partial[s, ci, i, j] = Σ over images n in slice s (n = s·kChunk .. + kChunk - 1),
//                          Σ_{oh, ow} GY[n, 0, oh, ow] · X[n, ci, oh - PH + i, ow - PW + j]
// (the launcher sums the slices). X [N, Cin, H, W], GY [N, 1, OH, OW], Partial [slices, Cin, KH, KW], NCHW.
// Bindings: 0 params (conv_geometry's Params; kChunk = images per slice), 1 X (read), 2 GY (read),
//   3 Partial (write) — conv2d_weight_grad_single.wgsl's table — and 4 X4 (read): X again, as vec4 (QUAD_LOADS).
// Tiling: one invocation per input channel ci (WG, override, whole subgroups of 8, along x), wid.z the
//   slice of images. The geometry the loops run over is fixed per pipeline (overrides KERNEL_H,
//   KERNEL_W, IN_W = W, OUT_W = OW, PAD_W = PW), so the row's loops unroll: every X value is loaded once
//   (one row of IN_W into registers; weightGradSingleRowsSubgroup slides a window that reads 4-8 inputs
//   past each row's end), and only taps that meet the row are added (no pixels past OW, no columns in
//   the padding). GY (one channel: every lane needs the same values) sits in registers: for each of the
//   KERNEL_H output rows that meet the current input row, lane l holds GY[oh, l] and GY[oh, l + 8], and
//   the window of those rows slides down by one row per input row (one new row of GY loads per input
//   row, not KERNEL_H); each pixel's value is taken from its lane by subgroupBroadcast at a constant lane.
// QUAD_LOADS (override; the launcher sets it only where X's run holds whole vec4s): each input row is read as the
//   floor((IN_W + 2) / 4) + 1 vec4s that cover it and unpacked at the row's offset within a vec4, which is the same in every
//   lane because subgroup sg takes channels 32·(sg / 4) + 4·lane + sg % 4 (planes 4 apart start 4·H·W floats apart):
//   about a third of the lane-by-lane loads. Workgroups are then whole blocks of 32 channels.
// Why: on lavapipe every lane-varying load runs lane by lane (1.2-1.4 ns a lane for a scalar, 0.8-0.9 ns a float for a
//   vec4, at a subgroup-uniform address as at any other: bench/lane-access-probe.ts), and X's loads are most of the time.
// Invariant: control flow is uniform (lanes past Cin compute channel Cin - 1 and store nothing; the
//   branches test ih, oh and constants); GY rows outside [0, OH) and columns past OW read 0.
// X and GY are Operand (shaders/include/operand.wgsl), converted to f32 on load; sums and Partial f32.
enable subgroups;
//!include conv_geometry
//!include operand
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> X: array<Operand>;
@group(0) @binding(2) var<storage, read> GY: array<Operand>;
@group(0) @binding(3) var<storage, read_write> Partial: array<f32>;
@group(0) @binding(4) var<storage, read> X4: array<vec4<Operand>>;

override WG: u32 = 64u;
override KERNEL_H: u32 = 4u;
override KERNEL_W: u32 = 4u;
override IN_W: u32 = 15u;
override OUT_W: u32 = 14u;
override PAD_W: i32 = 1;
override QUAD_LOADS: bool = false;
/** Registers per row of X, taps, and GY rows held (the launcher keeps within them). */
const MAX_ROW = 16u;
const MAX_TAPS = 16u;
const MAX_KH = 16u;
const_assert MAX_ROW % 4u == 0u;

/** The sums of the KERNEL_H x KERNEL_W taps, and the current input row of X. */
var<private> acc: array<f32, MAX_TAPS>;
var<private> row: array<f32, MAX_ROW>;

/** QUAD_LOADS: row from the vec4s `quads` that hold it, its first value at component `first` of quads[0] (a constant at each call site). */
fn unpackRow(quads: array<vec4<f32>, MAX_ROW / 4u + 1u>, first: u32) {
  for (var iw = 0u; iw < IN_W; iw++) {
    let k = first + iw;
    row[iw] = quads[k / 4u][k % 4u];
  }
}

/** GY[n, 0, oh, column] (0 outside GY). */
fn gradAt(n: u32, oh: i32, column: u32) -> f32 {
  let inside = (oh >= 0) & (oh < i32(p.OH)) & (column < OUT_W);
  return select(0.0, f32(GY[(n * p.OH + u32(clamp(oh, 0, i32(p.OH) - 1))) * OUT_W + min(column, OUT_W - 1u)]), inside);
}

/** Adds output pixel ow (gradient g, of output row ih + PH - i) to tap row i's taps that meet the current input row. */
fn addPixel(i: u32, ow: u32, g: f32) {
  if (ow >= OUT_W) { return; }
  for (var j = 0u; j < KERNEL_W; j++) {
    let iw = i32(ow + j) - PAD_W;
    if ((iw >= 0) & (iw < i32(IN_W))) { acc[i * KERNEL_W + j] += g * row[u32(iw)]; }
  }
}

@compute @workgroup_size(WG)
fn weightGradSinglePlanes(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>, @builtin(subgroup_invocation_id) lane: u32) {
  let lane8 = lane % 8u;
  // QUAD_LOADS: subgroup sg takes channels 32·(sg / 4) + 4·lane8 + sg % 4, so its lanes' rows start at the same offset within
  // a vec4 (their starts differ by multiples of 4 planes).
  let subgroup = (wid.x * WG + lid.x) / 8u;
  let channel = select(wid.x * WG + lid.x, 32u * (subgroup / 4u) + 4u * lane8 + subgroup % 4u, QUAD_LOADS);
  let ci = min(channel, p.Cin - 1u);
  let first = wid.z * p.kChunk;
  let end = min(first + p.kChunk, p.N);
  for (var n = first; n < end; n++) {
    // gyLo[i] / gyHi[i]: GY[n, ih + PH - i, lane8] / [.., lane8 + 8] for the current input row ih; set here for ih = -1.
    var gyLo: array<f32, MAX_KH>;
    var gyHi: array<f32, MAX_KH>;
    for (var i = 1u; i < KERNEL_H; i++) {
      gyLo[i - 1u] = gradAt(n, p.PH - i32(i), lane8);
      gyHi[i - 1u] = gradAt(n, p.PH - i32(i), lane8 + 8u);
    }
    for (var ih = 0u; ih < p.H; ih++) {
      for (var t = 1u; t < KERNEL_H; t++) {
        gyLo[KERNEL_H - t] = gyLo[KERNEL_H - t - 1u];
        gyHi[KERNEL_H - t] = gyHi[KERNEL_H - t - 1u];
      }
      gyLo[0] = gradAt(n, i32(ih) + p.PH, lane8);
      gyHi[0] = gradAt(n, i32(ih) + p.PH, lane8 + 8u);
      let rowBase = ((n * p.Cin + ci) * p.H + ih) * IN_W;
      if (QUAD_LOADS) {
        // The row from the vec4s that cover it: about a third of the lane-by-lane loads.
        var quads: array<vec4<f32>, MAX_ROW / 4u + 1u>;
        for (var v = 0u; v <= (IN_W + 2u) / 4u; v++) { quads[v] = vec4<f32>(X4[rowBase / 4u + v]); }
        // The same in every lane that stores (lanes past Cin read channel Cin - 1 and store nothing).
        switch (subgroupBroadcastFirst(rowBase % 4u)) {
          case 0u: { unpackRow(quads, 0u); }
          case 1u: { unpackRow(quads, 1u); }
          case 2u: { unpackRow(quads, 2u); }
          default: { unpackRow(quads, 3u); }
        }
      } else {
        for (var iw = 0u; iw < IN_W; iw++) { row[iw] = f32(X[rowBase + iw]); }
      }
      for (var i = 0u; i < KERNEL_H; i++) {
        let oh = i32(ih) + p.PH - i32(i);
        if ((oh < 0) | (oh >= i32(p.OH))) { continue; }
        // Pixel ow's gradient from lane ow % 8 (a broadcast from a constant lane: subgroupShuffle's clamped lane index is not one).
        let lo = gyLo[i];
        addPixel(i, 0u, subgroupBroadcast(lo, 0u));
        addPixel(i, 1u, subgroupBroadcast(lo, 1u));
        addPixel(i, 2u, subgroupBroadcast(lo, 2u));
        addPixel(i, 3u, subgroupBroadcast(lo, 3u));
        addPixel(i, 4u, subgroupBroadcast(lo, 4u));
        addPixel(i, 5u, subgroupBroadcast(lo, 5u));
        addPixel(i, 6u, subgroupBroadcast(lo, 6u));
        addPixel(i, 7u, subgroupBroadcast(lo, 7u));
        if (OUT_W > 8u) {
          let hi = gyHi[i];
          addPixel(i, 8u, subgroupBroadcast(hi, 0u));
          addPixel(i, 9u, subgroupBroadcast(hi, 1u));
          addPixel(i, 10u, subgroupBroadcast(hi, 2u));
          addPixel(i, 11u, subgroupBroadcast(hi, 3u));
          addPixel(i, 12u, subgroupBroadcast(hi, 4u));
          addPixel(i, 13u, subgroupBroadcast(hi, 5u));
          addPixel(i, 14u, subgroupBroadcast(hi, 6u));
          addPixel(i, 15u, subgroupBroadcast(hi, 7u));
        }
      }
    }
  }
  if (channel >= p.Cin) { return; }
  let base = (wid.z * p.Cin + ci) * KERNEL_H * KERNEL_W;
  for (var t = 0u; t < KERNEL_H * KERNEL_W; t++) { Partial[base + t] = acc[t]; }
}
