// The current input row of the window kernels (conv2d_window_subgroup.wgsl, conv_transpose2d_quad_rows.wgsl; spliced in
// after their bindings, which declare p and X): where the row starts in X and whether it lies inside the input, set by the
// kernel before it reads the row, and its columns read through inputAt (0 outside X, as the padding).
var<private> rowBase: u32;
var<private> rowInside: bool;

/** X at column iw of the current input row, 0 outside X. */
fn inputAt(iw: i32) -> f32 {
  let inside = rowInside & (iw >= 0) & (iw < i32(p.W));
  return select(0.0, f32(X[rowBase + u32(clamp(iw, 0, i32(p.W) - 1))]), inside);
}
