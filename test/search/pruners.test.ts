import { describe, expect, it } from 'vitest';
import * as search from '../../src/search';
import { AshaPruner, HyperbandPruner, MedianPruner, percentile } from '../../src/search/pruner';
import type { Intermediate, TrialRecord, TrialState } from '../../src/search/types';

function curve(values: number[], secondsPerStep = 1): Intermediate[] {
  return values.map((value, i) => ({ step: i + 1, value, seconds: (i + 1) * secondsPerStep }));
}

function rec(number: number, values: number[], state: TrialState = 'complete', secondsPerStep = 1): TrialRecord {
  const iv = curve(values, secondsPerStep);
  return { id: number + 1, number, state, params: {}, value: values.length ? Math.max(...values) : null, intermediate: iv, seconds: iv.length * secondsPerStep, attempts: 0, worker: null, createdAt: 0, startedAt: 0, finishedAt: 0, userAttrs: {}, systemAttrs: {} };
}

describe('median pruner', () => {
  const others = [
    rec(0, [0.5, 0.6, 0.7]), rec(1, [0.6, 0.7, 0.8]), rec(2, [0.7, 0.8, 0.9]), rec(3, [0.4, 0.5, 0.6]), rec(4, [0.8, 0.85, 0.9]),
  ];
  const p = new MedianPruner({ nStartupTrials: 5 });
  const decide = (values: number[], o = others, pr = p) => pr.shouldPrune({ trial: { number: 9, intermediate: curve(values) }, others: o, direction: 'maximize' });

  it('prunes a trial whose best value so far is below the median of complete trials at the same step', () => {
    expect(percentile([0.5, 0.6, 0.7, 0.4, 0.8], 50)).toBe(0.6);
    expect(decide([0.55])).toBe(true); // median at step 1 is 0.6
    expect(decide([0.65])).toBe(false);
    expect(decide([0.65, 0.6])).toBe(true); // best 0.65 < median 0.7 at step 2
    expect(decide([0.75, 0.6])).toBe(false); // best so far 0.75 ≥ 0.7
  });

  it('waits for nStartupTrials complete trials and nWarmupSteps; ignores running and pruned trials', () => {
    expect(decide([0.1], others.slice(0, 4))).toBe(false);
    expect(decide([0.1], [...others.slice(0, 4), rec(5, [0.9], 'pruned'), rec(6, [0.9], 'running')])).toBe(false);
    const warm = new MedianPruner({ nStartupTrials: 5, nWarmupSteps: 2 });
    expect(decide([0.1], others, warm)).toBe(false);
    expect(decide([0.1, 0.1], others, warm)).toBe(true);
    expect(decide([Number.NaN])).toBe(true);
  });

  it('minimizing: prunes when above the median', () => {
    const o = [rec(0, [3]), rec(1, [2]), rec(2, [1])];
    const m = new MedianPruner({ nStartupTrials: 3 });
    expect(m.shouldPrune({ trial: { number: 5, intermediate: curve([2.5]) }, others: o, direction: 'minimize' })).toBe(true);
    expect(m.shouldPrune({ trial: { number: 5, intermediate: curve([1.5]) }, others: o, direction: 'minimize' })).toBe(false);
  });
});

