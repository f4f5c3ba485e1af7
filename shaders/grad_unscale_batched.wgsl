// grad_unscale_batched: up to SLOTS (7) loss-scaled gradients back to scale 1 in one dispatch,
// G_k[i] *= inverse, and the scaler state's Found word set to 1 where any element is ±inf or NaN
// (torch's _amp_foreach_non_finite_check_and_unscale_ over a list). The same multiply and check as
// grad_unscale.wgsl, so the gradients come out with the same bits; the inverse scale is read from
// the scaler's state on the GPU (grad_scale_update.wgsl keeps it), so no host value is needed.
// Layout: slot k is a flat f32 array of counts[k] elements; the dispatch's invocations run over the
// slots one after the other: invocation i belongs to the first slot k with i < ends[k] (ends are the
// running sums of the counts; an unused slot has count 0 and a 16-byte scratch buffer bound).
// Bindings: 0 params, 1 State (read_write u32 words: SCALE, INVERSE, FOUND, ... as in
// src/kernels/optim.ts's SCALER_WORDS), 2..8 G0..G6 (read_write). 8 storage buffers: a browser's
// per-stage limit.
// Non-finite by the bits: lavapipe folds v != v.
struct Params { ends: array<vec4<u32>, 2> }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> State: array<atomic<u32>>;
@group(0) @binding(2) var<storage, read_write> G0: array<f32>;
@group(0) @binding(3) var<storage, read_write> G1: array<f32>;
@group(0) @binding(4) var<storage, read_write> G2: array<f32>;
@group(0) @binding(5) var<storage, read_write> G3: array<f32>;
@group(0) @binding(6) var<storage, read_write> G4: array<f32>;
@group(0) @binding(7) var<storage, read_write> G5: array<f32>;
@group(0) @binding(8) var<storage, read_write> G6: array<f32>;
override WG: u32 = 256;
const SLOTS = 7u;
const INVERSE = 1u;
const FOUND = 2u;

fn endOf(k: u32) -> u32 { return p.ends[k / 4u][k % 4u]; }

fn unscaled(g: f32, inverse: f32) -> f32 {
  if ((bitcast<u32>(g) & 0x7f800000u) == 0x7f800000u) { atomicStore(&State[FOUND], 1u); }
  return g * inverse;
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= endOf(SLOTS - 1u)) { return; }
  var k = 0u;
  while (i >= endOf(k)) { k++; }
  var start = 0u;
  if (k > 0u) { start = endOf(k - 1u); }
  let j = i - start;
  let inverse = bitcast<f32>(atomicLoad(&State[INVERSE]));
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
