// matmul, packed variant (entry point packed): C[b, m, n] = act(sum_k A[b, m, k] · B[b, k, n] + bias[n])
// over operands packed by shaders/matmul_pack.wgsl: PackedA [batch][K][widthA] vec4 holding rows
// 4q .. 4q + 3 of A at one k, PackedB [batch][K][widthB] the same for columns of B (zero past M / N).
// An operand already in that layout (A contiguous along m, B along n, aligned) is read in place.
// Parameters and epilogue are matmul_epilogue.wgsl's, with A's and B's fields read in vec4s of the
// packed layout: strideABatch / strideBBatch per batch (0: one for every batch), strideARow /
// strideBRow per k, strideACol / strideBCol the quads in M / N, offsetA / offsetB the first quad.
// Why: on software Vulkan (lavapipe) every storage load whose address varies per lane costs about
// ten instructions per lane and every loop-carried value is blended with the loop mask; here a k
// step loads ROWS/4 + COLS/4 vec4 for ROWS·COLS multiply-adds (4 x 8: 3 per 32, registerTiledVec4
// 8 per 64 plus transposes), any operand layout reads as aligned vec4, and K is walked four steps
// per loop iteration.
// Tiling: each invocation owns ROWS x COLS outputs (override constants, 4 or 8 each: quads of rows
// q0 .. q0 + ROWS/4 - 1, of columns c0 .. c0 + COLS/4 - 1), held as Acc4x4 blocks of gemm_core;
// a WGX x WGY workgroup (set by the launcher). A quad past the last reads the last one (its outputs
// are not stored), so a read never leaves the operand.
// Bindings: 0 params, 1 PackedA (read, vec4), 2 PackedB (read, vec4), 3 Bias (read; used when
// hasBias == 1), 4 C (read_write, f32).
// Invariant: element (m, n) of C sums A[m, k]·B[k, n] over exactly k = 0..K-1.
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> A: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> B: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> Bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> C: array<Stored>;

//!include matmul_epilogue
//!include stored
//!include half_bits
//!include matmul_store
//!include is_nan
//!include gemm_core

// 4 or 8 each (the launcher sets them; WGSL has no assertion on overrides).
override ROWS: u32 = 8u;
override COLS: u32 = 8u;

struct Block { r0c0: Acc4x4, r0c1: Acc4x4, r1c0: Acc4x4, r1c1: Acc4x4 }

/** One k: rows' quads a0 (a1 when ROWS == 8) times columns' quads b0 (b1 when COLS == 8). */
fn accumulateStep(acc: ptr<function, Block>, a: u32, aSecond: u32, b: u32, bSecond: u32) {
  let a0 = A[a];
  let b0 = B[b];
  outerAccumulate(&(*acc).r0c0, a0, b0);
  if (COLS == 8u) {
    let b1 = B[bSecond];
    outerAccumulate(&(*acc).r0c1, a0, b1);
    if (ROWS == 8u) { outerAccumulate(&(*acc).r1c1, A[aSecond], b1); }
  }
  if (ROWS == 8u) { outerAccumulate(&(*acc).r1c0, A[aSecond], b0); }
}

fn storeQuad(batch: u32, m0: u32, n0: u32, acc: Acc4x4) {
  let rows = array<vec4<f32>, 4>(acc.r0, acc.r1, acc.r2, acc.r3);
  for (var r = 0u; r < 4u; r++) {
    if (m0 + r >= p.M) { return; }
    for (var c = 0u; c < 4u; c++) {
      if (n0 + c < p.N) { storeElement(batch, m0 + r, n0 + c, rows[r][c]); }
    }
  }
}

@compute @workgroup_size(WGX, WGY)
fn packed(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let batch = wid.z;
  let q0 = (wid.y * WGY + lid.y) * (ROWS / 4u);
  let c0 = (wid.x * WGX + lid.x) * (COLS / 4u);
  let widthA = p.strideARow;
  let widthB = p.strideBRow;
  let lastA = p.strideACol - 1u;
  let lastB = p.strideBCol - 1u;
  var a = p.offsetA + batch * p.strideABatch + min(q0, lastA);
  var b = p.offsetB + batch * p.strideBBatch + min(c0, lastB);
  // The second quad's distance from the first (0 where it would be past the last quad).
  let aSecond = min(q0 + 1u, lastA) - min(q0, lastA);
  let bSecond = min(c0 + 1u, lastB) - min(c0, lastB);
  var acc = Block();
  for (var k4 = 0u; k4 < p.K / 4u; k4++) {
    accumulateStep(&acc, a, a + aSecond, b, b + bSecond);
    accumulateStep(&acc, a + widthA, a + widthA + aSecond, b + widthB, b + widthB + bSecond);
    accumulateStep(&acc, a + 2u * widthA, a + 2u * widthA + aSecond, b + 2u * widthB, b + 2u * widthB + bSecond);
    accumulateStep(&acc, a + 3u * widthA, a + 3u * widthA + aSecond, b + 3u * widthB, b + 3u * widthB + bSecond);
    a += 4u * widthA;
    b += 4u * widthB;
  }
  for (var k = 0u; k < p.K % 4u; k++) {
    accumulateStep(&acc, a, a + aSecond, b, b + bSecond);
    a += widthA;
    b += widthB;
  }
  let m0 = q0 * 4u;
  let n0 = c0 * 4u;
  storeQuad(batch, m0, n0, acc.r0c0);
  if (COLS == 8u) { storeQuad(batch, m0, n0 + 4u, acc.r0c1); }
  if (ROWS == 8u) {
    storeQuad(batch, m0 + 4u, n0, acc.r1c0);
    if (COLS == 8u) { storeQuad(batch, m0 + 4u, n0 + 4u, acc.r1c1); }
  }
}
