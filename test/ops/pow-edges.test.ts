// pow at the edges where WGSL's pow is undefined (base <= 0), against PyTorch's values:
// torch.pow follows C's pow, and its gradients take 0 where PyTorch masks them.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { init, tensor, F, scope } from '../../src/index.js';

await init();

const same = (actual: Float32Array, expected: number[], what: string) => {
  assert.is(actual.length, expected.length, what);
  expected.forEach((e, i) => {
    const a = actual[i]!;
    const ok = Number.isNaN(e) ? Number.isNaN(a) : e === a || Math.abs(a - e) <= 1e-5 * Math.max(1, Math.abs(e));
    assert.ok(ok, `${what}[${i}]: expected ${e}, got ${a}`);
  });
};

test('negative bases: integral exponents keep the sign rule, fractional ones give NaN', async () => {
  await scope(async () => {
    const x = tensor([-2, -1.5, 0, 3], [4]);
    same(await F.pow(x, 3).toArray(), [-8, -3.375, 0, 27], 'x ** 3');
    same(await F.pow(x, 2).toArray(), [4, 2.25, 0, 9], 'x ** 2');
    same(await F.pow(x, -1).toArray(), [-0.5, -1 / 1.5, Infinity, 1 / 3], 'x ** -1');
    same(await F.pow(x, 0.5).toArray(), [NaN, NaN, 0, Math.sqrt(3)], 'x ** 0.5');
    const a = tensor([-2, -2, -2, 2, 0, 0], [6]);
    const b = tensor([2, 3, 0.5, 0.5, 2, 0], [6]);
    same(await F.pow(a, b).toArray(), [4, -8, NaN, Math.SQRT2, 0, 1], 'tensor ** tensor');
    same(await F.pow(-2, tensor([2, 3, 0.5], [3])).toArray(), [4, -8, NaN], '(-2) ** x');
  });
});

test("NaN and infinite operands as C's pow: 1 ** y = 1, x ** 0 = 1, (-1) ** ±inf = 1, any other NaN gives NaN", async () => {
  await scope(async () => {
    const a = tensor([1, 1, 1, NaN, NaN, 0, 2, -1, -1, 0.5, 2], [11]);
    const b = tensor([NaN, Infinity, -Infinity, 0, 2, NaN, NaN, Infinity, -Infinity, Infinity, -Infinity], [11]);
    same(await F.pow(a, b).toArray(), [1, 1, 1, 1, NaN, NaN, NaN, 1, 1, 0, 0], 'tensor ** tensor');
    same(await F.pow(tensor([NaN, 1, -3], [3]), 0).toArray(), [1, 1, 1], 'x ** 0');
    same(await F.pow(tensor([NaN, 1, -3], [3]), NaN).toArray(), [NaN, 1, NaN], 'x ** NaN');
  });
});

test('gradients PyTorch masks: x ** 0, 0 ** b with b >= 0, and c ** x with c = 0', async () => {
  await scope(async () => {
    const x = tensor([-2, 0, 3], [3], { requiresGrad: true });
    F.sum(F.pow(x, 0)).backward();
    same(await x.grad!.toArray(), [0, 0, 0], 'd(x ** 0)/dx');

    const a = tensor([0, 0, 2], [3], { requiresGrad: true });
    const b = tensor([2, 0, 3], [3], { requiresGrad: true });
    F.sum(F.pow(a, b)).backward();
    same(await b.grad!.toArray(), [0, 0, 8 * Math.log(2)], 'd(a ** b)/db');
    same(await a.grad!.toArray(), [0, 0, 12], 'd(a ** b)/da');

    const e = tensor([1, 2.5], [2], { requiresGrad: true });
    F.sum(F.pow(0, e)).backward();
    same(await e.grad!.toArray(), [0, 0], 'd(0 ** x)/dx');
  });
});

test.run();
