import { backend } from '../backend';
import { Optimizer, type Closure, type ParamGroup, type Params, type StateSpec, COUNTING_STEPS, addCount, checkNonNegative, invalid } from './optimizer';

export interface AdamOptions {
  /** Learning rate γ (default 1e-3). */
  lr?: number;
  /** [β1, β2], decay rates of the first and second moment averages (default [0.9, 0.999]). */
  betas?: readonly [number, number];
  /** Added to the denominator for stability (default 1e-8). */
  eps?: number;
  /** Weight decay λ: Adam adds λ·θ to the gradient; AdamW decays θ directly (default 0 / 1e-2). */
  weightDecay?: number;
}

interface AdamHyper { lr: number; betas: readonly [number, number]; eps: number; weightDecay: number }

/**
 * Adam, exactly PyTorch's `torch.optim.Adam` (amsgrad = false). For each parameter θ with
 * gradient g, at step t = 1, 2, …, with m and v starting at 0:
 *
 *   g ← g + λ·θ                                    (coupled L2 weight decay)
 *   m ← β1·m + (1 − β1)·g
 *   v ← β2·v + (1 − β2)·g²
 *   θ ← θ − γ/(1 − β1ᵗ) · m / (√v/√(1 − β2ᵗ) + ε)
 *
 * State per parameter: step, expAvg (m), expAvgSq (v). One `adamStep` kernel call per
 * parameter. Not supported: amsgrad, maximize.
 */
export class Adam extends Optimizer<AdamHyper> {
  /** @internal AdamW sets this: decay θ directly instead of adding λ·θ to the gradient. */
  protected readonly decoupled: boolean = false;

  constructor(params: Params<AdamHyper>, opts: AdamOptions = {}) {
    super(params, {
      lr: opts.lr ?? 1e-3,
      betas: opts.betas ?? [0.9, 0.999],
      eps: opts.eps ?? 1e-8,
      weightDecay: opts.weightDecay ?? 0,
    });
  }

  protected override get stateType(): string { return 'Adam'; }

  protected override stateSpec(): StateSpec {
    return { step: { kind: 'counter', required: true }, expAvg: { kind: 'buffer', required: true }, expAvgSq: { kind: 'buffer', required: true } };
  }

  protected validateGroup(g: ParamGroup<AdamHyper>): void {
    checkNonNegative('learning rate', g.lr);
    checkNonNegative('epsilon value', g.eps);
    if (!Array.isArray(g.betas) || g.betas.length !== 2) invalid('betas', g.betas);
    g.betas.forEach((b, i) => {
      if (typeof b !== 'number' || !(b >= 0 && b < 1)) invalid(`beta parameter at index ${i}`, b);
    });
    checkNonNegative('weightDecay value', g.weightDecay);
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
        const s = this.stateOf(p);
        const step = ((s.step as number | undefined) ?? 0) + 1;
        s.step = step;
        const m = this.buffer(p, 'expAvg').t.data;
        const v = this.buffer(p, 'expAvgSq').t.data;
        bad = addCount(bad, be.adamStep(p.size, p.data, grad, m, v, g.lr, g.betas[0], g.betas[1], g.eps, g.weightDecay, step, this.decoupled));
      }
    }
    this.lastStepNonFinite = bad;
    return loss;
  }
}

/**
 * AdamW, exactly PyTorch's `torch.optim.AdamW`: Adam with decoupled weight decay
 * (Loshchilov & Hutter). Each step first decays the parameter, θ ← θ − γ·λ·θ, then applies
 * the Adam update with the raw gradient (no λ·θ term). Default weightDecay 1e-2.
 */
export class AdamW extends Adam {
  protected override readonly decoupled: boolean = true;

  /** Adam's state layout, but not interchangeable: the weight decay means something else. */
  protected override get stateType(): string { return 'AdamW'; }

  constructor(params: Params<AdamHyper>, opts: AdamOptions = {}) {
    super(params, { ...opts, weightDecay: opts.weightDecay ?? 1e-2 });
  }
}

COUNTING_STEPS.add(Adam.prototype.step);
