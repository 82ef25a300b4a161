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

  it('Residual projections: finite-difference gradients of the input and of every block and projection parameter', on(() => {
    // Linear projection: y = P(x) + tanh(B(x)), 3 → 4 features.
    const inner = new nn.Linear(3, 4, { generator: new Generator(2) });
    const proj = new nn.Linear(3, 4, { generator: new Generator(3) });
    const lin = new nn.Residual(new nn.Sequential(inner, new nn.Tanh()), { projection: proj });
    expect(lin.parameters()).toEqual([inner.weight, inner.bias, proj.weight, proj.bias]);
    gradcheck((x, bw, bb, pw2, pb) => {
      inner.weight = bw!; inner.bias = bb!; proj.weight = pw2!; proj.bias = pb!;
      return lin.call(x!);
    }, [randT([2, 3], 7), ...lin.parameters()]);
    // The skip path's gradient reaches the input through the projection: with a zero block,
    // dx = g·P (the projection's weight [4, 3]).
    const zeroBlock = new nn.Residual(new nn.Linear(3, 4, { bias: false }), { projection: new nn.Linear(3, 4, { bias: false }) });
    (zeroBlock.block as nn.Linear).weight.data.fill(0);
    const pw = (zeroBlock.projection as nn.Linear).weight;
    pw.data.set([1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1, 1]);
    const x = T([1, 2, 3], [1, 3], true);
    zeroBlock.call(x).mul(T([1, 2, 3, 4], [1, 4])).sum().backward();
    expect(arr(x.grad!)).toEqual([1 + 4, 2 + 4, 3 + 4]);
    expect(arr(pw.grad!)).toEqual([1, 2, 3, 2, 4, 6, 3, 6, 9, 4, 8, 12]);

    // 1x1-conv projection with stride 2 next to a strided 3x3 block: 2 → 3 channels, 5x5 → 3x3.
    const conv = new nn.Residual(new nn.Conv2d(2, 3, 3, { stride: 2, padding: 1, generator: new Generator(4) }),
      { projection: new nn.Conv2d(2, 3, 1, { stride: 2, generator: new Generator(5) }) });
    const b = conv.block as nn.Conv2d;
    const p = conv.projection as nn.Conv2d;
    expect(conv.parameters()).toEqual([b.weight, b.bias, p.weight, p.bias]);
    gradcheck((a, bw, bb, pw2, pb) => {
      b.weight = bw!; b.bias = bb!; p.weight = pw2!; p.bias = pb!;
      return conv.call(a!);
    }, [randT([2, 2, 5, 5], 8), ...conv.parameters()]);
  }));
});

/** Runs `m` on x (a fresh leaf) and backpropagates the upstream gradient g: returns y and dx. */
function forwardBackward(m: nn.Module, x: number[], shape: number[], g: number[]): { y: Tensor; dx: number[] } {
  const xt = T(x, shape, true);
  const y = m.call(xt);
  y.mul(T(g, [...y.shape])).sum().backward();
  return { y, dx: arr(xt.grad!) };
}

