// conv2d's forward (any height stride, padding and height dilation; width stride STRIDE_W 1 or 2, no width
// dilation; bias and the max-feature-map epilogue, as shaders/include/conv_epilogue.wgsl's, stored a quad of pixels at a
// time) for FEW input channels, as FaPE-GAN's first layers have (G-in 2→64 7×7, D-1 2→64 4×4 stride 2) and LightCNN's
// conv1 (1→96 5×5, mfm; policy convFiveWideForward 'window'):
//   Y[n, r, oh, ow] = Bias[r] + Σ_{ci, i, j} X[n, ci, oh·SH - PH + i·DH, ow·SW - PW + j] · A[r, (ci, i, j)].
// Why: conv2d_packed_subgroup.wgsl takes its taps one channel pair at a time, so with 2 channels every tap
// loads 8 fresh X values and 2 weight quads per lane for 256 multiply-adds. Here one invocation computes 32
// GEMM rows x 8 neighbouring outputs of one output row; along a row of taps (ci, i) it slides a window of
// X over the 8 outputs' inputs — the next tap j needs one new X value per window (SW = 1: one window; SW = 2:
// two, the even and odd taps) — and per tap lane l loads the weight quad of rows r0 + 4l .. + 3, which every
// lane takes by shuffles from constant lanes (lavapipe: a subgroup is its 8-lane SIMD vector, a lane-varying
// load costs ~10 instructions per lane, a constant-lane shuffle one broadcast): per tap 1 vec4 + ~1 X load
// for 256 multiply-adds (packedSubgroup: 2 vec4 + 8 X loads).
// Layouts: X [N, Cin, H, W], Packed [K][packedWidth] vec4 (shaders/conv_pack_weights.wgsl in 32-row blocks),
// Y [N, Cout, OH, OW] (or [N, Cout/2, OH, OW] under mfm), NCHW.
// Bindings: 0 params, 1 X (read), 2 Packed (read), 3 Bias (read; used when hasBias == 1), 4 Y (write, vec4),
//   5 Mask (write, u32 as vec4; used when p.mfm == 1) — as conv2d_packed.wgsl, the outputs as quads; 6 X4 (read: the same
//   buffer as X, as vec4s, read only under X_QUADS).
// Why quads: with conv1's K = 25 an invocation's 256 outputs cost about as much to store one float at a time (per-lane
// addressing, bounds tests, uniform reloads) as its 6400 multiply-adds; a vec4 store pays the addressing once per 4.
// Assumes (the launcher runs it only where they hold): subgroups of exactly 8 invocations of consecutive local
// indices (lavapipe), WGX a multiple of 8 (a subgroup shares lid.y, its rows), OW % 8 == 0 (an invocation's 8
// outputs are one row's, and each quad of 4 is one aligned vec4 of Y: OH·OW % 8 == 0), p.SW == STRIDE_W, p.DW == 1.
// Subgroup operations need uniform control flow: invocations past the last pixel repeat it and store nothing
// (and return before the epilogue); inputs outside X read an in-bounds stand-in that a select zeroes.
// Entry point windowSubgroup; WGX x WGY invocations, invocation (x, y): pixels 8x .. 8x + 7 (PIXEL_QUADS 4: 16x .. 16x + 15, in
// output rows of whole 16s), rows 32y .. 32y + 31. Entry points windowTapsSubgroup (conv1's geometry) and
// windowStrideTwoTapsSubgroup (D-1's), below: invocation (x, y) 16 outputs of each of TILE_ROWS output rows, rows 32y .. 32y + 31.
// Invariant: every sum adds exactly the (ci, i, j) taps that land inside X; each Y element is stored once.
// X is Operand (shaders/include/operand.wgsl: f32, or f16 in the `.f16` build), converted to f32 on load.
enable subgroups;
//!include conv_geometry
//!include gemm_core
//!include operand
//!include stored
//!include half_bits
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> X: array<Operand>;
@group(0) @binding(2) var<storage, read> Packed: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> Bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> Y: array<vec4<Stored>>;
@group(0) @binding(5) var<storage, read_write> Mask: array<vec4<u32>>;
@group(0) @binding(6) var<storage, read> X4: array<vec4<Operand>>;
//!include mfm_pair
//!include is_nan

override STRIDE_W: u32 = 1u;
/**
 * true: each quad of 4 pixels of a row is stored as one vec4 of Y (and of Mask); false: one component at a time (the
 * policy's windowStores 'elements', kept to measure against). Either way the launch parameters are read once.
 */
override QUAD_STORES: bool = true;
/** GEMM rows per invocation: 8 quads, one loaded by each lane. */
const ROWS = 32u;

//!include row_input

/** Inputs iw, iw + SW, iw + 2·SW, iw + 3·SW. */
fn inputQuad(iw: i32) -> vec4<f32> {
  let s = i32(STRIDE_W);
  return vec4<f32>(inputAt(iw), inputAt(iw + s), inputAt(iw + 2 * s), inputAt(iw + 3 * s));
}

/** Sums of outputs 0..3 (lo) and 4..7 (hi) of rows r0 + 4t .. + 3 at [t]; under PIXEL_QUADS 4 also outputs 8..11 (lo2) and 12..15 (hi2). */
var<private> lo: array<Acc4x4, 8>;
var<private> hi: array<Acc4x4, 8>;
var<private> lo2: array<Acc4x4, 8>;
var<private> hi2: array<Acc4x4, 8>;

/** Adds tap weights w (lane t's quad: rows r0 + 4t .. + 3, taken by shuffles from constant lanes) times inputs xLo, xHi. */
fn accumulateQuads(w: vec4<f32>, xLo: vec4<f32>, xHi: vec4<f32>) {
  for (var t = 0u; t < 8u; t++) {
    let a = subgroupShuffle(w, t);
    lo[t].r0 += a.x * xLo;
    lo[t].r1 += a.y * xLo;
    lo[t].r2 += a.z * xLo;
    lo[t].r3 += a.w * xLo;
    hi[t].r0 += a.x * xHi;
    hi[t].r1 += a.y * xHi;
    hi[t].r2 += a.z * xHi;
    hi[t].r3 += a.w * xHi;
  }
}

/**
 * The epilogue's launch parameters, read from the uniform once: lavapipe reloads a uniform after every storage store (it
 * cannot prove they do not alias), and conv1's K = 25 leaves few multiply-adds per stored output to hide the reloads.
 */
