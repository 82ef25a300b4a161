/**
 * The CLI under bad arguments: every flag of every command (train, eval, doctor, bench, search,
 * worker, study show, study report) gets wrong values (missing, not a number, NaN, Infinity,
 * fractional, negative, out of range, empty, unknown choices, flags that exclude each other, bad
 * paths: missing, a file for a folder, a folder or FIFO or /dev/zero or an oversized file for a
 * file, folders that cannot be created such as /proc/x, corrupt data, model and database files).
 * The tables below are the single source of the cases: the test that follows them checks that
 * every flag of every command's parser and usage text has at least one, and the report
 * (scripts/robustness-report.ts) takes its counts from what this suite records.
 *
 * Each case runs as a child process, as `lernen ...` does (bin/lernen.js's logic over the
 * sources, bundled: ~0.1 s per start), in a fresh empty working folder ('@' in an argument is
 * that folder). The other flags of each case are valid (a tiny data set, a stored study, a
 * one-batch benchmark), so a bad value that were accepted would go on to run and be caught.
 * Each must end non-zero within seconds with exactly one line on stderr that starts with
 * "lernen: ", names the flag under attack and carries no stack trace; stdout must stay empty
 * (nothing trained, no trial, no benchmark) and the working folder too (no file created).
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMAND_FLAGS, USAGE } from '../../src/cli/index';
import { MAX_SPACE_FILE_BYTES } from '../../src/cli/search';
import { writeIdx } from '../../src/data/idx';
import * as nn from '../../src/nn';
import * as search from '../../src/search';
import { Tensor } from '../../src/tensor/tensor';
import { buildPreset } from '../../src/train/presets';
import { bundle, removeBundles } from './bundle';
import { record } from './report';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lernen-cli-bad-'));
let cli = '';
const SPACE = JSON.stringify({ lr: [0.05, 0.1], batchSize: [64], optimizer: ['sgd'], loss: ['cross-entropy'] });
const P = {
  data: path.join(tmp, 'data'), // a valid (tiny) data folder
  corrupt: path.join(tmp, 'corrupt'), // one IDX file truncated
  fifoData: path.join(tmp, 'fifo-data'), // train-images-idx3-ubyte is a FIFO
  dirData: path.join(tmp, 'dir-data'), // train-images-idx3-ubyte is a folder
  file: path.join(tmp, 'a-file'),
  good: path.join(tmp, 'good.lernen'), // a valid mlp model for the data
  model: path.join(tmp, 'model.lernen'), // valid state file, no meta.preset
  mlp: path.join(tmp, 'mlp.lernen'), // claims preset mlp, wrong tensors
  truncated: path.join(tmp, 'truncated.lernen'),
  fifo: path.join(tmp, 'fifo'),
  bigSpace: path.join(tmp, 'big-space.json'), // valid JSON, one byte over the size cap
  badSpace: path.join(tmp, 'bad-space.json'),
  db: path.join(tmp, 'studies.db'), // study 'fixed' (mnist objective, one 1-epoch trial on 100 images), 'plain' (no objective)
};
const DB = `sqlite:${P.db}`;

beforeAll(async () => {
  cli = bundle(path.join(__dirname, 'fixtures', 'lernen-cli.ts'));
  const cut = (dir: string) => {
    fs.mkdirSync(dir, { recursive: true });
    for (const [prefix, n] of [['train', 40], ['t10k', 10]] as const) {
      writeIdx(path.join(dir, `${prefix}-images-idx3-ubyte`), { dtype: 'uint8', dims: [n, 28, 28], data: new Uint8Array(n * 784) });
      writeIdx(path.join(dir, `${prefix}-labels-idx1-ubyte`), { dtype: 'uint8', dims: [n], data: Uint8Array.from({ length: n }, (_, i) => i % 10) });
    }
  };
  const mkfifo = (p: string) => new Promise((r) => spawn('mkfifo', [p]).on('close', r));
  cut(P.data);
  cut(P.corrupt);
  const img = path.join(P.corrupt, 'train-images-idx3-ubyte');
  fs.truncateSync(img, fs.statSync(img).size - 100);
  cut(P.fifoData);
  fs.rmSync(path.join(P.fifoData, 'train-images-idx3-ubyte'));
  await mkfifo(path.join(P.fifoData, 'train-images-idx3-ubyte'));
  cut(P.dirData);
  fs.rmSync(path.join(P.dirData, 'train-images-idx3-ubyte'));
  fs.mkdirSync(path.join(P.dirData, 'train-images-idx3-ubyte'));
  fs.writeFileSync(P.file, 'not a folder');
  nn.save(buildPreset('mlp', { classes: 10 }), P.good, { preset: 'mlp', presetOptions: { classes: 10 }, normalize: 'mnist' });
  nn.save({ w: new Tensor(Float32Array.of(1, 2), [2]) }, P.model, { note: 'no preset' });
  nn.save({ w: new Tensor(Float32Array.of(1, 2), [2]) }, P.mlp, { preset: 'mlp', presetOptions: { classes: 10 } });
  const bytes = fs.readFileSync(P.model);
  fs.writeFileSync(P.truncated, bytes.subarray(0, bytes.length - 5));
  await mkfifo(P.fifo);
  fs.writeFileSync(P.bigSpace, `${SPACE}${' '.repeat(MAX_SPACE_FILE_BYTES + 1 - SPACE.length)}`);
  fs.writeFileSync(P.badSpace, '{"lr": [0.1], ');
  for (const name of ['fixed', 'plain']) {
    const s = search.study({ name, storage: DB, space: SPACE, sampler: 'grid' });
    await s.open();
    await s.close();
  }
  const st = await search.openStorage(DB);
  const row = (await st.getStudy('fixed'))!;
  const cfg = JSON.parse(row.config) as search.StudyConfig;
  await st.updateStudyConfig(row.id, JSON.stringify({
    ...cfg, objective: { name: 'mnist', options: { model: 'mlp', subset: 100, valSize: 50, seed: 1 } }, budget: { ...cfg.budget, maxTrials: 1, maxEpochs: 1 },
  }));
  await st.close();
});
afterAll(() => { fs.rmSync(tmp, { recursive: true, force: true }); removeBundles(); });

interface Run { code: number | null; signal: string | null; stdout: string; stderr: string; ms: number }

/** `lernen ...args` in `cwd`, killed after 15 s (a hang). */
function lernen(args: string[], cwd: string = tmp): Promise<Run> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [cli, ...args], { cwd, env: { ...process.env, NO_COLOR: '1' } });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d; });
    child.stderr.on('data', (d: Buffer) => { stderr += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.on('close', (code, signal) => { clearTimeout(timer); resolve({ code, signal, stdout, stderr, ms: performance.now() - t0 }); });
  });
}

