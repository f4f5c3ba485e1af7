// conv2d, convTranspose2d, maxPool2d and avgPool2d on NCHW, written as direct loops.
import { type T64, zeros } from './tensor64.js';

export type Pair = number | [number, number] | readonly [number, number];

export function pair(v: Pair, name: string): [number, number] {
  const p: [number, number] = typeof v === 'number' ? [v, v] : [v[0], v[1]];
  if (!p.every((e) => Number.isInteger(e))) throw new Error(`${name} must be an integer or [h, w] pair of integers, got ${JSON.stringify(v)}`);
  return p;
}

/** Accepts [N, C, H, W] or unbatched [C, H, W]; returns the 4-D view and a function to undo it. */
function batched(x: T64, name: string): { x4: T64; unbatch: (y: T64) => T64 } {
  if (x.shape.length === 4) return { x4: x, unbatch: (y) => y };
  if (x.shape.length === 3) {
    return { x4: { shape: [1, ...x.shape], data: x.data }, unbatch: (y) => ({ shape: y.shape.slice(1), data: y.data }) };
  }
  throw new Error(`${name}: expected input [N, C, H, W] or [C, H, W], got [${x.shape}]`);
}

/** floor((in + 2p - d(k - 1) - 1) / s) + 1 */
export function convOutputSize(input: number, kernel: number, stride = 1, padding = 0, dilation = 1): number {
  return Math.floor((input + 2 * padding - dilation * (kernel - 1) - 1) / stride) + 1;
}

/** (in - 1)s - 2p + d(k - 1) + outputPadding + 1 */
export function convTransposeOutputSize(input: number, kernel: number, stride = 1, padding = 0, outputPadding = 0, dilation = 1): number {
  return (input - 1) * stride - 2 * padding + dilation * (kernel - 1) + outputPadding + 1;
}

/**
 * PyTorch's pooling_output_shape: like conv, but ceil mode rounds up and then drops a last
 * window that would start past the right padding (it must start inside input or left padding).
 */
export function poolOutputSize(input: number, kernel: number, stride: number, padding = 0, dilation = 1, ceilMode = false): number {
  const numer = input + 2 * padding - dilation * (kernel - 1) - 1 + (ceilMode ? stride - 1 : 0);
  let out = Math.floor(numer / stride) + 1;
  if (ceilMode && (out - 1) * stride >= input + padding) out--;
  return out;
}

export interface Conv2dOptions {
  stride?: Pair;
  /** Numbers, [h, w], or 'valid' (0) / 'same' (stride 1 only; extra padding goes right/bottom). */
  padding?: Pair | 'valid' | 'same';
  dilation?: Pair;
  groups?: number;
}

/**
 * out[n, co, oh, ow] = b[co] + Σ_{ci in group, i, j} x[n, ci, oh·s - p + i·d, ow·s - p + j·d] · w[co, ci', i, j]
 * (out-of-range input reads as 0). x [N, Ci, H, W], w [Co, Ci/groups, kh, kw], b [Co].
 */
