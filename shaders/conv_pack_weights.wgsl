// Packs conv weights Wt [Cout, Cin, KH, KW] into the GEMM-row-major layout the packed conv kernels
// read (shaders/conv2d_packed.wgsl, conv2d_pointwise.wgsl): Packed [K][packedWidth] of vec4, the
// vec4 at (k, q) holding GEMM rows 4q .. 4q + 3 at reduction index k, so an invocation fetches its 4
// rows' weights with one load. Rows at or past `rows` are 0 (packedWidth·4 may exceed rows).
// Two orders (names from conv2d's point of view, KHW = KH·KW):
//   forward (order 0, or 1 for mfm): row r is filter r, or under mfm the pair order
//     (r >> 1) + (r & 1)·Cout/2 of conv2d.wgsl's filterOf; k = ci·KHW + tap. rows = Cout.
//   transposed (order 2): conv2d's input gradient at stride 1 as a forward conv over GY, row r is
//     input channel ci = r, k = co·KHW + tap' with the kernel rotated by 180° (tap = KHW - 1 - tap').
//     rows = Cin.
// Bindings: 0 params, 1 Wt (read), 2 Packed (write, vec4). One invocation per packed vec4.
// Invariant: Packed[k][q][t] = weight of GEMM row 4q + t at k, or 0 for a row past the last.
// Wt is Operand (shaders/include/operand.wgsl: f32, or f16 in the `.f16` build); Packed is f32 either way
// (f16 converts exactly), so the conv kernels read one packing for both operand types.
struct PackParams { rows: u32, K: u32, packedWidth: u32, order: u32, Cout: u32, Cin: u32, KHW: u32, pad: u32 }

//!include operand
@group(0) @binding(0) var<uniform> p: PackParams;
@group(0) @binding(1) var<storage, read> Wt: array<Operand>;
@group(0) @binding(2) var<storage, read_write> Packed: array<vec4<f32>>;

fn weightAt(r: u32, k: u32) -> f32 {
  if (r >= p.rows) { return 0.0; }
  if (p.order == 2u) {
    let co = k / p.KHW;
    let tap = p.KHW - 1u - k % p.KHW;
    return f32(Wt[(co * p.Cin + r) * p.KHW + tap]);
  }
  var f = r;
  if (p.order == 1u) { f = (r >> 1u) + (r & 1u) * (p.Cout >> 1u); }
  return f32(Wt[f * p.K + k]);
}

@compute @workgroup_size(256)
fn pack(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let index = gid.x + gid.y * nwg.x * 256u;
  if (index >= p.K * p.packedWidth) { return; }
  let k = index / p.packedWidth;
  let r = (index % p.packedWidth) * 4u;
  Packed[index] = vec4<f32>(weightAt(r, k), weightAt(r + 1u, k), weightAt(r + 2u, k), weightAt(r + 3u, k));
}
