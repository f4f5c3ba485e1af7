// matmul, subgroup variant (entry point subgroupTiled): the product, parameters and epilogue of
// matmul.wgsl (C[b, m, n] = act(sum_k A[b, m, k] * B[b, k, n] + bias[n]); the epilogue is
// shaders/include/matmul_epilogue.wgsl), with A shared across a subgroup by shuffles. Why: on
// software Vulkan (lavapipe) every storage load whose address is not a compile-time constant is
// split per lane and per component (bounds check, branch, scalar load, insert: ~5 instructions a
// float), so loads cost several times the multiplies; a subgroup is the 8-lane SIMD register there,
// and a shuffle from a constant lane is one broadcast instruction. The 8 lanes of a subgroup own the
// same 16 rows of C and 4 contiguous columns each: per step of 4 k each lane loads 2 vec4 of A (a
// quarter of the rows it needs) and the 4 vec4 of B only it needs, then takes every A row from the
// lane that loaded it — 6 loads for 256 multiply-adds, against 8 for 64 in matmul_vec4.wgsl.
// Layouts as matmul_vec4.wgsl (override constants, set by the launcher from the strides):
//   A_ALONG_M = false: A contiguous along k: load q of lane l is row m0 + 8q + l over k..k+3.
//   A_ALONG_M = true:  A contiguous along m: load q of lane l is rows m0 + 4(l & 3) .. +3 at
//                      k + 2q + (l >> 2); rowQuad transposes what it gathers (free in registers).
//   B_ALONG_K = false / true: B read along n (one vec4 per k) or along k (one per column, transposed).
// Tiling: an invocation owns rows m0..m0+15 (ROWS) and columns n0..n0+3; WGX x WGY invocations
// (override constants, WGX a multiple of 8 so each subgroup is 8 neighbours along x).
// Assumes (the launcher runs this kernel only where they hold): subgroups of exactly 8 invocations
// (the adapter's subgroupMinSize == subgroupMaxSize == 8) made of consecutive local invocation
// indices, as lavapipe forms them; K % 4 == 0 and the vec4 alignment of matmul_vec4.wgsl.
// Subgroup operations need uniform control flow: no invocation returns early; rows past M and
// columns past N are clamped to the last (their results are not stored), and the K loop's bound is
// uniform.
// MFM (override; src/kernels/matmul.ts matmulMfm, a 1×1 conv2dMfm's forward): 1 (with the mask) or 2 (without) computes
// C's 2C rows in the pair order 0, C, 1, C + 1, ... (row r reads A's row (r >> 1) + (r & 1)·C; A contiguous along k),
// so each invocation's quads hold whole pairs, and stores the max-feature-map of each pair, biased by the pair's two
// biases (Bias along rows), as row r >> 1 of a C-row output (strideC* set for it), with its mask (shaders/include/mfm_pair.wgsl).
// With C_ALONG_M (matmulMfm's pairs 'columns') the pairs are the GEMM's columns instead: storeColumnPairs.
// Bindings: 0 params, 1 A (read, vec4), 2 B (read, vec4), 3 Bias (read; used when hasBias == 1),
// 4 C (read_write, vec4: a row's 4 columns stored as one vec4 where they are whole and aligned, else one
// component at a time; the runtime binds ranges in whole 16 bytes), 5 Mask (read_write, u32 as vec4, as C; MFM 1 only).
// Invariant: element (m, n) of C sums A[m, k]·B[k, n] over exactly k = 0..K-1.
// A and B are Operand (shaders/include/operand.wgsl: f32, or f16 in the `.f16` build), converted to f32 on
// load (before the shuffles); a vec4 index counts 4 elements either way (an f16 vec4 is 8 bytes).
enable subgroups;

//!include operand
//!include stored
//!include half_bits
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> A: array<vec4<Operand>>;
@group(0) @binding(2) var<storage, read> B: array<vec4<Operand>>;
@group(0) @binding(3) var<storage, read> Bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> C: array<vec4<Stored>>;
@group(0) @binding(5) var<storage, read_write> Mask: array<vec4<u32>>;

//!include matmul_epilogue
//!include is_nan
//!include mfm_pair

