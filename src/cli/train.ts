import * as fs from 'node:fs';
import * as path from 'node:path';
import { setBackend, setNumThreads, getBackend, getNumThreads } from '../backend';
import { DataError, DataLoader, loadIdxDataset, loadMnist, parseAugmentSpec, augment, trainValSplit, mnistDir } from '../data';
import type { AugmentOptions, ImageDataset } from '../data';
import * as nn from '../nn';
import { StateFileError, writeFileAtomic } from '../nn/serialize';
import * as optim from '../optim';
import { manualSeed } from '../tensor/random';
import { noGrad } from '../tensor/autograd';
import { progress } from '../train/callbacks';
import { checkpoint } from '../train/checkpoint';
import { diagnose } from '../train/diagnose';
import { evaluate, fit, type LossName, type SchedulerLike } from '../train/fit';
import { htmlReport, learningCurvesSvg } from '../train/plot';
import { PRESETS, RECIPES, buildPreset, type OptimizerName, type PresetName, type ScheduleName } from '../train/presets';
import { UsageError, ensureOutDir, oneOf, parseFlags, pathFlag, type FlagSpec } from './args';

export const TRAIN_FLAGS: FlagSpec = {
  model: 'string', epochs: 'int', 'batch-size': 'int', optimizer: 'string', lr: 'number', momentum: 'number',
  'weight-decay': 'number', l1: 'number', l2: 'number', dropout: 'number', augment: 'string', loss: 'string',
  seed: 'int', data: 'string', backend: 'string', threads: 'int', out: 'string', schedule: 'string',
  'val-size': 'int', 'time-budget': 'string', quiet: 'boolean', 'label-smoothing': 'number',
};

function range(cmd: string, flag: string, v: number, lo: number, hi: number, loOpen = false): number {
  if (!(loOpen ? v > lo : v >= lo) || !(v <= hi)) throw new UsageError(`${cmd}: --${flag} must be in ${loOpen ? '(' : '['}${lo}, ${hi}], got ${v}`);
  return v;
}

/** Parses '90s', '10m', '1h' or plain milliseconds. */
export function parseDuration(cmd: string, flag: string, s: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(s.trim());
  if (!m) throw new UsageError(`${cmd}: --${flag} expects a duration like 90s, 10m or 1h, got '${s}'`);
  const v = Number(m[1]);
  const unit = m[2] ?? 'ms';
  const ms = v * ({ ms: 1, s: 1e3, m: 60e3, h: 3600e3 } as const)[unit as 'ms'];
  if (!(ms > 0)) throw new UsageError(`${cmd}: --${flag} must be positive, got '${s}'`);
  return ms;
}

const IDX_NAMES = ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'];

function checkDataDir(cmd: string, dir: string): void {
  let st: fs.Stats;
  try { st = fs.statSync(dir); } catch { throw new UsageError(`${cmd}: --data ${dir}: no such directory`); }
  if (!st.isDirectory()) throw new UsageError(`${cmd}: --data ${dir}: not a directory`);
  const missing = IDX_NAMES.filter((n) => !fs.existsSync(path.join(dir, n)) && !fs.existsSync(path.join(dir, `${n}.gz`)));
  if (missing.length) throw new UsageError(`${cmd}: --data ${dir}: missing ${missing.join(', ')}`);
  // A FIFO would block the reader forever, a device could feed it without end.
  for (const n of IDX_NAMES) {
    const f = fs.existsSync(path.join(dir, n)) ? path.join(dir, n) : path.join(dir, `${n}.gz`);
    if (!fs.statSync(f).isFile()) throw new UsageError(`${cmd}: --data ${dir}: ${path.basename(f)} is not a regular file`);
  }
}

/**
 * Runs `read`; a data or state file error gets `prefix` (the command and the flag that named the
 * file) in front. It stays a plain error (exit code 1): the flag was well formed, the file is bad.
 */
function fileFlag<T>(prefix: string, read: () => T): T {
  try {
    return read();
  } catch (e) {
    if (e instanceof DataError || e instanceof StateFileError) throw new Error(`${prefix} ${e.message}`, { cause: e });
    throw e;
  }
}

