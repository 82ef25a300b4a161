import { backend } from '../backend';
import { ValueError } from '../tensor/errors';
import { Tensor } from '../tensor/tensor';

function gradsOf(params: Iterable<Tensor> | Tensor): Float32Array[] {
  const list = params instanceof Tensor ? [params] : [...params];
  return list.filter((p) => p.grad !== null).map((p) => p.grad!.data);
}

/**
 * Rescales the gradients of `params` in place so that their combined norm (all gradients as
 * one vector; normType 2 by default, Infinity for the max norm) is at most maxNorm:
 * g ← g·maxNorm/(total + 1e-6) when total > maxNorm. Returns the total norm before clipping
 * (a number; PyTorch returns a tensor). Parameters without a gradient are ignored.
 */
export function clipGradNorm(params: Iterable<Tensor> | Tensor, maxNorm: number,
  normType = 2, opts: { errorIfNonfinite?: boolean } = {}): number {
  if (typeof maxNorm !== 'number' || !(maxNorm >= 0)) throw new ValueError(`clipGradNorm: maxNorm must be a number ≥ 0, got ${maxNorm}`);
  if (typeof normType !== 'number' || !(normType > 0)) throw new ValueError(`clipGradNorm: normType must be > 0 or Infinity, got ${normType}`);
  const grads = gradsOf(params);
  let total = 0;
  if (normType === Infinity) {
    for (const g of grads) for (let i = 0; i < g.length; i++) total = Math.max(total, Math.abs(g[i]!));
    if (grads.some((g) => g.some((v) => Number.isNaN(v)))) total = NaN;
  } else {
    let s = 0;
    for (const g of grads) for (let i = 0; i < g.length; i++) s += Math.abs(g[i]!) ** normType;
    total = s ** (1 / normType);
  }
  if (opts.errorIfNonfinite && !Number.isFinite(total)) {
    throw new ValueError(`The total norm of order ${normType} for gradients from \`parameters\` is non-finite, so it cannot be clipped. To disable this error and scale the gradients by the non-finite norm anyway, set errorIfNonfinite: false`);
  }
  const coef = maxNorm / (total + 1e-6);
  if (coef < 1) for (const g of grads) backend().unary('scale', g.length, g, g, coef);
  return total;
}

/** Clamps every gradient element of `params` to [−clipValue, clipValue], in place. */
export function clipGradValue(params: Iterable<Tensor> | Tensor, clipValue: number): void {
  if (typeof clipValue !== 'number' || !(clipValue >= 0)) throw new ValueError(`clipGradValue: clipValue must be a number ≥ 0, got ${clipValue}`);
  for (const g of gradsOf(params)) {
    for (let i = 0; i < g.length; i++) g[i] = Math.min(clipValue, Math.max(-clipValue, g[i]!));
  }
}
