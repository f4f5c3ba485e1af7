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
// Stores (here; the walk is shaders/include/conv_single_strips.wgsl): a channel's 8 outputs as two aligned vec4 where its row
// segment starts on a quad, as a vec2 + vec4 + vec2 (in components) where it starts two past one, else one component at a
// time (row ends). The launcher runs this file where W is even (every row starts on an even element: only the row ends take
// single components), conv_transpose2d_single_strips_elements.wgsl (GX bound as f32, one store per output) where W is odd:
// there half the octets start on odd elements, and a component store at a computed index cost more than a plain one
// (D-out's 15-wide rows: 4.0-6.3 against 3.2-3.9 ms; G-out's 134-wide ones 65 against 84 the other way).
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
//!include conv_single_strips


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
