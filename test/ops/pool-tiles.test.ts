// The max-pool paths for windows that tile the plane (src/kernels/pool.ts): pool_quads.wgsl
// (2 x 2 / stride 2, no padding, W % 8 == 0) and pool.wgsl's maxBackwardTiles (kernel = stride,
// dilation 1, padding <= stride / 2), against the float64 reference: which kernels run, values,
// indices and finite-difference gradients on odd H / W and ceil- and floor-mode edges, batch > 1;
// then ties, NaN (wins, propagates, takes the index and the gradient; a later NaN takes over, as
// PyTorch's `val > max || isnan(val)`) with exact expected gradients; and the general kernels'
// results bit for bit.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { maxPool2d, maxPool2dGeometry, maxPool2dWithIndices, type MaxPool2dOptions } from '../../src/nn/functional/pool.js';
import { maxPoolBackward, maxPoolForward } from '../../src/kernels/pool.js';
import { gpu } from '../../src/gpu/index.js';
import { alloc } from '../../src/kernels/launch.js';
import { assertNear, checkOp, draw, fileRng, kernelsRun, ref, setup, toT64, toTensor, type T64 } from './helpers.js';

const rng = fileRng('pool-tiles');
test.before(setup);

interface Case {
  x: number[];
  opts: MaxPool2dOptions;
  /** The forward and backward kernels the case must reach. */
  kernels: [string, string];
}
const quads: [string, string] = ['pool.maxForwardQuads', 'pool.maxBackwardQuads'];
const tiles: [string, string] = ['pool.maxForward', 'pool.maxBackwardTiles'];
const lightcnn: MaxPool2dOptions = { kernelSize: 2, stride: 2, ceilMode: true };
const cases: Case[] = [
  { x: [2, 3, 5, 8], opts: lightcnn, kernels: quads }, // odd H, ceil: a last window row of one input row
  { x: [2, 3, 7, 16], opts: { kernelSize: 2 }, kernels: quads }, // odd H, floor: the last input row in no window
  { x: [3, 2, 6, 24], opts: lightcnn, kernels: quads }, // 3 quads per row
  { x: [2, 2, 1, 8], opts: lightcnn, kernels: quads }, // one input row
  { x: [2, 3, 7, 5], opts: lightcnn, kernels: tiles }, // odd H and W, ceil
  { x: [2, 2, 8, 4], opts: lightcnn, kernels: tiles }, // W % 8 != 0
  { x: [2, 2, 9, 10], opts: { kernelSize: 3, ceilMode: true }, kernels: tiles },
  { x: [2, 2, 7, 7], opts: { kernelSize: 3 }, kernels: tiles }, // floor: the last row and column in no window
  { x: [2, 2, 7, 9], opts: { kernelSize: [2, 3], stride: [2, 3] }, kernels: tiles },
  { x: [1, 3, 7, 7], opts: { kernelSize: 2, padding: 1, ceilMode: true }, kernels: tiles }, // padded tiles
  { x: [2, 2, 6, 6], opts: { kernelSize: 2, padding: 1 }, kernels: tiles }, // padding adds a tile column: 4 tiles of 6 columns
  { x: [2, 2, 6, 5], opts: { kernelSize: [3, 2], padding: [1, 0], ceilMode: true }, kernels: tiles }, // ceil drops a window starting in the padding
  { x: [2, 2, 7, 8], opts: { kernelSize: 3, stride: 2 }, kernels: ['pool.maxForward', 'pool.maxBackward'] }, // overlapping: the general kernels
];
const describe = (c: Case) => `x [${c.x}] ${JSON.stringify(c.opts)}`;

test('tiling max pools reach their kernels', async () => {
  for (const c of cases) {
    const ran = await kernelsRun(rng, ([x]) => maxPool2d(x, c.opts), [c.x]);
    for (const name of c.kernels) assert.ok(ran.includes(name), `${describe(c)}: expected ${name}, ran ${ran.join(', ')}`);
  }
});

