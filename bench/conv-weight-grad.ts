// conv2d's weight gradient on this adapter for the geometries no vec4 kernel takes: registerTiled
// (conv2d_weight_grad.wgsl, the packed variant's kernel there before the subgroup kernels) beside what
// the packed variant runs now (conv2d_weight_grad_packed_subgroup.wgsl on subgroups of 8: windowSubgroup,
// narrowSubgroup for 1-8 out channels), alternating one call of each per round in one process, best of the rounds;
// the split-K reduction included in the time.
// Shapes: FaPE-GAN's layers at paper scale (128² images; G's 7×7 over the reflection-padded 134²).
//   node --import tsx bench/conv-weight-grad.ts [--batch 4] [--rounds 3] [--only <substring>]
import { parseArgs } from 'node:util';
import { init } from '../src/gpu/index.js';
import { conv2dWeightGrad, type ConvGeometry } from '../src/kernels/conv.js';
import { comparePassVariants, randomValues, squareGeometry } from './conv-variants.js';

const { values } = parseArgs({ options: { batch: { type: 'string', default: '4' }, rounds: { type: 'string', default: '3' }, only: { type: 'string', default: '' } } });
const N = Number(values.batch);
const rounds = Number(values.rounds);
await init();

const geometry = (Cin: number, Cout: number, H: number, K: number, S: number, P: number) => squareGeometry(N, Cin, Cout, H, K, S, P);
const rows: { name: string; g: ConvGeometry }[] = [
  { name: 'G conv1 7x7', g: geometry(2, 64, 134, 7, 1, 0) },
  { name: 'G conv2 3x3 s2', g: geometry(64, 128, 128, 3, 2, 1) },
  { name: 'G conv3 3x3 s2', g: geometry(128, 256, 64, 3, 2, 1) },
  { name: 'G out 7x7', g: geometry(64, 1, 134, 7, 1, 0) },
  { name: 'D conv1 4x4 s2', g: geometry(2, 64, 128, 4, 2, 1) },
  { name: 'D conv2 4x4 s2', g: geometry(64, 128, 64, 4, 2, 1) },
  { name: 'D conv3 4x4 s2', g: geometry(128, 256, 32, 4, 2, 1) },
  { name: 'D conv4 4x4 s1', g: geometry(256, 512, 16, 4, 1, 1) },
  { name: 'D out 4x4 s1', g: geometry(512, 1, 15, 4, 1, 1) },
].filter((r) => r.name.includes(values.only!));
await comparePassVariants({
  key: 'convWeightGrad', variants: ['registerTiled', 'packed'], labels: ['registerTiled', 'packed (now)'],
  inputs: (g) => [randomValues(g.N * g.Cin * g.H * g.W, 1), randomValues(g.N * g.Cout * g.OH * g.OW, 2)],
  run: (g, [x, gy]) => conv2dWeightGrad(x!, gy!, g),
  outputCount: (g) => g.Cout * g.Cin * g.KH * g.KW,
}, rows, rounds);
