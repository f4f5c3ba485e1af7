// Max-feature-map backward from the mask conv2d's fused mfm epilogue wrote (shaders/conv2d.wgsl):
//   GX[n, h·C + c, s] = G[n, c, s] · share, h = 0 (first half) or 1 (second half), where
//   Mask[n, c, s] bit h says whether half h takes the gradient and bit 2 halves it (a tie).
// This is torch.maximum's rule, the same as shaders/mfm.wgsl's backward, without reading the
// full-size pre-max activations (the fused forward never wrote them).
// Bindings: 0 params, 1 Mask (read, u32 [N, C, S]), 2 G (read, [N, C, S]), 3 GX (write, [N, 2C, S]);
// G and GX hold Operand (shaders/include/operand.wgsl): float16 in the f16 build, for f16 conv kernels.
// 1-D grid over GX (gid.x + gid.y · nwg.x · WG).
struct Params { N: u32, C: u32, S: u32, pad0: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> Mask: array<u32>;
@group(0) @binding(2) var<storage, read> G: array<Operand>;
@group(0) @binding(3) var<storage, read_write> GX: array<Operand>;
override WG: u32 = 256;
//!include operand

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let index = gid.x + gid.y * nwg.x * WG;
  let half = p.C * p.S;
  if (index >= p.N * 2u * half) { return; }
  let n = index / (2u * half);
  let rest = index % (2u * half);
  let h = rest / half;
  let source = n * half + rest % half;
  let m = Mask[source];
  var d = 0.0;
  if ((m & (1u << h)) != 0u) {
    let g = f32(G[source]);
    d = select(g, 0.5 * g, (m & 4u) != 0u);
  }
  GX[index] = Operand(d);
}
