/**
 * Smoke tests of the course examples: each runs in a child process exactly as documented
 * (`node --import tsx examples/<name>.ts --quick --out DIR`), must exit 0, print its key
 * facts, write the facts to DIR/summary.json and draw its SVG plots with `lineChart`.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(__dirname, '../..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lernen-examples-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

interface Result { code: number | null; stdout: string; stderr: string; out: string }

function runExample(name: string, extra: string[] = ['--quick']): Promise<Result> {
  const out = path.join(tmp, name);
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', `examples/${name}.ts`, ...extra, '--out', out],
      { cwd: ROOT, timeout: 50_000, maxBuffer: 16 << 20, env: { ...process.env, NO_COLOR: '1' } },
      (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr, out }));
  });
}

function summary(r: Result): any {
  return JSON.parse(fs.readFileSync(path.join(r.out, 'summary.json'), 'utf8'));
}

/** The series names drawn in an SVG written by lineChart (one <path class="series"> each). */
function seriesOf(r: Result, file: string): string[] {
  const svg = fs.readFileSync(path.join(r.out, file), 'utf8');
  expect(svg.startsWith('<svg')).toBe(true);
  expect(svg).toContain('<path class="series"');
  return [...svg.matchAll(/<path class="series" data-name="([^"]*)" d="M[^"]+"/g)].map((m) => m[1]!);
}

const ok = (r: Result) => expect(r.code, `exit code; stderr:\n${r.stderr}\nstdout:\n${r.stdout}`).toBe(0);