export function conv2d(x: T64, w: T64, b?: T64 | null, opts: Conv2dOptions = {}): T64 {
  const { x4, unbatch } = batched(x, 'conv2d');
  const [N, Ci, H, W] = x4.shape;
  if (w.shape.length !== 4) throw new Error(`conv2d: weight must be [Co, Ci/groups, kh, kw], got [${w.shape}]`);
  const [Co, Cig, KH, KW] = w.shape;
  const groups = opts.groups ?? 1;
  if (Ci % groups !== 0 || Co % groups !== 0 || Cig !== Ci / groups) {
    throw new Error(`conv2d: input [${x.shape}] and weight [${w.shape}] do not fit groups=${groups}`);
  }
  if (b && (b.shape.length !== 1 || b.shape[0] !== Co)) throw new Error(`conv2d: bias must be [${Co}], got [${b.shape}]`);
  const [SH, SW] = pair(opts.stride ?? 1, 'stride');
  const [DH, DW] = pair(opts.dilation ?? 1, 'dilation');
  let padTop: number, padLeft: number;
  let OH: number, OW: number;
  if (opts.padding === 'same') {
    if (SH !== 1 || SW !== 1) throw new Error("conv2d: padding='same' needs stride 1");
    padTop = Math.floor((DH * (KH - 1)) / 2);
    padLeft = Math.floor((DW * (KW - 1)) / 2);
    OH = H;
    OW = W;
  } else {
    [padTop, padLeft] = opts.padding === 'valid' ? [0, 0] : pair(opts.padding ?? 0, 'padding');
    OH = convOutputSize(H, KH, SH, padTop, DH);
    OW = convOutputSize(W, KW, SW, padLeft, DW);
  }
  if (OH <= 0 || OW <= 0) throw new Error(`conv2d: input [${x.shape}] with kernel [${KH}, ${KW}] gives an empty output ${OH}×${OW}`);
  const Cog = Co / groups;
  const out = zeros([N, Co, OH, OW]);
  for (let n = 0; n < N; n++)
    for (let co = 0; co < Co; co++) {
      const g = Math.floor(co / Cog);
      for (let oh = 0; oh < OH; oh++)
        for (let ow = 0; ow < OW; ow++) {
          let acc = b ? b.data[co] : 0;
          for (let c = 0; c < Cig; c++) {
            const ci = g * Cig + c;
            for (let i = 0; i < KH; i++) {
              const ih = oh * SH - padTop + i * DH;
              if (ih < 0 || ih >= H) continue;
              for (let j = 0; j < KW; j++) {
                const iw = ow * SW - padLeft + j * DW;
                if (iw < 0 || iw >= W) continue;
                acc += x4.data[((n * Ci + ci) * H + ih) * W + iw] * w.data[((co * Cig + c) * KH + i) * KW + j];
              }
            }
          }
          out.data[((n * Co + co) * OH + oh) * OW + ow] = acc;
        }
    }
  return unbatch(out);
}

export interface ConvTranspose2dOptions {
  stride?: Pair;
  padding?: Pair;
  outputPadding?: Pair;
  dilation?: Pair;
  groups?: number;
}

/**
 * The adjoint of conv2d (the gradient of conv2d w.r.t. its input), scattered directly:
 * out[n, co, ih·s - p + i·d, iw·s - p + j·d] += x[n, ci, ih, iw] · w[ci, co', i, j].
 * x [N, Ci, H, W], w [Ci, Co/groups, kh, kw], b [Co]. outputPadding must be < stride or < dilation.
 */
