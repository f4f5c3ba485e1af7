// Seeded host-side random numbers (xoshiro128**): reproducible initialisation and sampling that
// is identical in Node and in browsers.

export class Generator {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  private spare: number | undefined;

  constructor(seed: number) {
    // splitmix32 spreads the seed over the four state words.
    let x = seed >>> 0;
    const next = () => {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
  }

  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform in [0, 1). */
  uniform(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Standard normal (Box–Muller, both values used). */
  normal(): number {
    if (this.spare !== undefined) {
      const v = this.spare;
      this.spare = undefined;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** The full generator state, for checkpoints that must resume the same random stream. */
  getState(): (number | null)[] {
    // Unsigned, as setState stores them: the same state is written the same way (s0 ^= s3 leaves it signed).
    return [this.s0 >>> 0, this.s1 >>> 0, this.s2 >>> 0, this.s3 >>> 0, this.spare ?? null];
  }

  setState(state: readonly (number | null)[]): void {
    if (state.length !== 5 || state.slice(0, 4).some((v) => typeof v !== 'number')) {
      throw new Error(`Generator.setState: expected 4 state words and a spare (from getState()), got ${JSON.stringify(state)}`);
    }
    [this.s0, this.s1, this.s2, this.s3] = state.slice(0, 4).map((v) => (v as number) >>> 0);
    this.spare = state[4] ?? undefined;
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.uniform() * n);
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

let global = new Generator(0x5eed);

/** Reseeds the global generator that randn / rand / dropout use when no seed is given. */
export function manualSeed(seed: number): void {
  global = new Generator(seed);
}

/** The global generator's state (dropout masks, default initialisation) for checkpoints. */
export function globalGeneratorState(): (number | null)[] {
  return global.getState();
}

export function setGlobalGeneratorState(state: readonly (number | null)[]): void {
  global.setState(state);
}

export function generator(seed?: number): Generator {
  return seed === undefined ? global : new Generator(seed);
}
