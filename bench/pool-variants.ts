// The max-pool kernels before (path 'general': pool.wgsl's window-scanning maxForward and the
// gather maxBackward) and now (path 'auto': pool_quads.wgsl for 2 x 2 / stride 2 on rows of 8k
// floats, pool.wgsl's maxBackwardTiles for other windows that tile the plane), side by side in one
// process: the Fa-Net demo step's pools (LightCNN-9 ×0.125, 32 px, batch 32, batch norm: 2 x 2,
// stride 2, ceil mode after each norm + mfm group) and odd shapes (odd H / W, partial ceil-mode
// windows, 3 x 3 tiles, a padded tiling pool). Each round runs every row's forward + backward once
// per path under gpu().profile, alternating; the best round's GPU time per kernel and per row set is
// reported, and the outputs (values, indices, input gradient) must match bit for bit.
//   node --import tsx bench/pool-variants.ts [--rounds 5] [--reps 10: runs of each row per profile]
import { parseArgs } from 'node:util';
import { gpu, init } from '../src/gpu/index.js';
import { alloc } from '../src/kernels/launch.js';
import { maxPoolBackward, maxPoolForward, type MaxPoolPath, type PoolGeometry } from '../src/kernels/pool.js';
import { maxPool2dGeometry, type MaxPool2dOptions } from '../src/nn/functional/pool.js';
import { randomValues } from './conv-variants.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '5' }, reps: { type: 'string', default: '10' } } });
const rounds = Number(values.rounds);
// lavapipe's timestamps tick every 65.5 µs: each row runs `reps` times per profile, times are per run.
const reps = Number(values.reps);
await init();

interface Row {
  set: string;
  shape: number[];
  options: MaxPool2dOptions;
}
const lightcnn: MaxPool2dOptions = { kernelSize: 2, stride: 2, ceilMode: true };
const rows: Row[] = [
  ...[[32, 6, 32, 32], [32, 12, 16, 16], [32, 24, 8, 8], [32, 16, 4, 4]].map((shape) => ({ set: 'fanet demo', shape, options: lightcnn })),
  { set: 'odd', shape: [8, 6, 17, 24], options: lightcnn },
  { set: 'odd', shape: [8, 6, 17, 17], options: lightcnn },
  { set: 'odd', shape: [8, 6, 17, 16], options: { kernelSize: 2, stride: 2 } },
  { set: 'odd', shape: [8, 6, 20, 20], options: { kernelSize: 3, stride: 3, ceilMode: true } },
  { set: 'odd', shape: [8, 6, 15, 15], options: { kernelSize: 2, stride: 2, padding: 1, ceilMode: true } },
];

function upload(data: Float32Array): GPUBuffer {
  const b = alloc(data.length);
  gpu().upload(b, data);
  return b;
}

const geometries: PoolGeometry[] = rows.map((r) => maxPool2dGeometry('maxPool2d', r.shape, r.options));
const inputs = rows.map((r, i) => {
  const g = geometries[i]!;
  const count = r.shape.reduce((a, b) => a * b, 1);
  return { x: upload(randomValues(count, 11 + i, 2)), gy: upload(randomValues(g.planes * g.OH * g.OW, 7 + i, 1)) };
});
const label = (r: Row) => `${r.set} [${r.shape}] k${r.options.kernelSize}${r.options.padding ? ` p${r.options.padding}` : ''}${r.options.ceilMode ? ' ceil' : ''}`;

async function timeAll(path: MaxPoolPath): Promise<{ ms: Map<string, number>; outputs: Float32Array[] }> {
  const outputs: GPUBuffer[] = [];
  const ms = new Map<string, number>();
  const add = (key: string, t: number) => ms.set(key, (ms.get(key) ?? 0) + t);
  for (const [i, row] of rows.entries()) {
    const { timings } = await gpu().profile(async () => {
      const g = geometries[i]!;
      for (let rep = 0; rep < reps; rep++) {
        const { values: y, indices } = maxPoolForward(inputs[i]!.x, g, path);
        const gx = maxPoolBackward(inputs[i]!.gy, indices, g, path);
        if (rep === 0) outputs.push(y, indices, gx);
        else [y, indices, gx].forEach((b) => gpu().pool.release(b));
      }
      await gpu().sync();
    });
    for (const t of timings) {
      // Both paths' kernels count under the kernel they stand in for; the kernel that ran is named.
      add(`${label(row)}: ${t.name.replace(/^pool\./, '').replace(/(Quads|Tiles)$/, '')}${path === 'auto' ? ` (${t.name})` : ''}`, t.totalMs / reps);
      add(`= ${row.set} rows`, t.totalMs / reps);
    }
  }
  const read = await Promise.all(outputs.map(async (b) => new Float32Array(await gpu().read(b, gpu().pool.bytesAcquired(b)!))));
  outputs.forEach((b) => gpu().pool.release(b));
  return { ms, outputs: read };
}

const best = [new Map<string, number>(), new Map<string, number>()];
let mismatches = 0;
for (let r = 0; r <= rounds; r++) {
  const results = [await timeAll('general'), await timeAll('auto')];
  if (r === 0) {
    results[0]!.outputs.forEach((a, i) => {
      const b = results[1]!.outputs[i]!;
      for (let e = 0; e < a.length; e++) if (!Object.is(a[e], b[e])) mismatches++;
    });
    continue; // warm-up: pipeline compilation
  }
  results.forEach(({ ms }, v) => ms.forEach((t, name) => best[v]!.set(name, Math.min(best[v]!.get(name) ?? Infinity, t))));
}
const info = gpu().info;
console.log(`${info.description} (${info.isSoftware ? 'software' : 'hardware'}), ${rows.length} max pools (forward + backward each), ${reps} runs per row in each of ${rounds} alternated rounds, best round per kernel, ms per run; outputs differing between the paths: ${mismatches}`);
console.log('| kernel | before (general) | after (auto) | speed-up |');
console.log('|---|---|---|---|');
const row = (name: string, a: number, b: number) => console.log(`| ${name} | ${a.toFixed(3)} ms | ${b.toFixed(3)} ms | ${b > 0 ? (a / b).toFixed(2) : '-'}× |`);
// A kernel's key carries the auto path's kernel name: pair each general key with its auto key.
const base = (key: string) => key.replace(/ \(.*\)$/, '');
const names = [...best[0]!.keys()];
for (const name of names.filter((n) => !n.startsWith('='))) {
  const after = [...best[1]!.keys()].find((k) => base(k) === name)!;
  row(after.replace(/^(.*): \w+ \((.*)\)$/, '$1: $2'), best[0]!.get(name)!, best[1]!.get(after)!);
}
for (const name of names.filter((n) => n.startsWith('='))) row(name, best[0]!.get(name)!, best[1]!.get(name)!);
if (mismatches > 0) process.exitCode = 1;
