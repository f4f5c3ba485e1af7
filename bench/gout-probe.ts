// What costs G-out's input gradient (conv 64 → 1, 7×7 on 134² → 128², batch 16; --row D-out: 512 → 1, 4×4 pad 1 on 15²) its
// time in conv_transpose2d_single_subgroup.wgsl rowsWindow: the kernel dispatched directly with timing-only edits (their
// outputs are not the gradient's), and conv_transpose2d_single_strips.wgsl rowStrips beside it, alternated call by call in one
// process (best CPU ms of the rounds, × the matmul 1024³ of the same rounds).
//   node --import tsx bench/gout-probe.ts [--rounds 5] [--row G-out|D-out] [--only base,noStores,rowStrips,...]
import { parseArgs } from 'node:util';
import { gpu, init } from '../src/gpu/index.js';
import { kernel, Params } from '../src/kernels/launch.js';
import { matmulCase, printBestRounds, type ProbeCase, registerShaderEdits } from './probe-rounds.js';
import { randomBuffer } from './random-buffer.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '5' }, only: { type: 'string' }, row: { type: 'string', default: 'G-out' } } });
await init();

const FILE = 'conv_transpose2d_single_subgroup';
const SUM_ALL = Array.from({ length: 128 }, (_, t) => `gradAcc[${t}]`).join(' + ');
const EDITS: Record<string, [string, string][]> = {
  noStores: [['  if (invocation >= total) { return; }\n  storeGradRow(n, ih0, iw0, ci0, 0u);', `  if (invocation < total + 1u) { let s = ${SUM_ALL}; GX[invocation] = s.x + s.y + s.z + s.w; return; }\n  storeGradRow(n, ih0, iw0, ci0, 0u);`]],
  noGY: [['gyRow[s] = gradAt(first + i32(s));', 'gyRow[s] = f32(first) + f32(s) * 0.5 + f32(gyRowBase);']],
  noShuffle: [['let w = subgroupShuffle(heldGradTaps[8u * c + KERNEL_W - 1u - s], i);', 'let w = heldGradTaps[8u * c + KERNEL_W - 1u - s] + f32(i);']],
};
// vec4Stores / vec2Stores: GX bound as vec4 / vec2, each channel's 8 outputs as aligned vec4 (vec2) stores where the row
// allows (W even, the octet inside the row), one component at a time elsewhere.
const VEC4_STORE_FN = `
fn storeChannelVec(n: u32, ih: u32, iw0: u32, ci: u32, lo: vec4<f32>, hi: vec4<f32>) {
  if (ci >= p.Cin) { return; }
  var bias = 0.0;
  if (p.hasBias == 1u) { bias = Bias[ci]; }
  let a = lo + bias;
  let b = hi + bias;
  let at = ((n * p.Cin + ci) * p.H + ih) * p.W + iw0;
  let whole = (p.W % 2u == 0u) & (iw0 + 8u <= p.W);
  if (whole & (at % 4u == 0u)) {
    GX[at / 4u] = a;
    GX[at / 4u + 1u] = b;
  } else if (whole) {
    GX[at / 4u][2] = a.x;
    GX[at / 4u][3] = a.y;
    GX[at / 4u + 1u] = vec4<f32>(a.zw, b.xy);
    GX[at / 4u + 2u][0] = b.z;
    GX[at / 4u + 2u][1] = b.w;
  } else {
    let outputs = array<f32, 8>(a.x, a.y, a.z, a.w, b.x, b.y, b.z, b.w);
    for (var t = 0u; t < 8u; t++) {
      if (iw0 + t < p.W) { GX[(at + t) / 4u][(at + t) % 4u] = outputs[t]; }
    }
  }
}
`;
const VEC2_STORE_FN = `
fn storeChannelVec(n: u32, ih: u32, iw0: u32, ci: u32, lo: vec4<f32>, hi: vec4<f32>) {
  if (ci >= p.Cin) { return; }
  var bias = 0.0;
  if (p.hasBias == 1u) { bias = Bias[ci]; }
  let a = lo + bias;
  let b = hi + bias;
  let at = ((n * p.Cin + ci) * p.H + ih) * p.W + iw0;
  if ((p.W % 2u == 0u) & (iw0 + 8u <= p.W)) {
    GX[at / 2u] = a.xy;
    GX[at / 2u + 1u] = a.zw;
    GX[at / 2u + 2u] = b.xy;
    GX[at / 2u + 3u] = b.zw;
  } else {
    let outputs = array<f32, 8>(a.x, a.y, a.z, a.w, b.x, b.y, b.z, b.w);
    for (var t = 0u; t < 8u; t++) {
      if (iw0 + t < p.W) { GX[(at + t) / 2u][(at + t) % 2u] = outputs[t]; }
    }
  }
}
`;
const vecStores = (n: number, fn: string): [string, string][] => [
  ['@group(0) @binding(4) var<storage, read_write> GX: array<Stored>;', `@group(0) @binding(4) var<storage, read_write> GX: array<vec${n}<f32>>;`],
  ['GX[base + iw0 + t] = stored(outputs[t] + bias);', `GX[(base + iw0 + t) / ${n}u][(base + iw0 + t) % ${n}u] = outputs[t] + bias;`],
  ['override WG: u32 = 64u;', `override WG: u32 = 64u;${fn}`],
  ['  storeChannel(n, ih0 + r, iw0, ci0', '  storeChannelVec(n, ih0 + r, iw0, ci0']];
