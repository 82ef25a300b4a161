/** Test bodies shared by the SQLite and PostgreSQL storages. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { expect, it } from 'vitest';
import * as search from '../../src/search';

export const FIXTURE = path.join(__dirname, 'fixtures', 'objectives.ts');

export function markers(dir: string): Array<{ trial: number; attempt: number; pid: number }> {
  return fs.readdirSync(dir).filter((f) => f.startsWith('run-')).map((f) => {
    const [, t, a, p] = f.split('-');
    return { trial: Number(t), attempt: Number(a), pid: Number(p) };
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Registers the storage-level tests: worker processes (each trial once; SIGKILL recovery) and
 * concurrent in-process claims from separate connections.
 */
export function storageSuite(storageUrl: (name: string) => string, tmp: () => string): void {
  it('three worker processes run each trial exactly once', async () => {
    const markerDir = fs.mkdtempSync(path.join(tmp(), 'm-'));
    const s = search.study({ name: 'three', storage: storageUrl('three'), space: { x: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11] }, sampler: 'grid' });
    const r = await s.optimize({ module: FIXTURE, export: 'sleepy', options: { epochs: 3, epochMs: 40, markerDir } }, { workers: 3, checkpointDir: tmp() });
    await s.close();
    expect(r.trials.map((t) => t.number)).toEqual([...Array(12).keys()]);
    expect(r.trials.every((t) => t.state === 'complete' && t.attempts === 0)).toBe(true);
    expect(r.trials.map((t) => t.systemAttrs.gridIndex).sort((a, b) => Number(a) - Number(b))).toEqual([...Array(12).keys()]);
    const m = markers(markerDir);
    expect(m.length).toBe(12);
    expect(new Set(m.map((x) => x.trial)).size).toBe(12);
    expect(new Set(m.map((x) => x.pid)).size).toBeGreaterThanOrEqual(2);
    expect(r.best?.params.x).toBe(3);
    expect(r.reasons).toEqual(Array(3).fill('the grid is exhausted (every grid point has a trial)'));
  });

  it('a worker killed with SIGKILL mid-trial: heartbeat detects it, the trial is re-run from its checkpoint, the study completes', async () => {
    const markerDir = fs.mkdtempSync(path.join(tmp(), 'k-'));
    const s = search.study({ name: 'killed', storage: storageUrl('killed'), space: { x: [0, 1, 2, 3, 4, 5] }, sampler: 'grid' });
    const logs: string[] = [];
    const r = await s.optimize(
      { module: FIXTURE, export: 'sleepy', options: { epochs: 4, epochMs: 120, markerDir, killTrial: 1, killAtEpoch: 2 } },
      { workers: 3, heartbeatMs: 200, staleMs: 2500, checkpointDir: tmp(), log: (l) => logs.push(l) },
    );
    await s.close();
    expect(r.reasons.filter((x) => x === 'worker killed by SIGKILL')).toHaveLength(1);
    expect(logs.some((l) => /trial 1: its worker stopped sending heartbeats; re-queued/.test(l))).toBe(true);
    expect(r.trials.map((t) => [t.number, t.state])).toEqual([0, 1, 2, 3, 4, 5].map((n) => [n, 'complete']));
    const t1 = r.trials[1]!;
    expect(t1.attempts).toBe(1);
    expect(t1.userAttrs.resumedFrom).toBe(2);
    expect(t1.intermediate.map((v) => v.step)).toEqual([1, 2, 3, 4]);
    const runs = markers(markerDir);
    expect(runs.filter((x) => x.trial === 1).map((x) => x.attempt).sort()).toEqual([0, 1]);
    for (const n of [0, 2, 3, 4, 5]) expect(runs.filter((x) => x.trial === n)).toHaveLength(1);
    expect(new Set(runs.filter((x) => x.trial === 1).map((x) => x.pid)).size).toBe(2);
  });

  it('concurrent claims from separate connections never hand out a trial twice', async () => {
    const name = 'claims';
    const space = { x: search.intUniform(0, 39) };
    const first = search.study({ name, storage: storageUrl(name), space, sampler: 'grid' });
    await first.open();
    const studies = [first, ...[1, 2, 3].map(() => search.study({ name, storage: storageUrl(name), space, sampler: 'grid' }))];
    const seen: number[] = [];
    const results = await Promise.all(studies.map((st) => st.optimize(async (t) => {
      seen.push(Number(t.params.x));
      await sleep(2);
      await t.report(1, Number(t.params.x));
      return Number(t.params.x);
    }, { trials: 40, checkpointDir: tmp() })));
    await Promise.all(studies.map((st) => st.close()));
    expect(seen.sort((a, b) => a - b)).toEqual([...Array(40).keys()]);
    const trials = results[0]!.trials;
    expect(trials).toHaveLength(40);
    expect(new Set(trials.map((t) => t.params.x)).size).toBe(40);
    expect(trials.every((t) => t.state === 'complete')).toBe(true);
  });

  it('rejects an SQL injection attempt in a study name before touching the storage', async () => {
    const ok = search.study({ name: 'inj', storage: storageUrl('inj'), space: { x: [1] } });
    await ok.open();
    await ok.close();
    for (const name of ["x'; DROP TABLE lernen_studies; --", 'a b', '', 'x'.repeat(65), 'robert"); --']) {
      expect(() => search.study({ name, storage: storageUrl('inj'), space: { x: [1] } })).toThrow(/study name .* is invalid/);
      await expect(search.loadStudy(name, storageUrl('inj'))).rejects.toThrow(/study name .* is invalid/);
    }
    const st = await search.openStorage(storageUrl('inj'));
    await expect(st.getStudy("x' OR '1'='1")).rejects.toThrow(/invalid/);
    expect((await st.listStudies()).map((x) => x.name)).toContain('inj');
    expect(await st.getStudy('inj')).not.toBeNull();
    await st.close();
  });
}
