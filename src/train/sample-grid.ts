// The per-epoch sample grid of FaPE-GAN training: one row per example, columns source | target
// pose mask | generated | true target.
import type { PairedBatch } from '../data/batch-loader.js';
import { createImage, toChannels, type ImageU8 } from '../data/image.js';
import type { FaPEGenerator } from '../models/fapegan.js';
import { generate, symmetricToImage } from './generate.js';

/** One row per example: source | target pose mask | generated | true target. */
export async function renderSampleGrid(generator: FaPEGenerator, batch: PairedBatch): Promise<ImageU8> {
  const { channels, imageSize: size } = generator.config;
  const n = batch.shape[0];
  const generated = await generate(generator, batch.images, batch.targetMasks, n);
  const grid = createImage(4 * size, n * size, channels);
  const maskRgb = (k: number) => toChannels(symmetricToImage(batch.targetMasks, k * size * size, 1, size), channels);
  for (let k = 0; k < n; k++) {
    const tiles = [symmetricToImage(batch.images, k * channels * size * size, channels, size), maskRgb(k), symmetricToImage(generated, k * channels * size * size, channels, size), symmetricToImage(batch.targetImages, k * channels * size * size, channels, size)];
    tiles.forEach((tile, column) => {
      for (let y = 0; y < size; y++) {
        const from = y * size * channels;
        grid.data.set(tile.data.subarray(from, from + size * channels), ((k * size + y) * 4 * size + column * size) * channels);
      }
    });
  }
  return grid;
}
