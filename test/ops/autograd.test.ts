// The engine: gradient accumulation over shared inputs and repeated backward calls, graph
// release and retainGraph, noGrad, detach, scope and dispose bookkeeping (checked through
// memory()), and a 500-step MLP training loop that must learn and must not leak.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { F, arange, memory, noGrad, rand, randn, scope, tensor, zeros, type Tensor } from '../../src/index.js';
import { accumulate } from '../../src/kernels/elementwise.js';
import { assertNear, checkOp, context, draw, fileRng, ref, roundF32, setup, throwsWith, toT64, toTensor, type T64 } from './helpers.js';

const rng = fileRng('autograd');
await setup();

/** Runs fn and asserts that it leaves GPU bytes and live tensors where they were. */
async function leavesNoTrace(what: string, fn: () => Promise<void> | void): Promise<void> {
  const before = memory();
  await fn();
  const after = memory();
  assert.is(after.liveTensors, before.liveTensors, context(`${what}: live tensors`));
  assert.is(after.bytesInUse, before.bytesInUse, context(`${what}: bytes in use`));
}

test('one tensor feeding three ops gets the sum of the three gradients', async () => {
  const shape = [rng.int(2, 5), rng.int(3, 7)];
  await checkOp({
    name: 'x -> exp, mul, sigmoid',
    rng,
    scoped: true,
    inputs: [shape, [shape[1]]],
    forward: ([x, w]) => F.add(F.add(F.exp(x), F.mul(x, w)), F.sigmoid(F.mul(x, 3))),
    reference: ([x, w]) => ref.add(ref.add(ref.exp(x), ref.mul(x, w)), ref.sigmoid(ref.mul(x, 3))),
  });
});

test('the same tensor twice in one op: x + x, x * x, x / x, matmul(x, x)', async () => {
  const shape = [rng.int(2, 5), rng.int(2, 6)];
  await checkOp({ name: 'x + x', rng, inputs: [shape], forward: ([x]) => F.add(x, x), reference: ([x]) => ref.add(x, x) });
  await checkOp({ name: 'x * x', rng, inputs: [shape], forward: ([x]) => F.mul(x, x), reference: ([x]) => ref.mul(x, x) });
  await checkOp({ name: 'x - x', rng, inputs: [shape], forward: ([x]) => F.sub(x, x), reference: ([x]) => ref.sub(x, x) });
  await checkOp({ name: 'pow(x, x)', rng, inputs: [{ shape, draw: draw.positive }], forward: ([x]) => F.pow(x, x), reference: ([x]) => ref.pow(x, x) });
  const n = rng.int(2, 6);
  await checkOp({ name: 'matmul(x, x)', rng, inputs: [[n, n]], forward: ([x]) => F.matmul(x, x), reference: ([x]) => ref.matmul(x, x) });
});

test('a diamond: two paths of different depth from one leaf to the loss', async () => {
  await checkOp({
    name: 'diamond',
    rng,
    scoped: true,
    inputs: [[3, 4]],
    forward: ([x]) => {
      const h = F.tanh(x);
      return F.mul(F.exp(F.mul(h, 0.5)), F.add(h, x));
    },
    reference: ([x]) => {
      const h = ref.tanh(x);
      return ref.mul(ref.exp(ref.mul(h, 0.5)), ref.add(h, x));
    },
  });
});

test('.grad accumulates over two backward calls until it is reset', async () => {
  const x64 = roundF32(ref.randn(rng, [4, 5]));
  const g1 = roundF32(ref.randn(rng, [4, 5]));
  const g2 = roundF32(ref.randn(rng, [4, 5]));
  const x = toTensor(x64, true);
  F.mul(x, 3).backward(toTensor(g1));
  F.exp(x).backward(toTensor(g2));
  const expected = ref.add(ref.mul(g1, 3), ref.mul(g2, ref.exp(x64)));
  assertNear(await toT64(x.grad!), expected, 'accumulated gradient');
  x.grad!.dispose();
  x.grad = null;
  F.mul(x, 3).backward(toTensor(g1));
  assertNear(await toT64(x.grad!), ref.mul(g1, 3), 'gradient after reset');
});

