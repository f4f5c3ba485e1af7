// The Cout = 1 kernels of the packed policy (convSingleChannel 'dedicated'): conv2d_single_subgroup.wgsl
// (subgroups of 8) and conv2d_single.wgsl (convSubgroups 'off', or subgroups not 8 wide) forward, their
// input-gradient pair conv_transpose2d_single(_subgroup).wgsl (stride 1), and the
// conv2d_weight_grad_single.wgsl weight gradient; under convSingleChannel 'shared' also the forward in
// tiles of 4 output rows (rowsSubgroup) and conv2d_weight_grad_single_subgroup.wgsl, on small planes
// conv2d_weight_grad_single_planes.wgsl (convSingleWeightGrad 'planes') — each asserted by
// name, against the float64 reference with finite-difference gradients: odd and
// non-square sizes, kernels 1-8 wide (and 9 wide: the weight gradient falls back), stride 2 in height
// (the input gradient falls back), padding, dilation in height, batches, Cin 1-70 (input gradient:
// channels past and inside blocks of 8), with and without bias, several workgroups and split slices;
// stride 2 or dilation along the width falls back to the packed kernels; batches larger than one
// binding run in runs of whole images. (f16 operands:
// test/ops/f16-operands.test.ts's packed cases.)
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { conv2d } from '../../src/nn/functional/conv.js';
import { gpu } from '../../src/gpu/index.js';
import { conv2dTranspose, subgroupsOfEight, type ConvGeometry } from '../../src/kernels/conv.js';
import { alloc } from '../../src/kernels/launch.js';
import { type Tensor } from '../../src/index.js';
import { assertNear, checkOp, fileRng, kernelsRun, ref, roundF32, setup, toT64, toTensor, type T64 } from './helpers.js';
import { shaderSources } from '../../src/shaders.generated.js';

const rng = fileRng('conv-single');

test.before(setup);
test.after.each(() => {
  gpu().setMaxBindingBytes(undefined);
  gpu().policy.reset();
});

type Pair = [number, number];
interface Case { x: number[]; kernel: Pair; opts: { stride: Pair; padding: Pair; dilation: Pair }; bias: boolean }

/** Which passes should run their Cout = 1 kernel. */
interface Expected { forward: boolean; input: boolean; weight: boolean }

const transposeName = (subgroups: 'shared' | 'off') => (subgroups === 'shared' && subgroupsOfEight() ? 'conv_transpose2d.singleSubgroup' : 'conv_transpose2d.single');
const forwardName = (subgroups: 'shared' | 'off') => (subgroups === 'shared' && subgroupsOfEight() ? 'conv2d.singleSubgroup' : 'conv2d.single');

/**
 * The input gradient's kernel over tiles of rows under convSingleInputGrad: rowStrips ('strips', the default; quad stores on
 * even widths, rowStripsElements on odd ones) or rowsWindow ('window').
 */
type TransposeTiles = 'strips' | 'window';
const transposeTileKernel = (tiles: TransposeTiles, width: number) =>
  tiles === 'window' ? 'conv_transpose2d.rowsWindow' : width % 2 === 0 ? 'conv_transpose2d.rowStrips' : 'conv_transpose2d.rowStripsElements';

/**
 * The policy for the window kernels (the rowsWindow forward, the input gradient by `tiles`) or, without them, the 4-row tiles
 * and octets before them.
 */
const windowChoices = (windows: boolean, tiles: TransposeTiles = 'strips') => ({ convSingleForward: windows ? 'window' : 'rows', convSingleInputGrad: windows ? tiles : 'octets' }) as const;

/** Where the weight gradient on small planes (convSingleWeightGrad 'planes') applies: stride and dilation 1, rows of at most 16 in and out, at most 16 taps. */
const planesFit = (W: number, OW: number, kernel: Pair, opts: Case['opts']) =>
  [...opts.stride, ...opts.dilation].every((v) => v === 1) && W <= 16 && OW <= 16 && kernel[1] <= 8 && kernel[0] * kernel[1] <= 16;

/** The small-plane kernel's name for input x under the policy: singlePlaneQuads under planeQuads where x holds whole vec4s, else singlePlanes. */
const planesName = (x: number[]) =>
  gpu().policy.get('convSingleWeightGrad') === 'planeQuads' && x.reduce((a, b) => a * b, 1) % 4 === 0 ? 'conv2d_weight_grad.singlePlaneQuads' : 'conv2d_weight_grad.singlePlanes';

