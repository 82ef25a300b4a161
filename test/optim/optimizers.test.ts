import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as nn from '../../src/nn';
import * as optim from '../../src/optim';
import { OptimizerStateError } from '../../src/optim';
import { countsNonFinite } from '../../src/optim/optimizer';
import { Tensor } from '../../src/tensor/tensor';
import { StateFileError } from '../../src/nn';
import { BACKEND_NAMES, T, arr, close, useBackend } from '../nn/util';

const THETA0 = [0.5, -1.25, 2, 0.1];
const GRADS = [[0.3, -0.2, 1.5, 0], [-0.1, 0.4, 0.5, -2], [0.25, 0.25, -1, 0.5], [1, -1, 0.125, 0.75]];

/** Runs `opt` over the fixed gradient sequence; returns θ after each step. */
function run(make: (p: Tensor) => optim.Optimizer<{ lr: number }>, steps = GRADS.length): number[][] {
  const p = T(THETA0, [2, 2], true);
  const opt = make(p);
  const out: number[][] = [];
  for (let t = 0; t < steps; t++) {
    p.grad = T(GRADS[t]!, [2, 2]);
    opt.step();
    out.push(arr(p));
  }
  return out;
}

interface SgdRef { lr: number; momentum?: number; dampening?: number; nesterov?: boolean; weightDecay?: number }
/** PyTorch SGD's documented update, in float64. */
function sgdRef(o: SgdRef): number[][] {
  const mu = o.momentum ?? 0;
  const tau = o.dampening ?? 0;
  const wd = o.weightDecay ?? 0;
  const th = [...THETA0];
  let b: number[] | null = null;
  return GRADS.map((gr) => {
    let g = gr.map((v, i) => v + wd * th[i]!);
    if (mu !== 0) {
      b = b === null ? [...g] : b.map((v, i) => mu * v + (1 - tau) * g[i]!);
      g = o.nesterov ? g.map((v, i) => v + mu * b![i]!) : [...b];
    }
    g.forEach((v, i) => { th[i] = th[i]! - o.lr * v; });
    return [...th];
  });
}

interface AdamRef { lr?: number; betas?: [number, number]; eps?: number; weightDecay?: number; decoupled?: boolean }
/** PyTorch Adam/AdamW's documented update (bias-corrected), in float64. */
function adamRef(o: AdamRef): number[][] {
  const lr = o.lr ?? 1e-3;
  const [b1, b2] = o.betas ?? [0.9, 0.999];
  const eps = o.eps ?? 1e-8;
  const wd = o.weightDecay ?? 0;
  const th = [...THETA0];
  const m = [0, 0, 0, 0];
  const v = [0, 0, 0, 0];
  return GRADS.map((gr, k) => {
    const t = k + 1;
    for (let i = 0; i < 4; i++) {
      let g = gr[i]!;
      if (o.decoupled) th[i] = th[i]! * (1 - lr * wd);
      else g += wd * th[i]!;
      m[i] = b1 * m[i]! + (1 - b1) * g;
      v[i] = b2 * v[i]! + (1 - b2) * g * g;
      const mHat = m[i]! / (1 - b1 ** t);
      const vHat = v[i]! / (1 - b2 ** t);
      th[i] = th[i]! - (lr * mHat) / (Math.sqrt(vHat) + eps);
    }
    return [...th];
  });
}

interface RmsRef { lr?: number; alpha?: number; eps?: number; momentum?: number; centered?: boolean; weightDecay?: number }
/** PyTorch RMSprop's documented update, in float64. */
function rmsRef(o: RmsRef): number[][] {
  const lr = o.lr ?? 1e-2;
  const a = o.alpha ?? 0.99;
  const eps = o.eps ?? 1e-8;
  const mu = o.momentum ?? 0;
  const wd = o.weightDecay ?? 0;
  const th = [...THETA0];
  const sq = [0, 0, 0, 0];
  const ga = [0, 0, 0, 0];
  const buf = [0, 0, 0, 0];
  return GRADS.map((gr) => {
    for (let i = 0; i < 4; i++) {
      const g = gr[i]! + wd * th[i]!;
      sq[i] = a * sq[i]! + (1 - a) * g * g;
      let avg: number;
      if (o.centered) {
        ga[i] = a * ga[i]! + (1 - a) * g;
        avg = Math.sqrt(sq[i]! - ga[i]! * ga[i]!) + eps;
      } else avg = Math.sqrt(sq[i]!) + eps;
      if (mu > 0) {
        buf[i] = mu * buf[i]! + g / avg;
        th[i] = th[i]! - lr * buf[i]!;
      } else th[i] = th[i]! - (lr * g) / avg;
    }
    return [...th];
  });
}

