// What costs G-out's forward (conv 64 → 1, 7×7 on 134² → 128², batch 16) its time in conv2d_single_subgroup.wgsl rowsWindow:
// the kernel dispatched directly with timing-only edits (their outputs are not the conv's), beside its SHARED_COLUMNS variant
// (convSingleForward 'windowShared': shared, and shared8 with 8 columns a lane), alternated call by call in one process (best
// CPU ms of the rounds, × the matmul 1024³ of the same rounds; bench/RESULTS.md 2026-12-06 goutfwd section).
//   node --import tsx bench/goutfwd-probe.ts [--rounds 5] [--only base,shared,noLoads,...]
import { parseArgs } from 'node:util';
import { gpu, init } from '../src/gpu/index.js';
import { kernel, Params } from '../src/kernels/launch.js';
import { matmulCase, printBestRounds, type ProbeCase, registerShaderEdits } from './probe-rounds.js';
import { randomBuffer } from './random-buffer.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '5' }, only: { type: 'string' } } });
await init();

const FILE = 'conv2d_single_subgroup';
const SUM_ALL = Array.from({ length: 64 }, (_, t) => `windowAcc[${t}]`).join(' + ');
const EDITS: Record<string, [string, string][]> = {
  noShuffle: [['let w = subgroupShuffle(heldTaps[kw], t - r);', 'let w = heldTaps[kw] + f32(t - r);']],
  noLoads: [['for (var j = 0u; j < KERNEL_W + 8u * WINDOW_OCTETS - 1u; j++) { inputRow[j] = inputAt(iwFirst + i32(j)); }', 'for (var j = 0u; j < KERNEL_W + 8u * WINDOW_OCTETS - 1u; j++) { inputRow[j] = f32(j) * 0.5 + f32(rowBase); }']],
  noStores: [['  if (placed.copy) { return; }\n  var bias = 0.0;\n  var pairBias', `  if (lid.x < 1000u) { let s = ${SUM_ALL}; Y[(wid.y * groups.x + wid.x) * WG + lid.x] = s.x + s.y + s.z + s.w; return; }\n  var bias = 0.0;\n  var pairBias`]],
};
// smallLoads: every load kept but from X's first 256 KB (cache-resident), to split the loads' cost into load instructions
// and memory traffic.
EDITS.smallLoads = [['      rowBase = ((image * p.Cin + ci) * p.H + u32(clamp(ih, 0, i32(p.H) - 1))) * p.W;\n', '      rowBase = (((image * p.Cin + ci) * p.H + u32(clamp(ih, 0, i32(p.H) - 1))) * p.W) & 0xffffu;\n']];
// sharedNoLoads (with SHARED_COLUMNS 1): loadSharedWindow's own columns and tail made up from rowBase (the shuffles kept).
EDITS.sharedNoLoads = [
  ['  for (var j = 0u; j < 8u * WINDOW_OCTETS; j++) { inputRow[j] = inputAt(iwFirst + i32(j)); }', '  for (var j = 0u; j < 8u * WINDOW_OCTETS; j++) { inputRow[j] = f32(j) * 0.5 + f32(rowBase); }'],
  ['let tail = inputAt(spanEnd + i32(min(lane, max(KERNEL_W, 2u) - 2u)));', 'let tail = f32(rowBase) + f32(lane);'],
];
EDITS.computeOnly = [...EDITS.noShuffle!, ...EDITS.noLoads!, ...EDITS.noStores!];
registerShaderEdits(FILE, EDITS);

const N = 16, H = 134, W = 134, Cin = 64, OH = 128, OW = 128, KH = 7, KW = 7;
const x = randomBuffer(N * Cin * H * W, 17);
const w = randomBuffer(Cin * KH * KW, 13);
const params = new Params().u32(N, Cin, H, W, 1, OH, OW, 0, KH, KW, 1, 1).i32(0, 0).u32(1, 1, 0, 0, 0, 0).done();

interface Launch { shared?: boolean; edit?: string; file?: string; entryPoint?: string; rows?: number; columns?: number; wg?: number; constants?: Record<string, number> }
function dispatcher(l: Launch): () => GPUBuffer[] {
  const rows = l.rows ?? 16;
  const columns = l.columns ?? 16;
  const tiles = l.shared ? 8 * N * Math.ceil(OH / rows) * Math.ceil(OW / (8 * columns)) : N * Math.ceil(OH / rows) * Math.ceil(OW / columns);
  const wg = l.wg ?? (tiles < 1024 ? 8 : 64);
  const file = l.edit ? `probe_${l.edit}` : l.file ?? FILE;
  const k = kernel(file, { name: `probe.${l.edit ?? l.file ?? 'base'}${JSON.stringify(l.constants ?? {})}`, entryPoint: l.entryPoint ?? 'rowsWindow', constants: { WG: wg, WINDOW_ROWS: rows, KERNEL_W: KW, WINDOW_OCTETS: columns / 8, ...l.constants } });
  const groups = Math.ceil(tiles / wg);
  return () => {
    const y = gpu().pool.acquire(N * OH * OW * 4);
    gpu().dispatch(k, [x, w, gpu().placeholder, y], params, [groups, 1, 1]);
    return [y];
  };
}

const flops = 2 * N * OH * OW * Cin * KH * KW;
const variants: [string, Launch][] = [
  ['base', {}],
  // convSingleForward 'windowShared': a subgroup's lanes side by side along a row, their windows shared by subgroupShuffle.
  ['shared', { shared: true, constants: { SHARED_COLUMNS: 1 } }],
  ['shared8', { shared: true, columns: 8, constants: { SHARED_COLUMNS: 1 } }],
  ...Object.keys(EDITS).map((edit): [string, Launch] => [edit, edit.startsWith('shared') ? { edit, shared: true, constants: { SHARED_COLUMNS: 1 } } : { edit }]),
];
const only = values.only?.split(',');
const cases: ProbeCase[] = variants.filter(([label]) => !only || only.includes(label)).map(([label, l]) => ({ label: `G-out forward ${label}`, flops, run: dispatcher(l) }));
const S = 1024;
const ma = randomBuffer(S * S, 19), mb = randomBuffer(S * S, 23);
cases.push(matmulCase(S, ma, mb));
await printBestRounds(cases, Number(values.rounds), 40);
