// Batch and instance normalisation over "groups" of values: group g holds X[n, g, s] for n < Nb,
// s < S at (n·G + g)·S + s. BatchNorm: G = C, Nb = N, S = H·W. InstanceNorm: G = N·C, Nb = 1.
// The affine weight / bias of group g is entry g % C. Stats [2G]: Mean[g] at g, InvStd[g] at G + g.
//   stats / statsUpdate: one workgroup per group, WG threads stride over its Nb·S values in runs of
//       RUN (norm_params.wgsl), tree reductions in workgroup memory; two passes (mean, then
//       Σ (x - mean)²) for accuracy.
//       Writes Mean and InvStd = 1 / sqrt(biased var + eps). statsUpdate also updates the running
//       estimates in place: RunMean ← (1 - momentum)·RunMean + momentum·mean,
//       RunVar ← (1 - momentum)·RunVar + momentum·var·m / (m - 1) (unbiased, m = Nb·S), like PyTorch.
//   statsFromRunning: eval mode, Mean = RunMean, InvStd = 1 / sqrt(RunVar + eps); 1-D grid over G.
//   gradSums: per group SumG = Σ dz and SumGXhat = Σ dz·x̂ (x̂ = (X - Mean)·InvStd), dz the
//       gradient at the affine output z, read from G through the fused activation's derivative
//       (norm_activation_grad.wgsl; G itself without one). These are the bias and weight
//       gradients, and the two sums the training-mode input gradient needs.
// (normalize and inputGrad are elementwise: norm_apply.wgsl, norm_grad.wgsl.)
// Bindings, one table (0: params): 1 X, 2 G, 3 RunMean / Weight, 4 RunVar / Bias, 5 Mask (u32),
//   6 Stats, 7 SumG, 8 SumGXhat — stats: [X, -, scratch, scratch, -, Stats, scratch, scratch] ·
//   statsUpdate and statsFromRunning: [X or -, -, RunMean, RunVar, -, Stats, scratch, scratch] ·
//   gradSums: [X, G, Weight, Bias, Mask, Stats, SumG, SumGXhat] ("-": a placeholder). Slots 3 and
//   4 are read_write for the running estimates; gradSums only reads them.
// Groups beyond 65535 fold into y: g = wid.x + wid.y · nwg.x.
//!include norm_params
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> G: array<f32>;
@group(0) @binding(3) var<storage, read_write> RunMean: array<f32>;
@group(0) @binding(4) var<storage, read_write> RunVar: array<f32>;
@group(0) @binding(5) var<storage, read> Mask: array<u32>;
@group(0) @binding(6) var<storage, read_write> Stats: array<f32>;
@group(0) @binding(7) var<storage, read_write> SumG: array<f32>;
@group(0) @binding(8) var<storage, read_write> SumGXhat: array<f32>;

//!include norm_activation
//!include norm_activation_derivative
//!include norm_activation_grad
//!include is_nan

fn maskAt(index: u32) -> u32 { return Mask[index]; }

// Lanes per workgroup (the launcher's policy choice normReductionLanes, a power of 2).
override WG: u32 = 256u;

var<workgroup> partialA: array<f32, WG>;
var<workgroup> partialB: array<f32, WG>;

/** Sums a and b over the workgroup; every invocation gets the totals. */
fn workgroupSum2(lid: u32, a: f32, b: f32) -> vec2<f32> {
  workgroupBarrier();
  partialA[lid] = a;
  partialB[lid] = b;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) {
      partialA[lid] += partialA[lid + s];
      partialB[lid] += partialB[lid + s];
    }
    workgroupBarrier();
  }
  return vec2<f32>(partialA[0], partialB[0]);
}

/**
 * Where an invocation stands in its group's rows: run q (values q·RUN ..) of row n. Invocation lid
 * starts at run lid of the group's Nb·S/RUN runs and steps WG runs at a time; the step is split
 * into whole rows and runs once, so the loop divides nothing.
 */
struct Cursor { n: u32, q: u32, stepRows: u32, stepRuns: u32, runsPerRow: u32 }

fn cursorStart(lid: u32) -> Cursor {
  let runsPerRow = p.S / RUN;
  let n = lid / runsPerRow;
  return Cursor(n, lid - n * runsPerRow, WG / runsPerRow, WG % runsPerRow, runsPerRow);
}

fn cursorNext(c: ptr<function, Cursor>) {
  (*c).q += (*c).stepRuns;
  (*c).n += (*c).stepRows;
  if ((*c).q >= (*c).runsPerRow) {
    (*c).q -= (*c).runsPerRow;
    (*c).n += 1u;
  }
}

