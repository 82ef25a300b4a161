import { backend } from '../backend';
import { ValueError } from '../tensor/errors';
import { Tensor, ensureGrad, result } from '../tensor/tensor';

/** Parameters: a list of tensors, or anything with parameters() (a Module). */
export type ParamSource = Iterable<Tensor> | { parameters(): Tensor[] };

function toList(op: string, params: ParamSource): Tensor[] {
  const list = typeof (params as { parameters?: unknown }).parameters === 'function'
    ? (params as { parameters(): Tensor[] }).parameters()
    : [...(params as Iterable<Tensor>)];
  list.forEach((p, i) => { if (!(p instanceof Tensor)) throw new ValueError(`${op}: item ${i} is not a Tensor`); });
  return list;
}

function checkLambda(op: string, lambda: number): void {
  if (typeof lambda !== 'number' || !(lambda >= 0) || !Number.isFinite(lambda)) throw new ValueError(`${op}: lambda must be a finite number ≥ 0, got ${lambda}`);
}

/**
 * L2 penalty λ·Σ_p Σ w² over the given parameters (a scalar tensor to add to the loss; one
 * graph node, gradient 2λ·w). Note: SGD/Adam `weightDecay: wd` adds wd·w to the gradient,
 * which is the gradient of this penalty with λ = wd/2.
 */
export function l2Penalty(params: ParamSource, lambda: number): Tensor {
  checkLambda('l2Penalty', lambda);
  const list = toList('l2Penalty', params);
  let s = 0;
  for (const p of list) for (let i = 0; i < p.size; i++) s += p.data[i]! * p.data[i]!;
  return result('l2Penalty', Float32Array.of(lambda * s), [], list, (g) => {
    for (const p of list) {
      if (!p.requiresGrad) continue;
      ensureGrad(p);
      backend().axpy(p.size, 2 * lambda * g[0]!, p.data, p.grad!.data);
    }
  });
}

/** L1 penalty λ·Σ_p Σ |w| (gradient λ·sign(w), 0 at w = 0); drives weights to exactly 0. */
export function l1Penalty(params: ParamSource, lambda: number): Tensor {
  checkLambda('l1Penalty', lambda);
  const list = toList('l1Penalty', params);
  let s = 0;
  for (const p of list) for (let i = 0; i < p.size; i++) s += Math.abs(p.data[i]!);
  return result('l1Penalty', Float32Array.of(lambda * s), [], list, (g) => {
    const k = lambda * g[0]!;
    for (const p of list) {
      if (!p.requiresGrad) continue;
      ensureGrad(p);
      const gd = p.grad!.data;
      const d = p.data;
      for (let i = 0; i < p.size; i++) gd[i] += d[i]! > 0 ? k : d[i]! < 0 ? -k : 0;
    }
  });
}
