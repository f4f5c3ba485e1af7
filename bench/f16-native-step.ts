// The float16 training steps before and after the native float16 elementwise / pad / cat / slice
// kernels and the autocast weight cast cache, in one process, alternated round by round: "before" is
// the kernel policy { halfOps: 'widen', weightCastCache: 'off' } (every float16 operand widened by a
// cast pass and every autocast weight cast at each call, as main did), "after" the defaults; float32
// steps alongside as the target. Per step: wall ms, process CPU ms (lavapipe's threads included), the
// cast kernels' share of a profiled step, and the step's peak GPU memory (as `webfer bench --step`).
//   node --import tsx bench/f16-native-step.ts [--rounds 3] [--steps 5] [--only "lightcnn9 demo,fapegan demo"]
//     [--variants '{"f32": {"precision": "f32"}, "f16 cast": {"precision": "f16", "policy": {"halfStores": "cast"}}, ...}']
// (--variants: other labelled precision + policy pairs in place of the three above.)
import { parseArgs } from 'node:util';
import { loadavg } from 'node:os';
import { gpu, init } from '../src/gpu/index.js';
import { benchSteps, type StepResult } from '../src/bench/step.js';
import type { KernelChoices } from '../src/gpu/policy.js';
import type { Precision } from '../src/train/precision.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '3' }, steps: { type: 'string', default: '5' }, only: { type: 'string', default: 'lightcnn9 demo,fapegan demo' }, variants: { type: 'string' } } });
await init();
const only = values.only.split(',').map((name) => name.trim());
const steps = Number(values.steps);

interface Variant {
  label: string;
  precision: Precision;
  policy: Partial<KernelChoices>;
}
const variants: Variant[] = values.variants
  ? Object.entries(JSON.parse(values.variants) as Record<string, { precision: Precision; policy?: Partial<KernelChoices> }>).map(([label, v]) => ({ label, precision: v.precision, policy: v.policy ?? {} }))
  : [
      { label: 'f32', precision: 'f32', policy: {} },
      { label: 'f16 before (widen, no cache)', precision: 'f16', policy: { halfOps: 'widen', weightCastCache: 'off' } },
      { label: 'f16 after (native, cache)', precision: 'f16', policy: { halfOps: 'native', weightCastCache: 'on' } },
    ];

const results = new Map<string, StepResult[]>();
console.log(`${gpu().info.description}; load average ${loadavg().map((v) => v.toFixed(2)).join(' ')}; workloads ${only.join(', ')}; ${steps} timed steps per run`);
for (let round = 0; round < Number(values.rounds); round++) {
  // Rotate the order each round so no variant always runs first (warm caches, load drift).
  const order = variants.map((_, i) => variants[(i + round) % variants.length]!);
  for (const v of order) {
    await gpu().policy.with(v.policy, () =>
      benchSteps((r) => {
        const key = `${r.name.replace(/ f(16|32)$/, '')} | ${v.label}`;
        results.set(key, [...(results.get(key) ?? []), r]);
      }, { steps, precisions: [v.precision], only }),
    );
  }
  console.log(`round ${round + 1} done; load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
}

const castShare = (r: StepResult) => r.families.find((f) => f.family === 'cast')?.share ?? 0;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log('\n| step | variant | wall ms (median, best) | CPU ms (median) | casts | peak MiB | dispatches |');
console.log('|---|---|---|---|---|---|---|');
for (const [key, rs] of results) {
  const [step, label] = key.split(' | ');
  const wall = rs.map((r) => r.msPerStep);
  const cpu = rs.map((r) => r.cpuMsPerStep ?? NaN);
  console.log(`| ${step} | ${label} | ${median(wall).toFixed(1)}, ${Math.min(...wall).toFixed(1)} | ${median(cpu).toFixed(1)} | ${(100 * median(rs.map(castShare))).toFixed(1)} % | ${(rs[0]!.stepBytes / 2 ** 20).toFixed(1)} | ${rs[0]!.dispatchesPerStep} |`);
}
