/**
 * `lernen search`, `lernen worker`, `lernen study show|report`: the hyperparameter search CLI
 * over src/search (the built-in MNIST objective). Every flag is validated, and the study opened
 * and checked against its stored space, before any trial starts; problems are UsageErrors
 * (one line, exit code 2).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readRegularFile } from '../files';
import { writeFileAtomic } from '../nn/serialize';
import { DEFAULT_HEARTBEAT, mergeHeartbeat } from '../search/config';
import { SearchError, StorageError } from '../search/errors';
import { joinStudy } from '../search/join';
import { mnistObjective, resolveMnistParams, type MnistObjectiveOptions } from '../search/mnist';
import { makePruner, type Pruner } from '../search/pruner';
import { studyReport } from '../search/report';
import { makeSampler, type Sampler } from '../search/sampler';
import { Space } from '../search/space';
import { Storage, checkStudyName, parseStorageUrl, redact } from '../search/storage';
import { DEFAULT_STORAGE, Study, type OptimizeOptions } from '../search/study';
import { bestTrial, type Direction, type TrialRecord } from '../search/types';
import { UsageError, checkOutFile, ensureOutDir, oneOf, parseFlags, pathFlag, type FlagSpec } from './args';
import { parseDuration } from './train';

export const SEARCH_FLAGS: FlagSpec = {
  space: 'string', budget: 'string', 'trial-budget': 'string', trials: 'int', sampler: 'string', pruner: 'string',
  workers: 'int', storage: 'string', study: 'string', model: 'string', 'max-epochs': 'int', seed: 'int', subset: 'int',
  'val-size': 'int', backend: 'string', threads: 'int', heartbeat: 'string', stale: 'string', retries: 'int',
  'checkpoint-dir': 'string', quiet: 'boolean', rungs: 'string', 'min-rung': 'number',
};

export const WORKER_FLAGS: FlagSpec = { storage: 'string', study: 'string', threads: 'int', quiet: 'boolean' };
export const STUDY_FLAGS: Record<'show' | 'report', FlagSpec> = {
  show: { storage: 'string', study: 'string', json: 'boolean' },
  report: { storage: 'string', study: 'string', out: 'string', top: 'int' },
};

/** The largest search space file --space reads (a space is a few lines of JSON). */
export const MAX_SPACE_FILE_BYTES = 1024 * 1024;

function atLeast(cmd: string, flag: string, v: number, lo: number, hi = Number.MAX_SAFE_INTEGER): number {
  if (!(v >= lo && v <= hi)) throw new UsageError(`${cmd}: --${flag} must be in [${lo}, ${hi}], got ${v}`);
  return v;
}

/** Runs `fn`, turning the search's validation errors into usage errors (exit code 2). */
async function usage<T>(cmd: string, fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof SearchError || e instanceof StorageError) throw new UsageError(`${cmd}: ${e.message}`);
    throw e;
  }
}

function storageArg(cmd: string, v: unknown): string {
  const url = typeof v === 'string' ? v : DEFAULT_STORAGE;
  try { parseStorageUrl(url); } catch (e) { throw new UsageError(`${cmd}: --storage: ${(e as Error).message}`); }
  return url;
}

/** Opens the --storage URL; its errors name the flag. */
async function openStorage(cmd: string, url: string): Promise<Storage> {
  try {
    return await Storage.open(url);
  } catch (e) {
    if (e instanceof StorageError) throw new UsageError(`${cmd}: --storage ${redact(url)}: ${e.message.replace(/^storage(?: \S+)?: /, '')}`);
    throw e;
  }
}

function studyArg(cmd: string, v: unknown): string {
  if (v === undefined) throw new UsageError(`${cmd}: --study NAME is required`);
  try { return checkStudyName(v); } catch (e) { throw new UsageError(`${cmd}: --study: ${(e as Error).message}`); }
}

/** --space: inline JSON, or a regular file of at most MAX_SPACE_FILE_BYTES (never a FIFO or a device). */
function readSpace(cmd: string, arg: string): Space {
  if (arg.trim() === '') throw new UsageError(`${cmd}: --space needs a file or inline JSON, got '${arg}'`);
  const text = arg.trim().startsWith('{') ? arg : (() => {
    try { return readRegularFile(path.resolve(arg), MAX_SPACE_FILE_BYTES); } catch (e) {
      throw new UsageError(`${cmd}: --space ${arg}: ${(e as Error).message}`);
    }
  })();
  try { return Space.from(text); } catch (e) { throw new UsageError(`${cmd}: --space ${arg.length > 60 ? `${arg.slice(0, 57)}...` : arg}: ${(e as Error).message}`); }
}

