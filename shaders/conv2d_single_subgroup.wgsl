// conv2d forward with ONE output channel: conv2d_single.wgsl's geometry and computation (Cout == 1, no
// mfm, stride 1 and no dilation along the width) in two entry points. singleSubgroup: conv2d_single.wgsl's
// walk, the 8 weights of each step loaded once per subgroup:
// lane l loads W[k0 + l % 8] and every lane takes each from its loader by subgroupBroadcast (needs the
// device feature 'subgroups' and subgroups of at least 8 lanes; the launcher runs it on exactly 8).
// Why: software Vulkan (lavapipe: a subgroup is the 8-lane SIMD vector) runs a storage load per lane
// even where all lanes read one address; a broadcast from a constant lane is a register permute.
//   Y[n, 0, oh, ow] = Bias[0] + Σ_{ci, i, j} X[n, ci, oh·SH - PH + i·DH, ow - PW + j] · W[0, ci, i, j]
// X [N, Cin, H, W], W [1, Cin, KH, KW], Y [N, 1, OH, OW], NCHW.
// Bindings: 0 params (conv_geometry's Params), 1 X (read), 2 W (read), 3 Bias (read; used when
//   hasBias == 1), 4 Y (write) — conv2d_single.wgsl's table.
// rowsSubgroup (below): 4 output rows x 8 columns per invocation where also SH == DH == 1, KH <= 8 and KW <= 8;
// rowsWindow (last): up to 16 output rows x 8 columns, only the taps that exist, an input row's window in registers; it also
// runs few output channels, one per workgroup z (conv2d's stride-1 input gradient into 1-2 input channels).
// Tiling: WG (override, a multiple of the subgroup size) invocations per workgroup along x, 8 outputs
//   each (rowsSubgroup: 32); invocation = (wid.y · groups.x + wid.x) · WG + lid.x. Control flow is uniform up to the
//   stores (shaders/include/conv_single_forward.wgsl).
// Bounds tests use `&` and `|`, not `&&` or `||` (SwiftShader: shaders/include/conv_single_forward.wgsl).
// X and W are Operand (shaders/include/operand.wgsl), converted to f32 on load; sums, Bias and Y f32.
enable subgroups;
//!include conv_geometry
//!include operand
//!include stored
//!include half_bits
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> X: array<Operand>;
@group(0) @binding(2) var<storage, read> W: array<Operand>;
@group(0) @binding(3) var<storage, read> Bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> Y: array<Stored>;
//!include conv_single_forward

override WG: u32 = 64u;

/** W[k0 .. k0 + 7] (0 past the last): one load per lane, shared by broadcast. */
fn weightOctet(k0: u32, lane: u32) -> WeightOctet {
  let last = p.Cin * p.KH * p.KW - 1u;
  let k = k0 + lane % 8u;
  let mine = select(0.0, f32(W[min(k, last)]), k <= last);
  return WeightOctet(
    vec4<f32>(subgroupBroadcast(mine, 0u), subgroupBroadcast(mine, 1u), subgroupBroadcast(mine, 2u), subgroupBroadcast(mine, 3u)),
    vec4<f32>(subgroupBroadcast(mine, 4u), subgroupBroadcast(mine, 5u), subgroupBroadcast(mine, 6u), subgroupBroadcast(mine, 7u)));
}

@compute @workgroup_size(WG)
fn singleSubgroup(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>, @builtin(subgroup_invocation_id) lane: u32) {
  singleForward((wid.y * groups.x + wid.x) * WG + lid.x, lane);
}

// ---------------------------------------------------------------------------------------------
// rowsSubgroup — the same forward where also SH == 1, DH == 1, KH <= 8 and KW <= 8 (G's 7×7 and D's
// 4×4 output layers): 4 output rows oh0 .. oh0 + 3 x 8 columns ow0 .. ow0 + 7 per invocation, so each
// input row's window (8 + KW - 1 loads) serves every output row that needs it (up to 4 tap rows)
// instead of one: per channel ci, lane l holds W[0, ci, l, 0 .. KW - 1] (tap row l) in two vec4
// registers, rotated one tap per step, and each output row j takes its tap row t - j from that lane
// by subgroupShuffle (t: the input row's index in the tile, uniform). Tiles: (n, 4·a, 8·b), invocation
// = ((n · ceil(OH / 4)) + a) · ceil(OW / 8) + b, past the last repeating it and storing nothing.
// Needs subgroups of exactly 8 lanes (the tap rows live in lanes 0 .. 7).
const TILE_ROWS = 4u;