/** Runs case c under the packed policy with convSubgroups `subgroups`: asserts the kernels and checks values and gradients. */
async function checkSingle(c: Case, subgroups: 'shared' | 'off', expect: Partial<Expected> = {}, mode: 'dedicated' | 'shared' = 'dedicated', windows = true, tiles: TransposeTiles = 'strips'): Promise<void> {
  const expectSingle: Expected = { forward: true, input: c.opts.stride[0] === 1, weight: true, ...expect };
  gpu().policy.set({ convForward: 'packed', convInputGrad: 'packed', convWeightGrad: 'packed', convSingleChannel: mode, convSubgroups: subgroups, ...windowChoices(windows, tiles) });
  const w = [1, c.x[1], ...c.kernel];
  const what = `x [${c.x}] w [${w}] ${JSON.stringify(c.opts)}${c.bias ? ' bias' : ''} (${subgroups}, ${mode}${windows ? `, input grad ${tiles}` : ', no windows'})`;
  const shapes = c.bias ? [c.x, w, [1]] : [c.x, w];
  const op = ([x, wt, b]: Tensor[]) => conv2d(x, wt, b, c.opts);
  const names = await kernelsRun(rng, op, shapes);
  const tileable = mode === 'shared' && c.opts.stride[0] === 1 && c.opts.dilation[0] === 1 && Math.max(...c.kernel) <= 8;
  const outputs = c.x.slice(2).map((size, d) => size + 2 * c.opts.padding[d]! - c.kernel[d]! + 1);
  const rows = tileable && subgroups === 'shared' && subgroupsOfEight();
  const windowRows = rows && windows;
  const sliced = tileable && !windowRows && c.x[1]! >= 128 && c.x[0]! * Math.ceil(outputs[0]! / 4) * Math.ceil(outputs[1]! / 8) < 1024;
  const single = windowRows ? 'conv2d.rowsWindow' : sliced ? 'conv2d.rowsSliced' : rows ? 'conv2d.rowsSubgroup' : forwardName(subgroups);
  assert.is(names.includes(single), expectSingle.forward, `${what}: ${single} ${expectSingle.forward ? 'expected' : 'not expected'} among ${names.join(', ')}`);
  const transposeWindow = mode === 'shared' && windows && subgroups === 'shared' && subgroupsOfEight() && c.opts.dilation[0] === 1 && Math.max(...c.kernel) <= 8;
  const transpose = transposeWindow ? transposeTileKernel(tiles, c.x[3]!) : transposeName(subgroups);
  assert.is(names.includes(transpose), expectSingle.input, `${what}: ${transpose} ${expectSingle.input ? 'expected' : 'not expected'} among ${names.join(', ')}`);
  const sharedWeight = mode === 'shared' && subgroups === 'shared' && subgroupsOfEight();
  const byInputRows = sharedWeight && c.opts.stride[0] === 1 && c.opts.dilation[0] === 1 && c.kernel[0] <= 8;
  const planes = sharedWeight && gpu().policy.get('convSingleWeightGrad') !== 'rows' && planesFit(c.x[3]!, outputs[1]!, c.kernel, c.opts);
  const weight = planes ? planesName(c.x) : byInputRows ? 'conv2d_weight_grad.singleRowsSubgroup' : sharedWeight ? 'conv2d_weight_grad.singleSubgroup' : 'conv2d_weight_grad.single';
  assert.is(names.includes(weight), expectSingle.weight, `${what}: ${weight} ${expectSingle.weight ? 'expected' : 'not expected'} among ${names.join(', ')}`);
  await checkOp({
    name: what, inputs: shapes, forward: op, rng,
    reference: ([x, wt, b]) => ref.conv2d(x, wt, b, c.opts),
  });
}

const CASES: Case[] = [
  // FaPE-GAN's kinds: G's 7×7 unpadded output layer, D's 4×4 pad 1.
  { x: [2, 4, 13, 14], kernel: [7, 7], opts: { stride: [1, 1], padding: [0, 0], dilation: [1, 1] }, bias: false },
  { x: [3, 6, 7, 7], kernel: [4, 4], opts: { stride: [1, 1], padding: [1, 1], dilation: [1, 1] }, bias: true },
  // Odd non-square sizes, padding past the kernel's reach on one side, one input channel.
  { x: [1, 1, 5, 11], kernel: [3, 5], opts: { stride: [1, 1], padding: [2, 3], dilation: [1, 1] }, bias: true },
  // Stride 2 and dilation 2 in height (the width walks at stride 1), 8-wide kernel.
  { x: [2, 3, 11, 9], kernel: [3, 8], opts: { stride: [2, 1], padding: [1, 2], dilation: [2, 1] }, bias: false },
  // 1 × 1, and a 1-tall 2-wide kernel over 1-pixel-wide outputs.
  { x: [2, 5, 3, 9], kernel: [1, 1], opts: { stride: [1, 1], padding: [0, 0], dilation: [1, 1] }, bias: true },
  { x: [2, 3, 4, 2], kernel: [1, 2], opts: { stride: [1, 1], padding: [1, 0], dilation: [1, 1] }, bias: false },
];

for (const subgroups of ['shared', 'off'] as const) {
  test(`Cout = 1 forward (${subgroups}) and weight gradient against finite differences: chosen geometries`, async () => {
    for (const c of CASES) await checkSingle(c, subgroups);
  });
}