export interface SearchConfig {
  space: Space;
  study: string;
  storage: string;
  sampler: Sampler;
  pruner: Pruner;
  objective: MnistObjectiveOptions & { model: 'mlp' | 'cnn'; seed: number };
  optimize: Omit<OptimizeOptions, 'signal' | 'log' | 'onTrialEnd'> & { workers: number; maxEpochs: number };
  quiet: boolean;
}

/** Validates every `lernen search` flag (nothing is opened or trained). */
export function parseSearchArgs(argv: readonly string[]): SearchConfig {
  const cmd = 'search';
  const { flags: f, positional } = parseFlags(cmd, argv, SEARCH_FLAGS);
  if (positional.length) throw new UsageError(`${cmd}: unexpected argument '${positional[0]}'`);
  if (f.space === undefined) throw new UsageError(`${cmd}: --space FILE (or inline JSON) is required`);
  const study = studyArg(cmd, f.study);
  const storage = storageArg(cmd, f.storage);
  const space = readSpace(cmd, String(f.space));
  const samplerName = oneOf(cmd, 'sampler', f.sampler ?? 'tpe', ['grid', 'random', 'tpe'] as const);
  const prunerName = oneOf(cmd, 'pruner', f.pruner ?? 'none', ['none', 'median', 'asha', 'hyperband'] as const);
  const model = oneOf(cmd, 'model', f.model ?? 'mlp', ['mlp', 'cnn'] as const);
  const maxEpochs = atLeast(cmd, 'max-epochs', (f['max-epochs'] as number) ?? 3, 1, 10000);
  const workers = atLeast(cmd, 'workers', (f.workers as number) ?? 1, 1, 256);
  const seed = f.seed === undefined ? null : atLeast(cmd, 'seed', f.seed as number, 0);
  const budgetMs = f.budget === undefined ? undefined : parseDuration(cmd, 'budget', String(f.budget));
  const trialBudgetMs = f['trial-budget'] === undefined ? undefined : parseDuration(cmd, 'trial-budget', String(f['trial-budget']));
  const trials = f.trials === undefined ? undefined : atLeast(cmd, 'trials', f.trials as number, 1);
  if (budgetMs === undefined && trials === undefined && samplerName !== 'grid') {
    throw new UsageError(`${cmd}: give --budget (e.g. 10m) or --trials N: a ${samplerName} search has no end of its own`);
  }
  const sampler = (() => { try { return makeSampler(samplerName, seed); } catch (e) { throw new UsageError(`${cmd}: ${(e as Error).message}`); } })();
  try { sampler.check(space); } catch (e) { throw new UsageError(`${cmd}: --sampler ${samplerName}: ${(e as Error).message}`); }
  const rungs = oneOf(cmd, 'rungs', f.rungs ?? 'epochs', ['epochs', 'seconds'] as const);
  if ((f.rungs !== undefined || f['min-rung'] !== undefined) && prunerName !== 'asha' && prunerName !== 'hyperband') {
    throw new UsageError(`${cmd}: --rungs and --min-rung apply to --pruner asha or hyperband, not ${prunerName}`);
  }
  const minRung = f['min-rung'] === undefined ? (rungs === 'epochs' ? 1 : 30) : f['min-rung'] as number;
  if (!(minRung > 0)) throw new UsageError(`${cmd}: --min-rung must be positive, got ${minRung}`);
  let pruner: Pruner;
  if (prunerName === 'asha') {
    pruner = makePruner({ type: 'asha', minResource: minRung, reductionFactor: 3, minEarlyStoppingRate: 0, resource: rungs });
  } else if (prunerName === 'hyperband') {
    const maxResource = rungs === 'epochs' ? maxEpochs : trialBudgetMs === undefined ? NaN : trialBudgetMs / 1000;
    if (!Number.isFinite(maxResource)) throw new UsageError(`${cmd}: --pruner hyperband with --rungs seconds needs --trial-budget (its largest rung)`);
    if (maxResource < minRung) throw new UsageError(`${cmd}: --pruner hyperband: the largest rung (${maxResource}) is below --min-rung ${minRung}`);
    pruner = makePruner({ type: 'hyperband', minResource: minRung, maxResource, reductionFactor: 3, resource: rungs });
  } else {
    pruner = makePruner(prunerName);
  }
  const objective: SearchConfig['objective'] = { model, seed: seed ?? 1 };
  if (f.subset !== undefined) objective.subset = atLeast(cmd, 'subset', f.subset as number, 1);
  if (f['val-size'] !== undefined) objective.valSize = atLeast(cmd, 'val-size', f['val-size'] as number, 1, 59999);
  if (f.backend !== undefined) objective.backend = oneOf(cmd, 'backend', f.backend, ['native', 'js'] as const);
  if (f.threads !== undefined) objective.threads = atLeast(cmd, 'threads', f.threads as number, 1, 1024);
  try {
    mnistObjective(objective).checkSpace!(space);
  } catch (e) {
    throw new UsageError(`${cmd}: --space: ${(e as Error).message.replace(/^space: /, '')}`);
  }
  const optimize: SearchConfig['optimize'] = { workers, maxEpochs };
  if (budgetMs !== undefined) optimize.budgetMs = budgetMs;
  if (trialBudgetMs !== undefined) optimize.trialBudgetMs = trialBudgetMs;
  if (trials !== undefined) optimize.trials = trials;
  if (f.heartbeat !== undefined) optimize.heartbeatMs = parseDuration(cmd, 'heartbeat', String(f.heartbeat));
  if (f.stale !== undefined) optimize.staleMs = parseDuration(cmd, 'stale', String(f.stale));
  if (f.retries !== undefined) optimize.maxRetries = atLeast(cmd, 'retries', f.retries as number, 0, 1000);
  if (optimize.heartbeatMs !== undefined && optimize.staleMs !== undefined) {
    // (With one of them given, a resumed study's stored value is the other: checked when it opens.)
    try { mergeHeartbeat(DEFAULT_HEARTBEAT, { intervalMs: optimize.heartbeatMs, staleMs: optimize.staleMs }); } catch (e) {
      throw new UsageError(`${cmd}: --stale and --heartbeat: ${(e as Error).message}`);
    }
  }
  const target = parseStorageUrl(storage);
  if (workers > 1 && target.kind === 'memory') throw new UsageError(`${cmd}: --workers ${workers} needs a shared --storage (sqlite:FILE or postgres://...), not memory`);
  // Last, once every other flag is valid: the folders are created here.
  if (f['checkpoint-dir'] !== undefined) {
    optimize.checkpointDir = pathFlag(cmd, 'checkpoint-dir', f['checkpoint-dir']);
    ensureOutDir(cmd, 'checkpoint-dir', optimize.checkpointDir);
  }
  if (target.kind === 'sqlite') checkOutFile(cmd, 'storage', target.file, redact(storage));
  return { space, study, storage, sampler, pruner, objective, optimize, quiet: f.quiet === true };
}

