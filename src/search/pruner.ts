/**
 * Pruners decide, after each reported intermediate value, whether a trial should stop early.
 * They are stateless: every decision is computed from the intermediate values in storage, so they
 * work the same with one worker or many, on one machine or several.
 *
 * - `median` (Optuna's MedianPruner): after `nStartupTrials` complete trials and
 *   `nWarmupSteps` steps, prune when the trial's best value so far is worse than the median of
 *   the complete trials' values at the same step.
 * - `asha` (Optuna's SuccessiveHalvingPruner, asynchronous successive halving, Li et al. 2018):
 *   rung k lies at resource r·η^(s+k) (r = minResource, η = reductionFactor,
 *   s = minEarlyStoppingRate). When a trial reaches a rung, its value there competes with the
 *   values every other trial had on reaching that rung; it goes on only if it is in the top 1/η
 *   (with fewer than η competitors, only the best goes on). The resource is epochs (the step
 *   numbers) or, with `resource: 'seconds'`, the trial's run time in seconds.
 * - `hyperband` (Optuna's HyperbandPruner): several ASHA brackets with s = 0, 1, …; each trial
 *   is assigned to one bracket (deterministically by its number, weighted by bracket budget) and
 *   competes only with trials of its bracket.
 */
import { SearchError } from './errors';
import { hashString } from './rng';
import { better, bestIntermediate, type Direction, type Intermediate, type TrialRecord } from './types';

export interface PruneContext {
  /** The trial being decided and all its reports so far (the newest last). */
  trial: { number: number; intermediate: readonly Intermediate[] };
  /** The other trials of the study. */
  others: readonly TrialRecord[];
  direction: Direction;
}

export interface Pruner {
  readonly kind: PrunerSpec['type'];
  shouldPrune(ctx: PruneContext): boolean;
  toJSON(): PrunerSpec;
}

export type PrunerSpec =
  | { type: 'none' }
  | { type: 'median'; nStartupTrials: number; nWarmupSteps: number; intervalSteps: number }
  | { type: 'asha'; minResource: number; reductionFactor: number; minEarlyStoppingRate: number; resource: 'epochs' | 'seconds' }
  | { type: 'hyperband'; minResource: number; maxResource: number; reductionFactor: number; resource: 'epochs' | 'seconds' };

export class NopPruner implements Pruner {
  readonly kind = 'none' as const;
  shouldPrune(): boolean { return false; }
  toJSON(): PrunerSpec { return { type: 'none' }; }
}

