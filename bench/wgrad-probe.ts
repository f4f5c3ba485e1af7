// What costs the Cout = 1 weight gradient its time on FaPE-GAN's output layers (G-out: 64 → 1, 7×7 on 134² → 128²; D-out:
// 512 → 1, 4×4 pad 1 on 15² → 14²; batch 16): conv2d_weight_grad_single_subgroup.wgsl weightGradSingleRowsSubgroup ('base')
// and conv2d_weight_grad_single_planes.wgsl weightGradSinglePlanes ('planes<images per slice>', D-out only) dispatched directly
// with their launchers' slicing, beside timing-only edits (noX, noGY, noShuffle, computeOnly, planes*: their outputs are not
// the gradient's) and tried variants (rowsBroadcast, rowPairs, tapRowHalves: the gradient, not kept; eightTaps: the kernel before WIDE_TAPS_8), alternated call
// by call in one process (best CPU ms of the rounds, × the matmul 1024³ of the same rounds). 'launcher' runs conv2dWeightGrad
// (the policy's choice). WGRAD_CHECK=1 prints each gradient variant's largest difference from base.
//   node --import tsx bench/wgrad-probe.ts [--rounds 5] [--row G-out|D-out] [--batch 16] [--only base,noX,...]
import { parseArgs } from 'node:util';
import { gpu, init } from '../src/gpu/index.js';
import { alloc, kernel, Params } from '../src/kernels/launch.js';
import { reduceAxis } from '../src/kernels/reduce.js';
import { conv2dWeightGrad } from '../src/kernels/conv.js';
import { shaderSources } from '../src/shaders.generated.js';
import { matmulCase, printBestRounds, type ProbeCase, registerShaderEdits } from './probe-rounds.js';
import { randomBuffer } from './random-buffer.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '5' }, only: { type: 'string' }, row: { type: 'string', default: 'G-out' }, batch: { type: 'string', default: '16' } } });
await init();

