import { countsNonFinite } from '../optim/optimizer';
import { noGrad } from '../tensor/autograd';
import { LernenError } from '../tensor/errors';
import { softmaxCrossEntropy } from '../tensor/functional';
import { Tensor } from '../tensor/tensor';
import { History, type EpochRecord, type StopReason } from './history';
import { checkInput, checkTensors, lossDivergence, parameterSites } from './numerics';

export { DivergenceError, type DivergenceSite } from './numerics';

/** One mini-batch: inputs and integer class labels. */
export interface Batch {
  x: Tensor;
  y: Int32Array;
  /** x is known to hold only finite values (a DataLoader says so): the input check is skipped. */
  finite?: boolean;
}

/** Anything that yields batches once per iteration (an epoch), e.g. a DataLoader. */
export interface BatchSource extends Iterable<Batch> {
  /** Number of batches per epoch, when known (for progress and ETA). */
  readonly length?: number;
  /** Number of samples per epoch, when known. */
  readonly size?: number;
  /**
   * An epoch whose batches are valid only until the next one is requested (their buffers are
   * recycled; DataLoader has it). fit() and evaluate() use it when present.
   */
  transientBatches?(): Iterable<Batch>;
}

/** The batches of one pass over `src`: its transient iteration when it has one. */
function epochOf(src: BatchSource): Iterable<Batch> {
  return typeof src.transientBatches === 'function' ? src.transientBatches() : src;
}

/** The parts of a Module that fit() uses. */
export interface TrainableModel {
  forward(x: Tensor): Tensor;
  train(mode?: boolean): unknown;
  eval(): unknown;
  parameters(): Tensor[];
  namedParameters?(): Array<[string, Tensor]>;
  /** Penalties recorded by activity-regularization layers in the last forward. */
  regularizationLoss?(): Tensor | null;
}

/** The parts of an Optimizer that fit() uses. */
export interface OptimizerLike {
  step(): unknown;
  zeroGrad(): void;
  readonly paramGroups: ReadonlyArray<{ lr: number }>;
}

/** A learning-rate scheduler: step() once per epoch (ReduceLROnPlateau gets the val loss). */
export interface SchedulerLike {
  step(metric?: number): void;
  /** When true, step() is called after every batch instead of every epoch (e.g. OneCycleLR). */
  readonly perBatch?: boolean;
}

/** A loss: (logits, integer labels) → scalar tensor. */
export type LossFn = (output: Tensor, target: Int32Array) => Tensor;

export interface BatchEndInfo {
  epoch: number;
  batch: number;
  batches: number | undefined;
  loss: number;
  samples: number;
  /** Samples per second in this epoch so far. */
  rate: number;
  elapsedEpochMs: number;
}

export interface FitContext {
  model: TrainableModel;
  optimizer: OptimizerLike;
  history: History;
  /** Set by a callback to stop training after the current batch/epoch. */
  stop: StopReason | null;
}

export interface Callback {
  onTrainBegin?(ctx: FitContext): void | Promise<void>;
  onEpochBegin?(epoch: number, ctx: FitContext): void | Promise<void>;
  onBatchEnd?(info: BatchEndInfo, ctx: FitContext): void | Promise<void>;
  onEpochEnd?(record: EpochRecord, ctx: FitContext): void | Promise<void>;
  onTrainEnd?(ctx: FitContext): void | Promise<void>;
}

export interface FitOptions {
  train: BatchSource;
  val?: BatchSource | null;
  optimizer: OptimizerLike;
  /** Default 1. */
  epochs?: number;
  /** A loss function or a name: 'cross-entropy' (default), 'mse', 'l1' (on softmax vs one-hot). */
  loss?: LossFn | LossName;
  /** L1 penalty λ·Σ|w| over the weights (parameters with ≥ 2 dims). */
  l1?: number;
  /** L2 penalty λ·Σw² over the weights (parameters with ≥ 2 dims). */
  l2?: number;
  scheduler?: SchedulerLike | null;
  callbacks?: Callback[];
  signal?: AbortSignal;
  /** Wall-clock budget for the whole fit; training stops cleanly when it is spent. */
  timeBudgetMs?: number;
  /**
   * Check each step for NaN/Inf where it arises (default true): the input batch before the
   * forward pass (so BatchNorm statistics are not poisoned), every gradient after backward, and
   * every parameter after the optimizer step. The loss is always checked.
   */
  checkNumerics?: boolean;
  /** Keep the loss of every step in history.steps. */
  recordSteps?: boolean;
  /** Yield to the event loop every N batches (default 1). */
  yieldEvery?: number;
}

