// The stride-1 transposed convolution into ONE channel per workgroup z (conv2d's input gradient of a conv with one input
// channel: LightCNN's conv1, 96 → 1 through 5×5, pad 2 on 128²), kernels up to 8 rows x 5 columns, run as a forward over gy
// with the kernel rotated by 180° (src/kernels/conv.ts asForwardOfGradient: p.Cin is gy's channels, p.Cout gx's, p.H x p.W
// gy's plane, p.OH x p.OW gx's, p.PH / p.PW the forward's padding K - 1 - P):
//   Y[n, z, oh, ow] = Bias[z] + Σ_{ci, i, j} X[n, ci, oh - PH + i, ow - PW + j] · Wt[ci, z, KH - 1 - i, KW - 1 - j].
// Layouts: X [N, p.Cin, p.H, p.W] (gy), Wt [p.Cin, p.Cout, KH, KW] (the conv's own weight, read rotated in place),
// Y [N, p.Cout, p.OH, p.OW] (gx), NCHW.
// Why (against conv2d_single_subgroup.wgsl rowsWindow, the same order of work with the input row loaded one float at a
// time): on lavapipe a load whose address differs between lanes runs lane by lane — about half of rowsWindow's time here —
// and a vec4 load costs about half as much per float as a scalar one (bench/uniform-load-probe.ts); so an input row's 20
// values are 5-6 aligned vec4 loads (X_QUADS), and a tile of 32 output rows loads 36 input rows (rowsWindow's 16: 20).
// Tiling: an invocation owns TILE_ROWS output rows x 16 columns of one image (tile = wid.x · WG + lid.x over (image, block
// of rows, 16 columns); tiles past the last repeat it and store nothing). Per gy channel, lane l loads row of taps l (the
// kernel's row KH - 1 - l, reversed; every lane takes tap row i from lane i by a shuffle: the subgroup is lavapipe's 8-lane
// SIMD vector), then for each of its TILE_ROWS + KH - 1 input rows loads the row's 20 values (columns ow0 - PW ..) and adds
// them to each output row r it meets (tap row t - r in [0, KH): uniform, so rows it misses cost a mask test), the row's 16
// sums (windowAcc, constant indices: r written out) taking the KERNEL_W taps at once.
// Overrides: WG (a multiple of 8), TILE_ROWS 1..32, KERNEL_W 1..5 (= p.KW), X_QUADS (p.W % 4 == 0: a row of X is whole
// aligned quads, each inside the row or outside it), INPUT_SHIFT ((-PW) mod 4: the first value's place in its aligned quad).
// Bindings: 0 params (conv_geometry's Params), 1 X (read), 2 X4 (read: the same buffer as vec4s, read only under X_QUADS),
// 3 Wt (read), 4 Bias (read; used when hasBias == 1), 5 Y (write).
// Assumes (the launcher runs it only there): subgroups of exactly 8 invocations of consecutive local indices, p.KH <= 8,
// p.OW % 16 == 0, stride and dilation 1.
// Invariant: every sum adds exactly the (ci, i, j) taps that land inside X (values outside read 0), channel by channel in
// the order of rowsWindow's (bit-identical to it without bias); each Y element is stored once, by the tile that holds it.
// X, X4 and Wt are Operand (shaders/include/operand.wgsl: f32, or f16 in the `.f16` build), converted to f32 on load; sums,
// Bias and Y are f32 (Stored: the launcher stores f32).
enable subgroups;
//!include conv_geometry
//!include operand
//!include stored
//!include half_bits
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> X: array<Operand>;
@group(0) @binding(2) var<storage, read> X4: array<vec4<Operand>>;
@group(0) @binding(3) var<storage, read> Wt: array<Operand>;
@group(0) @binding(4) var<storage, read> Bias: array<f32>;
@group(0) @binding(5) var<storage, read_write> Y: array<Stored>;

override WG: u32 = 64u;
override TILE_ROWS: u32 = 16u;
override KERNEL_W: u32 = 5u;
override X_QUADS: bool = false;
override INPUT_SHIFT: u32 = 0u;

/** Output row r's 16 sums: windowAcc[4r .. 4r + 3] (columns ow0 .. + 3, .., + 12 .. + 15). */
var<private> windowAcc: array<vec4<f32>, 128>;
/** The current input row's 20 values from column ow0 - PW, as 5 quads. */
var<private> inputRow: array<vec4<f32>, 5>;
/** Lane l's row of taps l of the current channel (taps 0 .. KERNEL_W - 1: the kernel's row KH - 1 - l, reversed). */
var<private> heldTaps: array<f32, 5>;
//!include row_input

/** Inputs iw .. iw + 3. */
fn inputQuad(iw: i32) -> vec4<f32> {
  return vec4<f32>(inputAt(iw), inputAt(iw + 1), inputAt(iw + 2), inputAt(iw + 3));
}

/** Loads X row ih of the plane from `plane` (its 20 values from column iwFirst, 0 outside X) into inputRow. */
fn loadInputRow(plane: u32, ih: i32, iwFirst: i32) {
  rowInside = (ih >= 0) & (ih < i32(p.H));
  rowBase = plane + u32(clamp(ih, 0, i32(p.H) - 1)) * p.W;
  if (X_QUADS) {
    // The aligned quads from column iwFirst - INPUT_SHIFT (a multiple of 4) on: 6 vec4 loads for the 20 values (5 at shift 0).
    let c = iwFirst - i32(INPUT_SHIFT);
    let q0 = alignedInputQuad(c);
    let q1 = alignedInputQuad(c + 4);
    let q2 = alignedInputQuad(c + 8);
    let q3 = alignedInputQuad(c + 12);
    let q4 = alignedInputQuad(c + 16);
    var q5 = vec4<f32>(0.0);
    if (INPUT_SHIFT != 0u) { q5 = alignedInputQuad(c + 20); }
    inputRow = array<vec4<f32>, 5>(shiftedQuad(q0, q1), shiftedQuad(q1, q2), shiftedQuad(q2, q3), shiftedQuad(q3, q4), shiftedQuad(q4, q5));
    return;
  }
  inputRow = array<vec4<f32>, 5>(inputQuad(iwFirst), inputQuad(iwFirst + 4), inputQuad(iwFirst + 8), inputQuad(iwFirst + 12), inputQuad(iwFirst + 16));
}

