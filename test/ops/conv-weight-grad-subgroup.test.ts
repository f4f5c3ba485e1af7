// The packed variant's subgroup weight gradients (shaders/conv2d_weight_grad_packed_subgroup.wgsl) where
// no vec4 weight-gradient kernel fits, on adapters whose subgroups are exactly 8 wide (lavapipe):
// windowSubgroup (more than 8 out channels, kernel width 3+, width stride 1-4, no width dilation),
// packedSubgroup (more than 8 otherwise), narrowSubgroup (1-8, width stride 1-4, no width dilation) — against the float64
// reference and finite differences on random shapes (strides 1-4 and mixed, kernels 2-7 incl.
// non-square, padding 0-3, dilation, odd sizes, batch > 1, out channels past and inside row blocks,
// Cin 1-12, whole and partial quads of pixels, rows of fewer than 4 pixels); the direct oracle over
// several workgroups and split-K; which shapes keep registerTiled; batches split over several bindings.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { conv2d } from '../../src/nn/functional/conv.js';
import { gpu } from '../../src/gpu/index.js';
import { subgroupsOfEight } from '../../src/kernels/conv.js';
import { WINDOW_WEIGHT_GRAD_ROWS, WINDOW_WEIGHT_GRAD_TAPS } from '../../src/gpu/policy.js';
import { type Tensor } from '../../src/index.js';
import { checkOp, fileRng, ref, setup, toTensor, assertNear, forwardAndGradients, kernelsRun } from './helpers.js';

const rng = fileRng('conv-weight-grad-subgroup');

test.before(setup);
// convSingleChannel generic: the one-filter cases test narrowSubgroup (test/ops/conv-single.test.ts tests the Cout = 1 kernels).
test.before.each(() => gpu().policy.set({ convForward: 'packed', convInputGrad: 'packed', convWeightGrad: 'packed', convSingleChannel: 'generic' }));
test.after.each(() => gpu().policy.reset());

/** The weight-gradient kernel a packed conv of a generic geometry (no vec4 kernel's) runs here. */
function subgroupKernel(w: number[], opts: { stride?: [number, number] | number; dilation?: [number, number] | number }): string {
  const pair = (v: [number, number] | number | undefined) => (Array.isArray(v) ? v : [v ?? 1, v ?? 1]);
  const window = pair(opts.stride)[1] <= 4 && pair(opts.dilation)[1] === 1;
  const entry = w[0] > 8 ? (window && w[3] >= 3 ? 'windowSubgroup' : 'packedSubgroup') : window ? 'narrowSubgroup' : 'registerTiled';
  return `conv2d_weight_grad.${subgroupsOfEight() ? entry : 'registerTiled'}`;
}

interface Case { x: number[]; w: number[]; opts: { stride: [number, number]; padding: [number, number]; dilation?: [number, number] } }

/**
 * A random generic geometry: no 3- or 5-wide stride-1 row with its "same" padding (the vec4 kernels'),
 * and small enough that finite differences over every weight stay quick.
 */
function randomCase(narrow: boolean): Case {
  for (;;) {
    const [KH, KW] = [rng.int(2, 7), rng.int(2, 7)];
    const stride: [number, number] = [rng.int(1, 3), rng.int(1, 6)];
    const padding: [number, number] = [rng.int(0, Math.min(3, KH - 1)), rng.int(0, Math.min(3, KW - 1))];
    if (stride[1] === 1 && ((KW === 3 && padding[1] === 1) || (KW === 5 && padding[1] === 2))) continue;
    const [N, Cin, Cout] = [rng.int(2, 3), rng.int(1, 12), narrow ? rng.int(1, 8) : rng.int(9, 36)];
    const H = Math.max(1, KH - 2 * padding[0]) + rng.int(0, 7);
    const W = Math.max(1, KW - 2 * padding[1]) + rng.int(0, 12);
    const OH = Math.floor((H + 2 * padding[0] - KH) / stride[0]) + 1;
    const OW = Math.floor((W + 2 * padding[1] - KW) / stride[1]) + 1;
    if (OH < 1 || OW < 1 || Cout % 16 === 0) continue;
    const flop = Cout * Cin * KH * KW * (N * Cout * OH * OW * Cin * KH * KW);
    if (flop > 3e7) continue;
    return { x: [N, Cin, H, W], w: [Cout, Cin, KH, KW], opts: { stride, padding } };
  }
}

