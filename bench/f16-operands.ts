// f16 vs f32 operands for the same kernel variant, side by side in one process: matmul 1024³, fc1's
// product (16×8192 @ (512×8192)ᵀ) and three LightCNN-9 conv layers at batch 16 on 128² faces (conv1
// 1→96 5×5 pad 2 at 128², group1's 1×1 48→96 at 64², group2's 3×3 96→192 pad 1 at 32²: forward,
// input grad, weight grad), each under the variants named by --variants: 'default' (the policy's
// choice for this adapter, for both types: on software the packed / subgroup kernels), registerTiled,
// workgroupTiled. Each round times one call
// of each (synced, wall clock) in turn; the best of the rounds after a warm-up round (pipeline
// compilation) is reported. The inputs are random f16 values, uploaded once as f16 and once decoded to
// f32, so the f16 and f32 launches multiply the same numbers: "max diff" (relative to the largest
// |output|) is 0 where both run the same kernel (f16 products are exact in f32, the order is the same).
//   node --import tsx bench/f16-operands.ts [--rounds 2] [--only <substring>] [--variants default,registerTiled,workgroupTiled]
// With --variants default (the default) about 1 minute on lavapipe (2 cores); with workgroupTiled about 7,
// most of it conv1's input grad (one output channel in 64-row tiles: ~40 s a call); --only narrows it.
import { parseArgs } from 'node:util';
import { gpu, init } from '../src/gpu/index.js';
import { conv2dForward, conv2dTranspose, conv2dWeightGrad, type ConvGeometry } from '../src/kernels/conv.js';
import { matmul } from '../src/kernels/matmul.js';
import { alloc, type OperandType } from '../src/kernels/launch.js';
import type { KernelChoices } from '../src/gpu/policy.js';
import { halfToFloat } from '../src/nn/half-float.js';
import { squareGeometry } from './conv-variants.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '2' }, only: { type: 'string', default: '' }, variants: { type: 'string', default: 'default' } } });
const variants = values.variants!.split(',');
const rounds = Number(values.rounds);
await init();
if (!gpu().device.features.has('shader-f16')) throw new Error('bench/f16-operands: this adapter lacks shader-f16');

/** Random f16 bit patterns of magnitude 0.25-2 (exponents 13-15), and their values as f32 (exact). */
function randomHalves(count: number, seed: number): { bits: Uint16Array; floats: Float32Array } {
  const bits = new Uint16Array(count + (count % 2));
  const floats = new Float32Array(count);
  let state = seed;
  for (let i = 0; i < count; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    bits[i] = (state >>> 31 ? 0x8000 : 0) | ((13 + ((state >>> 10) % 3)) << 10) | (state & 0x3ff);
    floats[i] = halfToFloat(bits[i]!);
  }
  return { bits, floats };
}

/** One input as an f32 buffer and an f16 buffer holding the same values. */
function upload(count: number, seed: number): Record<OperandType, GPUBuffer> {
  const { bits, floats } = randomHalves(count, seed);
  const f32 = alloc(count);
  const f16 = alloc(count, 'f16');
  gpu().upload(f32, floats);
  gpu().upload(f16, bits);
  return { f32, f16 };
}

interface Workload {
  name: string;
  shape: string;
  flop: number;
  /** The policy key whose variant is forced. */
  key: 'matmul' | 'convForward' | 'convInputGrad' | 'convWeightGrad';
  inputs: number[];
  outputCount: number;
  run: (inputs: GPUBuffer[], type: OperandType) => GPUBuffer;
}

