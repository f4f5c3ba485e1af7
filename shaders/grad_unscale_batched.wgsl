// grad_unscale_batched: up to SLOTS (7) loss-scaled gradients back to scale 1 in one dispatch,
// G_k[i] *= inverse, and the scaler state's Found word set to 1 where any element is ±inf or NaN
// (torch's _amp_foreach_non_finite_check_and_unscale_ over a list). The same multiply and check as
// grad_unscale.wgsl, so the gradients come out with the same bits; the inverse scale is read from
// the scaler's state on the GPU (grad_scale_update.wgsl keeps it), so no host value is needed.
// Layout: slot k is a flat f32 array of counts[k] elements, taken by whole workgroups: workgroups
// [groupEnds[k-1], groupEnds[k]) (running sums of ceil(counts[k] / WG)) run slot k, so a workgroup's
// slot is one value for all its lanes (lavapipe then runs one case of the switch, not all seven
// under masks). An unused slot has count 0 and a 16-byte scratch buffer bound.
// Bindings: 0 params, 1 State (the scaler's words as src/kernels/optim.ts's SCALER_WORDS; found
// written atomically, inverse read plainly), 2..8 G0..G6 (read_write). 8 storage buffers: a
// browser's per-stage limit.
// Non-finite by the bits: lavapipe folds v != v.
struct Params { counts: array<vec4<u32>, 2>, groupEnds: array<vec4<u32>, 2> }
struct ScalerState { scale: f32, inverse: f32, found: atomic<u32>, growthTracker: u32, skipped: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> State: ScalerState;
@group(0) @binding(2) var<storage, read_write> G0: array<f32>;
@group(0) @binding(3) var<storage, read_write> G1: array<f32>;
@group(0) @binding(4) var<storage, read_write> G2: array<f32>;
@group(0) @binding(5) var<storage, read_write> G3: array<f32>;
@group(0) @binding(6) var<storage, read_write> G4: array<f32>;
@group(0) @binding(7) var<storage, read_write> G5: array<f32>;
@group(0) @binding(8) var<storage, read_write> G6: array<f32>;
override WG: u32 = 256;
const SLOTS = 7u;

//!include batched_slot

fn unscaled(g: f32, inverse: f32) -> f32 {
  if ((bitcast<u32>(g) & 0x7f800000u) == 0x7f800000u) { atomicStore(&State.found, 1u); }
  return g * inverse;
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let at = batchedItem(lid, wid, nwg);
  let k = at.slot;
  let j = at.item;
  if (!at.inside || j >= at.count) { return; }
  let inverse = State.inverse;
  switch k {
    case 0u: { G0[j] = unscaled(G0[j], inverse); }
    case 1u: { G1[j] = unscaled(G1[j], inverse); }
    case 2u: { G2[j] = unscaled(G2[j], inverse); }
    case 3u: { G3[j] = unscaled(G3[j], inverse); }
    case 4u: { G4[j] = unscaled(G4[j], inverse); }
    case 5u: { G5[j] = unscaled(G5[j], inverse); }
    default: { G6[j] = unscaled(G6[j], inverse); }
  }
}