test('backward twice without retainGraph is a clear error; with retainGraph it accumulates', async () => {
  const x = tensor([1, 2, 3], [3], { requiresGrad: true });
  const loss = F.sum(F.mul(F.exp(x), x));
  loss.backward();
  throwsWith(() => loss.backward(), /already released.*retainGraph: true/, 'second backward');

  const y = tensor([1, 2, 3], [3], { requiresGrad: true });
  const loss2 = F.sum(F.mul(F.exp(y), y));
  loss2.backward(undefined, { retainGraph: true });
  const once = await y.grad!.toArray();
  loss2.backward();
  const twice = await y.grad!.toArray();
  once.forEach((v, i) => assert.ok(Math.abs(twice[i] - 2 * v) <= 1e-5 * Math.abs(v), context(`retainGraph: element ${i} is ${twice[i]}, expected ${2 * v}`)));
  throwsWith(() => loss2.backward(), /already released/, 'third backward after the graph was released');
});

test('backward needs a gradient for non-scalars, of the right size, and a graph', () => {
  const x = tensor([1, 2, 3, 4], [2, 2], { requiresGrad: true });
  const y = F.mul(x, 2);
  throwsWith(() => y.backward(), /a gradient is needed for a non-scalar output of shape \[2, 2\]/, 'no gradient');
  throwsWith(() => y.backward(tensor([1, 2, 3], [3])), /gradient shape \[3\] does not match output \[2, 2\]/, 'wrong size');
  // The same count in another shape is refused too (PyTorch: "Mismatch in shape: grad_output[0] has a shape of ...").
  throwsWith(() => y.backward(tensor([1, 2, 3, 4], [4])), /gradient shape \[4\] does not match output \[2, 2\]/, 'same size, other shape');
  throwsWith(() => y.backward([1, 1, 1, 1] as never), /backward: the gradient must be a Tensor of the output's shape \[2, 2\], got an array/, 'array gradient');
  const disposedLoss = F.sum(F.mul(x, 3));
  disposedLoss.dispose();
  // Not "the graph was already released; pass retainGraph": the loss itself is gone.
  throwsWith(() => disposedLoss.backward(), /backward: tensor \[\] was disposed \(and its graph with it\)/, 'disposed loss');
  throwsWith(() => tensor([1], [1]).backward(), /does not require grad/, 'constant');
});

test('a gradient of another dtype than the output is cast to it, as PyTorch does (float16 for a float32 output)', async () => {
  const x = tensor([1, -2, 3], [3], { requiresGrad: true });
  F.mul(x, 3).backward(tensor([0.5, 1, 2], [3]).half());
  assert.equal(Array.from(await x.grad!.toArray()), [1.5, 3, 6], context('x.grad'));
  x.dispose();
});

test('noGrad records nothing, also when it throws', async () => {
  const x = tensor([1, 2, 3], [3], { requiresGrad: true });
  const y = noGrad(() => F.sum(F.mul(F.exp(x), x)));
  assert.is(y.requiresGrad, false);
  assert.is(y.gradFn, null);
  assert.is(x.consumers, 0, 'noGrad ops should not register as consumers of x');
  throwsWith(() => y.backward(), /does not require grad/, 'backward of a noGrad result');
  throwsWith(() => noGrad(() => { throw new Error('inside'); }), /inside/, 'noGrad rethrows');
  const z = F.mul(x, 2);
  assert.ok(z.requiresGrad && z.gradFn, 'grad mode is restored after noGrad threw');
  await noGrad(async () => {
    await Promise.resolve();
  });
  assert.ok(F.mul(x, 2).requiresGrad, 'grad mode is restored after an async noGrad');
});

test('detach shares the values and cuts the graph', async () => {
  const x = tensor([1, 2, 3], [3], { requiresGrad: true });
  const h = F.exp(x);
  const d = h.detach();
  assert.is(d.requiresGrad, false);
  assert.is(d.gradFn, null);
  assert.equal(await d.toArray(), await h.toArray());
  // loss = sum(h * detach(h)): the gradient flows through the first factor only.
  F.sum(F.mul(h, d)).backward();
  const ex = [1, 2, 3].map((v) => Math.exp(v));
  ref.assertClose(await x.grad!.toArray(), ex.map((e) => e * e), { rtol: 1e-5, context: context('detach gradient') });
  h.dispose();
  assert.ok((await d.toArray()).every((v, i) => Math.abs(v - ex[i]) < 1e-4 * ex[i]), 'a detached view keeps the storage alive after the original is disposed');
  d.dispose();
});

test('disposing intermediates before backward still gives the right gradient and frees everything', async () => {
  const x64 = roundF32(ref.randn(rng, [3, 5]));
  await leavesNoTrace('dispose before backward', async () => {
    const x = toTensor(x64, true);
    const h = F.exp(x);
    const k = F.mul(h, h);
    const kx = F.mul(k, x);
    const loss = F.sum(kx);
    h.dispose();
    k.dispose();
    kx.dispose();
    loss.backward();
    // d/dx sum(e^{2x} x) = e^{2x} (2x + 1)
    assertNear(await toT64(x.grad!), ref.map(x64, (v) => Math.exp(2 * v) * (2 * v + 1)), 'gradient through disposed intermediates');
    loss.dispose();
    x.dispose();
  });
});

test('a disposed tensor is refused by every op, also where a view or a graph keeps its storage (the ops across scopes included)', async () => {
  await leavesNoTrace('use after dispose', async () => {
    const x = tensor(Float32Array.from({ length: 6 }, () => rng.normal()), [2, 3], { requiresGrad: true });
    const view = x.reshape([3, 2]);
    const saved = F.exp(x); // the graph of y keeps saved's storage for backward
    const y = scope(() => F.sum(F.mul(saved, saved)));
    view.dispose();
    saved.dispose();
    const message = /tensor \[3, 2\] was disposed \(by dispose\(\) or the scope\(\) that made it\)/;
    throwsWith(() => F.add(view, 1), message, 'op on a disposed view');
    throwsWith(() => view.reshape([6]), message, 'reshape of a disposed view');
    throwsWith(() => view.detach(), message, 'detach of a disposed view');
    throwsWith(() => F.mul(saved, 2), /tensor \[2, 3\] was disposed/, 'op on a disposed tensor a graph still holds');
    // Backward still reads what the graph saved: disposing early stays allowed.
    y.backward();
    assert.ok(x.grad !== null, context('gradient through the disposed saved tensor'));
    const escaped = scope(() => F.mul(x, 3).reshape([6]).reshape([2, 3]));
    const leaked: Tensor[] = [];
    scope(() => leaked.push(F.mul(x, 2)));
    throwsWith(() => F.add(leaked[0]!, escaped), /tensor \[2, 3\] was disposed/, 'a tensor used after the scope that made it closed');
    for (const t of [x, y, escaped]) t.dispose();
  });
});

test('disposing the loss without backward frees the saved graph', async () => {
  await leavesNoTrace('forward, dispose', () => {
    const x = tensor([1, 2, 3, 4], [2, 2], { requiresGrad: true });
    const product = F.matmul(x, x);
    const hidden = F.relu(product);
    const probabilities = F.softmax(hidden, 1);
    const loss = F.mean(probabilities);
    // Disposed in an order that leaves nodes with live consumers for a while.
    hidden.dispose();
    loss.dispose();
    product.dispose();
    probabilities.dispose();
    x.dispose();
  });
});

test('scope frees everything except what it returns (tensors, arrays, objects, maps)', async () => {
  const x = tensor([1, 2, 3, 4, 5, 6], [2, 3], { requiresGrad: true });
  const before = memory();
  const kept = scope(() => {
    const a = F.exp(x);
    const b = F.mul(a, 2);
    const c = F.sum(b, 1);
    return { c, list: [F.neg(c)], map: new Map([['m', F.mean(a)]]) };
  });
  const mid = memory();
  assert.is(mid.liveTensors - before.liveTensors, 3, context('three tensors returned from the scope stay alive'));
  assert.equal(Array.from(await kept.c.toArray()).map((v) => Math.round(v * 1000)), [1, 2].map((r) => Math.round(2000 * [1, 2, 3].reduce((s, k) => s + Math.exp(k + 3 * (r - 1)), 0))));
  // The returned loss can still be differentiated: the graph kept what it needs.
  kept.map.get('m')!.backward();
  assertNear(await toT64(x.grad!), ref.map(ref.t64([1, 2, 3, 4, 5, 6], [2, 3]), (v) => Math.exp(v) / 6), 'gradient through a scope');
  x.grad!.dispose();
  x.grad = null;
  kept.c.dispose();
  kept.list[0].dispose();
  kept.map.get('m')!.dispose();
  const after = memory();
  assert.is(after.liveTensors, before.liveTensors, context('live tensors after disposing the results'));
  assert.is(after.bytesInUse, before.bytesInUse, context('bytes after disposing the results'));
});

test('nested scopes hand results outwards; a throwing scope frees what it made', async () => {
  await leavesNoTrace('nested scopes', () => {
    const outer = scope(() => {
      const inner = scope(() => {
        const t = zeros([4, 4]);
        zeros([8]);
        return t;
      });
      zeros([16]);
      return F.add(inner, 1);
    });
    outer.dispose();
  });
  await leavesNoTrace('throwing scope', () => {
    throwsWith(() => scope(() => {
      zeros([32]);
      F.add(zeros([2, 3]), zeros([3, 2]));
    }), /do not broadcast/, 'error inside scope');
  });
  await leavesNoTrace('async scope', async () => {
    const t = await scope(async () => {
      const a = zeros([5]);
      await a.toArray();
      return F.add(a, 2);
    });
    assert.equal(Array.from(await t.toArray()), [2, 2, 2, 2, 2]);
    t.dispose();
  });
});

test('forward with requiresGrad inside a scope, never backpropagated, leaks nothing', async () => {
  const w = tensor(Float32Array.from(ref.randn(rng, [6, 4]).data), [6, 4], { requiresGrad: true });
  await leavesNoTrace('forward only in scope', () => {
    for (let i = 0; i < 3; i++) {
      scope(() => {
        const x = tensor(Float32Array.from(ref.randn(rng, [5, 4]).data), [5, 4]);
        const h = F.linear(x, w, undefined, 'relu');
        const y = F.dropout(F.tanh(F.pad(h, [1, 1])), 0.3, true, 9);
        F.crossEntropy(F.reshape(y, [5, 8]), [0, 1, 2, 3, 4]);
        F.max(F.logSoftmax(F.transpose(y, 0, 1), 0), [0, 1]);
        F.min(F.slice(F.cat([y, y], 1), 1, 1, undefined, 2), 1);
      });
    }
  });
  assert.is(w.grad, null, 'nothing was backpropagated');
  assert.is(w.consumers, 0, 'every node that read w was released');
});

test('a training step in a scope with backward leaves memory where it started', async () => {
  const w = tensor(Float32Array.from(ref.randn(rng, [3, 4]).data), [3, 4], { requiresGrad: true });
  const step = () => scope(() => {
    const x = tensor(Float32Array.from(ref.randn(rng, [6, 4]).data), [6, 4]);
    F.crossEntropy(F.linear(x, w), [0, 1, 2, 0, 1, 2]).backward();
  });
  step(); // the first step creates w.grad
  await leavesNoTrace('training steps', () => {
    for (let i = 0; i < 3; i++) step();
  });
});

test('a 3000-op chain backpropagates (no recursion limit) and frees its graph', async () => {
  await leavesNoTrace('deep chain', async () => {
    const x = tensor([0.5, -0.25], [2], { requiresGrad: true });
    let h: Tensor = x;
    scope(() => {
      for (let i = 0; i < 3000; i++) h = F.add(h, 0.001);
      F.sum(F.mul(h, h)).backward();
    });
    const grad = await x.grad!.toArray();
    ref.assertClose(grad, [2 * 3.5, 2 * 2.75], { rtol: 1e-4, context: context('deep chain gradient') });
    x.dispose();
  });
});

test('read-back of random data round-trips bit-exactly', async () => {
  for (const n of [1, 3, 255, 256, 257, rng.int(1000, 5000)]) {
    const bits = new Uint32Array(n);
    for (let i = 0; i < n; i++) {
      bits[i] = rng.u32();
      if ((bits[i] & 0x7f800000) === 0x7f800000) bits[i] &= 0xbfffffff; // no NaN / infinity patterns
    }
    bits[0] = 0x80000000; // -0
    const t = tensor(new Float32Array(bits.buffer), [n]);
    const back = new Uint32Array((await t.toArray()).buffer);
    assert.equal(Array.from(back), Array.from(bits), context(`round trip of ${n} values`));
    // A view and a copy through a kernel keep the bits too.
    const copied = new Uint32Array((await F.reshape(F.permute(F.reshape(t, [n, 1]), [1, 0]), [n]).toArray()).buffer);
    assert.equal(Array.from(copied), Array.from(bits), context(`strided copy of ${n} values`));
    t.dispose();
  }
});

test('randn, rand, arange and tensor refuse what PyTorch refuses (negative std, low > high, a step away from the end) and options they do not take (requires_grad)', () => {
  throwsWith(() => randn([2], { std: -1 }), /randn: std must be >= 0/, 'negative std');
  throwsWith(() => rand([2], { low: 1, high: 0 }), /rand: expected finite low <= high, got low 1, high 0/, 'low > high');
  throwsWith(() => arange(0, 5, -1), /arange: step -1 does not lead from 0 to 5/, 'wrong sign');
  throwsWith(() => arange(0, Infinity), /arange: start, end and step must be finite/, 'infinite end');
  // PyTorch's requires_grad would otherwise make a tensor that never gets a gradient.
  throwsWith(() => tensor([1, 2], [2], { requires_grad: true } as never), /tensor: unknown option "requires_grad" .*webfer spells it requiresGrad/, 'tensor requires_grad');
  throwsWith(() => zeros([2], { requires_grad: true } as never), /full: unknown option "requires_grad"/, 'zeros requires_grad');
  throwsWith(() => randn([2], { stddev: 2 } as never), /randn: unknown option "stddev"/, 'randn stddev');
});

test('tensor() with data that does not fill the shape is a clear error', () => {
  throwsWith(() => tensor([1, 2, 3], [2, 2]), /3 values do not fill shape \[2, 2\] \(4 elements\)/, 'too few');
  throwsWith(() => tensor(new Float32Array(7), [2, 3]), /7 values do not fill shape \[2, 3\]/, 'too many');
  throwsWith(() => tensor([1, 2], [2, -1]), /non-negative integer/, 'negative dim');
  throwsWith(() => tensor([1, 2], [1.5, 2]), /non-negative integer/, 'fractional dim');
  // PyTorch's nested lists would become NaNs here (Float32Array.from): refused, as is a bare number.
  throwsWith(() => tensor([[1, 2], [3, 4]] as never), /tensor: value 0 is an array, not a number; pass flat values and a shape/, 'nested');
  throwsWith(() => tensor(5 as never), /tensor: data must be an array or typed array of numbers, got number/, 'bare number');
  const t = tensor([1, 2, 3], [3]);
  t.dispose();
  throwsWith(() => F.exp(t), /disposed/, 'use after dispose');
});

/** Three classes in the plane: inner disc, ring, outside (not linearly separable). */
function ringData(n: number): { x: T64; labels: number[] } {
  const x = ref.zeros([n, 2]);
  const labels: number[] = [];
  for (let i = 0; i < n; i++) {
    const label = i % 3;
    const radius = label === 0 ? rng.uniform(0, 0.7) : label === 1 ? rng.uniform(1.0, 1.5) : rng.uniform(1.8, 2.4);
    const angle = rng.uniform(0, 2 * Math.PI);
    x.data[2 * i] = radius * Math.cos(angle);
    x.data[2 * i + 1] = radius * Math.sin(angle);
    labels.push(label);
  }
  return { x, labels };
}

test('a small MLP learns rings in 500 SGD steps, each in a scope, without leaking', async () => {
  const hidden = 32;
  const train = ringData(192);
  const held = ringData(150);
  const param = (shape: number[], scale: number) => tensor(Float32Array.from(ref.randn(rng, shape, scale).data), shape, { requiresGrad: true });
  const w1 = param([hidden, 2], 1);
  const b1 = param([hidden], 0.1);
  const w2 = param([3, hidden], 1 / Math.sqrt(hidden));
  const b2 = param([3], 0);
  const params = [w1, b1, w2, b2];
  const x = toTensor(train.x);
  const xHeld = toTensor(held.x);
  const logitsOf = (input: Tensor) => F.linear(F.linear(input, w1, b1, 'relu'), w2, b2);
  const accuracy = async (input: Tensor, labels: number[]) => {
    const predicted = await scope(() => noGrad(() => F.argmax(logitsOf(input), 1))).toArray();
    return predicted.reduce((hits, p, i) => hits + (p === labels[i] ? 1 : 0), 0) / labels.length;
  };
  const lr = 0.2;
  const before = memory();
  let firstLoss = 0;
  let lastLoss = 0;
  for (let step = 0; step < 500; step++) {
    const loss = scope(() => {
      const l = F.crossEntropy(logitsOf(x), train.labels);
      l.backward();
      noGrad(() => {
        for (const p of params) {
          accumulate(p.buffer, p.grad!.buffer, p.size, -lr);
          p.grad!.dispose();
          p.grad = null;
        }
      });
      return step === 0 || step === 499 ? F.reshape(l, [1]).detach() : undefined;
    });
    if (loss) {
      const value = await loss.item();
      if (step === 0) firstLoss = value;
      else lastLoss = value;
      loss.dispose();
    }
  }
  const after = memory();
  assert.is(after.liveTensors, before.liveTensors, context('live tensors after 500 steps'));
  assert.is(after.bytesInUse, before.bytesInUse, context('bytes in use after 500 steps'));
  const trainAccuracy = await accuracy(x, train.labels);
  const heldAccuracy = await accuracy(xHeld, held.labels);
  assert.ok(lastLoss < 0.5 * firstLoss, context(`loss went from ${firstLoss} to ${lastLoss}`));
  assert.ok(trainAccuracy > 0.85 && heldAccuracy > 0.8, context(`accuracy ${trainAccuracy} (train), ${heldAccuracy} (held out); chance is 1/3`));
  for (const t of [...params, x, xHeld]) t.dispose();
});

test.run();
