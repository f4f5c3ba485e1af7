// The step shared by conv2d_packed_subgroup.wgsl and conv_transpose2d_phase_subgroup.wgsl: one tap
// over every pair of reduction channels (c, c + 1), ROWS (the including shader's override: 16 or 32) GEMM
// rows x 4 pixels per invocation, the packed weights shared across the subgroup. Lane l loads the vec4 of
// rows 4(l & 3) .. + 3 at channel c + (l >> 2) (`laneQuad`, `laneChannel`), under ROWS 32 also the vec4 16
// rows further (acc4..acc7), every lane takes all 8 (16) by shuffles from constant lanes: 32 rows share
// each X load between twice the multiply-adds (1 vec4 + 8 scalar loads per 128 under 16, 2 + 8 per 256). X is
// read at offsets `off` (channel 0 of the pair, channel planes `plane` apart) where `ok`; an odd
// channel count's last pair has a zero second channel. Needs the including shader's X, Packed and
// gemm_core's Acc4x4 / outerAccumulate; call it in uniform control flow (the shuffles).
fn accumulateChannelPairs(acc0: ptr<function, Acc4x4>, acc1: ptr<function, Acc4x4>, acc2: ptr<function, Acc4x4>, acc3: ptr<function, Acc4x4>,
                          acc4: ptr<function, Acc4x4>, acc5: ptr<function, Acc4x4>, acc6: ptr<function, Acc4x4>, acc7: ptr<function, Acc4x4>,
                          firstWeight: u32, channelStep: u32, laneChannel: u32, off: vec4<u32>, ok: vec4<bool>, channels: u32, plane: u32) {
  var wk = firstWeight;
  var xo = 0u;
  for (var c = 0u; c < channels; c += 2u) {
    let second = c + 1u < channels;
    let mine = select(wk, wk + laneChannel * channelStep, second);
    let w = Packed[mine];
    let x0 = select(vec4<f32>(0.0), vec4<f32>(f32(X[off.x + xo]), f32(X[off.y + xo]), f32(X[off.z + xo]), f32(X[off.w + xo])), ok);
    let xo1 = select(xo, xo + plane, second);
    let x1 = select(vec4<f32>(0.0), vec4<f32>(f32(X[off.x + xo1]), f32(X[off.y + xo1]), f32(X[off.z + xo1]), f32(X[off.w + xo1])), ok & vec4<bool>(second));
    outerAccumulate(acc0, subgroupShuffle(w, 0u), x0);
    outerAccumulate(acc1, subgroupShuffle(w, 1u), x0);
    outerAccumulate(acc2, subgroupShuffle(w, 2u), x0);
    outerAccumulate(acc3, subgroupShuffle(w, 3u), x0);
    outerAccumulate(acc0, subgroupShuffle(w, 4u), x1);
    outerAccumulate(acc1, subgroupShuffle(w, 5u), x1);
    outerAccumulate(acc2, subgroupShuffle(w, 6u), x1);
    outerAccumulate(acc3, subgroupShuffle(w, 7u), x1);
    if (ROWS == 32u) {
      let v = Packed[mine + 4u];
      outerAccumulate(acc4, subgroupShuffle(v, 0u), x0);
      outerAccumulate(acc5, subgroupShuffle(v, 1u), x0);
      outerAccumulate(acc6, subgroupShuffle(v, 2u), x0);
      outerAccumulate(acc7, subgroupShuffle(v, 3u), x0);
      outerAccumulate(acc4, subgroupShuffle(v, 4u), x1);
      outerAccumulate(acc5, subgroupShuffle(v, 5u), x1);
      outerAccumulate(acc6, subgroupShuffle(v, 6u), x1);
      outerAccumulate(acc7, subgroupShuffle(v, 7u), x1);
    }
    wk += 2u * channelStep;
    xo += 2u * plane;
  }
}
