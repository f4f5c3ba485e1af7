// grad_unscale_batched_quads: grad_unscale_batched.wgsl with a quad of four elements per invocation
// (the kernel policy's gradUnscaleWidth 'quads'): one vec4 load, test and store where the element
// kernel makes four lane-varying scalar ones (each a per-lane gather on lavapipe). Same multiply and
// check per element, so the same bits. Every element in range is tested; a gradient whose length
// is not a multiple of 4 ends in a partial quad whose components past the end (the buffer's slack,
// bound because bindings round up to 16 bytes) are neither tested nor changed: written back with
// their own bits. The launcher binds a gradient here only where its buffer holds that whole last
// quad (src/kernels/optim.ts); others go to the element kernel.
// Layout: slot k is a flat f32 array of counts[k] elements, bound as ceil(counts[k] / 4) quads and
// taken by whole workgroups of quads: workgroups [groupEnds[k-1], groupEnds[k]) run slot k (as in
// grad_unscale_batched.wgsl). An unused slot has count 0 and a 16-byte scratch buffer bound.
// Bindings: 0 params, 1 State (SCALER_WORDS; found written atomically, inverse read plainly),
// 2..8 G0..G6 (read_write, vec4). 8 storage buffers: a browser's per-stage limit.
// Non-finite by the bits: lavapipe folds v != v.
struct Params { counts: array<vec4<u32>, 2>, groupEnds: array<vec4<u32>, 2> }
struct ScalerState { scale: f32, inverse: f32, found: atomic<u32>, growthTracker: u32, skipped: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> State: ScalerState;
@group(0) @binding(2) var<storage, read_write> G0: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> G1: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> G2: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> G3: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read_write> G4: array<vec4<f32>>;
@group(0) @binding(7) var<storage, read_write> G5: array<vec4<f32>>;
@group(0) @binding(8) var<storage, read_write> G6: array<vec4<f32>>;
override WG: u32 = 256;
const SLOTS = 7u;

//!include batched_slot

/** g · inverse where inRange, found set by a ±inf / NaN there; components out of range keep their bits. */
fn unscaledQuad(g: vec4<f32>, inRange: vec4<bool>, inverse: f32) -> vec4<f32> {
  let nonFinite = (bitcast<vec4<u32>>(g) & vec4<u32>(0x7f800000u)) == vec4<u32>(0x7f800000u);
  if (any(nonFinite & inRange)) { atomicStore(&State.found, 1u); }
  return select(g, g * inverse, inRange);
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let at = batchedItem(lid, wid, nwg);
  let k = at.slot;
  let q = at.item;
  let count = at.count;
  if (!at.inside || 4u * q >= count) { return; }
  let inRange = 4u * q + vec4<u32>(0u, 1u, 2u, 3u) < vec4<u32>(count);
  let inverse = State.inverse;
  switch k {
    case 0u: { G0[q] = unscaledQuad(G0[q], inRange, inverse); }
    case 1u: { G1[q] = unscaledQuad(G1[q], inRange, inverse); }
    case 2u: { G2[q] = unscaledQuad(G2[q], inRange, inverse); }
    case 3u: { G3[q] = unscaledQuad(G3[q], inRange, inverse); }
    case 4u: { G4[q] = unscaledQuad(G4[q], inRange, inverse); }
    case 5u: { G5[q] = unscaledQuad(G5[q], inRange, inverse); }
    default: { G6[q] = unscaledQuad(G6[q], inRange, inverse); }
  }
}
