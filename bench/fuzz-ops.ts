// Fuzzes the ops against the float64 reference (test/reference/) on many small random cases, biased to the
// geometries the launchers route on (1×1 and 1×k kernels, dilation, output padding, stride 2-3, padding up to
// k - 1, H or W of 1-3, widths on and off multiples of 4 and 16, 1-2 and 17/33 channels, mfm, float16), each
// case under the default policy and under random overrides of the kernel-routing keys (src/gpu/policy.ts).
// Forward and every input gradient are compared: conv gradients with the exact float64 adjoint (the same tap
// loop as the forward, checked against finite differences of ref.conv2d / ref.convTranspose2d at start-up),
// the other ops with central differences of their reference, as test/ops/helpers.ts's checkOp does. Before
// each run the buffer pool is filled with stale random values (tensors of the outputs' sizes, disposed), so a
// kernel that skips outputs or reads past its input shows; a leaked tensor or byte fails the case too.
//
//   node --import tsx bench/fuzz-ops.ts --cases 500 --seed 1 --ops conv2d,convTranspose2d [--policies 2]
//   node --import tsx bench/fuzz-ops.ts --seed 1 --ops conv2d --only 37      (replays case 37 of that run)
//   node --import tsx bench/fuzz-ops.ts --seed 1 --ops conv2d --cases 500 --list   (prints the cases, runs nothing)
// ops: conv2d, convTranspose2d, conv2dMfm, maxPool2d, avgPool2d, mfmPool, batchNorm, matmul, linear, reduce,
// softmax, crossEntropy (default: all). --policies: random policies per case besides the default (2). Conv cases:
// --multiplies (multiplies per pass, 4e5), --channels (the Cin / Cout drawn), --half (share with float16 reads, 0.12).
// Exit 1 if any case failed; each failure prints its op, case, policy and a replay line.
import { init, memory, tensor, F, type Tensor } from '../src/index.js';
import { gpu } from '../src/gpu/index.js';
import * as P from '../src/gpu/policy.js';
import type { KernelChoices } from '../src/gpu/policy.js';
import * as ref from '../test/reference/index.js';
import { Rng, type T64 } from '../test/reference/index.js';
import { roundToHalf } from '../test/reference/half.js';

const args = process.argv.slice(2);
const option = (name: string, fallback: string) => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? args[at + 1]! : fallback;
};
const CASES = Number(option('cases', '200'));
const SEED = Number(option('seed', String(ref.randomSeed())));
const POLICIES = Number(option('policies', '2'));
const ONLY = args.includes('--only') ? Number(option('only', '0')) : undefined;
const LIST = args.includes('--list');
const ALL_OPS = ['conv2d', 'convTranspose2d', 'conv2dMfm', 'maxPool2d', 'avgPool2d', 'mfmPool', 'batchNorm', 'matmul', 'linear', 'reduce', 'softmax', 'crossEntropy'];
const OPS = option('ops', ALL_OPS.join(',')).split(',');
for (const op of OPS) if (!ALL_OPS.includes(op)) throw new Error(`fuzz-ops: unknown op ${op}; the ops are ${ALL_OPS.join(', ')}`);

/** The keys that steer conv (and its 1×1 GEMM) routing, with their values. */
const CONV_KEYS: Partial<Record<keyof KernelChoices, readonly unknown[]>> = {
  convForward: P.CONV_FORWARD_VARIANTS, convInputGrad: P.CONV_GRAD_VARIANTS, convWeightGrad: P.CONV_GRAD_VARIANTS,
  convFiveWide: P.CONV_FIVE_WIDE, convSubgroups: P.CONV_SUBGROUPS, convSingleChannel: P.CONV_SINGLE_CHANNEL, convPointwise: P.CONV_POINTWISE,
  convThreeWideRows: P.CONV_THREE_WIDE_ROWS, convSubgroupRows: P.CONV_SUBGROUP_ROWS, convSubgroupPaddingRows: P.CONV_SUBGROUP_PADDING_ROWS,
  convThinInputGrad: P.CONV_THIN_INPUT_GRAD, thinBlocksOrder: P.THIN_BLOCKS_ORDER, convThinForward: P.CONV_THIN_FORWARD,
  convFiveWideForward: P.CONV_FIVE_WIDE_FORWARD, windowStores: P.WINDOW_STORES, windowInputLoads: P.WINDOW_INPUT_LOADS, windowTapOrder: P.WINDOW_TAP_ORDER,
  windowRowPixels: P.WINDOW_ROW_PIXELS, windowSums: P.WINDOW_SUMS, thinInputGradRows: P.THIN_INPUT_GRAD_ROWS, convFiveByFiveWeightGrad: P.CONV_FIVE_BY_FIVE_WEIGHT_GRAD,
  convSingleForward: P.CONV_SINGLE_FORWARD, convSingleForwardColumns: P.CONV_SINGLE_FORWARD_COLUMNS, convSingleInputGrad: P.CONV_SINGLE_INPUT_GRAD,
  convThinUnitStrideInputGrad: P.CONV_THIN_UNIT_STRIDE_INPUT_GRAD, weightGradTile: P.WEIGHT_GRAD_TILES, pointwiseWeightGradRows: P.POINTWISE_WEIGHT_GRAD_ROWS,
  pointwiseWeightGradLayout: P.POINTWISE_WEIGHT_GRAD_LAYOUT, pointwiseForwardLayout: P.POINTWISE_FORWARD_LAYOUT, columnsOutB: P.COLUMNS_OUT_B,
  windowWeightGradTaps: P.WINDOW_WEIGHT_GRAD_TAPS, windowWeightGradRows: P.WINDOW_WEIGHT_GRAD_ROWS, weightGradWorkgroups: [1, 3, 8, 256],
  matmul: P.MATMUL_VARIANTS, matmulSubgroupEpilogue: P.MATMUL_SUBGROUP_EPILOGUE, matmulSubgroupTiles: P.MATMUL_SUBGROUP_TILES,
  halfStores: P.HALF_STORES, weightCastCache: P.WEIGHT_CAST_CACHE,
};
const MATMUL_KEYS: Partial<Record<keyof KernelChoices, readonly unknown[]>> = {
  matmul: P.MATMUL_VARIANTS, matmulSubgroupEpilogue: P.MATMUL_SUBGROUP_EPILOGUE, matmulSubgroupTiles: P.MATMUL_SUBGROUP_TILES,
};
const NORM_KEYS: Partial<Record<keyof KernelChoices, readonly unknown[]>> = { normReductionLanes: P.NORM_REDUCTION_LANES };