override WGX: u32 = 8u;
override WGY: u32 = 8u;
override A_ALONG_M: bool = false;
override B_ALONG_K: bool = false;
/** 0: C as computed; 1: the max-feature-map of row pairs with its mask; 2: without (see the header). */
override MFM: u32 = 0u;
/**
 * true: the epilogue's launch parameters read from the uniform once per invocation (RowEpilogue) and a whole row's bias
 * along rows loaded once; false: per element, as matmul_epilogue.wgsl's epilogueValue reads them (the policy's
 * matmulSubgroupEpilogue 'perElement', kept to measure against).
 */
override EPILOGUE_PER_ROW: bool = true;
/**
 * Set by the launcher where every invocation's 4 columns of a row are inside N and start a vec4 of C (N, C's offset and
 * strides multiples of 4), so the per-row epilogue stores without testing it: lavapipe cannot tell that the test is the
 * same for a whole subgroup and masks the store (group1's 1×1 forward 1.05-1.1x without it).
 */
override C_QUADS: bool = false;
/**
 * C contiguous along m (column n from p.strideCCol · n): each invocation stores its 16 rows of each of its 4 columns as 4
 * whole vec4s (storeColumns). Set by the launcher (src/kernels/matmul.ts matmulTransposedC) where M % 16 == 0 and C's
 * offset, column and batch strides are multiples of 4. Why: a 1×1 conv's forward as (W·x)ᵀ = xᵀ·Wᵀ, the pixels as GEMM
 * rows, stores each lane's 16 pixels of a channel as 64 contiguous bytes; as W·x a lane's 16 rows are 16 separate
 * 16-byte pieces a plane apart (4096 floats in LightCNN group1: a power-of-2 stride), which cost group1's forward
 * (K = 48) about a fifth of its time (bench/RESULTS.md, short-K section).
 */
override C_ALONG_M: bool = false;
/**
 * B read from a workgroup copy (SharedB) instead of storage: the workgroup's 4·WGX columns of B over the whole K, copied
 * once before the product (shareB). Set by the launcher (src/kernels/matmul.ts, the policy's columnsOutB) with
 * B_ALONG_K where 4·WGX·K floats fit the workgroup storage (B_SHARED_QUADS = WGX·K vec4s): the 1×1 forward as xᵀ·Wᵀ, whose
 * B, the weights, every row block reads again. Why: on lavapipe a workgroup load skips the storage load's per-lane bounds
 * check, and B's loads replaced by loads of an unfilled workgroup array took group1's forward 43 → 40 ms, group2's 40 → 30;
 * with the copy and its barrier it measured no faster (bench/RESULTS.md, pointwise section), so not the default.
 */
override B_SHARED: bool = false;
override B_SHARED_QUADS: u32 = 1u;
var<workgroup> SharedB: array<vec4<f32>, B_SHARED_QUADS>;
/** Rows of C per invocation: the subgroup's 8 lanes x 2 loads of A per step of 4 k. */
const ROWS = 16u;
const LANES = 8u;
const_assert ROWS == 2u * LANES;

/** acc + a ⊗ rows of b: a holds one C row's A values at k..k+3, b[j] the block's B row k + j. */
fn accumulateRow(acc: vec4<f32>, a: vec4<f32>, b: mat4x4<f32>) -> vec4<f32> {
  return fma(vec4<f32>(a.w), b[3], fma(vec4<f32>(a.z), b[2], fma(vec4<f32>(a.y), b[1], fma(vec4<f32>(a.x), b[0], acc))));
}

/** acc[c] + rows[c] ⊗ rows of b for the 4 C rows of one quad. */
fn accumulateQuad(acc: mat4x4<f32>, rows: mat4x4<f32>, b: mat4x4<f32>) -> mat4x4<f32> {
  return mat4x4<f32>(accumulateRow(acc[0], rows[0], b), accumulateRow(acc[1], rows[1], b), accumulateRow(acc[2], rows[2], b), accumulateRow(acc[3], rows[3], b));
}

/**
 * Rows m0 + 4i .. m0 + 4i + 3 over k..k+3 (one vec4 per row), gathered from the lanes' two loads
 * a0, a1 of this step. i is a constant at every call, so each shuffle's lane folds to a constant.
 */
