// unary: Y[i] = f(x) for an elementwise expression f spliced in at EXPR by the launcher.
// Layout: X and Y contiguous, `count` elements. The expression may read x, p.alpha and p.beta,
// and call isNan (by the bits: max / min / clamp may drop NaN, and lavapipe folds v != v).
// Bindings: 0 params (uniform), 1 X (read), 2 Y (write).
// Grid: one invocation per element; the 1-D range is folded into x and y workgroup ids.
struct Params { count: u32, alpha: f32, beta: f32, seed: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;
override WG: u32 = 256;

//!include pow
//!include is_nan

// Stateless per-element random number in [0, 1) (PCG hash of index and seed): dropout masks
// depend only on (seed, index), so they are reproducible and need no state buffer.
fn uniform01(index: u32, seed: u32) -> f32 {
  var state = index * 747796405u + seed * 2891336453u + 1u;
  state = state * 747796405u + 2891336453u;
  var word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
  word = (word >> 22u) ^ word;
  return f32(word >> 8u) * (1.0 / 16777216.0);
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.count) { return; }
  let x = X[i];
  Y[i] = /*EXPR*/;
}