export interface TrainConfig {
  model: PresetName;
  epochs: number;
  batchSize: number;
  optimizer: OptimizerName;
  lr: number;
  momentum: number;
  weightDecay: number;
  l1: number;
  l2: number;
  dropout: number | null;
  augment: AugmentOptions | null;
  loss: LossName;
  labelSmoothing: number;
  schedule: ScheduleName;
  seed: number;
  data: string;
  backend: 'native' | 'js';
  threads: number;
  out: string;
  valSize: number;
  timeBudgetMs: number | null;
  /** No per-epoch progress lines. */
  quiet: boolean;
}

/**
 * Validates every flag before anything trains; returns the full configuration. The --data folder
 * is checked and the --out folder created unless `checkPaths` is false (flags checked for a later
 * run, as `lernen bench --mlp-args` does).
 */
export function parseTrainArgs(argv: readonly string[], opts: { checkPaths?: boolean } = {}): TrainConfig {
  const cmd = 'train';
  const { flags: f, positional } = parseFlags(cmd, argv, TRAIN_FLAGS);
  if (positional.length) throw new UsageError(`${cmd}: unexpected argument '${positional[0]}'`);
  const model = oneOf(cmd, 'model', f.model ?? 'mlp', PRESETS);
  const r = RECIPES[model];
  const epochs = range(cmd, 'epochs', (f.epochs as number) ?? r.epochs, 1, 100000);
  const batchSize = range(cmd, 'batch-size', (f['batch-size'] as number) ?? r.batchSize, 1, 65536);
  const optimizer = oneOf(cmd, 'optimizer', f.optimizer ?? r.optimizer, ['sgd', 'adam', 'adamw', 'rmsprop'] as const);
  const defaultLr = f.optimizer && f.optimizer !== r.optimizer ? ({ sgd: 0.05, adam: 1e-3, adamw: 1e-3, rmsprop: 1e-3 } as const)[optimizer] : r.lr;
  const lr = range(cmd, 'lr', (f.lr as number) ?? defaultLr, 0, 100, true);
  const momentum = range(cmd, 'momentum', (f.momentum as number) ?? (optimizer === 'sgd' ? (f.optimizer ? 0.9 : r.momentum) : 0), 0, 1);
  if (momentum >= 1) throw new UsageError(`${cmd}: --momentum must be below 1, got ${momentum}`);
  const weightDecay = range(cmd, 'weight-decay', (f['weight-decay'] as number) ?? r.weightDecay, 0, 10);
  const l1 = range(cmd, 'l1', (f.l1 as number) ?? 0, 0, 10);
  const l2 = range(cmd, 'l2', (f.l2 as number) ?? 0, 0, 10);
  const dropout = f.dropout === undefined ? null : range(cmd, 'dropout', f.dropout as number, 0, 1);
  if (dropout !== null && dropout >= 1) throw new UsageError(`${cmd}: --dropout must be below 1, got ${dropout}`);
  let aug: AugmentOptions | null = null;
  if (f.augment !== undefined) {
    try { aug = parseAugmentSpec(String(f.augment)); } catch (e) { throw new UsageError(`${cmd}: --augment: ${(e as Error).message}`); }
  }
  const loss = oneOf(cmd, 'loss', f.loss ?? 'cross-entropy', ['cross-entropy', 'mse', 'l1'] as const);
  const labelSmoothing = range(cmd, 'label-smoothing', (f['label-smoothing'] as number) ?? r.labelSmoothing, 0, 1);
  const schedule = oneOf(cmd, 'schedule', f.schedule ?? r.schedule, ['none', 'cosine', 'onecycle', 'step'] as const);
  const seed = (f.seed as number) ?? 1;
  if (!Number.isSafeInteger(seed) || seed < 0) throw new UsageError(`${cmd}: --seed must be a non-negative integer, got ${seed}`);
  const data = f.data === undefined ? mnistDir() : pathFlag(cmd, 'data', f.data);
  if (opts.checkPaths !== false) checkDataDir(cmd, data);
  const backend = oneOf(cmd, 'backend', f.backend ?? 'native', ['native', 'js'] as const);
  const threads = range(cmd, 'threads', (f.threads as number) ?? 2, 1, 1024);
  const out = f.out === undefined ? path.resolve(`runs/${model}`) : pathFlag(cmd, 'out', f.out);
  const valSize = range(cmd, 'val-size', (f['val-size'] as number) ?? 5000, 0, 1e9);
  const timeBudgetMs = f['time-budget'] === undefined ? null : parseDuration(cmd, 'time-budget', String(f['time-budget']));
  if (opts.checkPaths !== false) ensureOutDir(cmd, 'out', out);
  return { model, epochs, batchSize, optimizer, lr, momentum, weightDecay, l1, l2, dropout, augment: aug, loss, labelSmoothing, schedule, seed, data, backend, threads, out, valSize, timeBudgetMs, quiet: f.quiet === true };
}