// ------------------------------------------------------------------------------- the table

const fmtTime = (s: number) => (s >= 60 ? `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s` : `${s.toFixed(1)}s`);

function fmtParam(v: unknown): string {
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : String(+v.toPrecision(3));
  return String(v);
}

/** Prints finished trials as table rows (and, on a terminal, a status line of the running ones). */
class TrialTable {
  private printed = new Set<number>();
  private status = false;
  private readonly cols: string[];
  private readonly widths: number[];

  private readonly names: readonly string[];

  constructor(space: Space, private readonly out: NodeJS.WriteStream, private readonly tty: boolean) {
    this.names = space.names;
    this.cols = ['#', ...this.names, 'epochs', 'value', 'state', 'time'];
    const valueWidth = (n: string) => Math.max(0, ...(space.gridValues(n) ?? []).map((v) => fmtParam(v).length));
    this.widths = this.cols.map((c, i) => Math.max(c.length, c === '#' ? 4 : 8, i >= 1 && i <= this.names.length ? valueWidth(c) : 0, c === 'state' ? 9 : 0));
  }

  private line(cells: string[]): string {
    return cells.map((c, i) => c.padStart(this.widths[i]!)).join('  ');
  }

  header(): void {
    this.write(`${this.line(this.cols)}\n`);
  }

