import { SearchError, TrialPruned } from './errors';
import type { Pruner } from './pruner';
import type { Params } from './space';
import type { Storage, WorkerInfo } from './storage';
import { bestIntermediate, type Direction, type Intermediate, type TrialRecord } from './types';

/** Why a trial's signal aborted. */
export type TrialAbortReason = 'time budget' | 'interrupted' | 'lost';

export interface TrialInit {
  record: TrialRecord;
  params: Record<string, unknown>;
  studyId: number;
  studyName: string;
  direction: Direction;
  storage: Storage;
  worker: WorkerInfo;
  pruner: Pruner;
  /** Milliseconds this attempt may run (min of the trial budget left and the study budget left). */
  timeLeftMs: number;
  maxEpochs: number | null;
  checkpointDir: string;
}

/**
 * One run of the objective with one set of parameters, as the objective sees it.
 *
 * ```ts
 * async (trial) => {
 *   for (let epoch = 1; epoch <= 10; epoch++) {
 *     const acc = trainOneEpoch(trial.params.lr as number);
 *     await trial.report(epoch, acc);
 *     if (trial.shouldPrune()) trial.prune();
 *     if (trial.signal.aborted) break;   // out of time: return the best so far
 *   }
 *   return best;
 * }
 * ```
 */
export class Trial {
  /** The trial's number in its study (0, 1, …). */
  readonly number: number;
  readonly id: number;
  readonly studyName: string;
  readonly direction: Direction;
  /** Parameter values (choices of functions resolved to the functions). */
  readonly params: Readonly<Record<string, unknown>>;
  /** Parameter values as stored (functions by name). */
  readonly storedParams: Readonly<Params>;
  /** 0 on the first run; n after the trial was re-queued n times because its worker died. */
  readonly attempt: number;
  /** The study's maximum epochs per trial, or null. */
  readonly maxEpochs: number | null;
  /**
   * A directory for this trial's checkpoints (not created). Files left there by an earlier attempt
   * let a re-run resume; the worker deletes it when the trial ends.
   */
  readonly checkpointDir: string;
  /** Aborts when the trial runs out of time, the study is interrupted, or the worker lost the trial. */
  readonly signal: AbortSignal;
  /** Every intermediate value so far (earlier attempts included). */
  readonly intermediate: Intermediate[];
  /** Attributes stored with the trial (e.g. learning curves); set with setAttr(). */
  readonly userAttrs: Record<string, unknown>;

  private readonly ac = new AbortController();
  private readonly t0 = performance.now();
  private readonly priorSeconds: number;
  private readonly deadline: number;
  private readonly init: TrialInit;
  private pruneDecision = false;
  private timer: NodeJS.Timeout | null = null;

  constructor(init: TrialInit) {
    const r = init.record;
    this.init = init;
    this.number = r.number;
    this.id = r.id;
    this.studyName = init.studyName;
    this.direction = init.direction;
    this.params = Object.freeze({ ...init.params });
    this.storedParams = Object.freeze({ ...r.params });
    this.attempt = r.attempts;
    this.maxEpochs = init.maxEpochs;
    this.checkpointDir = init.checkpointDir;
    this.intermediate = r.intermediate.map((v) => ({ ...v }));
    this.userAttrs = { ...r.userAttrs };
    this.priorSeconds = r.seconds;
    this.signal = this.ac.signal;
    this.deadline = this.t0 + init.timeLeftMs;
    // setTimeout fires at once for delays above 2³¹−1 ms (24.8 days): no timer for those.
    if (Number.isFinite(init.timeLeftMs) && init.timeLeftMs < 2 ** 31 - 1) {
      this.timer = setTimeout(() => this.abort('time budget'), Math.max(0, init.timeLeftMs));
    }
  }

  /** Run time over all attempts so far, in seconds. */
  get seconds(): number {
    return this.priorSeconds + (performance.now() - this.t0) / 1000;
  }

  /** Milliseconds left before the trial must stop (Infinity without a budget). */
  timeLeftMs(): number {
    return Math.max(0, this.deadline - performance.now());
  }

  /** The last step reported, or 0. */
  get lastStep(): number {
    return this.intermediate.length ? this.intermediate[this.intermediate.length - 1]!.step : 0;
  }

  /** The best intermediate value so far (NaN if none). */
  get bestValue(): number {
    return bestIntermediate(this.intermediate, this.direction);
  }

  /** Why the signal aborted, or null. */
  get abortReason(): TrialAbortReason | null {
    return this.ac.signal.aborted ? (this.ac.signal.reason as TrialAbortReason) : null;
  }

  /** @internal */
  abort(reason: TrialAbortReason): void {
    if (!this.ac.signal.aborted) this.ac.abort(reason);
  }

  /** @internal */
  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /**
   * Records the objective's value after `step` (an epoch, counted from 1) and asks the pruner
   * whether to stop; read the answer with shouldPrune().
   */
  async report(step: number, value: number): Promise<void> {
    if (!Number.isSafeInteger(step) || step < 0) throw new SearchError(`trial ${this.number}: report step must be a non-negative integer, got ${step}`);
    if (typeof value !== 'number') throw new SearchError(`trial ${this.number}: report value must be a number, got ${typeof value}`);
    const v: Intermediate = { step, value, seconds: this.seconds };
    const i = this.intermediate.findIndex((x) => x.step === step);
    if (i >= 0) this.intermediate[i] = v;
    else {
      this.intermediate.push(v);
      this.intermediate.sort((a, b) => a.step - b.step);
    }
    const { storage, worker, pruner, studyId } = this.init;
    if (!(await storage.report(this.id, worker, v))) {
      this.abort('lost');
      return;
    }
    if (pruner.kind === 'none') { this.pruneDecision = false; return; }
    const others = (await storage.trials(studyId)).filter((t) => t.id !== this.id);
    this.pruneDecision = pruner.shouldPrune({ trial: { number: this.number, intermediate: this.intermediate }, others, direction: this.direction });
  }

  /** The pruner's decision after the latest report(). */
  shouldPrune(): boolean {
    return this.pruneDecision;
  }

  /** Ends the trial as pruned (throws TrialPruned, which the worker catches). */
  prune(message?: string): never {
    this.pruneDecision = true;
    throw new TrialPruned(message ?? `trial ${this.number} pruned at step ${this.lastStep}`);
  }

  /** Stores a JSON-serialisable attribute with the trial (e.g. its learning curves). */
  async setAttr(key: string, value: unknown): Promise<void> {
    this.userAttrs[key] = value;
    if (!(await this.init.storage.setUserAttrs(this.id, this.init.worker, { [key]: value }))) this.abort('lost');
  }
}
