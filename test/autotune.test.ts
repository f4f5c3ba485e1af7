// The kernel policy's autotuner: off by default; on, a launch site's first shape class is queued,
// gpu().autotune() times its candidates and keeps the fastest, overrides still win, and the Node
// cache keeps choices per adapter and kernel sources without touching a file that is not its own.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { init, gpu, tensor, F } from '../src/index.js';
import { Autotuner, KernelPolicy } from '../src/gpu/index.js';
import { MATMUL_VARIANTS } from '../src/gpu/policy.js';
import { attachAutotuneCache } from '../src/node/autotune-cache.js';

await init();
const tuner = () => gpu().policy.autotuner;
test.after.each(() => {
  gpu().policy.reset();
  tuner().clear();
  tuner().enabled = false;
  tuner().onTuned = undefined;
});

const random = (n: number) => Float32Array.from({ length: n }, () => Math.random() * 2 - 1);

/** A run for the tuner: a real matmul of the given shape under whatever variant is in force, counting the variants it saw. */
function matmulRun(M: number, K: number, N: number, seen: string[]) {
  return () => {
    const a = tensor(random(M * K), [M, K]);
    const b = tensor(random(K * N), [K, N]);
    return {
      run: () => {
        seen.push(gpu().policy.get('matmul'));
        F.matmul(a, b).dispose();
      },
      dispose: () => { a.dispose(); b.dispose(); },
    };
  };
}

test('off by default: choose() queues nothing and autotune() returns nothing', async () => {
  const seen: string[] = [];
  let described = 0;
  const choice = gpu().policy.choose('matmul', () => { described++; return 'matmul 9x13x11'; }, ['registerTiled', 'workgroupTiled'], matmulRun(9, 13, 11, seen));
  assert.is(choice, gpu().policy.get('matmul'));
  assert.is(described, 0, 'no shape class is built while the autotuner is inactive (every launch asks)');
  assert.is(tuner().pendingCount, 0);
  assert.equal(await gpu().autotune(), []);
  assert.equal(seen, []);
});

test('on: the first shape class is queued once, every candidate is timed, the fastest is kept for that shape only', async () => {
  tuner().enabled = true;
  const seen: string[] = [];
  const shape = 'matmul 33x65x17';
  const candidates = ['registerTiled', 'workgroupTiled'] as const;
  gpu().policy.choose('matmul', () => shape, candidates, matmulRun(33, 65, 17, seen));
  gpu().policy.choose('matmul', () => shape, candidates, matmulRun(33, 65, 17, seen));
  assert.is(tuner().pendingCount, 1);
  const records = await gpu().autotune();
  assert.is(records.length, 1);
  const [record] = records;
  assert.equal(Object.keys(record!.timesMs).sort(), [...candidates].sort());
  for (const ms of Object.values(record!.timesMs)) assert.ok(ms > 0 && Number.isFinite(ms), `time ${ms}`);
  const fastest = candidates.reduce((a, b) => (record!.timesMs[b]! < record!.timesMs[a]! ? b : a));
  assert.is(record!.chosen, fastest);
  // Each candidate ran under its own forced variant (a warm-up and two timed rounds at least).
  for (const variant of candidates) assert.ok(seen.filter((v) => v === variant).length >= 3, `${variant} ran ${seen.filter((v) => v === variant).length} times`);
  assert.is(tuner().pendingCount, 0);
  assert.is(gpu().policy.get('matmul', shape), fastest);
  assert.is(gpu().policy.get('matmul', 'matmul 1x2x3'), KernelPolicy.prototype.get.call(new KernelPolicy(gpu().policy.adapterClass), 'matmul'));
  // Tuned once: the same shape is not queued again; an override still wins over the tuned choice.
  gpu().policy.choose('matmul', () => shape, candidates, matmulRun(33, 65, 17, seen));
  assert.is(tuner().pendingCount, 0);
  const other = fastest === 'registerTiled' ? 'workgroupTiled' : 'registerTiled';
  gpu().policy.set({ matmul: other });
  assert.is(gpu().policy.choose('matmul', () => shape, candidates, matmulRun(33, 65, 17, seen)), other);
  assert.equal(await gpu().autotune(), []);
});

test('the matmul launcher queues its product once, the tuned variant is used, and the product stays right', async () => {
  tuner().enabled = true;
  const [M, K, N] = [13, 24, 12]; // N and K multiples of 4: every variant runs under its own name (vec4 included)
  const a = random(M * K), b = random(K * N);
  const product = () => F.matmul(tensor(a, [M, K]), tensor(b, [K, N]));
  const before = await product().toArray();
  assert.is(tuner().pendingCount, 1);
  product().dispose();
  assert.is(tuner().pendingCount, 1);
  const [record] = await gpu().autotune();
  assert.match(record!.shapeClass, /^matmul 1x13x12x24 /);
  assert.equal(Object.keys(record!.timesMs).sort(), [...MATMUL_VARIANTS].sort());
  const { timings } = await gpu().profile(async () => { await product().toArray(); });
  assert.ok(timings.some((t) => t.name.startsWith(`matmul.${record!.chosen}.`)), `dispatched ${timings.map((t) => t.name).join(', ')}`);
  const after = await product().toArray();
  for (let i = 0; i < M * N; i++) {
    let expected = 0;
    for (let k = 0; k < K; k++) expected += a[Math.floor(i / N) * K + k]! * b[k * N + (i % N)]!;
    assert.ok(Math.abs(after[i]! - expected) < 1e-4 && Math.abs(before[i]! - expected) < 1e-4, `element ${i}: ${after[i]} vs ${expected}`);
  }
});

