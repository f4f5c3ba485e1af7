/**
 * Seeded pseudo-random numbers. Every random choice in the data layer (splits, shuffles,
 * synthetic faces, augmentation) goes through this so a seed reproduces a run exactly, in Node
 * and in browsers alike (Math.random cannot be seeded).
 */

/** 32-bit string/number hash (FNV-1a followed by a murmur finaliser), used to derive sub-seeds. */
export function hashSeed(...parts: (number | string)[]): number {
  let h = 0x811c9dc5;
  for (const part of parts) {
    const text = typeof part === 'number' ? part.toString() : part;
    for (let i = 0; i < text.length; i++) {
      h ^= text.charCodeAt(i);
      h = Math.imul(h, 0x01000193);
    }
    h ^= 0x2c; // separator so ('ab','c') and ('a','bc') differ
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16; h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13; h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** sfc32 generator: small state, passes PractRand far beyond what a data pipeline draws. */
export class Random {
  private a: number; private b: number; private c: number; private d: number;

  constructor(seed: number | string) {
    const s = typeof seed === 'number' ? seed >>> 0 : hashSeed(seed);
    this.a = hashSeed(s, 'a'); this.b = hashSeed(s, 'b'); this.c = hashSeed(s, 'c'); this.d = s | 1;
    for (let i = 0; i < 12; i++) this.nextUint32(); // mix the seed through the state
  }

  nextUint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  random(): number { return this.nextUint32() / 4294967296; }

  /** Uniform in [low, high). */
  uniform(low: number, high: number): number { return low + (high - low) * this.random(); }

  /** Integer in [0, n). */
  int(n: number): number { return Math.floor(this.random() * n); }

  /** Standard normal (Box–Muller), scaled. */
  normal(mean = 0, std = 1): number {
    const u = 1 - this.random();
    const v = this.random();
    return mean + std * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** Fisher–Yates shuffle in place; returns the same array. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = items[i]!; items[i] = items[j]!; items[j] = tmp;
    }
    return items;
  }

  /** A random permutation of 0..n-1. */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = p[i]!; p[i] = p[j]!; p[j] = tmp;
    }
    return p;
  }

  pick<T>(items: readonly T[]): T { return items[this.int(items.length)]!; }
}
