// LightCNN-9's and FaPE-GAN's conv rows at paper scale (batch 16, 128 px images) under several kernel-policy settings,
// side by side in one process: each round times one call of every (row, setting) pair in turn,
// alternating the settings call by call, each call followed by one call of the matmul kernel at 1024³.
// A row's "× matmul" is the median over rounds of its rate over that paired matmul call's rate: the
// reference's own rate moves by ±30 % between runs on a shared machine, and pairing cancels most of
// that drift. The best round per pair is reported beside it. Shapes are conv2d's; flops 2·N·Cout·OH·OW·Cin·KH·KW.
// FaPE-GAN (channels 1: image + pose mask in, base width 64) as the models build them: reflect-padded
// convs as unpadded ones on the padded size; G's two transposed convs (up1 256→128 32²→64², up2 128→64
// 64²→128²) are G-down2's and G-down1's geometries with forward and input gradient swapped, so not rows of their own.
//   node --import tsx bench/conv-rows.ts [--rounds 5] [--models lightcnn9,fapegan] [--rows conv1,G-out] [--passes forward,forward no mask,weight grad]
//     [--settings '{"old": {"convFiveWide": "generic"}, "new": {}}']   (policy overrides by label)
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { gpu, init } from '../src/gpu/index.js';
import type { KernelChoices } from '../src/gpu/policy.js';
import { conv2dMfmForward, conv2dForward, conv2dTranspose, conv2dWeightGrad, type ConvGeometry } from '../src/kernels/conv.js';
import { matmul } from '../src/kernels/matmul.js';
import { randomBuffer } from './random-buffer.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    rows: { type: 'string' },
    models: { type: 'string', default: 'lightcnn9,fapegan' },
    passes: { type: 'string', default: 'forward,input grad,weight grad' },
    settings: { type: 'string', default: '{"default": {}}' },
    batch: { type: 'string', default: '16' },
  },
});
const rounds = Number(values.rounds);
const N = Number(values.batch);
const settings = Object.entries(JSON.parse(values.settings!) as Record<string, Partial<KernelChoices>>);
await init();

const square = (name: string, Cin: number, Cout: number, size: number, k: number, mfm = false) => ({
  name, mfm, model: 'lightcnn9',
  g: { N, Cin, H: size, W: size, Cout, OH: size, OW: size, KH: k, KW: k, SH: 1, SW: 1, PH: (k - 1) / 2, PW: (k - 1) / 2, DH: 1, DW: 1 } as ConvGeometry,
});
const gan = (name: string, Cin: number, Cout: number, size: number, k: number, stride: number, pad: number) => {
  const out = Math.floor((size + 2 * pad - k) / stride) + 1;
  return {
    name, mfm: false, model: 'fapegan',
    g: { N, Cin, H: size, W: size, Cout, OH: out, OW: out, KH: k, KW: k, SH: stride, SW: stride, PH: pad, PW: pad, DH: 1, DW: 1 } as ConvGeometry,
  };
};
const ROWS = [
  square('conv1', 1, 96, 128, 5),
  square('conv1-mfm', 1, 96, 128, 5, true),
  square('group1-1x1', 48, 96, 64, 1),
  square('group1-1x1-mfm', 48, 96, 64, 1, true),
  square('group1-3x3', 48, 192, 64, 3),
  square('group2-1x1', 96, 192, 32, 1),
  square('group2-1x1-mfm', 96, 192, 32, 1, true),
  square('group2-3x3', 96, 384, 32, 3),
  square('group3-1x1', 192, 384, 16, 1),
  square('group3-1x1-mfm', 192, 384, 16, 1, true),
  square('group3-3x3', 192, 256, 16, 3),
  square('group4-1x1', 128, 256, 16, 1),
  square('group4-1x1-mfm', 128, 256, 16, 1, true),
  square('group4-3x3', 128, 256, 16, 3),
  gan('G-in', 2, 64, 134, 7, 1, 0),
  gan('G-down1', 64, 128, 128, 3, 2, 1),
  gan('G-down2', 128, 256, 64, 3, 2, 1),
  gan('G-res', 256, 256, 34, 3, 1, 0),
  gan('G-out', 64, 1, 134, 7, 1, 0),
  gan('D-1', 2, 64, 128, 4, 2, 1),
  gan('D-2', 64, 128, 64, 4, 2, 1),
  gan('D-3', 128, 256, 32, 4, 2, 1),
  gan('D-4', 256, 512, 16, 4, 1, 1),
  gan('D-out', 512, 1, 15, 4, 1, 1),
];
const wanted = values.rows?.split(',');
const models = values.models!.split(',');
const rows = ROWS.filter((r) => (!wanted || wanted.includes(r.name)) && models.includes(r.model));

