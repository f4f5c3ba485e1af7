// `webfer bench --compare tfjs`: the same work through webfer and through TensorFlow.js's WebGPU
// backend, on the same WebGPU device in one process — matmul (n³ and LightCNN-9's fc1), every
// LightCNN-9 and FaPE-GAN convolution's forward, input gradient and weight gradient, and the LightCNN-9
// training step (SGD momentum with the Fa-Net recipe's parameter groups). Each row is checked
// first: the same inputs through both libraries must agree within TOLERANCE, so the two times
// are of the same computation. Times are wall clock over synced repetitions after a warm-up, for
// both libraries alike. TF.js runs in its native NHWC layout (filters [K, K, Cin, Cout]); inputs
// and weights are permuted on the host, results permuted back before the comparison.
//
// TF.js (@tensorflow/tfjs-core, @tensorflow/tfjs and -backend-webgpu, dev dependencies) is loaded
// only here, by dynamic import. Its backend checks navigator.gpu when imported: in Node that is set
// to the `webgpu` package's entry point that init() made, whose GPU* globals are already installed.
import { gpu } from '../gpu/index.js';
import { nodeGpuEntryIfMade } from '../gpu/device.js';
import { conv2dForward, conv2dTranspose, conv2dWeightGrad, type ConvGeometry } from '../kernels/conv.js';
import * as F from '../nn/functional/index.js';
import { LightCNN9 } from '../models/lightcnn.js';
import { FaPEGenerator, PatchDiscriminator, ReflectionPad2d } from '../models/fapegan.js';
import { Conv2d, ConvTranspose2d } from '../nn/layers/conv.js';
import type { AnyModule } from '../nn/module.js';
import { tensor } from '../tensor/creation.js';
import { noGrad, type Tensor } from '../tensor/tensor.js';
import { FANET_RECIPE, createFanetOptimizer, fanetParamGroups, fanetTrainStep } from '../train/fanet.js';
import type * as TfCore from '@tensorflow/tfjs-core';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';

type Tf = typeof TfCore;
type TfTensor = TfCore.Tensor;

/** The TF.js release compared against (package.json's devDependencies pin it). */
export const TFJS_VERSION = '4.22.0';
/**
 * tfjs-core's Node build registers no gradients (tf.grads fails on the first op): the union
 * package's Node build bundles them, registering into the same tfjs-core instance.
 */
export const TFJS_PACKAGES = ['@tensorflow/tfjs-core', '@tensorflow/tfjs', '@tensorflow/tfjs-backend-webgpu'] as const;
/** Largest |webfer − TF.js| over the largest |TF.js| allowed on a row's outputs. */
export const AGREEMENT_TOLERANCE = 1e-3;
/**
 * The whole training step's tolerance. A step at the paper's scale takes millions of max decisions
 * (max-feature-map, max-pool) on values that differ by float32 rounding when two libraries sum in
 * different orders, and its gradients are long reductions with cancellation: measured on lavapipe
 * (LightCNN-9, batch 16, 128²), two of webfer's own conv variants differ from each other by up to
 * 4.9e-3 on the step's gradients (the one-invocation-per-output oracle against registerTiled; packed
 * against registerTiled 1.9e-3), while every kernel row agrees with TF.js within 1e-5. The old registerTiled forward agreed with TF.js to 1.9e-5 only because it summed in
 * TF.js's (kh, kw, ci) order.
 */
export const STEP_AGREEMENT_TOLERANCE = 1e-2;

export interface LibraryFigures {
  /** Milliseconds per call (the step: per training step). */
  ms: number;
  gflops?: number;
  imagesPerSecond?: number;
}

export interface CompareRow {
  kind: 'matmul' | 'conv' | 'step';
  name: string;
  shape: string;
  /** Floating-point operations of one call (2 per multiply-add); absent for the step. */
  flops?: number;
  /** Images per training step (the step row). */
  batch?: number;
  /** Timed calls per library after the warm-up. */
  repeats: number;
  webfer: LibraryFigures;
  tfjs: LibraryFigures;
  /** TF.js time over webfer time: above 1, webfer is faster. */
  ratio: number;
  /** Agreement: the largest, over the compared outputs, of max |webfer − TF.js| / max |TF.js|. */
  difference: number;
  /** What `difference` compared. */
  compared: string;
  /** The step row: the difference of each compared output by name (loss, each gradient, each updated parameter). */
  differences?: Record<string, number>;
  /** The largest difference this row accepts. */
  tolerance: number;
  agree: boolean;
}

export interface CompareResult {
  tfjsVersion: string;
  tolerance: number;
  /** The training step's (STEP_AGREEMENT_TOLERANCE). */
  stepTolerance: number;
  rows: CompareRow[];
}

