// Batch and instance normalisation over "groups" of values: group g holds X[n, g, s] for n < Nb,
// s < S at (n·G + g)·S + s. BatchNorm: G = C, Nb = N, S = H·W. InstanceNorm: G = N·C, Nb = 1.
// The affine weight / bias of group g is entry g % C. Stats [2G]: Mean[g] at g, InvStd[g] at G + g.
//   stats / statsUpdate: one workgroup per group, WG lanes (the policy's normReductionLanes) stride
//       over its Nb·S values in runs of RUN, tree reductions in workgroup memory; two passes (mean,
//       then Σ (x - mean)²) for accuracy. This file takes S % 4 != 0 (RUN 1, single values);
//       norm_quads.wgsl the rest (RUN 4, vec4 loads). Their shared code: include/norm_reduce.wgsl.
//       Writes Mean and InvStd = 1 / sqrt(biased var + eps). statsUpdate also updates the running
//       estimates in place: RunMean ← (1 - momentum)·RunMean + momentum·mean,
//       RunVar ← (1 - momentum)·RunVar + momentum·var·m / (m - 1) (unbiased, m = Nb·S), like PyTorch.
//   statsFromRunning: eval mode, Mean = RunMean, InvStd = 1 / sqrt(RunVar + eps); 1-D grid over G.
//   gradSums: per group SumG = Σ dz and SumGXhat = Σ dz·x̂ (x̂ = (X - Mean)·InvStd), dz the
//       gradient at the affine output z, read from G through the fused activation's derivative
//       (norm_activation_grad.wgsl; G itself without one). These are the bias and weight
//       gradients, and the two sums the training-mode input gradient needs.
// (normalize and inputGrad are elementwise: norm_apply.wgsl, norm_grad.wgsl and their _quads files.)
// Bindings, one table (0: params): 1 X, 2 G, 3 RunMean / Weight, 4 RunVar / Bias, 5 Mask (u32),
//   6 Stats, 7 SumG, 8 SumGXhat — stats: [X, -, scratch, scratch, -, Stats, scratch, scratch] ·
//   statsUpdate and statsFromRunning: [X or -, -, RunMean, RunVar, -, Stats, scratch, scratch] ·
//   gradSums: [X, G, Weight, Bias, Mask, Stats, SumG, SumGXhat] ("-": a placeholder). Slots 3 and
//   4 are read_write for the running estimates; gradSums only reads them.
// Groups beyond 65535 fold into y: g = wid.x + wid.y · nwg.x.
//!include norm_params
//!include operand
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> X: array<Operand>;
@group(0) @binding(2) var<storage, read> G: array<Operand>;
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

/** X, G and the mfm gradient at value i (RUN is 1 here: the launcher takes norm_quads.wgsl where S % 4 == 0). */
fn xRun(i: u32) -> vec4<f32> { return vec4<f32>(f32(X[i]), 0.0, 0.0, 0.0); }
fn gRun(i: u32) -> vec4<f32> { return vec4<f32>(f32(G[i]), 0.0, 0.0, 0.0); }
fn mfmRun(sample: u32, c: u32, s: u32) -> vec4<f32> { return vec4<f32>(mfmGrad(sample, c, s), 0.0, 0.0, 0.0); }

//!include norm_reduce

@compute @workgroup_size(WG)
fn statsFromRunning(@builtin(global_invocation_id) gid: vec3<u32>) {
  let g = gid.x;
  if (g >= p.G) { return; }
  Stats[g] = RunMean[g];
  Stats[p.G + g] = inverseSqrt(RunVar[g] + p.eps);
}