const expectSteps = (got: number[][], want: number[][], rtol = 2e-5, atol = 1e-6) => {
  got.forEach((row, t) => {
    try { close(row, want[t]!, rtol, atol); } catch (e) { throw new Error(`step ${t + 1}: ${(e as Error).message}`); }
  });
};

describe.each(BACKEND_NAMES)('optimizer updates on %s', (name) => {
  const on = useBackend(name);

  it('SGD: plain, momentum, dampening, Nesterov and weight decay follow PyTorch\'s equations', on(() => {
    const cases: SgdRef[] = [
      { lr: 0.1 },
      { lr: 0.1, momentum: 0.9 },
      { lr: 0.05, momentum: 0.9, dampening: 0.5 },
      { lr: 0.1, momentum: 0.8, nesterov: true },
      { lr: 0.1, weightDecay: 0.1 },
      { lr: 0.2, momentum: 0.5, dampening: 0.1, weightDecay: 0.01 },
      { lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 0.05 },
    ];
    for (const c of cases) {
      try {
        expectSteps(run((p) => new optim.SGD([p], c)), sgdRef(c));
      } catch (e) {
        throw new Error(`${JSON.stringify(c)}: ${(e as Error).message}`);
      }
    }
    // First step with momentum: the buffer is the gradient itself (no dampening).
    const first = run((p) => new optim.SGD([p], { lr: 1, momentum: 0.9, dampening: 0.5 }), 1)[0]!;
    close(first, THETA0.map((v, i) => v - GRADS[0]![i]!));
  }));

  it('Adam and AdamW follow the bias-corrected update; AdamW decays weights decoupled', on(() => {
    const cases: AdamRef[] = [
      {},
      { lr: 0.1, betas: [0.8, 0.99], eps: 1e-6 },
      { lr: 0.01, weightDecay: 0.1 },
    ];
    for (const c of cases) expectSteps(run((p) => new optim.Adam([p], c)), adamRef(c));
    // The first Adam step moves each weight by ≈ lr·sign(g).
    const one = run((p) => new optim.Adam([p], { lr: 0.1 }), 1)[0]!;
    close(one, THETA0.map((v, i) => v - 0.1 * Math.sign(GRADS[0]![i]!)), 1e-5, 1e-6);
    expectSteps(run((p) => new optim.AdamW([p], { lr: 0.05 })), adamRef({ lr: 0.05, weightDecay: 1e-2, decoupled: true }));
    expectSteps(run((p) => new optim.AdamW([p], { lr: 0.01, weightDecay: 0.5, betas: [0.5, 0.9] })),
      adamRef({ lr: 0.01, weightDecay: 0.5, betas: [0.5, 0.9], decoupled: true }));
  }));

  it('RMSprop: plain, centered, momentum and weight decay', on(() => {
    const cases: RmsRef[] = [
      {},
      { lr: 0.01, alpha: 0.9, momentum: 0.5 },
      { lr: 0.001, centered: true },
      { lr: 0.01, centered: true, momentum: 0.9, weightDecay: 0.1, eps: 1e-4 },
    ];
    for (const c of cases) expectSteps(run((p) => new optim.RMSprop([p], c)), rmsRef(c), 5e-5, 1e-6);
  }));

  it('param groups carry their own hyperparameters; parameters without a gradient are skipped', on(() => {
    const a = T([1, 1], [2], true);
    const b = T([1, 1], [2], true);
    const c = T([1, 1], [2], true);
    const opt = new optim.SGD([{ params: [a] }, { params: [b, c], lr: 0.5 }], { lr: 0.1 });
    expect(opt.paramGroups.map((g) => g.lr)).toEqual([0.1, 0.5]);
    expect(opt.paramGroups[1]!.momentum).toBe(0);
    a.grad = T([1, 2], [2]);
    b.grad = T([1, 2], [2]);
    opt.step();
    close(arr(a), [0.9, 0.8]);
    close(arr(b), [0.5, 0]);
    expect(arr(c)).toEqual([1, 1]);
    opt.zeroGrad();
    expect(a.grad).toBeNull();
    expect(b.grad).toBeNull();
    // A closure is evaluated (with gradients) and its loss returned.
    const loss = opt.step(() => { opt.zeroGrad(); const l = a.square().sum(); l.backward(); return l; });
    expect(loss).toBeCloseTo(0.81 + 0.64, 5);
    close(arr(a), [0.9 - 0.1 * 1.8, 0.8 - 0.1 * 1.6]);
    opt.addParamGroup({ params: [T([0], [1], true)], lr: 1 });
    expect(opt.paramGroups.length).toBe(3);
    expect(() => opt.addParamGroup({ params: [a] })).toThrow('some parameters appear in more than one parameter group');
  }));

  it('state round trip: stateDict → loadStateDict continues exactly like the original', on(() => {
    for (const make of [
      (ps: Tensor[]) => new optim.SGD(ps, { lr: 0.1, momentum: 0.9 }),
      (ps: Tensor[]) => new optim.Adam(ps, { lr: 0.05 }),
      (ps: Tensor[]) => new optim.RMSprop(ps, { centered: true, momentum: 0.5 }),
    ]) {
      const pa = T(THETA0, [4], true);
      const oa = make([pa]);
      for (let t = 0; t < 2; t++) { pa.grad = T(GRADS[t]!, [4]); oa.step(); }
      const pb = T(arr(pa), [4], true);
      const ob = make([pb]);
      ob.loadStateDict(oa.stateDict({ copy: true }));
      for (let t = 2; t < 4; t++) {
        pa.grad = T(GRADS[t]!, [4]);
        pb.grad = T(GRADS[t]!, [4]);
        oa.step();
        ob.step();
      }
      expect(arr(pb)).toEqual(arr(pa));
    }
  }));
});

