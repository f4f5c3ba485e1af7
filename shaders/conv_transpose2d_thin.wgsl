// The transposed convolution (conv2d's input gradient, convTranspose2d's forward) for THIN outputs —
// at most 2 channels, as FaPE-GAN's discriminator's first layer (2→64, 4×4 stride 2) has — at strides 1-2
// (dilation 1) with at most 2 taps per phase along each axis (KH <= 2·SH, KW <= 2·SW), channel reuse replaced
// by reuse in space:
//   Y[n, ci, h, w] = Bias[ci] + Σ_{co, i, j} X[n, co, oh, ow] · Wt[co, ci, i, j], h = oh·SH - PH + i, w = ow·SW - PW + j.
// Sizes from conv2d's point of view: X [N, Cout, OH, OW] (gy), Wt [Cout, Cin, KH, KW], Y [N, Cin, H, W], NCHW.
// Why: the GEMM kernels' rows are Y's channels; with 2 of them each X load serves 2 multiply-adds per tap
// (phaseTiled's 4-row blocks also spend half their multiply-adds on zero rows). Here one invocation
// computes both channels of a block of Y: rows h = SH·(m0 + r) - PH + s and columns w = SW·(b0 + c) - PW + u
// for r < 4, c < 4 (one vec4), s < SH, u < SW — every phase of 4 x 4 phase pixels. Output row (r, s) takes
// the kernel rows i = s + SH·t, t < 2, reading X row m0 + r - t (likewise along the width: j = u + SW·v, X
// column b0 + c - v), so per input channel co the block reads one 5 x 5 window of X (rows m0 - 1 .. m0 + 3,
// columns b0 - 1 .. b0 + 3), each value loaded once and used by every output its taps meet, and the 2 x 4 x 4
// weights (taps i >= KH or j >= KW read as 0) by one load per lane and shuffles from constant lanes (the
// subgroup is lavapipe's 8-lane SIMD vector): 25 X loads + 4 weight loads + 32 shuffles for 128 vec4
// multiply-adds (phaseTiled: 4 + 1 loads for 16, half of them on zero rows).
// The window rows are written out (accumulateRow called per row) rather than looped: Mesa does not unroll a
// loop that large, and the sums and weights indexed by its counter would then live in memory.
// Params: conv_geometry's Params. STRIDE_H, STRIDE_W (overrides) equal p.SH, p.SW (constant loop bounds).
// Bindings: 0 params, 1 X (read), 2 X4 (read: the same buffer as vec4s, read only with QUADS), 3 Wt (read),
//   4 Bias (read; used when hasBias == 1), 5 Y (write).
// Assumes (the launcher runs it only where they hold): subgroups of exactly 8 invocations of consecutive local
// indices; WG a multiple of 8. Tiling: WG invocations per workgroup along x over blocks (n, block row, block
// column); wid.y the channel pair (a subgroup's lanes share their weights); blocks past the grid's x fold into z:
//   block = (wid.z · groups.x + wid.x) · WG + lid.x. Blocks past the last repeat it (the shuffles need every
//   lane in uniform control flow) and store nothing.
// Invariant: block rows start at phase row floor(PH / SH), so SH·m0 - PH starts in (-SH, 0] and the blocks
// tile every row of Y exactly once (likewise columns); each Y element is written by one invocation and sums
// exactly the taps whose X pixel lies inside X (the window reads 0 outside).
// X, X4 and Wt are Operand (shaders/include/operand.wgsl: f32, or f16 in the `.f16` build; X4's vec4 8 bytes there),
// converted to f32 on load; sums, Bias and Y are f32.
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
override STRIDE_H: u32 = 2u;
override STRIDE_W: u32 = 2u;
/**
 * Whether window columns 1..4 (X columns b0 .. b0 + 3) are one aligned vec4 of X4 (the launcher sets it where OW % 4 == 0 and
 * floor(PW / SW) % 4 == 0, so b0 % 4 == 0): 2 loads per window row instead of 5.
 */
override QUADS: bool = false;
/** Output channels per invocation. */
const CHANNELS = 2u;

/** Sums of channel ch, block row r, phase (s, u), at index ((ch·4 + r)·2 + s)·2 + u (vec4 over the 4 columns). */
var<private> sums: array<vec4<f32>, 32>;
/** Weights of channel ch at kernel row i, columns 0..3, at index ch·4 + i. */
var<private> weights: array<vec4<f32>, 8>;
/** The window's X offsets (within one X plane) and whether each lies inside X, at index e·5 + q. */
var<private> windowOffset: array<u32, 25>;
var<private> windowInside: array<bool, 25>;