var<private> rowAcc: array<vec4<f32>, 8>;

/** Output row j's weight of the current tap: lane t - j's (its tap row), 0 where t - j is no tap row. */
fn rowWeight(w: f32, t: u32, j: u32) -> f32 {
  let kh = i32(t) - i32(j);
  let fromLane = subgroupShuffle(w, u32(clamp(kh, 0, 7)));
  return select(0.0, fromLane, (kh >= 0) & (kh < i32(p.KH)));
}

fn storeRow(row: u32, ow0: u32, bias: f32, lo: vec4<f32>, hi: vec4<f32>) {
  let outputs = array<f32, 8>(lo.x, lo.y, lo.z, lo.w, hi.x, hi.y, hi.z, hi.w);
  for (var t = 0u; t < 8u; t++) {
    if (ow0 + t < p.OW) { Y[row * p.OW + ow0 + t] = stored(outputs[t] + bias); }
  }
}

/** An invocation's output tile: image, first row, first column; copy: past the last tile (computes it again, stores nothing). */
struct TilePlace { image: u32, oh0: u32, ow0: u32, copy: bool }

/**
 * The tile of `rows` x `columns` outputs of an invocation, images outermost, then row tiles, then column tiles. Invocations
 * past the last tile compute the last one again, so that none returns before the subgroup operations.
 */
fn placeTile(invocation: u32, rows: u32, columns: u32) -> TilePlace {
  let columnTiles = (p.OW + columns - 1u) / columns;
  let rowTiles = (p.OH + rows - 1u) / rows;
  let total = p.N * rowTiles * columnTiles;
  let q = min(invocation, total - 1u);
  let tile = q / columnTiles;
  return TilePlace(tile / rowTiles, (tile % rowTiles) * rows, (q % columnTiles) * columns, invocation >= total);
}

@compute @workgroup_size(WG)
fn rowsSubgroup(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>, @builtin(subgroup_invocation_id) lane: u32) {
  let placed = placeTile((wid.y * groups.x + wid.x) * WG + lid.x, TILE_ROWS, 8u);
  image = placed.image;
  let oh0 = placed.oh0;
  let ow0 = placed.ow0;
  iwFirst = i32(ow0) - p.PW;
  rowAcc = array<vec4<f32>, 8>();
  let heldRow = min(lane % 8u, p.KH - 1u);
  let laneHasRow = lane % 8u < p.KH;
  // A local loop counter: the private ci is not subgroup-uniform to WGSL's analysis.
  for (var channel = 0u; channel < p.Cin; channel++) {
    ci = channel;
    // This lane's tap row of channel ci: taps 0 .. KW - 1 (0 past KW).
    let wBase = (ci * p.KH + heldRow) * p.KW;
    var taps: array<f32, 8>;
    for (var j = 0u; j < 8u; j++) { taps[j] = select(0.0, f32(W[wBase + min(j, p.KW - 1u)]), laneHasRow & (j < p.KW)); }
    let held0 = vec4<f32>(taps[0], taps[1], taps[2], taps[3]);
    let held1 = vec4<f32>(taps[4], taps[5], taps[6], taps[7]);
    for (var t = 0u; t < TILE_ROWS + p.KH - 1u; t++) {
      // Input row oh0 - PH + t (startRow's ih with oh = oh0 and tapRow = t, SH = DH = 1).
      oh = oh0;
      tapRow = t;
      startRow();
      var h0 = held0;
      var h1 = held1;
      for (var kw = 0u; kw < p.KW; kw++) {
        let w = h0.x;
        let w0 = rowWeight(w, t, 0u);
        let w1 = rowWeight(w, t, 1u);
        let w2 = rowWeight(w, t, 2u);
        let w3 = rowWeight(w, t, 3u);
        rowAcc[0] += w0 * win0; rowAcc[1] += w0 * win1;
        rowAcc[2] += w1 * win0; rowAcc[3] += w1 * win1;
        rowAcc[4] += w2 * win0; rowAcc[5] += w2 * win1;
        rowAcc[6] += w3 * win0; rowAcc[7] += w3 * win1;
        let next = inputAt(iwFirst + i32(kw) + 8);
        win0 = vec4<f32>(win0.yzw, win1.x);
        win1 = vec4<f32>(win1.yzw, next);
        h0 = vec4<f32>(h0.yzw, h1.x);
        h1 = vec4<f32>(h1.yzw, 0.0);
      }
    }
  }
  if (placed.copy) { return; }
  var bias = 0.0;
  if (p.hasBias == 1u) { bias = Bias[0]; }
  let row0 = image * p.OH + oh0;
  storeRow(row0, ow0, bias, rowAcc[0], rowAcc[1]);
  if (oh0 + 1u < p.OH) { storeRow(row0 + 1u, ow0, bias, rowAcc[2], rowAcc[3]); }
  if (oh0 + 2u < p.OH) { storeRow(row0 + 2u, ow0, bias, rowAcc[4], rowAcc[5]); }
  if (oh0 + 3u < p.OH) { storeRow(row0 + 3u, ow0, bias, rowAcc[6], rowAcc[7]); }
}

