// NaN test by the bits. `v != v` is not one on lavapipe: its compiler folds it to false (measured:
// mfm and max-pool dropped NaN inputs), so kernels that must propagate NaN as PyTorch does use this.
fn isNan(v: f32) -> bool {
  return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u;
}
