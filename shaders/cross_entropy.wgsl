// cross_entropy: fused softmax cross-entropy over the class dimension, for logits viewed as
// [N, C, S] (S = product of spatial sizes, 1 for [N, C]) and class indices Targets [N, S] (f32).
// The target distribution is PyTorch's label smoothing: q_c = (1 - e) [c == t] + e / C.
//   forward:  Loss[n, s] = logsumexp_c x[n, c, s] - sum_c q_c x[n, c, s]  (classes with q_c = 0 left out)
//   backward: GradX[n, c, s] = G[n, s] * (softmax_c x[n, c, s] - q_c)
// One invocation per (n, s) row; logsumexp is taken around the row maximum (stable for any range).
// A target that is not an integer in [0, C) (negative, too large, fractional, NaN) is never
// truncated into some class: its row's loss is NaN and its gradient 0, and the forward pass
// reports it in Flags, which the host reads with the next read-back and raises as an error.
// Flags (zeroed before the forward pass): [0] how many targets are invalid; [1] rows - the first
// invalid row (atomicMax over zeros keeps the smallest row); [2] that target's f32 bits, written
// by `firstInvalid` (one invocation, dispatched after `main`); [3] 1 if any target is -100.
// Bindings: 0 params, 1 X (read), 2 Targets (read), 3 G (read; backward only, else unused),
//           4 Out (write: Loss [N, S] forward, GradX [N, C, S] backward),
//           5 Flags (read_write; forward only, else unused).
struct Params { rows: u32, classes: u32, inner: u32, backward: u32, smoothing: f32, zero: u32, pad1: u32, pad2: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> Targets: array<f32>;
@group(0) @binding(3) var<storage, read> G: array<f32>;
@group(0) @binding(4) var<storage, read_write> Out: array<f32>;
@group(0) @binding(5) var<storage, read_write> Flags: array<atomic<u32>>;
override WG: u32 = 256;

// PyTorch's ignore_index default; named in the error because webfer does not support it.
const IGNORE_INDEX = -100.0;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let row = gid.x + gid.y * nwg.x * WG;
  if (row >= p.rows) { return; }
  let n = row / p.inner;
  let s = row % p.inner;
  let base = n * p.classes * p.inner + s;
  let classIndex = Targets[row];
  // Written so that NaN fails it: every comparison with NaN is false.
  let valid = classIndex >= 0.0 && classIndex < f32(p.classes) && floor(classIndex) == classIndex;
  if (!valid) {
    if (p.backward == 0u) {
      atomicAdd(&Flags[0], 1u);
      atomicMax(&Flags[1], p.rows - row);
      if (classIndex == IGNORE_INDEX) { atomicStore(&Flags[3], 1u); }
      // A NaN made at run time (the compiler rejects a NaN constant); p.zero is 0.
      Out[row] = bitcast<f32>(0x7fc00000u | p.zero);
    } else {
      for (var c = 0u; c < p.classes; c++) { Out[base + c * p.inner] = 0.0; }
    }
    return;
  }
  let label = u32(classIndex);
  let off = p.smoothing / f32(p.classes);
  let on = 1.0 - p.smoothing + off;
  var m = X[base];
  for (var c = 1u; c < p.classes; c++) { m = max(m, X[base + c * p.inner]); }
  var total = 0.0;
  for (var c = 0u; c < p.classes; c++) { total += exp(X[base + c * p.inner] - m); }
  if (p.backward == 0u) {
    // A class of weight 0 is left out, not added as 0 · x: a masked logit of -inf would make the
    // loss NaN (0 · -inf), where PyTorch's loss reads only the target's log-probability.
    var expected = 0.0;
    for (var c = 0u; c < p.classes; c++) {
      let weight = select(off, on, c == label);
      if (weight != 0.0) { expected += weight * X[base + c * p.inner]; }
    }
    Out[row] = m + log(total) - expected;
    return;
  }
  let g = G[row];
  for (var c = 0u; c < p.classes; c++) {
    let i = base + c * p.inner;
    Out[i] = g * (exp(X[i] - m) / total - select(off, on, c == label));
  }
}

// Records the value of the first invalid target, found by `main`, for the error message.
@compute @workgroup_size(1)
fn firstInvalid() {
  let key = atomicLoad(&Flags[1]);
  if (key == 0u) { return; }
  atomicStore(&Flags[2], bitcast<u32>(Targets[p.rows - key]));
}
