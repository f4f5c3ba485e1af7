// Random conv/pool configurations for GPU tests: odd and non-square sizes, stride 2, padding,
// dilation, batch > 1, 1×1 and 7×7 kernels; every draw has a non-empty output.
import type { AvgPool2dOptions, Conv2dOptions, ConvTranspose2dOptions, MaxPool2dOptions } from './conv.js';
import { convOutputSize, convTransposeOutputSize, poolOutputSize } from './conv.js';
import type { Rng } from './random.js';

export interface ConvCase {
  xShape: [number, number, number, number];
  wShape: [number, number, number, number];
  outShape: [number, number, number, number];
  bias: boolean;
  opts: Required<Pick<Conv2dOptions, 'stride' | 'padding' | 'dilation'>> & { stride: [number, number]; padding: [number, number]; dilation: [number, number] };
  /** One line for failure messages. */
  describe: string;
}

const KERNELS: [number, number][] = [[1, 1], [3, 3], [7, 7], [1, 3], [3, 1], [2, 2], [5, 3], [4, 4], [3, 5]];

function drawInputSize(rng: Rng, needed: number, extra = 6): number {
  return Math.max(1, needed) + rng.int(0, extra);
}

/** A conv2d case; `maxChannels` keeps finite differences over every input cheap. */
export function randomConvCase(rng: Rng, maxChannels = 4): ConvCase {
  const kernel = rng.pick(KERNELS);
  const stride: [number, number] = rng.pick([[1, 1], [2, 2], [2, 2], [1, 2], [2, 1], [3, 3]] as [number, number][]);
  const dilation: [number, number] = rng.bool(0.2) ? rng.pick([[2, 2], [1, 2], [2, 1]] as [number, number][]) : [1, 1];
  const padding: [number, number] = [rng.int(0, Math.floor(kernel[0] / 2) + (rng.bool(0.15) ? 1 : 0)), rng.int(0, Math.floor(kernel[1] / 2))];
  const span = (k: number, d: number) => d * (k - 1) + 1;
  const H = drawInputSize(rng, span(kernel[0], dilation[0]) - 2 * padding[0]);
  const W = drawInputSize(rng, span(kernel[1], dilation[1]) - 2 * padding[1]);
  const N = rng.int(1, 3);
  const Ci = rng.int(1, maxChannels);
  const Co = rng.int(1, maxChannels);
  const OH = convOutputSize(H, kernel[0], stride[0], padding[0], dilation[0]);
  const OW = convOutputSize(W, kernel[1], stride[1], padding[1], dilation[1]);
  const bias = rng.bool(0.7);
  const opts = { stride, padding, dilation };
  return {
    xShape: [N, Ci, H, W],
    wShape: [Co, Ci, kernel[0], kernel[1]],
    outShape: [N, Co, OH, OW],
    bias,
    opts,
    describe: `conv2d x [${N},${Ci},${H},${W}] w [${Co},${Ci},${kernel}] stride [${stride}] padding [${padding}] dilation [${dilation}] bias ${bias} -> [${N},${Co},${OH},${OW}]`,
  };
}

export interface ConvTransposeCase {
  xShape: [number, number, number, number];
  /** [Ci, Co, kh, kw], PyTorch's ConvTranspose2d layout. */
  wShape: [number, number, number, number];
  outShape: [number, number, number, number];
  bias: boolean;
  opts: { stride: [number, number]; padding: [number, number]; outputPadding: [number, number]; dilation: [number, number] };
  describe: string;
}

