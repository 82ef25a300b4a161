/**
 * The worker loop: claim a trial (budgets checked in the claim transaction), run the objective
 * with a heartbeat going, write the result; until the study is done or out of budget. The same
 * loop runs in-process (`study.optimize` with one worker) and in each forked worker process.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { checkpointRoot, type StudyConfig } from './config';
import { plannedEpochs, secondsPerEpoch } from './cost';
import { TrialPruned } from './errors';
import type { ObjectiveDef } from './objective';
import type { Pruner } from './pruner';
import type { Sampler } from './sampler';
import type { Params, Space } from './space';
import type { ClaimDecision, ClaimState, Storage, StudyRow, WorkerInfo } from './storage';
import { Trial } from './trial';
import { bestIntermediate, type Direction, type TrialRecord, type TrialState } from './types';

export interface WorkerContext {
  storage: Storage;
  study: StudyRow;
  space: Space;
  sampler: Sampler;
  pruner: Pruner;
  direction: Direction;
  config: StudyConfig;
  objective: ObjectiveDef;
  /** Aborting it interrupts the running trial (re-queued, to resume later) and ends the loop. */
  signal?: AbortSignal;
  /** Progress messages (trial started / finished / recovered). */
  log?: (msg: string) => void;
  /** Called with each trial this worker ends. */
  onTrialEnd?: (t: TrialRecord) => void;
  worker?: WorkerInfo;
}

export interface WorkerResult {
  /** Why the loop ended. */
  reason: string;
  /** Trials this worker ran to an end (complete, pruned or failed). */
  trials: number;
}

export function newWorkerInfo(): WorkerInfo {
  return { id: `${os.hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`, host: os.hostname(), pid: process.pid };
}

const sleep = (ms: number, signal?: AbortSignal) => new Promise<void>((resolve) => {
  if (signal?.aborted) { resolve(); return; }
  const t = setTimeout(() => { signal?.removeEventListener('abort', done); resolve(); }, ms);
  const done = () => { clearTimeout(t); resolve(); };
  signal?.addEventListener('abort', done, { once: true });
});

const fmtS = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/**
 * What to do next, decided inside the claim transaction from the study's state: resume a waiting
 * trial, create one with the sampler's parameters (skipping any the remaining budget cannot
 * cover, as measured in seconds per epoch), wait for running trials, or stop.
 */
export function decideClaim(ctx: Pick<WorkerContext, 'space' | 'sampler' | 'direction' | 'config' | 'objective'>, s: ClaimState): ClaimDecision {
  const { budget } = ctx.config;
  const remaining = budget.budgetMs === null ? Infinity : budget.budgetMs - s.elapsedMs;
  if (remaining <= 0) return { kind: 'stop', reason: `study budget of ${fmtS(budget.budgetMs!)} spent` };
  const running = s.trials.filter((t) => t.state === 'running').length;
  const waiting = s.trials.find((t) => t.state === 'waiting');
  if (waiting) return { kind: 'resume', trialId: waiting.id };
  if (budget.maxTrials !== null && s.trials.length >= budget.maxTrials) {
    return running ? { kind: 'wait', reason: 'waiting for the last running trials' } : { kind: 'stop', reason: `all ${budget.maxTrials} trials done` };
  }
  const number = s.trials.reduce((m, t) => Math.max(m, t.number), -1) + 1;
  const rejected: Params[] = [];
  const maxProposals = ctx.sampler.kind === 'grid' ? Infinity : 32;
  let cheapest = Infinity;
  while (rejected.length < maxProposals) {
    const params = ctx.sampler.sample({ space: ctx.space, number, trials: s.trials, direction: ctx.direction, rejected });
    if (!params) break;
    const rate = secondsPerEpoch(ctx.space, params, s.trials, ctx.objective.costParams);
    const resolved = ctx.space.resolve(params);
    const epochs = ctx.objective.plannedEpochs ? ctx.objective.plannedEpochs(resolved, budget.maxEpochs) : plannedEpochs(resolved, budget.maxEpochs, s.trials);
    let estMs = rate !== null && epochs !== null ? rate * epochs * 1000 : null;
    if (estMs !== null && budget.trialBudgetMs !== null) estMs = Math.min(estMs, budget.trialBudgetMs);
    const sys: Record<string, unknown> = {};
    if (ctx.sampler.kind === 'grid') sys.gridIndex = ctx.space.gridIndex(params);
    if (estMs !== null) sys.estimatedSeconds = estMs / 1000;
    if (estMs === null || estMs <= remaining) return { kind: 'create', params, systemAttrs: sys };
    cheapest = Math.min(cheapest, estMs);
    rejected.push(params);
  }
  if (rejected.length === 0) {
    return running ? { kind: 'wait', reason: 'waiting for the last running trials' } : { kind: 'stop', reason: 'the grid is exhausted (every grid point has a trial)' };
  }
  return { kind: 'stop', reason: `the remaining budget (${fmtS(remaining)}) cannot cover another trial (the cheapest of ${rejected.length} proposal(s) needs about ${fmtS(cheapest)} at the measured seconds per epoch)` };
}

