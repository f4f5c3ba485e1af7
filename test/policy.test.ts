// The kernel policy on the device context: defaults per adapter class, overrides through init()
// and gpu().policy, strict checking, and that a forced variant is the kernel that runs.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { init, gpu, tensor, F } from '../src/index.js';
import { KernelPolicy, POLICY_DEFAULTS, adapterClassOf } from '../src/gpu/index.js';

await init();
test.after.each(() => gpu().policy.reset());

test('adapter classes: software first, then the vendor named anywhere in the adapter info', () => {
  const info = (vendor: string, description = '', isSoftware = false) => ({ vendor, architecture: '', description, isSoftware });
  assert.is(adapterClassOf(info('nvidia', 'NVIDIA H200', true)), 'software');
  assert.is(adapterClassOf(info('nvidia')), 'nvidia');
  assert.is(adapterClassOf(info('', 'AMD Radeon RX 7900')), 'amd');
  assert.is(adapterClassOf(info('intel')), 'intel');
  assert.is(adapterClassOf(info('apple')), 'apple');
  assert.is(adapterClassOf(info('qualcomm')), 'other');
  assert.is(gpu().policy.adapterClass, adapterClassOf(gpu().info));
  assert.equal(gpu().policy.choices(), POLICY_DEFAULTS[gpu().policy.adapterClass]);
});

test('set overrides one choice, undefined restores it, with() restores after a throw, reset() clears', async () => {
  const policy = gpu().policy;
  const defaults = policy.choices();
  const other = defaults.matmul === 'registerTiled' ? 'workgroupTiled' : 'registerTiled';
  policy.set({ matmul: other, weightGradWorkgroups: 3 });
  assert.is(policy.get('matmul'), other);
  assert.is(policy.get('weightGradWorkgroups'), 3);
  assert.is(policy.get('convForward'), defaults.convForward);
  policy.set({ matmul: undefined });
  assert.is(policy.get('matmul'), defaults.matmul);
  try {
    await policy.with({ convForward: 'direct' }, () => {
      assert.is(policy.get('convForward'), 'direct');
      throw new Error('inside');
    });
  } catch (error) {
    assert.is((error as Error).message, 'inside');
  }
  assert.is(policy.get('convForward'), defaults.convForward);
  policy.reset();
  assert.equal(policy.choices(), defaults);
});

test('bad choices are refused in one line naming the key and what is allowed', () => {
  const policy = new KernelPolicy('software');
  assert.throws(() => policy.set({ convInputGrad: 'tiled' as never }), /convInputGrad must be one of direct, registerTiled, workgroupTiled, packed, got "tiled"/);
  assert.throws(() => policy.set({ weightGradWorkgroups: 0 }), /weightGradWorkgroups must be a positive integer, got 0/);
  assert.throws(() => policy.set({ convolution: 'direct' } as never), /unknown choice "convolution"; the choices are matmul, /);
  assert.throws(() => new KernelPolicy('nvidia', { matmul: 'tiled' as never }), /matmul must be one of registerTiled, workgroupTiled/);
});

test('init({ kernelPolicy }) applies to the current device, and the forced kernels are the ones dispatched', async () => {
  await init({ kernelPolicy: { convForward: 'direct', convInputGrad: 'direct', convWeightGrad: 'direct', matmul: 'workgroupTiled' } });
  const x = tensor(Float32Array.from({ length: 2 * 3 * 5 * 5 }, (_, i) => Math.sin(i)), [2, 3, 5, 5], { requiresGrad: true });
  const w = tensor(Float32Array.from({ length: 4 * 3 * 3 * 3 }, (_, i) => Math.cos(i)), [4, 3, 3, 3], { requiresGrad: true });
  const m = tensor(Float32Array.from({ length: 4 * 5 }, (_, i) => i / 7), [5, 4]);
  const { timings } = await gpu().profile(async () => {
    F.sum(F.matmul(F.reshape(F.conv2d(x, w, undefined, { padding: 1 }), [2 * 4 * 5, 5]), m)).backward();
  });
  const names = timings.map((t) => t.name);
  for (const name of ['conv2d.direct', 'conv_transpose2d.direct', 'conv2d_weight_grad.direct']) assert.ok(names.includes(name), `${name} among ${names}`);
  assert.ok(names.some((n) => n.startsWith('matmul.workgroupTiled')), `matmul.workgroupTiled among ${names}`);
  assert.not.ok(names.some((n) => n.includes('registerTiled')), `no registerTiled kernel in ${names}`);
  for (const t of [x, w, m, x.grad!, w.grad!]) t.dispose();
});

test.run();