struct WindowEpilogue { Cout: u32, plane: u32, hasBias: bool, mfm: u32 }

fn biasOf(co: u32, e: WindowEpilogue) -> f32 {
  if (e.hasBias) { return Bias[co]; }
  return 0.0;
}

/** Y's 4 elements from `index` (a multiple of 4: OW % 8 == 0 and a quad starts at a multiple of 4). */
fn storeQuad(index: u32, v: vec4<f32>) {
  if (QUAD_STORES) {
    Y[index / 4u] = storedQuad(v);
    return;
  }
  for (var c = 0u; c < 4u; c++) { Y[index / 4u][c] = stored(v[c]); }
}

fn storeMaskQuad(index: u32, m: vec4<u32>) {
  if (QUAD_STORES) {
    Mask[index / 4u] = m;
    return;
  }
  for (var c = 0u; c < 4u; c++) { Mask[index / 4u][c] = m[c]; }
}

/** Output channel c of image n at the 4 pixels from plane offset `offset`: max-feature-map of the biased halves a, b, and its mask. */
fn storeMfmQuad(n: u32, c: u32, offset: u32, a: vec4<f32>, b: vec4<f32>, e: WindowEpilogue) {
  let index = (n * (e.Cout >> 1u) + c) * e.plane + offset;
  storeQuad(index, mfmValue4(a, b));
  if (e.mfm == 1u) { storeMaskQuad(index, mfmMask4(a, b)); }
}

/** GEMM rows r0 .. r0 + 3 (r0 a multiple of 4; under mfm two pairs in filterOf's pair order) at 4 pixels of image n. */
fn storeRows(r0: u32, n: u32, offset: u32, acc: Acc4x4, e: WindowEpilogue) {
  if (e.mfm == 0u) {
    let base = (n * e.Cout + r0) * e.plane + offset;
    if (r0 < e.Cout) { storeQuad(base, acc.r0 + biasOf(r0, e)); }
    if (r0 + 1u < e.Cout) { storeQuad(base + e.plane, acc.r1 + biasOf(r0 + 1u, e)); }
    if (r0 + 2u < e.Cout) { storeQuad(base + 2u * e.plane, acc.r2 + biasOf(r0 + 2u, e)); }
    if (r0 + 3u < e.Cout) { storeQuad(base + 3u * e.plane, acc.r3 + biasOf(r0 + 3u, e)); }
    return;
  }
  let C = e.Cout >> 1u;
  let c = r0 >> 1u;
  if (c < C) { storeMfmQuad(n, c, offset, acc.r0 + biasOf(c, e), acc.r1 + biasOf(c + C, e), e); }
  if (c + 1u < C) { storeMfmQuad(n, c + 1u, offset, acc.r2 + biasOf(c + 1u, e), acc.r3 + biasOf(c + 1u + C, e), e); }
}

/**
 * 5: a whole row of 5 taps per update of the sums (the launcher sets it where KW == 5 and STRIDE_W == 1), 4: a row of 4 taps
 * (KW == 4 and STRIDE_W == 2: D-1), both under the policy's windowTapOrder 'byRow'; or 0: one tap at a time. lavapipe keeps an
 * invocation's 256 sums in memory, so each update of a sum is a load and a store beside its multiply-add; a whole row of
 * taps per update pays them once per row.
 */
override ROW_TAPS: u32 = 0u;
/**
 * Under ROW_TAPS 4: inputs iwFirst + 1 .. + 16 of a row of taps loaded as 4 aligned vec4s of X4 (the launcher sets it where
 * PW == 1 and W % 4 == 0: iwFirst + 1 = 16·(an octet's first column) is a multiple of 4, every row starts at one, and the 16
 * lie inside the row since OW = W / 2), else one at a time.
 */
override X_QUADS: bool = false;

/**
 * Quads of outputs of a row per invocation: 2 (8 outputs), or 4 (16; the launcher sets it under the policy's windowRowPixels
 * 16, only with ROW_TAPS 5 and output rows of whole 16s). Each lane loads its weight quad once per tap, a lane-varying load
 * that lavapipe runs lane by lane: 16 outputs halve those loads per multiply-add (and take 20 inputs per row, not 2 x 12).
 */
override PIXEL_QUADS: u32 = 2u;

/** Rows 4t .. 4t + 3 of sums lo / hi (outputs 0..3 / 4..7) plus taps w0..w4 times their inputs (tap j: inputs j .. j + 7 of x). */
fn addFiveTaps(acc: Acc4x4, w0: vec4<f32>, w1: vec4<f32>, w2: vec4<f32>, w3: vec4<f32>, w4: vec4<f32>, x0: vec4<f32>, x1: vec4<f32>, x2: vec4<f32>, x3: vec4<f32>, x4: vec4<f32>) -> Acc4x4 {
  return Acc4x4(
    acc.r0 + w0.x * x0 + w1.x * x1 + w2.x * x2 + w3.x * x3 + w4.x * x4,
    acc.r1 + w0.y * x0 + w1.y * x1 + w2.y * x2 + w3.y * x3 + w4.y * x4,
    acc.r2 + w0.z * x0 + w1.z * x1 + w2.z * x2 + w3.z * x3 + w4.z * x4,
    acc.r3 + w0.w * x0 + w1.w * x1 + w2.w * x2 + w3.w * x3 + w4.w * x4,
  );
}

/** The inputs taps 1, 2 and 3 of a row meet at 4 outputs whose tap-0 inputs are a, b the 4 inputs after a. */
struct ShiftedInputs { tap1: vec4<f32>, tap2: vec4<f32>, tap3: vec4<f32> }

fn shiftedInputs(a: vec4<f32>, b: vec4<f32>) -> ShiftedInputs {
  return ShiftedInputs(vec4<f32>(a.yzw, b.x), vec4<f32>(a.zw, b.xy), vec4<f32>(a.w, b.xyz));
}

