/**
 * Study storage: tables for studies, trials, parameters, intermediate values and worker
 * heartbeats, in SQLite (a file, the default; `:memory:` for the in-memory storage) or in
 * PostgreSQL (for workers on many machines).
 *
 * Every statement is parameterised. Times are milliseconds since the epoch on the storage's
 * clock (PostgreSQL's `clock_timestamp()`, so machines with skewed clocks agree; SQLite's
 * `julianday('now')`, one machine anyway).
 *
 * A worker claims a trial inside one transaction that first locks the study row
 * (`SELECT … FOR UPDATE` on PostgreSQL, `BEGIN IMMEDIATE` on SQLite, which takes the database's
 * write lock; WAL mode and a busy timeout let readers and waiting writers proceed), re-queues the
 * trials whose worker stopped sending heartbeats, picks a waiting trial
 * (`FOR UPDATE SKIP LOCKED` on PostgreSQL) or creates a new one with parameters from the sampler.
 * Writes to a trial (reports, attributes, the final state) only take effect while the writing
 * worker still owns it (`state = 'running' AND worker = $me`), so a worker that was presumed dead
 * cannot overwrite the trial's re-run.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { errnoOf, fileKind, makeDirs } from '../files';
import { StorageError } from './errors';
import type { Params, ParamValue } from './space';
import type { Intermediate, TrialRecord, TrialState } from './types';

export const STUDY_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

/** Throws unless `name` is a legal study name (letters, digits, `_`, `.`, `-`; 1 to 64 characters). */
export function checkStudyName(name: unknown): string {
  if (typeof name !== 'string' || !STUDY_NAME.test(name)) {
    throw new StorageError(`study name ${JSON.stringify(name)} is invalid: use 1 to 64 letters, digits, '_', '.' or '-'`);
  }
  return name;
}

/** The study row. `config` is the JSON of sampler, pruner, objective, budgets and heartbeat settings. */
export interface StudyRow {
  id: number;
  name: string;
  direction: string;
  space: string;
  config: string;
  createdAt: number;
  spentMs: number;
  activeSince: number | null;
  lastSeen: number | null;
}

export interface WorkerInfo {
  id: string;
  host: string;
  pid: number;
}

/** What a claim transaction sees, for the caller's decision. */
export interface ClaimState {
  study: StudyRow;
  now: number;
  /** Study time spent, over all sessions (ms). */
  elapsedMs: number;
  trials: TrialRecord[];
  /** Trials re-queued (or failed) by this claim because their worker stopped sending heartbeats. */
  recovered: Array<{ number: number; state: TrialState }>;
}

export type ClaimDecision =
  | { kind: 'stop'; reason: string }
  | { kind: 'wait'; reason: string }
  | { kind: 'resume'; trialId: number }
  | { kind: 'create'; params: Params; systemAttrs?: Record<string, unknown> };

export type ClaimResult =
  | { kind: 'stop'; reason: string; elapsedMs: number; recovered: ClaimState['recovered'] }
  | { kind: 'wait'; reason: string; elapsedMs: number; recovered: ClaimState['recovered'] }
  | { kind: 'trial'; trial: TrialRecord; elapsedMs: number; recovered: ClaimState['recovered'] };

export interface HeartbeatSettings {
  /** A running trial whose worker's last heartbeat is older than this is presumed dead (ms). */
  staleMs: number;
  /** Re-queue a dead worker's trial at most this many times, then mark it failed. */
  maxRetries: number;
}

type Row = Record<string, unknown>;

