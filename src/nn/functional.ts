/**
 * Stateless functions: the kernel-backed ops (linear, conv2d, pooling, dropout, batchNorm),
 * activations, losses and penalties. Modules call these; use them directly in custom models.
 */
import type { Tensor } from '../tensor/tensor';

export { linear, conv2d, maxPool2d, avgPool2d, dropout, batchNorm, softmaxCrossEntropy } from '../tensor/functional';
export type { BatchNormArgs, Conv2dOptions, Pool2dOptions } from '../tensor/functional';
export {
  crossEntropy, nllLoss, mseLoss, l1Loss, smoothL1Loss, huberLoss, oneHot, l1Penalty, l2Penalty, LOSSES,
} from '../loss';
export type { CrossEntropyOptions, Labels, LossFn, ParamSource, Reduction } from '../loss';

export const relu = (x: Tensor): Tensor => x.relu();
export const leakyRelu = (x: Tensor, negativeSlope = 0.01): Tensor => x.leakyRelu(negativeSlope);
export const sigmoid = (x: Tensor): Tensor => x.sigmoid();
export const tanh = (x: Tensor): Tensor => x.tanh();
/** Exact (erf) GELU. */
export const gelu = (x: Tensor): Tensor => x.gelu();
export const softmax = (x: Tensor, dim = -1): Tensor => x.softmax(dim);
export const logSoftmax = (x: Tensor, dim = -1): Tensor => x.logSoftmax(dim);
export const flatten = (x: Tensor, startDim = 1, endDim = -1): Tensor => x.flatten(startDim, endDim);
