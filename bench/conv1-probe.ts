// What costs LightCNN-9's conv1 forward (1→96 5×5 pad 2 on 128², batch 16) its time in conv2d_window_subgroup.wgsl:
// the kernel dispatched directly, with timing-only edits (their outputs are not the conv's), alternated call by call in one
// process (best CPU ms of the rounds, × the matmul 1024³ of the same rounds).
//   node --import tsx bench/conv1-probe.ts [--rounds 5] [--only base,noStores,...]
import { parseArgs } from 'node:util';
import { gpu, init } from '../src/gpu/index.js';
import { kernel, Params } from '../src/kernels/launch.js';
import { shaderSources } from '../src/shaders.generated.js';
import { matmulCase, printBestRounds, type ProbeCase, registerShaderEdits } from './probe-rounds.js';
import { randomBuffer } from './random-buffer.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '5' }, only: { type: 'string' } } });
await init();

const SUM_ALL = Array.from({ length: 8 }, (_, t) => `lo[${t}].r0 + lo[${t}].r1 + lo[${t}].r2 + lo[${t}].r3 + hi[${t}].r0 + hi[${t}].r1 + hi[${t}].r2 + hi[${t}].r3`).join(' + ');
// noStores: one store of all sums per invocation; noX / noW: inputs / weight quads made up from their indices instead of
// loaded (noXUniform: X at a subgroup-uniform address); noShuffle: each lane's own weight quad for every t; uniformW(2): the 8
// weight quads loaded at subgroup-uniform addresses instead of one per lane and shuffled; x4: X bound as vec4, 4 aligned quad
// loads per row of taps instead of 12 scalars; mat2x4Stores / plainQuadStores: each channel's 8 outputs as one mat2x4 / two
// vec4 stores without the epilogue's bounds tests, bias or mfm; computeOnly: noX, noW and noStores together.
const EDITS: Record<string, [string, string][]> = {
  noStores: [['if (pix0 >= pixels) { return; }', `if (pix0 < pixels + 1u) { Y[pix0 / 4u] = storedQuad(${SUM_ALL}); return; }`]],
  noX: [['return select(0.0, f32(X[rowBase + u32(clamp(iw, 0, i32(p.W) - 1))]), inside);', 'return select(0.0, f32(rowBase) + f32(iw), inside);']],
  noXUniform: [['return select(0.0, f32(X[rowBase + u32(clamp(iw, 0, i32(p.W) - 1))]), inside);', 'return select(0.0, f32(X[subgroupBroadcastFirst(rowBase + u32(clamp(iw, 0, i32(p.W) - 1)))]), inside);']],
  noW: [['let w0 = Packed[k];\n  let w1 = Packed[k + step];\n  let w2 = Packed[k + 2u * step];\n  let w3 = Packed[k + 3u * step];\n  let w4 = Packed[k + 4u * step];',
    'let w0 = vec4<f32>(f32(k)) + vec4<f32>(0.1, 0.2, 0.3, 0.4);\n  let w1 = vec4<f32>(f32(k + step)) + vec4<f32>(0.1, 0.2, 0.3, 0.4);\n  let w2 = vec4<f32>(f32(k + 2u * step)) + vec4<f32>(0.1, 0.2, 0.3, 0.4);\n  let w3 = vec4<f32>(f32(k + 3u * step)) + vec4<f32>(0.1, 0.2, 0.3, 0.4);\n  let w4 = vec4<f32>(f32(k + 4u * step)) + vec4<f32>(0.1, 0.2, 0.3, 0.4);']],
  noShuffle: [['for (var t = 0u; t < 8u; t++) {\n    let a0 = subgroupShuffle(w0, t);\n    let a1 = subgroupShuffle(w1, t);\n    let a2 = subgroupShuffle(w2, t);\n    let a3 = subgroupShuffle(w3, t);\n    let a4 = subgroupShuffle(w4, t);',
    'for (var t = 0u; t < 8u; t++) {\n    let a0 = w0 + f32(t);\n    let a1 = w1 + f32(t);\n    let a2 = w2 + f32(t);\n    let a3 = w3 + f32(t);\n    let a4 = w4 + f32(t);']],
  uniformW: [['let laneQuad = r0 / 4u + lane;', 'let laneQuad = subgroupBroadcastFirst(r0 / 4u);'],
    ['let w0 = Packed[k];\n  let w1 = Packed[k + step];\n  let w2 = Packed[k + 2u * step];\n  let w3 = Packed[k + 3u * step];\n  let w4 = Packed[k + 4u * step];', ''],
    ['let a0 = subgroupShuffle(w0, t);\n    let a1 = subgroupShuffle(w1, t);\n    let a2 = subgroupShuffle(w2, t);\n    let a3 = subgroupShuffle(w3, t);\n    let a4 = subgroupShuffle(w4, t);',
     'let a0 = Packed[k + t];\n    let a1 = Packed[k + step + t];\n    let a2 = Packed[k + 2u * step + t];\n    let a3 = Packed[k + 3u * step + t];\n    let a4 = Packed[k + 4u * step + t];']],
};
EDITS.uniformWnoStores = [...EDITS.uniformW!, ...EDITS.noStores!];
EDITS.uniformW2 = [['let r0 = (wid.y * WGY + lid.y) * ROWS;', 'let r0 = wid.y * ROWS;'], ...EDITS.uniformW!.slice(1), ['let laneQuad = r0 / 4u + lane;', 'let laneQuad = r0 / 4u;']];
EDITS.x4 = [
  ['@group(0) @binding(1) var<storage, read> X: array<Operand>;', '@group(0) @binding(1) var<storage, read> X: array<vec4<f32>>;'],
  ['return select(0.0, f32(X[rowBase + u32(clamp(iw, 0, i32(p.W) - 1))]), inside);', 'return 0.0;'],
  ['let a = inputQuad(iwFirst);\n  let b = inputQuad(iwFirst + 4);\n  let c = inputQuad(iwFirst + 8);',
   `let ow0 = u32(iwFirst + 2);
  let qb = (rowBase + ow0) / 4u;
  let q0 = select(vec4<f32>(0.0), X[max(qb, 1u) - 1u], rowInside & (ow0 > 0u));
  let q1 = select(vec4<f32>(0.0), X[qb], rowInside);
  let q2 = select(vec4<f32>(0.0), X[qb + 1u], rowInside);
  let q3 = select(vec4<f32>(0.0), X[min(qb + 2u, arrayLength(&X) - 1u)], rowInside & (ow0 + 8u < p.W));
  let a = vec4<f32>(q0.zw, q1.xy);
  let b = vec4<f32>(q1.zw, q2.xy);
  let c = vec4<f32>(q2.zw, q3.xy);`]];
