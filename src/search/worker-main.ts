/**
 * Entry point of a worker process (forked by `optimize({ workers: N })`): argv[2] is a JSON
 * `{ storage, study, index }`. The worker uses one kernel thread and joins the study (space,
 * sampler, pruner, budgets and objective as stored) until it says stop. SIGINT, SIGTERM or the
 * parent going away interrupt it: the running trial is re-queued.
 */
import { setNumThreads } from '../backend';
import { joinStudy } from './join';
import type { WorkerArgs } from './parallel';

function send(msg: unknown): void {
  if (process.send && process.connected) process.send(msg);
}

async function main(): Promise<void> {
  const args = JSON.parse(process.argv[2] ?? '{}') as WorkerArgs;
  setNumThreads(1);
  const ac = new AbortController();
  const stop = () => ac.abort();
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  process.on('disconnect', stop);
  const res = await joinStudy(args.storage, args.study, { signal: ac.signal, log: (text) => send({ type: 'log', text }) });
  send({ type: 'done', reason: res.reason, trials: res.trials });
}

main().then(
  () => { if (process.connected) process.disconnect(); },
  (err: Error) => {
    process.stderr.write(`lernen worker: ${err?.message ?? String(err)}\n`);
    send({ type: 'done', reason: `error: ${err?.message ?? String(err)}` });
    process.exitCode = 1;
    if (process.connected) process.disconnect();
  },
);