describe('optimizer validation and state errors', () => {
  const p = () => [T([1], [1], true)];

  it('validates hyperparameters with PyTorch\'s messages', () => {
    expect(() => new optim.SGD(p(), { lr: -1 })).toThrow('Invalid learning rate: -1');
    // An optimizer without a default lr needs one in every group (PyTorch's message).
    class NoDefaultLr extends optim.Optimizer<{ lr: number }> {
      constructor(params: Tensor[]) { super(params, {}); }
      protected validateGroup(): void {}
      step(): undefined { return undefined; }
    }
    expect(() => new NoDefaultLr(p())).toThrow("parameter group didn't specify a value of required optimization parameter lr");
    expect(() => new optim.SGD(p(), { lr: 0.1, nesterov: true })).toThrow('Nesterov momentum requires a momentum and zero dampening');
    expect(() => new optim.SGD(p(), { lr: 0.1, momentum: 0.9, dampening: 0.1, nesterov: true })).toThrow('Nesterov momentum requires a momentum and zero dampening');
    expect(() => new optim.SGD(p(), { lr: 0.1, momentum: -0.5 })).toThrow('Invalid momentum value: -0.5');
    expect(() => new optim.SGD(p(), { lr: 0.1, weightDecay: -1 })).toThrow('Invalid weightDecay value: -1');
    expect(() => new optim.Adam(p(), { betas: [1, 0.999] })).toThrow('Invalid beta parameter at index 0: 1');
    expect(() => new optim.Adam(p(), { betas: [0.9, -0.1] })).toThrow('Invalid beta parameter at index 1: -0.1');
    expect(() => new optim.Adam(p(), { eps: -1 })).toThrow('Invalid epsilon value: -1');
    expect(() => new optim.RMSprop(p(), { alpha: -0.1 })).toThrow('Invalid alpha value: -0.1');
    expect(() => new optim.SGD([], { lr: 0.1 })).toThrow('optimizer got an empty parameter list');
    expect(() => new optim.SGD(T([1], [1], true) as never, { lr: 0.1 })).toThrow(/iterable of Tensors/);
    const x = T([1], [1], true);
    expect(() => new optim.SGD([x.mul(2)], { lr: 0.1 })).toThrow("can't optimize a non-leaf Tensor");
    expect(() => new optim.SGD([{ params: [x] }, { params: [x] }], { lr: 0.1 })).toThrow('some parameters appear in more than one parameter group');
    expect(() => new optim.SGD([{ params: [T([1], [1], true)], lr: -2 }], { lr: 0.1 })).toThrow('Invalid learning rate: -2');
  });

  it('defaults match PyTorch', () => {
    expect(new optim.Adam(p()).defaults).toEqual({ lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0 });
    expect(new optim.AdamW(p()).defaults).toEqual({ lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 1e-2 });
    expect(new optim.RMSprop(p()).defaults).toEqual({ lr: 1e-2, alpha: 0.99, eps: 1e-8, momentum: 0, centered: false, weightDecay: 0 });
    expect(new optim.SGD(p(), { lr: 0.1 }).defaults).toEqual({ lr: 0.1, momentum: 0, dampening: 0, nesterov: false, weightDecay: 0 });
    // SGD's lr is optional with PyTorch ≥ 2.2's default 1e-3, and the step uses it.
    for (const sgd of [new optim.SGD(p()), new optim.SGD(p(), {}), new optim.SGD(p(), { momentum: 0.9 })]) {
      expect(sgd.defaults.lr).toBe(1e-3);
      expect(sgd.paramGroups[0]!.lr).toBe(1e-3);
      const w = sgd.paramGroups[0]!.params[0]!;
      w.grad = T([2], [1]);
      sgd.step();
      expect(w.data[0]).toBe(Math.fround(1 - 1e-3 * 2));
    }
  });

  it('loadStateDict rejects mismatched groups and shapes and leaves the optimizer unchanged', () => {
    const a = [T([1, 2], [2], true), T([3], [1], true)];
    const opt = new optim.Adam(a, { lr: 0.1 });
    a.forEach((t) => { t.grad = T(new Array(t.size).fill(1), t.shape as number[]); });
    opt.step();
    const sd = opt.stateDict({ copy: true });
    expect(Object.keys(sd.state)).toEqual(['0', '1']);
    expect(sd.state['0']!.step).toBe(1);
    expect(sd.paramGroups).toEqual([{ lr: 0.1, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, params: [0, 1] }]);
    const other = new optim.Adam([T([0, 0], [2], true)], { lr: 0.5 });
    expect(() => other.loadStateDict(sd)).toThrow(OptimizerStateError);
    expect(() => other.loadStateDict(sd)).toThrow(/doesn't match the size of optimizer's group 0/);
    const two = new optim.Adam([{ params: [T([0, 0], [2], true)] }, { params: [T([0], [1], true)] }]);
    expect(() => two.loadStateDict(sd)).toThrow(/different number of parameter groups/);
    const swapped = new optim.Adam([T([0], [1], true), T([0, 0], [2], true)], { lr: 0.5 });
    expect(() => swapped.loadStateDict(sd)).toThrow(/state "expAvg" of parameter 0 has shape \[2\], the parameter has \[1\]/);
    expect(swapped.paramGroups[0]!.lr).toBe(0.5);
    expect(swapped.state.size).toBe(0);
    const ok = new optim.Adam([T([0, 0], [2], true), T([0], [1], true)], { lr: 0.5 });
    ok.loadStateDict(sd);
    expect(ok.paramGroups[0]!.lr).toBe(0.1);
    expect(ok.state.size).toBe(2);
  });
});

