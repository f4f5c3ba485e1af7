// LightCNN-9's mfm convolution + max pool as one op (F.conv2dMfmMaxPool2d, what the model runs)
// against the same model called module by module (conv2dMfm, then maxPool2d: pool backward writes
// [N, C, H, W], mfm backward reads it), side by side in one process, alternating over rounds.
// One "step" is forward + backward of a cross-entropy loss (no optimizer: the same in both).
// Reports wall ms per step, the summed GPU time of a profiled step, the GPU time in the pool and
// mfm kernels (pool.max*, mfm.*, mfmMaxPool.*) per kernel, dispatches per step and the GPU memory
// a step adds at its peak (the fused op keeps no mfm output, mask or f32 indices for backward).
// First, the pool kernels alone at LightCNN-9's four pooled layers at paper size (batch 16):
// maxPool2d's forward, then its backward + mfm's backward from the mask, against the fused forward
// and backward, alternated, GPU timestamps.
//   node --import tsx bench/pool-fusion.ts [--rounds 5] [--steps 2] [--paper] [--no-model]
// --paper adds LightCNN-9 at paper size (128 px, width 1, batch 16: seconds per step on lavapipe).
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { F, gpu, init, memory, scope, tensor, type Tensor } from '../src/index.js';
import { LightCNN9 } from '../src/models/lightcnn.js';
import { kernelFamily } from '../src/bench/step.js';
import { mfmBackwardFromMask, mfmMaxPoolBackward, mfmMaxPoolForward } from '../src/kernels/mfm.js';
import { maxPoolBackward, maxPoolForward, type PoolGeometry } from '../src/kernels/pool.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '5' }, steps: { type: 'string', default: '2' }, paper: { type: 'boolean', default: false }, model: { type: 'boolean', default: true } }, allowNegative: true });
const rounds = Number(values.rounds);
const steps = Number(values.steps);
await init();

