import { backend } from '../backend';
import { ValueError } from '../tensor/errors';
import { Optimizer, type Closure, type ParamGroup, type Params, type StateSpec, COUNTING_STEPS, addCount, checkNonNegative } from './optimizer';

export interface RMSpropOptions {
  /** Learning rate γ (default 1e-2). */
  lr?: number;
  /** Smoothing constant α of the squared-gradient average (default 0.99). */
  alpha?: number;
  /** Added to the denominator (default 1e-8). */
  eps?: number;
  /** Momentum μ (default 0). */
  momentum?: number;
  /** Normalise by the estimated variance instead of the second moment (default false). */
  centered?: boolean;
  /** Coupled L2 weight decay λ (default 0). */
  weightDecay?: number;
}

type RMSpropHyper = Required<RMSpropOptions>;

/**
 * RMSprop, exactly PyTorch's `torch.optim.RMSprop`. For each parameter θ with gradient g,
 * with s (squareAvg), ḡ (gradAvg) and b (momentumBuffer) starting at 0:
 *
 *   g ← g + λ·θ
 *   s ← α·s + (1 − α)·g²
 *   centered: ḡ ← α·ḡ + (1 − α)·g,  d = √(s − ḡ²) + ε;   else d = √s + ε
 *   μ > 0:  b ← μ·b + g/d,  θ ← θ − γ·b;   else θ ← θ − γ·g/d
 *
 * One `rmspropStep` kernel call per parameter. Not supported: maximize.
 */
export class RMSprop extends Optimizer<RMSpropHyper> {
  constructor(params: Params<RMSpropHyper>, opts: RMSpropOptions = {}) {
    super(params, {
      lr: opts.lr ?? 1e-2,
      alpha: opts.alpha ?? 0.99,
      eps: opts.eps ?? 1e-8,
      momentum: opts.momentum ?? 0,
      centered: opts.centered ?? false,
      weightDecay: opts.weightDecay ?? 0,
    });
  }

  protected override get stateType(): string { return 'RMSprop'; }

  /** gradAvg only when centered, momentumBuffer only with momentum (both created on first use). */
  protected override stateSpec(): StateSpec {
    return {
      step: { kind: 'counter', required: true },
      squareAvg: { kind: 'buffer', required: true },
      gradAvg: { kind: 'buffer' },
      momentumBuffer: { kind: 'buffer' },
    };
  }

  protected validateGroup(g: ParamGroup<RMSpropHyper>): void {
    checkNonNegative('learning rate', g.lr);
    checkNonNegative('epsilon value', g.eps);
    checkNonNegative('momentum value', g.momentum);
    checkNonNegative('weightDecay value', g.weightDecay);
    checkNonNegative('alpha value', g.alpha);
    if (typeof g.centered !== 'boolean') throw new ValueError(`Invalid centered value: ${String(g.centered)}`);
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
        s.step = ((s.step as number | undefined) ?? 0) + 1;
        const sq = this.buffer(p, 'squareAvg').t.data;
        const gAvg = g.centered ? this.buffer(p, 'gradAvg').t.data : null;
        const buf = g.momentum > 0 ? this.buffer(p, 'momentumBuffer').t.data : null;
        bad = addCount(bad, be.rmspropStep(p.size, p.data, grad, sq, gAvg, buf, g.lr, g.alpha, g.eps, g.weightDecay, g.momentum, g.centered));
      }
    }
    this.lastStepNonFinite = bad;
    return loss;
  }
}

COUNTING_STEPS.add(RMSprop.prototype.step);
