// The current input row of the window kernels (conv2d_window_subgroup.wgsl, conv_transpose2d_quad_rows.wgsl; spliced in
// after their bindings, which declare p, X and X4 (X's buffer again, as vec4s), and the override INPUT_SHIFT): where the row
// starts in X and whether it lies inside the input, set by the kernel before it reads the row, and its columns read through
// inputAt (0 outside X, as the padding) or as aligned quads of X4 shifted by INPUT_SHIFT.
var<private> rowBase: u32;
var<private> rowInside: bool;

/** X at column iw of the current input row, 0 outside X. */
fn inputAt(iw: i32) -> f32 {
  let inside = rowInside & (iw >= 0) & (iw < i32(p.W));
  return select(0.0, f32(X[rowBase + u32(clamp(iw, 0, i32(p.W) - 1))]), inside);
}

/** X4's quad of columns c .. c + 3 (c a multiple of 4) of the current input row, 0 outside X. */
fn alignedInputQuad(c: i32) -> vec4<f32> {
  let inside = rowInside & (c >= 0) & (c < i32(p.W));
  return select(vec4<f32>(0.0), vec4<f32>(X4[(rowBase + u32(clamp(c, 0, i32(p.W) - 4))) / 4u]), inside);
}

/** Components INPUT_SHIFT .. INPUT_SHIFT + 3 of quads a, b (one after the other). */
fn shiftedQuad(a: vec4<f32>, b: vec4<f32>) -> vec4<f32> {
  if (INPUT_SHIFT == 1u) { return vec4<f32>(a.yzw, b.x); }
  if (INPUT_SHIFT == 2u) { return vec4<f32>(a.zw, b.xy); }
  if (INPUT_SHIFT == 3u) { return vec4<f32>(a.w, b.xyz); }
  return a;
}