/** The 4 window columns a column tap v meets at the block's columns c = 0..3: window columns c - v + 1. */
fn columnTap(x: array<f32, 5>, v: u32) -> vec4<f32> {
  return vec4<f32>(x[1u - v], x[2u - v], x[3u - v], x[4u - v]);
}

/** Loads window row e of X plane `plane`: X columns b0 - 1 .. b0 + 3 of X row m0 - 1 + e, 0 outside X. */
fn windowRow(e: u32, plane: u32) -> array<f32, 5> {
  var x: array<f32, 5>;
  if (QUADS) {
    let at = e * 5u;
    x[0] = select(0.0, f32(X[plane + windowOffset[at]]), windowInside[at]);
    let quad = vec4<f32>(X4[(plane + windowOffset[at + 1u]) / 4u]);
    let inside = windowInside[at + 1u];
    x[1] = select(0.0, quad.x, inside);
    x[2] = select(0.0, quad.y, inside);
    x[3] = select(0.0, quad.z, inside);
    x[4] = select(0.0, quad.w, inside);
  } else {
    for (var q = 0u; q < 5u; q++) {
      let at = e * 5u + q;
      x[q] = select(0.0, f32(X[plane + windowOffset[at]]), windowInside[at]);
    }
  }
  return x;
}

/** Adds window row e (X row m0 - 1 + e: row tap t = r + 1 - e of block rows r = e - 1, e) of X plane `plane`. */
fn accumulateRow(e: u32, plane: u32) {
  let x = windowRow(e, plane);
  let near = columnTap(x, 0u);
  let far = columnTap(x, 1u);
  for (var t = 0u; t < 2u; t++) {
    let r = i32(e) + i32(t) - 1;
    if ((r >= 0) & (r < 4)) {
      for (var s = 0u; s < STRIDE_H; s++) {
        for (var u = 0u; u < STRIDE_W; u++) {
          for (var ch = 0u; ch < CHANNELS; ch++) {
            let row = weights[ch * 4u + s + STRIDE_H * t];
            let sum = ((ch * 4u + u32(r)) * 2u + s) * 2u + u;
            sums[sum] += row[u] * near + row[u + STRIDE_W] * far;
          }
        }
      }
    }
  }
}

/**
 * true: per input channel the 5 window rows are loaded first and each sum takes all its taps (both row taps t) in one update;
 * false: window row by window row, each sum updated once per row tap. lavapipe keeps the 32 vec4 sums in memory, so each
 * update is a load and a store beside its multiply-adds: by block rows halves them.
 */
override BY_BLOCK_ROWS: bool = true;
/** The window rows' near / far column taps (columnTap v = 0 / 1) of the current input channel, under BY_BLOCK_ROWS. */
var<private> nearRows: array<vec4<f32>, 5>;
var<private> farRows: array<vec4<f32>, 5>;

/** Loads window row e's column taps into nearRows[e], farRows[e]. */
fn loadWindowRow(e: u32, plane: u32) {
  let x = windowRow(e, plane);
  nearRows[e] = columnTap(x, 0u);
  farRows[e] = columnTap(x, 1u);
}

/** Adds block row r's taps: row tap 0 from window row r + 1, row tap 1 from window row r, each sum updated once. */
fn accumulateBlockRow(r: u32) {
  for (var s = 0u; s < STRIDE_H; s++) {
    for (var u = 0u; u < STRIDE_W; u++) {
      for (var ch = 0u; ch < CHANNELS; ch++) {
        let tap0 = weights[ch * 4u + s];
        let tap1 = weights[ch * 4u + s + STRIDE_H];
        let sum = ((ch * 4u + r) * 2u + s) * 2u + u;
        sums[sum] += tap0[u] * nearRows[r + 1u] + tap0[u + STRIDE_W] * farRows[r + 1u] + tap1[u] * nearRows[r] + tap1[u + STRIDE_W] * farRows[r];
      }
    }
  }
}

