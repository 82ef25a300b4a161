import { describe, expect, it } from 'vitest';
import * as nn from '../../src/nn';
import { Generator, manualSeed } from '../../src/tensor/random';
import { gradcheck, lcg, randT } from '../helpers/gradcheck';
import { BACKEND_NAMES, T, arr, close, useBackend } from './util';

/** Per-channel batch statistics of x viewed as [outer, C, inner], in float64. */
function stats(x: Float32Array, outer: number, c: number, inner: number): { mean: number[]; biased: number[]; unbiased: number[] } {
  const m = outer * inner;
  const mean: number[] = [];
  const biased: number[] = [];
  const unbiased: number[] = [];
  for (let ch = 0; ch < c; ch++) {
    let s = 0;
    for (let o = 0; o < outer; o++) for (let i = 0; i < inner; i++) s += x[(o * c + ch) * inner + i]!;
    const mu = s / m;
    let q = 0;
    for (let o = 0; o < outer; o++) for (let i = 0; i < inner; i++) q += (x[(o * c + ch) * inner + i]! - mu) ** 2;
    mean.push(mu);
    biased.push(q / m);
    unbiased.push(q / (m - 1));
  }
  return { mean, biased, unbiased };
}

describe.each(BACKEND_NAMES)('Dropout on %s', (name) => {
  const on = useBackend(name);

  it('training: zeroes about p of the inputs and scales the rest by 1/(1−p); eval: identity', on(() => {
    const p = 0.25;
    const d = new nn.Dropout(p);
    const x = T(new Array(4000).fill(2), [4000], true);
    const y = d.call(x);
    const vals = arr(y);
    const zeros = vals.filter((v) => v === 0).length;
    expect(zeros / vals.length).toBeGreaterThan(0.2);
    expect(zeros / vals.length).toBeLessThan(0.3);
    for (const v of vals) if (v !== 0) expect(v).toBeCloseTo(2 / (1 - p), 6);
    y.sum().backward();
    // The gradient is the mask: 0 or 1/(1−p) where the output was kept.
    arr(x.grad!).forEach((g, i) => expect(g).toBeCloseTo(vals[i] === 0 ? 0 : 1 / (1 - p), 6));
    d.eval();
    expect(d.call(x)).toBe(x);
  }));

  it('masks are reproducible from the seed and from an explicit generator', on(() => {
    const x = T(new Array(64).fill(1), [64]);
    manualSeed(9);
    const a = arr(new nn.Dropout(0.5).call(x));
    manualSeed(9);
    const b = arr(new nn.Dropout(0.5).call(x));
    expect(a).toEqual(b);
    const g1 = arr(new nn.Dropout(0.5, { generator: new Generator(4) }).call(x));
    const g2 = arr(new nn.Dropout(0.5, { generator: new Generator(4) }).call(x));
    expect(g1).toEqual(g2);
    expect(new Set(a).size).toBe(2);
    expect(arr(new nn.Dropout(1).call(x)).every((v) => v === 0)).toBe(true);
    expect(arr(new nn.Dropout(0).call(x))).toEqual(arr(x));
  }));

  it('validates p with PyTorch\'s message', on(() => {
    expect(() => new nn.Dropout(1.5)).toThrow('dropout probability has to be between 0 and 1, but got 1.5');
    expect(() => new nn.Dropout(-0.1)).toThrow('dropout probability has to be between 0 and 1, but got -0.1');
  }));
});

