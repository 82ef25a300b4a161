/**
 * `lernen bench` (= `npm run bench`): training speed of lernen against its peers on the reference
 * workloads, peak memory, large allocations per step and time to accuracy; the results go to
 * docs/benchmarks.md and the README's "Benchmarks" section.
 *
 * Workloads (shared/anchors/README.md): W1 `w1` is the MLP 784-512-512-10 (ReLU, dropout 0.2,
 * batch 128, SGD momentum 0.9, lr 0.05); W2 `cnn` is the PyTorch MNIST example's network (batch
 * 64, SGD momentum 0.9, lr 0.01). Both train on the 60,000 MNIST images, pixels in [0, 1].
 *
 * Every implementation runs in a worker process of its own: lernen (this file, started again with
 * `--bench-worker`) on the native backend with 1 or 2 kernel threads or on the JS backend,
 * TensorFlow.js (bench/peers/tfjs_worker.cjs) and PyTorch (bench/peers/torch_worker.py). Workers
 * load the data and warm up once, then time repetitions on command; the repetitions of all
 * variants of a workload alternate, so that background load hits them alike, and each ratio is
 * taken between repetitions that ran next to each other.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { setBackend, setNumThreads, getNumThreads } from '../backend';
import { findPackageRoot } from '../backend/loader';
import { DataLoader, loadMnist, mnistDir } from '../data';
import { doctor } from '../doctor';
import { writeFileAtomic } from '../nn/serialize';
import * as optim from '../optim';
import { memoryStats, resetMemoryStats } from '../tensor/pool';
import { manualSeed } from '../tensor/random';
import type { Batch, BatchSource } from '../train/fit';
import { fit } from '../train/fit';
import { buildPreset } from '../train/presets';
import { makeDirs } from '../files';
import { UsageError, checkOutFile, parseFlags, pathFlag } from './args';
import { parseTrainArgs } from './train';

// ---------------------------------------------------------------------------------------------
// Workloads, variants, configuration

export type WorkloadName = 'w1' | 'cnn';
export type VariantName = 'native1' | 'native2' | 'js' | 'tfjs-cpu' | 'tfjs-wasm' | 'torch';
export type MeasureName = 'speed' | 'rss' | 'alloc' | 'tta';

interface Workload {
  preset: 'mlp' | 'cnn';
  title: string;
  batchSize: number;
  lr: number;
  /** Batches in one epoch of 60,000 images. */
  epochBatches: number;
  /** Training GFLOP per epoch (shared/anchors/README.md). */
  gflopPerEpoch: number;
}

export const WORKLOADS: Record<WorkloadName, Workload> = {
  w1: { preset: 'mlp', title: 'W1 mlp', batchSize: 128, lr: 0.05, epochBatches: 469, gflopPerEpoch: 240.7 },
  cnn: { preset: 'cnn', title: 'W2 cnn', batchSize: 64, lr: 0.01, epochBatches: 938, gflopPerEpoch: 4300 },
};

export const VARIANTS: readonly VariantName[] = ['native1', 'native2', 'js', 'tfjs-cpu', 'tfjs-wasm', 'torch'];
const MEASURES: readonly MeasureName[] = ['speed', 'rss', 'alloc', 'tta'];

const VARIANT_LABEL: Record<VariantName, string> = {
  native1: 'lernen native, 1 thread',
  native2: 'lernen native, 2 threads',
  js: 'lernen JS backend',
  'tfjs-cpu': 'TF.js 4.22 cpu (pure JS)',
  'tfjs-wasm': 'TF.js 4.22 wasm (SIMD)',
  torch: 'PyTorch (Debian python3-torch)',
};

/**
 * Batches timed per repetition by default (then extrapolated to an epoch), chosen so that the
 * default run stays within about 10 minutes on 2 cores; `--batches N` or `--full` override them.
 */
const DEFAULT_BATCHES: Record<WorkloadName, Partial<Record<VariantName, number>>> = {
  w1: { native1: 200, native2: 200, torch: 200, js: 15, 'tfjs-wasm': 20, 'tfjs-cpu': 5 },
  cnn: { native1: 40, native2: 40, torch: 40, js: 2 },
};
/** Untimed warm-up batches when a worker starts. */
const WARMUP: Record<WorkloadName, Partial<Record<VariantName, number>>> = {
  w1: { native1: 5, native2: 5, torch: 5, js: 2, 'tfjs-wasm': 2, 'tfjs-cpu': 2 },
  cnn: { native1: 3, native2: 3, torch: 3, js: 1 },
};
/** Rough seconds per batch on 2 idle cores (for the ETA before anything was measured). */
const GUESS_S_PER_BATCH: Record<WorkloadName, Partial<Record<VariantName, number>>> = {
  w1: { native1: 0.008, native2: 0.005, torch: 0.004, js: 0.25, 'tfjs-wasm': 0.12, 'tfjs-cpu': 0.6 },
  cnn: { native1: 0.06, native2: 0.04, torch: 0.036, js: 2.5 },
};

/**
 * PyTorch thread settings, the best on 2 cores per shared/anchors/README.md: for the MLP one torch
 * (OpenMP) thread and 2 OpenBLAS threads; for the CNN 2 torch threads and 1 OpenBLAS thread. Two
 * pools of 2 threads each on 2 cores oversubscribe and run about 3× slower.
 */
const TORCH_THREADS: Record<WorkloadName, { torch: number; openblas: number }> = {
  w1: { torch: 1, openblas: 2 },
  cnn: { torch: 2, openblas: 1 },
};

export interface BenchConfig {
  workloads: WorkloadName[];
  variants: VariantName[];
  measures: MeasureName[];
  reps: number;
  /** Batches per repetition for every variant; null: the per-variant defaults. */
  batches: number | null;
  full: boolean;
  seed: number;
  python: string | null;
  /**
   * Extra `lernen train` arguments for the time-to-accuracy runs: `--mlp-args='--epochs 3'`,
   * `--cnn-args='--dropout 0.25'` (the '=' keeps a value that starts with '--' from reading as a flag).
   */
  ttaArgs: { mlp: string[]; cnn: string[] };
  /** Markdown file to update (null: print only). */
  out: string | null;
  readme: string | null;
  json: string | null;
  quiet: boolean;
  /** The flags as given (for the reproducing commands). */
  argv: readonly string[];
}

export const BENCH_FLAGS = {
  workloads: 'string', backends: 'string', measure: 'string', reps: 'int', batches: 'int', full: 'boolean',
  seed: 'int', python: 'string', 'mlp-args': 'string', 'cnn-args': 'string', out: 'string', readme: 'string',
  json: 'string', write: 'boolean', 'no-write': 'boolean', quiet: 'boolean',
} as const;

function list<T extends string>(flag: string, v: unknown, allowed: readonly T[], dflt: readonly T[]): T[] {
  if (v === undefined) return [...dflt];
  const items = String(v).split(',').map((s) => s.trim()).filter(Boolean);
  if (!items.length) throw new UsageError(`bench: --${flag} needs at least one of ${allowed.join(', ')}`);
  for (const it of items) {
    if (!allowed.includes(it as T)) throw new UsageError(`bench: --${flag}: unknown '${it}' (expected ${allowed.join(', ')})`);
  }
  return allowed.filter((a) => items.includes(a));
}

/** The project root (the folder of lernen's package.json), or null outside the repository. */
export function repoRoot(): string | null {
  return findPackageRoot();
}