/** The groups of rows `--compare` can run (all by default). */
export const COMPARE_ROW_GROUPS = ['matmul', 'lightcnn', 'fapegan', 'step'] as const;
export type CompareRowGroup = (typeof COMPARE_ROW_GROUPS)[number];

export interface CompareOptions {
  quick?: boolean;
  /** Run only these groups of rows. */
  rows?: readonly CompareRowGroup[];
  /** Timed training steps per library (default 2 quick, 1 on software adapters, 5 on GPUs). */
  steps?: number;
}

/** LightCNN-9's features in order: an mfm convolution (by its state-dict prefix) or a 2× ceil max pool. */
const FEATURES: ({ prefix: string; name: string } | 'pool')[] = [
  { prefix: 'features.0', name: 'conv1' }, 'pool',
  { prefix: 'features.2.conv_a', name: 'group1 1x1' }, { prefix: 'features.2.conv', name: 'group1 3x3' }, 'pool',
  { prefix: 'features.4.conv_a', name: 'group2 1x1' }, { prefix: 'features.4.conv', name: 'group2 3x3' }, 'pool',
  { prefix: 'features.6.conv_a', name: 'group3 1x1' }, { prefix: 'features.6.conv', name: 'group3 3x3' },
  { prefix: 'features.7.conv_a', name: 'group4 1x1' }, { prefix: 'features.7.conv', name: 'group4 3x3' }, 'pool',
];

/** Missing-package error of the benchmark, one line. */
export function tfjsMissingMessage(): string {
  return (
    `TensorFlow.js is not installed here (${TFJS_PACKAGES.join(', ')} ${TFJS_VERSION} are dev dependencies of webfer, ` +
    'absent from a packed install): run `npm install` in a webfer checkout, then `webfer bench --compare tfjs` from there'
  );
}

async function importOptional(name: string): Promise<Record<string, unknown>> {
  try {
    // The name goes through a variable: an optional dev dependency, not one a packed install needs.
    const module = (await import(name)) as Record<string, unknown> & { default?: Record<string, unknown> };
    // Both packages are CommonJS in Node: named exports when Node detects them, else on default.
    return Object.keys(module).length > 1 ? module : (module.default ?? module);
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_MODULE_NOT_FOUND') throw new Error(tfjsMissingMessage());
    throw new Error(`could not load ${name}: ${(error as Error).message}`);
  }
}

/** TF.js with its WebGPU backend on webfer's own device (same adapter, same queue). */
export async function loadTfjs(): Promise<{ tf: Tf; backend: WebGPUBackend }> {
  const ctx = gpu();
  const globals = globalThis as { navigator?: { gpu?: GPU } };
  if (!globals.navigator?.gpu) {
    const entry = nodeGpuEntryIfMade();
    if (!entry) throw new Error('TF.js WebGPU needs navigator.gpu: webfer did not make the Dawn entry point (was the device passed to init()?)');
    if (globals.navigator) Object.defineProperty(globals.navigator, 'gpu', { value: entry, configurable: true });
    else Object.defineProperty(globalThis, 'navigator', { value: { gpu: entry }, configurable: true, writable: true });
  }
  const tf = (await importOptional(TFJS_PACKAGES[0])) as unknown as Tf;
  await importOptional(TFJS_PACKAGES[1]);
  const webgpu = (await importOptional(TFJS_PACKAGES[2])) as unknown as typeof import('@tensorflow/tfjs-backend-webgpu');
  if (!tf.getGradient('Conv2D')) throw new Error(`TF.js has no gradients registered after loading ${TFJS_PACKAGES[1]} (two copies of tfjs-core installed?): run \`npm ci\``);
  if (tf.version_core !== TFJS_VERSION) throw new Error(`@tensorflow/tfjs-core is ${tf.version_core}, the comparison expects ${TFJS_VERSION}: run \`npm install\``);
  // The backend registered a factory that requests a device of its own; this one adopts webfer's.
  if (tf.findBackendFactory('webgpu')) tf.removeBackend('webgpu');
  const adapterInfo = { vendor: ctx.info.vendor, architecture: ctx.info.architecture } as GPUAdapterInfo;
  tf.registerBackend('webgpu', () => new webgpu.WebGPUBackend(ctx.device, adapterInfo), 3);
  if (!(await tf.setBackend('webgpu'))) throw new Error("TF.js could not start its WebGPU backend on webfer's device (see the warning above)");
  return { tf, backend: tf.backend() as WebGPUBackend };
}

/** Waits for everything TF.js has encoded: closes its open pass, submits, waits for the queue. */
async function tfjsSync(backend: WebGPUBackend): Promise<void> {
  // What TF.js's own read-back does before it submits (getBufferData); the pass method is private in its types.
  backend.ensureCommandEncoderReady();
  (backend as unknown as { endComputePassEncoder(): void }).endComputePassEncoder();
  backend.submitQueue();
  await backend.queue.onSubmittedWorkDone();
}

