// Batch / instance normalisation: input gradient (sums per group from norm.wgsl's gradSums).
//   batch statistics (useBatchStats == 1), m = Nb·S values per group:
//     GX = Weight[c]·InvStd[g] / m · (m·G - SumG[g] - x̂·SumGXhat[g]),  x̂ = (X - Mean)·InvStd
//   fixed (running) statistics: GX = G·Weight[c]·InvStd[g].
// Bindings: 0 params, 1 X, 2 Mean, 3 InvStd, 4 Weight, 5 G, 6 SumG, 7 SumGXhat, 8 GX. 1-D grid.
//!include norm_params
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> Mean: array<f32>;
@group(0) @binding(3) var<storage, read> InvStd: array<f32>;
@group(0) @binding(4) var<storage, read> Weight: array<f32>;
@group(0) @binding(5) var<storage, read> G: array<f32>;
@group(0) @binding(6) var<storage, read> SumG: array<f32>;
@group(0) @binding(7) var<storage, read> SumGXhat: array<f32>;
@group(0) @binding(8) var<storage, read_write> GX: array<f32>;
override WG: u32 = 256;

fn weightOf(c: u32) -> f32 {
  if (p.hasWeight == 1u) { return Weight[c]; }
  return 1.0;
}

@compute @workgroup_size(WG)
fn inputGrad(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let index = gid.x + gid.y * nwg.x * WG;
  if (index >= p.Nb * p.G * p.S) { return; }
  let g = (index / p.S) % p.G;
  let scale = weightOf(g % p.C) * InvStd[g];
  if (p.useBatchStats == 0u) {
    GX[index] = G[index] * scale;
    return;
  }
  let m = f32(p.Nb * p.S);
  let xhat = (X[index] - Mean[g]) * InvStd[g];
  GX[index] = scale / m * (m * G[index] - SumG[g] - xhat * SumGXhat[g]);
}
