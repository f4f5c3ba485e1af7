// strided_copy: Y[yOffset + sum_d c_d * yStride_d] = X[xOffset + sum_d c_d * xStride_d] for every
// coordinate c of `shape` (rank <= 8). One kernel for permute, transpose, slice (with step),
// expand (stride 0), cat (writing into a region of Y) and constant padding.
// Bindings: 0 params, 1 X (read), 2 Y (read_write; elements outside the region are untouched), both
// Operand (shaders/include/operand.wgsl): the f16 build copies float16 elements as they are.
struct Params {
  count: u32, rank: u32, xOffset: u32, yOffset: u32,
  shape: array<vec4<u32>, 2>,
  strideX: array<vec4<u32>, 2>,
  strideY: array<vec4<u32>, 2>,
}
@group(0) @binding(0) var<uniform> p: Params;
//!include operand
@group(0) @binding(1) var<storage, read> X: array<Operand>;
@group(0) @binding(2) var<storage, read_write> Y: array<Operand>;
override WG: u32 = 256;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.count) { return; }
  var rest = i;
  var ix = p.xOffset;
  var iy = p.yOffset;
  for (var d = i32(p.rank) - 1; d >= 0; d--) {
    let n = p.shape[d / 4][d % 4];
    let c = rest % n;
    rest = rest / n;
    ix += c * p.strideX[d / 4][d % 4];
    iy += c * p.strideY[d / 4][d % 4];
  }
  Y[iy] = X[ix];
}
