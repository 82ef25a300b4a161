import { describe, expect, it } from 'vitest';
import {
  LOSSES, crossEntropy, huberLoss, l1Loss, l1Penalty, l2Penalty, mseLoss, nllLoss, oneHot, smoothL1Loss,
} from '../../src/loss';
import * as nn from '../../src/nn';
import type { Reduction } from '../../src/loss';
import type { Tensor } from '../../src/tensor/tensor';
import { gradcheck, randT } from '../helpers/gradcheck';
import { BACKEND_NAMES, T, arr, close, useBackend } from '../nn/util';

const logSumExp = (v: number[]) => Math.log(v.reduce((s, x) => s + Math.exp(x), 0));

/** A loss's per-element values and vector–Jacobian product, in float64, from its formula. */
interface LossRef {
  name: string;
  fn: (x: Tensor, reduction: Reduction) => Tensor;
  /** Per-element losses of input x (flat). */
  per: (x: Float32Array) => number[];
  /** ∂/∂x of Σ_i g_i·per_i. */
  vjp: (x: Float32Array, g: number[]) => number[];
}

const N = 3;
const C = 4;
const softmaxRow = (x: Float32Array, i: number) => {
  const row = Array.from(x.subarray(i * C, i * C + C));
  const lse = logSumExp(row);
  return { row, lse, p: row.map((v) => Math.exp(v - lse)) };
};

/** The built-in losses on [3, 4] inputs: class targets for crossEntropy/nllLoss, a tensor otherwise. */
function lossTable(): LossRef[] {
  const labels = [2, 0, 3];
  const y = randT([N, C], 52, { lo: -2, hi: 2, grad: false });
  const elementwise = (name: string, fn: (x: Tensor, r: Reduction) => Tensor, f: (d: number) => number, df: (d: number) => number): LossRef => ({
    name, fn,
    per: (x) => Array.from(x, (v, i) => f(v - y.data[i]!)),
    vjp: (x, g) => Array.from(x, (v, i) => g[i]! * df(v - y.data[i]!)),
  });
  const sign = Math.sign;
  const sl1 = (b: number) => [(d: number) => (Math.abs(d) < b ? 0.5 * d * d / b : Math.abs(d) - 0.5 * b), (d: number) => (Math.abs(d) < b ? d / b : sign(d))] as const;
  return [
    {
      name: 'crossEntropy',
      fn: (x, reduction) => crossEntropy(x, labels, { reduction }),
      per: (x) => labels.map((t, i) => { const s = softmaxRow(x, i); return s.lse - s.row[t]!; }),
      vjp: (x, g) => labels.flatMap((t, i) => softmaxRow(x, i).p.map((p, c) => g[i]! * (p - (c === t ? 1 : 0)))),
    },
    {
      name: 'crossEntropy (labelSmoothing 0.2)',
      fn: (x, reduction) => crossEntropy(x, labels, { reduction, labelSmoothing: 0.2 }),
      per: (x) => labels.map((t, i) => { const s = softmaxRow(x, i); return s.row.reduce((a, v, c) => a - ((c === t ? 0.8 : 0) + 0.05) * (v - s.lse), 0); }),
      // ∂/∂x_c = p_c − q_c with q = 0.8·onehot + 0.2/C
      vjp: (x, g) => labels.flatMap((t, i) => softmaxRow(x, i).p.map((p, c) => g[i]! * (p - (c === t ? 0.8 : 0) - 0.05))),
    },
    {
      name: 'nllLoss',
      fn: (x, reduction) => nllLoss(x, labels, { reduction }),
      per: (x) => labels.map((t, i) => -x[i * C + t]!),
      vjp: (_x, g) => labels.flatMap((t, i) => Array.from({ length: C }, (_, c) => (c === t ? -g[i]! : 0))),
    },
    elementwise('mseLoss', (x, reduction) => mseLoss(x, y, { reduction }), (d) => d * d, (d) => 2 * d),
    elementwise('l1Loss', (x, reduction) => l1Loss(x, y, { reduction }), Math.abs, sign),
    elementwise('smoothL1Loss', (x, reduction) => smoothL1Loss(x, y, { reduction }), ...sl1(1)),
    elementwise('smoothL1Loss (beta 0.5)', (x, reduction) => smoothL1Loss(x, y, { reduction, beta: 0.5 }), ...sl1(0.5)),
    elementwise('smoothL1Loss (beta 0)', (x, reduction) => smoothL1Loss(x, y, { reduction, beta: 0 }), Math.abs, sign),
    elementwise('huberLoss (delta 1.5)', (x, reduction) => huberLoss(x, y, { reduction, delta: 1.5 }),
      (d) => (Math.abs(d) < 1.5 ? 0.5 * d * d : 1.5 * (Math.abs(d) - 0.75)), (d) => (Math.abs(d) < 1.5 ? d : 1.5 * sign(d))),
  ];
}

