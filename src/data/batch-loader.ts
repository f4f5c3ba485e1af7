/**
 * Seeded, prefetching batch loaders that fill NCHW Float32Arrays ready for `tensor(...)`.
 *
 *   const loader = new BatchLoader(dataset, { batchSize: 128, channels: 1, resize: 144, crop: 128,
 *     randomCrop: true, flip: true, normalization: 'unit', shuffle: true, seed: 1 });
 *   for await (const batch of loader.epoch(0)) { batch.images; batch.shape; batch.labels; }
 *
 * The order of epoch e is a permutation seeded by (seed, e) and each sample's augmentation by
 * (seed, e, sample index), so results do not depend on prefetch timing.
 */
import type { Dataset, Sample } from './dataset.js';
import { DataError, ProblemLog, type DataProblem } from './errors.js';
import { centerCrop, centerCropOffset, crop, flipHorizontal, resize, toChannels, writeChw, type ImageU8, type Normalization } from './image.js';
import { flipLandmarks, scaleLandmarks } from './landmarks.js';
import { renderPoseMask } from './pose-mask.js';
import { Random, hashSeed } from './random.js';

export interface TransformOptions {
  /** 1 = grayscale (Fa-Net), 3 = RGB. Default 1. */
  channels?: 1 | 3;
  /** Resize to this size (square, or [height, width]) first, as PIL's Image.resize BILINEAR. */
  resize?: number | [number, number];
  /** Then crop to this size: centre crop, or random when randomCrop. */
  crop?: number | [number, number];
  randomCrop?: boolean;
  /** Random horizontal flip with probability ½. */
  flip?: boolean;
  /** 'unit' → [0, 1] (Fa-Net), 'symmetric' → [−1, 1] (FaPE-GAN). Default 'unit'. */
  normalization?: Normalization;
}

export interface BatchLoaderOptions extends TransformOptions {
  batchSize: number;
  shuffle?: boolean;
  seed?: number;
  /** Drop a last batch smaller than batchSize. */
  dropLast?: boolean;
  /** Batches loaded ahead of the consumer (default 2). */
  prefetch?: number;
  /** Skip samples whose image cannot be decoded (recorded in loader.problems) instead of throwing. */
  skipBad?: boolean;
  /** Called the first time a sample is skipped (skipBad), so a caller can say so as it happens. */
  onProblem?: (problem: DataProblem) => void;
}

export interface Batch {
  images: Float32Array;
  shape: [number, number, number, number];
  labels: Int32Array;
  samples: Sample[];
}

function pair(value: number | [number, number]): [number, number] {
  return typeof value === 'number' ? [value, value] : value;
}

/**
 * Applies channel conversion → resize → crop → flip, the order of the LightCNN reference (PIL's
 * convert('L') in its loader, then Resize / RandomCrop or CenterCrop / RandomHorizontalFlip);
 * returns the image and what was done, for landmarks.
 */
export function transformImage(image: ImageU8, options: TransformOptions, random: Random): { image: ImageU8; flipped: boolean; scaleX: number; scaleY: number; offsetX: number; offsetY: number } {
  let out = toChannels(image, options.channels ?? 1);
  let scaleX = 1, scaleY = 1, offsetX = 0, offsetY = 0;
  if (options.resize !== undefined) {
    const [height, width] = pair(options.resize);
    scaleX = width / out.width; scaleY = height / out.height;
    out = resize(out, width, height);
  }
  if (options.crop !== undefined) {
    const [height, width] = pair(options.crop);
    if (width > out.width || height > out.height) {
      throw new DataError('crop larger than the image', { expected: `an image of at least ${width}×${height}`, got: `${out.width}×${out.height}`, hint: 'set resize to at least the crop size' });
    }
    if (options.randomCrop) {
      const left = random.int(out.width - width + 1), top = random.int(out.height - height + 1);
      out = crop(out, left, top, width, height); offsetX = -left; offsetY = -top;
    } else {
      offsetX = -centerCropOffset(out.width, width); offsetY = -centerCropOffset(out.height, height);
      out = centerCrop(out, width, height);
    }
  }
  const flipped = options.flip === true && random.random() < 0.5;
  if (flipped) out = flipHorizontal(out);
  return { image: out, flipped, scaleX, scaleY, offsetX, offsetY };
}

/**
 * Starts loading a batch ahead of its consumer. The handler attached here marks the promise as
 * handled, so a bad image in a batch nobody awaits yet (or ever, if the consumer stops early)
 * cannot become an unhandled rejection; the error itself reaches whoever awaits the batch.
 */
function prefetched<T>(load: Promise<T>): Promise<T> {
  load.catch(() => {});
  return load;
}

export class BatchLoader {
  /** Each skipped sample once (not once per epoch), in the order they were met. */
  readonly problems: DataProblem[] = [];
  /** See BatchLoaderOptions.onProblem; may also be set after construction. */
  onProblem?: (problem: DataProblem) => void;
  private readonly skipped = new Set<string>();
  private readonly options: Required<Pick<BatchLoaderOptions, 'batchSize' | 'shuffle' | 'seed' | 'dropLast' | 'prefetch'>> & BatchLoaderOptions;

