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

/** (x − mean)/√(var + 1e-5)·γ + β per channel of x viewed as [outer, C, inner], in float64. */
function normalized(x: ArrayLike<number>, c: number, inner: number, mean: number[], variance: number[], gamma: number[], beta: number[]): number[] {
  return Array.from(x, (v, i) => {
    const ch = Math.floor(i / inner) % c;
    return ((v - mean[ch]!) / Math.sqrt(variance[ch]! + 1e-5)) * gamma[ch]! + beta[ch]!;
  });
}

/**
 * Trains `bn` (weight and bias already set to gamma and beta) on `steps` random batches of
 * `shape` ([N, C] or [N, C, L]) and checks each output (batch mean, biased variance) and the
 * running statistics (momentum 0.1, unbiased variance) against float64 hand computation.
 * Returns the expected running mean and variance.
 */
function checkTraining(bn: nn.BatchNorm1d, shape: number[], steps: number, seed: number, gamma: number[], beta: number[]): { rm: number[]; rv: number[] } {
  const [n, c] = shape as [number, number];
  const inner = shape[2] ?? 1;
  const r = lcg(seed);
  let rm = new Array<number>(c).fill(0);
  let rv = new Array<number>(c).fill(1);
  for (let step = 0; step < steps; step++) {
    const x = Float32Array.from({ length: n * c * inner }, () => (r() * 4 - 1) * (step + 1));
    const y = bn.call(T(Array.from(x), shape));
    expect(y.shape).toEqual(shape);
    const s = stats(x, n, c, inner);
    close(arr(y), normalized(x, c, inner, s.mean, s.biased, gamma, beta), 1e-4, 1e-5);
    rm = rm.map((v, ch) => 0.9 * v + 0.1 * s.mean[ch]!);
    rv = rv.map((v, ch) => 0.9 * v + 0.1 * s.unbiased[ch]!);
  }
  close(arr(bn.runningMean!), rm, 1e-5);
  close(arr(bn.runningVar!), rv, 1e-5);
  expect(bn.numBatchesTracked!.item()).toBe(steps);
  return { rm, rv };
}

/**
 * One batch whose statistics are round numbers, laid out as [N=2, C=2, rest=2] (BatchNorm2d:
 * [2, 2, 1, 2]; BatchNorm1d: [2, 2, 2]): channel 0 holds 1, 1, 3, 3 (mean 2, biased variance
 * 1, x̂ = −1, −1, 1, 1), channel 1 holds 0, 4, 0, 4 (mean 2, variance 4, x̂ = −1, 1, −1, 1).
 * With weight [2, 0.5], bias [1, −1] and upstream gradient g = 1..8, by hand (eps = 1e-5 moves
 * the values by ~1e-5 relative):
 *   y = γ·x̂ + β: channel 0 [−1, −1, 3, 3], channel 1 [−1.5, −0.5, −1.5, −0.5]
 *   dβ = Σg = [1+2+5+6, 3+4+7+8] = [14, 22];  dγ = Σ g·x̂ = [−1−2+5+6, −3+4−7+8] = [8, 2]
 *   dx = γ·invStd/m·(m·g − Σg − x̂·Σ g·x̂): channel 0 ½·(4·[1,2,5,6] − 14 − 8x̂) = [−1, 1, −1, 1],
 *   channel 1 (γ·invStd = ¼) ¼·¼·(4·[3,4,7,8] − 22 − 2x̂) = [−0.5, −0.5, 0.5, 0.5]
 *   runningMean = 0.1·mean = [0.2, 0.2]; runningVar = 0.9 + 0.1·unbiased = 0.9 + 0.1·[4/3, 16/3]
 * Eval with runningMean [1, −1], runningVar [4, 1], weight [3, 0.5], bias [1, −1]: channel 0
 * y = 3·(x − 1)/2 + 1, channel 1 y = 0.5·(x + 1) − 1; dx = g·γ·invStd = g·[1.5, 0.5];
 * dγ = Σ g·(x − runningMean)·invStd = [5 + 6, 3·1 + 4·5 + 7·1 + 8·5] = [11, 70]; dβ = [14, 22].
 */
