// IEEE 754 binary16 (f16) bit patterns, written for the tests independently of the code under test
// (src/nn/half-float.ts): an encoder that rounds to nearest, ties to even, and its decoder.

/** Rounds q to the nearest integer, ties to the even one. */
function roundHalfEven(q: number): number {
  const floor = Math.floor(q);
  const fraction = q - floor;
  if (fraction > 0.5) return floor + 1;
  if (fraction < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

/**
 * The binary16 bits nearest to v (round to nearest, ties to even): subnormals, overflow to
 * infinity (from 65520, the midpoint between 65504 and 2^16), signed zeros and NaN (0x7e00).
 * Exact for any double, so for every f32 too: scaling by powers of 2 loses nothing.
 */
export function floatToHalf(v: number): number {
  if (Number.isNaN(v)) return 0x7e00;
  const sign = v < 0 || Object.is(v, -0) ? 0x8000 : 0;
  const a = Math.abs(v);
  if (a >= 65520) return sign | 0x7c00;
  if (a < 2 ** -14) return sign | roundHalfEven(a * 2 ** 24); // 1024 rounds up into the smallest normal, 0x0400
  let exponent = Math.floor(Math.log2(a));
  if (2 ** exponent > a) exponent--;
  if (2 ** (exponent + 1) <= a) exponent++;
  let mantissa = roundHalfEven((a / 2 ** exponent - 1) * 1024);
  if (mantissa === 1024) {
    mantissa = 0;
    exponent++;
  }
  return sign | ((exponent + 15) << 10) | mantissa;
}

/** The value of binary16 bits. */
export function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 31) return mantissa === 0 ? sign * Infinity : NaN;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

/** v rounded to the nearest binary16 value. */
export const roundToHalf = (v: number): number => halfToFloat(floatToHalf(v));
