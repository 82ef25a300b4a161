import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import '../helpers/backends';
import { elfWithMissingLib, removeTemp } from '../helpers/package-copy';

// Backend selection and `doctor`, each in a fresh process (selection happens once per process).
const root = path.resolve(__dirname, '../..');
const tsx = ['--import', 'tsx'];

function run(code: string, env: Record<string, string | undefined> = {}) {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'lernen-sel-')), 'probe.ts');
  fs.writeFileSync(file, code.replace(/SRC/g, JSON.stringify(path.join(root, 'src')).slice(1, -1)));
  const clean = { ...process.env };
  delete clean.LERNEN_BACKEND;
  delete clean.LERNEN_ADDON;
  const r = spawnSync(process.execPath, [...tsx, file], { cwd: root, env: { ...clean, ...env }, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

// Error messages are kept whole (every line: the reasons and their fixes).
const probe = `
import { getBackend, setBackend, tensor, doctor } from 'SRC/index';
const r = doctor();
let y = '';
try { y = tensor([1, 2, 3, 4], [2, 2]).matmul(tensor([1, 0, 0, 1], [2, 2])).toArray().join(','); } catch (e) { y = 'ERR ' + (e as Error).message; }
let forced = '';
try { setBackend('native'); forced = 'ok'; } catch (e) { forced = 'ERR ' + (e as Error).message; }
console.log(JSON.stringify({ backend: r.backend, why: r.why, loaded: r.addon.loaded, from: r.addon.from, reasons: r.addon.reasons, y, forced, name: getBackend() }));
`;

describe('backend selection', () => {
  let bogus: string;
  /** A real ELF .node whose shared library is gone, and that library's name. */
  let broken: string;
  let lib: string;
  beforeAll(() => {
    bogus = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'lernen-bogus-')), 'lernen.node');
    fs.writeFileSync(bogus, 'not an ELF file');
    broken = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'lernen-broken-')), 'lernen.node');
    lib = elfWithMissingLib(broken);
  });
  afterAll(() => {
    for (const f of [bogus, broken]) fs.rmSync(path.dirname(f), { recursive: true, force: true });
    removeTemp();
  });

  it('defaults to native, loaded from the local build', () => {
    const r = run(probe);
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out);
    expect(j).toMatchObject({ backend: 'native', loaded: true, from: 'local build', y: '1,2,3,4', forced: 'ok' });
    expect(r.err).not.toMatch(/LERNEN_NO_NATIVE/);
  });

  it('LERNEN_BACKEND=js uses the JS backend without warning', () => {
    const r = run(probe, { LERNEN_BACKEND: 'js' });
    const j = JSON.parse(r.out);
    expect(j).toMatchObject({ backend: 'js', why: 'LERNEN_BACKEND=js', y: '1,2,3,4' });
    expect(r.err).not.toMatch(/warning/i);
  });

  it('falls back to JS with one warning naming the reason when the addon cannot load', () => {
    const r = run(probe, { LERNEN_ADDON: bogus });
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.backend).toBe('js');
    expect(j.y).toBe('1,2,3,4');
    expect(j.loaded).toBe(false);
    expect(j.reasons.join(' ')).toMatch(/invalid ELF header|file too short/);
    expect(j.forced).toMatch(/^ERR lernen: the native backend is required \(setBackend\('native'\)\) but the addon did not load:\n  LERNEN_ADDON=/);
    const warnings = r.err.match(/\(node:\d+\) \[LERNEN_NO_NATIVE\]/g) ?? [];
    expect(warnings).toHaveLength(1);
    expect(r.err).toMatch(/using the pure-JS backend because the native addon did not load: .*(invalid ELF header|file too short)/);
  });

  it('falls back to JS with one warning naming a missing shared library (a real ELF addon)', () => {
    const r = run(probe, { LERNEN_ADDON: broken });
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out);
    expect(j).toMatchObject({ backend: 'js', loaded: false, y: '1,2,3,4' });
    expect(j.reasons).toEqual([expect.stringContaining(`LERNEN_ADDON=${broken}: ${lib}: cannot open shared object file`)]);
    expect(j.reasons[0]).toContain(`(fix: install the package that provides ${lib} `);
    const warnings = r.err.match(/\(node:\d+\) \[LERNEN_NO_NATIVE\]/g) ?? [];
    expect(warnings).toHaveLength(1);
    expect(r.err).toContain(`using the pure-JS backend because the native addon did not load: LERNEN_ADDON=${broken}: ${lib}: cannot open shared object file`);
  });

  it("setBackend('native') throws at once, with every reason and its fix, when the addon cannot load", () => {
    const r = run(probe, { LERNEN_ADDON: broken });
    const j = JSON.parse(r.out);
    expect(j.forced).toBe(`ERR lernen: the native backend is required (setBackend('native')) but the addon did not load:\n  ${j.reasons[0]}`);
    expect(j.name).toBe('js'); // the failed switch left the JS backend active
  });

  it('LERNEN_BACKEND=native: a failed load is an error at the first tensor operation (same message), doctor still reports', () => {
    const r = run(probe, { LERNEN_BACKEND: 'native', LERNEN_ADDON: broken });
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out);
    // doctor() works and says why.
    expect(j).toMatchObject({ backend: 'native', loaded: false, why: 'LERNEN_BACKEND=native, but the addon did not load', name: 'native' });
    expect(j.reasons).toHaveLength(1);
    expect(j.reasons[0]).toContain(`${lib}: cannot open shared object file`);
    // No fallback and no warning: the first tensor operation throws the full reason list ...
    expect(r.err).not.toMatch(/LERNEN_NO_NATIVE/);
    const body = `the addon did not load:\n  ${j.reasons[0]}`;
    expect(j.y).toBe(`ERR lernen: the native backend is required (LERNEN_BACKEND=native) but ${body}`);
    // ... the same message setBackend('native') throws, but for the cause it names.
    expect(j.forced).toBe(`ERR lernen: the native backend is required (setBackend('native')) but ${body}`);
  });

  it('LERNEN_BACKEND=native fails at tensor creation too, and the CLI doctor still runs', () => {
    const r = run(`
import { tensor, zeros } from 'SRC/index';
for (const f of [() => tensor([1, 2]), () => zeros([3])]) {
  try { f(); console.log('created'); } catch (e) { console.log((e as Error).message.split('\\n')[0]); }
}`, { LERNEN_BACKEND: 'native', LERNEN_ADDON: bogus });
    expect(r.out.trim().split('\n')).toEqual(Array(2).fill('lernen: the native backend is required (LERNEN_BACKEND=native) but the addon did not load:'));
    const d = spawnSync(process.execPath, ['bin/lernen.js', 'doctor'], { cwd: root, encoding: 'utf8', env: { ...process.env, LERNEN_BACKEND: 'native', LERNEN_ADDON: bogus } });
    expect(d.status, d.stderr).toBe(0);
    expect(d.stdout).toMatch(/backend: +native \(LERNEN_BACKEND=native, but the addon did not load\)/);
    expect(d.stdout).toMatch(/addon: +NOT loaded\n  - LERNEN_ADDON=.*(invalid ELF header|file too short).*\(fix: /);
  });

  it('rejects an unknown LERNEN_BACKEND value', () => {
    const r = run(probe, { LERNEN_BACKEND: 'gpu' });
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/LERNEN_BACKEND must be 'native' or 'js', got 'gpu'/);
  });
});