fn rowQuad(a0: vec4<f32>, a1: vec4<f32>, i: u32) -> mat4x4<f32> {
  if (A_ALONG_M) {
    // Lane i + 4j of load q holds rows 4i..4i+3 at k + 2q + j.
    return transpose(mat4x4<f32>(subgroupShuffle(a0, i), subgroupShuffle(a0, i + 4u), subgroupShuffle(a1, i), subgroupShuffle(a1, i + 4u)));
  }
  // Lane l of load q holds row 8q + l.
  let loaded = select(a0, a1, i >= 2u);
  let lane = (i & 1u) * 4u;
  return mat4x4<f32>(subgroupShuffle(loaded, lane), subgroupShuffle(loaded, lane + 1u), subgroupShuffle(loaded, lane + 2u), subgroupShuffle(loaded, lane + 3u));
}

/**
 * The epilogue's launch parameters for one invocation's columns n0..n0+3, read from the uniform once: lavapipe reloads
 * a uniform after every storage store (it cannot prove they do not alias), so read per element, as epilogueValue does,
 * the flags cost as much as the stores at LightCNN's short K (48-384). `rows`: the rows of C this invocation stores, M,
 * or 0 where its columns start past N (a clamped copy), so one test per row covers both. `base`: C's index of (batch, 0, n0).
 */
struct RowEpilogue {
  M: u32, rows: u32, base: u32, strideCRow: u32, offsetBias: u32,
  whole: bool, accumulate: bool, bias: bool, biasAlongRows: bool, activate: bool,
}

fn rowEpilogue(batch: u32, n0: u32) -> RowEpilogue {
  return RowEpilogue(p.M, select(0u, p.M, n0 < p.N), cIndex(batch, 0u, n0), p.strideCRow, p.offsetBias, n0 + 3u < p.N, p.accumulate == 1u, p.hasBias == 1u, p.biasAlongRows == 1u, p.activate == 1u);
}

/** What epilogueValue makes of a whole aligned row of 4 columns n0..n0+3 at C's vec4 `quad`, with the flags of `e`. */
fn rowValue(e: RowEpilogue, m: u32, n0: u32, quad: u32, row: vec4<f32>) -> vec4<f32> {
  var v = row;
  if (e.accumulate) { v += vec4<f32>(C[quad]); }
  if (e.bias) {
    if (e.biasAlongRows) {
      v += vec4<f32>(Bias[e.offsetBias + m]);
    } else {
      let n = e.offsetBias + n0;
      v += vec4<f32>(Bias[n], Bias[n + 1u], Bias[n + 2u], Bias[n + 3u]);
    }
  }
  if (e.activate) { v = vec4<f32>(activation(v.x), activation(v.y), activation(v.z), activation(v.w)); }
  return v;
}

/**
 * Row m of C over columns n0..n0+3: one vec4 store where all 4 are inside N and start a vec4 of C (on
 * lavapipe a store pays its per-lane addressing once per vec4, not per float: ~2x fewer instructions
 * in the epilogue of a short K, LightCNN's 1×1 convs' 48-384), else one component at a time.
 */
fn storeRow(batch: u32, m: u32, n0: u32, row: vec4<f32>, e: RowEpilogue) {
  if (EPILOGUE_PER_ROW) {
    if (m >= e.rows) { return; }
    let index = e.base + m * e.strideCRow;
    if (C_QUADS || (e.whole && (index & 3u) == 0u)) {
      C[index / 4u] = storedQuad(rowValue(e, m, n0, index / 4u, row));
      return;
    }
  }
  if (m >= p.M) { return; }
  let index = cIndex(batch, m, n0);
  if (n0 + 3u < p.N && (index & 3u) == 0u) {
    var previous = vec4<f32>();
    if (p.accumulate == 1u) { previous = vec4<f32>(C[index / 4u]); }
    C[index / 4u] = storedQuad(vec4<f32>(epilogueValue(m, n0, row.x, previous.x), epilogueValue(m, n0 + 1u, row.y, previous.y), epilogueValue(m, n0 + 2u, row.z, previous.z), epilogueValue(m, n0 + 3u, row.w, previous.w)));
    return;
  }
  for (var c = 0u; c < 4u; c++) {
    let i = index + c;
    if (n0 + c < p.N) {
      var previous = 0.0;
      if (p.accumulate == 1u) { previous = f32(C[i / 4u][i % 4u]); }
      C[i / 4u][i % 4u] = stored(epilogueValue(m, n0 + c, row[c], previous));
    }
  }
}

