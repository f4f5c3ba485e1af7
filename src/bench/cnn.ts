// CNN op benchmarks: conv2d forward / input-grad / weight-grad at every LightCNN-9 layer shape and
// the FaPE-GAN generator / PatchGAN shapes, transposed convs, batchNorm, mfm and pooling. Times are
// GPU timestamps (gpu().profile) summed over every kernel of one op call, averaged over a few
// repetitions after a warm-up; wall clock around sync() where the adapter has no timestamps.
// GFLOP/s counts 2·MACs; GB/s counts the bytes an op must read and write once.
import { gpu } from '../gpu/index.js';
import { conv2dForward, conv2dTranspose, conv2dWeightGrad, type ConvGeometry } from '../kernels/conv.js';
import { mfmBackward, mfmForward } from '../kernels/mfm.js';
import { maxPoolBackward, maxPoolForward, type PoolGeometry } from '../kernels/pool.js';
import { normGradSums, normInputGrad, normStats, normalize, type NormGeometry } from '../kernels/norm.js';

type Report = (row: { name: string; shape: string; ms: number; gflops?: number; gbps?: number; note?: string }) => void;

interface ConvShape {
  name: string;
  Cin: number;
  Cout: number;
  size: number;
  kernel: number;
  stride?: number;
  padding?: number;
  /** A transposed conv (output padding 1): timed as its three kernels with roles swapped. */
  transposed?: boolean;
}

/** LightCNN-9 on 1×128×128 (mfm layers have 2× wide convs), light_cnn.py. */
const LIGHTCNN9: ConvShape[] = [
  { name: 'lightcnn9.conv1 5x5', Cin: 1, Cout: 96, size: 128, kernel: 5, padding: 2 },
  { name: 'lightcnn9.group1 1x1', Cin: 48, Cout: 96, size: 64, kernel: 1 },
  { name: 'lightcnn9.group1 3x3', Cin: 48, Cout: 192, size: 64, kernel: 3, padding: 1 },
  { name: 'lightcnn9.group2 1x1', Cin: 96, Cout: 192, size: 32, kernel: 1 },
  { name: 'lightcnn9.group2 3x3', Cin: 96, Cout: 384, size: 32, kernel: 3, padding: 1 },
  { name: 'lightcnn9.group3 1x1', Cin: 192, Cout: 384, size: 16, kernel: 1 },
  { name: 'lightcnn9.group3 3x3', Cin: 192, Cout: 256, size: 16, kernel: 3, padding: 1 },
  { name: 'lightcnn9.group4 1x1', Cin: 128, Cout: 256, size: 16, kernel: 1 },
  { name: 'lightcnn9.group4 3x3', Cin: 128, Cout: 256, size: 16, kernel: 3, padding: 1 },
];

/** PN-GAN-style generator (base width 64) and 70×70 PatchGAN on 128×128 (image + pose mask in D). */
const FAPEGAN: ConvShape[] = [
  { name: 'fapegan.G stem 7x7', Cin: 3, Cout: 64, size: 128, kernel: 7, padding: 3 },
  { name: 'fapegan.G down1 3x3 s2', Cin: 64, Cout: 128, size: 128, kernel: 3, stride: 2, padding: 1 },
  { name: 'fapegan.G down2 3x3 s2', Cin: 128, Cout: 256, size: 64, kernel: 3, stride: 2, padding: 1 },
  { name: 'fapegan.G residual 3x3', Cin: 256, Cout: 256, size: 32, kernel: 3, padding: 1 },
  { name: 'fapegan.G up1 convT 3x3 s2', Cin: 256, Cout: 128, size: 32, kernel: 3, stride: 2, padding: 1, transposed: true },
  { name: 'fapegan.G up2 convT 3x3 s2', Cin: 128, Cout: 64, size: 64, kernel: 3, stride: 2, padding: 1, transposed: true },
  { name: 'fapegan.D 4x4 s2 (6→64)', Cin: 6, Cout: 64, size: 128, kernel: 4, stride: 2, padding: 1 },
  { name: 'fapegan.D 4x4 s2 (64→128)', Cin: 64, Cout: 128, size: 64, kernel: 4, stride: 2, padding: 1 },
  { name: 'fapegan.D 4x4 s2 (128→256)', Cin: 128, Cout: 256, size: 32, kernel: 4, stride: 2, padding: 1 },
  { name: 'fapegan.D 4x4 s1 (256→512)', Cin: 256, Cout: 512, size: 16, kernel: 4, stride: 1, padding: 1 },
];

