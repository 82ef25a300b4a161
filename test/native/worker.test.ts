import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { loadAddon } from '../../src/backend/loader';
import type { LernenBinding } from '../../src/backend/binding';

const root = path.resolve(__dirname, '../..');
const script = path.join(__dirname, 'worker-gemm.cjs');

interface Result {
  maxErr: number;
  uniforms: number[];
  threw: string;
  info: { napiVersion: number };
}

function run(seed: number): Promise<Result> {
  return new Promise((resolve, reject) => {
    const w = new Worker(script, { workerData: { root, m: 64, n: 48, k: 80, seed } });
    w.once('message', (r: Result) => resolve(r));
    w.once('error', reject);
    w.once('exit', (code) => {
      if (code !== 0) reject(new Error(`worker exited with code ${code}`));
    });
  });
}

describe('native addon in worker_threads', () => {
  it('loads and computes correctly in two workers at once, and on the main thread', async () => {
    const load = loadAddon();
    if (!load.ok) throw new Error(`the native addon did not load:\n  ${load.reasons.join('\n  ')}`);
    const main = load.addon as LernenBinding;
    const [r1, r2] = await Promise.all([run(1), run(2)]);
    for (const r of [r1, r2]) {
      expect(r.maxErr).toBeLessThan(1e-4);
      expect(r.info.napiVersion).toBe(8);
      expect(r.threw).toMatch(/^gemm: buffer b has 1 elements but k·n = \d+ are required$/);
    }
    // Same seeded stream in each worker and here: no hidden global RNG state.
    expect(r1.uniforms).toEqual(r2.uniforms);
    const u = new Float32Array(8);
    main.randUniform(Uint32Array.from([1, 2, 3, 4]), u, 8, 0, 1);
    expect(r1.uniforms).toEqual([...u]);
  });

  it('survives a worker that loads the addon and exits, then another one', async () => {
    const r1 = await run(3);
    const r2 = await run(4);
    expect(r1.maxErr).toBeLessThan(1e-4);
    expect(r2.maxErr).toBeLessThan(1e-4);
  });
});
