// Whole training steps under several kernel-policy settings side by side in one process: the
// LightCNN-9 paper step (width 1, 128 px, batch 16, SGD momentum: `bench --step`'s) and a FaPE-GAN D + G
// step at paper width and image size with fewer residual blocks and a small batch (the paper's batch 16
// and 9 blocks take minutes per step on lavapipe). Each round runs one step of every (workload, setting)
// pair, alternating the settings step by step; the best round per pair is reported, wall ms and the
// process's CPU ms (lavapipe's threads run in this process: robust when others load the machine).
// --demo: the demo's Fa-Net and FaPE-GAN steps for this adapter instead (`bench --step`'s demo rows).
//   node --import tsx bench/step-settings.ts [--rounds 3] [--only lightcnn9|fapegan] [--demo]
//     [--precision f32|f16] [--settings '{"before": {"convThreeWideRows": 4}, "after": {}}']   (policy overrides by label)
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { gpu, init } from '../src/gpu/index.js';
import type { KernelChoices } from '../src/gpu/policy.js';
import { ganWorkload, lightcnnWorkload, type StepWorkload } from '../src/bench/step.js';
import { manualSeed } from '../src/tensor/random.js';
import { defaultPaperDemoOptions } from '../src/train/paper-demo.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    only: { type: 'string' },
    settings: { type: 'string', default: '{"default": {}}' },
    'gan-batch': { type: 'string', default: '2' },
    'gan-blocks': { type: 'string', default: '2' },
    demo: { type: 'boolean', default: false },
    precision: { type: 'string', default: 'f32' },
  },
});
const rounds = Number(values.rounds);
const precision = values.precision as 'f32' | 'f16';
if (precision !== 'f32' && precision !== 'f16') throw new Error(`--precision ${values.precision}: give f32 or f16`);
const settings = Object.entries(JSON.parse(values.settings!) as Record<string, Partial<KernelChoices>>);
await init();
manualSeed(1);

const workloads: StepWorkload[] = [];
const demo = defaultPaperDemoOptions(gpu().info.isSoftware);
if (values.demo) {
  const { fanet, gan, data } = demo;
  workloads.push(lightcnnWorkload('lightcnn9 demo', {
    inputSize: fanet.inputSize, width: fanet.widthMultiplier, batch: fanet.batchSize, batchNorm: fanet.batchNorm ?? false,
    optimizer: fanet.optimizer ?? 'adam', classes: data.expressionIds?.length ?? 54, precision,
  }));
  if (gan) workloads.push(ganWorkload('fapegan demo', { imageSize: gan.imageSize, baseWidth: gan.baseWidth, residualBlocks: gan.residualBlocks, batch: gan.batchSize, precision }));
} else if (!values.only || values.only === 'lightcnn9') {
  workloads.push(lightcnnWorkload('lightcnn9 paper', { inputSize: 128, width: 1, batch: 16, batchNorm: false, optimizer: 'sgd', classes: 54, precision }));
}
if (!values.demo && (!values.only || values.only === 'fapegan')) {
  const batch = Number(values['gan-batch']), residualBlocks = Number(values['gan-blocks']);
  workloads.push(ganWorkload(`fapegan 128² w64 ${residualBlocks} blocks N${batch}`, { imageSize: 128, baseWidth: 64, residualBlocks, batch, precision }));
}

async function step(w: StepWorkload, setting: Partial<KernelChoices>): Promise<{ wall: number; cpu: number }> {
  await gpu().sync();
  const start = performance.now();
  const cpuStart = process.cpuUsage();
  await gpu().policy.with(setting, async () => {
    const result = await w.step();
    await gpu().sync();
    result.dispose();
  });
  const cpu = process.cpuUsage(cpuStart);
  return { wall: performance.now() - start, cpu: (cpu.user + cpu.system) / 1000 };
}

const best = new Map<string, { wall: number; cpu: number }>();
for (const w of workloads) for (const [, setting] of settings) await step(w, setting);  // compile pipelines, fill the pool
for (let round = 0; round < rounds; round++) {
  for (const w of workloads) {
    for (const [label, setting] of settings) {
      const t = await step(w, setting);
      const key = `${w.name} [${label}]`;
      const b = best.get(key) ?? { wall: Infinity, cpu: Infinity };
      best.set(key, { wall: Math.min(b.wall, t.wall), cpu: Math.min(b.cpu, t.cpu) });
    }
  }
}
console.log(`${gpu().info.description}; best of ${rounds} rounds; load ${loadavg().map((l) => l.toFixed(1)).join(' / ')}`);
for (const w of workloads) {
  const first = best.get(`${w.name} [${settings[0]![0]}]`)!;
  for (const [label] of settings) {
    const { wall, cpu } = best.get(`${w.name} [${label}]`)!;
    console.log(`${`${w.name} [${label}]`.padEnd(44)} ${w.workload.padEnd(60)} wall ${wall.toFixed(0).padStart(7)} ms | CPU ${cpu.toFixed(0).padStart(7)} ms ${(first.cpu / cpu).toFixed(2).padStart(5)}x the first setting`);
  }
  w.free();
}
