// What costs LightCNN-9's 1×1 forward GEMMs (short K = Cin) their time: matmul_subgroup.wgsl dispatched directly, one
// thing varied at a time against the launcher's choice, alternated call by call in one process (best CPU ms of the rounds).
//   node --import tsx bench/short-k-probe.ts [--rounds 5] [--rows group4,group1] [--only base,aAlongM,...]
//     [--baseline main]   (also the 1024³ product through that commit's matmul_subgroup.wgsl and this tree's, dispatched alike)
import { execFileSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { gpu, init } from '../src/gpu/index.js';
import { kernel, Params } from '../src/kernels/launch.js';
import { shaderSources } from '../src/shaders.generated.js';
import { conv2dForward, conv2dMfmForward, conv2dTranspose, type ConvGeometry } from '../src/kernels/conv.js';
import { COLUMNS_OUT_B, type KernelChoices } from '../src/gpu/policy.js';
import { matmulCase, printBestRounds, type ProbeCase, registerShaderEdits } from './probe-rounds.js';
import { randomBuffer } from './random-buffer.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '5' }, rows: { type: 'string', default: 'group1,group2,group3,group4' }, only: { type: 'string' }, twice: { type: 'boolean', default: false }, baseline: { type: 'string' } } });
await init();

const LIGHTCNN: Record<string, { Cin: number; Cout: number; size: number }> = {
  group1: { Cin: 48, Cout: 96, size: 64 },
  group2: { Cin: 96, Cout: 192, size: 32 },
  group3: { Cin: 192, Cout: 384, size: 16 },
  group4: { Cin: 128, Cout: 256, size: 16 },
};
const BATCH = 16;

// Timing-only edits of matmul_subgroup.wgsl (their outputs are not the product's): where the epilogue's time goes.
const EDITS: Record<string, [string, string][]> = {
  uniformRows: [['let m0 = (wid.y * WGY + lid.y) * ROWS;', 'let m0 = subgroupBroadcastFirst((wid.y * WGY + lid.y) * ROWS);']],
  laneContiguous: [['  let e = rowEpilogue(batch, n0);\n  for (var c = 0u; c < 4u; c++) {', '  let e = rowEpilogue(batch, n0);\n  let q = ((batch * p.M + m0) * p.N + n0 * 16u) / 4u;\n  for (var c = 0u; c < 4u; c++) { C[q + c] = acc0[c]; C[q + 4u + c] = acc1[c]; C[q + 8u + c] = acc2[c]; C[q + 12u + c] = acc3[c]; }\n  for (var c = 0u; c < 0u; c++) {']],
  noRowTest: [['if (m >= e.rows) { return; }', '']],
  oneStore: [['  let e = rowEpilogue(batch, n0);\n  for (var c = 0u; c < 4u; c++) {', '  let e = rowEpilogue(batch, n0);\n  storeRow(batch, m0, n0, acc0[0] + acc0[1] + acc0[2] + acc0[3] + acc1[0] + acc1[1] + acc1[2] + acc1[3] + acc2[0] + acc2[1] + acc2[2] + acc2[3] + acc3[0] + acc3[1] + acc3[2] + acc3[3], e);\n  for (var c = 0u; c < 0u; c++) {']],
  matStore: [
    ['@group(0) @binding(4) var<storage, read_write> C: array<vec4<Stored>>;', '@group(0) @binding(4) var<storage, read_write> CM: array<mat4x4<f32>>;\nvar<private> C: array<vec4<f32>, 4>;'],
    ['  let e = rowEpilogue(batch, n0);\n  for (var c = 0u; c < 4u; c++) {', '  let e = rowEpilogue(batch, n0);\n  let q = ((batch * p.M + m0) * p.N + n0 * 16u) / 64u;\n  CM[q] = acc0; CM[q + 1u] = acc1; CM[q + 2u] = acc2; CM[q + 3u] = acc3;\n  for (var c = 0u; c < 0u; c++) {'],
  ],
  // C_ALONG_M (the forward as xᵀ·Wᵀ): each column's 16 rows as one mat4x4 store instead of 4 vec4 stores.
  columnsMat: [
    ['@group(0) @binding(4) var<storage, read_write> C: array<vec4<Stored>>;', '@group(0) @binding(4) var<storage, read_write> CM: array<mat4x4<f32>>;\nvar<private> C: array<vec4<f32>, 4>;'],
    ['    for (var i = 0u; i < 4u; i++) {\n      var v = quads[i][j] + vec4<f32>(columnBias);', '    var block: mat4x4<f32>;\n    for (var i = 0u; i < 4u; i++) {\n      var v = quads[i][j] + vec4<f32>(columnBias);'],
    ['      C[first + i] = storedQuad(v);\n    }\n  }\n}', '      block[i] = v;\n    }\n    CM[first / 4u] = block;\n  }\n}'],
  ],
  // C_ALONG_M: one vec4 store per invocation (the sum of its accumulators): what the other 15 cost.
  columnsOneStore: [
    ['      C[first + i] = storedQuad(v);\n    }\n  }\n}', '      if (j == 0u && i == 0u) { C[first] = storedQuad(v + quads[1][1] + quads[2][2] + quads[3][3] + quads[0][1] + quads[1][2] + quads[2][3] + quads[3][0] + quads[0][2] + quads[1][3] + quads[2][0] + quads[3][1] + quads[0][3] + quads[1][0] + quads[2][1] + quads[3][2]); }\n    }\n  }\n}'],
  ],
};
registerShaderEdits('matmul_subgroup', EDITS);

interface Launch {
  M: number; N: number; K: number; batch: number;
  wgx: number; wgy: number;
  aAlongM?: boolean; cQuads?: boolean; /** C's batch stride 0: every image stores into one image's C (cache-resident; timing only). */ cShared?: boolean; bias?: boolean; mfm?: 0 | 1 | 2; edit?: string;
  /** The forward as xᵀ·Wᵀ (M = HW pixels, N = Cout): A = x along m, B = Wᵀ along k, C stored along m (C_ALONG_M). */
  transposed?: boolean;
}

/** The launcher's tile shape (matmul.ts subgroupTileShape, 'fitted'). */
function fitted(M: number, N: number): { wgx: number; wgy: number } {
  const rowBlocks = Math.ceil(M / 16);
  let wgy = 1;
  while (wgy < 8 && rowBlocks % (2 * wgy) === 0) wgy *= 2;
  const columnSubgroups = Math.ceil(N / 32);
  let subgroups = 64 / (8 * wgy);
  while (subgroups > 1 && columnSubgroups % subgroups !== 0) subgroups /= 2;
  return { wgx: subgroups * 8, wgy };
}

function dispatcher(l: Launch, a: GPUBuffer, b: GPUBuffer, bias: GPUBuffer): () => GPUBuffer[] {
  const rowsOut = l.mfm ? l.M / 2 : l.M;
  const t = l.transposed ?? false;
  const constants = { WGX: l.wgx, WGY: l.wgy, A_ALONG_M: Number((l.aAlongM ?? false) || t), B_ALONG_K: Number(t), EPILOGUE_PER_ROW: 1, C_QUADS: Number(l.cQuads ?? true), MFM: l.mfm ?? 0, C_ALONG_M: Number(t) };
  const k = kernel(l.edit ? `probe_${l.edit}` : 'matmul_subgroup', { name: `probe.subgroup${l.edit ?? ''}${t ? 'T' : ''}`, entryPoint: 'subgroupTiled', replacements: { ACT: 'v' }, constants });
  const params = t
    ? new Params().u32(l.M, l.N, l.K, l.bias ? 1 : 0).u32(l.K * l.M, 1, l.M, 0).u32(0, 1, l.K, 0).u32(l.M * l.N, 1, 0, 0).u32(0, 0, 0, l.M).done()
    : new Params()
    .u32(l.M, l.N, l.K, l.bias ? 1 : 0)
    .u32(0, l.aAlongM ? 1 : l.K, l.aAlongM ? l.M : 1, 0)
    .u32(l.K * l.N, l.N, 1, 0)
    .u32(l.cShared ? 0 : rowsOut * l.N, l.N, 0, 0)
    .u32(0, 0, 1, 0)
    .done();
  const workgroups: [number, number, number] = [Math.ceil(l.N / (4 * l.wgx)), Math.ceil(l.M / (16 * l.wgy)), l.batch];
  return () => {
    const c = gpu().pool.acquire(l.batch * rowsOut * l.N * 4);
    const mask = l.mfm === 1 ? gpu().pool.acquire(l.batch * rowsOut * l.N * 4) : undefined;
    gpu().dispatch(k, [a, b, l.bias ? bias : gpu().placeholder, c, mask ?? gpu().placeholderOutput], params, workgroups);
    return mask ? [c, mask] : [c];
  };
}

/** run's launches encoded under `overrides` (dispatches are encoded synchronously). */
function withPolicy(overrides: Partial<KernelChoices>, run: () => GPUBuffer[]): GPUBuffer[] {
  const saved = gpu().policy.choices();
  gpu().policy.set(overrides);
  try {
    return run();
  } finally {
    gpu().policy.set(Object.fromEntries(Object.keys(overrides).map((key) => [key, saved[key as keyof KernelChoices]])));
  }
}

type Case = ProbeCase;
const cases: Case[] = [];
const only = values.only?.split(',');
for (const name of values.rows!.split(',')) {
  const { Cin, Cout, size } = LIGHTCNN[name]!;
  const HW = size * size;
  const w = randomBuffer(Cout * Cin * 4, 13);
  const x = randomBuffer(BATCH * 4 * Cin * HW, 11);
  const bias = randomBuffer(Cout, 17);
  const flops = 2 * BATCH * Cout * Cin * HW;
  const forward: Launch = { M: Cout, N: HW, K: Cin, batch: BATCH, ...fitted(Cout, HW) };
  const variants: [string, Launch][] = [
    ['base', forward],
    ['cQuads0', { ...forward, cQuads: false }],
    ['bias', { ...forward, bias: true }],
    ['aAlongM', { ...forward, aAlongM: true }],
    ['folded', { ...forward, batch: 1, N: BATCH * HW, ...fitted(Cout, BATCH * HW) }],
    ['inputGradShape', { M: Cin, N: HW, K: Cout, batch: BATCH, aAlongM: true, ...fitted(Cin, HW) }],
    ['inputGradShapeAlongK', { M: Cin, N: HW, K: Cout, batch: BATCH, ...fitted(Cin, HW) }],
    ...[4, 16, 2 * Cin, 4 * Cin].map((K): [string, Launch] => [`K${K}`, { ...forward, K }]),
    ['cShared', { ...forward, cShared: true }],
    ['transposed', { M: HW, N: Cout, K: Cin, batch: BATCH, transposed: true, ...fitted(HW, Cout) }],
    ['transposedBias', { M: HW, N: Cout, K: Cin, batch: BATCH, transposed: true, bias: true, ...fitted(HW, Cout) }],
    ['transposedMat', { M: HW, N: Cout, K: Cin, batch: BATCH, transposed: true, edit: 'columnsMat', ...fitted(HW, Cout) }],
    ['transposedOneStore', { M: HW, N: Cout, K: Cin, batch: BATCH, transposed: true, edit: 'columnsOneStore', ...fitted(HW, Cout) }],
    ...Object.keys(EDITS).filter((edit) => !edit.startsWith('columns')).map((edit): [string, Launch] => [edit, { ...forward, edit }]),
    ['uniformRowsBias', { ...forward, bias: true, edit: 'uniformRows' }],
    ['uniformRowsMfm1', { ...forward, mfm: 1, bias: true, edit: 'uniformRows' }],
    ['uniformRowsMfm2', { ...forward, mfm: 2, bias: true, edit: 'uniformRows' }],
    ['K4cShared', { ...forward, K: 4, cShared: true }],
    ['mfm1', { ...forward, mfm: 1, bias: true }],
    ['mfm2', { ...forward, mfm: 2, bias: true }],
  ];
  const rowBlocks = Math.ceil(Cout / 16);
  const tiles = [[8, 8], [16, 4], [32, 2], [64, 1], [8, 4], [16, 2], [8, 2], [16, 8], [32, 4], [8, 16], [32, 8], [8, rowBlocks], [16, rowBlocks], [8, rowBlocks / 2], [16, rowBlocks / 2], [32, rowBlocks / 2]];
  for (const [wgx, wgy] of tiles.filter(([x, y], i) => tiles.findIndex(([x2, y2]) => x2 === x && y2 === y) === i)) {
    if (wgx === forward.wgx && wgy === forward.wgy) continue;
    if (rowBlocks % wgy !== 0 || wgx * wgy > 256) continue;
    variants.push([`tile${wgx}x${wgy}`, { ...forward, wgx, wgy }]);
  }
  // The forward as xᵀ·Wᵀ (matmulColumnsOut's launch) under other tiles: WGX lanes of 4 output channels, WGY blocks of 16 pixels.
  const pixelRows: Launch = { M: HW, N: Cout, K: Cin, batch: BATCH, transposed: true, ...fitted(HW, Cout) };
  for (const wgx of [8, 16, 24, 32]) {
    for (const wgy of [1, 2, 4, 8, 16]) {
      if ((wgx === pixelRows.wgx && wgy === pixelRows.wgy) || wgx * wgy > 256 || Cout % (4 * wgx) !== 0) continue;
      variants.push([`transposedTile${wgx}x${wgy}`, { ...pixelRows, wgx, wgy }]);
    }
  }
  const g: ConvGeometry = { N: BATCH, Cin, H: size, W: size, Cout, OH: size, OW: size, KH: 1, KW: 1, SH: 1, SW: 1, PH: 0, PW: 0, DH: 1, DW: 1 };
  const gy = randomBuffer(BATCH * Cout * HW, 29);
  // --twice: each case again right after itself, to tell its own cost from what the case before it leaves behind.
  const repeat = (c: Case) => (values.twice ? [c, { ...c, label: `${c.label} (again)` }] : [c]);
  const real: [string, () => GPUBuffer[]][] = [
    ['conv2dForward', () => [conv2dForward(x, w, undefined, g)]],
    ['conv2dForwardBias', () => [conv2dForward(x, w, bias, g)]],
    ['conv2dMfmForward', () => Object.values(conv2dMfmForward(x, w, undefined, g, true)).filter((o): o is GPUBuffer => o !== undefined)],
    ['conv2dTranspose', () => [conv2dTranspose(gy, w, undefined, g)]],
    // The forwards as xᵀ·Wᵀ with B (the weights) read from storage or a workgroup copy (columnsOutB).
    ...COLUMNS_OUT_B.flatMap((source): [string, () => GPUBuffer[]][] => [
      [`pixelRowsBias.${source}`, () => withPolicy({ pointwiseForwardLayout: 'pixelRows', columnsOutB: source }, () => [conv2dForward(x, w, bias, g)])],
      [`pixelRowsMfm.${source}`, () => withPolicy({ pointwiseForwardLayout: 'pixelRows', columnsOutB: source }, () => Object.values(conv2dMfmForward(x, w, bias, g, true)).filter((o): o is GPUBuffer => o !== undefined))],
    ]),
  ];
  for (const [label, run] of real) if (!only || only.includes(label)) cases.push(...repeat({ label: `${name} ${Cin}→${Cout} ${size}² ${label}`, flops, run }));
  for (const [label, l] of variants) {
    if (only && !only.includes(label)) continue;
    cases.push(...repeat({ label: `${name} ${Cin}→${Cout} ${size}² ${label} M${l.M} N${l.N} K${l.K} b${l.batch} wg${l.wgx}x${l.wgy}`, flops, run: dispatcher(l, w, x, bias) }));
  }
}
const S = 1024;
const ma = randomBuffer(S * S, 19), mb = randomBuffer(S * S, 23);
if (values.baseline) {
  // That commit's file with its includes spliced in from the same commit, as scripts/bundle-shaders.mjs splices them.
  const show = (path: string) => execFileSync('git', ['show', `${values.baseline}:${path}`], { encoding: 'utf8' });
  shaderSources['probe_baseline'] = show('shaders/matmul_subgroup.wgsl').replace(/^\/\/!include (\S+)\s*$/gm, (_, name: string) => show(`shaders/include/${name}.wgsl`).trimEnd());
  const square: Launch = { M: S, N: S, K: S, batch: 1, ...fitted(S, S), cQuads: true };
  cases.push({ label: `matmul ${S}³ direct, ${values.baseline}'s kernel`, flops: 2 * S ** 3, run: dispatcher({ ...square, edit: 'baseline' }, ma, mb, ma) });
  cases.push({ label: `matmul ${S}³ direct, this tree's kernel`, flops: 2 * S ** 3, run: dispatcher(square, ma, mb, ma) });
}
cases.push(matmulCase(S, ma, mb));
await printBestRounds(cases, Number(values.rounds), 78);