  private write(s: string): void {
    if (this.status) { this.out.write('\r\x1b[2K'); this.status = false; }
    this.out.write(s);
  }

  row(t: TrialRecord): string[] {
    const v = t.value ?? (t.intermediate.length ? t.intermediate[t.intermediate.length - 1]!.value : NaN);
    return [String(t.number), ...this.names.map((n) => fmtParam(t.params[n])), String(t.intermediate.length ? t.intermediate[t.intermediate.length - 1]!.step : 0),
      Number.isFinite(v) ? v.toFixed(4) : '-', t.state + (t.systemAttrs.stopReason === 'time budget' ? '*' : ''), fmtTime(t.seconds)];
  }

  update(trials: readonly TrialRecord[], elapsedMs: number, budgetMs: number | null): void {
    for (const t of trials) {
      if (this.printed.has(t.id) || !['complete', 'pruned', 'failed'].includes(t.state)) continue;
      this.printed.add(t.id);
      this.write(`${this.line(this.row(t))}${t.state === 'failed' && t.systemAttrs.error ? `  ${String(t.systemAttrs.error).slice(0, 80)}` : ''}\n`);
    }
    if (!this.tty) return;
    const running = trials.filter((t) => t.state === 'running');
    const parts = running.slice(0, 4).map((t) => {
      const last = t.intermediate[t.intermediate.length - 1];
      return `#${t.number} epoch ${last?.step ?? 0}${last ? ` ${last.value.toFixed(4)}` : ''}`;
    });
    const clock = budgetMs ? `${fmtTime(elapsedMs / 1000)} of ${fmtTime(budgetMs / 1000)}` : fmtTime(elapsedMs / 1000);
    this.write('');
    this.out.write(`[${clock}] ${running.length} running${parts.length ? `: ${parts.join(' | ')}` : ''}`.slice(0, (this.out.columns || 100) - 1));
    this.status = true;
  }

  end(): void {
    this.write('');
  }
}

/** The `lernen train` command line that retrains a trial's configuration. */
export function retrainCommand(t: TrialRecord, o: SearchConfig['objective'], maxEpochs: number | null, direction: Direction = 'maximize'): string {
  const c = resolveMnistParams(t.params, maxEpochs);
  let bestEpoch = c.epochs;
  let best = NaN;
  for (const v of t.intermediate) {
    if (Number.isFinite(v.value) && (!Number.isFinite(best) || (direction === 'maximize' ? v.value > best : v.value < best))) { best = v.value; bestEpoch = v.step; }
  }
  const parts = ['lernen train', `--model ${o.model ?? 'mlp'}`, `--epochs ${bestEpoch}`, `--batch-size ${c.batchSize}`, `--optimizer ${c.optimizer}`,
    `--lr ${fmtParam(c.lr)}`, `--momentum ${fmtParam(c.momentum)}`, `--weight-decay ${fmtParam(c.weightDecay)}`];
  if (c.dropout !== undefined) parts.push(`--dropout ${fmtParam(c.dropout)}`);
  parts.push(`--loss ${c.loss}`, '--schedule none', `--seed ${o.seed ?? 1}`);
  if (o.valSize !== undefined) parts.push(`--val-size ${o.valSize}`);
  if (o.backend) parts.push(`--backend ${o.backend}`);
  return parts.join(' ');
}

function onInterrupt(what: string): { signal: AbortSignal; dispose: () => void; interrupted: () => boolean } {
  const ac = new AbortController();
  const handler = () => {
    process.stderr.write(`\nlernen: interrupted; ${what}\n`);
    ac.abort();
  };
  process.once('SIGINT', handler);
  return { signal: ac.signal, dispose: () => process.off('SIGINT', handler), interrupted: () => ac.signal.aborted };
}