const M = 1024;
const convFlop = (g: ConvGeometry) => 2 * g.N * g.Cout * g.OH * g.OW * g.Cin * g.KH * g.KW;
const convShape = (g: ConvGeometry) => `N${g.N} ${g.Cin}→${g.Cout} ${g.H}² k${g.KH} p${g.PH}`;
const convWorkloads = (layer: string, g: ConvGeometry): Workload[] => {
  const [x, w, y] = [g.N * g.Cin * g.H * g.W, g.Cout * g.Cin * g.KH * g.KW, g.N * g.Cout * g.OH * g.OW];
  const common = { shape: convShape(g), flop: convFlop(g) };
  return [
    { ...common, name: `${layer} forward`, key: 'convForward', inputs: [x, w], outputCount: y, run: ([bx, bw], type) => conv2dForward(bx!, bw!, undefined, g, type) },
    { ...common, name: `${layer} input grad`, key: 'convInputGrad', inputs: [y, w], outputCount: x, run: ([bgy, bw], type) => conv2dTranspose(bgy!, bw!, undefined, g, type) },
    { ...common, name: `${layer} weight grad`, key: 'convWeightGrad', inputs: [x, y], outputCount: w, run: ([bx, bgy], type) => conv2dWeightGrad(bx!, bgy!, g, type) },
  ];
};
const matmulWorkload: Workload = {
  name: 'matmul 1024³', shape: '1024×1024 @ 1024×1024', flop: 2 * M * M * M, key: 'matmul', inputs: [M * M, M * M], outputCount: M * M,
  run: ([a, b], type) => matmul({ buffer: a!, batchStride: 0, rowStride: M, colStride: 1, type }, { buffer: b!, batchStride: 0, rowStride: M, colStride: 1, type }, 1, M, M, M),
};
// fc1: x [16, 8192] @ weightᵀ ([512, 8192] read transposed), as Linear's forward.
const fc1Workload: Workload = {
  name: 'fc1 matmul', shape: '16×8192 @ (512×8192)ᵀ', flop: 2 * 16 * 512 * 8192, key: 'matmul', inputs: [16 * 8192, 512 * 8192], outputCount: 16 * 512,
  run: ([a, b], type) => matmul({ buffer: a!, batchStride: 0, rowStride: 8192, colStride: 1, type }, { buffer: b!, batchStride: 0, rowStride: 1, colStride: 8192, type }, 1, 16, 512, 8192),
};
const workloads: Workload[] = [
  matmulWorkload,
  fc1Workload,
  ...convWorkloads('conv1 5×5', squareGeometry(16, 1, 96, 128, 5, 1, 2)),
  ...convWorkloads('group1 1×1', squareGeometry(16, 48, 96, 64, 1, 1, 0)),
  ...convWorkloads('group2 3×3', squareGeometry(16, 96, 192, 32, 3, 1, 1)),
].filter((w) => w.name.includes(values.only!));

/** One timed call under a policy choice: ms and the output. */
async function timed(w: Workload, inputs: Record<OperandType, GPUBuffer>[], type: OperandType, choice: Partial<KernelChoices>): Promise<{ ms: number; out: Float32Array }> {
  gpu().policy.reset();
  gpu().policy.set(choice);
  await gpu().sync();
  const start = performance.now();
  const output = w.run(inputs.map((input) => input[type]), type);
  await gpu().sync();
  const ms = performance.now() - start;
  const out = new Float32Array(await gpu().read(output, w.outputCount * 4));
  gpu().pool.release(output);
  return { ms, out };
}

function relativeDiff(a: Float32Array, b: Float32Array): number {
  let [diff, scale] = [0, 0];
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(a[i]!));
  }
  return diff / scale;
}

const info = gpu().info;
console.log(`${info.description} (${info.isSoftware ? 'software' : 'hardware'}), best of ${rounds} alternated rounds after a warm-up`);
console.log('| workload | shape | variant | f32 | f16 | f16/f32 | max diff |');
console.log('|---|---|---|---|---|---|---|');
const rate = (w: Workload, ms: number) => `${ms.toFixed(1)} ms, ${(w.flop / ms / 1e6).toFixed(2)} GFLOP/s`;
for (const w of workloads) {
  const inputs = w.inputs.map((count, i) => upload(count, 17 + i));
  const defaultVariant = gpu().policy.get(w.key);
  const runs = variants.map((label) => ({ label: label === 'default' ? `default (${defaultVariant})` : label, choice: (label === 'default' ? {} : { [w.key]: label }) as Partial<KernelChoices> }));
  const best = runs.map(() => ({ f32: Infinity, f16: Infinity, diff: 0 }));
  for (let r = 0; r <= rounds; r++) {
    for (const [i, run] of runs.entries()) {
      const f32 = await timed(w, inputs, 'f32', run.choice);
      const f16 = await timed(w, inputs, 'f16', run.choice);
      if (r === 0) {
        best[i]!.diff = relativeDiff(f32.out, f16.out);
        continue;
      }
      best[i]!.f32 = Math.min(best[i]!.f32, f32.ms);
      best[i]!.f16 = Math.min(best[i]!.f16, f16.ms);
    }
  }
  for (const [i, run] of runs.entries()) {
    const b = best[i]!;
    console.log(`| ${w.name} | ${w.shape} | ${run.label} | ${rate(w, b.f32)} | ${rate(w, b.f16)} | ${(b.f32 / b.f16).toFixed(2)}× | ${b.diff.toExponential(1)} |`);
  }
  for (const input of inputs) for (const buffer of Object.values(input)) gpu().pool.release(buffer);
}
gpu().policy.reset();
