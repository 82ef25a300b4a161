import { ShapeError, ValueError, fmtShape } from '../tensor/errors';
import { Tensor } from '../tensor/tensor';
import { type Labels, oneHot } from './one_hot';

/**
 * The target of a regression-style loss: a tensor of the input's shape, or, for input
 * [N, C], class labels turned into oneHot(labels, C). Shapes must match exactly: PyTorch
 * broadcasts (with a warning) but a broadcast target is almost always a bug.
 */
export function regressionTarget(op: string, input: Tensor, target: Tensor | Labels): Tensor {
  if (!(input instanceof Tensor)) throw new ValueError(`${op}: input must be a Tensor`);
  if (target instanceof Tensor) {
    if (target.ndim !== input.ndim || target.shape.some((d, i) => d !== input.shape[i])) {
      throw new ShapeError(`${op}: input ${fmtShape(input.shape)} and target ${fmtShape(target.shape)} have different shapes`);
    }
    return target;
  }
  if (input.ndim !== 2) {
    throw new ShapeError(`${op}: class labels as target need input [N, C], got ${fmtShape(input.shape)}`);
  }
  const t = oneHot(target, input.shape[1]!);
  if (t.shape[0] !== input.shape[0]) throw new ShapeError(`${op}: ${t.shape[0]} labels for input ${fmtShape(input.shape)}`);
  return t;
}
