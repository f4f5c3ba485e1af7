// conv2d's weight gradient with ONE output channel (Cout == 1), stride 1 and no dilation along the
// width, KW <= 8 (any KH, SH, DH, padding), split over output rows:
//   Partial[s, ci, i, j] = Σ over output rows r = n·OH + oh in slice s (rows s·kChunk .. + kChunk - 1),
//                          Σ_ow GY[n, 0, oh, ow] · X[n, ci, oh·SH - PH + i·DH, ow - PW + j]
// (the launcher sums the slices: no float atomics). X [N, Cin, H, W], GY [N, 1, OH, OW], Partial
// [slices, Cin, KH, KW], NCHW.
// Bindings: 0 params (conv_geometry's Params; kChunk = output rows per slice), 1 X (read), 2 GY (read),
//   3 Partial (write).
// Tiling: one invocation per (ci, i) row of taps, WG (override) of them per workgroup along x; wid.z is
//   the slice. WIDE (override): KW 5-8 hold 8 taps in two vec4 sums, else (KW <= 4) one vec4.
// Per output pixel an invocation loads GY once and one new X, and adds the pixel to all KW taps of its
// row: X[ow - PW + j] for j = 0 .. 7 sits in two vec4 registers that shift by one input per pixel (a
// Cout = 1 GEMM has a single row: the generic kernels' row blocks would be 75-94 % padding).
// Invariant: inputs outside X (padding) read as 0; taps j >= KW are summed and not stored.
// Bounds tests use `&` and `|`, not `&&` or `||` (SwiftShader: shaders/include/conv_single_forward.wgsl).
// X and GY are Operand (shaders/include/operand.wgsl: f32, or f16 in the `.f16` build), converted to
// f32 on load; sums and Partial are f32.
//!include conv_geometry
//!include operand
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> X: array<Operand>;
@group(0) @binding(2) var<storage, read> GY: array<Operand>;
@group(0) @binding(3) var<storage, read_write> Partial: array<f32>;

override WG: u32 = 64u;
override WIDE: bool = true;

/** X[rowBase + iw] for a row of W inputs, 0 outside it. */
fn inputAt(rowBase: u32, iw: i32) -> f32 {
  let inside = (iw >= 0) & (iw < i32(p.W));
  return select(0.0, f32(X[rowBase + u32(clamp(iw, 0, i32(p.W) - 1))]), inside);
}

@compute @workgroup_size(WG)
fn weightGradSingle(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let column = wid.x * WG + lid.x;
  if (column >= p.Cin * p.KH) { return; }
  let ci = column / p.KH;
  let i = column % p.KH;
  let rows = p.N * p.OH;
  let first = wid.z * p.kChunk;
  let end = min(first + p.kChunk, rows);
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  for (var r = first; r < end; r++) {
    let n = r / p.OH;
    let ih = i32((r % p.OH) * p.SH + i * p.DH) - p.PH;
    if ((ih < 0) | (ih >= i32(p.H))) { continue; }
    let xRow = ((n * p.Cin + ci) * p.H + u32(ih)) * p.W;
    let gyRow = r * p.OW;
    // Taps j = 0 .. 7 of output pixel ow read X[ow - PW + j].
    var win0 = vec4<f32>(inputAt(xRow, -p.PW), inputAt(xRow, 1 - p.PW), inputAt(xRow, 2 - p.PW), inputAt(xRow, 3 - p.PW));
    if (WIDE) {
      var win1 = vec4<f32>(inputAt(xRow, 4 - p.PW), inputAt(xRow, 5 - p.PW), inputAt(xRow, 6 - p.PW), inputAt(xRow, 7 - p.PW));
      for (var ow = 0u; ow < p.OW; ow++) {
        let g = f32(GY[gyRow + ow]);
        acc0 += g * win0;
        acc1 += g * win1;
        let next = inputAt(xRow, i32(ow) + 8 - p.PW);
        win0 = vec4<f32>(win0.yzw, win1.x);
        win1 = vec4<f32>(win1.yzw, next);
      }
    } else {
      for (var ow = 0u; ow < p.OW; ow++) {
        let g = f32(GY[gyRow + ow]);
        acc0 += g * win0;
        win0 = vec4<f32>(win0.yzw, inputAt(xRow, i32(ow) + 4 - p.PW));
      }
    }
  }
  let taps = array<f32, 8>(acc0.x, acc0.y, acc0.z, acc0.w, acc1.x, acc1.y, acc1.z, acc1.w);
  let base = wid.z * p.Cin * p.KH * p.KW + column * p.KW;
  for (var j = 0u; j < p.KW; j++) { Partial[base + j] = taps[j]; }
}