/**
 * [flag, bad values]. A value is appended as `--flag value`; undefined: the flag alone at the
 * end (a missing value, or a boolean flag that clashes with the rest); '=v': `--flag=v`; an
 * array: the words that follow `--flag` (a value and other flags it must not be combined with).
 */
type Value = string | undefined | string[];
type Table = Array<[string, Value[]]>;
const NUM = ['abc', 'NaN', 'Infinity', '-Infinity', '', '1e999'];
const FEW = ['abc', 'NaN', '1e999'];
const TRAIN: Table = [
  ['model', [undefined, 'gpt', '', 'MLP']],
  ['epochs', [undefined, ...NUM, '0', '-1', '1.5', '1e10']],
  ['batch-size', [undefined, ...NUM, '0', '-64', '2.5', '1e9']],
  ['optimizer', [undefined, 'lbfgs', '']],
  ['lr', [undefined, ...NUM, '0', '-0.1', '101']],
  ['momentum', [undefined, ...NUM, '-0.5', '1', '2']],
  ['weight-decay', [undefined, ...NUM, '-1', '11']],
  ['l1', [undefined, ...NUM, '-1', '11']],
  ['l2', [undefined, ...NUM, '-1', '11']],
  ['dropout', [undefined, ...NUM, '-0.1', '1', '1.5']],
  ['augment', [undefined, 'rotate', 'rotate=', 'rotate=x', 'spin=10', 'rotate=10,rotate=5', 'rotate=10,,scale=0.1', 'rotate=1e9']],
  ['loss', [undefined, 'hinge', '']],
  ['seed', [undefined, ...NUM, '-1', '1.5', '1e20']],
  ['data', [undefined, '', '/nonexistent/lernen', P.file, tmp, P.fifoData, P.dirData]],
  ['backend', [undefined, 'gpu', '', 'NATIVE']],
  ['threads', [undefined, ...NUM, '0', '-2', '1.5', '1025']],
  ['out', [undefined, '', P.file, path.join(P.file, 'sub'), '/proc/lernen-out']],
  ['schedule', [undefined, 'linear', '']],
  ['val-size', [undefined, ...NUM, '-1', '0.5', '1e10']],
  ['time-budget', [undefined, '', 'soon', '-5s', '0s', '0', '10 s', '1d', '5sec']],
  ['label-smoothing', [undefined, ...NUM, '-0.1', '1.1']],
  ['quiet', ['=maybe', '=1', '=']],
];
const EVAL: Table = [
  ['model', [undefined, '', '/nonexistent/model.lernen', tmp, P.file, P.model, P.mlp, P.truncated, P.fifo, '/dev/zero']],
  ['data', [undefined, '', '/nonexistent/lernen', P.file, P.corrupt]],
  ['backend', [undefined, 'gpu', '']],
  ['threads', [undefined, ...NUM, '0', '1.5', '1025']],
  ['json', ['=2', '=yes']],
];
const DOCTOR: Table = [
  ['parity', ['=yes', '=1', '=', '=TRUE']],
  ['json', ['=yes', '=1', '=', '=TRUE']],
];
const BENCH: Table = [
  ['workloads', [undefined, 'w3', '', ',', 'w1,mlp']],
  ['backends', [undefined, 'cuda', '', 'native1,gpu']],
  ['measure', [undefined, 'speed,gpu', '', 'time']],
  ['reps', [undefined, ...FEW, '0', '1001', '1.5', '-1']],
  ['batches', [undefined, ...FEW, '0', '100001', '2.5']],
  ['full', [undefined, '=yes', '=1']], // alone: clashes with --batches
  ['seed', [undefined, ...FEW, '-1', '1.5', '1e20']],
  ['python', [undefined, '', '/nonexistent/python3', P.file, tmp, 'no-such-python-here', ['/bin/false', '--backends', 'torch', '--measure', 'speed']]],
  ['mlp-args', [undefined, '=--epochs 0', '=--frobnicate', '=--out x', '=--model cnn', '=extra', '=--lr']],
  ['cnn-args', [undefined, '=--lr -1', '=--model mlp', '=--dropout 1']],
  ['out', [undefined, '', '/proc/lernen-x/bench.md', path.join(P.file, 'bench.md'), tmp, P.fifo, '/dev/zero', ['@/bench.md', '--no-write']]],
  ['readme', [undefined, '', '@/README.md', tmp, P.fifo, '/dev/zero', ['@/README.md', '--no-write']]],
  ['json', [undefined, '', tmp, '/proc/lernen-x/bench.json', path.join(P.file, 'bench.json'), P.fifo]],
  ['write', ['=maybe', ['--no-write']]],
  ['no-write', ['=2', ['--write']]],
  ['quiet', ['=x', '=1']],
];
const SEARCH: Table = [
  ['space', [undefined, '', '/nonexistent/space.json', tmp, '/dev/zero', P.fifo, P.bigSpace, P.badSpace, '{"lr": []}', '{not json', '{"optimizer": ["lion"]}']],
  ['study', [undefined, '', "x'; DROP TABLE lernen_studies; --", 'x'.repeat(65)]],
  ['storage', [undefined, '', 'mysql://h/db', 'sqlite:', 'sqlite:/proc/lernen-x/s.db', `sqlite:${path.join(P.file, 's.db')}`, `sqlite:${tmp}`, `sqlite:${P.fifo}`, `sqlite:${P.file}`, ['memory', '--workers', '2']]],
  ['budget', [undefined, '', '10x', '-5s', '0s', '1d']],
  ['trial-budget', [undefined, 'soon', '0', '5 s']],
  ['trials', [undefined, ...FEW, '0', '-1', '1.5']],
  ['sampler', [undefined, 'anneal', '']],
  ['pruner', [undefined, 'patient', '']],
  ['rungs', [undefined, 'minutes', 'seconds']], // seconds: the default pruner (none) has no rungs
  ['min-rung', [undefined, 'abc', '0', '-1', '2', ['0', '--pruner', 'asha']]],
  ['workers', [undefined, ...FEW, '0', '257', '1.5']],
  ['model', [undefined, 'resnet', '']],
  ['max-epochs', [undefined, 'two', '0', '10001', '1.5']],
  ['seed', [undefined, ...FEW, '-1', '1.5', '1e20']],
  ['subset', [undefined, ...FEW, '0', '-5', '1.5']],
  ['val-size', [undefined, 'abc', '0', '60000', '2.5']],
  ['backend', [undefined, 'gpu', '']],
  ['threads', [undefined, 'abc', '0', '1025', '1.5']],
  ['heartbeat', [undefined, 'soon', '0s', '-1s', ['20s', '--stale', '30s']]],
  ['stale', [undefined, 'x', '0', ['1s', '--heartbeat', '1s']]],
  ['retries', [undefined, 'abc', '-1', '1001', '1.5']],
  ['checkpoint-dir', [undefined, '', P.file, path.join(P.file, 'sub'), '/proc/lernen-x']],
  ['quiet', ['=maybe', '=1']],
];
const WORKER: Table = [
  ['storage', [undefined, '', 'mysql://h/db', 'memory', 'sqlite:@/none.db', `sqlite:${tmp}`, `sqlite:${P.fifo}`, `sqlite:${P.file}`]],
  ['study', [undefined, '', 'bad name!', 'nope', 'plain']],
  ['threads', [undefined, 'abc', '0', '1025', '1.5']],
  ['quiet', ['=maybe', '=1']],
];
const STUDY_SHOW: Table = [
  ['storage', [undefined, '', 'mysql://h/db', 'sqlite:@/none.db', `sqlite:${tmp}`, `sqlite:${P.fifo}`, `sqlite:${P.file}`]],
  ['study', [undefined, '', 'bad name!', 'nope']],
  ['json', ['=2', '=yes']],
];
const STUDY_REPORT: Table = [
  ['storage', [undefined, 'mysql://h/db', 'sqlite:@/none.db', `sqlite:${P.fifo}`]],
  ['study', [undefined, 'bad name!', 'nope']],
  ['out', [undefined, '', '/proc/lernen-x', P.file, path.join(P.file, 'sub')]],
  ['top', [undefined, 'abc', '0', '51', '1.5']],
];