test('the three conv launchers queue their passes, each is tuned over registerTiled, workgroupTiled and packed, and results stay the same', async () => {
  tuner().enabled = true;
  const xData = random(2 * 3 * 9 * 8), wData = random(8 * 3 * 3 * 3), bData = random(8);
  const pass = async () => {
    const x = tensor(xData, [2, 3, 9, 8], { requiresGrad: true });
    const w = tensor(wData, [8, 3, 3, 3], { requiresGrad: true });
    const b = tensor(bData, [8]);
    const y = F.conv2d(x, w, b, { padding: 1 });
    F.sum(F.mul(y, y)).backward();
    const out = [await y.toArray(), await x.grad!.toArray(), await w.grad!.toArray()];
    for (const t of [x, w, b, y]) t.dispose();
    return out;
  };
  const before = await pass();
  assert.is(tuner().pendingCount, 3);
  const records = await gpu().autotune();
  assert.equal(records.map((r) => r.shapeClass.split(' N')[0]).sort(), ['conv forward', 'conv input grad', 'conv weight grad']);
  for (const record of records) assert.equal(Object.keys(record.timesMs).sort(), ['packed', 'registerTiled', 'workgroupTiled'], record.shapeClass);
  const after = await pass();
  assert.is(tuner().pendingCount, 0);
  before.forEach((values, i) => values.forEach((v, j) => assert.ok(Math.abs(v - after[i]![j]!) <= 1e-4 * Math.max(1, Math.abs(v)), `output ${i}[${j}]: ${v} vs ${after[i]![j]}`)));
});

test('an override in force queues nothing (the forced variant is what the user asked for)', () => {
  tuner().enabled = true;
  gpu().policy.set({ convForward: 'direct' });
  gpu().policy.choose('convForward', () => 'conv x', ['registerTiled', 'workgroupTiled'], () => ({ run: () => {}, dispose: () => {} }));
  assert.is(tuner().pendingCount, 0);
});

test('tune() keeps the fastest by the timer, reports it through onTuned, and restore() skips unknown variants', async () => {
  const standalone = new Autotuner(true);
  const fake: Record<string, number> = { registerTiled: 30, workgroupTiled: 10, direct: 50 };
  let inForce = '';
  let disposed = 0;
  standalone.request('convInputGrad', 'shape A', ['registerTiled', 'workgroupTiled', 'direct'], () => ({ run: () => {}, dispose: () => { disposed++; } }));
  let reported: Record<string, string> | undefined;
  standalone.onTuned = (choices) => { reported = choices; };
  const records = await standalone.tune(
    (_key, variant) => { inForce = variant; return () => { inForce = ''; }; },
    async (run, repeats) => { run(); return fake[inForce]! * repeats; },
  );
  assert.is(records[0]!.chosen, 'workgroupTiled');
  assert.is(disposed, 1);
  assert.equal(records[0]!.timesMs, { registerTiled: 30, workgroupTiled: 10, direct: 50 });
  assert.equal(reported, { 'convInputGrad|shape A': 'workgroupTiled' });
  const fresh = new Autotuner(true);
  assert.equal(fresh.restore({ 'matmul|s': 'registerTiled', 'matmul|t': 'noSuchKernel', broken: 'registerTiled' }, KernelPolicy.allows), { restored: 1, skipped: 2 });
  assert.is(fresh.lookup('matmul', 's'), 'registerTiled');
  assert.is(fresh.lookup('matmul', 't'), undefined);
});

test('the Node cache: choices saved after a tune come back for this adapter; a foreign file is reported and left untouched', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'webfer-autotune-'));
  try {
    const path = join(dir, 'nested', 'autotune.json');
    tuner().enabled = true;
    assert.equal(attachAutotuneCache(gpu(), path), { path, restored: 0 });
    gpu().policy.choose('matmul', () => 'matmul 20x12x8', ['registerTiled', 'workgroupTiled'], matmulRun(20, 12, 8, []));
    const [record] = await gpu().autotune();
    const saved = JSON.parse(readFileSync(path, 'utf8'));
    assert.is(saved.format, 'webfer-autotune');
    const entries = Object.values(saved.adapters) as { kernels: string; choices: Record<string, string> }[];
    assert.is(entries.length, 1);
    assert.equal(entries[0]!.choices, { 'matmul|matmul 20x12x8': record!.chosen });

    tuner().clear();
    assert.equal(attachAutotuneCache(gpu(), path), { path, restored: 1 });
    assert.is(gpu().policy.get('matmul', 'matmul 20x12x8'), record!.chosen);

    // Choices timed with other kernel sources are not taken.
    entries[0]!.kernels = '0000000000000000';
    writeFileSync(path, JSON.stringify(saved));
    tuner().clear();
    assert.is(attachAutotuneCache(gpu(), path).restored, 0);

    const foreign = join(dir, 'foreign.json');
    writeFileSync(foreign, '{"something": "else"}');
    const status = attachAutotuneCache(gpu(), foreign);
    assert.match(status.problem ?? '', /foreign\.json is not a webfer autotune cache .*kept for this run only/);
    assert.is(readFileSync(foreign, 'utf8'), '{"something": "else"}');

    tuner().enabled = false;
    assert.equal(attachAutotuneCache(gpu(), path), { path, restored: 0 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
