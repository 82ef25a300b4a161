import { describe, expect, it } from 'vitest';
import { affineMatrix, augment, compose, parseAugmentSpec, warpAffine } from '../../src/data/augment';
import { ImageDataset } from '../../src/data/dataset';
import { DataLoader } from '../../src/data/loader';
import { Generator } from '../../src/tensor/random';

/** An asymmetric 4×5 pattern (values 1..20 in reading order). */
const H = 4, W = 5;
const pattern = Float32Array.from({ length: H * W }, (_, i) => i + 1);
const at = (a: Float32Array, y: number, x: number, w = W): number => a[y * w + x]!;

/** A batch of n random-ish images in [0, 1] (deterministic). */
function batch(n: number, h = 28, w = 28): Float32Array {
  const x = new Float32Array(n * h * w);
  new Generator(123).uniform(x);
  return x;
}

describe('warpAffine', () => {
  it('the identity matrix copies exactly', () => {
    const out = new Float32Array(H * W);
    warpAffine(pattern, out, H, W, [1, 0, 0, 0, 1, 0]);
    expect(Array.from(out)).toEqual(Array.from(pattern));
    warpAffine(pattern, out, H, W, affineMatrix(H, W, {}));
    expect(Array.from(out)).toEqual(Array.from(pattern));
  });

  it('a one-pixel translation shifts the pattern, zero-filling the edge', () => {
    const out = new Float32Array(H * W);
    warpAffine(pattern, out, H, W, affineMatrix(H, W, { tx: 1 })); // content moves right
    for (let y = 0; y < H; y++) {
      expect(at(out, y, 0)).toBe(0);
      for (let x = 1; x < W; x++) expect(at(out, y, x)).toBe(at(pattern, y, x - 1));
    }
    warpAffine(pattern, out, H, W, affineMatrix(H, W, { ty: -1 })); // content moves up
    for (let x = 0; x < W; x++) {
      expect(at(out, H - 1, x)).toBe(0);
      for (let y = 0; y < H - 1; y++) expect(at(out, y, x)).toBe(at(pattern, y + 1, x));
    }
  });

  it('half-pixel shift interpolates bilinearly', () => {
    const out = new Float32Array(H * W);
    warpAffine(pattern, out, H, W, [1, 0, 0.5, 0, 1, 0]);
    expect(at(out, 1, 1)).toBeCloseTo((at(pattern, 1, 1) + at(pattern, 1, 2)) / 2, 6);
    expect(at(out, 1, W - 1)).toBeCloseTo(at(pattern, 1, W - 1) / 2, 6); // half outside → half zero
  });

  it('a 90° rotation of a square asymmetric pattern (given matrix, and via affineMatrix)', () => {
    const n = 3;
    const sq = Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const out = new Float32Array(9);
    // Counter-clockwise as displayed: output (x, y) samples the source at (x', y') = (2 − y, x).
    warpAffine(sq, out, n, n, [0, -1, 2, 1, 0, 0]);
    expect(Array.from(out)).toEqual([3, 6, 9, 2, 5, 8, 1, 4, 7]);
    const m = affineMatrix(n, n, { angle: 90 });
    warpAffine(sq, out, n, n, m);
    expect(Array.from(out).map((v) => Math.round(v * 1e4) / 1e4)).toEqual([3, 6, 9, 2, 5, 8, 1, 4, 7]);
    // Four quarter turns come back to the start.
    const a = Float32Array.from(sq), b = new Float32Array(9);
    for (let i = 0; i < 4; i++) { warpAffine(a, b, n, n, [0, -1, 2, 1, 0, 0]); a.set(b); }
    expect(Array.from(a)).toEqual(Array.from(sq));
  });

  it('zoom by 2 about the centre, and out-of-image samples are zero', () => {
    const out = new Float32Array(H * W);
    warpAffine(pattern, out, H, W, [1, 0, 100, 0, 1, 0]);
    expect(out.every((v) => v === 0)).toBe(true);
    warpAffine(pattern, out, H, W, [Number.NaN, 0, 0, 0, 1, 0]);
    expect(out.every((v) => v === 0)).toBe(true);
    const m = affineMatrix(5, 5, { scale: 2 });
    const img = new Float32Array(25); img[12] = 1;
    const z = new Float32Array(25);
    warpAffine(img, z, 5, 5, m);
    expect(z[12]).toBe(1); // the centre stays put
    expect(z[11]).toBeCloseTo(0.5, 6);
  });

  it('works at an offset inside a batch', () => {
    const src = new Float32Array(2 * H * W); src.set(pattern, H * W);
    const dst = new Float32Array(3 * H * W);
    warpAffine(src, dst, H, W, [1, 0, 0, 0, 1, 0], H * W, 2 * H * W);
    expect(Array.from(dst.subarray(2 * H * W))).toEqual(Array.from(pattern));
    expect(dst.subarray(0, 2 * H * W).every((v) => v === 0)).toBe(true);
  });
});

