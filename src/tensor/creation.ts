// Tensor creators. Host data is uploaded once; constants are filled on the GPU.
import { gpu } from '../gpu/index.js';
import { fill } from '../kernels/elementwise.js';
import { Tensor, checkOptionNames, checkShape, formatShape, shapeSize, type DType, type Shape } from './tensor.js';
import { generator } from './random.js';

export interface CreateOptions {
  requiresGrad?: boolean;
  /** Seed for random creators; the global generator (manualSeed) when absent. */
  seed?: number;
  /** Element type (default float32); float16 values are rounded to nearest even. */
  dtype?: DType;
}

/** A float32 tensor made by `make` as options.dtype, with options.requiresGrad on the result (a leaf). */
function asRequested(made: Tensor, options: CreateOptions): Tensor {
  const dtype = options.dtype ?? 'float32';
  const result = made.to(dtype);
  if (result !== made) made.dispose();
  result.requiresGrad = options.requiresGrad ?? false;
  return result;
}

/** What every creator takes (requires_grad spelt the PyTorch way would otherwise leave a tensor without gradient). */
const CREATE_OPTIONS = ['requiresGrad', 'dtype'];

export function tensor(data: ArrayLike<number>, shape?: Shape, options: CreateOptions = {}): Tensor {
  checkOptionNames('tensor', options, CREATE_OPTIONS);
  checkHostValues(data);
  const resolved = checkShape(shape ?? [data.length]);
  const size = shapeSize(resolved);
  if (data.length !== size) throw new Error(`tensor: ${data.length} values do not fill shape ${formatShape(resolved)} (${size} elements)`);
  const values = data instanceof Float32Array ? data : Float32Array.from(data);
  const buffer = gpu().pool.acquire(size * 4);
  if (size > 0) gpu().upload(buffer, values);
  return asRequested(Tensor.fromBuffer(buffer, resolved), options);
}

/** Flat numbers only: a nested array (PyTorch's torch.tensor([[1, 2]])) would otherwise become NaNs. */
function checkHostValues(data: ArrayLike<number>): void {
  if (typeof data !== 'object' || data === null || typeof data.length !== 'number') {
    throw new Error(`tensor: data must be an array or typed array of numbers, got ${data === null ? 'null' : typeof data}; pass flat values and a shape, e.g. tensor([1, 2, 3, 4], [2, 2])`);
  }
  if (ArrayBuffer.isView(data)) return;
  for (let i = 0; i < data.length; i++) {
    if (typeof data[i] !== 'number') {
      throw new Error(`tensor: value ${i} is ${Array.isArray(data[i]) ? 'an array' : typeof data[i]}, not a number; pass flat values and a shape (webfer takes no nested arrays), e.g. tensor([1, 2, 3, 4], [2, 2])`);
    }
  }
}

export function full(shape: Shape, value: number, options: CreateOptions = {}): Tensor {
  checkOptionNames('full', options, CREATE_OPTIONS);
  const size = shapeSize(checkShape(shape));
  return asRequested(Tensor.fromBuffer(fill(size, value), shape), options);
}

export function zeros(shape: Shape, options: CreateOptions = {}): Tensor {
  return full(shape, 0, options);
}

export function ones(shape: Shape, options: CreateOptions = {}): Tensor {
  return full(shape, 1, options);
}

export function zerosLike(t: Tensor): Tensor {
  return zeros(t.shape);
}

/** Normal(mean, std) samples. */
export function randn(shape: Shape, options: CreateOptions & { mean?: number; std?: number } = {}): Tensor {
  checkOptionNames('randn', options, [...CREATE_OPTIONS, 'seed', 'mean', 'std']);
  const rng = generator(options.seed);
  const { mean = 0, std = 1 } = options;
  // PyTorch: "normal expects std >= 0.0".
  if (!(std >= 0) || !Number.isFinite(mean)) throw new Error(`randn: std must be >= 0 and mean finite, got mean ${mean}, std ${std}`);
  const values = new Float32Array(shapeSize(checkShape(shape)));
  for (let i = 0; i < values.length; i++) values[i] = mean + std * rng.normal();
  return tensor(values, shape, { requiresGrad: options.requiresGrad, dtype: options.dtype });
}

/** Uniform samples in [low, high). */
export function rand(shape: Shape, options: CreateOptions & { low?: number; high?: number } = {}): Tensor {
  checkOptionNames('rand', options, [...CREATE_OPTIONS, 'seed', 'low', 'high']);
  const rng = generator(options.seed);
  const { low = 0, high = 1 } = options;
  // PyTorch: "uniform_ expects to return a [from, to) range".
  if (!(Number.isFinite(low) && Number.isFinite(high) && low <= high)) throw new Error(`rand: expected finite low <= high, got low ${low}, high ${high}`);
  const values = new Float32Array(shapeSize(checkShape(shape)));
  for (let i = 0; i < values.length; i++) values[i] = low + (high - low) * rng.uniform();
  return tensor(values, shape, { requiresGrad: options.requiresGrad, dtype: options.dtype });
}

/** start, start + step, ... below end (like torch.arange). */
export function arange(start: number, end?: number, step = 1, options: CreateOptions = {}): Tensor {
  if (end === undefined) [start, end] = [0, start];
  if (step === 0) throw new Error('arange: step must not be 0');
  // PyTorch: "unsupported range" for a non-finite bound, and "upper bound and larger bound inconsistent with step sign".
  if (![start, end, step].every(Number.isFinite)) throw new Error(`arange: start, end and step must be finite, got ${start}, ${end}, ${step}`);
  if ((end - start) * step < 0) throw new Error(`arange: step ${step} does not lead from ${start} to ${end}; flip its sign`);
  const count = Math.max(0, Math.ceil((end - start) / step));
  const values = new Float32Array(count);
  for (let i = 0; i < count; i++) values[i] = start + i * step;
  return tensor(values, [count], options);
}

export interface MemoryStats {
  bytesInUse: number;
  bytesPooled: number;
  peakBytes: number;
  liveTensors: number;
}