/** Validates the flags; nothing runs before this returns. */
export function parseBenchArgs(argv: readonly string[]): BenchConfig {
  const { flags: f, positional } = parseFlags('bench', argv, BENCH_FLAGS);
  if (positional.length) throw new UsageError(`bench: unexpected argument '${positional[0]}'`);
  const workloads = list('workloads', f.workloads, ['w1', 'cnn'] as const, ['w1', 'cnn']);
  const variants = list('backends', f.backends, VARIANTS, VARIANTS);
  const measures = list('measure', f.measure, MEASURES, MEASURES);
  // 7 alternating reps by default: on a shared VM single reps of the same variant differ by up to
  // 2x (other tenants' load does not show in the load average), and 3 left the median at the
  // mercy of one disturbed rep (a CNN ratio of 1.17x in one 3-rep run, 1.41x over 7 reps).
  const reps = (f.reps as number | undefined) ?? 7;
  if (!(reps >= 1 && reps <= 1000)) throw new UsageError(`bench: --reps must be in [1, 1000], got ${reps}`);
  const batches = (f.batches as number | undefined) ?? null;
  if (batches !== null && !(batches >= 1 && batches <= 100000)) throw new UsageError(`bench: --batches must be in [1, 100000], got ${batches}`);
  if (batches !== null && f.full) throw new UsageError('bench: --batches and --full exclude each other');
  const seed = (f.seed as number | undefined) ?? 1;
  if (!Number.isSafeInteger(seed) || seed < 0) throw new UsageError(`bench: --seed must be a non-negative integer, got ${seed}`);
  const noWrite = f['no-write'] === true;
  if (noWrite) {
    const clash = (['write', 'out', 'readme'] as const).find((k) => f[k] !== undefined && f[k] !== false);
    if (clash) throw new UsageError(`bench: --no-write and --${clash} exclude each other`);
  }
  const ttaArgs = { mlp: ttaArgsFlag('mlp', f['mlp-args']), cnn: ttaArgsFlag('cnn', f['cnn-args']) };
  const root = repoRoot();
  const isDefault = f.workloads === undefined && f.backends === undefined && f.measure === undefined;
  let out: string | null = null;
  if (f.out !== undefined) out = pathFlag('bench', 'out', f.out);
  else if (!noWrite && (isDefault || f.write === true) && root) out = path.join(root, 'docs/benchmarks.md');
  let readme: string | null = null;
  if (f.readme !== undefined) readme = pathFlag('bench', 'readme', f.readme);
  else if (out && root && out === path.join(root, 'docs/benchmarks.md')) readme = path.join(root, 'README.md');
  if (noWrite) readme = null;
  const json = f.json === undefined ? null : pathFlag('bench', 'json', f.json);
  // Everything that touches the system comes last, once every other flag is valid: a run takes
  // minutes, so a bad Python or output path must fail now, not at the end.
  const python = f.python === undefined ? null : pythonFlag(String(f.python), variants.includes('torch') && measures.includes('speed'));
  if (f.out !== undefined) checkOutFile('bench', 'out', out!);
  if (readme !== null && f.readme !== undefined) {
    // The README's section is replaced in place: the file must exist.
    if (!fs.existsSync(readme)) throw new UsageError(`bench: --readme ${readme}: no such file`);
    checkOutFile('bench', 'readme', readme);
  }
  if (json !== null) checkOutFile('bench', 'json', json);
  return {
    workloads, variants, measures, reps, batches, full: f.full === true, seed, python, ttaArgs,
    out, readme, json, quiet: f.quiet === true, argv: [...argv],
  };
}

/**
 * --mlp-args / --cnn-args: extra `lernen train` flags for the time-to-accuracy runs, checked as
 * `lernen train` would check them (bench itself sets --model and --out).
 */
function ttaArgsFlag(model: 'mlp' | 'cnn', v: unknown): string[] {
  if (v === undefined) return [];
  const flag = `${model}-args`;
  const words = String(v).split(/\s+/).filter(Boolean);
  const own = words.find((w) => /^--(model|out)(=|$)/.test(w));
  if (own) throw new UsageError(`bench: --${flag}: ${own.replace(/=.*/, '')} is set by bench itself`);
  try {
    parseTrainArgs(['--model', model, ...words], { checkPaths: false });
  } catch (e) {
    if (e instanceof UsageError) throw new UsageError(`bench: --${flag}: ${e.message}`);
    throw e;
  }
  return words;
}

/**
 * --python: an executable (a path, or a name found on PATH); when the PyTorch speed runs are
 * planned it must also import torch, checked now rather than minutes into the run.
 */
function pythonFlag(v: string, needTorch: boolean): string {
  if (v.trim() === '') throw new UsageError(`bench: --python needs an executable, got '${v}'`);
  const candidates = v.includes('/') ? [path.resolve(v)] : (process.env.PATH ?? '').split(path.delimiter).filter(Boolean).map((d) => path.join(d, v));
  const exe = candidates.find((c) => {
    try {
      fs.accessSync(c, fs.constants.X_OK);
      return fs.statSync(c).isFile();
    } catch {
      return false;
    }
  });
  if (!exe) throw new UsageError(`bench: --python ${v}: ${v.includes('/') ? 'not an executable file' : 'not found on PATH'}`);
  if (needTorch) {
    const found = findPython(v);
    if ('missing' in found) throw new UsageError(`bench: --python ${v}: ${found.missing.replace(/\n/g, ' ')}`);
  }
  return v;
}

// ---------------------------------------------------------------------------------------------
// Small helpers

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length === 0 ? NaN : s.length % 2 ? s[h]! : 0.5 * (s[h - 1]! + s[h]!);
}

/** Seconds with three significant figures. */
export function fmtS(s: number): string {
  if (!Number.isFinite(s)) return '—';
  return s < 10 ? s.toFixed(2) : s < 100 ? s.toFixed(1) : s.toFixed(0);
}

function fmtRatio(x: number): string {
  return !Number.isFinite(x) ? '—' : x < 10 ? `${x.toFixed(2)}×` : `${x.toFixed(0)}×`;
}

export function fmtDuration(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '?';
  if (s < 90) return `${Math.round(s)}s`;
  const m = Math.floor(s / 60);
  return `${m}m${String(Math.round(s - 60 * m)).padStart(2, '0')}s`;
}