EDITS.x4uniformW2 = [...EDITS.x4, ...EDITS.uniformW2];
const EPILOGUE = shaderSources['conv2d_window_subgroup']!.match(/  storeRows\(r0, image, offset, lo\[0\], e\);[\s\S]*?hi\[7\], e\);/)![0];
const matStores = Array.from({ length: 32 }, (_, r) => `  Y2[((image * p.Cout + r0 + ${r}u) * e.plane + offset) / 8u] = mat2x4<f32>(lo[${r >> 2}].r${r & 3}, hi[${r >> 2}].r${r & 3});`).join('\n');
const quadStores = Array.from({ length: 32 }, (_, r) => `  Y[((image * p.Cout + r0 + ${r}u) * e.plane + offset) / 4u] = lo[${r >> 2}].r${r & 3};\n  Y[((image * p.Cout + r0 + ${r}u) * e.plane + offset) / 4u + 1u] = hi[${r >> 2}].r${r & 3};`).join('\n');
EDITS.mat2x4Stores = [['@group(0) @binding(4) var<storage, read_write> Y: array<vec4<Stored>>;', '@group(0) @binding(4) var<storage, read_write> Y2: array<mat2x4<f32>>;'],
  ['Y[index / 4u] = storedQuad(v);', 'Y2[index / 8u][index / 4u % 2u] = v;'], ['Y[index / 4u][c] = stored(v[c]);', 'Y2[index / 8u][index / 4u % 2u][c] = v[c];'], [EPILOGUE, matStores]];
