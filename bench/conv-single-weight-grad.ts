// The Cout = 1 weight gradient kernels side by side on FaPE-GAN's output layers, launched directly (no
// policy), each with its launcher's slicing (about 4096 invocations, partial sums added by reduceAxis):
// conv2d_weight_grad_single.wgsl weightGradSingle and conv2d_weight_grad_single_subgroup.wgsl
// weightGradSingleSubgroup (one invocation per (ci, i), slices of output rows) beside its
// weightGradSingleRowsSubgroup (one per ci, slices of input rows; subgroups of 8 only), one call of each
// alternated per round (the order reversed every other round), per CPU millisecond of this process
// (lavapipe's threads are ours): least / median, GFLOP per CPU second at the least, and the largest
// difference from weightGradSingle's result relative to its largest value.
//   node --import tsx bench/conv-single-weight-grad.ts [rounds, default 9]
import { gpu, init } from '../src/gpu/index.js';
import { Params, alloc, kernel } from '../src/kernels/launch.js';
import { reduceAxis } from '../src/kernels/reduce.js';
await init();
const rounds = Number(process.argv[2] ?? 9);
const geo = (N: number, Cin: number, H: number, K: number, P: number) => ({ N, Cin, H, OH: H + 2 * P - K + 1, K, P });
type G = ReturnType<typeof geo>;
const params = (g: G, kChunk: number) => new Params().u32(g.N, g.Cin, g.H, g.H, 1, g.OH, g.OH, 0, g.K, g.K, 1, 1).i32(g.P, g.P).u32(1, 1, kChunk, 0, 0, 0).done();
const up = (n: number, s: number) => { const a = new Float32Array(n); for (let i = 0; i < n; i++) a[i] = Math.sin(i * 12.9898 + s) * 0.5; const b = alloc(n); gpu().upload(b, a); return b; };
console.log(`${gpu().info.description}; CPU ms least / median of ${rounds}`);
for (const [name, g] of [['D out 4×4 N4', geo(4, 512, 15, 4, 1)], ['D out 4×4 N16', geo(16, 512, 15, 4, 1)], ['G out 7×7 N4', geo(4, 64, 134, 7, 0)], ['G demo N16', geo(16, 8, 38, 7, 0)]] as [string, G][]) {
  const x = up(g.N * g.Cin * g.H * g.H, 1), gy = up(g.N * g.OH * g.OH, 2);
  const count = g.Cin * g.K * g.K;
  const variant = (file: string, entryPoint: string, byInputRows: boolean) => () => {
    const columns = byInputRows ? g.Cin : g.Cin * g.K, rows = byInputRows ? g.N * g.H : g.N * g.OH;
    const kChunk = Math.ceil(rows / Math.max(1, Math.min(rows, Math.ceil(4096 / columns))));
    const slices = Math.ceil(rows / kChunk);
    const partial = alloc(slices * count);
    gpu().dispatch(kernel(file, { name: `wg.${entryPoint}`, entryPoint, constants: { WG: byInputRows ? Math.min(64, Math.ceil(columns / 8) * 8) : 64, WIDE: g.K > 4 ? 1 : 0, ...(byInputRows ? { KERNEL_H: g.K } : {}) } }), [x, gy, partial], params(g, kChunk), [Math.ceil(columns / (byInputRows ? Math.min(64, Math.ceil(columns / 8) * 8) : 64)), 1, slices]);
    const out = reduceAxis('sum', partial, 1, slices, count); gpu().pool.release(partial); return out;
  };
  const variants: [string, () => GPUBuffer][] = [
    ['single', variant('conv2d_weight_grad_single', 'weightGradSingle', false)],
    ['singleSubgroup', variant('conv2d_weight_grad_single_subgroup', 'weightGradSingleSubgroup', false)],
    ['singleRowsSubgroup', variant('conv2d_weight_grad_single_subgroup', 'weightGradSingleRowsSubgroup', true)],
  ];
  const times: number[][] = variants.map(() => []); const diffs = variants.map(() => 0); let first: Float32Array | undefined;
  for (let r = 0; r <= rounds; r++) for (let v = 0; v < variants.length; v++) {
    const i = r % 2 ? variants.length - 1 - v : v;
    await gpu().sync(); const c0 = process.cpuUsage(); const y = variants[i]![1](); await gpu().sync(); const c = process.cpuUsage(c0);
    if (r === 0) { const out = new Float32Array(await gpu().read(y, count * 4)); first ??= out; let d = 0, s = 0; out.forEach((o, k) => { d = Math.max(d, Math.abs(o - first![k]!)); s = Math.max(s, Math.abs(first![k]!)); }); diffs[i] = d / s; }
    else times[i]!.push((c.user + c.system) / 1000);
    gpu().pool.release(y);
  }
  const flop = 2 * g.N * g.OH * g.OH * g.Cin * g.K * g.K;
  console.log(`${name}: ` + variants.map(([n], i) => { const s = [...times[i]!].sort((a, b) => a - b); return `${n} ${s[0]!.toFixed(2)} / ${s[s.length >> 1]!.toFixed(2)} ms (${(flop / s[0]! / 1e6).toFixed(2)} GF/cpu-s, diff ${diffs[i]!.toExponential(0)})`; }).join(' | '));
}
