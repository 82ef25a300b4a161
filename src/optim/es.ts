import { backend } from '../backend';
import { noGrad } from '../tensor/autograd';
import { ValueError, quote, quoteList } from '../tensor/errors';
import { Generator, defaultGenerator } from '../tensor/random';
import type { Tensor } from '../tensor/tensor';
import { Optimizer, type Closure, type HyperValue, type ParamGroup, type Params, type StateSpec, checkNonNegative, invalid } from './optimizer';

export interface OnePlusOneESOptions {
  /** Initial step size σ (default 0.01); adapted by the search itself. */
  lr?: number;
  /**
   * 'gaussian' (default): a (1+1)-evolution strategy, θ' = θ + σ·z with z ~ N(0, I), and
   * Rechenberg's 1/5th success rule for σ. 'primitive': the course's method, a fixed random
   * direction d: try θ + σ·d, keep it if the loss falls, otherwise halve σ and reverse d.
   */
  mode?: 'gaussian' | 'primitive';
  /** σ is multiplied by this after a success and by its −1/4 power after a failure (default 1.5). */
  successFactor?: number;
  /** Smallest σ (default 1e-8). In primitive mode, falling below it restarts with a new direction. */
  minStep?: number;
  /**
   * Evaluate the current point again every step (default true), so both losses come from the
   * same closure call conditions (the same mini-batch). false reuses the last accepted loss:
   * one evaluation per step, right only when the loss is deterministic.
   */
  reevaluate?: boolean;
  /** Source of the random perturbations (default: the seeded default generator). */
  generator?: Generator;
}

interface ESHyper { lr: number; successFactor: number; minStep: number }

/**
 * A gradient-free optimizer with the same interface as SGD: `step(closure)` evaluates the loss
 * (the closure runs under noGrad and should not call backward), tries a perturbed point and
 * keeps it only if the loss falls; it returns the loss of the kept point.
 *
 * The (1+1)-ES rule: with success factor a, σ ← a·σ on success and σ ← a^(−1/4)·σ on
 * failure, so σ is stable when one step in five succeeds (the 1/5th rule). The step size σ
 * lives in each group's `lr` (schedulers would override the adaptation; do not combine).
 * Gradients are ignored. The state dict holds everything a resumed search needs to continue
 * identically: σ and the initial step per group, primitive mode's directions, the step and
 * success counts and the last accepted loss (the random generator is not part of it).
 *
 * ```ts
 * const es = new optim.OnePlusOneES(model.parameters(), { lr: 0.05 });
 * for (const [x, y] of batches) es.step(() => nn.functional.crossEntropy(model.call(x), y));
 * ```
 */
export class OnePlusOneES extends Optimizer<ESHyper> {
  readonly mode: 'gaussian' | 'primitive';
  readonly reevaluate: boolean;
  private readonly _gen: Generator;
  private _scratch = new Map<Tensor, { backup: Float32Array; noise: Float32Array }>();
  private _current: number | undefined;
  /** Number of steps taken and how many of them were accepted. */
  steps = 0;
  successes = 0;

  constructor(params: Params<ESHyper>, opts: OnePlusOneESOptions = {}) {
    super(params, { lr: opts.lr ?? 0.01, successFactor: opts.successFactor ?? 1.5, minStep: opts.minStep ?? 1e-8 });
    const mode = opts.mode ?? 'gaussian';
    if (mode !== 'gaussian' && mode !== 'primitive') throw new ValueError(`Invalid mode: ${String(mode)} (expected 'gaussian' or 'primitive')`);
    this.mode = mode;
    this.reevaluate = opts.reevaluate ?? true;
    this._gen = opts.generator ?? defaultGenerator();
  }

  override addParamGroup(input: Parameters<Optimizer<ESHyper>['addParamGroup']>[0]): void {
    super.addParamGroup(input);
    const g = this.paramGroups[this.paramGroups.length - 1]!;
    g.initialStep ??= g.lr;
  }

