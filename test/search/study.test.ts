import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as search from '../../src/search';
import type { Trial } from '../../src/search/trial';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lernen-search-study-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const db = (name: string) => `sqlite:${path.join(tmp, `${name}.db`)}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** An objective of `epochs` epochs of `ms` each; stops (keeping its best) when its signal aborts. */
function epochs(n: number, ms: number, value = (t: Trial, e: number) => Number(t.params.x ?? 0) + e / 100) {
  return async (t: Trial) => {
    let best = -Infinity;
    for (let e = t.lastStep + 1; e <= n; e++) {
      await sleep(ms);
      if (t.signal.aborted) break;
      const v = value(t, e);
      best = Math.max(best, v);
      await t.report(e, v);
    }
    return Number.isFinite(best) ? best : undefined;
  };
}

describe('grid order and resume', () => {
  it('runs grid points in order and a second run continues where the first stopped, keeping finished trials', async () => {
    const space = { a: [1, 2, 3], b: ['x', 'y'] };
    const s1 = search.study({ name: 'grid', storage: db('grid'), space, sampler: 'grid' });
    const r1 = await s1.optimize((t) => Number(t.params.a), { trials: 3 });
    await s1.close();
    expect(r1.trials.map((t) => t.params)).toEqual([{ a: 1, b: 'x' }, { a: 1, b: 'y' }, { a: 2, b: 'x' }]);
    expect(r1.reasons).toEqual(['all 3 trials done']);
    const s2 = search.study({ name: 'grid', storage: db('grid'), space, sampler: 'grid' });
    const seen: unknown[] = [];
    const r2 = await s2.optimize((t) => { seen.push(t.params); return Number(t.params.a); }, { trials: 10 });
    await s2.close();
    expect(seen).toEqual([{ a: 2, b: 'y' }, { a: 3, b: 'x' }, { a: 3, b: 'y' }]);
    expect(r2.trials.map((t) => t.number)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(r2.trials.slice(0, 3).map((t) => t.finishedAt)).toEqual(r1.trials.map((t) => t.finishedAt));
    expect(r2.reasons).toEqual(['the grid is exhausted (every grid point has a trial)']);
  });

  it('refuses to resume with another space or direction, and loads a stored study by name', async () => {
    const s = search.study({ name: 'fixed', storage: db('fixed'), space: { x: [1, 2] } });
    await s.optimize((t) => Number(t.params.x), { trials: 1 });
    await s.close();
    await expect(search.study({ name: 'fixed', storage: db('fixed'), space: { x: [1, 2, 3] } }).open()).rejects.toThrow(/exists with a different space/);
    await expect(search.study({ name: 'fixed', storage: db('fixed'), direction: 'minimize' }).open()).rejects.toThrow(/exists with direction maximize, not minimize/);
    await expect(search.loadStudy('missing', db('fixed'))).rejects.toThrow(/study missing does not exist/);
    const again = await search.loadStudy('fixed', db('fixed'));
    expect(again.space.toJSON()).toEqual({ x: [1, 2] });
    expect(again.config.sampler.type).toBe('tpe');
    expect((await again.trials()).length).toBe(1);
    await again.close();
  });
});

describe('budgets', () => {
  it('a study stops within a few seconds of its budget; the running trial stops cleanly with its best value', async () => {
    const s = search.study({ name: 'b1', storage: 'memory', space: { x: [1] } });
    const t0 = performance.now();
    const r = await s.optimize(epochs(50, 100), { budgetMs: 700 });
    const wall = performance.now() - t0;
    await s.close();
    expect(wall).toBeGreaterThan(600);
    expect(wall).toBeLessThan(700 + 1500);
    const t = r.trials[0]!;
    expect(t.state).toBe('complete');
    expect(t.systemAttrs.stopReason).toBe('time budget');
    expect(t.intermediate.length).toBeGreaterThanOrEqual(3);
    expect(t.intermediate.length).toBeLessThan(8);
    expect(t.value).toBe(Math.max(...t.intermediate.map((v) => v.value)));
    expect(r.reasons[0]).toMatch(/study budget of 0.7 s spent/);
  });

  it('a per-trial budget stops each trial with its best value so far', async () => {
    const s = search.study({ name: 'b2', storage: 'memory', space: { x: [1, 2] }, sampler: 'grid' });
    const r = await s.optimize(epochs(20, 100), { trialBudgetMs: 350 });
    await s.close();
    expect(r.trials).toHaveLength(2);
    for (const t of r.trials) {
      expect(t.state).toBe('complete');
      expect(t.systemAttrs.stopReason).toBe('time budget');
      expect(t.intermediate.length).toBeGreaterThanOrEqual(1);
      expect(t.intermediate.length).toBeLessThanOrEqual(4);
      expect(t.seconds).toBeLessThan(1.2);
    }
  });

  it('does not start a trial that the remaining budget cannot cover at its measured seconds per epoch', async () => {
    const s = search.study({ name: 'b3', storage: 'memory', space: { x: { uniform: [0, 1] } }, sampler: 'random', seed: 1 });
    const t0 = performance.now();
    const r = await s.optimize(epochs(5, 150), { budgetMs: 2600, maxEpochs: 5 });
    const wall = performance.now() - t0;
    await s.close();
    expect(r.reasons[0]).toMatch(/the remaining budget \([\d.]+ s\) cannot cover another trial/);
    expect(r.trials.length).toBeGreaterThanOrEqual(2);
    expect(r.trials.length).toBeLessThanOrEqual(3);
    for (const t of r.trials) {
      expect(t.state).toBe('complete');
      expect(t.systemAttrs.stopReason).toBeUndefined();
      expect(t.intermediate).toHaveLength(5);
    }
    expect(r.trials[1]!.systemAttrs.estimatedSeconds).toBeGreaterThan(0.6);
    expect(wall).toBeLessThan(2600);
  });

  it('the budget belongs to the study: a second run continues the same clock, a larger budget extends it', async () => {
    const opts = { name: 'b4', storage: db('b4'), space: { x: [1] } };
    const s1 = search.study(opts);
    const r1 = await s1.optimize(epochs(10, 100), { budgetMs: 600 });
    await s1.close();
    expect(r1.trials).toHaveLength(1);
    expect(r1.elapsedMs).toBeGreaterThan(550);
    await sleep(300); // idle time between runs does not count
    const s2 = search.study(opts);
    const t0 = performance.now();
    const r2 = await s2.optimize(epochs(10, 100));
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(r2.reasons[0]).toMatch(/study budget of 0.6 s spent/);
    expect(r2.trials).toHaveLength(1);
    await s2.close();
    const s3 = search.study(opts);
    const r3 = await s3.optimize(epochs(10, 100), { budgetMs: 1200 });
    await s3.close();
    expect(r3.trials).toHaveLength(2);
    expect(r3.elapsedMs).toBeGreaterThan(1150);
    expect(r3.elapsedMs).toBeLessThan(1200 + 800);
    expect(r3.trials[1]!.systemAttrs.stopReason).toBe('time budget');
  });

  it('rejects bad budgets before any trial starts', async () => {
    const s = search.study({ name: 'b5', storage: 'memory', space: { x: [1] } });
    let ran = false;
    const obj = () => { ran = true; return 1; };
    await expect(s.optimize(obj, { budgetMs: -1 })).rejects.toThrow(/budgetMs \(the study budget\) must be a positive number/);
    await expect(s.optimize(obj, { trials: 1.5 })).rejects.toThrow(/trials .* must be a positive integer/);
    await expect(s.optimize(obj, { heartbeatMs: 1000, staleMs: 1500 })).rejects.toThrow(/staleMs \(1500\) must be at least twice heartbeatMs/);
    await expect(s.optimize(obj, { workers: 2 })).rejects.toThrow(/a function objective runs with workers: 1/);
    await expect(s.optimize({ module: path.join(__dirname, 'fixtures', 'objectives.ts'), export: 'sleepy' }, { workers: 2 })).rejects.toThrow(/cannot share the in-memory storage/);
    expect(ran).toBe(false);
    await s.close();
  });
});

describe('trials', () => {
  it('an interrupted study re-queues its running trial, which resumes on the next run', async () => {
    const opts = { name: 'int', storage: db('int'), space: { x: [1, 2] }, sampler: 'grid' as const };
    const ac = new AbortController();
    const obj = async (t: Trial) => {
      const ck = path.join(t.checkpointDir, 'epoch');
      const start = fs.existsSync(ck) ? Number(fs.readFileSync(ck, 'utf8')) : 0;
      for (let e = start + 1; e <= 4; e++) {
        await sleep(40);
        if (t.signal.aborted) throw new Error('stopped');
        await t.report(e, e);
        fs.mkdirSync(t.checkpointDir, { recursive: true });
        fs.writeFileSync(ck, String(e));
        if (t.number === 0 && e === 2) ac.abort();
      }
      return start;
    };
    const s1 = search.study(opts);
    const r1 = await s1.optimize(obj, { signal: ac.signal });
    await s1.close();
    expect(r1.trials.map((t) => t.state)).toEqual(['waiting']);
    expect(r1.reasons).toEqual(['interrupted']);
    const s2 = search.study(opts);
    const r2 = await s2.optimize(obj);
    await s2.close();
    expect(r2.trials.map((t) => [t.state, t.value, t.attempts])).toEqual([['complete', 2, 0], ['complete', 0, 0]]);
    expect(r2.trials[0]!.intermediate.map((v) => v.step)).toEqual([1, 2, 3, 4]);
    expect(fs.existsSync(path.join(tmp, 'int.db.checkpoints', 'int', 'trial-0'))).toBe(false);
  });

  it('a failing objective marks its trial failed with the message and the study goes on', async () => {
    const s = search.study({ name: 'fail', storage: 'memory', space: { x: [1, 2, 3] }, sampler: 'grid' });
    const r = await s.optimize((t) => { if (t.params.x === 2) throw new Error('boom'); return Number(t.params.x); });
    await s.close();
    expect(r.trials.map((t) => t.state)).toEqual(['complete', 'failed', 'complete']);
    expect(r.trials[1]!.systemAttrs.error).toBe('boom');
    expect(r.best!.params.x).toBe(3);
  });

  it('passes functions from a choice to the objective and minimizes', async () => {
    function double(v: number) { return 2 * v; }
    function square(v: number) { return v * v; }
    const s = search.study({ name: 'fn', storage: 'memory', space: { f: search.choice([double, square]), v: [3] }, sampler: 'grid', direction: 'minimize' });
    const r = await s.optimize((t) => (t.params.f as (v: number) => number)(t.params.v as number));
    await s.close();
    expect(r.trials.map((t) => t.params.f)).toEqual(['double', 'square']);
    expect(r.best!.params.f).toBe('double');
  });

  it('a worker presumed dead cannot write to its trial any more; the re-run owns it; retries are limited', async () => {
    const st = await search.openStorage('memory');
    const s = search.study({ name: 'own', storage: st, space: { x: [1] } });
    await s.open();
    const row = (await st.getStudy('own'))!;
    const hb = { staleMs: 50, maxRetries: 1 };
    const A = { id: 'A', host: 'h', pid: 1 };
    const B = { id: 'B', host: 'h', pid: 2 };
    const C = { id: 'C', host: 'h', pid: 3 };
    const create = () => ({ kind: 'create' as const, params: { x: 1 } });
    const resume = (state: { trials: search.TrialRecord[] }) => {
      const w = state.trials.find((t) => t.state === 'waiting');
      return w ? { kind: 'resume' as const, trialId: w.id } : { kind: 'stop' as const, reason: 'nothing waiting' };
    };
    const a = await st.claim(row.id, A, hb, create);
    expect(a.kind).toBe('trial');
    const id = a.kind === 'trial' ? a.trial.id : -1;
    expect(await st.report(id, A, { step: 1, value: 0.5, seconds: 1 })).toBe(true);
    await sleep(80);
    const b = await st.claim(row.id, B, hb, resume);
    expect(b.recovered).toEqual([{ number: 0, state: 'waiting' }]);
    expect(b.kind === 'trial' && b.trial.id === id && b.trial.attempts === 1).toBe(true);
    expect(await st.report(id, A, { step: 2, value: 0.9, seconds: 2 })).toBe(false);
    expect(await st.heartbeat(row.id, A, id)).toBe(false);
    expect(await st.finish(id, A, { state: 'complete', value: 0.9, seconds: 2 })).toBe(false);
    expect(await st.heartbeat(row.id, B, id)).toBe(true);
    await sleep(80);
    const c = await st.claim(row.id, C, hb, resume);
    expect(c.recovered).toEqual([{ number: 0, state: 'failed' }]);
    const [t] = await st.trials(row.id);
    expect(t!.state).toBe('failed');
    expect(String(t!.systemAttrs.error)).toMatch(/worker B stopped sending heartbeats \(2 time\(s\); retry limit 1\)/);
    expect(t!.systemAttrs.lostWorkers).toEqual(['A', 'B']);
    expect(t!.intermediate.map((v) => v.value)).toEqual([0.5]);
    await st.close();
  });

  it('parses storage URLs', () => {
    expect(search.parseStorageUrl('memory')).toEqual({ kind: 'memory' });
    expect(search.parseStorageUrl('sqlite:a/b.db')).toEqual({ kind: 'sqlite', file: path.resolve('a/b.db') });
    expect(search.parseStorageUrl('sqlite:///tmp/x.db')).toEqual({ kind: 'sqlite', file: '/tmp/x.db' });
    expect(search.parseStorageUrl('study.db')).toEqual({ kind: 'sqlite', file: path.resolve('study.db') });
    expect(search.parseStorageUrl('postgres://u@h/db')).toEqual({ kind: 'postgres', url: 'postgres://u@h/db' });
    expect(() => search.parseStorageUrl('mysql://h/db')).toThrow(/unsupported URL/);
    expect(() => search.parseStorageUrl('sqlite:')).toThrow(/names no file/);
  });
});
