// `webfer predict IMAGE… --checkpoint FILE`: the expression a Fa-Net checkpoint sees in each image,
// as the top-k softmax probabilities. Images of any size or format the loaders read (PNG, JPEG,
// TIFF; gray or colour) go through the evaluation transform of training (resize, centre crop,
// channel conversion, [0, 1]) by the same batch loader `webfer eval` uses.
import { readFileSync, statSync } from 'node:fs';
import type { CommandModule } from 'yargs';
import { decodeImage, EXIF_ORIENTATIONS } from '../data/codecs.js';
import type { Dataset, Sample } from '../data/dataset.js';
import { DataError } from '../data/errors.js';
import { init } from '../gpu/index.js';
import { createLightCNN, type LightCNNConfig } from '../models/lightcnn.js';
import { loadSafetensors } from '../node/checkpoint.js';
import { readRunInfo, restoreCheckpoint, type RunInfo } from '../train/checkpoint.js';
import { predictImages, topPredictions, type Prediction } from '../train/predict.js';
import { withoutSkipAdvice } from './data-report.js';
import { checkPositiveInteger } from './option-checks.js';

export { topPredictions, type Prediction };

interface PredictArgs {
  images: string[];
  checkpoint: string;
  top?: number;
  json: boolean;
  batchSize: number;
  skipBad: boolean;
}

const DEFAULT_TOP = 5;

/** A missing path, a folder or an unreadable file stops the command before the device starts. */
function checkImagePaths(paths: readonly string[]): void {
  for (const path of paths) {
    let isFile: boolean;
    try {
      isFile = statSync(path).isFile();
    } catch (error) {
      throw new Error(`image ${path} not found (${(error as NodeJS.ErrnoException).code ?? 'unreadable'}): check the path`);
    }
    if (!isFile) throw new Error(`${path} is not a file: pass image files (PNG, JPEG or TIFF), e.g. dir/*.png`);
  }
}

/**
 * The class names `webfer train` stores in the run info; checkpoints written before it did get
 * the class ids as names (said once on stderr).
 */
function classNames(info: RunInfo, classes: number, source: string): { names: string[]; stored: boolean } {
  const stored = info.extra?.classes;
  if (stored === undefined) return { names: Array.from({ length: classes }, (_, id) => String(id)), stored: false };
  if (!Array.isArray(stored) || stored.length !== classes || !stored.every((name) => typeof name === 'string')) {
    throw new Error(`${source}: its class list (${Array.isArray(stored) ? `${stored.length} entries` : typeof stored}) does not name the model's ${classes} classes; the checkpoint is damaged, re-save it with \`webfer train\``);
  }
  return { names: stored as string[], stored: true };
}

/** The images as a dataset, so the evaluation loader (and its transform) serves them unchanged. */
function imageDataset(paths: readonly string[], classes: readonly string[], channels: 1 | 3): Dataset {
  return {
    format: 'files',
    source: 'command line',
    classes,
    // The label is unused: predict reads only the images.
    samples: paths.map((path): Sample => ({ path, label: 0 })),
    problems: [],
    loadImage: async (sample) => {
      let bytes: Uint8Array;
      try {
        bytes = readFileSync(sample.path);
      } catch (error) {
        throw new DataError('cannot read image', { file: sample.path, expected: 'a readable file', got: (error as NodeJS.ErrnoException).code ?? String(error), hint: 'check the path and its permissions' });
      }
      const image = decodeImage(bytes, sample.path, channels);
      // Both change what the model sees without failing: said once per image, on stderr.
      if (image.exifOrientation !== undefined) {
        console.error(`note: ${sample.path} has EXIF orientation ${image.exifOrientation} (viewers show it ${EXIF_ORIENTATIONS[image.exifOrientation]}): read as stored, as PIL and torchvision read it; turn it upright first (PIL: ImageOps.exif_transpose)`);
      }
      if (image.width !== image.height) {
        console.error(`note: ${sample.path} is ${image.width}×${image.height}: squashed to a square before the centre crop (the aspect ratio is not kept); crop the face square first`);
      }
      return image;
    },
  };
}