EDITS.vec4Stores = vecStores(4, VEC4_STORE_FN);
EDITS.vec2Stores = vecStores(2, VEC2_STORE_FN);
// smallStores: every store kept but into the first 4 MB of GX (cache-resident), to split the stores' cost into store
// instructions and memory traffic.
EDITS.smallStores = [['if (iw0 + t < p.W) { GX[base + iw0 + t] = stored(outputs[t] + bias); }', 'if (iw0 + t < p.W) { GX[(base + iw0 + t) & 0xfffffu] = stored(outputs[t] + bias); }']];
EDITS.vec4SmallStores = [...EDITS.vec4Stores!.map(([a, b]): [string, string] => [a, b.replace('let at = ((n * p.Cin + ci) * p.H + ih) * p.W + iw0;', 'let at = (((n * p.Cin + ci) * p.H + ih) * p.W + iw0) & 0xffffcu;')])];
// unrolledStores: the 8 scalar stores written out (no private array of outputs indexed by the loop counter).
const SCALAR8 = (idx: (t: number) => string) => ['a.x', 'a.y', 'a.z', 'a.w', 'b.x', 'b.y', 'b.z', 'b.w'].map((v, t) => `    if (iw0 + ${t}u < p.W) { ${idx(t)} = ${v}; }`).join('\n');
EDITS.unrolledStores = [['  let outputs = array<f32, 8>(lo.x, lo.y, lo.z, lo.w, hi.x, hi.y, hi.z, hi.w);\n  let base = ((n * p.Cin + ci) * p.H + ih) * p.W;\n  for (var t = 0u; t < 8u; t++) {\n    if (iw0 + t < p.W) { GX[base + iw0 + t] = stored(outputs[t] + bias); }\n  }',
  `  let a = lo + bias;\n  let b = hi + bias;\n  let at = ((n * p.Cin + ci) * p.H + ih) * p.W + iw0;\n${SCALAR8((t) => `GX[at + ${t}u]`)}`]];
EDITS.vec4Unrolled = EDITS.vec4Stores!.map(([a, b]): [string, string] => [a, b.replace(/    let outputs = array[\s\S]*?\n    }\n/, `${SCALAR8((t) => `GX[(at + ${t}u) / 4u][(at + ${t}u) % 4u]`)}\n`)]);
EDITS.noGYnoStores = [...EDITS.noGY!, ...EDITS.noStores!];
EDITS.computeOnly = [...EDITS.noGY!, ...EDITS.noStores!, ...EDITS.noShuffle!];
registerShaderEdits(FILE, EDITS);

