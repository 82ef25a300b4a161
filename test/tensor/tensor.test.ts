import { afterAll, describe, expect, it } from 'vitest';
import { setBackend } from '../../src/backend';
import {
  Generator, ShapeError, ValueError, arange, concat, full, manualSeed, noGrad, ones, rand, randn, tensor, zeros,
} from '../../src/tensor';
import * as F from '../../src/tensor/functional';
import { BACKENDS } from '../helpers/backends';

const arr = (t: { toArray(): Float32Array }) => Array.from(t.toArray());

describe.each(BACKENDS.map((b) => b.name))('tensors on %s', (name) => {
  setBackend(name);
  afterAll(() => setBackend(BACKENDS[0]!.name));
  const on = (fn: () => void) => () => { setBackend(name); fn(); };

  it('creates tensors from flat values, nested arrays and scalars', on(() => {
    const a = tensor([1, 2, 3, 4, 5, 6], [2, 3]);
    expect(a.shape).toEqual([2, 3]);
    expect(arr(a)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(tensor([[1, 2], [3, 4]]).shape).toEqual([2, 2]);
    expect(tensor(3).shape).toEqual([]);
    expect(tensor(3).item()).toBe(3);
    expect(zeros([2, 2]).tolist()).toEqual([[0, 0], [0, 0]]);
    expect(arr(arange(4))).toEqual([0, 1, 2, 3]);
  }));

  it('rejects wrong value counts, bad shapes and ragged arrays with clear errors', on(() => {
    expect(() => tensor([1, 2, 3], [2, 2])).toThrow(/3 values given for shape \[2, 2\]/);
    expect(() => tensor([1, 2], [-1, -2])).toThrow(ValueError);
    expect(() => tensor([1, 2], [1.5])).toThrow(/invalid dimension 1.5/);
    // The message names the function the user called (not a helper it delegates to) and the shape.
    const makers = { zeros, ones, full: (s: number[]) => full(s, 7), rand, randn } as const;
    for (const [op, make] of Object.entries(makers)) {
      expect(() => make([2, -3]), op).toThrow(new RegExp(`^${op}: shape \\[2, -3\\] has an invalid dimension -3 `));
      expect(() => make([2.5]), op).toThrow(new RegExp(`^${op}: shape \\[2\\.5\\] has an invalid dimension 2\\.5 `));
      expect(() => make([2, -3]), op).toThrow(ValueError);
    }
    expect(() => tensor([[1, 2], [3]])).toThrow(/ragged/);
    expect(() => tensor([1, 2]).item()).toThrow(/one-element/);
  }));

  it('broadcasts elementwise ops as NumPy does', on(() => {
    const a = tensor([1, 2, 3, 4, 5, 6], [2, 3]);
    expect(arr(a.add(tensor([10, 20, 30])))).toEqual([11, 22, 33, 14, 25, 36]);
    expect(arr(a.mul(tensor([2, 3], [2, 1])))).toEqual([2, 4, 6, 12, 15, 18]);
    expect(arr(a.sub(1).div(2))).toEqual([0, 0.5, 1, 1.5, 2, 2.5]);
    expect(() => a.add(tensor([1, 2]))).toThrow(/add: shapes \[2, 3\] and \[2\] cannot be broadcast/);
  }));

  it('matmul computes known products and names shapes on mismatch', on(() => {
    const a = tensor([1, 2, 3, 4, 5, 6], [2, 3]);
    const b = tensor([7, 8, 9, 10, 11, 12], [3, 2]);
    expect(arr(a.matmul(b))).toEqual([58, 64, 139, 154]);
    expect(() => a.matmul(a)).toThrow(/matmul: inner dimensions differ: \[2, 3\] · \[2, 3\]/);
    const batched = tensor([1, 0, 0, 1, 2, 0, 0, 2], [2, 2, 2]).matmul(tensor([1, 2, 3, 4], [2, 2]));
    expect(batched.shape).toEqual([2, 2, 2]);
    expect(arr(batched)).toEqual([1, 2, 3, 4, 2, 4, 6, 8]);
  }));

  it('reshapes with -1, transposes, permutes and slices rows without copying', on(() => {
    const a = arange(24).reshape([2, 3, -1]);
    expect(a.shape).toEqual([2, 3, 4]);
    expect(() => a.reshape([5, -1])).toThrow(/cannot reshape \[2, 3, 4\]/);
    expect(a.transpose(0, 2).shape).toEqual([4, 3, 2]);
    expect(arr(tensor([1, 2, 3, 4, 5, 6], [2, 3]).T)).toEqual([1, 4, 2, 5, 3, 6]);
    expect(a.permute([2, 0, 1]).tolist()).toEqual(a.transpose(0, 2).transpose(1, 2).tolist());
    const rows = a.slice(1, 2);
    expect(rows.shape).toEqual([1, 3, 4]);
    expect(rows.data.buffer).toBe(a.data.buffer);
    expect(rows.data[0]).toBe(12);
  }));

  it('reduces over axes with keepdim and finds argmax', on(() => {
    const a = tensor([1, 5, 3, 4, 2, 6], [2, 3]);
    expect(arr(a.sum(0))).toEqual([5, 7, 9]);
    expect(a.sum(1, true).shape).toEqual([2, 1]);
    expect(arr(a.mean(1))).toEqual([3, 4]);
    expect(arr(a.max(1))).toEqual([5, 6]);
    expect(arr(a.min(0))).toEqual([1, 2, 3]);
    expect(arr(a.argmax(1))).toEqual([1, 2]);
    expect(a.sum().item()).toBe(21);
    expect(() => a.sum(2)).toThrow(/dimension 2 is out of range/);
  }));

  it('softmax rows sum to one, even for huge logits', on(() => {
    const s = tensor([1000, 1001, 1002, -5, 0, 5], [2, 3]).softmax(1);
    const sums = s.sum(1);
    for (const v of sums.data) expect(v).toBeCloseTo(1, 6);
    expect(Number.isFinite(tensor([1000, 0], [1, 2]).logSoftmax(1).data[1]!)).toBe(true);
  }));

  it('accumulates gradients across fan-out and repeated backward calls', on(() => {
    const x = tensor([1, 2, 3], [3], { requiresGrad: true });
    x.mul(x).sum().backward(); // d/dx Σx² = 2x
    expect(arr(x.grad!)).toEqual([2, 4, 6]);
    x.mul(3).sum().backward(); // accumulates +3
    expect(arr(x.grad!)).toEqual([5, 7, 9]);
  }));

  it('frees the graph after backward and keeps non-leaf grads only when asked', on(() => {
    const x = tensor([1, 2], [2], { requiresGrad: true });
    const y = x.mul(2).retainGrad();
    const z = y.sum();
    z.backward();
    expect(arr(y.grad!)).toEqual([1, 1]);
    expect(z.grad).toBeNull();
    expect(y._prev.length).toBe(0);
  }));

  it('noGrad records nothing; detach cuts the graph', on(() => {
    const x = tensor([1, 2], [2], { requiresGrad: true });
    const y = noGrad(() => x.mul(2));
    expect(y.requiresGrad).toBe(false);
    expect(() => y.sum().backward()).toThrow(/does not require grad/);
    const d = x.detach();
    expect(d.requiresGrad).toBe(false);
    expect(d.data).toBe(x.data);
  }));

  it('backward needs a scalar or an explicit gradient of the right shape', on(() => {
    const x = tensor([1, 2], [2], { requiresGrad: true });
    expect(() => x.mul(2).backward()).toThrow(/one-element tensor, got shape \[2\]/);
    x.mul(2).backward(tensor([1, 10]));
    expect(arr(x.grad!)).toEqual([2, 20]);
  }));

  it('concat joins along any axis', on(() => {
    const a = tensor([1, 2, 3, 4], [2, 2]);
    const b = tensor([5, 6], [2, 1]);
    expect(concat([a, b], 1).tolist()).toEqual([[1, 2, 5], [3, 4, 6]]);
    expect(() => concat([a, b], 0)).toThrow(/concat: shapes \[2, 2\], \[2, 1\] differ outside dimension 0/);
  }));

  it('seeded random tensors repeat exactly', on(() => {
    manualSeed(42);
    const a = randn([5]);
    const u = rand([5]);
    manualSeed(42);
    expect(arr(randn([5]))).toEqual(arr(a));
    expect(arr(rand([5]))).toEqual(arr(u));
    const g = new Generator(7);
    const p = g.permutation(10);
    expect([...p].sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  }));

  it('functional ops validate their inputs with the shapes in the message', on(() => {
    expect(() => F.linear(ones([2, 3]), ones([4, 5]))).toThrow(/linear: input \[2, 3\] does not end in 5 features/);
    expect(() => F.conv2d(ones([1, 2, 5, 5]), ones([3, 1, 3, 3]))).toThrow(/conv2d: input has 2 channels/);
    expect(() => F.softmaxCrossEntropy(ones([2, 3]), [0, 3])).toThrow(/target 3 at position 1 is not a class index in \[0, 3\)/);
    expect(() => F.dropout(ones([2]), 1.5)).toThrow(/dropout probability has to be between 0 and 1, but got 1.5/);
    expect(() => F.maxPool2d(ones([2, 2]), 2)).toThrow(ShapeError);
  }));

  it('cross-entropy matches the hand-computed value', on(() => {
    // logits [0, ln 2, ln 3] → p = [1/6, 2/6, 3/6]; target 2 → −ln(1/2)
    const l = tensor([0, Math.log(2), Math.log(3)], [1, 3]);
    expect(F.softmaxCrossEntropy(l, [2]).item()).toBeCloseTo(Math.log(2), 6);
    // label smoothing 0.3: 0.7·(−ln p2) + 0.1·Σ −ln p_j
    const expected = 0.7 * Math.log(2) + 0.1 * (Math.log(6) + Math.log(3) + Math.log(2));
    expect(F.softmaxCrossEntropy(l, [2], { labelSmoothing: 0.3 }).item()).toBeCloseTo(expected, 5);
  }));
});
