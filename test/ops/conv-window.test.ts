// The packed variant's forward for few input channels (shaders/conv2d_window_subgroup.wgsl, policy convThinForward
// 'window'): at most 4 input channels, more than 16 filters, width stride 1 or 2, output rows of whole octets, on adapters
// whose subgroups are exactly 8 wide (lavapipe) — conv2d's forward (bias, mfm with its mask) against the float64 reference
// and finite differences on odd heights, partial 32-row blocks, 7×7 and 4×4 stride-2 kernels, padding, batch > 1; the
// direct oracle over several workgroups and against packedSubgroup (convThinForward 'packed'); the shapes that keep the
// channel-pair kernel. LightCNN's conv1 (5×5 pad 2, one channel; policy convFiveWideForward 'window', against 'pair': conv2d_subgroup.wgsl
// fiveWidePair), the quad epilogue against element stores (policy windowStores), 5 taps per update of the sums against one
// (policy windowTapOrder), 16 outputs of a row per invocation against 8 (policy windowRowPixels); FaPE-GAN's D-1 (4×4 stride 2)
// with 4 taps per update, its inputs as aligned quads or one at a time (policy windowInputLoads), against one tap at a time.
// conv1's geometry under windowSums 'tiles' (windowTapsSubgroup: one input channel, up to 5 rows of 5 taps, output rows of
// whole 16s; each 4 x 4 block of sums over every tap in registers, 16 output rows per invocation at height stride 1) against
// 'rows' (windowSubgroup): finite differences on heights of stride 1 and 2, height dilation, width padding 0 to 2, odd
// heights, partial row blocks, bias, mfm with an odd channel count; the direct oracle over several workgroups with 96
// filters, and the mfm mask against the oracle's two halves.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { conv2d, conv2dMfm, type Conv2dOptions } from '../../src/nn/functional/conv.js';
import { gpu } from '../../src/gpu/index.js';
import { conv2dMfmForward, subgroupsOfEight, type ConvGeometry } from '../../src/kernels/conv.js';
import { noGrad, type Tensor } from '../../src/index.js';
import { fileRng, ref, setup, assertNear, kernelsRun, toT64, toTensor, type T64 } from './helpers.js';
import { checkConvForwardCases, forwardOn, type ConvForwardCase } from './conv-forward-cases.js';
import type { KernelChoices } from '../../src/gpu/policy.js';

const rng = fileRng('conv-window');

test.before(setup);
test.before.each(() => gpu().policy.set({ convForward: 'packed', convInputGrad: 'packed', convWeightGrad: 'packed' }));
test.after.each(() => gpu().policy.reset());

/** conv1's geometry (5×5 pad 2, 96 filters, bias) on one draw of inputs of `shape`: the inputs and a run of conv2d or conv2dMfm. */
function conv1Inputs(shape: { x: number[]; w: number[] }) {
  const xs = [ref.randn(rng, shape.x), ref.randn(rng, shape.w, 0.2), ref.randn(rng, [96])];
  const run = (mfm: boolean) => noGrad(async () => {
    const inputs = xs.map((x) => toTensor(x));
    const [x, w, b] = inputs as [Tensor, Tensor, Tensor];
    const y = mfm ? conv2dMfm(x, w, b, { padding: 2 }) : conv2d(x, w, b, { padding: 2 });
    const out = await toT64(y);
    for (const t of [...inputs, y]) t.dispose();
    return out;
  });
  return { xs, run };
}

/** conv1's forward and mfm forward run `kernel` (where subgroups are 8 wide) and match the direct oracle. */
async function assertConv1MatchesDirect(shape: { x: number[]; w: number[] }, run: (mfm: boolean) => Promise<T64>, kernel: string): Promise<void> {
  for (const mfm of [false, true]) {
    const names = await kernelsRun(rng, ([x, w, b]) => (mfm ? conv2dMfm(x, w, b, { padding: 2 }) : conv2d(x, w, b, { padding: 2 })), [shape.x, shape.w, [96]]);
    const expected = `conv2d${mfm ? 'Mfm' : ''}.${subgroupsOfEight() ? kernel : 'fiveWidePair'}`;
    assert.ok(names.includes(expected), `mfm ${mfm}: expected ${expected} among ${names.join(', ')}`);
    const oracle = await gpu().policy.with({ convForward: 'direct' }, () => run(mfm));
    assertNear(await run(mfm), oracle, `${kernel} vs direct forward, mfm ${mfm}`, 1e-3, 1e-4);
  }
}

