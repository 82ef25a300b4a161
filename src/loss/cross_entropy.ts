import { ShapeError, ValueError, fmtShape } from '../tensor/errors';
import { softmaxCrossEntropy } from '../tensor/functional';
import { Tensor } from '../tensor/tensor';
import { type Labels, labelsToInt } from './one_hot';
import { type Reduction, checkReduction, reduce } from './reduction';

export interface CrossEntropyOptions {
  /** ε in [0, 1]: the target becomes (1−ε)·target + ε/C (PyTorch's label_smoothing). */
  labelSmoothing?: number;
  reduction?: Reduction;
}

/** Moves dim 1 (classes) of [N, C, d1, …] last and flattens to [N·d1·…, C]. */
export function classesLast(x: Tensor): Tensor {
  if (x.ndim === 2) return x;
  const perm = [0, ...x.shape.slice(2).map((_, i) => i + 2), 1];
  return x.permute(perm).reshape([-1, x.shape[1]!]);
}

/**
 * Cross-entropy of logits against class indices: loss_i = −log softmax(x_i)[t_i] (with label
 * smoothing, −Σ_c q_c·log softmax(x_i)_c with q = (1−ε)·onehot + ε/C). Logits [N, C] or
 * [N, C, d1, …] (targets [N, d1, …]); runs as one fused softmax-CE kernel forward and backward.
 *
 * `target` may also be a float tensor of class probabilities with the logits' shape (soft
 * labels, e.g. oneHot(labels, C)); then loss_i = −Σ_c q_ic·log softmax(x_i)_c, composed from
 * logSoftmax (not fused). No class weights and no ignore index (PyTorch has both).
 */
export function crossEntropy(input: Tensor, target: Labels, opts: CrossEntropyOptions = {}): Tensor {
  const reduction = checkReduction('crossEntropy', opts.reduction);
  const ls = opts.labelSmoothing ?? 0;
  if (typeof ls !== 'number' || !(ls >= 0 && ls <= 1)) throw new ValueError(`crossEntropy: labelSmoothing must be in [0, 1], got ${ls}`);
  if (!(input instanceof Tensor) || input.ndim < 2) {
    throw new ShapeError(`crossEntropy: input must be logits [N, C] or [N, C, d1, …], got ${input instanceof Tensor ? fmtShape(input.shape) : typeof input}`);
  }
  const c = input.shape[1]!;
  if (target instanceof Tensor && target.ndim === input.ndim) {
    if (target.shape.some((d, i) => d !== input.shape[i])) {
      throw new ShapeError(`crossEntropy: probability target ${fmtShape(target.shape)} must match the input ${fmtShape(input.shape)}`);
    }
    const q = ls > 0 ? target.mul(1 - ls).add(ls / c) : target;
    return reduce(input.logSoftmax(1).mul(q).sum(1).neg(), reduction);
  }
  const rest = [input.shape[0]!, ...input.shape.slice(2)];
  if (target instanceof Tensor && (target.ndim !== rest.length || target.shape.some((d, i) => d !== rest[i]))) {
    throw new ShapeError(`crossEntropy: class-index target ${fmtShape(target.shape)} must have shape ${fmtShape(rest)} for input ${fmtShape(input.shape)}`);
  }
  const t = labelsToInt('crossEntropy', target, c);
  const out = softmaxCrossEntropy(classesLast(input), t, { labelSmoothing: ls, reduction });
  return reduction === 'none' && input.ndim > 2 ? out.reshape(rest) : out;
}