  protected override get stateType(): string { return 'OnePlusOneES'; }

  protected override stateSpec(): StateSpec { return { direction: { kind: 'buffer' } }; }

  /** The counters, the last accepted loss (reused when reevaluate is false) and the mode. */
  protected override extraState(): Record<string, HyperValue> {
    return { mode: this.mode, steps: this.steps, successes: this.successes, current: this._current ?? null };
  }

  /** A state without `extra` (written before lernen saved it) leaves the counters as they are. */
  protected override restoreExtraState(extra: Record<string, unknown> | undefined): () => void {
    if (extra === undefined) return () => {};
    const { mode, steps, successes, current, ...rest } = extra;
    if (Object.keys(rest).length) throw new ValueError(`unexpected optimizer-wide state ${quoteList(Object.keys(rest))}`);
    if (mode !== this.mode) throw new ValueError(`the state was saved in ${quote(mode)} mode, this optimizer runs in ${quote(this.mode)} mode`);
    const count = (name: string, v: unknown): number => {
      if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new ValueError(`${name} must be an integer ≥ 0, got ${quote(v)}`);
      return v;
    };
    const n = count('steps', steps);
    const k = count('successes', successes);
    if (k > n) throw new ValueError(`successes (${k}) exceeds steps (${n})`);
    if (current !== null && (typeof current !== 'number' || !Number.isFinite(current))) {
      throw new ValueError(`current (the last accepted loss) must be a finite number or null, got ${quote(current)}`);
    }
    return () => {
      this.steps = n;
      this.successes = k;
      this._current = current ?? undefined;
    };
  }

  protected validateGroup(g: ParamGroup<ESHyper>): void {
    checkNonNegative('learning rate', g.lr);
    if (typeof g.successFactor !== 'number' || !(g.successFactor > 1) || !Number.isFinite(g.successFactor)) invalid('successFactor value (must be > 1)', g.successFactor);
    checkNonNegative('minStep value', g.minStep);
  }

  /** Fraction of steps that were accepted so far. */
  get successRate(): number { return this.steps ? this.successes / this.steps : 0; }

  step(closure?: Closure): number {
    if (typeof closure !== 'function') throw new ValueError('OnePlusOneES.step needs a closure that returns the loss');
    const evaluate = (): number => {
      const l = noGrad(closure);
      return typeof l === 'number' ? l : l.item();
    };
    const f0 = this.reevaluate || this._current === undefined ? evaluate() : this._current;
    const be = backend();
    for (const g of this.paramGroups) {
      for (const p of g.params) {
        let s = this._scratch.get(p);
        if (!s || s.backup.length !== p.size) this._scratch.set(p, (s = { backup: new Float32Array(p.size), noise: new Float32Array(p.size) }));
        s.backup.set(p.data);
        let dir: Float32Array;
        if (this.mode === 'gaussian') {
          dir = this._gen.normal(s.noise);
        } else {
          const b = this.buffer(p, 'direction');
          if (b.fresh) this._gen.normal(b.t.data);
          dir = b.t.data;
        }
        be.axpy(p.size, g.lr, dir, p.data);
      }
    }
    const f1 = evaluate();
    const success = f1 < f0;
    if (!success) for (const [p, s] of this._scratch) p.data.set(s.backup);
    for (const g of this.paramGroups) {
      if (this.mode === 'gaussian') {
        g.lr = Math.max(g.minStep, g.lr * (success ? g.successFactor : g.successFactor ** -0.25));
      } else if (!success) {
        g.lr /= 2;
        const restart = g.lr < g.minStep;
        if (restart) g.lr = g.initialStep as number;
        for (const p of g.params) {
          const d = (this.state.get(p)!.direction as Tensor).data;
          if (restart) this._gen.normal(d);
          else be.unary('neg', d.length, d, d);
        }
      }
    }
    this.steps++;
    if (success) this.successes++;
    this._current = success ? f1 : f0;
    return this._current;
  }
}
