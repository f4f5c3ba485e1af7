// Shared by norm.wgsl, norm_apply.wgsl and norm_grad.wgsl: G groups of Nb·S values, element
// (n, g, s) at (n·G + g)·S + s, affine channel c = g % C; BatchNorm: G = C, Nb = N, S = H·W;
// InstanceNorm: G = N·C, Nb = 1.
struct Params {
  G: u32, Nb: u32, S: u32, C: u32,
  eps: f32, momentum: f32, hasWeight: u32, hasBias: u32,
  useBatchStats: u32, pad0: u32, pad1: u32, pad2: u32,
}