export function randomConvTransposeCase(rng: Rng, maxChannels = 4): ConvTransposeCase {
  const kernel = rng.pick(KERNELS);
  const stride: [number, number] = rng.pick([[1, 1], [2, 2], [2, 2], [1, 2], [2, 1], [3, 3]] as [number, number][]);
  const dilation: [number, number] = rng.bool(0.2) ? rng.pick([[2, 2], [1, 2], [2, 1]] as [number, number][]) : [1, 1];
  const padding: [number, number] = [rng.int(0, kernel[0] - 1), rng.int(0, kernel[1] - 1)];
  const outputPadding: [number, number] = [0, 1].map((d) => rng.int(0, Math.max(stride[d], dilation[d]) - 1)) as [number, number];
  const N = rng.int(1, 3);
  const Ci = rng.int(1, maxChannels);
  const Co = rng.int(1, maxChannels);
  // Smallest input whose output is non-empty, then a little more.
  const minInput = (d: number) => {
    let h = 1;
    while (convTransposeOutputSize(h, kernel[d], stride[d], padding[d], outputPadding[d], dilation[d]) < 1) h++;
    return h;
  };
  const H = minInput(0) + rng.int(0, 5);
  const W = minInput(1) + rng.int(0, 5);
  const OH = convTransposeOutputSize(H, kernel[0], stride[0], padding[0], outputPadding[0], dilation[0]);
  const OW = convTransposeOutputSize(W, kernel[1], stride[1], padding[1], outputPadding[1], dilation[1]);
  const bias = rng.bool(0.7);
  return {
    xShape: [N, Ci, H, W],
    wShape: [Ci, Co, kernel[0], kernel[1]],
    outShape: [N, Co, OH, OW],
    bias,
    opts: { stride, padding, outputPadding, dilation },
    describe: `convTranspose2d x [${N},${Ci},${H},${W}] w [${Ci},${Co},${kernel}] stride [${stride}] padding [${padding}] outputPadding [${outputPadding}] dilation [${dilation}] bias ${bias} -> [${N},${Co},${OH},${OW}]`,
  };
}

export interface PoolCase {
  xShape: [number, number, number, number];
  outShape: [number, number, number, number];
  /** Options valid for maxPool2d (dilation may be 2). */
  maxOpts: MaxPool2dOptions & { kernelSize: [number, number]; stride: [number, number]; padding: [number, number]; dilation: [number, number]; ceilMode: boolean };
  /** The same window without dilation, for avgPool2d; its own output shape. */
  avgOpts: AvgPool2dOptions & { kernelSize: [number, number]; stride: [number, number]; padding: [number, number]; ceilMode: boolean; countIncludePad: boolean };
  avgOutShape: [number, number, number, number];
  describe: string;
}

export function randomPoolCase(rng: Rng): PoolCase {
  const kernelSize: [number, number] = rng.pick([[2, 2], [3, 3], [2, 2], [1, 1], [3, 2], [2, 3], [4, 4]] as [number, number][]);
  const stride: [number, number] = rng.bool(0.4) ? [...kernelSize] : rng.pick([[1, 1], [2, 2], [2, 2], [3, 3], [1, 2]] as [number, number][]);
  const padding: [number, number] = [rng.int(0, Math.floor(kernelSize[0] / 2)), rng.int(0, Math.floor(kernelSize[1] / 2))];
  const dilation: [number, number] = rng.bool(0.2) ? [2, 2] : [1, 1];
  const ceilMode = rng.bool(0.5);
  const countIncludePad = rng.bool(0.5);
  const N = rng.int(1, 3);
  const C = rng.int(1, 3);
  // Dilated windows that start in the padding could miss the input entirely (PyTorch then
  // outputs -inf with an out-of-plane index), so dilated cases get an input at least a window wide.
  const needed = (d: 0 | 1) => dilation[d] * (kernelSize[d] - 1) + 1 - (dilation[d] > 1 ? 0 : 2 * padding[d]);
  const H = drawInputSize(rng, needed(0), 8);
  const W = drawInputSize(rng, needed(1), 8);
  const out = (d: 0 | 1, dil: number, size: number) => poolOutputSize(size, kernelSize[d], stride[d], padding[d], dil, ceilMode);
  const maxOpts = { kernelSize, stride, padding, dilation, ceilMode };
  const avgOpts = { kernelSize, stride, padding, ceilMode, countIncludePad };
  return {
    xShape: [N, C, H, W],
    outShape: [N, C, out(0, dilation[0], H), out(1, dilation[1], W)],
    maxOpts,
    avgOpts,
    avgOutShape: [N, C, out(0, 1, H), out(1, 1, W)],
    describe: `pool x [${N},${C},${H},${W}] kernel [${kernelSize}] stride [${stride}] padding [${padding}] dilation [${dilation}] ceilMode ${ceilMode} countIncludePad ${countIncludePad}`,
  };
}