/** Index of the cursor's first value in group g. */
fn cursorIndex(c: Cursor, g: u32) -> u32 {
  return (c.n * p.G + g) * p.S + c.q * RUN;
}

/** Mean and biased variance of group g (two passes: the mean, then Σ (x - mean)²). */
fn groupStats(g: u32, valid: bool, lid: u32) -> vec2<f32> {
  let m = p.Nb * p.S;
  var acc = 0.0;
  if (valid) {
    for (var c = cursorStart(lid); c.n < p.Nb; cursorNext(&c)) {
      let i = cursorIndex(c, g);
      for (var k = 0u; k < RUN; k++) { acc += X[i + k]; }
    }
  }
  let mean = workgroupSum2(lid, acc, 0.0).x / f32(m);
  var dev = 0.0;
  if (valid) {
    for (var c = cursorStart(lid); c.n < p.Nb; cursorNext(&c)) {
      let i = cursorIndex(c, g);
      for (var k = 0u; k < RUN; k++) {
        let d = X[i + k] - mean;
        dev += d * d;
      }
    }
  }
  return vec2<f32>(mean, workgroupSum2(lid, dev, 0.0).x / f32(m));
}

@compute @workgroup_size(WG)
fn stats(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let g = wid.x + wid.y * nwg.x;
  let valid = g < p.G;
  let mv = groupStats(g, valid, lid.x);
  if (valid && lid.x == 0u) {
    Stats[g] = mv.x;
    Stats[p.G + g] = inverseSqrt(mv.y + p.eps);
  }
}

@compute @workgroup_size(WG)
fn statsUpdate(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let g = wid.x + wid.y * nwg.x;
  let valid = g < p.G;
  let mv = groupStats(g, valid, lid.x);
  if (valid && lid.x == 0u) {
    Stats[g] = mv.x;
    Stats[p.G + g] = inverseSqrt(mv.y + p.eps);
    let m = f32(p.Nb * p.S);
    RunMean[g] = (1.0 - p.momentum) * RunMean[g] + p.momentum * mv.x;
    RunVar[g] = (1.0 - p.momentum) * RunVar[g] + p.momentum * mv.y * m / (m - 1.0);
  }
}

@compute @workgroup_size(WG)
fn statsFromRunning(@builtin(global_invocation_id) gid: vec3<u32>) {
  let g = gid.x;
  if (g >= p.G) { return; }
  Stats[g] = RunMean[g];
  Stats[p.G + g] = inverseSqrt(RunVar[g] + p.eps);
}

@compute @workgroup_size(WG)
fn gradSums(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let g = wid.x + wid.y * nwg.x;
  let valid = g < p.G;
  var sumG = 0.0;
  var sumGXhat = 0.0;
  if (valid) {
    let mean = Stats[g];
    let invStd = Stats[p.G + g];
    let c = g % p.C;
    // z = x̂·weight + bias for the activations' derivatives (slots 3 / 4 are Weight / Bias here).
    var weight = 1.0;
    if (p.hasWeight == 1u) { weight = RunMean[c]; }
    var bias = 0.0;
    if (p.hasBias == 1u) { bias = RunVar[c]; }
    // Max-feature-map: row n of group g is sample n·G/C + g/C, channel c (G is a multiple of C).
    let samplesPerEntry = p.G / p.C;
    let firstSample = g / p.C;
    for (var cur = cursorStart(lid.x); cur.n < p.Nb; cursorNext(&cur)) {
      let i = cursorIndex(cur, g);
      for (var k = 0u; k < RUN; k++) {
        let xhat = (X[i + k] - mean) * invStd;
        var dz: f32;
        if (ACTIVATION == ACTIVATION_MFM) {
          dz = mfmGrad(cur.n * samplesPerEntry + firstSample, c, cur.q * RUN + k);
        } else if (ACTIVATION == 0u) {
          dz = G[i + k];
        } else {
          var z = xhat;
          if (p.hasWeight == 1u) { z = xhat * weight; }
          if (p.hasBias == 1u) { z += bias; }
          dz = activationGrad(i + k, z);
        }
        sumG += dz;
        sumGXhat += dz * xhat;
      }
    }
  }
  let sums = workgroupSum2(lid.x, sumG, sumGXhat);
  if (valid && lid.x == 0u) {
    SumG[g] = sums.x;
    SumGXhat[g] = sums.y;
  }
}