describe('ASHA (asynchronous successive halving)', () => {
  const asha = new AshaPruner({ minResource: 1, reductionFactor: 3 });
  const decide = (values: number[], others: TrialRecord[], pr: search.Pruner = asha, sps = 1) => pr.shouldPrune({ trial: { number: 99, intermediate: curve(values, sps) }, others, direction: 'maximize' });

  it('promotes the top 1/η at each rung it reaches and prunes the rest', () => {
    const eight = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8].map((v, i) => rec(i, [v], 'pruned'));
    // Nine competitors at rung 0 (epoch 1), this trial included: the top ⌊9/3⌋ = 3 go on.
    expect(decide([0.85], eight)).toBe(false);
    expect(decide([0.65], eight)).toBe(false); // third after 0.8 and 0.7
    expect(decide([0.55], eight)).toBe(true); // fourth
    // Epoch 2 is between rungs: no decision, however bad.
    expect(decide([0.85, 0.0], eight)).toBe(false);
    // Rung 1 at epoch 3 (= 1·3¹): competes with the values others had at epoch 3.
    const deep = [0.5, 0.6, 0.9].map((v, i) => rec(10 + i, [v, v, v]));
    expect(decide([0.95, 0.9, 0.8], deep)).toBe(true); // 0.8 at epoch 3 vs [0.5, 0.6, 0.9, 0.8]: only the best goes on
    expect(decide([0.95, 0.9, 0.91], deep)).toBe(false);
  });

  it('with fewer than η competitors only the best goes on (the first trial always does)', () => {
    expect(decide([0.1], [])).toBe(false);
    expect(decide([0.5], [rec(0, [0.6])])).toBe(true);
    expect(decide([0.7], [rec(0, [0.6])])).toBe(false);
  });

  it('counts rungs in seconds with resource: seconds', () => {
    const sec = new AshaPruner({ minResource: 2, reductionFactor: 2, resource: 'seconds' });
    // Others reached 2 s at their second report (1 s per step).
    const others = [rec(0, [0.5, 0.9], 'complete', 1), rec(1, [0.5, 0.3], 'pruned', 1)];
    // This trial takes 2 s per step: its first report is at 2 s, the first rung.
    expect(decide([0.8], others, sec, 2)).toBe(true); // [0.9, 0.3, 0.8] → top ⌊3/2⌋ = 1: needs 0.9
    expect(decide([0.95], others, sec, 2)).toBe(false);
    // At 1 s per step the first report (1 s) is below the rung: no decision.
    expect(decide([0.0], others, sec, 1)).toBe(false);
  });

  it('Hyperband assigns trials to brackets by number and runs ASHA within each', () => {
    const hb = new HyperbandPruner({ minResource: 1, maxResource: 9, reductionFactor: 3 });
    expect(hb.brackets).toBe(3);
    const counts = [0, 0, 0];
    for (let n = 0; n < 300; n++) counts[hb.bracketOf(n)]!++;
    // Optuna's budgets ⌈3·3²/3⌉ = 9, ⌈3·3/2⌉ = 5, 3: the aggressive bracket gets the most trials.
    expect(counts[0]).toBeGreaterThan(counts[1]!);
    expect(counts[1]).toBeGreaterThan(counts[2]!);
    const b0 = [...Array(60).keys()].filter((n) => hb.bracketOf(n) === 0);
    const b2 = [...Array(60).keys()].filter((n) => hb.bracketOf(n) === 2);
    const self = b0.find((n) => n > 30)!;
    const peers = b0.filter((n) => n !== self).slice(0, 8).map((n, i) => rec(n, [0.1 * (i + 1)]));
    const strangers = b2.slice(0, 8).map((n) => rec(n, [0.99]));
    const d = (v: number, others: TrialRecord[]) => hb.shouldPrune({ trial: { number: self, intermediate: curve([v]) }, others, direction: 'maximize' });
    expect(d(0.55, [...peers, ...strangers])).toBe(true);
    expect(d(0.75, [...peers, ...strangers])).toBe(false); // the bracket-2 trials (0.99) do not compete
    expect(d(0.75, [...peers, ...strangers.map((t) => ({ ...t, number: peers[0]!.number }))])).toBe(true);
  });
});

describe('pruners in a study', () => {
  // Trial quality q: its curve is q·(1 − 0.5/epoch), 6 epochs.
  const qs = [0.9, 0.8, 0.95, 0.85, 0.3, 0.97, 0.2, 0.92, 0.1, 0.99];
  const objective = async (t: search.Trial) => {
    const q = t.params.q as number;
    let v = 0;
    for (let e = 1; e <= 6; e++) {
      v = q * (1 - 0.5 / e);
      await t.report(e, v);
      if (t.shouldPrune()) t.prune();
    }
    return v;
  };

  it('median: prunes the poor trials after the startup trials, keeps the good ones', async () => {
    const st = search.study({ name: 'median', storage: 'memory', space: { q: qs }, sampler: 'grid', pruner: { type: 'median', nStartupTrials: 3, nWarmupSteps: 0, intervalSteps: 1 } });
    const r = await st.optimize(objective);
    await st.close();
    const pruned = r.trials.filter((t) => t.state === 'pruned').map((t) => t.params.q);
    // At epoch 1: 0.85 → 0.425 < median(0.45, 0.4, 0.475) = 0.45; 0.92 → 0.46 < median(0.45, 0.4, 0.475, 0.485) = 0.4625.
    expect(pruned.sort()).toEqual([0.1, 0.2, 0.3, 0.85, 0.92]);
    for (const t of r.trials.filter((x) => x.state === 'pruned')) {
      expect(t.intermediate.length).toBe(1);
      expect(t.value).toBe(t.intermediate[0]!.value);
    }
    expect(r.best!.params.q).toBe(0.99);
  });

  it('ASHA: stops the trials outside the top 1/η at each rung', async () => {
    const st = search.study({ name: 'asha', storage: 'memory', space: { q: qs }, sampler: 'grid', pruner: { type: 'asha', minResource: 1, reductionFactor: 2, minEarlyStoppingRate: 0, resource: 'epochs' } });
    const r = await st.optimize(objective);
    await st.close();
    const byQ = new Map(r.trials.map((t) => [t.params.q as number, t]));
    expect(byQ.get(0.9)!.state).toBe('complete'); // first trial: alone at every rung
    expect(byQ.get(0.99)!.state).toBe('complete');
    for (const q of [0.8, 0.3, 0.2, 0.1]) expect(byQ.get(q)!.state).toBe('pruned');
    for (const q of [0.3, 0.2, 0.1]) expect(byQ.get(q)!.intermediate.length).toBe(1);
    // Decisions happen only at rungs 1, 2, 4 (η = 2).
    for (const t of r.trials) if (t.state === 'pruned') expect([1, 2, 4]).toContain(t.intermediate.length);
  });
});
