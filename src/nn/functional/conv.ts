// conv2d and convTranspose2d (PyTorch semantics, NCHW, groups = 1). Three kernels serve both ops:
//   conv2d:          y = forward(x)      gx = transpose(gy)   gw = weightGrad(x, gy)
//   convTranspose2d: y = transpose(x)    gx = forward(gy)     gw = weightGrad(gy, x)
// and the bias gradient is the sum of gy over batch and pixels. conv2dMfm is conv2d followed by
// LightCNN's max-feature-map, fused into the forward kernel's epilogue; conv2dMfmMaxPool2d adds the
// max pooling that follows it in LightCNN-9 / -29, its backward one pass from the pool's gradient.
import { conv2dForward, conv2dMfmForward, conv2dTranspose, conv2dWeightGrad, type ConvGeometry } from '../../kernels/conv.js';
import { mfmBackwardFromMask, mfmMaxPoolBackward, mfmMaxPoolForward } from '../../kernels/mfm.js';
import type { PoolGeometry } from '../../kernels/pool.js';
import { reduceDims } from '../../kernels/reduce.js';
import { Tensor, formatShape, isGradEnabled, type DType } from '../../tensor/tensor.js';
import { maxPool2d, maxPool2dGeometry, type MaxPool2dOptions } from './pool.js';
import { checkOptionNames, expectTensor, gemmReads, gradientIn, inDtype, operandType, pair, readDtype, recordGemm, releaseReads, storageOf, withFloatBias, wrap, wrapAs, wrapIn, type GemmReads, type Pair } from './util.js';

export interface Conv2dOptions {
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
  /** Only 1 is supported. */
  groups?: number;
  /**
   * The dtype the kernels read x and weight in (webfer's autocast; Module.autocast sets it):
   * 'float16' convolves float16 copies of float32 inputs with f32 accumulation and returns the f32
   * result as it is (torch.autocast would round it to float16); backward reads the output gradient
   * as float16 too and returns float32 gradients. Default: x's own dtype (x and weight must match).
   */
  computeDtype?: DType;
}

export interface ConvTranspose2dOptions extends Conv2dOptions {
  /** Extra rows / columns on the bottom / right of the output; must be < stride or < dilation. */
  outputPadding?: Pair;
}

/** Stride, padding and dilation as [h, w] pairs, checked: stride and dilation >= 1, padding >= 0. */
function windowOptions(options: { stride?: Pair; padding?: Pair; dilation?: Pair }, op: string) {
  const [SH, SW] = pair(options.stride ?? 1, 'stride');
  const [PH, PW] = pair(options.padding ?? 0, 'padding');
  const [DH, DW] = pair(options.dilation ?? 1, 'dilation');
  if (SH < 1 || SW < 1) throw new Error(`${op}: stride must be positive, got [${SH}, ${SW}]`);
  if (DH < 1 || DW < 1) throw new Error(`${op}: dilation must be positive, got [${DH}, ${DW}]`);
  if (PH < 0 || PW < 0) throw new Error(`${op}: padding must be non-negative, got [${PH}, ${PW}]`);
  return { SH, SW, PH, PW, DH, DW };
}

function checkGroups(groups: number | undefined, op: string): void {
  if (groups !== undefined && groups !== 1) {
    throw new Error(`${op}: groups=${groups} is not supported (only groups=1); split the channels with F.slice, convolve each group, and F.cat the results`);
  }
}

function checkBias(bias: Tensor | undefined, channels: number, op: string): void {
  if (bias && (bias.rank !== 1 || bias.shape[0] !== channels)) throw new Error(`${op}: bias ${formatShape(bias.shape)} should be [${channels}] (one value per output channel)`);
}

/** Bias gradient: gy summed over the batch and every pixel (in f32), in the bias's dtype. */
function biasGrad(g: Tensor, bias: Tensor): Tensor {
  // A float16 g is read as it is (no float32 copy of the output gradient: the step's largest buffer).
  const { buffer } = reduceDims('sum', storageOf(g), g.shape, [0, 2, 3], operandType(g.dtype));
  return wrapAs(buffer, bias.shape, bias.dtype);
}