const FILE = 'conv2d_weight_grad_single_subgroup';
const ROW_PAIRS = `
// ---------------------------------------------------------------------------------------------
// weightGradSingleRowPairsSubgroup — weightGradSingleRowsSubgroup's gradient and tiling (one invocation per ci, KERNEL_H
// <= 7 here), walked by PAIRS of input rows (ih, ih + 1), ih = 2k: wid.z the slice of pairs q = n·ceil(H / 2) + k (pairs
// s·kChunk .. + kChunk - 1); a row past H reads 0. The pair meets the KERNEL_H + 1 GY rows oh = ih + 1 + PH - u,
// u = 0 .. KERNEL_H: row ih + 1's tap row i takes u = i, row ih's takes u = i + 1. Each GY row is loaded (one octet per
// lane) and taken from its lane (subgroupShuffle) once for both rows: KERNEL_H + 1 loads and shuffles per octet and pixel
// where two single rows take 2·KERNEL_H. Why: on G-out (7×7) the GY loads cost as much as the X loads.
//   Partial[s, ci, i, j] = Σ over the rows of the pairs in slice s, as weightGradSingleRowsSubgroup's.

/** The second row's input window (win0, win1 hold the first's), its X row and whether it lies inside X. */
var<private> pairWin0: vec4<f32>;
var<private> pairWin1: vec4<f32>;
var<private> pairRow: u32;
var<private> pairInside: bool;

/** X in the pair's second row at column iw, 0 outside it. */
fn pairInputAt(iw: i32) -> f32 {
  let inside = pairInside & (iw >= 0) & (iw < i32(p.W));
  return select(0.0, f32(X[pairRow + u32(clamp(iw, 0, i32(p.W) - 1))]), inside);
}

@compute @workgroup_size(WG)
fn weightGradSingleRowPairsSubgroup(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>, @builtin(subgroup_invocation_id) lane: u32) {
  let ci = min(wid.x * WG + lid.x, p.Cin - 1u);
  let pairsPerImage = (p.H + 1u) / 2u;
  let first = wid.z * p.kChunk;
  let end = min(first + p.kChunk, p.N * pairsPerImage);
  rowAcc = array<vec4<f32>, 16>();
  rowInside = true;
  for (var q = first; q < end; q++) {
    let n = q / pairsPerImage;
    let ih = 2u * (q % pairsPerImage);
    xRow = ((n * p.Cin + ci) * p.H + ih) * p.W;
    pairInside = ih + 1u < p.H;
    pairRow = ((n * p.Cin + ci) * p.H + min(ih + 1u, p.H - 1u)) * p.W;
    // Taps j = 0 .. 7 of output pixel ow read X[ow - PW + j], in both rows.
    win0 = vec4<f32>(inputAt(-p.PW), inputAt(1 - p.PW), inputAt(2 - p.PW), inputAt(3 - p.PW));
    win1 = vec4<f32>(inputAt(4 - p.PW), inputAt(5 - p.PW), inputAt(6 - p.PW), inputAt(7 - p.PW));
    pairWin0 = vec4<f32>(pairInputAt(-p.PW), pairInputAt(1 - p.PW), pairInputAt(2 - p.PW), pairInputAt(3 - p.PW));
    pairWin1 = vec4<f32>(pairInputAt(4 - p.PW), pairInputAt(5 - p.PW), pairInputAt(6 - p.PW), pairInputAt(7 - p.PW));
    for (var ow0 = 0u; ow0 < p.OW; ow0 += 8u) {
      // gy[u]: GY[n, 0, ih + 1 + PH - u, ow0 + lane % 8] (0 outside GY), for lane t's pixel.
      let mine = ow0 + lane % 8u;
      var gy: array<f32, 8>;
      for (var u = 0u; u <= KERNEL_H; u++) {
        let oh = i32(ih) + 1 + p.PH - i32(u);
        let inside = (oh >= 0) & (oh < i32(p.OH)) & (mine < p.OW);
        gy[u] = select(0.0, f32(GY[(n * p.OH + u32(clamp(oh, 0, i32(p.OH) - 1))) * p.OW + min(mine, p.OW - 1u)]), inside);
      }
      for (var t = 0u; t < 8u; t++) {
        for (var u = 0u; u <= KERNEL_H; u++) {
          let g = subgroupShuffle(gy[u], t);
          if (u < KERNEL_H) {
            rowAcc[2u * u] += g * pairWin0;
            if (WIDE) { rowAcc[2u * u + 1u] += g * pairWin1; }
          }
          if (u > 0u) {
            rowAcc[2u * u - 2u] += g * win0;
            if (WIDE) { rowAcc[2u * u - 1u] += g * win1; }
          }
        }
        // Slide both windows to pixel ow0 + t + 1.
        if (WIDE) {
          let next = inputAt(i32(ow0 + t) + 8 - p.PW);
          win0 = vec4<f32>(win0.yzw, win1.x);
          win1 = vec4<f32>(win1.yzw, next);
          let pairNext = pairInputAt(i32(ow0 + t) + 8 - p.PW);
          pairWin0 = vec4<f32>(pairWin0.yzw, pairWin1.x);
          pairWin1 = vec4<f32>(pairWin1.yzw, pairNext);
        } else {
          win0 = vec4<f32>(win0.yzw, inputAt(i32(ow0 + t) + 4 - p.PW));
          pairWin0 = vec4<f32>(pairWin0.yzw, pairInputAt(i32(ow0 + t) + 4 - p.PW));
        }
      }
    }
  }
  if (wid.x * WG + lid.x >= p.Cin) { return; }
  let base = (wid.z * p.Cin + ci) * KERNEL_H * p.KW;
  for (var i = 0u; i < KERNEL_H; i++) {
    let taps = array<f32, 8>(rowAcc[2u * i].x, rowAcc[2u * i].y, rowAcc[2u * i].z, rowAcc[2u * i].w, rowAcc[2u * i + 1u].x, rowAcc[2u * i + 1u].y, rowAcc[2u * i + 1u].z, rowAcc[2u * i + 1u].w);
    for (var j = 0u; j < p.KW; j++) { Partial[base + i * p.KW + j] = taps[j]; }
  }
}
`;
const EDITS: Record<string, [string, string][]> = {
  // X replaced by a value computed from its address: the lane-varying X loads' share.
  noX: [['return select(0.0, f32(X[xRow + u32(clamp(iw, 0, i32(p.W) - 1))]), inside);', 'return select(0.0, f32(xRow) * 1e-9 + f32(iw), inside);']],
  noGY: [['gy[i] = select(0.0, f32(GY[(n * p.OH + u32(clamp(oh, 0, i32(p.OH) - 1))) * p.OW + min(mine, p.OW - 1u)]), inside);', 'gy[i] = select(0.0, f32(mine + i) * 0.5 + f32(n), inside);']],
  noShuffle: [['let g = subgroupShuffle(gy[i], t);', 'let g = gy[i] + f32(t);']],
};
EDITS.computeOnly = [...EDITS.noX!, ...EDITS.noGY!, ...EDITS.noShuffle!];
// rowsBroadcast: the 8 pixels of an octet written out, each tap row's gradient by subgroupBroadcast from a constant lane (Tint
// clamps subgroupShuffle's lane to the subgroup size, so its lane is never a constant: a generic shuffle per pixel and tap row).
EDITS.rowsBroadcast = [["      for (var t = 0u; t < 8u; t++) {\n        for (var i = 0u; i < KERNEL_H; i++) {\n          let g = subgroupShuffle(gy[i], t);\n          rowAcc[2u * i] += g * win0;\n          if (WIDE & WIDE_TAPS_8) {\n            rowAcc[2u * i + 1u] += g * win1;\n          } else if (WIDE) {\n            rowAccHigh[i] += g * win1.xyz;\n          }\n        }\n        // Slide the window to pixel ow0 + t + 1.\n        if (WIDE) {\n          let next = inputAt(i32(ow0 + t) + 8 - p.PW);\n          win0 = vec4<f32>(win0.yzw, win1.x);\n          win1 = vec4<f32>(win1.yzw, next);\n        } else {\n          win0 = vec4<f32>(win0.yzw, inputAt(i32(ow0 + t) + 4 - p.PW));\n        }\n      }", "      var g: array<f32, 8>;\n      for (var i = 0u; i < KERNEL_H; i++) { g[i] = subgroupBroadcast(gy[i], 0u); }\n      rowsPixel(g, ow0 + 0u);\n      for (var i = 0u; i < KERNEL_H; i++) { g[i] = subgroupBroadcast(gy[i], 1u); }\n      rowsPixel(g, ow0 + 1u);\n      for (var i = 0u; i < KERNEL_H; i++) { g[i] = subgroupBroadcast(gy[i], 2u); }\n      rowsPixel(g, ow0 + 2u);\n      for (var i = 0u; i < KERNEL_H; i++) { g[i] = subgroupBroadcast(gy[i], 3u); }\n      rowsPixel(g, ow0 + 3u);\n      for (var i = 0u; i < KERNEL_H; i++) { g[i] = subgroupBroadcast(gy[i], 4u); }\n      rowsPixel(g, ow0 + 4u);\n      for (var i = 0u; i < KERNEL_H; i++) { g[i] = subgroupBroadcast(gy[i], 5u); }\n      rowsPixel(g, ow0 + 5u);\n      for (var i = 0u; i < KERNEL_H; i++) { g[i] = subgroupBroadcast(gy[i], 6u); }\n      rowsPixel(g, ow0 + 6u);\n      for (var i = 0u; i < KERNEL_H; i++) { g[i] = subgroupBroadcast(gy[i], 7u); }\n      rowsPixel(g, ow0 + 7u);"], ['var<private> rowAcc: array<vec4<f32>, 16>;', "var<private> rowAcc: array<vec4<f32>, 16>;\n\nfn rowsPixel(g: array<f32, 8>, ow: u32) {\n  for (var i = 0u; i < KERNEL_H; i++) {\n    rowAcc[2u * i] += g[i] * win0;\n    if (WIDE & WIDE_TAPS_8) {\n      rowAcc[2u * i + 1u] += g[i] * win1;\n    } else if (WIDE) {\n      rowAccHigh[i] += g[i] * win1.xyz;\n    }\n  }\n  if (WIDE) {\n    let next = inputAt(i32(ow) + 8 - p.PW);\n    win0 = vec4<f32>(win0.yzw, win1.x);\n    win1 = vec4<f32>(win1.yzw, next);\n  } else {\n    win0 = vec4<f32>(win0.yzw, inputAt(i32(ow) + 4 - p.PW));\n  }\n}\n"]];