function randomValues(count: number, seed: number, scale = 1): Float32Array {
  const values = new Float32Array(count);
  let state = seed >>> 0 || 1;
  for (let i = 0; i < count; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    values[i] = (state / 2 ** 31 - 1) * scale;
  }
  return values;
}

/**
 * LightCNN-9 weights N(0, 2 / fan_in) and zero biases. PyTorch's default init leaves the deep
 * activations close to their biases, where float32 rounding makes exact ties in max-pool windows
 * and max-feature-map pairs likely (a tie in about one 128² image in two); TF.js gives a tie's
 * gradient to the last maximum, PyTorch and webfer to the first, so the gradients would differ
 * for a reason that is no difference in the computation. This init spreads the activations; the
 * times do not depend on the values.
 */
function spreadInit(named: [string, Tensor][]): Record<string, { shape: number[]; data: Float32Array }> {
  const uniform = randomValues(2 * named.reduce((n, [, p]) => n + p.size, 0), 23);
  let next = 0;
  const gauss = () => Math.sqrt(-2 * Math.log((uniform[next++]! + 1.000001) / 2.000001)) * Math.cos(Math.PI * uniform[next++]!);
  return Object.fromEntries(named.map(([name, p]) => {
    const fanIn = p.size / p.shape[0]!;
    const data = name.endsWith('bias') ? new Float32Array(p.size) : Float32Array.from({ length: p.size }, () => gauss() * Math.sqrt(2 / fanIn));
    return [name, { shape: [...p.shape], data }];
  }));
}

/** Host permutation of a dense row-major array: out axis i is input axis perm[i]. */
export function permute(data: ArrayLike<number>, shape: readonly number[], perm: readonly number[]): Float32Array {
  const rank = shape.length;
  const outShape = perm.map((p) => shape[p]!);
  const inStrides = new Array<number>(rank);
  for (let i = rank - 1, s = 1; i >= 0; i--) { inStrides[i] = s; s *= shape[i]!; }
  const strides = perm.map((p) => inStrides[p]!);
  const out = new Float32Array(data.length);
  const index = new Array<number>(rank).fill(0);
  let source = 0;
  for (let o = 0; o < out.length; o++) {
    out[o] = data[source]!;
    for (let axis = rank - 1; axis >= 0; axis--) {
      index[axis]!++;
      source += strides[axis]!;
      if (index[axis]! < outShape[axis]!) break;
      source -= strides[axis]! * outShape[axis]!;
      index[axis] = 0;
    }
  }
  return out;
}

/** max |a − b| / max |b| (b the TF.js values); Infinity on a length mismatch or a non-finite value. */
export function relativeDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let diff = 0, scale = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (!Number.isFinite(d)) return Infinity;
    diff = Math.max(diff, d);
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return scale > 0 ? diff / scale : diff;
}

interface TimedSide {
  call: () => void;
  sync: () => Promise<void>;
}

/**
 * Milliseconds per call of each library: `rounds` rounds, each timing one synced call of webfer then
 * one of TF.js, and the best round of each. Alternating and taking the best keeps the machine's own
 * swings (up to 2x within a run on the shared development machine) out of the ratio.
 */
async function timeSideBySide(ours: TimedSide, theirs: TimedSide, rounds: number): Promise<{ webferMs: number; tfjsMs: number }> {
  const once = async (side: TimedSide) => {
    await side.sync();
    const start = performance.now();
    side.call();
    await side.sync();
    return performance.now() - start;
  };
  let webferMs = Infinity;
  let tfjsMs = Infinity;
  for (let r = 0; r < rounds; r++) {
    webferMs = Math.min(webferMs, await once(ours));
    tfjsMs = Math.min(tfjsMs, await once(theirs));
  }
  return { webferMs, tfjsMs };
}

function row(fields: Omit<CompareRow, 'ratio' | 'agree' | 'webfer' | 'tfjs' | 'tolerance'> & { webferMs: number; tfjsMs: number }): CompareRow {
  const figures = (ms: number): LibraryFigures => ({
    ms,
    ...(fields.flops !== undefined ? { gflops: fields.flops / (ms * 1e6) } : {}),
    ...(fields.batch !== undefined ? { imagesPerSecond: (1000 * fields.batch) / ms } : {}),
  });
  const { webferMs, tfjsMs, ...rest } = fields;
  const tolerance = fields.kind === 'step' ? STEP_AGREEMENT_TOLERANCE : AGREEMENT_TOLERANCE;
  return { ...rest, webfer: figures(webferMs), tfjs: figures(tfjsMs), ratio: tfjsMs / webferMs, tolerance, agree: fields.difference <= tolerance };
}

