// Seeded randomness for tests: the same seed gives the same shapes and values on every machine.
import { type T64, zeros } from './tensor64.js';

/** sfc32 generator seeded through splitmix32; small, fast, good enough for test data. */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  private spare: number | null = null;

  constructor(readonly seed: number) {
    let s = seed >>> 0;
    const next = () => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next();
    for (let i = 0; i < 12; i++) this.u32();
  }

  u32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }

  /** Uniform in [lo, hi) with 53 random bits. */
  uniform(lo = 0, hi = 1): number {
    const x = (this.u32() >>> 5) * 67108864 + (this.u32() >>> 6);
    return lo + (hi - lo) * (x / 9007199254740992);
  }

  /** Standard normal (Box–Muller). */
  normal(): number {
    if (this.spare !== null) {
      const s = this.spare;
      this.spare = null;
      return s;
    }
    let u = 0;
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** Integer in [lo, hiInclusive]. */
  int(lo: number, hiInclusive: number): number {
    if (hiInclusive < lo) throw new Error(`Rng.int: empty range [${lo}, ${hiInclusive}]`);
    return lo + Math.floor(this.uniform() * (hiInclusive - lo + 1));
  }

  bool(pTrue = 0.5): boolean {
    return this.uniform() < pTrue;
  }

  pick<T>(xs: readonly T[]): T {
    if (xs.length === 0) throw new Error('Rng.pick: empty list');
    return xs[this.int(0, xs.length - 1)];
  }

  /** A shuffled copy (Fisher–Yates). */
  shuffle<T>(xs: readonly T[]): T[] {
    const out = [...xs];
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.int(0, i);
      [out[i], out[j]] = [out[j], out[i]];
    }
    return out;
  }
}

export function randn(rng: Rng, shape: number[], scale = 1): T64 {
  const t = zeros(shape);
  for (let i = 0; i < t.data.length; i++) t.data[i] = rng.normal() * scale;
  return t;
}

export function randu(rng: Rng, shape: number[], lo = 0, hi = 1): T64 {
  const t = zeros(shape);
  for (let i = 0; i < t.data.length; i++) t.data[i] = rng.uniform(lo, hi);
  return t;
}

/** Random integers in [lo, hiInclusive] as a float64 tensor (e.g. class targets). */
export function randint(rng: Rng, shape: number[], lo: number, hiInclusive: number): T64 {
  const t = zeros(shape);
  for (let i = 0; i < t.data.length; i++) t.data[i] = rng.int(lo, hiInclusive);
  return t;
}

/**
 * Integers in [-3, 3] (so ties are common) with NaN, +inf and -inf mixed in, each element special
 * with probability `special`: the edge cases of max / min / clamp / relu and their gradients.
 */
export function randWithSpecials(rng: Rng, shape: number[], special = 0.15): T64 {
  const specials = [NaN, Infinity, -Infinity];
  const t = zeros(shape);
  for (let i = 0; i < t.data.length; i++) t.data[i] = rng.bool(special) ? specials[rng.int(0, 2)] : rng.int(-3, 3);
  return t;
}

/**
 * Values that are pairwise at least `gap` apart (a shuffled grid plus a little jitter), so
 * max/argmax/relu/abs have no ties or kinks within finite-difference reach.
 * Values lie roughly in [-gap * n / 2, gap * n / 2].
 */
export function randDistinct(rng: Rng, shape: number[], gap = 0.1): T64 {
  const t = zeros(shape);
  const n = t.data.length;
  const order = rng.shuffle(Array.from({ length: n }, (_, i) => i));
  for (let i = 0; i < n; i++) t.data[i] = (order[i] - (n - 1) / 2) * gap + rng.uniform(-0.2, 0.2) * gap;
  // Keep them off zero too (relu, abs, leakyRelu kinks).
  for (let i = 0; i < n; i++) if (Math.abs(t.data[i]) < 0.25 * gap) t.data[i] += t.data[i] < 0 ? -0.25 * gap : 0.25 * gap;
  return t;
}

/** Normal values pushed at least `margin` away from zero (for relu/abs/leakyRelu gradchecks). */
export function randnAwayFromZero(rng: Rng, shape: number[], margin = 0.05): T64 {
  const t = randn(rng, shape);
  for (let i = 0; i < t.data.length; i++) {
    const v = t.data[i];
    if (Math.abs(v) < margin) t.data[i] = v < 0 ? v - margin : v + margin;
  }
  return t;
}

/** A fresh seed per run; tests print it on failure so the case can be replayed. */
export function randomSeed(): number {
  const env = typeof process !== 'undefined' ? process.env.WEBFER_SEED : undefined;
  if (env !== undefined && env !== '') return Number(env) >>> 0;
  const c = (globalThis as { crypto?: { getRandomValues?: (a: Uint32Array) => Uint32Array } }).crypto;
  if (c?.getRandomValues) return c.getRandomValues(new Uint32Array(1))[0];
  return (Date.now() ^ Math.floor(Math.random() * 0x100000000)) >>> 0;
}

/** A random shape of the given rank with dims in [minDim, maxDim]. */
export function randomShape(rng: Rng, rank: number, minDim = 1, maxDim = 5): number[] {
  return Array.from({ length: rank }, () => rng.int(minDim, maxDim));
}

/**
 * Two shapes that broadcast together (NumPy rules): one may have fewer leading dims, and
 * each aligned pair is equal or has a 1 on one side.
 */
export function randomBroadcastPair(rng: Rng, maxRank = 4, maxDim = 5): [number[], number[]] {
  const rank = rng.int(0, maxRank);
  const full = randomShape(rng, rank, 1, maxDim);
  const a: number[] = [];
  const b: number[] = [];
  for (const d of full) {
    const r = rng.uniform();
    if (r < 0.2) { a.push(1); b.push(d); } else if (r < 0.4) { a.push(d); b.push(1); } else { a.push(d); b.push(d); }
  }
  const dropA = rng.bool(0.3) ? rng.int(0, rank) : 0;
  const dropB = dropA === 0 && rng.bool(0.3) ? rng.int(0, rank) : 0;
  return [a.slice(dropA), b.slice(dropB)];
}

/** A random non-empty set of distinct dims of a rank-`rank` tensor, some written negatively. */
export function randomDims(rng: Rng, rank: number, maxCount = rank): number[] {
  if (rank === 0) return [];
  const count = rng.int(1, Math.max(1, Math.min(maxCount, rank)));
  const dims = rng.shuffle(Array.from({ length: rank }, (_, i) => i)).slice(0, count);
  return dims.map((d) => (rng.bool(0.3) ? d - rank : d));
}