// splitTapRows: the KH tap rows split over wid.y (KERNEL_H of them each): fewer sums per invocation (4 x 8 for G-out's 7
// tap rows, against 7 x 8), each X row loaded once per part.
EDITS.splitTapRows = [
  ['let oh = i32(ih) + p.PH - i32(i);', 'let oh = i32(ih) + p.PH - i32(i + wid.y * KERNEL_H);'],
  ['let base = (wid.z * p.Cin + ci) * KERNEL_H * p.KW;\n  for (var i = 0u; i < KERNEL_H; i++) {', 'let base = (wid.z * p.Cin + ci) * p.KH * p.KW + wid.y * KERNEL_H * p.KW;\n  for (var i = 0u; i < min(KERNEL_H, p.KH - wid.y * KERNEL_H); i++) {'],
];
registerShaderEdits(FILE, EDITS);
// rowPairs: weightGradSingleRowsSubgroup walked by pairs of input rows (KERNEL_H + 1 GY loads and shuffles per octet and pixel
// for two rows, not 2·KERNEL_H), appended to the file as a second entry point (tried on G-out, not kept: bench/RESULTS.md).
shaderSources.probe_rowPairs = `${shaderSources[FILE]!}
${ROW_PAIRS}`;
const PLANES = 'conv2d_weight_grad_single_planes';
const PLANE_EDITS: Record<string, [string, string][]> = {
  planesNoX: [['row[iw] = f32(X[rowBase + iw]);', 'row[iw] = f32(rowBase + iw) * 1e-9;']],
  planesNoGY: [['return select(0.0, f32(GY[(n * p.OH + u32(clamp(oh, 0, i32(p.OH) - 1))) * OUT_W + min(column, OUT_W - 1u)]), inside);', 'return select(0.0, f32(n * p.OH + column) * 0.5, inside);']],
  planesNoShuffle: [['subgroupBroadcast(lo, ', 'notBroadcast(lo, '], ['subgroupBroadcast(hi, ', 'notBroadcast(hi, '], ['override WG: u32 = 64u;', 'override WG: u32 = 64u;\nfn notBroadcast(v: f32, l: u32) -> f32 { return v + f32(l); }']],
};
// planesQuadLoads (timing only): each input row's W values from ceil(W / 4) vec4 loads at the row's start rounded down (the
// values misplaced where the row does not start on a quad): the most X loaded as vec4 could save.
PLANE_EDITS.planesQuadLoads = [
  ['for (var iw = 0u; iw < IN_W; iw++) { row[iw] = f32(X[rowBase + iw]); }', 'var quads: array<vec4<f32>, 4>;\n      for (var v = 0u; v < (IN_W + 3u) / 4u; v++) { quads[v] = X4[rowBase / 4u + v]; }\n      for (var iw = 0u; iw < IN_W; iw++) { row[iw] = quads[iw / 4u][iw % 4u]; }'],
];
PLANE_EDITS.planesComputeOnly = [...PLANE_EDITS.planesNoX!, ...PLANE_EDITS.planesNoGY!, ...PLANE_EDITS.planesNoShuffle!];
registerShaderEdits(PLANES, PLANE_EDITS);

