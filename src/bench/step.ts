// Whole training steps, the unit users wait for: the LightCNN-9 (Fa-Net) step at paper scale and
// at the demo's sizes, and the FaPE-GAN D + G step. Reports images/s from wall clock (a step is
// synced, as training reads its losses back), then one profiled step for each kernel family's
// share of the GPU time and the dispatches and submits a step makes. Browser-safe.
import { gpu, type KernelTiming } from '../gpu/index.js';
import { LightCNN9 } from '../models/lightcnn.js';
import { tensor } from '../tensor/creation.js';
import { createFanetOptimizer, fanetScaledTrainStep, fanetTrainStep } from '../train/fanet.js';
import { usePrecision, type Precision } from '../train/precision.js';
import { createFaPEGanSession, freeSession, ganStep } from '../train/fapegan.js';
import { defaultPaperDemoOptions } from '../train/paper-demo.js';

export interface FamilyShare {
  /** Kernel family: conv forward / input-grad / weight-grad, matmul, mfm, pool, norm, optim, ... */
  family: string;
  ms: number;
  /** Fraction of the step's summed GPU time. */
  share: number;
  dispatches: number;
}

export interface StepResult {
  name: string;
  /** f32, or f16 (float16 operands for the convolutions and linear layers, loss scaling). */
  precision: Precision;
  /** What was trained, in words: model, width, input size, optimizer. */
  workload: string;
  batch: number;
  /** Timed steps (after one warm-up step and one profiled step). */
  steps: number;
  msPerStep: number;
  /** Process CPU time per timed step (Node only; lavapipe's threads run in the process, so on a loaded machine this is the steadier figure). */
  cpuMsPerStep?: number;
  imagesPerSecond: number;
  dispatchesPerStep: number;
  submitsPerStep: number;
  /** GPU memory a step takes above what was in use before it (activations, saved tensors, gradients, temporaries): the pool's peak. */
  stepBytes: number;
  /** Summed GPU timestamps of the profiled step; absent without timestamp queries. */
  gpuMsPerStep?: number;
  families: FamilyShare[];
}

/** One workload: builds its model once, then runs steps; `free` releases everything it made. */
export interface StepWorkload {
  name: string;
  workload: string;
  batch: number;
  precision: Precision;
  /** Encodes one training step (f16: reads the loss scaler's check back); returns what to dispose after the step's sync. */
  step(): { dispose(): void } | Promise<{ dispose(): void }>;
  free(): void;
}

const CONV_FAMILIES: Record<string, string> = {
  conv2d: 'conv forward',
  conv2dMfm: 'conv forward',
  conv_transpose2d: 'conv input-grad',
  conv2d_weight_grad: 'conv weight-grad',
  conv_pack_weights: 'conv weight packing',
  conv_pack_phase_weights: 'conv weight packing',
};