export type LossName = 'cross-entropy' | 'mse' | 'l1';

function oneHotTensor(y: Int32Array, classes: number): Tensor {
  const d = new Float32Array(y.length * classes);
  for (let i = 0; i < y.length; i++) d[i * classes + y[i]!] = 1;
  return new Tensor(d, [y.length, classes]);
}

/** Resolves a loss name to a function of (logits, labels). */
export function resolveLoss(loss: LossFn | LossName | undefined): LossFn {
  if (typeof loss === 'function') return loss;
  switch (loss ?? 'cross-entropy') {
    case 'cross-entropy':
      return (out, y) => softmaxCrossEntropy(out, y);
    case 'mse':
      // Mean squared error between class probabilities and one-hot targets.
      return (out, y) => out.softmax(1).sub(oneHotTensor(y, out.shape[1]!)).square().mean();
    case 'l1':
      return (out, y) => out.softmax(1).sub(oneHotTensor(y, out.shape[1]!)).abs().mean();
    default:
      throw new LernenError(`fit: unknown loss '${String(loss)}' (expected 'cross-entropy', 'mse', 'l1' or a function)`);
  }
}

function correct(out: Tensor, y: Int32Array): number {
  const [n, c] = out.shape as [number, number];
  let k = 0;
  for (let i = 0; i < n; i++) {
    let best = 0;
    const row = i * c;
    for (let j = 1; j < c; j++) if (out.data[row + j]! > out.data[row + best]!) best = j;
    if (best === y[i]) k++;
  }
  return k;
}

const tick = () => new Promise<void>((r) => setImmediate(r));

/** Mean loss and accuracy over a validation or test set, and how many samples they cover. */
export interface EvalResult {
  loss: number;
  accuracy: number;
  samples: number;
}

export interface EvaluateAsyncOptions {
  /** Stops after the batch in progress when aborted (the result then has `aborted: true`). */
  signal?: AbortSignal;
  /** Yield to the event loop every N batches (default 1). */
  yieldEvery?: number;
}

/**
 * One pass over `data` in eval mode without recording gradients, adding each batch's loss,
 * correct predictions and size to `acc`; it yields after every batch. The model's previous
 * train/eval mode is restored when the pass ends or is abandoned (return()).
 */
function* evalPass(model: TrainableModel & { training?: boolean }, data: BatchSource, lossFn: LossFn,
  acc: { total: number; right: number; n: number }): Generator<void, void, void> {
  const wasTraining = model.training ?? false;
  model.eval();
  try {
    for (const { x, y } of epochOf(data)) {
      noGrad(() => {
        const out = model.forward(x);
        acc.total += lossFn(out, y).item() * y.length;
        acc.right += correct(out, y);
        acc.n += y.length;
      });
      yield;
    }
  } finally {
    if (wasTraining) model.train();
  }
}

function evalResult(acc: { total: number; right: number; n: number }): EvalResult {
  return { loss: acc.n ? acc.total / acc.n : NaN, accuracy: acc.n ? acc.right / acc.n : NaN, samples: acc.n };
}

/**
 * Mean loss and accuracy of `model` over `data`, in eval mode without recording gradients.
 * The model's previous train/eval mode is restored afterwards. Synchronous: it holds the event
 * loop for the whole pass (in a server, use evaluateAsync).
 */
export function evaluate(model: TrainableModel & { training?: boolean }, data: BatchSource, loss?: LossFn | LossName): EvalResult {
  const acc = { total: 0, right: 0, n: 0 };
  for (const _ of evalPass(model, data, resolveLoss(loss), acc));
  return evalResult(acc);
}

/**
 * evaluate() for servers: yields to the event loop between batches (as fit() does) and, when
 * `signal` aborts, stops after the batch in progress with the mean over the batches done and
 * `aborted: true`. fit() validates this way. The model's train/eval mode is restored either way.
 */
