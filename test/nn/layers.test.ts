import { describe, expect, it, vi } from 'vitest';
import * as nn from '../../src/nn';
import { Generator, manualSeed } from '../../src/tensor/random';
import { Tensor } from '../../src/tensor/tensor';
import { gradcheck, randT } from '../helpers/gradcheck';
import { BACKEND_NAMES, T, arr, close, useBackend } from './util';

/** Sets a layer's parameters to fixed values. */
function setParams(m: nn.Module, values: Record<string, number[]>): void {
  const sd = m.stateDict();
  for (const [k, v] of Object.entries(values)) sd[k]!.data.set(v);
}

describe.each(BACKEND_NAMES)('layers on %s', (name) => {
  const on = useBackend(name);

  it('Linear: forward and backward against hand-derived values', on(() => {
    const fc = new nn.Linear(2, 3);
    setParams(fc, { weight: [1, 0, 0, 1, 1, 1], bias: [0.5, -0.5, 0] });
    const x = T([1, 2, -1, 3], [2, 2], true);
    const y = fc.call(x);
    // y = x·Wᵀ + b
    expect(y.shape).toEqual([2, 3]);
    expect(arr(y)).toEqual([1.5, 1.5, 3, -0.5, 2.5, 2]);
    y.sum().backward();
    // dW[o, i] = Σ_n x[n, i]; db[o] = N; dx[n, i] = Σ_o W[o, i]
    expect(arr(fc.weight.grad!)).toEqual([0, 5, 0, 5, 0, 5]);
    expect(arr(fc.bias!.grad!)).toEqual([2, 2, 2]);
    expect(arr(x.grad!)).toEqual([2, 2, 2, 2]);
    // Batched leading dims and no bias.
    const nb = new nn.Linear(2, 1, { bias: false });
    setParams(nb, { weight: [2, -1] });
    expect(nb.call(T([1, 1, 2, 0, 0, 3, 1, 1], [2, 2, 2])).shape).toEqual([2, 2, 1]);
    expect(nb.bias).toBeNull();
    expect(() => fc.call(T([1, 2, 3], [1, 3]))).toThrow(/does not end in 2 features/);
  }));

  it('Linear and Conv2d: finite-difference gradients of input, weight and bias', on(() => {
    const fc = new nn.Linear(5, 4);
    gradcheck((x, w, b) => { fc.weight = w!; fc.bias = b!; return fc.forward(x!); }, [randT([3, 5], 1), fc.weight, fc.bias!]);
    const conv = new nn.Conv2d(2, 3, 3, { stride: 2, padding: 1 });
    gradcheck((x, w, b) => { conv.weight = w!; conv.bias = b!; return conv.forward(x!); }, [randT([2, 2, 5, 5], 2), conv.weight, conv.bias!]);
  }));

  it('Conv2d: forward against a hand-computed cross-correlation, NCHW shapes', on(() => {
    const conv = new nn.Conv2d(1, 2, 2, { bias: true });
    setParams(conv, { weight: [1, 1, 1, 1, 1, 0, 0, -1], bias: [0, 10] });
    const x = T([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 1, 3, 3]);
    const y = conv.call(x);
    expect(y.shape).toEqual([1, 2, 2, 2]);
    // channel 0: 2x2 box sums; channel 1: x[i,j] − x[i+1,j+1] + 10 = −4 + 10
    expect(arr(y)).toEqual([12, 16, 24, 28, 6, 6, 6, 6]);
    expect(new nn.Conv2d(3, 8, 3, { padding: 'same' }).call(randT([2, 3, 7, 5], 3, { grad: false })).shape).toEqual([2, 8, 7, 5]);
    expect(new nn.Conv2d(3, 8, [3, 1], { stride: [2, 1] }).call(randT([1, 3, 7, 5], 4, { grad: false })).shape).toEqual([1, 8, 3, 5]);
    expect(() => new nn.Conv2d(1, 1, 2, { padding: 'same' })).toThrow(/odd kernel/);
    expect(() => conv.call(T([1, 2, 3, 4], [1, 4]))).toThrow(/4-D/);
  }));

  it('default init: U(±1/√fanIn) for weight and bias, seeded and reproducible', on(() => {
    manualSeed(123);
    const a = new nn.Linear(400, 50);
    manualSeed(123);
    const b = new nn.Linear(400, 50);
    expect(arr(a.weight)).toEqual(arr(b.weight));
    expect(arr(a.bias!)).toEqual(arr(b.bias!));
    const bound = 1 / Math.sqrt(400);
    const w = arr(a.weight);
    const maxAbs = Math.max(...w.map(Math.abs));
    expect(maxAbs).toBeLessThanOrEqual(bound * (1 + 1e-6));
    expect(maxAbs).toBeGreaterThan(bound * 0.99);
    const mean = w.reduce((s, v) => s + v, 0) / w.length;
    const variance = w.reduce((s, v) => s + (v - mean) ** 2, 0) / w.length;
    expect(Math.abs(mean)).toBeLessThan(bound * 0.05);
    expect(variance).toBeCloseTo(bound * bound / 3, 5); // Var U(−b, b) = b²/3
    expect(Math.max(...arr(a.bias!).map(Math.abs))).toBeLessThanOrEqual(bound * (1 + 1e-6));

    const conv = new nn.Conv2d(8, 16, 3, { generator: new Generator(7) });
    const cb = 1 / Math.sqrt(8 * 9);
    expect(Math.max(...arr(conv.weight).map(Math.abs))).toBeLessThanOrEqual(cb * (1 + 1e-6));
    expect(Math.max(...arr(conv.weight).map(Math.abs))).toBeGreaterThan(cb * 0.98);
    expect(Math.max(...arr(conv.bias!).map(Math.abs))).toBeLessThanOrEqual(cb * (1 + 1e-6));
    // An explicit generator gives the same weights and leaves the default stream alone.
    manualSeed(5);
    const before = new nn.Linear(3, 3);
    manualSeed(5);
    const conv2 = new nn.Conv2d(8, 16, 3, { generator: new Generator(7) });
    const after = new nn.Linear(3, 3);
    expect(arr(conv2.weight)).toEqual(arr(conv.weight));
    expect(arr(after.weight)).toEqual(arr(before.weight));
  }));

  it('pooling, flatten and activations compute the expected values', on(() => {
    const x = T([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16], [1, 1, 4, 4]);
    expect(arr(new nn.MaxPool2d(2).call(x))).toEqual([6, 8, 14, 16]);
    expect(arr(new nn.AvgPool2d(2).call(x))).toEqual([3.5, 5.5, 11.5, 13.5]);
    expect(arr(new nn.MaxPool2d(3, { stride: 1 }).call(x))).toEqual([11, 12, 15, 16]);
    expect(new nn.Flatten().call(T(new Array(24).fill(0), [2, 3, 2, 2])).shape).toEqual([2, 12]);
    const v = T([-2, -0.5, 0, 1.5], [4]);
    expect(arr(new nn.ReLU().call(v))).toEqual([0, 0, 0, 1.5]);
    close(arr(new nn.LeakyReLU(0.1).call(v)), [-0.2, -0.05, 0, 1.5]);
    close(arr(new nn.Sigmoid().call(v)), [-2, -0.5, 0, 1.5].map((z) => 1 / (1 + Math.exp(-z))));
    close(arr(new nn.Tanh().call(v)), [-2, -0.5, 0, 1.5].map(Math.tanh));
    // GELU exact: x·Φ(x); Φ(1.5) = 0.9331927987, Φ(−0.5) = 0.3085375387, Φ(−2) = 0.0227501319
    close(arr(new nn.GELU().call(v)), [-2 * 0.0227501319, -0.5 * 0.3085375387, 0, 1.5 * 0.9331927987], 1e-5);
    const s = new nn.Softmax(1).call(T([0, Math.log(3), 1, 1], [2, 2]));
    close(arr(s), [0.25, 0.75, 0.5, 0.5]);
    close(arr(new nn.LogSoftmax().call(T([0, Math.log(3)], [1, 2]))), [Math.log(0.25), Math.log(0.75)]);
  }));

  it('pooling and activation layers: finite-difference gradients', on(() => {
    const x = randT([2, 2, 6, 6], 11);
    gradcheck((a) => new nn.MaxPool2d(2).call(a!), [x]);
    gradcheck((a) => new nn.AvgPool2d(3, { stride: 2, padding: 1 }).call(a!), [x]);
    const v = randT([30], 12, { lo: -2, hi: 2 });
    const kink = (_i: number, j: number) => Math.abs(v.data[j]!) < 0.02;
    for (const m of [new nn.ReLU(), new nn.LeakyReLU(0.2)]) gradcheck((a) => m.call(a!), [v], { skip: kink });
    for (const m of [new nn.Sigmoid(), new nn.Tanh(), new nn.GELU()]) gradcheck((a) => m.call(a!), [v]);
    gradcheck((a) => new nn.Softmax(1).call(a!), [randT([3, 5], 13)]);
    gradcheck((a) => new nn.LogSoftmax(1).call(a!), [randT([3, 5], 14)]);
  }));

  it('Sequential fuses Linear → ReLU into one kernel call with identical values and gradients', on(() => {
    manualSeed(3);
    const model = new nn.Sequential(new nn.Linear(6, 8), new nn.ReLU(), new nn.Linear(8, 3), new nn.ReLU());
    const x = randT([5, 6], 21);
    const relus = model.children().filter((m) => m instanceof nn.ReLU);
    const spies = relus.map((r) => vi.spyOn(r, 'forward'));
    const fusedSpy = vi.spyOn(nn.Linear.prototype, 'forwardActivation');
    const yF = model.call(x);
    yF.square().sum().backward();
    const gradsF = model.parameters().map((p) => arr(p.grad!));
    const gxF = arr(x.grad!);
    expect(fusedSpy).toHaveBeenCalledTimes(2);
    expect(spies.every((s) => s.mock.calls.length === 0)).toBe(true);

    model.zeroGrad();
    x.grad = null;
    model.fuse = false;
    const yU = model.call(x);
    yU.square().sum().backward();
    expect(spies.every((s) => s.mock.calls.length === 1)).toBe(true);
    expect(arr(yF)).toEqual(arr(yU));
    expect(model.parameters().map((p) => arr(p.grad!))).toEqual(gradsF);
    expect(arr(x.grad!)).toEqual(gxF);
    fusedSpy.mockRestore();
  }));

  it('Sequential fuses Conv2d [→ ReLU] → MaxPool2d into one kernel call with identical values and gradients', on(() => {
    manualSeed(4);
    const model = new nn.Sequential(
      new nn.Conv2d(2, 4, 3), new nn.ReLU(), new nn.MaxPool2d(2),
      new nn.Conv2d(4, 3, 2, { padding: 1 }), new nn.MaxPool2d([2, 1]),
      new nn.Conv2d(3, 2, 1), new nn.MaxPool2d(2, { stride: 1 }), new nn.Flatten());
    const x = randT([3, 2, 11, 10], 22);
    const pooledSpy = vi.spyOn(nn.Conv2d.prototype, 'forwardPooled');
    const yF = model.call(x);
    yF.square().sum().backward();
    const gradsF = model.parameters().map((p) => arr(p.grad!));
    const gxF = arr(x.grad!);
    // The last MaxPool2d has stride 1 (overlapping windows): it runs on its own.
    expect(pooledSpy).toHaveBeenCalledTimes(2);

    model.zeroGrad();
    x.grad = null;
    model.fuse = false;
    const yU = model.call(x);
    yU.square().sum().backward();
    expect(pooledSpy).toHaveBeenCalledTimes(2);
    expect(arr(yF)).toEqual(arr(yU));
    expect(model.parameters().map((p) => arr(p.grad!))).toEqual(gradsF);
    expect(arr(x.grad!)).toEqual(gxF);
    pooledSpy.mockRestore();
  }));

  it('Sequential accepts a record of named modules, at(), length and iteration', on(() => {
    const m = new nn.Sequential({ fc: new nn.Linear(2, 2), act: new nn.Tanh() });
    expect(Object.keys(m.stateDict())).toEqual(['fc.weight', 'fc.bias']);
    expect(m.length).toBe(2);
    expect(m.at(-1)).toBeInstanceOf(nn.Tanh);
    expect([...m].length).toBe(2);
    expect(() => new nn.Sequential(42 as unknown as nn.Module)).toThrow(/not a Module/);
  }));

  it('Residual adds the skip path, with a projection when shapes differ', on(() => {
    const block = new nn.Linear(2, 2);
    setParams(block, { weight: [1, 2, 3, 4], bias: [0, 1] });
    const r = new nn.Residual(block);
    const x = T([1, -1], [1, 2], true);
    // block(x) = [1−2, 3−4+1] = [−1, 0]; + x = [0, −1]
    const y = r.call(x);
    expect(arr(y)).toEqual([0, -1]);
    y.sum().backward();
    // d/dx Σ(x + Wx + b) = 1 + column sums of W
    expect(arr(x.grad!)).toEqual([1 + 4, 1 + 6]);

    const conv = new nn.Residual(new nn.Conv2d(2, 4, 3, { stride: 2, padding: 1 }), { projection: new nn.Conv2d(2, 4, 1, { stride: 2 }) });
    expect(conv.call(randT([1, 2, 6, 6], 5, { grad: false })).shape).toEqual([1, 4, 3, 3]);
    expect(Object.keys(conv.stateDict())).toEqual(['block.weight', 'block.bias', 'projection.weight', 'projection.bias']);
    const bad = new nn.Residual(new nn.Linear(2, 3));
    expect(() => bad.call(T([1, 2], [1, 2]))).toThrow(/the block maps \[1, 2\] to \[1, 3\].*projection/);
    gradcheck((a) => new nn.Residual(new nn.Sequential(new nn.Linear(3, 3, { generator: new Generator(1) }), new nn.Tanh())).call(a!), [randT([2, 3], 6)]);
  }));
});

describe('layer argument validation', () => {
  it('rejects bad sizes with messages that name the value', () => {
    expect(() => new nn.Linear(0, 3)).toThrow(/Linear: inFeatures must be a positive integer, got 0/);
    expect(() => new nn.Linear(2, 2.5)).toThrow(/outFeatures/);
    expect(() => new nn.Conv2d(1, 2, 0)).toThrow(/kernelSize/);
    expect(() => new nn.MaxPool2d(2, { stride: 0 })).toThrow(/stride/);
    expect(() => new nn.BatchNorm1d(0)).toThrow(/numFeatures/);
    expect(() => new nn.LeakyReLU(Number.NaN)).toThrow(/negativeSlope/);
    expect(() => new nn.ActivityRegularization({ l1: -1 })).toThrow(/l1 must be/);
  });

  it('Tensor fields of layers are parameters', () => {
    const fc = new nn.Linear(2, 2);
    expect(fc.weight).toBeInstanceOf(Tensor);
    expect(fc.parameters()).toEqual([fc.weight, fc.bias]);
  });
});