export interface Sizes {
  inputSize: number;
  width: number;
  classes: number;
  batch: number;
  /**
   * FaPE-GAN's conv rows' batch: each row is a rate per layer, and at batch 16 on a software adapter
   * one TF.js weight-gradient call of the generator's stride-2 convs takes over 100 s (measured), so
   * software adapters take 4 there.
   */
  ganBatch: number;
  matmulSize: number;
  matmulRepeats: number;
  convRepeats: number;
  steps: number;
  label: string;
}

function sizesFor(quick: boolean, software: boolean, steps: number | undefined): Sizes {
  if (quick) return { inputSize: 32, width: 0.125, classes: 7, batch: 2, ganBatch: 2, matmulSize: 256, matmulRepeats: 3, convRepeats: 2, steps: steps ?? 2, label: 'quick' };
  return {
    inputSize: 128, width: 1, classes: 54, batch: software ? 16 : 128, ganBatch: software ? 4 : 128, matmulSize: 1024,
    matmulRepeats: software ? 3 : 20, convRepeats: software ? 2 : 10, steps: steps ?? (software ? 1 : 5), label: 'paper',
  };
}

async function compareMatmul(tf: Tf, backend: WebGPUBackend, name: string, M: number, K: number, N: number, repeats: number): Promise<CompareRow> {
  const a = randomValues(M * K, 3), b = randomValues(K * N, 5);
  const ta = tensor(a, [M, K]), tb = tensor(b, [K, N]);
  const fa = tf.tensor2d(a, [M, K]), fb = tf.tensor2d(b, [K, N]);
  const ours = noGrad(() => F.matmul(ta, tb));
  const theirs = tf.matMul(fa, fb);
  const difference = relativeDifference(await ours.toArray(), (await theirs.data()) as Float32Array);
  ours.dispose();
  theirs.dispose();
  const { webferMs, tfjsMs } = await timeSideBySide(
    { call: () => noGrad(() => F.matmul(ta, tb)).dispose(), sync: () => gpu().sync() },
    { call: () => tf.matMul(fa, fb).dispose(), sync: () => tfjsSync(backend) },
    repeats,
  );
  for (const t of [ta, tb]) t.dispose();
  for (const t of [fa, fb]) t.dispose();
  return row({ kind: 'matmul', name, shape: `${M}×${K} @ ${K}×${N}`, flops: 2 * M * K * N, repeats, webferMs, tfjsMs, difference, compared: 'product' });
}

/**
 * One convolution as the GEMM relation its three passes share: input [N, Cin, size, size] to output
 * [N, Cout, OH, OH] through weights [Cout, Cin, k, k]. A transposed convolution is that relation
 * read backwards (its forward is the relation's input gradient, and the reverse), so `transposed`
 * only relabels the forward and input-gradient rows.
 */
interface ConvLayer {
  name: string;
  Cin: number;
  Cout: number;
  size: number;
  kernel: number;
  stride: number;
  padding: number;
  transposed: boolean;
  /** How many of the network's convolutions have this geometry (FaPE-GAN's residual blocks). */
  count: number;
}

/** The convolutions of a LightCNN-9 in order, with the spatial size each one sees. */
function convLayers(model: LightCNN9): ConvLayer[] {
  const weights = new Map(model.namedParameters().map(([name, p]) => [name, p.shape]));
  const layers: ConvLayer[] = [];
  let size = model.config.inputSize;
  for (const feature of FEATURES) {
    if (feature === 'pool') {
      size = Math.ceil(size / 2);
      continue;
    }
    const shape = weights.get(`${feature.prefix}.filter.weight`);
    if (!shape || shape.length !== 4) throw new Error(`bench --compare: LightCNN-9 has no convolution ${feature.prefix}.filter.weight (the layer table is out of date)`);
    const [Cout, Cin, kernel] = shape as [number, number, number, number];
    layers.push({ name: `${feature.name}${feature.name === 'conv1' ? ` ${kernel}x${kernel}` : ''}`, Cin, Cout, size, kernel, stride: 1, padding: (kernel - 1) / 2, transposed: false, count: 1 });
  }
  const covered = FEATURES.filter((f) => f !== 'pool').length;
  const convs = [...weights.values()].filter((s) => s.length === 4).length;
  if (convs !== covered) throw new Error(`bench --compare: LightCNN-9 has ${convs} convolutions, the layer table ${covered}`);
  return layers;
}

/**
 * The distinct convolutions of FaPE-GAN's generator and discriminator (`prefix` G or D) in order,
 * with the size each sees, found by walking the modules (reflection pads widen the next conv's
 * input). Convolutions of one geometry (the residual blocks') are one row with their count.
 */
