import { ValueError } from '../tensor/errors';
import { STREAM, checkSeed, streamGenerator } from './seed';

export interface ImageShape {
  channels: number;
  height: number;
  width: number;
}

/**
 * Images kept as bytes (N × C × H × W, row-major, 0..255) with integer class labels. Batches
 * are converted to float by the DataLoader, so a whole MNIST training set costs 47 MB.
 *
 * A dataset is always contiguous: `subset`, splits and `concat` copy the selected rows (a
 * memcpy per image), so `images` and `labels` always describe exactly this dataset.
 */
export class ImageDataset {
  readonly images: Uint8Array;
  readonly labels: Int32Array;
  readonly channels: number;
  readonly height: number;
  readonly width: number;
  /** Labels lie in [0, numClasses). */
  readonly numClasses: number;

  constructor(images: Uint8Array, labels: ArrayLike<number>, shape: ImageShape & { numClasses?: number }) {
    const { channels, height, width } = shape;
    for (const [k, v] of [['channels', channels], ['height', height], ['width', width]] as const) {
      if (!Number.isInteger(v) || v < 1) throw new ValueError(`ImageDataset: ${k} must be a positive integer, got ${v}`);
    }
    if (!(images instanceof Uint8Array)) throw new ValueError('ImageDataset: images must be a Uint8Array');
    const per = channels * height * width;
    if (images.length !== labels.length * per) {
      throw new ValueError(`ImageDataset: ${images.length} image bytes do not match ${labels.length} labels × ${channels}×${height}×${width}`);
    }
    const lab = labels instanceof Int32Array ? labels : Int32Array.from(labels);
    let max = -1;
    for (let i = 0; i < lab.length; i++) {
      const l = lab[i]!;
      if (l < 0 || l !== labels[i]) throw new ValueError(`ImageDataset: label ${labels[i]} at index ${i} is not a non-negative integer`);
      if (l > max) max = l;
    }
    const numClasses = shape.numClasses ?? max + 1;
    if (!Number.isInteger(numClasses) || numClasses < 0) throw new ValueError(`ImageDataset: numClasses must be a non-negative integer, got ${numClasses}`);
    if (max >= numClasses) throw new ValueError(`ImageDataset: label ${max} is out of range [0, ${numClasses})`);
    this.images = images;
    this.labels = lab;
    this.channels = channels;
    this.height = height;
    this.width = width;
    this.numClasses = numClasses;
  }

  get length(): number { return this.labels.length; }
  /** Bytes (= values) per image: C·H·W. */
  get imageSize(): number { return this.channels * this.height * this.width; }
  get shape(): ImageShape { return { channels: this.channels, height: this.height, width: this.width }; }

  /** The bytes of image `i` (a view, not a copy). */
  image(i: number): Uint8Array {
    this.check('image', i);
    const s = this.imageSize;
    return this.images.subarray(i * s, (i + 1) * s);
  }

  label(i: number): number {
    this.check('label', i);
    return this.labels[i]!;
  }

  /** A new dataset of the rows `indices`, in that order (copied; repeats allowed). */
  subset(indices: ArrayLike<number>): ImageDataset {
    const s = this.imageSize;
    const images = new Uint8Array(indices.length * s);
    const labels = new Int32Array(indices.length);
    for (let k = 0; k < indices.length; k++) {
      const i = indices[k]!;
      this.check('subset', i);
      images.set(this.images.subarray(i * s, (i + 1) * s), k * s);
      labels[k] = this.labels[i]!;
    }
    return new ImageDataset(images, labels, { ...this.shape, numClasses: this.numClasses });
  }

  /** How many samples of each class. */
  classCounts(): Int32Array {
    const c = new Int32Array(this.numClasses);
    for (let i = 0; i < this.labels.length; i++) c[this.labels[i]!]++;
    return c;
  }

