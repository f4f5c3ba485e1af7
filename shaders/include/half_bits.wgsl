// halfBits: the IEEE binary16 bits of an f32 (given by its bits), as torch's .half() rounds: to
// nearest, ties to even; past 65504 ±inf; NaN a quiet NaN; f16 subnormals kept, f32 subnormals ±0.
// Integer arithmetic only (WGSL leaves f16(x)'s rounding to the implementation), so every adapter
// rounds alike and no shader-f16 is needed. Shared by cast.wgsl, the float16 pair kernels and the
// GEMM / conv kernels' float16 stores (include/stored.wgsl's f16 form). Conditions use bool & and |, not
// && and || (each a SPIR-V branch: SwiftShader never finished compiling the Cout = 1 conv kernels with
// them; test/ops/conv-single.test.ts guards those files).
fn halfBits(f: u32) -> u32 {
  let sign = (f >> 16u) & 0x8000u;
  let biased = (f >> 23u) & 0xffu;
  let mantissa = f & 0x7fffffu;
  if (biased == 0xffu) {
    if (mantissa != 0u) { return sign | 0x7e00u | (mantissa >> 13u); }
    return sign | 0x7c00u;
  }
  // The f16 biased exponent: f32's bias 127, f16's 15.
  let exponent = i32(biased) - 112;
  if (exponent >= 31) { return sign | 0x7c00u; }
  if (exponent <= 0) {
    // A subnormal f16 (or 0): the 24-bit significand in units of 2^-24, shifted right by 14 - exponent.
    let shift = u32(14 - exponent);
    if (shift >= 25u) { return sign; }
    let significand = mantissa | 0x800000u;
    var h = significand >> shift;
    let rest = significand & ((1u << shift) - 1u);
    let half = 1u << (shift - 1u);
    if ((rest > half) | ((rest == half) & ((h & 1u) == 1u))) { h += 1u; }
    return sign | h;
  }
  // A carry out of the mantissa moves into the exponent: up to 0x7c00 (inf) past 65504.
  var h = (u32(exponent) << 10u) | (mantissa >> 13u);
  let rest = mantissa & 0x1fffu;
  if ((rest > 0x1000u) | ((rest == 0x1000u) & ((h & 1u) == 1u))) { h += 1u; }
  return sign | h;
}

/** halfBits of an f32 value. */
fn halfOf(v: f32) -> u32 {
  return halfBits(bitcast<u32>(v));
}
