// The reductions shared by norm.wgsl (single values, RUN 1) and norm_quads.wgsl (vec4 quads,
// RUN 4): stats, statsUpdate and gradSums (their formulas: norm.wgsl's header). The including file
// declares the bindings and the run loads — xRun(i) and gRun(i): X and G at i .. i + RUN - 1
// (components past RUN unused); mfmRun(sample, c, s): max-feature-map's dz for channel c at
// s .. s + RUN - 1 of that sample, from the half-size G through the mask.
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
      let x = xRun(cursorIndex(c, g));
      for (var k = 0u; k < RUN; k++) { acc += x[k]; }
    }
  }
  let mean = workgroupSum2(lid, acc, 0.0).x / f32(m);
  var dev = 0.0;
  if (valid) {
    for (var c = cursorStart(lid); c.n < p.Nb; cursorNext(&c)) {
      let x = xRun(cursorIndex(c, g));
      for (var k = 0u; k < RUN; k++) {
        let d = x[k] - mean;
        dev += d * d;
      }
    }
  }
  return vec2<f32>(mean, workgroupSum2(lid, dev, 0.0).x / f32(m));
}

/** Mean and InvStd = 1 / sqrt(biased var + eps) of group g from its (mean, var). */
fn storeStats(g: u32, mv: vec2<f32>) {
  Stats[g] = mv.x;
  Stats[p.G + g] = inverseSqrt(mv.y + p.eps);
}

@compute @workgroup_size(WG)
fn stats(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let g = wid.x + wid.y * nwg.x;
  let valid = g < p.G;
  let mv = groupStats(g, valid, lid.x);
  if (valid && lid.x == 0u) { storeStats(g, mv); }
}

@compute @workgroup_size(WG)
fn statsUpdate(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let g = wid.x + wid.y * nwg.x;
  let valid = g < p.G;
  let mv = groupStats(g, valid, lid.x);
  if (valid && lid.x == 0u) {
    storeStats(g, mv);
    let m = f32(p.Nb * p.S);
    RunMean[g] = (1.0 - p.momentum) * RunMean[g] + p.momentum * mv.x;
    RunVar[g] = (1.0 - p.momentum) * RunVar[g] + p.momentum * mv.y * m / (m - 1.0);
  }
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
      let x = xRun(i);
      // The run's output gradients: G itself, or through max-feature-map's mask (at the half-size source).
      var gy: vec4<f32>;
      if (ACTIVATION == ACTIVATION_MFM) {
        gy = mfmRun(cur.n * samplesPerEntry + firstSample, c, cur.q * RUN);
      } else {
        gy = gRun(i);
      }
      for (var k = 0u; k < RUN; k++) {
        let xhat = (x[k] - mean) * invStd;
        var dz = gy[k];
        if (ACTIVATION != 0u && ACTIVATION != ACTIVATION_MFM) {
          var z = xhat;
          if (p.hasWeight == 1u) { z = xhat * weight; }
          if (p.hasBias == 1u) { z += bias; }
          dz = activationGradOf(gy[k], z);
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
