import type { History } from './history';

export type Verdict = 'overfitting' | 'underfitting' | 'diverged' | 'good fit' | 'too short';

export interface Diagnosis {
  verdict: Verdict;
  /** One or two sentences with the numbers behind the verdict. */
  message: string;
  /** The figures the verdict rests on. */
  evidence: Record<string, number>;
}

export interface DiagnoseOptions {
  /** Train−validation accuracy gap (fraction) above which a growing gap means overfitting. */
  gap?: number;
  /** Training accuracy below which the model underfits. */
  minTrainAccuracy?: number;
}

const pct = (v: number) => `${(100 * v).toFixed(2)}%`;

/**
 * Reads the learning curves: diverged (non-finite or exploding loss), overfitting (validation
 * loss rising for 2+ epochs since its minimum while training loss falls, or a train−val accuracy
 * gap above `gap` that keeps growing), underfitting (training accuracy below
 * `minTrainAccuracy`), else a good fit.
 */
export function diagnose(history: History, opts: DiagnoseOptions = {}): Diagnosis {
  const gapLimit = opts.gap ?? 0.02;
  const minTrain = opts.minTrainAccuracy ?? 0.9;
  const E = history.epochs;
  if (!E.length) return { verdict: 'too short', message: 'no epoch finished: nothing to diagnose', evidence: {} };
  const bad = E.find((e) => !Number.isFinite(e.trainLoss));
  if (bad) {
    return { verdict: 'diverged', message: `training loss became ${bad.trainLoss} at epoch ${bad.epoch} (lr ${bad.lr}): lower the learning rate`, evidence: { epoch: bad.epoch, lr: bad.lr } };
  }
  const first = E[0]!;
  const last = E[E.length - 1]!;
  if (E.length >= 2 && last.trainLoss > 2 * first.trainLoss && last.trainLoss > 1) {
    return {
      verdict: 'diverged',
      message: `training loss grew from ${first.trainLoss.toFixed(4)} (epoch ${first.epoch}) to ${last.trainLoss.toFixed(4)} (epoch ${last.epoch}) at lr ${last.lr}: lower the learning rate`,
      evidence: { firstTrainLoss: first.trainLoss, lastTrainLoss: last.trainLoss, lr: last.lr },
    };
  }
  const hasVal = E.some((e) => Number.isFinite(e.valLoss));
  if (hasVal && E.length >= 3) {
    let k = 0;
    E.forEach((e, i) => { if (e.valLoss < E[k]!.valLoss) k = i; });
    const sinceMin = E.length - 1 - k;
    const trainFalling = last.trainLoss < E[k]!.trainLoss;
    if (sinceMin >= 2 && trainFalling && last.valLoss > E[k]!.valLoss) {
      return {
        verdict: 'overfitting',
        message: `validation loss has risen since epoch ${E[k]!.epoch} (${E[k]!.valLoss.toFixed(4)} → ${last.valLoss.toFixed(4)}) while training loss kept falling (${E[k]!.trainLoss.toFixed(4)} → ${last.trainLoss.toFixed(4)}): add regularisation (dropout, L2, augmentation) or stop at epoch ${E[k]!.epoch}`,
        evidence: { bestEpoch: E[k]!.epoch, bestValLoss: E[k]!.valLoss, lastValLoss: last.valLoss, lastTrainLoss: last.trainLoss },
      };
    }
  }
  if (hasVal && Number.isFinite(last.valAccuracy) && Number.isFinite(last.trainAccuracy)) {
    const gaps = E.map((e) => e.trainAccuracy - e.valAccuracy);
    const gapNow = gaps[gaps.length - 1]!;
    const growing = gaps.length >= 3 && gapNow > gaps[Math.max(0, gaps.length - 3)]!;
    if (gapNow > gapLimit && growing) {
      return {
        verdict: 'overfitting',
        message: `training accuracy ${pct(last.trainAccuracy)} vs validation ${pct(last.valAccuracy)}: the gap of ${pct(gapNow)} exceeds ${pct(gapLimit)} and is growing`,
        evidence: { trainAccuracy: last.trainAccuracy, valAccuracy: last.valAccuracy, gap: gapNow },
      };
    }
  }
  if (Number.isFinite(last.trainAccuracy) && last.trainAccuracy < minTrain) {
    return {
      verdict: 'underfitting',
      message: `training accuracy is only ${pct(last.trainAccuracy)} after ${E.length} epoch(s) (below ${pct(minTrain)}): train longer, raise the learning rate or use a bigger model`,
      evidence: { trainAccuracy: last.trainAccuracy, epochs: E.length },
    };
  }
  const gap = Number.isFinite(last.valAccuracy) ? last.trainAccuracy - last.valAccuracy : NaN;
  return {
    verdict: 'good fit',
    message: Number.isFinite(gap)
      ? `training accuracy ${pct(last.trainAccuracy)}, validation ${pct(last.valAccuracy)} (gap ${pct(gap)}); validation loss ${last.valLoss.toFixed(4)} is not rising`
      : `training loss ${last.trainLoss.toFixed(4)}, accuracy ${pct(last.trainAccuracy)}`,
    evidence: { trainAccuracy: last.trainAccuracy, valAccuracy: last.valAccuracy, gap },
  };
}
