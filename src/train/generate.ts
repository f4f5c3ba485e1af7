// Running a trained FaPE-GAN generator: eval mode, no gradients, [−1, 1] floats in and out, and
// the conversion of its output to 8-bit images (shared by the sample grid and augmentation).
import { createImage, type ImageU8 } from '../data/image.js';
import type { FaPEGenerator } from '../models/fapegan.js';
import { noGrad, scope } from '../tensor/tensor.js';
import { tensor } from '../tensor/creation.js';

/** [−1, 1] CHW floats of one example → an 8-bit image. */
export function symmetricToImage(values: Float32Array, offset: number, channels: 1 | 3, size: number): ImageU8 {
  const image = createImage(size, size, channels);
  const plane = size * size;
  for (let c = 0; c < channels; c++) {
    for (let i = 0; i < plane; i++) {
      image.data[i * channels + c] = Math.round(Math.min(1, Math.max(0, (values[offset + c * plane + i]! + 1) / 2)) * 255);
    }
  }
  return image;
}

/** Runs G in eval mode (running statistics) without gradients; returns [N, C, S, S] host values. */
export async function generate(generator: FaPEGenerator, source: Float32Array, mask: Float32Array, n: number): Promise<Float32Array> {
  const { channels, imageSize: size } = generator.config;
  const wasTraining = generator.training;
  generator.eval();
  try {
    const output = noGrad(() => scope(() => generator.call(tensor(source, [n, channels, size, size]), tensor(mask, [n, 1, size, size]))));
    try { return await output.toArray(); } finally { output.dispose(); }
  } finally {
    generator.train(wasTraining);
  }
}