/** The kernel a packed forward of a fitting shape runs here: the window kernel, or packedTiled where subgroups are not 8 wide. */
const forwardKernel = (mfm = false) => `conv2d${mfm ? 'Mfm' : ''}.${subgroupsOfEight() ? 'windowSubgroup' : 'packedTiled'}`;

test('window forward: 1-4 channels, 7×7 and 4×4 stride 2, padding, partial row blocks, bias, mfm, against finite differences', async () => {
  // forwardOnly: the 7×7 case's finite differences (the other passes are other kernels') would take minutes on the CPU.
  const cases: ConvForwardCase[] = [
    { x: [2, 2, 9, 14], w: [19, 2, 7, 7], opts: {}, forwardOnly: true },
    { x: [2, 2, 7, 16], w: [17, 2, 4, 4], opts: { stride: 2, padding: 1 } },
    { x: [2, 1, 7, 10], w: [33, 1, 3, 5], opts: { stride: [2, 1], padding: 1 } },
    { x: [1, 3, 5, 13], w: [20, 3, 2, 3], opts: { stride: [1, 2], padding: [0, 2] } },
    { x: [2, 4, 5, 9], w: [36, 4, 3, 4], opts: { padding: [2, 1], dilation: [2, 1] }, mfm: true },
  ];
  await checkConvForwardCases(rng, cases, [{}], (c) => forwardKernel(c.mfm));
});

test('window forward matches the direct oracle and packedSubgroup over several workgroups (G-in and D-1 geometries, 3 row blocks)', async () => {
  const cases = [
    { x: [3, 2, 30, 38], w: [70, 2, 7, 7], opts: {} },
    { x: [2, 2, 64, 48], w: [64, 2, 4, 4], opts: { stride: 2, padding: 1 } },
  ];
  for (const s of cases) {
    const xs = [ref.randn(rng, s.x), ref.randn(rng, s.w, 0.2), ref.randn(rng, [s.w[0]!])];
    const op = ([x, w, b]: Tensor[]) => conv2d(x, w, b, s.opts);
    const forward = forwardOn(op, xs);
    const names = await kernelsRun(rng, op, [s.x, s.w, [s.w[0]!]]);
    assert.ok(names.includes(forwardKernel()), `x [${s.x}] w [${s.w}]: expected ${forwardKernel()} among ${names.join(', ')}`);
    const got = await forward();
    const pairs = await gpu().policy.with({ convThinForward: 'packed' }, forward);
    const oracle = await gpu().policy.with({ convForward: 'direct' }, forward);
    assertNear(got, oracle, `window vs direct forward x [${s.x}] w [${s.w}]`, 1e-3, 1e-4);
    assertNear(pairs, oracle, `packedSubgroup vs direct forward x [${s.x}] w [${s.w}]`, 1e-3, 1e-4);
  }
});

test('the channel-pair kernel keeps the shapes the window kernel does not take (5 channels, 16 filters, rows not whole octets, stride 3, policy packed)', async () => {
  if (!subgroupsOfEight()) return;
  const cases: { x: number[]; w: number[]; opts: Conv2dOptions; policy?: object }[] = [
    { x: [1, 5, 9, 8], w: [20, 5, 3, 3], opts: { stride: 2, padding: 1 } },
    { x: [1, 2, 9, 8], w: [16, 2, 3, 3], opts: { stride: 2, padding: 1 } },
    { x: [1, 2, 9, 12], w: [20, 2, 3, 3], opts: { stride: 2, padding: 1 } },
    { x: [1, 2, 9, 24], w: [20, 2, 3, 3], opts: { stride: 3, padding: 1 } },
    { x: [1, 2, 13, 14], w: [19, 2, 7, 7], opts: {}, policy: { convThinForward: 'packed' } },
  ];
  for (const c of cases) {
    await gpu().policy.with(c.policy ?? {}, async () => {
      const names = await kernelsRun(rng, ([x, w]) => conv2d(x, w, undefined, c.opts), [c.x, c.w]);
      assert.ok(names.includes('conv2d.packedSubgroup') && !names.includes('conv2d.windowSubgroup'), `x [${c.x}] w [${c.w}] ${JSON.stringify(c.opts)}: expected conv2d.packedSubgroup, got ${names.join(', ')}`);
    });
  }
});