/** Each key overridden with probability 1/3 (so several at once: interactions), else the default. */
function drawPolicy(rng: Rng, keys: Partial<Record<keyof KernelChoices, readonly unknown[]>>): Partial<KernelChoices> {
  const policy: Record<string, unknown> = {};
  for (const [key, values] of Object.entries(keys)) if (rng.bool(1 / 3)) policy[key] = rng.pick(values as unknown[]);
  return policy as Partial<KernelChoices>;
}

// ---------------------------------------------------------------------------------------------- checks

interface Mismatch {
  what: string;
  bad: number;
  count: number;
  worst: string;
}

const maxAbs = (x: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < x.length; i++) if (Number.isFinite(x[i]!)) m = Math.max(m, Math.abs(x[i]!));
  return m;
};

/** |actual - expected| <= atol + rtol |expected|, atol = atolScale · max(1, max |expected|) (test/ops/helpers.ts's assertNear). */
function compare(what: string, actual: ArrayLike<number>, expected: T64, rtol: number, atolScale: number): Mismatch | undefined {
  if (actual.length !== expected.data.length) return { what, bad: 1, count: 1, worst: `length ${actual.length}, expected ${expected.data.length}` };
  const atol = atolScale * Math.max(1, maxAbs(expected.data));
  let bad = 0;
  let worst = -1;
  let worstExcess = -Infinity;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i]!;
    const e = expected.data[i]!;
    const error = Math.abs(a - e);
    const ok = Number.isNaN(e) ? Number.isNaN(a) : error <= atol + rtol * Math.abs(e);
    if (!ok) {
      bad++;
      const excess = Number.isNaN(error) ? Infinity : error / (atol + rtol * Math.abs(e));
      if (excess > worstExcess) [worstExcess, worst] = [excess, i];
    }
  }
  if (!bad) return undefined;
  return { what, bad, count: actual.length, worst: `[${ref.unravel(worst, expected.shape).join(',')}] got ${actual[worst]} expected ${expected.data[worst]}` };
}

/** Stale values in the pool: tensors of these element counts filled with large random values, then disposed. */
function staleFill(rng: Rng, counts: number[]): void {
  for (const count of counts) {
    if (count <= 0) continue;
    const values = new Float32Array(count);
    for (let i = 0; i < count; i++) values[i] = (rng.uniform() - 0.5) * 2000;
    tensor(values, [count]).dispose();
  }
}

const toTensor = (x: T64, requiresGrad = false): Tensor => tensor(Float32Array.from(x.data), x.shape, { requiresGrad });
const roundF32 = (x: T64): T64 => ref.map(x, (v) => Math.fround(v));
const roundHalf = (x: T64): T64 => ref.map(x, roundToHalf);

/** One case of one op: inputs (float64, already rounded as the GPU reads them), the forward and the expected outputs. */
interface FuzzCase {
  describe: string;
  inputs: T64[];
  /** Which inputs get a gradient (requiresGrad) and are checked. */
  grads: boolean[];
  run: (ts: Tensor[]) => Tensor;
  expected: T64;
  /** The output gradient (already rounded as the op reads it) and the expected input gradients. */
  gradOut?: T64;
  expectedGrads?: (T64 | undefined)[];
  rtol: number;
  atol: number;
  gradRtol: number;
  gradAtol: number;
}

