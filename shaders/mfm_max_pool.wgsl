// Max pooling after the fused conv2d + mfm forward (shaders/conv2d.wgsl), for windows that tile the
// plane: kernel = stride (S), dilation 1, padding P <= S / 2 (so every window holds an input).
// Y [N, C, H, W] is the mfm output, Mask [N, C, H, W] its u32 gradient mask (bit h: half h takes
// the gradient, bit 2: halved, a tie; 3 under NaN), P = N·C planes.
//   forward:  Out [N, C, OH, OW] = max over the window [oh·SH - PH, +SH) x [ow·SW - PW, +SW)
//             clipped to the plane; the FIRST maximum in row-major order wins and a NaN takes over
//             (pool.wgsl's maxForward rule, so values and winners are the same). With withRoute,
//             Route [N, C, OH, OW] = (winner's offset (ih - h0)·SW + (iw - w0) in the window) << 3
//             | Mask at the winner: all the backward needs, so Y and Mask can go after the forward.
//   backward: GX [N, 2C, H, W] = the conv output's gradient, straight from G [N, C, OH, OW]:
//             GX[n, h·C + c, ih, iw] = G[n, c, oh, ow] · share_h(Route) if (ih, iw) is the
//             winner of its window (oh, ow), else 0. One invocation per S x S tile of the plane
//             (tilesH = ⌊(H - 1 + PH) / SH⌋ + 1 by tilesW, tiles past OH / OW lie outside every
//             window — floor mode's dropped edge — and get zeros), writing both halves.
//   Invariant: windows do not overlap (kernel = stride), so each input position has at most one
//   window and the sum over windows of pool.wgsl's maxBackward is that one window's term; with
//   mfm_grad_from_mask.wgsl's share rule this is bit for bit maxBackward then backwardFromMask.
//   forwardPairs / backwardPairs: the same for LightCNN's 2 x 2 pools without padding on planes
//             with W % 4 == 0 (so OW is even and every row starts on a vec4): one invocation per
//             two windows side by side, reading Y's two rows (forward) and writing GX's four
//             row pieces (backward) as vec4 — lavapipe runs every storage access per lane, so four
//             floats per access instead of one.
// In, Out, In4 and Out4 hold Operand (shaders/include/operand.wgsl): the backward entry points' f16
// build reads a float16 G and writes a float16 GX for float16 convolution kernels (the forward
// entry points are only run in f32).
// Bindings, one table for every entry point (0: params): 1 In (read: Y forward, G backward),
//   2 Code (read u32: Mask forward, Route backward), 3 Out (write: pooled values, or GX),
//   4 RouteOut (write u32: Route in forward with withRoute, else a placeholder), 5 In4 (read vec4:
//   Y in forwardPairs), 6 Out4 (write vec4: GX in backwardPairs); unused slots get placeholders.
// 1-D grids (gid.x + gid.y · nwg.x · WG): windows forward, tiles backward, pairs of them for the
//   pair entry points.
struct Params {
  planes: u32, C: u32, H: u32, W: u32,
  OH: u32, OW: u32, SH: u32, SW: u32,
  PH: i32, PW: i32, tilesH: u32, tilesW: u32,
  withRoute: u32, pad0: u32, pad1: u32, pad2: u32,
}
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> In: array<Operand>;
@group(0) @binding(2) var<storage, read> Code: array<u32>;
@group(0) @binding(3) var<storage, read_write> Out: array<Operand>;
@group(0) @binding(4) var<storage, read_write> RouteOut: array<u32>;
@group(0) @binding(5) var<storage, read> In4: array<vec4<Operand>>;
@group(0) @binding(6) var<storage, read_write> Out4: array<vec4<Operand>>;
override WG: u32 = 256;
//!include operand
//!include is_nan

@compute @workgroup_size(WG)
fn forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let index = gid.x + gid.y * nwg.x * WG;
  if (index >= p.planes * p.OH * p.OW) { return; }
  let ow = index % p.OW;
  let oh = (index / p.OW) % p.OH;
  let plane = index / (p.OW * p.OH);
  let h0 = i32(oh * p.SH) - p.PH;
  let w0 = i32(ow * p.SW) - p.PW;
  let hEnd = min(h0 + i32(p.SH), i32(p.H));
  let wEnd = min(w0 + i32(p.SW), i32(p.W));
  let base = plane * p.H * p.W;
  // Every window holds an input (P <= S / 2), so the first position seeds best: no -inf needed.
  var best = 0.0;
  var bestH = 0;
  var bestW = 0;
  var seen = false;
  for (var ih = max(h0, 0); ih < hEnd; ih++) {
    for (var iw = max(w0, 0); iw < wEnd; iw++) {
      let v = f32(In[base + u32(ih * i32(p.W) + iw)]);
      if (!seen || v > best || isNan(v)) {
        seen = true;
        best = v;
        bestH = ih;
        bestW = iw;
      }
    }
  }
  Out[index] = Operand(best);
  if (p.withRoute == 1u) {
    let offset = u32((bestH - h0) * i32(p.SW) + (bestW - w0));
    RouteOut[index] = (offset << 3u) | Code[base + u32(bestH * i32(p.W) + bestW)];
  }
}

