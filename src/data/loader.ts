import { backend } from '../backend';
import { fromBuffer } from '../tensor/create';
import { alloc, release } from '../tensor/pool';
import { ValueError } from '../tensor/errors';
import type { Generator as Rng } from '../tensor/random';
import type { Tensor } from '../tensor/tensor';
import type { ImageDataset } from './dataset';
import { STREAM, checkSeed, streamGenerator } from './seed';

/** MNIST's training-set pixel mean and standard deviation (on [0, 1] values). */
export const MNIST_MEAN = 0.1307;
export const MNIST_STD = 0.3081;

/** Shape of a float batch handed to a transform: x holds n × c × h × w values. */
export interface BatchShape {
  n: number;
  c: number;
  h: number;
  w: number;
}

/**
 * An in-place transform of a float batch with pixel values in [0, 1] (before normalisation),
 * drawing any randomness from `gen`. `augment()` builds one; `compose()` chains several.
 */
export type BatchTransform = (x: Float32Array, shape: BatchShape, gen: Rng) => void;

export type Normalize = { mean: number | readonly number[]; std: number | readonly number[] } | 'mnist' | false;

export interface DataLoaderOptions {
  /** Samples per batch (default 64). */
  batchSize?: number;
  /** Reshuffle every epoch (default false). */
  shuffle?: boolean;
  /** Drop the last batch when it is smaller than batchSize (default false). */
  dropLast?: boolean;
  /** Seed of the shuffle and transform streams (default 0). */
  seed?: number;
  /** Applied to each batch after scaling to [0, 1] and before normalisation (e.g. augment()). */
  transform?: BatchTransform | null;
  /**
   * After scaling bytes to [0, 1]: `false` (default) leaves them there; `{ mean, std }` (scalars
   * or one per channel) computes (x − mean) / std; `'mnist'` is { mean: 0.1307, std: 0.3081 }.
   */
  normalize?: Normalize;
  /** Yield x as [B, C·H·W] instead of [B, C, H, W] (default false). */
  flatten?: boolean;
  /** The epoch the next iteration runs (default 0); see setEpoch(). */
  epoch?: number;
}

export interface Batch {
  /**
   * Float images [B, C, H, W] (or [B, C·H·W] with flatten). A fresh buffer per batch (from
   * `transientBatches()`: a recycled one, valid until the next batch is requested).
   */
  x: Tensor;
  /** Class labels. */
  y: Int32Array;
  /** The dataset indices of the samples, in batch order. */
  indices: Int32Array;
  /**
   * true when every value of x is finite by construction (bytes mapped through a finite scale
   * and shift, no transform): fit() then skips its input check.
   */
  finite: boolean;
}

function positiveInt(where: string, name: string, v: number): number {
  if (!Number.isInteger(v) || v < 1) throw new ValueError(`${where}: ${name} must be a positive integer, got ${v}`);
  return v;
}

function perChannel(name: string, v: number | readonly number[], c: number): number[] {
  const arr = typeof v === 'number' ? new Array<number>(c).fill(v) : [...v];
  if (arr.length !== c) throw new ValueError(`DataLoader: normalize.${name} has ${arr.length} values for ${c} channels`);
  for (const x of arr) {
    if (!Number.isFinite(x)) throw new ValueError(`DataLoader: normalize.${name} must be finite, got ${x}`);
    if (name === 'std' && !(x > 0)) throw new ValueError(`DataLoader: normalize.std must be > 0, got ${x}`);
  }
  return arr;
}

/**
 * Batches over an ImageDataset: `for (const { x, y } of loader)` runs one epoch.
 *
 * Shuffling: epoch k's order is a permutation drawn from a stream derived from (seed, k), so it
 * depends only on the seed and the epoch number; resuming at epoch k (setEpoch(k)) replays the
 * same order. Each iteration runs epoch `loader.epoch` and then advances it. The transform of
 * batch b in epoch k draws from a stream derived from (seed, k, b).
 *
 * Each batch converts its images from bytes to a fresh Float32Array: x·(1/255), then the
 * transform, then normalisation. Buffers are not reused across batches because autograd may
 * still hold a previous batch's tensor.
 */
export class DataLoader implements Iterable<Batch> {
  readonly dataset: ImageDataset;
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly dropLast: boolean;
  readonly seed: number;
  readonly flatten: boolean;
  readonly transform: BatchTransform | null;
  /** Per-channel (x·scale + shift) applied after the transform; null: none. */
  private readonly norm: { scale: number[]; shift: number[] } | null;
  /** The epoch the next iteration runs. */
  epoch: number;

  constructor(dataset: ImageDataset, opts: DataLoaderOptions = {}) {
    this.dataset = dataset;
    this.batchSize = positiveInt('DataLoader', 'batchSize', opts.batchSize ?? 64);
    this.shuffle = opts.shuffle ?? false;
    this.dropLast = opts.dropLast ?? false;
    this.seed = checkSeed('DataLoader', opts.seed ?? 0);
    this.flatten = opts.flatten ?? false;
    this.transform = opts.transform ?? null;
    if (this.transform !== null && typeof this.transform !== 'function') throw new ValueError('DataLoader: transform must be a function');
    this.epoch = 0;
    this.setEpoch(opts.epoch ?? 0);
    const n = opts.normalize ?? false;
    if (n === false) {
      this.norm = null;
    } else {
      if (n !== 'mnist' && (typeof n !== 'object' || n === null)) throw new ValueError(`DataLoader: normalize must be { mean, std }, 'mnist' or false, got ${String(n)}`);
      const { mean, std } = n === 'mnist' ? { mean: MNIST_MEAN, std: MNIST_STD } : n;
      const m = perChannel('mean', mean, dataset.channels);
      const s = perChannel('std', std, dataset.channels);
      this.norm = { scale: s.map((v) => 1 / v), shift: m.map((v, i) => -v / s[i]!) };
    }
  }

