import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadMnist, writeIdx } from '../../src/data';
import { load } from '../../src/nn/serialize';
import '../helpers/backends';

// `lernen train` and `lernen eval` end to end on a small IDX data set cut from MNIST
// (1,200 training and 300 test images), run as the CLI from dist/ (npm test builds it).
const root = path.resolve(__dirname, '../..');
const cli = path.join(root, 'bin/lernen.js');
let dataDir: string;
let outDir: string;

function lernen(args: string[]) {
  const r = spawnSync(process.execPath, [cli, ...args], { cwd: root, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

beforeAll(() => {
  if (!fs.existsSync(path.join(root, 'dist/cjs/cli/index.js'))) throw new Error('dist/ is missing: run npm run build:ts (npm test does)');
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lernen-cli-'));
  dataDir = path.join(tmp, 'data');
  outDir = path.join(tmp, 'out');
  fs.mkdirSync(dataDir);
  const m = loadMnist();
  const cut = (ds: typeof m.train, n: number, prefix: string) => {
    writeIdx(path.join(dataDir, `${prefix}-images-idx3-ubyte`), { dtype: 'uint8', dims: [n, 28, 28], data: ds.images.subarray(0, n * 784) });
    writeIdx(path.join(dataDir, `${prefix}-labels-idx1-ubyte`), { dtype: 'uint8', dims: [n], data: Uint8Array.from(ds.labels.subarray(0, n)) });
  };
  cut(m.train, 1200, 'train');
  cut(m.test, 300, 't10k');
});

describe('lernen train / eval', () => {
  it('trains, writes history.json/csv, curves.svg, report.html and model.lernen, prints test accuracy and diagnosis', () => {
    const r = lernen(['train', '--model', 'mlp', '--epochs', '2', '--batch-size', '64', '--val-size', '200', '--data', dataDir, '--out', outDir, '--seed', '3']);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/^lernen train: mlp on 1000 images \(200 validation, 300 test\), 2 epochs/m);
    expect(r.out).toMatch(/^test accuracy \d+\.\d\d% \(loss \d+\.\d+\) after 2 epoch\(s\)/m);
    expect(r.out).toMatch(/^diagnosis: (overfitting|underfitting|good fit|diverged) — /m);
    const h = JSON.parse(fs.readFileSync(path.join(outDir, 'history.json'), 'utf8'));
    expect(h.config).toMatchObject({ model: 'mlp', epochs: 2, batchSize: 64, seed: 3, backend: 'native' });
    expect(h.epochs).toHaveLength(2);
    for (const e of h.epochs) {
      expect(Object.keys(e).sort()).toEqual(['epoch', 'lr', 'seconds', 'trainAccuracy', 'trainLoss', 'valAccuracy', 'valLoss']);
      expect(e.valAccuracy).toBeGreaterThan(0.5);
    }
    expect(h.test.accuracy).toBeGreaterThan(0.6);
    expect(typeof h.diagnosis.verdict).toBe('string');
    expect(fs.readFileSync(path.join(outDir, 'history.csv'), 'utf8').trim().split('\n')).toHaveLength(3);
    expect(fs.readFileSync(path.join(outDir, 'curves.svg'), 'utf8')).toMatch(/<path class="series" data-name="validation accuracy"/);
    expect(fs.readFileSync(path.join(outDir, 'report.html'), 'utf8')).toMatch(/Diagnosis: /);
    const state = load(path.join(outDir, 'model.lernen'));
    expect(state.meta.preset).toBe('mlp');
    expect(Object.keys(state.stateDict)).toEqual(expect.arrayContaining(['1.weight', '1.bias', '7.weight']));
    expect(fs.existsSync(path.join(outDir, 'checkpoints', 'best.lernen'))).toBe(true);
    expect(fs.existsSync(path.join(outDir, 'checkpoints', 'last.lernen'))).toBe(true);
    expect(fs.readdirSync(outDir).filter((f) => f.endsWith('.tmp'))).toEqual([]);

    const e = lernen(['eval', '--model', path.join(outDir, 'model.lernen'), '--data', dataDir, '--json']);
    expect(e.code, e.err).toBe(0);
    const ev = JSON.parse(e.out);
    expect(ev.samples).toBe(300);
    expect(ev.accuracy).toBeCloseTo(h.test.accuracy, 6);
    expect(ev.confusion).toHaveLength(10);
    expect(ev.confusion.flat().reduce((a: number, b: number) => a + b, 0)).toBe(300);
    const t = lernen(['eval', '--model', path.join(outDir, 'model.lernen'), '--data', dataDir]);
    expect(t.out).toMatch(/^confusion matrix \(rows: true class, columns: predicted\)$/m);
  });

  it('trains the cnn preset with augmentation and a time budget', () => {
    const out = path.join(outDir, 'cnn');
    const r = lernen(['train', '--model', 'cnn', '--epochs', '3', '--batch-size', '50', '--val-size', '100', '--data', dataDir, '--out', out,
      '--augment', 'rotate=10,scale=0.1,noise=0.05', '--time-budget', '4s']);
    expect(r.code, r.err).toBe(0);
    const h = JSON.parse(fs.readFileSync(path.join(out, 'history.json'), 'utf8'));
    expect(h.config.augment).toMatchObject({ rotate: 10, scale: 0.1, noise: 0.05 });
    expect(h.epochs.length).toBeGreaterThanOrEqual(1);
  });

  it('refuses bad arguments before training, with one line and a non-zero exit', () => {
    const cases: Array<[string[], RegExp]> = [
      [['train', '--bogus', '1'], /^lernen: train: unknown flag --bogus$/],
      [['train', '--epochs', 'x'], /^lernen: train: --epochs expects a number, got 'x'$/],
      [['train', '--model', 'vgg'], /^lernen: train: --model must be one of mlp, cnn, resnet, got 'vgg'$/],
      [['train', '--data', '/nonexistent/dir'], /^lernen: train: --data \/nonexistent\/dir: no such directory$/],
      [['train', '--data', dataDir, '--out', path.join(dataDir, 'train-labels-idx1-ubyte', 'sub')], /^lernen: train: --out .*train-labels-idx1-ubyte\/sub: not writable \(ENOTDIR\)$/],
      [['eval'], /^lernen: eval: --model FILE is required$/],
    ];
    for (const [args, msg] of cases) {
      const r = lernen(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err.trim().split('\n'), args.join(' ')).toHaveLength(1);
      expect(r.err.trim(), args.join(' ')).toMatch(msg);
    }
  });
});
