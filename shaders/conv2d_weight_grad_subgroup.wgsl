// conv2d weight gradient of a 1×1 stride-1 unpadded conv (conv2d_weight_grad_vec4.wgsl's pointwise
// geometry: OH == H, OW == W, H·W % 4 == 0) with GY's loads shared across a subgroup by
// subgroupBroadcast (needs the device feature 'subgroups' and subgroups of at least 8 lanes):
//   GW[co, ci] = Σ_{n, pixel} GY[n, co, pixel] · X[n, ci, pixel]
// X [N, Cin, H, W] and GY [N, Cout, H, W] read as vec4 along the pixels; split-K as the vec4
// kernels: workgroup z sums the pixel quads [z·kChunk, (z + 1)·kChunk) into Partial[z] of
// [splits, Cout, Cin]; the launcher adds the slices.
// Bindings: 0 params, 1 X (read, vec4), 2 GY (read, vec4), 3 Partial (write).
// Entry point pointwise: each invocation owns 8 output channels (from wid.y alone) x 4 input
//   channels; a workgroup of WGX invocations (override, a multiple of 8; WGY must be 1) spans the
//   input channels. Lane l of a subgroup loads GY's quad of channel co0 + (l % 8) and every lane
//   takes the 8 channels' quads by broadcast: per quad 1 load of GY and 4 of X serve 128
//   multiply-adds (pointwise with 4 channels: 8 loads per 64).
// Why: software Vulkan runs each storage load per lane (~10 instructions) even where every lane
//   reads the same address, and a broadcast from a constant lane is a register permute there.
// Uniform control flow throughout (subgroup operations need it): clamped channels compute
// duplicates that are not stored.
// Invariant: GW[co, ci] of every stored (co, ci) sums each pixel quad of the slice once.
enable subgroups;
//!include conv_geometry
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> X: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> GY: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> Partial: array<f32>;

override WGX: u32 = 64u;
override WGY: u32 = 1u;

/** acc += the 4 input channels' products with one output channel's quad g. */
fn dot4(g: vec4<f32>, x0: vec4<f32>, x1: vec4<f32>, x2: vec4<f32>, x3: vec4<f32>) -> vec4<f32> {
  return vec4<f32>(dot(g, x0), dot(g, x1), dot(g, x2), dot(g, x3));
}

@compute @workgroup_size(WGX, WGY)
fn pointwise(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>, @builtin(subgroup_invocation_id) lane: u32) {
  let co0 = wid.y * 8u;
  let ci0 = (wid.x * WGX + lid.x) * 4u;
  let planeQuads = (p.H * p.W) / 4u;
  let kStart = wid.z * p.kChunk;
  let kEnd = min(p.N * planeQuads, kStart + p.kChunk);
  let mine = min(co0 + lane % 8u, p.Cout - 1u) * planeQuads;
  let x = vec4<u32>(min(ci0, p.Cin - 1u), min(ci0 + 1u, p.Cin - 1u), min(ci0 + 2u, p.Cin - 1u), min(ci0 + 3u, p.Cin - 1u)) * planeQuads;
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  var acc4 = vec4<f32>(0.0);
  var acc5 = vec4<f32>(0.0);
  var acc6 = vec4<f32>(0.0);
  var acc7 = vec4<f32>(0.0);
  var n = kStart / planeQuads;
  var quad = kStart % planeQuads;
  for (var k = kStart; k < kEnd; k++) {
    let xBase = n * p.Cin * planeQuads + quad;
    let x0 = X[xBase + x.x];
    let x1 = X[xBase + x.y];
    let x2 = X[xBase + x.z];
    let x3 = X[xBase + x.w];
    let g = GY[n * p.Cout * planeQuads + quad + mine];
    acc0 += dot4(subgroupBroadcast(g, 0u), x0, x1, x2, x3);
    acc1 += dot4(subgroupBroadcast(g, 1u), x0, x1, x2, x3);
    acc2 += dot4(subgroupBroadcast(g, 2u), x0, x1, x2, x3);
    acc3 += dot4(subgroupBroadcast(g, 3u), x0, x1, x2, x3);
    acc4 += dot4(subgroupBroadcast(g, 4u), x0, x1, x2, x3);
    acc5 += dot4(subgroupBroadcast(g, 5u), x0, x1, x2, x3);
    acc6 += dot4(subgroupBroadcast(g, 6u), x0, x1, x2, x3);
    acc7 += dot4(subgroupBroadcast(g, 7u), x0, x1, x2, x3);
    quad++;
    if (quad == planeQuads) { quad = 0u; n++; }
  }
  let slice = wid.z * p.Cout * p.Cin;
  var rows = array<vec4<f32>, 8>(acc0, acc1, acc2, acc3, acc4, acc5, acc6, acc7);
  for (var r = 0u; r < 8u; r++) {
    let co = co0 + r;
    if (co >= p.Cout) { break; }
    for (var t = 0u; t < 4u; t++) {
      if (ci0 + t < p.Cin) { Partial[slice + co * p.Cin + ci0 + t] = rows[r][t]; }
    }
  }
}