@compute @workgroup_size(WG)
fn thinBlocks(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>, @builtin(subgroup_invocation_id) lane: u32) {
  // The first block's phase row / column: SH·m - PH in (-SH, 0].
  let firstRow = u32(p.PH) / STRIDE_H;
  let firstCol = u32(p.PW) / STRIDE_W;
  let rowBlocks = (p.H + u32(p.PH) - STRIDE_H * firstRow + 4u * STRIDE_H - 1u) / (4u * STRIDE_H);
  let colBlocks = (p.W + u32(p.PW) - STRIDE_W * firstCol + 4u * STRIDE_W - 1u) / (4u * STRIDE_W);
  let blocks = p.N * rowBlocks * colBlocks;
  let real = (wid.z * groups.x + wid.x) * WG + lid.x;
  let block = min(real, blocks - 1u);
  let n = block / (rowBlocks * colBlocks);
  let m0 = i32(firstRow + (block / colBlocks % rowBlocks) * 4u);
  let b0 = i32(firstCol + (block % colBlocks) * 4u);
  let ci0 = wid.y * CHANNELS;
  for (var e = 0u; e < 5u; e++) {
    let oh = m0 - 1 + i32(e);
    for (var q = 0u; q < 5u; q++) {
      let ow = b0 - 1 + i32(q);
      windowInside[e * 5u + q] = (oh >= 0) & (oh < i32(p.OH)) & (ow >= 0) & (ow < i32(p.OW));
      windowOffset[e * 5u + q] = u32(clamp(oh, 0, i32(p.OH) - 1)) * p.OW + u32(clamp(ow, 0, i32(p.OW) - 1));
      // QUADS: column 1 starts the quad b0 .. b0 + 3, all inside X or all outside (the clamp then stays in its row).
      if (QUADS & (q == 1u)) { windowOffset[e * 5u + 1u] = u32(clamp(oh, 0, i32(p.OH) - 1)) * p.OW + u32(clamp(ow, 0, i32(p.OW) - 4)); }
    }
  }
  // Weight k = ch·16 + i·4 + j (of the 2 x 4 x 4 grid) is loaded by lane k % 8 into its slot k / 8.
  var laneKernel = array<u32, 4>(0u, 0u, 0u, 0u);
  var laneInside = array<bool, 4>(false, false, false, false);
  for (var slot = 0u; slot < 4u; slot++) {
    let k = slot * 8u + lane;
    let i = k / 4u % 4u;
    let j = k % 4u;
    let ci = ci0 + k / 16u;
    laneInside[slot] = (i < p.KH) & (j < p.KW) & (ci < p.Cin);
    laneKernel[slot] = select(0u, (ci * p.KH + i) * p.KW + j, laneInside[slot]);
  }
  let planeSize = p.OH * p.OW;
  let kernelSize = p.Cin * p.KH * p.KW;
  for (var co = 0u; co < p.Cout; co++) {
    var mine: array<f32, 4>;
    for (var slot = 0u; slot < 4u; slot++) {
      mine[slot] = select(0.0, f32(Wt[co * kernelSize + laneKernel[slot]]), laneInside[slot]);
    }
    for (var row = 0u; row < 8u; row++) {
      weights[row] = vec4<f32>(subgroupShuffle(mine[row / 2u], (row % 2u) * 4u), subgroupShuffle(mine[row / 2u], (row % 2u) * 4u + 1u), subgroupShuffle(mine[row / 2u], (row % 2u) * 4u + 2u), subgroupShuffle(mine[row / 2u], (row % 2u) * 4u + 3u));
    }
    let plane = (n * p.Cout + co) * planeSize;
    if (BY_BLOCK_ROWS) {
      loadWindowRow(0u, plane);
      loadWindowRow(1u, plane);
      loadWindowRow(2u, plane);
      loadWindowRow(3u, plane);
      loadWindowRow(4u, plane);
      accumulateBlockRow(0u);
      accumulateBlockRow(1u);
      accumulateBlockRow(2u);
      accumulateBlockRow(3u);
      continue;
    }
    accumulateRow(0u, plane);
    accumulateRow(1u, plane);
    accumulateRow(2u, plane);
    accumulateRow(3u, plane);
    accumulateRow(4u, plane);
  }
  if (real >= blocks) { return; }
  for (var ch = 0u; ch < CHANNELS; ch++) {
    let ci = ci0 + ch;
    if (ci >= p.Cin) { continue; }
    var bias = 0.0;
    if (p.hasBias == 1u) { bias = Bias[ci]; }
    for (var r = 0u; r < 4u; r++) {
      for (var s = 0u; s < STRIDE_H; s++) {
        let h = i32(STRIDE_H) * (m0 + i32(r)) - p.PH + i32(s);
        if ((h < 0) | (h >= i32(p.H))) { continue; }
        let rowBase = ((n * p.Cin + ci) * p.H + u32(h)) * p.W;
        for (var u = 0u; u < STRIDE_W; u++) {
          let out = sums[((ch * 4u + r) * 2u + s) * 2u + u] + bias;
          for (var c = 0u; c < 4u; c++) {
            let col = i32(STRIDE_W) * (b0 + i32(c)) - p.PW + i32(u);
            if ((col >= 0) & (col < i32(p.W))) { Y[rowBase + u32(col)] = stored(out[c]); }
          }
        }
      }
    }
  }
}
