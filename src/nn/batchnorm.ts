import { ShapeError, ValueError, fmtShape } from '../tensor/errors';
import * as F from '../tensor/functional';
import { Tensor } from '../tensor/tensor';
import { Module } from './module';

export interface BatchNormOptions {
  /** Added to the variance (default 1e-5). */
  eps?: number;
  /** Weight of the new batch in the running averages (default 0.1); null: cumulative average. */
  momentum?: number | null;
  /** Learn a per-channel scale (weight, init 1) and shift (bias, init 0); default true. */
  affine?: boolean;
  /** Keep running statistics for eval (default true); false: batch statistics always. */
  trackRunningStats?: boolean;
}

/**
 * Batch normalisation over dim 1, as PyTorch: y = (x − mean)/√(var + eps)·weight + bias.
 * Training: batch mean and biased batch variance normalise; the buffers are updated as
 * runningMean = (1 − momentum)·runningMean + momentum·mean and
 * runningVar = (1 − momentum)·runningVar + momentum·unbiasedVar, and numBatchesTracked += 1.
 * Eval: runningMean/runningVar normalise. numBatchesTracked is stored as a float32 scalar
 * (PyTorch: int64), exact up to 2²⁴ batches.
 */
abstract class BatchNorm extends Module {
  readonly numFeatures: number;
  readonly eps: number;
  readonly momentum: number | null;
  readonly affine: boolean;
  readonly trackRunningStats: boolean;
  weight: Tensor | null;
  bias: Tensor | null;
  runningMean: Tensor | null;
  runningVar: Tensor | null;
  numBatchesTracked: Tensor | null;

  constructor(numFeatures: number, opts: BatchNormOptions = {}) {
    super();
    const name = new.target.name;
    if (!Number.isInteger(numFeatures) || numFeatures < 1) throw new ValueError(`${name}: numFeatures must be a positive integer, got ${numFeatures}`);
    this.numFeatures = numFeatures;
    this.eps = opts.eps ?? 1e-5;
    this.momentum = opts.momentum === undefined ? 0.1 : opts.momentum;
    if (!(this.eps > 0)) throw new ValueError(`${name}: eps must be > 0, got ${this.eps}`);
    if (this.momentum !== null && !(this.momentum >= 0 && this.momentum <= 1)) {
      throw new ValueError(`${name}: momentum must be in [0, 1] or null, got ${this.momentum}`);
    }
    this.affine = opts.affine ?? true;
    this.trackRunningStats = opts.trackRunningStats ?? true;
    const vec = (v: number, grad = false) => new Tensor(new Float32Array(numFeatures).fill(v), [numFeatures], grad);
    this.weight = this.registerParameter('weight', this.affine ? vec(1, true) : null);
    this.bias = this.registerParameter('bias', this.affine ? vec(0, true) : null);
    if (this.trackRunningStats) {
      this.runningMean = this.registerBuffer('runningMean', vec(0));
      this.runningVar = this.registerBuffer('runningVar', vec(1));
      this.numBatchesTracked = this.registerBuffer('numBatchesTracked', new Tensor(new Float32Array(1), []));
    } else {
      this.runningMean = this.runningVar = this.numBatchesTracked = null;
    }
  }

  protected abstract checkInput(x: Tensor): void;

  /** Running statistics back to mean 0, variance 1, count 0. */
  resetRunningStats(): void {
    this.runningMean?.data.fill(0);
    this.runningVar?.data.fill(1);
    this.numBatchesTracked?.data.fill(0);
  }

  forward(x: Tensor): Tensor {
    this.checkInput(x);
    if (x.shape[1] !== this.numFeatures) {
      throw new ShapeError(`${this.constructor.name}: input ${fmtShape(x.shape)} has ${x.shape[1]} channels, expected ${this.numFeatures}`);
    }
    const counting = this.training && this.numBatchesTracked !== null;
    const n = counting ? this.numBatchesTracked!.data[0]! + 1 : 0;
    const momentum = this.momentum ?? (counting ? 1 / n : 0);
    const useBatch = this.training || !this.runningMean;
    const scratch = () => new Tensor(new Float32Array(this.numFeatures), [this.numFeatures]);
    const out = F.batchNorm(x, {
      runningMean: this.runningMean ?? scratch(),
      runningVar: this.runningVar ?? scratch(),
      weight: this.weight,
      bias: this.bias,
      training: useBatch,
      // Without running statistics the scratch buffers absorb the update (momentum 0 keeps them).
      momentum: this.runningMean ? momentum : 0,
      eps: this.eps,
    });
    // Counted only once the batch was accepted (a rejected input leaves the buffers alone).
    if (counting) this.numBatchesTracked!.data[0] = n;
    return out;
  }

  override extraRepr(): string {
    return `${this.numFeatures}, eps=${this.eps}, momentum=${this.momentum}, affine=${this.affine}, trackRunningStats=${this.trackRunningStats}`;
  }
}

/** BatchNorm over [N, C] or [N, C, L] input (statistics per C over N and L). */
export class BatchNorm1d extends BatchNorm {
  protected checkInput(x: Tensor): void {
    if (x.ndim !== 2 && x.ndim !== 3) throw new ShapeError(`BatchNorm1d: expected 2D or 3D input (got ${x.ndim}D input, shape ${fmtShape(x.shape)})`);
  }
}

/** BatchNorm over [N, C, H, W] input (statistics per C over N, H and W). */
export class BatchNorm2d extends BatchNorm {
  protected checkInput(x: Tensor): void {
    if (x.ndim !== 4) throw new ShapeError(`BatchNorm2d: expected 4D input (got ${x.ndim}D input, shape ${fmtShape(x.shape)})`);
  }
}
