import { describe, expect, it } from 'vitest';
import * as optim from '../../src/optim';
import { T } from '../nn/util';

const sgd = (lr = 1, momentum = 0) => new optim.SGD([T([0], [1], true)], { lr, momentum });

/** lr right after construction, then after each of n step() calls. */
function lrs(opt: { paramGroups: Array<{ lr: number }> }, sched: { step(): void }, n: number): number[] {
  const out = [opt.paramGroups[0]!.lr];
  for (let i = 0; i < n; i++) {
    sched.step();
    out.push(opt.paramGroups[0]!.lr);
  }
  return out;
}

const closeAll = (got: number[], want: number[], digits = 10) => {
  expect(got.length).toBe(want.length);
  got.forEach((v, i) => expect(v, `epoch ${i}`).toBeCloseTo(want[i]!, digits));
};

describe('learning-rate schedulers', () => {
  it('StepLR(stepSize 2, gamma 0.1): base·γ^⌊t/2⌋', () => {
    const opt = sgd(0.5);
    const s = new optim.StepLR(opt, { stepSize: 2, gamma: 0.1 });
    closeAll(lrs(opt, s, 6), [0.5, 0.5, 0.05, 0.05, 0.005, 0.005, 0.0005]);
    expect(s.getLastLr()[0]).toBeCloseTo(0.0005, 12);
    expect(s.lastEpoch).toBe(6);
  });

  it('MultiStepLR and ExponentialLR', () => {
    const o1 = sgd(1);
    closeAll(lrs(o1, new optim.MultiStepLR(o1, { milestones: [5, 2] }), 6), [1, 1, 0.1, 0.1, 0.1, 0.01, 0.01]);
    const o2 = sgd(2);
    closeAll(lrs(o2, new optim.ExponentialLR(o2, { gamma: 0.5 }), 4), [2, 1, 0.5, 0.25, 0.125]);
  });

  it('CosineAnnealingLR: the closed form ηmin + (η0 − ηmin)(1 + cos(πt/T))/2', () => {
    const opt = sgd(0.1);
    const got = lrs(opt, new optim.CosineAnnealingLR(opt, { tMax: 10, etaMin: 0.001 }), 12);
    closeAll(got, got.map((_, t) => 0.001 + ((0.1 - 0.001) * (1 + Math.cos((Math.PI * t) / 10))) / 2));
    expect(got[10]).toBeCloseTo(0.001, 12);
    expect(got[5]).toBeCloseTo((0.1 + 0.001) / 2, 12);
  });

  it('LinearLR (warm-up) with PyTorch defaults 1/3 → 1 over 5 epochs', () => {
    const opt = sgd(0.3);
    closeAll(lrs(opt, new optim.LinearLR(opt), 7), [0, 1, 2, 3, 4, 5, 5, 5].map((t) => 0.3 * (1 / 3 + ((2 / 3) * t) / 5)));
    const o2 = sgd(1);
    closeAll(lrs(o2, new optim.LinearLR(o2, { startFactor: 1, endFactor: 0.5, totalIters: 2 }), 3), [1, 0.75, 0.5, 0.5]);
    expect(() => new optim.LinearLR(sgd(), { startFactor: 0 })).toThrow(/Starting multiplicative factor expected to be greater than 0/);
  });

  it('SequentialLR: linear warm-up then cosine', () => {
    const opt = sgd(1);
    const warm = new optim.LinearLR(opt, { startFactor: 0.1, totalIters: 3 });
    const cos = new optim.CosineAnnealingLR(opt, { tMax: 4 });
    const s = new optim.SequentialLR(opt, { schedulers: [warm, cos], milestones: [3] });
    closeAll(lrs(opt, s, 7), [0.1, 0.4, 0.7, 1, ...[1, 2, 3, 4].map((t) => (1 + Math.cos((Math.PI * t) / 4)) / 2)]);
    expect(() => new optim.SequentialLR(opt, { schedulers: [warm, cos], milestones: [] })).toThrow(/one more than the number of milestone/);
  });

  it('LambdaLR multiplies the base lr per group', () => {
    const opt = new optim.SGD([{ params: [T([0], [1], true)] }, { params: [T([0], [1], true)], lr: 2 }], { lr: 1 });
    const s = new optim.LambdaLR(opt, { lrLambda: [(e) => 0.5 ** e, (e) => 1 / (e + 1)] });
    s.step();
    s.step();
    expect(s.getLastLr()).toEqual([0.25, 2 / 3]);
  });

  it('OneCycleLR endpoints and phases (cos, PyTorch defaults), momentum cycling', () => {
    const opt = sgd(0.123, 0.9);
    const s = new optim.OneCycleLR(opt, { maxLr: 1, totalSteps: 100 });
    const got = lrs(opt, s, 99);
    const initial = 1 / 25;
    const min = initial / 1e4;
    expect(got[0]).toBeCloseTo(initial, 12);
    expect(got[29]).toBeCloseTo(1, 12); // end of phase 1: step pct·total − 1
    expect(got[99]).toBeCloseTo(min, 12); // last step: total − 1
    // Inside phase 1: cosine from initial to max.
    expect(got[10]).toBeCloseTo(1 + ((initial - 1) / 2) * (Math.cos((Math.PI * 10) / 29) + 1), 12);
    // Phase 2: cosine from max to min.
    expect(got[64]).toBeCloseTo(min + ((1 - min) / 2) * (Math.cos((Math.PI * (64 - 29)) / 70) + 1), 12);
    expect(Math.max(...got)).toBeCloseTo(1, 12);
    expect(opt.paramGroups[0]!.momentum).toBeCloseTo(0.95, 12);
    s.step(); // step 100 = totalSteps is still allowed, as PyTorch
    expect(() => s.step()).toThrow('Tried to step 101 times. The specified number of total steps is 100');

    const o2 = sgd(0.1, 0.9);
    const s2 = new optim.OneCycleLR(o2, { maxLr: 1, totalSteps: 100 });
    const moms = [o2.paramGroups[0]!.momentum];
    for (let i = 0; i < 99; i++) { s2.step(); moms.push(o2.paramGroups[0]!.momentum); }
    expect(moms[0]).toBeCloseTo(0.95, 12);
    expect(moms[29]).toBeCloseTo(0.85, 12);
    expect(moms[99]).toBeCloseTo(0.95, 12);

    const adam = new optim.Adam([T([0], [1], true)]);
    new optim.OneCycleLR(adam, { maxLr: 0.01, epochs: 2, stepsPerEpoch: 5 });
    expect(adam.paramGroups[0]!.betas).toEqual([0.95, 0.999]);
  });

  it('OneCycleLR: linear annealing, three phases, no momentum cycling, validation', () => {
    const opt = sgd(0.1);
    const s = new optim.OneCycleLR(opt, { maxLr: 2, totalSteps: 10, annealStrategy: 'linear', pctStart: 0.5, cycleMomentum: false });
    const got = lrs(opt, s, 9);
    closeAll(got.slice(0, 5), [0, 1, 2, 3, 4].map((t) => 0.08 + ((2 - 0.08) * t) / 4));
    expect(got[9]).toBeCloseTo(0.08 / 1e4, 12);
    expect(opt.paramGroups[0]!.momentum).toBe(0);

    const o3 = sgd(0.1, 0.9);
    const three = lrs(o3, new optim.OneCycleLR(o3, { maxLr: 1, totalSteps: 100, threePhase: true }), 99);
    expect(three[29]).toBeCloseTo(1, 12);
    expect(three[58]).toBeCloseTo(0.04, 12);
    expect(three[99]).toBeCloseTo(0.04 / 1e4, 12);

    expect(() => new optim.OneCycleLR(sgd(), { maxLr: 1 })).toThrow('You must define either totalSteps OR (epochs AND stepsPerEpoch)');
    expect(() => new optim.OneCycleLR(sgd(), { maxLr: 1, totalSteps: 10, pctStart: 2 })).toThrow(/Expected float between 0 and 1 pctStart, but got 2/);
    const es = new optim.OnePlusOneES([T([0], [1], true)]);
    expect(() => new optim.OneCycleLR(es, { maxLr: 1, totalSteps: 10 })).toThrow(/must support momentum or beta1/);
  });

  it('ReduceLROnPlateau: patience, factor, cooldown, minLr, mode max', () => {
    const opt = sgd(1);
    const s = new optim.ReduceLROnPlateau(opt, { patience: 2, factor: 0.5, cooldown: 1, minLr: 0.2 });
    const seq: number[] = [];
    for (const m of [1, 0.9, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95]) {
      s.step(m);
      seq.push(opt.paramGroups[0]!.lr);
    }
    // Epochs 3, 4, 5 are bad → reduce after the 3rd (numBad > patience); the cooldown epoch
    // does not count; then 3 more bad epochs → reduce again; the floor is minLr.
    expect(seq).toEqual([1, 1, 1, 1, 0.5, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.25, 0.2, 0.2]);
    const o2 = sgd(1);
    const mx = new optim.ReduceLROnPlateau(o2, { mode: 'max', patience: 0, thresholdMode: 'abs', threshold: 0.1 });
    mx.step(0.5);
    mx.step(0.55); // not better by 0.1 → reduce at once (patience 0)
    expect(o2.paramGroups[0]!.lr).toBeCloseTo(0.1, 12);
    expect(() => new optim.ReduceLROnPlateau(sgd(), { factor: 1 })).toThrow('Factor should be < 1.0.');
    const restored = new optim.ReduceLROnPlateau(sgd(), { patience: 2 });
    restored.loadStateDict(JSON.parse(JSON.stringify(s.stateDict())));
    expect(restored.best).toBe(0.9);
  });

  it('scheduler stateDict round trip and resume validation', () => {
    const opt = sgd(1);
    const s = new optim.StepLR(opt, { stepSize: 1, gamma: 0.5 });
    s.step();
    s.step();
    const saved = JSON.parse(JSON.stringify(s.stateDict()));
    const opt2 = sgd(1);
    const s2 = new optim.StepLR(opt2, { stepSize: 1, gamma: 0.5 });
    s2.loadStateDict(saved);
    s.step();
    s2.step();
    expect(opt2.paramGroups[0]!.lr).toBe(opt.paramGroups[0]!.lr);
    expect(() => new optim.StepLR(sgd(), { stepSize: 1, lastEpoch: 3 })).toThrow("param 'initialLr' is not specified in paramGroups[0] when resuming an optimizer");
  });
});