/** conv2d's checks and geometry (shared by conv2d and conv2dMfm). */
function conv2dGeometry(op: string, x: Tensor, weight: Tensor, bias: Tensor | undefined, options: Conv2dOptions): ConvGeometry {
  checkOptionNames(op, options, ['stride', 'padding', 'dilation', 'groups', 'computeDtype']);
  checkGroups(options.groups, op);
  if (x.rank !== 4) throw new Error(`${op}: expected input [N, C, H, W], got ${formatShape(x.shape)}; add a batch dimension with F.unsqueeze(x, 0)`);
  if (weight.rank !== 4) throw new Error(`${op}: expected weight [Cout, Cin, KH, KW], got ${formatShape(weight.shape)}`);
  const [N, Cin, H, W] = x.shape;
  const [Cout, wCin, KH, KW] = weight.shape;
  if (wCin !== Cin) throw new Error(`${op}: input ${formatShape(x.shape)} has ${Cin} channels but weight ${formatShape(weight.shape)} expects ${wCin}; the weight must be [Cout, ${Cin}, KH, KW]`);
  checkBias(bias, Cout, op);
  const { SH, SW, PH, PW, DH, DW } = windowOptions(options, op);
  const OH = Math.floor((H + 2 * PH - DH * (KH - 1) - 1) / SH) + 1;
  const OW = Math.floor((W + 2 * PW - DW * (KW - 1) - 1) / SW) + 1;
  if (OH <= 0 || OW <= 0 || KH <= 0 || KW <= 0) {
    throw new Error(`${op}: input ${formatShape(x.shape)} with kernel [${KH}, ${KW}], padding [${PH}, ${PW}], dilation [${DH}, ${DW}] gives an empty output ${OH}×${OW}; use a larger input or more padding`);
  }
  return { N, Cin, H, W, Cout, OH, OW, KH, KW, SH, SW, PH, PW, DH, DW };
}

/**
 * conv2d's three gradients for the output gradient g [N, Cout, OH, OW]: the kernels read g in the
 * dtype they read x and weight in; each gradient comes back in its input's dtype.
 */
function conv2dBackward(x: Tensor, weight: Tensor, bias: Tensor | undefined, reads: GemmReads, geometry: ConvGeometry, g: Tensor): (Tensor | undefined)[] {
  const [gx, gw] = inDtype(g, readDtype(reads), (gRead) => [
    x.requiresGrad ? wrapIn(conv2dTranspose(storageOf(gRead), storageOf(reads.weight), undefined, geometry, reads.operands, operandType(x.dtype)), x.shape, x.dtype) : undefined,
    weight.requiresGrad ? wrapAs(conv2dWeightGrad(storageOf(reads.x), storageOf(gRead), geometry, reads.operands), weight.shape, weight.dtype) : undefined,
  ]);
  const gb = bias?.requiresGrad ? biasGrad(g, bias) : undefined;
  return [gx, gw, gb];
}

/**
 * y = conv2d(x, weight) + bias; x [N, Cin, H, W], weight [Cout, Cin, KH, KW], bias [Cout]. x and
 * weight float32, or both float16 (f32 accumulation, y float16; the bias may be either); or any,
 * read as options.computeDtype (y in x's dtype).
 */
export function conv2d(x: Tensor, weight: Tensor, bias?: Tensor, options: Conv2dOptions = {}): Tensor {
  expectTensor(x, 'conv2d', 'input');
  expectTensor(weight, 'conv2d', 'weight');
  if (bias !== undefined) expectTensor(bias, 'conv2d', 'bias');
  const geometry = conv2dGeometry('conv2d', x, weight, bias, options);
  const reads = gemmReads('conv2d', x, weight, options.computeDtype);
  const y = withFloatBias(bias, (b) => conv2dForward(storageOf(reads.x), storageOf(reads.weight), b, geometry, reads.operands, reads.operands));
  const out = wrapIn(y, [geometry.N, geometry.Cout, geometry.OH, geometry.OW], readDtype(reads));
  return recordGemm('conv2d', bias ? [x, weight, bias] : [x, weight], out, reads, [], (g) => conv2dBackward(x, weight, bias, reads, geometry, g));
}

function mfmChannels(op: string, weight: Tensor): number {
  const Cout = weight.shape[0];
  if (Cout % 2 !== 0) throw new Error(`${op}: weight ${formatShape(weight.shape)} has ${Cout} filters; max-feature-map needs an even count (two halves of C each)`);
  return Cout / 2;
}

/**
 * y = mfm(conv2d(x, weight) + bias) = torch.max(c[:, :C], c[:, C:]) for c the conv output with
 * weight [2C, Cin, KH, KW]: LightCNN's mfm convolution as one kernel, the max taken in the conv's
 * epilogue, so the 2C-channel activations are never written; backward routes the gradient by a
 * C-channel mask (torch.maximum's rule: all to the larger half, split evenly on a tie), then takes
 * conv2d's three gradients.
 */
