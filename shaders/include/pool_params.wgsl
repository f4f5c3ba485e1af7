// The parameters of pool.wgsl's and pool_quads.wgsl's kernels (src/kernels/pool.ts packs them): planes
// P = N·C of H x W → OH x OW, the window, stride, padding, dilation, and the average pool's divisor rules.
struct Params {
  planes: u32, H: u32, W: u32, OH: u32,
  OW: u32, KH: u32, KW: u32, SH: u32,
  SW: u32, PH: i32, PW: i32, DH: u32,
  DW: u32, countIncludePad: u32, divisorOverride: f32, pad0: u32,
}