export async function evaluateAsync(model: TrainableModel & { training?: boolean }, data: BatchSource, loss?: LossFn | LossName,
  opts: EvaluateAsyncOptions = {}): Promise<EvalResult & { aborted: boolean }> {
  const lossFn = resolveLoss(loss);
  const yieldEvery = Math.max(1, opts.yieldEvery ?? 1);
  const acc = { total: 0, right: 0, n: 0 };
  let aborted = opts.signal?.aborted ?? false;
  let batch = 0;
  if (!aborted) {
    for (const _ of evalPass(model, data, lossFn, acc)) {
      if (++batch % yieldEvery === 0) await tick();
      // Checked before the next batch is pulled: an abort stops within one batch.
      if (opts.signal?.aborted) { aborted = true; break; }
    }
  }
  return { ...evalResult(acc), aborted };
}

function weightPenalty(params: Tensor[], l1: number, l2: number): Tensor | null {
  let pen: Tensor | null = null;
  for (const p of params) {
    if (p.ndim < 2) continue;
    if (l1) { const t = p.abs().sum().mul(l1); pen = pen ? pen.add(t) : t; }
    if (l2) { const t = p.square().sum().mul(l2); pen = pen ? pen.add(t) : t; }
  }
  return pen;
}

/**
 * Trains `model` on `opts.train` for `opts.epochs` epochs and returns the learning curves.
 *
 * Async: yields to the event loop between batches, validation batches included, so a server
 * stays responsive. Stops cleanly (returning what it has, with `history.stopReason` set) when
 * `signal` aborts (checked before every training and validation batch; an epoch whose validation
 * was cut short records NaN val scores), when `timeBudgetMs` is spent, or when a callback sets
 * `ctx.stop`. Calls `model.train()` before
 * training batches and evaluates validation data in eval mode without gradients. A NaN or
 * infinite input, loss, gradient or parameter throws a DivergenceError naming the epoch, step,
 * learning rate and (for gradients and parameters) the parameter and its layer. For a loss that
 * is not finite it also says where the first non-finite value arose: the input batch, the first
 * layer whose output is not finite although its input is (the batch's forward pass is re-run
 * layer by layer on this failure path only), or the loss function / penalties.
 *
 * Memory: the parameters' gradient buffers are reused from one step to the next (as with an
 * in-place zero_grad), so a callback that keeps a gradient past its step should copy it
 * (`p.grad.toArray()`). Together with the buffer pool (see `memoryStats()`), a warmed-up
 * training step of a Sequential of built-in layers allocates no new large buffers.
 */
