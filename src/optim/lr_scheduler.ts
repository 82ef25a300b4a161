/**
 * Learning-rate schedulers, as torch.optim.lr_scheduler: construct one on an optimizer (it
 * records each group's `initialLr` and sets the epoch-0 learning rate), then call `step()`
 * once per epoch (or per batch for OneCycleLR) after `optimizer.step()`.
 *
 * Every scheduler here computes the learning rate in closed form from its epoch counter and
 * the groups' initial learning rates (PyTorch's `_get_closed_form_lr`), so two schedulers on
 * one optimizer do not compose multiplicatively as PyTorch's chainable form would; combine
 * them in sequence with SequentialLR instead.
 */
import { ValueError } from '../tensor/errors';

/** The part of an optimizer a scheduler touches. */
export interface OptimizerLike {
  paramGroups: Array<{ lr: number; [key: string]: unknown }>;
}

export abstract class LRScheduler {
  readonly optimizer: OptimizerLike;
  /** Number of step() calls so far (0 right after construction). */
  lastEpoch: number;
  /** Each group's initial learning rate. */
  baseLrs: number[];
  protected lastLr: number[] = [];

  constructor(optimizer: OptimizerLike, lastEpoch = -1) {
    if (!optimizer || !Array.isArray(optimizer.paramGroups)) throw new ValueError(`${new.target.name}: expected an optimizer`);
    this.optimizer = optimizer;
    optimizer.paramGroups.forEach((g, i) => {
      if (lastEpoch === -1) g.initialLr ??= g.lr;
      else if (typeof g.initialLr !== 'number') {
        throw new ValueError(`param 'initialLr' is not specified in paramGroups[${i}] when resuming an optimizer`);
      }
    });
    this.baseLrs = optimizer.paramGroups.map((g) => g.initialLr as number);
    this.lastEpoch = lastEpoch;
  }

  /** Subclasses call this at the end of their constructor (PyTorch's initial step). */
  protected initialStep(): void { this.step(); }

  /** Each group's learning rate at `epoch` (closed form). */
  abstract lrAt(epoch: number): number[];

  /** Advances one epoch and sets every group's lr. */
  step(): void {
    this.lastEpoch += 1;
    const lrs = this.lrAt(this.lastEpoch);
    this.optimizer.paramGroups.forEach((g, i) => { g.lr = lrs[i]!; });
    this.lastLr = lrs;
  }

  /** The learning rates set by the last step(). */
  getLastLr(): number[] { return [...this.lastLr]; }

  /** Epoch counter and learning rates (JSON). */
  stateDict(): Record<string, unknown> {
    return { lastEpoch: this.lastEpoch, baseLrs: [...this.baseLrs], lastLr: [...this.lastLr] };
  }

  loadStateDict(sd: Record<string, unknown>): void {
    const { lastEpoch, baseLrs, lastLr } = sd as { lastEpoch: unknown; baseLrs: unknown; lastLr: unknown };
    const isNums = (v: unknown): v is number[] => Array.isArray(v) && v.length === this.baseLrs.length && v.every((x) => typeof x === 'number');
    if (!Number.isInteger(lastEpoch) || !isNums(baseLrs) || !isNums(lastLr)) {
      throw new ValueError(`${this.constructor.name}.loadStateDict: expected { lastEpoch, baseLrs, lastLr } for ${this.baseLrs.length} groups`);
    }
    this.lastEpoch = lastEpoch as number;
    this.baseLrs = [...baseLrs];
    this.lastLr = [...lastLr];
  }
}

function perGroup<T>(name: string, v: T | readonly T[], n: number): T[] {
  if (Array.isArray(v)) {
    if (v.length !== n) throw new ValueError(`${name}: expected ${n} values (one per param group), got ${v.length}`);
    return [...v] as T[];
  }
  return Array.from({ length: n }, () => v as T);
}

function bisectRight(sorted: readonly number[], x: number): number {
  let i = 0;
  while (i < sorted.length && sorted[i]! <= x) i++;
  return i;
}

/** lr = base·γ^⌊epoch/stepSize⌋ (γ default 0.1). */
export class StepLR extends LRScheduler {
  readonly stepSize: number;
  readonly gamma: number;
  constructor(optimizer: OptimizerLike, opts: { stepSize: number; gamma?: number; lastEpoch?: number }) {
    super(optimizer, opts.lastEpoch);
    if (!Number.isInteger(opts.stepSize) || opts.stepSize < 1) throw new ValueError(`StepLR: stepSize must be a positive integer, got ${opts.stepSize}`);
    this.stepSize = opts.stepSize;
    this.gamma = opts.gamma ?? 0.1;
    this.initialStep();
  }
  lrAt(t: number): number[] { return this.baseLrs.map((b) => b * this.gamma ** Math.floor(t / this.stepSize)); }
}

/** lr = base·γ^(number of milestones ≤ epoch) (γ default 0.1). */
export class MultiStepLR extends LRScheduler {
  readonly milestones: number[];
  readonly gamma: number;
  constructor(optimizer: OptimizerLike, opts: { milestones: readonly number[]; gamma?: number; lastEpoch?: number }) {
    super(optimizer, opts.lastEpoch);
    this.milestones = [...opts.milestones].sort((a, b) => a - b);
    this.gamma = opts.gamma ?? 0.1;
    this.initialStep();
  }
  lrAt(t: number): number[] { return this.baseLrs.map((b) => b * this.gamma ** bisectRight(this.milestones, t)); }
}

