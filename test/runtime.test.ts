// The GPU runtime: device, batching, pool, read-back, errors, device loss.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { init, tensor, memory, gpu, F, scope, zeros } from '../src/index.js';
import { Gpu, KernelError, DeviceLostError, InvalidInputError, FLAG_WORDS, deviceGeneration } from '../src/gpu/index.js';
import { noAdapterMessage, requestAdapter, requestDevice } from '../src/gpu/device.js';
import { BufferPool, sizeClass } from '../src/gpu/pool.js';
import { kernel, Params, dispatch1d } from '../src/kernels/launch.js';
import { Parameter } from '../src/nn/index.js';
import { SGD } from '../src/optim/index.js';
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

test('asyncCompile: a training step compiles its new pipelines in the background, none blocking, and trains to the numbers of direct encoding', async () => {
  const seed = randomSeed();
  const rng = new Rng(seed);
  // Shapes of this seed: the convolutions' pipelines are specialised to them, so they are new here.
  const [N, C, H, W, F1, classes] = [rng.int(2, 4), rng.int(2, 5), rng.int(5, 12), rng.int(5, 12), rng.int(2, 6), 3];
  const random = (n: number) => Float32Array.from({ length: n }, () => rng.normal() * 0.3);
  const initial = { w1: random(F1 * C * 9), b1: random(F1), w2: random(F1 * F1), wl: random(classes * F1 * H * W), bl: random(classes) };
  const inputs = [random(N * C * H * W), random(N * C * H * W)];
  const labels = Array.from({ length: N }, () => rng.int(0, classes - 1));
  // A kernel no other test compiles: the step's first dispatch meets a pipeline that is not there.
  const marker = { name: 'test.asyncCompileMarker', code: 'override tag: f32 = 0.0;\n@group(0) @binding(1) var<storage, read_write> Out: array<f32>;\n@compute @workgroup_size(1) fn main() { Out[0] = tag; }', constants: { tag: seed % 100_000 } };

  async function train(asyncCompile: boolean): Promise<{ losses: number[]; weights: number[]; marker: number; reused: number[] }> {
    gpu().asyncCompile = asyncCompile;
    const w1 = new Parameter([F1, C, 3, 3], initial.w1), b1 = new Parameter([F1], initial.b1), w2 = new Parameter([F1, F1, 1, 1], initial.w2);
    const wl = new Parameter([classes, F1 * H * W], initial.wl), bl = new Parameter([classes], initial.bl);
    const optimizer = new SGD([w1, b1, w2, wl, bl], { lr: 0.1, momentum: 0.9 });
    const out = gpu().pool.acquire(16);
    const losses: number[] = [];
    let reused: number[] = [];
    for (const values of inputs) {
      gpu().dispatch(marker, [out], undefined, [1]);
      const loss = scope(() => {
        const x = tensor(values, [N, C, H, W]);
        const h = F.relu(F.conv2d(F.relu(F.conv2d(x, w1, b1, { padding: 1 })), w2));
        const loss = F.crossEntropy(F.linear(F.reshape(h, [N, F1 * H * W]), wl, bl), labels);
        loss.backward();
        optimizer.step();
        optimizer.zeroGrad();
        // A buffer freed while its reader is held back goes to the next upload: the reader still sees the old data.
        const doubled = F.mul(x, 2);
        x.dispose();
        const replaced = tensor(new Float32Array(values.length).fill(7), [values.length]);
        return [loss, doubled, replaced];
      });
      losses.push(await loss[0]!.item());
      reused = [...(await loss[1]!.toArray()).slice(0, 3), (await loss[2]!.toArray())[0]!];
      loss.forEach((t) => t.dispose());
    }
    const weights = [...(await w1.toArray()), ...(await wl.toArray())];
    const markerValue = new Float32Array(await gpu().read(out, 4))[0]!;
    gpu().pool.release(out);
    optimizer.dispose();
    [w1, b1, w2, wl, bl].forEach((p) => p.dispose());
    return { losses, weights, marker: markerValue, reused };
  }

  const before = { ...gpu().counters };
  try {
    const background = await train(true);
    const compiled = gpu().counters.pipelinesCompiled - before.pipelinesCompiled;
    const compiledAsync = gpu().counters.pipelinesCompiledAsync - before.pipelinesCompiledAsync;
    assert.ok(compiledAsync > 0, `seed ${seed}: no pipeline was compiled in the background`);
    assert.is(compiled - compiledAsync, 0, `seed ${seed}: ${compiled - compiledAsync} of ${compiled} pipelines compiled blocking`);
    assert.ok(gpu().counters.dispatchesDeferred > before.dispatchesDeferred, `seed ${seed}: no dispatch was held back`);
    const direct = await train(false);
    assert.is(gpu().counters.pipelinesCompiled - before.pipelinesCompiled, compiled, 'the second run found every pipeline compiled');
    assert.is(background.marker, marker.constants.tag, `seed ${seed}: the held-back marker dispatch ran`);
    assert.equal(background.reused, [...Array.from(inputs[1]!.slice(0, 3), (v) => Math.fround(2 * v)), 7], `seed ${seed}: ops kept their order`);
    assert.equal(background.losses, direct.losses, `seed ${seed}, shapes N${N} C${C} ${H}x${W} F${F1}`);
    assert.equal(background.weights, direct.weights, `seed ${seed}`);
  } finally {
    gpu().asyncCompile = false;
  }
});

