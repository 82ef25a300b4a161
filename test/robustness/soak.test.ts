/**
 * Long runs: fit() trains a small MLP for thousands of steps (fixtures/soak.ts, in a child with
 * --expose-gc and the native backend required). After warm-up, resident memory, the V8 heap,
 * ArrayBuffer bytes and the number of live Float32Arrays and Tensors must stay flat: no leak in
 * the addon, the autograd tape, the optimizer, the scheduler, the DataLoader or the callbacks.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { record } from './report';

const ROOT = path.resolve(__dirname, '../..');
const STEPS = 3000;
const SAMPLE = 250;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lernen-soak-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

interface Sample { step: number; rss: number; heapUsed: number; arrayBuffers: number; float32Arrays: number; tensors: number }

describe('soak', () => {
  it(`${STEPS} training steps: memory and live buffers stay flat after warm-up`, async () => {
    const r = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', path.join(__dirname, 'fixtures', 'soak.ts'),
        '--steps', String(STEPS), '--sample', String(SAMPLE), '--out', tmp], { cwd: ROOT, env: { ...process.env, LERNEN_BACKEND: 'native' } });
      let stdout = '', stderr = '';
      child.stdout.on('data', (d: Buffer) => { stdout += d; });
      child.stderr.on('data', (d: Buffer) => { stderr += d; });
      const timer = setTimeout(() => child.kill('SIGKILL'), 110_000);
      child.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
    });
    expect(r.code, r.stderr).toBe(0);
    const res = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { backend: string; steps: number; seconds: number; samples: Sample[] };
    expect(res.backend).toBe('native');
    expect(res.steps).toBe(STEPS);
    // Warm-up: the first two samples (500 steps: pools, scratch, JIT, first checkpoints).
    const after = res.samples.filter((s) => s.step > 2 * SAMPLE && s.step < STEPS);
    expect(after.length).toBeGreaterThanOrEqual(8);
    const span = (k: keyof Sample) => Math.max(...after.map((s) => s[k])) - after[0]![k];
    const table = after.map((s) => `${s.step}: rss ${(s.rss / 2 ** 20).toFixed(1)} MiB, heap ${(s.heapUsed / 2 ** 20).toFixed(2)} MiB, arrayBuffers ${(s.arrayBuffers / 1024).toFixed(0)} KiB, ${s.float32Arrays} Float32Arrays, ${s.tensors} Tensors`).join('\n');
    expect(span('float32Arrays'), table).toBeLessThanOrEqual(8);
    expect(span('tensors'), table).toBeLessThanOrEqual(8);
    expect(span('arrayBuffers'), table).toBeLessThan(256 * 1024);
    expect(span('heapUsed'), table).toBeLessThan(2 * 2 ** 20);
    expect(span('rss'), table).toBeLessThan(16 * 2 ** 20);
    const first = after[0]!, last = after.at(-1)!;
    record('soak', {
      attack: `fit() for ${STEPS} steps (MLP 32-64-64-4 with BatchNorm and Dropout, Adam, per-batch OneCycle, L2, shuffling DataLoader, checkpoint + batch callbacks), sampled every ${SAMPLE} steps after a full GC`,
      cases: STEPS,
      outcome: `flat after warm-up (steps ${first.step}–${last.step}): RSS ${(first.rss / 2 ** 20).toFixed(0)}→${(last.rss / 2 ** 20).toFixed(0)} MiB (max +${(span('rss') / 2 ** 20).toFixed(1)}), ArrayBuffers ${(first.arrayBuffers / 1024).toFixed(0)}→${(last.arrayBuffers / 1024).toFixed(0)} KiB, live Float32Arrays ${first.float32Arrays}→${last.float32Arrays}, live Tensors ${first.tensors}→${last.tensors}; ${res.seconds.toFixed(1)} s`,
    });
  }, 120_000);
});
