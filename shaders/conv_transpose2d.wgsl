// Transposed convolution in gather form (no atomics) — the adjoint of conv2d:
//   Y[n, ci, h, w] = Bias[ci] + Σ_{co, i, j} X[n, co, oh, ow] · Wt[co, ci, i, j]
//   over the taps with h = oh·SH - PH + i·DH and w = ow·SW - PW + j·DW (oh, ow integral and in range).
// Sizes are named from conv2d's point of view (conv maps [N, Cin, H, W] to [N, Cout, OH, OW]):
// X [N, Cout, OH, OW], Wt [Cout, Cin, KH, KW], Y [N, Cin, H, W]. So this is conv2d's input gradient
// (X = dL/dy) and, with the roles swapped, convTranspose2d's forward pass (PyTorch's [in, out, kh, kw]
// weight is exactly Wt here).
// As an implicit GEMM: M = Cin, N = N·H·W (gathered pixels), K = Cout·KH·KW.
// Bindings: 0 params, 1 X (read), 2 Wt (read), 3 Bias (read; used when hasBias == 1), 4 Y (write).
//   X and Wt are Operand (f32, or f16 where the launcher asks: shaders/include/operand.wgsl), converted
//   to f32 on load; Bias, Y, the accumulators and the workgroup tiles are f32.
// Entry points:
//   direct        — one invocation per output, plain loops: the GPU test oracle.
//   registerTiled — 4 channels x 4 pixels per invocation (gemm_core), WGX x WGY workgroups; for each tap (i, j)
//                   the divisibility tests are made once, then co runs inside. Taps that reach no
//                   pixel of the block (most of them at stride 2) are skipped.
//   workgroupTiled — K walked in BK = 16 slices staged in workgroup memory (gemm_core's tileA holds
//                   weights [k][ci], tileB the gathered slice [k][pixel]; taps that miss stage 0):
//                   for hardware GPUs.
// Invariant: a tap contributes iff h + PH - i·DH is a non-negative multiple of SH below OH·SH (same in w).
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

fn biasOf(ci: u32) -> f32 {
  if (p.hasBias == 1u) { return Bias[ci]; }
  return 0.0;
}

/** The source row (or column) of a gathered position for one tap, or -1 when the tap misses. */
fn source(t: i32, stride: u32, size: u32) -> i32 {
  if (t < 0 || t % i32(stride) != 0) { return -1; }
  let s = t / i32(stride);
  if (s >= i32(size)) { return -1; }
  return s;
}

@compute @workgroup_size(256)
fn direct(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let index = gid.x + gid.y * nwg.x * 256u;
  if (index >= p.N * p.Cin * p.H * p.W) { return; }
  let w = index % p.W;
  let h = (index / p.W) % p.H;
  let ci = (index / (p.W * p.H)) % p.Cin;
  let n = index / (p.W * p.H * p.Cin);
  var acc = biasOf(ci);
  for (var co = 0u; co < p.Cout; co++) {
    for (var i = 0u; i < p.KH; i++) {
      let oh = source(i32(h) + p.PH - i32(i * p.DH), p.SH, p.OH);
      if (oh < 0) { continue; }
      for (var j = 0u; j < p.KW; j++) {
        let ow = source(i32(w) + p.PW - i32(j * p.DW), p.SW, p.OW);
        if (ow < 0) { continue; }
        acc += f32(X[((n * p.Cout + co) * p.OH + u32(oh)) * p.OW + u32(ow)]) * f32(Wt[((co * p.Cin + ci) * p.KH + i) * p.KW + j]);
      }
    }
  }
  Y[index] = stored(acc);
}

fn loadX(offset: i32) -> f32 {
  if (offset < 0) { return 0.0; }
  return f32(X[u32(offset)]);
}

fn storeRow(ci: u32, pix0: u32, row: vec4<f32>) {
  if (ci >= p.Cin) { return; }
  let plane = p.H * p.W;
  let bias = biasOf(ci);
  for (var t = 0u; t < TN; t++) {
    let q = pix0 + t;
    if (q < p.N * plane) {
      Y[((q / plane) * p.Cin + ci) * plane + q % plane] = stored(row[t] + bias);
    }
  }
}

