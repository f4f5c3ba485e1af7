// One check for the forward-kernel tests of the window family: each case's conv2d (conv2dMfm with `mfm`) under each
// policy setting runs the kernel expected there and matches the float64 reference; finite differences under the first
// setting only, as the later ones change the forward kernel alone.
import * as assert from 'uvu/assert';
import { gpu } from '../../src/gpu/index.js';
import type { KernelChoices } from '../../src/gpu/policy.js';
import { noGrad, type Tensor } from '../../src/index.js';
import { conv2d, conv2dMfm, type Conv2dOptions } from '../../src/nn/functional/conv.js';
import type { Rng, T64 } from '../reference/index.js';
import { checkOp, kernelsRun, ref, toT64, toTensor } from './helpers.js';

export interface ConvForwardCase {
  x: number[];
  w: number[];
  opts: Conv2dOptions;
  mfm?: boolean;
  /** Forward only in every setting (finite differences of a large case take minutes on the CPU). */
  forwardOnly?: boolean;
}

/**
 * `expectedKernel` names the forward kernel a case runs under a setting (e.g. 'conv2dMfm.windowSubgroup'), or
 * undefined where the adapter's choice is not asserted.
 */
export async function checkConvForwardCases<S extends Partial<KernelChoices>>(
  rng: Rng, cases: readonly ConvForwardCase[], settings: readonly S[], expectedKernel: (c: ConvForwardCase, setting: S) => string | undefined,
): Promise<void> {
  for (const setting of settings) {
    await gpu().policy.with(setting, async () => {
      for (const c of cases) {
        const what = `${c.mfm ? 'conv2dMfm' : 'conv2d'} x [${c.x}] w [${c.w}] ${JSON.stringify(c.opts)} ${JSON.stringify(setting)}`;
        const op = ([x, w, b]: Tensor[]) => (c.mfm ? conv2dMfm(x, w, b, c.opts) : conv2d(x, w, b, c.opts));
        const names = await kernelsRun(rng, op, [c.x, c.w, [c.w[0]!]]);
        const expected = expectedKernel(c, setting);
        if (expected) assert.ok(names.includes(expected), `${what}: expected ${expected} among ${names.join(', ')}`);
        const forwardOnly = c.forwardOnly || setting !== settings[0];
        await checkOp({ name: what, inputs: [c.x, c.w, [c.w[0]!]], forward: op, reference: ([x, w, b]) => (c.mfm ? ref.mfm(ref.conv2d(x, w, b, c.opts)) : ref.conv2d(x, w, b, c.opts)), rng, forwardOnly });
      }
    });
  }
}

/** `op` on these float64 inputs, read back: call it under several policies to compare kernels on the same data. */
export function forwardOn(op: (inputs: Tensor[]) => Tensor, xs: readonly T64[]): () => Promise<T64> {
  return () => noGrad(async () => {
    const inputs = xs.map((x) => toTensor(x));
    const y = op(inputs);
    const out = await toT64(y);
    for (const t of [...inputs, y]) t.dispose();
    return out;
  });
}