/** A row of 5 taps (weight quads from k, packedWidth apart) over the outputs' inputs from iwFirst, each sum updated once. */
fn accumulateFiveTapRow(k: u32, iwFirst: i32) {
  // Inputs iwFirst .. iwFirst + 4·PIXEL_QUADS + 3: tap j meets j + 4u .. j + 4u + 3 at outputs 4u .. 4u + 3.
  let a = inputQuad(iwFirst);
  let b = inputQuad(iwFirst + 4);
  let c = inputQuad(iwFirst + 8);
  let ab = shiftedInputs(a, b);
  let bc = shiftedInputs(b, c);
  var d = vec4<f32>(0.0);
  var e = vec4<f32>(0.0);
  if (PIXEL_QUADS == 4u) {
    d = inputQuad(iwFirst + 12);
    e = inputQuad(iwFirst + 16);
  }
  let cd = shiftedInputs(c, d);
  let de = shiftedInputs(d, e);
  let step = p.packedWidth;
  let w0 = Packed[k];
  let w1 = Packed[k + step];
  let w2 = Packed[k + 2u * step];
  let w3 = Packed[k + 3u * step];
  let w4 = Packed[k + 4u * step];
  for (var t = 0u; t < 8u; t++) {
    let a0 = subgroupShuffle(w0, t);
    let a1 = subgroupShuffle(w1, t);
    let a2 = subgroupShuffle(w2, t);
    let a3 = subgroupShuffle(w3, t);
    let a4 = subgroupShuffle(w4, t);
    lo[t] = addFiveTaps(lo[t], a0, a1, a2, a3, a4, a, ab.tap1, ab.tap2, ab.tap3, b);
    hi[t] = addFiveTaps(hi[t], a0, a1, a2, a3, a4, b, bc.tap1, bc.tap2, bc.tap3, c);
    if (PIXEL_QUADS == 4u) {
      lo2[t] = addFiveTaps(lo2[t], a0, a1, a2, a3, a4, c, cd.tap1, cd.tap2, cd.tap3, d);
      hi2[t] = addFiveTaps(hi2[t], a0, a1, a2, a3, a4, d, de.tap1, de.tap2, de.tap3, e);
    }
  }
}

/** Rows 4t .. 4t + 3 of sums plus taps w0..w3 times their inputs x0..x3. */
fn addFourTaps(acc: Acc4x4, w0: vec4<f32>, w1: vec4<f32>, w2: vec4<f32>, w3: vec4<f32>, x0: vec4<f32>, x1: vec4<f32>, x2: vec4<f32>, x3: vec4<f32>) -> Acc4x4 {
  return Acc4x4(
    acc.r0 + w0.x * x0 + w1.x * x1 + w2.x * x2 + w3.x * x3,
    acc.r1 + w0.y * x0 + w1.y * x1 + w2.y * x2 + w3.y * x3,
    acc.r2 + w0.z * x0 + w1.z * x1 + w2.z * x2 + w3.z * x3,
    acc.r3 + w0.w * x0 + w1.w * x1 + w2.w * x2 + w3.w * x3,
  );
}

/** A row of 4 taps at width stride 2 (weight quads from k, packedWidth apart) over the 8 outputs' inputs from iwFirst, each sum updated once. */
fn accumulateFourTapStrideTwoRow(k: u32, iwFirst: i32) {
  // Output o's tap j reads input iwFirst + 2o + j: even taps the even inputs iwFirst + 2m, odd taps the odd ones, tap j
  // from m = j / 2 on (outputs 0..3: m .. m + 3, outputs 4..7: m + 4 .. m + 7), so 9 of each serve the whole row.
  var evenLo: vec4<f32>;
  var evenHi: vec4<f32>;
  var evenLast: f32;
  var oddLo: vec4<f32>;
  var oddHi: vec4<f32>;
  var oddLast: f32;
  if (X_QUADS) {
    // Inputs iwFirst + 1 .. + 16 (from a multiple of 16 within a row of whole quads: all inside the row) as 4 aligned
    // vec4s, and the two ends one at a time.
    let at = (rowBase + u32(iwFirst + 1)) / 4u;
    let a = select(vec4<f32>(0.0), vec4<f32>(X4[at]), rowInside);
    let b = select(vec4<f32>(0.0), vec4<f32>(X4[at + 1u]), rowInside);
    let c = select(vec4<f32>(0.0), vec4<f32>(X4[at + 2u]), rowInside);
    let d = select(vec4<f32>(0.0), vec4<f32>(X4[at + 3u]), rowInside);
    evenLo = vec4<f32>(inputAt(iwFirst), a.y, a.w, b.y);
    evenHi = vec4<f32>(b.w, c.y, c.w, d.y);
    evenLast = d.w;
    oddLo = vec4<f32>(a.x, a.z, b.x, b.z);
    oddHi = vec4<f32>(c.x, c.z, d.x, d.z);
    oddLast = inputAt(iwFirst + 17);
  } else {
    evenLo = inputQuad(iwFirst);
    evenHi = inputQuad(iwFirst + 8);
    evenLast = inputAt(iwFirst + 16);
    oddLo = inputQuad(iwFirst + 1);
    oddHi = inputQuad(iwFirst + 9);
    oddLast = inputAt(iwFirst + 17);
  }
  let evenLoNext = vec4<f32>(evenLo.yzw, evenHi.x);
  let evenHiNext = vec4<f32>(evenHi.yzw, evenLast);
  let oddLoNext = vec4<f32>(oddLo.yzw, oddHi.x);
  let oddHiNext = vec4<f32>(oddHi.yzw, oddLast);
  let step = p.packedWidth;
  let w0 = Packed[k];
  let w1 = Packed[k + step];
  let w2 = Packed[k + 2u * step];
  let w3 = Packed[k + 3u * step];
  for (var t = 0u; t < 8u; t++) {
    let a0 = subgroupShuffle(w0, t);
    let a1 = subgroupShuffle(w1, t);
    let a2 = subgroupShuffle(w2, t);
    let a3 = subgroupShuffle(w3, t);
    lo[t] = addFourTaps(lo[t], a0, a1, a2, a3, evenLo, oddLo, evenLoNext, oddLoNext);
    hi[t] = addFourTaps(hi[t], a0, a1, a2, a3, evenHi, oddHi, evenHiNext, oddHiNext);
  }
}

