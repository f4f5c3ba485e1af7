// The winner of a 2 x 2 max-pool window (pool_quads.wgsl, mfm_max_pool.wgsl's pair kernels), PyTorch's
// rule: the first maximum in row-major order, a NaN taking over. `rows` 1: the last window row of an
// odd H in ceil mode (top row only). Needs is_nan.wgsl included before it.
/** A 2 x 2 window's maximum and its offset (0..3, row-major): the first maximum, a NaN taking over. */
struct Winner { value: f32, offset: u32 }

fn winnerOf(top: vec2<f32>, bottom: vec2<f32>, rows: u32) -> Winner {
  var w = Winner(top.x, 0u);
  if (top.y > w.value || isNan(top.y)) { w = Winner(top.y, 1u); }
  if (rows == 2u) {
    if (bottom.x > w.value || isNan(bottom.x)) { w = Winner(bottom.x, 2u); }
    if (bottom.y > w.value || isNan(bottom.y)) { w = Winner(bottom.y, 3u); }
  }
  return w;
}
