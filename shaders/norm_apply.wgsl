// Batch / instance normalisation, elementwise half of the forward (statistics: norm.wgsl, same
// group layout: element (n, g, s) at (n·G + g)·S + s, affine channel c = g % C):
//   Y = (X - Mean[g])·InvStd[g]·Weight[c] + Bias[c]   (Weight 1 / Bias 0 when absent)
// Bindings: 0 params, 1 X, 2 Mean, 3 InvStd, 4 Weight, 5 Bias, 6 Y. 1-D grid.
//!include norm_params
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> Mean: array<f32>;
@group(0) @binding(3) var<storage, read> InvStd: array<f32>;
@group(0) @binding(4) var<storage, read> Weight: array<f32>;
@group(0) @binding(5) var<storage, read> Bias: array<f32>;
@group(0) @binding(6) var<storage, read_write> Y: array<f32>;
override WG: u32 = 256;

fn weightOf(c: u32) -> f32 {
  if (p.hasWeight == 1u) { return Weight[c]; }
  return 1.0;
}

@compute @workgroup_size(WG)
fn normalize(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let index = gid.x + gid.y * nwg.x * WG;
  if (index >= p.Nb * p.G * p.S) { return; }
  let g = (index / p.S) % p.G;
  let c = g % p.C;
  var shift = 0.0;
  if (p.hasBias == 1u) { shift = Bias[c]; }
  Y[index] = (X[index] - Mean[g]) * InvStd[g] * weightOf(c) + shift;
}
