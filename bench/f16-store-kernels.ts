// The float16 demo steps' kernels (LightCNN-9 demo and FaPE-GAN demo, autocast + loss scaling), one profiled step
// each after a warm-up step, under the kernel policies given (default: the defaults): every kernel with its GPU time
// and launches, the cast kernels first, so one sees which casts a step still runs beside the GEMM / conv stores.
//   node --import tsx bench/f16-store-kernels.ts [--settings '{"cast": {"halfStores": "cast"}, "epilogue": {}}'] [--top 30]
import { parseArgs } from 'node:util';
import { loadavg } from 'node:os';
import { gpu, init } from '../src/gpu/index.js';
import { ganWorkload, kernelFamily, lightcnnWorkload, type StepWorkload } from '../src/bench/step.js';
import { defaultPaperDemoOptions } from '../src/train/paper-demo.js';
import type { KernelChoices } from '../src/gpu/policy.js';

const { values } = parseArgs({ options: { settings: { type: 'string', default: '{"defaults": {}}' }, top: { type: 'string', default: '30' }, precision: { type: 'string', default: 'f16' } } });
await init();
const settings = JSON.parse(values.settings) as Record<string, Partial<KernelChoices>>;
const precision = values.precision as 'f16' | 'f32';
const demo = defaultPaperDemoOptions(gpu().info.isSoftware);
const gan = demo.gan;
if (!gan) throw new Error('the demo options for this adapter have no FaPE-GAN');
const makers: (() => StepWorkload)[] = [
  () => lightcnnWorkload('lightcnn9 demo', { inputSize: demo.fanet.inputSize, width: demo.fanet.widthMultiplier, batch: demo.fanet.batchSize, batchNorm: demo.fanet.batchNorm ?? false, optimizer: demo.fanet.optimizer ?? 'adam', classes: demo.data.expressionIds?.length ?? 54, precision }),
  () => ganWorkload('fapegan demo', { imageSize: gan.imageSize, baseWidth: gan.baseWidth, residualBlocks: gan.residualBlocks, batch: gan.batchSize, precision }),
];
console.log(`${gpu().info.description}; load average ${loadavg().map((v) => v.toFixed(2)).join(' ')}`);
for (const [label, policy] of Object.entries(settings)) {
  await gpu().policy.with(policy, async () => {
    for (const make of makers) {
      const w = make();
      const run = async () => {
        const r = await w.step();
        await gpu().sync();
        r.dispose();
      };
      await run();
      const before = gpu().counters.dispatches;
      const { timings } = await gpu().profile(run);
      const dispatches = gpu().counters.dispatches - before;
      const total = timings.reduce((s, t) => s + t.totalMs, 0);
      const casts = timings.filter((t) => kernelFamily(t.name) === 'cast');
      const castMs = casts.reduce((s, t) => s + t.totalMs, 0);
      console.log(`\n${w.name} ${precision}, ${label}: ${total.toFixed(1)} ms GPU, ${dispatches} dispatches; casts ${casts.reduce((s, t) => s + t.calls, 0)} launches, ${castMs.toFixed(1)} ms (${((100 * castMs) / total).toFixed(1)} %)`);
      console.log('| kernel | ms | launches |');
      console.log('|---|---|---|');
      const sorted = [...timings].sort((a, b) => b.totalMs - a.totalMs);
      for (const t of [...casts, ...sorted.filter((t) => kernelFamily(t.name) !== 'cast').slice(0, Number(values.top))]) console.log(`| ${t.name} | ${t.totalMs.toFixed(2)} | ${t.calls} |`);
      w.free();
    }
  });
}
