// Optimizer updates over a LightCNN-9-sized parameter set (22 tensors, 5,494,742 parameters with
// 54 classes): SGD (plain, momentum + weight decay with LightCNN's groups) and Adam. Reports the
// wall time of one full optimizer step and the GPU time from timestamp queries where available,
// with the bandwidth implied by the bytes each update must move.
import { gpu } from '../gpu/index.js';
import { tensor } from '../tensor/creation.js';
import { untrack } from '../tensor/tensor.js';
import { Parameter } from '../nn/index.js';
import { Adam, SGD, type AnyOptimizer } from '../optim/index.js';

type Report = (row: { name: string; shape: string; ms: number; gbps?: number; note?: string }) => void;

/** light_cnn.py LightCNN-9 parameter shapes: mfm filters are 2× wide; fc2 is the 54-way classifier. */
function lightCnn9Shapes(classes = 54): number[][] {
  const conv = (out: number, inp: number, k: number) => [[2 * out, inp, k, k], [2 * out]];
  return [
    ...conv(48, 1, 5),
    ...conv(48, 48, 1), ...conv(96, 48, 3),
    ...conv(96, 96, 1), ...conv(192, 96, 3),
    ...conv(192, 192, 1), ...conv(128, 192, 3),
    ...conv(128, 128, 1), ...conv(128, 128, 3),
    [512, 8192], [512],
    [classes, 256], [classes],
  ];
}

export async function benchOptim(report: Report, options: { quick?: boolean }): Promise<void> {
  const shapes = lightCnn9Shapes();
  const params = shapes.map((shape) => new Parameter(shape, 0.01));
  const count = params.reduce((n, p) => n + p.size, 0);
  for (const p of params) {
    const values = new Float32Array(p.size);
    for (let i = 0; i < values.length; i++) values[i] = Math.sin(i) * 1e-3;
    p.grad = untrack(tensor(values, p.shape));
  }
  const repeats = options.quick ? 5 : 30;
  const biases = params.filter((p) => p.rank === 1);
  const weights = params.filter((p) => p.rank > 1);
  const cases: [string, () => AnyOptimizer, number][] = [
    ['optim.sgd (no momentum)', () => new SGD(params, { lr: 0.01 }), 12],
    ['optim.sgd momentum 0.9, wd 1e-4, 2 groups', () => new SGD([{ params: weights }, { params: biases, lr: 0.02, weightDecay: 0 }], { lr: 0.01, momentum: 0.9, weightDecay: 1e-4 }), 20],
    ['optim.adam betas (0.5, 0.999)', () => new Adam(params, { lr: 2e-4, betas: [0.5, 0.999] }), 28],
  ];
  const shape = `${params.length} tensors, ${(count / 1e6).toFixed(2)} M params`;
  for (const [name, make, bytesPerParam] of cases) {
    const optimizer = make();
    // The first step creates state and compiles the pipeline; a few more let fresh buffers
    // settle (software drivers fault their pages in on first touch).
    for (let i = 0; i < 3; i++) optimizer.step();
    await gpu().sync();
    const start = performance.now();
    for (let i = 0; i < repeats; i++) optimizer.step();
    await gpu().sync();
    const wallMs = (performance.now() - start) / repeats;
    report({ name: `${name} (wall)`, shape, ms: wallMs, gbps: (count * bytesPerParam) / (wallMs * 1e6), note: `${bytesPerParam} B/param` });
    const { timings, timestamps } = await gpu().profile(() => {
      for (let i = 0; i < repeats; i++) optimizer.step();
    });
    if (timestamps) {
      const gpuMs = timings.reduce((t, k) => t + k.totalMs, 0) / repeats;
      report({ name: `${name} (GPU time)`, shape, ms: gpuMs, gbps: (count * bytesPerParam) / (gpuMs * 1e6), note: 'sum of per-dispatch timestamps' });
    }
    optimizer.dispose();
  }
  for (const p of params) p.dispose();
}
