import { backend } from '../backend';
import { ValueError } from '../tensor/errors';
import { Optimizer, type Closure, type ParamGroup, type Params, type StateSpec, COUNTING_STEPS, addCount, checkNonNegative } from './optimizer';

export interface SGDOptions {
  /** Learning rate γ (default 1e-3, as PyTorch ≥ 2.2; older PyTorch required it). */
  lr?: number;
  /** Momentum factor μ (default 0). */
  momentum?: number;
  /** Dampening τ for momentum (default 0). */
  dampening?: number;
  /** Nesterov momentum (default false; needs momentum > 0 and dampening 0). */
  nesterov?: boolean;
  /** L2 weight decay λ added to the gradient (default 0). */
  weightDecay?: number;
}

type SGDHyper = Required<SGDOptions>;

/**
 * Stochastic gradient descent with momentum, exactly PyTorch's `torch.optim.SGD`. For each
 * parameter θ with gradient g at step t:
 *
 *   g ← g + λ·θ                                  (weight decay, coupled L2)
 *   if μ ≠ 0:  b ← g at the first step, else b ← μ·b + (1 − τ)·g
 *              g ← g + μ·b if nesterov, else g ← b
 *   θ ← θ − γ·g
 *
 * As PyTorch (and unlike Sutskever et al.), the learning rate multiplies the whole momentum
 * update, and the first momentum buffer is the gradient itself (no dampening). The learning
 * rate defaults to 1e-3, as in PyTorch ≥ 2.2 (earlier versions required it). Each step is one
 * `sgdStep` kernel call per parameter. Not supported: `maximize`.
 *
 * ```ts
 * const opt = new optim.SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
 * opt.zeroGrad(); loss.backward(); opt.step();
 * ```
 */
export class SGD extends Optimizer<SGDHyper> {
  constructor(params: Params<SGDHyper>, opts: SGDOptions = {}) {
    const o: SGDOptions = opts ?? {};
    super(params, {
      lr: o.lr ?? 1e-3,
      momentum: o.momentum ?? 0,
      dampening: o.dampening ?? 0,
      nesterov: o.nesterov ?? false,
      weightDecay: o.weightDecay ?? 0,
    });
  }

  protected override get stateType(): string { return 'SGD'; }

  protected override stateSpec(): StateSpec { return { momentumBuffer: { kind: 'buffer' } }; }

  protected validateGroup(g: ParamGroup<SGDHyper>): void {
    checkNonNegative('learning rate', g.lr);
    checkNonNegative('momentum value', g.momentum);
    checkNonNegative('weightDecay value', g.weightDecay);
    if (typeof g.dampening !== 'number' || !Number.isFinite(g.dampening)) throw new ValueError(`Invalid dampening value: ${g.dampening}`);
    if (typeof g.nesterov !== 'boolean') throw new ValueError(`Invalid nesterov value: ${String(g.nesterov)}`);
    if (g.nesterov && (g.momentum <= 0 || g.dampening !== 0)) {
      throw new ValueError('Nesterov momentum requires a momentum and zero dampening');
    }
  }

  step(closure?: Closure): number | undefined {
    const loss = closure ? this.evalClosure(closure) : undefined;
    const be = backend();
    this.lastStepNonFinite = null;
    let bad: number | null = 0;
    for (const g of this.paramGroups) {
      for (const p of g.params) {
        const grad = this.gradOf(p);
        if (!grad) continue;
        let buf: Float32Array | null = null;
        let first = false;
        if (g.momentum !== 0) {
          const b = this.buffer(p, 'momentumBuffer');
          buf = b.t.data;
          first = b.fresh;
        }
        bad = addCount(bad, be.sgdStep(p.size, p.data, grad, buf, g.lr, g.momentum, g.dampening, g.nesterov, g.weightDecay, first));
      }
    }
    this.lastStepNonFinite = bad;
    return loss;
  }
}

COUNTING_STEPS.add(SGD.prototype.step);