/** lr = base·γ^epoch. */
export class ExponentialLR extends LRScheduler {
  readonly gamma: number;
  constructor(optimizer: OptimizerLike, opts: { gamma: number; lastEpoch?: number }) {
    super(optimizer, opts.lastEpoch);
    if (typeof opts.gamma !== 'number' || !(opts.gamma > 0)) throw new ValueError(`ExponentialLR: gamma must be > 0, got ${opts.gamma}`);
    this.gamma = opts.gamma;
    this.initialStep();
  }
  lrAt(t: number): number[] { return this.baseLrs.map((b) => b * this.gamma ** t); }
}

/**
 * lr = etaMin + (base − etaMin)·(1 + cos(π·epoch/tMax))/2: half a cosine from base down to
 * etaMin over tMax epochs (and back up after that, as PyTorch; no restarts).
 */
export class CosineAnnealingLR extends LRScheduler {
  readonly tMax: number;
  readonly etaMin: number;
  constructor(optimizer: OptimizerLike, opts: { tMax: number; etaMin?: number; lastEpoch?: number }) {
    super(optimizer, opts.lastEpoch);
    if (!Number.isInteger(opts.tMax) || opts.tMax < 1) throw new ValueError(`CosineAnnealingLR: tMax must be a positive integer, got ${opts.tMax}`);
    this.tMax = opts.tMax;
    this.etaMin = opts.etaMin ?? 0;
    this.initialStep();
  }
  lrAt(t: number): number[] {
    return this.baseLrs.map((b) => this.etaMin + ((b - this.etaMin) * (1 + Math.cos((Math.PI * t) / this.tMax))) / 2);
  }
}

/**
 * Linear warm-up (or decay) of the multiplicative factor from startFactor to endFactor over
 * totalIters epochs, then constant: lr = base·(s + (e − s)·min(epoch, totalIters)/totalIters).
 * Defaults as PyTorch: startFactor 1/3, endFactor 1, totalIters 5.
 */
export class LinearLR extends LRScheduler {
  readonly startFactor: number;
  readonly endFactor: number;
  readonly totalIters: number;
  constructor(optimizer: OptimizerLike, opts: { startFactor?: number; endFactor?: number; totalIters?: number; lastEpoch?: number } = {}) {
    super(optimizer, opts.lastEpoch);
    this.startFactor = opts.startFactor ?? 1 / 3;
    this.endFactor = opts.endFactor ?? 1;
    this.totalIters = opts.totalIters ?? 5;
    if (!(this.startFactor > 0 && this.startFactor <= 1)) {
      throw new ValueError(`Starting multiplicative factor expected to be greater than 0 and less or equal to 1, got ${this.startFactor}`);
    }
    if (!(this.endFactor >= 0 && this.endFactor <= 1)) {
      throw new ValueError(`Ending multiplicative factor expected to be between 0 and 1, got ${this.endFactor}`);
    }
    if (!Number.isInteger(this.totalIters) || this.totalIters < 1) throw new ValueError(`LinearLR: totalIters must be a positive integer, got ${this.totalIters}`);
    this.initialStep();
  }
  lrAt(t: number): number[] {
    const f = this.startFactor + ((this.endFactor - this.startFactor) * Math.min(t, this.totalIters)) / this.totalIters;
    return this.baseLrs.map((b) => b * f);
  }
}

/** lr = base·lrLambda(epoch) (one function, or one per group). */
export class LambdaLR extends LRScheduler {
  readonly lrLambdas: Array<(epoch: number) => number>;
  constructor(optimizer: OptimizerLike, opts: { lrLambda: ((epoch: number) => number) | ReadonlyArray<(epoch: number) => number>; lastEpoch?: number }) {
    super(optimizer, opts.lastEpoch);
    this.lrLambdas = perGroup('LambdaLR', opts.lrLambda, this.baseLrs.length);
    this.lrLambdas.forEach((f, i) => { if (typeof f !== 'function') throw new ValueError(`LambdaLR: lrLambda ${i} is not a function`); });
    this.initialStep();
  }
  lrAt(t: number): number[] { return this.baseLrs.map((b, i) => b * this.lrLambdas[i]!(t)); }
}

/**
 * Runs schedulers one after another: schedulers[i] is active from milestones[i − 1] on, with
 * its own epoch counted from that milestone (e.g. LinearLR warm-up for 5 epochs, then
 * CosineAnnealingLR): `new SequentialLR(opt, { schedulers: [warm, cos], milestones: [5] })`.
 */
export class SequentialLR extends LRScheduler {
  readonly schedulers: LRScheduler[];
  readonly milestones: number[];
  constructor(optimizer: OptimizerLike, opts: { schedulers: LRScheduler[]; milestones: readonly number[]; lastEpoch?: number }) {
    super(optimizer, opts.lastEpoch);
    const { schedulers, milestones } = opts;
    if (!Array.isArray(schedulers) || schedulers.length < 1) throw new ValueError('SequentialLR: expects at least one scheduler');
    if (!Array.isArray(milestones) || milestones.length !== schedulers.length - 1) {
      throw new ValueError(`Sequential Schedulers expects number of schedulers provided to be one more than the number of milestone points, but got number of schedulers ${schedulers.length} and the number of milestones to be equal to ${milestones?.length}`);
    }
    schedulers.forEach((s, i) => {
      if (s.optimizer !== optimizer) throw new ValueError(`SequentialLR: scheduler ${i} belongs to a different optimizer`);
    });
    this.schedulers = [...schedulers];
    this.milestones = [...milestones];
    this.initialStep();
  }
  lrAt(t: number): number[] {
    const i = bisectRight(this.milestones, t);
    return this.schedulers[i]!.lrAt(i === 0 ? t : t - this.milestones[i - 1]!);
  }
}