  constructor(readonly dataset: Dataset, options: BatchLoaderOptions) {
    if (!Number.isInteger(options.batchSize) || options.batchSize < 1) throw new RangeError(`batchSize must be a positive integer, got ${options.batchSize}`);
    this.options = { shuffle: true, seed: 0, dropLast: false, prefetch: 2, ...options };
    this.onProblem = options.onProblem;
  }

  /** Batches per epoch. */
  get length(): number {
    const n = this.dataset.samples.length, b = this.options.batchSize;
    return this.options.dropLast ? Math.floor(n / b) : Math.ceil(n / b);
  }

  /** Sample order of an epoch. */
  order(epoch: number): Int32Array {
    const n = this.dataset.samples.length;
    if (this.options.shuffle) return new Random(hashSeed(this.options.seed, 'epoch', epoch)).permutation(n);
    return Int32Array.from({ length: n }, (_, i) => i);
  }

  async *epoch(epoch = 0): AsyncGenerator<Batch> {
    const order = this.order(epoch);
    const starts: number[] = [];
    for (let start = 0; start < this.length * this.options.batchSize; start += this.options.batchSize) starts.push(start);
    const pending: Promise<Batch | undefined>[] = [];
    let next = 0;
    const launch = () => {
      if (next < starts.length) {
        const start = starts[next++]!;
        pending.push(prefetched(this.loadBatch(Array.from(order.subarray(start, Math.min(start + this.options.batchSize, order.length))), epoch)));
      }
    };
    for (let k = 0; k <= this.options.prefetch; k++) launch();
    while (pending.length > 0) {
      const batch = await pending.shift()!;
      launch();
      if (batch) yield batch;
    }
  }

  [Symbol.asyncIterator](): AsyncGenerator<Batch> { return this.epoch(0); }

  private async loadBatch(indices: number[], epoch: number): Promise<Batch | undefined> {
    const log = new ProblemLog(this.options.skipBad ?? false);
    const loaded = await Promise.all(indices.map(async (index) => {
      const sample = this.dataset.samples[index]!;
      try {
        const image = await this.dataset.loadImage(sample);
        return { sample, image: transformImage(image, this.options, new Random(hashSeed(this.options.seed, 'augment', epoch, index))).image };
      } catch (error) {
        log.report(error, { file: sample.path, line: sample.line });
        return undefined;
      }
    }));
    for (const problem of log.problems) {
      const key = `${problem.file ?? ''}\n${problem.message}`;
      if (this.skipped.has(key)) continue;
      this.skipped.add(key);
      this.problems.push(problem);
      this.onProblem?.(problem);
    }
    const good = loaded.filter((item): item is { sample: Sample; image: ImageU8 } => item !== undefined);
    if (good.length === 0) return undefined;
    const { width, height, channels } = good[0]!.image;
    const images = new Float32Array(good.length * channels * height * width);
    const labels = new Int32Array(good.length);
    good.forEach(({ sample, image }, n) => {
      if (image.width !== width || image.height !== height) {
        throw new DataError('images in a batch differ in size', { file: sample.path, expected: `${width}×${height}`, got: `${image.width}×${image.height}`, hint: 'set the resize option' });
      }
      writeChw(image, images, n * channels * height * width, this.options.normalization ?? 'unit');
      labels[n] = sample.label;
    });
    return { images, shape: [good.length, channels, height, width], labels, samples: good.map((item) => item.sample) };
  }
}

export interface PairedBatch extends Batch {
  /** The same faces in the target poses (FaPE-GAN's I_t), same layout as images. */
  targetImages: Float32Array;
  /** Target-pose landmark masks (I_P), [N, 1, H, W]: [0, 1] under 'unit', [−1, 1] under 'symmetric'. */
  targetMasks: Float32Array;
  maskShape: [number, number, number, number];
  targetSamples: Sample[];
}

export interface PairedBatchLoaderOptions {
  batchSize: number;
  /** Square output size (images are resized to it). */
  size: number;
  channels?: 1 | 3;
  /** Default 'symmetric' ([−1, 1]) to match the generator's tanh. */
  normalization?: Normalization;
  seed?: number;
  /** Only these target poses (e.g. ['HL'] to synthesise rare half-left faces). */
  targetPoses?: readonly string[];
  /** Flip source, target and mask together with probability ½. */
  flip?: boolean;
  dropLast?: boolean;
  prefetch?: number;
}

/**
 * Pose pairs for FaPE-GAN: every sample is a source, paired with a random sample of the same
 * (subject, expression, clip, frame) in another pose — or, when the dataset has no clip/frame,
 * of the same subject and expression. Needs landmarks for the target mask.
 */
export class PairedBatchLoader {
  readonly pairsPerEpoch: number;
  private readonly groups = new Map<string, number[]>();
  private readonly sources: number[] = [];
  private readonly options: Required<Omit<PairedBatchLoaderOptions, 'targetPoses'>> & PairedBatchLoaderOptions;