const N = Number(values.batch);
const G = values.row === 'D-out' ? { Cin: 512, H: 15, OH: 14, K: 4, P: 1 } : { Cin: 64, H: 134, OH: 128, K: 7, P: 0 };
const { Cin, H, OH, K } = G;
const x = randomBuffer(N * Cin * H * H, 11);
const gy = randomBuffer(N * OH * OH, 17);
const count = Cin * K * K;
const params = (kChunk: number) => new Params().u32(N, Cin, H, H, 1, OH, OH, 0, K, K, 1, 1).i32(G.P, G.P).u32(1, 1, kChunk, 0, 0, 0).done();

interface Launch { file?: string; entryPoint?: string; constants?: Record<string, number>; invocations?: number; byChannel?: boolean }
/** weightGradSingleRowsSubgroup as weightGradSingleChunk launches it: one invocation per ci, slices of input rows, reduceAxis. */
function rowsLaunch(file: string, invocations = 4096, entryPoint = 'weightGradSingleRowsSubgroup', parts = 1, wideTaps8 = K === 8): () => GPUBuffer[] {
  const rows = entryPoint === 'weightGradSingleRowPairsSubgroup' ? N * Math.ceil(H / 2) : N * H;
  const wg = Math.min(64, Math.ceil(Cin / 8) * 8);
  const kChunk = Math.ceil(rows / Math.max(1, Math.min(rows, Math.ceil(invocations / Cin))));
  const slices = Math.ceil(rows / kChunk);
  const k = kernel(file, { name: `probe.${file}.${invocations}.${entryPoint}.${wideTaps8}`, entryPoint, constants: { WG: wg, WIDE: K > 4 ? 1 : 0, KERNEL_H: Math.ceil(K / parts), ...(entryPoint === 'weightGradSingleRowsSubgroup' ? { WIDE_TAPS_8: wideTaps8 ? 1 : 0 } : {}) } });
  return () => {
    const partial = alloc(slices * count);
    gpu().dispatch(k, [x, gy, partial], params(kChunk), [Math.ceil(Cin / wg), parts, slices]);
    if (slices === 1) return [partial];
    const out = reduceAxis('sum', partial, 1, slices, count);
    gpu().pool.release(partial);
    return [out];
  };
}