async function checkWeightGrad(c: Case): Promise<void> {
  const what = `x [${c.x}] w [${c.w}] ${JSON.stringify(c.opts)}`;
  const op = ([x, w]: Tensor[]) => conv2d(x, w, undefined, c.opts);
  const names = await kernelsRun(rng, op, [c.x, c.w]);
  const expected = subgroupKernel(c.w, c.opts);
  assert.ok(names.includes(expected), `${what}: expected ${expected} among ${names.join(', ')}`);
  await checkOp({ name: what, inputs: [{ shape: c.x, requiresGrad: false }, c.w], forward: op, reference: ([x, w]) => ref.conv2d(x, w, undefined, c.opts), rng });
}

test('windowSubgroup and packedSubgroup against finite differences: chosen geometries (mixed strides, non-square kernels, 1-3 pixel rows, quads and partial quads, width stride 5, dilation)', async () => {
  const cases: Case[] = [
    { x: [2, 2, 10, 10], w: [20, 2, 7, 7], opts: { stride: [1, 1], padding: [0, 0] } },  // G conv1's kind: 4×4 outputs, whole quads
    { x: [2, 3, 9, 8], w: [17, 3, 4, 4], opts: { stride: [2, 2], padding: [1, 1] } },  // D's 4×4 s2: 4×3 outputs
    { x: [3, 5, 7, 9], w: [9, 5, 3, 2], opts: { stride: [3, 2], padding: [2, 0] } },  // 3 rows of 4 pixels
    { x: [2, 12, 5, 4], w: [33, 12, 2, 3], opts: { stride: [1, 3], padding: [1, 3] } },  // 6×3: rows shorter than a quad, 3 row blocks
    { x: [2, 1, 6, 11], w: [10, 1, 5, 6], opts: { stride: [2, 1], padding: [3, 2] } },  // Cin 1
    { x: [2, 3, 11, 10], w: [11, 3, 3, 2], opts: { stride: [1, 2], padding: [1, 0], dilation: [2, 3] } },  // width dilation: packedSubgroup
    { x: [2, 3, 11, 28], w: [12, 3, 3, 4], opts: { stride: [2, 5], padding: [1, 2] } },  // width stride 5: packedSubgroup, 6 x 6 (whole quads)
    { x: [2, 2, 9, 12], w: [19, 2, 4, 7], opts: { stride: [1, 4], padding: [3, 3] } },  // width stride 4: windowSubgroup, 2 tap blocks
    { x: [2, 3, 9, 8], w: [17, 3, 4, 2], opts: { stride: [2, 1], padding: [1, 1] } },  // 2-wide kernel: packedSubgroup
  ];
  for (const c of cases) await checkWeightGrad(c);
});

for (const taps of WINDOW_WEIGHT_GRAD_TAPS) {
  for (const rows of WINDOW_WEIGHT_GRAD_ROWS) test(`windowSubgroup on 3-wide kernels (windowWeightGradTaps ${taps}: 3 taps per lane where fitted; windowWeightGradRows ${rows}) against finite differences: stride 2 padded (G's down convs), unpadded (G's reflect-padded residual convs), width stride 3, partial quads, out channels past a row block and past a second block of 16`, async () => {
    gpu().policy.set({ windowWeightGradTaps: taps, windowWeightGradRows: rows });
    // 32 rows run where output rows hold whole quads (OW % 4 == 0); the 6- and 7-wide cases take 16 under either setting.
    const cases: Case[] = [
      { x: [2, 4, 9, 11], w: [18, 4, 3, 3], opts: { stride: [2, 2], padding: [1, 1] } },  // 5 x 6 outputs
      { x: [2, 4, 9, 15], w: [18, 4, 3, 3], opts: { stride: [2, 2], padding: [1, 1] } },  // 5 x 8
      { x: [2, 3, 8, 9], w: [19, 3, 3, 3], opts: { stride: [1, 1], padding: [0, 0] } },  // 6 x 7
      { x: [2, 3, 8, 10], w: [19, 3, 3, 3], opts: { stride: [1, 1], padding: [0, 0] } },  // 6 x 8
      { x: [2, 3, 8, 12], w: [17, 3, 2, 3], opts: { stride: [1, 3], padding: [1, 1] } },  // 9 x 4: whole quads
      // 41 rows: at 32 a row, a whole block, then one with 9 rows in its low half and none in its high half.
      { x: [3, 2, 7, 15], w: [41, 2, 3, 3], opts: { stride: [2, 2], padding: [1, 1] } },  // 4 x 8
    ];
    for (const c of cases) await checkWeightGrad(c);
  });
}