@compute @workgroup_size(WGX, WGY)
fn windowSubgroup(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>, @builtin(subgroup_invocation_id) lane: u32) {
  let r0 = (wid.y * WGY + lid.y) * ROWS;
  let pixels = p.N * p.OH * p.OW;
  let pix0 = (wid.x * WGX + lid.x) * 4u * PIXEL_QUADS;
  let q = min(pix0, pixels - 4u * PIXEL_QUADS);
  let image = q / (p.OH * p.OW);
  let oh = q / p.OW % p.OH;
  let iwFirst = i32((q % p.OW) * STRIDE_W) - p.PW;
  let laneQuad = r0 / 4u + lane;
  for (var ci = 0u; ci < p.Cin; ci++) {
    for (var i = 0u; i < p.KH; i++) {
      let ih = i32(oh * p.SH + i * p.DH) - p.PH;
      rowInside = (ih >= 0) & (ih < i32(p.H));
      rowBase = ((image * p.Cin + ci) * p.H + u32(clamp(ih, 0, i32(p.H) - 1))) * p.W;
      var k = ((ci * p.KH + i) * p.KW) * p.packedWidth + laneQuad;
      if (ROW_TAPS == 5u) {
        accumulateFiveTapRow(k, iwFirst);
        continue;
      }
      if (ROW_TAPS == 4u) {
        accumulateFourTapStrideTwoRow(k, iwFirst);
        continue;
      }
      // The inputs tap j meets at outputs 0..3 and 4..7 (xLo, xHi); under STRIDE_W 2 also tap j + 1's (nextLo, nextHi).
      var xLo = inputQuad(iwFirst);
      var xHi = inputQuad(iwFirst + 4 * i32(STRIDE_W));
      var nextLo = vec4<f32>(0.0);
      var nextHi = vec4<f32>(0.0);
      if (STRIDE_W == 2u) {
        nextLo = inputQuad(iwFirst + 1);
        nextHi = inputQuad(iwFirst + 9);
      }
      for (var j = 0u; j < p.KW; j++) {
        let w = Packed[k];
        accumulateQuads(w, xLo, xHi);
        k += p.packedWidth;
        // Tap j + SW meets the same inputs one step of SW further: shift in input 8·SW + j.
        let shiftedLo = vec4<f32>(xLo.yzw, xHi.x);
        let shiftedHi = vec4<f32>(xHi.yzw, inputAt(iwFirst + i32(8u * STRIDE_W + j)));
        if (STRIDE_W == 2u) {
          xLo = nextLo;
          xHi = nextHi;
          nextLo = shiftedLo;
          nextHi = shiftedHi;
        } else {
          xLo = shiftedLo;
          xHi = shiftedHi;
        }
      }
    }
  }
  if (pix0 >= pixels) { return; }
  let e = WindowEpilogue(p.Cout, p.OH * p.OW, p.hasBias == 1u, p.mfm);
  let offset = q % (p.OH * p.OW);
  // Written out, not looped: a loop too large to unroll would index the sums by its counter and keep them in memory.
  storeRows(r0, image, offset, lo[0], e);
  storeRows(r0 + 4u, image, offset, lo[1], e);
  storeRows(r0 + 8u, image, offset, lo[2], e);
  storeRows(r0 + 12u, image, offset, lo[3], e);
  storeRows(r0 + 16u, image, offset, lo[4], e);
  storeRows(r0 + 20u, image, offset, lo[5], e);
  storeRows(r0 + 24u, image, offset, lo[6], e);
  storeRows(r0 + 28u, image, offset, lo[7], e);
  storeRows(r0, image, offset + 4u, hi[0], e);
  storeRows(r0 + 4u, image, offset + 4u, hi[1], e);
  storeRows(r0 + 8u, image, offset + 4u, hi[2], e);
  storeRows(r0 + 12u, image, offset + 4u, hi[3], e);
  storeRows(r0 + 16u, image, offset + 4u, hi[4], e);
  storeRows(r0 + 20u, image, offset + 4u, hi[5], e);
  storeRows(r0 + 24u, image, offset + 4u, hi[6], e);
  storeRows(r0 + 28u, image, offset + 4u, hi[7], e);
  if (PIXEL_QUADS == 4u) {
    storeRows(r0, image, offset + 8u, lo2[0], e);
    storeRows(r0 + 4u, image, offset + 8u, lo2[1], e);
    storeRows(r0 + 8u, image, offset + 8u, lo2[2], e);
    storeRows(r0 + 12u, image, offset + 8u, lo2[3], e);
    storeRows(r0 + 16u, image, offset + 8u, lo2[4], e);
    storeRows(r0 + 20u, image, offset + 8u, lo2[5], e);
    storeRows(r0 + 24u, image, offset + 8u, lo2[6], e);
    storeRows(r0 + 28u, image, offset + 8u, lo2[7], e);
    storeRows(r0, image, offset + 12u, hi2[0], e);
    storeRows(r0 + 4u, image, offset + 12u, hi2[1], e);
    storeRows(r0 + 8u, image, offset + 12u, hi2[2], e);
    storeRows(r0 + 12u, image, offset + 12u, hi2[3], e);
    storeRows(r0 + 16u, image, offset + 12u, hi2[4], e);
    storeRows(r0 + 20u, image, offset + 12u, hi2[5], e);
    storeRows(r0 + 24u, image, offset + 12u, hi2[6], e);
    storeRows(r0 + 28u, image, offset + 12u, hi2[7], e);
  }
}

// windowTapsSubgroup (the policy's windowSums 'tiles'; windowSubgroup is 'rows'): conv1's geometry alone — one input
// channel, 5-wide rows of taps at width stride 1 (ROW_TAPS 5's), KERNEL_H (override, 1..5) rows of them, output rows of whole
// 16s, float32 stores. The same invocation (16 outputs of one output row x 32 GEMM rows, weight quads shared by shuffles from
// constant lanes) in another order: it loads its KERNEL_H input rows (20 inputs each) and weight rows (5 quads per lane) once,
// then for each block t of 4 GEMM rows and each quad of 4 outputs adds all KERNEL_H x 5 taps into 16 sums that stay in
// registers, and stores them. windowSubgroup keeps an invocation's 512 sums in memory and updates each once per row of taps
// under its loop's execution mask: on lavapipe a load, a blend and a store per 10 multiply-adds and adds, about a third of its
// arithmetic section (bench/RESULTS.md, conv1b). Everything here is written out (constant lanes, constant indices): a
// shuffle from a lane the compiler cannot see as a constant runs lane by lane.
// Bias: each lane loads its rows' 4 biases once; the sums start from them (bias + Σ, where windowSubgroup adds it last).

/** Rows of taps (input rows) per invocation: 1 .. 5 (the kernel's height; the launcher runs this entry point only there). */
override KERNEL_H: u32 = 5u;

/** One input row's 20 inputs iwFirst .. iwFirst + 19 (as 5 quads), and one row of taps' 5 weight quads (lane l: rows r0 + 4l .. + 3). */
var<private> tileInputs: array<array<vec4<f32>, 5>, 5>;
var<private> tileWeights: array<array<vec4<f32>, 5>, 5>;

