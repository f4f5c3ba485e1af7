// Shared by matmul.wgsl, matmul_vec4.wgsl and matmul_packed.wgsl, whose C is array<Stored> (after matmul_epilogue and
// stored): one element of C stored with its epilogue, f32 or rounded to float16 (a float16 C is never accumulated into:
// the launcher keeps a split K in f32).

/** C[batch, m, n] = epilogueValue(...); the caller checks m < M, n < N. */
fn storeElement(batch: u32, m: u32, n: u32, sum: f32) {
  let index = cIndex(batch, m, n);
  var previous = 0.0;
  if (p.accumulate == 1u) { previous = f32(C[index]); }
  C[index] = stored(epilogueValue(m, n, sum, previous));
}