test('convSingleChannel shared (on subgroups of 8: the forward in tiles of output rows, rowsWindow or, under convSingleForward rows, rowsSubgroup\'s 4; the weight gradient sharing GY, by input rows: singleRowsSubgroup): output heights 1-9 (partial tiles), kernels 1×1 to 8×8, Cin 1-70 (partial workgroups of (ci, i) rows)', async () => {
  const cases: Case[] = [
    ...CASES,
    { x: [2, 3, 9, 17], kernel: [8, 8], opts: { stride: [1, 1], padding: [3, 4], dilation: [1, 1] }, bias: true },
    { x: [1, 70, 4, 9], kernel: [4, 2], opts: { stride: [1, 1], padding: [0, 1], dilation: [1, 1] }, bias: false },
    { x: [3, 2, 12, 3], kernel: [5, 3], opts: { stride: [1, 1], padding: [2, 1], dilation: [1, 1] }, bias: true },
  ];
  // The weight gradient on small planes with quad loads, with element loads (convSingleWeightGrad planes), by input rows (rows).
  for (const windows of [true, false]) {
    gpu().policy.set({ convSingleWeightGrad: windows ? 'planeQuads' : 'planes' });
    for (const c of cases) await checkSingle(c, 'shared', {}, 'shared', windows);
  }
  gpu().policy.set({ convSingleWeightGrad: 'rows' });
  for (const c of cases) await checkSingle(c, 'shared', {}, 'shared', true, 'window');
});

test('Cout = 1 forward in tiles of up to 16 rows x 16 or 8 columns (convSingleForwardColumns) and input gradient in tiles of up to 8 rows (rowsWindow both, convSingleForward and convSingleInputGrad window on subgroups of 8): output widths 6-14 (partial column tiles), heights split into uneven tiles (17: 2 of 9 / 3 of 6; 37: 3 of 13 / 5 of 8, the last short), one tile of 14 (D-out\'s kind), channels past a block of 8, kernels 1×7 to 8×8 and 7×1, padding, bias, batches, against finite differences', async () => {
  const cases: Case[] = [
    { x: [2, 3, 23, 20], kernel: [7, 7], opts: { stride: [1, 1], padding: [0, 0], dilation: [1, 1] }, bias: true },
    { x: [3, 2, 37, 11], kernel: [3, 5], opts: { stride: [1, 1], padding: [1, 2], dilation: [1, 1] }, bias: false },
    { x: [2, 11, 15, 15], kernel: [4, 4], opts: { stride: [1, 1], padding: [1, 1], dilation: [1, 1] }, bias: true },
    { x: [2, 5, 10, 13], kernel: [8, 8], opts: { stride: [1, 1], padding: [3, 4], dilation: [1, 1] }, bias: false },
    { x: [1, 4, 19, 9], kernel: [1, 7], opts: { stride: [1, 1], padding: [0, 3], dilation: [1, 1] }, bias: true },
    { x: [2, 3, 21, 6], kernel: [7, 1], opts: { stride: [1, 1], padding: [2, 0], dilation: [1, 1] }, bias: false },
  ];
  for (const [columns, tiles] of [[16, 'window'], [8, 'strips']] as const) {
    gpu().policy.set({ convSingleForwardColumns: columns });
    for (const c of cases) await checkSingle(c, 'shared', {}, 'shared', true, tiles);
  }
  // A batch in runs of whole images (x and gx 1 KiB an image, y 256 bytes, against a 4 KiB binding; offsets stay 256-byte
  // aligned, and y's 1280 bytes fit the bias gradient's one reduction): each run's tiles start at its first image.
  gpu().setMaxBindingBytes(4096);
  const chunked: Case = { x: [5, 4, 8, 8], kernel: [5, 5], opts: { stride: [1, 1], padding: [2, 2], dilation: [1, 1] }, bias: true };
  const names = await kernelsRun(rng, ([x, w, b]) => conv2d(x, w, b, chunked.opts), [chunked.x, [1, 4, 5, 5], [1]]);
  for (const name of ['conv2d.rowsWindow', 'conv_transpose2d.rowStrips']) {
    const launches = names.filter((n) => n === name).length;
    assert.ok(!subgroupsOfEight() || launches > 1, `x [${chunked.x}] in runs of images: expected several ${name} launches, got ${names.join(', ')}`);
  }
  for (const tiles of ['strips', 'window'] as const) await checkSingle(chunked, 'shared', {}, 'shared', true, tiles);
});

