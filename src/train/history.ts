/** One row of the learning curve. Accuracies are fractions in [0, 1]; NaN where not measured. */
export interface EpochRecord {
  epoch: number;
  trainLoss: number;
  trainAccuracy: number;
  valLoss: number;
  valAccuracy: number;
  lr: number;
  seconds: number;
}

export type StopReason = 'completed' | 'aborted' | 'time budget' | 'early stopping' | 'callback';

/** Per-epoch learning curves of a run (and optionally the loss of every step). */
export class History {
  readonly epochs: EpochRecord[] = [];
  /** Loss of each training step, when recorded (fit's `recordSteps`). */
  readonly steps: number[] = [];
  stopReason: StopReason = 'completed';
  /** Total wall-clock seconds of fit(). */
  seconds = 0;

  get last(): EpochRecord | undefined {
    return this.epochs[this.epochs.length - 1];
  }

  /** The epoch with the best validation accuracy (or lowest validation loss when no accuracy). */
  best(): EpochRecord | undefined {
    let best: EpochRecord | undefined;
    for (const e of this.epochs) {
      if (!best) { best = e; continue; }
      if (Number.isFinite(e.valAccuracy) ? e.valAccuracy > best.valAccuracy : e.valLoss < best.valLoss) best = e;
    }
    return best;
  }

  toJSON(): { epochs: EpochRecord[]; steps?: number[]; stopReason: StopReason; seconds: number } {
    return {
      epochs: this.epochs.map((e) => ({ ...e })),
      ...(this.steps.length ? { steps: [...this.steps] } : {}),
      stopReason: this.stopReason,
      seconds: this.seconds,
    };
  }

  /** CSV with a header line; NaN written as an empty field. */
  toCSV(): string {
    const cols: Array<keyof EpochRecord> = ['epoch', 'trainLoss', 'trainAccuracy', 'valLoss', 'valAccuracy', 'lr', 'seconds'];
    const fmt = (v: number) => (Number.isFinite(v) ? String(v) : '');
    return [cols.join(','), ...this.epochs.map((e) => cols.map((c) => fmt(e[c])).join(','))].join('\n') + '\n';
  }

  static fromJSON(j: { epochs: EpochRecord[]; steps?: number[]; stopReason?: StopReason; seconds?: number }): History {
    const h = new History();
    for (const e of j.epochs) {
      h.epochs.push({
        epoch: e.epoch,
        trainLoss: num(e.trainLoss), trainAccuracy: num(e.trainAccuracy),
        valLoss: num(e.valLoss), valAccuracy: num(e.valAccuracy),
        lr: num(e.lr), seconds: num(e.seconds),
      });
    }
    if (j.steps) h.steps.push(...j.steps);
    h.stopReason = j.stopReason ?? 'completed';
    h.seconds = j.seconds ?? 0;
    return h;
  }
}

function num(v: unknown): number {
  return typeof v === 'number' ? v : NaN;
}
