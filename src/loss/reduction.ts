import { ValueError } from '../tensor/errors';
import type { Tensor } from '../tensor/tensor';

/** How a loss combines per-element values: their mean (default), their sum, or none. */
export type Reduction = 'mean' | 'sum' | 'none';

export function checkReduction(op: string, r: unknown): Reduction {
  if (r === undefined) return 'mean';
  if (r !== 'mean' && r !== 'sum' && r !== 'none') {
    throw new ValueError(`${op}: reduction must be 'mean', 'sum' or 'none', got ${JSON.stringify(r)}`);
  }
  return r;
}

/** Applies a reduction to per-element losses. */
export function reduce(t: Tensor, r: Reduction): Tensor {
  return r === 'mean' ? t.mean() : r === 'sum' ? t.sum() : t;
}
