// 2-D max and average pooling on NCHW planes (P = N·C planes of H x W → OH x OW), with their
// backward passes as gathers (each input position visits the windows that can contain it; no atomics).
//   maxForward:  Y = max over the (dilated) window, Indices = flat ih·W + iw of the FIRST maximum in
//                row-major scan order (PyTorch's rule; NaN wins). Indices are f32, exact below 2^24.
//   maxBackward: GX[plane, ih, iw] = Σ over windows whose index is ih·W + iw of G.
//   maxBackwardTiles: the same where the windows tile the plane (kernel = stride, dilation 1,
//                padding <= stride / 2): each input position lies in at most one window, so one
//                invocation per S x S tile of the plane (tilesH = ⌊(H - 1 + PH) / SH⌋ + 1 by tilesW)
//                writes its block: G at the window's index, 0 elsewhere; tiles past OH / OW (floor
//                mode's dropped edge, ceil mode's window dropped for starting in the padding) lie
//                outside every window and get zeros. No candidate search, no per-position division.
//   avgForward:  PyTorch's divisor rules: the window [h0, h0 + KH) is clipped to the padded input
//                [-PH, H + PH) (its size is the countIncludePad divisor), then to [0, H) (the other
//                divisor); divisorOverride (when > 0) replaces both. A window wholly in padding gives 0.
//   avgBackward: GX[plane, ih, iw] = Σ over windows containing (ih, iw) of G / divisor.
// Bindings, one table for every entry point (0: params): 1 In (read: X, or G in backward),
//   2 IndicesIn (read: maxBackward's indices, else a placeholder), 3 Out (write: Y or GX),
//   4 Indices (write: maxForward's indices, else a scratch buffer).
// One invocation per output (forward) or per input position (backward; per tile in
//   maxBackwardTiles), 1-D grids. pad0 is 0.
//!include pool_params
//!include operand
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> In: array<Operand>;
@group(0) @binding(2) var<storage, read> IndicesIn: array<f32>;
@group(0) @binding(3) var<storage, read_write> Out: array<Operand>;
@group(0) @binding(4) var<storage, read_write> Indices: array<f32>;
override WG: u32 = 256;
//!include is_nan

fn flatIndex(gid: vec3<u32>, nwg: vec3<u32>) -> u32 { return gid.x + gid.y * nwg.x * WG; }

@compute @workgroup_size(WG)
fn maxForward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let index = flatIndex(gid, nwg);
  if (index >= p.planes * p.OH * p.OW) { return; }
  let ow = index % p.OW;
  let oh = (index / p.OW) % p.OH;
  let plane = index / (p.OW * p.OH);
  var hStart = i32(oh * p.SH) - p.PH;
  var wStart = i32(ow * p.SW) - p.PW;
  let hEnd = min(hStart + i32((p.KH - 1u) * p.DH + 1u), i32(p.H));
  let wEnd = min(wStart + i32((p.KW - 1u) * p.DW + 1u), i32(p.W));
  while (hStart < 0) { hStart += i32(p.DH); }
  while (wStart < 0) { wStart += i32(p.DW); }
  // -inf (what a window with no input position gives), built at run time: constant -inf is rejected.
  var best = bitcast<f32>(0xff800000u | p.pad0);
  var seen = false;
  var bestIndex = hStart * i32(p.W) + wStart;
  let base = plane * p.H * p.W;
  for (var ih = hStart; ih < hEnd; ih += i32(p.DH)) {
    for (var iw = wStart; iw < wEnd; iw += i32(p.DW)) {
      let v = f32(In[base + u32(ih * i32(p.W) + iw)]);
      if (!seen || v > best || isNan(v)) {
        best = v;
        bestIndex = ih * i32(p.W) + iw;
        seen = true;
      }
    }
  }
  Out[index] = Operand(best);
  Indices[index] = f32(bestIndex);
}

@compute @workgroup_size(WG)
fn maxBackward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let index = flatIndex(gid, nwg);
  if (index >= p.planes * p.H * p.W) { return; }
  let iw = i32(index % p.W);
  let ih = i32((index / p.W) % p.H);
  let plane = index / (p.W * p.H);
  let wanted = f32(ih * i32(p.W) + iw);
  // Windows oh with oh·SH - PH <= ih <= oh·SH - PH + (KH - 1)·DH.
  let ohLo = max(0, (ih + p.PH - i32((p.KH - 1u) * p.DH) + i32(p.SH) - 1) / i32(p.SH));
  let ohHi = min(i32(p.OH) - 1, (ih + p.PH) / i32(p.SH));
  let owLo = max(0, (iw + p.PW - i32((p.KW - 1u) * p.DW) + i32(p.SW) - 1) / i32(p.SW));
  let owHi = min(i32(p.OW) - 1, (iw + p.PW) / i32(p.SW));
  var acc = 0.0;
  for (var oh = ohLo; oh <= ohHi; oh++) {
    for (var ow = owLo; ow <= owHi; ow++) {
      let o = (plane * p.OH + u32(oh)) * p.OW + u32(ow);
      if (IndicesIn[o] == wanted) { acc += f32(In[o]); }
    }
  }
  Out[index] = Operand(acc);
}

