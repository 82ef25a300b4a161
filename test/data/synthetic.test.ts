import { afterEach, describe, expect, it, vi } from 'vitest';
import { ImageDataset } from '../../src/data/dataset';
import { loadMnist } from '../../src/data/mnist';
import { synthesize } from '../../src/data/synthetic';

const mnist = loadMnist({ split: 'test' }).subset(Array.from({ length: 1000 }, (_, i) => i));

/** Byte-exact comparison (vitest's deep equality is slow on large typed arrays). */
const same = (a: Uint8Array, b: Uint8Array): boolean => Buffer.compare(a, b) === 0;

function warnings(): ReturnType<typeof vi.spyOn> {
  return vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
}

afterEach(() => { vi.restoreAllMocks(); });

describe('synthesize', () => {
  it('adds floor(ratio × n) samples after the originals, labels kept', () => {
    const spy = warnings();
    const out = synthesize(mnist, { ratio: 0.3, seed: 1 });
    expect(out.length).toBe(1300);
    expect(same(out.images.subarray(0, 1000 * 784), mnist.images)).toBe(true);
    expect(Array.from(out.labels.subarray(0, 1000))).toEqual(Array.from(mnist.labels));
    // Each synthetic sample keeps its source's class: the class histogram grows proportionally.
    const counts = out.classCounts(), base = mnist.classCounts();
    for (let c = 0; c < 10; c++) expect(counts[c]! - base[c]!).toBeLessThanOrEqual(base[c]!);
    expect(spy).not.toHaveBeenCalled();
  });

  it('respects the ratio cap', () => {
    warnings();
    expect(synthesize(mnist, { ratio: 0.1, count: 100 }).length).toBe(1100);
    expect(synthesize(mnist, { ratio: 0.1, count: 40 }).length).toBe(1040);
    expect(() => synthesize(mnist, { ratio: 0.1, count: 101 })).toThrow('synthesize: count 101 exceeds the cap ratio × n = 0.1 × 1000 = 100');
    expect(synthesize(mnist, { ratio: 0 }).length).toBe(1000);
    expect(() => synthesize(mnist, { ratio: -1 })).toThrow(/ratio must be a finite number >= 0/);
  });

  it('warns (LERNEN_SYNTHETIC_RATIO) above the chosen share, not at or below it', () => {
    const spy = warnings();
    synthesize(mnist, { ratio: 0.5 });
    expect(spy).not.toHaveBeenCalled();
    synthesize(mnist, { ratio: 0.6 });
    expect(spy).toHaveBeenCalledTimes(1);
    const [msg, opts] = spy.mock.calls[0]!;
    expect(msg).toMatch(/600 synthetic samples are 60\.0% of the 1000 original training samples, above warnAbove = 50\.0%/);
    expect(opts).toMatchObject({ code: 'LERNEN_SYNTHETIC_RATIO' });
    synthesize(mnist, { ratio: 0.6, warnAbove: 0.8 });
    expect(spy).toHaveBeenCalledTimes(1);
    synthesize(mnist, { ratio: 0.3, warnAbove: 0.2 });
    expect(spy).toHaveBeenCalledTimes(2);
  });

  it('is seeded, perturbs the images, and keeps them digit-like', () => {
    warnings();
    const a = synthesize(mnist, { ratio: 0.2, seed: 3 });
    const b = synthesize(mnist, { ratio: 0.2, seed: 3 });
    const c = synthesize(mnist, { ratio: 0.2, seed: 4 });
    expect(same(a.images, b.images)).toBe(true);
    expect(same(a.images, c.images)).toBe(false);
    const syn = a.images.subarray(1000 * 784);
    // Not copies of any source, yet a similar amount of ink (mean intensity within ±40 %).
    let ink = 0;
    for (const v of syn) ink += v;
    let base = 0;
    for (const v of mnist.images) base += v;
    const ratio = ink / syn.length / (base / mnist.images.length);
    expect(ratio).toBeGreaterThan(0.6);
    expect(ratio).toBeLessThan(1.4);
    const s0 = syn.slice(0, 784);
    for (let i = 0; i < 1000; i++) expect(same(mnist.image(i), s0)).toBe(false);
  });

  it('strength 0 reproduces the sources exactly; sources are used evenly', () => {
    warnings();
    const d = new ImageDataset(new Uint8Array(3 * 4).map((_, i) => i * 10), [0, 1, 2], { channels: 1, height: 2, width: 2 });
    const out = synthesize(d, { ratio: 2, strength: 0, seed: 0, warnAbove: 10 });
    expect(out.length).toBe(9);
    const syn = out.subset([3, 4, 5, 6, 7, 8]);
    const labels = Array.from(syn.labels);
    expect(labels.slice(0, 3).sort()).toEqual([0, 1, 2]);
    expect(labels.slice(3).sort()).toEqual([0, 1, 2]);
    for (let k = 0; k < 6; k++) expect(Array.from(syn.image(k))).toEqual(Array.from(d.image(labels[k]!)));
  });
});
