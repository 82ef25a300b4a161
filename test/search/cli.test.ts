import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { runSearchCli as main } from './fixtures/run-cli';
import { parseSearchArgs } from '../../src/cli/search';
import * as search from '../../src/search';
import { FIXTURE, markers } from './suites';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lernen-search-cli-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
afterEach(() => { vi.restoreAllMocks(); });

/** Runs the CLI in this process; returns the exit code and what it printed. */
async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => { out += String(s); return true; });
  vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => { err += String(s); return true; });
  try {
    const code = await main(argv);
    return { code, out, err };
  } finally {
    vi.restoreAllMocks();
  }
}

const SPACE = JSON.stringify({ lr: [0.05, 0.1], batchSize: [64, 128], optimizer: ['sgd'], loss: ['cross-entropy'] });

describe('lernen search: bad arguments', () => {
  const db = path.join(tmp, 'never.db');
  const base = ['--study', 'bad', '--storage', `sqlite:${db}`, '--budget', '1m'];
  it.each([
    [['--study', 'x'], /search: --space FILE \(or inline JSON\) is required/],
    [['--space', SPACE, '--budget', '1m'], /search: --study NAME is required/],
    [['--space', SPACE, '--budget', '1m', '--study', "x'; DROP TABLE lernen_studies; --"], /search: --study: study name .* is invalid/],
    [[...base, '--space', path.join(tmp, 'nope.json')], /--space .*nope.json: cannot read the file \(ENOENT\)/],
    [[...base, '--space', '{"lr": []}'], /parameter 'lr': grid has no values/],
    [[...base, '--space', '{"lr": {"uniform": [0.1, 0.01]}}'], /uniform\(a, b\) needs a < b, got \(0.1, 0.01\)/],
    [[...base, '--space', '{"lr": {"logUniform": [0, 0.1]}}'], /logUniform\(a, b\) needs 0 < a, got a = 0/],
    [[...base, '--space', '{"optimizer": ["sgd", "lion"]}'], /search: --space: unknown optimizer "lion" \(expected one of sgd, adam, adamw, rmsprop\)/],
    [[...base, '--space', '{"loss": ["hinge"]}'], /unknown loss "hinge"/],
    [[...base, '--space', SPACE, '--sampler', 'anneal'], /--sampler must be one of grid, random, tpe, got 'anneal'/],
    [[...base, '--space', SPACE, '--pruner', 'patient'], /--pruner must be one of none, median, asha, hyperband/],
    [[...base, '--space', SPACE, '--budget', '10x'], /--budget expects a duration like 90s, 10m or 1h, got '10x'/],
    [[...base, '--space', SPACE, '--trial-budget', '-5s'], /--trial-budget expects a duration/],
    [[...base, '--space', SPACE, '--workers', '0'], /--workers must be in \[1, 256\], got 0/],
    [['--study', 'bad', '--budget', '1m', '--space', SPACE, '--storage', 'mysql://h/db'], /--storage: .*unsupported URL/],
    [['--study', 'bad', '--budget', '1m', '--space', SPACE, '--storage', 'memory', '--workers', '2'], /--workers 2 needs a shared --storage/],
    [[...base, '--space', '{"lr": {"logUniform": [0.001, 0.1]}}', '--sampler', 'grid'], /--sampler grid: grid sampler: parameter 'lr' is logUniform/],
    [['--study', 'bad', '--storage', `sqlite:${db}`, '--space', SPACE], /give --budget \(e\.g\. 10m\) or --trials N/],
    [[...base, '--space', SPACE, '--model', 'resnet'], /--model must be one of mlp, cnn/],
    [[...base, '--space', SPACE, '--colour'], /search: unknown flag --colour/],
    [[...base, '--space', SPACE, '--max-epochs', 'two'], /--max-epochs expects a number/],
    [[...base, '--space', SPACE, '--pruner', 'asha', '--rungs', 'minutes'], /--rungs must be one of epochs, seconds/],
    [[...base, '--space', SPACE, '--pruner', 'median', '--rungs', 'seconds'], /--rungs and --min-rung apply to --pruner asha or hyperband/],
    [[...base, '--space', SPACE, '--pruner', 'hyperband', '--rungs', 'seconds'], /hyperband with --rungs seconds needs --trial-budget/],
  ])('%j → one line, exit 2, nothing started', async (argv, msg) => {
    const r = await cli('search', ...argv);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(msg);
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(r.out).toBe('');
    expect(fs.existsSync(db)).toBe(false);
  });

  it('parses budgets, pruner rungs in seconds and worker settings', () => {
    const c = parseSearchArgs(['--space', SPACE, '--study', 'ok', '--budget', '10m', '--trial-budget', '90s', '--trials', '40', '--pruner', 'asha',
      '--rungs', 'seconds', '--min-rung', '20', '--workers', '2', '--heartbeat', '1s', '--stale', '10s', '--retries', '3', '--max-epochs', '5', '--seed', '4']);
    expect(c.pruner.toJSON()).toEqual({ type: 'asha', minResource: 20, reductionFactor: 3, minEarlyStoppingRate: 0, resource: 'seconds' });
    expect(c.sampler.toJSON()).toMatchObject({ type: 'tpe', seed: 4 });
    expect(c.optimize).toEqual({ workers: 2, maxEpochs: 5, budgetMs: 600_000, trialBudgetMs: 90_000, trials: 40, heartbeatMs: 1000, staleMs: 10_000, maxRetries: 3 });
    expect(c.storage).toBe('sqlite:lernen-search.db');
    const h = parseSearchArgs(['--space', SPACE, '--study', 'ok', '--trials', '9', '--pruner', 'hyperband', '--max-epochs', '9']);
    expect(h.pruner.toJSON()).toEqual({ type: 'hyperband', minResource: 1, maxResource: 9, reductionFactor: 3, resource: 'epochs' });
  });

  it('reads a space file, and creates the --checkpoint-dir and the database folder only once every flag is valid', () => {
    const spaceFile = path.join(tmp, 'space.json');
    fs.writeFileSync(spaceFile, SPACE);
    const ck = path.join(tmp, 'ck', 'deep');
    const db = path.join(tmp, 'db-dir', 'sub', 's.db');
    const args = ['--space', spaceFile, '--study', 'ok', '--checkpoint-dir', ck, '--storage', `sqlite:${db}`];
    expect(() => parseSearchArgs([...args, '--trials', '0'])).toThrow(/--trials must be in/);
    expect(fs.existsSync(path.join(tmp, 'ck')) || fs.existsSync(path.join(tmp, 'db-dir'))).toBe(false);
    const c = parseSearchArgs([...args, '--trials', '1']);
    expect(c.space.names).toEqual(['lr', 'batchSize', 'optimizer', 'loss']);
    expect(c.optimize.checkpointDir).toBe(ck);
    expect(fs.readdirSync(ck)).toEqual([]);
    expect(fs.readdirSync(path.dirname(db))).toEqual([]);
  });

  it('an existing study with another space is refused before any trial', async () => {
    const storage = `sqlite:${path.join(tmp, 'exists.db')}`;
    const s = search.study({ name: 'exists', storage, space: { lr: [0.1] } });
    await s.open();
    await s.close();
    const r = await cli('search', '--study', 'exists', '--storage', storage, '--space', SPACE, '--trials', '1');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^lernen: search: study exists exists with a different space/);
  });

  it.each([
    [['worker', '--storage', 'sqlite:/nonexistent/x.db'], /worker: --study NAME is required/],
    [['worker', '--study', 'a', '--storage', 'memory'], /cannot be shared/],
    [['study'], /study: expected 'show' or 'report', got nothing/],
    [['study', 'list'], /study: expected 'show' or 'report', got 'list'/],
    [['study', 'show', '--study', 'zz', '--storage', `sqlite:${path.join(tmp, 'missing.db')}`], /study show: --storage .*: no such file/],
    [['study', 'show', '--study', 'nope', '--storage', `sqlite:${path.join(tmp, 'exists.db')}`], /study show: --study nope: no such study in sqlite:/],
  ])('%j → exit 2', async (argv, msg) => {
    const r = await cli(...argv);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(msg);
  });
});

