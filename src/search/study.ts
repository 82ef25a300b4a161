/**
 * A Study: a named table of trials in a storage, with a space, a sampler, a pruner, a direction
 * and budgets. Create or resume one with `study({ name, storage, space, ... })` and run it with
 * `optimize(objective, { budgetMs, trials, workers })`.
 */
import { DEFAULT_HEARTBEAT, NO_BUDGET, mergeBudget, mergeHeartbeat, type Budget, type StudyConfig } from './config';
import { SearchError, StorageError } from './errors';
import { isSpec, loadObjective, normaliseSpec, toDef, type Objective, type ObjectiveDef, type ObjectiveSpec } from './objective';
import { runParallel } from './parallel';
import { makePruner, type Pruner, type PrunerSpec } from './pruner';
import { makeSampler, type Sampler, type SamplerSpec } from './sampler';
import { Space, type SpaceInput } from './space';
import { Storage, checkStudyName, redact, type StudyRow } from './storage';
import { DIRECTIONS, bestTrial, type Direction, type TrialRecord } from './types';
import { newWorkerInfo, runWorker } from './worker';

/** The default storage: a SQLite file in the working directory. */
export const DEFAULT_STORAGE = 'sqlite:lernen-search.db';

export interface StudyOptions {
  /** Letters, digits, '_', '.', '-' (1 to 64). */
  name: string;
  /** A storage URL (`sqlite:FILE` (default `sqlite:lernen-search.db`), `memory`, `postgres://…`) or an open Storage. */
  storage?: string | Storage;
  /** Required to create a study; when resuming it must equal the stored space. */
  space?: SpaceInput | Space | string;
  /** Default 'tpe' for a new study; a resumed study keeps its stored sampler unless one is given. */
  sampler?: Sampler | SamplerSpec | SamplerSpec['type'];
  /** Default 'none' for a new study; a resumed study keeps its stored pruner unless one is given. */
  pruner?: Pruner | PrunerSpec | PrunerSpec['type'];
  /** Default 'maximize'; must equal the stored direction when resuming. */
  direction?: Direction;
  /** Seed for the random and TPE samplers (when given by name). */
  seed?: number;
}

export interface OptimizeOptions {
  /** Wall-clock budget of the whole study in ms (stored; resuming continues the same budget). */
  budgetMs?: number | null;
  /** Wall-clock budget of each trial in ms. */
  trialBudgetMs?: number | null;
  /** Trials in all (a resumed study counts the ones it has). */
  trials?: number | null;
  /** Epochs per trial at most. */
  maxEpochs?: number | null;
  /** Worker processes (default 1: in this process). More than 1 needs a named objective or a module. */
  workers?: number;
  /** Heartbeat period (default 2 s) and the silence after which a trial is presumed dead (default 30 s). */
  heartbeatMs?: number;
  staleMs?: number;
  /** Re-queues of a dead worker's trial before it is marked failed (default 2). */
  maxRetries?: number;
  /** Root directory of per-trial checkpoints (default next to the SQLite file, or the temp dir). */
  checkpointDir?: string | null;
  /** Aborting stops the study: running trials are re-queued and resume on the next run. */
  signal?: AbortSignal;
  /** Progress lines (trials started, ended, recovered). */
  log?: (msg: string) => void;
  /** Called with each trial that ends (in-process workers only). */
  onTrialEnd?: (t: TrialRecord) => void;
  /** Extra environment for worker processes. */
  env?: Record<string, string>;
}

export interface OptimizeResult {
  best: TrialRecord | null;
  trials: TrialRecord[];
  /** Why the workers stopped (one entry per worker). */
  reasons: string[];
  /** Study time spent so far, over all sessions (ms). */
  elapsedMs: number;
}

export interface StudySummary {
  study: {
    name: string;
    direction: Direction;
    space: Record<string, unknown>;
    sampler: SamplerSpec;
    pruner: PrunerSpec;
    objective: ObjectiveSpec | null;
    budget: Budget;
    elapsedMs: number;
    counts: Record<string, number>;
  };
  trials: Array<{ number: number; state: string; params: Record<string, unknown>; value: number | null; intermediate: Array<{ step: number; value: number | null; seconds: number }>; seconds: number; attempts: number; userAttrs: Record<string, unknown>; error?: string }>;
  best: { number: number; params: Record<string, unknown>; value: number } | null;
}

function parseConfig(row: StudyRow): StudyConfig {
  let c: Partial<StudyConfig>;
  try { c = JSON.parse(row.config) as Partial<StudyConfig>; } catch { throw new StorageError(`study ${row.name}: stored config is not JSON`); }
  return {
    version: 1,
    sampler: c.sampler ?? { type: 'tpe', seed: null, nStartupTrials: 10, nEiCandidates: 24, priorWeight: 1, gammaMax: 25 },
    pruner: c.pruner ?? { type: 'none' },
    objective: c.objective ?? null,
    budget: { ...NO_BUDGET, ...(c.budget ?? {}) },
    heartbeat: { ...DEFAULT_HEARTBEAT, ...(c.heartbeat ?? {}) },
    checkpointDir: c.checkpointDir ?? null,
  };
}