describe('augment', () => {
  const shape = { n: 8, c: 1, h: 28, w: 28 };

  it('rotate 0, scale 0, translate 0 returns the input exactly', () => {
    const x = batch(8);
    const y = x.slice();
    augment({ rotate: 0, scale: 0, translate: 0 })(y, shape, new Generator(1));
    expect(y).toEqual(x);
  });

  it('is reproducible for a seed, and differs across seeds', () => {
    const t = augment({ rotate: 15, scale: 0.1, translate: 0.1, noise: 0.05, brightness: 0.2, contrast: 0.2, erase: 0.5 });
    const a = batch(8), b = batch(8), c = batch(8);
    t(a, shape, new Generator(9));
    t(b, shape, new Generator(9));
    t(c, shape, new Generator(10));
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    expect(a.every((v) => v >= 0 && v <= 1)).toBe(true);
  });

  it('noise has the requested statistics', () => {
    const x = new Float32Array(200 * 784).fill(0.5);
    augment({ noise: 0.1 })(x, { n: 200, c: 1, h: 28, w: 28 }, new Generator(2));
    let s = 0, s2 = 0;
    for (const v of x) { s += v - 0.5; s2 += (v - 0.5) ** 2; }
    const mean = s / x.length, std = Math.sqrt(s2 / x.length - mean * mean);
    expect(Math.abs(mean)).toBeLessThan(0.002);
    expect(std).toBeGreaterThan(0.098);
    expect(std).toBeLessThan(0.102);
  });

  it('brightness scales and contrast keeps the mean', () => {
    const x = new Float32Array(784).map((_, i) => (i % 2 ? 0.25 : 0.5));
    const b = x.slice();
    augment({ brightness: 0.5 })(b, { n: 1, c: 1, h: 28, w: 28 }, new Generator(3));
    const f = b[0]! / 0.5;
    expect(f).toBeGreaterThanOrEqual(0.5);
    expect(f).toBeLessThanOrEqual(1.5);
    expect(b[1]).toBeCloseTo(0.25 * f, 6);
    const c = x.slice();
    augment({ contrast: 0.5 })(c, { n: 1, c: 1, h: 28, w: 28 }, new Generator(3));
    expect(c.reduce((a, v) => a + v, 0) / 784).toBeCloseTo(0.375, 5);
    expect(c[0]).not.toBeCloseTo(0.5, 6);
  });

  it('erasing (p = 1) zeroes one in-bounds rectangle per image within the area/ratio limits', () => {
    const n = 300;
    const x = new Float32Array(n * 784).fill(1);
    augment({ erase: { p: 1, scale: [0.02, 0.33], ratio: [0.3, 3.3] } })(x, { n, c: 1, h: 28, w: 28 }, new Generator(4));
    let erased = 0;
    for (let k = 0; k < n; k++) {
      let minY = 28, maxY = -1, minX = 28, maxX = -1, zeros = 0;
      for (let y = 0; y < 28; y++) for (let xx = 0; xx < 28; xx++) {
        if (x[k * 784 + y * 28 + xx] === 0) { zeros++; minY = Math.min(minY, y); maxY = Math.max(maxY, y); minX = Math.min(minX, xx); maxX = Math.max(maxX, xx); }
      }
      if (zeros === 0) continue; // all 10 tries failed: allowed, rare
      erased++;
      const eh = maxY - minY + 1, ew = maxX - minX + 1;
      expect(zeros).toBe(eh * ew); // one solid rectangle
      expect(eh).toBeLessThan(28);
      expect(ew).toBeLessThan(28);
      expect(zeros).toBeGreaterThanOrEqual(Math.floor(0.02 * 784 * 0.5));
      expect(zeros).toBeLessThanOrEqual(Math.ceil(0.33 * 784 * 1.5));
    }
    expect(erased).toBeGreaterThan(n * 0.9);
    const none = new Float32Array(784).fill(1);
    augment({ erase: 0 })(none, { n: 1, c: 1, h: 28, w: 28 }, new Generator(4));
    expect(none.every((v) => v === 1)).toBe(true);
  });

  it('rotation keeps most of a centred digit inside the frame', () => {
    const x = new Float32Array(784);
    for (let y = 10; y < 18; y++) for (let xx = 12; xx < 16; xx++) x[y * 28 + xx] = 1;
    const before = x.reduce((a, v) => a + v, 0);
    augment({ rotate: 30 })(x, { n: 1, c: 1, h: 28, w: 28 }, new Generator(5));
    expect(x.reduce((a, v) => a + v, 0)).toBeCloseTo(before, -1);
  });

  it('compose chains, and the loader applies the transform before normalisation', () => {
    const order: string[] = [];
    const t = compose((_x) => order.push('a'), (_x) => order.push('b'));
    t(new Float32Array(1), { n: 1, c: 1, h: 1, w: 1 }, new Generator(0));
    expect(order).toEqual(['a', 'b']);
    const d = new ImageDataset(new Uint8Array(784 * 4).fill(255), [0, 1, 2, 3], { channels: 1, height: 28, width: 28 });
    const l = new DataLoader(d, { batchSize: 4, transform: augment({ translate: 0.2 }), normalize: { mean: 1, std: 1 } });
    const [b] = l;
    // Background zero fill came in at 0 on the [0,1] scale, then normalised to −1.
    expect(Math.min(...b!.x.data)).toBeCloseTo(-1, 6);
    expect(Math.max(...b!.x.data)).toBeCloseTo(0, 6);
  });

  it('rejects bad options', () => {
    expect(() => augment({ rotate: -1 })).toThrow(/rotate must be a number in \[0, 180\], got -1/);
    expect(() => augment({ scale: 1 })).toThrow(/scale must be a number in \[0, 1\), got 1/);
    expect(() => augment({ erase: 2 })).toThrow(/erase.p must be a number in \[0, 1\]/);
    expect(() => augment({ erase: { scale: [0.5, 0.1] } })).toThrow(/lo <= hi/);
    expect(() => augment({ shear: 3 } as never)).toThrow(/unknown option 'shear'/);
    expect(() => augment({ rotate: 5 })(new Float32Array(3), { n: 1, c: 1, h: 2, w: 2 }, new Generator(0))).toThrow(/batch holds 3 values/);
  });
});

