// softmax / log_softmax along one dimension: X viewed as [outer, R, inner]; one invocation per
// (outer, inner) line, three passes over R (max, sum of exp(x - max), write) — numerically
// stable for any input range. The output form is spliced in at OUTPUT:
//   softmax: exp(x - m) / s        log_softmax: x - m - log(s)
// Bindings: 0 params, 1 X (read), 2 Y (write, same shape as X).
struct Params { outer: u32, reduced: u32, inner: u32, pad0: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;
override WG: u32 = 256;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let index = gid.x + gid.y * nwg.x * WG;
  if (index >= p.outer * p.inner) { return; }
  let o = index / p.inner;
  let i = index % p.inner;
  let base = o * p.reduced * p.inner + i;
  var m = X[base];
  for (var r = 1u; r < p.reduced; r++) { m = max(m, X[base + r * p.inner]); }
  var s = 0.0;
  for (var r = 0u; r < p.reduced; r++) { s += exp(X[base + r * p.inner] - m); }
  for (var r = 0u; r < p.reduced; r++) {
    let x = X[base + r * p.inner];
    Y[base + r * p.inner] = /*OUTPUT*/;
  }
}
