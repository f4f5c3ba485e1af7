// conv2d weight gradient as a GEMM over the N·OH·OW output pixels:
//   GW[co, ci, i, j] = Σ_{n, oh, ow} GY[n, co, oh, ow] · X[n, ci, oh·SH - PH + i·DH, ow·SW - PW + j·DW]
// X [N, Cin, H, W], GY [N, Cout, OH, OW], GW [Cout, Cin, KH, KW]. M = Cout, N = Cin·KH·KW,
// K = N·OH·OW. convTranspose2d's weight gradient is this with X and GY swapped.
// Split-K: workgroup z sums pixels [z·kChunk, (z + 1)·kChunk) into its own slice Partial[z] of
// [splits, Cout, Cin·KH·KW]; the launcher adds the slices (one slice: it is GW itself). That keeps
// the GPU busy when Cout·Cin·KH·KW is small and the pixel count large (conv1: 96 x 25 vs 262,144).
// Bindings: 0 params, 1 X (read), 2 GY (read), 3 Partial (write).
//   X and GY are Operand (f32, or f16 where the launcher asks: shaders/include/operand.wgsl), converted
//   to f32 on load; Partial, the accumulators and the workgroup tiles are f32.
// Entry points: direct (one invocation per weight, plain loops: the oracle; ignores split-K),
//   registerTiled (4 out channels x 4 (ci, i, j) columns per invocation (gemm_core), WGX x WGY workgroups)
//   and workgroupTiled (64 x 64 tiles, the pixels of a split walked in BK = 16 slices staged in
//   workgroup memory: tileA [pixel][co] from GY, tileB [pixel][column] the im2col slice of X; each
//   thread decodes one pixel per slice and stages along pixels, so neighbouring threads read
//   neighbouring addresses; for hardware GPUs).
// Invariant: a pixel contributes to a column iff its tap lands inside the input.
//!include conv_geometry
//!include gemm_core
//!include operand
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> X: array<Operand>;
@group(0) @binding(2) var<storage, read> GY: array<Operand>;
@group(0) @binding(3) var<storage, read_write> Partial: array<f32>;

@compute @workgroup_size(256)
fn direct(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let index = gid.x + gid.y * nwg.x * 256u;
  if (index >= p.Cout * p.Cin * p.KH * p.KW) { return; }
  let j = index % p.KW;
  let i = (index / p.KW) % p.KH;
  let ci = (index / (p.KW * p.KH)) % p.Cin;
  let co = index / (p.KW * p.KH * p.Cin);
  var acc = 0.0;
  for (var n = 0u; n < p.N; n++) {
    for (var oh = 0u; oh < p.OH; oh++) {
      let ih = i32(oh * p.SH + i * p.DH) - p.PH;
      if (ih < 0 || ih >= i32(p.H)) { continue; }
      for (var ow = 0u; ow < p.OW; ow++) {
        let iw = i32(ow * p.SW + j * p.DW) - p.PW;
        if (iw < 0 || iw >= i32(p.W)) { continue; }
        acc += f32(GY[((n * p.Cout + co) * p.OH + oh) * p.OW + ow]) * f32(X[((n * p.Cin + ci) * p.H + u32(ih)) * p.W + u32(iw)]);
      }
    }
  }
  Partial[index] = acc;
}

fn loadX(offset: i32) -> f32 {
  if (offset < 0) { return 0.0; }
  return f32(X[u32(offset)]);
}

