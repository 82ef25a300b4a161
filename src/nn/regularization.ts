import { ValueError } from '../tensor/errors';
import type { Tensor } from '../tensor/tensor';
import { Module } from './module';

export interface ActivityRegularizationOptions {
  /** Weight of Σ|x| (default 0). */
  l1?: number;
  /** Weight of Σx² (default 0). */
  l2?: number;
}

/**
 * Regularisation as a layer: passes its input through unchanged and, in training mode,
 * records penalty = (l1·Σ|x| + l2·Σx²) / batchSize, the per-sample sum averaged over the
 * batch (dim 0), as Keras does for activity regularizers. Dividing by the batch size keeps the
 * penalty's scale independent of the batch size, like a mean-reduced loss. The model's
 * `regularizationLoss()` sums the penalties recorded in the last forward; add it to the loss:
 *
 * ```ts
 * const loss = nn.functional.crossEntropy(model.call(x), y).add(model.regularizationLoss());
 * ```
 * In eval mode nothing is recorded (the penalty is cleared).
 */
export class ActivityRegularization extends Module {
  readonly l1: number;
  readonly l2: number;
  private _penalty: Tensor | null = null;

  constructor(opts: ActivityRegularizationOptions = {}) {
    super();
    this.l1 = opts.l1 ?? 0;
    this.l2 = opts.l2 ?? 0;
    for (const [k, v] of [['l1', this.l1], ['l2', this.l2]] as const) {
      if (typeof v !== 'number' || !(v >= 0) || !Number.isFinite(v)) throw new ValueError(`ActivityRegularization: ${k} must be a finite number ≥ 0, got ${v}`);
    }
  }

  forward(x: Tensor): Tensor {
    this._penalty = null;
    if (!this.training || (this.l1 === 0 && this.l2 === 0)) return x;
    const batch = x.ndim > 0 ? Math.max(1, x.shape[0]!) : 1;
    let p: Tensor | null = null;
    if (this.l1 !== 0) p = x.abs().sum().mul(this.l1 / batch);
    if (this.l2 !== 0) {
      const q = x.square().sum().mul(this.l2 / batch);
      p = p ? p.add(q) : q;
    }
    this._penalty = p;
    return x;
  }

  override penalty(): Tensor | null { return this.training ? this._penalty : null; }

  override extraRepr(): string { return `l1=${this.l1}, l2=${this.l2}`; }
}