/** The two SQL dialects behind one small interface; SQL is written with `?` placeholders. */
interface Driver {
  readonly dialect: 'sqlite' | 'postgres';
  /** SQL expression for "now" in epoch milliseconds (a float). */
  readonly nowSql: string;
  all(sql: string, params?: unknown[]): Promise<Row[]>;
  run(sql: string, params?: unknown[]): Promise<number>;
  /** A write transaction: serialised with every other write transaction on this database. */
  tx<T>(fn: (d: Driver) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

// ------------------------------------------------------------------------------- SQLite

/** Per-file queues: connections of one process to one SQLite file take turns (see SqliteDriver.tx). */
const sqliteQueues = new Map<string, Promise<void>>();
let memoryDbs = 0;

class SqliteDriver implements Driver {
  readonly dialect = 'sqlite' as const;
  readonly nowSql = "((julianday('now') - 2440587.5) * 86400000.0)";
  private db: import('better-sqlite3').Database;
  private readonly key: string;
  private readonly stmts = new Map<string, import('better-sqlite3').Statement>();
  /** Runs statements at once; handed to transaction callbacks, which already hold the queue. */
  private readonly direct: Driver;

  constructor(file: string) {
    // Loaded lazily so that the PostgreSQL storage works where the SQLite addon is not built.
    let Database: typeof import('better-sqlite3');
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      Database = require('better-sqlite3') as typeof import('better-sqlite3');
    } catch (e) {
      throw new StorageError(`the SQLite storage needs the better-sqlite3 package (npm install better-sqlite3@12): ${(e as Error).message}`);
    }
    if (file !== ':memory:') {
      // A FIFO or a device would block or feed SQLite without end.
      let st: fs.Stats | null = null;
      try { st = fs.statSync(file); } catch { /* a new database */ }
      if (st && !st.isFile()) throw new StorageError(`the SQLite database ${file} is not a regular file (${fileKind(st)})`);
      try { makeDirs(path.dirname(path.resolve(file))); } catch (e) {
        throw new StorageError(`cannot create the folder of the SQLite database ${file} (${errnoOf(e)})`);
      }
    }
    this.key = file === ':memory:' ? `:memory:${++memoryDbs}` : path.resolve(file);
    try {
      this.db = new Database(file, { timeout: 30_000 });
      if (file !== ':memory:') this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = NORMAL');
      this.db.pragma('foreign_keys = ON');
    } catch (e) {
      throw new StorageError(`cannot open the SQLite database ${file}: ${(e as Error).message}`);
    }
    const self = this;
    this.direct = {
      dialect: 'sqlite', nowSql: this.nowSql,
      all: async (sql, params = []) => self.stmt(sql).all(...params.map(bindSqlite)) as Row[],
      run: async (sql, params = []) => self.stmt(sql).run(...params.map(bindSqlite)).changes,
      tx: () => { throw new StorageError('nested SQLite transaction'); },
      close: async () => {},
    };
  }

  private stmt(sql: string): import('better-sqlite3').Statement {
    let s = this.stmts.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.stmts.set(sql, s);
    }
    return s;
  }

  /**
   * better-sqlite3 blocks the thread while it waits for a lock. Another process holding the lock
   * finishes on its own, but another connection of this process cannot while we block, and
   * awaits inside a transaction let other async work in: so every connection of this process to
   * the same file queues its statements and transactions.
   */
  private async queued<T>(fn: () => Promise<T>): Promise<T> {
    const prev = sqliteQueues.get(this.key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => { release = r; });
    const tail = prev.then(() => mine);
    sqliteQueues.set(this.key, tail);
    await prev;
    try {
      return await fn();
    } finally {
      release();
      if (sqliteQueues.get(this.key) === tail) sqliteQueues.delete(this.key);
    }
  }

  all(sql: string, params: unknown[] = []): Promise<Row[]> {
    return this.queued(() => this.direct.all(sql, params));
  }

  run(sql: string, params: unknown[] = []): Promise<number> {
    return this.queued(() => this.direct.run(sql, params));
  }

  tx<T>(fn: (d: Driver) => Promise<T>): Promise<T> {
    return this.queued(async () => {
      this.db.exec('BEGIN IMMEDIATE');
      try {
        const out = await fn(this.direct);
        this.db.exec('COMMIT');
        return out;
      } catch (e) {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
        throw e;
      }
    });
  }

  async close(): Promise<void> {
    await this.queued(async () => { if (this.db.open) this.db.close(); });
  }
}

function bindSqlite(v: unknown): unknown {
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'number' && !Number.isFinite(v)) return null;
  return v;
}

// ------------------------------------------------------------------------------- PostgreSQL

function toDollar(sql: string): string {
  let i = 0;
  return sql.replace(/\?/g, () => `$${++i}`);
}

class PgClientDriver implements Driver {
  readonly dialect = 'postgres' as const;
  readonly nowSql = '(extract(epoch from clock_timestamp()) * 1000)::float8';
  constructor(private client: { query: (q: string, p?: unknown[]) => Promise<{ rows: Row[]; rowCount: number | null }> }) {}
  async all(sql: string, params: unknown[] = []): Promise<Row[]> {
    return (await this.client.query(toDollar(sql), params)).rows;
  }
  async run(sql: string, params: unknown[] = []): Promise<number> {
    return (await this.client.query(toDollar(sql), params)).rowCount ?? 0;
  }
  tx<T>(): Promise<T> { throw new StorageError('nested PostgreSQL transaction'); }
  async close(): Promise<void> {}
}