function fapeganConvLayers(network: AnyModule, prefix: string, inputSize: number): ConvLayer[] {
  const layers: ConvLayer[] = [];
  let size = inputSize;
  for (const [name, module] of network.namedModules()) {
    if (module instanceof ReflectionPad2d) {
      size += 2 * module.padding;
      continue;
    }
    if (!(module instanceof Conv2d || module instanceof ConvTranspose2d)) continue;
    const [k, kw] = module.kernelSize, [s, sw] = module.stride, [p, pw] = module.padding;
    if (k !== kw || s !== sw || p !== pw || module.groups !== 1 || module.dilation.some((d) => d !== 1)) {
      throw new Error(`bench --compare: ${prefix} ${name} is not a square, ungrouped, undilated convolution (the FaPE-GAN rows expect one)`);
    }
    let layer: ConvLayer;
    if (module instanceof ConvTranspose2d) {
      const out = (size - 1) * s - 2 * p + k + module.outputPadding[0];
      layer = { name: '', Cin: module.outChannels, Cout: module.inChannels, size: out, kernel: k, stride: s, padding: p, transposed: true, count: 1 };
      size = out;
    } else {
      layer = { name: '', Cin: module.inChannels, Cout: module.outChannels, size, kernel: k, stride: s, padding: p, transposed: false, count: 1 };
      size = Math.floor((size + 2 * p - k) / s) + 1;
    }
    const same = layers.find((l) => l.Cin === layer.Cin && l.Cout === layer.Cout && l.size === layer.size && l.kernel === k && l.stride === s && l.padding === p && l.transposed === layer.transposed);
    if (same) {
      same.count++;
      continue;
    }
    layer.name = `${prefix} ${layer.transposed ? 'convT' : 'conv'}${layers.length + 1} ${k}x${k}${s > 1 ? ` s${s}` : ''}`;
    layers.push(layer);
  }
  return layers.map((l) => (l.count > 1 ? { ...l, name: `${l.name} (×${l.count})` } : l));
}

async function compareConv(tf: Tf, backend: WebGPUBackend, layer: ConvLayer, N: number, repeats: number): Promise<CompareRow[]> {
  const { Cin, Cout, size: H, kernel: K, stride: S, padding: P } = layer;
  const OH = Math.floor((H + 2 * P - K) / S) + 1;
  const g: ConvGeometry = { N, Cin, H, W: H, Cout, OH, OW: OH, KH: K, KW: K, SH: S, SW: S, PH: P, PW: P, DH: 1, DW: 1 };
  const flops = 2 * N * Cout * OH * OH * Cin * K * K;
  const xShape = [N, Cin, H, H], wShape = [Cout, Cin, K, K], dyShape = [N, Cout, OH, OH];
  const x = randomValues(N * Cin * H * H, 11), w = randomValues(Cout * Cin * K * K, 13, 1 / Math.sqrt(Cin * K * K)), dy = randomValues(N * Cout * OH * OH, 17);
  const upload = (values: Float32Array) => {
    const b = gpu().pool.acquire(values.byteLength);
    gpu().upload(b, values);
    return b;
  };
  const [bx, bw, bdy] = [upload(x), upload(w), upload(dy)];
  const tx = tf.tensor4d(permute(x, xShape, [0, 2, 3, 1]), [N, H, H, Cin]);
  const tw = tf.tensor4d(permute(w, wShape, [2, 3, 1, 0]), [K, K, Cin, Cout]);
  const tdy = tf.tensor4d(permute(dy, dyShape, [0, 2, 3, 1]), [N, OH, OH, Cout]);
  const relation: { pass: string; ours: () => GPUBuffer; theirs: () => TfTensor; outShape: number[]; back: number[]; tfShape: number[] }[] = [
    { pass: 'forward', ours: () => conv2dForward(bx, bw, undefined, g), theirs: () => tf.conv2d(tx, tw, S, P), outShape: dyShape, tfShape: [N, OH, OH, Cout], back: [0, 3, 1, 2] },
    { pass: 'input grad', ours: () => conv2dTranspose(bdy, bw, undefined, g), theirs: () => tf.conv2dTranspose(tdy, tw, [N, H, H, Cin], S, P), outShape: xShape, tfShape: [N, H, H, Cin], back: [0, 3, 1, 2] },
    {
      pass: 'weight grad', ours: () => conv2dWeightGrad(bx, bdy, g),
      // What tf.grad of conv2d runs for the filter (the op itself is not exported).
      theirs: () => tf.engine().runKernel('Conv2DBackpropFilter', { x: tx, dy: tdy }, { strides: [S, S], pad: P, dataFormat: 'NHWC', filterShape: [K, K, Cin, Cout] }) as TfTensor,
      outShape: wShape, tfShape: [K, K, Cin, Cout], back: [3, 2, 0, 1],
    },
  ];
  // A transposed layer's own forward is the relation's input gradient, and the reverse.
  const passes = layer.transposed ? [{ ...relation[1]!, pass: 'forward' }, { ...relation[0]!, pass: 'input grad' }, relation[2]!] : relation;
  const rows: CompareRow[] = [];
  const shape = layer.transposed ? `N${N} ${Cout}→${Cin} ${OH}²→${H}² k${K} s${S} p${P}` : `N${N} ${Cin}→${Cout} ${H}² k${K}${S > 1 ? ` s${S}` : ''} p${P}`;
  for (const { pass, ours, theirs, outShape, tfShape, back } of passes) {
    const out = ours();
    const reference = theirs();
    const mine = new Float32Array(await gpu().read(out, outShape.reduce((a, b) => a * b, 4)));
    gpu().pool.release(out);
    const difference = relativeDifference(mine, permute((await reference.data()) as Float32Array, tfShape, back));
    reference.dispose();
    const { webferMs, tfjsMs } = await timeSideBySide(
      { call: () => gpu().pool.release(ours()), sync: () => gpu().sync() },
      { call: () => theirs().dispose(), sync: () => tfjsSync(backend) },
      repeats,
    );
    rows.push(row({ kind: 'conv', name: `${layer.name} ${pass}`, shape, flops, repeats, webferMs, tfjsMs, difference, compared: pass === 'forward' ? 'output' : pass }));
  }
  for (const b of [bx, bw, bdy]) gpu().pool.release(b);
  for (const t of [tx, tw, tdy]) t.dispose();
  return rows;
}