export function makeOptimizer(name: OptimizerName, params: nn.Module | ReturnType<nn.Module['parameters']>, c: { lr: number; momentum: number; weightDecay: number }): optim.Optimizer<never> {
  const ps = Array.isArray(params) ? params : params.parameters();
  switch (name) {
    case 'sgd': return new optim.SGD(ps, { lr: c.lr, momentum: c.momentum, weightDecay: c.weightDecay }) as never;
    case 'adam': return new optim.Adam(ps, { lr: c.lr, weightDecay: c.weightDecay }) as never;
    case 'adamw': return new optim.AdamW(ps, { lr: c.lr, weightDecay: c.weightDecay || 1e-2 }) as never;
    case 'rmsprop': return new optim.RMSprop(ps, { lr: c.lr, momentum: c.momentum, weightDecay: c.weightDecay }) as never;
    default: throw new UsageError(`unknown optimizer '${String(name)}'`);
  }
}

export function makeScheduler(name: ScheduleName, opt: optim.Optimizer<never>, epochs: number, stepsPerEpoch: number, lr: number): SchedulerLike | null {
  switch (name) {
    case 'none': return null;
    case 'cosine': { const s = new optim.CosineAnnealingLR(opt, { tMax: epochs }); return { step: () => s.step() }; }
    case 'step': { const s = new optim.StepLR(opt, { stepSize: 1, gamma: 0.7 }); return { step: () => s.step() }; }
    case 'onecycle': {
      const s = new optim.OneCycleLR(opt, { maxLr: lr, epochs, stepsPerEpoch });
      let n = 0;
      const total = epochs * stepsPerEpoch;
      return { perBatch: true, step: () => { if (++n < total) s.step(); } };
    }
    default: return null;
  }
}

export interface TrainResult {
  test: { loss: number; accuracy: number };
  diagnosis: ReturnType<typeof diagnose>;
  files: Record<string, string>;
}

