// Shared by conv_transpose2d_single.wgsl and conv_transpose2d_single_subgroup.wgsl (spliced in after
// their bindings, which declare p, GY, W, Bias and GX as conv_transpose2d_single.wgsl does, and before
// their channelWeights): the input gradient of a conv with ONE output channel at stride 1 and no width
// dilation (any kernel size, padding, height dilation), a transposed conv from one channel:
//   GX[n, ci, ih, iw] = Bias[ci] + Σ_{i, j} GY[n, 0, ih + PH - i·DH, iw + PW - j] · W[0, ci, i, j]
// (terms whose GY index lies outside [0, OH) x [0, OW) are 0). One invocation computes 8 neighbouring
// outputs iw0 .. iw0 + 7 of one input row (n, ih) for 8 channels ci0 .. ci0 + 7 (ci0 = 8·wid.y). Per
// tap row i it walks j from KW - 1 down to 0 (GY columns rising) holding GY[oh, iw0 + PW - j .. + 7] in
// two vec4 registers that take one new GY value per tap: one GY load per tap serves 8 channels, and
// the 8 channels' weights of the tap come from channelWeights (1 load per lane where subgroups share).
// Invariants: the tap loops are uniform across a workgroup (all its lanes share wid.y, so channelWeights
// may use subgroup operations); invocations past the last octet repeat it and store nothing; channels
// past Cin have weight 0 and are not stored.
// Bounds tests use `&` and `|`, not `&&` or `||` (SwiftShader: shaders/include/conv_single_forward.wgsl).
var<private> gyRowBase: u32;
var<private> gyRowInside: bool;
var<private> win0: vec4<f32>;
var<private> win1: vec4<f32>;
var<private> acc: array<vec4<f32>, 16>;

struct WeightOctet { lo: vec4<f32>, hi: vec4<f32> }

/** GY in the current row at column ow, 0 outside it. */
fn gradAt(ow: i32) -> f32 {
  let inside = gyRowInside & (ow >= 0) & (ow < i32(p.OW));
  return select(0.0, f32(GY[gyRowBase + u32(clamp(ow, 0, i32(p.OW) - 1))]), inside);
}

/** Adds channel c's weight w of the current tap times the window to its 8 sums. */
fn addChannel(c: u32, w: f32) {
  acc[2u * c] += w * win0;
  acc[2u * c + 1u] += w * win1;
}

fn singleTranspose(invocation: u32, ci0: u32, lane: u32) {
  let octetsPerRow = (p.W + 7u) / 8u;
  let total = p.N * p.H * octetsPerRow;
  let q = min(invocation, total - 1u);
  let row = q / octetsPerRow;  // n·H + ih
  let iw0 = (q % octetsPerRow) * 8u;
  let n = row / p.H;
  let ih = row % p.H;
  acc = array<vec4<f32>, 16>();
  for (var i = 0u; i < p.KH; i++) {
    let oh = i32(ih) + p.PH - i32(i * p.DH);
    gyRowInside = (oh >= 0) & (oh < i32(p.OH));
    gyRowBase = (n * p.OH + u32(clamp(oh, 0, i32(p.OH) - 1))) * p.OW;
    // Tap j = KW - 1 first: outputs iw0 + t read GY[iw0 + t + PW - j].
    let first = i32(iw0) + p.PW - i32(p.KW - 1u);
    win0 = vec4<f32>(gradAt(first), gradAt(first + 1), gradAt(first + 2), gradAt(first + 3));
    win1 = vec4<f32>(gradAt(first + 4), gradAt(first + 5), gradAt(first + 6), gradAt(first + 7));
    for (var t = 0u; t < p.KW; t++) {
      let w = channelWeights(ci0, i * p.KW + p.KW - 1u - t, lane);
      addChannel(0u, w.lo.x); addChannel(1u, w.lo.y); addChannel(2u, w.lo.z); addChannel(3u, w.lo.w);
      addChannel(4u, w.hi.x); addChannel(5u, w.hi.y); addChannel(6u, w.hi.z); addChannel(7u, w.hi.w);
      let next = gradAt(first + i32(t) + 8);
      win0 = vec4<f32>(win0.yzw, win1.x);
      win1 = vec4<f32>(win1.yzw, next);
    }
  }
  if (invocation >= total) { return; }
  // Constant indices into acc throughout (a private array indexed per lane would live in memory).
  storeChannel(n, ih, iw0, ci0, acc[0], acc[1]);
  storeChannel(n, ih, iw0, ci0 + 1u, acc[2], acc[3]);
  storeChannel(n, ih, iw0, ci0 + 2u, acc[4], acc[5]);
  storeChannel(n, ih, iw0, ci0 + 3u, acc[6], acc[7]);
  storeChannel(n, ih, iw0, ci0 + 4u, acc[8], acc[9]);
  storeChannel(n, ih, iw0, ci0 + 5u, acc[10], acc[11]);
  storeChannel(n, ih, iw0, ci0 + 6u, acc[12], acc[13]);
  storeChannel(n, ih, iw0, ci0 + 7u, acc[14], acc[15]);
}

/** Stores channel ci's 8 sums lo, hi (outputs iw0 .. iw0 + 7 of row (n, ih)) plus its bias: those inside GX. */
fn storeChannel(n: u32, ih: u32, iw0: u32, ci: u32, lo: vec4<f32>, hi: vec4<f32>) {
  if (ci >= p.Cin) { return; }
  var bias = 0.0;
  if (p.hasBias == 1u) { bias = Bias[ci]; }
  let outputs = array<f32, 8>(lo.x, lo.y, lo.z, lo.w, hi.x, hi.y, hi.z, hi.w);
  let base = ((n * p.Cin + ci) * p.H + ih) * p.W;
  for (var t = 0u; t < 8u; t++) {
    if (iw0 + t < p.W) { GX[base + iw0 + t] = stored(outputs[t] + bias); }
  }
}