class PgDriver implements Driver {
  readonly dialect = 'postgres' as const;
  readonly nowSql = '(extract(epoch from clock_timestamp()) * 1000)::float8';
  private pool: import('pg').Pool;
  private direct: PgClientDriver;

  constructor(url: string) {
    let pg: typeof import('pg');
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      pg = require('pg') as typeof import('pg');
    } catch (e) {
      throw new StorageError(`the PostgreSQL storage needs the pg package (npm install pg): ${(e as Error).message}`);
    }
    this.pool = new pg.Pool({ connectionString: url, max: 3, idleTimeoutMillis: 10_000, connectionTimeoutMillis: 15_000 });
    // An idle client that loses its connection emits 'error' on the pool; the next query reconnects.
    this.pool.on('error', () => {});
    this.direct = new PgClientDriver(this.pool as never);
  }

  all(sql: string, params?: unknown[]): Promise<Row[]> { return this.direct.all(sql, params); }
  run(sql: string, params?: unknown[]): Promise<number> { return this.direct.run(sql, params); }

  async tx<T>(fn: (d: Driver) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      try {
        const out = await fn(new PgClientDriver(client as never));
        await client.query('COMMIT');
        return out;
      } catch (e) {
        await client.query('ROLLBACK').catch(() => {});
        throw e;
      }
    } finally {
      client.release();
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

// ------------------------------------------------------------------------------- schema

function schema(d: 'sqlite' | 'postgres'): string[] {
  const pk = d === 'sqlite' ? 'INTEGER PRIMARY KEY AUTOINCREMENT' : 'INTEGER GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY';
  const real = d === 'sqlite' ? 'REAL' : 'DOUBLE PRECISION';
  return [
    `CREATE TABLE IF NOT EXISTS lernen_studies (
      id ${pk},
      name TEXT NOT NULL UNIQUE,
      direction TEXT NOT NULL,
      space TEXT NOT NULL,
      config TEXT NOT NULL,
      created_at ${real} NOT NULL,
      spent_ms ${real} NOT NULL DEFAULT 0,
      active_since ${real},
      last_seen ${real})`,
    `CREATE TABLE IF NOT EXISTS lernen_trials (
      id ${pk},
      study_id INTEGER NOT NULL REFERENCES lernen_studies(id) ON DELETE CASCADE,
      number INTEGER NOT NULL,
      state TEXT NOT NULL CHECK (state IN ('waiting', 'running', 'complete', 'pruned', 'failed')),
      value ${real},
      worker TEXT,
      attempts INTEGER NOT NULL DEFAULT 0,
      seconds ${real} NOT NULL DEFAULT 0,
      created_at ${real} NOT NULL,
      started_at ${real},
      finished_at ${real},
      user_attrs TEXT NOT NULL DEFAULT '{}',
      system_attrs TEXT NOT NULL DEFAULT '{}',
      UNIQUE (study_id, number))`,
    'CREATE INDEX IF NOT EXISTS lernen_trials_state ON lernen_trials (study_id, state)',
    `CREATE TABLE IF NOT EXISTS lernen_trial_params (
      trial_id INTEGER NOT NULL REFERENCES lernen_trials(id) ON DELETE CASCADE,
      name TEXT NOT NULL,
      value TEXT NOT NULL,
      PRIMARY KEY (trial_id, name))`,
    `CREATE TABLE IF NOT EXISTS lernen_trial_values (
      trial_id INTEGER NOT NULL REFERENCES lernen_trials(id) ON DELETE CASCADE,
      step INTEGER NOT NULL,
      value ${real},
      seconds ${real} NOT NULL,
      PRIMARY KEY (trial_id, step))`,
    `CREATE TABLE IF NOT EXISTS lernen_heartbeats (
      worker TEXT PRIMARY KEY,
      study_id INTEGER NOT NULL REFERENCES lernen_studies(id) ON DELETE CASCADE,
      trial_id INTEGER,
      host TEXT NOT NULL,
      pid INTEGER NOT NULL,
      started_at ${real} NOT NULL,
      beat_at ${real} NOT NULL)`,
    'CREATE INDEX IF NOT EXISTS lernen_heartbeats_study ON lernen_heartbeats (study_id, beat_at)',
  ];
}

// ------------------------------------------------------------------------------- storage

const num = (v: unknown): number => (typeof v === 'number' ? v : Number(v));
const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : num(v));