/**
 * C_ALONG_M's epilogue: quads[i] holds rows m0 + 4i .. m0 + 4i + 3 of the 4 columns n0 .. n0 + 3 (an invocation's
 * accumulators, transposed), each column's 16 rows stored as 4 vec4s, with matmul_epilogue.wgsl's bias (along rows or
 * columns), earlier sum and activation. Columns past N (clamped copies) and invocations past M store nothing.
 */
fn storeColumns(batch: u32, m0: u32, n0: u32, quads: array<mat4x4<f32>, 4>) {
  // The launch parameters read once, before the stores (RowEpilogue's reason).
  let e = rowEpilogue(batch, n0);
  let N = p.N;
  let strideCCol = p.strideCCol;
  let base = p.offsetC + batch * p.strideCBatch + m0;
  if (m0 >= e.M) { return; }
  for (var j = 0u; j < 4u; j++) {
    let n = n0 + j;
    if (n >= N) { return; }
    let first = (base + n * strideCCol) / 4u;
    var columnBias = 0.0;
    if (e.bias && !e.biasAlongRows) { columnBias = Bias[e.offsetBias + n]; }
    for (var i = 0u; i < 4u; i++) {
      var v = quads[i][j] + vec4<f32>(columnBias);
      if (e.accumulate) { v += vec4<f32>(C[first + i]); }
      if (e.bias && e.biasAlongRows) {
        let m = e.offsetBias + m0 + 4u * i;
        v += vec4<f32>(Bias[m], Bias[m + 1u], Bias[m + 2u], Bias[m + 3u]);
      }
      if (e.activate) { v = vec4<f32>(activation(v.x), activation(v.y), activation(v.z), activation(v.w)); }
      C[first + i] = storedQuad(v);
    }
  }
}

/** The A row that GEMM row r reads: r, or under MFM (pairs along rows) the pair order's filter (r >> 1) + (r & 1)·(M / 2). */
fn filterOf(r: vec2<u32>) -> vec2<u32> {
  if (MFM == 0u || C_ALONG_M) { return r; }
  return (r >> vec2<u32>(1u)) + (r & vec2<u32>(1u)) * (p.M >> 1u);
}

/** The B column that GEMM column n reads: n, or under MFM with C_ALONG_M (pairs along columns) the filter (n >> 1) + (n & 1)·(N / 2). */
fn columnFilterOf(n: vec4<u32>) -> vec4<u32> {
  if (MFM == 0u || !C_ALONG_M) { return n; }
  return (n >> vec4<u32>(1u)) + (n & vec4<u32>(1u)) * (p.N >> 1u);
}

/**
 * MFM with C_ALONG_M: the GEMM's columns are the filters in the pair order 0, N/2, 1, N/2 + 1, ... (columnFilterOf; B read
 * along k), so an invocation's columns n0 .. n0 + 3 are the pairs of output channels n0 / 2 and n0 / 2 + 1: each channel's
 * 16 rows stored as 4 vec4s of max(first + its bias, second + its partner's), with the mask (MFM 1), in a C of N / 2 columns.
 */
fn storeColumnPairs(batch: u32, m0: u32, n0: u32, quads: array<mat4x4<f32>, 4>) {
  let e = rowEpilogue(batch, n0);
  let half = p.N >> 1u;
  let strideCCol = p.strideCCol;
  let base = p.offsetC + batch * p.strideCBatch + m0;
  if (m0 >= e.M) { return; }
  for (var q = 0u; q < 2u; q++) {
    let c = (n0 >> 1u) + q;
    if (c >= half) { return; }
    var biasA = 0.0;
    var biasB = 0.0;
    if (e.bias) {
      biasA = Bias[e.offsetBias + c];
      biasB = Bias[e.offsetBias + c + half];
    }
    let first = (base + c * strideCCol) / 4u;
    for (var i = 0u; i < 4u; i++) {
      let a = quads[i][2u * q] + vec4<f32>(biasA);
      let b = quads[i][2u * q + 1u] + vec4<f32>(biasB);
      C[first + i] = storedQuad(mfmValue4(a, b));
      if (MFM == 1u) { Mask[first + i] = mfmMask4(a, b); }
    }
  }
}