describe('parseAugmentSpec', () => {
  it('parses the CLI form', () => {
    expect(parseAugmentSpec('rotate=10,scale=0.1,noise=0.1')).toEqual({ rotate: 10, scale: 0.1, noise: 0.1 });
    expect(parseAugmentSpec(' translate = 0.1 , erase=0.25 ')).toEqual({ translate: 0.1, erase: 0.25 });
    expect(parseAugmentSpec('')).toEqual({});
    expect(parseAugmentSpec('none')).toEqual({});
  });

  it('names the bad entry', () => {
    expect(() => parseAugmentSpec('rotate=10,spin=3')).toThrow("augment spec 'rotate=10,spin=3': unknown key 'spin' (expected one of rotate, scale, translate, brightness, contrast, noise, erase)");
    expect(() => parseAugmentSpec('rotate=ten')).toThrow("augment spec 'rotate=ten': 'rotate' needs a number, got 'ten'");
    expect(() => parseAugmentSpec('rotate=')).toThrow(/'rotate' needs a number, got ''/);
    expect(() => parseAugmentSpec('rotate')).toThrow(/entry 'rotate' is not key=value/);
    expect(() => parseAugmentSpec('rotate=1,,noise=1')).toThrow(/empty entry/);
    expect(() => parseAugmentSpec('rotate=1,rotate=2')).toThrow(/key 'rotate' given twice/);
    expect(() => parseAugmentSpec('scale=1.5')).toThrow("augment spec 'scale=1.5': scale must be a number in [0, 1), got 1.5");
    expect(() => parseAugmentSpec('noise=Infinity')).toThrow(/'noise' needs a number/);
  });
});
