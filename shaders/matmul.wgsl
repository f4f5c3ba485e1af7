// matmul: C[b, m, n] = act(sum_k A[b, m, k] * B[b, k, n] + bias[n]), batched, with A and B read
// through strides and offsets (so transposed operands and broadcast batches cost nothing) and C
// written through strides (contiguous [batch, M, N] unless the launcher splits the product; see
// shaders/include/matmul_epilogue.wgsl). The activation is spliced in at ACT (an expression of v;
// "v" for none). The vec4 variant for software adapters is shaders/matmul_vec4.wgsl.
// Bindings: 0 params, 1 A (read), 2 B (read), 3 Bias (read; used when hasBias == 1), 4 C (read_write).
// A and B are Operand (f32, or f16 where the launcher asks: shaders/include/operand.wgsl), converted
// to f32 on load; Bias, C, the accumulators and the workgroup tiles are f32.
// Tiling (shaders/include/gemm_core.wgsl): each invocation owns a TM x TN = 4 x 4 block of C.
//   registerTiled  — operands straight from storage, no workgroup memory, no barriers: fastest
//                    on software Vulkan (lavapipe), where barriers cost more than they save. The
//                    launcher sets WGX x WGY (256 invocations) to fit M.
//   workgroupTiled — K is walked in BK = 16 slices staged in workgroup memory: fastest on GPUs.
//!include operand
//!include stored
//!include half_bits
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> A: array<Operand>;
@group(0) @binding(2) var<storage, read> B: array<Operand>;
@group(0) @binding(3) var<storage, read> Bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> C: array<Stored>;

//!include matmul_epilogue
//!include matmul_store
//!include is_nan
//!include gemm_core

fn loadA(base: u32, m: u32, k: u32) -> f32 {
  if (m >= p.M || k >= p.K) { return 0.0; }
  return f32(A[base + m * p.strideARow + k * p.strideACol]);
}

fn loadB(base: u32, k: u32, n: u32) -> f32 {
  if (k >= p.K || n >= p.N) { return 0.0; }
  return f32(B[base + k * p.strideBRow + n * p.strideBCol]);
}

fn store(batch: u32, m: u32, n0: u32, row: vec4<f32>) {
  if (m >= p.M) { return; }
  for (var j = 0u; j < TN; j++) {
    let n = n0 + j;
    if (n < p.N) {
      storeElement(batch, m, n, row[j]);
    }
  }
}

// Columns are interleaved: invocation x owns n = tileN + x + j * WGX, so neighbouring invocations
// (the SIMD lanes of a software rasteriser) read neighbouring B elements and share each A element.
fn storeInterleaved(batch: u32, m: u32, n0: u32, row: vec4<f32>) {
  if (m >= p.M) { return; }
  for (var j = 0u; j < TN; j++) {
    let n = n0 + j * WGX;
    if (n < p.N) {
      storeElement(batch, m, n, row[j]);
    }
  }
}

@compute @workgroup_size(WGX, WGY)
fn registerTiled(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let batch = wid.z;
  let m0 = (wid.y * WGY + lid.y) * TM;
  let n0 = wid.x * WGX * TN + lid.x;
  // Rows and columns past the edge are clamped to the last valid one: the inner loop runs
  // without bounds checks, and the store drops the duplicated results.
  let aBase = p.offsetA + batch * p.strideABatch;
  let bBase = p.offsetB + batch * p.strideBBatch;
  let a0 = aBase + min(m0, p.M - 1u) * p.strideARow;
  let a1 = aBase + min(m0 + 1u, p.M - 1u) * p.strideARow;
  let a2 = aBase + min(m0 + 2u, p.M - 1u) * p.strideARow;
  let a3 = aBase + min(m0 + 3u, p.M - 1u) * p.strideARow;
  let b0 = bBase + min(n0, p.N - 1u) * p.strideBCol;
  let b1 = bBase + min(n0 + WGX, p.N - 1u) * p.strideBCol;
  let b2 = bBase + min(n0 + 2u * WGX, p.N - 1u) * p.strideBCol;
  let b3 = bBase + min(n0 + 3u * WGX, p.N - 1u) * p.strideBCol;
  var acc = Acc4x4();
  for (var k = 0u; k < p.K; k++) {
    let ak = k * p.strideACol;
    let bk = k * p.strideBRow;
    let a = vec4<f32>(f32(A[a0 + ak]), f32(A[a1 + ak]), f32(A[a2 + ak]), f32(A[a3 + ak]));
    let b = vec4<f32>(f32(B[b0 + bk]), f32(B[b1 + bk]), f32(B[b2 + bk]), f32(B[b3 + bk]));
    outerAccumulate(&acc, a, b);
  }
  storeInterleaved(batch, m0, n0, acc.r0);
  storeInterleaved(batch, m0 + 1u, n0, acc.r1);
  storeInterleaved(batch, m0 + 2u, n0, acc.r2);
  storeInterleaved(batch, m0 + 3u, n0, acc.r3);
}

@compute @workgroup_size(TILED_WG, TILED_WG)
fn workgroupTiled(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let batch = wid.z;
  let tileM = wid.y * BM;
  let tileN = wid.x * BN;
  let aBase = p.offsetA + batch * p.strideABatch;
  let bBase = p.offsetB + batch * p.strideBBatch;
  let thread = lid.y * TILED_WG + lid.x;
  var acc = Acc4x4();
  for (var k0 = 0u; k0 < p.K; k0 += BK) {
    // 256 threads stage 64 x 16 elements of A and 16 x 64 of B: 4 each.
    for (var e = 0u; e < 4u; e++) {
      let flat = thread * 4u + e;
      let am = flat / BK;
      let ak = flat % BK;
      tileA[ak][am] = loadA(aBase, tileM + am, k0 + ak);
      let bk = flat / BN;
      let bn = flat % BN;
      tileB[bk][bn] = loadB(bBase, k0 + bk, tileN + bn);
    }
    workgroupBarrier();
    accumulateStagedSlice(&acc, lid);
    workgroupBarrier();
  }
  let m0 = tileM + lid.y * TM;
  let n0 = tileN + lid.x * TN;
  store(batch, m0, n0, acc.r0);
  store(batch, m0 + 1u, n0, acc.r1);
  store(batch, m0 + 2u, n0, acc.r2);
  store(batch, m0 + 3u, n0, acc.r3);
}
