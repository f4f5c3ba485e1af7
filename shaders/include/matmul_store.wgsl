// Shared by matmul.wgsl, matmul_vec4.wgsl and matmul_packed.wgsl, whose C is array<f32> (after matmul_epilogue):
// one element of C stored with its epilogue.

/** C[batch, m, n] = epilogueValue(...); the caller checks m < M, n < N. */
fn storeElement(batch: u32, m: u32, n: u32, sum: f32) {
  let index = cIndex(batch, m, n);
  var previous = 0.0;
  if (p.accumulate == 1u) { previous = C[index]; }
  C[index] = epilogueValue(m, n, sum, previous);
}
