import { ValueError } from '../tensor/errors';
import { Tensor, accumulate, result } from '../tensor/tensor';
import type { Labels } from './one_hot';
import { type Reduction, checkReduction, reduce } from './reduction';
import { regressionTarget } from './target';

/** Elementwise f(input − target) with f' supplied: one pass forward, one pass backward. */
function elementwise(op: string, input: Tensor, target: Tensor, f: (d: number) => number, df: (d: number) => number): Tensor {
  const n = input.size;
  const x = input.data;
  const y = target.data;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = f(x[i]! - y[i]!);
  return result(op, out, input.shape, [input, target], (g) => {
    const dx = new Float32Array(n);
    for (let i = 0; i < n; i++) dx[i] = g[i]! * df(x[i]! - y[i]!);
    if (target.requiresGrad) {
      const dy = new Float32Array(n);
      for (let i = 0; i < n; i++) dy[i] = -dx[i]!;
      accumulate(target, dy, true);
    }
    accumulate(input, dx, true);
  });
}

const sign = (d: number) => (d > 0 ? 1 : d < 0 ? -1 : 0);

/**
 * Smooth L1 (PyTorch's formula), d = input − target:
 * 0.5·d²/beta where |d| < beta, |d| − 0.5·beta elsewhere. beta = 0 is the L1 loss. Default 1.
 */
export function smoothL1Loss(input: Tensor, target: Tensor | Labels, opts: { beta?: number; reduction?: Reduction } = {}): Tensor {
  const reduction = checkReduction('smoothL1Loss', opts.reduction);
  const beta = opts.beta ?? 1;
  if (typeof beta !== 'number' || !(beta >= 0) || !Number.isFinite(beta)) throw new ValueError(`smoothL1Loss: beta must be a finite number ≥ 0, got ${beta}`);
  const t = regressionTarget('smoothL1Loss', input, target);
  const per = beta === 0
    ? elementwise('smoothL1Loss', input, t, Math.abs, sign)
    : elementwise('smoothL1Loss', input, t,
      (d) => (Math.abs(d) < beta ? (0.5 * d * d) / beta : Math.abs(d) - 0.5 * beta),
      (d) => (Math.abs(d) < beta ? d / beta : sign(d)));
  return reduce(per, reduction);
}

/**
 * Huber loss (PyTorch's HuberLoss), d = input − target: 0.5·d² where |d| < delta,
 * delta·(|d| − 0.5·delta) elsewhere; equals delta·smoothL1Loss(beta = delta). Default delta 1.
 */
export function huberLoss(input: Tensor, target: Tensor | Labels, opts: { delta?: number; reduction?: Reduction } = {}): Tensor {
  const reduction = checkReduction('huberLoss', opts.reduction);
  const delta = opts.delta ?? 1;
  if (typeof delta !== 'number' || !(delta > 0) || !Number.isFinite(delta)) throw new ValueError(`huberLoss: delta must be a finite number > 0, got ${delta}`);
  const t = regressionTarget('huberLoss', input, target);
  return reduce(elementwise('huberLoss', input, t,
    (d) => (Math.abs(d) < delta ? 0.5 * d * d : delta * (Math.abs(d) - 0.5 * delta)),
    (d) => (Math.abs(d) < delta ? d : delta * sign(d))), reduction);
}
