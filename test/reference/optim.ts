// torch.optim.SGD and torch.optim.Adam (non-amsgrad, L2 weight decay), in float64.
// Both update params (and state) in place, like optimizer.step(), and return params.
import type { T64 } from './tensor64.js';

export interface SgdOptions {
  lr: number;
  momentum?: number;
  dampening?: number;
  nesterov?: boolean;
  weightDecay?: number;
}

/** One momentum buffer per parameter; null until the first step creates it. */
export interface SgdState {
  momentumBuffers: (Float64Array | null)[];
}

export function sgdState(params: T64[]): SgdState {
  return { momentumBuffers: params.map(() => null) };
}

/**
 * torch.optim.SGD.step, per parameter p with gradient g:
 *   g ← g + weightDecay · p
 *   if momentum ≠ 0:
 *     buf ← g                                   (first step)
 *     buf ← momentum · buf + (1 - dampening) · g (later steps)
 *     g ← nesterov ? g + momentum · buf : buf
 *   p ← p - lr · g
 */
export function sgdStep(params: T64[], grads: T64[], state: SgdState, opts: SgdOptions): T64[] {
  const { lr, momentum = 0, dampening = 0, nesterov = false, weightDecay = 0 } = opts;
  if (nesterov && (momentum <= 0 || dampening !== 0)) throw new Error('sgdStep: nesterov needs momentum > 0 and dampening 0');
  checkPairs('sgdStep', params, grads);
  while (state.momentumBuffers.length < params.length) state.momentumBuffers.push(null);
  params.forEach((p, k) => {
    const n = p.data.length;
    const d = new Float64Array(n);
    for (let i = 0; i < n; i++) d[i] = grads[k].data[i] + weightDecay * p.data[i];
    if (momentum !== 0) {
      let buf = state.momentumBuffers[k];
      if (buf === null) {
        buf = Float64Array.from(d);
        state.momentumBuffers[k] = buf;
      } else {
        for (let i = 0; i < n; i++) buf[i] = momentum * buf[i] + (1 - dampening) * d[i];
      }
      for (let i = 0; i < n; i++) d[i] = nesterov ? d[i] + momentum * buf[i] : buf[i];
    }
    for (let i = 0; i < n; i++) p.data[i] -= lr * d[i];
  });
  return params;
}

export interface AdamOptions {
  lr?: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
  /** The 1-based step number t of this update; defaults to state.step + 1. */
  step?: number;
}

export interface AdamState {
  /** Steps taken so far (PyTorch keeps one per parameter; they always agree here). */
  step: number;
  expAvg: Float64Array[];
  expAvgSq: Float64Array[];
}

export function adamState(params: T64[]): AdamState {
  return { step: 0, expAvg: params.map((p) => new Float64Array(p.data.length)), expAvgSq: params.map((p) => new Float64Array(p.data.length)) };
}

/**
 * torch.optim.Adam.step (amsgrad = False, maximize = False), per parameter p with gradient g:
 *   t ← t + 1
 *   g ← g + weightDecay · p                       (L2 in the gradient, not AdamW)
 *   m ← β1 · m + (1 - β1) · g
 *   v ← β2 · v + (1 - β2) · g²
 *   p ← p - (lr / (1 - β1^t)) · m / (sqrt(v) / sqrt(1 - β2^t) + eps)
 */
export function adamStep(params: T64[], grads: T64[], state: AdamState, opts: AdamOptions = {}): T64[] {
  const { lr = 1e-3, betas = [0.9, 0.999], eps = 1e-8, weightDecay = 0 } = opts;
  const [beta1, beta2] = betas;
  checkPairs('adamStep', params, grads);
  const t = opts.step ?? state.step + 1;
  state.step = t;
  const biasCorrection1 = 1 - beta1 ** t;
  const biasCorrection2Sqrt = Math.sqrt(1 - beta2 ** t);
  const stepSize = lr / biasCorrection1;
  params.forEach((p, k) => {
    if (!state.expAvg[k]) {
      state.expAvg[k] = new Float64Array(p.data.length);
      state.expAvgSq[k] = new Float64Array(p.data.length);
    }
    const m = state.expAvg[k];
    const v = state.expAvgSq[k];
    for (let i = 0; i < p.data.length; i++) {
      const g = grads[k].data[i] + weightDecay * p.data[i];
      m[i] = beta1 * m[i] + (1 - beta1) * g;
      v[i] = beta2 * v[i] + (1 - beta2) * g * g;
      p.data[i] -= (stepSize * m[i]) / (Math.sqrt(v[i]) / biasCorrection2Sqrt + eps);
    }
  });
  return params;
}

/** torch.optim.lr_scheduler.StepLR: lr at `epoch` = baseLr · gamma^floor(epoch / stepSize). */
export function stepLR(baseLr: number, epoch: number, stepSize: number, gamma = 0.1): number {
  return baseLr * gamma ** Math.floor(epoch / stepSize);
}

function checkPairs(name: string, params: T64[], grads: T64[]): void {
  if (params.length !== grads.length) throw new Error(`${name}: ${params.length} params but ${grads.length} grads`);
  params.forEach((p, k) => {
    if (p.data.length !== grads[k].data.length) throw new Error(`${name}: param ${k} has ${p.data.length} elements, its grad ${grads[k].data.length}`);
  });
}
