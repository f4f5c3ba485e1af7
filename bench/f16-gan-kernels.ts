// The FaPE-GAN demo step (32², base width 8, 1 residual block, batch 8, Adam; or with --lightcnn the
// LightCNN-9 demo step) in f32 and in f16 (autocast + loss scaling), side by side by kernel: one profiled step each after a warm-up step,
// repeated `--rounds` times (alternating the precisions) and the per-kernel minimum kept. Kernel names
// are matched across precisions with their `.f16` / `.toHalf` build suffixes stripped, so one row shows
// what the same pass costs in both and which launches f16 adds (casts, grad_unscale, weight copies).
//   node --import tsx bench/f16-gan-kernels.ts [--rounds 3] [--lightcnn] [--settings '{"label": {policy overrides}}']
import { parseArgs } from 'node:util';
import { loadavg } from 'node:os';
import { gpu, init, type KernelTiming } from '../src/gpu/index.js';
import type { KernelChoices } from '../src/gpu/policy.js';
import { ganWorkload, kernelFamily, lightcnnWorkload } from '../src/bench/step.js';
import type { Precision } from '../src/train/precision.js';
import { defaultPaperDemoOptions } from '../src/train/paper-demo.js';
import { manualSeed } from '../src/tensor/random.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '3' }, lightcnn: { type: 'boolean', default: false }, settings: { type: 'string', default: '{"default": {}}' } } });
await init();
manualSeed(1);
const demo = defaultPaperDemoOptions(gpu().info.isSoftware);
const gan = demo.gan;
if (!gan) throw new Error('the demo options for this adapter train no FaPE-GAN');
const { fanet } = demo;
const workload = (label: string, precision: Precision) =>
  values.lightcnn
    ? lightcnnWorkload(label, { inputSize: fanet.inputSize, width: fanet.widthMultiplier, batch: fanet.batchSize, batchNorm: fanet.batchNorm ?? false, optimizer: fanet.optimizer ?? 'adam', classes: demo.data.expressionIds?.length ?? 54, precision })
    : ganWorkload(label, { imageSize: gan.imageSize, baseWidth: gan.baseWidth, residualBlocks: gan.residualBlocks, batch: gan.batchSize, precision });
const settings = Object.entries(JSON.parse(values.settings!) as Record<string, Partial<KernelChoices>>);
const variants = [
  { label: 'f32', precision: 'f32' as const, policy: {} },
  ...settings.map(([label, policy]) => ({ label: `f16 ${label}`, precision: 'f16' as const, policy })),
];
const workloads = variants.map((v) => ({ ...v, w: workload(v.label, v.precision) }));

const strip = (name: string) => name.replace(/\.(f16|toHalf)\b/g, '');
const best = workloads.map(() => new Map<string, { ms: number; calls: number }>());
const totals = workloads.map(() => ({ ms: Infinity, dispatches: 0 }));
console.log(`${gpu().info.description}; load ${loadavg().map((v) => v.toFixed(2)).join(' ')}`);
for (let round = 0; round < Number(values.rounds); round++) {
  for (const [i, v] of workloads.entries()) {
    const run = async () => {
      const r = await v.w.step();
      await gpu().sync();
      r.dispose();
    };
    await gpu().policy.with(v.policy, async () => {
      await run();
      const { timings } = await gpu().profile(run);
      const byName = new Map<string, { ms: number; calls: number }>();
      for (const t of timings as KernelTiming[]) {
        const e = byName.get(strip(t.name)) ?? { ms: 0, calls: 0 };
        e.ms += t.totalMs;
        e.calls += t.calls;
        byName.set(strip(t.name), e);
      }
      for (const [name, e] of byName) {
        const prev = best[i]!.get(name);
        if (!prev || e.ms < prev.ms) best[i]!.set(name, e);
      }
      const total = timings.reduce((s, t) => s + t.totalMs, 0);
      if (total < totals[i]!.ms) totals[i] = { ms: total, dispatches: timings.reduce((s, t) => s + t.calls, 0) };
    });
  }
}
console.log(`load ${loadavg().map((v) => v.toFixed(2)).join(' ')}`);
console.log(`\n| kernel | family | ${workloads.map((v) => `${v.label} ms (launches)`).join(' | ')} |`);
console.log(`|---|---|${workloads.map(() => '---|').join('')}`);
const names = [...new Set(best.flatMap((m) => [...m.keys()]))];
const key = (name: string) => Math.max(...best.map((m) => m.get(name)?.ms ?? 0));
for (const name of names.sort((a, b) => key(b) - key(a))) {
  console.log(`| ${name} | ${kernelFamily(name)} | ${best.map((m) => { const e = m.get(name); return e ? `${e.ms.toFixed(2)} (${e.calls})` : '—'; }).join(' | ')} |`);
}
console.log(`| total (best step) | | ${totals.map((t) => `${t.ms.toFixed(1)} (${t.dispatches})`).join(' | ')} |`);
for (const w of workloads) w.w.free();