/**
 * Pair rows r, r + 1 (r even) over columns n0..n0+3 under MFM: output row r / 2 of max(first + bias, second + bias of its
 * partner), and its mask, each one vec4 store where the 4 columns are whole and aligned (untested where C_QUADS under
 * EPILOGUE_PER_ROW; the mask by component under 'perElement', as before), else one component at a time. The launch
 * parameters are read per pair: hoisting them to the invocation, as storeRow's are, measured no faster here.
 */
fn storePair(batch: u32, r: u32, n0: u32, first: vec4<f32>, second: vec4<f32>) {
  let e = rowEpilogue(batch, n0);
  let half = e.M >> 1u;
  let c = r >> 1u;
  if (c >= e.rows >> 1u) { return; }
  var biasA = 0.0;
  var biasB = 0.0;
  if (e.bias) {
    biasA = Bias[e.offsetBias + c];
    biasB = Bias[e.offsetBias + c + half];
  }
  let index = e.base + c * e.strideCRow;
  let a = first + vec4<f32>(biasA);
  let b = second + vec4<f32>(biasB);
  let y = vec4<f32>(mfmValue(a.x, b.x), mfmValue(a.y, b.y), mfmValue(a.z, b.z), mfmValue(a.w, b.w));
  if ((C_QUADS && EPILOGUE_PER_ROW) || (e.whole && (index & 3u) == 0u)) {
    C[index / 4u] = storedQuad(y);
    if (MFM == 1u) {
      let mask = vec4<u32>(mfmMask(a.x, b.x), mfmMask(a.y, b.y), mfmMask(a.z, b.z), mfmMask(a.w, b.w));
      if (EPILOGUE_PER_ROW) {
        Mask[index / 4u] = mask;
      } else {
        for (var j = 0u; j < 4u; j++) { Mask[index / 4u][j] = mask[j]; }
      }
    }
    return;
  }
  for (var j = 0u; j < 4u; j++) {
    let i = index + j;
    if (n0 + j < p.N) {
      C[i / 4u][i % 4u] = stored(y[j]);
      if (MFM == 1u) { Mask[i / 4u][i % 4u] = mfmMask(a[j], b[j]); }
    }
  }
}

/**
 * B_SHARED: SharedB[c·K/4 + k4] = B's column firstColumn + c (clamped to N - 1, through columnFilterOf) at k = 4·k4 ..
 * 4·k4 + 3, the workgroup's invocations copying every WGX·WGY-th vec4. Called in uniform control flow (its barrier).
 */
fn shareB(bBase: u32, firstColumn: u32, invocation: u32) {
  let quads = p.K / 4u;
  let last = p.N - 1u;
  let strideBCol = p.strideBCol;
  for (var i = invocation; i < 4u * WGX * quads; i += WGX * WGY) {
    let n = columnFilterOf(vec4<u32>(min(firstColumn + i / quads, last))).x;
    SharedB[i] = vec4<f32>(B[(bBase + n * strideBCol) / 4u + i % quads]);
  }
  workgroupBarrier();
}

/** B's vec4 at index i: SharedB's (B_SHARED) or storage's. */
fn bQuad(i: u32) -> vec4<f32> {
  if (B_SHARED) { return SharedB[i]; }
  return vec4<f32>(B[i]);
}