@compute @workgroup_size(WG)
fn backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let index = gid.x + gid.y * nwg.x * WG;
  if (index >= p.planes * p.tilesH * p.tilesW) { return; }
  let tw = index % p.tilesW;
  let th = (index / p.tilesW) % p.tilesH;
  let plane = index / (p.tilesW * p.tilesH);
  // The winner's offset in the tile and the two halves' shares; a tile outside every window has
  // no winner (offset S·S matches no position).
  var winner = p.SH * p.SW;
  var first = 0.0;
  var second = 0.0;
  if (th < p.OH && tw < p.OW) {
    let o = (plane * p.OH + th) * p.OW + tw;
    let route = Code[o];
    let gradient = f32(In[o]);
    let g = select(gradient, 0.5 * gradient, (route & 4u) != 0u);
    winner = route >> 3u;
    if ((route & 1u) != 0u) { first = g; }
    if ((route & 2u) != 0u) { second = g; }
  }
  let h0 = i32(th * p.SH) - p.PH;
  let w0 = i32(tw * p.SW) - p.PW;
  let hEnd = min(h0 + i32(p.SH), i32(p.H));
  let wEnd = min(w0 + i32(p.SW), i32(p.W));
  let n = plane / p.C;
  let plane2 = p.H * p.W;
  // Plane n·C + c of G is plane n·2C + c (first half) and n·2C + C + c (second half) of GX.
  let firstBase = (plane + n * p.C) * plane2;
  let secondBase = firstBase + p.C * plane2;
  for (var ih = max(h0, 0); ih < hEnd; ih++) {
    for (var iw = max(w0, 0); iw < wEnd; iw++) {
      let mine = u32((ih - h0) * i32(p.SW) + (iw - w0)) == winner;
      let at = u32(ih * i32(p.W) + iw);
      Out[firstBase + at] = Operand(select(0.0, first, mine));
      Out[secondBase + at] = Operand(select(0.0, second, mine));
    }
  }
}

//!include max_pool_winner

@compute @workgroup_size(WG)
fn forwardPairs(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let index = gid.x + gid.y * nwg.x * WG;
  let pairsPerRow = p.OW >> 1u;
  if (index >= p.planes * p.OH * pairsPerRow) { return; }
  let pair = index % pairsPerRow;
  let row = index / pairsPerRow;  // plane · OH + oh
  let oh = row % p.OH;
  let plane = row / p.OH;
  let top = (plane * p.H + 2u * oh) * p.W;
  // The last window row of an odd H (ceil mode) has one input row.
  let rows = min(2u, p.H - 2u * oh);
  let a = vec4<f32>(In4[(top >> 2u) + pair]);
  var b = a;
  if (rows == 2u) { b = vec4<f32>(In4[((top + p.W) >> 2u) + pair]); }
  let left = winnerOf(a.xy, b.xy, rows);
  let right = winnerOf(a.zw, b.zw, rows);
  let o = row * p.OW + 2u * pair;
  Out[o] = Operand(left.value);
  Out[o + 1u] = Operand(right.value);
  if (p.withRoute == 1u) {
    let column = 4u * pair;
    RouteOut[o] = (left.offset << 3u) | Code[top + (left.offset >> 1u) * p.W + column + (left.offset & 1u)];
    RouteOut[o + 1u] = (right.offset << 3u) | Code[top + (right.offset >> 1u) * p.W + column + 2u + (right.offset & 1u)];
  }
}

/** The two halves' gradients at a 2 x 2 window's (top, bottom) row pairs, from its route r and gradient g. */
struct Shares { top0: vec2<f32>, bottom0: vec2<f32>, top1: vec2<f32>, bottom1: vec2<f32> }

fn sharesOf(r: u32, g: f32) -> Shares {
  let d = select(g, 0.5 * g, (r & 4u) != 0u);
  let first = vec2(select(0.0, d, (r & 1u) != 0u));
  let second = vec2(select(0.0, d, (r & 2u) != 0u));
  let at = r >> 3u;
  let top = vec2<bool>(at == 0u, at == 1u);
  let bottom = vec2<bool>(at == 2u, at == 3u);
  return Shares(select(vec2(0.0), first, top), select(vec2(0.0), first, bottom), select(vec2(0.0), second, top), select(vec2(0.0), second, bottom));
}

@compute @workgroup_size(WG)
fn backwardPairs(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let index = gid.x + gid.y * nwg.x * WG;
  let pairsPerRow = p.tilesW >> 1u;
  if (index >= p.planes * p.tilesH * pairsPerRow) { return; }
  let pair = index % pairsPerRow;
  let tileRow = index / pairsPerRow;  // plane · tilesH + th
  let th = tileRow % p.tilesH;
  let plane = tileRow / p.tilesH;
  // Floor mode drops the last input row of an odd H: its tiles lie outside every window.
  var left = Shares(vec2(0.0), vec2(0.0), vec2(0.0), vec2(0.0));
  var right = left;
  if (th < p.OH) {
    let o = (plane * p.OH + th) * p.OW + 2u * pair;
    left = sharesOf(Code[o], f32(In[o]));
    right = sharesOf(Code[o + 1u], f32(In[o + 1u]));
  }
  let n = plane / p.C;
  let firstTop = (plane + n * p.C) * p.H * p.W + 2u * th * p.W;
  let secondTop = firstTop + p.C * p.H * p.W;
  Out4[(firstTop >> 2u) + pair] = vec4<Operand>(vec4(left.top0, right.top0));
  Out4[(secondTop >> 2u) + pair] = vec4<Operand>(vec4(left.top1, right.top1));
  if (2u * th + 1u < p.H) {
    Out4[((firstTop + p.W) >> 2u) + pair] = vec4<Operand>(vec4(left.bottom0, right.bottom0));
    Out4[((secondTop + p.W) >> 2u) + pair] = vec4<Operand>(vec4(left.bottom1, right.bottom1));
  }
}
