// Shared by norm.wgsl, norm_apply.wgsl and norm_grad.wgsl: G groups of Nb·S values, element
// (n, g, s) at (n·G + g)·S + s, affine channel c = g % C; BatchNorm: G = C, Nb = N, S = H·W;
// InstanceNorm: G = N·C, Nb = 1. Stats [2G] holds Mean[g] at g and InvStd[g] at G + g.
// ACTIVATION (applied to z = x̂·Weight[c] + Bias[c]; an override, so each kind compiles its own
// pipeline without a run-time switch): 0 none, 1 relu, 2 leakyRelu (negativeSlope), 3 tanh,
// 4 max-feature-map over the channel halves (output [.., C/2, ..], gradient routed by a mask).
// RUN (an override): consecutive values of one row (n, g) an invocation takes at a time, working
// out its indices and reading the row's statistics and affine parameters once per run (integer
// division and scattered loads cost many instructions per lane on lavapipe): 4 where S % 4 == 0,
// in the _quads kernels, which read them as one vec4; 1 in norm.wgsl, norm_apply.wgsl and
// norm_grad.wgsl, which the launcher takes for the other sizes. RUN divides S: a run never crosses a row.
struct Params {
  G: u32, Nb: u32, S: u32, C: u32,
  eps: f32, momentum: f32, hasWeight: u32, hasBias: u32,
  useBatchStats: u32, negativeSlope: f32, writeMask: u32, pad0: u32,
}
override ACTIVATION: u32 = 0u;
override RUN: u32 = 1u;

/**
 * Max-feature-map over a norm's output (the quads kernels): half-size element `index` (of
 * [Nb, C/2, S], a multiple of 4) takes the max of the pair whose first channel's row of X is
 * firstRow and whose first quad is firstQuad; the second channel is C/2 rows further.
 */
struct MfmPair { firstRow: u32, firstQuad: u32 }

fn mfmPairOf(index: u32) -> MfmPair {
  let half = p.C / 2u;
  let row = index / p.S;
  let s = index - row * p.S;
  let sample = row / half;
  let firstRow = sample * p.C + row - sample * half;
  return MfmPair(firstRow, (firstRow * p.S + s) / 4u);
}
