// NaN test by the bits. `v != v` is not one on lavapipe: its compiler folds it to false (measured:
// mfm and max-pool dropped NaN inputs), so kernels that must propagate NaN as PyTorch does use this.
fn isNan(v: f32) -> bool {
  return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u;
}

/** isNan of each component. */
fn isNan4(v: vec4<f32>) -> vec4<bool> {
  return (bitcast<vec4<u32>>(v) & vec4<u32>(0x7fffffffu)) > vec4<u32>(0x7f800000u);
}
