/**
 * Smoke test of the benchmark harness (`npm run bench`, src/cli/bench.ts): a minimal run in a
 * child process (W1 only, native 2 threads and JS, 1 rep of 3 batches, plus the allocation
 * count) into a temporary markdown file and README; checks the structure of what it writes, not
 * the timings. Also the flag validation and the section replacement.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/cli/args';
import { spawn } from 'node:child_process';
import { TRAINING_SECTION, parseBenchArgs, replaceSection, waitQuiet } from '../../src/cli/bench';

const ROOT = path.resolve(__dirname, '../..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lernen-bench-test-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** The cells of the markdown table rows that follow `header` (until the first non-table line). */
function tableAfter(md: string, header: RegExp): string[][] {
  const lines = md.split('\n');
  const at = lines.findIndex((l) => header.test(l));
  expect(at, `table header ${header} in:\n${md}`).toBeGreaterThanOrEqual(0);
  const rows: string[][] = [];
  for (let i = at; i < lines.length && lines[i]!.startsWith('|'); i++) rows.push(lines[i]!.split('|').slice(1, -1).map((c) => c.trim()));
  return rows;
}

describe('bench harness', () => {
  it('a minimal run writes the training table, the allocation count and the README section', async () => {
    const out = path.join(tmp, 'benchmarks.md');
    const readme = path.join(tmp, 'README.md');
    fs.writeFileSync(out, '# Benchmarks\n\n## GEMM\n\nthe GEMM section stays\n');
    fs.writeFileSync(readme, '# lernen\n\nintro stays\n\n## Benchmarks\n\nold body\n\n## License\n\nMIT stays\n');
    const args = ['--import', 'tsx', 'bench/run.ts', '--workloads', 'w1', '--backends', 'native2,js', '--reps', '1', '--batches', '3',
      '--measure', 'speed,alloc', '--out', out, '--readme', readme, '--quiet'];
    const r = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, args, { cwd: ROOT, timeout: 110_000, maxBuffer: 16 << 20 },
        (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr }));
    });
    expect(r.code, `stderr:\n${r.stderr}`).toBe(0);
    const md = fs.readFileSync(out, 'utf8');
    // The new section goes before the GEMM section, which is kept as it was.
    expect(md.indexOf(`## ${TRAINING_SECTION}`)).toBeGreaterThan(0);
    expect(md.indexOf(`## ${TRAINING_SECTION}`)).toBeLessThan(md.indexOf('## GEMM'));
    expect(md).toContain('## GEMM\n\nthe GEMM section stays\n');
    expect(md).toMatch(/Machine: .+, \d+ cores, .*OpenBLAS core type \*\*\w+\*\*.*load average [\d.]+ at start/);

    const speed = tableAfter(md, /^\| workload \| implementation \| epoch s \(median\)/);
    expect(speed[1]!.every((c) => /^-+$/.test(c))).toBe(true);
    const body = speed.slice(2);
    expect(body).toHaveLength(2);
    for (const row of body) expect(row).toHaveLength(speed[0]!.length);
    const [native, js] = body as [string[], string[]];
    expect(native[0]).toBe('W1 mlp');
    expect(native[1]).toMatch(/^lernen native, 2 threads/);
    expect(js[1]).toMatch(/^lernen JS backend/);
    for (const row of body) {
      expect(Number(row[2])).toBeGreaterThan(0); // median epoch seconds
      expect(row[3]).toMatch(/^[\d.]+–[\d.]+$/);
      expect(row[7]).toBe('3 of 469 batches ×1, extrapolated');
      expect(row[9]).toMatch(/^`npm run bench -- --workloads w1 --backends (native2|js) --reps 1 --batches 3 --measure speed`$/);
    }
    expect(native[6]).toBe('1.00× (1.00×–1.00×)'); // the reference against itself
    expect(js[6]).toMatch(/^[\d.]+× \([\d.]+×–[\d.]+×\)$/);

    const mem = tableAfter(md, /^\| measure \| value \| target \| command \|/).slice(2);
    expect(mem.map((m) => m[0])).toEqual([
      'Float32Array allocations ≥ 64 KB per training step after warm-up, W1 mlp, lernen native, 2 threads',
      'Float32Array allocations ≥ 64 KB per training step after warm-up, W1 mlp, lernen JS backend',
    ]);
    for (const m of mem) expect(m[1]).toMatch(/^\*\*\d+(\.\d)?\*\* per step \([\d.]+ MiB per step\), over \d+ steps; of which through the tensor allocation path \(`memoryStats\(\)\.largeAllocations`\): \d+\.\d per step$/);
    // A warmed-up step allocates nothing large: the data loader's batch comes from the buffer
    // pool (fit iterates it transiently) and so do the uniforms of a new epoch's shuffle.
    for (const m of mem) expect(m[1]).toMatch(/^\*\*0\.0\*\* per step \(0\.00 MiB per step\)/);
    expect(md).not.toMatch(/DataLoader\.makeBatch/);

    const rd = fs.readFileSync(readme, 'utf8');
    expect(rd.startsWith('# lernen\n\nintro stays\n\n## Benchmarks\n\n')).toBe(true);
    expect(rd).not.toContain('old body');
    expect(rd).toContain('\n## License\n\nMIT stays\n');
    const small = tableAfter(rd, /^\| workload \| implementation \| epoch s \(median, min–max\)/).slice(2);
    expect(small.map((c) => c[1])).toEqual(['lernen native, 2 threads', 'lernen JS backend']);
    expect(rd).toContain('`npm run bench`');
  }, 120_000);

  it('validates its flags before running anything', () => {
    expect(() => parseBenchArgs(['--backends', 'native2,cuda'])).toThrow(UsageError);
    expect(() => parseBenchArgs(['--workloads', 'w3'])).toThrow(/unknown 'w3'/);
    expect(() => parseBenchArgs(['--reps', '0'])).toThrow(/--reps/);
    expect(() => parseBenchArgs(['--batches', '5', '--full'])).toThrow(/exclude/);
    expect(() => parseBenchArgs(['extra'])).toThrow(/unexpected argument/);
    const c = parseBenchArgs(['--workloads', 'cnn,w1', '--backends', 'torch,native1', '--no-write']);
    expect(c.workloads).toEqual(['w1', 'cnn']);
    expect(c.variants).toEqual(['native1', 'torch']);
    expect(c.out).toBeNull();
    // A partial run prints only unless told where to write.
    expect(parseBenchArgs(['--backends', 'js']).out).toBeNull();
    expect(parseBenchArgs(['--backends', 'js', '--write']).out).toBe(path.join(ROOT, 'docs/benchmarks.md'));
    expect(parseBenchArgs([]).readme).toBe(path.join(ROOT, 'README.md'));
  });

  it('accepts good output paths, train flags and Python, creating only the output folders', () => {
    const readme = path.join(tmp, 'R.md');
    fs.writeFileSync(readme, '# R\n');
    const out = path.join(tmp, 'new', 'b.md');
    const json = path.join(tmp, 'new2', 'r.json');
    const c = parseBenchArgs(['--backends', 'js', '--out', out, '--json', json, '--readme', readme, '--mlp-args=--epochs 3 --lr 0.1', '--python', process.execPath]);
    expect(c).toMatchObject({ out, json, readme, python: process.execPath, ttaArgs: { mlp: ['--epochs', '3', '--lr', '0.1'], cnn: [] } });
    expect(fs.readdirSync(path.dirname(out))).toEqual([]);
    expect(fs.readdirSync(path.dirname(json))).toEqual([]);
    expect(fs.readFileSync(readme, 'utf8')).toBe('# R\n');
    // Train flags are checked as lernen train checks them; bench sets --model and --out itself.
    expect(() => parseBenchArgs(['--cnn-args=--epochs 0'])).toThrow(/^bench: --cnn-args: train: --epochs must be in/);
    expect(() => parseBenchArgs(['--mlp-args=--model cnn'])).toThrow(/--model is set by bench itself/);
    expect(() => parseBenchArgs(['--no-write', '--out', out])).toThrow(/--no-write and --out exclude each other/);
  });

  it.runIf(process.platform === 'linux')('waits before a repetition while a worker still burns CPU (spinning BLAS threads), not when it is idle', async () => {
    // A child that busy-loops for 400 ms after it starts, then sleeps: what OpenBLAS's threads
    // do for ~0.1 s after a call. waitQuiet must not return while it spins.
    const child = spawn(process.execPath, ['-e', 'const t = Date.now(); process.stdout.write("go\\n"); while (Date.now() - t < 400); setTimeout(() => {}, 60000);'], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      await new Promise<void>((resolve) => child.stdout!.once('data', () => resolve()));
      const t0 = performance.now();
      const waited = await waitQuiet([child.pid!]);
      const since = performance.now() - t0;
      expect(waited).toBeGreaterThanOrEqual(since - 5);
      expect(since).toBeGreaterThan(200); // it was still spinning for most of the 400 ms
      // Now idle: one 25 ms window is enough.
      const idle = await waitQuiet([child.pid!]);
      expect(idle).toBeLessThan(1000);
      // A pid that does not exist: no /proc entry, no wait.
      expect(await waitQuiet([2 ** 22 + 12345])).toBeLessThan(50);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('replaces one section and keeps the others', () => {
    const doc = '# T\n\n## A\n\na\n\n## B\n\nb\n';
    expect(replaceSection(doc, 'A', 'new a')).toBe('# T\n\n## A\n\nnew a\n\n## B\n\nb\n');
    expect(replaceSection(doc, 'B', 'new b')).toBe('# T\n\n## A\n\na\n\n## B\n\nnew b\n');
    expect(replaceSection(doc, 'C', 'c', ['B'])).toBe('# T\n\n## A\n\na\n\n## C\n\nc\n\n## B\n\nb\n');
    expect(replaceSection(doc, 'C', 'c')).toBe('# T\n\n## A\n\na\n\n## B\n\nb\n\n## C\n\nc\n');
    // Subsections belong to their section.
    expect(replaceSection('## A\n\n### x\n\n## B\n', 'A', 'y')).toBe('## A\n\ny\n\n## B\n');
  });
});
