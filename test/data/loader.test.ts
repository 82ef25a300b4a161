import { describe, expect, it } from 'vitest';
import { ImageDataset, concatDatasets, randomSplit, trainValSplit } from '../../src/data/dataset';
import { DataLoader, MNIST_MEAN, MNIST_STD, type BatchTransform } from '../../src/data/loader';
import { loadMnist } from '../../src/data/mnist';
import { deriveSeed } from '../../src/data/seed';

/** n images of c×h×w whose pixel j of image i is (i + j) % 256; label i % 10. */
function toy(n: number, c = 1, h = 2, w = 3): ImageDataset {
  const per = c * h * w;
  const images = new Uint8Array(n * per).map((_, k) => (Math.floor(k / per) + (k % per)) % 256);
  const labels = Int32Array.from({ length: n }, (_, i) => i % 10);
  return new ImageDataset(images, labels, { channels: c, height: h, width: w, numClasses: 10 });
}

function epochIndices(loader: DataLoader): number[] {
  const out: number[] = [];
  for (const b of loader) out.push(...b.indices);
  return out;
}

describe('ImageDataset', () => {
  it('checks its inputs', () => {
    expect(() => new ImageDataset(new Uint8Array(5), [1], { channels: 1, height: 2, width: 3 })).toThrow(/5 image bytes do not match 1 labels × 1×2×3/);
    expect(() => new ImageDataset(new Uint8Array(6), [-1], { channels: 1, height: 2, width: 3 })).toThrow(/label -1 at index 0/);
    expect(() => new ImageDataset(new Uint8Array(6), [3], { channels: 1, height: 2, width: 3, numClasses: 3 })).toThrow(/label 3 is out of range \[0, 3\)/);
    expect(() => toy(3).image(3)).toThrow(/index 3 is out of range \[0, 3\)/);
  });

  it('subset copies the chosen rows in order, concat joins', () => {
    const d = toy(5);
    const s = d.subset([4, 1, 1]);
    expect(s.length).toBe(3);
    expect(Array.from(s.labels)).toEqual([4, 1, 1]);
    expect(Array.from(s.image(0))).toEqual(Array.from(d.image(4)));
    expect(Array.from(s.image(2))).toEqual(Array.from(d.image(1)));
    s.images[0] = 99;
    expect(d.images[4 * 6]).toBe(4);
    const c = concatDatasets([d, s]);
    expect(c.length).toBe(8);
    expect(Array.from(c.labels)).toEqual([0, 1, 2, 3, 4, 4, 1, 1]);
  });
});