EDITS.plainQuadStores = [[EPILOGUE, quadStores]];
EDITS.noXnoW = [...EDITS.noW!, ...EDITS.noX!];
EDITS.computeOnly = [...EDITS.noW!, ...EDITS.noX!, ...EDITS.noStores!];
EDITS.computeNoShuffle = [...EDITS.noW!, ...EDITS.noX!, ...EDITS.noStores!, ...EDITS.noShuffle!];
registerShaderEdits('conv2d_window_subgroup', EDITS);

const N = 16, H = 128, W = 128, Cout = 96, KH = 5, KW = 5;
const x = randomBuffer(N * H * W, 11);
const width = Cout / 4;
const packed = randomBuffer(KH * KW * width * 4, 13);
const bias = randomBuffer(Cout, 17);

interface Launch { edit?: string; mfm?: 0 | 1; bias?: boolean; wgx?: number; wgy?: number; quads?: number }
function dispatcher(l: Launch): () => GPUBuffer[] {
  const wgx = l.wgx ?? 256, wgy = l.wgy ?? 1;
  const quads = l.quads ?? 2;
  const constants = { WGX: wgx, WGY: wgy, STRIDE_W: 1, QUAD_STORES: 1, ROW_TAPS: 5, PIXEL_QUADS: quads };
  const k = kernel(l.edit ? `probe_${l.edit}` : 'conv2d_window_subgroup', { name: `probe.window${l.edit ?? ''}`, entryPoint: 'windowSubgroup', constants });
  const params = new Params().u32(N, 1, H, W, Cout, H, W, l.bias ? 1 : 0, KH, KW, 1, 1).i32(2, 2).u32(1, 1, 0, l.mfm ?? 0, width, 0).done();
  const outputs = N * (l.mfm !== undefined ? Cout / 2 : Cout) * H * W;
  const workgroups: [number, number] = [Math.ceil(N * H * W / (4 * quads) / wgx), Math.ceil(Cout / 32 / wgy)];
  return () => {
    const y = gpu().pool.acquire(outputs * 4);
    const mask = l.mfm === 1 ? gpu().pool.acquire(outputs * 4) : undefined;
    gpu().dispatch(k, [x, packed, l.bias ? bias : gpu().placeholder, y, mask ?? gpu().placeholderOutput, x], params, workgroups);
    return mask ? [y, mask] : [y];
  };
}

type Case = ProbeCase;
const flops = 2 * N * Cout * H * W * KH * KW;
const variants: [string, Launch][] = [
  ['base', {}],
  ['bias', { bias: true }],
  ['mfm', { mfm: 1, bias: true }],
  ...Object.keys(EDITS).map((edit): [string, Launch] => [edit, { edit }]),
  ['wg64', { wgx: 64 }],
  ['px16', { quads: 4 }],
  ['px16wg128', { quads: 4, wgx: 128 }],
  ['px16wg64', { quads: 4, wgx: 64 }],
  ['px16mfm', { quads: 4, mfm: 1, bias: true }],
];
const only = values.only?.split(',');
const cases: Case[] = variants.filter(([label]) => !only || only.includes(label)).map(([label, l]) => ({ label: `conv1 ${label}`, flops, run: dispatcher(l) }));
const S = 1024;
const ma = randomBuffer(S * S, 19), mb = randomBuffer(S * S, 23);
cases.push(matmulCase(S, ma, mb));
await printBestRounds(cases, Number(values.rounds), 40);
