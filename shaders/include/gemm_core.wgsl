// The GEMM core shared by matmul.wgsl and the conv kernels (conv2d, conv_transpose2d,
// conv2d_weight_grad): each invocation owns a TM x TN = 4 x 4 block of C, held in four vec4 rows,
// and every k step adds the outer product of 4 A values (its rows) and 4 B values (its columns).
// The kernels differ only in how they fetch A and B (strided matrices, or im2col on the fly).
//   registerTiled  — operands straight from storage, no workgroup memory; a WGX x WGY workgroup
//                    (override constants set by the launcher, 256 invocations) covers
//                    (TN·WGX) x (TM·WGY).
//   workgroupTiled — a 16 x 16 workgroup covers a BM x BN = 64 x 64 tile; K is walked in BK = 16
//                    slices staged in tileA [k][m] and tileB [k][n], each thread staging 4 of each.
const TM = 4u;
const TN = 4u;
override WGX: u32 = 16u;
override WGY: u32 = 16u;

const TILED_WG = 16u;
const BM = 64u;
const BN = 64u;
const BK = 16u;
const_assert BM == TM * TILED_WG && BN == TN * TILED_WG;
const_assert BM * BK == 4u * TILED_WG * TILED_WG && BN * BK == 4u * TILED_WG * TILED_WG;

struct Acc4x4 { r0: vec4<f32>, r1: vec4<f32>, r2: vec4<f32>, r3: vec4<f32> }

/** acc += a ⊗ b: a holds the block's 4 rows' A values at one k, b its 4 columns' B values. */
fn outerAccumulate(acc: ptr<function, Acc4x4>, a: vec4<f32>, b: vec4<f32>) {
  (*acc).r0 += a.x * b;
  (*acc).r1 += a.y * b;
  (*acc).r2 += a.z * b;
  (*acc).r3 += a.w * b;
}

var<workgroup> tileA: array<array<f32, BM>, BK>;  // [k][m]
var<workgroup> tileB: array<array<f32, BN>, BK>;  // [k][n]

/** One staged BK slice into the block of invocation lid (rows lid.y·TM + 0..3, columns lid.x·TN + 0..3). */
fn accumulateStagedSlice(acc: ptr<function, Acc4x4>, lid: vec3<u32>) {
  let m = lid.y * TM;
  let n = lid.x * TN;
  for (var k = 0u; k < BK; k++) {
    let a = vec4<f32>(tileA[k][m], tileA[k][m + 1u], tileA[k][m + 2u], tileA[k][m + 3u]);
    let b = vec4<f32>(tileB[k][n], tileB[k][n + 1u], tileB[k][n + 2u], tileB[k][n + 3u]);
    outerAccumulate(acc, a, b);
  }
}
