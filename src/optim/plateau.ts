import { ValueError } from '../tensor/errors';
import type { OptimizerLike } from './lr_scheduler';

export interface ReduceLROnPlateauOptions {
  /** 'min' (default): the metric should fall (a loss); 'max': it should rise (accuracy). */
  mode?: 'min' | 'max';
  /** lr ← lr·factor on a plateau (default 0.1, must be < 1). */
  factor?: number;
  /** Epochs without improvement tolerated before reducing (default 10). */
  patience?: number;
  /** Minimum change that counts as an improvement (default 1e-4). */
  threshold?: number;
  /** 'rel' (default): best·(1 ∓ threshold); 'abs': best ∓ threshold. */
  thresholdMode?: 'rel' | 'abs';
  /** Epochs to wait after a reduction before counting again (default 0). */
  cooldown?: number;
  /** Lower bound on each group's lr (default 0). */
  minLr?: number | readonly number[];
  /** Reductions smaller than eps are skipped (default 1e-8). */
  eps?: number;
}

/**
 * Reduces the learning rate when a metric stops improving, exactly PyTorch's
 * ReduceLROnPlateau: call `step(metric)` once per epoch with the validation loss (or, with
 * mode 'max', accuracy). After more than `patience` epochs without an improvement the lr of
 * each group becomes max(lr·factor, minLr), then `cooldown` epochs are ignored.
 */
export class ReduceLROnPlateau {
  readonly optimizer: OptimizerLike;
  readonly mode: 'min' | 'max';
  readonly factor: number;
  readonly patience: number;
  readonly threshold: number;
  readonly thresholdMode: 'rel' | 'abs';
  readonly cooldown: number;
  readonly minLrs: number[];
  readonly eps: number;
  best: number;
  numBadEpochs = 0;
  cooldownCounter = 0;
  lastEpoch = 0;
  private lastLr: number[];

  constructor(optimizer: OptimizerLike, opts: ReduceLROnPlateauOptions = {}) {
    if (!optimizer || !Array.isArray(optimizer.paramGroups)) throw new ValueError('ReduceLROnPlateau: expected an optimizer');
    this.optimizer = optimizer;
    this.factor = opts.factor ?? 0.1;
    if (!(this.factor < 1)) throw new ValueError('Factor should be < 1.0.');
    this.mode = opts.mode ?? 'min';
    if (this.mode !== 'min' && this.mode !== 'max') throw new ValueError(`mode ${String(this.mode)} is unknown!`);
    this.thresholdMode = opts.thresholdMode ?? 'rel';
    if (this.thresholdMode !== 'rel' && this.thresholdMode !== 'abs') throw new ValueError(`threshold mode ${String(this.thresholdMode)} is unknown!`);
    this.patience = opts.patience ?? 10;
    this.threshold = opts.threshold ?? 1e-4;
    this.cooldown = opts.cooldown ?? 0;
    this.eps = opts.eps ?? 1e-8;
    const minLr = opts.minLr ?? 0;
    if (Array.isArray(minLr)) {
      if (minLr.length !== optimizer.paramGroups.length) throw new ValueError(`expected ${optimizer.paramGroups.length} minLrs, got ${minLr.length}`);
      this.minLrs = [...minLr];
    } else this.minLrs = optimizer.paramGroups.map(() => minLr as number);
    this.best = this.mode === 'min' ? Infinity : -Infinity;
    this.lastLr = optimizer.paramGroups.map((g) => g.lr);
  }

  private isBetter(a: number): boolean {
    const { best, threshold: t } = this;
    if (this.mode === 'min') return this.thresholdMode === 'rel' ? a < best * (1 - t) : a < best - t;
    return this.thresholdMode === 'rel' ? a > best * (t + 1) : a > best + t;
  }

  /** Records this epoch's metric and reduces the lr on a plateau. */
  step(metric: number | { item(): number }): void {
    const current = typeof metric === 'number' ? metric : metric.item();
    this.lastEpoch += 1;
    if (this.isBetter(current)) {
      this.best = current;
      this.numBadEpochs = 0;
    } else {
      this.numBadEpochs += 1;
    }
    if (this.cooldownCounter > 0) {
      this.cooldownCounter -= 1;
      this.numBadEpochs = 0;
    }
    if (this.numBadEpochs > this.patience) {
      this.optimizer.paramGroups.forEach((g, i) => {
        const newLr = Math.max(g.lr * this.factor, this.minLrs[i]!);
        if (g.lr - newLr > this.eps) g.lr = newLr;
      });
      this.cooldownCounter = this.cooldown;
      this.numBadEpochs = 0;
    }
    this.lastLr = this.optimizer.paramGroups.map((g) => g.lr);
  }

  getLastLr(): number[] { return [...this.lastLr]; }

  /** Counters and best value (JSON; an infinite best is stored as null). */
  stateDict(): Record<string, unknown> {
    return {
      best: Number.isFinite(this.best) ? this.best : null, numBadEpochs: this.numBadEpochs,
      cooldownCounter: this.cooldownCounter, lastEpoch: this.lastEpoch,
    };
  }

  loadStateDict(sd: Record<string, unknown>): void {
    const { best, numBadEpochs, cooldownCounter, lastEpoch } = sd;
    if ((best !== null && typeof best !== 'number') || !Number.isInteger(numBadEpochs) || !Number.isInteger(cooldownCounter) || !Number.isInteger(lastEpoch)) {
      throw new ValueError('ReduceLROnPlateau.loadStateDict: expected { best, numBadEpochs, cooldownCounter, lastEpoch }');
    }
    this.best = best === null ? (this.mode === 'min' ? Infinity : -Infinity) : best;
    this.numBadEpochs = numBadEpochs as number;
    this.cooldownCounter = cooldownCounter as number;
    this.lastEpoch = lastEpoch as number;
  }
}