describe('optimizer state files', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lernen-optim-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('optim.save → optim.load → loadStateDict continues training identically', () => {
    const make = () => new nn.Sequential(new nn.Linear(3, 4), new nn.ReLU(), new nn.Linear(4, 2));
    const x = T([0.1, 0.2, 0.3, -0.5, 0.4, 1], [2, 3]);
    const y = [1, 0];
    const a = make();
    const oa = new optim.Adam(a.parameters(), { lr: 0.01 });
    const train = (m: nn.Module, o: optim.Optimizer<{ lr: number }>) => {
      o.zeroGrad();
      nn.functional.crossEntropy(m.call(x), y).backward();
      o.step();
    };
    train(a, oa);
    train(a, oa);
    const f = path.join(dir, 'adam.lernen');
    optim.save(oa, f, { epoch: 2 });
    nn.save(a, path.join(dir, 'model.lernen'));
    const b = make();
    b.loadStateDict(nn.load(path.join(dir, 'model.lernen')));
    const ob = new optim.Adam(b.parameters(), { lr: 0.5 });
    const loaded = optim.load(f);
    expect(loaded.meta).toEqual({ epoch: 2 });
    expect(loaded.stateDict.state['0']!.step).toBe(2);
    ob.loadStateDict(loaded);
    expect(ob.paramGroups[0]!.lr).toBe(0.01);
    train(a, oa);
    train(b, ob);
    expect(b.parameters().map(arr)).toEqual(a.parameters().map(arr));
    // A model file is not an optimizer file.
    expect(() => optim.load(path.join(dir, 'model.lernen'))).toThrow(StateFileError);
    expect(() => optim.load(path.join(dir, 'model.lernen'))).toThrow(/not an optimizer state file/);
  });
});