/**
 * Under X_QUADS (the launcher sets it where W % 4 == 0: a row of X is whole aligned quads, each inside the row or outside it):
 * iwFirst's distance past the aligned column before it, (-PW) mod 4, so that the 20 inputs are components INPUT_SHIFT ..
 * INPUT_SHIFT + 19 of 6 aligned quads (5 at shift 0) of X4.
 */
override INPUT_SHIFT: u32 = 0u;

/** Loads input row ih of image `image` (its 20 inputs from iwFirst, 0 outside X) as row of taps i, where i < KERNEL_H. */
fn loadInputRow(i: u32, image: u32, ih: i32, iwFirst: i32) {
  if (i >= KERNEL_H) { return; }
  rowInside = (ih >= 0) & (ih < i32(p.H));
  rowBase = (image * p.H + u32(clamp(ih, 0, i32(p.H) - 1))) * p.W;
  if (X_QUADS) {
    // The aligned quads from column iwFirst - INPUT_SHIFT (a multiple of 4) on: 6 vec4 loads for the 20 inputs.
    let c = iwFirst - i32(INPUT_SHIFT);
    let q0 = alignedInputQuad(c);
    let q1 = alignedInputQuad(c + 4);
    let q2 = alignedInputQuad(c + 8);
    let q3 = alignedInputQuad(c + 12);
    let q4 = alignedInputQuad(c + 16);
    var q5 = vec4<f32>(0.0);
    if (INPUT_SHIFT != 0u) { q5 = alignedInputQuad(c + 20); }
    tileInputs[i][0] = shiftedQuad(q0, q1);
    tileInputs[i][1] = shiftedQuad(q1, q2);
    tileInputs[i][2] = shiftedQuad(q2, q3);
    tileInputs[i][3] = shiftedQuad(q3, q4);
    tileInputs[i][4] = shiftedQuad(q4, q5);
    return;
  }
  tileInputs[i][0] = inputQuad(iwFirst);
  tileInputs[i][1] = inputQuad(iwFirst + 4);
  tileInputs[i][2] = inputQuad(iwFirst + 8);
  tileInputs[i][3] = inputQuad(iwFirst + 12);
  tileInputs[i][4] = inputQuad(iwFirst + 16);
}

/** Loads row of taps i's 5 weight quads (lane l: GEMM rows r0 + 4l .. + 3, from laneQuad), where i < KERNEL_H. */
fn loadWeightRow(i: u32, laneQuad: u32) {
  if (i >= KERNEL_H) { return; }
  let step = p.packedWidth;
  let k = i * 5u * step + laneQuad;
  tileWeights[i][0] = Packed[k];
  tileWeights[i][1] = Packed[k + step];
  tileWeights[i][2] = Packed[k + 2u * step];
  tileWeights[i][3] = Packed[k + 3u * step];
  tileWeights[i][4] = Packed[k + 4u * step];
}

/** Row of taps i takes row i + 1's inputs (the next output row's, at height stride 1 and dilation 1), where i + 1 < KERNEL_H. */
fn slideInputRow(i: u32) {
  if (i + 1u >= KERNEL_H) { return; }
  tileInputs[i] = tileInputs[i + 1u];
}

/** acc plus row of taps i (weights w0..w4, block t's 4 rows) at output quad q (inputs 4q .. 4q + 7 of the row), where i < KERNEL_H. */
fn addTapRow(acc: Acc4x4, i: u32, q: u32, w0: vec4<f32>, w1: vec4<f32>, w2: vec4<f32>, w3: vec4<f32>, w4: vec4<f32>) -> Acc4x4 {
  if (i >= KERNEL_H) { return acc; }
  let a = tileInputs[i][q];
  let b = tileInputs[i][q + 1u];
  let s = shiftedInputs(a, b);
  return addFiveTaps(acc, w0, w1, w2, w3, w4, a, s.tap1, s.tap2, s.tap3, b);
}

/** Block t's weights of row of taps i (lane t's quads), where i < KERNEL_H. */
struct TapRow { w0: vec4<f32>, w1: vec4<f32>, w2: vec4<f32>, w3: vec4<f32>, w4: vec4<f32> }

fn shuffledTapRow(i: u32, t: u32) -> TapRow {
  if (i >= KERNEL_H) { return TapRow(vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0)); }
  return TapRow(subgroupShuffle(tileWeights[i][0], t), subgroupShuffle(tileWeights[i][1], t), subgroupShuffle(tileWeights[i][2], t), subgroupShuffle(tileWeights[i][3], t), subgroupShuffle(tileWeights[i][4], t));
}

/** The 16 sums of block t (bias b) at output quad q over every tap. */
fn tileQuad(t: u32, q: u32, b: vec4<f32>, r0: TapRow, r1: TapRow, r2: TapRow, r3: TapRow, r4: TapRow) -> Acc4x4 {
  var acc = Acc4x4(vec4<f32>(b.x), vec4<f32>(b.y), vec4<f32>(b.z), vec4<f32>(b.w));
  acc = addTapRow(acc, 0u, q, r0.w0, r0.w1, r0.w2, r0.w3, r0.w4);
  acc = addTapRow(acc, 1u, q, r1.w0, r1.w1, r1.w2, r1.w3, r1.w4);
  acc = addTapRow(acc, 2u, q, r2.w0, r2.w1, r2.w2, r2.w3, r2.w4);
  acc = addTapRow(acc, 3u, q, r3.w0, r3.w1, r3.w2, r3.w3, r3.w4);
  acc = addTapRow(acc, 4u, q, r4.w0, r4.w1, r4.w2, r4.w3, r4.w4);
  return acc;
}

/** Stores GEMM rows r .. r + 3 (already biased; under mfm two pairs in filterOf's pair order) at 4 pixels of image n. */
fn storeTileRows(r: u32, n: u32, offset: u32, acc: Acc4x4, e: WindowEpilogue) {
  if (e.mfm == 0u) {
    let base = (n * e.Cout + r) * e.plane + offset;
    if (r < e.Cout) { storeQuad(base, acc.r0); }
    if (r + 1u < e.Cout) { storeQuad(base + e.plane, acc.r1); }
    if (r + 2u < e.Cout) { storeQuad(base + 2u * e.plane, acc.r2); }
    if (r + 3u < e.Cout) { storeQuad(base + 3u * e.plane, acc.r3); }
    return;
  }
  let C = e.Cout >> 1u;
  let c = r >> 1u;
  if (c < C) { storeMfmQuad(n, c, offset, acc.r0, acc.r1, e); }
  if (c + 1u < C) { storeMfmQuad(n, c + 1u, offset, acc.r2, acc.r3, e); }
}

