// conv2d's input gradient for ONE output channel: conv_transpose2d_single.wgsl's geometry and
// computation, the 8 channels' weights of each tap loaded once per subgroup: lane l loads channel
// ci0 + l % 8's and every lane takes each by subgroupBroadcast (needs the device feature 'subgroups'
// and subgroups of at least 8 lanes; the launcher runs it on exactly 8). Why: software Vulkan
// (lavapipe) runs a storage load per lane even where all lanes read one address.
//   GX[n, ci, ih, iw] = Bias[ci] + Σ_{i, j} GY[n, 0, ih + PH - i·DH, iw + PW - j] · W[0, ci, i, j]
// GY [N, 1, OH, OW], W [1, Cin, KH, KW], GX [N, Cin, H, W], NCHW; Params named from conv2d's side.
// Bindings: 0 params (conv_geometry's Params), 1 GY (read), 2 W (read), 3 Bias (read; [Cin], used when
//   hasBias == 1), 4 GX (write).
// Tiling: WG (override, a multiple of the subgroup size) invocations per workgroup along x, each 8
//   outputs of a row; wid.y: the block of 8 channels; the pixel grid folds into z:
//   invocation = (wid.z · groups.x + wid.x) · WG + lid.x.
// rowsWindow (last): up to 8 rows x 8 columns x 8 channels per invocation where also DH == 1, KH <= 8 and KW <= 8.
// GY and W are Operand (shaders/include/operand.wgsl: f32, or f16 in the `.f16` build), converted to
// f32 on load; sums, Bias and GX are f32.
enable subgroups;
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

/** W[0, ci0 + c, tap] for c = 0 .. 7 (0 past Cin): one load per lane, shared by broadcast. */
fn channelWeights(ci0: u32, tap: u32, lane: u32) -> WeightOctet {
  let ci = ci0 + lane % 8u;
  let mine = select(0.0, f32(W[min(ci, p.Cin - 1u) * p.KH * p.KW + tap]), ci < p.Cin);
  return WeightOctet(
    vec4<f32>(subgroupBroadcast(mine, 0u), subgroupBroadcast(mine, 1u), subgroupBroadcast(mine, 2u), subgroupBroadcast(mine, 3u)),
    vec4<f32>(subgroupBroadcast(mine, 4u), subgroupBroadcast(mine, 5u), subgroupBroadcast(mine, 6u), subgroupBroadcast(mine, 7u)));
}

@compute @workgroup_size(WG)
fn singleSubgroup(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>, @builtin(subgroup_invocation_id) lane: u32) {
  singleTranspose((wid.z * groups.x + wid.x) * WG + lid.x, wid.y * 8u, lane);
}

// ---------------------------------------------------------------------------------------------
// rowsWindow — the same input gradient where also DH == 1 and KH, KW <= 8: tiles of WINDOW_ROWS (override, at most 8)
// rows ih0 .. of GX x 8 columns iw0 .. iw0 + 7 x the 8 channels ci0 .. ci0 + 7 (ci0 = 8·wid.y), KERNEL_W (override) the
// kernel's width. GY row t of the tile (oh = ih0 + PH - (KH - 1) + t; WINDOW_ROWS + KH - 1 of them) is loaded once into
// registers (GY[oh, iw0 + PW - (KW - 1) .. + KERNEL_W + 6]) and added to each tile row r that it reaches (tap row
// i = r + KH - 1 - t in [0, KH): a uniform test), one (row, channel) at a time: its 8 sums stay in registers through the
// KERNEL_W taps. The weights are loaded once per invocation: lane l holds tap row l of the 8 channels (heldGradTaps), each
// tap taken from lane i by subgroupShuffle. Why: on lavapipe a load whose address differs per lane is a loop over the
// lanes; singleSubgroup loaded KW + 8 GY values per tap row and one weight per tap for 8 x 8 outputs, and kept its 64
// sums live across every tap (spilled). Tiles: (n, WINDOW_ROWS·a, 8·b), invocation = ((n · ceil(H / WINDOW_ROWS)) + a) ·
// ceil(W / 8) + b (grid as singleSubgroup's); past the last it repeats it and stores nothing; rows past H are not stored.
override WINDOW_ROWS: u32 = 8u;
override KERNEL_W: u32 = 8u;
/** Tile row r's sums of channel ci0 + c: gradAcc[2(8r + c)] (columns iw0 .. + 3), gradAcc[2(8r + c) + 1] (iw0 + 4 .. + 7). */
var<private> gradAcc: array<vec4<f32>, 128>;
/** The current GY row's window: GY at columns iw0 + PW - (KW - 1) .. + KERNEL_W + 6. */
var<private> gyRow: array<f32, 16>;
/** Lane l's tap row l of channel ci0 + c at heldGradTaps[8c + j] (0 past KH, KW or Cin). */
var<private> heldGradTaps: array<f32, 64>;

