// conv2d forward with ONE output channel (Cout == 1; no mfm), stride and dilation 1, kernel at most
// 8 x 8 (any padding), its reduction over input channels split into slices: each invocation computes a
// tile of 4 output rows x 8 columns over one slice of kChunk channels, and the launcher sums the slices
// (no float atomics). Why: D's 4×4 512→1 layer has few outputs (14² an image) and a long reduction
// (K = 512·16): tiles alone leave most lanes idle, and slices give the lanes work.
//   Partial[s, n, oh, ow] = (s == 0 ? Bias[0] : 0) + Σ_{ci in slice s, i, j} X[n, ci, oh - PH + i, ow - PW + j] · W[0, ci, i, j]
// X [N, Cin, H, W], W [1, Cin, KH, KW], Partial [slices, N, OH, OW] (with one slice: Y [N, 1, OH, OW]), NCHW.
// Bindings: 0 params (conv_geometry's Params; kChunk = channels per slice), 1 X (read), 2 W (read),
//   3 Bias (read; used when hasBias == 1), 4 Partial (write).
// Tiling: WG (override) invocations per workgroup along x; invocation = (wid.y · groups.x + wid.x) · WG + lid.x
//   = slice · tiles + tile (neighbouring lanes walk neighbouring tiles of one slice, so they read the same
//   weights); tiles (n, 4·a, 8·b) as in conv2d_single_subgroup.wgsl's rowsSubgroup. KERNEL_H and KERNEL_W
//   (overrides) are the kernel's size, so the tap loops have constant bounds (unrolled, no tap past the kernel).
// Per input row of a tile (4 + KH - 1 of them per channel) an invocation loads 8 + KW - 1 inputs into a
// sliding window of two vec4 and adds every tap of every output row that reads that row: each X load
// serves up to KW · 4 multiply-adds and no lane computes a tap outside the kernel.
// Invariant: inputs outside X read as 0; outputs past OH / OW are computed and not stored.
// Bounds tests use `&` and `|`, not `&&` or `||` (SwiftShader: shaders/include/conv_single_forward.wgsl).
// X and W are Operand (shaders/include/operand.wgsl: f32, or f16 in the `.f16` build), converted to
// f32 on load; sums, Bias and Partial are f32.
//!include conv_geometry
//!include operand
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> X: array<Operand>;
@group(0) @binding(2) var<storage, read> W: array<Operand>;
@group(0) @binding(3) var<storage, read> Bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> Partial: array<f32>;

override WG: u32 = 64u;
override KERNEL_H: u32 = 4u;
override KERNEL_W: u32 = 4u;
const TILE_ROWS = 4u;

/** X at column iw of the input row starting at rowBase (rowInside: whether that row lies in X), 0 outside it. */
fn inputAt(rowBase: u32, rowInside: bool, iw: i32) -> f32 {
  let inside = rowInside & (iw >= 0) & (iw < i32(p.W));
  return select(0.0, f32(X[rowBase + u32(clamp(iw, 0, i32(p.W) - 1))]), inside);
}

/** Stores output row `row`'s 8 sums lo, hi at columns ow0 .. ow0 + 7 of slice plane `plane`: those inside it. */
fn storeRow(plane: u32, row: u32, ow0: u32, lo: vec4<f32>, hi: vec4<f32>) {
  let outputs = array<f32, 8>(lo.x, lo.y, lo.z, lo.w, hi.x, hi.y, hi.z, hi.w);
  for (var t = 0u; t < 8u; t++) {
    if (ow0 + t < p.OW) { Partial[plane + row * p.OW + ow0 + t] = outputs[t]; }
  }
}

@compute @workgroup_size(WG)
fn rowsSliced(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let invocation = (wid.y * groups.x + wid.x) * WG + lid.x;
  let octetsPerRow = (p.OW + 7u) / 8u;
  let rowTiles = (p.OH + TILE_ROWS - 1u) / TILE_ROWS;
  let tiles = p.N * rowTiles * octetsPerRow;
  let slices = (p.Cin + p.kChunk - 1u) / p.kChunk;
  if (invocation >= tiles * slices) { return; }
  let slice = invocation / tiles;
  let tile = invocation % tiles;
  let ow0 = (tile % octetsPerRow) * 8u;
  let image = tile / octetsPerRow / rowTiles;
  let oh0 = (tile / octetsPerRow % rowTiles) * TILE_ROWS;
  let iwFirst = i32(ow0) - p.PW;
  // Output row r's sums: acc[2r] (columns ow0 .. + 3), acc[2r + 1] (ow0 + 4 .. + 7).
  var acc: array<vec4<f32>, 8>;
  let channelEnd = min((slice + 1u) * p.kChunk, p.Cin);
  for (var ci = slice * p.kChunk; ci < channelEnd; ci++) {
    for (var t = 0u; t < TILE_ROWS + KERNEL_H - 1u; t++) {
      // Input row oh0 - PH + t: tap row t - r of output row oh0 + r.
      let ih = i32(oh0 + t) - p.PH;
      let rowInside = (ih >= 0) & (ih < i32(p.H));
      let rowBase = ((image * p.Cin + ci) * p.H + u32(clamp(ih, 0, i32(p.H) - 1))) * p.W;
      var win0 = vec4<f32>(inputAt(rowBase, rowInside, iwFirst), inputAt(rowBase, rowInside, iwFirst + 1), inputAt(rowBase, rowInside, iwFirst + 2), inputAt(rowBase, rowInside, iwFirst + 3));
      var win1 = vec4<f32>(inputAt(rowBase, rowInside, iwFirst + 4), inputAt(rowBase, rowInside, iwFirst + 5), inputAt(rowBase, rowInside, iwFirst + 6), inputAt(rowBase, rowInside, iwFirst + 7));
      for (var j = 0u; j < KERNEL_W; j++) {
        for (var r = 0u; r < TILE_ROWS; r++) {
          let kh = i32(t) - i32(r);
          if ((kh >= 0) & (kh < i32(KERNEL_H))) {
            let w = f32(W[(ci * KERNEL_H + u32(kh)) * KERNEL_W + j]);
            acc[2u * r] += w * win0;
            acc[2u * r + 1u] += w * win1;
          }
        }
        let next = inputAt(rowBase, rowInside, iwFirst + i32(j) + 8);
        win0 = vec4<f32>(win0.yzw, win1.x);
        win1 = vec4<f32>(win1.yzw, next);
      }
    }
  }
  var bias = 0.0;
  if ((p.hasBias == 1u) & (slice == 0u)) { bias = Bias[0]; }
  let plane = slice * p.N * p.OH * p.OW;
  let row0 = image * p.OH + oh0;
  for (var r = 0u; r < TILE_ROWS; r++) {
    if (oh0 + r < p.OH) { storeRow(plane, row0 + r, ow0, acc[2u * r] + bias, acc[2u * r + 1u] + bias); }
  }
}
