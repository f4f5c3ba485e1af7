// The Cout = 1 forward kernels side by side on FaPE-GAN's output layers, launched directly (no policy):
// conv2d_single_sliced.wgsl rowsSliced at several slice counts (its partial sums added by reduceAxis)
// beside conv2d_single_subgroup.wgsl's rowsSubgroup and singleSubgroup (subgroups of 8 only), one call
// of each alternated per round (the order reversed every other round). Reported per CPU millisecond of
// this process (lavapipe's threads are ours; wall time on a shared machine mostly measures the
// neighbours): the least and the median over the rounds, and GFLOP per CPU second at the least. The
// outputs are compared with the first kernel's (largest difference relative to the largest value).
//   node --import tsx bench/conv-single-sliced.ts [--rounds 9] [--slices 1,2,4,8,16] [--only 'D out']
import { parseArgs } from 'node:util';
import { gpu, init } from '../src/gpu/index.js';
import { Params, alloc, grid1d, kernel } from '../src/kernels/launch.js';
import { reduceAxis } from '../src/kernels/reduce.js';
import { subgroupsOfEight } from '../src/kernels/conv.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '9' }, slices: { type: 'string', default: '1,2,4,8,16' }, only: { type: 'string', default: '' } } });
const rounds = Number(values.rounds);
await init();
if (!subgroupsOfEight()) throw new Error('bench/conv-single-sliced.ts compares with the subgroup kernels: it needs subgroups of exactly 8 lanes (lavapipe)');

/** A stride-1 square Cout = 1 conv: N images of Cin x H x H, kernel K x K, padding P. */
const geometry = (N: number, Cin: number, H: number, K: number, P: number) => ({ N, Cin, H, OH: H + 2 * P - K + 1, K, P });
type Geometry = ReturnType<typeof geometry>;
const params = (g: Geometry, kChunk = 0) => new Params().u32(g.N, g.Cin, g.H, g.H, 1, g.OH, g.OH, 0, g.K, g.K, 1, 1).i32(g.P, g.P).u32(1, 1, kChunk, 0, 0, 0).done();
const upload = (count: number, seed: number) => {
  const data = new Float32Array(count);
  for (let i = 0; i < count; i++) data[i] = Math.sin(i * 12.9898 + seed) * 0.5;
  const buffer = alloc(count);
  gpu().upload(buffer, data);
  return buffer;
};

console.log(`${gpu().info.description}, subgroups ${JSON.stringify(gpu().info.subgroupSizes)}; CPU ms of this process per call, least / median of ${rounds} alternated rounds`);
const rows: [string, Geometry][] = [
  ['D out 4×4 N4', geometry(4, 512, 15, 4, 1)], ['D out 4×4 N16', geometry(16, 512, 15, 4, 1)],
  ['G out 7×7 N4', geometry(4, 64, 134, 7, 0)], ['G out 7×7 demo N16', geometry(16, 8, 38, 7, 0)],
];
for (const [name, g] of rows.filter(([row]) => row.includes(values.only))) {
  const x = upload(g.N * g.Cin * g.H * g.H, 1);
  const w = upload(g.Cin * g.K * g.K, 2);
  const outputs = g.N * g.OH * g.OH;
  const octets = g.N * g.OH * Math.ceil(g.OH / 8);
  const tiles = g.N * Math.ceil(g.OH / 4) * Math.ceil(g.OH / 8);
  const subgroupKernel = (entryPoint: string, invocations: number, wg: number) => () => {
    const y = alloc(outputs);
    gpu().dispatch(kernel('conv2d_single_subgroup', { name: `conv2d.${entryPoint}`, entryPoint, constants: { WG: wg } }), [x, w, gpu().placeholder, y], params(g), grid1d(invocations, wg));
    return y;
  };
  const sliced = (wanted: number) => () => {
    const kChunk = Math.ceil(g.Cin / wanted);
    const slices = Math.ceil(g.Cin / kChunk);
    const wg = tiles * slices < 1024 ? 8 : 64;
    const partial = alloc(slices * outputs);
    gpu().dispatch(kernel('conv2d_single_sliced', { name: 'conv2d.rowsSliced', entryPoint: 'rowsSliced', constants: { WG: wg, KERNEL_H: g.K, KERNEL_W: g.K } }), [x, w, gpu().placeholder, partial], params(g, kChunk), grid1d(tiles * slices, wg));
    if (slices === 1) return partial;
    const y = reduceAxis('sum', partial, 1, slices, outputs);
    gpu().pool.release(partial);
    return y;
  };
  const variants: [string, () => GPUBuffer][] = [
    ['singleSubgroup', subgroupKernel('singleSubgroup', octets, 64)],
    ['rowsSubgroup', subgroupKernel('rowsSubgroup', tiles, tiles < 1024 ? 8 : 64)],
    ...values.slices.split(',').map(Number).map((s): [string, () => GPUBuffer] => [`rowsSliced ×${s}`, sliced(s)]),
  ];
  const times: number[][] = variants.map(() => []);
  const diffs = variants.map(() => 0);
  let first: Float32Array | undefined;
  for (let r = 0; r <= rounds; r++) {
    for (let v = 0; v < variants.length; v++) {
      const i = r % 2 ? variants.length - 1 - v : v;
      await gpu().sync();
      const start = process.cpuUsage();
      const y = variants[i]![1]();
      await gpu().sync();
      const cpu = process.cpuUsage(start);
      if (r === 0) {
        // Warm-up round (compiles): the outputs are compared instead.
        const out = new Float32Array(await gpu().read(y, outputs * 4));
        first ??= out;
        let diff = 0, scale = 0;
        out.forEach((value, k) => { diff = Math.max(diff, Math.abs(value - first![k]!)); scale = Math.max(scale, Math.abs(first![k]!)); });
        diffs[i] = diff / scale;
      } else {
        times[i]!.push((cpu.user + cpu.system) / 1000);
      }
      gpu().pool.release(y);
    }
  }
  const flop = 2 * outputs * g.Cin * g.K * g.K;
  console.log(`\n${name}: ${g.Cin}→1 ${g.H}² k${g.K} p${g.P}, ${tiles} tiles of 4 x 8`);
  variants.forEach(([variant], i) => {
    const sorted = [...times[i]!].sort((a, b) => a - b);
    console.log(`  ${variant.padEnd(16)} ${sorted[0]!.toFixed(2)} / ${sorted[sorted.length >> 1]!.toFixed(2)} ms, ${(flop / sorted[0]! / 1e6).toFixed(2)} GFLOP per CPU s (diff ${diffs[i]!.toExponential(0)})`);
  });
  [x, w].forEach((b) => gpu().pool.release(b));
}
