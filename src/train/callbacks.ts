import type { Tensor } from '../tensor/tensor';
import type { BatchEndInfo, Callback, FitContext } from './fit';
import type { EpochRecord } from './history';

function fmtTime(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '?';
  if (s < 60) return `${s.toFixed(0)}s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m}m${String(Math.round(s % 60)).padStart(2, '0')}s` : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

const pct = (v: number) => (Number.isFinite(v) ? `${(100 * v).toFixed(2)}%` : '–');

export interface ProgressOptions {
  /** Where to write (default process.stderr). */
  stream?: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  /** Force the bar on/off (default: a bar on a TTY, one line per epoch otherwise). */
  bar?: boolean;
  /** Total epochs, for the "epoch 3/10" label. */
  epochs?: number;
}

/**
 * Progress: on a TTY a live bar (epoch, batch, loss, samples/s, ETA), redrawn at most 10 times a
 * second; otherwise one plain line per epoch.
 */
export function progress(opts: ProgressOptions = {}): Callback {
  const stream = opts.stream ?? process.stderr;
  const bar = opts.bar ?? !!(stream as { isTTY?: boolean }).isTTY;
  let last = 0;
  let total: number | undefined;
  return {
    onEpochBegin(_epoch: number) { last = 0; },
    onBatchEnd(info: BatchEndInfo) {
      if (!bar) return;
      const now = performance.now();
      if (now - last < 100 && info.batch !== info.batches) return;
      last = now;
      total = info.batches;
      const frac = total ? info.batch / total : 0;
      const width = 24;
      const filled = Math.round(frac * width);
      const eta = total ? ((total - info.batch) * info.elapsedEpochMs) / info.batch / 1000 : NaN;
      const ep = opts.epochs ? `${info.epoch}/${opts.epochs}` : String(info.epoch);
      const line = `epoch ${ep} [${'='.repeat(filled)}${' '.repeat(width - filled)}] ${info.batch}/${total ?? '?'} loss ${info.loss.toFixed(4)} ${Math.round(info.rate)} samples/s ETA ${fmtTime(eta)}`;
      stream.write(`\r${line}\x1b[K`);
    },
    onEpochEnd(r: EpochRecord) {
      const ep = opts.epochs ? `${r.epoch}/${opts.epochs}` : String(r.epoch);
      const line = `epoch ${ep}  train loss ${r.trainLoss.toFixed(4)} acc ${pct(r.trainAccuracy)}  val loss ${Number.isFinite(r.valLoss) ? r.valLoss.toFixed(4) : '–'} acc ${pct(r.valAccuracy)}  lr ${r.lr.toPrecision(3)}  ${r.seconds.toFixed(1)}s`;
      stream.write(bar ? `\r${line}\x1b[K\n` : `${line}\n`);
    },
  };
}

export interface EarlyStoppingOptions {
  /** 'valLoss' (default, lower is better) or 'valAccuracy' (higher is better), or a train metric. */
  monitor?: 'valLoss' | 'valAccuracy' | 'trainLoss' | 'trainAccuracy';
  /** Epochs without improvement before stopping (default 3). */
  patience?: number;
  /** Minimum change that counts as improvement (default 0). */
  minDelta?: number;
  /** Put the best epoch's weights back when stopping (default true). */
  restoreBestWeights?: boolean;
}

interface StatefulModel {
  stateDict(): Record<string, Tensor>;
}

/**
 * Stops when the monitored metric has not improved by more than `minDelta` for `patience`
 * epochs; optionally restores the best weights (copied in memory at the best epoch).
 */
export function earlyStopping(opts: EarlyStoppingOptions = {}): Callback & { bestEpoch: number | null } {
  const monitor = opts.monitor ?? 'valLoss';
  const patience = opts.patience ?? 3;
  const minDelta = opts.minDelta ?? 0;
  const restore = opts.restoreBestWeights ?? true;
  if (!Number.isInteger(patience) || patience < 0) throw new Error(`earlyStopping: patience must be a non-negative integer, got ${patience}`);
  if (!(minDelta >= 0)) throw new Error(`earlyStopping: minDelta must be ≥ 0, got ${minDelta}`);
  const higher = monitor.endsWith('Accuracy');
  let best = higher ? -Infinity : Infinity;
  let wait = 0;
  let snapshot: Map<string, Float32Array> | null = null;
  const cb = {
    bestEpoch: null as number | null,
    onTrainBegin() { best = higher ? -Infinity : Infinity; wait = 0; snapshot = null; cb.bestEpoch = null; },
    onEpochEnd(r: EpochRecord, ctx: FitContext) {
      const v = r[monitor];
      if (!Number.isFinite(v)) return;
      const improved = higher ? v > best + minDelta : v < best - minDelta;
      if (improved) {
        best = v;
        wait = 0;
        cb.bestEpoch = r.epoch;
        const m = ctx.model as unknown as Partial<StatefulModel>;
        if (restore && typeof m.stateDict === 'function') {
          snapshot = new Map(Object.entries(m.stateDict()).map(([k, t]) => [k, t.data.slice()]));
        }
        return;
      }
      wait++;
      if (wait >= patience) ctx.stop = 'early stopping';
    },
    onTrainEnd(ctx: FitContext) {
      if (!restore || !snapshot || ctx.stop !== 'early stopping') return;
      const m = ctx.model as unknown as Partial<StatefulModel>;
      if (typeof m.stateDict !== 'function') return;
      const sd = m.stateDict();
      for (const [k, v] of snapshot) sd[k]?.data.set(v);
    },
  };
  return cb;
}

/** Calls `fn` after each epoch; return 'stop' to end training. */
export function lambdaCallback(fn: (r: EpochRecord, ctx: FitContext) => void | 'stop'): Callback {
  return {
    onEpochEnd(r, ctx) {
      if (fn(r, ctx) === 'stop') ctx.stop = 'callback';
    },
  };
}
