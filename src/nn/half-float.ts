// IEEE half (f16) and bfloat16 bit patterns to numbers, for the checkpoint readers (safetensors
// F16 / BF16, PyTorch HalfStorage / BFloat16Storage). Browser-safe.
const conversion = new DataView(new ArrayBuffer(4));

/** bfloat16 is the top half of an f32: shift the bits back into place. */
export function bfloat16ToFloat(bits: number): number {
  conversion.setUint32(0, bits << 16);
  return conversion.getFloat32(0);
}

/** IEEE 754 binary16: subnormals, infinities and NaN included. */
export function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 31) return fraction ? NaN : sign * Infinity;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}
