// Packs conv weights Wt [Cout, Cin, KH, KW] for conv_transpose2d_phase.wgsl: the transposed conv at
// stride S split into S_H·S_W phases (shaders/include/conv_phase.wgsl), each a stride-1 correlation
// over gy with the sub-kernel of the taps in its phase, rotated by 180°. Packed [K][packedWidth] vec4
// with K = Cout·KH·KW (the phases' taps add up to KH·KW at dilation 1): the vec4 at (k, q) holds GEMM
// rows (input channels) ci = 4q .. 4q + 3. Phase (rh, rw), with Ti = phaseTaps(rh, KH, SH) and
// Tj = phaseTaps(rw, KW, SW) taps, owns k = Cout·phaseTapsBefore(phase) + (co·Ti + t)·Tj + u, which
// holds Wt[co, ci, rh + SH·(Ti - 1 - t), rw + SW·(Tj - 1 - u)].
// Bindings: 0 params, 1 Wt (read), 2 Packed (write, vec4). One invocation per packed vec4.
// Invariant: every (co, ci, i, j) of Wt lands at exactly one k; rows ci >= Cin are 0.
// Wt is Operand (shaders/include/operand.wgsl: f32, or f16 in the `.f16` build); Packed is f32 either way
// (f16 converts exactly), so the conv kernels read one packing for both operand types.
//!include conv_phase
struct PackParams { Cin: u32, Cout: u32, KH: u32, KW: u32, SH: u32, SW: u32, packedWidth: u32, pad: u32 }

//!include operand
@group(0) @binding(0) var<uniform> p: PackParams;
@group(0) @binding(1) var<storage, read> Wt: array<Operand>;
@group(0) @binding(2) var<storage, read_write> Packed: array<vec4<f32>>;

@compute @workgroup_size(256)
fn pack(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let index = gid.x + gid.y * nwg.x * 256u;
  let K = p.Cout * p.KH * p.KW;
  if (index >= K * p.packedWidth) { return; }
  let k = index / p.packedWidth;
  let ci0 = (index % p.packedWidth) * 4u;
  // The phase whose block holds k.
  var phase = 0u;
  var start = 0u;
  var Ti = phaseTaps(0u, p.KH, p.SH);
  var Tj = phaseTaps(0u, p.KW, p.SW);
  while (k >= start + p.Cout * Ti * Tj) {
    start += p.Cout * Ti * Tj;
    phase++;
    Ti = phaseTaps(phase / p.SW, p.KH, p.SH);
    Tj = phaseTaps(phase % p.SW, p.KW, p.SW);
  }
  let local = k - start;
  let co = local / (Ti * Tj);
  let tap = local % (Ti * Tj);
  let i = phase / p.SW + p.SH * (Ti - 1u - tap / Tj);
  let j = phase % p.SW + p.SW * (Tj - 1u - tap % Tj);
  var v = vec4<f32>(0.0);
  for (var c = 0u; c < 4u; c++) {
    if (ci0 + c < p.Cin) { v[c] = f32(Wt[((co * p.Cin + ci0 + c) * p.KH + i) * p.KW + j]); }
  }
  Packed[index] = v;
}
