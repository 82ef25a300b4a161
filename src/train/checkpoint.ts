import * as path from 'node:path';
import { makeDirs } from '../files';
import { save } from '../nn/serialize';
import type { Module } from '../nn/module';
import type { Callback, FitContext } from './fit';
import type { EpochRecord } from './history';

export interface CheckpointOptions {
  /** Folder for `last.lernen` and `best.lernen` (created if missing). */
  dir: string;
  /** Metric that defines "best" (default valAccuracy; valLoss/trainLoss: lower is better). */
  monitor?: 'valLoss' | 'valAccuracy' | 'trainLoss' | 'trainAccuracy';
  /** Extra metadata stored in each file (e.g. the model preset and config). */
  meta?: Record<string, unknown>;
}

/**
 * Saves the model after every epoch to `<dir>/last.lernen` and, when the monitored metric
 * improves, to `<dir>/best.lernen`. Writes are atomic (temp file + rename), and a state with a
 * NaN or infinite value is refused, so a diverging run never overwrites a good checkpoint.
 */
export function checkpoint(opts: CheckpointOptions): Callback & { best: number; files: { last: string; best: string } } {
  const monitor = opts.monitor ?? 'valAccuracy';
  const higher = monitor.endsWith('Accuracy');
  const files = { last: path.join(opts.dir, 'last.lernen'), best: path.join(opts.dir, 'best.lernen') };
  const cb = {
    best: higher ? -Infinity : Infinity,
    files,
    onTrainBegin() { makeDirs(opts.dir); },
    onEpochEnd(r: EpochRecord, ctx: FitContext) {
      const model = ctx.model as unknown as Module;
      const meta = { ...opts.meta, epoch: r.epoch, metrics: { ...r } };
      save(model, files.last, meta);
      const v = r[monitor];
      if (Number.isFinite(v) && (higher ? v > cb.best : v < cb.best)) {
        cb.best = v;
        save(model, files.best, meta);
      }
    },
  };
  return cb;
}
