import { afterAll, describe, expect, it } from 'vitest';
import { getBackend, setBackend } from '../../src/backend';
import { augment } from '../../src/data/augment';
import { trainValSplit } from '../../src/data/dataset';
import { DataLoader } from '../../src/data/loader';
import { loadMnist } from '../../src/data/mnist';
import { synthesize } from '../../src/data/synthetic';
import { BACKENDS } from '../helpers/backends';

/**
 * Seeded data pipelines must give bit-identical results on every backend (the RNG kernels run on
 * the active backend). Like the kernel suites, this fails if the native addon was expected but did
 * not load (LERNEN_TEST_BACKENDS=js runs it on JS alone).
 */
const test = loadMnist({ split: 'test' });
const small = test.subset(Array.from({ length: 512 }, (_, i) => i));

function run(): { order: number[]; val: number[]; x: Float32Array; syn: Uint8Array } {
  const loader = new DataLoader(small, {
    batchSize: 100, shuffle: true, seed: 11, normalize: 'mnist',
    transform: augment({ rotate: 10, scale: 0.1, translate: 0.1, noise: 0.1, brightness: 0.2, contrast: 0.2, erase: 0.5 }),
  });
  const batches = [...loader];
  const order = [...loader.order(0), ...loader.order(5)];
  const val = Array.from(trainValSplit(small, { valSize: 50, seed: 2 }).val.labels);
  const syn = synthesize(small, { ratio: 0.1, seed: 3 }).images.slice(512 * 784);
  return { order, val, x: batches[2]!.x.data, syn };
}

const original = getBackend();
afterAll(() => { setBackend(original); });

describe('data pipeline parity across backends', () => {
  it(`same seed → identical shuffles, splits, augmentation and synthetic data on ${BACKENDS.map((b) => b.name).join(' and ')}`, () => {
    const results = BACKENDS.map((b) => { setBackend(b.name); return run(); });
    const [ref, ...others] = results;
    for (const r of others) {
      expect(r.order).toEqual(ref!.order);
      expect(r.val).toEqual(ref!.val);
      expect(Buffer.compare(Buffer.from(r.x.buffer), Buffer.from(ref!.x.buffer))).toBe(0);
      expect(Buffer.compare(r.syn, ref!.syn)).toBe(0);
    }
    expect(ref!.x.some(Number.isNaN)).toBe(false);
  });
});
