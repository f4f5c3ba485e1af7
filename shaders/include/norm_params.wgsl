// Shared by norm.wgsl, norm_apply.wgsl and norm_grad.wgsl: G groups of Nb·S values, element
// (n, g, s) at (n·G + g)·S + s, affine channel c = g % C; BatchNorm: G = C, Nb = N, S = H·W;
// InstanceNorm: G = N·C, Nb = 1. Stats [2G] holds Mean[g] at g and InvStd[g] at G + g.
// ACTIVATION (applied to z = x̂·Weight[c] + Bias[c]; an override, so each kind compiles its own
// pipeline without a run-time switch): 0 none, 1 relu, 2 leakyRelu (negativeSlope), 3 tanh,
// 4 max-feature-map over the channel halves (output [.., C/2, ..], gradient routed by a mask).
// RUN (an override, 4 when S % 4 == 0, else 1): each invocation takes RUN consecutive values of one
// row (n, g) — RUN divides S, so a run never crosses a row — and reads the row's statistics and
// affine parameters and works out its indices once per run (integer division and scattered
// loads cost many instructions per lane on lavapipe).
struct Params {
  G: u32, Nb: u32, S: u32, C: u32,
  eps: f32, momentum: f32, hasWeight: u32, hasBias: u32,
  useBatchStats: u32, negativeSlope: f32, writeMask: u32, pad0: u32,
}
override ACTIVATION: u32 = 0u;
override RUN: u32 = 1u;
