import { ValueError } from '../tensor/errors';
import { LRScheduler, type OptimizerLike } from './lr_scheduler';

export interface OneCycleOptions {
  /** Peak learning rate (one value, or one per group). */
  maxLr: number | readonly number[];
  /** Total number of step() calls; or give epochs and stepsPerEpoch. */
  totalSteps?: number;
  epochs?: number;
  stepsPerEpoch?: number;
  /** Fraction of the steps spent increasing the lr (default 0.3). */
  pctStart?: number;
  /** 'cos' (default) or 'linear' interpolation within each phase. */
  annealStrategy?: 'cos' | 'linear';
  /** Cycle momentum (SGD's momentum, Adam's β1) inversely to the lr (default true). */
  cycleMomentum?: boolean;
  baseMomentum?: number | readonly number[];
  maxMomentum?: number | readonly number[];
  /** initialLr = maxLr/divFactor (default 25). */
  divFactor?: number;
  /** minLr = initialLr/finalDivFactor (default 1e4). */
  finalDivFactor?: number;
  /** Three phases (up, down to initialLr, annihilate to minLr) as fastai (default false). */
  threePhase?: boolean;
  lastEpoch?: number;
}

interface Phase { endStep: number; startLr: 'initialLr' | 'maxLr' | 'minLr'; endLr: 'initialLr' | 'maxLr' | 'minLr'; startM: 'maxMomentum' | 'baseMomentum'; endM: 'maxMomentum' | 'baseMomentum' }

function perGroup(name: string, v: number | readonly number[], n: number): number[] {
  if (Array.isArray(v)) {
    if (v.length !== n) throw new ValueError(`expected ${n} values for ${name}, got ${v.length}`);
    return [...v];
  }
  return Array.from({ length: n }, () => v as number);
}

/**
 * The 1cycle policy (Smith & Topin), exactly PyTorch's OneCycleLR: step() once per batch.
 * The lr rises from maxLr/divFactor to maxLr over the first pctStart·totalSteps − 1 steps,
 * then anneals to maxLr/(divFactor·finalDivFactor) at step totalSteps − 1 (cosine by
 * default). With cycleMomentum (default true, as PyTorch) the optimizer's momentum (or Adam's
 * β1) moves the other way, maxMomentum → baseMomentum → maxMomentum (0.95/0.85): note that,
 * as in PyTorch, this turns momentum on for an SGD created with momentum 0.
 */
export class OneCycleLR extends LRScheduler {
  readonly totalSteps: number;
  readonly annealStrategy: 'cos' | 'linear';
  readonly cycleMomentum: boolean;
  private readonly phases: Phase[];
  private readonly useBetas: boolean;