interface Case { label: string; flops: number; run: () => GPUBuffer[]; setting: Partial<KernelChoices> }
const cases: Case[] = [];
for (const { name, g, mfm } of rows) {
  const x = randomBuffer(g.N * g.Cin * g.H * g.W, 11);
  const w = randomBuffer(g.Cout * g.Cin * g.KH * g.KW, 13);
  const gy = randomBuffer(g.N * g.Cout * g.OH * g.OW, 17);
  const flops = 2 * g.N * g.Cout * g.OH * g.OW * g.Cin * g.KH * g.KW;
  const passes: [string, () => GPUBuffer[]][] = [
    ['forward', () => (mfm ? Object.values(conv2dMfmForward(x, w, undefined, g, true)).filter((b): b is GPUBuffer => b !== undefined) : [conv2dForward(x, w, undefined, g)])],
    // The mfm rows' forward without the gradient mask (as in inference): what writing the mask costs.
    ['forward no mask', () => (mfm ? [conv2dMfmForward(x, w, undefined, g, false).y] : [conv2dForward(x, w, undefined, g)])],
    ['input grad', () => [conv2dTranspose(gy, w, undefined, g)]],
    ['weight grad', () => [conv2dWeightGrad(x, gy, g)]],
  ];
  for (const [pass, run] of passes) {
    if (!values.passes!.split(',').includes(pass)) continue;
    if (mfm && !pass.startsWith('forward')) continue;
    for (const [label, setting] of settings) cases.push({ label: `${name} ${pass} N${g.N} ${g.Cin}→${g.Cout} ${g.H}² k${g.KH}${g.SH > 1 ? ` s${g.SH}` : ""} [${label}]`, flops, run, setting });
  }
}
const M = 1024;
const a = randomBuffer(M * M, 19), b = randomBuffer(M * M, 23);
const reference: Case = { label: `matmul ${M}³`, flops: 2 * M * M * M, run: () => [matmul({ buffer: a, batchStride: 0, rowStride: M, colStride: 1 }, { buffer: b, batchStride: 0, rowStride: M, colStride: 1 }, 1, M, M, M)], setting: {} };

/**
 * Wall ms of one synced call, and the process's CPU ms over it: lavapipe runs the kernels on its
 * threads in this process, so CPU time counts the work done and swings far less than wall time
 * when other processes share the cores.
 */
async function time(c: Case): Promise<{ wall: number; cpu: number }> {
  await gpu().sync();
  const start = performance.now();
  const cpuStart = process.cpuUsage();
  await gpu().policy.with(c.setting, async () => {
    c.run().forEach((o) => gpu().pool.release(o));
    await gpu().sync();
  });
  const cpu = process.cpuUsage(cpuStart);
  return { wall: performance.now() - start, cpu: (cpu.user + cpu.system) / 1000 };
}

const cpuRate = (c: Case, cpuMs: number) => c.flops / cpuMs / 1e6;
const median = (xs: number[]) => {
  const s = [...xs].sort((p, q) => p - q);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

const best = new Map<Case, { wall: number; cpu: number }>();
const pairedRatios = new Map<Case, number[]>(cases.map((c) => [c, []]));
const referenceRates: number[] = [];
const record = (c: Case, t: { wall: number; cpu: number }) => {
  const b = best.get(c) ?? { wall: Infinity, cpu: Infinity };
  best.set(c, { wall: Math.min(b.wall, t.wall), cpu: Math.min(b.cpu, t.cpu) });
};
// The first call compiles the pipelines; profiled, it names the kernels each case launches (where the adapter has timestamps).
const kernels = new Map<Case, string>();
for (const c of [...cases, reference]) {
  const { timings } = await gpu().profile(() => time(c));
  kernels.set(c, timings.map((t) => t.name).join(' + '));
}
for (let round = 0; round < rounds; round++) {
  for (const c of cases) {
    const t = await time(c);
    const r = await time(reference);
    record(c, t);
    record(reference, r);
    referenceRates.push(cpuRate(reference, r.cpu));
    pairedRatios.get(c)!.push(cpuRate(c, t.cpu) / referenceRates.at(-1)!);
  }
}
console.log(`${gpu().info.description}; ${rounds} rounds, each call paired with a matmul ${M}³ call; load ${loadavg().map((l) => l.toFixed(1)).join(' / ')}; GFLOP per CPU second counts lavapipe's threads' time`);
console.log(`matmul ${M}³ over the run: best ${cpuRate(reference, best.get(reference)!.cpu).toFixed(2)} GFLOP/CPU-s (${(reference.flops / best.get(reference)!.wall / 1e6).toFixed(2)} GFLOP/s wall), paired calls ${Math.min(...referenceRates).toFixed(2)}-${Math.max(...referenceRates).toFixed(2)}, median ${median(referenceRates).toFixed(2)}  ${kernels.get(reference)}`);
for (const c of cases) {
  const { wall, cpu } = best.get(c)!;
  const ratios = pairedRatios.get(c)!;
  console.log(`${c.label.padEnd(58)} ${wall.toFixed(1).padStart(8)} ms ${(c.flops / wall / 1e6).toFixed(2).padStart(6)} GFLOP/s | CPU ${cpu.toFixed(0).padStart(6)} ms ${cpuRate(c, cpu).toFixed(2).padStart(6)} GFLOP/CPU-s ${median(ratios).toFixed(2).padStart(5)}x matmul (${Math.min(...ratios).toFixed(2)}-${Math.max(...ratios).toFixed(2)})  ${kernels.get(c)}`);
}