export function conv2dMfm(x: Tensor, weight: Tensor, bias?: Tensor, options: Conv2dOptions = {}): Tensor {
  expectTensor(x, 'conv2dMfm', 'input');
  expectTensor(weight, 'conv2dMfm', 'weight');
  if (bias !== undefined) expectTensor(bias, 'conv2dMfm', 'bias');
  const op = 'conv2dMfm';
  const geometry = conv2dGeometry(op, x, weight, bias, options);
  const { N, Cout, OH, OW } = geometry;
  const C = mfmChannels(op, weight);
  const inputs = bias ? [x, weight, bias] : [x, weight];
  const needsGrad = isGradEnabled() && inputs.some((t) => t.requiresGrad);
  const reads = gemmReads(op, x, weight, options.computeDtype);
  const { y, mask } = withFloatBias(bias, (b) => conv2dMfmForward(storageOf(reads.x), storageOf(reads.weight), b, geometry, needsGrad, reads.operands, reads.operands));
  const out = wrapIn(y, [N, C, OH, OW], readDtype(reads));
  if (!mask) {
    releaseReads(reads);
    return out;
  }
  const maskTensor = wrap(mask, [N, C, OH, OW]);
  const result = recordGemm(op, inputs, out, reads, [maskTensor], (g) => {
    // In the dtype the convolution kernels read: float16 stays float16 from the pooled gradient to the kernels.
    const gFull = gradientIn(g, readDtype(reads), [N, Cout, OH, OW], (gRead) => mfmBackwardFromMask(maskTensor.buffer, gRead, N, C, OH * OW, reads.operands));
    const grads = conv2dBackward(x, weight, bias, reads, geometry, gFull);
    gFull.dispose();
    return grads;
  });
  maskTensor.dispose();
  return result;
}

/** Pool windows that tile the plane (kernel = stride, no dilation): each position has at most one window. */
function windowsTile(g: PoolGeometry): boolean {
  return g.KH === g.SH && g.KW === g.SW && g.DH === 1 && g.DW === 1;
}

/**
 * y = maxPool2d(conv2dMfm(x, weight, bias, options), pool), as LightCNN-9 / -29 follow an mfm
 * convolution with a 2 x 2 ceil-mode pool. For windows that tile the plane (kernel = stride, no
 * dilation; otherwise the two ops run unfused) the pool reads the conv's mfm mask at each window's
 * winner and keeps one u32 per pooled output (winner offset and mask bits) in place of the f32
 * indices, the mfm output and the mask; backward writes the conv output's gradient [N, 2C, OH, OW]
 * from the pooled gradient in one pass (maxPool2d's rule: all to the window's first maximum, a NaN
 * winning; then conv2dMfm's), and takes conv2d's three gradients.
 */
export function conv2dMfmMaxPool2d(x: Tensor, weight: Tensor, bias: Tensor | undefined, options: Conv2dOptions, pool: MaxPool2dOptions): Tensor {
  expectTensor(x, 'conv2dMfmMaxPool2d', 'input');
  expectTensor(weight, 'conv2dMfmMaxPool2d', 'weight');
  if (bias !== undefined) expectTensor(bias, 'conv2dMfmMaxPool2d', 'bias');
  const op = 'conv2dMfmMaxPool2d';
  const geometry = conv2dGeometry(op, x, weight, bias, options);
  const { N, Cout, OH, OW } = geometry;
  const C = mfmChannels(op, weight);
  const poolGeometry = maxPool2dGeometry(op, [N, C, OH, OW], pool);
  if (!windowsTile(poolGeometry)) {
    const y = conv2dMfm(x, weight, bias, options);
    const out = maxPool2d(y, pool);
    y.dispose();
    return out;
  }
  const inputs = bias ? [x, weight, bias] : [x, weight];
  const needsGrad = isGradEnabled() && inputs.some((t) => t.requiresGrad);
  const reads = gemmReads(op, x, weight, options.computeDtype);
  const { y, mask } = withFloatBias(bias, (b) => conv2dMfmForward(storageOf(reads.x), storageOf(reads.weight), b, geometry, needsGrad, reads.operands));
  const { values, route } = mfmMaxPoolForward(y, mask, N, C, poolGeometry);
  for (const buffer of mask ? [y, mask] : [y]) wrap(buffer, [N, C, OH, OW]).dispose();
  const out = wrapAs(values, [N, C, poolGeometry.OH, poolGeometry.OW], readDtype(reads));
  if (!route) {
    releaseReads(reads);
    return out;
  }
  const routeTensor = wrap(route, out.shape);
  const result = recordGemm(op, inputs, out, reads, [routeTensor], (g) => {
    const gFull = gradientIn(g, readDtype(reads), [N, Cout, OH, OW], (gRead) => mfmMaxPoolBackward(gRead, routeTensor.buffer, N, C, poolGeometry, reads.operands));
    const grads = conv2dBackward(x, weight, bias, reads, geometry, gFull);
    gFull.dispose();
    return grads;
  });
  routeTensor.dispose();
  return result;
}

