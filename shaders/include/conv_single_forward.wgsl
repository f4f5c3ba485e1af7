// Shared by conv2d_single.wgsl and conv2d_single_subgroup.wgsl (spliced in after their bindings, which
// declare p, X, W, Bias and Y as conv2d_single.wgsl does, and before their weightOctet): the forward of
// a conv with ONE output channel, stride 1 and no dilation along the width (any KW, KH, SH, DH, padding):
//   Y[n, 0, oh, ow] = Bias[0] + Σ_{ci, i, j} X[n, ci, oh·SH - PH + i·DH, ow - PW + j] · W[0, ci, i, j].
// One invocation computes 8 neighbouring outputs ow0 .. ow0 + 7 of one output row (octets per row:
// ceil(OW / 8); the last one's extra outputs are computed and not stored). It walks the reduction index
// k = (ci·KH + i)·KW + j in order, 8 weights at a time (weightOctet), holding X[ci, ih, ow0 - PW + j ..
// + 7] in two vec4 registers: each step to the next tap j loads one new input and shifts the window, so
// a (ci, i) row of KW taps costs KW + 7 loads of X for 8·KW multiply-adds, not 8·KW (a Cout = 1 GEMM
// row has no other rows to share its X loads with).
// Invariants: the k loop and its row changes are uniform across the dispatch (weightOctet may use
// subgroup operations); inputs outside X (padding, rows past the last, channels past Cin) read as 0;
// weights past K = Cin·KH·KW are 0, so the padded steps of the last octet add nothing.
// Bounds tests combine with `&` and `|`, never `&&` or `||`: a short-circuit operator becomes a branch
// in SPIR-V, and with those branches inlined in every step() SwiftShader's compiler (Chromium's
// software WebGPU) took about ten times longer per step and never finished this kernel (the GPU
// process hung; scripts/repro-swiftshader-compile.mjs). Lavapipe runs both forms at one speed.
var<private> acc0: vec4<f32>;
var<private> acc1: vec4<f32>;
/** X[ci, ih, iwFirst + j .. + 7]: the inputs the current tap j meets at the invocation's 8 outputs. */
var<private> win0: vec4<f32>;
var<private> win1: vec4<f32>;
var<private> ci: u32;
var<private> tapRow: u32;
var<private> tap: u32;
var<private> image: u32;
var<private> oh: u32;
var<private> iwFirst: i32;
var<private> rowBase: u32;
var<private> rowInside: bool;

struct WeightOctet { lo: vec4<f32>, hi: vec4<f32> }

/** X in the current row at column iw, 0 outside the input. */
fn inputAt(iw: i32) -> f32 {
  let inside = rowInside & (iw >= 0) & (iw < i32(p.W));
  return select(0.0, f32(X[rowBase + u32(clamp(iw, 0, i32(p.W) - 1))]), inside);
}

/** Starts the row of taps (ci, tapRow) at tap 0: its input row and a full window. */
fn startRow() {
  let ih = i32(oh * p.SH + tapRow * p.DH) - p.PH;
  rowInside = (ci < p.Cin) & (ih >= 0) & (ih < i32(p.H));
  rowBase = ((image * p.Cin + min(ci, p.Cin - 1u)) * p.H + u32(clamp(ih, 0, i32(p.H) - 1))) * p.W;
  win0 = vec4<f32>(inputAt(iwFirst), inputAt(iwFirst + 1), inputAt(iwFirst + 2), inputAt(iwFirst + 3));
  win1 = vec4<f32>(inputAt(iwFirst + 4), inputAt(iwFirst + 5), inputAt(iwFirst + 6), inputAt(iwFirst + 7));
}

/** Adds weight w's tap to the 8 sums and moves to the next tap (the next row of taps after the last). */
fn step(w: f32) {
  acc0 += w * win0;
  acc1 += w * win1;
  tap++;
  if (tap == p.KW) {
    tap = 0u;
    tapRow++;
    if (tapRow == p.KH) { tapRow = 0u; ci++; }
    startRow();
  } else {
    let next = inputAt(iwFirst + i32(tap) + 7);
    win0 = vec4<f32>(win0.yzw, win1.x);
    win1 = vec4<f32>(win1.yzw, next);
  }
}

/** The whole forward of invocation `invocation` (lane: its subgroup lane, for weightOctet). */
fn singleForward(invocation: u32, lane: u32) {
  let octetsPerRow = (p.OW + 7u) / 8u;
  let total = p.N * p.OH * octetsPerRow;
  // Invocations past the end repeat the last octet (uniform control flow) and store nothing.
  let q = min(invocation, total - 1u);
  let row = q / octetsPerRow;
  let ow0 = (q % octetsPerRow) * 8u;
  image = row / p.OH;
  oh = row % p.OH;
  iwFirst = i32(ow0) - p.PW;
  ci = 0u;
  tapRow = 0u;
  tap = 0u;
  acc0 = vec4<f32>(0.0);
  acc1 = vec4<f32>(0.0);
  startRow();
  let K = p.Cin * p.KH * p.KW;
  for (var k0 = 0u; k0 < K; k0 += 8u) {
    let w = weightOctet(k0, lane);
    step(w.lo.x); step(w.lo.y); step(w.lo.z); step(w.lo.w);
    step(w.hi.x); step(w.hi.y); step(w.hi.z); step(w.hi.w);
  }
  if (invocation >= total) { return; }
  var bias = 0.0;
  if (p.hasBias == 1u) { bias = Bias[0]; }
  let outputs = array<f32, 8>(acc0.x, acc0.y, acc0.z, acc0.w, acc1.x, acc1.y, acc1.z, acc1.w);
  for (var t = 0u; t < 8u; t++) {
    if (ow0 + t < p.OW) { Y[row * p.OW + ow0 + t] = stored(outputs[t] + bias); }
  }
}