test('Cout = 1 input gradient down strips of rows (rowStrips) and in tiles (rowsWindow) against the float64 reference: heights over several strips (150: 3 of 50; 67: 2 of 34, the last run past H), rows that start on a quad or two past one (widths 16, 30: the quad and split stores, the row ends one at a time) and odd widths (21: rowStripsElements), channels past a block of 8, 7×7, 4×4 pad 1, 3×5 pad (1, 2), bias, several workgroups of 64 and of 8', async () => {
  const geometries: [Omit<ConvGeometry, 'OH' | 'OW' | 'Cout' | 'SH' | 'SW' | 'DH' | 'DW'>, boolean][] = [
    [{ N: 2, Cin: 13, H: 150, W: 30, KH: 7, KW: 7, PH: 0, PW: 0 }, true],
    [{ N: 3, Cin: 8, H: 67, W: 21, KH: 4, KW: 4, PH: 1, PW: 1 }, false],
    [{ N: 1, Cin: 17, H: 20, W: 16, KH: 3, KW: 5, PH: 1, PW: 2 }, true],
    // 1024 invocations a block of channels: workgroups of 64.
    [{ N: 16, Cin: 3, H: 64, W: 512, KH: 2, KW: 3, PH: 0, PW: 1 }, false],
  ];
  for (const [shape, withBias] of geometries) {
    const g: ConvGeometry = { ...shape, Cout: 1, OH: shape.H + 2 * shape.PH - shape.KH + 1, OW: shape.W + 2 * shape.PW - shape.KW + 1, SH: 1, SW: 1, DH: 1, DW: 1 };
    const gy = roundF32(ref.randn(rng, [g.N, 1, g.OH, g.OW]));
    const w = roundF32(ref.randn(rng, [1, g.Cin, g.KH, g.KW], 0.3));
    const bias = withBias ? roundF32(ref.randn(rng, [g.Cin])) : undefined;
    const expected = ref.convTranspose2d(gy, w, bias, { padding: [g.PH, g.PW] });
    const upload = (t: T64) => {
      const buffer = alloc(t.data.length);
      gpu().upload(buffer, Float32Array.from(t.data));
      return buffer;
    };
    const [gyBuffer, wBuffer, biasBuffer] = [upload(gy), upload(w), bias && upload(bias)];
    for (const tiles of ['strips', 'window'] as const) {
      gpu().policy.set({ convForward: 'packed', convInputGrad: 'packed', convWeightGrad: 'packed', convSingleChannel: 'shared', convSubgroups: 'shared', convSingleInputGrad: tiles });
      let gx: GPUBuffer | undefined;
      const { timings } = await gpu().profile(() => (gx = conv2dTranspose(gyBuffer, wBuffer, biasBuffer, g)));
      const name = subgroupsOfEight() ? transposeTileKernel(tiles, g.W) : 'conv_transpose2d.single';
      assert.ok(timings.some((t) => t.name === name), `${JSON.stringify(shape)}: expected ${name} among ${timings.map((t) => t.name).join(', ')}`);
      const got = new Float32Array(await gpu().read(gx!, expected.data.length * 4));
      assertNear(got, expected, `${JSON.stringify(shape)}${withBias ? ' bias' : ''}: ${name} vs float64`);
      gpu().pool.release(gx!);
    }
    [gyBuffer, wBuffer, biasBuffer].forEach((b) => b && gpu().pool.release(b));
  }
});

test('Cout = 1 forward in tiles of rows (rowsWindow; rowsSubgroup under convSingleForward rows) over 1024 tiles (workgroups of 64) and over fewer (of 8) matches the direct kernel', async () => {
  // The last: D-out's kind, 130 channels over one tile of 14 rows (no slices under rowsWindow).
  const geometries = [[[4, 3, 64, 128], [7, 7], [3, 3], false], [[2, 5, 14, 15], [4, 4], [1, 1], false], [[16, 3, 128, 128], [7, 7], [3, 3], true], [[3, 130, 15, 15], [4, 4], [1, 1], true]];
  for (const [x, kernel, padding, windows] of geometries as [number[], Pair, Pair, boolean][]) {
    const xs = ref.randn(rng, x);
    const w = ref.randn(rng, [1, x[1]!, ...kernel], 0.2);
    const run = async () => {
      const [tx, tw] = [toTensor(xs), toTensor(w)];
      const names = await kernelsRun(rng, ([a, b]) => conv2d(a!, b!, undefined, { padding }), [x, [1, x[1]!, ...kernel]]);
      const y = conv2d(tx, tw, undefined, { padding });
      const out = await toT64(y);
      [tx, tw, y].forEach((t) => t.dispose());
      return { names, out };
    };
    gpu().policy.set({ convForward: 'packed', convInputGrad: 'packed', convWeightGrad: 'packed', convSingleChannel: 'shared', convSubgroups: 'shared', ...windowChoices(windows) });
    const tiled = await run();
    const expected = subgroupsOfEight() ? (windows ? 'conv2d.rowsWindow' : 'conv2d.rowsSubgroup') : 'conv2d.single';
    assert.ok(tiled.names.includes(expected), `x [${x}]: expected ${expected} among ${tiled.names.join(', ')}`);
    gpu().policy.set({ convForward: 'direct', convInputGrad: 'direct', convWeightGrad: 'direct' });
    const direct = await run();
    assertNear(tiled.out, direct.out, `x [${x}] k ${kernel}: ${expected} vs direct forward`, 1e-4, 1e-5);
  }
});