/** Runs a whole training job from a validated config and writes its outputs to config.out. */
export async function runTrain(c: TrainConfig, io: { log: (s: string) => void; quiet?: boolean; signal?: AbortSignal } = { log: (s) => process.stdout.write(`${s}\n`) }): Promise<TrainResult> {
  setBackend(c.backend);
  setNumThreads(c.threads);
  manualSeed(c.seed);
  const t0 = performance.now();
  const all = fileFlag(`train: --data ${c.data}:`, () => (c.data === mnistDir() ? loadMnist() : loadIdxDataset(c.data)));
  if (c.valSize >= all.train.length) throw new UsageError(`train: --val-size ${c.valSize} leaves no training images (the training set has ${all.train.length})`);
  const split = c.valSize > 0 ? trainValSplit(all.train, { valSize: c.valSize, seed: c.seed }) : { train: all.train, val: null as ImageDataset | null };
  const model = buildPreset(c.model, { ...(c.dropout === null ? {} : { dropout: c.dropout }), classes: Math.max(all.train.numClasses, 2), channels: all.train.channels, height: all.train.height, width: all.train.width });
  const normalize = RECIPES[c.model].normalize ? 'mnist' as const : false as const;
  const train = new DataLoader(split.train, { batchSize: c.batchSize, shuffle: true, seed: c.seed, normalize, transform: c.augment ? augment(c.augment) : null });
  const val = split.val ? new DataLoader(split.val, { batchSize: 1000, normalize }) : null;
  const test = new DataLoader(all.test, { batchSize: 1000, normalize });
  const optimizer = makeOptimizer(c.optimizer, model, c);
  const scheduler = makeScheduler(c.schedule, optimizer, c.epochs, train.length, c.lr);
  const lossName = c.loss;
  const loss = lossName === 'cross-entropy' && c.labelSmoothing > 0
    ? (o: import('../tensor').Tensor, y: Int32Array) => nn.functional.crossEntropy(o, y, { labelSmoothing: c.labelSmoothing })
    : lossName;
  const { quiet: _quiet, ...recorded } = c;
  const config = { ...recorded, backend: getBackend(), threads: getNumThreads() };
  const meta = { preset: c.model, presetOptions: { dropout: c.dropout, classes: Math.max(all.train.numClasses, 2), channels: all.train.channels, height: all.train.height, width: all.train.width }, normalize, config };
  io.log(`lernen train: ${c.model} on ${split.train.length} images (${split.val?.length ?? 0} validation, ${all.test.length} test), ${c.epochs} epochs, ${c.optimizer} lr ${c.lr}, batch ${c.batchSize}${c.labelSmoothing > 0 && c.loss === 'cross-entropy' ? `, label smoothing ${c.labelSmoothing}` : ''}, backend ${getBackend()} with ${getNumThreads()} thread(s)`);
  const ckpt = checkpoint({ dir: path.join(c.out, 'checkpoints'), monitor: val ? 'valAccuracy' : 'trainAccuracy', meta });
  const history = await fit(model, {
    train, val, optimizer, scheduler, loss, l1: c.l1, l2: c.l2, epochs: c.epochs,
    ...(c.timeBudgetMs ? { timeBudgetMs: c.timeBudgetMs } : {}),
    ...(io.signal ? { signal: io.signal } : {}),
    callbacks: [...(io.quiet ? [] : [progress({ epochs: c.epochs })]), ckpt],
  });
  const testRes = evaluate(model, test, lossName === 'cross-entropy' ? 'cross-entropy' : lossName);
  const diagnosis = diagnose(history);
  const files = {
    json: path.join(c.out, 'history.json'),
    csv: path.join(c.out, 'history.csv'),
    svg: path.join(c.out, 'curves.svg'),
    html: path.join(c.out, 'report.html'),
    model: path.join(c.out, 'model.lernen'),
  };
  const enc = (s: string) => new TextEncoder().encode(s);
  const hj = history.toJSON();
  writeFileAtomic(files.json, enc(`${JSON.stringify({ config, epochs: hj.epochs, ...(hj.steps ? { steps: hj.steps } : {}), stopReason: hj.stopReason, seconds: hj.seconds, test: { loss: testRes.loss, accuracy: testRes.accuracy }, diagnosis }, null, 2)}\n`));
  writeFileAtomic(files.csv, enc(history.toCSV()));
  writeFileAtomic(files.svg, enc(learningCurvesSvg(history, `${c.model} on MNIST`)));
  writeFileAtomic(files.html, enc(htmlReport({ title: `lernen: ${c.model}`, history, config, diagnosis, test: testRes })));
  noGrad(() => nn.save(model, files.model, { ...meta, test: testRes }));
  io.log(`test accuracy ${(100 * testRes.accuracy).toFixed(2)}% (loss ${testRes.loss.toFixed(4)}) after ${history.epochs.length} epoch(s), ${((performance.now() - t0) / 1000).toFixed(1)} s in all${history.stopReason !== 'completed' ? ` (stopped: ${history.stopReason})` : ''}`);
  io.log(`diagnosis: ${diagnosis.verdict} — ${diagnosis.message}`);
  io.log(`wrote ${Object.values(files).map((f) => path.relative(process.cwd(), f) || f).join(', ')}`);
  return { test: testRes, diagnosis, files };
}