/** Runs trials until the study says stop; resolves with the reason. */
export async function runWorker(ctx: WorkerContext): Promise<WorkerResult> {
  const { storage, study, config } = ctx;
  const me = ctx.worker ?? newWorkerInfo();
  const hb = config.heartbeat;
  const log = ctx.log ?? (() => {});
  const ckRoot = checkpointRoot(config, storage.target, study.name);
  let current: Trial | null = null;
  let beating: Promise<void> | null = null;
  let hbError = false;
  const beat = async () => {
    try {
      const t = current;
      const owned = await storage.heartbeat(study.id, me, t ? t.id : null);
      if (t && !owned) t.abort('lost');
      hbError = false;
    } catch (e) {
      if (!hbError) log(`heartbeat failed: ${(e as Error).message}`);
      hbError = true;
    } finally {
      beating = null;
    }
  };
  const timer = setInterval(() => { beating ??= beat(); }, hb.intervalMs);
  const onAbort = () => current?.abort('interrupted');
  ctx.signal?.addEventListener('abort', onAbort);
  let done = 0;
  let reason = 'interrupted';
  try {
    while (!ctx.signal?.aborted) {
      const res = await storage.claim(study.id, me, hb, (s) => decideClaim(ctx, s));
      for (const r of res.recovered) {
        log(r.state === 'waiting' ? `trial ${r.number}: its worker stopped sending heartbeats; re-queued` : `trial ${r.number}: its worker stopped sending heartbeats too often; marked failed`);
      }
      if (res.kind === 'stop') { reason = res.reason; break; }
      if (res.kind === 'wait') { await sleep(Math.min(hb.intervalMs, 1000), ctx.signal); continue; }
      const rec = res.trial;
      const studyLeft = config.budget.budgetMs === null ? Infinity : config.budget.budgetMs - res.elapsedMs;
      const trialLeft = config.budget.trialBudgetMs === null ? Infinity : config.budget.trialBudgetMs - rec.seconds * 1000;
      const trial = new Trial({
        record: rec, params: ctx.space.resolve(rec.params), studyId: study.id, studyName: study.name, direction: ctx.direction,
        storage, worker: me, pruner: ctx.pruner, timeLeftMs: Math.max(0, Math.min(studyLeft, trialLeft)),
        maxEpochs: config.budget.maxEpochs, checkpointDir: path.join(ckRoot, `trial-${rec.number}`),
      });
      current = trial;
      log(`trial ${rec.number} started${rec.attempts ? ` (attempt ${rec.attempts + 1})` : ''}: ${JSON.stringify(rec.params)}`);
      const end = await runTrial(ctx, trial);
      current = null;
      trial.dispose();
      if (end.state === 'lost') {
        log(`trial ${rec.number}: this worker lost it (presumed dead by the others); its result is discarded`);
        continue;
      }
      const ok = await storage.finish(trial.id, me, { state: end.state, value: end.value, seconds: trial.seconds, systemAttrs: end.sys });
      if (!ok) { log(`trial ${rec.number}: this worker lost it before it could write the result`); continue; }
      if (end.state !== 'waiting') {
        fs.rmSync(trial.checkpointDir, { recursive: true, force: true });
        done++;
        const fin = (await storage.trials(study.id)).find((t) => t.id === trial.id);
        if (fin) ctx.onTrialEnd?.(fin);
        log(`trial ${rec.number} ${end.state}${end.value !== null ? ` with value ${end.value}` : ''}${end.sys.error ? `: ${String(end.sys.error)}` : ''}`);
      } else {
        log(`trial ${rec.number} interrupted; re-queued (it resumes from its last checkpoint)`);
      }
    }
  } finally {
    clearInterval(timer);
    ctx.signal?.removeEventListener('abort', onAbort);
    // A heartbeat still in flight would re-create this worker's row after leave() deleted it.
    await beating;
    await storage.leave(study.id, me, hb.staleMs).catch(() => {});
    // The study's checkpoint directory, once no trial keeps anything there.
    try { fs.rmdirSync(ckRoot); } catch { /* not empty, or never created */ }
  }
  return { reason, trials: done };
}

async function runTrial(ctx: WorkerContext, trial: Trial): Promise<{ state: TrialState | 'lost'; value: number | null; sys: Record<string, unknown> }> {
  let value: number | void;
  try {
    value = await ctx.objective.run(trial);
  } catch (e) {
    const why = trial.abortReason;
    if (why === 'lost') return { state: 'lost', value: null, sys: {} };
    if (why === 'interrupted') return { state: 'waiting', value: null, sys: {} };
    const best = bestIntermediate(trial.intermediate, ctx.direction);
    if (e instanceof TrialPruned) return { state: 'pruned', value: Number.isFinite(best) ? best : null, sys: { prunedAt: trial.lastStep } };
    return { state: 'failed', value: null, sys: { error: (e as Error)?.message ?? String(e) } };
  }
  const why = trial.abortReason;
  if (why === 'lost') return { state: 'lost', value: null, sys: {} };
  if (why === 'interrupted') return { state: 'waiting', value: null, sys: {} };
  const best = bestIntermediate(trial.intermediate, ctx.direction);
  if (trial.shouldPrune()) return { state: 'pruned', value: Number.isFinite(best) ? best : null, sys: { prunedAt: trial.lastStep } };
  const v = typeof value === 'number' ? value : best;
  const sys: Record<string, unknown> = why === 'time budget' ? { stopReason: 'time budget' } : {};
  if (!Number.isFinite(v)) return { state: 'failed', value: null, sys: { ...sys, error: `the objective returned ${String(value)} and reported no finite value` } };
  return { state: 'complete', value: v, sys };
}