/** Each command's table and the valid arguments the bad value joins. */
const COMMANDS: Record<string, { table: Table; base: string[] }> = {
  // A tiny data folder and a fresh out folder: a value the parser wrongly accepted would train.
  train: { table: TRAIN, base: ['--data', P.data, '--out', '@/out', '--epochs', '1', '--val-size', '10'] },
  eval: { table: EVAL, base: ['--model', P.good, '--data', P.data] },
  doctor: { table: DOCTOR, base: [] },
  // One batch of one variant: a wrongly accepted value would start a (short) benchmark.
  bench: { table: BENCH, base: ['--workloads', 'w1', '--backends', 'native1', '--measure', 'alloc', '--reps', '1', '--batches', '1'] },
  search: { table: SEARCH, base: ['--space', SPACE, '--study', 's', '--storage', 'sqlite:@/s.db', '--trials', '1', '--budget', '1m', '--max-epochs', '1', '--subset', '100', '--val-size', '50'] },
  worker: { table: WORKER, base: ['--storage', DB, '--study', 'fixed'] },
  'study show': { table: STUDY_SHOW, base: ['--storage', DB, '--study', 'fixed'] },
  'study report': { table: STUDY_REPORT, base: ['--storage', DB, '--study', 'fixed', '--out', '@/report'] },
};