/** How a webfer parameter maps to its TF.js (NHWC) counterpart and back. */
interface Layout {
  name: string;
  /** webfer's shape, seen as the array permute() takes (fc1's weight as [out, C, S, S]). */
  view: number[];
  perm: number[];
  tfShape: number[];
}

function layoutOf(name: string, shape: readonly number[], finalSide: number): Layout {
  if (shape.length === 4) return { name, view: [...shape], perm: [2, 3, 1, 0], tfShape: [shape[2]!, shape[3]!, shape[1]!, shape[0]!] };
  if (shape.length === 1) return { name, view: [...shape], perm: [0], tfShape: [...shape] };
  if (name === 'fc1.filter.weight') {
    // webfer flattens [C, S, S], TF.js's NHWC activations [S, S, C]: fc1's columns are reordered.
    const [out, features] = shape as [number, number];
    const C = features / (finalSide * finalSide);
    return { name, view: [out, C, finalSide, finalSide], perm: [2, 3, 1, 0], tfShape: [features, out] };
  }
  return { name, view: [...shape], perm: [1, 0], tfShape: [shape[1]!, shape[0]!] };
}

/** TF.js tensor data (in TF.js's layout) back in webfer's layout. */
function toWebferLayout(values: Float32Array, layout: Layout): Float32Array {
  const permutedView = layout.perm.map((p) => layout.view[p]!);
  return permute(values, permutedView, layout.perm.map((_, i) => layout.perm.indexOf(i)));
}

/** One training step's observable results, in webfer's layouts. */
interface StepOutcome {
  loss: number;
  grads: Float32Array[];
  updated: Float32Array[];
}

/**
 * LightCNN-9's training step in TF.js: tf.conv2d + bias, max-feature-map as tf.maximum of the
 * two channel halves, tf.maxPool, tf.matMul, softmax cross-entropy, tf.valueAndGrads, then SGD
 * with momentum, weight decay and per-parameter learning rates as PyTorch's SGD (and webfer's).
 */
class TfjsLightCNN9 {
  private params: TfTensor[];
  private momentum: TfTensor[] | undefined;
  private readonly labels: TfTensor;
  private readonly images: TfTensor;

