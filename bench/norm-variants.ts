// The norm kernels before (bench/norm-baseline.ts: commit 148e3d7's launchers and shaders) and now
// (src/kernels/norm.ts), side by side in one process at the software demos' shapes: every norm
// call of the Fa-Net demo step (LightCNN-9 ×0.125, 32 px, batch 32: batch norm + max-feature-map)
// and of the FaPE-GAN demo step (32 px, width 8, batch 8: batch norm + relu / leakyRelu), plus
// instance-norm rows. Each round runs the whole forward + backward of every row once with the old
// launchers and once with the new ones, under gpu().profile; the best round's GPU time per kernel
// (statistics, normalise, gradient sums, input gradient) and per row set (one profile each) is
// reported, with the largest difference of the outputs relative to their largest value (from the
// first round).
//   node --import tsx bench/norm-variants.ts [--rounds 5] [--lanes 8|16|...|256: the policy's normReductionLanes for the new kernels]
import { parseArgs } from 'node:util';
import { gpu, init } from '../src/gpu/index.js';
import { alloc } from '../src/kernels/launch.js';
import * as now from '../src/kernels/norm.js';
import type { NormActivation, NormGeometry } from '../src/kernels/norm.js';
import * as old from './norm-baseline.js';
import { randomValues } from './conv-variants.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '5' }, lanes: { type: 'string' } } });
const rounds = Number(values.rounds);
await init();
if (values.lanes) gpu().policy.set({ normReductionLanes: Number(values.lanes) as 16 });
old.registerBaselineShaders();

type Launchers = Pick<typeof now, 'normStats' | 'normalize' | 'normalizeMfm' | 'normGradSums' | 'normInputGrad'>;

interface Row {
  name: string;
  g: NormGeometry;
  activation: NormActivation;
}

const bn = (G: number, Nb: number, S: number): NormGeometry => ({ G, Nb, S, C: G });
const rows: Row[] = [
  ...[bn(12, 32, 1024), bn(12, 32, 256), bn(24, 32, 256), bn(24, 32, 64), bn(48, 32, 64), bn(48, 32, 16), bn(32, 32, 16), bn(32, 32, 16), bn(32, 32, 16)].map((g) => ({ name: 'fanet', g, activation: { kind: 'mfm' } as NormActivation })),
  ...[bn(8, 8, 1024), bn(8, 8, 1024), bn(16, 8, 256), bn(16, 8, 256), bn(32, 8, 64), bn(32, 8, 64), bn(32, 8, 64)].map((g) => ({ name: 'gan', g, activation: { kind: 'relu' } as NormActivation })),
  ...[bn(16, 8, 64), bn(16, 8, 64), bn(16, 8, 64), bn(32, 8, 16), bn(32, 8, 16), bn(32, 8, 16), bn(64, 8, 9), bn(64, 8, 9), bn(64, 8, 9)].map((g) => ({ name: 'gan', g, activation: { kind: 'leakyRelu', negativeSlope: 0.2 } as NormActivation })),
  ...[{ G: 64, Nb: 1, S: 1024, C: 8 }, { G: 128, Nb: 1, S: 256, C: 16 }, { G: 256, Nb: 1, S: 63, C: 32 }].map((g) => ({ name: 'instance', g, activation: { kind: 'relu' } as NormActivation })),
];

function upload(values: Float32Array): GPUBuffer {
  const b = alloc(values.length);
  gpu().upload(b, values);
  return b;
}

/** One row's forward (statistics with running updates, normalise + activation) and backward; returns the outputs to compare. */
function runRow(k: Launchers, row: Row, inputs: { x: GPUBuffer; w: GPUBuffer; b: GPUBuffer; rm: GPUBuffer; rv: GPUBuffer; gy: GPUBuffer }): GPUBuffer[] {
  const { g, activation } = row;
  const batchNorm = g.Nb > 1;
  const stats = k.normStats(inputs.x, g, 1e-5, batchNorm ? { mean: inputs.rm, variance: inputs.rv, momentum: 0.1 } : undefined);
  let y: GPUBuffer;
  let mask: GPUBuffer | undefined;
  if (activation.kind === 'mfm') ({ y, mask } = k.normalizeMfm(inputs.x, stats, inputs.w, inputs.b, g, true));
  else y = k.normalize(inputs.x, stats, inputs.w, inputs.b, g, activation);
  const backward = { gy: inputs.gy, stats, weight: inputs.w, bias: activation.kind === 'mfm' ? undefined : inputs.b, activation, mask };
  const sums = k.normGradSums(inputs.x, backward, g);
  const gx = k.normInputGrad(inputs.x, backward, sums, g);
  return [stats, y, ...(mask ? [mask] : []), sums.sumG, sums.sumGXhat, gx];
}