/** Block t (GEMM rows r0 + 4t .. + 3): its 4 output quads over every tap, stored where the invocation's pixels exist. */
fn tileBlock(t: u32, r0: u32, biasQuad: vec4<f32>, live: bool, image: u32, offset: u32, e: WindowEpilogue) {
  let b = subgroupShuffle(biasQuad, t);
  let r0w = shuffledTapRow(0u, t);
  let r1w = shuffledTapRow(1u, t);
  let r2w = shuffledTapRow(2u, t);
  let r3w = shuffledTapRow(3u, t);
  let r4w = shuffledTapRow(4u, t);
  let q0 = tileQuad(t, 0u, b, r0w, r1w, r2w, r3w, r4w);
  if (live) { storeTileRows(r0 + 4u * t, image, offset, q0, e); }
  let q1 = tileQuad(t, 1u, b, r0w, r1w, r2w, r3w, r4w);
  if (live) { storeTileRows(r0 + 4u * t, image, offset + 4u, q1, e); }
  let q2 = tileQuad(t, 2u, b, r0w, r1w, r2w, r3w, r4w);
  if (live) { storeTileRows(r0 + 4u * t, image, offset + 8u, q2, e); }
  let q3 = tileQuad(t, 3u, b, r0w, r1w, r2w, r3w, r4w);
  if (live) { storeTileRows(r0 + 4u * t, image, offset + 12u, q3, e); }
}

/** Lane l's bias quad: the biases of GEMM rows r0 + 4l .. + 3 (under mfm in pair order), 0 past Cout or without a bias. */
fn laneBias(r: u32, e: WindowEpilogue) -> vec4<f32> {
  if (!e.hasBias) { return vec4<f32>(0.0); }
  var f = vec4<u32>(r, r + 1u, r + 2u, r + 3u);
  if (e.mfm != 0u) {
    let C = e.Cout >> 1u;
    let c = r >> 1u;
    f = vec4<u32>(c, c + C, c + 1u, c + 1u + C);
  }
  let inside = vec4<u32>(r, r + 1u, r + 2u, r + 3u) < vec4<u32>(e.Cout);
  let last = e.Cout - 1u;
  return select(vec4<f32>(0.0), vec4<f32>(Bias[min(f.x, last)], Bias[min(f.y, last)], Bias[min(f.z, last)], Bias[min(f.w, last)]), inside);
}

/**
 * Output rows per invocation (override): 1, or more at height stride 1 and dilation 1, where each next output row needs one
 * new input row (the others slide up) and the weight quads, loaded once, serve them all: per output row 20 inputs and no
 * weight loads instead of KERNEL_H x 20 inputs and KERNEL_H x 5 weight quads, each a load lavapipe runs lane by lane.
 */
override TILE_ROWS: u32 = 1u;
/**
 * p.mfm as a constant (0 off, 1 with the mask, 2 without; the launcher sets it): each pipeline then holds one epilogue, not
 * both, about half the code lavapipe compiles.
 */
override TILE_MFM: u32 = 0u;

@compute @workgroup_size(WGX, WGY)
fn windowTapsSubgroup(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>, @builtin(subgroup_invocation_id) lane: u32) {
  let r0 = (wid.y * WGY + lid.y) * ROWS;
  let plane = p.OH * p.OW;
  // Invocation (image, block of TILE_ROWS output rows, 16 columns), the last one repeated past the end.
  let segments = p.OW / 16u;
  let blocks = (p.OH + TILE_ROWS - 1u) / TILE_ROWS;
  let tiles = p.N * blocks * segments;
  let tile = wid.x * WGX + lid.x;
  let clamped = min(tile, tiles - 1u);
  let image = clamped / (blocks * segments);
  let oh0 = clamped / segments % blocks * TILE_ROWS;
  let ow0 = clamped % segments * 16u;
  let iwFirst = i32(ow0) - p.PW;
  let laneQuad = r0 / 4u + lane;
  loadWeightRow(0u, laneQuad);
  loadWeightRow(1u, laneQuad);
  loadWeightRow(2u, laneQuad);
  loadWeightRow(3u, laneQuad);
  loadWeightRow(4u, laneQuad);
  // Rows of taps 0 .. KERNEL_H - 2 of the first output row; the loop loads the last one of each.
  let ihFirst = i32(min(oh0, p.OH - 1u) * p.SH) - p.PH;
  if (1u < KERNEL_H) { loadInputRow(0u, image, ihFirst, iwFirst); }
  if (2u < KERNEL_H) { loadInputRow(1u, image, ihFirst + i32(p.DH), iwFirst); }
  if (3u < KERNEL_H) { loadInputRow(2u, image, ihFirst + 2 * i32(p.DH), iwFirst); }
  if (4u < KERNEL_H) { loadInputRow(3u, image, ihFirst + 3 * i32(p.DH), iwFirst); }
  let e = WindowEpilogue(p.Cout, plane, p.hasBias == 1u, TILE_MFM);
  let biasQuad = laneBias(r0 + 4u * lane, e);
  for (var r = 0u; r < TILE_ROWS; r++) {
    let oh = min(oh0 + r, p.OH - 1u);
    loadInputRow(KERNEL_H - 1u, image, i32(oh * p.SH + (KERNEL_H - 1u) * p.DH) - p.PH, iwFirst);
    let live = (tile < tiles) & (oh0 + r < p.OH);
    let offset = oh * p.OW + ow0;
    tileBlock(0u, r0, biasQuad, live, image, offset, e);
    tileBlock(1u, r0, biasQuad, live, image, offset, e);
    tileBlock(2u, r0, biasQuad, live, image, offset, e);
    tileBlock(3u, r0, biasQuad, live, image, offset, e);
    tileBlock(4u, r0, biasQuad, live, image, offset, e);
    tileBlock(5u, r0, biasQuad, live, image, offset, e);
    tileBlock(6u, r0, biasQuad, live, image, offset, e);
    tileBlock(7u, r0, biasQuad, live, image, offset, e);
    slideInputRow(0u);
    slideInputRow(1u);
    slideInputRow(2u);
    slideInputRow(3u);
  }
}

