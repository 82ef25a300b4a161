import { loadObjective } from './objective';
import { makePruner } from './pruner';
import { makeSampler } from './sampler';
import { loadStudy } from './study';
import { newWorkerInfo, runWorker, type WorkerResult } from './worker';

export interface JoinOptions {
  /** Aborting interrupts the running trial (re-queued) and ends the worker. */
  signal?: AbortSignal;
  log?: (msg: string) => void;
}

/**
 * Joins an existing study as one worker (`lernen worker`, and each forked worker process): loads
 * its stored space, sampler, pruner, budgets and objective, and runs trials until the study says
 * stop.
 */
export async function joinStudy(storageUrl: string, name: string, o: JoinOptions = {}): Promise<WorkerResult> {
  const study = await loadStudy(name, storageUrl);
  try {
    const cfg = study.config;
    if (!cfg.objective) throw new Error(`study ${name} stores no objective that a worker can load (start it with a named objective such as 'mnist', or { module, export })`);
    const objective = await loadObjective(cfg.objective);
    objective.checkSpace?.(study.space);
    const storage = study.storageHandle;
    const row = (await storage.getStudy(name))!;
    return await runWorker({
      storage, study: row, space: study.space, sampler: makeSampler(cfg.sampler), pruner: makePruner(cfg.pruner),
      direction: study.direction, config: cfg, objective, worker: newWorkerInfo(),
      ...(o.signal ? { signal: o.signal } : {}), ...(o.log ? { log: o.log } : {}),
    });
  } finally {
    await study.close();
  }
}