// The quads kernels count with the kernel they stand in for.
const family = (name: string) => name.replace(/^norm0?\./, '').replace('Quads', '').replace(/^inputGradMfm/, 'inputGrad');
const allInputs = rows.map((row, i) => {
  const count = row.g.Nb * row.g.G * row.g.S;
  const ySize = row.activation.kind === 'mfm' ? count / 2 : count;
  // A large mean: the variance must come from the deviations, not E[x²] - E[x]².
  return {
    x: upload(randomValues(count, 11 + i, 2).map((v) => v + 3)),
    w: upload(randomValues(row.g.C, 3 + i, 1)),
    b: upload(randomValues(row.g.C, 5 + i, 1)),
    rm: upload(new Float32Array(row.g.C)),
    rv: upload(new Float32Array(row.g.C).fill(1)),
    gy: upload(randomValues(ySize, 7 + i, 1)),
  };
});

const sets = [...new Set(rows.map((r) => r.name))];

/** One profiled pass per row set; kernel family → ms, and row set → ms. */
async function timeAll(k: Launchers): Promise<{ ms: Map<string, number>; outputs: Float32Array[][] }> {
  const outputs: GPUBuffer[][] = [];
  const ms = new Map<string, number>();
  const add = (key: string, t: number) => ms.set(key, (ms.get(key) ?? 0) + t);
  for (const set of sets) {
    const { timings } = await gpu().profile(async () => {
      rows.forEach((row, i) => {
        if (row.name === set) outputs.push(runRow(k, row, allInputs[i]!));
      });
      await gpu().sync();
    });
    for (const t of timings) {
      add(family(t.name), t.totalMs);
      add(`= ${set} rows`, t.totalMs);
    }
  }
  const read = await Promise.all(outputs.map((list) => Promise.all(list.map(async (b) => new Float32Array(await gpu().read(b, gpu().pool.bytesAcquired(b)!))))));
  outputs.flat().forEach((b) => gpu().pool.release(b));
  return { ms, outputs: read };
}

const best = [new Map<string, number>(), new Map<string, number>()];
let maxDiff = 0;
for (let r = 0; r <= rounds; r++) {
  const results = [await timeAll(old), await timeAll(now)];
  if (r === 0) {
    results[0]!.outputs.forEach((list, i) =>
      list.forEach((a, j) => {
        const b = results[1]!.outputs[i]![j]!;
        let diff = 0;
        let scale = 1e-30;
        for (let e = 0; e < a.length; e++) {
          diff = Math.max(diff, Math.abs(a[e]! - b[e]!));
          scale = Math.max(scale, Math.abs(a[e]!));
        }
        maxDiff = Math.max(maxDiff, diff / scale);
      }),
    );
    continue; // warm-up: pipeline compilation
  }
  results.forEach(({ ms }, v) => ms.forEach((t, name) => best[v]!.set(name, Math.min(best[v]!.get(name) ?? Infinity, t))));
}
const info = gpu().info;
console.log(`${info.description} (${info.isSoftware ? 'software' : 'hardware'}), reduction lanes ${gpu().policy.get('normReductionLanes')}, ${rows.length} norm layers (forward + backward each), best of ${rounds} alternated rounds; max relative output difference ${maxDiff.toExponential(1)}`);
console.log('| kernel | before | after | speed-up |');
console.log('|---|---|---|---|');
const names = [...new Set([...best[0]!.keys(), ...best[1]!.keys()])].sort();
const kernels = names.filter((n) => !n.startsWith('='));
const row = (name: string, a: number, b: number) => console.log(`| ${name} | ${a.toFixed(2)} ms | ${b.toFixed(2)} ms | ${b > 0 ? (a / b).toFixed(2) : '-'}× |`);
for (const name of kernels) row(name, best[0]!.get(name) ?? 0, best[1]!.get(name) ?? 0);
// Each row set's best round (not the sum of per-kernel bests).
for (const name of names.filter((n) => n.startsWith('='))) row(name, best[0]!.get(name)!, best[1]!.get(name)!);