function peakRssMB(): number | null {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

/** VmHWM (peak resident set) of another process, in MB; null once it has exited. */
function pidPeakRssMB(pid: number): number | null {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

/** Text for one markdown table cell: one line, pipes escaped. */
function cell(s: string): string {
  return s.replace(/\s*\n\s*/g, ' ').replace(/\|/g, '\\|');
}

/** Shell-quotes an argument for the commands shown in the tables. */
function q(a: string): string {
  return /^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`;
}

/** Status lines on stderr: redrawn in place on a terminal, at most one every 15 s otherwise. */
export class Status {
  private last = 0;
  private open = false;
  constructor(private readonly quiet = false, private readonly tty = !!process.stderr.isTTY) {}
  /** A transient line (progress). */
  update(line: string): void {
    if (this.quiet) return;
    const now = Date.now();
    if (this.tty) {
      if (now - this.last < 100) return;
      process.stderr.write(`\r${line.slice(0, (process.stderr.columns || 120) - 1)}\x1b[K`);
      this.open = true;
    } else {
      if (now - this.last < 15_000) return;
      process.stderr.write(`${line}\n`);
    }
    this.last = now;
  }
  /** A line that stays. */
  log(line: string): void {
    if (this.quiet) return;
    if (this.open) process.stderr.write('\r\x1b[K');
    this.open = false;
    process.stderr.write(`${line}\n`);
  }
}

// ---------------------------------------------------------------------------------------------
// Worker processes (line-delimited JSON over stdin/stdout)

export interface WorkerConfig {
  workload: WorkloadName;
  backend: 'native' | 'js' | 'cpu' | 'wasm';
  threads: number;
  seed: number;
  warmup: number;
  mnistDir: string;
  /** lernen only: count Float32Array allocations of ≥ 64 KB. */
  countAlloc?: boolean;
}

type WorkerMsg =
  | { type: 'ready'; peakRssMB: number | null; info: string }
  | { type: 'progress'; batch: number; of: number; elapsed: number }
  | { type: 'rep'; seconds: number; batches: number; loss: number }
  | { type: 'alloc'; steps: number; count: number; bytes: number; sites: Array<[string, number]>; tensorPath: number }
  | { type: 'done'; peakRssMB: number | null }
  | { type: 'error'; message: string };

/**
 * CPU time (ns) used so far by every thread of the given processes, from /proc/PID/task/TID/schedstat;
 * null where /proc cannot be read (not Linux), and then no one waits for quiet.
 */
function cpuNs(pids: readonly number[]): number | null {
  let total = 0;
  try {
    for (const pid of pids) {
      for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
        try { total += Number(fs.readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]); } catch { /* the thread ended */ }
      }
    }
  } catch { return null; }
  return Number.isFinite(total) ? total : null;
}

/**
 * Waits until the workers are idle: less than 1 ms of CPU time, all threads together, in a 25 ms
 * window (at most 2 s). A BLAS library keeps its threads spinning after a call (OpenBLAS ~0.1 s,
 * OpenMP longer), and a repetition started meanwhile would share the cores with a peer that has
 * finished: the variant that follows PyTorch in a round would pay for PyTorch's threads.
 * Returns the milliseconds waited.
 */
export async function waitQuiet(pids: readonly number[]): Promise<number> {
  const t0 = performance.now();
  let before = cpuNs(pids);
  while (before !== null && performance.now() - t0 < 2000) {
    await new Promise((r) => setTimeout(r, 25));
    const now = cpuNs(pids);
    if (now === null || now - before < 1e6) break;
    before = now;
  }
  return performance.now() - t0;
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

/** A worker process; messages arrive in order through next(). */
class Peer {
  private readonly queue: WorkerMsg[] = [];
  private waiter: { resolve: (m: WorkerMsg) => void; reject: (e: Error) => void } | null = null;
  private exited: Error | null = null;
  private stderrTail = '';
  private readonly child: ChildProcess;

  constructor(readonly label: string, cmd: string, args: string[], env: NodeJS.ProcessEnv) {
    if (!exitHookInstalled) {
      exitHookInstalled = true;
      process.once('exit', () => { for (const c of live) c.kill('SIGKILL'); });
    }
    this.child = spawn(cmd, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    live.add(this.child);
    readline.createInterface({ input: this.child.stdout! }).on('line', (line) => {
      let msg: WorkerMsg;
      try { msg = JSON.parse(line) as WorkerMsg; } catch { return; } // banners and other chatter
      if (!msg || typeof msg !== 'object' || typeof msg.type !== 'string') return;
      this.push(msg);
    });
    this.child.stderr!.on('data', (d: Buffer) => { this.stderrTail = (this.stderrTail + d.toString()).slice(-2000); });
    this.child.on('error', (e) => this.fail(new Error(`${label}: could not start ${cmd}: ${e.message}`)));
    this.child.on('exit', (code, sig) => {
      live.delete(this.child);
      const tail = this.stderrTail.trim().split('\n').slice(-3).join(' | ');
      this.fail(new Error(`${label}: worker exited (${sig ?? `code ${code}`})${tail ? `: ${tail}` : ''}`));
    });
    this.child.stdin!.on('error', () => { /* the exit handler reports it */ });
  }

  get pid(): number | undefined { return this.child.pid; }

  private push(m: WorkerMsg): void {
    if (this.waiter) { const w = this.waiter; this.waiter = null; w.resolve(m); } else this.queue.push(m);
  }

  private fail(e: Error): void {
    this.exited ??= e;
    if (this.waiter) { const w = this.waiter; this.waiter = null; w.reject(e); }
  }

  next(): Promise<WorkerMsg> {
    const m = this.queue.shift();
    if (m) return Promise.resolve(m);
    if (this.exited) return Promise.reject(this.exited);
    return new Promise((resolve, reject) => { this.waiter = { resolve, reject }; });
  }

  /** The next message that is not progress (progress goes to `onProgress`); errors throw. */
  async expect<T extends WorkerMsg['type']>(type: T, onProgress?: (p: Extract<WorkerMsg, { type: 'progress' }>) => void): Promise<Extract<WorkerMsg, { type: T }>> {
    for (;;) {
      const m = await this.next();
      if (m.type === 'progress') { onProgress?.(m); continue; }
      if (m.type === 'error') throw new Error(`${this.label}: ${m.message}`);
      if (m.type !== type) throw new Error(`${this.label}: expected '${type}' from the worker, got '${m.type}'`);
      return m as Extract<WorkerMsg, { type: T }>;
    }
  }

  send(cmd: Record<string, unknown>): void {
    this.child.stdin!.write(`${JSON.stringify(cmd)}\n`);
  }

  /** Asks the worker to exit; resolves with its final peak RSS (null if it died). */
  async close(): Promise<number | null> {
    if (this.exited) return null;
    try {
      this.send({ cmd: 'exit' });
      const done = await this.expect('done');
      return done.peakRssMB;
    } catch {
      return null;
    } finally {
      this.kill();
    }
  }

  kill(): void {
    if (!this.exited) this.child.kill('SIGKILL');
  }
}

export interface Peers {
  /** Python with torch importable, or the reason there is none. */
  python: { exe: string; version: string } | { missing: string };
  /** TF.js, or the reason it cannot run. */
  tfjs: { version: string } | { missing: string };
}

function findPython(explicit: string | null): Peers['python'] {
  const candidates = explicit ? [explicit] : ['python3', '/usr/bin/python3'];
  const tried: string[] = [];
  for (const exe of candidates) {
    const r = spawnSync(exe, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8', timeout: 60_000 });
    if (r.status === 0) return { exe, version: r.stdout.trim() };
    tried.push(`${exe}: ${r.error ? r.error.message : (r.stderr.trim().split('\n').pop() || `exit code ${r.status}`)}`);
  }
  return { missing: `no Python with torch (${tried.join('; ')}); on Debian: apt-get install python3-torch` };
}

function findTfjs(): Peers['tfjs'] {
  try {
    const p = require.resolve('@tensorflow/tfjs/package.json', { paths: [repoRoot() ?? process.cwd()] });
    require.resolve('@tensorflow/tfjs-backend-wasm/package.json', { paths: [repoRoot() ?? process.cwd()] });
    return { version: (JSON.parse(fs.readFileSync(p, 'utf8')) as { version: string }).version };
  } catch {
    return { missing: 'TensorFlow.js is not installed (devDependencies @tensorflow/tfjs and @tensorflow/tfjs-backend-wasm: npm install)' };
  }
}

/** Why a variant cannot run a workload here, or null if it can. */
function unavailable(v: VariantName, w: WorkloadName, peers: Peers): string | null {
  if (v.startsWith('tfjs')) {
    if (w === 'cnn') return 'not run: TF.js wasm cannot train it (no Conv2DBackpropFilter kernel), TF.js cpu needs ≈ 86 s per batch';
    if ('missing' in peers.tfjs) return `not run: ${peers.tfjs.missing}`;
  }
  if (v === 'torch' && 'missing' in peers.python) return `not run: ${peers.python.missing}`;
  return null;
}

function startWorker(v: VariantName, w: WorkloadName, cfg: BenchConfig, peers: Peers, extra: Partial<WorkerConfig> = {}): Peer {
  const root = repoRoot();
  const base: WorkerConfig = {
    workload: w, backend: 'native', threads: 1, seed: cfg.seed, warmup: WARMUP[w][v] ?? 2, mnistDir: mnistDir(), ...extra,
  };
  const env = { ...process.env };
  if (v === 'native1' || v === 'native2' || v === 'js') {
    const wc: WorkerConfig = { ...base, backend: v === 'js' ? 'js' : 'native', threads: v === 'native1' ? 1 : 2 };
    delete env.LERNEN_BACKEND;
    // Source maps make the allocation sites name src/*.ts lines when this runs from dist/.
    const maps = wc.countAlloc && !process.execArgv.includes('--enable-source-maps') ? ['--enable-source-maps'] : [];
    return new Peer(`${w} ${v}`, process.execPath, [...process.execArgv, ...maps, __filename, '--bench-worker', JSON.stringify(wc)], env);
  }
  if (v === 'tfjs-cpu' || v === 'tfjs-wasm') {
    if (!root) throw new Error('the TF.js worker lives in bench/peers/ of the lernen repository');
    const wc: WorkerConfig = { ...base, backend: v === 'tfjs-cpu' ? 'cpu' : 'wasm', threads: 1 };
    return new Peer(`${w} ${v}`, process.execPath, [path.join(root, 'bench/peers/tfjs_worker.cjs'), JSON.stringify(wc)], env);
  }
  if (!root) throw new Error('the PyTorch worker lives in bench/peers/ of the lernen repository');
  if ('missing' in peers.python) throw new Error(peers.python.missing);
  const t = TORCH_THREADS[w];
  env.OPENBLAS_NUM_THREADS = String(t.openblas);
  env.OMP_NUM_THREADS = String(t.torch);
  const wc: WorkerConfig = { ...base, backend: 'native', threads: t.torch };
  return new Peer(`${w} ${v}`, peers.python.exe, [path.join(root, 'bench/peers/torch_worker.py'), JSON.stringify(wc)], env);
}

// ---------------------------------------------------------------------------------------------
// The lernen worker (runs in the child process)

/** The first `n` batches of the loader's next epoch (transient, as fit() iterates a loader). */
function take(loader: DataLoader, n: number): BatchSource {
  return {
    length: n,
    *[Symbol.iterator](): Iterator<Batch> {
      if (n <= 0) return;
      let i = 0;
      for (const b of loader.transientBatches()) {
        yield b;
        if (++i >= n) return;
      }
    },
  };
}

/** Counts Float32Array allocations of ≥ 64 KB (new buffers, not views) and where they happen. */
function installAllocCounter(): { start(): void; stop(): { count: number; bytes: number; sites: Array<[string, number]> } } {
  const Original = Float32Array;
  let on = false;
  let count = 0;
  let bytes = 0;
  let sites = new Map<string, number>();
  const root = repoRoot() ?? '';
  const here = path.basename(__filename);
  const where = (): string => {
    const frames = (new Error().stack ?? '').split('\n').slice(1)
      .map((l) => l.trim().replace(/^at /, ''))
      .filter((l) => !l.includes(here) && !l.startsWith('new Float32Array') && !l.includes('node:internal') && !/^Function\.from|^Reflect\./.test(l));
    return frames.slice(0, 2).map((l) => l.replace(`${root}/`, '').replace(/^file:\/\//, '')).join(' ← ') || 'unknown';
  };
  const counted = new Proxy(Original, {
    construct(target, args, newTarget) {
      const r = Reflect.construct(target, args, newTarget === counted ? target : newTarget) as Float32Array;
      const a0 = args[0] as unknown;
      const view = a0 instanceof ArrayBuffer || (typeof SharedArrayBuffer !== 'undefined' && a0 instanceof SharedArrayBuffer);
      if (on && !view && r.byteLength >= 65536) {
        count++;
        bytes += r.byteLength;
        const s = where();
        sites.set(s, (sites.get(s) ?? 0) + 1);
      }
      return r;
    },
  });
  (globalThis as { Float32Array: unknown }).Float32Array = counted;
  // slice(), map() and friends allocate through the species constructor: route them here too.
  Object.defineProperty(Original.prototype, 'constructor', { value: counted, writable: true, configurable: true });
  return {
    start() { on = true; count = 0; bytes = 0; sites = new Map(); },
    stop() { on = false; return { count, bytes, sites: [...sites].sort((a, b) => b[1] - a[1]) }; },
  };
}

function send(msg: WorkerMsg): void {
  process.stdout.write(`${JSON.stringify(msg)}\n`);
}

async function lernenWorker(cfg: WorkerConfig): Promise<void> {
  const counter = cfg.countAlloc ? installAllocCounter() : null;
  const w = WORKLOADS[cfg.workload];
  setBackend(cfg.backend === 'js' ? 'js' : 'native');
  if (cfg.backend === 'native') setNumThreads(cfg.threads);
  manualSeed(cfg.seed);
  const data = loadMnist({ split: 'train' });
  const model = buildPreset(w.preset);
  const optimizer = new optim.SGD(model.parameters(), { lr: w.lr, momentum: 0.9 });
  const loader = new DataLoader(data, { batchSize: w.batchSize, shuffle: true, seed: cfg.seed });
  const run = async (batches: number, report: boolean): Promise<{ seconds: number; loss: number }> => {
    let last = performance.now();
    const t0 = last;
    const history = await fit(model, {
      train: take(loader, batches), optimizer, epochs: 1,
      callbacks: report ? [{
        onBatchEnd(info) {
          const now = performance.now();
          if (now - last >= 1000) { last = now; send({ type: 'progress', batch: info.batch, of: batches, elapsed: (now - t0) / 1000 }); }
        },
      }] : [],
    });
    return { seconds: (performance.now() - t0) / 1000, loss: history.epochs[0]?.trainLoss ?? NaN };
  };
  await run(cfg.warmup, false);
  const threads = cfg.backend === 'native' ? `, ${getNumThreads()} thread(s)` : '';
  send({ type: 'ready', peakRssMB: peakRssMB(), info: `lernen ${cfg.backend}${threads}` });
  const rl = readline.createInterface({ input: process.stdin });
  for await (const line of rl) {
    const msg = JSON.parse(line) as { cmd: string; batches?: number; warmup?: number; steps?: number };
    if (msg.cmd === 'rep') {
      const r = await run(msg.batches!, true);
      send({ type: 'rep', seconds: r.seconds, batches: msg.batches!, loss: r.loss });
    } else if (msg.cmd === 'alloc') {
      if (!counter) throw new Error('alloc: the worker was started without countAlloc');
      await run(msg.warmup ?? 3, false);
      counter.start();
      resetMemoryStats();
      await run(msg.steps!, false);
      const tensorPath = memoryStats().largeAllocations;
      const r = counter.stop();
      send({ type: 'alloc', steps: msg.steps!, ...r, sites: r.sites.slice(0, 8), tensorPath });
    } else if (msg.cmd === 'exit') {
      break;
    }
  }
  rl.close();
  send({ type: 'done', peakRssMB: peakRssMB() });
}

// ---------------------------------------------------------------------------------------------
// Measurements (in the harness process)

export interface SpeedRow {
  workload: WorkloadName;
  variant: VariantName;
  /** What the worker says it runs (versions, threads). */
  info: string;
  batches: number;
  /** Extrapolated (or full) epoch seconds, one per repetition, in order. */
  epochSeconds: number[];
  /** Per repetition: this variant's epoch time ÷ the reference's, from the same round. */
  ratios: number[];
  /** The reference of `ratios`: lernen native with 2 threads when it runs, else the first variant. */
  ratioTo: VariantName | null;
  peakRssMB: number | null;
  error: string | null;
  command: string;
}

/** The command that reruns only this part of the benchmark. */
function benchCommandFor(args: string[]): string {
  return `npm run bench -- ${args.map(q).join(' ')}`;
}

function batchesFor(cfg: BenchConfig, w: WorkloadName, v: VariantName): number {
  const full = WORKLOADS[w].epochBatches;
  if (cfg.full) return full;
  return Math.min(full, cfg.batches ?? DEFAULT_BATCHES[w][v] ?? 20);
}

interface Plan {
  /** Estimated seconds left, updated as repetitions finish. */
  remaining: number;
}

async function measureSpeed(cfg: BenchConfig, peers: Peers, status: Status, plan: Plan): Promise<SpeedRow[]> {
  const rows: SpeedRow[] = [];
  for (const w of cfg.workloads) {
    const wl = WORKLOADS[w];
    const variants = cfg.variants;
    const ref: VariantName | null = variants.includes('native2') ? 'native2' : variants.find((v) => !unavailable(v, w, peers)) ?? null;
    const active: Array<{ row: SpeedRow; peer: Peer; guess: number }> = [];
    for (const v of variants) {
      const batches = batchesFor(cfg, w, v);
      const row: SpeedRow = {
        workload: w, variant: v, info: '', batches, epochSeconds: [], ratios: [], ratioTo: ref, peakRssMB: null, error: unavailable(v, w, peers),
        command: benchCommandFor(['--workloads', w, '--backends', v, '--reps', String(cfg.reps), ...(cfg.full ? ['--full'] : ['--batches', String(batches)]), '--measure', 'speed']),
      };
      rows.push(row);
      if (row.error) continue;
      status.log(`[${w} ${v}] starting a worker (data, model, ${WARMUP[w][v] ?? 2} warm-up batches)`);
      let peer: Peer | null = null;
      try {
        peer = startWorker(v, w, cfg, peers);
        const ready = await peer.expect('ready');
        row.info = ready.info;
        active.push({ row, peer, guess: (GUESS_S_PER_BATCH[w][v] ?? 0.1) * batches });
      } catch (e) {
        row.error = `failed: ${(e as Error).message}`;
        peer?.kill();
        status.log(`[${w} ${v}] ${row.error}`);
      }
    }
    for (let r = 0; r < cfg.reps; r++) {
      // Round robin, starting one further each round, so no variant always follows the same one.
      const round = active.map((_, i) => active[(i + r) % active.length]!);
      const secs = new Map<VariantName, number>();
      for (const a of round) {
        if (a.row.error) continue;
        const { row, peer } = a;
        const label = `[${w} ${row.variant}] rep ${r + 1}/${cfg.reps}`;
        try {
          await waitQuiet(active.flatMap((x) => (x.peer.pid === undefined ? [] : [x.peer.pid])));
          peer.send({ cmd: 'rep', batches: row.batches });
          const res = await peer.expect('rep', (p) => {
            const rate = p.batch / Math.max(p.elapsed, 1e-9);
            const left = plan.remaining - Math.min(a.guess, p.elapsed);
            status.update(`${label}: batch ${p.batch}/${p.of}, ${rate.toFixed(rate < 10 ? 2 : 0)} batches/s, rep ETA ${fmtDuration((p.of - p.batch) / rate)}; bench ETA ≈ ${fmtDuration(left)}`);
          });
          const epoch = res.seconds * wl.epochBatches / res.batches;
          row.epochSeconds.push(epoch);
          secs.set(row.variant, epoch);
          plan.remaining -= a.guess;
          a.guess = res.seconds;
          status.log(`${label}: ${res.batches} batches in ${fmtS(res.seconds)} s → epoch ${fmtS(epoch)} s (loss ${res.loss.toFixed(3)})`);
        } catch (e) {
          row.error = `failed: ${(e as Error).message}`;
          status.log(`${label}: ${row.error}`);
          peer.kill();
        }
      }
      const refS = ref ? secs.get(ref) : undefined;
      if (refS) for (const a of active) { const s = secs.get(a.row.variant); if (s) a.row.ratios.push(s / refS); }
    }
    for (const a of active) a.row.peakRssMB = await a.peer.close();
  }
  return rows;
}

export interface AllocRow {
  workload: WorkloadName;
  variant: VariantName;
  steps: number;
  perStep: number;
  bytesPerStep: number;
  /** memoryStats().largeAllocations per step: fresh ≥ 64 KiB buffers of the tensor allocation path (src/tensor/pool.ts). */
  tensorPathPerStep: number;
  sites: Array<[string, number]>;
  error: string | null;
  command: string;
}

async function measureAlloc(cfg: BenchConfig, peers: Peers, status: Status, plan: Plan): Promise<AllocRow[]> {
  const rows: AllocRow[] = [];
  for (const w of cfg.workloads) {
    // Allocation is the same at 1 and 2 threads: count once per lernen backend.
    const vs = (['native2', 'js'] as const).filter((v) => cfg.variants.includes(v) || (v === 'native2' && cfg.variants.includes('native1')));
    for (const v of vs) {
      const steps = v === 'js' ? (w === 'cnn' ? 2 : 5) : 20;
      const row: AllocRow = {
        workload: w, variant: v, steps, perStep: NaN, bytesPerStep: NaN, tensorPathPerStep: NaN, sites: [], error: null,
        command: benchCommandFor(['--workloads', w, '--backends', v, '--measure', 'alloc']),
      };
      rows.push(row);
      status.log(`[${w} ${v}] counting Float32Array allocations ≥ 64 KB over ${steps} steps after warm-up`);
      const peer = startWorker(v, w, cfg, peers, { countAlloc: true, warmup: 1 });
      try {
        await peer.expect('ready');
        peer.send({ cmd: 'alloc', warmup: v === 'js' ? 1 : 3, steps });
        const res = await peer.expect('alloc');
        row.perStep = res.count / res.steps;
        row.bytesPerStep = res.bytes / res.steps;
        row.tensorPathPerStep = res.tensorPath / res.steps;
        row.sites = res.sites.map(([s, n]) => [s, n / res.steps]);
        status.log(`[${w} ${v}] ${row.perStep.toFixed(1)} allocations ≥ 64 KB per step (${(row.bytesPerStep / 2 ** 20).toFixed(1)} MiB)`);
      } catch (e) {
        row.error = `failed: ${(e as Error).message}`;
        status.log(`[${w} ${v}] ${row.error}`);
      }
      await peer.close();
      plan.remaining -= 10;
    }
  }
  return rows;
}

export interface RssResult {
  /** After loading MNIST, building the model and warming up. */
  readyMB: number | null;
  /** Peak over one full W1 epoch. */
  peakMB: number | null;
  seconds: number;
  error: string | null;
  command: string;
}

async function measureRss(cfg: BenchConfig, peers: Peers, status: Status, plan: Plan): Promise<RssResult> {
  const res: RssResult = { readyMB: null, peakMB: null, seconds: NaN, error: null, command: benchCommandFor(['--measure', 'rss']) };
  status.log('[rss] one full W1 epoch on native with 2 threads in a fresh worker');
  const peer = startWorker('native2', 'w1', cfg, peers);
  try {
    res.readyMB = (await peer.expect('ready')).peakRssMB;
    peer.send({ cmd: 'rep', batches: WORKLOADS.w1.epochBatches });
    const rep = await peer.expect('rep', (p) => status.update(`[rss] batch ${p.batch}/${p.of}, ETA ${fmtDuration((p.of - p.batch) * p.elapsed / p.batch)}`));
    res.seconds = rep.seconds;
    res.peakMB = await peer.close();
    status.log(`[rss] peak RSS ${res.peakMB?.toFixed(0)} MB (${res.readyMB?.toFixed(0)} MB before training)`);
  } catch (e) {
    res.error = `failed: ${(e as Error).message}`;
    peer.kill();
  }
  plan.remaining -= 15;
  return res;
}

export interface TrainRun {
  /** Arguments after `lernen`. */
  args: string[];
  wallSeconds: number;
  exitCode: number | null;
  /** history.json's test accuracy (fraction), null when missing. */
  testAccuracy: number | null;
  /** history.json's training seconds. */
  fitSeconds: number | null;
  epochs: number | null;
  valAccuracy: number[];
  /** The recipe history.json records (optimizer, lr, batch, schedule, epochs, augmentation). */
  recipe: string | null;
  peakRssMB: number | null;
  error: string | null;
}

/** The lernen CLI as users run it: bin/lernen.js over dist/; warns when dist is older than src. */
export function cliEntry(): { exe: string; args: string[]; stale: string | null } {
  const root = repoRoot();
  if (!root) throw new Error('lernen bench: cannot find the lernen package root');
  const bin = path.join(root, 'bin/lernen.js');
  const dist = path.join(root, 'dist/cjs/index.js');
  if (!fs.existsSync(dist)) throw new Error('dist/ is missing: run npm run build:ts first');
  const newest = (dir: string, ext: string): number => {
    let t = 0;
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) t = Math.max(t, newest(p, ext));
      else if (e.name.endsWith(ext)) t = Math.max(t, fs.statSync(p).mtimeMs);
    }
    return t;
  };
  const stale = () => newest(path.join(root, 'src'), '.ts') > newest(path.join(root, 'dist/cjs'), '.js');
  if (!stale()) return { exe: process.execPath, args: [bin], stale: null };
  // Time the current source: rebuild dist/ as `npm test` does.
  const r = spawnSync('npm', ['run', 'build:ts'], { cwd: root, encoding: 'utf8', timeout: 300_000 });
  const note = r.status === 0 && !stale() ? null
    : `dist/ is older than src/ and \`npm run build:ts\` failed (${(r.stderr || r.stdout || String(r.error)).trim().split('\n').pop()}): the timed CLI may not be the current source`;
  return { exe: process.execPath, args: [bin], stale: note };
}

/** The git revision of the sources (with a mark for uncommitted changes to src/ or native/). */
export function sourceRevision(): string {
  const root = repoRoot();
  if (!root) return 'unknown';
  const git = (...a: string[]) => spawnSync('git', ['-C', root, ...a], { encoding: 'utf8' });
  const head = git('rev-parse', '--short', 'HEAD');
  if (head.status !== 0) return 'unknown (not a git checkout)';
  const dirty = git('status', '--porcelain', '--', 'src', 'native').stdout.trim().split('\n').filter(Boolean).length;
  return `${head.stdout.trim()}${dirty ? ` + ${dirty} uncommitted file(s) in src/ or native/` : ''}`;
}

/**
 * Runs `lernen <args>` (a `train` command) as a child process, wall time from spawn to exit,
 * and reads the test accuracy from its history.json; polls the child's peak RSS.
 */
export async function runLernenTrain(args: string[], outDir: string, status: Status, label: string): Promise<TrainRun> {
  const entry = cliEntry();
  const full = [...args, '--out', outDir];
  const run: TrainRun = { args, wallSeconds: NaN, exitCode: null, testAccuracy: null, fitSeconds: null, epochs: null, valAccuracy: [], recipe: null, peakRssMB: null, error: null };
  fs.rmSync(outDir, { recursive: true, force: true });
  const env = { ...process.env };
  delete env.LERNEN_BACKEND;
  const t0 = performance.now();
  const child = spawn(entry.exe, [...entry.args, ...full], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  let tail = '';
  const onData = (d: Buffer) => {
    const s = d.toString();
    tail = (tail + s).slice(-2000);
    for (const line of s.split(/\r|\n/)) {
      const t = line.replace(/\x1b\[K/g, '').trim();
      if (/^epoch \d+\/\d+ .*val/.test(t)) status.log(`${label} ${t}`);
      else if (/^epoch /.test(t)) status.update(`${label} ${t}`);
    }
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const poll = setInterval(() => {
    const m = child.pid ? pidPeakRssMB(child.pid) : null;
    if (m !== null) run.peakRssMB = Math.max(run.peakRssMB ?? 0, m);
    status.update(`${label} running, ${fmtDuration((performance.now() - t0) / 1000)} so far`);
  }, 200);
  const code = await new Promise<number | null>((resolve) => {
    child.on('error', (e) => { run.error = e.message; resolve(null); });
    child.on('exit', (c) => resolve(c));
  });
  clearInterval(poll);
  live.delete(child);
  run.wallSeconds = (performance.now() - t0) / 1000;
  run.exitCode = code;
  try {
    const h = JSON.parse(fs.readFileSync(path.join(outDir, 'history.json'), 'utf8')) as {
      test?: { accuracy?: number }; seconds?: number; epochs?: Array<{ valAccuracy: number }>;
      config?: { optimizer: string; lr: number; momentum: number; weightDecay: number; batchSize: number; schedule: string; epochs: number; labelSmoothing?: number; augment: Record<string, number> | null };
    };
    const c = h.config;
    if (c) {
      run.recipe = `${c.optimizer} lr ${c.lr}${c.momentum ? ` momentum ${c.momentum}` : ''}${c.weightDecay ? ` weight decay ${c.weightDecay}` : ''}, batch ${c.batchSize}, ` +
        `${c.schedule === 'none' ? 'constant lr' : c.schedule}, ${c.labelSmoothing ? `label smoothing ${c.labelSmoothing}, ` : ''}${c.epochs} epochs${c.augment ? `, augment ${Object.entries(c.augment).map(([k, v]) => `${k}=${v}`).join(',')}` : ''}`;
    }
    run.testAccuracy = h.test?.accuracy ?? null;
    run.fitSeconds = h.seconds ?? null;
    run.epochs = h.epochs?.length ?? null;
    run.valAccuracy = (h.epochs ?? []).map((e) => e.valAccuracy);
  } catch (e) {
    run.error ??= `no history.json (${code === 0 ? (e as Error).message : `exit code ${code}: ${tail.trim().split('\n').slice(-2).join(' | ')}`})`;
  }
  return run;
}

export interface TtaRow {
  model: 'mlp' | 'cnn' | 'resnet';
  target: number;
  targetSeconds: number;
  run: TrainRun;
  command: string;
}

async function measureTta(cfg: BenchConfig, status: Status, plan: Plan, tmp: string): Promise<{ rows: TtaRow[]; stale: string | null }> {
  const rows: TtaRow[] = [];
  // Without --mlp-args: the default recipe (4 epochs, chosen for this target: src/train/presets.ts).
  const mlpRuns = [cfg.ttaArgs.mlp];
  const goals = [
    ...mlpRuns.map((extra) => ({ model: 'mlp' as const, target: 0.98, targetSeconds: 10, extra })),
    { model: 'cnn' as const, target: 0.99, targetSeconds: 60, extra: cfg.ttaArgs.cnn },
    // The residual network with batch norm: the default recipe that reaches 99 % soonest.
    { model: 'resnet' as const, target: 0.99, targetSeconds: 60, extra: [] as string[] },
  ];
  const stale = cliEntry().stale;
  if (stale) status.log(`warning: ${stale}`);
  for (const [i, g] of goals.entries()) {
    const args = ['train', '--model', g.model, ...g.extra];
    status.log(`[tta] lernen ${args.join(' ')} (cold start; target ${(100 * g.target).toFixed(0)}% test accuracy)`);
    const run = await runLernenTrain(args, path.join(tmp, `tta-${i}`), status, `[tta ${g.model}]`);
    rows.push({ model: g.model, target: g.target, targetSeconds: g.targetSeconds, run, command: `npx lernen ${args.map(q).join(' ')}` });
    status.log(`[tta ${g.model}] ${fmtS(run.wallSeconds)} s wall, test accuracy ${run.testAccuracy === null ? '—' : `${(100 * run.testAccuracy).toFixed(2)}%`}${run.error ? ` (${run.error})` : ''}`);
    plan.remaining -= g.model === 'mlp' ? 15 : 90;
  }
  return { rows, stale };
}

// ---------------------------------------------------------------------------------------------
// The report

export interface Machine {
  cpu: string;
  cores: number;
  memGiB: number;
  openblas: string;
  coreType: string;
  node: string;
  date: string;
  loadStart: number;
  loadEnd: number;
  loadMax: number;
  /** git revision at the start and at the end (they differ when someone committed during the run). */
  source: { start: string; end: string };
}

/** Load average sampling during a run (the 1-minute figure, every 5 s). */
export function loadSampler(): { stop(): { start: number; end: number; max: number } } {
  const start = os.loadavg()[0]!;
  let max = start;
  const t = setInterval(() => { max = Math.max(max, os.loadavg()[0]!); }, 5000);
  t.unref();
  return { stop() { clearInterval(t); const end = os.loadavg()[0]!; return { start, end, max: Math.max(max, end) }; } };
}

export function describeMachine(load: { start: number; end: number; max: number }, source: { start: string; end: string } = { start: sourceRevision(), end: sourceRevision() }): Machine {
  const d = doctor();
  return {
    cpu: os.cpus()[0]?.model?.trim() ?? 'unknown CPU',
    cores: os.cpus().length,
    memGiB: Math.round(os.totalmem() / 2 ** 30),
    openblas: d.openblas?.config ?? 'native addon not loaded',
    coreType: d.openblas?.coreType ?? '—',
    node: process.version,
    date: new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC',
    loadStart: load.start,
    loadEnd: load.end,
    loadMax: load.max,
    source,
  };
}

export function machineLine(m: Machine): string {
  return `Machine: ${m.cpu}, ${m.cores} cores, ${m.memGiB} GiB; OpenBLAS core type **${m.coreType}** ` +
    `(\`${m.openblas}\`); Node ${m.node}; ${m.date}. 1-minute load average ${m.loadStart.toFixed(2)} at start, ` +
    `${m.loadEnd.toFixed(2)} at end, ${m.loadMax.toFixed(2)} at most during the run (\`uptime\`; above ${m.cores} ` +
    'means other work shared the cores and slowed every variant). ' +
    `Source: git ${m.source.start}${m.source.end !== m.source.start ? ` at the start, ${m.source.end} at the end (the tree changed during the run)` : ''}.`;
}

/**
 * Replaces the `## title` section of a markdown document (up to the next `## `); a missing section
 * goes before the first of the `before` sections that exists, else at the end.
 */
export function replaceSection(doc: string, title: string, body: string, before: readonly string[] = []): string {
  const section = `## ${title}\n\n${body.trim()}\n`;
  const re = new RegExp(`^## ${title.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}[ \\t]*$`, 'm');
  const start = doc.search(re);
  if (start >= 0) {
    const rest = doc.slice(start + 1);
    const next = rest.search(/^## /m);
    return doc.slice(0, start) + section + (next >= 0 ? `\n${rest.slice(next)}` : '');
  }
  for (const b of before) {
    const at = doc.search(new RegExp(`^## ${b}[ \\t]*$`, 'm'));
    if (at >= 0) return `${doc.slice(0, at)}${section}\n${doc.slice(at)}`;
  }
  return `${doc.trimEnd()}\n\n${section}`;
}

/** Rewrites one section of a markdown file atomically. */
export function writeSection(file: string, title: string, body: string, before: readonly string[] = []): void {
  const doc = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '# Benchmarks\n';
  makeDirs(path.dirname(file));
  writeFileAtomic(file, new TextEncoder().encode(replaceSection(doc, title, body, before)));
}

export interface BenchResults {
  machine: Machine;
  config: Omit<BenchConfig, 'argv'> & { argv: string[] };
  peers: { torch: string; tfjs: string };
  speed: SpeedRow[];
  alloc: AllocRow[];
  rss: RssResult | null;
  tta: TtaRow[];
  ttaStale: string | null;
  seconds: number;
}

function speedRowCells(r: SpeedRow, w: Workload): string[] {
  const s = r.epochSeconds;
  const med = median(s);
  const measured = r.batches >= w.epochBatches ? `full epoch ×${s.length}` : `${r.batches} of ${w.epochBatches} batches ×${s.length}, extrapolated`;
  return [
    fmtS(med),
    `${fmtS(Math.min(...s))}–${fmtS(Math.max(...s))}`,
    Math.round(60000 / med).toLocaleString('en-US'),
    (w.gflopPerEpoch / med).toFixed(w.gflopPerEpoch / med < 10 ? 1 : 0),
    r.ratios.length ? `${fmtRatio(median(r.ratios))} (${fmtRatio(Math.min(...r.ratios))}–${fmtRatio(Math.max(...r.ratios))})` : '—',
    measured,
  ];
}

/** "lernen native, 2 threads" when every ratio is to it, else "the reference (first variant)". */
function refLabel(rows: readonly SpeedRow[]): string {
  const refs = new Set(rows.map((r) => r.ratioTo));
  const only = refs.size === 1 ? [...refs][0] : null;
  return only ? VARIANT_LABEL[only] : 'the reference (each workload\'s first variant)';
}

export function speedTable(rows: readonly SpeedRow[]): string {
  const out = [
    `| workload | implementation | epoch s (median) | min–max s | images/s | ≈ GFLOP/s | epoch time ÷ ${refLabel(rows)} (paired reps: median, min–max) | measured | peak RSS of the worker | command |`,
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    const w = WORKLOADS[r.workload];
    const name = `${VARIANT_LABEL[r.variant]}${r.info && !r.info.startsWith('lernen') ? ` — ${r.info}` : ''}`;
    if (!r.epochSeconds.length) {
      out.push(`| ${w.title} | ${name} | ${cell(r.error ?? 'not run')} | | | | | | | \`${r.command}\` |`);
      continue;
    }
    const cells = speedRowCells(r, w);
    const note = r.error ? ` (${cell(r.error)})` : '';
    out.push(`| ${w.title} | ${name}${note} | ${cells.join(' | ')} | ${r.peakRssMB === null ? '—' : `${r.peakRssMB.toFixed(0)} MB`} | \`${r.command}\` |`);
  }
  return out.join('\n');
}

function ttaCells(t: TtaRow): { acc: string; verdict: string } {
  const r = t.run;
  const acc = r.testAccuracy === null ? '—' : `${(100 * r.testAccuracy).toFixed(2)}%`;
  let verdict: string;
  if (r.error || r.testAccuracy === null) verdict = `failed: ${cell(r.error ?? `exit code ${r.exitCode}`)}`;
  else if (r.testAccuracy < t.target) verdict = `**not reached** (${acc} < ${(100 * t.target).toFixed(0)}%)`;
  else verdict = `reached in ${fmtS(r.wallSeconds)} s: ${r.wallSeconds <= t.targetSeconds ? 'within' : '**over**'} the ${t.targetSeconds} s target`;
  return { acc, verdict };
}

export function ttaTable(rows: readonly TtaRow[]): string {
  const out = [
    '| target | command | recipe | wall s, spawn → exit | of which training (fit) s | epochs | test accuracy | verdict | peak RSS |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const t of rows) {
    const { acc, verdict } = ttaCells(t);
    out.push(`| ${(100 * t.target).toFixed(0)}% test accuracy in ≤ ${t.targetSeconds} s | \`${t.command}\` | ${t.run.recipe ?? '—'} | ${fmtS(t.run.wallSeconds)} | ${t.run.fitSeconds === null ? '—' : fmtS(t.run.fitSeconds)} | ${t.run.epochs ?? '—'} | ${acc} | ${verdict} | ${t.run.peakRssMB === null ? '—' : `${t.run.peakRssMB.toFixed(0)} MB`} |`);
  }
  return out.join('\n');
}

function memoryTable(res: BenchResults): string {
  const out = ['| measure | value | target | command |', '|---|---|---|---|'];
  if (res.rss) {
    const r = res.rss;
    out.push(`| peak RSS (VmHWM) of a fresh process training W1 for one full epoch, native, 2 threads | ${r.error ? cell(r.error) : `**${r.peakMB?.toFixed(0)} MB** (${r.readyMB?.toFixed(0)} MB after loading MNIST and warming up; epoch ${fmtS(r.seconds)} s)`} | ≤ 350 MB${r.peakMB !== null ? (r.peakMB <= 350 ? ': met' : ': **missed**') : ''} | \`${r.command}\` |`);
  }
  for (const t of res.tta) {
    if (t.run.peakRssMB !== null) out.push(`| peak RSS of \`${t.command}\` (whole run: data, training, validation, test, outputs; polled every 0.2 s) | ${t.run.peakRssMB.toFixed(0)} MB | ${t.model === 'mlp' ? '≤ 350 MB' : '—'} | \`${t.command}\` |`);
  }
  for (const a of res.alloc) {
    const w = WORKLOADS[a.workload];
    const value = a.error ? cell(a.error) : `**${a.perStep.toFixed(1)}** per step (${(a.bytesPerStep / 2 ** 20).toFixed(2)} MiB per step), over ${a.steps} steps; ` +
      `of which through the tensor allocation path (\`memoryStats().largeAllocations\`): ${a.tensorPathPerStep.toFixed(1)} per step`;
    out.push(`| Float32Array allocations ≥ 64 KB per training step after warm-up, ${w.title}, ${VARIANT_LABEL[a.variant]} | ${value} | as few as possible | \`${a.command}\` |`);
  }
  return out.join('\n');
}

function allocSites(rows: readonly AllocRow[]): string {
  const lines: string[] = [];
  for (const a of rows) {
    if (!a.sites.length) continue;
    lines.push(`- ${WORKLOADS[a.workload].title}, ${VARIANT_LABEL[a.variant]}: ${a.sites.map(([s, n]) => `${n.toFixed(n % 1 ? 1 : 0)}× \`${s}\``).join('; ')}`);
  }
  return lines.length ? `Where the large allocations of a step come from (allocation site ← caller, per step):\n\n${lines.join('\n')}` : '';
}

function summary(res: BenchResults): string[] {
  const lines: string[] = [];
  for (const w of res.config.workloads) {
    const rows = res.speed.filter((r) => r.workload === w && r.epochSeconds.length);
    const ref = rows.find((r) => r.variant === 'native2');
    if (!ref) continue;
    const parts = rows.filter((r) => r !== ref && r.ratios.length).map((r) => {
      const x = median(r.ratios);
      return x >= 1 ? `${fmtRatio(x)} faster than ${VARIANT_LABEL[r.variant]}` : `${fmtRatio(1 / x)} slower than ${VARIANT_LABEL[r.variant]}`;
    });
    if (parts.length) lines.push(`- ${WORKLOADS[w].title}: lernen native with 2 threads trains an epoch in ${fmtS(median(ref.epochSeconds))} s, ${parts.join(', ')} (medians of paired reps).`);
  }
  return lines;
}

export function trainingSection(res: BenchResults): string {
  const c = res.config;
  const anyExtrapolated = res.speed.some((r) => r.epochSeconds.length && r.batches < WORKLOADS[r.workload].epochBatches);
  const parts = [
    `Command: \`npm run bench${c.argv.length ? ` -- ${c.argv.map(q).join(' ')}` : ''}\` (= \`lernen bench\`, src/cli/bench.ts; workers bench/peers/). It took ${fmtDuration(res.seconds)}.`,
    '',
    machineLine(res.machine),
    '',
    `Peers: PyTorch ${res.peers.torch}; TensorFlow.js ${res.peers.tfjs}.`,
  ];
  if (c.measures.includes('speed')) {
    parts.push(
      '',
      '### Epoch time',
      '',
      'W1 = MLP 784-512-512-10 (ReLU, dropout 0.2), batch 128, SGD momentum 0.9, lr 0.05; W2 = the PyTorch MNIST example CNN, batch 64, ' +
      'SGD momentum 0.9, lr 0.01; 60,000 MNIST images, pixels in [0, 1] (shared/anchors/README.md). Each implementation runs in a worker ' +
      'process of its own that loads the data and runs untimed warm-up batches first. Repetitions alternate between the variants of a ' +
      'workload (round robin, starting one further each round), so background load hits all of them alike. Before each repetition the ' +
      'harness waits until every worker is idle (< 1 ms of CPU in 25 ms): after a rep, PyTorch\'s OpenBLAS threads keep spinning for ' +
      'about 0.1 s, which would slow whichever variant runs next. The ratio column divides ' +
      `each repetition by the repetition of ${refLabel(res.speed)} in the same round and reports the median and range of those paired ratios. ` +
      (anyExtrapolated
        ? 'Where "measured" says "extrapolated", a repetition times the first N batches of a freshly shuffled epoch and scales the time to the whole epoch (× batches per epoch / N); `--full` times whole epochs. '
        : 'Every repetition timed a whole epoch. ') +
      'lernen is timed through `fit()` as `lernen train` runs it (data loader building each batch, numerics checks, one event-loop yield per batch). ' +
      `PyTorch runs ${Object.entries(TORCH_THREADS).map(([w, t]) => `${w === 'w1' ? 'W1' : 'W2'} with ${t.torch} torch thread(s) and OPENBLAS_NUM_THREADS=${t.openblas}`).join(', ')} ` +
      '(the best 2-core settings in shared/anchors/README.md; two pools of 2 threads oversubscribe the cores). TF.js runs its ops with `optimizer.minimize` ' +
      '(no tf.layers; about as fast, measured side by side); its wasm build is single-threaded in Node. GFLOP/s uses 240.7 GFLOP per W1 epoch and ≈ 4.3 TFLOP per W2 epoch.',
      '',
      speedTable(res.speed),
    );
    const s = summary(res);
    if (s.length) parts.push('', ...s);
  }
  if (res.rss || res.alloc.length) {
    parts.push('', '### Memory and allocations', '', memoryTable(res));
    const sites = allocSites(res.alloc);
    if (sites) parts.push('', sites);
    if (res.alloc.length) {
      parts.push('', 'Allocations are counted in a worker whose `Float32Array` constructor is wrapped (new buffers of ≥ 64 KB only, views excluded; ' +
        '`slice()`/`map()` included; the tensor buffer pool allocates through that constructor too), over `fit()` steps that follow the warm-up. ' +
        'The count includes the data loader\'s batch buffers, which `memoryStats()` counts only when they come from the pool (fit() iterates a DataLoader with `transientBatches()`, whose batch buffers are recycled), ' +
        'and the shuffle of a new epoch (`Generator.permutation`): the steps are counted in one `fit()` call, which starts an epoch, so that a once-per-epoch cost would show here as a fraction per step.');
    }
  }
  if (res.tta.length) {
    parts.push('', '### Time to accuracy from a cold start', '',
      'Each run is a child process `lernen train` with the default recipe of src/train/presets.ts, or its schedule shortened with `--epochs` (seed 1; 55,000 training images, 5,000 for validation), ' +
      'timed from spawn to exit (Node start, loading MNIST, training, validation, test evaluation, writing the outputs); the test accuracy is read from the run\'s history.json. ' +
      'The recipe trains its whole schedule, so the time is that of the whole run, not of the first epoch that crossed the target.' +
      (res.ttaStale ? ` Note: ${res.ttaStale}.` : ''),
      '', ttaTable(res.tta));
  }
  return parts.join('\n');
}

/** The README's "Benchmarks" section: the headline numbers and where the rest is. */
export function readmeSection(res: BenchResults): string {
  const lines = [
    `Measured with \`npm run bench\` (= \`npx lernen bench\`) on ${res.machine.cpu}, ${res.machine.cores} cores, OpenBLAS ${res.machine.coreType}, ` +
      `${res.machine.date}, 1-minute load average ${Math.min(res.machine.loadStart, res.machine.loadEnd).toFixed(1)}–${res.machine.loadMax.toFixed(1)} (a shared machine: the paired ratios are more reliable than the absolute times). ` +
      `Epoch time per implementation, median of alternating reps${res.speed.some((r) => r.epochSeconds.length && r.batches < WORKLOADS[r.workload].epochBatches) ? ' (timed on part of an epoch and extrapolated)' : ''}; the last column divides by ${refLabel(res.speed)}, rep by rep (above 1: slower than it):`,
    '',
    `| workload | implementation | epoch s (median, min–max) | ÷ ${refLabel(res.speed)} |`,
    '|---|---|---|---|',
  ];
  for (const r of res.speed) {
    const w = WORKLOADS[r.workload];
    if (!r.epochSeconds.length) continue;
    const c = speedRowCells(r, w);
    lines.push(`| ${w.title} | ${VARIANT_LABEL[r.variant]} | ${c[0]} (${c[1]}) | ${c[4]} |`);
  }
  // Variants that did not run, grouped by workload and reason.
  const notRun = new Map<string, string[]>();
  for (const r of res.speed) {
    if (r.epochSeconds.length) continue;
    const key = `${WORKLOADS[r.workload].title}\u0000${cell(r.error ?? 'not run').replace(/^not run: /, '')}`;
    notRun.set(key, [...(notRun.get(key) ?? []), VARIANT_LABEL[r.variant]]);
  }
  if (notRun.size) lines.push('', `Not measured: ${[...notRun].map(([k, vs]) => { const [w, why] = k.split('\u0000'); return `${w} on ${vs.join(' and ')} (${why})`; }).join('; ')}.`);
  const extra: string[] = [];
  for (const t of res.tta) extra.push(`- ${(100 * t.target).toFixed(0)}% MNIST test accuracy from a cold start: \`${t.command}\` — ${ttaCells(t).verdict}; test accuracy ${ttaCells(t).acc}.`);
  if (res.rss?.peakMB) extra.push(`- Peak RSS while training W1 (native, 2 threads): ${res.rss.peakMB.toFixed(0)} MB (target ≤ 350 MB).`);
  const allocs = res.alloc.filter((a) => !a.error);
  if (allocs.length) extra.push(`- Float32Array allocations ≥ 64 KB per warmed-up training step: ${allocs.map((a) => `${a.perStep.toFixed(1)} (${WORKLOADS[a.workload].title}, ${VARIANT_LABEL[a.variant]})`).join(', ')}; the data loader's batch buffer included.`);
  if (extra.length) lines.push('', ...extra);
  lines.push('', 'Method, machine details, every measurement with the command that reproduces it, accuracy runs and GEMM throughput: [docs/benchmarks.md](docs/benchmarks.md).');
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------
// The command

export async function runBench(cfg: BenchConfig): Promise<BenchResults> {
  const t0 = performance.now();
  const status = new Status(cfg.quiet);
  const load = loadSampler();
  const sourceStart = sourceRevision();
  const peers: Peers = {
    python: cfg.variants.includes('torch') && cfg.measures.includes('speed') ? findPython(cfg.python) : { missing: 'not requested' },
    tfjs: cfg.variants.some((v) => v.startsWith('tfjs')) && cfg.measures.includes('speed') ? findTfjs() : { missing: 'not requested' },
  };
  // A rough plan for the ETA: every timed batch at a guessed rate, plus the fixed measurements.
  const plan: Plan = { remaining: 0 };
  if (cfg.measures.includes('speed')) {
    for (const w of cfg.workloads) for (const v of cfg.variants) {
      if (!unavailable(v, w, peers)) plan.remaining += cfg.reps * batchesFor(cfg, w, v) * (GUESS_S_PER_BATCH[w][v] ?? 0.1);
    }
  }
  if (cfg.measures.includes('alloc')) plan.remaining += 10 * cfg.workloads.length * 2;
  if (cfg.measures.includes('rss')) plan.remaining += 15;
  if (cfg.measures.includes('tta')) plan.remaining += 180;
  status.log(`lernen bench: ${cfg.workloads.join(', ')} × ${cfg.variants.join(', ')}; ${cfg.measures.join(', ')}; ${cfg.reps} reps; roughly ${fmtDuration(plan.remaining)} on 2 idle cores`);

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lernen-bench-'));
  const onSig = () => { for (const c of live) c.kill('SIGKILL'); process.exit(130); };
  process.once('SIGINT', onSig);
  try {
    const speed = cfg.measures.includes('speed') ? await measureSpeed(cfg, peers, status, plan) : [];
    const alloc = cfg.measures.includes('alloc') ? await measureAlloc(cfg, peers, status, plan) : [];
    const rss = cfg.measures.includes('rss') ? await measureRss(cfg, peers, status, plan) : null;
    const tta = cfg.measures.includes('tta') ? await measureTta(cfg, status, plan, tmp) : { rows: [], stale: null };
    const l = load.stop();
    return {
      machine: describeMachine(l, { start: sourceStart, end: sourceRevision() }),
      config: { ...cfg, argv: [...cfg.argv] },
      peers: {
        torch: 'missing' in peers.python ? `(${peers.python.missing})` : `${peers.python.version} (${peers.python.exe})`,
        tfjs: 'missing' in peers.tfjs ? `(${peers.tfjs.missing})` : `${peers.tfjs.version} (@tensorflow/tfjs + @tensorflow/tfjs-backend-wasm)`,
      },
      speed, alloc, rss, tta: tta.rows, ttaStale: tta.stale,
      seconds: (performance.now() - t0) / 1000,
    };
  } finally {
    process.off('SIGINT', onSig);
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

export const TRAINING_SECTION = 'Training: speed, memory, time to accuracy';

/** `lernen bench [flags]`: see the usage text in src/cli/index.ts. */
export async function benchCommand(argv: readonly string[]): Promise<number> {
  const cfg = parseBenchArgs(argv);
  const res = await runBench(cfg);
  const section = trainingSection(res);
  process.stdout.write(`\n${section}\n`);
  if (cfg.json) writeFileAtomic(cfg.json, new TextEncoder().encode(`${JSON.stringify(res, null, 2)}\n`));
  if (cfg.out) {
    writeSection(cfg.out, TRAINING_SECTION, section, ['Accuracy', 'GEMM']);
    process.stderr.write(`wrote the "${TRAINING_SECTION}" section of ${path.relative(process.cwd(), cfg.out) || cfg.out}\n`);
  } else {
    process.stderr.write('(not written: a partial run prints only; pass --write or --out FILE to record it)\n');
  }
  if (cfg.readme && fs.existsSync(cfg.readme)) {
    writeSection(cfg.readme, 'Benchmarks', readmeSection(res));
    process.stderr.write(`wrote the "Benchmarks" section of ${path.relative(process.cwd(), cfg.readme) || cfg.readme}\n`);
  }
  return 0;
}

// Started as a worker by startWorker(): node [execArgv] bench.(ts|js) --bench-worker '<json>'.
if (require.main === module && process.argv[2] === '--bench-worker') {
  lernenWorker(JSON.parse(process.argv[3]!) as WorkerConfig).catch((e: unknown) => {
    send({ type: 'error', message: e instanceof Error ? e.message : String(e) });
    process.exit(1);
  });
}