test('Cout = 1 forward with the lanes of a subgroup side by side along a row, sharing their windows (rowsWindowShared, convSingleForward windowShared) against the float64 reference: subgroup tiles of 128 and 64 columns (convSingleForwardColumns 16 / 8) past OW (lanes that store nothing), the last tile one lane wide, row tiles split unevenly, kernels 1×1 to 8×8, 1×7 and 7×1, padding, Cin 1-13, bias, batches, workgroups of 8 and 64; where it does not apply (outputs narrower than half a subgroup tile, stride 2 or dilation 2 in height, stride 2 along the width, a 9-tall kernel) the other kernels', async () => {
  // [x, kernel, padding, columns, bias]; OW: 64 (lanes 4-7 past it), 136 (2 tiles, the second one lane), 40 (8 columns a lane),
  // 70, 81, 64, 70, 128 (1024 invocations: workgroups of 64).
  const cases: [number[], Pair, Pair, 16 | 8, boolean][] = [
    [[2, 5, 23, 70], [7, 7], [0, 0], 16, true], [[3, 3, 20, 137], [4, 4], [1, 1], 16, false], [[1, 13, 9, 44], [3, 5], [1, 0], 8, true],
    [[2, 6, 5, 70], [1, 1], [0, 0], 16, true], [[2, 5, 12, 80], [8, 8], [3, 4], 16, false], [[1, 4, 3, 64], [1, 7], [0, 3], 8, true],
    [[2, 1, 19, 70], [7, 1], [2, 0], 16, false], [[16, 2, 128, 128], [7, 7], [3, 3], 16, true],
  ];
  for (const [x, kernel, padding, columns, withBias] of cases) {
    gpu().policy.set({ convForward: 'packed', convSingleChannel: 'shared', convSubgroups: 'shared', convSingleForward: 'windowShared', convSingleForwardColumns: columns });
    const what = `x [${x}] k ${kernel} p ${padding} columns ${columns}${withBias ? ' bias' : ''}`;
    const [xs, w, b] = [roundF32(ref.randn(rng, x)), roundF32(ref.randn(rng, [1, x[1]!, ...kernel], 0.2)), roundF32(ref.randn(rng, [1]))];
    const inputs = [toTensor(xs), toTensor(w), toTensor(b)];
    const run = () => conv2d(inputs[0]!, inputs[1]!, withBias ? inputs[2] : undefined, { padding });
    const { timings } = await gpu().profile(() => run().dispose());
    const name = subgroupsOfEight() ? 'conv2d.rowsWindowShared' : 'conv2d.single';
    assert.ok(timings.some((t) => t.name === name), `${what}: ${name} expected among ${timings.map((t) => t.name).join(', ')}`);
    const y = run();
    assertNear(await toT64(y), ref.conv2d(xs, w, withBias ? b : undefined, { padding }), `${what}: ${name} forward`, 1e-4, 1e-5);
    [y, ...inputs].forEach((t) => t.dispose());
  }
  // Where rowsWindowShared does not apply, under windowShared: 40 columns of 16 a lane (below half of 128: rowsWindow); stride 2
  // or dilation 2 in height, a 9-tall kernel (not tileable: singleSubgroup); stride 2 along the width (the packed kernels).
  const declined: [Case, string][] = [
    [{ x: [2, 3, 9, 46], kernel: [7, 7], opts: { stride: [1, 1], padding: [0, 0], dilation: [1, 1] }, bias: true }, 'conv2d.rowsWindow'],
    [{ x: [2, 3, 11, 70], kernel: [3, 3], opts: { stride: [2, 1], padding: [1, 1], dilation: [1, 1] }, bias: false }, 'conv2d.singleSubgroup'],
    [{ x: [2, 3, 11, 70], kernel: [3, 3], opts: { stride: [1, 1], padding: [1, 1], dilation: [2, 1] }, bias: true }, 'conv2d.singleSubgroup'],
    [{ x: [1, 2, 12, 70], kernel: [9, 3], opts: { stride: [1, 1], padding: [0, 1], dilation: [1, 1] }, bias: false }, 'conv2d.singleSubgroup'],
    [{ x: [2, 3, 9, 70], kernel: [3, 3], opts: { stride: [1, 2], padding: [1, 1], dilation: [1, 1] }, bias: true }, 'conv2d.packed'],
  ];
  for (const [c, expected] of declined) {
    gpu().policy.set({ convForward: 'packed', convSingleChannel: 'shared', convSubgroups: 'shared', convSingleForward: 'windowShared', convSingleForwardColumns: 16 });
    const what = `x [${c.x}] k ${c.kernel} ${JSON.stringify(c.opts)}${c.bias ? ' bias' : ''} under windowShared`;
    const [xs, w, b] = [roundF32(ref.randn(rng, c.x)), roundF32(ref.randn(rng, [1, c.x[1]!, ...c.kernel], 0.2)), roundF32(ref.randn(rng, [1]))];
    const inputs = [toTensor(xs), toTensor(w), toTensor(b)];
    const run = () => conv2d(inputs[0]!, inputs[1]!, c.bias ? inputs[2] : undefined, c.opts);
    const { timings } = await gpu().profile(() => run().dispose());
    const names = timings.map((t) => t.name);
    assert.ok(!names.includes('conv2d.rowsWindowShared'), `${what}: rowsWindowShared not expected among ${names.join(', ')}`);
    if (subgroupsOfEight()) assert.ok(names.some((n) => n.startsWith(expected)), `${what}: ${expected} expected among ${names.join(', ')}`);
    const y = run();
    assertNear(await toT64(y), ref.conv2d(xs, w, c.bias ? b : undefined, c.opts), `${what}: forward`, 1e-4, 1e-5);
    [y, ...inputs].forEach((t) => t.dispose());
  }
});

