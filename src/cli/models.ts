// `webfer models`: parameters and multiply-accumulates per image of LightCNN-9 / -29 / -29v2 and
// FaPE-GAN's G and D, counted from their configurations (no device needed; see models/cost.ts).
import type { CommandModule } from 'yargs';
import { fapeGeneratorCost, lightcnnCost, patchDiscriminatorCost, type ModelCost } from '../models/cost.js';
import { LIGHTCNN_VARIANTS } from '../models/lightcnn.js';
import { checkFiniteNumber, checkGanImageSize, checkInteger } from './option-checks.js';

export const MAC_CONVENTION =
  'one per multiply-add of conv / transposed conv / linear layers (fvcore\'s convention; transposed convs counted on their input grid); ' +
  'biases, norms, pooling, max-feature-map, activations and residual adds not counted';

interface ModelsArgs {
  json: boolean;
  inputSize: number;
  classes: number;
  width: number;
  ganWidth: number;
  ganBlocks: number;
}

function formatShape(shape: readonly number[]): string {
  return shape.join('×');
}

function formatGiga(macs: number): string {
  return `${(macs / 1e9).toFixed(macs >= 1e10 ? 1 : 2)} G`;
}

export const modelsCommand: CommandModule<object, ModelsArgs> = {
  command: 'models',
  describe: 'Parameters and multiply-accumulates (MACs) per image of LightCNN-9/-29/-29v2 and FaPE-GAN G and D, counted from their layer shapes',
  builder: (yargs) =>
    yargs
      .option('input-size', { type: 'number', default: 128, describe: 'square input in pixels (a multiple of 4, at least 24)' })
      .option('classes', { type: 'number', default: 54, describe: 'LightCNN classifier outputs (54 for F²ED, 7 for FER2013 / JAFFE)' })
      .option('width', { type: 'number', default: 1, describe: 'LightCNN channel width multiplier (as `webfer train --width`)' })
      .option('gan-width', { type: 'number', default: 64, describe: 'FaPE-GAN base width (as `webfer gan-train --width`; paper 64)' })
      .option('gan-blocks', { type: 'number', default: 9, describe: 'FaPE-GAN residual blocks (as `webfer gan-train --blocks`; paper 9)' })
      .option('json', { type: 'boolean', default: false, describe: 'print JSON, with every layer\'s output shape, parameters and MACs' })
      .epilogue(`MACs: ${MAC_CONVENTION}.`)
      .check((parsed) => {
        const argv = parsed as unknown as ModelsArgs;
        checkGanImageSize(argv.inputSize, '--input-size');
        checkInteger(argv.classes, '--classes', 1, 'e.g. --classes 54 (F²ED) or 7 (FER2013)');
        checkFiniteNumber(argv.width, '--width', 0, 'e.g. --width 0.25', false, 4);
        checkInteger(argv.ganWidth, '--gan-width', 1, 'e.g. --gan-width 64 (the paper) or 16');
        checkInteger(argv.ganBlocks, '--gan-blocks', 0, 'e.g. --gan-blocks 9 (the paper) or 3');
        return true;
      }) as never,
  handler: (argv) => {
    const lightcnn = { classes: argv.classes, inputSize: argv.inputSize, widthMultiplier: argv.width };
    const gan = { channels: 1 as const, baseWidth: argv.ganWidth, residualBlocks: argv.ganBlocks, norm: 'batch' as const, imageSize: argv.inputSize };
    const costs: ModelCost[] = [
      ...LIGHTCNN_VARIANTS.map((variant) => lightcnnCost({ ...lightcnn, variant })),
      fapeGeneratorCost(gan),
      patchDiscriminatorCost(gan),
    ];
    if (argv.json) {
      console.log(JSON.stringify({ macConvention: MAC_CONVENTION, lightcnn, fapegan: gan, models: costs }));
      return;
    }
    const rows = costs.map((cost) => [cost.model, formatShape(cost.inputShape), cost.parameters.toLocaleString('en'), cost.macs.toLocaleString('en'), `(${formatGiga(cost.macs)})`]);
    const header = ['model', 'input', 'parameters', 'MACs / image', ''];
    const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
    const rightAligned = new Set([2, 3]);
    const line = (cells: string[]) => cells.map((cell, column) => (rightAligned.has(column) ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!))).join('  ').trimEnd();
    console.log(line(header));
    for (const row of rows) console.log(line(row));
    console.log(
      `LightCNN: ${argv.classes} classes, width ×${argv.width}, gray ${argv.inputSize} px. ` +
        `FaPE-GAN: base width ${argv.ganWidth}, ${argv.ganBlocks} residual blocks, batch norm, gray image + pose mask at ${argv.inputSize} px.`,
    );
    console.log(`MACs: ${MAC_CONVENTION}.`);
  },
};