test('windowSubgroup with 32 rows (windowWeightGradRows 32) matches 16 rows and the direct oracle: split-K slices, 2 row blocks, 4-wide tap blocks at stride 2', async () => {
  // 40 out channels: 2 blocks of 32 (the second 8 rows); 3 x 33 x 12 outputs at width stride 2 (3 quads a row): 2 split-K
  // slices of 149 quads, the second starting inside an output row; 5 x 3 x 2 tap blocks.
  const s = { x: [3, 5, 65, 24], w: [40, 5, 3, 6], opts: { stride: [2, 2] as [number, number], padding: [1, 2] as [number, number] } };
  const xs = [ref.randn(rng, s.x), ref.randn(rng, s.w, 0.2)];
  const g = ref.randn(rng, ref.conv2d(xs[0], xs[1], undefined, s.opts).shape);
  const op = ([x, w]: Tensor[]) => conv2d(x, w, undefined, s.opts);
  const gradients: number[][] = [];
  for (const rows of WINDOW_WEIGHT_GRAD_ROWS) {
    gpu().policy.set({ windowWeightGradRows: rows, weightGradWorkgroups: 64 });
    const names = await kernelsRun(rng, op, [s.x, s.w]);
    const expected = subgroupKernel(s.w, s.opts);
    assert.ok(names.includes(expected), `rows ${rows}: expected ${expected} among ${names.join(', ')}`);
    assert.ok(!subgroupsOfEight() || names.includes('reduce.sum.columns'), `rows ${rows}: expected split-K slices added by reduce.sum.columns, got ${names.join(', ')}`);
    gradients.push(Array.from((await forwardAndGradients(op, xs, g))[2].data));
  }
  gpu().policy.set({ convForward: 'direct', convInputGrad: 'direct', convWeightGrad: 'direct' });
  const oracle = await forwardAndGradients(op, xs, g);
  for (const [index, rows] of WINDOW_WEIGHT_GRAD_ROWS.entries()) assertNear(gradients[index], oracle[2], `windowWeightGradRows ${rows} vs direct weight gradient`, 1e-3, 1e-4);
});

test('narrow subgroup weight gradient (1-8 filters) against finite differences: output rows of whole and partial quads, strides 1-4, 2 row blocks', async () => {
  const cases: Case[] = [
    { x: [2, 4, 14, 14], w: [1, 4, 7, 7], opts: { stride: [1, 1], padding: [0, 0] } },  // G's 64→1 kind: 8-wide rows, 2 tap blocks
    { x: [3, 6, 7, 7], w: [1, 6, 4, 4], opts: { stride: [1, 1], padding: [1, 1] } },  // D's 512→1 kind: 6-wide rows
    { x: [2, 3, 9, 17], w: [6, 3, 3, 5], opts: { stride: [2, 4], padding: [1, 2] } },  // 6 rows: 2 row blocks, stride 4
    { x: [2, 5, 8, 13], w: [3, 5, 2, 3], opts: { stride: [3, 3], padding: [0, 1] } },  // 3-tap blocks, stride 3
    { x: [2, 2, 6, 5], w: [8, 2, 2, 2], opts: { stride: [1, 2], padding: [1, 1], dilation: [2, 1] } },  // 3-pixel rows, dilation in height
  ];
  for (const c of cases) await checkWeightGrad(c);
});

test('subgroup weight gradients against finite differences: random generic geometries', async () => {
  for (let i = 0; i < 5; i++) await checkWeightGrad(randomCase(false));
  for (let i = 0; i < 4; i++) await checkWeightGrad(randomCase(true));
});

test('subgroup weight gradient matches the direct oracle over several workgroups and split-K slices', async () => {
  // 300 columns: 75 column blocks, 2 workgroups along x; 40 rows: 3 row blocks; 3 x 38 x 35 pixels
  // (planes of partial quads: scalar GY loads), then 3 x 38 x 34 (whole quads: vec4 GY loads); split-K.
  // windowSubgroup and narrowSubgroup: 12 x 5 x 2 = 120 tap blocks, 2 workgroups; narrow: 6 rows, 2 row blocks;
  // packedSubgroup at width stride 5: 38 x 7 pixels.
  const cases: { x: number[]; w: number[]; opts: { stride: [number, number]; padding: [number, number] } }[] = [
    { x: [3, 12, 40, 37], w: [40, 12, 5, 5], opts: { stride: [1, 1], padding: [1, 1] } },
    { x: [3, 12, 40, 36], w: [40, 12, 5, 5], opts: { stride: [1, 1], padding: [1, 1] } },
    { x: [3, 12, 40, 37], w: [6, 12, 5, 5], opts: { stride: [1, 1], padding: [1, 1] } },
    { x: [3, 12, 40, 37], w: [40, 12, 5, 5], opts: { stride: [1, 5], padding: [1, 1] } },
  ];
  for (const s of cases) {
    const xs = [ref.randn(rng, s.x), ref.randn(rng, s.w, 0.2)];
    const g = ref.randn(rng, ref.conv2d(xs[0], xs[1], undefined, s.opts).shape);
    const op = ([x, w]: Tensor[]) => conv2d(x, w, undefined, s.opts);
    const names = await kernelsRun(rng, op, [s.x, s.w]);
    const expected = subgroupKernel(s.w, s.opts);
    assert.ok(names.includes(expected), `x [${s.x}] w [${s.w}]: expected ${expected} among ${names.join(', ')}`);
    const got = await forwardAndGradients(op, xs, g);
    gpu().policy.set({ convForward: 'direct', convInputGrad: 'direct', convWeightGrad: 'direct' });
    const oracle = await forwardAndGradients(op, xs, g);
    gpu().policy.set({ convForward: 'packed', convInputGrad: 'packed', convWeightGrad: 'packed', convSingleChannel: 'generic' });
    assertNear(got[2], oracle[2], `x [${s.x}]: subgroup vs direct weight gradient`, 1e-3, 1e-4);
  }
});

