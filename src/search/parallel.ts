/**
 * Worker processes on this machine: `child_process.fork` of the worker entry point, one BLAS
 * thread each, all sharing the study's storage. From the compiled build the entry is
 * `dist/cjs/search/worker-main.js`; from TypeScript sources (vitest, tsx) it is
 * `src/search/worker-main.ts` run with `node --import tsx`.
 */
import { fork, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { SearchError } from './errors';

export interface WorkerArgs {
  storage: string;
  study: string;
  index: number;
}

/** The file and node flags that start a worker process. */
export function workerEntry(): { file: string; execArgv: string[] } {
  if (__filename.endsWith('.ts')) {
    let loader: string;
    try {
      loader = path.join(path.dirname(require.resolve('tsx/package.json')), 'dist', 'loader.mjs');
    } catch {
      throw new SearchError('worker processes from TypeScript sources need tsx (npm install -D tsx), or run the compiled build');
    }
    return { file: path.join(__dirname, 'worker-main.ts'), execArgv: ['--import', pathToFileURL(loader).href] };
  }
  const file = path.join(__dirname, 'worker-main.js');
  if (!fs.existsSync(file)) throw new SearchError(`worker entry point ${file} is missing (npm run build)`);
  return { file, execArgv: [] };
}

export interface ParallelOptions {
  storageUrl: string;
  study: string;
  workers: number;
  signal?: AbortSignal;
  log?: (msg: string) => void;
  env?: Record<string, string>;
}

/**
 * Forks `workers` worker processes on the study and waits for all of them. Resolves with each
 * worker's stop reason. Aborting `signal` sends SIGINT to every worker: each re-queues its running
 * trial and exits.
 */
export async function runParallel(o: ParallelOptions): Promise<string[]> {
  const { file, execArgv } = workerEntry();
  const log = o.log ?? (() => {});
  const children: ChildProcess[] = [];
  const reasons: string[] = new Array<string>(o.workers).fill('');
  const exits = Array.from({ length: o.workers }, (_, index) => new Promise<void>((resolve) => {
    const args: WorkerArgs = { storage: o.storageUrl, study: o.study, index };
    const child = fork(file, [JSON.stringify(args)], {
      execArgv,
      env: { ...process.env, ...(o.env ?? {}), OPENBLAS_NUM_THREADS: '1', LERNEN_SEARCH_WORKER: String(index) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'json',
    });
    children.push(child);
    child.on('message', (m: unknown) => {
      const msg = m as { type?: string; reason?: string; text?: string };
      if (msg.type === 'done' && typeof msg.reason === 'string') reasons[index] = msg.reason;
      else if (msg.type === 'log' && typeof msg.text === 'string') log(`[worker ${index}] ${msg.text}`);
    });
    child.on('error', (e) => { reasons[index] ||= `failed to start: ${e.message}`; resolve(); });
    child.on('exit', (code, sig) => {
      if (!reasons[index]) {
        reasons[index] = sig ? `worker killed by ${sig}` : `worker exited with code ${code}`;
        log(`[worker ${index}] ${reasons[index]}`);
      }
      resolve();
    });
  }));
  const onAbort = () => { for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGINT'); };
  o.signal?.addEventListener('abort', onAbort);
  try {
    await Promise.all(exits);
  } finally {
    o.signal?.removeEventListener('abort', onAbort);
  }
  return reasons;
}