export class Study {
  readonly name: string;
  private readonly opts: StudyOptions;
  private readonly givenSpace: Space | null;
  private readonly givenSampler: Sampler | null;
  private readonly givenPruner: Pruner | null;
  private storage: Storage | null = null;
  private ownsStorage = false;
  private opening: Promise<void> | null = null;
  private row: StudyRow | null = null;
  private cfg: StudyConfig | null = null;
  private _space: Space | null = null;
  private _sampler: Sampler | null = null;
  private _pruner: Pruner | null = null;
  private _direction: Direction = 'maximize';

  /** Validates everything it can without the storage (throws SearchError / StorageError). */
  constructor(opts: StudyOptions) {
    if (typeof opts !== 'object' || opts === null) throw new SearchError('study: options object required');
    this.opts = opts;
    this.name = checkStudyName(opts.name);
    if (opts.direction !== undefined && !DIRECTIONS.includes(opts.direction)) {
      throw new SearchError(`study: direction must be 'maximize' or 'minimize', got ${JSON.stringify(opts.direction)}`);
    }
    this.givenSpace = opts.space === undefined ? null : Space.from(opts.space);
    this.givenSampler = opts.sampler === undefined ? null : makeSampler(opts.sampler, opts.seed);
    this.givenPruner = opts.pruner === undefined ? null : makePruner(opts.pruner);
    if (this.givenSpace && this.givenSampler) this.givenSampler.check(this.givenSpace);
    if (opts.storage instanceof Storage) this.storage = opts.storage;
    else if (opts.storage !== undefined && typeof opts.storage !== 'string') throw new SearchError('study: storage must be a URL or a Storage');
  }

  /** Opens the storage and creates the study, or checks a stored one against these options. */
  open(): Promise<void> {
    this.opening ??= this.doOpen();
    return this.opening;
  }

  private async doOpen(): Promise<void> {
    if (!this.storage) {
      this.storage = await Storage.open(typeof this.opts.storage === 'string' ? this.opts.storage : DEFAULT_STORAGE);
      this.ownsStorage = true;
    }
    const st = this.storage;
    let row = await st.getStudy(this.name);
    if (!row) {
      if (!this.givenSpace) throw new SearchError(`study ${this.name} does not exist in ${redact(st.url)}; give a space to create it`);
      const sampler = this.givenSampler ?? makeSampler('tpe', this.opts.seed);
      const config: StudyConfig = {
        version: 1, sampler: sampler.toJSON(), pruner: (this.givenPruner ?? makePruner('none')).toJSON(), objective: null,
        budget: { ...NO_BUDGET }, heartbeat: { ...DEFAULT_HEARTBEAT }, checkpointDir: null,
      };
      row = await st.createStudy({ name: this.name, direction: this.opts.direction ?? 'maximize', space: this.givenSpace.canonical(), config: JSON.stringify(config) });
    }
    const cfg = parseConfig(row);
    const storedSpace = Space.from(row.space);
    if (this.givenSpace && this.givenSpace.canonical() !== storedSpace.canonical()) {
      throw new SearchError(`study ${this.name} exists with a different space (stored ${row.space}); use another study name, or the same space to resume it`);
    }
    if (this.opts.direction !== undefined && this.opts.direction !== row.direction) {
      throw new SearchError(`study ${this.name} exists with direction ${row.direction}, not ${this.opts.direction}`);
    }
    this._space = this.givenSpace ?? storedSpace;
    this._direction = row.direction as Direction;
    this._sampler = this.givenSampler ?? makeSampler(cfg.sampler);
    this._pruner = this.givenPruner ?? makePruner(cfg.pruner);
    this._sampler.check(this._space);
    cfg.sampler = this._sampler.toJSON();
    cfg.pruner = this._pruner.toJSON();
    this.row = row;
    this.cfg = cfg;
  }

  private need(): { storage: Storage; row: StudyRow; cfg: StudyConfig; space: Space; sampler: Sampler; pruner: Pruner } {
    if (!this.row || !this.storage || !this.cfg || !this._space || !this._sampler || !this._pruner) throw new SearchError(`study ${this.name}: call open() first`);
    return { storage: this.storage, row: this.row, cfg: this.cfg, space: this._space, sampler: this._sampler, pruner: this._pruner };
  }

  get space(): Space { return this.need().space; }
  get direction(): Direction { this.need(); return this._direction; }
  get config(): StudyConfig { return this.need().cfg; }
  get storageHandle(): Storage { return this.need().storage; }