function buffer(elements: number): GPUBuffer {
  const values = new Float32Array(elements);
  for (let i = 0; i < elements; i++) values[i] = Math.sin(i * 0.37) * 0.5;
  const b = gpu().pool.acquire(elements * 4);
  gpu().upload(b, values);
  return b;
}

/** Mean milliseconds of one call of `op` (which returns buffers to free). */
async function time(op: () => GPUBuffer[], repeats: number): Promise<number> {
  for (const b of op()) gpu().pool.release(b);
  await gpu().sync();
  const start = performance.now();
  const { timings, timestamps } = await gpu().profile(() => {
    for (let r = 0; r < repeats; r++) for (const b of op()) gpu().pool.release(b);
  });
  const wall = performance.now() - start;
  return timestamps ? timings.reduce((s, t) => s + t.totalMs, 0) / repeats : wall / repeats;
}

function geometryOf(s: ConvShape, N: number): ConvGeometry {
  const SH = s.stride ?? 1;
  const P = s.padding ?? 0;
  if (!s.transposed) {
    const out = Math.floor((s.size + 2 * P - s.kernel) / SH) + 1;
    return { N, Cin: s.Cin, H: s.size, W: s.size, Cout: s.Cout, OH: out, OW: out, KH: s.kernel, KW: s.kernel, SH, SW: SH, PH: P, PW: P, DH: 1, DW: 1 };
  }
  // convTranspose2d Cin→Cout from size to 2·size (output padding 1) is the input gradient of a
  // conv2d Cout→Cin from 2·size to size.
  const out = (s.size - 1) * SH - 2 * P + s.kernel + 1;
  return { N, Cin: s.Cout, H: out, W: out, Cout: s.Cin, OH: s.size, OW: s.size, KH: s.kernel, KW: s.kernel, SH, SW: SH, PH: P, PW: P, DH: 1, DW: 1 };
}

async function benchConv(report: Report, s: ConvShape, N: number, repeats: number): Promise<void> {
  const g = geometryOf(s, N);
  const x = buffer(g.N * g.Cin * g.H * g.W);
  const w = buffer(g.Cout * g.Cin * g.KH * g.KW);
  const b = buffer(g.Cout);
  const gy = buffer(g.N * g.Cout * g.OH * g.OW);
  const flops = 2 * g.N * g.Cout * g.OH * g.OW * g.Cin * g.KH * g.KW;
  const shape = s.transposed
    ? `N${N} ${s.Cin}→${s.Cout} ${s.size}²→${g.H}² k${s.kernel} s${g.SH}`
    : `N${N} ${s.Cin}→${s.Cout} ${s.size}²→${g.OH}² k${s.kernel} s${g.SH}`;
  // For a transposed conv, "forward" is the gather kernel and "input grad" the conv forward.
  const passes: [string, () => GPUBuffer[]][] = s.transposed
    ? [
        ['forward', () => [conv2dTranspose(gy, w, undefined, g)]],
        ['input grad', () => [conv2dForward(x, w, undefined, g)]],
        ['weight grad', () => [conv2dWeightGrad(x, gy, g)]],
      ]
    : [
        ['forward', () => [conv2dForward(x, w, b, g)]],
        ['input grad', () => [conv2dTranspose(gy, w, undefined, g)]],
        ['weight grad', () => [conv2dWeightGrad(x, gy, g)]],
      ];
  for (const [pass, op] of passes) {
    const ms = await time(op, repeats);
    report({ name: `${s.name} ${pass}`, shape, ms, gflops: flops / (ms * 1e6) });
  }
  for (const buf of [x, w, b, gy]) gpu().pool.release(buf);
}

