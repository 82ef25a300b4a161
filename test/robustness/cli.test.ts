/**
 * The CLI under bad arguments: every flag of `lernen train`, `lernen eval` and `lernen doctor`
 * gets wrong values (missing, not a number, NaN, Infinity, fractional, negative, out of range,
 * empty, unknown choices, bad paths: missing, a file for a folder, a folder or FIFO or
 * /dev/zero for a file, corrupt data and model files). Every case with a path, every unknown or
 * extra argument and every 8th flag value runs as a child process, as `lernen ...` does
 * (bin/lernen.js's logic over the sources, bundled); the other flag values call the same main()
 * in this process, which returns the exit code bin/lernen.js would set (much faster than 150
 * more processes). Each must end non-zero within seconds with exactly one line on stderr that
 * starts with "lernen: ", and must not have started training (no "lernen train:" line, nothing
 * written to --out).
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/index';
import { writeIdx } from '../../src/data/idx';
import * as nn from '../../src/nn';
import { Tensor } from '../../src/tensor/tensor';
import { bundle, removeBundles } from './bundle';
import { record } from './report';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lernen-cli-bad-'));
let cli = '';
const P = {
  out: path.join(tmp, 'out'),
  data: path.join(tmp, 'data'), // a valid (tiny) data folder
  corrupt: path.join(tmp, 'corrupt'), // one IDX file truncated
  fifoData: path.join(tmp, 'fifo-data'), // train-images-idx3-ubyte is a FIFO
  dirData: path.join(tmp, 'dir-data'), // train-images-idx3-ubyte is a folder
  file: path.join(tmp, 'a-file'),
  model: path.join(tmp, 'model.lernen'), // valid state file, no meta.preset
  mlp: path.join(tmp, 'mlp.lernen'), // claims preset mlp, wrong tensors
  truncated: path.join(tmp, 'truncated.lernen'),
  fifo: path.join(tmp, 'fifo.lernen'),
};

beforeAll(async () => {
  cli = bundle(path.join(__dirname, 'fixtures', 'lernen-cli.ts'));
  const cut = (dir: string) => {
    fs.mkdirSync(dir, { recursive: true });
    for (const [prefix, n] of [['train', 40], ['t10k', 10]] as const) {
      writeIdx(path.join(dir, `${prefix}-images-idx3-ubyte`), { dtype: 'uint8', dims: [n, 28, 28], data: new Uint8Array(n * 784) });
      writeIdx(path.join(dir, `${prefix}-labels-idx1-ubyte`), { dtype: 'uint8', dims: [n], data: Uint8Array.from({ length: n }, (_, i) => i % 10) });
    }
  };
  cut(P.data);
  cut(P.corrupt);
  const img = path.join(P.corrupt, 'train-images-idx3-ubyte');
  fs.truncateSync(img, fs.statSync(img).size - 100);
  cut(P.fifoData);
  fs.rmSync(path.join(P.fifoData, 'train-images-idx3-ubyte'));
  await new Promise((r) => spawn('mkfifo', [path.join(P.fifoData, 'train-images-idx3-ubyte')]).on('close', r));
  cut(P.dirData);
  fs.rmSync(path.join(P.dirData, 'train-images-idx3-ubyte'));
  fs.mkdirSync(path.join(P.dirData, 'train-images-idx3-ubyte'));
  fs.writeFileSync(P.file, 'not a folder');
  nn.save({ w: new Tensor(Float32Array.of(1, 2), [2]) }, P.model, { note: 'no preset' });
  nn.save({ w: new Tensor(Float32Array.of(1, 2), [2]) }, P.mlp, { preset: 'mlp', presetOptions: { classes: 10 } });
  const bytes = fs.readFileSync(P.model);
  fs.writeFileSync(P.truncated, bytes.subarray(0, bytes.length - 5));
  await new Promise((r) => spawn('mkfifo', [P.fifo]).on('close', r));
});
afterAll(() => { fs.rmSync(tmp, { recursive: true, force: true }); removeBundles(); });

interface Run { code: number | null; signal: string | null; stdout: string; stderr: string; ms: number }

function lernen(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [cli, ...args], { cwd: tmp, env: { ...process.env, NO_COLOR: '1' } });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d; });
    child.stderr.on('data', (d: Buffer) => { stderr += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.on('close', (code, signal) => { clearTimeout(timer); resolve({ code, signal, stdout, stderr, ms: performance.now() - t0 }); });
  });
}

/** main(argv) in this process with stdout/stderr captured; a rejection is handled as bin/lernen.js does. */
async function lernenHere(argv: string[]): Promise<Run> {
  const t0 = performance.now();
  let stdout = '', stderr = '';
  const out = process.stdout.write, err = process.stderr.write;
  process.stdout.write = ((c: string | Uint8Array) => { stdout += String(c); return true; }) as typeof process.stdout.write;
  process.stderr.write = ((c: string | Uint8Array) => { stderr += String(c); return true; }) as typeof process.stderr.write;
  let code: number;
  try {
    code = await main(argv).catch((e: unknown) => { stderr += `lernen: ${e instanceof Error && e.message ? e.message : String(e)}\n`; return 1; });
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
  }
  return { code, signal: null, stdout, stderr, ms: performance.now() - t0 };
}

