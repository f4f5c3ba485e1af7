// Batch / instance normalisation: input gradient for S % 4 == 0, norm_grad.wgsl's formulas with X,
// G and GX read and written as quads (vec4) of 4 consecutive values of one row (one access per lane
// instead of four; lavapipe pays per lane per access):
//   inputGradQuads (none / relu / leakyRelu / tanh): one quad of X per invocation.
//   inputGradMfmQuads (max-feature-map): one quad of the half-size G per invocation, which routes
//     it to both halves' quads of X (mask and G read once for the pair).
//   batch statistics (useBatchStats == 1), m = Nb·S values per group:
//     GX = Weight[c]·InvStd[g] / m · (m·dz - SumG[g] - x̂·SumGXhat[g]),  x̂ = (X - Mean)·InvStd
//   fixed (running) statistics: GX = dz·Weight[c]·InvStd[g].
// Bindings (norm_grad.wgsl's table): 0 params, 1 X, 2 Stats (Mean at g, InvStd at G + g),
//   3 Weight, 4 BiasOrMask (u32: the bias's bits for relu / leakyRelu / tanh, the mfm mask for
//   max-feature-map), 5 G, 6 SumG, 7 SumGXhat, 8 GX. 1-D grid over quads.
//!include norm_params
//!include operand
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> XQuads: array<vec4<Operand>>;
@group(0) @binding(2) var<storage, read> Stats: array<f32>;
@group(0) @binding(3) var<storage, read> Weight: array<f32>;
@group(0) @binding(4) var<storage, read> BiasOrMask: array<u32>;
@group(0) @binding(5) var<storage, read> GQuads: array<vec4<Operand>>;
@group(0) @binding(6) var<storage, read> SumG: array<f32>;
@group(0) @binding(7) var<storage, read> SumGXhat: array<f32>;
@group(0) @binding(8) var<storage, read_write> GXQuads: array<vec4<Operand>>;
override WG: u32 = 256;

//!include norm_activation
//!include norm_activation_derivative
//!include is_nan

/** What the input gradient of group g needs besides dz and X. */
struct GroupGrad { mean: f32, invStd: f32, weight: f32, scale: f32, sumG: f32, sumGXhat: f32, m: f32 }

fn groupGrad(g: u32) -> GroupGrad {
  var weight = 1.0;
  if (p.hasWeight == 1u) { weight = Weight[g % p.C]; }
  let invStd = Stats[p.G + g];
  var sumG = 0.0;
  var sumGXhat = 0.0;
  if (p.useBatchStats == 1u) {
    sumG = SumG[g];
    sumGXhat = SumGXhat[g];
  }
  return GroupGrad(Stats[g], invStd, weight, weight * invStd, sumG, sumGXhat, f32(p.Nb * p.S));
}

fn inputGradOf(dz: f32, xhat: f32, q: GroupGrad) -> f32 {
  if (p.useBatchStats == 0u) { return dz * q.scale; }
  return q.scale / q.m * (q.m * dz - q.sumG - xhat * q.sumGXhat);
}

@compute @workgroup_size(WG)
fn inputGradQuads(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let quad = gid.x + gid.y * nwg.x * WG;
  if (quad * 4u >= p.Nb * p.G * p.S) { return; }
  let g = (quad * 4u / p.S) % p.G;
  let q = groupGrad(g);
  var bias = 0.0;
  if (p.hasBias == 1u) { bias = bitcast<f32>(BiasOrMask[g % p.C]); }
  let x = vec4<f32>(XQuads[quad]);
  let gy = vec4<f32>(GQuads[quad]);
  var gx: vec4<f32>;
  for (var k = 0u; k < 4u; k++) {
    let xhat = (x[k] - q.mean) * q.invStd;
    var dz = gy[k];
    if (ACTIVATION != 0u) {
      var z = xhat * q.weight;
      if (p.hasBias == 1u) { z += bias; }
      dz = activationGradOf(gy[k], z);
    }
    gx[k] = inputGradOf(dz, xhat, q);
  }
  GXQuads[quad] = vec4<Operand>(gx);
}

@compute @workgroup_size(WG)
fn inputGradMfmQuads(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let quad = gid.x + gid.y * nwg.x * WG;
  let source = quad * 4u;
  let half = p.C / 2u;
  if (source >= p.Nb * p.G * p.S / 2u) { return; }
  let pair = mfmPairOf(source);
  // The pair's second channel is half further: its group too (G is a multiple of C).
  let firstQuad = pair.firstQuad;
  let secondQuad = firstQuad + half * p.S / 4u;
  let g = pair.firstRow % p.G;
  let qa = groupGrad(g);
  let qb = groupGrad(g + half);
  let xa = vec4<f32>(XQuads[firstQuad]);
  let xb = vec4<f32>(XQuads[secondQuad]);
  let gy = vec4<f32>(GQuads[quad]);
  var gxa: vec4<f32>;
  var gxb: vec4<f32>;
  for (var k = 0u; k < 4u; k++) {
    let m = BiasOrMask[source + k];
    gxa[k] = inputGradOf(mfmShare(m, 0u, gy[k]), (xa[k] - qa.mean) * qa.invStd, qa);
    gxb[k] = inputGradOf(mfmShare(m, 1u, gy[k]), (xb[k] - qb.mean) * qb.invStd, qb);
  }
  GXQuads[firstQuad] = vec4<Operand>(gxa);
  GXQuads[secondQuad] = vec4<Operand>(gxb);
}
