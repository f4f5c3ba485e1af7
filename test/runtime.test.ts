// The GPU runtime: device, batching, pool, read-back, errors, device loss.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { init, tensor, memory, gpu, F, scope } from '../src/index.js';
import { Gpu, KernelError, DeviceLostError } from '../src/gpu/index.js';
import { requestAdapter, requestDevice } from '../src/gpu/device.js';
import { BufferPool, sizeClass } from '../src/gpu/pool.js';
import { kernel, Params, dispatch1d } from '../src/kernels/launch.js';
import { Rng, randomSeed } from './reference/index.js';

await init();

test('init finds an adapter and reports its features and limits', () => {
  const info = gpu().info;
  assert.ok(info.limits.maxStorageBufferBindingSize >= 128 * 2 ** 20, 'binding size raised to the adapter maximum');
  assert.ok(info.limits.maxStorageBuffersPerShaderStage >= 8);
  assert.type(info.isSoftware, 'boolean');
  assert.ok(Array.isArray(info.features));
});

test('read-back of random data round-trips exactly', async () => {
  const seed = randomSeed();
  const rng = new Rng(seed);
  for (const n of [1, 7, 1000, 65_537]) {
    const values = Float32Array.from({ length: n }, () => rng.normal() * 1e3);
    const back = await tensor(values, [n]).toArray();
    assert.equal(Array.from(back), Array.from(values), `seed ${seed}, n ${n}`);
  }
});

test('10,000 dispatches are encoded into few submits', async () => {
  const before = { ...gpu().counters };
  const k = kernel('fill');
  const buffer = gpu().pool.acquire(4 * 64);
  for (let i = 0; i < 10_000; i++) dispatch1d(k, [buffer], new Params().u32(64).f32(i).u32(0, 0), 64);
  const last = new Float32Array(await gpu().read(buffer, 4 * 64));
  gpu().pool.release(buffer);
  const dispatches = gpu().counters.dispatches - before.dispatches;
  const submits = gpu().counters.submits - before.submits;
  assert.is(dispatches, 10_000);
  assert.ok(submits <= Math.ceil(10_000 / gpu().maxDispatchesPerSubmit) + 1, `${submits} submits for 10,000 dispatches`);
  assert.is(last[63], 9999, 'the last fill wins: dispatches ran in order with their own parameters');
});

test('an upload while work is encoded costs no submit and lands after the work that read the old data', async () => {
  const seed = randomSeed();
  const rng = new Rng(seed);
  const a = Float32Array.from({ length: 257 }, () => rng.normal());
  const b = Float32Array.from({ length: 257 }, () => rng.normal());
  await gpu().sync();
  const x = tensor(a, [257]);
  const doubled = F.mul(x, 2); // encoded, reads x's buffer
  x.dispose(); // the buffer goes back to the pool while the read is still pending
  const submits = gpu().counters.submits;
  const z = tensor(b, [257]); // takes the same size class: likely x's buffer
  assert.is(gpu().counters.submits, submits, 'no submit for a mid-step upload');
  assert.equal(Array.from(await doubled.toArray()), Array.from(a, (v) => Math.fround(2 * v)), `seed ${seed}`);
  assert.equal(Array.from(await z.toArray()), Array.from(b), `seed ${seed}`);
  doubled.dispose();
  z.dispose();
});

test('pool: 1,000 alloc/free cycles of mixed sizes return to zero bytes in use, pool bounded', () => {
  const seed = randomSeed();
  const rng = new Rng(seed);
  const cap = 2 ** 20;
  const pool = new BufferPool(gpu().device, (b) => b.destroy(), cap);
  const held: GPUBuffer[] = [];
  const classes = new Set<number>();
  for (let i = 0; i < 1000; i++) {
    const bytes = 4 * rng.int(1, 50_000);
    classes.add(sizeClass(bytes));
    held.push(pool.acquire(bytes));
    if (held.length > 8 || rng.uniform() < 0.5) pool.release(held.splice(rng.int(0, held.length - 1), 1)[0]);
    assert.ok(pool.stats().bytesPooled <= cap, `pooled bytes above the cap (seed ${seed})`);
  }
  for (const b of held) pool.release(b);
  const end = pool.stats();
  assert.is(end.bytesInUse, 0, `seed ${seed}`);
  assert.is(end.buffersInUse, 0, `seed ${seed}`);
  // At most 9 buffers are ever held at once, so no class needs more than 9 pooled buffers.
  assert.ok(end.buffersPooled <= 9 * classes.size, `${end.buffersPooled} pooled buffers (seed ${seed})`);
  pool.trim();
  assert.is(pool.stats().bytesPooled, 0);
});