test('tiling max pools: forward, indices and gradient against the reference (ceil / floor edges, batch > 1)', async () => {
  for (const c of cases) {
    await checkOp({
      name: `maxPool2d ${describe(c)}`,
      inputs: [{ shape: c.x, draw: draw.distinct }],
      forward: ([x]) => maxPool2d(x, c.opts),
      reference: ([x]) => ref.maxPool2d(x, c.opts),
      rng,
    });
    const x = ref.map(ref.randDistinct(rng, c.x, 0.1), Math.fround);
    const { values, indices } = maxPool2dWithIndices(toTensor(x), c.opts);
    assertNear(await toT64(indices), ref.maxPool2dIndices(x, c.opts), `maxPool2d indices ${describe(c)}`, 0, 0);
    values.dispose();
    indices.dispose();
  }
});

/** The input gradient PyTorch gives: each window's gradient added at its index (the reference's indices), in f32 and window order where windows overlap. */
function gradientByIndices(xShape: number[], indices: T64, g: T64): T64 {
  const [N, C, H, W] = xShape;
  const planeOut = indices.data.length / (N! * C!);
  const gx = { shape: xShape, data: new Float64Array(N! * C! * H! * W!) };
  for (let o = 0; o < indices.data.length; o++) {
    const at = Math.floor(o / planeOut) * H! * W! + indices.data[o]!;
    gx.data[at] = Math.fround(gx.data[at]! + g.data[o]!);
  }
  return gx;
}

/** Values from {0, 1, 2} (ties everywhere), a quarter of them NaN. */
function tiesAndNans(shape: number[]): T64 {
  const x = ref.randu(rng, shape, 0, 3);
  x.data.forEach((v, i) => (x.data[i] = rng.uniform() < 0.25 ? NaN : Math.floor(v)));
  return x;
}

function sameBits(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string) {
  assert.is(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    if (!Object.is(actual[i], expected[i]) && !(Number.isNaN(actual[i]) && Number.isNaN(expected[i]))) assert.unreachable(`${what}: element ${i} is ${actual[i]}, expected ${expected[i]}`);
  }
}

test('tiling max pools: ties go to the first maximum, NaN wins (a later NaN taking over) and takes the gradient', async () => {
  for (const c of cases) {
    const x = tiesAndNans(c.x);
    const expected = ref.maxPool2dWithIndices(x, c.opts);
    const t = toTensor(x, true);
    const { values, indices } = maxPool2dWithIndices(t, c.opts);
    sameBits(await values.toArray(), expected.values.data, `values ${describe(c)}`);
    sameBits(await indices.toArray(), expected.indices.data, `indices ${describe(c)}`);
    const g = ref.map(ref.randn(rng, expected.values.shape), Math.fround);
    const gy = toTensor(g);
    values.backward(gy);
    sameBits(await t.grad!.toArray(), gradientByIndices(c.x, expected.indices, g).data, `gradient ${describe(c)}`);
    for (const u of [t, values, indices, gy]) u.dispose();
  }
});

test('tiling max pools: the same values, indices and gradients as the general kernels, bit for bit', async () => {
  for (const c of cases) {
    const g = maxPool2dGeometry('maxPool2d', c.x, c.opts);
    const x = alloc(g.planes * g.H * g.W);
    const gy = alloc(g.planes * g.OH * g.OW);
    gpu().upload(x, Float32Array.from(tiesAndNans(c.x).data));
    gpu().upload(gy, Float32Array.from(ref.randn(rng, [g.planes * g.OH * g.OW]).data));
    const read = async (b: GPUBuffer, count: number) => new Float32Array(await gpu().read(b, 4 * count));
    const results: Float32Array[][] = [];
    for (const path of ['general', 'auto'] as const) {
      const { values, indices } = maxPoolForward(x, g, path);
      const gx = maxPoolBackward(gy, indices, g, path);
      results.push([await read(values, g.planes * g.OH * g.OW), await read(indices, g.planes * g.OH * g.OW), await read(gx, g.planes * g.H * g.W)]);
      for (const b of [values, indices, gx]) gpu().pool.release(b);
    }
    ['values', 'indices', 'gradient'].forEach((what, i) => sameBits(results[1]![i]!, results[0]![i]!, `${what} ${describe(c)}`));
    gpu().pool.release(x);
    gpu().pool.release(gy);
  }
});

test.run();
