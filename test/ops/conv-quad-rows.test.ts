// conv2d's stride-1 input gradient into one channel through conv_transpose2d_quad_rows.wgsl thinQuadRows (policy
// thinInputGradRows 'quads': gx rows of whole 16s, kernel rows of at most 5 taps, up to 8 rows; LightCNN's conv1), forced
// through the policy on subgroups of exactly 8: x's gradient against the float64 transposed conv and finite differences of
// the float64 conv2d on random shapes (odd heights, padding 0..k-1 per axis, gy rows as aligned quads at every shift and
// one float at a time, batch > 1, bias); many tiles (workgroups of 64, partial row blocks, the last workgroup partial)
// against the float64 reference and rowsWindow ('window'); convTranspose2d's stride-1 forward into one channel; the shapes it
// leaves to rowsWindow (gx rows not whole 16s, 6-wide kernel rows, 2 channels). f16 operands: test/ops/f16-operands.test.ts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { conv2d, convTranspose2d, type Conv2dOptions } from '../../src/nn/functional/conv.js';
import { gpu } from '../../src/gpu/index.js';
import { subgroupsOfEight } from '../../src/kernels/conv.js';
import { type Tensor } from '../../src/index.js';
import { assertNear, checkOp, fileRng, forwardAndGradients, kernelsRun, ref, setup, type T64 } from './helpers.js';

const rng = fileRng('conv-quad-rows');
const QUAD_ROWS = 'conv_transpose2d.thinQuadRows';

test.before(setup);
test.before.each(() => gpu().policy.set({ convForward: 'packed', convInputGrad: 'packed', convWeightGrad: 'packed', convThinUnitStrideInputGrad: 'pairs', thinInputGradRows: 'quads' }));
test.after.each(() => gpu().policy.reset());

const int = (lo: number, hi: number) => lo + Math.floor(rng.uniform() * (hi - lo + 1));
const odd = (lo: number, hi: number) => int(lo, hi) | 1;

interface Case { x: number[]; w: number[]; opts: Conv2dOptions }

const label = (c: Case) => `x [${c.x}] w [${c.w}] ${JSON.stringify(c.opts)}`;
const op = (opts: Conv2dOptions) => ([x, w, b]: Tensor[]) => conv2d(x, w, b, opts);

/** x's gradient for gy through the conv, as the current policy runs it. */
async function inputGradient(c: Case, xs: T64[], gy: T64): Promise<T64> {
  const [, gx] = await forwardAndGradients(op(c.opts), xs, gy);
  return gx!;
}

/** The float64 input gradient: the transposed conv of gy through the same weights. */
const referenceGradient = (c: Case, gy: T64, w: T64) => ref.convTranspose2d(gy, w, null, { padding: c.opts.padding });

/** Asserts whether the input gradient runs thinQuadRows (only where subgroups are 8 wide). */
async function assertQuadRows(c: Case, expected: boolean): Promise<void> {
  const names = await kernelsRun(rng, op(c.opts), [c.x, c.w, [c.w[0]!]]);
  if (expected && subgroupsOfEight()) assert.ok(names.includes(QUAD_ROWS), `${label(c)}: ${QUAD_ROWS} expected among ${names.join(', ')}`);
  else assert.not.ok(names.includes(QUAD_ROWS), `${label(c)}: ${QUAD_ROWS} not expected among ${names.join(', ')}`);
}

/** x's gradient against the float64 transposed conv, and finite differences of the float64 conv for x. */
async function checkCase(c: Case): Promise<void> {
  const xs = [ref.randn(rng, c.x), ref.randn(rng, c.w), ref.randn(rng, [c.w[0]!])];
  const gy = ref.randn(rng, ref.conv2d(xs[0]!, xs[1]!, null, c.opts).shape);
  assertNear(await inputGradient(c, xs, gy), referenceGradient(c, gy, xs[1]!), `${label(c)}: input gradient vs float64 transposed conv`);
  await checkOp({ name: label(c), inputs: [c.x, { shape: c.w, requiresGrad: false }, { shape: [c.w[0]!], requiresGrad: false }], forward: op(c.opts), reference: ([x, w, b]) => ref.conv2d(x, w, b, c.opts), rng });
}