export async function fit(model: TrainableModel, opts: FitOptions): Promise<History> {
  const epochs = opts.epochs ?? 1;
  if (!Number.isInteger(epochs) || epochs < 0) throw new LernenError(`fit: epochs must be a non-negative integer, got ${epochs}`);
  if (!opts.train || typeof (opts.train as Iterable<Batch>)[Symbol.iterator] !== 'function') {
    throw new LernenError('fit: options.train must be an iterable of batches (a DataLoader)');
  }
  if (!opts.optimizer || typeof opts.optimizer.step !== 'function') throw new LernenError('fit: options.optimizer is required');
  const budget = opts.timeBudgetMs;
  if (budget !== undefined && !(budget > 0)) throw new LernenError(`fit: timeBudgetMs must be positive, got ${budget}`);
  for (const k of ['l1', 'l2'] as const) {
    const v = opts[k];
    if (v !== undefined && !(v >= 0 && Number.isFinite(v))) throw new LernenError(`fit: ${k} must be a non-negative number, got ${v}`);
  }
  const lossFn = resolveLoss(opts.loss);
  const check = opts.checkNumerics ?? true;
  const yieldEvery = Math.max(1, opts.yieldEvery ?? 1);
  const callbacks = opts.callbacks ?? [];
  const history = new History();
  const ctx: FitContext = { model, optimizer: opts.optimizer, history, stop: null };
  const t0 = performance.now();
  const outOfTime = () => budget !== undefined && performance.now() - t0 >= budget;
  const params = model.parameters();
  const sites = check ? parameterSites(model) : [];
  let step = 0;

  for (const cb of callbacks) await cb.onTrainBegin?.(ctx);
  try {
    for (let epoch = 1; epoch <= epochs && !ctx.stop; epoch++) {
      for (const cb of callbacks) await cb.onEpochBegin?.(epoch, ctx);
      const te = performance.now();
      const lr = opts.optimizer.paramGroups[0]?.lr ?? NaN;
      model.train();
      let lossSum = 0;
      let right = 0;
      let seen = 0;
      let batch = 0;
      for (const { x, y, finite } of epochOf(opts.train)) {
        if (opts.signal?.aborted) { ctx.stop = 'aborted'; break; }
        if (outOfTime()) { ctx.stop = 'time budget'; break; }
        step++;
        batch++;
        if (check && finite !== true) checkInput(x, epoch, step, opts.optimizer.paramGroups[0]?.lr ?? lr);
        // Keep each parameter's gradient buffer for the next backward (zeroed and reused instead
        // of a fresh allocation): in fit(), p.grad's storage is reused from step to step.
        for (const p of params) {
          if (p.grad && p._spareGrad === null && p.grad.data.length === p.size) p._spareGrad = p.grad.data;
        }
        opts.optimizer.zeroGrad();
        const out = model.forward(x);
        const criterion = lossFn(out, y);
        let loss = criterion;
        const pen = weightPenalty(params, opts.l1 ?? 0, opts.l2 ?? 0);
        if (pen) loss = loss.add(pen);
        const reg = model.regularizationLoss?.() ?? null;
        if (reg) loss = loss.add(reg);
        const lv = loss.item();
        const curLr = opts.optimizer.paramGroups[0]?.lr ?? lr;
        // Only now, on failure, is the origin looked for (a forward re-run layer by layer).
        if (!Number.isFinite(lv)) throw lossDivergence(model, x, out, { criterion, penalty: pen, regularization: reg }, lv, epoch, step, curLr);
        loss.backward();
        if (check) checkTensors(sites, 'gradient', epoch, step, curLr);
        opts.optimizer.step();
        if (check) {
          // The built-in optimizers' own step() counts the non-finite values it writes: scan only
          // when the count is unknown or not 0 (the scan then names the parameter and index).
          const nf = countsNonFinite(opts.optimizer) ? (opts.optimizer as { lastStepNonFinite?: number | null }).lastStepNonFinite : null;
          if (typeof nf !== 'number' || nf !== 0) checkTensors(sites, 'parameter', epoch, step, curLr);
        }
        if (opts.scheduler?.perBatch) opts.scheduler.step();
        lossSum += lv * y.length;
        right += correct(out, y);
        seen += y.length;
        if (opts.recordSteps) history.steps.push(lv);
        const elapsed = performance.now() - te;
        const info: BatchEndInfo = { epoch, batch, batches: opts.train.length, loss: lv, samples: seen, rate: seen / Math.max(elapsed / 1000, 1e-9), elapsedEpochMs: elapsed };
        for (const cb of callbacks) await cb.onBatchEnd?.(info, ctx);
        if (ctx.stop) break;
        if (batch % yieldEvery === 0) await tick();
      }
      if (seen === 0) break;
      let val = { loss: NaN, accuracy: NaN };
      if (opts.val && !(ctx.stop === 'aborted')) {
        // Yields between validation batches too; an abort here leaves the epoch without a val score.
        const r = await evaluateAsync(model, opts.val, lossFn, { signal: opts.signal, yieldEvery });
        if (r.aborted) ctx.stop = 'aborted';
        else val = r;
      }
      const rec: EpochRecord = {
        epoch,
        trainLoss: lossSum / seen,
        trainAccuracy: right / seen,
        valLoss: val.loss,
        valAccuracy: val.accuracy,
        lr,
        seconds: (performance.now() - te) / 1000,
      };
      history.epochs.push(rec);
      if (opts.scheduler && !opts.scheduler.perBatch) opts.scheduler.step(Number.isFinite(val.loss) ? val.loss : rec.trainLoss);
      for (const cb of callbacks) await cb.onEpochEnd?.(rec, ctx);
      if (!ctx.stop && opts.signal?.aborted) ctx.stop = 'aborted';
      if (!ctx.stop && outOfTime() && epoch < epochs) ctx.stop = 'time budget';
      await tick();
    }
  } finally {
    model.train();
    history.seconds = (performance.now() - t0) / 1000;
    history.stopReason = ctx.stop ?? 'completed';
  }
  for (const cb of callbacks) await cb.onTrainEnd?.(ctx);
  return history;
}