describe('lernen search on MNIST (built-in objective), study show and report', () => {
  const storage = `sqlite:${path.join(tmp, 'mnist.db')}`;
  it('runs 2 trials of 1 epoch on 2000 images, then shows and reports the study', async () => {
    const r = await cli('search', '--space', SPACE, '--study', 'mn', '--storage', storage, '--sampler', 'random', '--seed', '3',
      '--model', 'mlp', '--subset', '2000', '--val-size', '1000', '--max-epochs', '1', '--trials', '2');
    expect(r.err.replace(/.*LERNEN_NO_NATIVE.*\n|.*trace-warnings.*\n/g, '')).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/lernen search: study mn .* \(new\); sampler random, pruner none, 1 worker\(s\), mlp on 2000 images, up to 1 epoch\(s\) per trial, 2 trial\(s\)/);
    expect(r.out).toMatch(/#\s+lr\s+batchSize\s+optimizer\s+loss\s+epochs\s+value\s+state\s+time/);
    expect(r.out).toMatch(/2 trial\(s\): 2 complete/);
    expect(r.out).toMatch(/retrain it: lernen train --model mlp --epochs 1 --batch-size (64|128) --optimizer sgd --lr 0\.(05|1) --momentum 0\.9 --weight-decay 0 --loss cross-entropy --schedule none --seed 3 --val-size 1000/);

    const show = await cli('study', 'show', '--storage', storage, '--study', 'mn', '--json');
    expect(show.code).toBe(0);
    const j = JSON.parse(show.out) as search.StudySummary;
    expect(j.study.name).toBe('mn');
    expect(j.study.objective).toMatchObject({ name: 'mnist', options: { model: 'mlp', subset: 2000, valSize: 1000, seed: 3 } });
    expect(j.study.budget).toMatchObject({ maxTrials: 2, maxEpochs: 1 });
    expect(j.trials).toHaveLength(2);
    for (const t of j.trials) {
      expect(t.state).toBe('complete');
      expect(t.value).toBeGreaterThan(0.5);
      expect(t.value).toBeLessThanOrEqual(1);
      expect(t.intermediate).toHaveLength(1);
      expect(t.intermediate[0]!.step).toBe(1);
      expect(t.intermediate[0]!.value).toBe(t.value);
      expect(t.seconds).toBeGreaterThan(0);
      expect((t.userAttrs.curve as unknown[])).toHaveLength(1);
      expect(Object.keys(t.params).sort()).toEqual(['batchSize', 'loss', 'lr', 'optimizer']);
    }
    expect(j.best!.value).toBe(Math.max(...j.trials.map((t) => t.value!)));

    const text = await cli('study', 'show', '--storage', storage, '--study', 'mn');
    expect(text.out).toMatch(/study mn: 2 trial\(s\), direction maximize, sampler random, pruner none/);

    const out = path.join(tmp, 'report');
    const rep = await cli('study', 'report', '--storage', storage, '--study', 'mn', '--out', out);
    expect(rep.code).toBe(0);
    const files = fs.readdirSync(out).sort();
    expect(files).toEqual(['curves.svg', 'history.svg', 'index.html', 'param-batchSize.svg', 'param-loss.svg', 'param-lr.svg', 'param-optimizer.svg']);
    const html = fs.readFileSync(path.join(out, 'index.html'), 'utf8');
    expect(html).toMatch(/<h1>Study mn<\/h1>/);
    expect(html).toMatch(/Optimisation history/);
    expect(html.match(/<svg /g)!.length).toBe(6);
    expect(html).not.toMatch(/<script/);
    expect(fs.readFileSync(path.join(out, 'history.svg'), 'utf8').match(/class="point"/g)).toHaveLength(2);
    expect(fs.readFileSync(path.join(out, 'curves.svg'), 'utf8')).toMatch(/data-name="trial \d"/);
  });
});