test('thinQuadRows: random odd heights, kernels up to 8 x 5, padding 0..k-1 per axis (gy rows as quads at shifts 0-3 and one float at a time), batch > 1, against the float64 transposed conv and finite differences', async () => {
  const kernels: [number, number][] = [[5, 5], [3, 3], [1, 5], [7, 3], [8, 2], [2, 4], [4, 1]];
  for (const [kh, kw] of kernels) {
    const padding: [number, number] = [int(0, kh - 1), int(0, kw - 1)];
    const c = { x: [int(2, 3), 1, odd(kh + 2, 41), 16 * int(1, 3)], w: [int(3, 13), 1, kh, kw], opts: { padding } };
    await assertQuadRows(c, true);
    await checkCase(c);
  }
  // Every shift of the first input in its aligned quad (gy's width W + 2·PW - 4 a multiple of 4 at PW 0 and 2; PW = 1, 3 make
  // it odd: one float at a time), 5×5 as conv1.
  for (const pw of [0, 1, 2, 3, 4]) {
    const c = { x: [2, 1, odd(5, 23), 32], w: [int(2, 9), 1, 5, 5], opts: { padding: [int(0, 4), pw] as [number, number] } };
    await assertQuadRows(c, true);
    await checkCase(c);
  }
});

test('thinQuadRows over many tiles (workgroups of 64, partial row blocks, the last workgroup partial; workgroups of 8) matches the float64 reference and rowsWindow (window)', async () => {
  const cases: Case[] = [
    // 26 images x 5 row blocks of 26 x 8 column tiles = 1040 tiles: 17 workgroups of 64, the last one partial.
    { x: [26, 1, 130, 128], w: [3, 1, 5, 5], opts: { padding: 2 } },
    // conv1's kind, smaller: 67 rows in 3 blocks (23, 23, 21), 4 column tiles, 108 tiles in workgroups of 8.
    { x: [9, 1, 67, 64], w: [7, 1, 5, 5], opts: { padding: 2 } },
  ];
  for (const c of cases) {
    const xs = [ref.randn(rng, c.x), ref.randn(rng, c.w, 0.3), ref.randn(rng, [c.w[0]!])];
    const gy = ref.randn(rng, ref.conv2d(xs[0]!, xs[1]!, null, c.opts).shape);
    const expected = referenceGradient(c, gy, xs[1]!);
    await assertQuadRows(c, true);
    const quads = await inputGradient(c, xs, gy);
    assertNear(quads, expected, `${label(c)}: thinQuadRows input gradient vs float64`, 1e-4, 1e-5);
    const window = await gpu().policy.with({ thinInputGradRows: 'window' }, async () => {
      await assertQuadRows(c, false);
      return inputGradient(c, xs, gy);
    });
    assertNear(quads, window, `${label(c)}: thinQuadRows vs rowsWindow input gradient`, 1e-4, 1e-5);
  }
});

test('convTranspose2d at stride 1 into one channel (the same launch, with a bias) against the float64 reference and finite differences', async () => {
  const x = [2, 11, 9, 32];
  const w = [11, 1, 5, 3];
  const opts = { padding: [2, 1] as [number, number] };
  const transpose = ([xt, wt, b]: Tensor[]) => convTranspose2d(xt, wt, b, opts);
  const names = await kernelsRun(rng, transpose, [x, w, [1]]);
  if (subgroupsOfEight()) assert.ok(names.includes(QUAD_ROWS), `convTranspose2d: ${QUAD_ROWS} expected among ${names.join(', ')}`);
  await checkOp({ name: 'convTranspose2d 11→1 5×3', inputs: [x, { shape: w, requiresGrad: false }, [1]], forward: transpose, reference: ([xt, wt, b]) => ref.convTranspose2d(xt, wt, b, opts), rng });
});

test('thinQuadRows leaves gx rows that are not whole 16s, 6-wide kernel rows and 2 channels to rowsWindow, which stays correct', async () => {
  const cases: Case[] = [
    { x: [2, 1, 9, 24], w: [5, 1, 5, 5], opts: { padding: 2 } },
    { x: [2, 1, 9, 32], w: [5, 1, 3, 6], opts: { padding: [1, 2] } },
    { x: [2, 2, 9, 32], w: [5, 2, 5, 5], opts: { padding: 2 } },
  ];
  for (const c of cases) {
    await assertQuadRows(c, false);
    await checkCase(c);
  }
});

test.run();
