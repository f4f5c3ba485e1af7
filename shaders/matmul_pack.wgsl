// Packs one operand of a matmul for matmul_packed.wgsl, or for matmul_subgroup.wgsl where the
// operand's own layout does not allow vec4 reads: Packed[b][k][q] (vec4) = the operand's elements at
// X indices 4q .. 4q + 3 and reduction index k of batch b, 0 past the last X index and for k from K
// to packedK (K rounded up to 4 for the subgroup kernel, which walks k four at a time; K otherwise).
// X is M for A (packed by rows, A[b, m, k]) and N for B (packed by columns, B[b, k, n]); the source
// is any strided view (batch, X and K strides and an element offset, as the launcher binds it), so
// the GEMM that follows reads the 4 rows (or columns) it needs at one k with one vec4 load.
// Bindings: 0 params, 1 Source (read), 2 Packed (write, vec4). One invocation per packed vec4,
// flat index gid.x + gid.y · num_workgroups.x · 256.
// Source is Operand (f32, or f16 where the launcher asks: shaders/include/operand.wgsl); the packed
// copy is f32 either way (f16 converts exactly), so the GEMM that reads it is the f32 build.
// Invariant: Packed[(b · packedK + k) · width + q][t] = Source[offset + b·strideBatch + k·strideK +
// (4q + t)·strideX] for 4q + t < X and k < K, else 0.
struct PackParams { X: u32, K: u32, width: u32, batches: u32, strideBatch: u32, strideX: u32, strideK: u32, offset: u32, packedK: u32, pad0: u32, pad1: u32, pad2: u32 }

//!include operand
@group(0) @binding(0) var<uniform> p: PackParams;
@group(0) @binding(1) var<storage, read> Source: array<Operand>;
@group(0) @binding(2) var<storage, read_write> Packed: array<vec4<f32>>;

@compute @workgroup_size(256)
fn pack(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let index = gid.x + gid.y * nwg.x * 256u;
  if (index >= p.batches * p.packedK * p.width) { return; }
  let q = index % p.width;
  let k = (index / p.width) % p.packedK;
  let b = index / (p.width * p.packedK);
  let x = vec4<u32>(q * 4u) + vec4<u32>(0u, 1u, 2u, 3u);
  let inside = (x < vec4<u32>(p.X)) & vec4<bool>(k < p.K);
  // Indices past the edge read the last element (in the bound range) and are zeroed.
  let at = vec4<u32>(p.offset + b * p.strideBatch + min(k, p.K - 1u) * p.strideK) + min(x, vec4<u32>(p.X - 1u)) * p.strideX;
  Packed[index] = select(vec4<f32>(0.0), vec4<f32>(f32(Source[at.x]), f32(Source[at.y]), f32(Source[at.z]), f32(Source[at.w])), inside);
}
