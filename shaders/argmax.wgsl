// argmax: for X viewed as [outer, R, inner], Values[o, i] = max_r X[o, r, i] and
// Indices[o, i] = the first r attaining it (PyTorch's tie rule). NaN wins, like torch.max: the
// first NaN, tested by the bits and before any comparison (lavapipe folds v != v to false).
// Bindings: 0 params, 1 X (read), 2 Values (write), 3 Indices (write; f32, exact below 2^24).
struct Params { outer: u32, reduced: u32, inner: u32, pad0: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read_write> Values: array<f32>;
@group(0) @binding(3) var<storage, read_write> Indices: array<f32>;
override WG: u32 = 256;

//!include is_nan

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let index = gid.x + gid.y * nwg.x * WG;
  if (index >= p.outer * p.inner) { return; }
  let o = index / p.inner;
  let i = index % p.inner;
  let base = o * p.reduced * p.inner + i;
  var best = X[base];
  var bestIndex = 0u;
  for (var r = 1u; r < p.reduced; r++) {
    let v = X[base + r * p.inner];
    // Once best is NaN nothing replaces it, whatever a comparison with NaN gives on this driver.
    let take = !isNan(best) && (v > best || isNan(v));
    best = select(best, v, take);
    bestIndex = select(bestIndex, r, take);
  }
  Values[index] = best;
  Indices[index] = f32(bestIndex);
}
