// pad.wgsl's index rules (its header), shared with pad_half.wgsl: the value of padded output element
// `index` (paddedValue) and of the adjoint's input element `index` (adjointValue, a sum in f32). The
// including file declares p and sourceAt(i) -> f32, element i of Source.
fn sourceIndex(o: u32, before: u32, n: u32) -> u32 {
  let i = i32(o) - i32(before);
  if (p.reflect == 1u) {
    if (i < 0) { return u32(-i); }
    if (i >= i32(n)) { return u32(2 * (i32(n) - 1) - i); }
    return u32(i);
  }
  return u32(clamp(i, 0, i32(n) - 1));
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

fn paddedValue(index: u32) -> f32 {
  let ow = index % p.outW;
  let oh = (index / p.outW) % p.outH;
  let plane = index / (p.outW * p.outH);
  let ih = sourceIndex(oh, p.top, p.H);
  let iw = sourceIndex(ow, p.left, p.W);
  return sourceAt((plane * p.H + ih) * p.W + iw);
}

fn adjointValue(index: u32) -> f32 {
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
      total += sourceAt((plane * p.outH + oh) * p.outW + ow);
    }
  }
  return total;
}
