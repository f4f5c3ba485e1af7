// The broadcasting binary kernels' params (binary.wgsl, binary_half.wgsl) and the walk from an
// output element to its operands: Y contiguous with shape `shape` (rank <= 8), A and B read through
// per-dimension strides, 0 on broadcast dimensions. The including file binds p: Params.
struct Params {
  count: u32, rank: u32, alpha: f32, pad0: u32,
  shape: array<vec4<u32>, 2>,
  strideA: array<vec4<u32>, 2>,
  strideB: array<vec4<u32>, 2>,
}

/** The element offsets into A and B of output element i. */
fn operandOffsets(i: u32) -> vec2<u32> {
  var rest = i;
  var ia = 0u;
  var ib = 0u;
  for (var d = i32(p.rank) - 1; d >= 0; d--) {
    let n = p.shape[d / 4][d % 4];
    let c = rest % n;
    rest = rest / n;
    ia += c * p.strideA[d / 4][d % 4];
    ib += c * p.strideB[d / 4][d % 4];
  }
  return vec2<u32>(ia, ib);
}
