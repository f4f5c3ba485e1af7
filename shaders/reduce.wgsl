// reduce: Y[o, i] = finish(combine over r of X[o, r, i]) viewing X as [outer, R, inner] (row-major).
// combine / initial value / finish are spliced in (sum: a + b, 0, acc; mean: finish acc / R;
// max: NaN-propagating max(a, b), -inf). INITIAL is an expression evaluated at run time: WGSL
// rejects a constant ±inf, so max / min build theirs from the bits and p.pad0 (always 0).
// Two entry points:
//   rows    (inner == 1): one workgroup per output, WG threads stride over R, then a tree
//           reduction in workgroup memory — long rows (sum of everything) stay parallel.
//   columns (inner > 1):  one invocation per output; neighbouring invocations read neighbouring
//           inner elements, so loads are coalesced.
// Each invocation combines its own values pairwise (`pairwise`: blocks of BLOCK values, merged as
// a binary counter merges), not one after another: a float32 sum of n values in sequence drifts by
// up to n rounding errors (the mean of 10^4 rows of 0.1 was 1e-4 off, of 10^6 rows 1% off), a
// pairwise one by about BLOCK + log2(n), as PyTorch's cascade sum. max / min come out the same.
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

const BLOCK: u32 = 32u;

/** combine over X[start + j·stride] for j < count, pairwise: level k holds the combination of 2^k blocks. */
fn pairwise(start: u32, stride: u32, count: u32) -> f32 {
  if (count <= BLOCK) {
    // One block (short rows, a conv bias gradient's batch): in sequence, without the counter.
    var acc = initial();
    for (var j = 0u; j < count; j++) { acc = combine(acc, f32(X[start + j * stride])); }
    return acc;
  }
  var levels: array<f32, 32>;
  var blocks = 0u;
  var j = 0u;
  while (j < count) {
    let end = min(j + BLOCK, count);
    var block = f32(X[start + j * stride]);
    for (var k = j + 1u; k < end; k++) { block = combine(block, f32(X[start + k * stride])); }
    j = end;
    // Adding a block to the counter: each carry merges two equal-sized combinations.
    var level = 0u;
    var carry = blocks;
    while ((carry & 1u) == 1u) {
      block = combine(levels[level], block);
      carry = carry >> 1u;
      level++;
    }
    levels[level] = block;
    blocks++;
  }
  var acc = initial();
  for (var level = 0u; level < 32u; level++) {
    if (((blocks >> level) & 1u) == 1u) { acc = combine(acc, levels[level]); }
  }
  return acc;
}

@compute @workgroup_size(WG)
fn rows(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let o = wid.x + wid.y * nwg.x;
  let valid = o < p.outer;
  var acc = initial();
  if (valid && lid.x < p.reduced) {
    // This lane's values: r = lid.x, lid.x + WG, ... below p.reduced.
    acc = pairwise(o * p.reduced + lid.x, WG, (p.reduced - lid.x + WG - 1u) / WG);
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
  Y[index] = finish(pairwise(o * p.reduced * p.inner + i, p.inner, p.reduced), p.reduced);
}
