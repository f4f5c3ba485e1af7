// batchNorm, instanceNorm and the LightCNN max-feature-map.
import { type T64, size, zeros } from './tensor64.js';

export interface BatchNormOptions {
  training?: boolean;
  momentum?: number;
  eps?: number;
}

export interface BatchNormResult {
  out: T64;
  /** Updated copies (training) or the inputs unchanged (eval); null when none were given. */
  runningMean: T64 | null;
  runningVar: T64 | null;
}

/**
 * F.batch_norm on x [N, C, ...] with per-channel statistics over N and the spatial dims (m values).
 * training: y = (x - μ_B) / sqrt(σ²_B + eps) · γ + β with the biased σ²_B, and
 *   running_mean ← (1 - momentum) · running_mean + momentum · μ_B
 *   running_var  ← (1 - momentum) · running_var  + momentum · σ²_B · m / (m - 1)   (unbiased)
 * eval: y = (x - running_mean) / sqrt(running_var + eps) · γ + β.
 * Returns new tensors; the inputs are not modified.
 */
export function batchNorm(
  x: T64,
  runningMean: T64 | null | undefined,
  runningVar: T64 | null | undefined,
  weight?: T64 | null,
  bias?: T64 | null,
  opts: BatchNormOptions = {},
): BatchNormResult {
  const training = opts.training ?? false;
  const momentum = opts.momentum ?? 0.1;
  const eps = opts.eps ?? 1e-5;
  if (x.shape.length < 2) throw new Error(`batchNorm: expected input [N, C, ...], got [${x.shape}]`);
  const [N, C] = x.shape;
  const S = size(x.shape.slice(2));
  const m = N * S;
  for (const [name, t] of [['runningMean', runningMean], ['runningVar', runningVar], ['weight', weight], ['bias', bias]] as const) {
    if (t && (t.shape.length !== 1 || t.shape[0] !== C)) throw new Error(`batchNorm: ${name} must be [${C}], got [${t.shape}]`);
  }
  const mean = new Float64Array(C);
  const varB = new Float64Array(C);
  if (training) {
    if (m <= 1) throw new Error(`batchNorm: expected more than 1 value per channel when training, got input [${x.shape}]`);
    for (let c = 0; c < C; c++) {
      let s = 0;
      for (let n = 0; n < N; n++) for (let k = 0; k < S; k++) s += x.data[(n * C + c) * S + k];
      mean[c] = s / m;
      let v = 0;
      for (let n = 0; n < N; n++) for (let k = 0; k < S; k++) v += (x.data[(n * C + c) * S + k] - mean[c]) ** 2;
      varB[c] = v / m;
    }
  } else {
    if (!runningMean || !runningVar) throw new Error('batchNorm: eval mode needs runningMean and runningVar');
    mean.set(runningMean.data);
    varB.set(runningVar.data);
  }
  const out = zeros(x.shape);
  for (let n = 0; n < N; n++)
    for (let c = 0; c < C; c++) {
      const scale = (weight ? weight.data[c] : 1) / Math.sqrt(varB[c] + eps);
      const shift = bias ? bias.data[c] : 0;
      for (let k = 0; k < S; k++) {
        const i = (n * C + c) * S + k;
        out.data[i] = (x.data[i] - mean[c]) * scale + shift;
      }
    }
  if (!training) return { out, runningMean: runningMean ?? null, runningVar: runningVar ?? null };
  const newMean = runningMean ? zeros([C]) : null;
  const newVar = runningVar ? zeros([C]) : null;
  for (let c = 0; c < C; c++) {
    if (newMean && runningMean) newMean.data[c] = (1 - momentum) * runningMean.data[c] + momentum * mean[c];
    if (newVar && runningVar) newVar.data[c] = (1 - momentum) * runningVar.data[c] + momentum * varB[c] * (m / (m - 1));
  }
  return { out, runningMean: newMean, runningVar: newVar };
}

/**
 * F.instance_norm with input statistics: per (n, c) over the spatial dims, biased variance,
 * y = (x - μ) / sqrt(σ² + eps) · γ[c] + β[c].
 */
export function instanceNorm(x: T64, weight?: T64 | null, bias?: T64 | null, opts: { eps?: number } = {}): T64 {
  const eps = opts.eps ?? 1e-5;
  if (x.shape.length < 3) throw new Error(`instanceNorm: expected input [N, C, ...spatial], got [${x.shape}]`);
  const [N, C] = x.shape;
  const S = size(x.shape.slice(2));
  const out = zeros(x.shape);
  for (let n = 0; n < N; n++)
    for (let c = 0; c < C; c++) {
      const base = (n * C + c) * S;
      let s = 0;
      for (let k = 0; k < S; k++) s += x.data[base + k];
      const mu = s / S;
      let v = 0;
      for (let k = 0; k < S; k++) v += (x.data[base + k] - mu) ** 2;
      const scale = (weight ? weight.data[c] : 1) / Math.sqrt(v / S + eps);
      const shift = bias ? bias.data[c] : 0;
      for (let k = 0; k < S; k++) out.data[base + k] = (x.data[base + k] - mu) * scale + shift;
    }
  return out;
}

/**
 * Max-feature-map: x [N, 2C, ...] → out [N, C, ...], out[:, c] = max(x[:, c], x[:, C + c])
 * (torch.max of the two halves of torch.split(x, C, 1); NaN propagates).
 */
export function mfm(x: T64): T64 {
  if (x.shape.length < 2 || x.shape[1] % 2 !== 0) throw new Error(`mfm: expected [N, 2C, ...] with an even channel count, got [${x.shape}]`);
  const [N, C2] = x.shape;
  const C = C2 / 2;
  const S = size(x.shape.slice(2));
  const out = zeros([N, C, ...x.shape.slice(2)]);
  for (let n = 0; n < N; n++)
    for (let c = 0; c < C; c++)
      for (let k = 0; k < S; k++) {
        const a = x.data[(n * C2 + c) * S + k];
        const b = x.data[(n * C2 + C + c) * S + k];
        out.data[(n * C + c) * S + k] = Number.isNaN(a) || Number.isNaN(b) ? NaN : a >= b ? a : b;
      }
  return out;
}

/** 1 where mfm's first half wins (a >= b: ties go to the first half), 0 where the second does; shape of mfm(x). */
export function mfmFirstHalfWins(x: T64): T64 {
  const [N, C2] = x.shape;
  const C = C2 / 2;
  const S = size(x.shape.slice(2));
  const out = zeros([N, C, ...x.shape.slice(2)]);
  for (let n = 0; n < N; n++)
    for (let c = 0; c < C; c++)
      for (let k = 0; k < S; k++) out.data[(n * C + c) * S + k] = x.data[(n * C2 + c) * S + k] >= x.data[(n * C2 + C + c) * S + k] ? 1 : 0;
  return out;
}