  constructor(
    private readonly tf: Tf,
    private readonly layouts: Layout[],
    initial: Float32Array[],
    private readonly hyper: { lr: number; weightDecay: number }[],
    private readonly dropout: number,
    images: Float32Array,
    imageShape: number[],
    labels: Int32Array,
    classes: number,
  ) {
    this.params = layouts.map((l, i) => tf.tensor(permute(initial[i]!, l.view, l.perm), l.tfShape));
    const [N, C, H, W] = imageShape as [number, number, number, number];
    this.images = tf.tensor4d(permute(images, imageShape, [0, 2, 3, 1]), [N, H, W, C]);
    this.labels = tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d(labels, 'int32'), classes), 'float32'));
  }

  private forward(params: TfTensor[], training: boolean): TfCore.Scalar {
    const tf = this.tf;
    const byName = new Map(this.layouts.map((l, i) => [l.name, params[i]!]));
    const param = (name: string) => byName.get(name)!;
    const mfm = (y: TfTensor) => {
      const [a, b] = tf.split(y, 2, -1);
      return tf.maximum(a!, b!);
    };
    let y = this.images as TfCore.Tensor4D;
    for (const feature of FEATURES) {
      if (feature === 'pool') {
        // 'same' with a 2×2 window and stride 2 pads at the end: PyTorch's ceil_mode.
        y = tf.maxPool(y, 2, 2, 'same');
        continue;
      }
      const w = param(`${feature.prefix}.filter.weight`) as TfCore.Tensor4D;
      y = mfm(tf.add(tf.conv2d(y, w, 1, (w.shape[0] - 1) / 2), param(`${feature.prefix}.filter.bias`))) as TfCore.Tensor4D;
    }
    let h = tf.reshape(y, [y.shape[0], -1]) as TfCore.Tensor2D;
    h = mfm(tf.add(tf.matMul(h, param('fc1.filter.weight') as TfCore.Tensor2D), param('fc1.filter.bias'))) as TfCore.Tensor2D;
    if (training && this.dropout > 0) h = tf.dropout(h, this.dropout) as TfCore.Tensor2D;
    const logits = tf.add(tf.matMul(h, param('fc2.weight') as TfCore.Tensor2D), param('fc2.bias'));
    return tf.losses.softmaxCrossEntropy(this.labels, logits) as TfCore.Scalar;
  }

  /** One step; returns the loss tensor (the caller syncs and disposes it) and the gradients when asked. */
  step(training: boolean, keepGradients = false): { loss: TfCore.Scalar; grads?: TfTensor[] } {
    const tf = this.tf;
    const { value, grads } = tf.valueAndGrads((...params: TfTensor[]) => this.forward(params, training))(this.params);
    const first = this.momentum === undefined;
    const next = tf.tidy(() =>
      this.params.map((p, i) => {
        const { lr, weightDecay } = this.hyper[i]!;
        const g = weightDecay ? tf.add(grads[i]!, tf.mul(p, weightDecay)) : grads[i]!;
        const buffer = first ? tf.clone(g) : tf.add(tf.mul(this.momentum![i]!, FANET_RECIPE.momentum), g);
        return [tf.sub(p, tf.mul(buffer, lr)), buffer] as [TfTensor, TfTensor];
      }),
    );
    for (const t of this.params) t.dispose();
    for (const t of this.momentum ?? []) t.dispose();
    this.params = next.map(([p]) => p);
    this.momentum = next.map(([, b]) => b);
    if (keepGradients) return { loss: value as TfCore.Scalar, grads };
    for (const g of grads) g.dispose();
    return { loss: value as TfCore.Scalar };
  }

  async read(tensors: TfTensor[]): Promise<Float32Array[]> {
    return Promise.all(tensors.map(async (t, i) => toWebferLayout((await t.data()) as Float32Array, this.layouts[i]!)));
  }

  currentParams(): TfTensor[] {
    return this.params;
  }

  dispose(): void {
    for (const t of [...this.params, ...(this.momentum ?? []), this.labels, this.images]) t.dispose();
  }
}