test('Cout = 1 with many input channels (Cin 70: K past several octets, 2 workgroups of (ci, i) rows), 9 slices of output rows', async () => {
  await checkSingle({ x: [3, 70, 6, 5], kernel: [2, 3], opts: { stride: [1, 1], padding: [1, 1], dilation: [1, 1] }, bias: true }, 'shared');
  // 24 output rows split into slices: 1 x 2 rows of taps = 2 columns, so 4096 / 2 invocations wanted: one row per slice.
  await checkSingle({ x: [2, 1, 12, 21], kernel: [2, 5], opts: { stride: [1, 1], padding: [1, 2], dilation: [1, 1] }, bias: false }, 'off');
});

test('Cout = 1 random geometries against finite differences', async () => {
  for (let i = 0; i < 6; i++) {
    const kernel: Pair = [ref.randint(rng, [1], 1, 5).data[0]!, ref.randint(rng, [1], 1, 9).data[0]!];
    const padding: Pair = [ref.randint(rng, [1], 0, kernel[0]).data[0]!, ref.randint(rng, [1], 0, kernel[1]).data[0]!];
    const dilation: Pair = [ref.randint(rng, [1], 1, 3).data[0]!, 1];
    const stride: Pair = [ref.randint(rng, [1], 1, 3).data[0]!, 1];
    const x = [ref.randint(rng, [1], 1, 4).data[0]!, ref.randint(rng, [1], 1, 9).data[0]!, dilation[0] * (kernel[0] - 1) + ref.randint(rng, [1], 1, 6).data[0]!, kernel[1] + ref.randint(rng, [1], 0, 12).data[0]!];
    await checkSingle({ x, kernel, opts: { stride, padding, dilation }, bias: i % 2 === 0 }, i % 3 === 0 ? 'off' : 'shared', { weight: kernel[1] <= 8 });
  }
});

test('Cout = 1 falls back where the kernels do not walk: stride 2 or dilation 2 along the width (both), a 9-wide kernel (weight gradient), convSingleChannel generic', async () => {
  await checkSingle({ x: [2, 3, 9, 11], kernel: [4, 4], opts: { stride: [2, 2], padding: [1, 1], dilation: [1, 1] }, bias: true }, 'shared', { forward: false, input: false, weight: false });
  await checkSingle({ x: [2, 3, 9, 11], kernel: [3, 3], opts: { stride: [1, 1], padding: [1, 1], dilation: [1, 2] }, bias: false }, 'off', { forward: false, input: false, weight: false });
  await checkSingle({ x: [2, 2, 5, 12], kernel: [2, 9], opts: { stride: [1, 1], padding: [0, 4], dilation: [1, 1] }, bias: false }, 'shared', { weight: false });
  gpu().policy.set({ convForward: 'packed', convWeightGrad: 'packed', convSingleChannel: 'generic' });
  const names = await kernelsRun(rng, ([x, w]) => conv2d(x, w, undefined, { padding: 1 }), [[2, 3, 6, 6], [1, 3, 4, 4]]);
  assert.ok(!names.some((n) => n.includes('single')), `convSingleChannel generic: ${names.join(', ')}`);
});

test('convSingleChannel shared without the subgroup kernels (convSubgroups off, as on SwiftShader\'s subgroups of 4) runs the plain Cout = 1 kernels', async () => {
  await checkSingle({ x: [2, 8, 9, 20], kernel: [3, 3], opts: { stride: [1, 1], padding: [1, 1], dilation: [1, 1] }, bias: true }, 'off', {}, 'shared');
  await checkSingle({ x: [3, 5, 6, 7], kernel: [4, 4], opts: { stride: [1, 1], padding: [1, 1], dilation: [1, 1] }, bias: false }, 'off', {}, 'shared');
});

