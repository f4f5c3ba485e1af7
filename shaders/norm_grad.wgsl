// Batch / instance normalisation: input gradient (sums per group from norm.wgsl's gradSums), with
// the derivative of the fused activation folded in: dz = the gradient at the affine output z,
// from G through norm_activation_grad.wgsl (G itself without an activation; with max-feature-map
// G is the half-size output gradient, routed by the mask).
//   batch statistics (useBatchStats == 1), m = Nb·S values per group:
//     GX = Weight[c]·InvStd[g] / m · (m·dz - SumG[g] - x̂·SumGXhat[g]),  x̂ = (X - Mean)·InvStd
//   fixed (running) statistics: GX = dz·Weight[c]·InvStd[g].
// Bindings: 0 params, 1 X, 2 Stats (Mean at g, InvStd at G + g), 3 Weight, 4 BiasOrMask (u32:
//   the bias's bits for relu / leakyRelu / tanh, the mfm mask for max-feature-map; one slot, as
//   no activation reads both, keeps the table within 8 storage bindings), 5 G, 6 SumG,
//   7 SumGXhat, 8 GX. 1-D grid, RUN consecutive values of one row per invocation (norm_params.wgsl);
//   where S % 4 == 0 the launcher runs norm_grad_quads.wgsl instead (so here RUN is 1).
//!include norm_params
//!include operand
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> X: array<Operand>;
@group(0) @binding(2) var<storage, read> Stats: array<f32>;
@group(0) @binding(3) var<storage, read> Weight: array<f32>;
@group(0) @binding(4) var<storage, read> BiasOrMask: array<u32>;
@group(0) @binding(5) var<storage, read> G: array<Operand>;
@group(0) @binding(6) var<storage, read> SumG: array<f32>;
@group(0) @binding(7) var<storage, read> SumGXhat: array<f32>;
@group(0) @binding(8) var<storage, read_write> GX: array<Operand>;
override WG: u32 = 256;

//!include norm_activation
//!include norm_activation_derivative
//!include norm_activation_grad
//!include is_nan

fn maskAt(index: u32) -> u32 { return BiasOrMask[index]; }

@compute @workgroup_size(WG)
fn inputGrad(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let first = (gid.x + gid.y * nwg.x * WG) * RUN;
  if (first >= p.Nb * p.G * p.S) { return; }
  let row = first / p.S;
  let s = first - row * p.S;
  let g = row % p.G;
  let c = g % p.C;
  var weight = 1.0;
  if (p.hasWeight == 1u) { weight = Weight[c]; }
  var bias = 0.0;
  if (p.hasBias == 1u && ACTIVATION != ACTIVATION_MFM) { bias = bitcast<f32>(BiasOrMask[c]); }
  let mean = Stats[g];
  let invStd = Stats[p.G + g];
  let scale = weight * invStd;
  let m = f32(p.Nb * p.S);
  var sumG = 0.0;
  var sumGXhat = 0.0;
  if (p.useBatchStats == 1u) {
    sumG = SumG[g];
    sumGXhat = SumGXhat[g];
  }
  for (var k = 0u; k < RUN; k++) {
    let index = first + k;
    let xhat = (f32(X[index]) - mean) * invStd;
    var dz: f32;
    if (ACTIVATION == ACTIVATION_MFM) {
      dz = mfmGrad(row / p.C, c, s + k);
    } else if (ACTIVATION == 0u) {
      dz = f32(G[index]);
    } else {
      var z = xhat * weight;
      if (p.hasBias == 1u) { z += bias; }
      dz = activationGrad(index, z);
    }
    if (p.useBatchStats == 0u) {
      GX[index] = Operand(dz * scale);
    } else {
      GX[index] = Operand(scale / m * (m * dz - sumG - xhat * sumGXhat));
    }
  }
}