// ---------------------------------------------------------------------------------------------
// rowsWindow — rowsSubgroup's geometry (SH == DH == 1, KH <= 8, KW <= 8) in tiles of WINDOW_ROWS (override, at most 16)
// output rows x 8·WINDOW_OCTETS (override, 1 or 2) columns, KERNEL_W (override) the kernel's width. Per channel and input row t
// of the tile (WINDOW_ROWS + KH - 1 of them) an invocation loads the row's window X[.., ow0 - PW .. + KERNEL_W + 8·WINDOW_OCTETS
// - 2] once into registers, then adds it to
// each tile row r that has a tap row on it (kh = t - r in [0, KH): a uniform test, so rows without one cost nothing), one tile
// row at a time: its 8 sums stay in registers through the KERNEL_W taps. Why: on lavapipe a load whose address differs per
// lane is a loop over the lanes, about half of rowsSubgroup's time; rowsSubgroup's 4-row tiles loaded 2.5 input rows per
// output row (rowsWindow's 16: 1.4 at KH = 7), added every input row to all 4 tile rows (30 % of G-out's multiply-adds on
// zero weights), loaded one input past each row, and kept its 32 sums live across every tap (spilled).
// Weights as rowsSubgroup: lane l holds tap row l of the channel (heldTaps), each tile row takes lane kh's by subgroupShuffle.
// Tiles: (n, WINDOW_ROWS·a, 8·WINDOW_OCTETS·b), invocation = ((n · ceil(OH / WINDOW_ROWS)) + a) · ceil(OW / (8·WINDOW_OCTETS)) + b,
// past the last repeating it and storing nothing; tile rows and columns past OH / OW are computed and not stored. Needs
// subgroups of exactly 8 lanes.
// Several output channels (the stride-1 input gradient of a conv with 1-2 input channels, run as a forward over GY): one per
// workgroup z (`outChannel`), each its own launch-wide pass over X (Y [N, Cout, OH, OW], Bias [Cout]). Under FLIPPED_WEIGHTS 1, W is
// the original conv's weight [Cin' = p.Cout, Cout' = p.Cin, KH, KW] read transposed and rotated by 180° in place:
// W'[outChannel, ci, i, j] = W[ci, outChannel, KH - 1 - i, KW - 1 - j] (only KERNEL_W loads per channel and lane, so no pack step,
// and f16 weights stay Operand). Under CHANNEL_PAIR 1 (with WINDOW_OCTETS 1) an invocation computes output channels 2·z and
// 2·z + 1, the second in the sums the second octet would use: each window of X serves both (half the lane-varying loads).
override WINDOW_ROWS: u32 = 16u;
override KERNEL_W: u32 = 8u;
override WINDOW_OCTETS: u32 = 1u;
override FLIPPED_WEIGHTS: u32 = 0u;
override CHANNEL_PAIR: u32 = 0u;
// Under SHARED_COLUMNS 1 (the forward; convSingleForward 'windowShared') the tiles are placed per subgroup: its 8 lanes take 8
// neighbouring column tiles of one row tile (lane l: columns ow0 + 8·WINDOW_OCTETS·l ..), so that the lanes' windows of an input
// row overlap, and each lane loads only its own 8·WINDOW_OCTETS columns (plus one of the KERNEL_W - 1 past the last lane's: lanes
// past KERNEL_W - 2 load a duplicate)
// and takes the KERNEL_W - 1 past its own from lane l + 1 by subgroupShuffle (one vpermd on lavapipe with AVX2): G-out's 22 loads
// a lane and input row become 17. Why: on lavapipe each lane's load is a bounds-checked branch per component (Mesa's
// emit_load_mem), about half of G-out's forward time, and a vec4 load costs as much per component (timing-only edits,
// bench/goutfwd-probe.ts). Needs subgroups of 8 consecutive invocations (lavapipe's), WG a multiple of 8.
override SHARED_COLUMNS: u32 = 0u;
/**
 * Tile row r's sums: windowAcc[4r .. 4r + 3] (columns ow0 .. + 3, + 4 .. + 7, and with two octets + 8 .. + 11, + 12 .. + 15;
 * with a channel pair the second channel's ow0 .. + 3, + 4 .. + 7).
 */
