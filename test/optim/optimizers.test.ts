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
import { withHeader } from '../helpers/state-file';
import { BACKEND_NAMES, T, arr, close, useBackend } from '../nn/util';

const THETA0 = [0.5, -1.25, 2, 0.1];
const GRADS = [[0.3, -0.2, 1.5, 0], [-0.1, 0.4, 0.5, -2], [0.25, 0.25, -1, 0.5], [1, -1, 0.125, 0.75]];

/**
 * Runs the optimizer `make` builds over `count` parameters, each starting at THETA0 and given
 * the fixed gradient sequence; returns each parameter's θ after each step.
 */
function runParams(make: (ps: Tensor[]) => optim.Optimizer<{ lr: number }>, count: number, steps = GRADS.length): number[][][] {
  const ps = Array.from({ length: count }, () => T(THETA0, [2, 2], true));
  const opt = make(ps);
  const out: number[][][] = ps.map(() => []);
  for (let t = 0; t < steps; t++) {
    for (const p of ps) p.grad = T(GRADS[t]!, [2, 2]);
    opt.step();
    ps.forEach((p, i) => out[i]!.push(arr(p)));
  }
  return out;
}

/** Runs `opt` over the fixed gradient sequence; returns θ after each step. */
const run = (make: (p: Tensor) => optim.Optimizer<{ lr: number }>, steps = GRADS.length): number[][] =>
  runParams((ps) => make(ps[0]!), 1, steps)[0]!;

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

