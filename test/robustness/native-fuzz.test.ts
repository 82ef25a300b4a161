/**
 * The native boundary under attack: fast-check properties over every addon entry point (see
 * fixtures/native-fuzz.ts), a few thousand cases per run, in one child process per batch so that
 * a crash is reported as a failure with its seed and the call that crashed, instead of killing
 * vitest. Under the ASan/UBSan build (.ci/run) a sanitizer report aborts the child the same way.
 *
 * The base seed is random per run and printed; LERNEN_FUZZ_SEED=<n> replays a run and
 * LERNEN_FUZZ_RUNS=<n> sets the cases per batch.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SPECS } from '../helpers/native-specs';
import { record } from './report';

const ROOT = path.resolve(__dirname, '../..');
const CHILD = path.join(__dirname, 'fixtures', 'native-fuzz.ts');
const BATCHES = 4;
const RUNS = Number(process.env.LERNEN_FUZZ_RUNS ?? 2500);
const BASE = Number(process.env.LERNEN_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lernen-native-fuzz-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

interface Summary {
  seed: number; cases: number; returned: number; threw: number; compared: number;
  byKernel: Record<string, { returned: number; threw: number }>;
  attacks: Record<string, number>; knownHits: Record<string, number>; failures: string[]; exports: string[];
}

function runBatch(seed: number): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string; log: string }> {
  const log = path.join(tmp, `batch-${seed}.log`);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, '--seed', String(seed), '--runs', String(RUNS), '--log', log],
      { cwd: ROOT, env: process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d; });
    child.stderr.on('data', (d: Buffer) => { stderr = (stderr + d).slice(-20_000); });
    const timer = setTimeout(() => child.kill('SIGKILL'), 100_000);
    child.on('close', (code, signal) => { clearTimeout(timer); resolve({ code, signal, stdout, stderr, log }); });
  });
}

const totals = { exports: [] as string[], cases: 0, returned: 0, threw: 0, compared: 0, kernels: new Set<string>(), attacks: {} as Record<string, number>, known: {} as Record<string, number> };

describe(`native boundary fuzz (base seed ${BASE}, ${BATCHES} batches of ${RUNS})`, () => {
  for (let b = 0; b < BATCHES; b++) {
    const seed = (BASE + b) % 2 ** 31;
    it(`batch ${b + 1}, seed ${seed}: every call returns correctly or throws an Error naming its kernel`, async () => {
      const r = await runBatch(seed);
      const repro = `node --import tsx test/robustness/fixtures/native-fuzz.ts --seed ${seed} --runs ${RUNS}`;
      if (r.code !== 0) {
        const lines = fs.existsSync(r.log) ? fs.readFileSync(r.log, 'utf8').trim().split('\n') : [];
        throw new Error(`the fuzz child died (exit code ${r.code}, signal ${r.signal}) during:\n  ${lines.at(-1) ?? '(no case logged)'}\n`
          + `replay: ${repro}\nstderr (tail):\n${r.stderr.slice(-4000)}`);
      }
      const s = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as Summary;
      expect(s.failures, `replay: ${repro}`).toEqual([]);
      expect(s.cases).toBe(RUNS);
      // Both outcomes ran a fair number of times, and the JS cross-check was not vacuous.
      expect(s.returned).toBeGreaterThan(RUNS / 10);
      expect(s.threw).toBeGreaterThan(RUNS / 2);
      expect(s.compared).toBeGreaterThan(RUNS / 10);
      totals.exports = s.exports;
      totals.cases += s.cases;
      totals.returned += s.returned;
      totals.threw += s.threw;
      totals.compared += s.compared;
      Object.keys(s.byKernel).forEach((k) => totals.kernels.add(k));
      for (const [k, v] of Object.entries(s.attacks)) totals.attacks[k] = (totals.attacks[k] ?? 0) + v;
      for (const [k, v] of Object.entries(s.knownHits)) totals.known[k] = (totals.known[k] ?? 0) + v;
    }, 120_000);
  }

  it('covered every entry point', () => {
    // Every function the addon exports is in the spec table (a new kernel needs its row).
    expect(totals.exports.filter((k) => k !== 'getNumThreads' && k !== 'info' && !SPECS.some((s) => s.name === k))).toEqual([]);
    expect([...totals.kernels].sort()).toEqual(SPECS.map((s) => s.name).sort());
    const attacks = Object.entries(totals.attacks).map(([k, v]) => `${k} ${v}`).join(', ');
    record('native-fuzz', {
      attack: `native entry points (${SPECS.length}), fast-check, random wrong arguments: ${attacks}`,
      cases: totals.cases,
      outcome: `${totals.threw} threw an Error naming the kernel, ${totals.returned} returned (${totals.compared} of them checked equal to the JS backend); no crash, no write outside a buffer`,
      known: totals.known,
    });
  });
});
