// Batch / instance normalisation, elementwise half of the forward (statistics: norm.wgsl, same
// group layout: element (n, g, s) at (n·G + g)·S + s, affine channel c = g % C), with the
// activation that follows it fused (ACTIVATION, shaders/include/norm_activation.wgsl):
//   normalize:    Y = act(z),  z = (X - Mean[g])·InvStd[g]·Weight[c] + Bias[c]  (Weight 1 / Bias 0 when absent)
//   normalizeMfm: Y [.., C/2, S] = max(z[.., c, s], z[.., C/2 + c, s]) (torch.maximum: NaN propagates),
//                 and with writeMask the gradient routing Mask [.., C/2, S] (u32) as conv2d's fused
//                 mfm writes it: bit 0 first half, bit 1 second half, bit 2 a tie (each half gets half).
// Bindings: 0 params, 1 X, 2 Stats (Mean at g, InvStd at G + g), 3 Weight, 4 Bias, 5 Y, 6 Mask
//   (write; normalizeMfm with writeMask only, else a placeholder). 1-D grids over Y, RUN
//   consecutive outputs of one row per invocation (norm_params.wgsl). Where S % 4 == 0 the
//   launcher runs norm_apply_quads.wgsl instead (so here RUN is 1).
//!include norm_params
//!include operand
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> X: array<Operand>;
@group(0) @binding(2) var<storage, read> Stats: array<f32>;
@group(0) @binding(3) var<storage, read> Weight: array<f32>;
@group(0) @binding(4) var<storage, read> Bias: array<f32>;
@group(0) @binding(5) var<storage, read_write> Y: array<Operand>;
@group(0) @binding(6) var<storage, read_write> Mask: array<u32>;
override WG: u32 = 256;

//!include norm_activation
//!include is_nan

//!include norm_affine

@compute @workgroup_size(WG)
fn normalize(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let first = (gid.x + gid.y * nwg.x * WG) * RUN;
  if (first >= p.Nb * p.G * p.S) { return; }
  let a = affineOf((first / p.S) % p.G);
  for (var k = 0u; k < RUN; k++) { Y[first + k] = Operand(activate(normalized(f32(X[first + k]), a))); }
}

@compute @workgroup_size(WG)
fn normalizeMfm(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let index = (gid.x + gid.y * nwg.x * WG) * RUN;
  let half = p.C / 2u;
  if (index >= p.Nb * p.G * p.S / 2u) { return; }
  let row = index / p.S;
  let s = index - row * p.S;
  let sample = row / half;
  let firstRow = sample * p.C + row - sample * half;
  let first = firstRow * p.S + s;
  // The pair's second channel is half further: its group too (G is a multiple of C).
  let g = firstRow % p.G;
  let affineA = affineOf(g);
  let affineB = affineOf(g + half);
  for (var k = 0u; k < RUN; k++) {
    let a = normalized(f32(X[first + k]), affineA);
    let b = normalized(f32(X[first + half * p.S + k]), affineB);
    let nan = isNan(a) || isNan(b);
    var y = max(a, b);
    if (nan) { y = a + b; }  // NaN in, NaN out (WGSL's max may drop NaN)
    Y[index + k] = Operand(y);
    if (p.writeMask == 1u) {
      var m = 3u;  // NaN: both halves take the gradient, as torch.maximum's backward
      if (!nan) { m = select(select(7u, 2u, a < b), 1u, a > b); }
      Mask[index + k] = m;
    }
  }
}