@compute @workgroup_size(WGX, WGY)
fn registerTiled(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let co0 = (wid.y * WGY + lid.y) * TM;
  let col0 = (wid.x * WGX + lid.x) * TN;
  let KHW = p.KH * p.KW;
  let columns = p.Cin * KHW;
  let HW = p.H * p.W;
  let OHW = p.OH * p.OW;
  // Per column: the channel plane offset and the tap's displacement from (oh·SH, ow·SW).
  var cOff: vec4<i32>;
  var dh: vec4<i32>;
  var dw: vec4<i32>;
  for (var t = 0u; t < TN; t++) {
    let c = min(col0 + t, columns - 1u);
    let tap = c % KHW;
    cOff[t] = i32((c / KHW) * HW);
    dh[t] = i32((tap / p.KW) * p.DH) - p.PH;
    dw[t] = i32((tap % p.KW) * p.DW) - p.PW;
  }
  let g0 = min(co0, p.Cout - 1u) * OHW;
  let g1 = min(co0 + 1u, p.Cout - 1u) * OHW;
  let g2 = min(co0 + 2u, p.Cout - 1u) * OHW;
  let g3 = min(co0 + 3u, p.Cout - 1u) * OHW;
  let total = p.N * OHW;
  let kStart = wid.z * p.kChunk;
  let kEnd = min(total, kStart + p.kChunk);
  var acc = Acc4x4();
  var n = kStart / OHW;
  var oh = (kStart % OHW) / p.OW;
  var ow = kStart % p.OW;
  for (var k = kStart; k < kEnd; k++) {
    let ih = vec4<i32>(i32(oh * p.SH)) + dh;
    let iw = vec4<i32>(i32(ow * p.SW)) + dw;
    let ok = (ih >= vec4<i32>(0)) & (ih < vec4<i32>(i32(p.H))) & (iw >= vec4<i32>(0)) & (iw < vec4<i32>(i32(p.W)));
    let off = select(vec4<i32>(-1), vec4<i32>(i32(n * p.Cin * HW)) + cOff + ih * i32(p.W) + iw, ok);
    let b = vec4<f32>(loadX(off.x), loadX(off.y), loadX(off.z), loadX(off.w));
    let gBase = n * p.Cout * OHW + oh * p.OW + ow;
    outerAccumulate(&acc, vec4<f32>(f32(GY[gBase + g0]), f32(GY[gBase + g1]), f32(GY[gBase + g2]), f32(GY[gBase + g3])), b);
    ow++;
    if (ow == p.OW) {
      ow = 0u;
      oh++;
      if (oh == p.OH) { oh = 0u; n++; }
    }
  }
  let slice = wid.z * p.Cout * columns;
  var rows = array<vec4<f32>, 4>(acc.r0, acc.r1, acc.r2, acc.r3);
  for (var r = 0u; r < TM; r++) {
    let co = co0 + r;
    if (co >= p.Cout) { break; }
    for (var t = 0u; t < TN; t++) {
      let c = col0 + t;
      if (c < columns) { Partial[slice + co * columns + c] = rows[r][t]; }
    }
  }
}

@compute @workgroup_size(TILED_WG, TILED_WG)
fn workgroupTiled(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let tileM = wid.y * BM;
  let tileN = wid.x * BN;
  let thread = lid.y * TILED_WG + lid.x;
  let KHW = p.KH * p.KW;
  let columns = p.Cin * KHW;
  let HW = p.H * p.W;
  let OHW = p.OH * p.OW;
  let total = p.N * OHW;
  let kStart = wid.z * p.kChunk;
  let kEnd = min(total, kStart + p.kChunk);
  // This thread stages pixel row kk = thread % BK of both tiles, for rows (out channels) and
  // columns (ci, i, j) thread / BK + 16·e, e = 0..3. The columns' offsets are fixed: decode them once.
  let kk = thread % BK;
  let slot = thread / BK;
  var cOff: vec4<i32>;
  var dh: vec4<i32>;
  var dw: vec4<i32>;
  var colOk: vec4<bool>;
  for (var e = 0u; e < 4u; e++) {
    let c = tileN + slot + 16u * e;
    colOk[e] = c < columns;
    let tap = c % KHW;
    cOff[e] = i32((c / KHW) * HW);
    dh[e] = i32((tap / p.KW) * p.DH) - p.PH;
    dw[e] = i32((tap % p.KW) * p.DW) - p.PW;
  }
  var acc = Acc4x4();
  for (var k0 = kStart; k0 < kEnd; k0 += BK) {
    let k = k0 + kk;
    let pixelOk = k < kEnd;
    let n = k / OHW;
    let rest = k % OHW;
    let ih = vec4<i32>(i32((rest / p.OW) * p.SH)) + dh;
    let iw = vec4<i32>(i32((rest % p.OW) * p.SW)) + dw;
    let inside = (ih >= vec4<i32>(0)) & (ih < vec4<i32>(i32(p.H))) & (iw >= vec4<i32>(0)) & (iw < vec4<i32>(i32(p.W)));
    let xBase = vec4<i32>(i32(n * p.Cin * HW)) + cOff + ih * i32(p.W) + iw;
    let gBase = n * p.Cout * OHW + rest;
    for (var e = 0u; e < 4u; e++) {
      let co = tileM + slot + 16u * e;
      var a = 0.0;
      if (pixelOk && co < p.Cout) { a = f32(GY[gBase + co * OHW]); }
      tileA[kk][slot + 16u * e] = a;
      var b = 0.0;
      if (pixelOk && colOk[e] && inside[e]) { b = f32(X[u32(xBase[e])]); }
      tileB[kk][slot + 16u * e] = b;
    }
    workgroupBarrier();
    accumulateStagedSlice(&acc, lid);
    workgroupBarrier();
  }
  let slice = wid.z * p.Cout * columns;
  let m0 = tileM + lid.y * TM;
  let n0 = tileN + lid.x * TN;
  var rows = array<vec4<f32>, 4>(acc.r0, acc.r1, acc.r2, acc.r3);
  for (var r = 0u; r < TM; r++) {
    let co = m0 + r;
    if (co >= p.Cout) { break; }
    for (var t = 0u; t < TN; t++) {
      let c = n0 + t;
      if (c < columns) { Partial[slice + co * columns + c] = rows[r][t]; }
    }
  }
}