export async function benchCnn(report: Report, options: { quick?: boolean }): Promise<void> {
  const quick = options.quick ?? false;
  const N = quick ? 1 : 16;
  const repeats = quick ? 1 : 5;
  const policy = gpu().policy.choices();
  report({ name: `conv variants: forward ${policy.convForward}, input grad ${policy.convInputGrad}, weight grad ${policy.convWeightGrad}`, shape: '', ms: 0 });
  for (const s of LIGHTCNN9) await benchConv(report, s, N, repeats);
  for (const s of FAPEGAN) await benchConv(report, s, N, repeats);

  // batchNorm training forward + backward on the generator's widest activation.
  {
    const [C, S] = [64, 128 * 128];
    const geometry: NormGeometry = { G: C, Nb: N, S, C };
    const count = N * C * S;
    const x = buffer(count);
    const gy = buffer(count);
    const weight = buffer(C);
    const bias = buffer(C);
    const rm = buffer(C);
    const rv = buffer(C);
    const forward = () => {
      const stats = normStats(x, geometry, 1e-5, { mean: rm, variance: rv, momentum: 0.1 });
      return [normalize(x, stats, weight, bias, geometry), stats];
    };
    const ms = await time(forward, repeats);
    report({ name: 'batchNorm training forward', shape: `[${N}, ${C}, 128, 128]`, ms, gbps: (3 * count * 4) / (ms * 1e6) });
    const stats = normStats(x, geometry, 1e-5);
    const backward = () => {
      const inputs = { gy, stats, weight, bias: undefined, activation: { kind: 'none' } as const, mask: undefined };
      const sums = normGradSums(x, inputs, geometry);
      return [normInputGrad(x, inputs, sums, geometry), sums.sumG, sums.sumGXhat];
    };
    const msB = await time(backward, repeats);
    report({ name: 'batchNorm training backward', shape: `[${N}, ${C}, 128, 128]`, ms: msB, gbps: (5 * count * 4) / (msB * 1e6) });
    for (const buf of [x, gy, weight, bias, rm, rv, stats]) gpu().pool.release(buf);
  }

  // mfm and max pooling at LightCNN-9's first layer: [N, 96, 128, 128] → [N, 48, 128, 128] → 64².
  {
    const [C, S] = [48, 128 * 128];
    const x = buffer(N * 2 * C * S);
    const gy = buffer(N * C * S);
    const ms = await time(() => [mfmForward(x, N, C, S)], repeats);
    report({ name: 'mfm forward', shape: `[${N}, 96, 128, 128]`, ms, gbps: (3 * N * C * S * 4) / (ms * 1e6) });
    const msB = await time(() => [mfmBackward(x, gy, N, C, S)], repeats);
    report({ name: 'mfm backward', shape: `[${N}, 96, 128, 128]`, ms: msB, gbps: (5 * N * C * S * 4) / (msB * 1e6) });
    const pool: PoolGeometry = { planes: N * C, H: 128, W: 128, OH: 64, OW: 64, KH: 2, KW: 2, SH: 2, SW: 2, PH: 0, PW: 0, DH: 1, DW: 1 };
    const msP = await time(() => {
      const { values, indices } = maxPoolForward(gy, pool);
      return [values, indices];
    }, repeats);
    report({ name: 'maxPool2d 2x2 s2 ceil forward', shape: `[${N}, 48, 128, 128]`, ms: msP, gbps: (1.5 * N * C * S * 4) / (msP * 1e6) });
    const { values, indices } = maxPoolForward(gy, pool);
    const msPB = await time(() => [maxPoolBackward(values, indices, pool)], repeats);
    report({ name: 'maxPool2d 2x2 s2 backward', shape: `[${N}, 48, 128, 128]`, ms: msPB, gbps: (1.5 * N * C * S * 4) / (msPB * 1e6) });
    for (const buf of [x, gy, values, indices]) gpu().pool.release(buf);
  }
}