test('conv1\'s forward (5×5 pad 2 from one channel, more than 16 filters) under convFiveWideForward window and pair, windowStores quads and elements, windowTapOrder byRow and byTap, windowRowPixels 16 and 8: bias, mfm with its mask, partial row blocks, odd heights, against finite differences', async () => {
  const padding2 = { padding: 2 };
  const cases: ConvForwardCase[] = [
    { x: [2, 1, 7, 16], w: [20, 1, 5, 5], opts: padding2 },
    { x: [3, 1, 5, 8], w: [34, 1, 5, 5], opts: padding2, mfm: true },
    { x: [2, 2, 3, 24], w: [36, 2, 5, 5], opts: padding2, mfm: true },
    // Rows of whole 16s (windowRowPixels 16 takes them): one and two channels, the last invocation's pixels past the end.
    { x: [3, 1, 5, 16], w: [40, 1, 5, 5], opts: padding2 },
    { x: [1, 2, 9, 32], w: [36, 2, 5, 5], opts: padding2, mfm: true },
  ];
  const settings: Partial<KernelChoices>[] = [
    { convFiveWideForward: 'window', windowSums: 'rows', windowStores: 'quads', windowTapOrder: 'byRow', windowRowPixels: 8 },
    { convFiveWideForward: 'window', windowSums: 'rows', windowStores: 'quads', windowTapOrder: 'byRow', windowRowPixels: 16 },
    { convFiveWideForward: 'window', windowSums: 'rows', windowStores: 'elements', windowTapOrder: 'byTap' },
    { convFiveWideForward: 'window', windowSums: 'tiles', windowStores: 'quads', windowTapOrder: 'byRow' },
    { convFiveWideForward: 'pair' },
  ];
  // windowSums 'tiles' takes the one-channel cases on rows of whole 16s (windowTapsSubgroup), the rest stay windowSubgroup's.
  await checkConvForwardCases(rng, cases, settings, (c, setting) => {
    const tiles = setting.windowSums === 'tiles' && c.x[1] === 1 && c.x[3]! % 16 === 0;
    const kernel = setting.convFiveWideForward === 'pair' ? 'fiveWidePairSubgroup' : tiles ? 'windowTapsSubgroup' : 'windowSubgroup';
    return `conv2d${c.mfm ? 'Mfm' : ''}.${subgroupsOfEight() ? kernel : 'fiveWidePair'}`;
  });
});

test('D-1\'s forward (4-wide rows at width stride 2) under windowTapOrder byRow with windowInputLoads quads and elements, and byTap: padding, odd heights, height stride 1 and 2, bias, mfm, against finite differences', async () => {
  // W % 4 == 0 with width padding 1 takes the aligned quads; W 17 and width padding 0 keep the 4-tap rows loading one value at a time.
  const cases: ConvForwardCase[] = [
    { x: [2, 2, 9, 16], w: [20, 2, 4, 4], opts: { stride: 2, padding: 1 } },
    { x: [3, 1, 7, 17], w: [18, 1, 3, 4], opts: { stride: [1, 2], padding: 1 } },
    { x: [2, 3, 6, 16], w: [20, 3, 4, 4], opts: { stride: 2, padding: [2, 1] }, mfm: true },
    { x: [1, 2, 5, 18], w: [17, 2, 4, 4], opts: { stride: 2, padding: [1, 0] } },
  ];
  const settings = [
    { windowTapOrder: 'byRow', windowInputLoads: 'quads' },
    { windowTapOrder: 'byRow', windowInputLoads: 'elements' },
    { windowTapOrder: 'byTap' },
  ] as const;
  await checkConvForwardCases(rng, cases, settings, (c) => forwardKernel(c.mfm));
});

for (const rowPixels of [8, 16] as const) {
test(`conv1's window forward matches the direct oracle over several workgroups (96 filters, mfm and its mask, batch 3, windowRowPixels ${rowPixels})`, async () => {
  // 40-pixel rows take 8 outputs per invocation; 48-pixel rows, 189 invocations of 16 (3 workgroups of 64, the last partial).
  const shape = { x: [3, 1, 21, rowPixels === 16 ? 48 : 40], w: [96, 1, 5, 5] };
  gpu().policy.set({ windowRowPixels: rowPixels, windowSums: 'rows' });
  await assertConv1MatchesDirect(shape, conv1Inputs(shape).run, 'windowSubgroup');
});
}