export const predictCommand: CommandModule<object, PredictArgs> = {
  command: 'predict <images..>',
  describe: 'Predict the expression in images with a Fa-Net checkpoint: the top-k classes and their softmax probabilities',
  builder: (yargs) =>
    yargs
      .positional('images', { type: 'string', array: true, describe: 'PNG, JPEG or TIFF files, any size, gray or colour (resized and centre-cropped as in evaluation)' })
      .option('checkpoint', { type: 'string', demandOption: true, describe: 'checkpoint.safetensors written by `webfer train`' })
      .option('top', { type: 'number', describe: `how many classes to list per image, 1..classes (default ${DEFAULT_TOP}, or all when fewer)` })
      .option('json', { type: 'boolean', default: false, describe: 'print [{ image, predictions: [{ class, name, probability }] }]' })
      .option('batch-size', { type: 'number', default: 16, describe: 'images per forward pass' })
      .option('skip-bad', { type: 'boolean', default: false, describe: 'skip unreadable images (each named on stderr) instead of stopping' })
      .check((parsed) => {
        const argv = parsed as unknown as PredictArgs;
        if (argv.top !== undefined) checkPositiveInteger(argv.top, '--top', 'e.g. --top 5');
        checkPositiveInteger(argv.batchSize, '--batch-size', 'e.g. --batch-size 16');
        return true;
      }) as never,
  handler: async (argv) => {
    const paths = argv.images.map(String);
    checkImagePaths(paths);
    const content = loadSafetensors(argv.checkpoint, { finite: true });
    const info = readRunInfo(content, argv.checkpoint);
    if (info.kind !== 'fanet') throw new Error(`${argv.checkpoint} is a ${info.kind} checkpoint, not Fa-Net (LightCNN): pass a checkpoint from \`webfer train\``);
    const config = info.config as unknown as LightCNNConfig;
    const { names, stored } = classNames(info, config.classes, argv.checkpoint);
    const top = argv.top ?? Math.min(DEFAULT_TOP, config.classes);
    if (top > config.classes) throw new Error(`--top ${top} is more than the model's ${config.classes} classes; use --top ${config.classes} or less`);
    const channels = config.inputChannels ?? 1;
    if (channels !== 1 && channels !== 3) throw new Error(`${argv.checkpoint}: a model with ${channels} input channels; predict feeds gray (1) or RGB (3) images`);
    if (!stored) console.error(`${argv.checkpoint} stores no class names (written before \`webfer train\` saved them): classes are shown by id`);

    await init();
    const model = createLightCNN(config);
    try {
      restoreCheckpoint(content, { modules: { model } }, argv.checkpoint);
      const inputSize = config.inputSize ?? 128;
      const { results, loader: evalLoader } = await predictImages(model, imageDataset(paths, names, channels), { names, top, batchSize: argv.batchSize, skipBad: argv.skipBad });
      for (const problem of evalLoader.problems) console.error(`skipped ${withoutSkipAdvice(problem.message)}`);
      if (results.length === 0) throw new Error(`none of the ${paths.length} images could be read (each is named above)`);
      if (argv.json) {
        console.log(JSON.stringify(results));
        return;
      }
      console.error(`${config.variant} (width ${config.widthMultiplier ?? 1}, ${inputSize} px) after epoch ${info.epoch}: top ${top} of ${config.classes} classes`);
      const nameWidth = Math.max(...names.map((name) => name.length));
      console.log(
        results
          .map(({ image, predictions }) => [image, ...predictions.map((p, rank) => `  ${String(rank + 1).padStart(2)}. ${p.name.padEnd(nameWidth)}  ${p.probability.toFixed(4)}`)].join('\n'))
          .join('\n\n'),
      );
    } finally {
      model.dispose();
    }
  },
};
