// The conv kernels' float16 output stored in their epilogue (policy halfStores 'epilogue', `.toHalf` builds) against the
// f32 output and the cast pass it replaces ('cast'), per pass, at the float16 demo steps' conv shapes (LightCNN-9 ×0.125 on
// 32², batch 32; FaPE-GAN width 8 on 32², batch 8) and at a paper-scale LightCNN-9 row: the GPU time (timestamps) of every
// kernel a launcher call runs (packing, the conv, the cast), median of the rounds, the two settings alternated call by call.
//   node --import tsx bench/f16-store-ops.ts [--rounds 9]
import { parseArgs } from 'node:util';
import { loadavg } from 'node:os';
import { gpu, init } from '../src/gpu/index.js';
import { conv2dForward, conv2dTranspose, type ConvGeometry } from '../src/kernels/conv.js';
import { alloc } from '../src/kernels/launch.js';
import type { KernelChoices } from '../src/gpu/policy.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '9' } } });
await init();

function geometry(N: number, Cin: number, H: number, W: number, Cout: number, K: number, S: number, P: number): ConvGeometry {
  const OH = Math.floor((H + 2 * P - K) / S) + 1;
  const OW = Math.floor((W + 2 * P - K) / S) + 1;
  return { N, Cin, H, W, Cout, OH, OW, KH: K, KW: K, SH: S, SW: S, PH: P, PW: P, DH: 1, DW: 1 };
}

const ROWS: [string, ConvGeometry][] = [
  ['LightCNN demo conv1 1→12 5×5 32² N32', geometry(32, 1, 32, 32, 12, 5, 1, 2)],
  ['LightCNN demo group1 3×3 6→24 16² N32', geometry(32, 6, 16, 16, 24, 3, 1, 1)],
  ['LightCNN demo group1 1×1 6→12 16² N32 (GEMM)', geometry(32, 6, 16, 16, 12, 1, 1, 0)],
  ['LightCNN demo group2 3×3 12→48 8² N32', geometry(32, 12, 8, 8, 48, 3, 1, 1)],
  ['FaPE-GAN demo G-down 3×3 s2 8→16 32² N8', geometry(8, 8, 32, 32, 16, 3, 2, 1)],
  ['FaPE-GAN demo G-res 3×3 32→32 10² N8 (reflect-padded)', geometry(8, 32, 10, 10, 32, 3, 1, 0)],
  ['FaPE-GAN demo D 4×4 s2 2→8 32² N8', geometry(8, 2, 32, 32, 8, 4, 2, 1)],
  ['LightCNN paper group1 3×3 48→192 64² N16', geometry(16, 48, 64, 64, 192, 3, 1, 1)],
];

const half = (count: number) => {
  const words = new Uint16Array(Math.max(2, count + (count % 2)));
  for (let i = 0; i < count; i++) words[i] = 0x3000 + ((i * 2654435761) >>> 22); // values in [0.125, 0.5), spread
  const buffer = alloc(count, 'f16');
  gpu().upload(buffer, words);
  return buffer;
};

type Pass = 'forward' | 'input grad';
const SETTINGS: [string, Partial<KernelChoices>][] = [
  ['cast', { halfStores: 'cast' }],
  ['epilogue', { halfStores: 'epilogue' }],
];

async function gpuMs(pass: Pass, g: ConvGeometry, policy: Partial<KernelChoices>): Promise<{ ms: number; kernels: string[] }> {
  const [input, weight] = pass === 'forward' ? [half(g.N * g.Cin * g.H * g.W), half(g.Cout * g.Cin * g.KH * g.KW)] : [half(g.N * g.Cout * g.OH * g.OW), half(g.Cout * g.Cin * g.KH * g.KW)];
  let out: GPUBuffer | undefined;
  const { timings } = await gpu().policy.with(policy, () =>
    gpu().profile(async () => {
      out = pass === 'forward' ? conv2dForward(input, weight, undefined, g, 'f16', 'f16') : conv2dTranspose(input, weight, undefined, g, 'f16', 'f16');
      await gpu().sync();
    }),
  );
  for (const b of [input, weight, out!]) gpu().pool.release(b);
  return { ms: timings.reduce((s, t) => s + t.totalMs, 0), kernels: timings.map((t) => t.name) };
}

console.log(`${gpu().info.description}; load average ${loadavg().map((v) => v.toFixed(2)).join(' ')}; GPU ms per call (all kernels), median of ${values.rounds}, float16 operands and output`);
console.log('| row | pass | cast: kernels | cast ms | epilogue: kernels | epilogue ms | epilogue / cast |');
console.log('|---|---|---|---|---|---|---|');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
for (const [name, g] of ROWS) {
  for (const pass of ['forward', 'input grad'] as Pass[]) {
    const times = new Map<string, number[]>(SETTINGS.map(([label]) => [label, []]));
    const kernels = new Map<string, string[]>();
    for (const [label, policy] of SETTINGS) kernels.set(label, (await gpuMs(pass, g, policy)).kernels); // warm-up: pipelines
    for (let r = 0; r < Number(values.rounds); r++) {
      for (const [label, policy] of r % 2 === 0 ? SETTINGS : [...SETTINGS].reverse()) times.get(label)!.push((await gpuMs(pass, g, policy)).ms);
    }
    const [cast, epilogue] = SETTINGS.map(([label]) => median(times.get(label)!));
    console.log(`| ${name} | ${pass} | ${kernels.get('cast')!.join(' + ')} | ${cast!.toFixed(3)} | ${kernels.get('epilogue')!.join(' + ')} | ${epilogue!.toFixed(3)} | ${(epilogue! / cast!).toFixed(2)} |`);
  }
}
console.log(`load average at the end ${loadavg().map((v) => v.toFixed(2)).join(' ')}`);
