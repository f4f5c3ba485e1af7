// The max-feature-map of one pair (shared by conv_epilogue.wgsl's storeMfm and matmul_subgroup.wgsl's mfm epilogue;
// the includer includes is_nan): the output of halves a and b and the mask mfmBackwardFromMask routes the gradient by.
// NaN by the bits (shaders/include/is_nan.wgsl: lavapipe folds a != a to false, and WGSL's max may drop NaN).

/** max(a, b), NaN when either is (NaN in, NaN out). */
fn mfmValue(a: f32, b: f32) -> f32 {
  if (isNan(a) || isNan(b)) { return a + b; }
  return max(a, b);
}

/** 1: a won, 2: b won, 7: a tie (split evenly), 3: NaN (both halves take the gradient, as torch.maximum's backward). */
fn mfmMask(a: f32, b: f32) -> u32 {
  if (isNan(a) || isNan(b)) { return 3u; }
  return select(select(7u, 2u, a < b), 1u, a > b);
}

/** mfmValue of each component, without branches (a quad epilogue: conv2d_window_subgroup.wgsl). */
fn mfmValue4(a: vec4<f32>, b: vec4<f32>) -> vec4<f32> {
  return select(max(a, b), a + b, isNan4(a) | isNan4(b));
}

/** mfmMask of each component, without branches. */
fn mfmMask4(a: vec4<f32>, b: vec4<f32>) -> vec4<u32> {
  let ordered = select(select(vec4<u32>(7u), vec4<u32>(2u), a < b), vec4<u32>(1u), a > b);
  return select(ordered, vec4<u32>(3u), isNan4(a) | isNan4(b));
}
