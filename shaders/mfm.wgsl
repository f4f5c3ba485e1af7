// Max-feature-map (LightCNN): X [N, 2C, S] (S = H·W, or 1 for [N, 2C]) → Y [N, C, S],
//   Y[n, c, s] = max(X[n, c, s], X[n, C + c, s])  — torch.max(a, b), i.e. torch.maximum: NaN propagates.
// The gradient follows torch.maximum's rule: the larger half gets all of it, and on a tie each
// half gets half (dA = where(a == b, g/2, g) masked to 0 where a < b; dB likewise where a > b).
// Bindings (one table for both entry points): 0 params, 1 X (read), 2 G (read, [N, C, S]; backward
//   only, a placeholder in forward), 3 Out (write: Y [N, C, S] forward, GX [N, 2C, S] backward).
// 1-D grids over outputs (gid.x + gid.y · nwg.x · WG).
struct Params { N: u32, C: u32, S: u32, pad0: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> G: array<f32>;
@group(0) @binding(3) var<storage, read_write> Out: array<f32>;
override WG: u32 = 256;
//!include is_nan

@compute @workgroup_size(WG)
fn forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let index = gid.x + gid.y * nwg.x * WG;
  if (index >= p.N * p.C * p.S) { return; }
  let n = index / (p.C * p.S);
  let rest = index % (p.C * p.S);
  let a = X[n * 2u * p.C * p.S + rest];
  let b = X[n * 2u * p.C * p.S + p.C * p.S + rest];
  var y = max(a, b);
  if (isNan(a) || isNan(b)) { y = a + b; }  // NaN in, NaN out (WGSL's max may drop NaN)
  Out[index] = y;
}

@compute @workgroup_size(WG)
fn backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let index = gid.x + gid.y * nwg.x * WG;
  if (index >= p.N * 2u * p.C * p.S) { return; }
  let n = index / (2u * p.C * p.S);
  let rest = index % (2u * p.C * p.S);
  let second = rest >= p.C * p.S;
  let inHalf = rest % (p.C * p.S);
  let mine = X[index];
  let other = X[n * 2u * p.C * p.S + select(p.C * p.S, 0u, second) + inHalf];
  let g = G[n * p.C * p.S + inHalf];
  var d = g;
  if (mine == other) { d = 0.5 * g; }
  if (mine < other) { d = 0.0; }
  Out[index] = d;
}