test('Cout = 1 forward over few tiles with many input channels (rowsSliced, under shared without subgroups or under convSingleForward rows): channels in slices (an uneven last one, 9 slices, one slice), kernels 1×1 to 8×8, odd sizes, padding, bias, against the float64 reference', async () => {
  // [x, kernel, padding, bias]: 12 tiles x 4 slices of 33 channels (the last 32); 2 tiles x 9 of 34 (the last 28);
  // 288 tiles, one slice (written straight to y); a 1×1.
  const cases: [number[], Pair, Pair, boolean][] = [
    [[3, 131, 7, 9], [4, 4], [1, 1], true], [[1, 300, 5, 11], [8, 8], [3, 4], false], [[4, 128, 34, 64], [3, 2], [1, 0], true], [[2, 160, 3, 17], [1, 1], [0, 0], true],
  ];
  for (const subgroups of ['shared', 'off'] as const) {
    gpu().policy.set({ convForward: 'packed', convInputGrad: 'packed', convWeightGrad: 'packed', convSingleChannel: 'shared', convSubgroups: subgroups, ...windowChoices(false) });
    for (const [x, kernel, padding, withBias] of cases) {
      const what = `x [${x}] k ${kernel} p ${padding}${withBias ? ' bias' : ''} (${subgroups})`;
      const [xs, w, b] = [ref.randn(rng, x), ref.randn(rng, [1, x[1]!, ...kernel], 0.1), ref.randn(rng, [1])];
      const inputs = [toTensor(xs), toTensor(w), toTensor(b)];
      const run = () => conv2d(inputs[0]!, inputs[1]!, withBias ? inputs[2] : undefined, { padding });
      const { timings } = await gpu().profile(() => run().dispose());
      assert.ok(timings.some((t) => t.name === 'conv2d.rowsSliced'), `${what}: conv2d.rowsSliced expected among ${timings.map((t) => t.name).join(', ')}`);
      const y = run();
      assertNear(await toT64(y), ref.conv2d(xs, w, withBias ? b : undefined, { padding }), `${what}: rowsSliced forward`, 1e-4, 1e-5);
      [y, ...inputs].forEach((t) => t.dispose());
    }
  }
  // Gradients against finite differences, Cin 128 over 2 tiles x 4 slices.
  await checkSingle({ x: [2, 128, 5, 6], kernel: [3, 3], opts: { stride: [1, 1], padding: [1, 1], dilation: [1, 1] }, bias: true }, 'off', {}, 'shared');
  // A batch in runs of whole images (x 64 KiB an image against a 160 KiB binding): each run's slice sums land at its images' place in y.
  gpu().policy.set(windowChoices(false));
  gpu().setMaxBindingBytes(160 * 1024);
  const [xs, w, b] = [ref.randn(rng, [5, 128, 8, 16]), ref.randn(rng, [1, 128, 3, 3], 0.1), ref.randn(rng, [1])];
  const inputs = [toTensor(xs), toTensor(w), toTensor(b)];
  const { result: y, timings } = await gpu().profile(() => conv2d(inputs[0]!, inputs[1]!, inputs[2], { padding: 1 }));
  const launches = timings.find((t) => t.name === 'conv2d.rowsSliced')?.calls ?? 0;
  assert.ok(launches > 1, `x [5, 128, 8, 16] in runs of images: expected several conv2d.rowsSliced launches, got ${timings.map((t) => `${t.name} x${t.calls}`).join(', ')}`);
  assertNear(await toT64(y), ref.conv2d(xs, w, b, { padding: 1 }), 'x [5, 128, 8, 16] in runs of images: rowsSliced forward', 1e-4, 1e-5);
  [y, ...inputs].forEach((t) => t.dispose());
});

