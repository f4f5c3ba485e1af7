// LightCNN-9's mfm convolution + max pool as one op (F.conv2dMfmMaxPool2d, what the model runs)
// against the same model called module by module (conv2dMfm, then maxPool2d: pool backward writes
// [N, C, H, W], mfm backward reads it), side by side in one process, alternating over rounds.
// One "step" is forward + backward of a cross-entropy loss (no optimizer: the same in both).
// Reports wall ms per step, the summed GPU time of a profiled step, the GPU time in the pool and
// mfm kernels (pool.max*, mfm.*, mfmMaxPool.*) per kernel, and dispatches per step.
//   node --import tsx bench/pool-fusion.ts [--rounds 5] [--steps 2] [--paper]
// --paper adds LightCNN-9 at paper size (128 px, width 1, batch 16: seconds per step on lavapipe).
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { F, gpu, init, scope, tensor, type Tensor } from '../src/index.js';
import { LightCNN9 } from '../src/models/lightcnn.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '5' }, steps: { type: 'string', default: '2' }, paper: { type: 'boolean', default: false } } });
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

async function profiled(step: () => void): Promise<{ ms: number; poolMs: number; dispatches: number; byKernel: Map<string, { ms: number; calls: number }> }> {
  const { timings } = await gpu().profile(async () => {
    step();
    await gpu().sync();
  });
  const touched = timings.filter((t) => POOL_KERNELS.test(t.name));
  return {
    ms: timings.reduce((s, t) => s + t.totalMs, 0),
    poolMs: touched.reduce((s, t) => s + t.totalMs, 0),
    dispatches: timings.reduce((s, t) => s + t.calls, 0),
    byKernel: new Map(touched.map((t) => [t.name, { ms: t.totalMs, calls: t.calls }])),
  };
}

const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
const best = (v: number[]) => Math.min(...v);

console.log(`${gpu().info.description ?? 'adapter'}; load average ${loadavg().map((v) => v.toFixed(1)).join(' / ')}; ${rounds} rounds of ${steps} steps each way, alternating`);
for (const w of workloads) {
  for (const step of [w.fused, w.unfused]) await wall(step); // warm-up: pipelines, buffer pool
  const runs = { fused: { wall: [] as number[], gpu: [] as number[], pool: [] as number[] }, unfused: { wall: [] as number[], gpu: [] as number[], pool: [] as number[] } };
  const kernels = { fused: new Map<string, { ms: number[]; calls: number }>(), unfused: new Map<string, { ms: number[]; calls: number }>() };
  const dispatches = { fused: 0, unfused: 0 };
  for (let r = 0; r < rounds; r++) {
    for (const which of r % 2 === 0 ? (['fused', 'unfused'] as const) : (['unfused', 'fused'] as const)) {
      runs[which].wall.push(await wall(w[which]));
      const p = await profiled(w[which]);
      runs[which].gpu.push(p.ms);
      runs[which].pool.push(p.poolMs);
      for (const [name, t] of p.byKernel) kernels[which].set(name, { ms: [...(kernels[which].get(name)?.ms ?? []), t.ms], calls: t.calls });
      dispatches[which] = p.dispatches;
    }
  }
  const ratio = (a: number[], b: number[]) => a.map((u, i) => u / b[i]!);
  console.log(`${w.name}
  wall per step: fused ${median(runs.fused.wall).toFixed(1)} ms, unfused ${median(runs.unfused.wall).toFixed(1)} ms (medians); unfused / fused per round ${ratio(runs.unfused.wall, runs.fused.wall).map((r) => r.toFixed(2)).join(' ')}
  GPU time of a profiled step: fused ${median(runs.fused.gpu).toFixed(1)} ms, unfused ${median(runs.unfused.gpu).toFixed(1)} ms (medians); dispatches ${dispatches.fused} vs ${dispatches.unfused}
  GPU time in pool + mfm kernels: fused best ${best(runs.fused.pool).toFixed(2)} / median ${median(runs.fused.pool).toFixed(2)} ms, unfused best ${best(runs.unfused.pool).toFixed(2)} / median ${median(runs.unfused.pool).toFixed(2)} ms; unfused / fused per round ${ratio(runs.unfused.pool, runs.fused.pool).map((r) => r.toFixed(2)).join(' ')}`);
  for (const which of ['fused', 'unfused'] as const) {
    console.log(`    ${which}: ${[...kernels[which]].map(([name, t]) => `${name} ×${t.calls} best ${best(t.ms).toFixed(2)} / median ${median(t.ms).toFixed(2)} ms`).join(', ')}`);
  }
}
