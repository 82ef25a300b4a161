import { ShapeError, fmtShape } from '../tensor/errors';
import { Tensor, accumulate, result } from '../tensor/tensor';
import { classesLast } from './cross_entropy';
import { type Labels, labelsToInt } from './one_hot';
import { type Reduction, checkReduction, reduce } from './reduction';

/**
 * Negative log-likelihood of log-probabilities (e.g. logSoftmax output) [N, C] or
 * [N, C, d1, …] against class indices: loss_i = −input[i, t_i]. crossEntropy(x, t) equals
 * nllLoss(x.logSoftmax(1), t). No class weights and no ignore index.
 */
export function nllLoss(input: Tensor, target: Labels, opts: { reduction?: Reduction } = {}): Tensor {
  const reduction = checkReduction('nllLoss', opts.reduction);
  if (!(input instanceof Tensor) || input.ndim < 2) {
    throw new ShapeError(`nllLoss: input must be log-probabilities [N, C] or [N, C, d1, …], got ${input instanceof Tensor ? fmtShape(input.shape) : typeof input}`);
  }
  const c = input.shape[1]!;
  const rest = [input.shape[0]!, ...input.shape.slice(2)];
  const x = classesLast(input);
  const n = x.shape[0]!;
  const t = labelsToInt('nllLoss', target, c);
  if (t.length !== n) throw new ShapeError(`nllLoss: ${t.length} targets for input ${fmtShape(input.shape)} (expected ${n})`);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = -x.data[i * c + t[i]!]!;
  const per = result('nllLoss', out, [n], [x], (g) => {
    const dx = new Float32Array(n * c);
    for (let i = 0; i < n; i++) dx[i * c + t[i]!] = -g[i]!;
    accumulate(x, dx, true);
  });
  return reduce(reduction === 'none' && input.ndim > 2 ? per.reshape(rest) : per, reduction);
}