describe('splits', () => {
  const mnist = loadMnist({ split: 'train' });

  it('trainValSplit gives 55000 / 5000, disjoint, covering the training set, reproducibly', () => {
    // Tag each image by its index in its first 4 bytes (MNIST corners are always 0) to trace rows.
    const tagged = new ImageDataset(mnist.images.slice(), mnist.labels, mnist.shape);
    for (let i = 0; i < tagged.length; i++) {
      const o = i * 784;
      tagged.images[o] = i & 255; tagged.images[o + 1] = (i >> 8) & 255; tagged.images[o + 2] = (i >> 16) & 255;
    }
    const ids = (d: ImageDataset): number[] => Array.from({ length: d.length }, (_, i) => d.images[i * 784]! | (d.images[i * 784 + 1]! << 8) | (d.images[i * 784 + 2]! << 16));
    const { train, val } = trainValSplit(tagged, { seed: 7 });
    expect(train.length).toBe(55000);
    expect(val.length).toBe(5000);
    const a = ids(train), b = ids(val);
    const all = new Set([...a, ...b]);
    expect(all.size).toBe(60000);
    for (const i of b.slice(0, 50)) expect(val.labels[b.indexOf(i)]).toBe(mnist.labels[i]);
    const again = trainValSplit(tagged, { seed: 7 });
    expect(ids(again.val)).toEqual(b);
    expect(ids(trainValSplit(tagged, { seed: 8 }).val)).not.toEqual(b);
    expect(trainValSplit(tagged, { valSize: 0.1 }).val.length).toBe(6000);
  });

  it('randomSplit takes counts or fractions and rejects the rest', () => {
    const d = toy(10);
    expect(randomSplit(d, [7, 3]).map((s) => s.length)).toEqual([7, 3]);
    expect(randomSplit(d, [0.5, 0.25, 0.25]).map((s) => s.length)).toEqual([6, 2, 2]); // remainders go to the first parts, as in PyTorch
    expect(() => randomSplit(d, [7, 4])).toThrow(/neither sum to the dataset's 10 samples/);
    expect(() => trainValSplit(d, { valSize: 11 })).toThrow(/valSize must be an integer in \[0, 10\]/);
  });
});

describe('DataLoader', () => {
  it('batch count with and without dropLast', () => {
    const d = toy(10);
    const keep = new DataLoader(d, { batchSize: 4 });
    const drop = new DataLoader(d, { batchSize: 4, dropLast: true });
    expect(keep.length).toBe(3);
    expect(drop.length).toBe(2);
    expect([...keep].map((b) => b.y.length)).toEqual([4, 4, 2]);
    expect([...drop].map((b) => b.y.length)).toEqual([4, 4]);
    expect(new DataLoader(toy(8), { batchSize: 4, dropLast: true }).length).toBe(2);
    expect(() => new DataLoader(d, { batchSize: 0 })).toThrow(/batchSize must be a positive integer, got 0/);
  });

  it('without shuffle: dataset order, shapes, labels and [0,1] values', () => {
    const d = toy(5);
    const [b0] = new DataLoader(d, { batchSize: 2 });
    expect(b0!.x.shape).toEqual([2, 1, 2, 3]);
    expect(Array.from(b0!.indices)).toEqual([0, 1]);
    expect(Array.from(b0!.y)).toEqual([0, 1]);
    expect(b0!.x.data[7]).toBeCloseTo(2 / 255, 7); // image 1, pixel 1
    const [f0] = new DataLoader(d, { batchSize: 2, flatten: true });
    expect(f0!.x.shape).toEqual([2, 6]);
  });

  it('every index exactly once per epoch; same seed same order; epochs differ; resume replays', () => {
    const d = toy(1000);
    const a = new DataLoader(d, { batchSize: 64, shuffle: true, seed: 3 });
    const e0 = epochIndices(a);
    const e1 = epochIndices(a);
    expect(a.epoch).toBe(2);
    expect([...e0].sort((x, y) => x - y)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect(new Set(e1).size).toBe(1000);
    expect(e1).not.toEqual(e0);
    const b = new DataLoader(d, { batchSize: 64, shuffle: true, seed: 3 });
    expect(epochIndices(b)).toEqual(e0);
    const resumed = new DataLoader(d, { batchSize: 64, shuffle: true, seed: 3, epoch: 1 });
    expect(epochIndices(resumed)).toEqual(e1);
    b.setEpoch(1);
    expect(epochIndices(b)).toEqual(e1);
    expect(epochIndices(new DataLoader(d, { batchSize: 64, shuffle: true, seed: 4 }))).not.toEqual(e0);
  });

  it('labels travel with their images under shuffling', () => {
    const d = toy(100);
    for (const { x, y, indices } of new DataLoader(d, { batchSize: 16, shuffle: true, seed: 1 })) {
      for (let k = 0; k < y.length; k++) {
        expect(y[k]).toBe(indices[k]! % 10);
        expect(Math.round(x.data[k * 6]! * 255)).toBe(indices[k]! % 256);
      }
    }
  });

  it('normalisation: mnist constants, custom mean/std per channel, default [0,1]', () => {
    const images = new Uint8Array([0, 255, 51, 102]);
    const d = new ImageDataset(images, [0], { channels: 1, height: 2, width: 2 });
    const val = (opts: ConstructorParameters<typeof DataLoader>[1]): number[] => Array.from([...new DataLoader(d, opts)][0]!.x.data);
    const close = (got: number[], want: number[]): void => got.forEach((g, i) => expect(g).toBeCloseTo(want[i]!, 5));
    close(val({}), [0, 1, 0.2, 0.4]);
    close(val({ normalize: 'mnist' }), [0, 1, 0.2, 0.4].map((v) => (v - MNIST_MEAN) / MNIST_STD));
    expect(val({ normalize: 'mnist' })[0]).toBeCloseTo(-0.4242, 4);
    close(val({ normalize: { mean: 0.5, std: 0.5 } }), [-1, 1, -0.6, -0.2]);
    // With a transform in between, normalisation is applied after it.
    const plusTenth: BatchTransform = (x) => { for (let i = 0; i < x.length; i++) x[i] += 0.1; };
    close(val({ normalize: { mean: 0.5, std: 0.5 }, transform: plusTenth }), [-0.8, 1.2, -0.4, 0]);
    const two = new ImageDataset(new Uint8Array([255, 255]), [0], { channels: 2, height: 1, width: 1 });
    close(Array.from([...new DataLoader(two, { normalize: { mean: [0, 1], std: [1, 2] } })][0]!.x.data), [1, 0]);
    expect(() => new DataLoader(d, { normalize: { mean: 0, std: 0 } })).toThrow(/normalize.std must be > 0/);
    expect(() => new DataLoader(two, { normalize: { mean: [0], std: 1 } })).toThrow(/normalize.mean has 1 values for 2 channels/);
  });

  it('the transform stream depends on seed, epoch and batch only', () => {
    const d = toy(8);
    const seen: number[][] = [];
    const record: BatchTransform = (_x, _s, gen) => { seen.push(Array.from(gen.uniform(new Float32Array(2)))); };
    const a = new DataLoader(d, { batchSize: 4, transform: record, seed: 5 });
    [...a]; [...a];
    expect(seen.length).toBe(4);
    expect(new Set(seen.map((s) => s.join())).size).toBe(4);
    const before = seen.splice(0);
    new DataLoader(d, { batchSize: 4, transform: record, seed: 5, epoch: 1 }).epochBatches(1).next();
    expect(seen[0]).toEqual(before[2]);
  });

  it('transientBatches: the same batches as iterating, one recycled x buffer, and the epoch advances', () => {
    // 64 images of 32×32 (4 KiB as floats): an 8-image batch is 32 KiB, large enough to pool.
    const d = toy(64, 1, 32, 32);
    const a = new DataLoader(d, { batchSize: 8, shuffle: true, seed: 5, normalize: 'mnist' });
    const b = new DataLoader(d, { batchSize: 8, shuffle: true, seed: 5, normalize: 'mnist' });
    for (let epoch = 0; epoch < 2; epoch++) {
      const want = [...a].map((x) => ({ x: Array.from(x.x.data), shape: x.x.shape, y: Array.from(x.y), indices: Array.from(x.indices) }));
      const buffers = new Set<ArrayBufferLike>();
      let k = 0;
      for (const t of b.transientBatches()) {
        expect({ x: Array.from(t.x.data), shape: t.x.shape, y: Array.from(t.y), indices: Array.from(t.indices) }).toEqual(want[k++]);
        buffers.add(t.x.data.buffer);
      }
      expect(k).toBe(8);
      // Each batch's buffer went back to the pool before the next was made, so one buffer served all
      // (two at most: the pool may hold another buffer of that size from elsewhere).
      expect(buffers.size).toBeLessThanOrEqual(2);
    }
    expect(b.epoch).toBe(a.epoch);
  });

  it('batch.finite: true for bytes through a finite map, false with a transform or an overflowing std', () => {
    const d = toy(8);
    expect([...new DataLoader(d, { batchSize: 4 })].every((b) => b.finite)).toBe(true);
    expect([...new DataLoader(d, { batchSize: 4, normalize: 'mnist' })].every((b) => b.finite)).toBe(true);
    expect([...new DataLoader(d, { batchSize: 4, transform: () => {} })].every((b) => !b.finite)).toBe(true);
    const huge = new DataLoader(d, { batchSize: 4, normalize: { mean: [0.5], std: [1e-40] } });
    const b = [...huge][0]!;
    expect(b.finite).toBe(false);
    expect(b.x.data.some((v) => !Number.isFinite(v))).toBe(true);
  });

  it('deriveSeed separates keys', () => {
    const s = new Set<number>();
    for (let e = 0; e < 1000; e++) s.add(deriveSeed(42, 1, e));
    expect(s.size).toBe(1000);
    expect(deriveSeed(42, 1, 0)).not.toBe(deriveSeed(43, 1, 0));
    expect(deriveSeed(42, 1, 0)).toBe(deriveSeed(42, 1, 0));
    expect(Number.isSafeInteger(deriveSeed(2 ** 53 - 1, 7))).toBe(true);
  });

  it('a full MNIST epoch: 469 batches of [128,1,28,28], 60000 distinct indices', () => {
    const train = loadMnist({ split: 'train' });
    const loader = new DataLoader(train, { batchSize: 128, shuffle: true, normalize: 'mnist', seed: 1 });
    expect(loader.length).toBe(469);
    const seen = new Uint8Array(60000);
    let batches = 0;
    let sum = 0;
    for (const { x, indices } of loader) {
      if (batches === 0) expect(x.shape).toEqual([128, 1, 28, 28]);
      for (const i of indices) seen[i]!++;
      for (let j = 0; j < x.data.length; j += 97) sum += x.data[j]!;
      batches++;
    }
    expect(batches).toBe(469);
    expect(seen.every((v) => v === 1)).toBe(true);
    expect(Math.abs(sum / ((60000 * 784) / 97))).toBeLessThan(0.05); // normalised mean ≈ 0
  });
});
