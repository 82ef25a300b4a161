import { describe, expect, it } from 'vitest';
import { init } from '../../src/nn';
import { Generator } from '../../src/tensor/random';
import { Tensor } from '../../src/tensor/tensor';
import { BACKEND_NAMES, arr, useBackend } from './util';

const empty = (shape: number[]) => new Tensor(new Float32Array(shape.reduce((a, b) => a * b, 1)), shape);

function moments(t: Tensor): { mean: number; std: number; maxAbs: number } {
  const v = arr(t);
  const mean = v.reduce((s, x) => s + x, 0) / v.length;
  const std = Math.sqrt(v.reduce((s, x) => s + (x - mean) ** 2, 0) / v.length);
  return { mean, std, maxAbs: Math.max(...v.map(Math.abs)) };
}

describe.each(BACKEND_NAMES)('nn.init on %s', (name) => {
  const on = useBackend(name);

  it('calculateGain and fans follow torch.nn.init', on(() => {
    expect(init.calculateGain('linear')).toBe(1);
    expect(init.calculateGain('sigmoid')).toBe(1);
    expect(init.calculateGain('tanh')).toBeCloseTo(5 / 3, 12);
    expect(init.calculateGain('relu')).toBeCloseTo(Math.SQRT2, 12);
    expect(init.calculateGain('leakyRelu')).toBeCloseTo(Math.sqrt(2 / (1 + 0.01 ** 2)), 12);
    expect(init.calculateGain('leaky_relu', Math.sqrt(5))).toBeCloseTo(Math.sqrt(1 / 3), 12);
    expect(init.calculateGain('selu')).toBe(0.75);
    expect(init.calculateFanInAndFanOut(empty([32, 16, 3, 3]))).toEqual([144, 288]);
    expect(init.calculateFanInAndFanOut(empty([10, 20]))).toEqual([20, 10]);
    expect(() => init.calculateFanInAndFanOut(empty([5]))).toThrow(/fewer than 2 dimensions/);
    expect(() => init.kaimingUniform(empty([4, 4]), { mode: 'bad' as never })).toThrow(/Mode "bad" not supported/);
  }));

  it('kaiming and xavier bounds and standard deviations', on(() => {
    const g = new Generator(11);
    const w = init.kaimingUniform(empty([200, 100]), { generator: g });
    const bound = Math.SQRT2 * Math.sqrt(3 / 100);
    expect(moments(w).maxAbs).toBeLessThanOrEqual(bound * (1 + 1e-6));
    expect(moments(w).maxAbs).toBeGreaterThan(bound * 0.99);
    const wo = init.kaimingUniform(empty([50, 400]), { mode: 'fanOut', nonlinearity: 'relu', generator: g });
    expect(moments(wo).maxAbs).toBeLessThanOrEqual(Math.SQRT2 * Math.sqrt(3 / 50) * (1 + 1e-6));
    const kn = moments(init.kaimingNormal(empty([300, 200]), { nonlinearity: 'relu', generator: g }));
    expect(kn.std).toBeCloseTo(Math.SQRT2 / Math.sqrt(200), 2);
    expect(Math.abs(kn.mean)).toBeLessThan(0.005);
    const xu = moments(init.xavierUniform(empty([100, 300]), { gain: 2, generator: g }));
    expect(xu.maxAbs).toBeLessThanOrEqual(2 * Math.sqrt(6 / 400) * (1 + 1e-6));
    expect(xu.maxAbs).toBeGreaterThan(2 * Math.sqrt(6 / 400) * 0.99);
    const xn = moments(init.xavierNormal(empty([300, 300]), { generator: g }));
    expect(xn.std).toBeCloseTo(Math.sqrt(2 / 600), 2);
  }));

  it('uniform, normal, constant, zeros, ones work in place and are seeded', on(() => {
    const t = empty([1000]);
    expect(init.uniform(t, -2, 3, { generator: new Generator(1) })).toBe(t);
    const m = moments(t);
    expect(Math.min(...arr(t))).toBeGreaterThanOrEqual(-2);
    expect(Math.max(...arr(t))).toBeLessThan(3);
    expect(m.mean).toBeCloseTo(0.5, 0);
    const again = init.uniform(empty([1000]), -2, 3, { generator: new Generator(1) });
    expect(arr(again)).toEqual(arr(t));
    const n = moments(init.normal(empty([20000]), 3, 0.5, { generator: new Generator(2) }));
    expect(n.mean).toBeCloseTo(3, 1);
    expect(n.std).toBeCloseTo(0.5, 1);
    expect(arr(init.constant(empty([3]), 1.5))).toEqual([1.5, 1.5, 1.5]);
    expect(arr(init.zeros(init.ones(empty([2]))))).toEqual([0, 0]);
    expect(arr(init.ones(empty([2])))).toEqual([1, 1]);
    expect(() => init.uniform(empty([2]), 1, 0)).toThrow(/a ≤ b/);
  }));
});