function random(shape: number[], seed: number): Tensor {
  let state = seed;
  const count = shape.reduce((a, d) => a * d, 1);
  return tensor(Float32Array.from({ length: count }, () => (state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32), shape);
}

interface Workload { name: string; fused: () => void; unfused: () => void }

function lightcnn9(name: string, inputSize: number, widthMultiplier: number, batch: number): Workload {
  const model = new LightCNN9({ classes: 54, inputSize, widthMultiplier, dropout: 0 });
  const images = random([batch, 1, inputSize, inputSize], 7);
  const labels = Array.from({ length: batch }, (_, i) => i % 54);
  const step = (forward: () => Tensor) => scope(() => F.crossEntropy(forward(), labels).backward());
  return {
    name,
    fused: () => step(() => model.call(images).logits),
    // Sequential.call runs every module in turn: conv2dMfm, then maxPool2d.
    unfused: () => step(() => model.fc2.call(model.fc1.call(F.flatten(model.features.call(images), 1)))),
  };
}

const workloads: Workload[] = [lightcnn9('LightCNN-9 ×0.25 64 px, batch 16', 64, 0.25, 16)];
if (values.paper) workloads.push(lightcnn9('LightCNN-9 paper size 128 px, batch 16', 128, 1, 16));

async function wall(step: () => void): Promise<number> {
  const start = performance.now();
  for (let s = 0; s < steps; s++) {
    step();
    await gpu().sync();
  }
  return (performance.now() - start) / steps;
}

/** The kernels the fusion touches: max pooling, mfm's backward, the fused pool. */
const POOL_KERNELS = /^(pool\.max|mfm\.|mfmMaxPool\.)/;

async function profiled(step: () => void): Promise<{ ms: number; poolMs: number; dispatches: number; peakMiB: number; byKernel: Map<string, { ms: number; calls: number }>; byFamily: Map<string, number> }> {
  const start = memory().bytesInUse;
  gpu().pool.resetPeak();
  const { timings } = await gpu().profile(async () => {
    step();
    await gpu().sync();
  });
  const touched = timings.filter((t) => POOL_KERNELS.test(t.name));
  return {
    ms: timings.reduce((s, t) => s + t.totalMs, 0),
    poolMs: touched.reduce((s, t) => s + t.totalMs, 0),
    dispatches: timings.reduce((s, t) => s + t.calls, 0),
    peakMiB: (memory().peakBytes - start) / 2 ** 20,
    byKernel: new Map(touched.map((t) => [t.name, { ms: t.totalMs, calls: t.calls }])),
    byFamily: timings.reduce((m, t) => m.set(kernelFamily(t.name), (m.get(kernelFamily(t.name)) ?? 0) + t.totalMs), new Map<string, number>()),
  };
}

const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
const best = (v: number[]) => Math.min(...v);

/** GPU ms of the dispatches fn encodes (timestamps), and their count. */
async function kernelMs(fn: () => GPUBuffer[]): Promise<{ ms: number; calls: number }> {
  let outputs: GPUBuffer[] = [];
  const { timings } = await gpu().profile(async () => {
    outputs = fn();
    await gpu().sync();
  });
  for (const b of outputs) gpu().pool.release(b);
  return { ms: timings.reduce((s, t) => s + t.totalMs, 0), calls: timings.reduce((s, t) => s + t.calls, 0) };
}

async function poolKernels(): Promise<void> {
  const N = 16;
  console.log(`pool kernels at LightCNN-9's pooled layers, paper size, batch ${N} (2 x 2 ceil pools); GPU ms best / median of ${rounds} alternated rounds`);
  for (const [C, side] of [[48, 128], [96, 64], [192, 32], [128, 16]]) {
    const OH = Math.ceil(side / 2);
    const g: PoolGeometry = { planes: N * C, H: side, W: side, OH, OW: OH, KH: 2, KW: 2, SH: 2, SW: 2, PH: 0, PW: 0, DH: 1, DW: 1 };
    const y = random([N, C, side, side], 3);
    // Mask words 1, 2 and 7 (first half, second half, tie), bit patterns carried by a Float32Array.
    const maskWords = Uint32Array.from({ length: N * C * side * side }, (_, i) => [1, 2, 7][(i * 2654435761) % 3]!);
    const mask = tensor(new Float32Array(maskWords.buffer), [N, C, side, side]);
    const gy = random([N, C, OH, OH], 5);
    const { values: pooled, indices } = maxPoolForward(y.buffer, g);
    const { values: fusedValues, route } = mfmMaxPoolForward(y.buffer, mask.buffer, N, C, g);
    const variants = {
      unfusedForward: () => Object.values(maxPoolForward(y.buffer, g)),
      fusedForward: () => Object.values(mfmMaxPoolForward(y.buffer, mask.buffer, N, C, g)) as GPUBuffer[],
      unfusedBackward: () => {
        const gPool = maxPoolBackward(gy.buffer, indices, g);
        const gx = mfmBackwardFromMask(mask.buffer, gPool, N, C, side * side);
        return [gPool, gx];
      },
      fusedBackward: () => [mfmMaxPoolBackward(gy.buffer, route!, N, C, g)],
    };
    const ms = new Map<string, number[]>(Object.keys(variants).map((k) => [k, []]));
    const calls = new Map<string, number>();
    for (const fn of Object.values(variants)) await kernelMs(fn); // warm-up
    for (let r = 0; r < rounds; r++) {
      const order = Object.entries(variants);
      if (r % 2 === 1) order.reverse();
      for (const [name, fn] of order) {
        const t = await kernelMs(fn);
        ms.get(name)!.push(t.ms);
        calls.set(name, t.calls);
      }
    }
    const show = (name: string) => `${best(ms.get(name)!).toFixed(2)} / ${median(ms.get(name)!).toFixed(2)} ms (${calls.get(name)} dispatch${calls.get(name) === 1 ? '' : 'es'})`;
    const ratio = (a: string, b: string) => median(ms.get(a)!.map((u, i) => u / ms.get(b)![i]!)).toFixed(2);
    console.log(`  [${N}, ${C}, ${side}, ${side}] -> [${N}, ${C}, ${OH}, ${OH}] (conv output [${N}, ${2 * C}, ${side}, ${side}])
    forward:  unfused ${show('unfusedForward')}, fused ${show('fusedForward')}; unfused / fused median ${ratio('unfusedForward', 'fusedForward')}×
    backward: unfused ${show('unfusedBackward')}, fused ${show('fusedBackward')}; unfused / fused median ${ratio('unfusedBackward', 'fusedBackward')}×`);
    for (const b of [pooled, indices, fusedValues, route!]) gpu().pool.release(b);
    for (const t of [y, mask, gy]) t.dispose();
  }
}

console.log(`${gpu().info.description ?? 'adapter'}; load average ${loadavg().map((v) => v.toFixed(1)).join(' / ')}`);
await poolKernels();
if (values.model) console.log(`model steps: ${rounds} rounds of ${steps} steps each way, alternating`);
for (const w of values.model ? workloads : []) {
  for (const step of [w.fused, w.unfused]) await wall(step); // warm-up: pipelines, buffer pool
  const runs = { fused: { wall: [] as number[], gpu: [] as number[], pool: [] as number[] }, unfused: { wall: [] as number[], gpu: [] as number[], pool: [] as number[] } };
  const kernels = { fused: new Map<string, { ms: number[]; calls: number }>(), unfused: new Map<string, { ms: number[]; calls: number }>() };
  const families = { fused: new Map<string, number[]>(), unfused: new Map<string, number[]>() };
  const dispatches = { fused: 0, unfused: 0 };
  const peakMiB = { fused: 0, unfused: 0 };
  for (let r = 0; r < rounds; r++) {
    for (const which of r % 2 === 0 ? (['fused', 'unfused'] as const) : (['unfused', 'fused'] as const)) {
      runs[which].wall.push(await wall(w[which]));
      const p = await profiled(w[which]);
      runs[which].gpu.push(p.ms);
      runs[which].pool.push(p.poolMs);
      for (const [name, t] of p.byKernel) kernels[which].set(name, { ms: [...(kernels[which].get(name)?.ms ?? []), t.ms], calls: t.calls });
      for (const [family, ms] of p.byFamily) families[which].set(family, [...(families[which].get(family) ?? []), ms]);
      dispatches[which] = p.dispatches;
      peakMiB[which] = p.peakMiB;
    }
  }
  const ratio = (a: number[], b: number[]) => a.map((u, i) => u / b[i]!);
  console.log(`${w.name}
  wall per step: fused ${median(runs.fused.wall).toFixed(1)} ms, unfused ${median(runs.unfused.wall).toFixed(1)} ms (medians); unfused / fused per round ${ratio(runs.unfused.wall, runs.fused.wall).map((r) => r.toFixed(2)).join(' ')}
  GPU time of a profiled step: fused ${median(runs.fused.gpu).toFixed(1)} ms, unfused ${median(runs.unfused.gpu).toFixed(1)} ms (medians); dispatches ${dispatches.fused} vs ${dispatches.unfused}; GPU memory the step adds at its peak ${peakMiB.fused.toFixed(1)} vs ${peakMiB.unfused.toFixed(1)} MiB
  GPU time in pool + mfm kernels: fused best ${best(runs.fused.pool).toFixed(2)} / median ${median(runs.fused.pool).toFixed(2)} ms, unfused best ${best(runs.unfused.pool).toFixed(2)} / median ${median(runs.unfused.pool).toFixed(2)} ms; unfused / fused per round ${ratio(runs.unfused.pool, runs.fused.pool).map((r) => r.toFixed(2)).join(' ')}`);
  for (const which of ['fused', 'unfused'] as const) {
    console.log(`    ${which} families (median ms): ${[...families[which]].map(([name, ms]) => `${name} ${median(ms).toFixed(1)}`).join(', ')}`);
    console.log(`    ${which}: ${[...kernels[which]].map(([name, t]) => `${name} ×${t.calls} best ${best(t.ms).toFixed(2)} / median ${median(t.ms).toFixed(2)} ms`).join(', ')}`);
  }
}
