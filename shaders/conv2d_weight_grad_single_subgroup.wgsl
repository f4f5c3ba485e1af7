// conv2d's weight gradient with ONE output channel: conv2d_weight_grad_single.wgsl's geometry, result
// and tiling (Cout == 1, stride 1 and no dilation along the width, KW <= 8; one invocation per (ci, i)
// row of taps, wid.z the slice of output rows), GY loaded once per subgroup: all lanes of a workgroup
// walk the same output rows and pixels, so for each octet of pixels ow0 .. ow0 + 7 lane l loads
// GY[row, ow0 + l % 8] and every lane takes each pixel's by subgroupBroadcast (needs the device feature
// 'subgroups' and subgroups of at least 8 lanes; the launcher runs it on exactly 8). Why: software
// Vulkan (lavapipe) runs a storage load per lane even where all lanes read one address; the plain
// kernel's GY load was one of its two loads per pixel.
//   Partial[s, ci, i, j] = Σ over output rows r = n·OH + oh in slice s (rows s·kChunk .. + kChunk - 1),
//                          Σ_ow GY[n, 0, oh, ow] · X[n, ci, oh·SH - PH + i·DH, ow - PW + j]
// X [N, Cin, H, W], GY [N, 1, OH, OW], Partial [slices, Cin, KH, KW], NCHW.
// Bindings: 0 params (conv_geometry's Params; kChunk = output rows per slice), 1 X (read), 2 GY (read),
//   3 Partial (write) — conv2d_weight_grad_single.wgsl's table.
// Tiling: WG (override, a multiple of the subgroup size) invocations along x, one (ci, i) each; wid.z
//   the slice. WIDE (override): KW 5-8 hold 8 taps in two vec4 sums, else (KW <= 4) one vec4.
// weightGradSingleRowsSubgroup (below): one invocation per ci over slices of input rows, where also SH == DH == 1
//   and KH <= 8 (X loaded once per input row for all KH tap rows); overrides KERNEL_H and WIDE_TAPS_8 (below).
// Uniform control flow through the loops (subgroup operations need it): lanes past the last (ci, i)
// and input rows outside X read clamped and zeroed; pixels past OW have GY 0.
// Bounds tests use `&` and `|`, not `&&` or `||` (SwiftShader: shaders/include/conv_single_forward.wgsl).
// X and GY are Operand (shaders/include/operand.wgsl), converted to f32 on load; sums and Partial f32.
enable subgroups;
//!include conv_geometry
//!include operand
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> X: array<Operand>;
@group(0) @binding(2) var<storage, read> GY: array<Operand>;
@group(0) @binding(3) var<storage, read_write> Partial: array<f32>;

override WG: u32 = 64u;
override WIDE: bool = true;

var<private> xRow: u32;
var<private> rowInside: bool;
var<private> win0: vec4<f32>;
var<private> win1: vec4<f32>;
var<private> acc0: vec4<f32>;
var<private> acc1: vec4<f32>;

/** X in the current input row at column iw, 0 outside it. */
fn inputAt(iw: i32) -> f32 {
  let inside = rowInside & (iw >= 0) & (iw < i32(p.W));
  return select(0.0, f32(X[xRow + u32(clamp(iw, 0, i32(p.W) - 1))]), inside);
}

/** Adds pixel ow's gradient g to the taps and slides the window to pixel ow + 1. */
fn pixel(g: f32, ow: u32) {
  acc0 += g * win0;
  if (WIDE) {
    acc1 += g * win1;
    let next = inputAt(i32(ow) + 8 - p.PW);
    win0 = vec4<f32>(win0.yzw, win1.x);
    win1 = vec4<f32>(win1.yzw, next);
  } else {
    win0 = vec4<f32>(win0.yzw, inputAt(i32(ow) + 4 - p.PW));
  }
}

@compute @workgroup_size(WG)
fn weightGradSingleSubgroup(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>, @builtin(subgroup_invocation_id) lane: u32) {
  let columns = p.Cin * p.KH;
  let column = min(wid.x * WG + lid.x, columns - 1u);
  let ci = column / p.KH;
  let i = column % p.KH;
  let rows = p.N * p.OH;
  let first = wid.z * p.kChunk;
  let end = min(first + p.kChunk, rows);
  acc0 = vec4<f32>(0.0);
  acc1 = vec4<f32>(0.0);
  for (var r = first; r < end; r++) {
    let n = r / p.OH;
    let ih = i32((r % p.OH) * p.SH + i * p.DH) - p.PH;
    rowInside = (ih >= 0) & (ih < i32(p.H));
    xRow = ((n * p.Cin + ci) * p.H + u32(clamp(ih, 0, i32(p.H) - 1))) * p.W;
    let gyRow = r * p.OW;
    // Taps j = 0 .. 7 of output pixel ow read X[ow - PW + j].
    win0 = vec4<f32>(inputAt(-p.PW), inputAt(1 - p.PW), inputAt(2 - p.PW), inputAt(3 - p.PW));
    win1 = vec4<f32>(inputAt(4 - p.PW), inputAt(5 - p.PW), inputAt(6 - p.PW), inputAt(7 - p.PW));
    for (var ow0 = 0u; ow0 < p.OW; ow0 += 8u) {
      let mine = ow0 + lane % 8u;
      let g = select(0.0, f32(GY[gyRow + min(mine, p.OW - 1u)]), mine < p.OW);
      pixel(subgroupBroadcast(g, 0u), ow0);
      pixel(subgroupBroadcast(g, 1u), ow0 + 1u);
      pixel(subgroupBroadcast(g, 2u), ow0 + 2u);
      pixel(subgroupBroadcast(g, 3u), ow0 + 3u);
      pixel(subgroupBroadcast(g, 4u), ow0 + 4u);
      pixel(subgroupBroadcast(g, 5u), ow0 + 5u);
      pixel(subgroupBroadcast(g, 6u), ow0 + 6u);
      pixel(subgroupBroadcast(g, 7u), ow0 + 7u);
    }
  }
  if (wid.x * WG + lid.x >= columns) { return; }
  let taps = array<f32, 8>(acc0.x, acc0.y, acc0.z, acc0.w, acc1.x, acc1.y, acc1.z, acc1.w);
  let base = wid.z * columns * p.KW + column * p.KW;
  for (var j = 0u; j < p.KW; j++) { Partial[base + j] = taps[j]; }
}

