// pad: reflect / replicate padding of the last two dimensions, and its adjoint.
// Layout: X [planes, H, W] -> Y [planes, outH, outW], with `top` rows and `left` columns before.
// Source index of an output coordinate o along a dimension of size n (i = o - before):
//   reflect:   i < 0 -> -i,  i >= n -> 2(n - 1) - i      (PyTorch's reflect: edge not repeated)
//   replicate: clamp(i, 0, n - 1)
// forward:  one invocation per output element, gathers its source.
// backward: one invocation per input element, sums the outputs whose source it is — a gather,
//           so no atomics are needed. Reflect has at most 3 such outputs per dimension;
//           replicate has the interior one plus the whole pad run at an edge.
// Bindings: 0 params, 1 source (read), 2 target (write), both Operand (shaders/include/operand.wgsl:
// the f16 build moves float16 values; the backward sums in f32 and rounds once on store).
struct Params { planes: u32, H: u32, W: u32, outH: u32, outW: u32, top: u32, left: u32, reflect: u32 }
@group(0) @binding(0) var<uniform> p: Params;
//!include operand
@group(0) @binding(1) var<storage, read> Source: array<Operand>;
@group(0) @binding(2) var<storage, read_write> Target: array<Operand>;
override WG: u32 = 256;

fn sourceIndex(o: u32, before: u32, n: u32) -> u32 {
  let i = i32(o) - i32(before);
  if (p.reflect == 1u) {
    if (i < 0) { return u32(-i); }
    if (i >= i32(n)) { return u32(2 * (i32(n) - 1) - i); }
    return u32(i);
  }
  return u32(clamp(i, 0, i32(n) - 1));
}

@compute @workgroup_size(WG)
fn forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let index = gid.x + gid.y * nwg.x * WG;
  if (index >= p.planes * p.outH * p.outW) { return; }
  let ow = index % p.outW;
  let oh = (index / p.outW) % p.outH;
  let plane = index / (p.outW * p.outH);
  let ih = sourceIndex(oh, p.top, p.H);
  let iw = sourceIndex(ow, p.left, p.W);
  Target[index] = Source[(plane * p.H + ih) * p.W + iw];
}

// The k-th output coordinate whose source is i, and how many there are.
fn candidateCount(i: u32, before: u32, n: u32, m: u32) -> u32 {
  let after = m - n - before;
  if (p.reflect == 1u) {
    var count = 1u;
    if (i > 0u && i <= before) { count++; }
    if (i + 1u < n && n - 1u - i <= after) { count++; }
    return count;
  }
  var count = 1u;
  if (i == 0u) { count += before; }
  if (i == n - 1u) { count += after; }
  return count;
}

fn candidate(k: u32, i: u32, before: u32, n: u32) -> u32 {
  if (k == 0u) { return before + i; }
  if (p.reflect == 1u) {
    if (k == 1u && i > 0u && i <= before) { return before - i; }
    return before + 2u * (n - 1u) - i;
  }
  if (i == 0u && k <= before) { return k - 1u; }
  let skipped = select(0u, before, i == 0u);
  return before + n + (k - 1u - skipped);
}

@compute @workgroup_size(WG)
fn backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let index = gid.x + gid.y * nwg.x * WG;
  if (index >= p.planes * p.H * p.W) { return; }
  let iw = index % p.W;
  let ih = (index / p.W) % p.H;
  let plane = index / (p.W * p.H);
  let countH = candidateCount(ih, p.top, p.H, p.outH);
  let countW = candidateCount(iw, p.left, p.W, p.outW);
  var total = 0.0;
  for (var a = 0u; a < countH; a++) {
    let oh = candidate(a, ih, p.top, p.H);
    for (var b = 0u; b < countW; b++) {
      let ow = candidate(b, iw, p.left, p.W);
      total += f32(Source[(plane * p.outH + oh) * p.outW + ow]);
    }
  }
  Target[index] = Operand(total);
}