describe('lernen doctor', () => {
  beforeAll(() => {
    // `npm test` builds dist/ first (see package.json); the CLI runs from there.
    if (!fs.existsSync(path.join(root, 'dist/cjs/cli/index.js'))) throw new Error('dist/ is missing: run npm run build:ts (npm test does)');
  });

  it('reports the backend, the addon file, Node-API and OpenBLAS', () => {
    const out = execFileSync(process.execPath, ['bin/lernen.js', 'doctor', '--json'], { cwd: root, encoding: 'utf8' });
    const r = JSON.parse(out);
    expect(r.backend).toBe('native');
    expect(r.addon.file).toMatch(/lernen\.node$/);
    expect(r.napiVersion).toBe(8);
    expect(r.openblas.config).toMatch(/OpenBLAS/);
    expect(r.openblas.coreType.length).toBeGreaterThan(0);
    expect(r.openblas.numThreads).toBeGreaterThanOrEqual(1);
    const text = execFileSync(process.execPath, ['bin/lernen.js', 'doctor'], { cwd: root, encoding: 'utf8' });
    // The thread count is lernen's kernel team, not OpenBLAS's threads (OpenBLAS runs one-threaded).
    expect(text).toMatch(new RegExp(`threads: +${r.openblas.numThreads} \\(lernen's kernel team, setNumThreads; OpenBLAS runs one-threaded, (sequential|pthreads|OpenMP) build\\)`));
  });

  it('--parity compares both backends op by op with small differences', () => {
    const out = execFileSync(process.execPath, ['bin/lernen.js', 'doctor', '--parity', '--json'], { cwd: root, encoding: 'utf8' });
    const r = JSON.parse(out);
    const ops = r.parity.map((p: { op: string }) => p.op);
    expect(ops).toEqual(expect.arrayContaining(['matmul', 'linear+relu', 'conv2d', 'maxPool2d', 'softmax', 'crossEntropy', 'batchNorm', 'dropout']));
    for (const p of r.parity) expect(p.relDiff, p.op).toBeLessThan(1e-4);
    const text = execFileSync(process.execPath, ['bin/lernen.js', 'doctor', '--parity'], { cwd: root, encoding: 'utf8' });
    expect(text).toMatch(/parity \(native vs js, forward \+ backward\):/);
    expect(text).toMatch(/conv2d +max \|Δ\| /);
  });

  it('names the fix when the addon cannot load', () => {
    const bogusDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lernen-bogus-'));
    const bogus = path.join(bogusDir, 'lernen.node');
    fs.writeFileSync(bogus, 'garbage');
    const r = spawnSync(process.execPath, ['bin/lernen.js', 'doctor'], { cwd: root, encoding: 'utf8', env: { ...process.env, LERNEN_ADDON: bogus } });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/addon: +NOT loaded/);
    expect(r.stdout).toMatch(/fix: /);
  });
});
