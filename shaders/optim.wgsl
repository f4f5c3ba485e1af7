// optim: in-place optimizer updates, one dispatch per parameter tensor (torch.optim formulas).
// p.algorithm selects the update (uniform across the dispatch, so the branch costs nothing):
//
//   0 sgd          d = g + wd·p;                                  p -= lr·d          (momentum = 0)
//   0 sgd          d = g + wd·p; buf = first ? d : μ·buf + (1-τ)·d;
//                  d = nesterov ? d + μ·buf : buf;                p -= lr·d
//   1 adam         d = g + wd·p; m = β1·m + (1-β1)·d; v = β2·v + (1-β2)·d²   (m = v = 0 before the first step)
//                  p -= stepSize · m / (sqrt(v) / bc2Sqrt + eps)
//                  where stepSize = lr / (1 - β1^t) and bc2Sqrt = sqrt(1 - β2^t), computed on the host in f64.
//
// Skipped by the GPU: nothing is written when word p.skipWord of Skip is nonzero (a loss scaler's
// inf / NaN flag, set by grad_unscale_batched.wgsl over the whole step's gradients before any update
// runs: torch's rule that a step with a non-finite gradient updates no parameter). Updates without a
// scaler bind a zeroed word there.
// Layout: every buffer is a flat f32 array of `count` elements (the parameter's storage).
// Bindings: 0 params, 1 P (read_write, the parameter), 2 G (read, its gradient),
//           3 S1 (read_write: momentum buffer / Adam exp_avg), 4 S2 (read_write: Adam exp_avg_sq),
//           5 Skip (read, u32 words).
// One entry point with every binding in use, so layouts are the same whether derived by the
// driver or declared; an update that keeps less state gets distinct 16-byte scratch buffers there.
// Invariant: one invocation owns element i of every buffer, so the in-place update has no races;
// on the first step the state buffers are written before they are read, so their initial
// contents (pool memory) never matter.
struct Params {
  count: u32,
  algorithm: u32,  // 0 sgd, 1 adam
  first: u32,      // 1 on a parameter's first step: state buffers start from their defined value
  nesterov: u32,
  lr: f32,
  weightDecay: f32,
  momentum: f32,
  dampening: f32,
  beta1: f32,
  beta2: f32,
  eps: f32,
  stepSize: f32,
  bc2Sqrt: f32,
  skipWord: u32,
  pad1: u32,
  pad2: u32,
}
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> P: array<f32>;
@group(0) @binding(2) var<storage, read> G: array<f32>;
@group(0) @binding(3) var<storage, read_write> S1: array<f32>;
@group(0) @binding(4) var<storage, read_write> S2: array<f32>;
@group(0) @binding(5) var<storage, read> Skip: array<u32>;
override WG: u32 = 256;

fn sgd(i: u32) {
  let w = P[i];
  var d = G[i] + p.weightDecay * w;
  if (p.momentum != 0.0) {
    var buf = d;
    if (p.first == 0u) { buf = p.momentum * S1[i] + (1.0 - p.dampening) * d; }
    S1[i] = buf;
    if (p.nesterov != 0u) { d = d + p.momentum * buf; } else { d = buf; }
  }
  P[i] = w - p.lr * d;
}

fn adam(i: u32) {
  let w = P[i];
  let d = G[i] + p.weightDecay * w;
  var m = (1.0 - p.beta1) * d;
  var v = (1.0 - p.beta2) * d * d;
  if (p.first == 0u) {
    m = m + p.beta1 * S1[i];
    v = v + p.beta2 * S2[i];
  }
  S1[i] = m;
  S2[i] = v;
  P[i] = w - p.stepSize * m / (sqrt(v) / p.bc2Sqrt + p.eps);
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.count || Skip[p.skipWord] != 0u) { return; }
  if (p.algorithm == 0u) { sgd(i); } else { adam(i); }
}