test('asyncCompile: an upload recorded after a held-back read-back lands intact (its staging buffer outlives the earlier submit)', async () => {
  const seed = randomSeed();
  const rng = new Rng(seed);
  const marker = { name: 'test.asyncCompileUploadMarker', code: 'override tag: f32 = 0.0;\n@group(0) @binding(1) var<storage, read_write> Out: array<f32>;\n@compute @workgroup_size(1) fn main() { Out[0] = tag; }', constants: { tag: seed % 100_000 } };
  const [a, b] = [0, 1].map(() => Float32Array.from({ length: rng.int(1, 300) }, () => rng.normal()));
  gpu().asyncCompile = true;
  try {
    const out = gpu().pool.acquire(16);
    gpu().dispatch(marker, [out], undefined, [1]); // from here on ops are recorded
    const first = tensor(a!, [a!.length]);
    const firstBack = first.toArray(); // records its copy and a submit, then waits for the compile
    const second = tensor(b!, [b!.length]); // recorded after that submit
    assert.equal(Array.from(await firstBack), Array.from(a!), `seed ${seed}`);
    assert.equal(Array.from(await second.toArray()), Array.from(b!), `seed ${seed}`);
    gpu().pool.release(out);
    first.dispose();
    second.dispose();
  } finally {
    gpu().asyncCompile = false;
  }
});

test('asyncCompile: a kernel that fails to compile in the background is named by the next sync, and the device stays usable', async () => {
  const broken = { name: 'test.brokenInBackground', code: '@compute @workgroup_size(1) fn main() { let x: f32 = undefined_symbol; }' };
  gpu().asyncCompile = true;
  try {
    const x = tensor([1, 2, 3], [3]);
    gpu().dispatch(broken, [], undefined, [1]);
    const y = F.mul(x, 3); // held back behind the broken kernel, then encoded
    let error: unknown;
    await gpu().sync().catch((e) => (error = e));
    assert.instance(error, KernelError);
    assert.match((error as Error).message, 'test.brokenInBackground');
    assert.throws(() => gpu().dispatch(broken, [], undefined, [1]), /test\.brokenInBackground/, 'a later use fails at once');
    assert.equal(Array.from(await y.toArray()), [3, 6, 9]);
    x.dispose();
    y.dispose();
  } finally {
    gpu().asyncCompile = false;
  }
});