export function convTranspose2d(x: T64, w: T64, b?: T64 | null, opts: ConvTranspose2dOptions = {}): T64 {
  const { x4, unbatch } = batched(x, 'convTranspose2d');
  const [N, Ci, H, W] = x4.shape;
  if (w.shape.length !== 4 || w.shape[0] !== Ci) throw new Error(`convTranspose2d: weight must be [${Ci}, Co/groups, kh, kw], got [${w.shape}]`);
  const groups = opts.groups ?? 1;
  const [, Cog, KH, KW] = w.shape;
  if (Ci % groups !== 0) throw new Error(`convTranspose2d: ${Ci} input channels do not split into ${groups} groups`);
  const Co = Cog * groups;
  if (b && (b.shape.length !== 1 || b.shape[0] !== Co)) throw new Error(`convTranspose2d: bias must be [${Co}], got [${b.shape}]`);
  const [SH, SW] = pair(opts.stride ?? 1, 'stride');
  const [PH, PW] = pair(opts.padding ?? 0, 'padding');
  const [OPH, OPW] = pair(opts.outputPadding ?? 0, 'outputPadding');
  const [DH, DW] = pair(opts.dilation ?? 1, 'dilation');
  if ((OPH >= SH && OPH >= DH) || (OPW >= SW && OPW >= DW)) {
    throw new Error(`convTranspose2d: outputPadding [${OPH}, ${OPW}] must be smaller than stride [${SH}, ${SW}] or dilation [${DH}, ${DW}]`);
  }
  const OH = convTransposeOutputSize(H, KH, SH, PH, OPH, DH);
  const OW = convTransposeOutputSize(W, KW, SW, PW, OPW, DW);
  if (OH <= 0 || OW <= 0) throw new Error(`convTranspose2d: output would be ${OH}×${OW}`);
  const Cig = Ci / groups;
  const out = zeros([N, Co, OH, OW]);
  for (let n = 0; n < N; n++)
    for (let ci = 0; ci < Ci; ci++) {
      const g = Math.floor(ci / Cig);
      for (let ih = 0; ih < H; ih++)
        for (let iw = 0; iw < W; iw++) {
          const v = x4.data[((n * Ci + ci) * H + ih) * W + iw];
          for (let c = 0; c < Cog; c++) {
            const co = g * Cog + c;
            for (let i = 0; i < KH; i++) {
              const oh = ih * SH - PH + i * DH;
              if (oh < 0 || oh >= OH) continue;
              for (let j = 0; j < KW; j++) {
                const ow = iw * SW - PW + j * DW;
                if (ow < 0 || ow >= OW) continue;
                out.data[((n * Co + co) * OH + oh) * OW + ow] += v * w.data[((ci * Cog + c) * KH + i) * KW + j];
              }
            }
          }
        }
    }
  if (b) for (let n = 0; n < N; n++) for (let co = 0; co < Co; co++) for (let k = 0; k < OH * OW; k++) out.data[(n * Co + co) * OH * OW + k] += b.data[co];
  return unbatch(out);
}

export interface MaxPool2dOptions {
  kernelSize: Pair;
  /** Defaults to kernelSize. */
  stride?: Pair | null;
  padding?: Pair;
  dilation?: Pair;
  ceilMode?: boolean;
}

function poolGeometry(x: T64, name: string, kernelSize: Pair, stride: Pair | null | undefined, padding: Pair, dilation: Pair, ceilMode: boolean) {
  const [KH, KW] = pair(kernelSize, 'kernelSize');
  const [SH, SW] = pair(stride ?? kernelSize, 'stride');
  const [PH, PW] = pair(padding, 'padding');
  const [DH, DW] = pair(dilation, 'dilation');
  if (KH <= 0 || KW <= 0 || SH <= 0 || SW <= 0 || DH <= 0 || DW <= 0) throw new Error(`${name}: kernel, stride and dilation must be positive`);
  if (PH > KH / 2 || PW > KW / 2) throw new Error(`${name}: padding [${PH}, ${PW}] should be at most half the kernel [${KH}, ${KW}]`);
  const { x4, unbatch } = batched(x, name);
  const [N, C, H, W] = x4.shape;
  const OH = poolOutputSize(H, KH, SH, PH, DH, ceilMode);
  const OW = poolOutputSize(W, KW, SW, PW, DW, ceilMode);
  if (OH <= 0 || OW <= 0) throw new Error(`${name}: input [${x.shape}] gives an empty output ${OH}×${OW}`);
  return { x4, unbatch, N, C, H, W, KH, KW, SH, SW, PH, PW, DH, DW, OH, OW };
}

/**
 * Max pooling with PyTorch's CPU rule: scan the window row by row, take a value if it is
 * greater than the best so far or NaN (so the first maximum wins, and NaN propagates).
 * Indices are flat h·W + w within each (n, c) plane, as return_indices gives them.
 */