/** Everything an optimizer would save (type, hyperparameters, buffers, counters, extra) as text, keys sorted. */
const fingerprint = (o: optim.Optimizer<{ lr: number }>): string => JSON.stringify(o.stateDict(), (_k, v: unknown) => {
  if (v instanceof Tensor) return { shape: v.shape, data: Array.from(v.data) };
  if (typeof v === 'object' && v !== null && !Array.isArray(v)) return Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1)));
  return v;
});

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

  it('param groups with their own lr and weightDecay: SGD, Adam, AdamW and RMSprop follow the equations per group', on(() => {
    const cases: Array<[string, (ps: Tensor[]) => optim.Optimizer<{ lr: number }>, number[][], number[][]]> = [
      ['SGD', (ps) => new optim.SGD([{ params: [ps[0]!] }, { params: [ps[1]!], lr: 0.02, weightDecay: 0.3 }], { lr: 0.1, momentum: 0.9 }),
        sgdRef({ lr: 0.1, momentum: 0.9 }), sgdRef({ lr: 0.02, momentum: 0.9, weightDecay: 0.3 })],
      ['Adam', (ps) => new optim.Adam([{ params: [ps[0]!] }, { params: [ps[1]!], lr: 0.01, weightDecay: 0.3 }], { lr: 0.1, betas: [0.8, 0.99] }),
        adamRef({ lr: 0.1, betas: [0.8, 0.99] }), adamRef({ lr: 0.01, betas: [0.8, 0.99], weightDecay: 0.3 })],
      // AdamW's default weightDecay 1e-2 applies to the first group; the second decays 0.5, decoupled.
      ['AdamW', (ps) => new optim.AdamW([{ params: [ps[0]!] }, { params: [ps[1]!], lr: 0.02, weightDecay: 0.5 }], { lr: 0.1 }),
        adamRef({ lr: 0.1, weightDecay: 1e-2, decoupled: true }), adamRef({ lr: 0.02, weightDecay: 0.5, decoupled: true })],
      ['RMSprop', (ps) => new optim.RMSprop([{ params: [ps[0]!] }, { params: [ps[1]!], lr: 0.001, weightDecay: 0.1, centered: true }], { lr: 0.01, momentum: 0.5 }),
        rmsRef({ lr: 0.01, momentum: 0.5 }), rmsRef({ lr: 0.001, momentum: 0.5, weightDecay: 0.1, centered: true })],
    ];
    for (const [label, make, want0, want1] of cases) {
      const [got0, got1] = runParams(make, 2);
      try {
        expectSteps(got0!, want0, 5e-5);
        expectSteps(got1!, want1, 5e-5);
      } catch (e) {
        throw new Error(`${label}: ${(e as Error).message}`);
      }
      // The two groups really differ (the test would pass trivially otherwise).
      expect(got0![3]).not.toEqual(got1![3]);
    }
  }));

  it('state round trip: stateDict → loadStateDict continues exactly like the original', on(() => {
    for (const make of [
      (ps: Tensor[]) => new optim.SGD(ps, { lr: 0.1, momentum: 0.9 }),
      (ps: Tensor[]) => new optim.Adam(ps, { lr: 0.05 }),
      (ps: Tensor[]) => new optim.AdamW(ps, { lr: 0.05, weightDecay: 0.2 }),
      (ps: Tensor[]) => new optim.RMSprop(ps, { centered: true, momentum: 0.5 }),
    ]) {
      const pa = T(THETA0, [4], true);
      const oa = make([pa]);
      for (let t = 0; t < 2; t++) { pa.grad = T(GRADS[t]!, [4]); oa.step(); }
      // B from the state dict, C through the state-file bytes (optim.save's encoding).
      const pb = T(arr(pa), [4], true);
      const ob = make([pb]);
      ob.loadStateDict(oa.stateDict({ copy: true }));
      const pc = T(arr(pa), [4], true);
      const oc = make([pc]);
      oc.loadStateDict(optim.decodeOptimizerState(optim.encodeOptimizerState(oa)));
      for (let t = 2; t < 4; t++) {
        for (const [p, o] of [[pa, oa], [pb, ob], [pc, oc]] as const) {
          p.grad = T(GRADS[t]!, [4]);
          o.step();
        }
      }
      expect(arr(pb), oa.constructor.name).toEqual(arr(pa));
      expect(arr(pc), oa.constructor.name).toEqual(arr(pa));
      expect(fingerprint(oc)).toBe(fingerprint(oa));
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

/** Two parameters ([2] and [1]) and an optimizer made by `make` after two steps with fixed gradients. */
function stepped<O extends optim.Optimizer<{ lr: number }>>(make: (ps: Tensor[]) => O): O {
  const ps = [T([1, 2], [2], true), T([3], [1], true)];
  const o = make(ps);
  for (let t = 0; t < 2; t++) {
    ps[0]!.grad = T([0.5 - t, 1], [2]);
    ps[1]!.grad = T([t - 0.25], [1]);
    o.step();
  }
  return o;
}

/** Expects loadStateDict(sd) to throw an OptimizerStateError matching re and to change nothing. */
function expectRefused(o: optim.Optimizer<{ lr: number }>, sd: unknown, re: RegExp): void {
  const before = fingerprint(o);
  let err: unknown;
  try { o.loadStateDict(sd as optim.OptimizerStateDict); } catch (e) { err = e; }
  expect(err, `accepted, expected ${re}`).toBeInstanceOf(OptimizerStateError);
  expect((err as Error).message).toMatch(re);
  expect((err as Error).message).toMatch(/\(optimizer unchanged\)/);
  expect(fingerprint(o)).toBe(before);
}

/** A deep copy of a state dict (tensors copied too) that a test may edit. */
const copySd = (sd: optim.OptimizerStateDict): optim.OptimizerStateDict => ({
  ...sd,
  state: Object.fromEntries(Object.entries(sd.state).map(([k, rec]) => [k, { ...rec }])),
  paramGroups: sd.paramGroups.map((g) => JSON.parse(JSON.stringify(g)) as (typeof sd.paramGroups)[number]),
});

describe.each(BACKEND_NAMES)('optimizer loadStateDict validation on %s', (name) => {
  const on = useBackend(name);
  const makers: Record<'SGD' | 'Adam' | 'AdamW' | 'RMSprop', (ps: Tensor[]) => optim.Optimizer<{ lr: number }>> = {
    SGD: (ps: Tensor[]) => new optim.SGD(ps, { lr: 0.1, momentum: 0.9 }),
    Adam: (ps: Tensor[]) => new optim.Adam(ps, { lr: 0.05 }),
    AdamW: (ps: Tensor[]) => new optim.AdamW(ps, { lr: 0.05 }),
    RMSprop: (ps: Tensor[]) => new optim.RMSprop(ps, { lr: 0.01, momentum: 0.5, centered: true }),
  };

  it('state dicts record the optimizer type; state from another optimizer is refused', on(() => {
    const sds = Object.fromEntries(Object.entries(makers).map(([k, mk]) => [k, stepped(mk).stateDict({ copy: true })]));
    expect(Object.values(sds).map((sd) => sd.type)).toEqual(['SGD', 'Adam', 'AdamW', 'RMSprop']);
    for (const [target, mk] of Object.entries(makers)) {
      const o = stepped(mk);
      for (const [source, sd] of Object.entries(sds)) {
        if (source === target) continue;
        expectRefused(o, sd, new RegExp(`the state was saved by "${source}", this optimizer is ${target}`));
      }
      o.loadStateDict(sds[target]!);
    }
    // A subclass that changes nothing reads its built-in's state.
    class MyAdam extends optim.Adam {}
    const mine = stepped((ps) => new MyAdam(ps));
    expect(mine.stateDict().type).toBe('Adam');
    mine.loadStateDict(sds.Adam!);
  }));

  it('without a type (a hand-made dict), another optimizer\'s hyperparameters and state entries are still refused', on(() => {
    const untyped = (sd: optim.OptimizerStateDict) => { const c = copySd(sd); delete c.type; return c; };
    const sgd = untyped(stepped(makers.SGD).stateDict({ copy: true }));
    const adam = stepped(makers.Adam);
    expectRefused(adam, sgd, /group 0 does not have this optimizer's hyperparameters \(unknown: "momentum", "dampening", "nesterov"; missing: "betas", "eps"\)/);
    // Matching hyperparameters but SGD's buffers: unknown entries.
    const mixed = untyped(stepped(makers.Adam).stateDict({ copy: true }));
    mixed.state = untyped(stepped(makers.SGD).stateDict({ copy: true })).state;
    expectRefused(adam, mixed, /state of parameter 0 has an unknown entry "momentumBuffer" \(Adam keeps "step", "expAvg", "expAvgSq"\)/);
    const ok = untyped(stepped(makers.Adam).stateDict({ copy: true }));
    adam.loadStateDict(ok);
    expect(adam.stateDict().type).toBe('Adam');
  }));

  it('unknown, missing and invalid group hyperparameters are refused; scheduler keys may come or go', on(() => {
    const o = stepped(makers.SGD);
    const sd = o.stateDict({ copy: true });
    const edit = (f: (g: Record<string, unknown>) => void) => { const c = copySd(sd); f(c.paramGroups[0]!); return c; };
    expectRefused(o, edit((g) => { g.betas = [0.9, 0.999]; }), /unknown: "betas"\)/);
    expectRefused(o, edit((g) => { delete g.dampening; }), /missing: "dampening"\)/);
    expectRefused(o, edit((g) => { delete g.lr; }), /missing: "lr"\)/);
    expectRefused(o, edit((g) => { g.momentum = -1; }), /a loaded parameter group is invalid: Invalid momentum value: -1/);
    expectRefused(o, edit((g) => { g.nesterov = 'yes'; }), /Invalid nesterov value: yes/);
    expectRefused(o, edit((g) => { g.initialLr = 'x'; }), /group 0 has an invalid initialLr "x"/);
    // A state saved under OneCycleLR (initialLr, maxLr, minLr, maxMomentum, baseMomentum in
    // each group) loads into a fresh optimizer before its scheduler exists, and the other way.
    const withSched = stepped(makers.SGD);
    new optim.OneCycleLR(withSched, { maxLr: 0.5, totalSteps: 10 });
    const schedSd = withSched.stateDict({ copy: true });
    expect(Object.keys(schedSd.paramGroups[0]!)).toEqual(expect.arrayContaining(['initialLr', 'maxLr', 'minLr', 'maxMomentum', 'baseMomentum']));
    const fresh = stepped(makers.SGD);
    fresh.loadStateDict(schedSd);
    expect(fresh.paramGroups[0]!.maxLr).toBe(0.5);
    withSched.loadStateDict(sd);
    expect(withSched.paramGroups[0]!.lr).toBe(0.1);
  }));

  it('counters must be integers ≥ 0; buffers must be tensors of the parameter\'s shape; required entries present', on(() => {
    const adam = stepped(makers.Adam);
    const sd = adam.stateDict({ copy: true });
    expect(sd.state['0']!.step).toBe(2);
    const edit = (f: (s: Record<string, unknown>) => void) => { const c = copySd(sd); f(c.state['0']!); return c; };
    for (const bad of [-3, 1.5, Number.NaN, Infinity, -Infinity, '2', null]) {
      expectRefused(adam, edit((s) => { s.step = bad; }), new RegExp(`state "step" of parameter 0 must be an integer ≥ 0, got ${bad === '2' ? '"2"' : String(bad)}`));
    }
    expectRefused(adam, edit((s) => { s.expAvg = 3; }), /state "expAvg" of parameter 0 is not a Tensor/);
    expectRefused(adam, edit((s) => { s.expAvg = T([1, 2, 3], [3]); }), /state "expAvg" of parameter 0 has shape \[3\], the parameter has \[2\]/);
    expectRefused(adam, edit((s) => { s.expAvgSq = T([1, 2], [1, 2]); }), /state "expAvgSq" of parameter 0 has shape \[1, 2\], the parameter has \[2\]/);
    expectRefused(adam, edit((s) => { delete s.expAvgSq; }), /state of parameter 0 lacks "expAvgSq"/);
    expectRefused(adam, edit((s) => { delete s.step; }), /state of parameter 0 lacks "step"/);
    // An own key named __proto__ (as optim.load's null-prototype records can hold) is just unknown.
    expectRefused(adam, edit((s) => { Object.defineProperty(s, '__proto__', { value: T([1, 2], [2]), enumerable: true }); }), /unknown entry "__proto__"/);
    // A step of 0 is a valid counter; the next step then is the first (bias correction 1 − β).
    const zero = edit((s) => { s.step = 0; });
    adam.loadStateDict(zero);
    expect(adam.stateDict().state['0']!.step).toBe(0);
    // RMSprop's counter too; its optional buffers may be absent.
    const rms = stepped(makers.RMSprop);
    const rsd = copySd(rms.stateDict({ copy: true }));
    rsd.state['0']!.step = -1;
    expectRefused(rms, rsd, /state "step" of parameter 0 must be an integer ≥ 0, got -1/);
    rsd.state['0']!.step = 2;
    delete rsd.state['0']!.momentumBuffer;
    rms.loadStateDict(rsd);
    // State for a parameter index that no group has, and a malformed dict.
    expectRefused(adam, { ...copySd(sd), state: { ...sd.state, 5: sd.state['0']! } }, /state refers to parameter "5", which no group contains/);
    expectRefused(adam, { state: {} }, /expected \{ state, paramGroups \}/);
    expectRefused(adam, { ...copySd(sd), extra: { x: 1 } }, /unexpected optimizer-wide state "x"/);
  }));
});

describe.each(BACKEND_NAMES)('optimizer state files on %s', (name) => {
  const on = useBackend(name);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lernen-optim-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('optim.save → optim.load → loadStateDict continues training identically', on(() => {
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
  }));

  it('a corrupted or foreign optimizer file gives a clear error and leaves the optimizer unchanged', on(() => {
    const f = path.join(dir, 'victim.lernen');
    optim.save(stepped((ps) => new optim.Adam(ps, { lr: 0.02 })), f);
    const good = fs.readFileSync(f);
    const o = stepped((ps) => new optim.Adam(ps, { lr: 0.5 }));
    const before = fingerprint(o);
    const attempt = (bytes: Buffer, cls: typeof StateFileError | typeof OptimizerStateError, re: RegExp) => {
      fs.writeFileSync(f, bytes);
      let err: unknown;
      try { o.loadStateDict(optim.load(f)); } catch (e) { err = e; }
      expect(err).toBeInstanceOf(cls);
      expect((err as Error).message).toMatch(re);
      expect(fingerprint(o)).toBe(before);
    };
    const flipped = Buffer.from(good);
    flipped[flipped.length - 3] ^= 0x10;
    attempt(flipped, StateFileError, /victim\.lernen: payload checksum mismatch/);
    attempt(good.subarray(0, good.length - 8), StateFileError, /victim\.lernen: .*truncated/);
    // Valid checksums, bad content: caught by loadStateDict.
    type Opt = { optimizer: { type: string; scalars: Record<string, Record<string, number>>; paramGroups: Array<Record<string, unknown>> } };
    const meta = (h: Record<string, unknown>) => (h.meta as Opt).optimizer;
    attempt(withHeader(good, (h) => { meta(h).scalars['0']!.step = -3; }), OptimizerStateError, /state "step" of parameter 0 must be an integer ≥ 0, got -3/);
    attempt(withHeader(good, (h) => { meta(h).scalars['1']!.step = 2.5; }), OptimizerStateError, /state "step" of parameter 1 must be an integer ≥ 0, got 2\.5/);
    attempt(withHeader(good, (h) => { meta(h).type = 'SGD'; }), OptimizerStateError, /the state was saved by "SGD", this optimizer is Adam/);
    attempt(withHeader(good, (h) => { meta(h).paramGroups[0]!.momentum = 0.9; }), OptimizerStateError, /unknown: "momentum"/);
    attempt(withHeader(good, (h) => { (h.tensors as Array<{ shape: number[] }>)[0]!.shape = [1, 2]; }), OptimizerStateError, /has shape \[1, 2\], the parameter has \[2\]/);
    attempt(withHeader(good, (h) => { meta(h).type = 7 as never; }), StateFileError, /optimizer type 7 is not a string/);
    // The good file still loads.
    fs.writeFileSync(f, good);
    o.loadStateDict(optim.load(f));
    expect(o.paramGroups[0]!.lr).toBe(0.02);
  }));
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
