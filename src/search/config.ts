import * as os from 'node:os';
import * as path from 'node:path';
import { SearchError } from './errors';
import type { ObjectiveSpec } from './objective';
import type { PrunerSpec } from './pruner';
import type { SamplerSpec } from './sampler';
import type { StorageTarget } from './storage';

/** Budgets, stored with the study and enforced by every worker when it claims a trial. */
export interface Budget {
  /** Wall-clock budget of the whole study (ms), over all its sessions. */
  budgetMs: number | null;
  /** Wall-clock budget of one trial (ms), over all its attempts. */
  trialBudgetMs: number | null;
  /** Trials the study runs in all (resuming counts the trials it already has). */
  maxTrials: number | null;
  /** Epochs per trial at most (the objective reads trial.maxEpochs). */
  maxEpochs: number | null;
}

export interface HeartbeatConfig {
  /** How often a worker reports that it is alive (ms). */
  intervalMs: number;
  /** A trial whose worker has been silent this long is re-queued or failed (ms). */
  staleMs: number;
  /** How often a trial is re-queued after its worker died before it is marked failed. */
  maxRetries: number;
}

/** Everything about a study besides its name, direction and space, as stored (JSON) with it. */
export interface StudyConfig {
  version: 1;
  sampler: SamplerSpec;
  pruner: PrunerSpec;
  objective: ObjectiveSpec | null;
  budget: Budget;
  heartbeat: HeartbeatConfig;
  /** Root directory for per-trial checkpoints; null: next to the SQLite file, or the temp dir. */
  checkpointDir: string | null;
}

export const DEFAULT_HEARTBEAT: HeartbeatConfig = { intervalMs: 2_000, staleMs: 30_000, maxRetries: 2 };
export const NO_BUDGET: Budget = { budgetMs: null, trialBudgetMs: null, maxTrials: null, maxEpochs: null };

function positive(where: string, v: unknown, int = false): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || !(v > 0) || (int && !Number.isInteger(v))) {
    throw new SearchError(`${where} must be a positive ${int ? 'integer' : 'number'}, got ${String(v)}`);
  }
  return v;
}

/** Validates budget fields; undefined leaves the stored value, null removes it. */
export function mergeBudget(stored: Budget, o: Partial<Record<keyof Budget, number | null | undefined>>): Budget {
  const out = { ...stored };
  const names: Record<keyof Budget, [string, boolean]> = {
    budgetMs: ['budgetMs (the study budget)', false], trialBudgetMs: ['trialBudgetMs (the per-trial budget)', false],
    maxTrials: ['trials (the maximum number of trials)', true], maxEpochs: ['maxEpochs', true],
  };
  for (const k of Object.keys(names) as Array<keyof Budget>) {
    const v = o[k];
    if (v === undefined) continue;
    out[k] = v === null ? null : positive(names[k][0], v, names[k][1]);
  }
  return out;
}

export function mergeHeartbeat(stored: HeartbeatConfig, o: Partial<HeartbeatConfig>): HeartbeatConfig {
  const out = { ...stored };
  if (o.intervalMs !== undefined) out.intervalMs = positive('heartbeatMs', o.intervalMs);
  if (o.staleMs !== undefined) out.staleMs = positive('staleMs', o.staleMs);
  if (o.maxRetries !== undefined) {
    if (!Number.isInteger(o.maxRetries) || o.maxRetries < 0) throw new SearchError(`maxRetries must be a non-negative integer, got ${o.maxRetries}`);
    out.maxRetries = o.maxRetries;
  }
  if (out.staleMs < 2 * out.intervalMs) {
    throw new SearchError(`staleMs (${out.staleMs}) must be at least twice heartbeatMs (${out.intervalMs}), or live workers would look dead`);
  }
  return out;
}

/** The checkpoint root of a study: the configured dir, else `<db file>.checkpoints/<study>`, else the temp dir. */
export function checkpointRoot(config: StudyConfig, target: StorageTarget, study: string): string {
  if (config.checkpointDir) return path.resolve(config.checkpointDir, study);
  if (target.kind === 'sqlite') return `${target.file}.checkpoints${path.sep}${study}`;
  return path.join(os.tmpdir(), 'lernen-search', study);
}