const BN_X = [1, 1, 0, 4, 3, 3, 0, 4];
const BN_G = [1, 2, 3, 4, 5, 6, 7, 8];

function checkBatchNormByHand(bn: nn.BatchNorm1d | nn.BatchNorm2d, shape: number[]): void {
  const run = () => {
    bn.zeroGrad();
    const x = T(BN_X, shape, true);
    const y = bn.call(x);
    expect(y.shape).toEqual(shape);
    y.mul(T(BN_G, shape)).sum().backward();
    return { y: arr(y), dx: arr(x.grad!), dw: arr(bn.weight!.grad!), db: arr(bn.bias!.grad!) };
  };
  bn.weight!.data.set([2, 0.5]);
  bn.bias!.data.set([1, -1]);
  const t = run();
  close(t.y, [-1, -1, -1.5, -0.5, 3, 3, -1.5, -0.5], 1e-4, 1e-4);
  close(t.dx, [-1, 1, -0.5, -0.5, -1, 1, 0.5, 0.5], 1e-4, 1e-4);
  close(t.dw, [8, 2], 1e-4);
  close(t.db, [14, 22], 1e-6);
  close(arr(bn.runningMean!), [0.2, 0.2], 1e-6);
  close(arr(bn.runningVar!), [0.9 + 0.4 / 3, 0.9 + 1.6 / 3], 1e-6);
  expect(bn.numBatchesTracked!.item()).toBe(1);

  bn.eval();
  bn.runningMean!.data.set([1, -1]);
  bn.runningVar!.data.set([4, 1]);
  bn.weight!.data.set([3, 0.5]);
  const e = run();
  close(e.y, [1, 1, -0.5, 1.5, 4, 4, -0.5, 1.5], 1e-4, 1e-5);
  close(e.dx, BN_G.map((g, i) => g * [1.5, 0.5][(i >> 1) & 1]!), 1e-4);
  close(e.dw, [11, 70], 1e-4);
  close(e.db, [14, 22], 1e-6);
  // Eval neither updates nor counts.
  expect(arr(bn.runningMean!)).toEqual([1, -1]);
  expect(arr(bn.runningVar!)).toEqual([4, 1]);
  expect(bn.numBatchesTracked!.item()).toBe(1);
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

  it('a fixed mask: finite-difference gradients through the layer', on(() => {
    // A fresh generator with the same seed on every call: the same mask each time.
    const drop = () => new nn.Dropout(0.4, { generator: new Generator(11) });
    const x = randT([5, 6], 41);
    const mask = arr(drop().call(T(new Array(30).fill(1), [5, 6])));
    expect(new Set(mask)).toEqual(new Set([0, 1 / 0.6].map(Math.fround)));
    gradcheck((a) => drop().call(a!).square(), [x]);
    // The gradient is zero exactly where the mask dropped the input.
    arr(x.grad!).forEach((g, i) => expect(g === 0, `element ${i}`).toBe(mask[i] === 0));
  }));

  it('validates p with PyTorch\'s message', on(() => {
    expect(() => new nn.Dropout(1.5)).toThrow('dropout probability has to be between 0 and 1, but got 1.5');
    expect(() => new nn.Dropout(-0.1)).toThrow('dropout probability has to be between 0 and 1, but got -0.1');
  }));
});