/** `lernen search ...` (see USAGE in src/cli/index.ts). */
export async function searchCommand(argv: readonly string[]): Promise<number> {
  const c = parseSearchArgs(argv);
  const cmd = 'search';
  const out = process.stdout;
  const log = (s: string) => { if (!c.quiet) out.write(`${s}\n`); };
  const study = await usage(cmd, async () => {
    const storage = await openStorage(cmd, c.storage);
    const s = new Study({ name: c.study, storage, space: c.space, sampler: c.sampler, pruner: c.pruner, direction: 'maximize' });
    try {
      await s.open();
    } catch (e) {
      await storage.close();
      throw e;
    }
    return s;
  });
  const storage = study.storageHandle;
  const sig = onInterrupt('running trials are re-queued; run the same command again to resume');
  let poll: NodeJS.Timeout | null = null;
  try {
    const before = await study.trials();
    const done = before.filter((t) => t.state === 'complete' || t.state === 'pruned' || t.state === 'failed').length;
    log(`lernen search: study ${c.study} in ${redact(c.storage)} (${done ? `resuming, ${done} trial(s) done` : 'new'}); sampler ${c.sampler.kind}, pruner ${c.pruner.kind}, ${c.optimize.workers} worker(s), ${c.objective.model} on ${c.objective.subset ? `${c.objective.subset} images` : 'MNIST'}, up to ${c.optimize.maxEpochs} epoch(s) per trial${c.optimize.budgetMs ? `, budget ${fmtTime(c.optimize.budgetMs / 1000)}` : ''}${c.optimize.trials ? `, ${c.optimize.trials} trial(s)` : ''}`);
    const table = new TrialTable(c.space, out, !c.quiet && out.isTTY === true);
    if (!c.quiet) table.header();
    const refresh = async () => {
      if (c.quiet) return;
      const [trials, elapsed] = await Promise.all([storage.trials((await storage.getStudy(c.study))!.id), study.elapsedMs()]);
      table.update(trials, elapsed, study.config.budget.budgetMs);
    };
    await refresh();
    let refreshing: Promise<void> | null = null;
    poll = setInterval(() => { refreshing ??= refresh().catch(() => {}).finally(() => { refreshing = null; }); }, 1000);
    const res = await usage(cmd, () => study.optimize({ name: 'mnist', options: { ...c.objective } }, {
      ...c.optimize, signal: sig.signal,
      ...(c.quiet ? {} : { log: (m: string) => { if (/stopped sending heartbeats|lost it|killed|exited with code|error/.test(m)) { table.end(); out.write(`${m}\n`); } } }),
    }));
    clearInterval(poll);
    poll = null;
    await refreshing;
    await refresh();
    table.end();
    const best = bestTrial(res.trials, study.direction);
    const counts = ['complete', 'pruned', 'failed', 'waiting'].map((s) => [s, res.trials.filter((t) => t.state === s).length] as const).filter(([, n]) => n);
    out.write(`\n${res.trials.length} trial(s): ${counts.map(([s, n]) => `${n} ${s}`).join(', ')}; study time ${fmtTime(res.elapsedMs / 1000)}; stopped: ${[...new Set(res.reasons)].join('; ')}\n`);
    if (best) {
      const params = Object.fromEntries(c.space.names.filter((n) => n in best.params).map((n) => [n, best.params[n]]));
      out.write(`best: trial ${best.number}, validation accuracy ${(100 * best.value!).toFixed(2)}%, ${JSON.stringify(params)}\n`);
      out.write(`retrain it: ${retrainCommand(best, c.objective, study.config.budget.maxEpochs, study.direction)}\n`);
      if (c.objective.subset) out.write(`(the search trained on the first ${c.objective.subset} training images; lernen train uses all of them)\n`);
    } else {
      out.write('no trial completed yet\n');
    }
    if (sig.interrupted()) return 130;
    return 0;
  } finally {
    if (poll) clearInterval(poll);
    sig.dispose();
    await storage.close();
  }
}

