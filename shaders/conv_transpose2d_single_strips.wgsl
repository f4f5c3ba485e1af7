// conv2d's input gradient for ONE output channel (Cout == 1) at stride 1, no dilation, kernel at most 8 x 8, walked down
// strips of rows (rowStrips; conv_transpose2d_single_subgroup.wgsl's rowsWindow computes the same in 2-D tiles):
//   GX[n, ci, ih, iw] = Bias[ci] + Σ_{i, j} GY[n, 0, ih + PH - i, iw + PW - j] · W[0, ci, i, j]
// (terms whose GY index lies outside [0, OH) x [0, OW) are 0). GY [N, 1, OH, OW], W [1, Cin, KH, KW], GX [N, Cin, H, W],
// NCHW; Params named from conv2d's side.
// Bindings: 0 params (conv_geometry's Params), 1 GY (read), 2 W (read), 3 Bias (read; [Cin], used when hasBias == 1),
//   4 GX (write, bound as vec4: the launcher's GX binding holds whole quads).
// Each invocation walks a strip of 8 columns iw0 .. iw0 + 7 down STRIP_ROWS (override) GX rows ih0 .. for the 8 channels
// ci0 .. ci0 + 7 (ci0 = 8·wid.y), one GX row at a time. It holds the KERNEL_H (override: KH) GY rows that reach the current
// GX row in a window (slot k: GY row ih + PH - (KH - 1) + k, its columns iw0 + PW - (KERNEL_W - 1) .. + KERNEL_W + 6;
// KERNEL_W the override: KW), slides it down one row per GX row (one new row of GY loads), and then adds all KH x KW taps to
// one channel's 8 sums at a time, in a loop over the channels that stays a loop: the sums stay in registers and the
// channel's 8 outputs are stored as soon as its taps are done. Lane l holds channel ci0 + l's taps (loaded once); channel
// c's come from lane c by subgroupShuffle (c uniform). Needs subgroups of exactly 8 (the launcher runs it only there).
// Why, on lavapipe (its subgroup is the 8-lane SIMD vector; every load or store whose address differs per lane is a loop
// over the lanes, written out in the code): rowsWindow keeps 8 rows x 8 channels of sums and stores them in one written-out
// epilogue of 512 per-lane stores, ~300 KB of machine code run once per subgroup, and its update code per GY row is ~60 KB:
// both stream through the instruction cache (a sampling profile of G-out's input gradient put ~40 % of its time in the
// stores' code). Here a GX row's code is ~15 KB, run again and again; each tap row's partial sums start from zero (short
// add chains; fma() keeps lavapipe's multiply and add apart, but in an order that overlaps better).
// Stores: a channel's 8 outputs as two aligned vec4 where its row segment starts on a quad, as a vec2 + vec4 + vec2 (in
// components) where it starts two past one, else one component at a time (row ends, odd offsets).
// Tiles: (n, STRIP_ROWS·a, 8·b), invocation = ((n · ceil(H / STRIP_ROWS)) + a) · ceil(W / 8) + b, WG (override) to a
// workgroup, the pixel workgroups folded into z past the per-dimension limit: invocation = (wid.z · groups.x + wid.x) · WG +
// lid.x. Invocations past the last repeat it and store nothing; rows past H are computed (the loops are uniform across the
// workgroup, as the shuffles need) and not stored; channels past Cin are not computed.
// Bounds tests use `&` and `|`, not `&&` or `||` (SwiftShader: shaders/include/conv_single_forward.wgsl).
// GY and W are Operand (shaders/include/operand.wgsl: f32, or f16 in the `.f16` build), converted to f32 on load; sums, Bias
// and GX are f32.
enable subgroups;
//!include conv_geometry
//!include operand
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> GY: array<Operand>;
@group(0) @binding(2) var<storage, read> W: array<Operand>;
@group(0) @binding(3) var<storage, read> Bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> GX: array<vec4<f32>>;

override WG: u32 = 64u;
override STRIP_ROWS: u32 = 32u;
override KERNEL_H: u32 = 8u;
override KERNEL_W: u32 = 8u;

/** Window slot k's GY values at window[16k .. 16k + KERNEL_W + 6] (constant indices throughout: registers, not memory). */
var<private> window: array<f32, 128>;
/** Lane l's channel ci0 + l: tap (i, j) at taps[8i + j] (0 past Cin). */
var<private> taps: array<f32, 64>;

/** GY[n, 0, oh, first .. first + KERNEL_W + 6] (0 outside GY) into the window's last slot. */
fn loadGradRow(n: u32, oh: i32, first: i32) {
  let inside = (oh >= 0) & (oh < i32(p.OH));
  let base = (n * p.OH + u32(clamp(oh, 0, i32(p.OH) - 1))) * p.OW;
  for (var s = 0u; s < KERNEL_W + 7u; s++) {
    let ow = first + i32(s);
    let value = f32(GY[base + u32(clamp(ow, 0, i32(p.OW) - 1))]);
    window[16u * (KERNEL_H - 1u) + s] = select(0.0, value, inside & (ow >= 0) & (ow < i32(p.OW)));
  }
}

/** Window slot k ← slot k + 1 (k a constant). */
fn slideSlot(k: u32) {
  if (k + 1u >= KERNEL_H) { return; }
  for (var s = 0u; s < KERNEL_W + 7u; s++) { window[16u * k + s] = window[16u * (k + 1u) + s]; }
}