describe.each(BACKEND_NAMES)('BatchNorm on %s', (name) => {
  const on = useBackend(name);

  it('BatchNorm1d: running mean and unbiased running variance after a few steps match hand computation', on(() => {
    const bn = new nn.BatchNorm1d(3);
    const r = lcg(5);
    let rm = [0, 0, 0];
    let rv = [1, 1, 1];
    for (let step = 0; step < 4; step++) {
      const x = Float32Array.from({ length: 5 * 3 }, () => (r() * 4 - 1) * (step + 1));
      const y = bn.call(T(Array.from(x), [5, 3]));
      const s = stats(x, 5, 3, 1);
      // Training output uses the batch mean and the *biased* batch variance.
      const expected: number[] = [];
      for (let n = 0; n < 5; n++) for (let c = 0; c < 3; c++) expected.push((x[n * 3 + c]! - s.mean[c]!) / Math.sqrt(s.biased[c]! + 1e-5));
      close(arr(y), expected, 1e-4, 1e-5);
      rm = rm.map((v, c) => 0.9 * v + 0.1 * s.mean[c]!);
      rv = rv.map((v, c) => 0.9 * v + 0.1 * s.unbiased[c]!);
    }
    close(arr(bn.runningMean!), rm, 1e-5);
    close(arr(bn.runningVar!), rv, 1e-5);
    expect(bn.numBatchesTracked!.item()).toBe(4);
    // Eval normalises with the running statistics (and does not update them).
    bn.eval();
    const x = [1, 2, 3, -1, 0, 4];
    const y = bn.call(T(x, [2, 3]));
    close(arr(y), x.map((v, i) => (v - rm[i % 3]!) / Math.sqrt(rv[i % 3]! + 1e-5)), 1e-5);
    close(arr(bn.runningMean!), rm, 1e-5);
    expect(bn.numBatchesTracked!.item()).toBe(4);
  }));

  it('BatchNorm2d: per-channel statistics over N, H, W; affine weight and bias', on(() => {
    const bn = new nn.BatchNorm2d(2);
    bn.weight!.data.set([2, 0.5]);
    bn.bias!.data.set([1, -1]);
    const xt = randT([3, 2, 2, 2], 8, { grad: false });
    const y = bn.call(xt);
    const s = stats(xt.data, 3, 2, 4);
    const exp: number[] = [];
    for (let n = 0; n < 3; n++) {
      for (let c = 0; c < 2; c++) {
        for (let i = 0; i < 4; i++) exp.push(((xt.data[(n * 2 + c) * 4 + i]! - s.mean[c]!) / Math.sqrt(s.biased[c]! + 1e-5)) * [2, 0.5][c]! + [1, -1][c]!);
      }
    }
    close(arr(y), exp, 1e-4, 1e-5);
    close(arr(bn.runningMean!), s.mean.map((m) => 0.1 * m), 1e-5);
    close(arr(bn.runningVar!), s.unbiased.map((v) => 0.9 + 0.1 * v), 1e-5);
    expect(() => bn.call(T([1, 2], [1, 2]))).toThrow(/expected 4D input \(got 2D input/);
    expect(() => bn.call(randT([2, 3, 2, 2], 1))).toThrow(/3 channels, expected 2/);
    // One value per channel cannot be normalised in training; the counters stay as they were.
    expect(() => bn.call(randT([1, 2, 1, 1], 2))).toThrow(/more than 1 value per channel/);
    expect(bn.numBatchesTracked!.item()).toBe(1);
  }));

  it('momentum null is the cumulative average; trackRunningStats false always uses batch stats', on(() => {
    const bn = new nn.BatchNorm1d(1, { momentum: null });
    const batches = [[1, 3], [10, 14], [-2, 0, 2]];
    for (const b of batches) bn.call(T(b, [b.length, 1]));
    const means = batches.map((b) => b.reduce((s, v) => s + v, 0) / b.length);
    const vars = batches.map((b, i) => b.reduce((s, v) => s + (v - means[i]!) ** 2, 0) / (b.length - 1));
    close(arr(bn.runningMean!), [means.reduce((s, v) => s + v, 0) / 3], 1e-5);
    // Cumulative average: the first batch's factor is 1, so the initial 1 disappears.
    close(arr(bn.runningVar!), [vars.reduce((s, v) => s + v, 0) / 3], 1e-5);

    const free = new nn.BatchNorm1d(2, { trackRunningStats: false, affine: false });
    expect(Object.keys(free.stateDict())).toEqual([]);
    free.eval();
    const y = free.call(T([1, 10, 3, 30], [2, 2]));
    close(arr(y), [-1, -1, 1, 1], 1e-4);
  }));

  it('train and eval: finite-difference gradients through the layer', on(() => {
    const bn = new nn.BatchNorm2d(3);
    bn.weight!.data.set([0.5, 1.5, -1]);
    gradcheck((x, w, b) => { bn.weight = w!; bn.bias = b!; bn.runningMean!.data.fill(0); bn.runningVar!.data.fill(1); return bn.forward(x!); },
      [randT([4, 3, 2, 2], 14), bn.weight!, bn.bias!], { eps: 1e-3, tol: 2e-2 });
    bn.eval();
    bn.runningMean!.data.set([0.1, -0.2, 0.3]);
    bn.runningVar!.data.set([0.5, 2, 1]);
    gradcheck((x, w, b) => { bn.weight = w!; bn.bias = b!; return bn.forward(x!); }, [randT([2, 3, 2, 2], 15), bn.weight!, bn.bias!]);
  }));
});
