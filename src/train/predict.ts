// Expression prediction with a Fa-Net (browser-safe): images go through the evaluation transform
// of training (resize, centre crop, channels, [0, 1]) by the same batch loader `webfer eval`
// uses, then softmax; `webfer predict` and the browser page both call this.
import type { Dataset } from '../data/dataset.js';
import type { LightCNN } from '../models/lightcnn.js';
import * as F from '../nn/functional/index.js';
import { tensor } from '../tensor/creation.js';
import { noGrad, scope } from '../tensor/tensor.js';
import type { BatchLoader } from '../data/batch-loader.js';
import { createFanetLoaders } from './fanet.js';

export interface Prediction {
  class: number;
  /** The class name stored with the checkpoint, or the class id as text for older checkpoints. */
  name: string;
  probability: number;
}

/** The k most probable classes, most probable first (ties: the lower class id first). */
export function topPredictions(probabilities: ArrayLike<number>, names: readonly string[], k: number): Prediction[] {
  return Array.from({ length: probabilities.length }, (_, id) => ({ class: id, name: names[id]!, probability: probabilities[id]! }))
    .sort((a, b) => b.probability - a.probability || a.class - b.class)
    .slice(0, k);
}

export interface PredictOptions {
  /** One name per class of the model. */
  names: readonly string[];
  top: number;
  batchSize?: number;
  skipBad?: boolean;
  /** Receives each image as the model sees it ([C, S, S] in [0, 1]) before the forward pass. */
  onInput?: (path: string, input: Float32Array, shape: readonly number[]) => void;
}

/** Top-k predictions for every readable image of `images`, in order; `loader` holds what was skipped. */
export async function predictImages(model: LightCNN, images: Dataset, options: PredictOptions): Promise<{ results: { image: string; predictions: Prediction[] }[]; loader: BatchLoader }> {
  const { classes, inputSize, inputChannels } = model.config;
  if (options.names.length !== classes) throw new Error(`predictImages: ${options.names.length} class names for a model with ${classes} classes`);
  const channels = (inputChannels ?? 1) as 1 | 3;
  const { evalLoader } = createFanetLoaders(undefined, images, { batchSize: options.batchSize ?? 16, inputSize: inputSize ?? 128, channels, skipBad: options.skipBad });
  const wasTraining = model.training;
  model.eval();
  const results: { image: string; predictions: Prediction[] }[] = [];
  try {
    for await (const batch of evalLoader!.epoch(0)) {
      if (options.onInput) {
        const per = batch.images.length / batch.samples.length;
        batch.samples.forEach((sample, n) => options.onInput!(sample.path, batch.images.slice(n * per, (n + 1) * per), batch.shape.slice(1)));
      }
      const probabilities = noGrad(() => scope(() => F.softmax(model.call(tensor(batch.images, batch.shape)).logits, 1)));
      let values: Float32Array;
      try {
        values = await probabilities.toArray();
      } finally {
        probabilities.dispose();
      }
      batch.samples.forEach((sample, n) => {
        results.push({ image: sample.path, predictions: topPredictions(values.subarray(n * classes, (n + 1) * classes), options.names, options.top) });
      });
    }
  } finally {
    model.train(wasTraining);
  }
  return { results, loader: evalLoader! };
}