fn slideWindow() {
  slideSlot(0u); slideSlot(1u); slideSlot(2u); slideSlot(3u); slideSlot(4u); slideSlot(5u); slideSlot(6u);
}

/** Adds window slot k (tap row KH - 1 - k) times channel c's taps (from lane c) to the sums (k a constant). */
fn addTapRow(k: u32, c: u32, sums: ptr<function, array<vec4<f32>, 2>>) {
  if (k >= KERNEL_H) { return; }
  let i = KERNEL_H - 1u - k;
  var lo = vec4<f32>();
  var hi = vec4<f32>();
  // Tap j = KERNEL_W - 1 - s: output iw0 + m reads GY at column iw0 + m + PW - j, window value m + s.
  for (var s = 0u; s < KERNEL_W; s++) {
    let w = vec4<f32>(subgroupShuffle(taps[8u * i + KERNEL_W - 1u - s], c));
    let at = 16u * k + s;
    lo = fma(w, vec4<f32>(window[at], window[at + 1u], window[at + 2u], window[at + 3u]), lo);
    hi = fma(w, vec4<f32>(window[at + 4u], window[at + 5u], window[at + 6u], window[at + 7u]), hi);
  }
  (*sums)[0] += lo;
  (*sums)[1] += hi;
}

/** GX element e (column iw) = v where iw lies inside the row. */
fn storeInside(e: u32, iw: u32, v: f32) {
  if (iw < p.W) { GX[e / 4u][e % 4u] = v; }
}

/** Channel ci's sums lo, hi plus its bias into GX[n, ci, ih, iw0 .. iw0 + 7] (the columns inside W). */
fn storeOctet(n: u32, ih: u32, iw0: u32, ci: u32, lo: vec4<f32>, hi: vec4<f32>) {
  var bias = 0.0;
  if (p.hasBias == 1u) { bias = Bias[ci]; }
  let a = lo + bias;
  let b = hi + bias;
  let at = ((n * p.Cin + ci) * p.H + ih) * p.W + iw0;
  let q = at / 4u;
  let whole = iw0 + 8u <= p.W;
  if (whole & (at % 4u == 0u)) {
    GX[q] = a;
    GX[q + 1u] = b;
  } else if (whole & (at % 4u == 2u)) {
    GX[q].z = a.x;
    GX[q].w = a.y;
    GX[q + 1u] = vec4<f32>(a.zw, b.xy);
    GX[q + 2u].x = b.z;
    GX[q + 2u].y = b.w;
  } else {
    storeInside(at, iw0, a.x); storeInside(at + 1u, iw0 + 1u, a.y); storeInside(at + 2u, iw0 + 2u, a.z); storeInside(at + 3u, iw0 + 3u, a.w);
    storeInside(at + 4u, iw0 + 4u, b.x); storeInside(at + 5u, iw0 + 5u, b.y); storeInside(at + 6u, iw0 + 6u, b.z); storeInside(at + 7u, iw0 + 7u, b.w);
  }
}

@compute @workgroup_size(WG)
fn rowStrips(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>, @builtin(subgroup_invocation_id) lane: u32) {
  let invocation = (wid.z * groups.x + wid.x) * WG + lid.x;
  let ci0 = wid.y * 8u;
  let octetsPerRow = (p.W + 7u) / 8u;
  let strips = (p.H + STRIP_ROWS - 1u) / STRIP_ROWS;
  let total = p.N * strips * octetsPerRow;
  let q = min(invocation, total - 1u);
  let iw0 = (q % octetsPerRow) * 8u;
  let strip = q / octetsPerRow;
  let n = strip / strips;
  let ih0 = (strip % strips) * STRIP_ROWS;
  let ci = ci0 + lane % 8u;
  for (var i = 0u; i < KERNEL_H; i++) {
    let base = (min(ci, p.Cin - 1u) * KERNEL_H + i) * KERNEL_W;
    for (var j = 0u; j < KERNEL_W; j++) { taps[8u * i + j] = select(0.0, f32(W[base + j]), ci < p.Cin); }
  }
  let channels = min(8u, p.Cin - ci0);
  let first = i32(iw0) + p.PW - i32(KERNEL_W - 1u);
  // The window's first KERNEL_H - 1 slots before GX row ih0; then per row one slide and the row's new GY row in the last.
  for (var t = 0u; t + 1u < p.KH; t++) {
    slideWindow();
    loadGradRow(n, i32(ih0 + t) + p.PH - i32(KERNEL_H - 1u), first);
  }
  for (var r = 0u; r < STRIP_ROWS; r++) {
    slideWindow();
    loadGradRow(n, i32(ih0 + r) + p.PH, first);
    let ih = ih0 + r;
    for (var c = 0u; c < channels; c++) {
      var sums = array<vec4<f32>, 2>();
      addTapRow(0u, c, &sums); addTapRow(1u, c, &sums); addTapRow(2u, c, &sums); addTapRow(3u, c, &sums);
      addTapRow(4u, c, &sums); addTapRow(5u, c, &sums); addTapRow(6u, c, &sums); addTapRow(7u, c, &sums);
      if ((invocation < total) & (ih < p.H)) { storeOctet(n, ih, iw0, ci0 + c, sums[0], sums[1]); }
    }
  }
}