  private check(where: string, i: number): void {
    if (!Number.isInteger(i) || i < 0 || i >= this.labels.length) {
      throw new ValueError(`ImageDataset.${where}: index ${i} is out of range [0, ${this.labels.length})`);
    }
  }
}

/** One dataset holding the samples of all `parts` in order (same image shape required). */
export function concatDatasets(parts: readonly ImageDataset[]): ImageDataset {
  if (parts.length === 0) throw new ValueError('concatDatasets: no datasets given');
  const first = parts[0]!;
  let n = 0;
  let numClasses = 0;
  for (const p of parts) {
    if (p.channels !== first.channels || p.height !== first.height || p.width !== first.width) {
      throw new ValueError(`concatDatasets: image shape ${p.channels}×${p.height}×${p.width} differs from ${first.channels}×${first.height}×${first.width}`);
    }
    n += p.length;
    numClasses = Math.max(numClasses, p.numClasses);
  }
  const images = new Uint8Array(n * first.imageSize);
  const labels = new Int32Array(n);
  let off = 0;
  for (const p of parts) {
    images.set(p.images, off * first.imageSize);
    labels.set(p.labels, off);
    off += p.length;
  }
  return new ImageDataset(images, labels, { ...first.shape, numClasses });
}

/**
 * Splits `dataset` at random into parts of the given sizes (integers summing to its length, or
 * fractions summing to 1; fractional remainders go to the first parts, as in PyTorch). The
 * permutation comes from `seed` (default 0), so the same seed always gives the same split.
 */
export function randomSplit(dataset: ImageDataset, lengths: readonly number[], opts: { seed?: number } = {}): ImageDataset[] {
  const n = dataset.length;
  const seed = checkSeed('randomSplit', opts.seed ?? 0);
  if (lengths.length === 0) throw new ValueError('randomSplit: no lengths given');
  for (const l of lengths) {
    if (!Number.isFinite(l) || l < 0) throw new ValueError(`randomSplit: lengths must be non-negative numbers, got ${l}`);
  }
  let sizes: number[];
  const total = lengths.reduce((a, b) => a + b, 0);
  if (lengths.every(Number.isInteger) && total === n) {
    sizes = [...lengths];
  } else if (lengths.every((l) => l <= 1) && Math.abs(total - 1) < 1e-9) {
    sizes = lengths.map((f) => Math.floor(f * n));
    let rest = n - sizes.reduce((a, b) => a + b, 0);
    for (let i = 0; rest > 0; i = (i + 1) % sizes.length, rest--) sizes[i]!++;
  } else {
    throw new ValueError(`randomSplit: lengths [${lengths.join(', ')}] neither sum to the dataset's ${n} samples nor are fractions summing to 1`);
  }
  const perm = streamGenerator(seed, STREAM.split).permutation(n);
  const out: ImageDataset[] = [];
  let off = 0;
  for (const s of sizes) {
    out.push(dataset.subset(perm.subarray(off, off + s)));
    off += s;
  }
  return out;
}

export interface TrainValSplitOptions {
  /** Validation samples: a count, or a fraction in (0, 1). Default 5000 (MNIST: 55,000 / 5,000). */
  valSize?: number;
  seed?: number;
}

/**
 * Holds out a validation set from the training set (the test set is kept for the final test).
 * Default: 5,000 samples, seed 0, giving 55,000 / 5,000 on MNIST.
 */
export function trainValSplit(dataset: ImageDataset, opts: TrainValSplitOptions = {}): { train: ImageDataset; val: ImageDataset } {
  const n = dataset.length;
  const v = opts.valSize ?? 5000;
  const val = v > 0 && v < 1 ? Math.round(v * n) : v;
  if (!Number.isInteger(val) || val < 0 || val > n) {
    throw new ValueError(`trainValSplit: valSize must be an integer in [0, ${n}] or a fraction in (0, 1), got ${v}`);
  }
  const [train, valSet] = randomSplit(dataset, [n - val, val], { seed: opts.seed ?? 0 });
  return { train: train!, val: valSet! };
}
