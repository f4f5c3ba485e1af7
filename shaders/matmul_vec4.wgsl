// matmul, vec4 variant (entry point registerTiledVec4): the product, parameters and epilogue of
// matmul.wgsl (C[b, m, n] = act(sum_k A[b, m, k] * B[b, k, n] + bias[n]); the epilogue is
// shaders/include/matmul_epilogue.wgsl), with A and B read as vec4. Why: on software Vulkan
// (lavapipe) every storage load whose address is not a compile-time constant costs about ten
// instructions per lane (exec-mask test, bounds check, scalar load, insert); a vec4 load pays
// that once for four values.
// Tiling: each invocation owns a 4 x 4 block of C, rows m0..m0+3 and contiguous columns n0..n0+3,
// and walks K four at a time; a step reads 4 vec4 of A and 4 of B, each along its contiguous axis
// (override constants, set by the launcher from the strides):
//   A_ALONG_M = false: A contiguous along k (strideACol 1): one vec4 per row, A[m0 + i, k..k+3]
//   A_ALONG_M = true:  A contiguous along m (strideARow 1, a transposed operand): one vec4 per k,
//                      A[m0..m0+3, k + j]
//   B_ALONG_K = false: B contiguous along n (strideBCol 1): one vec4 per k, B[k + j, n0..n0+3]
//   B_ALONG_K = true:  B contiguous along k (strideBRow 1, a transposed operand): one vec4 per
//                      column, B[k..k+3, n0 + c]
// Blocks read across their axis are transposed in registers (free: a software rasteriser keeps
// each component in its own register), then 16 fma add A's 4 rows x B's 4 rows into the block.
// WGX x WGY invocations per workgroup (override constants, registerTileShape in the launcher).
// Preconditions (the launcher checks them and otherwise runs registerTiled): K % 4 == 0, and along
// each operand's contiguous axis its offset and its batch and other stride multiples of 4, so
// every vec4 is 16-byte aligned. Any M and N: rows past M and columns past N are clamped to the
// last block or column (their results are not stored); a vec4 that straddles the edge of M
// (transposed A) or N reads at most 3 elements past the operand's last one, still inside the
// 16-byte-rounded bound range.
// Bindings: 0 params, 1 A (read, vec4), 2 B (read, vec4), 3 Bias (read; used when hasBias == 1),
// 4 C (read_write, f32).
// Invariant: element (m, n) of C sums A[m, k]·B[k, n] over exactly k = 0..K-1.
// A and B are Operand (shaders/include/operand.wgsl: f32, or f16 in the `.f16` build), converted to f32 on
// load; a vec4 index counts 4 elements either way (an f16 vec4 is 8 bytes), so the launcher's alignment
// conditions in elements (offsets, strides, K multiples of 4) hold for both.
//!include operand
//!include stored
//!include half_bits
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> A: array<vec4<Operand>>;
@group(0) @binding(2) var<storage, read> B: array<vec4<Operand>>;
@group(0) @binding(3) var<storage, read> Bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> C: array<Stored>;

//!include matmul_epilogue
//!include matmul_store
//!include is_nan

override WGX: u32 = 16u;
override WGY: u32 = 16u;
override A_ALONG_M: bool = false;
override B_ALONG_K: bool = false;

/** acc + a ⊗ rows of b: a holds one C row's A values at k..k+3, b[j] the block's B row k + j. */
fn accumulateRow(acc: vec4<f32>, a: vec4<f32>, b: mat4x4<f32>) -> vec4<f32> {
  return fma(vec4<f32>(a.w), b[3], fma(vec4<f32>(a.z), b[2], fma(vec4<f32>(a.y), b[1], fma(vec4<f32>(a.x), b[0], acc))));
}

fn storeRow(batch: u32, m: u32, n0: u32, row: vec4<f32>) {
  if (m >= p.M) { return; }
  for (var c = 0u; c < 4u; c++) {
    if (n0 + c < p.N) { storeElement(batch, m, n0 + c, row[c]); }
  }
}

@compute @workgroup_size(WGX, WGY)
fn registerTiledVec4(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let batch = wid.z;
  let m0 = (wid.y * WGY + lid.y) * 4u;
  let n0 = (wid.x * WGX + lid.x) * 4u;
  let aBase = p.offsetA + batch * p.strideABatch;
  let bBase = p.offsetB + batch * p.strideBBatch;
  // Element indices of each vec4 stream at k = 0, divided by 4 (all multiples of 4), and the
  // streams' step per k (the stride across the contiguous axis, in vec4s).
  var a: vec4<u32>;
  var b: vec4<u32>;
  var aStep = 1u;
  var bStep = 1u;
  if (A_ALONG_M) {
    let block = aBase + min(m0, (p.M - 1u) & ~3u);
    aStep = p.strideACol / 4u;
    a = vec4<u32>(block / 4u) + vec4<u32>(0u, 1u, 2u, 3u) * aStep;
    aStep *= 4u;
  } else {
    let last = p.M - 1u;
    a = (vec4<u32>(aBase) + min(vec4<u32>(m0) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(last)) * p.strideARow) / 4u;
  }
  if (B_ALONG_K) {
    let last = p.N - 1u;
    b = (vec4<u32>(bBase) + min(vec4<u32>(n0) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(last)) * p.strideBCol) / 4u;
  } else {
    let block = bBase + min(n0, (p.N - 1u) & ~3u);
    bStep = p.strideBRow / 4u;
    b = vec4<u32>(block / 4u) + vec4<u32>(0u, 1u, 2u, 3u) * bStep;
    bStep *= 4u;
  }
  var acc0 = vec4<f32>();
  var acc1 = vec4<f32>();
  var acc2 = vec4<f32>();
  var acc3 = vec4<f32>();
  for (var k4 = 0u; k4 < p.K / 4u; k4++) {
    // aRows[i]: row m0 + i over k..k+3; bRows[j]: row k + j over n0..n0+3.
    var aRows = mat4x4<f32>(vec4<f32>(A[a.x]), vec4<f32>(A[a.y]), vec4<f32>(A[a.z]), vec4<f32>(A[a.w]));
    if (A_ALONG_M) { aRows = transpose(aRows); }
    var bRows = mat4x4<f32>(vec4<f32>(B[b.x]), vec4<f32>(B[b.y]), vec4<f32>(B[b.z]), vec4<f32>(B[b.w]));
    if (B_ALONG_K) { bRows = transpose(bRows); }
    acc0 = accumulateRow(acc0, aRows[0], bRows);
    acc1 = accumulateRow(acc1, aRows[1], bRows);
    acc2 = accumulateRow(acc2, aRows[2], bRows);
    acc3 = accumulateRow(acc3, aRows[3], bRows);
    a += vec4<u32>(aStep);
    b += vec4<u32>(bStep);
  }
  storeRow(batch, m0, n0, acc0);
  storeRow(batch, m0 + 1u, n0, acc1);
  storeRow(batch, m0 + 2u, n0, acc2);
  storeRow(batch, m0 + 3u, n0, acc3);
}
