import type { Params } from './space';

export type Direction = 'maximize' | 'minimize';
export const DIRECTIONS: readonly Direction[] = ['maximize', 'minimize'];

/**
 * waiting: queued (re-queued after its worker died or was interrupted); running: claimed by a
 * live worker; complete: finished with a value; pruned: stopped by the pruner (value = its best
 * intermediate value); failed: the objective threw, or its worker died more often than allowed.
 */
export type TrialState = 'waiting' | 'running' | 'complete' | 'pruned' | 'failed';

/** One reported intermediate value: `seconds` is the trial's run time (all attempts) at the report. */
export interface Intermediate {
  step: number;
  value: number;
  seconds: number;
}

/** A trial as stored. Times are milliseconds on the storage's clock. */
export interface TrialRecord {
  id: number;
  number: number;
  state: TrialState;
  params: Params;
  value: number | null;
  intermediate: Intermediate[];
  /** Run time over all attempts, in seconds. */
  seconds: number;
  /** How many times the trial was re-queued after its worker died. */
  attempts: number;
  worker: string | null;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  userAttrs: Record<string, unknown>;
  systemAttrs: Record<string, unknown>;
}

/** `a` is better than `b` in `direction` (NaN is never better). */
export function better(direction: Direction, a: number, b: number): boolean {
  if (!Number.isFinite(a)) return false;
  if (!Number.isFinite(b)) return true;
  return direction === 'maximize' ? a > b : a < b;
}

/** The best of the trials that have a value (complete or pruned), or null. */
export function bestTrial(trials: readonly TrialRecord[], direction: Direction, states: readonly TrialState[] = ['complete']): TrialRecord | null {
  let best: TrialRecord | null = null;
  for (const t of trials) {
    if (!states.includes(t.state) || t.value === null || !Number.isFinite(t.value)) continue;
    if (!best || better(direction, t.value, best.value!)) best = t;
  }
  return best;
}

/** The best intermediate value of a trial so far, or NaN. */
export function bestIntermediate(values: readonly Intermediate[], direction: Direction): number {
  let best = NaN;
  for (const v of values) if (better(direction, v.value, best)) best = v.value;
  return best;
}
