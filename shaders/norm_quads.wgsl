// Batch and instance normalisation statistics and gradient sums for S % 4 == 0 (RUN 4): norm.wgsl's
// stats, statsUpdate and gradSums (same formulas, layouts and binding table; the shared code is
// include/norm_reduce.wgsl) with X, G and the mfm Mask read as quads (vec4) of 4 consecutive values
// of one row, one load per lane instead of four (lavapipe pays per lane per access).
// Bindings (0: params): 1 X, 2 G, 3 RunMean / Weight, 4 RunVar / Bias, 5 Mask (u32), 6 Stats,
//   7 SumG, 8 SumGXhat, filled as norm.wgsl's header says for each entry point.
// Groups beyond 65535 fold into y: g = wid.x + wid.y · nwg.x.
//!include norm_params
//!include operand
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> XQuads: array<vec4<Operand>>;
@group(0) @binding(2) var<storage, read> GQuads: array<vec4<Operand>>;
@group(0) @binding(3) var<storage, read_write> RunMean: array<f32>;
@group(0) @binding(4) var<storage, read_write> RunVar: array<f32>;
@group(0) @binding(5) var<storage, read> MaskQuads: array<vec4<u32>>;
@group(0) @binding(6) var<storage, read_write> Stats: array<f32>;
@group(0) @binding(7) var<storage, read_write> SumG: array<f32>;
@group(0) @binding(8) var<storage, read_write> SumGXhat: array<f32>;

//!include norm_activation
//!include norm_activation_derivative
//!include is_nan

/** The quad of X / G starting at value i (a multiple of 4: runs start at multiples of RUN = 4 in rows of S % 4 == 0). */
fn xRun(i: u32) -> vec4<f32> { return vec4<f32>(XQuads[i / 4u]); }
fn gRun(i: u32) -> vec4<f32> { return vec4<f32>(GQuads[i / 4u]); }

/** Max-feature-map: dz of channel c at s .. s + 3 of `sample` from the half-size G quad through its mask quad. */
fn mfmRun(sample: u32, c: u32, s: u32) -> vec4<f32> {
  let half = p.C / 2u;
  let h = select(0u, 1u, c >= half);
  let source = ((sample * half + c - h * half) * p.S + s) / 4u;
  let m = MaskQuads[source];
  let gy = vec4<f32>(GQuads[source]);
  return vec4<f32>(mfmShare(m.x, h, gy.x), mfmShare(m.y, h, gy.y), mfmShare(m.z, h, gy.z), mfmShare(m.w, h, gy.w));
}

//!include norm_reduce
