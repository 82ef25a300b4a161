/**
 * Untrusted files: IDX data, model state (nn.save) and optimizer state (optim.save) are parsed
 * as hostile input. The mutation fuzzer (fixtures/file-fuzz.ts) runs in child processes with
 * --expose-gc and checks every case for a clean outcome or a LernenError naming the file,
 * ArrayBuffer growth within the file's size + 64 KiB (gzipped IDX: plus its decompressed size
 * twice), JS heap growth within 128 × its size + 4 MiB, and time; a hang or crash is reported
 * with its seed.
 * LERNEN_FUZZ_SEED / LERNEN_FILE_FUZZ_RUNS replay or resize a run.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { DataError } from '../../src/data/errors';
import { readIdx, writeIdx } from '../../src/data/idx';
import * as nn from '../../src/nn';
import * as optim from '../../src/optim';
import { Tensor } from '../../src/tensor/tensor';
import { record } from './report';

const ROOT = path.resolve(__dirname, '../..');
const CHILD = path.join(__dirname, 'fixtures', 'file-fuzz.ts');
const BATCHES = 2;
const RUNS = Number(process.env.LERNEN_FILE_FUZZ_RUNS ?? 900);
const BASE = Number(process.env.LERNEN_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lernen-untrusted-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

interface Stats { cases: number; loaded: number; refused: number; maxMs: number; maxGrowth: number; maxHeapGrowth: number; byMutation: Record<string, number> }
interface Summary { stats: Record<string, Stats>; knownHits: Record<string, Record<string, number>>; failures: string[] }

function runChild(args: string[], timeoutMs: number, extraNodeArgs: string[] = []): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string; timedOut: boolean }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...extraNodeArgs, '--import', 'tsx', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '', timedOut = false;
    child.stdout.on('data', (d: Buffer) => { stdout += d; });
    child.stderr.on('data', (d: Buffer) => { stderr = (stderr + d).slice(-20_000); });
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, timeoutMs);
    child.on('close', (code, signal) => { clearTimeout(timer); resolve({ code, signal, stdout, stderr, timedOut }); });
  });
}

const totals: Record<string, Stats> = {};
const known: Record<string, Record<string, number>> = {};

describe(`mutated files (base seed ${BASE}, ${BATCHES} batches of ${RUNS})`, () => {
  for (let b = 0; b < BATCHES; b++) {
    const seed = (BASE + b) % 2 ** 31;
    it(`batch ${b + 1}, seed ${seed}: each load succeeds consistently or fails with a LernenError naming the file, within time, ArrayBuffer and heap memory`, async () => {
      const dir = fs.mkdtempSync(path.join(tmp, 'batch-'));
      const log = path.join(dir, 'cases.log');
      const r = await runChild([CHILD, '--seed', String(seed), '--runs', String(RUNS), '--dir', dir, '--log', log], 100_000, ['--expose-gc']);
      const repro = `node --expose-gc --import tsx test/robustness/fixtures/file-fuzz.ts --seed ${seed} --runs ${RUNS}`;
      if (r.code !== 0) {
        const last = fs.existsSync(log) ? fs.readFileSync(log, 'utf8').trim().split('\n').at(-1) : '(none)';
        throw new Error(`the file fuzz child ${r.timedOut ? 'hung' : 'died'} (exit ${r.code}, signal ${r.signal}) during:\n  ${last}\nreplay: ${repro}\n${r.stderr.slice(-3000)}`);
      }
      const s = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as Summary;
      expect(s.failures, `replay: ${repro}`).toEqual([]);
      const cases = Object.values(s.stats).reduce((a, x) => a + x.cases, 0);
      expect(cases).toBe(RUNS);
      for (const [k, v] of Object.entries(s.stats)) {
        const t = (totals[k] ??= { cases: 0, loaded: 0, refused: 0, maxMs: 0, maxGrowth: 0, maxHeapGrowth: 0, byMutation: {} });
        t.cases += v.cases; t.loaded += v.loaded; t.refused += v.refused;
        t.maxMs = Math.max(t.maxMs, v.maxMs); t.maxGrowth = Math.max(t.maxGrowth, v.maxGrowth);
        t.maxHeapGrowth = Math.max(t.maxHeapGrowth, v.maxHeapGrowth);
        for (const [m, n] of Object.entries(v.byMutation)) t.byMutation[m] = (t.byMutation[m] ?? 0) + n;
      }
      for (const [kind, hits] of Object.entries(s.knownHits)) {
        for (const [id, n] of Object.entries(hits)) (known[kind] ??= {})[id] = (known[kind]![id] ?? 0) + n;
      }
    }, 120_000);
  }

  it('refused most mutants and loaded some (the fuzzer reaches both outcomes)', () => {
    for (const k of ['idx', 'idx.gz', 'model', 'optimizer']) {
      expect(totals[k]!.refused).toBeGreaterThan(totals[k]!.cases / 2);
      expect(totals[k]!.loaded).toBeGreaterThan(0);
    }
    expect(totals['idx.gz']!.byMutation['gzip bomb']).toBeGreaterThan(0);
    const what: Record<string, string> = { idx: 'IDX files (readIdx)', 'idx.gz': 'gzipped IDX files (readIdx, maxBytes 256 KiB)', model: 'model state files (nn.load + loadStateDict)', optimizer: 'optimizer state files (optim.load + loadStateDict)' };
    for (const [k, t] of Object.entries(totals)) {
      const muts = Object.entries(t.byMutation).map(([m, n]) => `${m} ${n}`).join(', ');
      const allowed = k === 'idx.gz' ? 'file size + twice the decompressed size' : 'file size';
      record('untrusted-files', {
        attack: `${what[k]}: mutated valid files (${muts})`,
        cases: t.cases,
        outcome: `${t.refused} refused with ${k.startsWith('idx') ? 'a DataError' : 'a StateFileError/StateDictError/OptimizerStateError'} naming the file, ${t.loaded} loaded consistently; slowest ${t.maxMs.toFixed(0)} ms, ArrayBuffer growth at most ${allowed} + ${t.maxGrowth} bytes, JS heap growth at most ${(t.maxHeapGrowth / 2 ** 20).toFixed(1)} MiB (bound: 128 × file size + 4 MiB)`,
        known: known[k] ?? {},
      });
    }
  });
});

describe('hostile files, by hand', () => {
  it('a gzip bomb stops at maxBytes with a DataError naming the file, without inflating it all', () => {
    const dims = [4096, 4096]; // 16 MiB of zeros, about 16 KiB gzipped
    const raw = Buffer.alloc(4 + 4 * dims.length + dims[0]! * dims[1]!);
    raw[2] = 0x08; raw[3] = 2;
    dims.forEach((d, i) => raw.writeUInt32BE(d, 4 + 4 * i));
    const file = path.join(tmp, 'bomb-idx3-ubyte.gz');
    fs.writeFileSync(file, zlib.gzipSync(raw, { level: 9 }));
    const before = process.memoryUsage().arrayBuffers;
    expect(() => readIdx(file, { maxBytes: 1 << 20 })).toThrow(DataError);
    expect(() => readIdx(file, { maxBytes: 1 << 20 })).toThrow(/^bomb-idx3-ubyte\.gz: decompressed data exceeds the limit of 1048576 bytes/);
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(4 << 20);
    fs.writeFileSync(file, Buffer.from('\x1f\x8bnot really gzip'));
    expect(() => readIdx(file)).toThrow(/^bomb-idx3-ubyte\.gz: gunzip failed/);
    record('untrusted-files', { attack: 'IDX .gz: a 16 MiB gzip bomb read with maxBytes 1 MiB; a corrupt gzip stream', cases: 2, outcome: 'DataError naming the file and the limit / "gunzip failed"; less than 4 MiB allocated' });
  });

  it('names from the file land as own keys of a null-prototype record; nothing reaches Object.prototype', () => {
    const sd: Record<string, Tensor> = Object.create(null) as Record<string, Tensor>;
    for (const name of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) sd[name] = new Tensor(Float32Array.from([1, 2]), [2]);
    const file = path.join(tmp, 'proto.lernen');
    nn.save(sd, file, JSON.parse('{"__proto__": {"polluted": 1}, "constructor": {"prototype": {"polluted": 1}}}') as Record<string, unknown>);
    const st = nn.load(file);
    expect(Object.getPrototypeOf(st.stateDict)).toBeNull();
    expect(Object.keys(st.stateDict).sort()).toEqual(['__proto__', 'constructor', 'hasOwnProperty', 'toString']);
    expect([...st.stateDict.__proto__!.data]).toEqual([1, 2]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(st.meta)).toBe(Object.prototype);
    // A model refuses such keys as unexpected, with an error, and is left unchanged.
    const m = new nn.Linear(2, 1);
    const w = [...m.weight.data];
    expect(() => m.loadStateDict(st)).toThrow(nn.StateDictError);
    expect([...m.weight.data]).toEqual(w);
    record('untrusted-files', { attack: 'state file with tensor names __proto__/constructor/toString and a prototype-pollution meta', cases: 1, outcome: 'own keys of a null-prototype record; Object.prototype untouched; loadStateDict refuses them and changes nothing' });
  });

  it('a directory or a device given as an IDX or state file fails with an error naming it', () => {
    const d = fs.mkdtempSync(path.join(tmp, 'dir-'));
    expect(() => nn.load(d)).toThrow(/not a regular file \(a directory\)/);
    expect(() => readIdx(d)).toThrow(DataError);
    expect(() => readIdx(d)).toThrow(/is not a regular file \(a directory\)/);
    expect(() => nn.load('/dev/zero')).toThrow(/\/dev\/zero: not a regular file \(a device\)/);
    expect(() => readIdx('/dev/zero')).toThrow(/not a regular file \(a device\)/);
    record('untrusted-files', { attack: 'a directory or /dev/zero passed to readIdx / nn.load', cases: 4, outcome: 'StateFileError / DataError naming it (not a regular file)' });
  });

  // Both loaders stat the path first and refuse anything but a regular file.
  it('a FIFO given as a state or IDX file fails fast instead of blocking forever', async () => {
    const fifo = path.join(tmp, 'fifo.lernen');
    const mk = await new Promise<number | null>((res) => spawn('mkfifo', [fifo]).on('close', res));
    expect(mk).toBe(0);
    const script = path.join(tmp, 'open-fifo.ts');
    fs.writeFileSync(script, `import * as nn from ${JSON.stringify(path.join(ROOT, 'src/nn'))};\nimport { readIdx } from ${JSON.stringify(path.join(ROOT, 'src/data/idx'))};\n`
      + `for (const f of [() => nn.load(process.argv[2]!), () => readIdx(process.argv[2]!)]) { try { f(); } catch (e) { console.log((e as Error).message); } }\n`);
    const r = await runChild([script, fifo], 3000);
    record('untrusted-files', { attack: 'a FIFO passed to nn.load / readIdx', cases: 2, outcome: r.timedOut ? 'blocks forever in open(2) (killed after 3 s)' : 'fails fast', known: r.timedOut ? { 'fifo-blocks': 1 } : {} });
    expect(r.timedOut).toBe(false);
  }, 20_000);

  it('a state file that parses but does not fit: loadStateDict\'s error names the file', () => {
    const f = path.join(tmp, 'other-model.lernen');
    nn.save(new nn.Linear(3, 2), f);
    expect(() => new nn.Linear(4, 2).loadStateDict(nn.load(f))).toThrow(nn.StateDictError);
    expect(() => new nn.Linear(4, 2).loadStateDict(nn.load(f))).toThrow(/^\/.*other-model\.lernen: loadStateDict: error\(s\) in loading the state dict for Linear \(model unchanged\):\n {2}size mismatch for "weight"/);
    const o = new optim.SGD(new nn.Linear(3, 2).parameters(), { lr: 0.1 });
    const g = path.join(tmp, 'other-opt.lernen');
    optim.save(o, g);
    expect(() => new optim.SGD([...new nn.Linear(3, 2).parameters(), new Tensor(new Float32Array(1), [1], true)], { lr: 0.1 }).loadStateDict(optim.load(g)))
      .toThrow(/^\/.*other-opt\.lernen: SGD\.loadStateDict: loaded state dict contains a parameter group that doesn't match/);
    record('untrusted-files', { attack: 'valid model / optimizer state files loaded into a model or optimizer they do not fit', cases: 2, outcome: 'StateDictError / OptimizerStateError naming the file and the mismatch; nothing changed' });
  });

  it('writeIdx and nn.save round-trip what the fuzzer starts from', () => {
    const f = path.join(tmp, 'ok-idx1-ubyte');
    writeIdx(f, { dtype: 'int16', dims: [3], data: [1, -2, 300] });
    expect([...readIdx(f).data]).toEqual([1, -2, 300]);
  });
});