// windowStrideTwoTapsSubgroup (windowSums 'tiles' as well): D-1's geometry — rows of 4 taps at width stride 2 (ROW_TAPS 4's),
// TILE_CIN (override, 1..4) input channels x KERNEL_H (1..4) rows of taps, at most 8 rows of taps in all, output rows of
// whole 16s, float32 stores. windowTapsSubgroup's order for windowSubgroup's ROW_TAPS 4: the invocation (16 outputs of one
// output row x 32 GEMM rows, weight quads shared by shuffles from constant lanes) loads each row of taps' 4 weight quads
// once, and per output row its rows of taps' 34 inputs (iwFirst .. iwFirst + 33, 9 or 10 quads); then for each block t of 4
// GEMM rows and each quad q of 4 outputs it adds every tap into 16 sums in registers and stores them. Tap j of quad q reads
// inputs 8q + j, + 2, + 4, + 6 of the row: the even taps the even inputs, the odd taps the odd ones, each tap pair one
// input further than the last. At height stride SH < KERNEL_H and dilation 1 (TILE_ROWS > 1) the next output row's rows of
// taps 0 .. KERNEL_H - SH - 1 are this one's SH .. KERNEL_H - 1 (slid up), the other SH are loaded.

/** Input channels (1..4, with TILE_CIN x KERNEL_H <= 8: the launcher runs this entry point only there). */
override TILE_CIN: u32 = 1u;
/** Input rows an output row moves down (SH) where TILE_ROWS > 1 (the launcher then has TILE_ROW_STEP < KERNEL_H); else unused. */
override TILE_ROW_STEP: u32 = 1u;

/**
 * Row of taps s's (s = ci·KERNEL_H + i: its weights' row of the packing) inputs iwFirst - INPUT_SHIFT .. as 10 quads (the
 * last one only loaded at INPUT_SHIFT 3), and its 4 weight quads (lane l: rows r0 + 4l .. + 3).
 */
var<private> pairInputs: array<array<vec4<f32>, 10>, 8>;
var<private> pairWeights: array<array<vec4<f32>, 4>, 8>;

/** The rows of taps: channels x kernel rows. */
fn pairTapRows() -> u32 {
  return TILE_CIN * KERNEL_H;
}

/** Whether row of taps s (kernel row s % KERNEL_H) is slid from row s + TILE_ROW_STEP rather than loaded, for the next output row. */
fn pairRowKept(s: u32) -> bool {
  return (TILE_ROWS > 1u) & (s % KERNEL_H + TILE_ROW_STEP < KERNEL_H);
}

/** Loads row of taps s's weight quads, where s < pairTapRows(). */
fn loadPairWeights(s: u32, laneQuad: u32) {
  if (s >= pairTapRows()) { return; }
  let step = p.packedWidth;
  let k = s * 4u * step + laneQuad;
  pairWeights[s][0] = Packed[k];
  pairWeights[s][1] = Packed[k + step];
  pairWeights[s][2] = Packed[k + 2u * step];
  pairWeights[s][3] = Packed[k + 3u * step];
}

/** Quad c .. c + 3 of the current input row: X4's aligned quad (X_QUADS: c a multiple of 4), or 4 inputs one at a time. */
fn pairInputQuad(c: i32) -> vec4<f32> {
  if (X_QUADS) { return alignedInputQuad(c); }
  return vec4<f32>(inputAt(c), inputAt(c + 1), inputAt(c + 2), inputAt(c + 3));
}

/** Loads row of taps s's inputs for output row oh of image `image`, where s < pairTapRows(); skips rows kept by a slide unless `all`. */
fn loadPairInputs(s: u32, image: u32, oh: u32, iwFirst: i32, all: bool) {
  if ((s >= pairTapRows()) | (!all & pairRowKept(s))) { return; }
  let ci = s / KERNEL_H;
  let ih = i32(oh * p.SH + s % KERNEL_H * p.DH) - p.PH;
  rowInside = (ih >= 0) & (ih < i32(p.H));
  rowBase = ((image * p.Cin + ci) * p.H + u32(clamp(ih, 0, i32(p.H) - 1))) * p.W;
  let c = iwFirst - i32(INPUT_SHIFT);
  pairInputs[s][0] = pairInputQuad(c);
  pairInputs[s][1] = pairInputQuad(c + 4);
  pairInputs[s][2] = pairInputQuad(c + 8);
  pairInputs[s][3] = pairInputQuad(c + 12);
  pairInputs[s][4] = pairInputQuad(c + 16);
  pairInputs[s][5] = pairInputQuad(c + 20);
  pairInputs[s][6] = pairInputQuad(c + 24);
  pairInputs[s][7] = pairInputQuad(c + 28);
  pairInputs[s][8] = pairInputQuad(c + 32);
  if (INPUT_SHIFT == 3u) { pairInputs[s][9] = pairInputQuad(c + 36); }
}

/** Row of taps s takes row s + TILE_ROW_STEP's inputs (the next output row's), where it is kept. */
fn slidePairInputs(s: u32) {
  if ((s >= pairTapRows()) | !pairRowKept(s)) { return; }
  pairInputs[s] = pairInputs[s + TILE_ROW_STEP];
}

/** Input n (0..33) of row of taps s: input iwFirst + n of its row. */
fn pairInput(s: u32, n: u32) -> f32 {
  let m = n + INPUT_SHIFT;
  return pairInputs[s][m / 4u][m % 4u];
}

/** The inputs tap j of row of taps s meets at quad q's 4 outputs: 8q + j, + 2, + 4, + 6. */
fn pairTapInputs(s: u32, q: u32, j: u32) -> vec4<f32> {
  let n = 8u * q + j;
  return vec4<f32>(pairInput(s, n), pairInput(s, n + 2u), pairInput(s, n + 4u), pairInput(s, n + 6u));
}

/** Block t's weights of row of taps s (lane t's quads), zero where s >= pairTapRows(). */
struct FourTapWeights { w0: vec4<f32>, w1: vec4<f32>, w2: vec4<f32>, w3: vec4<f32> }

fn shuffledPairWeights(s: u32, t: u32) -> FourTapWeights {
  if (s >= pairTapRows()) { return FourTapWeights(vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0)); }
  return FourTapWeights(subgroupShuffle(pairWeights[s][0], t), subgroupShuffle(pairWeights[s][1], t), subgroupShuffle(pairWeights[s][2], t), subgroupShuffle(pairWeights[s][3], t));
}