// ---------------------------------------------------------------------------------------------
// weightGradSingleRowsSubgroup — the same gradient where also SH == 1, DH == 1 and KH <= 8 (KERNEL_H,
// override: the kernel's height), walked by input rows: one invocation per input channel ci sums all
// KH x KW taps, wid.z the slice of input rows q = n·H + ih (rows s·kChunk .. + kChunk - 1). Input row ih
// meets tap row i at output row oh = ih + PH - i, so the row's window of X (one load per pixel) serves
// every tap row, each with its own GY row (loaded once per subgroup and shared by subgroupShuffle): X
// is loaded once per input row instead of once per (tap row, output row) as above.
//   Partial[s, ci, i, j] = Σ over input rows q = n·H + ih in slice s, Σ_ow GY[n, 0, ih + PH - i, ow] · X[n, ci, ih, ow - PW + j]
// (GY rows outside [0, OH) are 0). Lanes past Cin compute channel Cin - 1 and store nothing.
// WIDE_TAPS_8 (override, WIDE only): KW 8 sums taps 4 .. 7 as a vec4 (rowAcc[2i + 1]); KW 5-7 sum taps 4 .. 6 as a vec3
// (rowAccHigh[i]): one multiply-add in 8 fewer on a 7×7, the same results.
override KERNEL_H: u32 = 4u;
override WIDE_TAPS_8: bool = true;

/** Tap row i's sums: rowAcc[2i] (taps j = 0 .. 3), rowAcc[2i + 1] (4 .. 7, WIDE and WIDE_TAPS_8) or rowAccHigh[i] (4 .. 6, WIDE). */
var<private> rowAcc: array<vec4<f32>, 16>;
var<private> rowAccHigh: array<vec3<f32>, 8>;

@compute @workgroup_size(WG)
fn weightGradSingleRowsSubgroup(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>, @builtin(subgroup_invocation_id) lane: u32) {
  let ci = min(wid.x * WG + lid.x, p.Cin - 1u);
  let first = wid.z * p.kChunk;
  let end = min(first + p.kChunk, p.N * p.H);
  rowAcc = array<vec4<f32>, 16>();
  rowAccHigh = array<vec3<f32>, 8>();
  rowInside = true;
  for (var q = first; q < end; q++) {
    let n = q / p.H;
    let ih = q % p.H;
    xRow = ((n * p.Cin + ci) * p.H + ih) * p.W;
    // Taps j = 0 .. 7 of output pixel ow read X[ow - PW + j].
    win0 = vec4<f32>(inputAt(-p.PW), inputAt(1 - p.PW), inputAt(2 - p.PW), inputAt(3 - p.PW));
    win1 = vec4<f32>(inputAt(4 - p.PW), inputAt(5 - p.PW), inputAt(6 - p.PW), inputAt(7 - p.PW));
    for (var ow0 = 0u; ow0 < p.OW; ow0 += 8u) {
      // gy[i]: GY[n, 0, ih + PH - i, ow0 + lane % 8] (0 outside GY), for lane t's pixel.
      let mine = ow0 + lane % 8u;
      var gy: array<f32, 8>;
      for (var i = 0u; i < KERNEL_H; i++) {
        let oh = i32(ih) + p.PH - i32(i);
        let inside = (oh >= 0) & (oh < i32(p.OH)) & (mine < p.OW);
        gy[i] = select(0.0, f32(GY[(n * p.OH + u32(clamp(oh, 0, i32(p.OH) - 1))) * p.OW + min(mine, p.OW - 1u)]), inside);
      }
      for (var t = 0u; t < 8u; t++) {
        for (var i = 0u; i < KERNEL_H; i++) {
          let g = subgroupShuffle(gy[i], t);
          rowAcc[2u * i] += g * win0;
          if (WIDE & WIDE_TAPS_8) {
            rowAcc[2u * i + 1u] += g * win1;
          } else if (WIDE) {
            rowAccHigh[i] += g * win1.xyz;
          }
        }
        // Slide the window to pixel ow0 + t + 1.
        if (WIDE) {
          let next = inputAt(i32(ow0 + t) + 8 - p.PW);
          win0 = vec4<f32>(win0.yzw, win1.x);
          win1 = vec4<f32>(win1.yzw, next);
        } else {
          win0 = vec4<f32>(win0.yzw, inputAt(i32(ow0 + t) + 4 - p.PW));
        }
      }
    }
  }
  if (wid.x * WG + lid.x >= p.Cin) { return; }
  let base = (wid.z * p.Cin + ci) * KERNEL_H * p.KW;
  for (var i = 0u; i < KERNEL_H; i++) {
    let high = select(vec4<f32>(rowAccHigh[i], 0.0), rowAcc[2u * i + 1u], WIDE_TAPS_8);
    let taps = array<f32, 8>(rowAcc[2u * i].x, rowAcc[2u * i].y, rowAcc[2u * i].z, rowAcc[2u * i].w, high.x, high.y, high.z, high.w);
    for (var j = 0u; j < p.KW; j++) { Partial[base + i * p.KW + j] = taps[j]; }
  }
}