/**
 * y = convTranspose2d(x, weight) + bias; x [N, Cin, H, W], weight [Cin, Cout, KH, KW] (PyTorch's
 * layout), output [N, Cout, (H - 1)·SH - 2·PH + DH·(KH - 1) + outputPadding + 1, ...]. x and weight
 * float32, or both float16, or read as options.computeDtype (as conv2d).
 */
export function convTranspose2d(x: Tensor, weight: Tensor, bias?: Tensor, options: ConvTranspose2dOptions = {}): Tensor {
  expectTensor(x, 'convTranspose2d', 'input');
  expectTensor(weight, 'convTranspose2d', 'weight');
  if (bias !== undefined) expectTensor(bias, 'convTranspose2d', 'bias');
  const op = 'convTranspose2d';
  checkOptionNames(op, options, ['stride', 'padding', 'outputPadding', 'dilation', 'groups', 'computeDtype']);
  checkGroups(options.groups, op);
  if (x.rank !== 4) throw new Error(`${op}: expected input [N, C, H, W], got ${formatShape(x.shape)}; add a batch dimension with F.unsqueeze(x, 0)`);
  if (weight.rank !== 4) throw new Error(`${op}: expected weight [Cin, Cout, KH, KW], got ${formatShape(weight.shape)}`);
  const [N, Cin, H, W] = x.shape;
  const [wCin, Cout, KH, KW] = weight.shape;
  if (wCin !== Cin) throw new Error(`${op}: input ${formatShape(x.shape)} has ${Cin} channels but weight ${formatShape(weight.shape)} expects ${wCin}; a transposed-conv weight is [Cin, Cout, KH, KW] = [${Cin}, Cout, KH, KW]`);
  checkBias(bias, Cout, op);
  const { SH, SW, PH, PW, DH, DW } = windowOptions(options, op);
  const [OPH, OPW] = pair(options.outputPadding ?? 0, 'outputPadding');
  if (OPH < 0 || OPW < 0) throw new Error(`${op}: outputPadding must be non-negative, got [${OPH}, ${OPW}]`);
  if ((OPH >= SH && OPH >= DH) || (OPW >= SW && OPW >= DW)) {
    throw new Error(`${op}: outputPadding [${OPH}, ${OPW}] must be smaller than either stride [${SH}, ${SW}] or dilation [${DH}, ${DW}] (as in PyTorch)`);
  }
  const OH = (H - 1) * SH - 2 * PH + DH * (KH - 1) + OPH + 1;
  const OW = (W - 1) * SW - 2 * PW + DW * (KW - 1) + OPW + 1;
  if (OH <= 0 || OW <= 0 || KH <= 0 || KW <= 0) {
    throw new Error(`${op}: input ${formatShape(x.shape)} with kernel [${KH}, ${KW}], stride [${SH}, ${SW}], padding [${PH}, ${PW}] gives an empty output ${OH}×${OW}; reduce the padding`);
  }
  // The conv2d whose input gradient this is: it maps [N, Cout, OH, OW] back to [N, Cin, H, W].
  const geometry: ConvGeometry = { N, Cin: Cout, H: OH, W: OW, Cout: Cin, OH: H, OW: W, KH, KW, SH, SW, PH, PW, DH, DW };
  const reads = gemmReads(op, x, weight, options.computeDtype);
  const y = wrapIn(withFloatBias(bias, (b) => conv2dTranspose(storageOf(reads.x), storageOf(reads.weight), b, geometry, reads.operands, reads.operands)), [N, Cout, OH, OW], readDtype(reads));
  const inputs = bias ? [x, weight, bias] : [x, weight];
  return recordGemm(op, inputs, y, reads, [], (g) => {
    const [gx, gw] = inDtype(g, readDtype(reads), (gRead) => [
      x.requiresGrad ? wrapIn(conv2dForward(storageOf(gRead), storageOf(reads.weight), undefined, geometry, reads.operands, operandType(x.dtype)), x.shape, x.dtype) : undefined,
      weight.requiresGrad ? wrapAs(conv2dWeightGrad(storageOf(gRead), storageOf(reads.x), geometry, reads.operands), weight.shape, weight.dtype) : undefined,
    ]);
    const gb = bias?.requiresGrad ? biasGrad(g, bias) : undefined;
    return [gx, gw, gb];
  });
}