test('Cout = 1 weight gradient over long sums matches the float64 reference, by input rows (singleRowsSubgroup) and on small planes (singlePlaneQuads under convSingleWeightGrad planeQuads, singlePlanes under planes), shared on subgroups of 8: G\'s 7×7 kind, D\'s 4×4 512→1 kind (3 workgroups, the last partial), 8 channels (narrow workgroups); planes: 17 images in slices of 2 (the last 1) over 5 workgroups, channels short of a block of 32 (quads: lanes 4 channels apart, some past Cin), rows of 13, 15 and 16 (starting at every offset in a vec4), outputs at most 8 wide (one octet of GY), 16 tap rows, 8-wide taps, padding past the kernel\'s reach, an input of odd length (planeQuads falls back to planes), stride 2 in height (falls back to rows)', async () => {
  const cases: [number[], Pair, Pair, Pair][] = [
    [[3, 5, 40, 37], [7, 7], [0, 0], [1, 1]], [[2, 130, 15, 15], [4, 4], [1, 1], [1, 1]], [[4, 8, 38, 21], [7, 5], [0, 2], [1, 1]],
    [[17, 300, 9, 13], [4, 4], [1, 1], [1, 1]], [[3, 11, 16, 16], [1, 3], [0, 1], [1, 1]], [[5, 9, 7, 5], [3, 5], [2, 2], [1, 1]],
    [[2, 20, 11, 16], [16, 1], [8, 0], [1, 1]], [[4, 7, 13, 9], [2, 8], [1, 4], [1, 1]], [[3, 6, 11, 15], [3, 4], [1, 1], [2, 1]],
  ];
  for (const kernels of ['planeQuads', 'planes', 'rows'] as const) {
    gpu().policy.set({ convForward: 'packed', convInputGrad: 'packed', convWeightGrad: 'packed', convSingleChannel: 'shared', convSubgroups: 'shared', convSingleWeightGrad: kernels });
    for (const [x, kernel, padding, stride] of cases) {
      const [N, Cin, H, W] = x as [number, number, number, number];
      const [OH, OW] = [0, 1].map((d) => Math.floor((x[d + 2]! + 2 * padding[d]! - kernel[d]!) / stride[d]!) + 1) as Pair;
      const opts = { stride, padding, dilation: [1, 1] as Pair };
      const planes = kernels !== 'rows' && planesFit(W, OW, kernel, opts);
      const expected = !subgroupsOfEight() ? 'conv2d_weight_grad.single' : planes ? planesName(x) : stride[0] === 1 && kernel[0] <= 8 ? 'conv2d_weight_grad.singleRowsSubgroup' : 'conv2d_weight_grad.singleSubgroup';
      const what = `x [${x}] k ${kernel} p ${padding} s ${stride} (${kernels})`;
      const [xs, w] = [ref.randn(rng, x), ref.randn(rng, [1, Cin, ...kernel], 0.1)];
      const [tx, tw] = [toTensor(xs), toTensor(w, true)];
      const y = conv2d(tx, tw, undefined, { stride, padding });
      const gy = ref.randn(rng, [...y.shape]);
      const tgy = toTensor(gy);
      const { timings } = await gpu().profile(() => y.backward(tgy));
      assert.ok(timings.some((t) => t.name === expected), `${what}: ${expected} expected among ${timings.map((t) => t.name).join(', ')}`);
      // gW[0, ci, i, j] = Σ_n Σ_{oh, ow} gy[n, 0, oh, ow] · x[n, ci, oh·SH - PH + i, ow·SW - PW + j] (0 outside x).
      const expectedGrad: T64 = { shape: [1, Cin, ...kernel], data: new Float64Array(Cin * kernel[0] * kernel[1]) };
      for (let n = 0; n < N; n++) {
        for (let ci = 0; ci < Cin; ci++) {
          for (let i = 0; i < kernel[0]; i++) {
            for (let j = 0; j < kernel[1]; j++) {
              let sum = 0;
              for (let oh = 0; oh < OH; oh++) {
                const ih = oh * stride[0] - padding[0] + i;
                if (ih < 0 || ih >= H) continue;
                for (let ow = 0; ow < OW; ow++) {
                  const iw = ow * stride[1] - padding[1] + j;
                  if (iw >= 0 && iw < W) sum += gy.data[(n * OH + oh) * OW + ow]! * xs.data[((n * Cin + ci) * H + ih) * W + iw]!;
                }
              }
              expectedGrad.data[(ci * kernel[0] + i) * kernel[1] + j]! += sum;
            }
          }
        }
      }
      assertNear(await toT64(tw.grad!), expectedGrad, `${what}: weight gradient`, 1e-4, 1e-5);
      [tx, tw, y, tgy].forEach((t) => t.dispose());
    }
  }
});

test('Cout = 1 over a batch larger than one binding: the single kernels run once per run of whole images', async () => {
  // x 2 x 8 x 16 floats per image (1 KiB), y 8 x 16 (512 bytes; whole images stay offset-aligned): 5 images
  // against a 4 KiB limit run in several launches.
  gpu().setMaxBindingBytes(4096);
  for (const subgroups of ['shared', 'off'] as const) {
    const c: Case = { x: [5, 2, 8, 16], kernel: [3, 3], opts: { stride: [1, 1], padding: [1, 1], dilation: [1, 1] }, bias: true };
    gpu().policy.set({ convForward: 'packed', convInputGrad: 'packed', convWeightGrad: 'packed', convSingleChannel: 'dedicated', convSubgroups: subgroups });
    const names = await kernelsRun(rng, ([x, w, b]) => conv2d(x, w, b, c.opts), [c.x, [1, 2, 3, 3], [1]]);
    const count = (name: string) => names.filter((n) => n === name).length;
    assert.ok(count(forwardName(subgroups)) > 1 && count(transposeName(subgroups)) > 1 && count('conv2d_weight_grad.single') > 1, `expected several single launches, got ${names.join(', ')}`);
    await checkSingle(c, subgroups);
  }
});

test('the Cout = 1 kernels test bounds with & and |, never short-circuit && or || (each a SPIR-V branch: SwiftShader never finished compiling conv2d_single.wgsl with them)', () => {
  const files = Object.keys(shaderSources).filter((name) => /^conv(2d|_transpose2d)(_weight_grad)?_single/.test(name));
  assert.equal(files.sort(), ['conv2d_single', 'conv2d_single_sliced', 'conv2d_single_subgroup', 'conv2d_weight_grad_single', 'conv2d_weight_grad_single_planes', 'conv2d_weight_grad_single_subgroup', 'conv_transpose2d_single', 'conv_transpose2d_single_strips', 'conv_transpose2d_single_strips_elements', 'conv_transpose2d_single_subgroup']);
  for (const file of files) {
    shaderSources[file]!.split('\n').forEach((line, i) => {
      const code = line.replace(/\/\/.*$/, '');
      assert.ok(!/&&|\|\|/.test(code), `shaders/${file}.wgsl (as bundled, includes spliced in) line ${i + 1} uses a short-circuit operator: ${line.trim()} (write (a) & (b): scripts/repro-swiftshader-compile.mjs shows why)`);
    });
  }
});

test.run();
