// Shared by conv_transpose2d_single_strips.wgsl (GX bound as vec4: quad stores) and
// conv_transpose2d_single_strips_elements.wgsl (GX bound as f32), spliced in after their bindings, which declare p, GY, W,
// Bias and GX; each file defines storeOctet(n, ih, iw0, ci, lo, hi), which stores channel ci's 8 sums lo, hi plus its bias
// into GX[n, ci, ih, iw0 .. iw0 + 7] (the columns inside W). The rowStrips walk: see conv_transpose2d_single_strips.wgsl.
override WG: u32 = 64u;
override STRIP_ROWS: u32 = 32u;
override KERNEL_H: u32 = 8u;
override KERNEL_W: u32 = 8u;

/** Window slot k's GY values at window[16k .. 16k + KERNEL_W + 6] (constant indices throughout: registers, not memory). */
var<private> window: array<f32, 128>;
/** Lane l's channel ci0 + l: tap (i, j) at taps[8i + j] (0 past Cin). */
var<private> taps: array<f32, 64>;

/** GY[n, 0, oh, first .. first + KERNEL_W + 6] (0 outside GY) into the window's last slot. */
fn loadGradRow(n: u32, oh: i32, first: i32) {
  let inside = (oh >= 0) & (oh < i32(p.OH));
  let base = (n * p.OH + u32(clamp(oh, 0, i32(p.OH) - 1))) * p.OW;
  for (var s = 0u; s < KERNEL_W + 7u; s++) {
    let ow = first + i32(s);
    let value = f32(GY[base + u32(clamp(ow, 0, i32(p.OW) - 1))]);
    window[16u * (KERNEL_H - 1u) + s] = select(0.0, value, inside & (ow >= 0) & (ow < i32(p.OW)));
  }
}

/** Window slot k ← slot k + 1 (k a constant). */
fn slideSlot(k: u32) {
  if (k + 1u >= KERNEL_H) { return; }
  for (var s = 0u; s < KERNEL_W + 7u; s++) { window[16u * k + s] = window[16u * (k + 1u) + s]; }
}

fn slideWindow() {
  slideSlot(0u); slideSlot(1u); slideSlot(2u); slideSlot(3u); slideSlot(4u); slideSlot(5u); slideSlot(6u);
}

/** Adds window slot k (tap row KH - 1 - k) times channel c's taps (from lane c) to the sums (k a constant). */
fn addTapRow(k: u32, c: u32, sums: ptr<function, array<vec4<f32>, 2>>) {
  if (k >= KERNEL_H) { return; }
  let i = KERNEL_H - 1u - k;
  var lo = vec4<f32>();
  var hi = vec4<f32>();
  // Tap j = KERNEL_W - 1 - s: output iw0 + m reads GY at column iw0 + m + PW - j, window value m + s.
  for (var s = 0u; s < KERNEL_W; s++) {
    let w = vec4<f32>(subgroupShuffle(taps[8u * i + KERNEL_W - 1u - s], c));
    let at = 16u * k + s;
    lo = fma(w, vec4<f32>(window[at], window[at + 1u], window[at + 2u], window[at + 3u]), lo);
    hi = fma(w, vec4<f32>(window[at + 4u], window[at + 5u], window[at + 6u], window[at + 7u]), hi);
  }
  (*sums)[0] += lo;
  (*sums)[1] += hi;
}

@compute @workgroup_size(WG)
fn rowStrips(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>, @builtin(subgroup_invocation_id) lane: u32) {
  let invocation = (wid.z * groups.x + wid.x) * WG + lid.x;
  let ci0 = wid.y * 8u;
  let octetsPerRow = (p.W + 7u) / 8u;
  let strips = (p.H + STRIP_ROWS - 1u) / STRIP_ROWS;
  let total = p.N * strips * octetsPerRow;
  let q = min(invocation, total - 1u);
  let iw0 = (q % octetsPerRow) * 8u;
  let strip = q / octetsPerRow;
  let n = strip / strips;
  let ih0 = (strip % strips) * STRIP_ROWS;
  let ci = ci0 + lane % 8u;
  for (var i = 0u; i < KERNEL_H; i++) {
    let base = (min(ci, p.Cin - 1u) * KERNEL_H + i) * KERNEL_W;
    for (var j = 0u; j < KERNEL_W; j++) { taps[8u * i + j] = select(0.0, f32(W[base + j]), ci < p.Cin); }
  }
  let channels = min(8u, p.Cin - ci0);
  let first = i32(iw0) + p.PW - i32(KERNEL_W - 1u);
  // The window's first KERNEL_H - 1 slots before GX row ih0; then per row one slide and the row's new GY row in the last.
  for (var t = 0u; t + 1u < p.KH; t++) {
    slideWindow();
    loadGradRow(n, i32(ih0 + t) + p.PH - i32(KERNEL_H - 1u), first);
  }
  for (var r = 0u; r < STRIP_ROWS; r++) {
    slideWindow();
    loadGradRow(n, i32(ih0 + r) + p.PH, first);
    let ih = ih0 + r;
    for (var c = 0u; c < channels; c++) {
      var sums = array<vec4<f32>, 2>();
      addTapRow(0u, c, &sums); addTapRow(1u, c, &sums); addTapRow(2u, c, &sums); addTapRow(3u, c, &sums);
      addTapRow(4u, c, &sums); addTapRow(5u, c, &sums); addTapRow(6u, c, &sums); addTapRow(7u, c, &sums);
      if ((invocation < total) & (ih < p.H)) { storeOctet(n, ih, iw0, ci0 + c, sums[0], sums[1]); }
    }
  }
}