/** Tap j of 4 outputs whose own columns are the quad a (b the next 4): inputs j .. j + 3 of a, b. */
fn tapInputs(a: vec4<f32>, b: vec4<f32>, j: u32) -> vec4<f32> {
  if (j == 1u) { return vec4<f32>(a.yzw, b.x); }
  if (j == 2u) { return vec4<f32>(a.zw, b.xy); }
  if (j == 3u) { return vec4<f32>(a.w, b.xyz); }
  if (j == 4u) { return b; }
  return a;
}

/** Adds the current input row (tile row t) to output row r's sums through tap row t - r, where that tap row exists (uniform). */
fn addWindowRow(t: u32, r: u32) {
  if ((r >= TILE_ROWS) | (t < r) | (t - r >= p.KH)) { return; }
  var s0 = windowAcc[4u * r];
  var s1 = windowAcc[4u * r + 1u];
  var s2 = windowAcc[4u * r + 2u];
  var s3 = windowAcc[4u * r + 3u];
  for (var j = 0u; j < KERNEL_W; j++) {
    let w = subgroupShuffle(heldTaps[j], t - r);
    s0 += w * tapInputs(inputRow[0], inputRow[1], j);
    s1 += w * tapInputs(inputRow[1], inputRow[2], j);
    s2 += w * tapInputs(inputRow[2], inputRow[3], j);
    s3 += w * tapInputs(inputRow[3], inputRow[4], j);
  }
  windowAcc[4u * r] = s0;
  windowAcc[4u * r + 1u] = s1;
  windowAcc[4u * r + 2u] = s2;
  windowAcc[4u * r + 3u] = s3;
}

/** Adds the current input row to every output row (r written out: constant indices into windowAcc keep it out of a loop). */
fn addWindowRows(t: u32) {
  addWindowRow(t, 0u); addWindowRow(t, 1u); addWindowRow(t, 2u); addWindowRow(t, 3u);
  addWindowRow(t, 4u); addWindowRow(t, 5u); addWindowRow(t, 6u); addWindowRow(t, 7u);
  addWindowRow(t, 8u); addWindowRow(t, 9u); addWindowRow(t, 10u); addWindowRow(t, 11u);
  addWindowRow(t, 12u); addWindowRow(t, 13u); addWindowRow(t, 14u); addWindowRow(t, 15u);
  addWindowRow(t, 16u); addWindowRow(t, 17u); addWindowRow(t, 18u); addWindowRow(t, 19u);
  addWindowRow(t, 20u); addWindowRow(t, 21u); addWindowRow(t, 22u); addWindowRow(t, 23u);
  addWindowRow(t, 24u); addWindowRow(t, 25u); addWindowRow(t, 26u); addWindowRow(t, 27u);
  addWindowRow(t, 28u); addWindowRow(t, 29u); addWindowRow(t, 30u); addWindowRow(t, 31u);
}

@compute @workgroup_size(WG)
fn thinQuadRows(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>, @builtin(subgroup_invocation_id) lane: u32) {
  let z = wid.y;
  let segments = p.OW / 16u;
  let blocks = (p.OH + TILE_ROWS - 1u) / TILE_ROWS;
  let tiles = p.N * blocks * segments;
  let tile = wid.x * WG + lid.x;
  let clamped = min(tile, tiles - 1u);
  let image = clamped / (blocks * segments);
  let oh0 = clamped / segments % blocks * TILE_ROWS;
  let ow0 = clamped % segments * 16u;
  let iwFirst = i32(ow0) - p.PW;
  windowAcc = array<vec4<f32>, 128>();
  // Lane l holds row of taps l: the kernel's row KH - 1 - l (rotated by 180°).
  let heldRow = p.KH - 1u - min(lane, p.KH - 1u);
  let laneHasRow = lane < p.KH;
  for (var channel = 0u; channel < p.Cin; channel++) {
    let first = ((channel * p.Cout + z) * p.KH + heldRow) * KERNEL_W;
    for (var j = 0u; j < KERNEL_W; j++) { heldTaps[j] = select(0.0, f32(Wt[first + KERNEL_W - 1u - j]), laneHasRow); }
    let plane = (image * p.Cin + channel) * p.H * p.W;
    for (var t = 0u; t < TILE_ROWS + p.KH - 1u; t++) {
      loadInputRow(plane, i32(oh0 + t) - p.PH, iwFirst);
      addWindowRows(t);
    }
  }
  if (tile >= tiles) { return; }
  var bias = 0.0;
  if (p.hasBias == 1u) { bias = Bias[z]; }
  for (var r = 0u; r < TILE_ROWS; r++) {
    if (oh0 + r >= p.OH) { break; }
    let base = ((image * p.Cout + z) * p.OH + oh0 + r) * p.OW + ow0;
    for (var q = 0u; q < 4u; q++) {
      let v = windowAcc[4u * r + q] + bias;
      Y[base + 4u * q] = stored(v.x);
      Y[base + 4u * q + 1u] = stored(v.y);
      Y[base + 4u * q + 2u] = stored(v.z);
      Y[base + 4u * q + 3u] = stored(v.w);
    }
  }
}