@compute @workgroup_size(WGX, WGY)
fn subgroupTiled(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>, @builtin(subgroup_invocation_id) lane: u32) {
  let batch = wid.z;
  let m0 = (wid.y * WGY + lid.y) * ROWS;
  let n0 = (wid.x * WGX + lid.x) * 4u;
  let aBase = p.offsetA + batch * p.strideABatch;
  let bBase = p.offsetB + batch * p.strideBBatch;
  if (B_SHARED) { shareB(bBase, wid.x * WGX * 4u, lid.y * WGX + lid.x); }
  // Vec4 indices of this lane's two A loads and four B loads at k = 0, and their steps per 4 k.
  var a: vec2<u32>;
  var aStep = 1u;
  if (A_ALONG_M) {
    let block = aBase + min(m0 + 4u * (lane & 3u), (p.M - 1u) & ~3u);
    let k = lane >> 2u;
    a = (vec2<u32>(block) + vec2<u32>(k, k + 2u) * p.strideACol) / 4u;
    aStep = p.strideACol;
  } else {
    let rows = filterOf(min(vec2<u32>(m0 + lane, m0 + LANES + lane), vec2<u32>(p.M - 1u)));
    a = (vec2<u32>(aBase) + rows * p.strideARow) / 4u;
  }
  var b: vec4<u32>;
  var bStep = 1u;
  if (B_SHARED) {
    b = (vec4<u32>(lid.x * 4u) + vec4<u32>(0u, 1u, 2u, 3u)) * (p.K / 4u);
  } else if (B_ALONG_K) {
    b = (vec4<u32>(bBase) + columnFilterOf(min(vec4<u32>(n0) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(p.N - 1u))) * p.strideBCol) / 4u;
  } else {
    let block = bBase + min(n0, (p.N - 1u) & ~3u);
    b = vec4<u32>(block / 4u) + vec4<u32>(0u, 1u, 2u, 3u) * (p.strideBRow / 4u);
    bStep = p.strideBRow;
  }
  // acc_i[c]: C row m0 + 4i + c over columns n0..n0+3.
  var acc0 = mat4x4<f32>();
  var acc1 = mat4x4<f32>();
  var acc2 = mat4x4<f32>();
  var acc3 = mat4x4<f32>();
  for (var k4 = 0u; k4 < p.K / 4u; k4++) {
    let a0 = vec4<f32>(A[a.x]);
    let a1 = vec4<f32>(A[a.y]);
    var bRows = mat4x4<f32>(bQuad(b.x), bQuad(b.y), bQuad(b.z), bQuad(b.w));
    if (B_ALONG_K) { bRows = transpose(bRows); }
    acc0 = accumulateQuad(acc0, rowQuad(a0, a1, 0u), bRows);
    acc1 = accumulateQuad(acc1, rowQuad(a0, a1, 1u), bRows);
    acc2 = accumulateQuad(acc2, rowQuad(a0, a1, 2u), bRows);
    acc3 = accumulateQuad(acc3, rowQuad(a0, a1, 3u), bRows);
    a += vec2<u32>(aStep);
    b += vec4<u32>(bStep);
  }
  if (C_ALONG_M) {
    let quads = array<mat4x4<f32>, 4>(transpose(acc0), transpose(acc1), transpose(acc2), transpose(acc3));
    if (MFM != 0u) {
      storeColumnPairs(batch, m0, n0, quads);
    } else {
      storeColumns(batch, m0, n0, quads);
    }
    return;
  }
  if (MFM != 0u) {
    storePair(batch, m0, n0, acc0[0], acc0[1]);
    storePair(batch, m0 + 2u, n0, acc0[2], acc0[3]);
    storePair(batch, m0 + 4u, n0, acc1[0], acc1[1]);
    storePair(batch, m0 + 6u, n0, acc1[2], acc1[3]);
    storePair(batch, m0 + 8u, n0, acc2[0], acc2[1]);
    storePair(batch, m0 + 10u, n0, acc2[2], acc2[3]);
    storePair(batch, m0 + 12u, n0, acc3[0], acc3[1]);
    storePair(batch, m0 + 14u, n0, acc3[2], acc3[3]);
    return;
  }
  let e = rowEpilogue(batch, n0);
  for (var c = 0u; c < 4u; c++) {
    storeRow(batch, m0 + c, n0, acc0[c], e);
    storeRow(batch, m0 + 4u + c, n0, acc1[c], e);
    storeRow(batch, m0 + 8u + c, n0, acc2[c], e);
    storeRow(batch, m0 + 12u + c, n0, acc3[c], e);
  }
}
