/**
 * Losses (each returns a tensor; 'mean' and 'sum' give a scalar) and penalties. A custom loss
 * is any function of tensors that returns a scalar tensor, e.g.
 * `(y, t) => y.sub(t).abs().pow(3).mean()`.
 */
import type { Tensor } from '../tensor/tensor';
import { crossEntropy } from './cross_entropy';
import { l1Loss } from './l1';
import { mseLoss } from './mse';
import { nllLoss } from './nll';
import type { Labels } from './one_hot';
import { huberLoss, smoothL1Loss } from './smooth_l1';

export { crossEntropy } from './cross_entropy';
export type { CrossEntropyOptions } from './cross_entropy';
export { nllLoss } from './nll';
export { mseLoss } from './mse';
export { l1Loss } from './l1';
export { smoothL1Loss, huberLoss } from './smooth_l1';
export { oneHot } from './one_hot';
export type { Labels } from './one_hot';
export { l1Penalty, l2Penalty } from './penalty';
export type { ParamSource } from './penalty';
export type { Reduction } from './reduction';

/** A loss: (model output, target) → scalar tensor. */
export type LossFn = (input: Tensor, target: Tensor | Labels) => Tensor;

/**
 * The built-in losses by name (default options), for searches that choose the loss:
 * 'crossEntropy', 'nll', 'mse', 'l1' (alias 'abs'), 'smoothL1', 'huber'.
 */
export const LOSSES: Readonly<Record<string, LossFn>> = Object.freeze({
  crossEntropy: (x: Tensor, t: Tensor | Labels) => crossEntropy(x, t),
  nll: (x: Tensor, t: Tensor | Labels) => nllLoss(x, t),
  mse: (x: Tensor, t: Tensor | Labels) => mseLoss(x, t),
  l1: (x: Tensor, t: Tensor | Labels) => l1Loss(x, t),
  abs: (x: Tensor, t: Tensor | Labels) => l1Loss(x, t),
  smoothL1: (x: Tensor, t: Tensor | Labels) => smoothL1Loss(x, t),
  huber: (x: Tensor, t: Tensor | Labels) => huberLoss(x, t),
});