const G = values.row === 'D-out' ? { N: 16, H: 15, W: 15, Cin: 512, OH: 14, OW: 14, KH: 4, KW: 4, P: 1 } : { N: 16, H: 134, W: 134, Cin: 64, OH: 128, OW: 128, KH: 7, KW: 7, P: 0 };
const { N, H, W, Cin, OH, OW, KH, KW } = G;
const gy = randomBuffer(N * OH * OW, 17);
const w = randomBuffer(Cin * KH * KW, 13);
const params = new Params().u32(N, Cin, H, W, 1, OH, OW, 0, KH, KW, 1, 1).i32(G.P, G.P).u32(1, 1, 0, 0, 0, 0).done();

interface Launch { edit?: string; file?: string; entryPoint?: string; rows?: number; wg?: number; constants?: Record<string, number> }
function dispatcher(l: Launch): () => GPUBuffer[] {
  const rows = l.rows ?? Math.ceil(H / Math.ceil(H / 8));
  const invocationsPerBlock = N * Math.ceil(H / (l.constants?.STRIP_ROWS ?? rows)) * Math.ceil(W / 8);
  const wg = l.wg ?? (invocationsPerBlock < 1024 ? 8 : 64);
  const file = l.edit ? `probe_${l.edit}` : l.file ?? FILE;
  const k = kernel(file, { name: `probe.${l.edit ?? l.file ?? 'base'}${JSON.stringify(l.constants ?? {})}`, entryPoint: l.entryPoint ?? 'rowsWindow', constants: { WG: wg, ...(l.constants?.STRIP_ROWS && l.file?.includes('strips') ? {} : { WINDOW_ROWS: rows }), KERNEL_W: KW, ...l.constants, ...(l.constants?.KERNEL_H ? { KERNEL_H: KH } : {}), ...(l.constants?.STRIP_ROWS ? { STRIP_ROWS: Math.min(l.constants.STRIP_ROWS, H) } : {}) } });
  const invocations = N * Math.ceil(H / Math.min(l.constants?.STRIP_ROWS ?? rows, H)) * Math.ceil(W / 8);
  const groups = Math.ceil(invocations / wg);
  return () => {
    const gx = gpu().pool.acquire(N * Cin * H * W * 4);
    gpu().dispatch(k, [gy, w, gpu().placeholder, gx], params, [groups, Math.ceil(Cin / 8), 1]);
    return [gx];
  };
}

const flops = 2 * N * OH * OW * Cin * KH * KW;
const variants: [string, Launch][] = [
  ['base', {}],
  // The kernel conv2dTranspose runs by default (convSingleInputGrad 'strips'), in strips of 45 (3 strips: the launcher's split of 134 rows) / 27 (5) / 67 (2).
  ['rowStrips', { file: 'conv_transpose2d_single_strips', entryPoint: 'rowStrips', constants: { STRIP_ROWS: 45, KERNEL_H: 7 } }],
  // GX bound as f32, each output stored by itself (the launcher's choice on odd widths: D-out's 15).
  ['rowStripsElements', { file: 'conv_transpose2d_single_strips_elements', entryPoint: 'rowStrips', constants: { STRIP_ROWS: 45, KERNEL_H: 7 } }],
  ['rowStrips27', { file: 'conv_transpose2d_single_strips', entryPoint: 'rowStrips', constants: { STRIP_ROWS: 27, KERNEL_H: 7 } }],
  ['rowStrips67', { file: 'conv_transpose2d_single_strips', entryPoint: 'rowStrips', constants: { STRIP_ROWS: 67, KERNEL_H: 7 } }],
  ...Object.keys(EDITS).map((edit): [string, Launch] => [edit, { edit }]),
];
const only = values.only?.split(',');
const cases: ProbeCase[] = variants.filter(([label]) => !only || only.includes(label)).map(([label, l]) => ({ label: `${values.row} input grad ${label}`, flops, run: dispatcher(l) }));
const S = 1024;
const ma = randomBuffer(S * S, 19), mb = randomBuffer(S * S, 23);
cases.push(matmulCase(S, ma, mb));
await printBestRounds(cases, Number(values.rounds), 40);