test('size classes waste at most a third', () => {
  for (const bytes of [1, 4, 100, 4096, 5000, 1e6, 3e7]) {
    const c = sizeClass(bytes);
    assert.ok(c >= bytes && c % 4 === 0 && c <= Math.max(16, bytes * 1.5), `${bytes} -> ${c}`);
  }
});

test('a training-style scope leaves memory where it found it', async () => {
  const w = tensor(Float32Array.from({ length: 12 }, (_, i) => i / 10 - 0.5), [4, 3], { requiresGrad: true });
  await scope(async () => {
    const loss = F.sum(F.relu(F.matmul(tensor([1, 2, 3, 4, 5, 6, 7, 8], [2, 4]), w)));
    loss.backward();
    await loss.item();
  });
  w.grad!.dispose();
  w.grad = null;
  const before = memory();
  for (let step = 0; step < 5; step++) {
    await scope(async () => {
      const loss = F.sum(F.relu(F.matmul(tensor([1, 2, 3, 4, 5, 6, 7, 8], [2, 4]), w)));
      loss.backward();
      return loss.item();
    });
    w.grad!.dispose();
    w.grad = null;
  }
  const after = memory();
  assert.is(after.bytesInUse, before.bytesInUse);
  assert.is(after.liveTensors, before.liveTensors);
  w.dispose();
});

test('a shader with an error raises an error that names the kernel', async () => {
  const broken = { name: 'test.brokenShader', code: '@compute @workgroup_size(1) fn main() { let x: f32 = undefined_symbol; }' };
  let message = '';
  try {
    gpu().dispatch(broken, [], undefined, [1]);
    await gpu().sync();
  } catch (error) {
    assert.instance(error, KernelError);
    message = (error as Error).message;
  }
  assert.match(message, 'test.brokenShader');
  // The device stays usable after the failed kernel.
  assert.equal(Array.from(await tensor([1, 2], [2]).toArray()), [1, 2]);
});

test('no adapter: the error says what is missing and the command that installs a software driver', async () => {
  const global = globalThis as { navigator?: unknown };
  const saved = Object.getOwnPropertyDescriptor(globalThis, 'navigator');
  Object.defineProperty(globalThis, 'navigator', { value: { gpu: { requestAdapter: async () => null } }, configurable: true, writable: true });
  try {
    let message = '';
    try {
      await requestAdapter();
    } catch (error) {
      message = (error as Error).message;
    }
    assert.match(message, 'No WebGPU adapter');
    assert.match(message, 'apt-get install -y -t bookworm-backports mesa-vulkan-drivers');
  } finally {
    if (saved) Object.defineProperty(globalThis, 'navigator', saved);
    else delete global.navigator;
  }
});

test('after device.destroy() every call fails fast with the reason', async () => {
  const adapter = await requestAdapter();
  const own = new Gpu(await requestDevice(adapter), adapter);
  const buffer = own.pool.acquire(16);
  own.destroy();
  const started = Date.now();
  let readError: unknown;
  try {
    await own.read(buffer, 16);
  } catch (error) {
    readError = error;
  }
  assert.instance(readError, DeviceLostError);
  assert.throws(() => own.dispatch(kernel('fill'), [buffer], new Params().u32(4).f32(1).u32(0, 0).done(), [1]), (e: Error) => e instanceof DeviceLostError);
  assert.ok(Date.now() - started < 5000, 'no hang');
});

test.run();