/** The family of a kernel name ("conv2d.registerTiled" → conv forward, "norm.gradSums" → norm). */
export function kernelFamily(name: string): string {
  const file = name.split(/[.#]/)[0]!;
  return CONV_FAMILIES[file] ?? file;
}

export function familyShares(timings: KernelTiming[]): FamilyShare[] {
  const total = timings.reduce((s, t) => s + t.totalMs, 0);
  const byFamily = new Map<string, FamilyShare>();
  for (const t of timings) {
    const family = kernelFamily(t.name);
    const entry = byFamily.get(family) ?? { family, ms: 0, share: 0, dispatches: 0 };
    entry.ms += t.totalMs;
    entry.dispatches += t.calls;
    byFamily.set(family, entry);
  }
  const shares = [...byFamily.values()].sort((a, b) => b.ms - a.ms);
  for (const s of shares) s.share = total > 0 ? s.ms / total : 0;
  return shares;
}

function randomValues(count: number, seed: number): Float32Array {
  const values = new Float32Array(count);
  let state = seed >>> 0 || 1;
  for (let i = 0; i < count; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    values[i] = state / 2 ** 31 - 1;
  }
  return values;
}

export type LightCNNWorkload = { inputSize: number; width: number; batch: number; batchNorm: boolean; optimizer: 'sgd' | 'adam'; classes: number; precision: Precision };

export function lightcnnWorkload(name: string, options: LightCNNWorkload): StepWorkload {
  const { inputSize, width, batch, batchNorm, optimizer: kind, classes, precision } = options;
  const model = new LightCNN9({ classes, inputSize, widthMultiplier: width, batchNorm });
  const { optimizer } = createFanetOptimizer(model, { batchSize: batch, optimizer: kind });
  const scaler = usePrecision(model, precision, `bench --step --precision ${precision}`);
  const shape = [batch, 1, inputSize, inputSize];
  const images = randomValues(batch * inputSize * inputSize, 7);
  const labels = Int32Array.from({ length: batch }, (_, i) => (i * 7) % classes);
  return {
    name,
    workload: `LightCNN-9 ×${width} on 1×${inputSize}×${inputSize}, ${classes} classes${batchNorm ? ', batch norm' : ''}, ${kind === 'sgd' ? 'SGD momentum' : 'Adam'}${scaler ? ', float16 operands + loss scaling' : ''}`,
    batch,
    precision,
    step: () => (scaler ? fanetScaledTrainStep(model, optimizer, scaler, images, shape, labels) : fanetTrainStep(model, optimizer, images, shape, labels)),
    free: () => {
      optimizer.dispose();
      model.dispose();
      scaler?.dispose();
    },
  };
}

export type GanWorkload = { imageSize: number; baseWidth: number; residualBlocks: number; batch: number; precision: Precision };

export function ganWorkload(name: string, options: GanWorkload): StepWorkload {
  const { imageSize, baseWidth, residualBlocks, batch, precision } = options;
  const session = createFaPEGanSession({ channels: 1, imageSize, baseWidth, residualBlocks }, { epochs: 1, batchSize: batch, seed: 1, precision });
  const shape = [batch, 1, imageSize, imageSize];
  const count = batch * imageSize * imageSize;
  const source = tensor(randomValues(count, 11), shape);
  const target = tensor(randomValues(count, 13), shape);
  const mask = tensor(randomValues(count, 17).map((v) => (v > 0.8 ? 1 : -1)), shape);
  return {
    name,
    workload: `FaPE-GAN D + G (Adam), ${imageSize}×${imageSize}, base width ${baseWidth}, ${residualBlocks} residual blocks${precision === 'f16' ? ', float16 operands + loss scaling' : ''}`,
    batch,
    precision,
    step: () => ganStep(session, source, mask, target),
    free: () => {
      freeSession(session);
      for (const t of [source, target, mask]) t.dispose();
    },
  };
}

/**
 * The workloads for this adapter. quick: a tiny LightCNN-9 and FaPE-GAN (seconds on lavapipe).
 * Otherwise LightCNN-9 at paper scale (width 1, 128 px, SGD momentum; batch 16 on software
 * adapters, 128 on GPUs), the demo's Fa-Net and FaPE-GAN sizes for this adapter, and on GPUs the
 * FaPE-GAN at paper scale (128 px, width 64, 9 blocks, batch 16). Each runs in each of
 * `precisions`, one after the other.
 */
function workloads(quick: boolean, precisions: readonly Precision[], only?: readonly string[]): (() => StepWorkload)[] {
  const software = gpu().info.isSoftware;
  const named = (name: string, precision: Precision) => (precisions.length > 1 || precision !== 'f32' ? `${name} ${precision}` : name);
  const wanted = (name: string) => only === undefined || only.includes(name);
  const inEach = (name: string, options: Omit<LightCNNWorkload, 'precision'>) => (wanted(name) ? precisions.map((precision) => () => lightcnnWorkload(named(name, precision), { ...options, precision })) : []);
  const ganInEach = (name: string, options: Omit<GanWorkload, 'precision'>) => (wanted(name) ? precisions.map((precision) => () => ganWorkload(named(name, precision), { ...options, precision })) : []);
  if (quick) {
    return [
      ...inEach('lightcnn9 quick', { inputSize: 32, width: 0.125, batch: 4, batchNorm: false, optimizer: 'sgd', classes: 7 }),
      ...ganInEach('fapegan quick', { imageSize: 24, baseWidth: 4, residualBlocks: 1, batch: 2 }),
    ];
  }
  const demo = defaultPaperDemoOptions(software);
  const list: (() => StepWorkload)[] = [
    ...inEach('lightcnn9 paper', { inputSize: 128, width: 1, batch: software ? 16 : 128, batchNorm: false, optimizer: 'sgd', classes: 54 }),
    ...inEach('lightcnn9 demo', {
      inputSize: demo.fanet.inputSize, width: demo.fanet.widthMultiplier, batch: demo.fanet.batchSize,
      batchNorm: demo.fanet.batchNorm ?? false, optimizer: demo.fanet.optimizer ?? 'adam', classes: demo.data.expressionIds?.length ?? 54,
    }),
  ];
  if (demo.gan) {
    const gan = demo.gan;
    list.push(...ganInEach('fapegan demo', { imageSize: gan.imageSize, baseWidth: gan.baseWidth, residualBlocks: gan.residualBlocks, batch: gan.batchSize }));
  }
  if (!software) list.push(...ganInEach('fapegan paper', { imageSize: 128, baseWidth: 64, residualBlocks: 9, batch: 16 }));
  return list;
}

async function runStep(w: StepWorkload): Promise<void> {
  const result = await w.step();
  await gpu().sync();
  result.dispose();
}

async function measure(w: StepWorkload, steps: number): Promise<StepResult> {
  const ctx = gpu();
  await runStep(w); // compiles the pipelines and fills the buffer pool
  await ctx.autotune(); // with autotuning on: the step's shape classes, tuned before anything is timed
  const before = { ...ctx.counters };
  // The profiled step also gives the memory figure (the profiler's query buffers are not pooled).
  const inUse = ctx.pool.stats().bytesInUse;
  ctx.pool.resetPeak();
  const { timings, timestamps } = await ctx.profile(() => runStep(w));
  const stepBytes = ctx.pool.stats().peakBytes - inUse;
  const dispatchesPerStep = ctx.counters.dispatches - before.dispatches;
  const submitsPerStep = ctx.counters.submits - before.submits;
  const cpuStart = typeof process !== 'undefined' && typeof process.cpuUsage === 'function' ? process.cpuUsage() : undefined;
  const start = performance.now();
  for (let s = 0; s < steps; s++) await runStep(w);
  const msPerStep = (performance.now() - start) / steps;
  const cpu = cpuStart && process.cpuUsage(cpuStart);
  const gpuMs = timings.reduce((s, t) => s + t.totalMs, 0);
  return {
    name: w.name, precision: w.precision, workload: w.workload, batch: w.batch, steps, msPerStep,
    ...(cpu ? { cpuMsPerStep: (cpu.user + cpu.system) / 1000 / steps } : {}),
    imagesPerSecond: (w.batch * 1000) / msPerStep,
    dispatchesPerStep, submitsPerStep, stepBytes,
    ...(timestamps ? { gpuMsPerStep: gpuMs } : {}),
    families: timestamps ? familyShares(timings) : [],
  };
}

/**
 * Runs every workload for this adapter (or those named in `only`: 'lightcnn9 paper', 'lightcnn9 demo',
 * 'fapegan demo', ...); `steps` timed steps each (default: 2 quick or software, 10 on GPUs); each in
 * each of `precisions` (default f32).
 */
export async function benchSteps(report: (result: StepResult) => void, options: { quick?: boolean; steps?: number; precisions?: readonly Precision[]; only?: readonly string[] } = {}): Promise<StepResult[]> {
  const quick = options.quick ?? false;
  const steps = options.steps ?? (quick || gpu().info.isSoftware ? 2 : 10);
  const results: StepResult[] = [];
  for (const make of workloads(quick, options.precisions ?? ['f32'], options.only)) {
    const w = make();
    try {
      const result = await measure(w, steps);
      results.push(result);
      report(result);
    } finally {
      w.free();
    }
  }
  return results;
}