@compute @workgroup_size(WG)
fn maxBackwardTiles(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let index = flatIndex(gid, nwg);
  // Uniform across the dispatch (a scalar division, not one per lane).
  let tilesH = (p.H - 1u + u32(p.PH)) / p.SH + 1u;
  let tilesW = (p.W - 1u + u32(p.PW)) / p.SW + 1u;
  if (index >= p.planes * tilesH * tilesW) { return; }
  let tw = index % tilesW;
  let th = (index / tilesW) % tilesH;
  let plane = index / (tilesW * tilesH);
  // The window's gradient and index; -1 (no position) for a tile outside every window.
  var g = 0.0;
  var winner = -1.0;
  if (th < p.OH && tw < p.OW) {
    let o = (plane * p.OH + th) * p.OW + tw;
    g = f32(In[o]);
    winner = IndicesIn[o];
  }
  let h0 = i32(th * p.SH) - p.PH;
  let w0 = i32(tw * p.SW) - p.PW;
  let hEnd = min(h0 + i32(p.SH), i32(p.H));
  let wEnd = min(w0 + i32(p.SW), i32(p.W));
  let base = plane * p.H * p.W;
  for (var ih = max(h0, 0); ih < hEnd; ih++) {
    for (var iw = max(w0, 0); iw < wEnd; iw++) {
      let at = u32(ih * i32(p.W) + iw);
      Out[base + at] = Operand(select(0.0, g, f32(at) == winner));
    }
  }
}

/** The averaging window of output (oh, ow): clipped bounds and divisor. */
struct Window { h0: i32, h1: i32, w0: i32, w1: i32, divisor: f32 }

fn avgWindow(oh: u32, ow: u32) -> Window {
  var h0 = i32(oh * p.SH) - p.PH;
  var w0 = i32(ow * p.SW) - p.PW;
  var h1 = min(h0 + i32(p.KH), i32(p.H) + p.PH);
  var w1 = min(w0 + i32(p.KW), i32(p.W) + p.PW);
  let poolSize = (h1 - h0) * (w1 - w0);
  h0 = max(h0, 0);
  w0 = max(w0, 0);
  h1 = min(h1, i32(p.H));
  w1 = min(w1, i32(p.W));
  var divisor = f32(select((h1 - h0) * (w1 - w0), poolSize, p.countIncludePad == 1u));
  if (p.divisorOverride != 0.0) { divisor = p.divisorOverride; }
  return Window(h0, h1, w0, w1, divisor);
}

@compute @workgroup_size(WG)
fn avgForward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let index = flatIndex(gid, nwg);
  if (index >= p.planes * p.OH * p.OW) { return; }
  let ow = index % p.OW;
  let oh = (index / p.OW) % p.OH;
  let plane = index / (p.OW * p.OH);
  let win = avgWindow(oh, ow);
  if (win.h0 >= win.h1 || win.w0 >= win.w1) {
    Out[index] = Operand(0.0);
    return;
  }
  let base = plane * p.H * p.W;
  var acc = 0.0;
  for (var ih = win.h0; ih < win.h1; ih++) {
    for (var iw = win.w0; iw < win.w1; iw++) { acc += f32(In[base + u32(ih * i32(p.W) + iw)]); }
  }
  Out[index] = Operand(acc / win.divisor);
}

@compute @workgroup_size(WG)
fn avgBackward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let index = flatIndex(gid, nwg);
  if (index >= p.planes * p.H * p.W) { return; }
  let iw = i32(index % p.W);
  let ih = i32((index / p.W) % p.H);
  let plane = index / (p.W * p.H);
  // Windows with oh·SH - PH <= ih < oh·SH - PH + KH (clipping never removes an input row).
  let ohLo = max(0, (ih + p.PH - i32(p.KH) + i32(p.SH)) / i32(p.SH));
  let ohHi = min(i32(p.OH) - 1, (ih + p.PH) / i32(p.SH));
  let owLo = max(0, (iw + p.PW - i32(p.KW) + i32(p.SW)) / i32(p.SW));
  let owHi = min(i32(p.OW) - 1, (iw + p.PW) / i32(p.SW));
  var acc = 0.0;
  for (var oh = ohLo; oh <= ohHi; oh++) {
    for (var ow = owLo; ow <= owHi; ow++) {
      let win = avgWindow(u32(oh), u32(ow));
      acc += f32(In[(plane * p.OH + u32(oh)) * p.OW + u32(ow)]) / win.divisor;
    }
  }
  Out[index] = Operand(acc);
}
