// cast: f32 <-> IEEE binary16 (float16 tensors), and the sum of two float16 tensors (gradients).
// Layout: a float16 tensor of `count` elements is stored as array<f16> would lay it out: two per
// u32 word, element 2w in the low half of word w, the last word's high half 0 when count is odd.
// These kernels convert by the bits, with integer arithmetic only, so they need no shader-f16 and
// round as PyTorch's .half() does on every adapter (WGSL leaves the rounding direction of f16(x)
// and out-of-range conversions to the implementation): to nearest, ties to even; magnitudes that
// round past 65504 become ±inf; NaN stays a quiet NaN; f16 subnormals are kept, f32 subnormals
// become ±0. f16 -> f32 is exact.
// Entry points (one invocation per word for toHalf / addHalf, per element for toFloat):
//   toHalf:  Y (f16 pairs) = X (f32 bits)
//   toFloat: Y (f32 bits) = X (f16 pairs)
//   addHalf: Y (f16 pairs) = X (f16 pairs) + Z (f16 pairs), added in f32 and rounded once.
// Bindings: 0 params, 1 X (read), 2 Z (read; addHalf only), 3 Y (write). All u32.
struct Params { count: u32, pad0: u32, pad1: u32, pad2: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> X: array<u32>;
@group(0) @binding(2) var<storage, read> Z: array<u32>;
@group(0) @binding(3) var<storage, read_write> Y: array<u32>;
override WG: u32 = 256;

//!include half_bits

/** The f32 bits of a binary16 value (given by its 16 bits): exact. */
fn floatBits(h: u32) -> u32 {
  let sign = (h & 0x8000u) << 16u;
  let exponent = (h >> 10u) & 0x1fu;
  let mantissa = h & 0x3ffu;
  if (exponent == 0x1fu) { return sign | 0x7f800000u | (mantissa << 13u); }
  if (exponent == 0u) {
    if (mantissa == 0u) { return sign; }
    // mantissa · 2^-24 with its leading bit at `lead`: f32 exponent lead - 24, biased lead + 103.
    let lead = firstLeadingBit(mantissa);
    return sign | ((lead + 103u) << 23u) | ((mantissa << (23u - lead)) & 0x7fffffu);
  }
  return sign | ((exponent + 112u) << 23u) | (mantissa << 13u);
}

fn flatIndex(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return gid.x + gid.y * nwg.x * WG;
}

@compute @workgroup_size(WG)
fn toHalf(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let word = flatIndex(gid, nwg);
  let first = 2u * word;
  if (first >= p.count) { return; }
  var high = 0u;
  if (first + 1u < p.count) { high = halfBits(X[first + 1u]); }
  Y[word] = halfBits(X[first]) | (high << 16u);
}

@compute @workgroup_size(WG)
fn toFloat(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flatIndex(gid, nwg);
  if (i >= p.count) { return; }
  Y[i] = floatBits((X[i / 2u] >> (16u * (i & 1u))) & 0xffffu);
}

fn sumBits(a: u32, b: u32) -> u32 {
  return halfBits(bitcast<u32>(bitcast<f32>(floatBits(a)) + bitcast<f32>(floatBits(b))));
}

@compute @workgroup_size(WG)
fn addHalf(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let word = flatIndex(gid, nwg);
  if (2u * word >= p.count) { return; }
  let a = X[word];
  let b = Z[word];
  var high = 0u;
  if (2u * word + 1u < p.count) { high = sumBits(a >> 16u, b >> 16u); }
  Y[word] = sumBits(a & 0xffffu, b & 0xffffu) | (high << 16u);
}