describe.each(BACKEND_NAMES)('losses on %s', (name) => {
  const on = useBackend(name);

  it('crossEntropy: values, reductions and label smoothing by hand', on(() => {
    const rows = [[1, 2, 3], [1, 1, 1]];
    const x = T(rows.flat(), [2, 3], true);
    const t = Int32Array.of(2, 0);
    const per = rows.map((r, i) => logSumExp(r) - r[t[i]!]!);
    close(arr(crossEntropy(x, t, { reduction: 'none' })), per);
    expect(crossEntropy(x, t).item()).toBeCloseTo((per[0]! + per[1]!) / 2, 6);
    expect(crossEntropy(x, [2, 0], { reduction: 'sum' }).item()).toBeCloseTo(per[0]! + per[1]!, 6);
    // Label smoothing ε: −Σ_c ((1−ε)·onehot + ε/C)·log p_c
    const eps = 0.2;
    const smooth = rows.map((r, i) => {
      const lse = logSumExp(r);
      return r.reduce((s, v, c) => s - ((c === t[i] ? 1 - eps : 0) + eps / 3) * (v - lse), 0);
    });
    close(arr(crossEntropy(x, t, { labelSmoothing: eps, reduction: 'none' })), smooth, 1e-5);
    // Gradient of the mean: (softmax − onehot)/N
    crossEntropy(x, t).backward();
    const g = rows.flatMap((r, i) => r.map((v, c) => (Math.exp(v - logSumExp(r)) - (c === t[i] ? 1 : 0)) / 2));
    close(arr(x.grad!), g, 1e-5);
    expect(() => crossEntropy(x, [3, 0])).toThrow(/not a class index in \[0, 3\)/);
    expect(() => crossEntropy(T([1, 2], [2]), [0])).toThrow(/logits \[N, C\]/);
    expect(() => crossEntropy(x, t, { reduction: 'avg' as never })).toThrow(/reduction must be 'mean', 'sum' or 'none', got "avg"/);
  }));

  it('crossEntropy: probability targets match class indices, spatial inputs [N, C, d]', on(() => {
    const x = randT([4, 5], 3, { lo: -2, hi: 2 });
    const t = [0, 4, 2, 2];
    expect(crossEntropy(x, oneHot(t, 5)).item()).toBeCloseTo(crossEntropy(x, t).item(), 5);
    expect(crossEntropy(x, oneHot(t, 5), { labelSmoothing: 0.1 }).item()).toBeCloseTo(crossEntropy(x, t, { labelSmoothing: 0.1 }).item(), 5);
    gradcheck((a) => crossEntropy(a!, oneHot(t, 5), { labelSmoothing: 0.3 }), [x]);
    // [N, C, d]: the loss of each position is the 2-D loss of its class column.
    const s = randT([2, 3, 4], 4);
    const ts = T([0, 1, 2, 0, 2, 2, 1, 0], [2, 4]);
    const none = crossEntropy(s, ts, { reduction: 'none' });
    expect(none.shape).toEqual([2, 4]);
    const flat = s.permute([0, 2, 1]).reshape([8, 3]);
    close(arr(none), arr(crossEntropy(flat, arr(ts), { reduction: 'none' })), 1e-6);
    gradcheck((a) => crossEntropy(a!, ts), [s]);
    expect(() => crossEntropy(s, T([0, 1], [2]))).toThrow(/class-index target \[2\] must have shape \[2, 4\]/);
  }));

  it('nllLoss on log-probabilities equals crossEntropy on logits', on(() => {
    const x = randT([6, 4], 5, { lo: -3, hi: 3 });
    const t = [3, 0, 1, 1, 2, 3];
    expect(nllLoss(x.logSoftmax(1), t).item()).toBeCloseTo(crossEntropy(x, t).item(), 5);
    close(arr(nllLoss(x, t, { reduction: 'none' })), t.map((c, i) => -x.data[i * 4 + c]!));
    expect(nllLoss(x, t, { reduction: 'sum' }).item()).toBeCloseTo(t.reduce((s, c, i) => s - x.data[i * 4 + c]!, 0), 5);
    gradcheck((a) => nllLoss(a!.logSoftmax(1), t), [x]);
    gradcheck((a) => nllLoss(a!, t, { reduction: 'none' }), [x]);
    expect(() => nllLoss(x, [0, 1])).toThrow(/2 targets/);
  }));

  it('mseLoss and l1Loss: values, reductions, gradients, one-hot classification targets', on(() => {
    const x = T([1, 2, 3, 4], [2, 2], true);
    const y = T([0, 2, 5, 3], [2, 2]);
    expect(mseLoss(x, y).item()).toBeCloseTo((1 + 0 + 4 + 1) / 4, 6);
    expect(mseLoss(x, y, { reduction: 'sum' }).item()).toBe(6);
    expect(arr(mseLoss(x, y, { reduction: 'none' }))).toEqual([1, 0, 4, 1]);
    expect(l1Loss(x, y).item()).toBeCloseTo(1, 6);
    expect(arr(l1Loss(x, y, { reduction: 'none' }))).toEqual([1, 0, 2, 1]);
    mseLoss(x, y).backward();
    expect(arr(x.grad!)).toEqual([0.5, 0, -1, 0.5]); // 2(x − y)/N
    x.grad = null;
    l1Loss(x, y, { reduction: 'sum' }).backward();
    expect(arr(x.grad!)).toEqual([1, 0, -1, 1]); // sign(x − y), 0 at 0
    const logits = randT([3, 4], 6);
    expect(mseLoss(logits, [1, 0, 3]).item()).toBeCloseTo(mseLoss(logits, oneHot([1, 0, 3], 4)).item(), 6);
    expect(l1Loss(logits, Int32Array.of(1, 0, 3)).item()).toBeCloseTo(l1Loss(logits, oneHot([1, 0, 3], 4)).item(), 6);
    gradcheck((a, b) => mseLoss(a!, b!), [randT([3, 4], 7), randT([3, 4], 8)]);
    expect(() => mseLoss(x, T([1, 2], [2]))).toThrow(/mseLoss: input \[2, 2\] and target \[2\] have different shapes/);
    expect(() => l1Loss(T([1, 2, 3], [3]), [0, 1, 2])).toThrow(/class labels as target need input \[N, C\]/);
  }));

  it('smoothL1Loss and huberLoss follow PyTorch\'s formulas', on(() => {
    const d = [-3, -0.5, 0, 0.2, 1, 2.5];
    const x = T(d, [6], true);
    const z = T([0, 0, 0, 0, 0, 0], [6]);
    const sl1 = (v: number, b: number) => (Math.abs(v) < b ? 0.5 * v * v / b : Math.abs(v) - 0.5 * b);
    close(arr(smoothL1Loss(x, z, { reduction: 'none' })), d.map((v) => sl1(v, 1)));
    close(arr(smoothL1Loss(x, z, { beta: 0.5, reduction: 'none' })), d.map((v) => sl1(v, 0.5)));
    close(arr(smoothL1Loss(x, z, { beta: 0, reduction: 'none' })), d.map(Math.abs));
    const hub = (v: number, k: number) => (Math.abs(v) < k ? 0.5 * v * v : k * (Math.abs(v) - 0.5 * k));
    close(arr(huberLoss(x, z, { delta: 2, reduction: 'none' })), d.map((v) => hub(v, 2)));
    expect(huberLoss(x, z, { delta: 2 }).item()).toBeCloseTo(2 * smoothL1Loss(x, z, { beta: 2 }).item(), 6);
    const a = randT([12], 9, { lo: -3, hi: 3 });
    const b = randT([12], 10, { lo: -3, hi: 3 });
    const nearKink = (_i: number, j: number) => Math.abs(Math.abs(a.data[j]! - b.data[j]!) - 1) < 0.02 || Math.abs(a.data[j]! - b.data[j]!) < 0.02;
    gradcheck((p, q) => smoothL1Loss(p!, q!), [a, b], { skip: nearKink });
    gradcheck((p, q) => huberLoss(p!, q!, { delta: 1, reduction: 'sum' }), [a, b], { skip: nearKink });
    expect(() => smoothL1Loss(x, z, { beta: -1 })).toThrow(/beta must be a finite number ≥ 0, got -1/);
    expect(() => huberLoss(x, z, { delta: 0 })).toThrow(/delta must be/);
  }));

  it('every loss × every reduction: none = the formula per element, sum = Σ, mean = Σ/n, with the matching gradients', on(() => {
    for (const l of lossTable()) {
      const x0 = randT([N, C], 51, { lo: -2, hi: 2 });
      const per = l.per(x0.data);
      const n = per.length;
      for (const reduction of ['none', 'sum', 'mean'] as const) {
        const label = `${l.name}, reduction '${reduction}'`;
        const x = T(arr(x0), [N, C], true);
        const out = l.fn(x, reduction);
        // Upstream gradient: 1, 2, … for 'none'; the scalar's seed 1 for 'sum' and 'mean'.
        let g: number[];
        if (reduction === 'none') {
          expect(out.shape, label).toEqual(n === N ? [N] : [N, C]);
          close(arr(out), per, 1e-5, 1e-6);
          g = per.map((_, i) => i + 1);
          out.mul(T(g, out.shape as number[])).sum().backward();
        } else {
          expect(out.shape, label).toEqual([]);
          const total = per.reduce((a, v) => a + v, 0);
          expect(Math.abs(out.item() - (reduction === 'sum' ? total : total / n)), label).toBeLessThan(1e-5 * Math.max(1, Math.abs(total)));
          g = new Array<number>(n).fill(reduction === 'sum' ? 1 : 1 / n);
          out.backward();
        }
        try {
          close(arr(x.grad!), l.vjp(x0.data, g), 1e-5, 1e-6);
        } catch (e) {
          throw new Error(`${label}: ${(e as Error).message}`);
        }
      }
    }
  }));

  it('oneHot encodes labels and validates them', on(() => {
    expect(oneHot([2, 0], 3).tolist()).toEqual([[0, 0, 1], [1, 0, 0]]);
    expect(oneHot(Int32Array.of(1, 3)).shape).toEqual([2, 4]);
    expect(oneHot(T([1, 0], [2])).tolist()).toEqual([[0, 1], [1, 0]]);
    expect(() => oneHot([0, 3], 3)).toThrow(/label 3 at position 1 is not a class index in \[0, 3\)/);
    expect(() => oneHot([0.5])).toThrow(/label 0\.5/);
  }));

  it('l1Penalty and l2Penalty: λ·Σ|w| and λ·Σw² with their gradients; a custom loss is any function', on(() => {
    const w1 = T([1, -2, 0], [3], true);
    const w2 = T([0.5, 3], [1, 2], true);
    const l2 = l2Penalty([w1, w2], 0.1);
    expect(l2.item()).toBeCloseTo(0.1 * (1 + 4 + 0 + 0.25 + 9), 6);
    l2.backward();
    close(arr(w1.grad!), [0.2, -0.4, 0]);
    close(arr(w2.grad!), [0.1, 0.6]);
    w1.grad = null;
    const l1 = l1Penalty([w1], 0.5);
    expect(l1.item()).toBeCloseTo(1.5, 6);
    l1.backward();
    expect(arr(w1.grad!)).toEqual([0.5, -0.5, 0]);
    const model = new nn.Linear(3, 2);
    expect(l2Penalty(model, 1).item()).toBeCloseTo(model.parameters().reduce((s, p) => s + arr(p).reduce((a, v) => a + v * v, 0), 0), 5);
    gradcheck((a, b) => l2Penalty([a!, b!], 0.3).add(l1Penalty([a!], 0.2)), [randT([4], 11), randT([2, 2], 12)], { skip: (i, j) => i === 0 && Math.abs(randT([4], 11).data[j]!) < 0.02 });
    expect(() => l2Penalty([w1], -1)).toThrow(/lambda must be a finite number ≥ 0, got -1/);
    const custom = (y: Tensor, t: Tensor): Tensor => y.sub(t).abs().pow(3).mean();
    const c = custom(T([1, 2], [2], true), T([0, 0], [2]));
    expect(c.item()).toBeCloseTo(4.5, 6);
    expect(Object.keys(LOSSES)).toEqual(['crossEntropy', 'nll', 'mse', 'l1', 'abs', 'smoothL1', 'huber']);
    expect(LOSSES.abs!(T([1, 2], [1, 2]), T([0, 0], [1, 2])).item()).toBe(1.5);
  }));
});
