/**
 * Seconds per epoch of a configuration, measured from the trials so far: each reported
 * intermediate value carries the trial's run time, so a trial's rate is seconds / epochs at its
 * latest report. A new configuration costs the median rate of the trials with the same values of
 * its cost parameters (e.g. batchSize), else of its nearest measured neighbours.
 */
import { percentile } from './pruner';
import type { Space, Params } from './space';
import type { TrialRecord } from './types';

function rateOf(t: TrialRecord): number | null {
  const last = t.intermediate[t.intermediate.length - 1];
  if (!last || !(last.seconds > 0)) return null;
  return last.seconds / Math.max(last.step, 1);
}

function distance(space: Space, names: readonly string[], a: Params, b: Params): number {
  let d = 0;
  for (const n of names) {
    const x = a[n];
    const y = b[n];
    if (x === y) continue;
    const dist = space.dists[n];
    if (dist && typeof x === 'number' && typeof y === 'number' && (dist.kind === 'uniform' || dist.kind === 'logUniform' || dist.kind === 'intUniform')) {
      d += dist.kind === 'logUniform'
        ? Math.abs(Math.log(x) - Math.log(y)) / Math.log(dist.high / dist.low)
        : Math.abs(x - y) / (dist.high - dist.low);
    } else {
      d += 1;
    }
  }
  return d;
}

/** Estimated seconds per epoch of `params`, or null when nothing has been measured yet. */
export function secondsPerEpoch(space: Space, params: Params, trials: readonly TrialRecord[], costParams?: readonly string[]): number | null {
  const names = (costParams ?? space.names).filter((n) => space.names.includes(n));
  const measured = trials.map((t) => ({ t, rate: rateOf(t) })).filter((m): m is { t: TrialRecord; rate: number } => m.rate !== null);
  if (!measured.length) return null;
  let bestD = Infinity;
  for (const m of measured) bestD = Math.min(bestD, distance(space, names, params, m.t.params));
  const near = measured.filter((m) => distance(space, names, params, m.t.params) === bestD);
  return percentile(near.map((m) => m.rate), 50);
}

/** Epochs a trial plans to run: its `epochs` parameter (capped by maxEpochs), else maxEpochs, else the most any complete trial ran. */
export function plannedEpochs(params: Readonly<Record<string, unknown>>, maxEpochs: number | null, trials: readonly TrialRecord[]): number | null {
  const e = params.epochs;
  if (typeof e === 'number' && e > 0) return maxEpochs ? Math.min(e, maxEpochs) : e;
  if (maxEpochs) return maxEpochs;
  let most = 0;
  for (const t of trials) if (t.state === 'complete' && t.intermediate.length) most = Math.max(most, t.intermediate[t.intermediate.length - 1]!.step);
  return most || null;
}