export function maxPool2dWithIndices(x: T64, opts: MaxPool2dOptions): { values: T64; indices: T64 } {
  const g = poolGeometry(x, 'maxPool2d', opts.kernelSize, opts.stride, opts.padding ?? 0, opts.dilation ?? 1, opts.ceilMode ?? false);
  const values = zeros([g.N, g.C, g.OH, g.OW]);
  const indices = zeros([g.N, g.C, g.OH, g.OW]);
  for (let plane = 0; plane < g.N * g.C; plane++)
    for (let oh = 0; oh < g.OH; oh++)
      for (let ow = 0; ow < g.OW; ow++) {
        let hStart = oh * g.SH - g.PH;
        let wStart = ow * g.SW - g.PW;
        const hEnd = Math.min(hStart + (g.KH - 1) * g.DH + 1, g.H);
        const wEnd = Math.min(wStart + (g.KW - 1) * g.DW + 1, g.W);
        while (hStart < 0) hStart += g.DH;
        while (wStart < 0) wStart += g.DW;
        let best = -Infinity;
        let bestIndex = hStart * g.W + wStart;
        for (let ih = hStart; ih < hEnd; ih += g.DH)
          for (let iw = wStart; iw < wEnd; iw += g.DW) {
            const v = g.x4.data[plane * g.H * g.W + ih * g.W + iw];
            if (v > best || Number.isNaN(v)) {
              best = v;
              bestIndex = ih * g.W + iw;
            }
          }
        const o = (plane * g.OH + oh) * g.OW + ow;
        values.data[o] = best;
        indices.data[o] = bestIndex;
      }
  return { values: g.unbatch(values), indices: g.unbatch(indices) };
}

export function maxPool2d(x: T64, opts: MaxPool2dOptions): T64 {
  return maxPool2dWithIndices(x, opts).values;
}

export function maxPool2dIndices(x: T64, opts: MaxPool2dOptions): T64 {
  return maxPool2dWithIndices(x, opts).indices;
}

export interface AvgPool2dOptions {
  kernelSize: Pair;
  stride?: Pair | null;
  padding?: Pair;
  ceilMode?: boolean;
  countIncludePad?: boolean;
  divisorOverride?: number | null;
}

/**
 * PyTorch's avg_pool2d divisor rules. The window [h0, h0 + k) is first clipped to the padded
 * input [-p, H + p) — its size then is the countIncludePad divisor — and then to the input
 * [0, H), whose size is the divisor otherwise. A ceil-mode window lying wholly in the
 * padding outputs 0. divisorOverride replaces the divisor.
 */
export function avgPool2d(x: T64, opts: AvgPool2dOptions): T64 {
  const g = poolGeometry(x, 'avgPool2d', opts.kernelSize, opts.stride, opts.padding ?? 0, 1, opts.ceilMode ?? false);
  const countIncludePad = opts.countIncludePad ?? true;
  const override = opts.divisorOverride ?? null;
  if (override !== null && override === 0) throw new Error('avgPool2d: divisorOverride must not be 0');
  const out = zeros([g.N, g.C, g.OH, g.OW]);
  for (let plane = 0; plane < g.N * g.C; plane++)
    for (let oh = 0; oh < g.OH; oh++)
      for (let ow = 0; ow < g.OW; ow++) {
        let h0 = oh * g.SH - g.PH;
        let w0 = ow * g.SW - g.PW;
        let h1 = Math.min(h0 + g.KH, g.H + g.PH);
        let w1 = Math.min(w0 + g.KW, g.W + g.PW);
        const poolSize = (h1 - h0) * (w1 - w0);
        h0 = Math.max(h0, 0);
        w0 = Math.max(w0, 0);
        h1 = Math.min(h1, g.H);
        w1 = Math.min(w1, g.W);
        const o = (plane * g.OH + oh) * g.OW + ow;
        if (h0 >= h1 || w0 >= w1) {
          out.data[o] = 0;
          continue;
        }
        let acc = 0;
        for (let ih = h0; ih < h1; ih++) for (let iw = w0; iw < w1; iw++) acc += g.x4.data[plane * g.H * g.W + ih * g.W + iw];
        const divisor = override !== null ? override : countIncludePad ? poolSize : (h1 - h0) * (w1 - w0);
        out.data[o] = acc / divisor;
      }
  return g.unbatch(out);
}
