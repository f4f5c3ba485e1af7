// powReal(x, y): C's / PyTorch's pow for real numbers, where WGSL's pow (exp2(y·log2 x)) is
// undefined for x <= 0: y == 0 gives 1 (any x); x == 0 gives 0 for y > 0 and inf for y < 0; a
// negative x gives ±|x|^y for an integral y (sign by parity) and NaN otherwise.
fn powReal(x: f32, y: f32) -> f32 {
  if (y == 0.0) { return 1.0; }
  // 1 / x and sqrt(x) make inf and NaN at run time (the constants are rejected by the compiler).
  if (x == 0.0) { return select(1.0 / x, 0.0, y > 0.0); }
  let magnitude = pow(abs(x), y);
  if (x > 0.0) { return magnitude; }
  if (y != floor(y)) { return sqrt(x); }
  return select(magnitude, -magnitude, y * 0.5 != floor(y * 0.5));
}