describe('lernen worker', () => {
  it('joins a stored study from another process and runs its remaining trials', async () => {
    const markerDir = fs.mkdtempSync(path.join(tmp, 'w-'));
    const storage = `sqlite:${path.join(tmp, 'join.db')}`;
    const s = search.study({ name: 'join', storage, space: { x: [0, 1, 2, 3] }, sampler: 'grid' });
    // One trial first (worker processes load the module objective); the study stores it for later workers.
    await s.optimize({ module: FIXTURE, export: 'sleepy', options: { epochs: 2, epochMs: 10, markerDir } }, { trials: 1, workers: 2 });
    await s.close();
    // Lift the stored trial limit (a later `lernen search` run with --trials would do the same).
    const st = await search.openStorage(storage);
    const row = (await st.getStudy('join'))!;
    const cfg = JSON.parse(row.config) as search.StudyConfig;
    await st.updateStudyConfig(row.id, JSON.stringify({ ...cfg, budget: { ...cfg.budget, maxTrials: null } }));
    await st.close();
    const loader = path.join(path.dirname(require.resolve('tsx/package.json')), 'dist', 'loader.mjs');
    const child = spawnSync(process.execPath, ['--import', `file://${loader}`, path.join(__dirname, 'fixtures', 'cli.ts'), 'worker', '--storage', storage, '--study', 'join'], { encoding: 'utf8', timeout: 60_000 });
    expect(child.stderr.replace(/.*LERNEN_NO_NATIVE.*\n|.*trace-warnings.*\n/g, '')).toBe('');
    expect(child.status).toBe(0);
    expect(child.stdout).toMatch(/trial 0 started|trial 1 started/);
    expect(child.stdout).toMatch(/worker done: \d trial\(s\); the grid is exhausted/);
    const again = await search.loadStudy('join', storage);
    const trials = await again.trials();
    await again.close();
    expect(trials.map((t) => [t.number, t.state])).toEqual([[0, 'complete'], [1, 'complete'], [2, 'complete'], [3, 'complete']]);
    expect(markers(markerDir)).toHaveLength(4);
  });
});
