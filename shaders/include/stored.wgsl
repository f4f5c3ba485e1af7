// The element type of a GEMM / conv kernel's output (C, Y, GX) and the value stored for an f32 result.
// f32 as written; src/kernels/launch.ts's kernel(file, { stores: 'f16' }) rewrites these two lines to
// `alias Stored = f16;` and a stored() that rounds by halfOf (include/half_bits, which every file with this
// include also includes): the bits of torch's .half() and of cast.wgsl's toHalf, not WGSL's f16(x), whose
// rounding direction is the implementation's. A float16 output is then stored in the kernel's epilogue, one
// 16-bit element per store (array<f16>: neighbouring outputs of other invocations never share a store),
// instead of an f32 output and a cast pass. Needs 'shader-f16' ('enable f16;' is prepended).
alias Stored = f32;
fn stored(v: f32) -> Stored { return v; }

/** A quad of results as a vec4 array of Stored stores them (f32, or f16 rounded as torch's .half()). */
fn storedQuad(v: vec4<f32>) -> vec4<Stored> {
  return vec4<Stored>(stored(v.x), stored(v.y), stored(v.z), stored(v.w));
}
