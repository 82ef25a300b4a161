/**
 * Weight initialisation, in place, with torch.nn.init's formulas. Random draws come from
 * `opts.generator` or the default seeded generator (`manualSeed`), so runs are reproducible and
 * identical on both backends.
 *
 * fanIn = size(1)·receptive field, fanOut = size(0)·receptive field, where the receptive field
 * is the product of the dimensions after the first two (k·k for a conv weight).
 */
import { ValueError, fmtShape } from '../tensor/errors';
import { Generator, defaultGenerator } from '../tensor/random';
import type { Tensor } from '../tensor/tensor';

export interface InitOptions {
  generator?: Generator;
}

export type Nonlinearity =
  | 'linear' | 'conv1d' | 'conv2d' | 'conv3d' | 'sigmoid' | 'tanh' | 'relu' | 'leakyRelu' | 'selu'
  | 'leaky_relu';

export type FanMode = 'fanIn' | 'fanOut' | 'fan_in' | 'fan_out';

/**
 * The recommended gain for a nonlinearity (torch.nn.init.calculate_gain): 1 for linear/conv/
 * sigmoid, 5/3 for tanh, √2 for relu, √(2/(1+slope²)) for leakyRelu (slope `param`, default
 * 0.01), 3/4 for selu.
 */
export function calculateGain(nonlinearity: Nonlinearity, param?: number): number {
  switch (nonlinearity) {
    case 'linear': case 'conv1d': case 'conv2d': case 'conv3d': case 'sigmoid': return 1;
    case 'tanh': return 5 / 3;
    case 'relu': return Math.SQRT2;
    case 'leakyRelu': case 'leaky_relu': {
      const slope = param ?? 0.01;
      if (typeof slope !== 'number' || !Number.isFinite(slope)) throw new ValueError(`calculateGain: negative slope ${param} is not a valid number`);
      return Math.sqrt(2 / (1 + slope * slope));
    }
    case 'selu': return 3 / 4;
    default: throw new ValueError(`calculateGain: unsupported nonlinearity ${JSON.stringify(nonlinearity)}`);
  }
}

/** [fanIn, fanOut] of a weight with at least 2 dimensions. */
export function calculateFanInAndFanOut(t: Tensor): [number, number] {
  if (t.ndim < 2) {
    throw new ValueError(`Fan in and fan out can not be computed for tensor with fewer than 2 dimensions (shape ${fmtShape(t.shape)})`);
  }
  let receptive = 1;
  for (let i = 2; i < t.ndim; i++) receptive *= t.shape[i]!;
  return [t.shape[1]! * receptive, t.shape[0]! * receptive];
}

function fanOf(t: Tensor, mode: FanMode): number {
  const [fanIn, fanOut] = calculateFanInAndFanOut(t);
  if (mode === 'fanIn' || mode === 'fan_in') return fanIn;
  if (mode === 'fanOut' || mode === 'fan_out') return fanOut;
  throw new ValueError(`Mode ${JSON.stringify(mode)} not supported, please use one of 'fanIn', 'fanOut'`);
}

const gen = (o: InitOptions) => o.generator ?? defaultGenerator();

/** U(a, b), in place. */
export function uniform(t: Tensor, a = 0, b = 1, opts: InitOptions = {}): Tensor {
  if (!(a <= b)) throw new ValueError(`uniform: expected a ≤ b, got a=${a}, b=${b}`);
  gen(opts).uniform(t.data, a, b);
  return t;
}

/** N(mean, std²), in place. */
export function normal(t: Tensor, mean = 0, std = 1, opts: InitOptions = {}): Tensor {
  if (!(std >= 0)) throw new ValueError(`normal: std must be ≥ 0, got ${std}`);
  gen(opts).normal(t.data, mean, std);
  return t;
}

/** Fills with `value`, in place. */
export function constant(t: Tensor, value: number): Tensor {
  t.data.fill(value);
  return t;
}

export function zeros(t: Tensor): Tensor { return constant(t, 0); }
export function ones(t: Tensor): Tensor { return constant(t, 1); }

/** Glorot uniform: U(−b, b) with b = gain·√(6/(fanIn+fanOut)). */
export function xavierUniform(t: Tensor, opts: InitOptions & { gain?: number } = {}): Tensor {
  const [fanIn, fanOut] = calculateFanInAndFanOut(t);
  const bound = (opts.gain ?? 1) * Math.sqrt(6 / (fanIn + fanOut));
  return uniform(t, -bound, bound, opts);
}

/** Glorot normal: N(0, std²) with std = gain·√(2/(fanIn+fanOut)). */
export function xavierNormal(t: Tensor, opts: InitOptions & { gain?: number } = {}): Tensor {
  const [fanIn, fanOut] = calculateFanInAndFanOut(t);
  return normal(t, 0, (opts.gain ?? 1) * Math.sqrt(2 / (fanIn + fanOut)), opts);
}

export interface KaimingOptions extends InitOptions {
  /** Negative slope of the leaky ReLU that follows (used by 'leakyRelu'); default 0. */
  a?: number;
  /** 'fanIn' (default) keeps the forward variance, 'fanOut' the backward variance. */
  mode?: FanMode;
  /** Default 'leakyRelu' (with a = 0 that is ReLU's gain √2), as PyTorch. */
  nonlinearity?: Nonlinearity;
}

/** He uniform: U(−b, b) with b = gain·√(3/fan), gain = calculateGain(nonlinearity, a). */
export function kaimingUniform(t: Tensor, opts: KaimingOptions = {}): Tensor {
  const fan = fanOf(t, opts.mode ?? 'fanIn');
  const gain = calculateGain(opts.nonlinearity ?? 'leakyRelu', opts.a ?? 0);
  const bound = fan === 0 ? 0 : gain * Math.sqrt(3 / fan);
  return uniform(t, -bound, bound, opts);
}

/** He normal: N(0, std²) with std = gain/√fan. */
export function kaimingNormal(t: Tensor, opts: KaimingOptions = {}): Tensor {
  const fan = fanOf(t, opts.mode ?? 'fanIn');
  const gain = calculateGain(opts.nonlinearity ?? 'leakyRelu', opts.a ?? 0);
  return normal(t, 0, fan === 0 ? 0 : gain / Math.sqrt(fan), opts);
}
