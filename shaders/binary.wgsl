// binary: Y[i] = f(a, b) with NumPy broadcasting, for an expression f spliced in at EXPR.
// Layout: Y contiguous with shape `shape` (rank <= 8); a and b are read through per-dimension
// strides, 0 on broadcast dimensions, so no operand is ever materialised at the output size.
// The expression may read a, b and p.alpha, and call isNan (by the bits: max / min may drop NaN).
// Bindings: 0 params, 1 A (read), 2 B (read), 3 Y (write).
// Invariant: the launcher coalesces dimensions first, so same-shape operands run with rank 1.
//!include broadcast
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read> B: array<f32>;
@group(0) @binding(3) var<storage, read_write> Y: array<f32>;
override WG: u32 = 256;

//!include pow
//!include is_nan

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.count) { return; }
  let offsets = operandOffsets(i);
  let a = A[offsets.x];
  let b = B[offsets.y];
  Y[i] = /*EXPR*/;
}