interface Case { argv: string[]; kind: string; flag?: string; cmd: string }
const cases: Case[] = [];
for (const [cmd, { table, base }] of Object.entries(COMMANDS)) {
  for (const [flag, values] of table) {
    const rest = base.filter((_, i, b) => b[i - 1] !== `--${flag}` && b[i] !== `--${flag}`);
    for (const v of values) {
      const attack = v === undefined ? [`--${flag}`] : Array.isArray(v) ? [`--${flag}`, ...v] : v.startsWith('=') ? [`--${flag}${v}`] : [`--${flag}`, v];
      cases.push({ cmd, kind: `${cmd} --${flag}`, flag, argv: [...cmd.split(' '), ...rest, ...attack] });
    }
  }
}
// Found once the data is read, after the (valid) --out folder was made: an empty folder may stay.
cases.push(
  { cmd: 'train', kind: 'train data files', flag: 'data', argv: ['train', '--data', P.corrupt, '--out', '@/out', '--val-size', '10'] },
  { cmd: 'train', kind: 'train data files', flag: 'val-size', argv: ['train', '--data', P.data, '--out', '@/out', '--val-size', '40'] },
);
const extra = (kind: string, ...argvs: string[][]) => { for (const argv of argvs) cases.push({ cmd: '', kind, argv }); };
extra('unknown or extra arguments',
  ['train', '--frobnicate'], ['train', 'mlp'], ['train', '--lr=0.1=2'], ['train', '-lr', '0.1'],
  ['eval', '--model', P.good, 'extra'], ['doctor', 'now'], ['doctor', '--verbose'],
  ['bench', 'w1'], ['bench', '--cuda'], ['search', 'now'], ['search', '--colour'], ['worker', 'extra'], ['worker', '--verbose'],
  ['study'], ['study', 'list'], ['study', '--storage', DB], ['study', 'show', 'fixed'], ['study', 'report', '--json'],
  ['fly'], ['--version=2']);

