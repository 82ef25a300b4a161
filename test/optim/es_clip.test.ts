import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import * as nn from '../../src/nn';
import * as optim from '../../src/optim';
import { Generator, manualSeed } from '../../src/tensor/random';
import { Tensor } from '../../src/tensor/tensor';
import { BACKEND_NAMES, T, arr, close, useBackend } from '../nn/util';

const target = [1, -2, 0.5, 3, 0, -1];
/** f(θ) = Σ (θ − c)² as a tensor closure. */
const quadratic = (p: Tensor) => () => p.sub(T(target, [6])).square().sum();

describe.each(BACKEND_NAMES)('OnePlusOneES on %s', (name) => {
  const on = useBackend(name);

  it('(1+1)-ES with the 1/5th rule lowers a quadratic; losses never increase; seeded', on(() => {
    const solve = (seed: number) => {
      const p = T([0, 0, 0, 0, 0, 0], [6], true);
      const es = new optim.OnePlusOneES([p], { lr: 0.5, generator: new Generator(seed) });
      const losses: number[] = [];
      for (let i = 0; i < 400; i++) losses.push(es.step(quadratic(p)));
      return { p, es, losses };
    };
    const { p, es, losses } = solve(3);
    expect(losses[0]).toBeLessThanOrEqual(15.25);
    for (let i = 1; i < losses.length; i++) expect(losses[i]!).toBeLessThanOrEqual(losses[i - 1]!);
    expect(losses[losses.length - 1]!).toBeLessThan(1e-3);
    expect(es.successRate).toBeGreaterThan(0.1);
    expect(es.successRate).toBeLessThan(0.45);
    expect(es.steps).toBe(400);
    expect(p.grad).toBeNull(); // gradient-free: the closure ran under noGrad
    expect(arr(solve(3).p)).toEqual(arr(p));
    expect(arr(solve(4).p)).not.toEqual(arr(p));
  }));

  it('primitive mode: keep a step if the loss falls, else halve it and reverse', on(() => {
    const p = T([0], [1], true);
    const es = new optim.OnePlusOneES([p], { lr: 1, mode: 'primitive', generator: new Generator(1) });
    const f = () => (p.data[0]! - 0.3) ** 2;
    const steps: number[] = [];
    for (let i = 0; i < 60; i++) {
      es.step(f);
      steps.push(es.paramGroups[0]!.lr);
    }
    expect(Math.abs(p.data[0]! - 0.3)).toBeLessThan(1e-3);
    // Steps only ever stay or halve (or restart at the initial step after falling below minStep).
    for (let i = 1; i < steps.length; i++) expect([steps[i - 1], steps[i - 1]! / 2, 1]).toContain(steps[i]);
    expect(steps.slice(0, 20).some((s, i) => i > 0 && s === steps[i - 1])).toBe(true);
    expect(() => es.step()).toThrow(/needs a closure/);
  }));

  it('primitive mode, step by step: a success moves θ by σ·d and keeps d; a failure restores θ, halves σ and reverses d', on(() => {
    const p = T([0, 0], [2], true);
    const es = new optim.OnePlusOneES([p], { lr: 2, mode: 'primitive', generator: new Generator(3), minStep: 1e-6 });
    const f = () => (p.data[0]! - 0.3) ** 2 + (p.data[1]! + 0.2) ** 2;
    let successes = 0;
    let failures = 0;
    for (let i = 0; i < 40; i++) {
      const theta = arr(p);
      const sigma = es.paramGroups[0]!.lr;
      const before = f();
      const dir = i === 0 ? null : arr(es.state.get(p)!.direction as Tensor);
      es.step(f);
      const d = arr(es.state.get(p)!.direction as Tensor);
      if (es.paramGroups[0]!.lr === sigma) {
        successes++;
        // Accepted: θ + σ·d with the (unchanged) direction, and a lower loss.
        if (dir) expect(d).toEqual(dir);
        close(arr(p), theta.map((v, j) => v + sigma * d[j]!), 1e-6, 1e-7);
        expect(f()).toBeLessThan(before);
      } else {
        failures++;
        expect(es.paramGroups[0]!.lr).toBe(sigma / 2);
        expect(arr(p)).toEqual(theta);
        if (dir) expect(d).toEqual(dir.map((v) => -v));
      }
    }
    expect(successes).toBeGreaterThan(2);
    expect(failures).toBeGreaterThan(2);
    expect(es.steps).toBe(40);
    expect(es.successes).toBe(successes);
  }));

  it('stateDict → loadStateDict (and optim.save → optim.load) continues a search identically: σ, directions, counters and the cached loss', on(() => {
    for (const mode of ['gaussian', 'primitive'] as const) {
      let calls = 0;
      const loss = (p: Tensor) => () => { calls++; return quadratic(p)(); };
      const pa = T([0, 0, 0, 0, 0, 0], [6], true);
      const ga = new Generator(8);
      const a = new optim.OnePlusOneES([pa], { lr: 0.7, mode, reevaluate: false, generator: ga });
      for (let i = 0; i < 15; i++) a.step(loss(pa));
      const sd = a.stateDict({ copy: true });
      expect(sd.type).toBe('OnePlusOneES');
      expect(sd.extra).toEqual({ mode, steps: 15, successes: a.successes, current: expect.any(Number) });
      expect(Object.keys(sd.state)).toEqual(mode === 'primitive' ? ['0'] : []);
      // B: a fresh optimizer on a copy of θ, with a generator in the same position as A's.
      const pb = T(arr(pa), [6], true);
      const gb = new Generator(0);
      gb.state.set(ga.state);
      const b = new optim.OnePlusOneES([pb], { lr: 0.01, mode, reevaluate: false, generator: gb });
      b.loadStateDict(sd);
      expect(b.steps).toBe(15);
      expect(b.successRate).toBe(a.successRate);
      expect(b.paramGroups[0]!.lr).toBe(a.paramGroups[0]!.lr);
      // The cached loss was restored: the next step evaluates the closure once, not twice.
      calls = 0;
      const la = a.step(loss(pa));
      expect(calls).toBe(1);
      const lb = b.step(loss(pb));
      expect(calls).toBe(2);
      expect(lb).toBe(la);
      for (let i = 0; i < 15; i++) expect(b.step(loss(pb))).toBe(a.step(loss(pa)));
      expect(arr(pb)).toEqual(arr(pa));
      expect(b.stateDict()).toEqual(a.stateDict());
    }
    // Through a state file: the counters and the mode travel in the header.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lernen-es-'));
    try {
      const p = T([0, 0, 0, 0, 0, 0], [6], true);
      const es = new optim.OnePlusOneES([p], { lr: 0.5, mode: 'primitive', generator: new Generator(2) });
      for (let i = 0; i < 9; i++) es.step(quadratic(p));
      const f = path.join(dir, 'es.lernen');
      optim.save(es, f);
      const back = new optim.OnePlusOneES([T(arr(p), [6], true)], { mode: 'primitive' });
      back.loadStateDict(optim.load(f));
      expect(back.stateDict()).toEqual(es.stateDict());
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }));

  it('loadStateDict refuses bad optimizer-wide state and another mode, changing nothing', on(() => {
    const p = T([0, 0, 0, 0, 0, 0], [6], true);
    const es = new optim.OnePlusOneES([p], { lr: 0.5, generator: new Generator(1) });
    for (let i = 0; i < 5; i++) es.step(quadratic(p));
    const sd = es.stateDict({ copy: true });
    const before = JSON.stringify({ sd: es.stateDict(), steps: es.steps, successes: es.successes });
    const refuse = (extra: Record<string, unknown>, re: RegExp) => {
      expect(() => es.loadStateDict({ ...sd, extra: { ...sd.extra, ...extra } as never })).toThrow(re);
      expect(JSON.stringify({ sd: es.stateDict(), steps: es.steps, successes: es.successes })).toBe(before);
    };
    refuse({ mode: 'primitive' }, /the state was saved in "primitive" mode, this optimizer runs in "gaussian" mode/);
    refuse({ steps: -3 }, /steps must be an integer ≥ 0, got -3/);
    refuse({ steps: 2.5 }, /steps must be an integer ≥ 0, got 2\.5/);
    refuse({ successes: Number.NaN }, /successes must be an integer ≥ 0, got NaN/);
    refuse({ successes: 6 }, /successes \(6\) exceeds steps \(5\)/);
    refuse({ current: Infinity }, /current \(the last accepted loss\) must be a finite number or null, got Infinity/);
    refuse({ seed: 1 }, /unexpected optimizer-wide state "seed"/);
    expect(() => es.loadStateDict({ ...sd, extra: [1] as never })).toThrow(/"extra" is not an object/);
    // A state without extra (an older file) keeps the counters.
    const { extra: _dropped, ...old } = sd;
    es.loadStateDict(old);
    expect(es.steps).toBe(5);
  }));

  it('trains a tiny classifier with the same interface as SGD', on(() => {
    manualSeed(5);
    const model = new nn.Sequential(new nn.Linear(2, 8), new nn.Tanh(), new nn.Linear(8, 2));
    const x = T([0, 0, 0, 1, 1, 0, 1, 1, 0.2, 0.9, 0.8, 0.1], [6, 2]);
    const y = [0, 1, 1, 0, 1, 1];
    const loss = () => nn.functional.crossEntropy(model.call(x), y);
    const es = new optim.OnePlusOneES(model.parameters(), { lr: 0.1, generator: new Generator(2) });
    const first = es.step(loss);
    let last = first;
    for (let i = 0; i < 300; i++) last = es.step(loss);
    expect(last).toBeLessThan(first * 0.6);
  }));
});

describe.each(BACKEND_NAMES)('gradient clipping on %s', (name) => {
  const on = useBackend(name);

  it('clipGradNorm scales all gradients by maxNorm/(total + 1e-6) and returns the total norm', on(() => {
    const a = T([0, 0], [2], true);
    const b = T([0], [1], true);
    const c = T([0], [1], true);
    a.grad = T([3, 4], [2]);
    b.grad = T([12], [1]);
    expect(optim.clipGradNorm([a, b, c], 6.5)).toBeCloseTo(13, 5);
    const k = 6.5 / (13 + 1e-6);
    close(arr(a.grad), [3 * k, 4 * k]);
    close(arr(b.grad), [12 * k]);
    expect(c.grad).toBeNull();
    // Below the threshold nothing changes.
    expect(optim.clipGradNorm([a, b], 100)).toBeCloseTo(6.5, 4);
    close(arr(b.grad), [12 * k]);
    // Infinity norm and the 1-norm.
    a.grad = T([-5, 1], [2]);
    expect(optim.clipGradNorm(a, 2, Infinity)).toBe(5);
    close(arr(a.grad), [-5 * 2 / (5 + 1e-6), 2 / (5 + 1e-6)]);
    a.grad = T([-1, 2], [2]);
    expect(optim.clipGradNorm([a], 10, 1)).toBeCloseTo(3, 6);
    a.grad = T([Number.NaN, 1], [2]);
    expect(() => optim.clipGradNorm([a], 1, 2, { errorIfNonfinite: true })).toThrow(/non-finite/);
    a.grad = T([-3, 0.5], [2]);
    optim.clipGradValue([a], 1);
    expect(arr(a.grad)).toEqual([-1, 0.5]);
  }));
});
