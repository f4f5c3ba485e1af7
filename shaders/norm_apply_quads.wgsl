// Batch / instance normalisation, elementwise half of the forward, for S % 4 == 0: norm_apply.wgsl's
// kernels with X, Y and Mask read and written as quads (vec4) of 4 consecutive values of one row
// (one load or store per lane instead of four; lavapipe pays per lane per access).
//   normalizeQuads: norm_apply.wgsl's normalize, one quad of Y per invocation.
//   normalizeMfmQuads: norm_apply.wgsl's normalizeMfm, one quad of Y (and Mask) per invocation.
// Bindings: 0 params, 1 X, 2 Stats (Mean at g, InvStd at G + g), 3 Weight, 4 Bias, 5 Y, 6 Mask
//   (write; with writeMask only, else a placeholder), the table of norm_apply.wgsl. 1-D grid over quads of Y.
//!include norm_params
//!include operand
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> XQuads: array<vec4<Operand>>;
@group(0) @binding(2) var<storage, read> Stats: array<f32>;
@group(0) @binding(3) var<storage, read> Weight: array<f32>;
@group(0) @binding(4) var<storage, read> Bias: array<f32>;
@group(0) @binding(5) var<storage, read_write> YQuads: array<vec4<Operand>>;
@group(0) @binding(6) var<storage, read_write> MaskQuads: array<vec4<u32>>;
override WG: u32 = 256;

//!include norm_activation
//!include is_nan
//!include norm_affine

@compute @workgroup_size(WG)
fn normalizeQuads(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let quad = gid.x + gid.y * nwg.x * WG;
  if (quad * 4u >= p.Nb * p.G * p.S) { return; }
  let a = affineOf((quad * 4u / p.S) % p.G);
  let x = vec4<f32>(XQuads[quad]);
  YQuads[quad] = vec4<Operand>(vec4<f32>(activate(normalized(x.x, a)), activate(normalized(x.y, a)), activate(normalized(x.z, a)), activate(normalized(x.w, a))));
}

@compute @workgroup_size(WG)
fn normalizeMfmQuads(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let quad = gid.x + gid.y * nwg.x * WG;
  let index = quad * 4u;
  let half = p.C / 2u;
  if (index >= p.Nb * p.G * p.S / 2u) { return; }
  let pair = mfmPairOf(index);
  let first = pair.firstQuad;
  let g = pair.firstRow % p.G;
  let affineA = affineOf(g);
  let affineB = affineOf(g + half);
  let xa = vec4<f32>(XQuads[first]);
  let xb = vec4<f32>(XQuads[first + half * p.S / 4u]);
  var y: vec4<f32>;
  var mask: vec4<u32>;
  for (var k = 0u; k < 4u; k++) {
    let a = normalized(xa[k], affineA);
    let b = normalized(xb[k], affineB);
    let nan = isNan(a) || isNan(b);
    y[k] = select(max(a, b), a + b, nan);
    mask[k] = select(select(select(7u, 2u, a < b), 1u, a > b), 3u, nan);
  }
  YQuads[quad] = vec4<Operand>(y);
  if (p.writeMask == 1u) { MaskQuads[quad] = mask; }
}
