// reduce: Y[o, i] = finish(combine over r of X[o, r, i]) viewing X as [outer, R, inner] (row-major).
// combine / initial value / finish are spliced in (sum: a + b, 0, acc; mean: finish acc / R;
// max: NaN-propagating max(a, b), -inf). INITIAL is an expression evaluated at run time: WGSL
// rejects a constant ±inf, so max / min build theirs from the bits and p.pad0 (always 0).
// Two entry points:
//   rows    (inner == 1): one workgroup per output, WG threads stride over R, then a tree
//           reduction in workgroup memory — long rows (sum of everything) stay parallel.
//   columns (inner > 1):  one invocation per output; neighbouring invocations read neighbouring
//           inner elements, so loads are coalesced.
// Bindings: 0 params, 1 X (read; Operand, shaders/include/operand.wgsl: the f16 build reads float16
// and reduces in f32), 2 Y (write, f32, outer * inner elements).
struct Params { outer: u32, reduced: u32, inner: u32, pad0: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> X: array<Operand>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;
override WG: u32 = 256;
//!include operand

//!include is_nan

fn combine(a: f32, b: f32) -> f32 { return /*COMBINE*/; }
fn finish(acc: f32, n: u32) -> f32 { return /*FINISH*/; }
fn initial() -> f32 { return /*INITIAL*/; }

var<workgroup> partial: array<f32, WG>;

@compute @workgroup_size(WG)
fn rows(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let o = wid.x + wid.y * nwg.x;
  let valid = o < p.outer;
  var acc = initial();
  if (valid) {
    let base = o * p.reduced;
    for (var r = lid.x; r < p.reduced; r += WG) { acc = combine(acc, f32(X[base + r])); }
  }
  partial[lid.x] = acc;
  workgroupBarrier();
  for (var step = WG / 2u; step > 0u; step = step / 2u) {
    if (lid.x < step) { partial[lid.x] = combine(partial[lid.x], partial[lid.x + step]); }
    workgroupBarrier();
  }
  if (valid && lid.x == 0u) { Y[o] = finish(partial[0], p.reduced); }
}

@compute @workgroup_size(WG)
fn columns(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let index = gid.x + gid.y * nwg.x * WG;
  if (index >= p.outer * p.inner) { return; }
  let o = index / p.inner;
  let i = index % p.inner;
  var acc = initial();
  let base = o * p.reduced * p.inner + i;
  for (var r = 0u; r < p.reduced; r++) { acc = combine(acc, f32(X[base + r * p.inner])); }
  Y[index] = finish(acc, p.reduced);
}
