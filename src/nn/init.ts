// Weight initialisation (torch.nn.init): values are drawn on the host from the seeded generator
// (manualSeed, or a Generator passed in) and written into the tensor in place, so the same seed
// gives the same weights in Node and in browsers.
import { fill } from '../kernels/elementwise.js';
import { generator, type Generator } from '../tensor/random.js';
import { formatShape, type Shape, type Tensor } from '../tensor/tensor.js';
import { writeHost } from './module.js';

export type Nonlinearity = 'linear' | 'conv1d' | 'conv2d' | 'conv3d' | 'conv_transpose2d' | 'sigmoid' | 'tanh' | 'relu' | 'leaky_relu' | 'selu';
export type FanMode = 'fanIn' | 'fanOut';

/** torch.nn.init.calculate_gain. `param` is leaky_relu's negative slope (default 0.01). */
export function calculateGain(nonlinearity: Nonlinearity, param?: number): number {
  switch (nonlinearity) {
    case 'tanh':
      return 5 / 3;
    case 'relu':
      return Math.SQRT2;
    case 'leaky_relu': {
      const slope = param ?? 0.01;
      return Math.sqrt(2 / (1 + slope * slope));
    }
    case 'selu':
      return 3 / 4;
    default:
      return 1;
  }
}

/**
 * fan_in = shape[1] · receptive field, fan_out = shape[0] · receptive field (PyTorch's rule, so a
 * ConvTranspose2d weight [in, out/groups, kh, kw] has fan_in = out/groups · kh · kw).
 */
export function calculateFanInAndFanOut(shape: Shape): { fanIn: number; fanOut: number } {
  if (shape.length < 2) throw new Error(`fan in and fan out need a tensor with at least 2 dimensions, got shape ${formatShape(shape)}`);
  const receptive = shape.slice(2).reduce((a, b) => a * b, 1);
  return { fanIn: shape[1] * receptive, fanOut: shape[0] * receptive };
}

function draw(t: Tensor, sample: () => number): Tensor {
  const values = new Float32Array(t.size);
  for (let i = 0; i < values.length; i++) values[i] = sample();
  writeHost(t, values, 'init');
  return t;
}

export function uniform_(t: Tensor, low = 0, high = 1, rng: Generator = generator()): Tensor {
  return draw(t, () => low + (high - low) * rng.uniform());
}

export function normal_(t: Tensor, mean = 0, std = 1, rng: Generator = generator()): Tensor {
  return draw(t, () => mean + std * rng.normal());
}

export function constant_(t: Tensor, value: number): Tensor {
  if (t.size > 0) fill(t.size, value, t.buffer);
  return t;
}

export function zeros_(t: Tensor): Tensor {
  return constant_(t, 0);
}

export function ones_(t: Tensor): Tensor {
  return constant_(t, 1);
}

export interface KaimingOptions {
  /** Negative slope of the leaky_relu that follows (PyTorch's `a`); layers use √5. */
  a?: number;
  mode?: FanMode;
  nonlinearity?: Nonlinearity;
  generator?: Generator;
}

function kaimingStd(t: Tensor, options: KaimingOptions): number {
  const { a = 0, mode = 'fanIn', nonlinearity = 'leaky_relu' } = options;
  const { fanIn, fanOut } = calculateFanInAndFanOut(t.shape);
  const fan = mode === 'fanIn' ? fanIn : fanOut;
  if (fan === 0) throw new Error(`kaiming init: shape ${formatShape(t.shape)} has a zero ${mode}`);
  return calculateGain(nonlinearity, a) / Math.sqrt(fan);
}

/** U(-b, b) with b = gain · √(3 / fan) (torch.nn.init.kaiming_uniform_). */
export function kaimingUniform_(t: Tensor, options: KaimingOptions = {}): Tensor {
  const bound = Math.sqrt(3) * kaimingStd(t, options);
  return uniform_(t, -bound, bound, options.generator);
}

/** N(0, gain² / fan) (torch.nn.init.kaiming_normal_). */
export function kaimingNormal_(t: Tensor, options: KaimingOptions = {}): Tensor {
  return normal_(t, 0, kaimingStd(t, options), options.generator);
}

/** U(-b, b) with b = gain · √(6 / (fan_in + fan_out)). */
export function xavierUniform_(t: Tensor, gain = 1, rng?: Generator): Tensor {
  const { fanIn, fanOut } = calculateFanInAndFanOut(t.shape);
  const bound = gain * Math.sqrt(6 / (fanIn + fanOut));
  return uniform_(t, -bound, bound, rng);
}

export function xavierNormal_(t: Tensor, gain = 1, rng?: Generator): Tensor {
  const { fanIn, fanOut } = calculateFanInAndFanOut(t.shape);
  return normal_(t, 0, gain * Math.sqrt(2 / (fanIn + fanOut)), rng);
}

/**
 * PyTorch's default for Conv*d / Linear (reset_parameters): weight kaiming_uniform(a = √5), i.e.
 * U(±1/√fan_in), and bias U(±1/√fan_in) with fan_in from the weight.
 */
export function defaultLayerInit(weight: Tensor, bias: Tensor | null, rng: Generator = generator()): void {
  kaimingUniform_(weight, { a: Math.sqrt(5), generator: rng });
  if (bias) {
    const { fanIn } = calculateFanInAndFanOut(weight.shape);
    const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
    uniform_(bias, -bound, bound, rng);
  }
}