/** Runs one case on the GPU under the policy in force; the mismatches (empty when it passed). */
async function runCase(c: FuzzCase, rng: Rng): Promise<Mismatch[]> {
  const out: Mismatch[] = [];
  staleFill(rng, [ref.size(c.expected.shape), ...c.inputs.map((x) => ref.size(x.shape)), rng.int(1, 4096), rng.int(1, 65536)]);
  const before = memory();
  const inputs = c.inputs.map((x, i) => toTensor(x, c.grads[i]));
  let y: Tensor | undefined;
  let gy: Tensor | undefined;
  try {
    y = c.run(inputs);
    if (y.shape.join() !== c.expected.shape.join()) out.push({ what: 'output shape', bad: 1, count: 1, worst: `[${y.shape}] expected [${c.expected.shape}]` });
    else {
      const m = compare('forward', await y.toArray(), c.expected, c.rtol, c.atol);
      if (m) out.push(m);
    }
    if (c.gradOut && out.length === 0) {
      gy = toTensor(c.gradOut);
      y.backward(gy);
      for (let i = 0; i < inputs.length; i++) {
        const expected = c.expectedGrads![i];
        if (!c.grads[i] || !expected) continue;
        const grad = inputs[i]!.grad;
        if (!grad) {
          out.push({ what: `gradient ${i}`, bad: 1, count: 1, worst: 'none' });
          continue;
        }
        const m = compare(`gradient of input ${i}`, await grad.toArray(), expected, c.gradRtol, c.gradAtol);
        if (m) out.push(m);
      }
    }
  } catch (error) {
    out.push({ what: 'threw', bad: 1, count: 1, worst: (error as Error).message.split('\n')[0]! });
  } finally {
    y?.dispose();
    gy?.dispose();
    for (const t of inputs) t.dispose();
  }
  const after = memory();
  if (after.liveTensors !== before.liveTensors || after.bytesInUse !== before.bytesInUse) {
    out.push({ what: 'leak', bad: 1, count: 1, worst: `${after.liveTensors - before.liveTensors} tensors, ${after.bytesInUse - before.bytesInUse} bytes` });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------- conv

/** conv2d's geometry (conv2d's point of view: x [N, Cin, H, W] -> y [N, Cout, OH, OW], w [Cout, Cin, KH, KW]). */
interface Geometry {
  N: number; Cin: number; Cout: number; H: number; W: number; OH: number; OW: number;
  KH: number; KW: number; SH: number; SW: number; PH: number; PW: number; DH: number; DW: number;
}

/** Visits every (x index, y index, w index) multiply of the conv: the forward and both adjoints are this one loop. */
function forEachTap(g: Geometry, visit: (xi: number, yi: number, wi: number) => void): void {
  for (let n = 0; n < g.N; n++)
    for (let co = 0; co < g.Cout; co++)
      for (let oh = 0; oh < g.OH; oh++)
        for (let ow = 0; ow < g.OW; ow++) {
          const yi = ((n * g.Cout + co) * g.OH + oh) * g.OW + ow;
          for (let ci = 0; ci < g.Cin; ci++)
            for (let kh = 0; kh < g.KH; kh++) {
              const ih = oh * g.SH - g.PH + kh * g.DH;
              if (ih < 0 || ih >= g.H) continue;
              for (let kw = 0; kw < g.KW; kw++) {
                const iw = ow * g.SW - g.PW + kw * g.DW;
                if (iw < 0 || iw >= g.W) continue;
                visit(((n * g.Cin + ci) * g.H + ih) * g.W + iw, yi, ((co * g.Cin + ci) * g.KH + kh) * g.KW + kw);
              }
            }
        }
}

const shapeX = (g: Geometry) => [g.N, g.Cin, g.H, g.W];
const shapeY = (g: Geometry) => [g.N, g.Cout, g.OH, g.OW];

function convForward(g: Geometry, x: T64, w: T64, b?: T64): T64 {
  const y = ref.zeros(shapeY(g));
  forEachTap(g, (xi, yi, wi) => (y.data[yi] += x.data[xi]! * w.data[wi]!));
  if (b) for (let i = 0; i < y.data.length; i++) y.data[i] += b.data[Math.floor(i / (g.OH * g.OW)) % g.Cout]!;
  return y;
}
/** conv2d's input gradient for gy (= convTranspose2d's forward). */
function convInputAdjoint(g: Geometry, gy: T64, w: T64): T64 {
  const gx = ref.zeros(shapeX(g));
  forEachTap(g, (xi, yi, wi) => (gx.data[xi] += gy.data[yi]! * w.data[wi]!));
  return gx;
}
function convWeightAdjoint(g: Geometry, x: T64, gy: T64): T64 {
  const gw = ref.zeros([g.Cout, g.Cin, g.KH, g.KW]);
  forEachTap(g, (xi, yi, wi) => (gw.data[wi] += x.data[xi]! * gy.data[yi]!));
  return gw;
}
/** Σ over every dim but 1. */
const channelSums = (t: T64): T64 => ref.sum(t, [0, 2, 3]);

const KERNELS: [number, number][] = [[1, 1], [1, 1], [1, 1], [3, 3], [3, 3], [3, 3], [5, 5], [5, 5], [4, 4], [2, 2], [7, 7], [1, 3], [3, 1], [1, 5], [5, 1], [1, 2], [2, 1], [3, 5], [5, 3], [1, 7], [2, 3], [8, 8], [1, 4]];
/** Multiplies of one pass, so a case's float64 reference and its kernels run in milliseconds (--multiplies). */
const MAX_MULTIPLIES = Number(option('multiplies', '4e5'));
/** Channel counts drawn for Cin and Cout (--channels, comma-separated; repeats weight a count). */
const CHANNELS = option('channels', '1,1,1,2,2,2,3,4,5,8,9,16,17,33').split(',').map(Number);
/** The share of conv cases with float16 reads (computeDtype float16, where the device has shader-f16) (--half). */
const HALF_SHARE = Number(option('half', '0.12'));
const SIZES = [1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 15, 16, 17, 20, 24, 31, 32, 33];
const axisPair = (rng: Rng, draw: () => number): [number, number] => {
  const a = draw();
  return rng.bool(0.3) ? [a, draw()] : [a, a];
};

/** An edge-biased conv2d or convTranspose2d geometry whose reference stays cheap (MAX_MULTIPLIES at most). */
function drawGeometry(rng: Rng, transposed: boolean): { g: Geometry; outputPadding: [number, number]; H: number; W: number } {
  for (;;) {
    const [KH, KW] = rng.bool(0.3) ? [rng.pick(KERNELS)[0], rng.pick(KERNELS)[1]] : rng.pick(KERNELS);
    const [SH, SW] = axisPair(rng, () => rng.pick([1, 1, 1, 2, 2, 3]));
    const [DH, DW] = axisPair(rng, () => (rng.bool(0.6) ? 1 : rng.pick([2, 3])));
    const pads = (k: number, d: number) => (rng.bool(0.3) ? 0 : rng.int(0, Math.min(d * (k - 1), k)));
    const [PH, PW] = [pads(KH, DH), pads(KW, DW)];
    const N = rng.int(1, 3);
    const Cin = rng.pick(CHANNELS);
    const Cout = rng.pick(CHANNELS);
    const H = rng.pick(SIZES);
    const W = rng.pick(SIZES);
    let OH: number, OW: number, outputPadding: [number, number] = [0, 0];
    if (!transposed) {
      OH = ref.convOutputSize(H, KH, SH, PH, DH);
      OW = ref.convOutputSize(W, KW, SW, PW, DW);
      if (OH < 1 || OW < 1) continue;
      if (N * Cout * OH * OW * Cin * KH * KW > MAX_MULTIPLIES) continue;
      return { g: { N, Cin, Cout, H, W, OH, OW, KH, KW, SH, SW, PH, PW, DH, DW }, outputPadding, H, W };
    }
    // convTranspose2d x [N, Ci, H, W] -> [N, Co, OHt, OWt]: conv2d's view has x of the output's size.
    outputPadding = [SH, SW].map((s, d) => (rng.bool(0.3) ? 0 : rng.int(0, Math.max(s, [DH, DW][d]!) - 1))) as [number, number];
    const OHt = ref.convTransposeOutputSize(H, KH, SH, PH, outputPadding[0], DH);
    const OWt = ref.convTransposeOutputSize(W, KW, SW, PW, outputPadding[1], DW);
    if (OHt < 1 || OWt < 1) continue;
    if (N * Cout * OHt * OWt * Cin * KH * KW > MAX_MULTIPLIES) continue;
    // conv2d's view: x = the transposed output (Cin = its channels), y = the transposed input.
    return { g: { N, Cin: Cout, Cout: Cin, H: OHt, W: OWt, OH: H, OW: W, KH, KW, SH, SW, PH, PW, DH, DW }, outputPadding, H, W };
  }
}

const describeGeometry = (g: Geometry) => `k ${g.KH}x${g.KW} s ${g.SH},${g.SW} p ${g.PH},${g.PW} d ${g.DH},${g.DW}`;

/** Whether shader-f16 kernels can run (float16 cases are drawn only then). */
let hasF16 = false;

/** Near-ties of mfm's two halves (|a - b| below `gap`): the GPU's f32 sums may pick the other half there. */
function mfmNearTie(y: T64, gap: number): boolean {
  const [N, C2] = y.shape;
  const C = C2! / 2;
  const S = y.shape[2]! * y.shape[3]!;
  for (let n = 0; n < N!; n++)
    for (let c = 0; c < C; c++)
      for (let k = 0; k < S; k++) if (Math.abs(y.data[(n * C2! + c) * S + k]! - y.data[(n * C2! + C + c) * S + k]!) < gap) return true;
  return false;
}

/** The gradient of mfm's input for gz: to the winning half (a >= b: the first). */
function mfmBackward(y: T64, gz: T64): T64 {
  const [N, C2] = y.shape;
  const C = C2! / 2;
  const S = y.shape[2]! * y.shape[3]!;
  const gy = ref.zeros(y.shape);
  for (let n = 0; n < N!; n++)
    for (let c = 0; c < C; c++)
      for (let k = 0; k < S; k++) {
        const a = (n * C2! + c) * S + k;
        const b = (n * C2! + C + c) * S + k;
        gy.data[y.data[a]! >= y.data[b]! ? a : b] = gz.data[(n * C + c) * S + k]!;
      }
  return gy;
}

interface PoolWindow { kernelSize: [number, number]; stride: [number, number]; padding: [number, number]; dilation: [number, number]; ceilMode: boolean }

/** Max-pool windows whose two largest values are within `gap` (f32 sums may pick the other one there). */
function poolNearTie(x: T64, pool: PoolWindow, gap: number): boolean {
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const OH = ref.poolOutputSize(H, pool.kernelSize[0], pool.stride[0], pool.padding[0], pool.dilation[0], pool.ceilMode);
  const OW = ref.poolOutputSize(W, pool.kernelSize[1], pool.stride[1], pool.padding[1], pool.dilation[1], pool.ceilMode);
  for (let p = 0; p < N * C; p++)
    for (let oh = 0; oh < OH; oh++)
      for (let ow = 0; ow < OW; ow++) {
        let first = -Infinity;
        let second = -Infinity;
        for (let kh = 0; kh < pool.kernelSize[0]; kh++)
          for (let kw = 0; kw < pool.kernelSize[1]; kw++) {
            const ih = oh * pool.stride[0] - pool.padding[0] + kh * pool.dilation[0];
            const iw = ow * pool.stride[1] - pool.padding[1] + kw * pool.dilation[1];
            if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
            const v = x.data[(p * H + ih) * W + iw]!;
            if (v > first) [first, second] = [v, first];
            else if (v > second) second = v;
          }
        if (first - second < gap) return true;
      }
  return false;
}

/** max-pool's input gradient: each window's gradient to its first maximum (ref.maxPool2dIndices). */
function maxPoolBackward(x: T64, pool: PoolWindow, gz: T64): T64 {
  const indices = ref.maxPool2dIndices(x, pool);
  const gx = ref.zeros(x.shape);
  const [, , H, W] = x.shape as number[];
  const plane = H! * W!;
  const OHW = gz.shape[2]! * gz.shape[3]!;
  for (let i = 0; i < gz.data.length; i++) gx.data[Math.floor(i / OHW) * plane + indices.data[i]!] += gz.data[i]!;
  return gx;
}

function drawPoolWindow(rng: Rng, maxDilation = 2): PoolWindow {
  const kernelSize = axisPair(rng, () => rng.pick([1, 2, 2, 2, 3, 3, 4, 5]));
  const stride: [number, number] = rng.bool(0.5) ? [...kernelSize] : axisPair(rng, () => rng.pick([1, 2, 3]));
  const padding = kernelSize.map((k) => (rng.bool(0.5) ? 0 : rng.int(0, Math.floor(k / 2)))) as [number, number];
  const dilation = axisPair(rng, () => (rng.bool(0.75) ? 1 : rng.int(2, maxDilation)));
  return { kernelSize, stride, padding, dilation, ceilMode: rng.bool(0.5) };
}

/** A conv2d / convTranspose2d / conv2dMfm (optionally + the fused max-pool) case. */
function convCase(rng: Rng, op: 'conv2d' | 'convTranspose2d' | 'conv2dMfm' | 'mfmPool'): FuzzCase {
  const transposed = op === 'convTranspose2d';
  const mfm = op === 'conv2dMfm' || op === 'mfmPool';
  for (;;) {
    const { g, outputPadding, H, W } = drawGeometry(rng, transposed);
    if (mfm && g.Cout % 2 !== 0) continue;
    let pool: PoolWindow | undefined;
    if (op === 'mfmPool') {
      // Mostly windows that tile (the fused path), sometimes not (the unfused fallback).
      pool = rng.bool(0.75) ? (() => { const k = axisPair(rng, () => rng.pick([1, 2, 2, 3])); return { kernelSize: k, stride: k, padding: [0, 0], dilation: [1, 1], ceilMode: rng.bool(0.5) } as PoolWindow; })() : drawPoolWindow(rng);
      if (pool.padding[0] * 2 > pool.kernelSize[0] || pool.padding[1] * 2 > pool.kernelSize[1]) continue;
      const span = (d: number) => pool!.dilation[d]! * (pool!.kernelSize[d]! - 1) + 1;
      if (g.OH + 2 * pool.padding[0] < span(0) || g.OW + 2 * pool.padding[1] < span(1)) continue;
      if (pool.dilation[0] > 1 || pool.dilation[1] > 1) if (g.OH < span(0) || g.OW < span(1)) continue;
    }
    const f16 = hasF16 && rng.bool(HALF_SHARE);
    const round = f16 ? roundHalf : roundF32;
    const bias = rng.bool(0.7);
    // Weights scaled by 1 / sqrt(fan-in) keep outputs O(1) whatever the channel count.
    const fanIn = transposed ? g.Cout * g.KH * g.KW : g.Cin * g.KH * g.KW;
    const wShape = [g.Cout, g.Cin, g.KH, g.KW];
    let tries = 0;
    for (; tries < 20; tries++) {
      const xConv = round(ref.randn(rng, transposed ? shapeY(g) : shapeX(g)));
      const w = round(ref.randn(rng, wShape, 1 / Math.sqrt(fanIn)));
      const b = bias ? roundF32(ref.randn(rng, [transposed ? g.Cin : g.Cout])) : undefined;
      const expectedRaw = transposed ? convInputAdjoint(g, xConv, w) : convForward(g, xConv, w, b);
      if (transposed && b) for (let i = 0; i < expectedRaw.data.length; i++) expectedRaw.data[i] += b.data[Math.floor(i / (g.H * g.W)) % g.Cin]!;
      let expected = expectedRaw;
      if (mfm) {
        if (mfmNearTie(expectedRaw, 1e-3 * Math.max(1, maxAbs(expectedRaw.data)))) continue;
        expected = ref.mfm(expectedRaw);
        if (pool) {
          if (poolNearTie(expected, pool, 1e-3 * Math.max(1, maxAbs(expected.data)))) continue;
          expected = ref.maxPool2d(expected, pool);
        }
      }
      const gradOut = round(ref.randn(rng, expected.shape));
      // The output gradient of the conv itself (through the pool and mfm).
      let gConv = gradOut;
      if (pool) gConv = maxPoolBackward(ref.mfm(expectedRaw), pool, gConv);
      if (mfm) gConv = mfmBackward(expectedRaw, gConv);
      const expectedGrads = transposed
        ? [convForward(g, gConv, w), convWeightAdjoint(g, gConv, xConv), b ? channelSums(gConv) : undefined]
        : [convInputAdjoint(g, gConv, w), convWeightAdjoint(g, xConv, gConv), b ? channelSums(gConv) : undefined];
      const convOptions: Record<string, unknown> = { stride: [g.SH, g.SW], padding: [g.PH, g.PW], dilation: [g.DH, g.DW] };
      if (transposed) convOptions.outputPadding = outputPadding;
      if (f16) convOptions.computeDtype = 'float16';
      const inputs = b ? [xConv, w, b] : [xConv, w];
      const xShape = transposed ? shapeY(g) : shapeX(g);
      const wText = transposed ? `[${g.Cout},${g.Cin},${g.KH},${g.KW}]` : `[${wShape}]`;
      const describe = `${op} x [${xShape}] w ${wText} ${describeGeometry(g)}${transposed ? ` outputPadding ${outputPadding}` : ''}${b ? ' bias' : ''}${f16 ? ' computeDtype float16' : ''}${pool ? ` pool ${JSON.stringify(pool)}` : ''} -> [${expected.shape}]`;
      void H;
      void W;
      const run = ([x, wt, bt]: Tensor[]) => {
        if (op === 'convTranspose2d') return F.convTranspose2d(x!, wt!, bt, convOptions);
        if (op === 'conv2d') return F.conv2d(x!, wt!, bt, convOptions);
        if (op === 'conv2dMfm') return F.conv2dMfm(x!, wt!, bt, convOptions);
        return F.conv2dMfmMaxPool2d(x!, wt!, bt, convOptions, pool!);
      };
      // float16 reads: x, w and the output gradient rounded to float16 (done above), f32 sums.
      const tol = f16 ? { rtol: 2e-3, atol: 2e-3, gradRtol: 3e-3, gradAtol: 3e-3 } : { rtol: 1e-4, atol: 1e-5, gradRtol: 1e-3, gradAtol: 1e-4 };
      return { describe, inputs, grads: inputs.map(() => true), run, expected, gradOut, expectedGrads, ...tol };
    }
  }
}

/** The conv adjoint loops against finite differences of ref.conv2d / ref.convTranspose2d (they are the oracle). */
function selfCheckConvReference(rng: Rng): void {
  for (let trial = 0; trial < 12; trial++) {
    const transposed = trial % 2 === 1;
    let g: Geometry, outputPadding: [number, number];
    do ({ g, outputPadding } = drawGeometry(rng, transposed));
    while (ref.size(shapeX(g)) * ref.size([g.Cout, g.Cin, g.KH, g.KW]) > 4e4 || g.Cin * g.Cout > 40);
    const xShape = transposed ? shapeY(g) : shapeX(g);
    const x = ref.randn(rng, xShape);
    const w = ref.randn(rng, [g.Cout, g.Cin, g.KH, g.KW]);
    const opts = { stride: [g.SH, g.SW] as [number, number], padding: [g.PH, g.PW] as [number, number], dilation: [g.DH, g.DW] as [number, number] };
    const reference = transposed ? ([a, b]: T64[]) => ref.convTranspose2d(a!, b!, null, { ...opts, outputPadding }) : ([a, b]: T64[]) => ref.conv2d(a!, b!, null, opts);
    const y = reference([x, w]);
    const mine = transposed ? convInputAdjoint(g, x, w) : convForward(g, x, w);
    const gy = ref.randn(rng, y.shape);
    const grads = transposed ? [convForward(g, gy, w), convWeightAdjoint(g, gy, x)] : [convInputAdjoint(g, gy, w), convWeightAdjoint(g, x, gy)];
    const checks = [compare('forward', mine.data, y, 1e-9, 1e-9), ...grads.map((grad, i) => compare(`gradient ${i}`, grad.data, ref.numericGrad(reference, [x, w], i, gy), 1e-5, 1e-6))];
    const failed = checks.find((m) => m);
    if (failed) throw new Error(`fuzz-ops: the float64 conv adjoint disagrees with the reference (${transposed ? 'transposed ' : ''}${describeGeometry(g)}): ${failed.what} ${failed.worst}`);
  }
}

// ---------------------------------------------------------------------------------------------- other ops

/** A case whose gradients are central differences of `reference` (checkOp's rule), for small inputs. */
function numericCase(describe: string, inputs: T64[], grads: boolean[], run: (ts: Tensor[]) => Tensor, reference: (xs: T64[]) => T64, rng: Rng, tol: Partial<FuzzCase> = {}, gradients = true): FuzzCase {
  const expected = reference(inputs);
  const gradOut = gradients ? roundF32(ref.randn(rng, expected.shape)) : undefined;
  const expectedGrads = gradOut ? inputs.map((_, i) => (grads[i] ? ref.numericGrad(reference, inputs, i, gradOut) : undefined)) : undefined;
  return { describe, inputs, grads, run, expected, gradOut, expectedGrads, rtol: 1e-4, atol: 1e-5, gradRtol: 1e-3, gradAtol: 1e-4, ...tol };
}

/** Values pairwise apart (max without ties), shuffled. */
const distinct = (rng: Rng, shape: number[]) => roundF32(ref.randDistinct(rng, shape, 0.05));

function poolShape(rng: Rng): number[] {
  return [rng.int(1, 3), rng.pick([1, 2, 3, 5]), rng.pick([1, 2, 3, 4, 5, 7, 8, 9, 16, 17]), rng.pick([1, 2, 3, 4, 5, 7, 8, 9, 16, 17])];
}

function maxPoolCase(rng: Rng): FuzzCase {
  for (;;) {
    const shape = poolShape(rng);
    const pool = drawPoolWindow(rng, 3);
    if (pool.padding[0] * 2 > pool.kernelSize[0] || pool.padding[1] * 2 > pool.kernelSize[1]) continue;
    const span = (d: number) => pool.dilation[d]! * (pool.kernelSize[d]! - 1) + 1;
    // A window wholly in the padding has no maximum (PyTorch: -inf): inputs at least a window wide.
    if (shape[2]! < span(0) || shape[3]! < span(1)) continue;
    if (ref.size(shape) > 3000) continue;
    const x = distinct(rng, shape);
    return numericCase(`maxPool2d x [${shape}] ${JSON.stringify(pool)}`, [x], [true], ([t]) => F.maxPool2d(t!, pool), ([a]) => ref.maxPool2d(a!, pool), rng);
  }
}

function avgPoolCase(rng: Rng): FuzzCase {
  for (;;) {
    const shape = poolShape(rng);
    const { kernelSize, stride, padding, ceilMode } = drawPoolWindow(rng);
    if (padding[0] * 2 > kernelSize[0] || padding[1] * 2 > kernelSize[1]) continue;
    if (ref.poolOutputSize(shape[2]!, kernelSize[0], stride[0], padding[0], 1, ceilMode) < 1) continue;
    if (ref.poolOutputSize(shape[3]!, kernelSize[1], stride[1], padding[1], 1, ceilMode) < 1) continue;
    if (ref.size(shape) > 3000) continue;
    const opts = { kernelSize, stride, padding, ceilMode, countIncludePad: rng.bool(0.5), ...(rng.bool(0.25) ? { divisorOverride: rng.pick([1, 2, 3, 7, -2]) } : {}) };
    const x = roundF32(ref.randn(rng, shape));
    return numericCase(`avgPool2d x [${shape}] ${JSON.stringify(opts)}`, [x], [true], ([t]) => F.avgPool2d(t!, opts), ([a]) => ref.avgPool2d(a!, opts), rng);
  }
}

function batchNormCase(rng: Rng): FuzzCase {
  const rank = rng.pick([2, 3, 4, 4, 4]);
  const shape = [rng.int(1, 4), rng.pick([1, 2, 3, 5, 8, 17])];
  for (let d = 2; d < rank; d++) shape.push(rng.pick([1, 2, 3, 4, 5, 7, 8, 16]));
  if (ref.size(shape) > 1500) return batchNormCase(rng);
  const training = ref.size(shape) / shape[1]! > 1 && rng.bool(0.7);
  const C = shape[1]!;
  const affine = rng.bool(0.8);
  const eps = rng.pick([1e-5, 1e-3]);
  const x = roundF32(ref.map(ref.randn(rng, shape), (v) => v * 3 + 1));
  const runningMean = roundF32(ref.randn(rng, [C]));
  const runningVar = roundF32(ref.randu(rng, [C], 0.5, 2));
  const inputs = affine ? [x, roundF32(ref.randn(rng, [C])), roundF32(ref.randn(rng, [C]))] : [x];
  const describe = `batchNorm x [${shape}] ${training ? 'training' : 'eval'} affine ${affine} eps ${eps}`;
  const reference = ([a, w, b]: T64[]) => ref.batchNorm(a!, runningMean, runningVar, w, b, { training, eps }).out;
  const run = ([t, w, b]: Tensor[]) => {
    const mean = toTensor(runningMean);
    const variance = toTensor(runningVar);
    const y = F.batchNorm(t!, mean, variance, w, b, { training, eps });
    mean.dispose();
    variance.dispose();
    return y;
  };
  return numericCase(describe, inputs, inputs.map(() => true), run, reference, rng, { gradRtol: 2e-3, gradAtol: 2e-4, rtol: 2e-4, atol: 2e-5 });
}

function matmulCase(rng: Rng, linear: boolean): FuzzCase {
  const dim = () => rng.pick([1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 64, 65]);
  const [M, K, Nn] = [dim(), dim(), dim()];
  if (linear) {
    const lead = rng.bool(0.3) ? [rng.int(1, 3), M] : [M];
    const x = roundF32(ref.randn(rng, [...lead, K]));
    const w = roundF32(ref.randn(rng, [Nn, K], 1 / Math.sqrt(K)));
    const b = rng.bool(0.7) ? roundF32(ref.randn(rng, [Nn])) : undefined;
    const inputs = b ? [x, w, b] : [x, w];
    const expected = ref.linear(x, w, b);
    const g = roundF32(ref.randn(rng, expected.shape));
    const g2 = ref.reshape(g, [-1, Nn].map((v) => (v < 0 ? ref.size(g.shape) / Nn : v)));
    const x2 = ref.reshape(x, [ref.size(x.shape) / K, K]);
    const gx = ref.reshape(ref.matmul(g2, w), x.shape);
    const gw = ref.matmul(ref.transpose(g2, 0, 1), x2);
    const grads = [gx, gw, b ? ref.sum(g2, 0) : undefined];
    return { describe: `linear x [${x.shape}] w [${w.shape}]${b ? ' bias' : ''}`, inputs, grads: inputs.map(() => true), run: ([a, wt, bt]) => F.linear(a!, wt!, bt), expected, gradOut: g, expectedGrads: grads, rtol: 1e-4, atol: 1e-5, gradRtol: 1e-3, gradAtol: 1e-4 };
  }
  const batch = rng.pick([[], [], [2], [3], [2, 2]]);
  const bBatch = rng.bool(0.3) ? [] : batch;
  const a = roundF32(ref.randn(rng, [...batch, M, K]));
  const b = roundF32(ref.randn(rng, [...bBatch, K, Nn], 1 / Math.sqrt(K)));
  const reference = ([p, q]: T64[]) => ref.matmul(p!, q!);
  const expected = reference([a, b]);
  const g = roundF32(ref.randn(rng, expected.shape));
  const last2 = (t: T64) => ref.transpose(t, t.shape.length - 2, t.shape.length - 1);
  const ga = ref.matmul(g, last2(b));
  const gb = ref.sumTo(ref.matmul(last2(a), g), b.shape);
  return { describe: `matmul a [${a.shape}] b [${b.shape}]`, inputs: [a, b], grads: [true, true], run: ([p, q]) => F.matmul(p!, q!), expected, gradOut: g, expectedGrads: [ga, gb], rtol: 1e-4, atol: 1e-5, gradRtol: 1e-3, gradAtol: 1e-4 };
}

function reduceCase(rng: Rng): FuzzCase {
  const rank = rng.int(1, 4);
  const shape = Array.from({ length: rank }, () => rng.pick([1, 2, 3, 4, 5, 7, 8, 16, 17, 33]));
  if (ref.size(shape) > 2000) return reduceCase(rng);
  const which = rng.pick(['sum', 'mean', 'max', 'argmax'] as const);
  const keepdim = rng.bool(0.5);
  const x = which === 'max' || which === 'argmax' ? distinct(rng, shape) : roundF32(ref.randn(rng, shape));
  if (which === 'argmax') {
    const dim = rng.bool(0.2) ? undefined : rng.int(0, rank - 1);
    const opts = dim === undefined ? {} : { keepdim };
    return numericCase(`argmax x [${shape}] dim ${dim} keepdim ${keepdim}`, [x], [false], ([t]) => F.argmax(t!, dim, opts), ([a]) => ref.argmax(a!, dim, dim === undefined ? false : keepdim), rng, { rtol: 0, atol: 0 }, false);
  }
  const dims = rng.bool(0.2) ? undefined : ref.randomDims(rng, rank);
  const fn = { sum: ref.sum, mean: ref.mean, max: ref.max }[which];
  return numericCase(`${which} x [${shape}] dims ${JSON.stringify(dims)} keepdim ${keepdim}`, [x], [true], ([t]) => F[which](t!, dims, { keepdim }), ([a]) => fn(a!, dims, keepdim), rng);
}

function softmaxCase(rng: Rng): FuzzCase {
  const rank = rng.int(1, 4);
  const shape = Array.from({ length: rank }, () => rng.pick([1, 2, 3, 5, 8, 10, 17, 33]));
  if (ref.size(shape) > 1500) return softmaxCase(rng);
  const dim = rng.int(-rank, rank - 1);
  const log = rng.bool(0.5);
  const x = roundF32(ref.map(ref.randn(rng, shape), (v) => v * 3));
  const d = dim < 0 ? dim + rank : dim;
  return numericCase(`${log ? 'logSoftmax' : 'softmax'} x [${shape}] dim ${dim}`, [x], [true], ([t]) => (log ? F.logSoftmax(t!, dim) : F.softmax(t!, dim)), ([a]) => (log ? ref.logSoftmax(a!, d) : ref.softmax(a!, d)), rng);
}

function crossEntropyCase(rng: Rng): FuzzCase {
  const N = rng.pick([1, 2, 3, 5, 8, 17]);
  const C = rng.pick([1, 2, 3, 7, 10, 33]);
  const spatial = rng.bool(0.3) ? [rng.int(1, 4)] : [];
  const x = roundF32(ref.map(ref.randn(rng, [N, C, ...spatial]), (v) => v * 2));
  const target = Array.from({ length: N * (spatial[0] ?? 1) }, () => rng.int(0, C - 1));
  const reduction = rng.pick(['mean', 'sum', 'none'] as const);
  const labelSmoothing = rng.bool(0.3) ? rng.pick([0.1, 0.25]) : 0;
  const opts = { reduction, ...(labelSmoothing ? { labelSmoothing } : {}) };
  const targetT64 = ref.t64(target, [N, ...spatial]);
  return numericCase(`crossEntropy x [${x.shape}] ${JSON.stringify(opts)}`, [x], [true], ([t]) => F.crossEntropy(t!, targetT64.data, opts), ([a]) => ref.crossEntropy(a!, targetT64, opts), rng);
}

// ---------------------------------------------------------------------------------------------- driver

function drawCase(op: string, rng: Rng): { c: FuzzCase; keys: Partial<Record<keyof KernelChoices, readonly unknown[]>> } {
  switch (op) {
    case 'conv2d': case 'convTranspose2d': case 'conv2dMfm': case 'mfmPool': return { c: convCase(rng, op), keys: CONV_KEYS };
    case 'maxPool2d': return { c: maxPoolCase(rng), keys: {} };
    case 'avgPool2d': return { c: avgPoolCase(rng), keys: {} };
    case 'batchNorm': return { c: batchNormCase(rng), keys: NORM_KEYS };
    case 'matmul': return { c: matmulCase(rng, false), keys: MATMUL_KEYS };
    case 'linear': return { c: matmulCase(rng, true), keys: MATMUL_KEYS };
    case 'reduce': return { c: reduceCase(rng), keys: {} };
    case 'softmax': return { c: softmaxCase(rng), keys: {} };
    default: return { c: crossEntropyCase(rng), keys: {} };
  }
}

/** A generator per (run seed, op, case), so `--only i` replays case i alone. */
function caseRng(op: string, index: number): Rng {
  let h = SEED >>> 0;
  for (const ch of `${op}#${index}`) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  return new Rng(h);
}

async function main(): Promise<void> {
  await init();
  hasF16 = gpu().device.features.has('shader-f16');
  selfCheckConvReference(new Rng(SEED ^ 0x5eed));
  console.log(`fuzz-ops: seed ${SEED}, ${ONLY === undefined ? `${CASES} cases` : `case ${ONLY}`} per op, ${POLICIES} random policies per case besides the default; ${gpu().info.description}; shader-f16 ${hasF16}`);
  let failures = 0;
  for (const op of OPS) {
    const start = Date.now();
    let runs = 0;
    let failed = 0;
    const used = new Map<string, number>();
    for (let index = ONLY ?? 0; index < (ONLY === undefined ? CASES : ONLY + 1); index++) {
      if (index > 0 && index % 50 === 0 && ONLY === undefined) console.log(`  ${op}: ${index} cases, ${runs} runs, ${failed} failed, ${((Date.now() - start) / 1000).toFixed(0)} s`);
      const rng = caseRng(op, index);
      const { c, keys } = drawCase(op, rng);
      if (LIST) {
        console.log(`${op} case ${index}: ${c.describe}`);
        continue;
      }
      const policies: Partial<KernelChoices>[] = [{}];
      if (Object.keys(keys).length) for (let p = 0; p < POLICIES; p++) policies.push(drawPolicy(rng, keys));
      for (const policy of policies) {
        for (const [key, value] of Object.entries(policy)) used.set(`${key}=${value}`, (used.get(`${key}=${value}`) ?? 0) + 1);
        const mismatches = await gpu().policy.with(policy, () => runCase(c, rng));
        runs++;
        if (!mismatches.length) continue;
        failed++;
        console.log(`FAIL ${op} case ${index}: ${c.describe}\n  policy ${JSON.stringify(policy)}\n  replay: node --import tsx bench/fuzz-ops.ts --seed ${SEED} --ops ${op} --only ${index} --policies ${POLICIES}`);
        for (const m of mismatches) console.log(`  ${m.what}: ${m.bad}/${m.count} wrong, worst ${m.worst}`);
      }
    }
    failures += failed;
    const coverage = used.size ? `; overrides drawn ${[...used.values()].reduce((a, b) => a + b, 0)} times over ${used.size} key=value pairs, each ≥ ${Math.min(...used.values())}` : '';
    console.log(`${op}: ${runs} runs (${ONLY === undefined ? CASES : 1} cases), ${failed} failed, ${((Date.now() - start) / 1000).toFixed(1)} s${coverage}`);
  }
  process.exit(failures ? 1 : 0);
}

await main();