function parseJson(v: unknown, fallback: Record<string, unknown> = {}): Record<string, unknown> {
  if (typeof v !== 'string') return fallback;
  try {
    const o = JSON.parse(v) as unknown;
    return typeof o === 'object' && o !== null && !Array.isArray(o) ? (o as Record<string, unknown>) : fallback;
  } catch {
    return fallback;
  }
}

function toStudy(r: Row): StudyRow {
  return {
    id: num(r.id), name: String(r.name), direction: String(r.direction), space: String(r.space), config: String(r.config),
    createdAt: num(r.created_at), spentMs: num(r.spent_ms), activeSince: numOrNull(r.active_since), lastSeen: numOrNull(r.last_seen),
  };
}

/** Where a storage URL points: `sqlite:FILE`, `sqlite::memory:` / `memory`, `postgres://…`. */
export type StorageTarget = { kind: 'sqlite'; file: string } | { kind: 'memory' } | { kind: 'postgres'; url: string };

/** Parses a storage URL (throws a StorageError naming the accepted forms). */
export function parseStorageUrl(url: string): StorageTarget {
  if (typeof url !== 'string' || url.trim() === '') throw new StorageError('storage: empty storage URL');
  const u = url.trim();
  if (u === 'memory' || u === ':memory:' || u === 'memory:' || u === 'sqlite::memory:') return { kind: 'memory' };
  if (/^postgres(ql)?:\/\//i.test(u)) return { kind: 'postgres', url: u };
  let file: string | null = null;
  if (/^sqlite:\/\//i.test(u)) file = u.slice('sqlite://'.length);
  else if (/^sqlite:/i.test(u)) file = u.slice('sqlite:'.length);
  else if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(u)) file = u;
  if (file === null) throw new StorageError(`storage: unsupported URL ${JSON.stringify(url)} (expected sqlite:FILE, memory or postgres://user@host/db)`);
  if (file === '') throw new StorageError(`storage: ${JSON.stringify(url)} names no file (expected sqlite:FILE)`);
  return { kind: 'sqlite', file: path.resolve(file) };
}

/** A study storage over SQLite or PostgreSQL. Open with `openStorage(url)`. */
export class Storage {
  readonly target: StorageTarget;
  private ready: Promise<void> | null = null;
  private closed = false;

  private constructor(private readonly d: Driver, target: StorageTarget, readonly url: string) {
    this.target = target;
  }

  /** Opens (and creates the tables of) the storage at `url`. */
  static async open(url: string): Promise<Storage> {
    const target = parseStorageUrl(url);
    const driver = target.kind === 'postgres' ? new PgDriver(target.url) : new SqliteDriver(target.kind === 'memory' ? ':memory:' : target.file);
    const s = new Storage(driver, target, url);
    try {
      await s.init();
    } catch (e) {
      await driver.close().catch(() => {});
      if (e instanceof StorageError) throw e;
      throw new StorageError(`storage ${redact(url)}: ${(e as Error).message}`);
    }
    return s;
  }

  /** Whether several processes can share this storage (not the in-memory one). */
  get shareable(): boolean {
    return this.target.kind !== 'memory';
  }

  private async schemaReady(q: Driver): Promise<boolean> {
    // The last object schema() creates; all are created in one transaction.
    const rows = q.dialect === 'postgres'
      ? await q.all("SELECT to_regclass('lernen_heartbeats_study') IS NOT NULL AS ok")
      : await q.all("SELECT COUNT(*) AS ok FROM sqlite_master WHERE type = 'index' AND name = 'lernen_heartbeats_study'");
    return Boolean(num(rows[0]?.ok ?? 0)) || rows[0]?.ok === true;
  }

  private init(): Promise<void> {
    this.ready ??= (async () => {
      // DDL on existing tables would take table locks that can deadlock with running claims, so
      // it only runs when the schema is missing, serialised by an advisory lock on PostgreSQL.
      if (await this.schemaReady(this.d)) return;
      await this.d.tx(async (q) => {
        if (q.dialect === 'postgres') await q.all('SELECT pg_advisory_xact_lock(7216849301)');
        if (await this.schemaReady(q)) return;
        for (const s of schema(q.dialect)) await q.run(s);
      });
    })();
    return this.ready;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.d.close();
  }

  async now(): Promise<number> {
    return num((await this.d.all(`SELECT ${this.d.nowSql} AS now`))[0]!.now);
  }

  async getStudy(name: string): Promise<StudyRow | null> {
    checkStudyName(name);
    const rows = await this.d.all('SELECT * FROM lernen_studies WHERE name = ?', [name]);
    return rows[0] ? toStudy(rows[0]) : null;
  }

  async listStudies(): Promise<StudyRow[]> {
    return (await this.d.all('SELECT * FROM lernen_studies ORDER BY id')).map(toStudy);
  }

  /** Creates the study unless it exists (another worker may create it concurrently); returns the stored row. */
  async createStudy(s: { name: string; direction: string; space: string; config: string }): Promise<StudyRow> {
    checkStudyName(s.name);
    await this.d.run(
      `INSERT INTO lernen_studies (name, direction, space, config, created_at) VALUES (?, ?, ?, ?, ${this.d.nowSql}) ON CONFLICT (name) DO NOTHING`,
      [s.name, s.direction, s.space, s.config],
    );
    return (await this.getStudy(s.name))!;
  }

  async updateStudyConfig(id: number, config: string): Promise<void> {
    await this.d.run('UPDATE lernen_studies SET config = ? WHERE id = ?', [config, id]);
  }

  /**
   * When the study was last known alive: the later of its last claim/leave and the newest
   * heartbeat of any of its workers (heartbeats do not write the study row, so they never wait
   * for a claim's lock on it).
   */
  private async lastSeen(q: Driver, studyId: number, stored: number | null): Promise<number | null> {
    const r = (await q.all('SELECT MAX(beat_at) AS m FROM lernen_heartbeats WHERE study_id = ?', [studyId]))[0];
    const beat = numOrNull(r?.m);
    if (beat === null) return stored;
    return stored === null ? beat : Math.max(stored, beat);
  }

  /** Study time spent so far (ms), over all sessions, on the storage's clock. */
  async elapsedMs(studyId: number, staleMs: number): Promise<number> {
    const rows = await this.d.all(`SELECT spent_ms, active_since, last_seen, ${this.d.nowSql} AS now FROM lernen_studies WHERE id = ?`, [studyId]);
    const r = rows[0];
    if (!r) return 0;
    const spent = num(r.spent_ms);
    const since = numOrNull(r.active_since);
    const now = num(r.now);
    if (since === null) return spent;
    const last = await this.lastSeen(this.d, studyId, numOrNull(r.last_seen));
    // A session nobody has touched within staleMs ended when it was last seen.
    return spent + ((last !== null && last < now - staleMs) ? last : now) - since;
  }

  /** All trials of a study with parameters and intermediate values, by number. */
  async trials(studyId: number, q: Driver = this.d): Promise<TrialRecord[]> {
    const rows = await q.all('SELECT * FROM lernen_trials WHERE study_id = ? ORDER BY number', [studyId]);
    const params = await q.all('SELECT p.trial_id, p.name, p.value FROM lernen_trial_params p JOIN lernen_trials t ON t.id = p.trial_id WHERE t.study_id = ?', [studyId]);
    const values = await q.all('SELECT v.trial_id, v.step, v.value, v.seconds FROM lernen_trial_values v JOIN lernen_trials t ON t.id = v.trial_id WHERE t.study_id = ? ORDER BY v.trial_id, v.step', [studyId]);
    const byId = new Map<number, TrialRecord>();
    const out = rows.map((r) => {
      const t: TrialRecord = {
        id: num(r.id), number: num(r.number), state: r.state as TrialState, params: {}, value: numOrNull(r.value),
        intermediate: [], seconds: num(r.seconds), attempts: num(r.attempts), worker: (r.worker as string | null) ?? null,
        createdAt: num(r.created_at), startedAt: numOrNull(r.started_at), finishedAt: numOrNull(r.finished_at),
        userAttrs: parseJson(r.user_attrs), systemAttrs: parseJson(r.system_attrs),
      };
      byId.set(t.id, t);
      return t;
    });
    for (const p of params) {
      const t = byId.get(num(p.trial_id));
      if (t) t.params[String(p.name)] = JSON.parse(String(p.value)) as ParamValue;
    }
    for (const v of values) {
      const t = byId.get(num(v.trial_id));
      if (t) t.intermediate.push({ step: num(v.step), value: v.value === null ? NaN : num(v.value), seconds: num(v.seconds) });
    }
    return out;
  }

  /**
   * The claim transaction: session clock, heartbeat, dead-worker recovery, then `decide` picks
   * what the worker does next. `decide` runs inside the transaction and must not do I/O.
   */
  async claim(studyId: number, worker: WorkerInfo, hb: HeartbeatSettings, decide: (s: ClaimState) => ClaimDecision): Promise<ClaimResult> {
    return retryTransient(() => this.d.tx(async (q) => {
      const lock = q.dialect === 'postgres' ? ' FOR UPDATE' : '';
      const srow = (await q.all(`SELECT *, ${q.nowSql} AS now FROM lernen_studies WHERE id = ?${lock}`, [studyId]))[0];
      if (!srow) throw new StorageError(`study ${studyId} no longer exists`);
      const study = toStudy(srow);
      const now = num(srow.now);
      // The study clock runs while any worker is alive: a session starts at the first claim and
      // ends when the last worker leaves, or (after a crash) when it was last seen.
      let { spentMs, activeSince } = study;
      const lastSeen = await this.lastSeen(q, studyId, study.lastSeen);
      if (activeSince === null) activeSince = now;
      else if (lastSeen !== null && lastSeen < now - hb.staleMs) {
        spentMs += Math.max(0, lastSeen - activeSince);
        activeSince = now;
      }
      await q.run('UPDATE lernen_studies SET spent_ms = ?, active_since = ?, last_seen = ? WHERE id = ?', [spentMs, activeSince, now, studyId]);
      study.spentMs = spentMs;
      study.activeSince = activeSince;
      study.lastSeen = now;
      await this.upsertHeartbeat(q, worker, studyId, null, now);

      // Dead workers: running trials whose worker has no fresh heartbeat. (Only the heartbeat's
      // age counts: a live worker's row may briefly not name its trial while its claim or finish
      // is in flight, and treating that as death re-ran trials under load.)
      const stale = await q.all(
        `SELECT t.id, t.number, t.attempts, t.worker, t.seconds, t.system_attrs,
                (SELECT MAX(v.seconds) FROM lernen_trial_values v WHERE v.trial_id = t.id) AS reported
           FROM lernen_trials t LEFT JOIN lernen_heartbeats h ON h.worker = t.worker
          WHERE t.study_id = ? AND t.state = 'running' AND (h.worker IS NULL OR h.beat_at < ?)`,
        [studyId, now - hb.staleMs],
      );
      const recovered: ClaimState['recovered'] = [];
      for (const s of stale) {
        const attempts = num(s.attempts) + 1;
        const sys = parseJson(s.system_attrs);
        const lost = [...((sys.lostWorkers as unknown[]) ?? []), String(s.worker)];
        const seconds = Math.max(num(s.seconds), numOrNull(s.reported) ?? 0);
        if (attempts > hb.maxRetries) {
          const err = `worker ${String(s.worker)} stopped sending heartbeats (${attempts} time(s); retry limit ${hb.maxRetries})`;
          await q.run(`UPDATE lernen_trials SET state = 'failed', attempts = ?, seconds = ?, finished_at = ?, system_attrs = ? WHERE id = ?`,
            [attempts, seconds, now, JSON.stringify({ ...sys, lostWorkers: lost, error: err }), num(s.id)]);
          recovered.push({ number: num(s.number), state: 'failed' });
        } else {
          await q.run(`UPDATE lernen_trials SET state = 'waiting', attempts = ?, seconds = ?, system_attrs = ? WHERE id = ?`,
            [attempts, seconds, JSON.stringify({ ...sys, lostWorkers: lost }), num(s.id)]);
          recovered.push({ number: num(s.number), state: 'waiting' });
        }
      }
      // Old heartbeat rows of dead workers are no longer needed.
      await q.run('DELETE FROM lernen_heartbeats WHERE study_id = ? AND trial_id IS NULL AND beat_at < ?', [studyId, now - 10 * hb.staleMs - 60_000]);

      const trials = await this.trials(studyId, q);
      const elapsedMs = spentMs + now - activeSince;
      const decision = decide({ study, now, elapsedMs, trials, recovered });
      if (decision.kind === 'stop') return { kind: 'stop', reason: decision.reason, elapsedMs, recovered };
      if (decision.kind === 'wait') return { kind: 'wait', reason: decision.reason, elapsedMs, recovered };
      let id: number;
      if (decision.kind === 'resume') {
        const skip = q.dialect === 'postgres' ? ' FOR UPDATE SKIP LOCKED' : '';
        const row = (await q.all(`SELECT id FROM lernen_trials WHERE id = ? AND state = 'waiting'${skip}`, [decision.trialId]))[0];
        if (!row) return { kind: 'wait', reason: 'the waiting trial was taken', elapsedMs, recovered };
        id = decision.trialId;
        await q.run(`UPDATE lernen_trials SET state = 'running', worker = ?, started_at = ? WHERE id = ?`, [worker.id, now, id]);
      } else {
        const next = num((await q.all('SELECT COALESCE(MAX(number), -1) + 1 AS n FROM lernen_trials WHERE study_id = ?', [studyId]))[0]!.n);
        const ins = await q.all(
          `INSERT INTO lernen_trials (study_id, number, state, worker, created_at, started_at, system_attrs) VALUES (?, ?, 'running', ?, ?, ?, ?) RETURNING id`,
          [studyId, next, worker.id, now, now, JSON.stringify(decision.systemAttrs ?? {})],
        );
        id = num(ins[0]!.id);
        for (const [name, value] of Object.entries(decision.params)) {
          await q.run('INSERT INTO lernen_trial_params (trial_id, name, value) VALUES (?, ?, ?)', [id, name, JSON.stringify(value)]);
        }
      }
      await q.run('UPDATE lernen_heartbeats SET trial_id = ? WHERE worker = ?', [id, worker.id]);
      const trial = (await this.trials(studyId, q)).find((t) => t.id === id)!;
      return { kind: 'trial', trial, elapsedMs, recovered };
    }));
  }

  private async upsertHeartbeat(q: Driver, w: WorkerInfo, studyId: number, trialId: number | null, now: number): Promise<void> {
    await q.run(
      `INSERT INTO lernen_heartbeats (worker, study_id, trial_id, host, pid, started_at, beat_at) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (worker) DO UPDATE SET beat_at = excluded.beat_at, trial_id = excluded.trial_id, study_id = excluded.study_id`,
      [w.id, studyId, trialId, w.host, w.pid, now, now],
    );
  }

  /**
   * Records that `worker` is alive (and, with `trialId`, still working on that trial). Returns
   * false when the worker no longer owns the trial (it was presumed dead and re-queued).
   */
  async heartbeat(studyId: number, worker: WorkerInfo, trialId: number | null): Promise<boolean> {
    return retryTransient(() => this.d.tx(async (q) => {
      const now = num((await q.all(`SELECT ${q.nowSql} AS now`))[0]!.now);
      // Only this worker's own row is written: no lock on the study row, so no lock-order
      // inversion with a claim (which locks the study row first). Only beat_at changes: trial_id
      // belongs to claim() and finish(), and a heartbeat that started before a claim must not
      // overwrite the trial the claim just recorded (that trial would then look orphaned).
      const n = await q.run('UPDATE lernen_heartbeats SET beat_at = ? WHERE worker = ?', [now, worker.id]);
      if (n === 0) {
        await q.run(
          `INSERT INTO lernen_heartbeats (worker, study_id, trial_id, host, pid, started_at, beat_at) VALUES (?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (worker) DO UPDATE SET beat_at = excluded.beat_at`,
          [worker.id, studyId, trialId, worker.host, worker.pid, now, now],
        );
      }
      if (trialId === null) return true;
      return (await q.all(`SELECT 1 AS ok FROM lernen_trials WHERE id = ? AND worker = ? AND state = 'running'`, [trialId, worker.id])).length > 0;
    }));
  }

  /** Stores an intermediate value; false when the worker no longer owns the trial. */
  async report(trialId: number, worker: WorkerInfo, v: Intermediate): Promise<boolean> {
    const n = await retryTransient(() => this.d.run(
      `INSERT INTO lernen_trial_values (trial_id, step, value, seconds)
       SELECT CAST(? AS INTEGER), CAST(? AS INTEGER), CAST(? AS DOUBLE PRECISION), CAST(? AS DOUBLE PRECISION) WHERE EXISTS (SELECT 1 FROM lernen_trials WHERE id = ? AND worker = ? AND state = 'running')
       ON CONFLICT (trial_id, step) DO UPDATE SET value = excluded.value, seconds = excluded.seconds`,
      [trialId, v.step, Number.isFinite(v.value) ? v.value : null, v.seconds, trialId, worker.id],
    ));
    return n > 0;
  }

  /** Merges user attributes into the trial's; false when the worker no longer owns it. */
  async setUserAttrs(trialId: number, worker: WorkerInfo, attrs: Record<string, unknown>): Promise<boolean> {
    return retryTransient(() => this.d.tx(async (q) => {
      const row = (await q.all(`SELECT user_attrs FROM lernen_trials WHERE id = ? AND worker = ? AND state = 'running'`, [trialId, worker.id]))[0];
      if (!row) return false;
      await q.run('UPDATE lernen_trials SET user_attrs = ? WHERE id = ?', [JSON.stringify({ ...parseJson(row.user_attrs), ...attrs }), trialId]);
      return true;
    }));
  }

  /** Ends the trial (complete, pruned, failed) or puts it back in the queue (waiting); false when not owned. */
  async finish(trialId: number, worker: WorkerInfo, r: { state: TrialState; value: number | null; seconds: number; systemAttrs?: Record<string, unknown> }): Promise<boolean> {
    return retryTransient(() => this.d.tx(async (q) => {
      const row = (await q.all(`SELECT system_attrs, ${q.nowSql} AS now FROM lernen_trials WHERE id = ? AND worker = ? AND state = 'running'`, [trialId, worker.id]))[0];
      if (!row) return false;
      const sys = JSON.stringify({ ...parseJson(row.system_attrs), ...(r.systemAttrs ?? {}) });
      const value = r.value !== null && Number.isFinite(r.value) ? r.value : null;
      if (r.state === 'waiting') {
        await q.run(`UPDATE lernen_trials SET state = 'waiting', seconds = ?, system_attrs = ? WHERE id = ?`, [r.seconds, sys, trialId]);
      } else {
        await q.run('UPDATE lernen_trials SET state = ?, value = ?, seconds = ?, finished_at = ?, system_attrs = ? WHERE id = ?',
          [r.state, value, r.seconds, num(row.now), sys, trialId]);
      }
      await q.run('UPDATE lernen_heartbeats SET trial_id = NULL WHERE worker = ?', [worker.id]);
      return true;
    }));
  }

  /** The worker leaves the study; the last live worker to leave stops the study clock. */
  async leave(studyId: number, worker: WorkerInfo, staleMs: number): Promise<void> {
    await retryTransient(() => this.d.tx(async (q) => {
      const srow = (await q.all(`SELECT *, ${q.nowSql} AS now FROM lernen_studies WHERE id = ?${q.dialect === 'postgres' ? ' FOR UPDATE' : ''}`, [studyId]))[0];
      await q.run('DELETE FROM lernen_heartbeats WHERE worker = ?', [worker.id]);
      if (!srow) return;
      const now = num(srow.now);
      const live = num((await q.all('SELECT COUNT(*) AS n FROM lernen_heartbeats WHERE study_id = ? AND beat_at >= ?', [studyId, now - staleMs]))[0]!.n);
      const since = numOrNull(srow.active_since);
      if (live === 0 && since !== null) {
        await q.run('UPDATE lernen_studies SET spent_ms = spent_ms + ?, active_since = NULL, last_seen = ? WHERE id = ?', [Math.max(0, now - since), now, studyId]);
      }
    }));
  }

  /** Live workers of a study (heartbeat within staleMs). */
  async liveWorkers(studyId: number, staleMs: number): Promise<Array<{ worker: string; host: string; pid: number; trialId: number | null }>> {
    const rows = await this.d.all(`SELECT worker, host, pid, trial_id FROM lernen_heartbeats WHERE study_id = ? AND beat_at >= ${this.d.nowSql} - ? ORDER BY started_at`, [studyId, staleMs]);
    return rows.map((r) => ({ worker: String(r.worker), host: String(r.host), pid: num(r.pid), trialId: numOrNull(r.trial_id) }));
  }
}

const TRANSIENT = new Set(['40P01', '40001', '55P03', 'SQLITE_BUSY', 'SQLITE_LOCKED', 'ECONNRESET', 'ECONNREFUSED', '57P01']);

/**
 * Runs `fn` again (up to 5 times, with growing pauses) when it fails with a transient database
 * error: a deadlock or serialisation failure, a busy database, a dropped connection.
 */
export async function retryTransient<T>(fn: () => Promise<T>): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await fn();
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      if (i >= 4 || typeof code !== 'string' || !TRANSIENT.has(code)) throw e;
      await new Promise((r) => setTimeout(r, 50 * 2 ** i + Math.random() * 50));
    }
  }
}

/** The URL with any password replaced by ***, for messages. */
export function redact(url: string): string {
  return url.replace(/(\/\/[^:/@]+:)[^@]*@/, '$1***@');
}

/** Opens a storage from its URL (see `parseStorageUrl`). */
export function openStorage(url: string): Promise<Storage> {
  return Storage.open(url);
}