describe('examples (--quick)', () => {
  it('overfitting: the line is exact, degree 5 fits both points wildly, L2 shrinks the norm monotonically', async () => {
    const r = await runExample('overfitting');
    ok(r);
    expect(r.stdout).toMatch(/line: +y = -28\.600 \+ 11\.400·x/);
    expect(r.stdout).toContain('the coefficient norm shrinks monotonically as λ grows');
    const s = summary(r);
    expect(s.quick).toBe(true);
    expect(s.line.intercept).toBeCloseTo(-28.6, 2);
    expect(s.line.slope).toBeCloseTo(11.4, 2);
    expect(s.line.maxResidual).toBeLessThan(0.01);
    // Degree 5 through both points too, but far off the line elsewhere on [0, 12].
    expect(s.polynomial.maxResidual).toBeLessThan(0.01);
    expect(s.polynomial.coefficientsScaled).toHaveLength(6);
    expect(Math.abs(s.polynomial.at12 - s.lineRange[1])).toBeGreaterThan(100);
    // L2: λ = 0, 0.01, 0.1, 1 with strictly falling coefficient norms, and a worse fit for large λ.
    expect(s.l2.map((e: any) => e.lambda)).toEqual([0, 0.01, 0.1, 1]);
    const norms: number[] = s.l2.map((e: any) => e.norm);
    for (let i = 1; i < norms.length; i++) expect(norms[i]).toBeLessThan(norms[i - 1]!);
    expect(norms[0]).toBe(s.polynomial.norm);
    expect(s.normDecreasing).toBe(true);
    expect(s.l2[3].maxResidual).toBeGreaterThan(s.l2[1].maxResidual);
    for (const e of s.l2) expect(r.stdout).toContain(e.norm.toFixed(4));
    expect(seriesOf(r, 'fits.svg')).toEqual(['line (2 coefficients)', 'degree 5 (6 coefficients)']);
    expect(seriesOf(r, 'l2_curves.svg')).toHaveLength(4);
    expect(seriesOf(r, 'l2_norms.svg')).toHaveLength(1);
  });

  it('momentum: SGD with momentum reaches f < 1e-3 in fewer steps than plain SGD', async () => {
    const r = await runExample('momentum');
    ok(r);
    const s = summary(r);
    const [plain, heavy] = s.runs;
    expect(plain.momentum).toBe(0);
    expect(heavy.momentum).toBeGreaterThan(0);
    expect(plain.stepsToThreshold).toBeGreaterThan(0);
    expect(heavy.stepsToThreshold).toBeGreaterThan(0);
    expect(heavy.stepsToThreshold).toBeLessThan(plain.stepsToThreshold);
    expect(s.momentumFaster).toBe(true);
    expect(r.stdout).toContain(`reaches f < 0.001 after ${plain.stepsToThreshold} steps`);
    expect(r.stdout).toContain(`reaches f < 0.001 after ${heavy.stepsToThreshold} steps`);
    expect(r.stdout).toContain('momentum gets there in fewer steps');
    expect(seriesOf(r, 'trajectories.svg')).toEqual([plain.name, heavy.name]);
    expect(seriesOf(r, 'loss.svg')).toEqual([plain.name, heavy.name]);
  });

  it('local_minimum: gradient methods stop in the broad well, OnePlusOneES (seeded) finds the deep one; ES and SGD both train the 2-8-2 net', async () => {
    const r = await runExample('local_minimum');
    ok(r);
    const s = summary(r);
    const names = s.optimizers.map((o: any) => o.name);
    expect(names.slice(0, 4)).toEqual(['SGD (lr 1)', 'SGD + momentum 0.9 (lr 1)', 'Adam (lr 0.1)', 'RMSprop (lr 0.05)']);
    expect(names[4]).toMatch(/^OnePlusOneES/);
    for (const o of s.optimizers.slice(0, 4)) {
      expect(o.localWell, o.name).toBe(true);
      expect(Math.abs(o.x)).toBeLessThan(0.05);
    }
    const es = s.optimizers[4];
    expect(es.deepWell).toBe(true);
    expect(es.x).toBeCloseTo(6, 1);
    expect(es.f).toBeLessThan(-1.2);
    expect(s.esSeeds.foundDeepWell).toBeGreaterThanOrEqual(1);
    expect(s.esSeeds.foundDeepWell).toBeLessThanOrEqual(s.esSeeds.seeds);
    expect(r.stdout.match(/broad well \(local\)/g)).toHaveLength(4);
    expect(r.stdout).toContain('deep well (global)');
    expect(r.stdout).toContain(`found the deep well with ${s.esSeeds.foundDeepWell} of ${s.esSeeds.seeds} seeds`);
    const n = s.network;
    expect(n.initialLoss).toBeGreaterThan(0.5);
    for (const k of ['sgd', 'es'] as const) {
      expect(n[k].loss, k).toBeLessThan(0.5 * n.initialLoss);
      expect(n[k].accuracy, k).toBeGreaterThan(0.8);
    }
    expect(r.stdout).toContain(`final loss ${n.sgd.loss.toFixed(4)}`);
    expect(r.stdout).toContain(`final loss ${n.es.loss.toFixed(4)}`);
    expect(seriesOf(r, 'landscape.svg')).toEqual(['f(x)']);
    expect(seriesOf(r, 'positions.svg')).toEqual(names);
    expect(seriesOf(r, 'network_loss.svg')).toEqual(['SGD', 'OnePlusOneES']);
  });

  it('dropout: two runs on an MNIST subset with learning curves, gaps and diagnose() verdicts', async () => {
    const r = await runExample('dropout');
    ok(r);
    const s = summary(r);
    expect([s.trainImages, s.epochs]).toEqual([200, 3]);
    expect(s.runs.map((x: any) => x.dropout)).toEqual([false, true]);
    for (const run of s.runs) {
      expect(run.history.epochs).toHaveLength(3);
      for (const e of run.history.epochs) {
        for (const v of [e.trainAccuracy, e.valAccuracy]) { expect(v).toBeGreaterThanOrEqual(0); expect(v).toBeLessThanOrEqual(1); }
        expect(Number.isFinite(e.trainLoss) && Number.isFinite(e.valLoss)).toBe(true);
      }
      expect(run.gap).toBeCloseTo(run.finalTrainAccuracy - run.finalValAccuracy, 12);
      // Three epochs on 200 images already learn something (chance is 10%).
      expect(run.finalValAccuracy).toBeGreaterThan(0.3);
      expect(['overfitting', 'underfitting', 'diverged', 'good fit', 'too short']).toContain(run.verdict);
      expect(r.stdout).toContain(`diagnose(): ${run.verdict} — ${run.message}`);
      expect(r.stdout).toContain(`gap ${(100 * run.gap).toFixed(2)} points`);
    }
    expect(s.gapReduced).toBe(s.runs[1].gap < s.runs[0].gap);
    const names = ['no dropout: train', 'no dropout: validation', 'dropout: train', 'dropout: validation'];
    expect(seriesOf(r, 'accuracy.svg')).toEqual(names);
    expect(seriesOf(r, 'loss.svg')).toEqual(names);
    for (const f of ['report_no_dropout.html', 'report_dropout.html']) expect(fs.readFileSync(path.join(r.out, f), 'utf8')).toContain('<path class="series"');
  });

  it('rejects an unknown argument with the usage and status 2', async () => {
    const r = await runExample('momentum', ['--bogus']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("unknown argument '--bogus'");
    expect(r.stderr).toContain('usage: npx tsx examples/momentum.ts [--quick] [--out DIR]');
  });
});