async function pool<T, R>(items: T[], n: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: n }, async () => {
    while (next < items.length) { const i = next++; out[i] = await fn(items[i]!); }
  }));
  return out;
}

/** Files (not folders) under `dir`, recursively. */
function filesUnder(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(path.join(dir, e.name)) : [path.join(dir, e.name)]));
}

/** The flags a usage text lists for each command (`  study show ...` lines are their own command). */
function usageFlags(usage: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  let cmd: string | null = null;
  for (const line of usage.split('\n')) {
    const m = /^ {2}([a-z]+)(?: (show|report)\b)?/.exec(line);
    if (m) cmd = m[2] ? `${m[1]} ${m[2]}` : m[1]!;
    if (!cmd || !line.startsWith('  ')) continue;
    for (const f of line.matchAll(/--([a-z][a-z0-9-]*)/g)) if (!(out[cmd] ??= []).includes(f[1]!)) out[cmd]!.push(f[1]!);
  }
  return out;
}

describe('lernen with bad arguments', () => {
  it('every flag of every command (parser and usage text) has bad-value cases', () => {
    const sorted = (xs: Iterable<string>) => [...new Set(xs)].sort();
    const tables = Object.fromEntries(Object.entries(COMMANDS).map(([cmd, c]) => [cmd, sorted(c.table.map(([f]) => f))]));
    const parsers = Object.fromEntries(Object.entries(COMMAND_FLAGS).map(([cmd, spec]) => [cmd, sorted(Object.keys(spec))]));
    const usage = Object.fromEntries(Object.entries(usageFlags(USAGE)).filter(([cmd]) => cmd !== 'help').map(([cmd, fs_]) => [cmd, sorted(fs_)]));
    expect(tables).toEqual(parsers);
    expect(usage).toEqual(parsers);
    for (const [cmd, { table }] of Object.entries(COMMANDS)) for (const [flag, values] of table) expect(values.length, `${cmd} --${flag}`).toBeGreaterThan(0);
  });

  it(`${cases.length} bad invocations of every command: one line naming the flag, a non-zero exit, nothing run or written`, async () => {
    const work = fs.mkdtempSync(path.join(tmp, 'cases-'));
    const runs = await pool(cases.map((c, i) => [c, i] as const), 4, async ([c, i]) => {
      const dir = path.join(work, String(i));
      fs.mkdirSync(dir);
      return lernen(c.argv.map((a) => a.replace(/@/g, dir)), dir);
    });
    const problems: string[] = [];
    const byCmd: Record<string, number> = {};
    let slowest = 0;
    runs.forEach((r, i) => {
      const c = cases[i]!;
      const key = c.kind.startsWith(`${c.cmd} --`) ? c.cmd : c.kind;
      byCmd[key] = (byCmd[key] ?? 0) + 1;
      slowest = Math.max(slowest, r.ms);
      const what = `lernen ${c.argv.map((a) => (a.includes(' ') || a === '' ? JSON.stringify(a) : a)).join(' ')}`;
      const lines = r.stderr.split('\n').filter((l) => l !== '');
      if (r.signal) problems.push(`${what}: killed by ${r.signal} after ${r.ms.toFixed(0)} ms (hang or crash); stderr: ${r.stderr.slice(0, 300)}`);
      else if (r.code === 0) problems.push(`${what}: exit code 0`);
      else if (lines.length !== 1 || !lines[0]!.startsWith('lernen: ')) problems.push(`${what}: stderr is not one "lernen: " line: ${JSON.stringify(r.stderr.slice(0, 400))}`);
      else if (c.flag && !lines[0]!.includes(`--${c.flag}`)) problems.push(`${what}: the error does not name --${c.flag}: ${lines[0]}`);
      if (/^\s+at .+[:(]\d+:\d+\)?$/m.test(r.stderr)) problems.push(`${what}: a stack trace on stderr`);
      if (r.stdout !== '') problems.push(`${what}: wrote to stdout (started to run?): ${JSON.stringify(r.stdout.slice(0, 200))}`);
      const dir = path.join(work, String(i));
      const left = c.kind === 'train data files' ? filesUnder(dir) : fs.readdirSync(dir);
      if (left.length) problems.push(`${what}: left ${left.map((f) => path.relative(dir, path.resolve(dir, f))).join(', ')} behind`);
    });
    expect(problems).toEqual([]);
    // No worker or report case ran a trial of the stored study.
    const st = await search.openStorage(DB);
    try { expect(await st.trials((await st.getStudy('fixed'))!.id)).toEqual([]); } finally { await st.close(); }
    const flags = Object.values(COMMANDS).reduce((n, c) => n + c.table.length, 0);
    for (const [cmd, { table }] of Object.entries(COMMANDS)) {
      record('cli', {
        attack: `lernen ${cmd}: bad values for each of its ${table.length} flags (${table.map(([f]) => `--${f}`).join(' ')})`,
        cases: byCmd[cmd] ?? 0,
        outcome: 'each exited non-zero with one "lernen: ..." line naming the flag, no stack trace, nothing on stdout and no file written',
      });
    }
    for (const kind of ['train data files', 'unknown or extra arguments']) {
      record('cli', {
        attack: kind === 'train data files' ? 'lernen train --data with a truncated IDX file, --val-size as large as the training set' : 'unknown flags, stray arguments, unknown commands and subcommands',
        cases: byCmd[kind] ?? 0,
        outcome: `each exited non-zero with one "lernen: ..." line and wrote nothing; slowest of all ${cases.length} CLI cases (${flags} flags, child processes) ${(slowest / 1000).toFixed(1)} s`,
      });
    }
  }, 240_000);

  it('usage errors exit with code 2, file errors with code 1', async () => {
    expect((await lernen(['train', '--lr', 'abc'])).code).toBe(2);
    const out = fs.mkdtempSync(path.join(tmp, 'out-'));
    const r = await lernen(['train', '--data', P.corrupt, '--out', out, '--val-size', '10']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^lernen: train: --data \S+: train-images-idx3-ubyte: file has \d+ bytes but the header promises/);
  }, 30_000);
});