@compute @workgroup_size(WGX, WGY)
fn registerTiled(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let ci0 = (wid.y * WGY + lid.y) * TM;
  let pix0 = (wid.x * WGX + lid.x) * TN;
  let plane = p.H * p.W;
  let pixels = p.N * plane;
  let OHW = p.OH * p.OW;
  let KHW = p.KH * p.KW;
  var base: vec4<i32>;
  var h: vec4<i32>;
  var w: vec4<i32>;
  for (var t = 0u; t < TN; t++) {
    let q = min(pix0 + t, pixels - 1u);
    let r = q % plane;
    base[t] = i32((q / plane) * p.Cout * OHW);
    h[t] = i32(r / p.W);
    w[t] = i32(r % p.W);
  }
  // Weight column offsets of the 4 gathered channels (clamped; their results are not stored).
  let c0 = min(ci0, p.Cin - 1u) * KHW;
  let c1 = min(ci0 + 1u, p.Cin - 1u) * KHW;
  let c2 = min(ci0 + 2u, p.Cin - 1u) * KHW;
  let c3 = min(ci0 + 3u, p.Cin - 1u) * KHW;
  let coStride = p.Cin * KHW;
  var acc = Acc4x4();
  for (var i = 0u; i < p.KH; i++) {
    var oh: vec4<i32>;
    for (var t = 0u; t < TN; t++) { oh[t] = source(h[t] + p.PH - i32(i * p.DH), p.SH, p.OH); }
    if (!any(oh >= vec4<i32>(0))) { continue; }
    for (var j = 0u; j < p.KW; j++) {
      var off = vec4<i32>(-1);
      for (var t = 0u; t < TN; t++) {
        let ow = source(w[t] + p.PW - i32(j * p.DW), p.SW, p.OW);
        if (oh[t] >= 0 && ow >= 0) { off[t] = base[t] + oh[t] * i32(p.OW) + ow; }
      }
      if (!any(off >= vec4<i32>(0))) { continue; }
      var tap = i * p.KW + j;
      var xo = 0;
      for (var co = 0u; co < p.Cout; co++) {
        let b = vec4<f32>(loadX(select(-1, off.x + xo, off.x >= 0)), loadX(select(-1, off.y + xo, off.y >= 0)),
                          loadX(select(-1, off.z + xo, off.z >= 0)), loadX(select(-1, off.w + xo, off.w >= 0)));
        outerAccumulate(&acc, vec4<f32>(f32(Wt[c0 + tap]), f32(Wt[c1 + tap]), f32(Wt[c2 + tap]), f32(Wt[c3 + tap])), b);
        tap += coStride;
        xo += i32(OHW);
      }
    }
  }
  storeRow(ci0, pix0, acc.r0);
  storeRow(ci0 + 1u, pix0, acc.r1);
  storeRow(ci0 + 2u, pix0, acc.r2);
  storeRow(ci0 + 3u, pix0, acc.r3);
}

// tileA [k][ci] holds Wt[co, ci, tap] for k = co·KHW + tap; tileB [k][pixel] the gathered X values.
@compute @workgroup_size(TILED_WG, TILED_WG)
fn workgroupTiled(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let tileM = wid.y * BM;
  let tileN = wid.x * BN;
  let thread = lid.y * TILED_WG + lid.x;
  let plane = p.H * p.W;
  let pixels = p.N * plane;
  let OHW = p.OH * p.OW;
  let KHW = p.KH * p.KW;
  let K = p.Cout * KHW;
  // This thread stages pixel column bn of B for k rows bk0, bk0 + 4, bk0 + 8, bk0 + 12 ...
  let bn = thread % BN;
  let bk0 = thread / BN;
  let q = tileN + bn;
  let pixelOk = q < pixels;
  let r = q % plane;
  let xBase = (q / plane) * p.Cout * OHW;
  let hp = i32(r / p.W) + p.PH;
  let wp = i32(r % p.W) + p.PW;
  // ... and row am of A (one gathered channel) for k columns ak0 .. ak0 + 3.
  let am = thread / 4u;
  let ak0 = (thread % 4u) * 4u;
  let ci = tileM + am;
  var acc = Acc4x4();
  for (var k0 = 0u; k0 < K; k0 += BK) {
    for (var e = 0u; e < 4u; e++) {
      let ka = k0 + ak0 + e;
      var a = 0.0;
      if (ci < p.Cin && ka < K) { a = f32(Wt[((ka / KHW) * p.Cin + ci) * KHW + ka % KHW]); }
      tileA[ak0 + e][am] = a;
      let bk = bk0 + 4u * e;
      let kb = k0 + bk;
      var b = 0.0;
      if (pixelOk && kb < K) {
        let co = kb / KHW;
        let tap = kb % KHW;
        let oh = source(hp - i32((tap / p.KW) * p.DH), p.SH, p.OH);
        let ow = source(wp - i32((tap % p.KW) * p.DW), p.SW, p.OW);
        if (oh >= 0 && ow >= 0) { b = f32(X[xBase + co * OHW + u32(oh) * p.OW + u32(ow)]); }
      }
      tileB[bk][bn] = b;
    }
    workgroupBarrier();
    accumulateStagedSlice(&acc, lid);
    workgroupBarrier();
  }
  let m0 = tileM + lid.y * TM;
  let n0 = tileN + lid.x * TN;
  storeRow(m0, n0, acc.r0);
  storeRow(m0 + 1u, n0, acc.r1);
  storeRow(m0 + 2u, n0, acc.r2);
  storeRow(m0 + 3u, n0, acc.r3);
}