describe.each(BACKEND_NAMES)('BatchNorm on %s', (name) => {
  const on = useBackend(name);

  it('BatchNorm2d [N, C, H, W] and BatchNorm1d [N, C, L]: train and eval forward and backward against hand-derived values', on(() => {
    checkBatchNormByHand(new nn.BatchNorm2d(2), [2, 2, 1, 2]);
    checkBatchNormByHand(new nn.BatchNorm1d(2), [2, 2, 2]);
  }));

  it('BatchNorm1d [N, C]: train and eval forward and backward against hand-derived values', on(() => {
    // Channel 0 holds 1, 1, 3, 3 and channel 1 holds 0, 4, 0, 4 (as BN_X), g = 1..8 interleaved:
    // channel 0 sees g = 1, 3, 5, 7 (Σg = 16, Σg·x̂ = 8), channel 1 g = 2, 4, 6, 8 (20, 4).
    const bn = new nn.BatchNorm1d(2);
    bn.weight!.data.set([2, 0.5]);
    bn.bias!.data.set([1, -1]);
    const x = T([1, 0, 1, 4, 3, 0, 3, 4], [4, 2], true);
    const y = bn.call(x);
    close(arr(y), [-1, -1.5, -1, -0.5, 3, -1.5, 3, -0.5], 1e-4, 1e-4);
    y.mul(T(BN_G, [4, 2])).sum().backward();
    // dx: channel 0 ½·(4g − 16 − 8x̂) = [−2, 2, −2, 2]; channel 1 ¼·¼·(4g − 20 − 4x̂) = [−0.5, −0.5, 0.5, 0.5]
    close(arr(x.grad!), [-2, -0.5, 2, -0.5, -2, 0.5, 2, 0.5], 1e-4, 1e-4);
    close(arr(bn.weight!.grad!), [8, 4], 1e-4);
    close(arr(bn.bias!.grad!), [16, 20], 1e-6);
    close(arr(bn.runningVar!), [0.9 + 0.4 / 3, 0.9 + 1.6 / 3], 1e-6);
    bn.eval();
    bn.runningMean!.data.set([1, -1]);
    bn.runningVar!.data.set([4, 1]);
    close(arr(bn.call(T([1, 0, 3, 4], [2, 2]))), [1, -0.5, 3, 1.5], 1e-4, 1e-5);
  }));

  it('BatchNorm1d on [N, C, L] (PyTorch semantics): statistics per channel over N and L, running stats over steps, eval, gradients', on(() => {
    const bn = new nn.BatchNorm1d(3);
    const gamma = [1.5, -0.5, 2];
    const beta = [0.25, 0, -1];
    bn.weight!.data.set(gamma);
    bn.bias!.data.set(beta);
    // Statistics per channel over the N·L = 20 values (unbiased: divided by 19).
    const { rm, rv } = checkTraining(bn, [4, 3, 5], 3, 17, gamma, beta);
    gradcheck((x, w, b) => { bn.weight = w!; bn.bias = b!; return bn.forward(x!); },
      [randT([3, 3, 4], 18), bn.weight!, bn.bias!], { eps: 1e-3, tol: 2e-2 });
    bn.eval();
    bn.runningMean!.data.set(rm);
    bn.runningVar!.data.set(rv);
    const xe = randT([2, 3, 4], 19, { grad: false });
    close(arr(bn.call(xe)), normalized(xe.data, 3, 4, rm, rv, gamma, beta), 1e-4, 1e-5);
    gradcheck((x, w, b) => { bn.weight = w!; bn.bias = b!; return bn.forward(x!); }, [randT([2, 3, 4], 20), bn.weight!, bn.bias!]);
    expect(() => bn.call(T([1, 2, 3], [1, 3, 1, 1]))).toThrow(/BatchNorm1d: expected 2D or 3D input \(got 4D input/);
    bn.train();
    expect(() => bn.call(randT([1, 3, 1], 21))).toThrow(/more than 1 value per channel/);
    // [1, C, L] with L > 1 has enough values per channel (PyTorch accepts it).
    expect(bn.call(randT([1, 3, 2], 22)).shape).toEqual([1, 3, 2]);
  }));

  it('BatchNorm1d: running mean and unbiased running variance after a few steps match hand computation', on(() => {
    const bn = new nn.BatchNorm1d(3);
    const { rm, rv } = checkTraining(bn, [5, 3], 4, 5, [1, 1, 1], [0, 0, 0]);
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