  /**
   * Runs trials until the budget, the trial count or the grid is exhausted. Budgets given here
   * are stored with the study (others keep their stored values) and every worker enforces them.
   */
  async optimize(objective: Objective | ObjectiveSpec | 'mnist', o: OptimizeOptions = {}): Promise<OptimizeResult> {
    const workers = o.workers ?? 1;
    if (!Number.isInteger(workers) || workers < 1 || workers > 256) throw new SearchError(`optimize: workers must be an integer in [1, 256], got ${workers}`);
    let spec: ObjectiveSpec | null = null;
    let def: ObjectiveDef;
    if (isSpec(objective)) {
      spec = normaliseSpec(objective as ObjectiveSpec | string);
      def = 'name' in spec || workers === 1 ? await loadObjective(spec) : { run: () => undefined };
    } else {
      def = toDef(objective as Objective);
      if (workers > 1) throw new SearchError("optimize: workers > 1 runs worker processes, which need an objective they can load: 'mnist' or { module, export }; a function objective runs with workers: 1");
    }
    await this.open();
    const { storage, row, cfg, space, sampler, pruner } = this.need();
    if (workers > 1 && !storage.shareable) throw new SearchError('optimize: worker processes cannot share the in-memory storage; use a SQLite file or PostgreSQL');
    def.checkSpace?.(space);
    const config: StudyConfig = {
      ...cfg,
      budget: mergeBudget(cfg.budget, { budgetMs: o.budgetMs, trialBudgetMs: o.trialBudgetMs, maxTrials: o.trials, maxEpochs: o.maxEpochs }),
      heartbeat: mergeHeartbeat(cfg.heartbeat, { intervalMs: o.heartbeatMs, staleMs: o.staleMs, maxRetries: o.maxRetries }),
      checkpointDir: o.checkpointDir === undefined ? cfg.checkpointDir : o.checkpointDir,
      objective: spec ?? cfg.objective,
      sampler: sampler.toJSON(),
      pruner: pruner.toJSON(),
    };
    await storage.updateStudyConfig(row.id, JSON.stringify(config));
    this.cfg = config;
    let reasons: string[];
    if (workers === 1) {
      const r = await runWorker({
        storage, study: row, space, sampler, pruner, direction: this._direction, config, objective: def,
        ...(o.signal ? { signal: o.signal } : {}), ...(o.log ? { log: o.log } : {}), ...(o.onTrialEnd ? { onTrialEnd: o.onTrialEnd } : {}),
        worker: newWorkerInfo(),
      });
      reasons = [r.reason];
    } else {
      reasons = await runParallel({ storageUrl: storage.url, study: this.name, workers, ...(o.signal ? { signal: o.signal } : {}), ...(o.log ? { log: o.log } : {}), ...(o.env ? { env: o.env } : {}) });
    }
    const trials = await storage.trials(row.id);
    return { best: bestTrial(trials, this._direction), trials, reasons, elapsedMs: await storage.elapsedMs(row.id, config.heartbeat.staleMs) };
  }

  /** Every trial, by number. */
  async trials(): Promise<TrialRecord[]> {
    await this.open();
    const { storage, row } = this.need();
    return storage.trials(row.id);
  }

  /** The best complete trial, or null. */
  async best(): Promise<TrialRecord | null> {
    return bestTrial(await this.trials(), this.direction);
  }

  /** Study time spent so far (ms), over all sessions. */
  async elapsedMs(): Promise<number> {
    await this.open();
    const { storage, row, cfg } = this.need();
    return storage.elapsedMs(row.id, cfg.heartbeat.staleMs);
  }

  /** The JSON `lernen study show --json` prints. */
  async summary(): Promise<StudySummary> {
    const trials = await this.trials();
    const { cfg, space } = this.need();
    const best = bestTrial(trials, this._direction);
    const counts: Record<string, number> = {};
    for (const t of trials) counts[t.state] = (counts[t.state] ?? 0) + 1;
    return {
      study: { name: this.name, direction: this._direction, space: space.toJSON(), sampler: cfg.sampler, pruner: cfg.pruner, objective: cfg.objective, budget: cfg.budget, elapsedMs: await this.elapsedMs(), counts },
      trials: trials.map((t) => ({
        number: t.number, state: t.state, params: t.params, value: t.value,
        intermediate: t.intermediate.map((v) => ({ step: v.step, value: Number.isFinite(v.value) ? v.value : null, seconds: v.seconds })),
        seconds: t.seconds, attempts: t.attempts, userAttrs: t.userAttrs,
        ...(typeof t.systemAttrs.error === 'string' ? { error: t.systemAttrs.error } : {}),
      })),
      best: best ? { number: best.number, params: best.params, value: best.value! } : null,
    };
  }

  /** Closes the storage if the study opened it. */
  async close(): Promise<void> {
    if (this.ownsStorage && this.storage) await this.storage.close();
  }
}

/** Creates or resumes a study (validates the options now; the storage opens on first use). */
export function study(opts: StudyOptions): Study {
  return new Study(opts);
}

/** Opens an existing study with its stored space, sampler, pruner and direction. */
export async function loadStudy(name: string, storage: string | Storage = DEFAULT_STORAGE): Promise<Study> {
  const s = new Study({ name, storage });
  await s.open();
  return s;
}