/** Adds the current GY row to tile row r's sums of channel ci0 + c through tap row i (uniform). */
fn addGradChannel(r: u32, c: u32, i: u32) {
  let at = 2u * (8u * r + c);
  var lo = gradAcc[at];
  var hi = gradAcc[at + 1u];
  // Tap j = KW - 1 - s reads GY at iw0 + m + PW - j: window slot m + s.
  for (var s = 0u; s < KERNEL_W; s++) {
    let w = subgroupShuffle(heldGradTaps[8u * c + KERNEL_W - 1u - s], i);
    lo += w * vec4<f32>(gyRow[s], gyRow[s + 1u], gyRow[s + 2u], gyRow[s + 3u]);
    hi += w * vec4<f32>(gyRow[s + 4u], gyRow[s + 5u], gyRow[s + 6u], gyRow[s + 7u]);
  }
  gradAcc[at] = lo;
  gradAcc[at + 1u] = hi;
}

/** Adds GY row t of the tile to tile row r's 8 channels, where r has a tap row on it (uniform). */
fn addGradRow(t: u32, r: u32) {
  if ((r >= WINDOW_ROWS) | (t < r) | (t - r >= p.KH)) { return; }
  let i = p.KH - 1u - (t - r);
  addGradChannel(r, 0u, i); addGradChannel(r, 1u, i); addGradChannel(r, 2u, i); addGradChannel(r, 3u, i);
  addGradChannel(r, 4u, i); addGradChannel(r, 5u, i); addGradChannel(r, 6u, i); addGradChannel(r, 7u, i);
}

@compute @workgroup_size(WG)
fn rowsWindow(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>, @builtin(subgroup_invocation_id) lane: u32) {
  let invocation = (wid.z * groups.x + wid.x) * WG + lid.x;
  let ci0 = wid.y * 8u;
  let octetsPerRow = (p.W + 7u) / 8u;
  let rowTiles = (p.H + WINDOW_ROWS - 1u) / WINDOW_ROWS;
  let total = p.N * rowTiles * octetsPerRow;
  let q = min(invocation, total - 1u);
  let iw0 = (q % octetsPerRow) * 8u;
  let tile = q / octetsPerRow;
  let n = tile / rowTiles;
  let ih0 = (tile % rowTiles) * WINDOW_ROWS;
  let tapRow = lane % 8u;
  for (var c = 0u; c < 8u; c++) {
    let ci = ci0 + c;
    let base = (min(ci, p.Cin - 1u) * p.KH + min(tapRow, p.KH - 1u)) * KERNEL_W;
    for (var j = 0u; j < KERNEL_W; j++) { heldGradTaps[8u * c + j] = select(0.0, f32(W[base + j]), (ci < p.Cin) & (tapRow < p.KH)); }
  }
  gradAcc = array<vec4<f32>, 128>();
  let first = i32(iw0) + p.PW - i32(KERNEL_W - 1u);
  for (var t = 0u; t < WINDOW_ROWS + p.KH - 1u; t++) {
    let oh = i32(ih0 + t) + p.PH - i32(p.KH - 1u);
    gyRowInside = (oh >= 0) & (oh < i32(p.OH));
    gyRowBase = (n * p.OH + u32(clamp(oh, 0, i32(p.OH) - 1))) * p.OW;
    for (var s = 0u; s < KERNEL_W + 7u; s++) { gyRow[s] = gradAt(first + i32(s)); }
    addGradRow(t, 0u); addGradRow(t, 1u); addGradRow(t, 2u); addGradRow(t, 3u);
    addGradRow(t, 4u); addGradRow(t, 5u); addGradRow(t, 6u); addGradRow(t, 7u);
  }
  if (invocation >= total) { return; }
  storeGradRow(n, ih0, iw0, ci0, 0u); storeGradRow(n, ih0, iw0, ci0, 1u); storeGradRow(n, ih0, iw0, ci0, 2u); storeGradRow(n, ih0, iw0, ci0, 3u);
  storeGradRow(n, ih0, iw0, ci0, 4u); storeGradRow(n, ih0, iw0, ci0, 5u); storeGradRow(n, ih0, iw0, ci0, 6u); storeGradRow(n, ih0, iw0, ci0, 7u);
}

/** Stores tile row r's 8 channels (constant indices into gradAcc: a private array indexed per lane would be a gather). */
fn storeGradRow(n: u32, ih0: u32, iw0: u32, ci0: u32, r: u32) {
  if ((r >= WINDOW_ROWS) | (ih0 + r >= p.H)) { return; }
  let at = 16u * r;
  storeChannel(n, ih0 + r, iw0, ci0, gradAcc[at], gradAcc[at + 1u]);
  storeChannel(n, ih0 + r, iw0, ci0 + 1u, gradAcc[at + 2u], gradAcc[at + 3u]);
  storeChannel(n, ih0 + r, iw0, ci0 + 2u, gradAcc[at + 4u], gradAcc[at + 5u]);
  storeChannel(n, ih0 + r, iw0, ci0 + 3u, gradAcc[at + 6u], gradAcc[at + 7u]);
  storeChannel(n, ih0 + r, iw0, ci0 + 4u, gradAcc[at + 8u], gradAcc[at + 9u]);
  storeChannel(n, ih0 + r, iw0, ci0 + 5u, gradAcc[at + 10u], gradAcc[at + 11u]);
  storeChannel(n, ih0 + r, iw0, ci0 + 6u, gradAcc[at + 12u], gradAcc[at + 13u]);
  storeChannel(n, ih0 + r, iw0, ci0 + 7u, gradAcc[at + 14u], gradAcc[at + 15u]);
}