/** [flag, bad values]; each value is appended as `--flag value` (undefined: the flag alone at the end). */
type Table = Array<[string, Array<string | undefined>]>;
const NUM = ['abc', 'NaN', 'Infinity', '-Infinity', '', '1e999'];
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
  ['data', [undefined, '/nonexistent/lernen', P.file, path.join(tmp)]],
  ['backend', [undefined, 'gpu', '', 'NATIVE']],
  ['threads', [undefined, ...NUM, '0', '-2', '1.5', '1025']],
  ['out', [undefined, P.file, path.join(P.file, 'sub'), '/proc/lernen-out']],
  ['schedule', [undefined, 'linear', '']],
  ['val-size', [undefined, ...NUM, '-1', '0.5', '1e10']],
  ['time-budget', [undefined, '', 'soon', '-5s', '0s', '0', '10 s', '1d', '5sec']],
  ['label-smoothing', [undefined, ...NUM, '-0.1', '1.1']],
];
const EVAL: Table = [
  ['model', [undefined, '', '/nonexistent/model.lernen', tmp, P.file, P.model, P.mlp, P.truncated, P.fifo, '/dev/zero']],
  ['data', [undefined, '/nonexistent/lernen', P.file]],
  ['backend', [undefined, 'gpu', '']],
  ['threads', [undefined, ...NUM, '0', '1.5', '1025']],
];

interface Case { argv: string[]; kind: string; child?: boolean }
const cases: Case[] = [];
const PATH_FLAGS = new Set(['train --data', 'train --out', 'eval --model', 'eval --data']);
const addTable = (cmd: string, table: Table, base: string[]) => {
  for (const [flag, values] of table) {
    for (const v of values) cases.push({ kind: `${cmd} --${flag}`, child: PATH_FLAGS.has(`${cmd} --${flag}`) || cases.length % 8 === 0, argv: [cmd, ...base.filter((_, i, b) => b[i - 1] !== `--${flag}` && b[i] !== `--${flag}`), ...(v === undefined ? [`--${flag}`] : [`--${flag}`, v])] });
  }
};
// Valid except for the flag under attack: a tiny data folder and a fresh out folder, so that a
// value the parser wrongly accepts would go on to train (and be caught by the checks below).
addTable('train', TRAIN, ['--data', P.data, '--out', P.out, '--epochs', '1', '--val-size', '10']);
addTable('eval', EVAL, ['--model', P.model, '--data', P.data]);
for (const flag of ['parity', 'json']) {
  for (const v of ['=yes', '=1', '=', '=TRUE']) cases.push({ kind: `doctor --${flag}`, child: v === '=1', argv: ['doctor', `--${flag}${v}`] });
}
cases.push(
  { kind: 'train data files', child: true, argv: ['train', '--data', P.corrupt, '--out', P.out, '--val-size', '10'] },
  { kind: 'train data files', child: true, argv: ['train', '--data', P.fifoData, '--out', P.out, '--val-size', '10'] },
  { kind: 'train data files', child: true, argv: ['train', '--data', P.dirData, '--out', P.out, '--val-size', '10'] },
  { kind: 'train data files', child: true, argv: ['train', '--data', P.data, '--out', P.out, '--val-size', '40'] },
  { kind: 'unknown or extra arguments', child: true, argv: ['train', '--frobnicate'] },
  { kind: 'unknown or extra arguments', child: true, argv: ['train', 'mlp'] },
  { kind: 'unknown or extra arguments', child: true, argv: ['train', '--lr=0.1=2'] },
  { kind: 'unknown or extra arguments', child: true, argv: ['train', '-lr', '0.1'] },
  { kind: 'unknown or extra arguments', child: true, argv: ['train', '--quiet=maybe'] },
  { kind: 'unknown or extra arguments', child: true, argv: ['eval', '--model', P.model, 'extra'] },
  { kind: 'unknown or extra arguments', child: true, argv: ['eval', '--json=2', '--model', P.model] },
  { kind: 'unknown or extra arguments', child: true, argv: ['doctor', 'now'] },
  { kind: 'unknown or extra arguments', child: true, argv: ['doctor', '--verbose'] },
  { kind: 'unknown or extra arguments', child: true, argv: ['fly'] },
  { kind: 'unknown or extra arguments', child: true, argv: ['--version=2'] },
);

