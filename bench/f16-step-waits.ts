// The demo training steps (LightCNN-9 ×0.125 and FaPE-GAN, this adapter's demo sizes) in f32 and in
// float16 under kernel-policy settings, the workloads built once and alternated run by run (`--steps`
// steps per run, the order rotated per round). Per step: wall ms, the process's CPU ms (lavapipe's
// threads run in it), the main thread's CPU ms (Linux /proc: encoding, and Dawn's polling while a
// promise waits on the GPU), and the wall and main-thread CPU ms spent inside gpu().read() / sync(),
// the waits a step makes. Best (min) and median over the rounds; dispatches per step from one step.
//   node --import tsx bench/f16-step-waits.ts [--rounds 8] [--steps 8] [--only "lightcnn9 demo,fapegan demo"]
//     [--variants '{"f32": {"precision": "f32"}, "f16": {"precision": "f16", "policy": {"gradUnscale": "perTensor"}}}']
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { gpu, init, type KernelChoices } from '../src/gpu/index.js';
import { ganWorkload, lightcnnWorkload, type StepWorkload } from '../src/bench/step.js';
import { manualSeed } from '../src/tensor/random.js';
import { defaultPaperDemoOptions } from '../src/train/paper-demo.js';
import type { Precision } from '../src/train/precision.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '8' },
    steps: { type: 'string', default: '8' },
    only: { type: 'string', default: 'lightcnn9 demo,fapegan demo' },
    variants: { type: 'string', default: '{"f32": {"precision": "f32"}, "f16 perTensor": {"precision": "f16", "policy": {"gradUnscale": "perTensor"}}, "f16 onDevice": {"precision": "f16", "policy": {"gradUnscale": "onDevice"}}}' },
  },
});
await init();
manualSeed(1);
const load = () => loadavg().map((v) => v.toFixed(1)).join(' ');

/** This thread's CPU ms (utime + stime of /proc/self/task/<pid>/stat, 10 ms ticks). */
function mainThreadCpuMs(): number {
  const fields = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

const ctx = gpu();
const inWaits = { wall: 0, cpu: 0 };
for (const name of ['read', 'sync'] as const) {
  const original = ctx[name].bind(ctx) as (...args: never[]) => Promise<unknown>;
  (ctx as unknown as Record<string, unknown>)[name] = async (...args: never[]) => {
    const [wall, cpu] = [performance.now(), mainThreadCpuMs()];
    try {
      return await original(...args);
    } finally {
      inWaits.wall += performance.now() - wall;
      inWaits.cpu += mainThreadCpuMs() - cpu;
    }
  };
}

const demo = defaultPaperDemoOptions(ctx.info.isSoftware);
const only = values.only.split(',').map((s) => s.trim());
const variants = Object.entries(JSON.parse(values.variants) as Record<string, { precision: Precision; policy?: Partial<KernelChoices> }>);
function workload(name: string, precision: Precision): StepWorkload {
  const { fanet, gan, data } = demo;
  if (name === 'lightcnn9 demo') {
    return lightcnnWorkload(name, { inputSize: fanet.inputSize, width: fanet.widthMultiplier, batch: fanet.batchSize, batchNorm: fanet.batchNorm ?? false, optimizer: fanet.optimizer ?? 'adam', classes: data.expressionIds?.length ?? 54, precision });
  }
  if (name === 'fapegan demo' && gan) return ganWorkload(name, { imageSize: gan.imageSize, baseWidth: gan.baseWidth, residualBlocks: gan.residualBlocks, batch: gan.batchSize, precision });
  throw new Error(`--only: no workload "${name}" here (lightcnn9 demo, fapegan demo)`);
}
const runs = only.flatMap((name) => variants.map(([label, v]) => ({ name, label, policy: v.policy ?? {}, w: workload(name, v.precision), rows: [] as number[][], dispatches: 0 })));
const step = async (w: StepWorkload) => {
  const result = await w.step();
  await gpu().sync();
  result.dispose();
};

console.log(`${ctx.info.description}; load ${load()}; ${values.steps} steps per run, ${values.rounds} rounds`);
for (const run of runs) {
  await ctx.policy.with(run.policy, async () => {
    await step(run.w);
    const before = ctx.counters.dispatches;
    await step(run.w);
    run.dispatches = ctx.counters.dispatches - before;
  });
}
const steps = Number(values.steps);
for (let round = 0; round < Number(values.rounds); round++) {
  for (let k = 0; k < runs.length; k++) {
    const run = runs[(k + round) % runs.length]!;
    await ctx.policy.with(run.policy, async () => {
      Object.assign(inWaits, { wall: 0, cpu: 0 });
      const [wall, cpu, main] = [performance.now(), process.cpuUsage(), mainThreadCpuMs()];
      for (let s = 0; s < steps; s++) await step(run.w);
      const used = process.cpuUsage(cpu);
      run.rows.push([performance.now() - wall, (used.user + used.system) / 1000, mainThreadCpuMs() - main, inWaits.wall, inWaits.cpu].map((v) => v / steps));
    });
  }
}
console.log(`load ${load()}\n`);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const cell = (run: (typeof runs)[number], i: number) => `${Math.min(...run.rows.map((r) => r[i]!)).toFixed(1)}, ${median(run.rows.map((r) => r[i]!)).toFixed(1)}`;
console.log('| step | variant | wall ms | CPU ms | main-thread CPU ms | wall in read / sync | main-thread CPU in read / sync | dispatches | CPU / f32 (best, median) |');
console.log('|---|---|---|---|---|---|---|---|---|');
for (const run of runs) {
  const base = runs.find((r) => r.name === run.name)!;
  const ratio = (pick: (xs: number[]) => number) => pick(run.rows.map((r) => r[1]!)) / pick(base.rows.map((r) => r[1]!));
  console.log(`| ${run.name} | ${run.label} | ${cell(run, 0)} | ${cell(run, 1)} | ${cell(run, 2)} | ${cell(run, 3)} | ${cell(run, 4)} | ${run.dispatches} | ${ratio((xs) => Math.min(...xs)).toFixed(2)}, ${ratio(median).toFixed(2)} |`);
}
console.log('\n(each cell: best, median over the rounds; ms per step; CPU / f32 against the first variant of the same step)');
for (const run of runs) run.w.free();