describe.each(BACKEND_NAMES)('lastStepNonFinite on %s', (name) => {
  const on = useBackend(name);
  it('SGD, Adam, AdamW and RMSprop report how many non-finite values their step wrote', on(() => {
    const make = () => { const w = T([1, 2, 3, 4], [4], true); w.grad = T([0.5, 0.5, 0.5, 0.5], [4]); return w; };
    for (const [label, mk] of [
      ['SGD', (ps: Tensor[]) => new optim.SGD(ps, { lr: 0.1, momentum: 0.9 })],
      ['Adam', (ps: Tensor[]) => new optim.Adam(ps, { lr: 0.1 })],
      ['AdamW', (ps: Tensor[]) => new optim.AdamW(ps, { lr: 0.1 })],
      ['RMSprop', (ps: Tensor[]) => new optim.RMSprop(ps, { lr: 0.1 })],
    ] as const) {
      const a = make(), b = make();
      const opt = mk([a, b]);
      expect(opt.lastStepNonFinite, label).toBeNull(); // no step yet
      opt.step();
      expect(opt.lastStepNonFinite, label).toBe(0);
      a.grad!.data[1] = NaN;
      b.grad!.data[3] = Infinity;
      opt.step();
      expect(opt.lastStepNonFinite, label).toBe(2);
    }
    // A gradient-free optimizer does not count: unknown.
    const w = make();
    const es = new optim.OnePlusOneES([w], { lr: 0.1 });
    es.step(() => w.sum().item());
    expect(es.lastStepNonFinite).toBeNull();
  }));
});

describe('countsNonFinite: fit() trusts lastStepNonFinite only from a built-in step()', () => {
  it('built-in and inheriting optimizers count; overridden or replaced step() methods do not', () => {
    const ps = () => [T([1, 2], [2], true)];
    expect(countsNonFinite(new optim.SGD(ps(), { lr: 0.1 }))).toBe(true);
    expect(countsNonFinite(new optim.Adam(ps()))).toBe(true);
    expect(countsNonFinite(new optim.AdamW(ps()))).toBe(true);
    expect(countsNonFinite(new optim.RMSprop(ps()))).toBe(true);
    expect(countsNonFinite(new optim.OnePlusOneES(ps()))).toBe(false);
    class Inherits extends optim.SGD {}
    expect(countsNonFinite(new Inherits(ps(), { lr: 0.1 }))).toBe(true);
    class Overrides extends optim.SGD {
      override step(): number | undefined { const r = super.step(); this.paramGroups[0]!.params[0]!.data[0] = NaN; return r; }
    }
    expect(countsNonFinite(new Overrides(ps(), { lr: 0.1 }))).toBe(false);
    const wrapped = new optim.SGD(ps(), { lr: 0.1 });
    const step = wrapped.step.bind(wrapped);
    wrapped.step = () => step();
    expect(countsNonFinite(wrapped)).toBe(false);
    expect(countsNonFinite({ step: 3 })).toBe(false);
  });
});
