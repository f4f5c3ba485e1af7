// GPU time of the float16 elementwise / pad / cat ops through their float16 kernels (halfOps 'native')
// against the widening path (halfOps 'widen': cast to float32, the float32 kernel, cast back), forward
// and backward, alternated call by call; and the same op on float32 tensors for scale. Timestamps of
// every kernel the call launched, summed.
//   node --import tsx bench/f16-native-ops.ts [--rounds 7] [--shape 8,16,32,32]
import { parseArgs } from 'node:util';
import { loadavg } from 'node:os';
import { gpu, init } from '../src/gpu/index.js';
import { F, tensor, type Tensor } from '../src/index.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '7' }, shape: { type: 'string', default: '8,16,32,32' } } });
await init();
const shape = values.shape.split(',').map(Number);
const size = shape.reduce((a, b) => a * b, 1);
const draw = (n: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898) * 2);
const ops: [string, (x: Tensor, y: Tensor) => Tensor][] = [
  ['relu', (x) => F.relu(x)],
  ['leakyRelu', (x) => F.leakyRelu(x, 0.2)],
  ['tanh', (x) => F.tanh(x)],
  ['add', (x, y) => F.add(x, y)],
  ['mul', (x, y) => F.mul(x, y)],
  ['reflect pad 3', (x) => F.pad(x, [3, 3, 3, 3], 'reflect')],
  ['zero pad 1', (x) => F.pad(x, [1, 1, 1, 1])],
  ['cat channels', (x, y) => F.cat([x, y], 1)],
  ['slice channels', (x) => F.slice(x, 1, 0, shape[1]! / 2)],
];
type Variant = 'f32' | 'f16 widen' | 'f16 native';
const variants: Variant[] = ['f32', 'f16 widen', 'f16 native'];

async function gpuMs(op: (x: Tensor, y: Tensor) => Tensor, variant: Variant): Promise<number> {
  const dtype = variant === 'f32' ? 'float32' : 'float16';
  const x = tensor(draw(size), shape, { dtype, requiresGrad: true });
  const y = tensor(draw(size).reverse(), shape, { dtype, requiresGrad: true });
  let out: Tensor | undefined;
  const { timings } = await gpu().policy.with({ halfOps: variant === 'f16 native' ? 'native' : 'widen' }, () =>
    gpu().profile(async () => {
      out = op(x, y);
      const g = tensor(draw(out.size), [...out.shape], { dtype: out.dtype });
      out.backward(g);
      g.dispose();
      await gpu().sync();
    }),
  );
  for (const t of [x, y, out!]) t.dispose();
  // The upload of g is not a kernel; fill / casts of the seed are: only kernels launched by the op count.
  return timings.reduce((s, t) => s + t.totalMs, 0);
}

console.log(`${gpu().info.description}; shape [${shape.join(', ')}]; load average ${loadavg().map((v) => v.toFixed(2)).join(' ')}; forward + backward GPU ms, median of ${values.rounds}`);
console.log('| op | f32 | f16 widen | f16 native | native / widen | native / f32 |');
console.log('|---|---|---|---|---|---|');
for (const [name, op] of ops) {
  const times = new Map<Variant, number[]>(variants.map((v) => [v, []]));
  for (const v of variants) await gpuMs(op, v); // warm-up: pipelines
  for (let r = 0; r < Number(values.rounds); r++) {
    for (const v of r % 2 === 0 ? variants : [...variants].reverse()) times.get(v)!.push(await gpuMs(op, v));
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const [f32, widen, native] = variants.map((v) => median(times.get(v)!));
  console.log(`| ${name} | ${f32!.toFixed(3)} | ${widen!.toFixed(3)} | ${native!.toFixed(3)} | ${(native! / widen!).toFixed(2)} | ${(native! / f32!).toFixed(2)} |`);
}
console.log(`load average ${loadavg().map((v) => v.toFixed(2)).join(' ')}`);
