// grad_unscale: a loss-scaled gradient back to scale 1 in place, G[i] *= p.inverse, and Found = 1
// where any element is ±inf or NaN (torch's _amp_foreach_non_finite_check_and_unscale_). One
// dispatch per gradient; every gradient of a step sets the same Found, read back once.
// Layout: G a flat f32 array of `count` elements. Bindings: 0 params, 1 G (read_write), 2 Found (atomic u32).
// Non-finite by the bits: lavapipe folds v != v.
struct Params { count: u32, inverse: f32, pad0: u32, pad1: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> G: array<f32>;
@group(0) @binding(2) var<storage, read_write> Found: atomic<u32>;
override WG: u32 = 256;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.count) { return; }
  let g = G[i];
  if ((bitcast<u32>(g) & 0x7f800000u) == 0x7f800000u) { atomicStore(&Found, 1u); }
  G[i] = g * p.inverse;
}
