// conv2d forward: Y[n, co, oh, ow] = Bias[co] + Σ_{ci, i, j} X[n, ci, oh·SH - PH + i·DH, ow·SW - PW + j·DW] · Wt[co, ci, i, j]
// (reads outside the input are 0). X [N, Cin, H, W], Wt [Cout, Cin, KH, KW], Y [N, Cout, OH, OW], NCHW.
// As an implicit GEMM: M = Cout, N = N·OH·OW (output pixels), K = Cin·KH·KW; im2col is done on the fly.
// Bindings: 0 params, 1 X (read), 2 Wt (read), 3 Bias (read; used when hasBias == 1), 4 Y (write),
//   5 Mask (write; used when p.mfm == 1, else bound to Y and never touched).
//   X and Wt are Operand (f32, or f16 where the launcher asks: shaders/include/operand.wgsl), converted
//   to f32 on load; Bias, Y, the accumulators and the workgroup tiles are f32.
// Fused max-feature-map (p.mfm != 0; LightCNN's conv is always followed by mfm): Cout = 2C filters,
//   Y [N, C, OH, OW] = max(conv[:, :C] + Bias[:C], conv[:, C:] + Bias[C:]) (torch.maximum: NaN
//   propagates). The tiled kernels walk GEMM rows r in the order (0, C, 1, C + 1, ...), weight row
//   filterOf(r), so every invocation's 4 rows are two whole pairs and the max is taken in registers.
//   Mask [N, C, OH, OW] (u32, p.mfm == 1) says where the gradient goes: bit 0 to the first half,
//   bit 1 to the second, bit 2 halves it (a tie) — torch.maximum's rule, as shaders/mfm.wgsl.
// Entry points:
//   direct         — one invocation per output, plain loops: the GPU test oracle.
//   registerTiled  — each invocation a TM x TN = 4 channels x 4 pixels block (gemm_core), a
//                    WGX x WGY workgroup set by the launcher; loops (i, j) outside and ci inside, so the padding tests and the
//                    pixel decode are paid once per (i, j), not per multiply. No workgroup memory:
//                    fastest on software Vulkan.
//   workgroupTiled — K walked in BK = 16 slices staged in workgroup memory (weights and the im2col
//                    slice): fastest on GPUs.
// Invariant: every accumulator sums exactly the (ci, i, j) taps that land inside the input.
//!include conv_geometry
//!include gemm_core
//!include operand
//!include stored
//!include half_bits
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> X: array<Operand>;
@group(0) @binding(2) var<storage, read> Wt: array<Operand>;
@group(0) @binding(3) var<storage, read> Bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> Y: array<Stored>;
@group(0) @binding(5) var<storage, read_write> Mask: array<u32>;
//!include conv_epilogue
//!include mfm_pair
//!include is_nan

fn directSum(n: u32, co: u32, oh: u32, ow: u32) -> f32 {
  var acc = biasOf(co);
  for (var ci = 0u; ci < p.Cin; ci++) {
    for (var i = 0u; i < p.KH; i++) {
      let ih = i32(oh * p.SH + i * p.DH) - p.PH;
      if (ih < 0 || ih >= i32(p.H)) { continue; }
      for (var j = 0u; j < p.KW; j++) {
        let iw = i32(ow * p.SW + j * p.DW) - p.PW;
        if (iw < 0 || iw >= i32(p.W)) { continue; }
        acc += f32(X[((n * p.Cin + ci) * p.H + u32(ih)) * p.W + u32(iw)]) * f32(Wt[((co * p.Cin + ci) * p.KH + i) * p.KW + j]);
      }
    }
  }
  return acc;
}

@compute @workgroup_size(256)
fn direct(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let index = gid.x + gid.y * nwg.x * 256u;
  let channels = select(p.Cout, p.Cout >> 1u, p.mfm != 0u);
  if (index >= p.N * channels * p.OH * p.OW) { return; }
  let ow = index % p.OW;
  let oh = (index / p.OW) % p.OH;
  let co = (index / (p.OW * p.OH)) % channels;
  let n = index / (p.OW * p.OH * channels);
  if (p.mfm == 0u) {
    Y[index] = stored(directSum(n, co, oh, ow));
  } else {
    storeMfm(index, directSum(n, co, oh, ow), directSum(n, co + channels, oh, ow));
  }
}

fn loadX(offset: i32) -> f32 {
  if (offset < 0) { return 0.0; }
  return f32(X[u32(offset)]);
}