/** acc plus row of taps s (block t's weights w) at output quad q, where s < pairTapRows(). */
fn addPairTapRow(acc: Acc4x4, s: u32, q: u32, w: FourTapWeights) -> Acc4x4 {
  if (s >= pairTapRows()) { return acc; }
  return addFourTaps(acc, w.w0, w.w1, w.w2, w.w3, pairTapInputs(s, q, 0u), pairTapInputs(s, q, 1u), pairTapInputs(s, q, 2u), pairTapInputs(s, q, 3u));
}

/** Block t's 8 rows of taps' weights (zero past pairTapRows()). */
struct PairBlockWeights { s0: FourTapWeights, s1: FourTapWeights, s2: FourTapWeights, s3: FourTapWeights, s4: FourTapWeights, s5: FourTapWeights, s6: FourTapWeights, s7: FourTapWeights }

/** The 16 sums of block t (bias b) at output quad q over every tap. */
fn pairTileQuad(q: u32, b: vec4<f32>, w: PairBlockWeights) -> Acc4x4 {
  var acc = Acc4x4(vec4<f32>(b.x), vec4<f32>(b.y), vec4<f32>(b.z), vec4<f32>(b.w));
  acc = addPairTapRow(acc, 0u, q, w.s0);
  acc = addPairTapRow(acc, 1u, q, w.s1);
  acc = addPairTapRow(acc, 2u, q, w.s2);
  acc = addPairTapRow(acc, 3u, q, w.s3);
  acc = addPairTapRow(acc, 4u, q, w.s4);
  acc = addPairTapRow(acc, 5u, q, w.s5);
  acc = addPairTapRow(acc, 6u, q, w.s6);
  acc = addPairTapRow(acc, 7u, q, w.s7);
  return acc;
}

/** Block t (GEMM rows r0 + 4t .. + 3): its 4 output quads over every tap, stored where the invocation's pixels exist. */
fn pairTileBlock(t: u32, r0: u32, biasQuad: vec4<f32>, live: bool, image: u32, offset: u32, e: WindowEpilogue) {
  let b = subgroupShuffle(biasQuad, t);
  let w = PairBlockWeights(shuffledPairWeights(0u, t), shuffledPairWeights(1u, t), shuffledPairWeights(2u, t), shuffledPairWeights(3u, t), shuffledPairWeights(4u, t), shuffledPairWeights(5u, t), shuffledPairWeights(6u, t), shuffledPairWeights(7u, t));
  let q0 = pairTileQuad(0u, b, w);
  if (live) { storeTileRows(r0 + 4u * t, image, offset, q0, e); }
  let q1 = pairTileQuad(1u, b, w);
  if (live) { storeTileRows(r0 + 4u * t, image, offset + 4u, q1, e); }
  let q2 = pairTileQuad(2u, b, w);
  if (live) { storeTileRows(r0 + 4u * t, image, offset + 8u, q2, e); }
  let q3 = pairTileQuad(3u, b, w);
  if (live) { storeTileRows(r0 + 4u * t, image, offset + 12u, q3, e); }
}

/** Loads the inputs of every row of taps of output row oh that is not slid there (all of them where `all`). */
fn loadPairRows(image: u32, oh: u32, iwFirst: i32, all: bool) {
  loadPairInputs(0u, image, oh, iwFirst, all);
  loadPairInputs(1u, image, oh, iwFirst, all);
  loadPairInputs(2u, image, oh, iwFirst, all);
  loadPairInputs(3u, image, oh, iwFirst, all);
  loadPairInputs(4u, image, oh, iwFirst, all);
  loadPairInputs(5u, image, oh, iwFirst, all);
  loadPairInputs(6u, image, oh, iwFirst, all);
  loadPairInputs(7u, image, oh, iwFirst, all);
}

@compute @workgroup_size(WGX, WGY)
fn windowStrideTwoTapsSubgroup(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>, @builtin(subgroup_invocation_id) lane: u32) {
  let r0 = (wid.y * WGY + lid.y) * ROWS;
  let plane = p.OH * p.OW;
  // Invocation (image, block of TILE_ROWS output rows, 16 columns), the last one repeated past the end.
  let segments = p.OW / 16u;
  let blocks = (p.OH + TILE_ROWS - 1u) / TILE_ROWS;
  let tiles = p.N * blocks * segments;
  let tile = wid.x * WGX + lid.x;
  let clamped = min(tile, tiles - 1u);
  let image = clamped / (blocks * segments);
  let oh0 = clamped / segments % blocks * TILE_ROWS;
  let ow0 = clamped % segments * 16u;
  let iwFirst = i32(2u * ow0) - p.PW;
  let laneQuad = r0 / 4u + lane;
  loadPairWeights(0u, laneQuad);
  loadPairWeights(1u, laneQuad);
  loadPairWeights(2u, laneQuad);
  loadPairWeights(3u, laneQuad);
  loadPairWeights(4u, laneQuad);
  loadPairWeights(5u, laneQuad);
  loadPairWeights(6u, laneQuad);
  loadPairWeights(7u, laneQuad);
  // Every row of taps of the first output row; for the next ones the loop loads those that are not slid there.
  loadPairRows(image, oh0, iwFirst, true);
  let e = WindowEpilogue(p.Cout, plane, p.hasBias == 1u, TILE_MFM);
  let biasQuad = laneBias(r0 + 4u * lane, e);
  for (var r = 0u; r < TILE_ROWS; r++) {
    let oh = min(oh0 + r, p.OH - 1u);
    if (r > 0u) { loadPairRows(image, oh, iwFirst, false); }
    let live = (tile < tiles) & (oh0 + r < p.OH);
    let offset = oh * p.OW + ow0;
    pairTileBlock(0u, r0, biasQuad, live, image, offset, e);
    pairTileBlock(1u, r0, biasQuad, live, image, offset, e);
    pairTileBlock(2u, r0, biasQuad, live, image, offset, e);
    pairTileBlock(3u, r0, biasQuad, live, image, offset, e);
    pairTileBlock(4u, r0, biasQuad, live, image, offset, e);
    pairTileBlock(5u, r0, biasQuad, live, image, offset, e);
    pairTileBlock(6u, r0, biasQuad, live, image, offset, e);
    pairTileBlock(7u, r0, biasQuad, live, image, offset, e);
    slidePairInputs(0u);
    slidePairInputs(1u);
    slidePairInputs(2u);
    slidePairInputs(3u);
    slidePairInputs(4u);
    slidePairInputs(5u);
    slidePairInputs(6u);
    slidePairInputs(7u);
  }
}