/** The p-th percentile (0..100) with linear interpolation, as numpy.percentile. */
export function percentile(values: readonly number[], p: number): number {
  const v = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (!v.length) return NaN;
  const pos = (p / 100) * (v.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return v[lo]! + (v[hi]! - v[lo]!) * (pos - lo);
}

function posInt(where: string, name: string, v: number, min = 0): number {
  if (!Number.isInteger(v) || v < min) throw new SearchError(`${where}: ${name} must be an integer ≥ ${min}, got ${v}`);
  return v;
}

export interface MedianOptions {
  /** Complete trials needed before anything is pruned (default 5). */
  nStartupTrials?: number;
  /** Steps before a trial can be pruned (default 0). */
  nWarmupSteps?: number;
  /** Decide every this many steps after the warm-up (default 1). */
  intervalSteps?: number;
}

export class MedianPruner implements Pruner {
  readonly kind = 'median' as const;
  readonly nStartupTrials: number;
  readonly nWarmupSteps: number;
  readonly intervalSteps: number;

  constructor(o: MedianOptions = {}) {
    this.nStartupTrials = posInt('median pruner', 'nStartupTrials', o.nStartupTrials ?? 5);
    this.nWarmupSteps = posInt('median pruner', 'nWarmupSteps', o.nWarmupSteps ?? 0);
    this.intervalSteps = posInt('median pruner', 'intervalSteps', o.intervalSteps ?? 1, 1);
  }

  shouldPrune(ctx: PruneContext): boolean {
    const iv = ctx.trial.intermediate;
    const last = iv[iv.length - 1];
    if (!last) return false;
    const complete = ctx.others.filter((t) => t.state === 'complete');
    if (complete.length < this.nStartupTrials) return false;
    if (last.step < this.nWarmupSteps) return false;
    if ((last.step - this.nWarmupSteps) % this.intervalSteps !== 0) return false;
    const best = bestIntermediate(iv, ctx.direction);
    if (!Number.isFinite(best)) return true;
    const atStep = complete.flatMap((t) => t.intermediate.filter((v) => v.step === last.step).map((v) => v.value));
    if (!atStep.length) return false;
    const median = percentile(atStep, 50);
    return better(ctx.direction, median, best);
  }

  toJSON(): PrunerSpec {
    return { type: 'median', nStartupTrials: this.nStartupTrials, nWarmupSteps: this.nWarmupSteps, intervalSteps: this.intervalSteps };
  }
}

export interface AshaOptions {
  /** Resource of the first rung (default 1 epoch, or 1 s with resource 'seconds'). */
  minResource?: number;
  /** η (default 3). */
  reductionFactor?: number;
  /** s: the first rung is at minResource·η^s (default 0). */
  minEarlyStoppingRate?: number;
  /** What rungs count: epochs (step numbers, default) or run seconds. */
  resource?: 'epochs' | 'seconds';
}

function resourceOf(v: Intermediate, resource: 'epochs' | 'seconds'): number {
  return resource === 'seconds' ? v.seconds : v.step;
}

/** The value a trial had when it first reached `threshold`, or undefined if it never did. */
function valueAtRung(iv: readonly Intermediate[], threshold: number, resource: 'epochs' | 'seconds'): number | undefined {
  for (const v of iv) if (resourceOf(v, resource) >= threshold) return v.value;
  return undefined;
}

/** Optuna's `_is_trial_promotable_to_next_rung`: top ⌊n/η⌋ of the competitors (at least the best one). */
function promotable(value: number, competing: number[], eta: number, direction: Direction): boolean {
  if (!Number.isFinite(value)) return false;
  const vals = competing.filter(Number.isFinite).sort((a, b) => a - b);
  let k = Math.floor(vals.length / eta) - 1;
  if (k < 0) k = 0;
  return direction === 'maximize' ? value >= vals[vals.length - 1 - k]! : value <= vals[k]!;
}

function ashaDecide(ctx: PruneContext, others: readonly TrialRecord[], minResource: number, eta: number, s: number, resource: 'epochs' | 'seconds'): boolean {
  const iv = ctx.trial.intermediate;
  const last = iv[iv.length - 1];
  if (!last) return false;
  const now = resourceOf(last, resource);
  const prev = iv.length > 1 ? resourceOf(iv[iv.length - 2]!, resource) : -Infinity;
  // Only the rungs crossed by this report are decided (a trial is promoted once per rung).
  for (let k = 0; ; k++) {
    const threshold = minResource * eta ** (s + k);
    if (threshold > now) break;
    if (threshold <= prev) continue;
    const mine = last.value;
    const competing = [mine];
    for (const t of others) {
      if (t.state === 'waiting') continue;
      const v = valueAtRung(t.intermediate, threshold, resource);
      if (v !== undefined) competing.push(v);
    }
    if (!promotable(mine, competing, eta, ctx.direction)) return true;
  }
  return false;
}

function checkAsha(where: string, minResource: number, eta: number): void {
  if (!(minResource > 0) || !Number.isFinite(minResource)) throw new SearchError(`${where}: minResource must be positive, got ${minResource}`);
  if (!(eta >= 2) || !Number.isFinite(eta)) throw new SearchError(`${where}: reductionFactor must be ≥ 2, got ${eta}`);
}

function checkResource(where: string, r: unknown): 'epochs' | 'seconds' {
  if (r !== 'epochs' && r !== 'seconds') throw new SearchError(`${where}: resource must be 'epochs' or 'seconds', got ${JSON.stringify(r)}`);
  return r;
}

export class AshaPruner implements Pruner {
  readonly kind = 'asha' as const;
  readonly minResource: number;
  readonly reductionFactor: number;
  readonly minEarlyStoppingRate: number;
  readonly resource: 'epochs' | 'seconds';

  constructor(o: AshaOptions = {}) {
    this.minResource = o.minResource ?? 1;
    this.reductionFactor = o.reductionFactor ?? 3;
    this.minEarlyStoppingRate = posInt('asha pruner', 'minEarlyStoppingRate', o.minEarlyStoppingRate ?? 0);
    this.resource = checkResource('asha pruner', o.resource ?? 'epochs');
    checkAsha('asha pruner', this.minResource, this.reductionFactor);
  }

  shouldPrune(ctx: PruneContext): boolean {
    return ashaDecide(ctx, ctx.others, this.minResource, this.reductionFactor, this.minEarlyStoppingRate, this.resource);
  }

  toJSON(): PrunerSpec {
    return { type: 'asha', minResource: this.minResource, reductionFactor: this.reductionFactor, minEarlyStoppingRate: this.minEarlyStoppingRate, resource: this.resource };
  }
}

export interface HyperbandOptions {
  minResource?: number;
  /** The most resource a trial uses (e.g. the maximum epochs; default 9). */
  maxResource?: number;
  reductionFactor?: number;
  resource?: 'epochs' | 'seconds';
}

export class HyperbandPruner implements Pruner {
  readonly kind = 'hyperband' as const;
  readonly minResource: number;
  readonly maxResource: number;
  readonly reductionFactor: number;
  readonly resource: 'epochs' | 'seconds';
  readonly brackets: number;
  private readonly budgets: number[];

  constructor(o: HyperbandOptions = {}) {
    this.minResource = o.minResource ?? 1;
    this.maxResource = o.maxResource ?? 9;
    this.reductionFactor = o.reductionFactor ?? 3;
    this.resource = checkResource('hyperband pruner', o.resource ?? 'epochs');
    checkAsha('hyperband pruner', this.minResource, this.reductionFactor);
    if (!(this.maxResource >= this.minResource)) throw new SearchError(`hyperband pruner: maxResource must be ≥ minResource, got ${this.maxResource} < ${this.minResource}`);
    this.brackets = Math.floor(Math.log(this.maxResource / this.minResource) / Math.log(this.reductionFactor) + 1e-9) + 1;
    // Optuna's allocation: bracket b gets budget ⌈B·η^s/(s+1)⌉ with s = B − 1 − b.
    this.budgets = Array.from({ length: this.brackets }, (_, b) => {
      const s = this.brackets - 1 - b;
      return Math.ceil((this.brackets * this.reductionFactor ** s) / (s + 1));
    });
  }

  /** The bracket of trial `number` (its minEarlyStoppingRate). */
  bracketOf(number: number): number {
    const total = this.budgets.reduce((a, b) => a + b, 0);
    let r = hashString(`hyperband:${number}`) % total;
    for (let b = 0; b < this.brackets; b++) {
      r -= this.budgets[b]!;
      if (r < 0) return b;
    }
    return this.brackets - 1;
  }

  shouldPrune(ctx: PruneContext): boolean {
    const b = this.bracketOf(ctx.trial.number);
    const peers = ctx.others.filter((t) => this.bracketOf(t.number) === b);
    return ashaDecide(ctx, peers, this.minResource, this.reductionFactor, b, this.resource);
  }

  toJSON(): PrunerSpec {
    return { type: 'hyperband', minResource: this.minResource, maxResource: this.maxResource, reductionFactor: this.reductionFactor, resource: this.resource };
  }
}

/** A pruner from its name or JSON description. */
export function makePruner(spec: Pruner | PrunerSpec | PrunerSpec['type'] | undefined): Pruner {
  if (spec === undefined) return new NopPruner();
  if (typeof spec === 'object' && spec !== null && 'shouldPrune' in spec && typeof spec.shouldPrune === 'function') return spec;
  const s = (typeof spec === 'string' ? { type: spec } : spec) as Record<string, unknown>;
  switch (s.type) {
    case 'none': return new NopPruner();
    case 'median': return new MedianPruner(s as MedianOptions);
    case 'asha': return new AshaPruner(s as AshaOptions);
    case 'hyperband': return new HyperbandPruner(s as HyperbandOptions);
    default: throw new SearchError(`unknown pruner ${JSON.stringify(s.type ?? spec)} (expected 'none', 'median', 'asha' or 'hyperband')`);
  }
}