@compute @workgroup_size(WGX, WGY)
fn registerTiled(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let co0 = (wid.y * WGY + lid.y) * TM;
  let pix0 = (wid.x * WGX + lid.x) * TN;
  let HW = p.H * p.W;
  let KHW = p.KH * p.KW;
  let origins = forwardOrigins(pix0);
  let base = origins.base;
  let ih0 = origins.ih0;
  let iw0 = origins.iw0;
  // Weight rows of the 4 output channels (clamped; their results are not stored).
  let rowStride = p.Cin * KHW;
  let w0 = filterOf(min(co0, p.Cout - 1u)) * rowStride;
  let w1 = filterOf(min(co0 + 1u, p.Cout - 1u)) * rowStride;
  let w2 = filterOf(min(co0 + 2u, p.Cout - 1u)) * rowStride;
  let w3 = filterOf(min(co0 + 3u, p.Cout - 1u)) * rowStride;
  var acc = Acc4x4();
  for (var i = 0u; i < p.KH; i++) {
    let ih = ih0 + vec4<i32>(i32(i * p.DH));
    let rowOk = (ih >= vec4<i32>(0)) & (ih < vec4<i32>(i32(p.H)));
    for (var j = 0u; j < p.KW; j++) {
      let iw = iw0 + vec4<i32>(i32(j * p.DW));
      let ok = rowOk & (iw >= vec4<i32>(0)) & (iw < vec4<i32>(i32(p.W)));
      if (!any(ok)) { continue; }
      let off = select(vec4<i32>(-1), base + ih * i32(p.W) + iw, ok);
      var tap = i * p.KW + j;
      var xo = 0;
      for (var ci = 0u; ci < p.Cin; ci++) {
        let b = vec4<f32>(loadX(select(-1, off.x + xo, off.x >= 0)), loadX(select(-1, off.y + xo, off.y >= 0)),
                          loadX(select(-1, off.z + xo, off.z >= 0)), loadX(select(-1, off.w + xo, off.w >= 0)));
        outerAccumulate(&acc, vec4<f32>(f32(Wt[w0 + tap]), f32(Wt[w1 + tap]), f32(Wt[w2 + tap]), f32(Wt[w3 + tap])), b);
        tap += KHW;
        xo += i32(HW);
      }
    }
  }
  storeBlock(co0, pix0, acc);
}

// tileA [k][co] holds weights, tileB [k][pixel] the im2col slice.
@compute @workgroup_size(TILED_WG, TILED_WG)
fn workgroupTiled(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let tileM = wid.y * BM;
  let tileN = wid.x * BN;
  let thread = lid.y * TILED_WG + lid.x;
  let plane = p.OH * p.OW;
  let pixels = p.N * plane;
  let KHW = p.KH * p.KW;
  let K = p.Cin * KHW;
  // This thread stages pixel column bn of B for k rows bk0, bk0 + 4, bk0 + 8, bk0 + 12.
  let bn = thread % BN;
  let bk0 = thread / BN;
  let q = tileN + bn;
  let r = q % plane;
  let pixelOk = q < pixels;
  let xBase = (q / plane) * p.Cin * p.H * p.W;
  let ih0 = i32((r / p.OW) * p.SH) - p.PH;
  let iw0 = i32((r % p.OW) * p.SW) - p.PW;
  // And row am of A for k columns ak0 .. ak0 + 3.
  let am = thread / 4u;
  let ak0 = (thread % 4u) * 4u;
  let co = tileM + am;
  var acc = Acc4x4();
  for (var k0 = 0u; k0 < K; k0 += BK) {
    for (var e = 0u; e < 4u; e++) {
      let ka = k0 + ak0 + e;
      var a = 0.0;
      if (co < p.Cout && ka < K) { a = f32(Wt[filterOf(co) * K + ka]); }
      tileA[ak0 + e][am] = a;
      let bk = bk0 + 4u * e;
      let kb = k0 + bk;
      var b = 0.0;
      if (pixelOk && kb < K) {
        let ci = kb / KHW;
        let tap = kb % KHW;
        let ih = ih0 + i32((tap / p.KW) * p.DH);
        let iw = iw0 + i32((tap % p.KW) * p.DW);
        if (ih >= 0 && ih < i32(p.H) && iw >= 0 && iw < i32(p.W)) {
          b = f32(X[xBase + (ci * p.H + u32(ih)) * p.W + u32(iw)]);
        }
      }
      tileB[bk][bn] = b;
    }
    workgroupBarrier();
    accumulateStagedSlice(&acc, lid);
    workgroupBarrier();
  }
  storeBlock(tileM + lid.y * TM, tileN + lid.x * TN, acc);
}
