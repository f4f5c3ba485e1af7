// One conv pass under two of its policy variants, side by side in one process: each round times one
// call of each (synced, wall clock) in turn, and the best round of each is reported, with the largest
// difference of their outputs (relative to the largest value) from the warm-up round. Shared by
// bench/conv-stride2.ts and bench/conv-weight-grad.ts.
import { gpu } from '../src/gpu/index.js';
import type { TunableKey } from '../src/gpu/policy.js';
import { alloc } from '../src/kernels/launch.js';
import type { ConvGeometry, ConvVariant } from '../src/kernels/conv.js';

export function randomValues(count: number, seed: number, scale = 1): Float32Array {
  const out = new Float32Array(count);
  let state = seed;
  for (let i = 0; i < count; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    out[i] = (state / 2 ** 31 - 1) * scale;
  }
  return out;
}

/** A square conv2d geometry: N images Cin×H×H through K×K filters at stride S and padding P. */
export function squareGeometry(N: number, Cin: number, Cout: number, H: number, K: number, S: number, P: number): ConvGeometry {
  const OH = Math.floor((H + 2 * P - K) / S) + 1;
  return { N, Cin, Cout, H, W: H, OH, OW: OH, KH: K, KW: K, SH: S, SW: S, PH: P, PW: P, DH: 1, DW: 1 };
}

export interface PassComparison {
  /** The policy key whose variants are compared. */
  key: Exclude<TunableKey, 'matmul'>;
  variants: [ConvVariant, ConvVariant];
  /** Column headings of the two variants. */
  labels: [string, string];
  /** The pass's inputs (uploaded once per row) and its launch; the output is released after reading. */
  inputs: (g: ConvGeometry) => Float32Array[];
  run: (g: ConvGeometry, inputs: GPUBuffer[]) => GPUBuffer;
  outputCount: (g: ConvGeometry) => number;
}

/** Prints a markdown table: one line per row, the two variants' best times and rates, speed-up and difference. */
export async function comparePassVariants(pass: PassComparison, rows: { name: string; g: ConvGeometry }[], rounds: number): Promise<void> {
  const info = gpu().info;
  console.log(`${info.description} (${info.isSoftware ? 'software' : 'hardware'}), best of ${rounds} alternated rounds`);
  console.log(`| row | shape | ${pass.labels[0]} | ${pass.labels[1]} | speed-up | max diff |`);
  console.log('|---|---|---|---|---|---|');
  for (const { name, g } of rows) {
    const inputs = pass.inputs(g).map((values) => {
      const buffer = alloc(values.length);
      gpu().upload(buffer, values);
      return buffer;
    });
    const timed = async (variant: ConvVariant): Promise<{ ms: number; out: Float32Array }> => {
      gpu().policy.set({ [pass.key]: variant });
      await gpu().sync();
      const start = performance.now();
      const output = pass.run(g, inputs);
      await gpu().sync();
      const ms = performance.now() - start;
      const out = new Float32Array(await gpu().read(output, pass.outputCount(g) * 4));
      gpu().pool.release(output);
      return { ms, out };
    };
    const best = [Infinity, Infinity];
    let diff = 0;
    for (let r = 0; r <= rounds; r++) {
      const [old, now] = [await timed(pass.variants[0]), await timed(pass.variants[1])];
      if (r === 0) {
        let scale = 0;
        for (let i = 0; i < old.out.length; i++) {
          diff = Math.max(diff, Math.abs(old.out[i]! - now.out[i]!));
          scale = Math.max(scale, Math.abs(old.out[i]!));
        }
        diff /= scale;
        continue; // warm-up: pipeline compilation
      }
      best[0] = Math.min(best[0]!, old.ms);
      best[1] = Math.min(best[1]!, now.ms);
    }
    const flop = 2 * g.N * g.Cout * g.OH * g.OW * g.Cin * g.KH * g.KW;
    const cell = (ms: number) => `${ms.toFixed(1)} ms, ${(flop / ms / 1e6).toFixed(2)} GFLOP/s`;
    console.log(`| ${name} | N${g.N} ${g.Cin}→${g.Cout} ${g.H}² k${g.KH} s${g.SH} p${g.PH} | ${cell(best[0]!)} | ${cell(best[1]!)} | ${(best[0]! / best[1]!).toFixed(2)}× | ${diff.toExponential(1)} |`);
    inputs.forEach((buffer) => gpu().pool.release(buffer));
  }
  gpu().policy.reset();
}
