import type { Tensor } from '../tensor/tensor';
import type { Labels } from './one_hot';
import { type Reduction, checkReduction, reduce } from './reduction';
import { regressionTarget } from './target';

/**
 * Mean absolute error (L1, "ABS"): |input − target|, reduced; the gradient at 0 is 0. Targets
 * as for mseLoss (same shape, or class labels against input [N, C]).
 */
export function l1Loss(input: Tensor, target: Tensor | Labels, opts: { reduction?: Reduction } = {}): Tensor {
  const reduction = checkReduction('l1Loss', opts.reduction);
  return reduce(input.sub(regressionTarget('l1Loss', input, target)).abs(), reduction);
}
