// The probes' shared parts (bench/short-k-probe.ts, conv1-probe.ts, conv1-tiles-probe.ts, gout-probe.ts): shader variants by text edits;
// timing: every case called once a round, alternated, the best CPU ms of the rounds against a 1024³ matmul of the same rounds.
import { loadavg } from 'node:os';
import { gpu } from '../src/gpu/index.js';
import { matmul } from '../src/kernels/matmul.js';
import { shaderSources } from '../src/shaders.generated.js';

export interface ProbeCase { label: string; flops: number; run: () => GPUBuffer[] }

/** The reference case: the matmul kernel at S³ on the two S×S buffers. */
export function matmulCase(S: number, a: GPUBuffer, b: GPUBuffer): ProbeCase {
  return { label: `matmul ${S}³`, flops: 2 * S ** 3, run: () => [matmul({ buffer: a, batchStride: 0, rowStride: S, colStride: 1 }, { buffer: b, batchStride: 0, rowStride: S, colStride: 1 }, 1, S, S, S)] };
}

/**
 * The process's CPU ms over one synced call: lavapipe runs the kernels on its threads in this process,
 * so CPU time counts the work done and swings less than wall time when other processes share the cores.
 */
async function cpuMs(c: ProbeCase): Promise<number> {
  await gpu().sync();
  const cpuStart = process.cpuUsage();
  c.run().forEach((o) => gpu().pool.release(o));
  await gpu().sync();
  const cpu = process.cpuUsage(cpuStart);
  return (cpu.user + cpu.system) / 1000;
}

/** Times `cases` (the last one the reference) over `rounds` after a compiling call each, and prints each best against the reference's rate. */
export async function printBestRounds(cases: ProbeCase[], rounds: number, labelWidth: number): Promise<void> {
  const best = new Map<ProbeCase, number>();
  // Per round, each case's time over the first case's of the same round (a load change between rounds cancels).
  const ratios = new Map<ProbeCase, number[]>();
  for (const c of cases) await cpuMs(c);
  for (let round = 0; round < rounds; round++) {
    let first = 0;
    for (const c of cases) {
      const ms = await cpuMs(c);
      if (c === cases[0]) first = ms;
      best.set(c, Math.min(best.get(c) ?? Infinity, ms));
      ratios.set(c, [...(ratios.get(c) ?? []), ms / first]);
    }
  }
  console.log(`best CPU ms of ${rounds} rounds; × the matmul at the best times; time over the first case's in the same round (median, range); load ${loadavg().map((l) => l.toFixed(1)).join(' / ')}`);
  const reference = cases.at(-1)!.flops / best.get(cases.at(-1)!)!;
  for (const c of cases) {
    const ms = best.get(c)!;
    const r = [...ratios.get(c)!].sort((a, b) => a - b);
    const median = r[Math.floor(r.length / 2)]!;
    console.log(`${c.label.padEnd(labelWidth)} ${ms.toFixed(1).padStart(7)} ms ${(c.flops / ms / reference).toFixed(2).padStart(5)}x  ${median.toFixed(2)} (${r[0]!.toFixed(2)}-${r.at(-1)!.toFixed(2)})`);
  }
}

/**
 * Registers, for each named list of [from, to] text edits, the shader `file` with those edits as `probe_NAME`
 * (timing-only variants: their outputs are not the op's). An edit whose text is gone throws, so a probe never
 * times the unedited kernel under an edit's name.
 */
export function registerShaderEdits(file: string, edits: Record<string, [string, string][]>): void {
  for (const [name, list] of Object.entries(edits)) {
    let code = shaderSources[file]!;
    for (const [from, to] of list) {
      if (!code.includes(from)) throw new Error(`edit ${name}: no ${from}`);
      code = code.split(from).join(to);
    }
    shaderSources[`probe_${name}`] = code;
  }
}
