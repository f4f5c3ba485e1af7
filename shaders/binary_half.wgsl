// binary_half: binary.wgsl's Y[i] = f(a, b) with NumPy broadcasting (the same expressions, spliced
// in at EXPR, and the same params: coalesced shape and per-dimension strides, 0 on broadcast
// dimensions) on float16 tensors, two consecutive outputs per invocation: A, B and Y are float16
// pairs in u32 words (element 2w in the low half of word w, as cast.wgsl lays them out); a and b
// are read exactly (unpack2x16float of the word holding them), f computed in f32 and each result
// rounded once by halfBits (torch's rounding on every adapter). Pairs, because lavapipe scalarises
// 16-bit loads and stores: a 32-bit word per access is its fast path (bench/f16-native-ops.ts).
// Bindings: 0 params, 1 A (read, u32 words), 2 B (read, u32 words), 3 Y (write, u32 words).
//!include broadcast
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> A: array<u32>;
@group(0) @binding(2) var<storage, read> B: array<u32>;
@group(0) @binding(3) var<storage, read_write> Y: array<u32>;
override WG: u32 = 256;

//!include pow
//!include is_nan
//!include half_bits

/** f(a, b) for output element i: its operands found through the strides. */
fn outputAt(i: u32) -> f32 {
  let offsets = operandOffsets(i);
  let a = unpack2x16float(A[offsets.x >> 1u])[offsets.x & 1u];
  let b = unpack2x16float(B[offsets.y >> 1u])[offsets.y & 1u];
  return /*EXPR*/;
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let word = gid.x + gid.y * nwg.x * WG;
  let first = 2u * word;
  if (first >= p.count) { return; }
  var high = 0u;
  if (first + 1u < p.count) { high = halfOf(outputAt(first + 1u)); }
  Y[word] = halfOf(outputAt(first)) | (high << 16u);
}