export async function compareStep(tf: Tf, backend: WebGPUBackend, sizes: Sizes): Promise<CompareRow> {
  const { inputSize, width, classes, batch, steps } = sizes;
  const model = new LightCNN9({ classes, inputSize, widthMultiplier: width });
  const { optimizer, lr } = createFanetOptimizer(model, { batchSize: batch, optimizer: 'sgd' });
  const hyperOf = new Map<Tensor, { lr: number; weightDecay: number }>();
  for (const group of fanetParamGroups(model, lr)) for (const p of group.params) hyperOf.set(p, { lr: group.lr!, weightDecay: group.weightDecay! });
  const named = model.namedParameters();
  model.loadStateDict(spreadInit(named));
  const finalSide = Math.ceil(inputSize / 16);
  const layouts = named.map(([name, p]) => layoutOf(name, p.shape, finalSide));
  const imageShape = [batch, 1, inputSize, inputSize];
  const images = randomValues(batch * inputSize * inputSize, 7);
  const labels = Int32Array.from({ length: batch }, (_, i) => (i * 7) % classes);
  const initial = await Promise.all(named.map(([, p]) => p.toArray()));
  const theirs = new TfjsLightCNN9(tf, layouts, initial, named.map(([, p]) => hyperOf.get(p)!), model.config.dropout, images, imageShape, labels, classes);
  try {
    // The check step, without dropout (its masks differ between the libraries): loss, every
    // gradient and every updated parameter must agree.
    model.eval();
    const ourLoss = fanetTrainStep(model, optimizer, images, imageShape, labels);
    const ours: StepOutcome = {
      loss: (await ourLoss.toArray())[0]! / batch,
      grads: await Promise.all(named.map(([name, p]) => {
        if (!p.grad) throw new Error(`bench --compare: webfer left no gradient on ${name}`);
        return p.grad.toArray();
      })),
      updated: await Promise.all(named.map(([, p]) => p.toArray())),
    };
    ourLoss.dispose();
    model.train();
    const { loss, grads } = theirs.step(false, true);
    const reference: StepOutcome = { loss: (await loss.data())[0]!, grads: await theirs.read(grads!), updated: await theirs.read(theirs.currentParams()) };
    loss.dispose();
    for (const g of grads!) g.dispose();
    const differences: [string, number][] = [
      ['loss', relativeDifference([ours.loss], [reference.loss])],
      ...ours.grads.map((g, i): [string, number] => [`gradient of ${named[i]![0]}`, relativeDifference(g, reference.grads[i]!)]),
      ...ours.updated.map((u, i): [string, number] => [`updated ${named[i]![0]}`, relativeDifference(u, reference.updated[i]!)]),
    ];
    const [worst, difference] = differences.reduce((a, b) => (b[1] > a[1] ? b : a));

    // Warm-up steps with dropout (compiles what the check step did not use), then the timed steps.
    const ourStep = async () => {
      fanetTrainStep(model, optimizer, images, imageShape, labels).dispose();
      await gpu().sync();
    };
    const theirStep = async () => {
      const { loss: l } = theirs.step(true);
      await tfjsSync(backend);
      l.dispose();
    };
    await ourStep();
    await theirStep();
    const timeSteps = async (step: () => Promise<void>) => {
      const start = performance.now();
      for (let s = 0; s < steps; s++) await step();
      return (performance.now() - start) / steps;
    };
    const webferMs = await timeSteps(ourStep);
    const tfjsMs = await timeSteps(theirStep);
    return row({
      kind: 'step', name: `LightCNN-9 training step (${sizes.label})`,
      shape: `batch ${batch}, 1×${inputSize}×${inputSize}, width ${width}, ${classes} classes, SGD momentum`,
      repeats: steps, webferMs, tfjsMs, batch, difference,
      compared: `loss, gradients and updated parameters of a step without dropout (largest: ${worst})`,
      differences: Object.fromEntries(differences),
    });
  } finally {
    theirs.dispose();
    optimizer.dispose();
    model.dispose();
  }
}

/** Runs every row (reported as it finishes) and returns them with the TF.js version. */
export async function benchCompareTfjs(report: (row: CompareRow) => void, options: CompareOptions = {}): Promise<CompareResult> {
  const { tf, backend } = await loadTfjs();
  const sizes = sizesFor(options.quick ?? false, gpu().info.isSoftware, options.steps);
  const rows: CompareRow[] = [];
  const add = (r: CompareRow) => {
    rows.push(r);
    report(r);
  };
  const runs = (group: CompareRowGroup) => !options.rows || options.rows.includes(group);
  const n = sizes.matmulSize;
  const shapeModel = new LightCNN9({ classes: sizes.classes, inputSize: sizes.inputSize, widthMultiplier: sizes.width });
  const layers = convLayers(shapeModel);
  const [fc1Out, fc1In] = shapeModel.fc1.filter.weight.shape as [number, number];
  shapeModel.dispose();
  if (runs('matmul')) {
    add(await compareMatmul(tf, backend, `matmul ${n}³`, n, n, n, sizes.matmulRepeats));
    add(await compareMatmul(tf, backend, 'matmul LightCNN-9 fc1', sizes.batch, fc1In, fc1Out, sizes.matmulRepeats));
  }
  if (runs('lightcnn')) for (const layer of layers) for (const r of await compareConv(tf, backend, layer, sizes.batch, sizes.convRepeats)) add(r);
  if (runs('fapegan')) {
    // The paper-scale FaPE-GAN (base width 64, 9 residual blocks) at the comparison's image size; quick: narrow and shallow.
    const config = { imageSize: sizes.inputSize, ...(sizes.label === 'quick' ? { baseWidth: 4, residualBlocks: 1 } : {}) };
    const generator = new FaPEGenerator(config), discriminator = new PatchDiscriminator(config);
    const ganLayers = [...fapeganConvLayers(generator, 'G', sizes.inputSize), ...fapeganConvLayers(discriminator, 'D', sizes.inputSize)];
    generator.dispose();
    discriminator.dispose();
    for (const layer of ganLayers) for (const r of await compareConv(tf, backend, layer, sizes.ganBatch, sizes.convRepeats)) add(r);
  }
  if (runs('step')) add(await compareStep(tf, backend, sizes));
  return { tfjsVersion: tf.version_core, tolerance: AGREEMENT_TOLERANCE, stepTolerance: STEP_AGREEMENT_TOLERANCE, rows };
}