/** `lernen worker --storage URL --study NAME`: joins a study (e.g. from another machine). */
export async function workerCommand(argv: readonly string[]): Promise<number> {
  const cmd = 'worker';
  const { flags: f, positional } = parseFlags(cmd, argv, WORKER_FLAGS);
  if (positional.length) throw new UsageError(`${cmd}: unexpected argument '${positional[0]}'`);
  const study = studyArg(cmd, f.study);
  const storage = storageArg(cmd, f.storage);
  if (parseStorageUrl(storage).kind === 'memory') throw new UsageError(`${cmd}: --storage memory cannot be shared; use sqlite:FILE or postgres://...`);
  const threads = f.threads === undefined ? null : atLeast(cmd, 'threads', f.threads as number, 1, 1024);
  // Check that the study exists and can be joined before starting.
  const opened = await openExisting(cmd, storage, study);
  try {
    if (!opened.study.config.objective) throw new UsageError(`${cmd}: --study ${study} stores no objective a worker can load`);
  } finally {
    await opened.close();
  }
  if (threads !== null) {
    const { setNumThreads } = await import('../backend');
    setNumThreads(threads);
  }
  const sig = onInterrupt('the running trial is re-queued');
  try {
    const res = await joinStudy(storage, study, { signal: sig.signal, log: (m) => { if (!f.quiet) process.stdout.write(`${m}\n`); } });
    process.stdout.write(`worker done: ${res.trials} trial(s); ${res.reason}\n`);
    return sig.interrupted() ? 130 : 0;
  } finally {
    sig.dispose();
  }
}

/** Opens a stored study (never creates the storage or the study); the caller closes it. */
async function openExisting(cmd: string, storage: string, name: string): Promise<{ study: Study; close: () => Promise<void> }> {
  const target = parseStorageUrl(storage);
  if (target.kind === 'sqlite' && !fs.existsSync(target.file)) throw new UsageError(`${cmd}: --storage ${storage}: no such file`);
  const st = await openStorage(cmd, storage);
  try {
    if (!(await st.getStudy(name))) throw new UsageError(`${cmd}: --study ${name}: no such study in ${redact(storage)}`);
    const s = await usage(cmd, async () => {
      const study = new Study({ name, storage: st });
      await study.open();
      return study;
    });
    return { study: s, close: () => st.close() };
  } catch (e) {
    await st.close();
    throw e;
  }
}

/** `lernen study show|report --storage URL --study NAME [--json] [--out DIR]`. */
export async function studyCommand(argv: readonly string[]): Promise<number> {
  const [sub, ...rest] = argv;
  const cmd = `study ${sub ?? ''}`.trim();
  if (sub !== 'show' && sub !== 'report') throw new UsageError(`study: expected 'show' or 'report', got ${sub === undefined ? 'nothing' : `'${sub}'`}`);
  const { flags: f, positional } = parseFlags(cmd, rest, STUDY_FLAGS[sub]);
  if (positional.length) throw new UsageError(`${cmd}: unexpected argument '${positional[0]}'`);
  const name = studyArg(cmd, f.study);
  const storage = storageArg(cmd, f.storage);
  const top = f.top === undefined ? undefined : atLeast(cmd, 'top', f.top as number, 1, 50);
  const outDir = sub === 'report' ? (f.out === undefined ? path.resolve(`${name}-report`) : pathFlag(cmd, 'out', f.out)) : '';
  const opened = await openExisting(cmd, storage, name);
  const study = opened.study;
  try {
    // Created once the study is known to exist, so that a bad --study leaves no folder behind.
    if (sub === 'report') ensureOutDir(cmd, 'out', outDir);
    const summary = await study.summary();
    if (sub === 'show') {
      if (f.json) {
        process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
        return 0;
      }
      const table = new TrialTable(study.space, process.stdout, false);
      process.stdout.write(`study ${name}: ${summary.trials.length} trial(s), direction ${summary.study.direction}, sampler ${summary.study.sampler.type}, pruner ${summary.study.pruner.type}, study time ${fmtTime(summary.study.elapsedMs / 1000)}\n`);
      table.header();
      table.update(await study.trials(), 0, null);
      if (summary.best) process.stdout.write(`best: trial ${summary.best.number}, value ${summary.best.value}, ${JSON.stringify(summary.best.params)}\n`);
      return 0;
    }
    const { html, svgs } = studyReport(summary, top === undefined ? {} : { topCurves: top });
    const enc = (s: string) => new TextEncoder().encode(s);
    for (const [file, svg] of Object.entries(svgs)) writeFileAtomic(path.join(outDir, file), enc(`${svg}\n`));
    writeFileAtomic(path.join(outDir, 'index.html'), enc(html));
    process.stdout.write(`wrote ${path.join(outDir, 'index.html')} and ${Object.keys(svgs).length} SVG chart(s)\n`);
    return 0;
  } finally {
    await opened.close();
  }
}
