// powReal(x, y): C's / PyTorch's pow for real numbers, where WGSL's pow (exp2(y·log2 x)) is
// undefined for x <= 0: y == 0 gives 1 (any x); x == 0 gives 0 for y > 0 and inf for y < 0; a
// negative x gives ±|x|^y for an integral y (sign by parity) and NaN otherwise.
// NaN as C: pow(x, ±0) = 1 and pow(1, y) = 1 for every x and y, NaN and ±inf included, and
// pow(-1, ±inf) = 1; any other NaN operand gives NaN. (Needs is_nan: every includer has it.)
fn powReal(x: f32, y: f32) -> f32 {
  if (y == 0.0 || x == 1.0) { return 1.0; }
  if (isNan(x) || isNan(y)) { return x + y; }
  if (x == -1.0 && (bitcast<u32>(y) & 0x7fffffffu) == 0x7f800000u) { return 1.0; }
  // 1 / x and sqrt(x) make inf and NaN at run time (the constants are rejected by the compiler).
  if (x == 0.0) { return select(1.0 / x, 0.0, y > 0.0); }
  let magnitude = pow(abs(x), y);
  if (x > 0.0) { return magnitude; }
  if (y != floor(y)) { return sqrt(x); }
  return select(magnitude, -magnitude, y * 0.5 != floor(y * 0.5));
}