test('precompile: kernels compiled ahead are dispatched without another compile; a broken one is refused by name', async () => {
  const seed = randomSeed();
  const tagged = (tag: number) => ({ name: 'test.precompiled', code: 'override tag: f32 = 0.0;\n@group(0) @binding(1) var<storage, read_write> Out: array<f32>;\n@compute @workgroup_size(1) fn main() { Out[0] = tag; }', constants: { tag } });
  const kernels = [tagged(seed % 100_000 + 0.5), tagged(seed % 100_000 + 1.5)];
  const before = { ...gpu().counters };
  await gpu().precompile(kernels);
  assert.is(gpu().counters.pipelinesCompiledAsync - before.pipelinesCompiledAsync, 2, `seed ${seed}`);
  const out = gpu().pool.acquire(16);
  const compiled = gpu().counters.pipelinesCompiled;
  gpu().dispatch(kernels[1]!, [out], undefined, [1]);
  assert.is(new Float32Array(await gpu().read(out, 4))[0], kernels[1]!.constants.tag);
  assert.is(gpu().counters.pipelinesCompiled, compiled, 'no compile at dispatch');
  gpu().pool.release(out);
  let error: unknown;
  await gpu().precompile([{ name: 'test.brokenAhead', code: '@compute @workgroup_size(1) fn main() { let x: f32 = undefined_symbol; }' }]).catch((e) => (error = e));
  assert.instance(error, KernelError);
  assert.match((error as Error).message, 'test.brokenAhead');
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

test('no adapter in a browser: the message names the browsers and flags that have WebGPU, no apt-get', () => {
  const browsers = [/Chrome and Edge 113/, /Safari 26/, /Safari Technology Preview/, /Firefox 141 or later on Windows/, /Firefox Nightly with dom\.webgpu\.enabled/, /--enable-unsafe-webgpu --enable-features=Vulkan/];
  const noWebGpu = noAdapterMessage({ runtime: 'browser', hasWebGpu: false });
  const insecure = noAdapterMessage({ runtime: 'browser', hasWebGpu: false, secureContext: false });
  const noAdapter = noAdapterMessage({ runtime: 'browser', hasWebGpu: true, secureContext: true });
  assert.match(noWebGpu, 'navigator.gpu is undefined');
  assert.match(insecure, /not a secure context: open it over https:\/\/ or from localhost/);
  assert.match(noAdapter, /no usable GPU adapter/);
  assert.match(noAdapter, 'chrome://gpu');
  for (const message of [noWebGpu, insecure, noAdapter]) {
    for (const pattern of browsers) assert.match(message, pattern);
    assert.not.match(message, /apt-get|Debian|setup\.sh/);
  }
  const node = noAdapterMessage({ runtime: 'node', hasWebGpu: true });
  assert.match(node, 'apt-get install -y -t bookworm-backports mesa-vulkan-drivers');
  assert.not.match(node, /Safari|Firefox/);
});

test('a kernel that flags bad input makes the next read-back reject, once, and its flags are cleared for reuse', async () => {
  const seed = randomSeed();
  const rng = new Rng(seed);
  const setFlags = { name: 'test.setFlags', code: '@group(0) @binding(1) var<storage, read_write> Flags: array<u32>;\n@compute @workgroup_size(1) fn main() { Flags[1] = 41u + Flags[1]; }' };
  const seen: number[][] = [];
  const explain = (words: Uint32Array) => (seen.push([...words]), `test: flag word 1 is ${words[1]}`);
  const flagged = rng.int(1, 4);
  for (let i = 0; i < flagged; i++) gpu().dispatch(setFlags, [gpu().checkedFlags(explain)], undefined, [1]);
  const values = Float32Array.from({ length: rng.int(1, 100) }, () => rng.normal());
  const x = tensor(values, [values.length]);
  let error: unknown;
  await x.toArray().catch((e) => (error = e));
  assert.instance(error, InvalidInputError, `seed ${seed}`);
  assert.is((error as Error).message, `test: flag word 1 is 41${flagged > 1 ? ` (and ${flagged - 1} more like it since the last read-back)` : ''}`);
  assert.equal(seen, Array.from({ length: flagged }, () => [0, 41, 0, 0].slice(0, FLAG_WORDS)));
  assert.equal(Array.from(await x.toArray()), Array.from(values), 'the next read is clean');
  // Reused flags buffers start at zero again: 41, not 82.
  seen.length = 0;
  gpu().dispatch(setFlags, [gpu().checkedFlags(explain)], undefined, [1]);
  gpu().checkedFlags(explain); // given to no kernel: stays zero, no error
  await gpu().sync().catch((e) => (error = e));
  assert.is((error as Error).message, 'test: flag word 1 is 41');
  assert.is(seen.length, 1);
  await gpu().sync();
  x.dispose();
});

test('a tensor too large for one GPU buffer is refused before Dawn sees it: a clear error, and the next op and the memory count unharmed', async () => {
  const before = memory();
  const limit = gpu().device.limits.maxBufferSize;
  // Nothing is allocated: the pool refuses the size (a buffer Dawn marks invalid would fail the next op instead).
  assert.throws(() => zeros([Math.floor(limit / 4) + 1]), /cannot allocate .* MiB on the GPU: above this adapter's maxBufferSize of .* MiB; use a smaller batch or input/);
  const [a, b] = [zeros([2 ** 16, 1]), zeros([1, Math.ceil(limit / 2 ** 18) + 1])];
  assert.throws(() => F.matmul(a, b), /above this adapter's maxBufferSize/);
  const x = tensor([1, 2], [2]);
  const y = F.add(x, 1);
  assert.equal([...(await y.toArray())], [2, 3], 'the next op runs');
  await gpu().sync();
  for (const t of [a, b, x, y]) t.dispose();
  assert.is(memory().liveTensors, before.liveTensors, 'live tensors');
  assert.is(memory().bytesInUse, before.bytesInUse, 'bytes in use');
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

// Last: it replaces the device every test above used.
test('a tensor from before a second init() is refused by name at its next op, not by Dawn', async () => {
  const seed = randomSeed();
  const rng = new Rng(seed);
  const shape = [rng.int(1, 5), rng.int(1, 7)];
  const size = shape[0] * shape[1];
  const old = tensor(Float32Array.from({ length: size }, () => rng.normal()), shape);
  const oldView = old.reshape([size]);
  const first = deviceGeneration();
  gpu().destroy();
  await init();
  assert.is(deviceGeneration(), first + 1);
  const expected = `tensor [${shape.join(', ')}] is from an earlier init(): it was created on device #${first}, the current device is #${first + 1}; recreate it (or keep one init() for the process)`;
  const fresh = tensor(Float32Array.from({ length: size }, () => rng.normal()), shape);
  assert.throws(() => F.add(fresh, old), (e: Error) => e.message === expected, `seed ${seed}: an op`);
  assert.throws(() => F.mul(old, 2), (e: Error) => e.message === expected, `seed ${seed}: a scalar op`);
  let readError: unknown;
  await old.toArray().catch((e) => (readError = e));
  assert.is((readError as Error | undefined)?.message, expected, 'a read-back');
  assert.throws(() => oldView.buffer, (e: Error) => e.message.startsWith(`tensor [${size}] is from an earlier init()`), 'a view');
  const before = memory();
  old.dispose();
  oldView.dispose();
  assert.is(memory().bytesInUse, before.bytesInUse, "the old buffer does not enter the new device's pool");
  assert.is(memory().liveTensors, before.liveTensors - 2);
  assert.equal((await fresh.toArray()).length, size, 'the new device works');
  fresh.dispose();
});

test.run();