async function pool<T, R>(items: T[], n: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: n }, async () => {
    while (next < items.length) { const i = next++; out[i] = await fn(items[i]!); }
  }));
  return out;
}

describe('lernen with bad arguments', () => {
  it(`${cases.length} bad invocations of train, eval and doctor: one line on stderr, a non-zero exit, no training`, async () => {
    const runs: Run[] = new Array(cases.length);
    // In-process cases one at a time (they share process.stdout/stderr), the children 4 at a time.
    const here = cases.map((c, i) => [c, i] as const).filter(([c]) => !c.child);
    const kids = cases.map((c, i) => [c, i] as const).filter(([c]) => c.child);
    const childRuns = pool(kids, 4, async ([c, i]) => { runs[i] = await lernen(c.argv); });
    for (const [c, i] of here) runs[i] = await lernenHere(c.argv);
    await childRuns;
    const problems: string[] = [];
    const byKind: Record<string, number> = {};
    let slowest = 0;
    runs.forEach((r, i) => {
      const c = cases[i]!;
      byKind[c.kind] = (byKind[c.kind] ?? 0) + 1;
      slowest = Math.max(slowest, r.ms);
      const what = `lernen ${c.argv.map((a) => (a.includes(' ') || a === '' ? JSON.stringify(a) : a)).join(' ')}`;
      const lines = r.stderr.split('\n').filter((l) => l !== '');
      if (r.signal) problems.push(`${what}: killed by ${r.signal} after ${r.ms.toFixed(0)} ms (hang or crash); stderr: ${r.stderr.slice(0, 300)}`);
      else if (r.code === 0) problems.push(`${what}: exit code 0`);
      else if (lines.length !== 1 || !lines[0]!.startsWith('lernen: ')) problems.push(`${what}: stderr is not one "lernen: " line: ${JSON.stringify(r.stderr.slice(0, 400))}`);
      if (/^lernen train:/m.test(r.stdout)) problems.push(`${what}: started training before failing`);
      if (fs.existsSync(path.join(P.out, 'history.json')) || fs.existsSync(path.join(P.out, 'checkpoints', 'last.lernen'))) problems.push(`${what}: wrote training outputs`);
    });
    expect(problems).toEqual([]);
    record('cli', {
      attack: `bad arguments for every flag of lernen train (${TRAIN.length} flags), eval (${EVAL.length}) and doctor (2), bad paths (missing, file for folder, folder/FIFO//dev/zero for file, corrupt IDX and state files), unknown flags and commands (${kids.length} as child processes, ${here.length} through main() in-process)`,
      cases: cases.length,
      outcome: `every one exited non-zero (2 for usage errors, 1 for bad files) with one "lernen: ..." line on stderr, started no training and wrote nothing; slowest ${(slowest / 1000).toFixed(1)} s`,
    });
  }, 170_000);

  it('usage errors exit with code 2, file errors with code 1', async () => {
    expect((await lernen(['train', '--lr', 'abc'])).code).toBe(2);
    const r = await lernen(['train', '--data', P.corrupt, '--out', P.out, '--val-size', '10']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^lernen: train-images-idx3-ubyte: file has \d+ bytes but the header promises/);
  }, 30_000);
});
