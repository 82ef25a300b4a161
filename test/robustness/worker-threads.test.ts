/**
 * Concurrency: the addon in worker_threads. Four workers train at once (each its own seeded
 * model) and must reproduce, bit for bit, the same seeds trained one after another on the main
 * thread; a fifth worker terminated in the middle of training disturbs nobody.
 */
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getNumThreads, setNumThreads } from '../../src/backend';
import '../helpers/backends';
import { bundle, removeBundles } from './bundle';
import { trainTask, type TaskResult } from './fixtures/train-task';
import { record } from './report';

const SEEDS = [11, 22, 33, 44];
const BATCHES = 20, EPOCHS = 5;
let entry = '';
let threadsBefore = 1;
beforeAll(() => {
  entry = bundle(path.join(__dirname, 'fixtures', 'train-worker.ts'));
  // One kernel thread: the setting is process-wide, and the workers then do not
  // oversubscribe the cores (the project's rule for parallel trials).
  threadsBefore = getNumThreads();
  setNumThreads(1);
});
afterAll(() => { setNumThreads(threadsBefore); removeBundles(); });

function inWorker(seed: number, batches = BATCHES, epochs = EPOCHS): { worker: Worker; result: Promise<TaskResult>; steps: number } {
  const worker = new Worker(entry, { workerData: { seed, batches, epochs } });
  const w = { worker, result: null as unknown as Promise<TaskResult>, steps: 0 };
  w.result = new Promise<TaskResult>((resolve, reject) => {
    worker.on('message', (m: TaskResult | { step: number }) => { if ('step' in m) w.steps = m.step; else resolve(m); });
    worker.once('error', reject);
    worker.once('exit', (code) => { if (code !== 0) reject(new Error(`worker for seed ${seed} exited with code ${code}`)); });
  });
  return w;
}

describe('worker_threads', () => {
  it('four workers training at once reproduce the main thread bit for bit; a terminated worker disturbs nobody', async () => {
    const victim = inWorker(99, 400, 50);
    const victimEnd = victim.result.then(() => 'finished', (e: Error) => e.message);
    const running = SEEDS.map((s) => inWorker(s));
    // Terminated once it has trained 100 steps (of 20000).
    const stepsAtKill = await new Promise<number>((res) => {
      const t = setInterval(() => { if (victim.steps >= 100) { clearInterval(t); res(victim.steps); void victim.worker.terminate(); } }, 2);
    });
    const parallel = await Promise.all(running.map((r) => r.result));
    expect(await victimEnd).toMatch(/exited with code 1/);
    expect(stepsAtKill).toBeLessThan(20_000);
    const sequential: TaskResult[] = [];
    for (const s of SEEDS) sequential.push(await trainTask(s, BATCHES, EPOCHS));
    for (let i = 0; i < SEEDS.length; i++) {
      const p = parallel[i]!, q = sequential[i]!;
      expect(p.backend).toBe('native');
      expect(p.losses).toHaveLength(BATCHES * EPOCHS);
      expect(p.losses).toEqual(q.losses);
      expect(p.params).toEqual(q.params);
      expect(p.losses.at(-1)!).toBeLessThan(p.losses[0]!);
    }
    // Independent: different seeds, different runs.
    expect(parallel[0]!.losses).not.toEqual(parallel[1]!.losses);
    record('worker-threads', {
      attack: `${SEEDS.length} worker_threads training seeded MLPs (BatchNorm, Dropout, Adam; ${BATCHES * EPOCHS} steps each) at once on the native backend, plus one worker terminated mid-training`,
      cases: SEEDS.length + 1,
      outcome: 'every worker\'s losses and final parameters equal, bit for bit, the same seed trained on the main thread; the terminated worker exited and nothing else was disturbed',
    });
  }, 60_000);
});