var<private> windowAcc: array<vec4<f32>, 64>;
/** The current input row's window: X at columns iwFirst .. iwFirst + KERNEL_W + 8·WINDOW_OCTETS - 2. */
var<private> inputRow: array<f32, 24>;
/** This lane's tap row of the current channel (taps 0 .. KERNEL_W - 1), and under CHANNEL_PAIR the second output channel's. */
var<private> heldTaps: array<f32, 8>;
var<private> pairTaps: array<f32, 8>;

/** Adds the current input row (tile row t) to tile row r's sums through tap row t - r, where that tap row exists (uniform). */
fn addWindowRow(t: u32, r: u32) {
  if ((r >= WINDOW_ROWS) | (t < r) | (t - r >= p.KH)) { return; }
  var lo = windowAcc[4u * r];
  var hi = windowAcc[4u * r + 1u];
  var lo2 = vec4<f32>();
  var hi2 = vec4<f32>();
  let secondHalf = (WINDOW_OCTETS == 2u) | (CHANNEL_PAIR == 1u);
  if (secondHalf) {
    lo2 = windowAcc[4u * r + 2u];
    hi2 = windowAcc[4u * r + 3u];
  }
  for (var kw = 0u; kw < KERNEL_W; kw++) {
    let w = subgroupShuffle(heldTaps[kw], t - r);
    lo += w * vec4<f32>(inputRow[kw], inputRow[kw + 1u], inputRow[kw + 2u], inputRow[kw + 3u]);
    hi += w * vec4<f32>(inputRow[kw + 4u], inputRow[kw + 5u], inputRow[kw + 6u], inputRow[kw + 7u]);
    if (WINDOW_OCTETS == 2u) {
      lo2 += w * vec4<f32>(inputRow[kw + 8u], inputRow[kw + 9u], inputRow[kw + 10u], inputRow[kw + 11u]);
      hi2 += w * vec4<f32>(inputRow[kw + 12u], inputRow[kw + 13u], inputRow[kw + 14u], inputRow[kw + 15u]);
    }
    if (CHANNEL_PAIR == 1u) {
      let w2 = subgroupShuffle(pairTaps[kw], t - r);
      lo2 += w2 * vec4<f32>(inputRow[kw], inputRow[kw + 1u], inputRow[kw + 2u], inputRow[kw + 3u]);
      hi2 += w2 * vec4<f32>(inputRow[kw + 4u], inputRow[kw + 5u], inputRow[kw + 6u], inputRow[kw + 7u]);
    }
  }
  windowAcc[4u * r] = lo;
  windowAcc[4u * r + 1u] = hi;
  if (secondHalf) {
    windowAcc[4u * r + 2u] = lo2;
    windowAcc[4u * r + 3u] = hi2;
  }
}

/** Adds the current input row to every tile row (r written out: constant indices into windowAcc keep it out of a loop). */
fn addWindowRows(t: u32) {
  addWindowRow(t, 0u); addWindowRow(t, 1u); addWindowRow(t, 2u); addWindowRow(t, 3u);
  addWindowRow(t, 4u); addWindowRow(t, 5u); addWindowRow(t, 6u); addWindowRow(t, 7u);
  addWindowRow(t, 8u); addWindowRow(t, 9u); addWindowRow(t, 10u); addWindowRow(t, 11u);
  addWindowRow(t, 12u); addWindowRow(t, 13u); addWindowRow(t, 14u); addWindowRow(t, 15u);
}

/**
 * The current input row's window under SHARED_COLUMNS (inputRow[j] = X at column iwFirst + j, 0 outside X): this lane's own
 * 8·WINDOW_OCTETS columns loaded, the KERNEL_W - 1 after them lane + 1's first ones; the last lane's from `tail`, column
 * spanEnd + l of the row loaded by lane l.
 */
fn loadSharedWindow(lane: u32, spanEnd: i32) {
  for (var j = 0u; j < 8u * WINDOW_OCTETS; j++) { inputRow[j] = inputAt(iwFirst + i32(j)); }
  let tail = inputAt(spanEnd + i32(min(lane, max(KERNEL_W, 2u) - 2u)));
  let right = min(lane + 1u, 7u);
  for (var j = 0u; j + 1u < KERNEL_W; j++) {
    inputRow[8u * WINDOW_OCTETS + j] = select(subgroupShuffle(inputRow[j], right), subgroupShuffle(tail, j), lane == 7u);
  }
}