  constructor(readonly dataset: Dataset, options: PairedBatchLoaderOptions) {
    this.options = { channels: 1, normalization: 'symmetric', seed: 0, flip: false, dropLast: false, prefetch: 2, ...options };
    if (!dataset.loadLandmarks) throw new DataError('pose pairs need landmarks', { file: dataset.source, expected: 'a dataset with landmarks (an index with a landmarks column, or synth)', got: `format ${dataset.format}` });
    dataset.samples.forEach((sample, index) => {
      const key = pairKey(sample);
      if (key === undefined) return;
      let group = this.groups.get(key);
      if (!group) { group = []; this.groups.set(key, group); }
      group.push(index);
    });
    dataset.samples.forEach((sample, index) => { if (this.targetsOf(index).length > 0) this.sources.push(index); });
    this.pairsPerEpoch = this.sources.length;
    if (this.sources.length === 0) {
      throw new DataError('no pose pairs', { file: dataset.source, expected: 'the same subject and expression in at least two poses', got: `${dataset.samples.length} samples without partners`, hint: 'check the subject/pose/expression columns' });
    }
  }

  private targetsOf(index: number): number[] {
    const sample = this.dataset.samples[index]!;
    const group = this.groups.get(pairKey(sample) ?? '') ?? [];
    return group.filter((other) => {
      const pose = this.dataset.samples[other]!.pose;
      return pose !== sample.pose && (!this.options.targetPoses || this.options.targetPoses.includes(pose ?? ''));
    });
  }

  get length(): number {
    const n = this.pairsPerEpoch, b = this.options.batchSize;
    return this.options.dropLast ? Math.floor(n / b) : Math.ceil(n / b);
  }

  async *epoch(epoch = 0): AsyncGenerator<PairedBatch> {
    const random = new Random(hashSeed(this.options.seed, 'pairs', epoch));
    const order = random.permutation(this.sources.length);
    const pairs = Array.from(order, (k) => {
      const source = this.sources[k]!;
      return [source, random.pick(this.targetsOf(source))] as const;
    });
    const pending: Promise<PairedBatch>[] = [];
    let next = 0;
    const launch = () => {
      if (next < this.length) {
        const start = next++ * this.options.batchSize;
        pending.push(prefetched(this.loadBatch(pairs.slice(start, start + this.options.batchSize), epoch, start)));
      }
    };
    for (let k = 0; k <= this.options.prefetch; k++) launch();
    while (pending.length > 0) {
      const batch = await pending.shift()!;
      launch();
      yield batch;
    }
  }

  private async loadBatch(pairs: (readonly [number, number])[], epoch: number, start: number): Promise<PairedBatch> {
    const { size, channels } = this.options;
    const normalization = this.options.normalization;
    const n = pairs.length, plane = size * size;
    const images = new Float32Array(n * channels * plane), targetImages = new Float32Array(n * channels * plane);
    const targetMasks = new Float32Array(n * plane);
    const labels = new Int32Array(n);
    await Promise.all(pairs.map(async ([sourceIndex, targetIndex], k) => {
      const source = this.dataset.samples[sourceIndex]!, target = this.dataset.samples[targetIndex]!;
      const [sourceImage, targetImage, landmarks] = await Promise.all([
        this.dataset.loadImage(source), this.dataset.loadImage(target), this.dataset.loadLandmarks!(target)]);
      if (!landmarks) throw new DataError('target has no landmarks', { file: target.path, line: target.line, expected: 'a landmarks file', got: 'none', hint: 'fill the landmarks column of the index' });
      const flipped = this.options.flip && new Random(hashSeed(this.options.seed, 'pair-flip', epoch, start + k)).random() < 0.5;
      const prepare = (image: ImageU8) => { const out = resize(toChannels(image, channels), size, size); return flipped ? flipHorizontal(out) : out; };
      writeChw(prepare(sourceImage), images, k * channels * plane, normalization);
      writeChw(prepare(targetImage), targetImages, k * channels * plane, normalization);
      let points = scaleLandmarks(landmarks, size / targetImage.width, size / targetImage.height);
      if (flipped) points = flipLandmarks(points, size);
      const mask = renderPoseMask(points, { width: size, height: size });
      for (let i = 0; i < plane; i++) targetMasks[k * plane + i] = normalization === 'unit' ? mask[i]! : 2 * mask[i]! - 1;
      labels[k] = source.label;
    }));
    return {
      images, targetImages, targetMasks, labels,
      shape: [n, channels, size, size], maskShape: [n, 1, size, size],
      samples: pairs.map(([s]) => this.dataset.samples[s]!), targetSamples: pairs.map(([, t]) => this.dataset.samples[t]!),
    };
  }
}

function pairKey(sample: Sample): string | undefined {
  if (sample.subject === undefined || sample.pose === undefined) return undefined;
  return sample.clip !== undefined && sample.frame !== undefined
    ? `${sample.subject}|${sample.label}|${sample.clip}|${sample.frame}`
    : `${sample.subject}|${sample.label}`;
}