  /** Number of batches per epoch. */
  get length(): number {
    const n = this.dataset.length;
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  /** Sets the epoch the next iteration runs (for resuming: the order depends only on seed and epoch). */
  setEpoch(epoch: number): void {
    if (!Number.isSafeInteger(epoch) || epoch < 0) throw new ValueError(`DataLoader: epoch must be a non-negative integer, got ${epoch}`);
    this.epoch = epoch;
  }

  /** The sample order of `epoch`: a seeded permutation when shuffling, else 0..N−1. */
  order(epoch: number): Int32Array {
    const n = this.dataset.length;
    if (this.shuffle) return streamGenerator(this.seed, STREAM.shuffle, epoch).permutation(n);
    const o = new Int32Array(n);
    for (let i = 0; i < n; i++) o[i] = i;
    return o;
  }

  /** Runs epoch `this.epoch`, then advances it. */
  [Symbol.iterator](): Iterator<Batch> {
    const epoch = this.epoch;
    this.epoch = epoch + 1;
    return this.epochBatches(epoch);
  }

  /** The batches of a given epoch (does not change `this.epoch`). */
  *epochBatches(epoch: number): IterableIterator<Batch> {
    const order = this.order(epoch);
    const nb = this.length;
    for (let b = 0; b < nb; b++) {
      const indices = order.subarray(b * this.batchSize, Math.min(order.length, (b + 1) * this.batchSize));
      yield this.makeBatch(indices, epoch, b);
    }
  }

  /**
   * Like iterating (runs epoch `this.epoch`, then advances it), but each batch's `x` buffer is
   * recycled once the next batch is requested or the iteration ends: a batch is valid only until
   * then. `fit()` and `evaluate()` iterate a DataLoader this way, so a warmed-up training step
   * allocates no batch buffer; code that keeps a batch (or its `x`) beyond that must copy it.
   */
  *transientBatches(): IterableIterator<Batch> {
    const epoch = this.epoch;
    this.epoch = epoch + 1;
    const order = this.order(epoch);
    const nb = this.length;
    let prev: Float32Array | null = null;
    try {
      for (let b = 0; b < nb; b++) {
        const indices = order.subarray(b * this.batchSize, Math.min(order.length, (b + 1) * this.batchSize));
        if (prev) release(prev);
        prev = null;
        const batch = this.makeBatch(indices, epoch, b, true);
        prev = batch.x.data;
        yield batch;
      }
    } finally {
      if (prev) release(prev);
    }
  }

  /**
   * Builds the batch of the given dataset indices (transform stream keyed by epoch and batch).
   * `pooled`: take `x`'s buffer from the tensor buffer pool (for `transientBatches`).
   */
  makeBatch(indices: Int32Array, epoch = 0, batch = 0, pooled = false): Batch {
    const ds = this.dataset;
    const { channels: c, height: h, width: w } = ds;
    const per = c * h * w;
    const hw = h * w;
    const bsz = indices.length;
    const x = pooled ? alloc(bsz * per) : new Float32Array(bsz * per);
    const y = new Int32Array(bsz);
    const img = ds.images;
    const inv = 1 / 255;
    // Normalisation folds into the byte conversion when there is no transform in between. One
    // gatherBytes kernel call per channel: byte·s + t in double, rounded once to float32.
    const fold = this.norm !== null && this.transform === null;
    const be = backend();
    // byte·s + t is finite for every byte when it is at 0 and 255 (it is linear in the byte).
    let finite = this.transform === null;
    for (let ch = 0; ch < c; ch++) {
      const s = fold ? inv * this.norm!.scale[ch]! : inv;
      const t = fold ? this.norm!.shift[ch]! : 0;
      be.gatherBytes(img, indices, bsz, per, ch * hw, hw, s, t, x);
      finite &&= Number.isFinite(Math.fround(t)) && Number.isFinite(Math.fround(255 * s + t));
    }
    for (let k = 0; k < bsz; k++) y[k] = ds.labels[indices[k]!]!;
    if (this.transform) {
      this.transform(x, { n: bsz, c, h, w }, streamGenerator(this.seed, STREAM.augment, epoch, batch));
      if (this.norm) {
        for (let k = 0; k < bsz; k++) {
          for (let ch = 0; ch < c; ch++) {
            const s = this.norm.scale[ch]!;
            const t = this.norm.shift[ch]!;
            const o = k * per + ch * hw;
            for (let j = 0; j < hw; j++) x[o + j] = x[o + j]! * s + t;
          }
        }
      }
    }
    const shape = this.flatten ? [bsz, per] : [bsz, c, h, w];
    return { x: fromBuffer(x, shape), y, indices, finite };
  }
}
