import type { Tensor } from '../tensor/tensor';
import type { Labels } from './one_hot';
import { type Reduction, checkReduction, reduce } from './reduction';
import { regressionTarget } from './target';

/**
 * Mean squared error: (input − target)², reduced. The target has the input's shape, or is
 * class labels for input [N, C] (compared with their one-hot encoding), so MSE can stand in
 * for cross-entropy in a classification search.
 */
export function mseLoss(input: Tensor, target: Tensor | Labels, opts: { reduction?: Reduction } = {}): Tensor {
  const reduction = checkReduction('mseLoss', opts.reduction);
  return reduce(input.sub(regressionTarget('mseLoss', input, target)).square(), reduction);
}