/** conv2d_weight_grad_single_planes.wgsl: one invocation per ci, slices of `perSlice` images, reduceAxis. */
function planesLaunch(perSlice: number, file = 'conv2d_weight_grad_single_planes', quads = false): () => GPUBuffer[] {
  const wg = quads ? Math.min(64, Math.ceil(Cin / 32) * 32) : Math.min(64, Math.ceil(Cin / 8) * 8);
  const slices = Math.ceil(N / perSlice);
  const k = kernel(file, { name: `probe.${file}${quads ? '.quads' : ''}`, entryPoint: 'weightGradSinglePlanes', constants: { WG: wg, KERNEL_H: K, KERNEL_W: K, IN_W: H, OUT_W: OH, PAD_W: G.P, QUAD_LOADS: quads ? 1 : 0 } });
  return () => {
    const partial = alloc(slices * count);
    gpu().dispatch(k, [x, gy, partial, x], params(perSlice), [Math.ceil(Cin / wg), 1, slices]);
    if (slices === 1) return [partial];
    const out = reduceAxis('sum', partial, 1, slices, count);
    gpu().pool.release(partial);
    return [out];
  };
}

const flops = 2 * N * OH * OH * Cin * K * K;
const variants: [string, () => GPUBuffer[]][] = [
  ['base', rowsLaunch(FILE)],
  ['base1024', rowsLaunch(FILE, 1024)],
  // eightTaps: KW 5-7 summing taps 4 .. 7 as a whole vec4 (WIDE_TAPS_8 on, as before 2026-12-05 wgrad1).
  ['eightTaps', rowsLaunch(FILE, 4096, 'weightGradSingleRowsSubgroup', 1, true)],
  ['tapRowHalves', rowsLaunch('probe_splitTapRows', 4096, 'weightGradSingleRowsSubgroup', 2)],
  ['tapRowHalves2048', rowsLaunch('probe_splitTapRows', 2048, 'weightGradSingleRowsSubgroup', 2)],
  ['rowPairs', rowsLaunch('probe_rowPairs', 4096, 'weightGradSingleRowPairsSubgroup')],
  ['rowPairs2048', rowsLaunch('probe_rowPairs', 2048, 'weightGradSingleRowPairsSubgroup')],
  ['base16384', rowsLaunch(FILE, 16384)],
  // Through conv2dWeightGrad (the policy's choice, as bench/conv-rows.ts calls it).
  ['launcher', () => [conv2dWeightGrad(x, gy, { N, Cin, H, W: H, Cout: 1, OH, OW: OH, KH: K, KW: K, SH: 1, SW: 1, PH: G.P, PW: G.P, DH: 1, DW: 1 })]],
  ['planes1', planesLaunch(1)],
  ['planes2', planesLaunch(2)],
  ['planes4', planesLaunch(4)],
  // X as the vec4s that cover each row (QUAD_LOADS).
  ['planesQuads1', planesLaunch(1, undefined, true)],
  ['planesQuads2', planesLaunch(2, undefined, true)],
  ...Object.keys(PLANE_EDITS).map((edit): [string, () => GPUBuffer[]] => [edit, planesLaunch(2, `probe_${edit}`)]),
  ...Object.keys(EDITS).map((edit): [string, () => GPUBuffer[]] => [edit, rowsLaunch(`probe_${edit}`)]),
];
const only = values.only?.split(',');
const cases: ProbeCase[] = variants.filter(([label]) => !only || only.includes(label)).map(([label, run]) => ({ label: `${values.row} weight grad ${label}`, flops, run }));
const S = 1024;
const ma = randomBuffer(S * S, 19), mb = randomBuffer(S * S, 23);
cases.push(matmulCase(S, ma, mb));
await printBestRounds(cases, Number(values.rounds), 40);
if (process.env.WGRAD_CHECK) {
  const read = async (run: () => GPUBuffer[]) => { const [b] = run(); const out = new Float32Array(await gpu().read(b!, count * 4)); gpu().pool.release(b!); return out; };
  const reference = await read(variants[0]![1]);
  const scale = reference.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  for (const [label, run] of variants.filter(([l]) => (/^planes(Quads)?\d/.test(l) && H <= 16) || l === 'launcher' || l === 'rowsBroadcast' || l === 'eightTaps' || l.startsWith('tapRowHalves') || l.startsWith('rowPairs'))) {
    const out = await read(run);
    console.log(`${label}: largest difference from base ${(out.reduce((m, v, t) => Math.max(m, Math.abs(v - reference[t]!)), 0) / scale).toExponential(1)} of ${scale.toFixed(1)}`);
  }
}
