import { ValueError, fmtShape } from './errors';
import { Generator, defaultGenerator } from './random';
import { checkShape, numel } from './shape';
import { Tensor } from './tensor';

export interface TensorOptions {
  requiresGrad?: boolean;
}

function flatten(values: unknown, out: number[], shape: number[], depth: number): void {
  if (Array.isArray(values)) {
    if (shape.length === depth) shape.push(values.length);
    else if (shape[depth] !== values.length) throw new ValueError('tensor: ragged nested array (rows of different lengths)');
    for (const v of values) flatten(v, out, shape, depth + 1);
  } else {
    if (shape.length !== depth) throw new ValueError('tensor: ragged nested array (mixed depths)');
    out.push(values as number);
  }
}

/**
 * A tensor from values: a flat ArrayLike with an optional shape (default: 1-D), or nested
 * arrays (shape inferred). The values are copied into a new Float32Array.
 */
export function tensor(values: ArrayLike<number> | number | unknown[], shape?: readonly number[], opts: TensorOptions = {}): Tensor {
  let data: Float32Array;
  let inferred: number[];
  if (typeof values === 'number') {
    data = Float32Array.of(values);
    inferred = [];
  } else if (Array.isArray(values) && values.some((v) => Array.isArray(v))) {
    const flat: number[] = [];
    inferred = [];
    flatten(values, flat, inferred, 0);
    data = Float32Array.from(flat);
  } else if (values && typeof (values as ArrayLike<number>).length === 'number') {
    data = Float32Array.from(values as ArrayLike<number>);
    inferred = [data.length];
  } else {
    throw new ValueError(`tensor: expected numbers, an array or a typed array, got ${typeof values}`);
  }
  const s = shape ? checkShape('tensor', shape) : inferred;
  if (numel(s) !== data.length) {
    throw new ValueError(`tensor: ${data.length} values given for shape ${fmtShape(s)} (${numel(s)} elements)`);
  }
  for (let i = 0; i < data.length; i++) {
    if (typeof (data[i]) !== 'number') throw new ValueError(`tensor: value at ${i} is not a number`);
  }
  return new Tensor(data, s, opts.requiresGrad ?? false);
}

/** Wraps an existing Float32Array without copying. */
export function fromBuffer(data: Float32Array, shape: readonly number[], opts: TensorOptions = {}): Tensor {
  if (!(data instanceof Float32Array)) throw new ValueError('fromBuffer: expected a Float32Array');
  return new Tensor(data, shape, opts.requiresGrad ?? false);
}

/** A tensor of `value`s; `op` is the function the user called, for the shape check's message. */
function filled(op: string, shape: readonly number[], value: number, opts: TensorOptions): Tensor {
  const s = checkShape(op, shape);
  return new Tensor(new Float32Array(numel(s)).fill(value), s, opts.requiresGrad ?? false);
}
export function full(shape: readonly number[], value: number, opts: TensorOptions = {}): Tensor { return filled('full', shape, value, opts); }
export function zeros(shape: readonly number[], opts: TensorOptions = {}): Tensor { return filled('zeros', shape, 0, opts); }
export function ones(shape: readonly number[], opts: TensorOptions = {}): Tensor { return filled('ones', shape, 1, opts); }
export function zerosLike(t: Tensor, opts: TensorOptions = {}): Tensor { return filled('zerosLike', t.shape, 0, opts); }
export function onesLike(t: Tensor, opts: TensorOptions = {}): Tensor { return filled('onesLike', t.shape, 1, opts); }

/** Values start, start+step, … below end. */
export function arange(start: number, end?: number, step = 1): Tensor {
  if (end === undefined) { end = start; start = 0; }
  if (step === 0 || !Number.isFinite(step)) throw new ValueError(`arange: step must be a non-zero finite number, got ${step}`);
  const n = Math.max(0, Math.ceil((end - start) / step));
  const d = new Float32Array(n);
  for (let i = 0; i < n; i++) d[i] = start + i * step;
  return new Tensor(d, [n]);
}

/** Uniform [0, 1) values from the seeded generator. */
export function rand(shape: readonly number[], opts: TensorOptions & { generator?: Generator } = {}): Tensor {
  const s = checkShape('rand', shape);
  const d = (opts.generator ?? defaultGenerator()).uniform(new Float32Array(numel(s)));
  return new Tensor(d, s, opts.requiresGrad ?? false);
}

/** Standard normal values from the seeded generator. */
export function randn(shape: readonly number[], opts: TensorOptions & { generator?: Generator } = {}): Tensor {
  const s = checkShape('randn', shape);
  const d = (opts.generator ?? defaultGenerator()).normal(new Float32Array(numel(s)));
  return new Tensor(d, s, opts.requiresGrad ?? false);
}