/** Weight (outChannel, ci, row, tap) of the forward rowsWindow computes: W's own, or under FLIPPED_WEIGHTS the original conv's rotated and transposed. */
fn windowWeight(outChannel: u32, ci: u32, row: u32, tap: u32) -> f32 {
  if (FLIPPED_WEIGHTS == 1u) { return f32(W[((ci * p.Cout + outChannel) * p.KH + p.KH - 1u - row) * KERNEL_W + KERNEL_W - 1u - tap]); }
  return f32(W[((outChannel * p.Cin + ci) * p.KH + row) * KERNEL_W + tap]);
}

@compute @workgroup_size(WG)
fn rowsWindow(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>, @builtin(subgroup_invocation_id) lane: u32) {
  let outChannel = wid.z * (1u + CHANNEL_PAIR);
  let invocation = (wid.y * groups.x + wid.x) * WG + lid.x;
  var placed: TilePlace;
  var ow0: u32;
  if (SHARED_COLUMNS == 1u) {
    // The subgroup's tile (8 lane tiles side by side), placed from lane 0's invocation so that every lane agrees.
    placed = placeTile(subgroupBroadcast(invocation, 0u) / 8u, WINDOW_ROWS, 64u * WINDOW_OCTETS);
    ow0 = placed.ow0 + 8u * WINDOW_OCTETS * lane;
  } else {
    placed = placeTile(invocation, WINDOW_ROWS, 8u * WINDOW_OCTETS);
    ow0 = placed.ow0;
  }
  image = placed.image;
  let oh0 = placed.oh0;
  // Under SHARED_COLUMNS: the first column after the subgroup's lane tiles' own columns.
  let spanEnd = i32(placed.ow0 + 64u * WINDOW_OCTETS) - p.PW;
  iwFirst = i32(ow0) - p.PW;
  windowAcc = array<vec4<f32>, 64>();
  let heldRow = min(lane % 8u, p.KH - 1u);
  let laneHasRow = lane % 8u < p.KH;
  // A local loop counter: the private ci is not subgroup-uniform to WGSL's analysis.
  for (var channel = 0u; channel < p.Cin; channel++) {
    ci = channel;
    for (var j = 0u; j < KERNEL_W; j++) { heldTaps[j] = select(0.0, windowWeight(outChannel, ci, heldRow, j), laneHasRow); }
    if (CHANNEL_PAIR == 1u) {
      for (var j = 0u; j < KERNEL_W; j++) { pairTaps[j] = select(0.0, windowWeight(outChannel + 1u, ci, heldRow, j), laneHasRow); }
    }
    for (var t = 0u; t < WINDOW_ROWS + p.KH - 1u; t++) {
      // Input row oh0 - PH + t (startRow's ih with oh = oh0 and tapRow = t, SH = DH = 1).
      let ih = i32(oh0 + t) - p.PH;
      rowInside = (ih >= 0) & (ih < i32(p.H));
      rowBase = ((image * p.Cin + ci) * p.H + u32(clamp(ih, 0, i32(p.H) - 1))) * p.W;
      if (SHARED_COLUMNS == 1u) {
        loadSharedWindow(lane, spanEnd);
      } else {
        for (var j = 0u; j < KERNEL_W + 8u * WINDOW_OCTETS - 1u; j++) { inputRow[j] = inputAt(iwFirst + i32(j)); }
      }
      addWindowRows(t);
    }
  }
  if (placed.copy) { return; }
  var bias = 0.0;
  var pairBias = 0.0;
  if (p.hasBias == 1u) {
    bias = Bias[outChannel];
    if (CHANNEL_PAIR == 1u) { pairBias = Bias[outChannel + 1u]; }
  }
  let row0 = (image * p.Cout + outChannel) * p.OH + oh0;
  for (var r = 0u; r < WINDOW_ROWS; r++) {
    if (oh0 + r < p.OH) {
      storeRow(row0 + r, ow0, bias, windowAcc[4u * r], windowAcc[4u * r + 1u]);
      if (WINDOW_OCTETS == 2u) { storeRow(row0 + r, ow0 + 8u, bias, windowAcc[4u * r + 2u], windowAcc[4u * r + 3u]); }
      if (CHANNEL_PAIR == 1u) { storeRow(row0 + p.OH + r, ow0, pairBias, windowAcc[4u * r + 2u], windowAcc[4u * r + 3u]); }
    }
  }
}
