// The stride-2 transposed convolution (conv2d's input gradient, convTranspose2d's forward) on this
// adapter: the gather kernel (conv_transpose2d.registerTiled, the packed variant's kernel at
// stride > 1 before the phases) beside the phases (what the packed variant runs now:
// conv_transpose2d_phase_subgroup.wgsl on subgroups of 8 for more than 8 input channels, else
// conv_transpose2d_phase.wgsl), alternating one call of each per round in one process, best of the
// rounds; weight packing included in the time. The same shapes are convTranspose2d forwards (G's
// up-sampling layers: 256->128 64² and 128->64 128² are the G conv3 and conv2 rows).
// Shapes: FaPE-GAN's stride-2 layers at paper scale (128² images), batch reduced (--batch).
//   node --import tsx bench/conv-stride2.ts [--batch 2] [--rounds 4]
import { parseArgs } from 'node:util';
import { init } from '../src/gpu/index.js';
import { conv2dTranspose, type ConvGeometry } from '../src/kernels/conv.js';
import { comparePassVariants, randomValues, squareGeometry } from './conv-variants.js';

const { values } = parseArgs({ options: { batch: { type: 'string', default: '2' }, rounds: { type: 'string', default: '4' } } });
const N = Number(values.batch);
const rounds = Number(values.rounds);
await init();

const geometry = (Cin: number, Cout: number, H: number, K: number, S: number, P: number) => squareGeometry(N, Cin, Cout, H, K, S, P);
const rows: { name: string; g: ConvGeometry }[] = [
  { name: 'G conv2 3x3 s2 input grad', g: geometry(64, 128, 128, 3, 2, 1) },
  { name: 'G conv3 3x3 s2 input grad', g: geometry(128, 256, 64, 3, 2, 1) },
  { name: 'D conv1 4x4 s2 input grad', g: geometry(2, 64, 128, 4, 2, 1) },
  { name: 'D conv2 4x4 s2 input grad', g: geometry(64, 128, 64, 4, 2, 1) },
  { name: 'D conv3 4x4 s2 input grad', g: geometry(128, 256, 32, 4, 2, 1) },
];
await comparePassVariants({
  key: 'convInputGrad', variants: ['registerTiled', 'packed'], labels: ['gather (registerTiled)', 'phases'],
  inputs: (g) => [randomValues(g.N * g.Cout * g.OH * g.OW, 1), randomValues(g.Cout * g.Cin * g.KH * g.KW, 2, 0.1)],
  run: (g, [gy, w]) => conv2dTranspose(gy!, w!, undefined, g),
  outputCount: (g) => g.N * g.Cin * g.H * g.W,
}, rows, rounds);