  constructor(optimizer: OptimizerLike, opts: OneCycleOptions) {
    const groups = optimizer?.paramGroups;
    if (!Array.isArray(groups)) throw new ValueError('OneCycleLR: expected an optimizer');
    const lastEpoch = opts.lastEpoch ?? -1;
    const maxLrs = perGroup('maxLr', opts.maxLr, groups.length);
    const div = opts.divFactor ?? 25;
    const finalDiv = opts.finalDivFactor ?? 1e4;
    if (lastEpoch === -1) {
      groups.forEach((g, i) => {
        g.initialLr = maxLrs[i]! / div;
        g.maxLr = maxLrs[i]!;
        g.minLr = (g.initialLr as number) / finalDiv;
      });
    }
    super(optimizer, lastEpoch);
    let total: number;
    if (opts.totalSteps !== undefined) {
      if (!Number.isInteger(opts.totalSteps) || opts.totalSteps <= 0) throw new ValueError(`Expected positive integer totalSteps, but got ${opts.totalSteps}`);
      total = opts.totalSteps;
    } else if (opts.epochs !== undefined && opts.stepsPerEpoch !== undefined) {
      if (!Number.isInteger(opts.epochs) || opts.epochs <= 0) throw new ValueError(`Expected positive integer epochs, but got ${opts.epochs}`);
      if (!Number.isInteger(opts.stepsPerEpoch) || opts.stepsPerEpoch <= 0) throw new ValueError(`Expected positive integer stepsPerEpoch, but got ${opts.stepsPerEpoch}`);
      total = opts.epochs * opts.stepsPerEpoch;
    } else {
      throw new ValueError('You must define either totalSteps OR (epochs AND stepsPerEpoch)');
    }
    this.totalSteps = total;
    const pct = opts.pctStart ?? 0.3;
    if (typeof pct !== 'number' || !(pct >= 0 && pct <= 1)) throw new ValueError(`Expected float between 0 and 1 pctStart, but got ${pct}`);
    const anneal = opts.annealStrategy ?? 'cos';
    if (anneal !== 'cos' && anneal !== 'linear') throw new ValueError(`annealStrategy must be one of 'cos' or 'linear', instead got ${String(anneal)}`);
    this.annealStrategy = anneal;
    this.phases = opts.threePhase
      ? [
        { endStep: pct * total - 1, startLr: 'initialLr', endLr: 'maxLr', startM: 'maxMomentum', endM: 'baseMomentum' },
        { endStep: 2 * pct * total - 2, startLr: 'maxLr', endLr: 'initialLr', startM: 'baseMomentum', endM: 'maxMomentum' },
        { endStep: total - 1, startLr: 'initialLr', endLr: 'minLr', startM: 'maxMomentum', endM: 'maxMomentum' },
      ]
      : [
        { endStep: pct * total - 1, startLr: 'initialLr', endLr: 'maxLr', startM: 'maxMomentum', endM: 'baseMomentum' },
        { endStep: total - 1, startLr: 'maxLr', endLr: 'minLr', startM: 'baseMomentum', endM: 'maxMomentum' },
      ];
    this.cycleMomentum = opts.cycleMomentum ?? true;
    this.useBetas = false;
    if (this.cycleMomentum) {
      const g0 = groups[0]!;
      if (typeof g0.momentum !== 'number' && !Array.isArray(g0.betas)) {
        throw new ValueError('optimizer must support momentum or beta1 with `cycleMomentum` option enabled');
      }
      this.useBetas = Array.isArray(g0.betas);
      if (lastEpoch === -1) {
        const base = perGroup('baseMomentum', opts.baseMomentum ?? 0.85, groups.length);
        const max = perGroup('maxMomentum', opts.maxMomentum ?? 0.95, groups.length);
        groups.forEach((g, i) => {
          this.setMomentum(g, max[i]!);
          g.maxMomentum = max[i]!;
          g.baseMomentum = base[i]!;
        });
      }
    }
    this.initialStep();
  }

  private setMomentum(g: OptimizerLike['paramGroups'][number], m: number): void {
    if (this.useBetas) g.betas = [m, (g.betas as number[])[1]!];
    else g.momentum = m;
  }

  private anneal(start: number, end: number, pct: number): number {
    return this.annealStrategy === 'cos' ? end + ((start - end) / 2) * (Math.cos(Math.PI * pct) + 1) : (end - start) * pct + start;
  }

  /** [lr, momentum] of group g at step t. */
  private at(g: OptimizerLike['paramGroups'][number], t: number): [number, number] {
    if (t > this.totalSteps) throw new ValueError(`Tried to step ${t} times. The specified number of total steps is ${this.totalSteps}`);
    let start = 0;
    for (let i = 0; i < this.phases.length; i++) {
      const ph = this.phases[i]!;
      if (t <= ph.endStep || i === this.phases.length - 1) {
        const pct = (t - start) / (ph.endStep - start);
        const lr = this.anneal(g[ph.startLr] as number, g[ph.endLr] as number, pct);
        const m = this.cycleMomentum ? this.anneal(g[ph.startM] as number, g[ph.endM] as number, pct) : NaN;
        return [lr, m];
      }
      start = ph.endStep;
    }
    return [NaN, NaN];
  }

  lrAt(t: number): number[] { return this.optimizer.paramGroups.map((g) => this.at(g, t)[0]); }

  override step(): void {
    super.step();
    if (this.cycleMomentum) for (const g of this.optimizer.paramGroups) this.setMomentum(g, this.at(g, this.lastEpoch)[1]);
  }
}