export async function trainCommand(argv: readonly string[]): Promise<number> {
  const c = parseTrainArgs(argv);
  const ac = new AbortController();
  const onSig = () => { process.stderr.write('\nlernen: interrupted, finishing the current batch and saving...\n'); ac.abort(); };
  process.once('SIGINT', onSig);
  try {
    await runTrain(c, { log: (s) => process.stdout.write(`${s}\n`), quiet: c.quiet, signal: ac.signal });
  } finally {
    process.off('SIGINT', onSig);
  }
  return 0;
}

export const EVAL_FLAGS: FlagSpec = { model: 'string', data: 'string', backend: 'string', threads: 'int', json: 'boolean' };

/** `lernen eval --model FILE [--data DIR]`: test accuracy and a confusion matrix. */
export async function evalCommand(argv: readonly string[]): Promise<number> {
  const cmd = 'eval';
  const { flags: f, positional } = parseFlags(cmd, argv, EVAL_FLAGS);
  if (positional.length) throw new UsageError(`${cmd}: unexpected argument '${positional[0]}'`);
  if (!f.model) throw new UsageError(`${cmd}: --model FILE is required`);
  const file = pathFlag(cmd, 'model', f.model);
  if (!fs.existsSync(file)) throw new UsageError(`${cmd}: --model ${f.model}: no such file`);
  if (!fs.statSync(file).isFile()) throw new UsageError(`${cmd}: --model ${f.model}: not a regular file`);
  const data = f.data === undefined ? mnistDir() : pathFlag(cmd, 'data', f.data);
  checkDataDir(cmd, data);
  setBackend(oneOf(cmd, 'backend', f.backend ?? 'native', ['native', 'js'] as const));
  if (f.threads !== undefined) setNumThreads(range(cmd, 'threads', f.threads as number, 1, 1024));
  const state = fileFlag(`${cmd}: --model`, () => nn.load(file));
  const preset = state.meta.preset;
  if (typeof preset !== 'string' || !PRESETS.includes(preset as PresetName)) {
    throw new UsageError(`${cmd}: --model ${f.model} does not record which preset network it holds (meta.preset)`);
  }
  const po = (state.meta.presetOptions ?? {}) as Record<string, number | null>;
  const model = buildPreset(preset as PresetName, Object.fromEntries(Object.entries(po).filter(([, v]) => typeof v === 'number')));
  try {
    model.loadStateDict(state.stateDict);
  } catch (e) {
    throw new UsageError(`${cmd}: --model ${f.model} does not hold a ${preset} network: ${(e as Error).message.replace(/\s*\n\s*/g, '; ')}`);
  }
  const testSet = fileFlag(`${cmd}: --data ${data}:`, () => (data === mnistDir() ? loadMnist({ split: 'test' }) : loadIdxDataset(data).test));
  const normalize = state.meta.normalize === 'mnist' ? 'mnist' as const : false as const;
  const loader = new DataLoader(testSet, { batchSize: 1000, normalize });
  const k = testSet.numClasses;
  const confusion = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  model.eval();
  let right = 0;
  noGrad(() => {
    for (const { x, y } of loader.transientBatches()) {
      const pred = model.call(x).argmax(1).data;
      for (let i = 0; i < y.length; i++) {
        confusion[y[i]!]![pred[i]!]!++;
        if (pred[i] === y[i]) right++;
      }
    }
  });
  const accuracy = right / testSet.length;
  if (f.json) {
    process.stdout.write(`${JSON.stringify({ accuracy, samples: testSet.length, confusion }, null, 2)}\n`);
    return 0;
  }
  process.stdout.write(`test accuracy ${(100 * accuracy).toFixed(2)}% on ${testSet.length} images\n`);
  process.stdout.write('confusion matrix (rows: true class, columns: predicted)\n');
  process.stdout.write(`      ${Array.from({ length: k }, (_, j) => String(j).padStart(5)).join('')}\n`);
  confusion.forEach((row, i) => process.stdout.write(`${String(i).padStart(5)} ${row.map((v) => String(v).padStart(5)).join('')}\n`));
  return 0;
}
