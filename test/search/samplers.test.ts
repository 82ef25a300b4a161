import { describe, expect, it } from 'vitest';
import * as search from '../../src/search';
import { RandomSampler, TpeSampler } from '../../src/search/sampler';
import { Space } from '../../src/search/space';
import type { TrialRecord } from '../../src/search/types';

function record(number: number, params: Record<string, number | string>, value: number, state: TrialRecord['state'] = 'complete'): TrialRecord {
  return { id: number + 1, number, state, params, value, intermediate: [], seconds: 0, attempts: 0, worker: null, createdAt: 0, startedAt: 0, finishedAt: 0, userAttrs: {}, systemAttrs: {} };
}

/** Runs a sampler against f on a growing list of trials (no storage). */
function drive(sampler: search.Sampler, space: Space, f: (p: Record<string, unknown>) => number, n: number, direction: search.Direction = 'maximize'): TrialRecord[] {
  const trials: TrialRecord[] = [];
  for (let i = 0; i < n; i++) {
    const p = sampler.sample({ space, number: i, trials, direction, rejected: [] })!;
    trials.push(record(i, p as Record<string, number>, f(p)));
  }
  return trials;
}

const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]!; };

describe('random sampler', () => {
  const space = Space.from({ lr: { logUniform: [1e-4, 1e-1] }, m: { uniform: [0, 1] }, k: { intUniform: [1, 9] }, o: ['sgd', 'adam', 'rmsprop'] });

  it('is reproducible with a seed and independent of the order trials are claimed in', () => {
    const a = new RandomSampler({ seed: 42 });
    const b = new RandomSampler({ seed: 42 });
    const c = new RandomSampler({ seed: 43 });
    const ctx = (number: number) => ({ space, number, trials: [], direction: 'maximize' as const, rejected: [] });
    const fromA = [0, 1, 2, 3, 4].map((n) => a.sample(ctx(n)));
    const fromB = [4, 3, 2, 1, 0].map((n) => b.sample(ctx(n))).reverse();
    expect(fromB).toEqual(fromA);
    expect([0, 1, 2, 3, 4].map((n) => c.sample(ctx(n)))).not.toEqual(fromA);
    for (const p of fromA) {
      for (const n of space.names) expect(space.contains(n, p[n])).toBe(true);
    }
  });

  it('covers each distribution (log-uniform spreads over decades)', () => {
    const s = new RandomSampler({ seed: 7 });
    const ps = Array.from({ length: 2000 }, (_, n) => s.sample({ space, number: n, trials: [], direction: 'maximize', rejected: [] }));
    const decades = [0, 0, 0];
    for (const p of ps) decades[Math.min(2, Math.floor(Math.log10(p.lr as number) + 4))]!++;
    for (const d of decades) expect(d).toBeGreaterThan(550);
    expect(new Set(ps.map((p) => p.k)).size).toBe(9);
    expect(new Set(ps.map((p) => p.o)).size).toBe(3);
    const ms = ps.map((p) => p.m as number);
    expect(Math.min(...ms)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...ms)).toBeLessThan(1);
  });

  it('a seeded study draws the same parameters on every run', async () => {
    const run = async () => {
      const st = search.study({ name: 'seeded', storage: 'memory', space: { x: { uniform: [-5, 5] }, o: ['a', 'b'] }, sampler: 'random', seed: 9 });
      const r = await st.optimize((t) => Number(t.params.x), { trials: 5 });
      await st.close();
      return r.trials.map((t) => t.params);
    };
    expect(await run()).toEqual(await run());
  });
});

describe('TPE sampler', () => {
  it('concentrates on the good region of a 1-D quadratic after the startup trials', () => {
    const space = Space.from({ x: { uniform: [-10, 10] } });
    const f = (p: Record<string, unknown>) => -(((p.x as number) - 3) ** 2);
    const dists = (ts: TrialRecord[]) => ts.slice(10).map((t) => Math.abs((t.params.x as number) - 3));
    const near: number[] = [];
    const nearRandom: number[] = [];
    for (const seed of [1, 2, 3, 4, 5]) {
      const tpe = drive(new TpeSampler({ seed, nStartupTrials: 10 }), space, f, 60);
      const rnd = drive(new RandomSampler({ seed }), space, f, 60);
      // The startup trials are the random sampler's draws.
      expect(tpe.slice(0, 10).map((t) => t.params)).toEqual(rnd.slice(0, 10).map((t) => t.params));
      near.push(dists(tpe).filter((d) => d < 1.5).length / 50);
      nearRandom.push(dists(rnd).filter((d) => d < 1.5).length / 50);
      expect(Math.max(...tpe.map((t) => t.value!))).toBeGreaterThan(-0.05);
    }
    // Random puts 15% of its draws within ±1.5 of the optimum; TPE about half after the startup.
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(mean(nearRandom)).toBeLessThan(0.25);
    expect(mean(near)).toBeGreaterThan(0.4);
  });

  it('works when minimizing, on a log scale and for integers', () => {
    const space = Space.from({ lr: { logUniform: [1e-5, 1] }, k: { intUniform: [0, 20] } });
    const f = (p: Record<string, unknown>) => (Math.log10(p.lr as number) + 2) ** 2 + ((p.k as number) - 15) ** 2 / 10;
    const ts = drive(new TpeSampler({ seed: 3 }), space, f, 60, 'minimize');
    const late = ts.slice(-20);
    expect(median(late.map((t) => Math.abs(Math.log10(t.params.lr as number) + 2)))).toBeLessThan(0.7);
    expect(median(late.map((t) => Math.abs((t.params.k as number) - 15)))).toBeLessThanOrEqual(2);
    for (const t of ts) expect(Number.isInteger(t.params.k)).toBe(true);
  });

  it('prefers the good category (smoothed counts)', () => {
    const space = Space.from({ opt: ['sgd', 'adam', 'rmsprop', 'adamw'] });
    const score: Record<string, number> = { sgd: 0.9, adam: 0.97, rmsprop: 0.92, adamw: 0.91 };
    const ts = drive(new TpeSampler({ seed: 5, nStartupTrials: 8 }), space, (p) => score[p.opt as string]! + 0, 48);
    const late = ts.slice(-20).filter((t) => t.params.opt === 'adam').length;
    expect(late).toBeGreaterThanOrEqual(12);
  });

  it('runs in a study end to end (pruned and failed trials included in the model)', async () => {
    const st = search.study({ name: 'tpe', storage: 'memory', space: { x: { uniform: [-10, 10] } }, sampler: { type: 'tpe', seed: 11, nStartupTrials: 8, nEiCandidates: 24, priorWeight: 1, gammaMax: 25 }, pruner: 'none' });
    const r = await st.optimize((t) => {
      const x = t.params.x as number;
      if (x < -9) throw new Error('synthetic failure');
      return -((x - 3) ** 2);
    }, { trials: 40 });
    await st.close();
    expect(r.best!.value!).toBeGreaterThan(-0.5);
    expect(median(r.trials.slice(-15).map((t) => Math.abs((t.params.x as number) - 3)))).toBeLessThan(2.5);
  });
});
