// Fused norm + activation against the same model run layer by layer with the unfused ops, side by
// side in one process, alternating over rounds, at the software demo's sizes: LightCNN-9 ×0.125 at
// 32 px with batch norm (batchNormMfm in every convolutional mfm; batch 32) and the FaPE-GAN
// generator + discriminator at 32 px, base width 8, 1 residual block (norm + ReLU / LeakyReLU;
// batch 8). One "step" is forward + backward (no optimizer: the same in both). Reports wall ms per
// step and the summed GPU time of a profiled step, and the ratio unfused / fused.
//   node --import tsx bench/norm-fusion.ts [--rounds 5] [--steps 3]
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { F, gpu, init, scope, tensor, type Tensor } from '../src/index.js';
import { ResidualBlock, createFaPEGan } from '../src/models/fapegan.js';
import { Group, LightCNN9 } from '../src/models/lightcnn.js';
import { Sequential } from '../src/nn/layers/basic.js';
import { MFM } from '../src/nn/layers/mfm.js';
import type { AnyModule, Module } from '../src/nn/module.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '5' }, steps: { type: 'string', default: '3' } } });
const rounds = Number(values.rounds);
const steps = Number(values.steps);
await init();

function unfused(module: AnyModule, x: Tensor): Tensor {
  if (module instanceof Sequential) return [...module].reduce((y, layer) => unfused(layer, y), x);
  if (module instanceof ResidualBlock) return F.add(x, unfused(module.convBlock, x));
  if (module instanceof Group) return unfused(module.conv, unfused(module.conv_a, x));
  if (module instanceof MFM && module.norm) return F.mfm(module.norm.call(module.filter.call(x)));
  return (module as Module<[Tensor], Tensor>).call(x);
}

function random(shape: number[], seed: number): Tensor {
  let state = seed;
  const count = shape.reduce((a, d) => a * d, 1);
  return tensor(Float32Array.from({ length: count }, () => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 31 - 1)), shape);
}

interface Pair { name: string; fused: () => void; unfused: () => void; model: AnyModule }

const fanet = new LightCNN9({ classes: 4, inputSize: 32, widthMultiplier: 0.125, batchNorm: true, dropout: 0 });
const images = random([32, 1, 32, 32], 7);
const labels = Array.from({ length: 32 }, (_, i) => i % 4);
const fanetStep = (forward: () => Tensor) => scope(() => F.crossEntropy(forward(), labels).backward());
const { generator, discriminator } = createFaPEGan({ channels: 1, imageSize: 32, baseWidth: 8, residualBlocks: 1, norm: 'batch' });
const source = random([8, 1, 32, 32], 11);
const mask = random([8, 1, 32, 32], 13);
const ganStep = (g: () => Tensor, d: (fake: Tensor) => Tensor) => scope(() => F.mean(d(g())).backward());
const pairs: Pair[] = [
  {
    name: 'LightCNN-9 ×0.125 32 px BN, batch 32 (BN + mfm ×9)', model: fanet,
    fused: () => fanetStep(() => fanet.call(images).logits),
    unfused: () => fanetStep(() => fanet.fc2.call(fanet.fc1.call(F.flatten(unfused(fanet.features, images), 1)))),
  },
  {
    name: 'FaPE-GAN G + D 32 px width 8, batch 8 (BN + ReLU ×6, BN + LeakyReLU ×3)', model: generator,
    fused: () => ganStep(() => generator.call(source, mask), (fake) => discriminator.call(fake, mask)),
    unfused: () => ganStep(() => unfused(generator.model, F.cat([source, mask], 1)), (fake) => unfused(discriminator.model, F.cat([fake, mask], 1))),
  },
];

async function wall(step: () => void): Promise<number> {
  const start = performance.now();
  for (let s = 0; s < steps; s++) {
    step();
    await gpu().sync();
  }
  return (performance.now() - start) / steps;
}

/** The kernels the fusion touches: norm, mfm and the activations with their gradients. */
const FUSION_KERNELS = /^(norm\.|mfm\.|unary\.(relu|leakyRelu|inverseSqrtEps)|binary\.(relu|leakyRelu)Grad)/;

async function gpuMs(step: () => void): Promise<{ ms: number; normMs: number; dispatches: number; byKernel: Map<string, number> }> {
  const { timings } = await gpu().profile(async () => {
    step();
    await gpu().sync();
  });
  const touched = timings.filter((t) => FUSION_KERNELS.test(t.name));
  return {
    ms: timings.reduce((s, t) => s + t.totalMs, 0),
    normMs: touched.reduce((s, t) => s + t.totalMs, 0),
    dispatches: timings.reduce((s, t) => s + t.calls, 0),
    byKernel: new Map(touched.map((t) => [t.name, t.totalMs])),
  };
}

console.log(`load average ${loadavg().map((v) => v.toFixed(1)).join(' / ')}; ${rounds} rounds of ${steps} steps each way, alternating`);
for (const pair of pairs) {
  for (const step of [pair.fused, pair.unfused]) await wall(step); // warm-up: pipelines, buffer pool
  const times = { fused: [] as number[], unfused: [] as number[], gpuFused: [] as number[], gpuUnfused: [] as number[], normFused: [] as number[], normUnfused: [] as number[] };
  const kernels = { fused: new Map<string, number[]>(), unfused: new Map<string, number[]>() };
  let dispatches = { fused: 0, unfused: 0 };
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? (['fused', 'unfused'] as const) : (['unfused', 'fused'] as const);
    for (const which of order) {
      times[which].push(await wall(pair[which]));
      const g = await gpuMs(pair[which]);
      (which === 'fused' ? times.gpuFused : times.gpuUnfused).push(g.ms);
      (which === 'fused' ? times.normFused : times.normUnfused).push(g.normMs);
      for (const [name, ms] of g.byKernel) kernels[which].set(name, [...(kernels[which].get(name) ?? []), ms]);
      dispatches = { ...dispatches, [which]: g.dispatches };
    }
  }
  const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
  const ratios = times.fused.map((f, i) => times.unfused[i]! / f);
  console.log(`${pair.name}
  wall per step: fused ${median(times.fused).toFixed(1)} ms, unfused ${median(times.unfused).toFixed(1)} ms (medians); unfused / fused per round ${ratios.map((r) => r.toFixed(2)).join(' ')}, median ${median(ratios).toFixed(2)}×
  GPU time of a profiled step: fused ${median(times.gpuFused).toFixed(1)} ms, unfused ${median(times.gpuUnfused).toFixed(1)} ms (${(median(times.gpuUnfused) / median(times.gpuFused)).toFixed(2)}×); dispatches ${dispatches.fused} vs ${dispatches.unfused}
  GPU time in norm / mfm / activation kernels: fused ${median(times.normFused).toFixed(1)} ms, unfused ${median(times.normUnfused).toFixed(1)} ms; unfused / fused per round ${times.normFused.map((f, i) => (times.normUnfused[i]! / f).toFixed(2)).join(' ')}, median ${median(times.normFused.map((f, i) => times.normUnfused[i]! / f)).toFixed(2)}×`);
  for (const which of ['fused', 'unfused'] as const) console.log(`    ${which}: ${[...kernels[which]].map(([name, ms]) => `${name} ${median(ms).toFixed(1)}`).join(', ')}`);
}
