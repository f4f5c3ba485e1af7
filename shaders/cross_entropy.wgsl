// cross_entropy: fused softmax cross-entropy over the class dimension, for logits viewed as
// [N, C, S] (S = product of spatial sizes, 1 for [N, C]) and class indices Targets [N, S] (f32).
// The target distribution is PyTorch's label smoothing: q_c = (1 - e) [c == t] + e / C.
//   forward:  Loss[n, s] = logsumexp_c x[n, c, s] - sum_c q_c x[n, c, s]
//   backward: GradX[n, c, s] = G[n, s] * (softmax_c x[n, c, s] - q_c)
// One invocation per (n, s) row; logsumexp is taken around the row maximum (stable for any range).
// Bindings: 0 params, 1 X (read), 2 Targets (read), 3 G (read; backward only, else unused),
//           4 Out (write: Loss [N, S] forward, GradX [N, C, S] backward).
struct Params { rows: u32, classes: u32, inner: u32, backward: u32, smoothing: f32, pad0: u32, pad1: u32, pad2: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> Targets: array<f32>;
@group(0) @binding(3) var<storage, read> G: array<f32>;
@group(0) @binding(4) var<storage, read_write> Out: array<f32>;
override WG: u32 = 256;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let row = gid.x + gid.y * nwg.x * WG;
  if (row >= p.rows) { return; }
  let n = row / p.inner;
  let s = row % p.inner;
  let base = n * p.classes * p.inner + s;
  let label = u32(Targets[row]);
  let off = p.smoothing / f32(p.classes);
  let on = 1.0 - p.smoothing + off;
  var m = X[base];
  for (var c = 1u; c < p.classes; c++) { m = max(m, X[base + c * p.inner]); }
  var total = 0.0;
  for (var c = 0u; c < p.classes; c++) { total += exp(X[base + c * p.inner] - m); }
  if (p.backward == 0u) {
    var expected = 0.0;
    for (var c = 0u; c < p.classes; c++) { expected += select(off, on, c == label) * X[base + c * p.inner]; }
    Out[row] = m + log(total) - expected;
    return;
  }
  let g = G[row];
  for (var c = 0u; c < p.classes; c++) {
    let i = base + c * p.inner;
    Out[i] = g * (exp(X[i] - m) / total - select(off, on, c == label));
  }
}
