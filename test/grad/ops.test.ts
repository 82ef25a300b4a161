import { afterAll, describe, expect, it } from 'vitest';
import { setBackend } from '../../src/backend';
import * as F from '../../src/tensor/functional';
import { Generator } from '../../src/tensor/random';
import { Tensor, concat, stack } from '../../src/tensor/tensor';
import { BACKENDS } from '../helpers/backends';
import { gradcheck, randT } from '../helpers/gradcheck';

const nearZero = (t: Tensor, eps = 0.02) => (_i: number, j: number) => Math.abs(t.data[j]!) < eps;

describe.each(BACKENDS.map((b) => b.name))('finite-difference gradients on %s', (name) => {
  setBackend(name);
  afterAll(() => setBackend(BACKENDS[0]!.name));
  const on = (fn: () => void) => () => { setBackend(name); fn(); };

  it('add/sub/mul/div with broadcasting', on(() => {
    const shapes: Array<[number[], number[]]> = [[[3, 4], [3, 4]], [[3, 4], [4]], [[2, 3, 4], [3, 1]], [[5, 1], [1, 6]], [[2, 1, 3], [1]]];
    shapes.forEach(([sa, sb], k) => {
      gradcheck((a, b) => a.add(b), [randT(sa, k + 1), randT(sb, k + 11)]);
      gradcheck((a, b) => a.sub(b), [randT(sa, k + 2), randT(sb, k + 12)]);
      gradcheck((a, b) => a.mul(b), [randT(sa, k + 3), randT(sb, k + 13)]);
      gradcheck((a, b) => a.div(b), [randT(sa, k + 4), randT(sb, k + 14, { lo: 0.5, hi: 2 })]);
    });
    gradcheck((a) => a.add(2).sub(1).mul(3).div(4), [randT([7], 5)]);
  }));

  it('unary ops', on(() => {
    const x = randT([23], 7, { lo: -2, hi: 2 });
    gradcheck((a) => a.neg(), [x]);
    gradcheck((a) => a.exp(), [x]);
    gradcheck((a) => a.square(), [x]);
    gradcheck((a) => a.sigmoid(), [x]);
    gradcheck((a) => a.tanh(), [x]);
    gradcheck((a) => a.gelu(), [x]);
    gradcheck((a) => a.relu(), [x], { skip: nearZero(x) });
    gradcheck((a) => a.leakyRelu(0.1), [x], { skip: nearZero(x) });
    gradcheck((a) => a.abs(), [x], { skip: nearZero(x) });
    const pos = randT([17], 8, { lo: 0.3, hi: 3 });
    gradcheck((a) => a.log(), [pos], { eps: 1e-3 });
    gradcheck((a) => a.sqrt(), [pos], { eps: 1e-3 });
    gradcheck((a) => a.pow(2.5), [pos], { eps: 1e-3 });
    gradcheck((a) => a.pow(-1), [pos], { eps: 1e-3 });
    gradcheck((a) => a.pow(3), [x]);
  }));

  it('unary ops without a method of their own: reciprocal, clampMin, sign (Tensor.unaryOp)', on(() => {
    // reciprocal on both sides of its pole, never within 0.4 of it.
    const r = randT([19], 21, { lo: 0.4, hi: 2.5 });
    for (let j = 0; j < r.size; j += 2) r.data[j] = -r.data[j]!;
    gradcheck((a) => a.unaryOp('reciprocal'), [r], { eps: 1e-3 });
    // clampMin: slope 1 above the bound, 0 below; points within eps of the kink are skipped.
    const x = randT([23], 22, { lo: -2, hi: 2 });
    for (const bound of [-0.5, 0, 0.7]) {
      const below = Array.from(x.data).filter((v) => v < bound - 0.02).length;
      expect(below > 3 && below < x.size - 3, `bound ${bound} splits the points`).toBe(true);
      gradcheck((a) => a.unaryOp('clampMin', bound), [x], { skip: (_i, j) => Math.abs(x.data[j]! - bound) < 0.02 });
    }
    // sign: piecewise constant, so the gradient is 0 away from 0 (and, as in PyTorch, at 0 too).
    gradcheck((a) => a.unaryOp('sign'), [x], { skip: nearZero(x) });
    const z = new Tensor(Float32Array.from([-1.5, -0.25, 0, 0.25, 3]), [5], true);
    z.unaryOp('sign').mul(new Tensor(Float32Array.from([1, 2, 3, 4, 5]), [5])).sum().backward();
    expect(Array.from(z.grad!.data)).toEqual([0, 0, 0, 0, 0]);
  }));

  it('matmul: 2-D, batched, shared operands, vectors', on(() => {
    gradcheck((a, b) => a.matmul(b), [randT([4, 7], 1), randT([7, 3], 2)]);
    gradcheck((a, b) => a.matmul(b), [randT([2, 4, 5], 3), randT([2, 5, 3], 4)]);
    gradcheck((a, b) => a.matmul(b), [randT([3, 4, 5], 5), randT([5, 2], 6)]);
    gradcheck((a, b) => a.matmul(b), [randT([4, 5], 7), randT([3, 5, 2], 8)]);
    gradcheck((a, b) => a.matmul(b), [randT([5], 9), randT([5, 3], 10)]);
    gradcheck((a, b) => a.matmul(b), [randT([4, 5], 11), randT([5], 12)]);
  }));

  it('shape ops: reshape, transpose, permute, flatten, slice, indexSelect, concat, stack', on(() => {
    gradcheck((a) => a.reshape([6, -1]).mul(a.reshape([6, 4])), [randT([2, 3, 4], 1)]);
    gradcheck((a) => a.transpose(0, 2), [randT([2, 3, 4], 2)]);
    gradcheck((a) => a.permute([1, 2, 0]), [randT([2, 3, 4], 3)]);
    gradcheck((a) => a.flatten(1), [randT([2, 3, 4], 4)]);
    gradcheck((a) => a.slice(1, 3).mul(a.slice(0, 2)), [randT([4, 3], 5)]);
    gradcheck((a) => a.indexSelect([2, 0, 2, 1]), [randT([3, 5], 6)]);
    gradcheck((a, b) => concat([a, b, a], 1), [randT([2, 3], 7), randT([2, 2], 8)]);
    gradcheck((a, b) => stack([a, b], 0), [randT([2, 3], 9), randT([2, 3], 10)]);
  }));

  it('reductions: sum, mean, max, min over axes and all', on(() => {
    const x = randT([3, 4, 5], 13);
    for (const d of [0, 1, 2, -1]) {
      gradcheck((a) => a.sum(d), [x]);
      gradcheck((a) => a.mean(d, true), [x]);
      gradcheck((a) => a.max(d), [x], { eps: 1e-3 });
      gradcheck((a) => a.min(d, true), [x], { eps: 1e-3 });
    }
    gradcheck((a) => a.sum(), [x]);
    gradcheck((a) => a.mean(), [x]);
    gradcheck((a) => a.max(), [x], { eps: 1e-3 });
  }));

  it('softmax and logSoftmax on every axis', on(() => {
    const x = randT([3, 4, 5], 14, { lo: -3, hi: 3 });
    for (const d of [0, 1, 2]) {
      gradcheck((a) => a.softmax(d), [x]);
      gradcheck((a) => a.logSoftmax(d), [x]);
    }
  }));

  it('linear with bias and fused ReLU', on(() => {
    const x = randT([5, 6], 1);
    const w = randT([4, 6], 2);
    const b = randT([4], 3);
    gradcheck((a, ww, bb) => F.linear(a, ww, bb), [x, w, b]);
    gradcheck((a, ww) => F.linear(a, ww, null), [x, w]);
    const y = F.linear(x, w, b);
    // Skip perturbations whose pre-activation sits near the ReLU kink.
    const kink = y.data.some((v) => Math.abs(v) < 0.05);
    gradcheck((a, ww, bb) => F.linear(a, ww, bb, 'relu'), [x, w, b], { tol: kink ? 5e-2 : 1e-2 });
  }));

  it('conv2d with stride and padding', on(() => {
    gradcheck((x, w, b) => F.conv2d(x, w, b), [randT([2, 2, 5, 6], 1), randT([3, 2, 3, 3], 2), randT([3], 3)]);
    gradcheck((x, w, b) => F.conv2d(x, w, b, { stride: 2, padding: 1 }), [randT([1, 3, 7, 6], 4), randT([2, 3, 3, 2], 5), randT([2], 6)]);
    gradcheck((x, w) => F.conv2d(x, w, null, { stride: [1, 2], padding: [2, 0] }), [randT([2, 1, 4, 5], 7), randT([2, 1, 2, 3], 8)]);
    const xr = randT([2, 2, 5, 5], 30);
    const wr = randT([3, 2, 3, 3], 31);
    const br = randT([3], 32);
    const pre = F.conv2d(xr.detach(), wr.detach(), br.detach(), { padding: 1 });
    const kink = pre.data.some((v) => Math.abs(v) < 0.05);
    gradcheck((x, w, b) => F.conv2d(x, w, b, { padding: 1, act: 'relu' }), [xr, wr, br], { tol: kink ? 5e-2 : 1e-2 });
  }));

  it('conv2d with fused max pooling', on(() => {
    gradcheck((x, w, b) => F.conv2d(x, w, b, { pool: 2 }), [randT([2, 2, 6, 7], 41), randT([3, 2, 3, 3], 42), randT([3], 43)]);
    gradcheck((x, w) => F.conv2d(x, w, null, { stride: [1, 2], padding: 1, pool: [2, 1] }), [randT([1, 3, 5, 6], 44), randT([2, 3, 2, 2], 45)]);
    const xr = randT([2, 2, 6, 6], 46);
    const wr = randT([3, 2, 3, 3], 47);
    const br = randT([3], 48);
    const pre = F.conv2d(xr.detach(), wr.detach(), br.detach());
    const kink = pre.data.some((v) => Math.abs(v) < 0.05);
    gradcheck((x, w, b) => F.conv2d(x, w, b, { act: 'relu', pool: 2 }), [xr, wr, br], { tol: kink ? 5e-2 : 1e-2 });
  }));

  it('max and average pooling', on(() => {
    gradcheck((x) => F.maxPool2d(x, 2), [randT([2, 3, 6, 6], 9)]);
    gradcheck((x) => F.maxPool2d(x, 3, { stride: 2, padding: 1 }), [randT([1, 2, 7, 5], 10)]);
    gradcheck((x) => F.avgPool2d(x, 2), [randT([2, 2, 4, 6], 11)]);
    gradcheck((x) => F.avgPool2d(x, [3, 2], { stride: 1, padding: [1, 1] }), [randT([1, 2, 5, 4], 12)]);
  }));

  it('dropout with a fixed mask', on(() => {
    gradcheck((x) => F.dropout(x, 0.4, true, new Generator(5)), [randT([40], 13)]);
  }));

  it('batch norm in training and eval', on(() => {
    const x = randT([4, 3, 2, 2], 14);
    const g = randT([3], 15, { lo: 0.5, hi: 1.5 });
    const b = randT([3], 16);
    const stats = (c = 3) => ({ runningMean: new Tensor(new Float32Array(c), [c]), runningVar: new Tensor(new Float32Array(c).fill(1), [c]) });
    gradcheck((a, gg, bb) => F.batchNorm(a, { ...stats(), weight: gg, bias: bb, training: true }), [x, g, b], { eps: 1e-3, tol: 2e-2 });
    gradcheck((a) => F.batchNorm(a, { ...stats(4), training: true }), [randT([6, 4], 17)], { eps: 1e-3, tol: 2e-2 });
    const rm = randT([3], 18, { grad: false });
    const rv = randT([3], 19, { lo: 0.5, hi: 2, grad: false });
    gradcheck((a, gg, bb) => F.batchNorm(a, { runningMean: rm, runningVar: rv, weight: gg, bias: bb, training: false }), [x, g, b]);
  }));

  it('softmax cross-entropy with label smoothing and each reduction', on(() => {
    const logits = randT([5, 4], 20, { lo: -2, hi: 2 });
    const t = [0, 3, 1, 1, 2];
    gradcheck((l) => F.softmaxCrossEntropy(l, t), [logits]);
    gradcheck((l) => F.softmaxCrossEntropy(l, t, { reduction: 'sum', labelSmoothing: 0.2 }), [logits]);
    gradcheck((l) => F.softmaxCrossEntropy(l, Int32Array.from(t), { reduction: 'none', labelSmoothing: 0.1 }), [logits]);
  }));

  it('a small network end to end (gradient flows through a chain, fan-out accumulates)', on(() => {
    const x = randT([3, 5], 21);
    const w1 = randT([6, 5], 22);
    const w2 = randT([4, 6], 23);
    gradcheck((a, u, v) => {
      const h = F.linear(a, u).tanh();
      return F.linear(h.add(h.mul(h)), v).logSoftmax(1);
    }, [x, w1, w2]);
  }));
});