test('conv1\'s geometry under windowSums tiles (windowTapsSubgroup): 1-5 rows of taps, height stride 2 and dilation 2 (one output row per invocation), width padding 0-2, odd heights, partial row blocks, bias, mfm with an odd channel count, inputs as aligned quads and one at a time, quad and element stores, against finite differences', async () => {
  // [x, w, options]: rows of whole 16s from one channel. OH 21 splits into tiles of 11 and 10 rows; OH 9 one tile.
  const cases: ConvForwardCase[] = [
    { x: [2, 1, 21, 16], w: [20, 1, 5, 5], opts: { padding: 2 } },
    { x: [1, 1, 9, 32], w: [34, 1, 5, 5], opts: { padding: 2 }, mfm: true },
    { x: [2, 1, 9, 20], w: [24, 1, 3, 5], opts: { padding: [1, 0] } },
    { x: [1, 1, 6, 18], w: [33, 1, 5, 5], opts: { padding: [2, 1] } },
    { x: [2, 1, 11, 16], w: [20, 1, 5, 5], opts: { stride: [2, 1], padding: 2 }, mfm: true },
    { x: [1, 1, 12, 16], w: [18, 1, 3, 5], opts: { padding: 2, dilation: [2, 1] } },
    { x: [3, 1, 2, 16], w: [20, 1, 1, 5], opts: { padding: [0, 2] } },
  ];
  const settings = [
    { windowSums: 'tiles', windowInputLoads: 'quads', windowStores: 'quads' },
    { windowSums: 'tiles', windowInputLoads: 'elements', windowStores: 'elements' },
  ] as const;
  await checkConvForwardCases(rng, cases, settings, (c) => (subgroupsOfEight() ? `conv2d${c.mfm ? 'Mfm' : ''}.windowTapsSubgroup` : undefined));
});

test('conv1\'s windowTapsSubgroup forward matches the direct oracle over several workgroups (96 filters, batch 9, 40 rows in tiles of 14, 14 and 12, 128-wide rows), and its mfm mask the oracle\'s halves', async () => {
  // 9 images x 3 tiles of rows x 8 segments of 16 = 216 invocations: 4 workgroups of 64 (the last partial), 3 row blocks.
  const shape = { x: [9, 1, 40, 128], w: [96, 1, 5, 5] };
  const { xs, run } = conv1Inputs(shape);
  await assertConv1MatchesDirect(shape, run, 'windowTapsSubgroup');
  // The mask (1: the first half won, 2: the second, 7: a tie) against the direct conv's two halves, where they differ clearly.
  const halves = await gpu().policy.with({ convForward: 'direct' }, () => run(false));
  const [N, H, W] = [shape.x[0]!, shape.x[2]!, shape.x[3]!];
  const g: ConvGeometry = { N, Cin: 1, H, W, Cout: 96, OH: H, OW: W, KH: 5, KW: 5, SH: 1, SW: 1, PH: 2, PW: 2, DH: 1, DW: 1 };
  const mask = await noGrad(async () => {
    const [x, w, b] = xs.map((t) => toTensor(t)) as [Tensor, Tensor, Tensor];
    const out = conv2dMfmForward(x.buffer, w.buffer, b.buffer, g, true);
    const bits = new Uint32Array(await gpu().read(out.mask!, N * 48 * H * W * 4));
    for (const buffer of [out.y, out.mask!]) gpu().pool.release(buffer);
    for (const t of [x, w, b]) t.dispose();
    return bits;
  });
  const plane = H * W;
  let checked = 0;
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < 48; c++) {
      for (let i = 0; i < plane; i++) {
        const a = halves.data[(n * 96 + c) * plane + i]!;
        const b = halves.data[(n * 96 + c + 48) * plane + i]!;
        if (Math.abs(a - b) < 1e-3 * Math.max(1, Math.abs(a))) continue;
        const got = mask[(n * 48 + c) * plane + i];
        if (got !== (a > b ? 1 : 2)) assert.unreachable(`mask at image ${n} channel ${c} pixel ${i}: ${got}, halves ${a} and ${b}`);
        checked++;
      }
    }
  }
  assert.ok(checked > 0.99 * N * 48 * plane, `checked ${checked} of ${N * 48 * plane} mask elements`);
});

test.run();