describe.each(BACKEND_NAMES)('layer forward and backward against hand-derived values on %s', (name) => {
  const on = useBackend(name);
  const G4 = [1, 2, 3, 4];

  it('Conv2d: input, weight and bias gradients of a cross-correlation (no padding; stride 2 with padding)', on(() => {
    const conv = new nn.Conv2d(1, 2, 2);
    setParams(conv, { weight: [1, 1, 1, 1, 1, 0, 0, -1], bias: [0, 10] });
    const { y, dx } = forwardBackward(conv, [1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 1, 3, 3], new Array(8).fill(1));
    expect(arr(y)).toEqual([12, 16, 24, 28, 6, 6, 6, 6]);
    // dW[o, 0, i, j] = Σ over the 4 windows of x[p + i, q + j] (the same for both channels):
    // (0,0) 1+2+4+5, (0,1) 2+3+5+6, (1,0) 4+5+7+8, (1,1) 5+6+8+9; db = 4 windows.
    expect(arr(conv.weight.grad!)).toEqual([12, 16, 24, 28, 12, 16, 24, 28]);
    expect(arr(conv.bias!.grad!)).toEqual([4, 4]);
    // dx = Σ_o (windows covering the pixel, weighted by W[o]): channel 0 counts the windows
    // [[1,2,1],[2,4,2],[1,2,1]]; channel 1 adds +1 at the top-left of each window and −1 at
    // its bottom-right: [[1,1,0],[1,0,−1],[0,−1,−1]].
    expect(dx).toEqual([2, 3, 1, 3, 4, 1, 1, 1, 0]);

    // Stride 2, padding 1 on a 2x2 input: each window of the padded 4x4 sees one pixel, at the
    // window offset opposite its corner: y = [4·1, 3·2, 2·3, 1·4] with W = [[1,2],[3,4]].
    const s2 = new nn.Conv2d(1, 1, 2, { stride: 2, padding: 1, bias: false });
    setParams(s2, { weight: [1, 2, 3, 4] });
    const r = forwardBackward(s2, [1, 2, 3, 4], [1, 1, 2, 2], G4);
    expect(arr(r.y)).toEqual([4, 6, 6, 4]);
    // dx[pixel] = g[window]·W[offset]: [1·4, 2·3, 3·2, 4·1]; dW[offset] = g[window]·x[pixel]:
    // W(0,0) sees x(1,1) in window 3: 4·4; W(0,1) x(1,0) in window 2: 3·3; W(1,0) x(0,1): 2·2; W(1,1) x(0,0): 1·1.
    expect(r.dx).toEqual([4, 6, 6, 4]);
    expect(arr(s2.weight.grad!)).toEqual([16, 9, 4, 1]);
  }));

  it('MaxPool2d: the gradient goes to each window\'s argmax (accumulated where windows overlap); padding is −∞', on(() => {
    // Windows: {1,5,3,4} → 5 at 1, {2,0,8,7} → 8 at 6, {9,0,2,6} → 9 at 8, {1,1,3,2} → 3 at 14.
    const x = [1, 5, 2, 0, 3, 4, 8, 7, 9, 0, 1, 1, 2, 6, 3, 2];
    const a = forwardBackward(new nn.MaxPool2d(2), x, [1, 1, 4, 4], G4);
    expect(arr(a.y)).toEqual([5, 8, 9, 3]);
    const want = new Array(16).fill(0);
    want[1] = 1; want[6] = 2; want[8] = 3; want[14] = 4;
    expect(a.dx).toEqual(want);
    // Overlapping 2x2 windows with stride 1: the centre is every window's max and collects Σg.
    const b = forwardBackward(new nn.MaxPool2d(2, { stride: 1 }), [1, 2, 3, 4, 9, 5, 6, 7, 8], [1, 1, 3, 3], G4);
    expect(arr(b.y)).toEqual([9, 9, 9, 9]);
    expect(b.dx).toEqual([0, 0, 0, 0, 10, 0, 0, 0, 0]);
    // Padding 1 around negative values: each window holds one real value, which wins over the pad.
    const c = forwardBackward(new nn.MaxPool2d(2, { padding: 1 }), [-1, -2, -3, -4], [1, 1, 2, 2], G4);
    expect(arr(c.y)).toEqual([-1, -2, -3, -4]);
    expect(c.dx).toEqual(G4);
  }));

  it('AvgPool2d: each window spreads g/k² over its pixels; zero padding counts in the divisor', on(() => {
    const x16 = Array.from({ length: 16 }, (_, i) => i + 1);
    const a = forwardBackward(new nn.AvgPool2d(2), x16, [1, 1, 4, 4], G4);
    expect(arr(a.y)).toEqual([3.5, 5.5, 11.5, 13.5]);
    expect(a.dx).toEqual([0.25, 0.25, 0.5, 0.5, 0.25, 0.25, 0.5, 0.5, 0.75, 0.75, 1, 1, 0.75, 0.75, 1, 1]);
    // Stride 1 on 3x3: pixel (1,1) lies in all four windows: (1+2+3+4)/4.
    const b = forwardBackward(new nn.AvgPool2d(2, { stride: 1 }), [1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 1, 3, 3], G4);
    expect(arr(b.y)).toEqual([3, 4, 6, 7]);
    expect(b.dx).toEqual([1, 3, 2, 4, 10, 6, 3, 7, 4].map((v) => v / 4));
    // Padding 1: one real pixel and three zeros per window (count_include_pad).
    const c = forwardBackward(new nn.AvgPool2d(2, { padding: 1 }), [1, 2, 3, 4], [1, 1, 2, 2], G4);
    expect(arr(c.y)).toEqual([0.25, 0.5, 0.75, 1]);
    expect(c.dx).toEqual([0.25, 0.5, 0.75, 1]);
  }));

  it('activation layers: values and derivatives at −2, −0.5, 0 and 1.5 (PyTorch\'s choices at 0)', on(() => {
    const v = [-2, -0.5, 0, 1.5];
    const run = (m: nn.Module) => forwardBackward(m, v, [4], G4);
    const relu = run(new nn.ReLU());
    expect(arr(relu.y)).toEqual([0, 0, 0, 1.5]);
    expect(relu.dx).toEqual([0, 0, 0, 4]); // relu'(0) = 0
    const leaky = run(new nn.LeakyReLU(0.1));
    close(arr(leaky.y), [-0.2, -0.05, 0, 1.5]);
    close(leaky.dx, [0.1, 0.2, 0.3, 4]); // slope at 0 (x > 0 ? g : slope·g)
    // σ' = σ(1 − σ): σ(−2) = 0.1192029220, σ(−0.5) = 0.3775406688, σ(0) = 0.5, σ(1.5) = 0.8175744762
    const sig = run(new nn.Sigmoid());
    const s = [0.119202922, 0.3775406688, 0.5, 0.8175744762];
    close(arr(sig.y), s, 1e-6);
    close(sig.dx, s.map((q, i) => G4[i]! * q * (1 - q)), 1e-5);
    // tanh' = 1 − tanh²: tanh(−2) = −0.9640275801, tanh(−0.5) = −0.4621171573, tanh(1.5) = 0.9051482536
    const th = run(new nn.Tanh());
    const t = [-0.9640275801, -0.4621171573, 0, 0.9051482536];
    close(arr(th.y), t, 1e-6);
    close(th.dx, t.map((q, i) => G4[i]! * (1 - q * q)), 1e-5);
    // GELU' = Φ(x) + x·φ(x): −0.0852318011, 0.1325048753, 0.5, 1.1274691922
    const ge = run(new nn.GELU());
    close(arr(ge.y), [-2 * 0.0227501319, -0.5 * 0.3085375387, 0, 1.5 * 0.9331927987], 1e-5);
    close(ge.dx, [-0.0852318011, 2 * 0.1325048753, 3 * 0.5, 4 * 1.1274691922], 1e-5);
  }));

  it('Softmax and LogSoftmax: dx = s ⊙ (g − ⟨g, s⟩) and g − s·Σg, along the chosen dim', on(() => {
    // softmax([0, ln 3]) = [1/4, 3/4]
    const sm = forwardBackward(new nn.Softmax(), [0, Math.log(3)], [1, 2], [1, 0]);
    close(arr(sm.y), [0.25, 0.75]);
    close(sm.dx, [0.25 * 0.75, 0.75 * -0.25]);
    const ls = forwardBackward(new nn.LogSoftmax(), [0, Math.log(3)], [1, 2], [1, 0]);
    close(arr(ls.y), [Math.log(0.25), Math.log(0.75)]);
    close(ls.dx, [0.75, -0.75]);
    // dim 0 of [[0, 1], [ln 3, 1]]: columns [1/4, 3/4] and [1/2, 1/2]; g columns [1, 0] and [2, 3]:
    // column 1: s·(g − 2.5) = [−0.25, 0.25].
    const d0 = forwardBackward(new nn.Softmax(0), [0, 1, Math.log(3), 1], [2, 2], [1, 2, 0, 3]);
    close(arr(d0.y), [0.25, 0.5, 0.75, 0.5]);
    close(d0.dx, [0.1875, -0.25, -0.1875, 0.25]);
    const l0 = forwardBackward(new nn.LogSoftmax(0), [0, 1, Math.log(3), 1], [2, 2], [1, 2, 0, 3]);
    close(l0.dx, [1 - 0.25, 2 - 2.5, 0 - 0.75, 3 - 2.5]);
  }));

  it('Flatten: row-major values, the gradient reshaped back; startDim/endDim; finite differences', on(() => {
    const x = Array.from({ length: 12 }, (_, i) => i);
    const g = x.map((v) => 10 - v);
    const f = forwardBackward(new nn.Flatten(), x, [2, 3, 2], g);
    expect(f.y.shape).toEqual([2, 6]);
    expect(arr(f.y)).toEqual(x);
    expect(f.dx).toEqual(g);
    expect(new nn.Flatten(0, 1).call(T(x, [2, 3, 2])).shape).toEqual([6, 2]);
    expect(new nn.Flatten(0).call(T(x, [2, 3, 2])).shape).toEqual([12]);
    gradcheck((a) => new nn.Flatten().call(a!).mul(T(g, [2, 6])).square(), [randT([2, 3, 2], 31)]);
    gradcheck((a) => new nn.Flatten(1, 2).call(a!).tanh(), [randT([2, 2, 3, 2], 32)]);
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
