// Shared by matmul.wgsl, matmul_vec4.wgsl, matmul_packed.wgsl and matmul_subgroup.wgsl (spliced in at their
// //!include line, which also include is_nan for the activation): the launch parameters and the value the
// epilogue stores for one element of C (the three kernels with an f32 C store it with matmul_store.wgsl's
// storeElement; matmul_subgroup.wgsl, whose C is vec4, a quad at a time).
// A launch may cover only part of the product (src/kernels/matmul.ts splits a product whose
// tensors exceed one storage binding): offsetA / offsetB / offsetC / offsetBias are element
// offsets into the bound ranges, strideC* place C's block, and a launch over a later slice of K
// adds its sums to C (accumulate), with the bias in the first slice and the activation in the last.
// The bias follows C's columns (bias[n]: a linear layer) or, with biasAlongRows, its rows (bias[m]:
// a 1×1 conv run as W · x, one bias per output channel).
struct Params {
  M: u32, N: u32, K: u32, hasBias: u32,
  strideABatch: u32, strideARow: u32, strideACol: u32, offsetA: u32,
  strideBBatch: u32, strideBRow: u32, strideBCol: u32, offsetB: u32,
  strideCBatch: u32, strideCRow: u32, offsetC: u32, offsetBias: u32,
  accumulate: u32, activate: u32, biasAlongRows: u32,
  /** C's stride between columns: read only by matmul_subgroup.wgsl's C_ALONG_M (C contiguous along n elsewhere). */
  strideCCol: u32,
}

/** Element index of C[batch, m, n] in the bound range. */
fn cIndex(batch: u32, m: u32, n: u32) -> u32 {
  return p.offsetC + batch * p.strideCBatch + m * p.strideCRow + n;
}

/** act(sum (+ `previous`, C's value, when accumulating) + bias[n] (bias[m] along rows)): what C[batch, m, n] becomes. */
fn epilogueValue(m: u32, n: u32, sum: f32, previous: f32) -> f32 {
  var v = sum;
  if (p.accumulate == 1u) { v += previous; }
  if (p.hasBias == 1u) { v += Bias[p.offsetBias + select(n, m, p.biasAlongRows == 1u)]; }
  if (p.activate == 1u) { v = activation(v); }
  return v;
}

/** The launch's activation of one value (the /*ACT*/ expression of v). */
fn activation(v: f32) -> f32 {
  return /*ACT*/;
}