test('registerTiled stays where the subgroup weight gradients do not apply: 8 filters or fewer at width stride 5 or width dilation; vec4 geometries keep their kernels', async () => {
  const cases: Case[] = [
    { x: [2, 4, 9, 18], w: [8, 4, 3, 3], opts: { stride: [1, 5], padding: [1, 1] } },
    { x: [2, 3, 9, 8], w: [1, 3, 2, 2], opts: { stride: [1, 1], padding: [1, 1], dilation: [1, 2] } },
  ];
  for (const c of cases) {
    const names = await kernelsRun(rng, ([x, w]) => conv2d(x, w, undefined, c.opts), [c.x, c.w]);
    assert.ok(names.includes('conv2d_weight_grad.registerTiled') && !names.some((n) => n.endsWith('Subgroup') && n.startsWith('conv2d_weight_grad')), `x [${c.x}] w [${c.w}]: expected conv2d_weight_grad.registerTiled, got ${names.join(', ')}`);
  }
  const vec4 = await kernelsRun(rng, ([x, w]) => conv2d(x, w, undefined, { padding: 1 }), [[2, 3, 5, 16], [12, 3, 3, 3]]);
  // (threeByThree, or its own subgroup form from conv2d_weight_grad_subgroup.wgsl)
  const generic = ['windowSubgroup', 'narrowSubgroup', 'packedSubgroup', 'registerTiled'].map((entry) => `conv2d_weight_grad.${entry}`);
  assert.ok(!vec4.some((n) => generic.includes(n)) && vec4.some((n) => n.startsWith('conv2d_weight_grad.threeByThree')), `3×3 pad 1, W % 4 == 0: expected a vec4 weight gradient, got ${vec4.join(', ')}`);
});

test('subgroup weight gradient over a batch larger than one binding runs in runs of whole images and adds them', async () => {
  gpu().setMaxBindingBytes(4096);
  try {
    // x 2 x 8 x 16 per image (1 KiB), y 12 x 4 x 8 (1.5 KiB): 5 images run as 2 + 2 + 1.
    const c: Case = { x: [5, 2, 8, 16], w: [12, 2, 4, 4], opts: { stride: [2, 2], padding: [1, 1] } };
    const names = await kernelsRun(rng, ([x, w]) => conv2d(x, w, undefined, c.opts), [c.x, c.w]);
    assert.ok(names.filter((n) => n === subgroupKernel(c.w, c.opts)).length > 1, `expected several ${subgroupKernel(c.w, c.opts)} launches, got ${names.join(', ')}`);
    await checkOp({ name: 'chunked subgroup weight gradient', inputs: [{ shape: c.x, requiresGrad: false }, c.w], forward: ([x, w]) => conv2d(x, w, undefined, c.opts), reference: ([x, w]) => ref.conv2d(x, w, undefined, c.opts), rng });
    const narrow: Case = { x: [5, 2, 8, 16], w: [3, 2, 4, 4], opts: { stride: [2, 2], padding: [1, 1] } };
    const narrowNames = await kernelsRun(rng, ([x, w]) => conv2d(x, w, undefined, narrow.opts), [narrow.x, narrow.w]);
    assert.ok(narrowNames.filter((n) => n === subgroupKernel(narrow.w, narrow.opts)).length > 1, `expected several ${subgroupKernel(narrow.w, narrow.opts)} launches, got ${narrowNames.join(', ')}`);
    await checkOp({ name: 'chunked narrow subgroup weight gradient', inputs: [{ shape: narrow.x, requiresGrad: false }, narrow.w], forward: ([x, w]) => conv2d(x, w, undefined, narrow.opts), reference: ([x, w]) => ref.conv2d(x, w, undefined, narrow.opts), rng });
  } finally {
    gpu().setMaxBindingBytes(undefined);
  }
});

test.run();
