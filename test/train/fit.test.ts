import { describe, expect, it } from 'vitest';
import { backend } from '../../src/backend';
import { isGradEnabled } from '../../src/tensor/autograd';
import { linear } from '../../src/tensor/functional';
import { Tensor } from '../../src/tensor/tensor';
import { earlyStopping, lambdaCallback, progress } from '../../src/train/callbacks';
import { diagnose } from '../../src/train/diagnose';
import { DivergenceError, evaluate, evaluateAsync, fit, type Batch, type BatchSource } from '../../src/train/fit';
import { History } from '../../src/train/history';
import { htmlReport, learningCurvesSvg } from '../../src/train/plot';
import '../helpers/backends';
import { lcg } from '../helpers/gradcheck';

/** A softmax regression model built directly on tensor ops (no nn dependency). */
class Softmax2 {
  training = true;
  modes: string[] = [];
  w: Tensor;
  b: Tensor;
  constructor(inF: number, classes: number) {
    const r = lcg(3);
    this.w = new Tensor(Float32Array.from({ length: inF * classes }, () => (r() - 0.5) * 0.1), [classes, inF], true);
    this.b = new Tensor(new Float32Array(classes), [classes], true);
  }
  forward(x: Tensor): Tensor {
    this.modes.push(`${this.training ? 'train' : 'eval'}:${isGradEnabled() ? 'grad' : 'nograd'}`);
    return linear(x, this.w, this.b);
  }
  train() { this.training = true; return this; }
  eval() { this.training = false; return this; }
  parameters() { return [this.w, this.b]; }
  namedParameters(): Array<[string, Tensor]> { return [['weight', this.w], ['bias', this.b]]; }
  stateDict() { return { weight: this.w, bias: this.b }; }
}

class PlainSGD {
  paramGroups: Array<{ lr: number }>;
  constructor(private params: Tensor[], lr: number) { this.paramGroups = [{ lr }]; }
  zeroGrad() { for (const p of this.params) p.grad = null; }
  step() {
    for (const p of this.params) if (p.grad) backend().axpy(p.size, -this.paramGroups[0]!.lr, p.grad.data, p.data);
  }
}

/** Two Gaussian blobs per class in 2-D, 4 classes, as fixed batches. */
function blobs(n: number, batch: number, seed: number): BatchSource {
  const r = lcg(seed);
  const centers = [[2, 2], [-2, 2], [-2, -2], [2, -2]];
  const xs = new Float32Array(n * 2);
  const ys = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % 4;
    ys[i] = c;
    xs[2 * i] = centers[c]![0]! + (r() - 0.5);
    xs[2 * i + 1] = centers[c]![1]! + (r() - 0.5);
  }
  const batches: Batch[] = [];
  for (let s = 0; s < n; s += batch) {
    const e = Math.min(n, s + batch);
    batches.push({ x: new Tensor(xs.slice(2 * s, 2 * e), [e - s, 2]), y: ys.slice(s, e) });
  }
  return Object.assign(batches, { size: n });
}

describe('fit', () => {
  it('learns a separable problem and records learning curves', async () => {
    const model = new Softmax2(2, 4);
    const h = await fit(model, { train: blobs(256, 32, 1), val: blobs(64, 32, 2), optimizer: new PlainSGD(model.parameters(), 0.5), epochs: 5, recordSteps: true });
    expect(h.epochs).toHaveLength(5);
    expect(h.epochs[4]!.trainLoss).toBeLessThan(h.epochs[0]!.trainLoss);
    expect(h.epochs[4]!.valAccuracy).toBeGreaterThan(0.95);
    expect(h.steps).toHaveLength(5 * 8);
    expect(h.stopReason).toBe('completed');
    const csv = h.toCSV().trim().split('\n');
    expect(csv[0]).toBe('epoch,trainLoss,trainAccuracy,valLoss,valAccuracy,lr,seconds');
    expect(csv).toHaveLength(6);
    expect(History.fromJSON(JSON.parse(JSON.stringify(h.toJSON()))).epochs).toEqual(h.epochs);
  });

  it('trains in train mode with gradients and validates in eval mode without', async () => {
    const model = new Softmax2(2, 4);
    await fit(model, { train: blobs(64, 32, 1), val: blobs(32, 32, 2), optimizer: new PlainSGD(model.parameters(), 0.1), epochs: 1 });
    expect(model.modes).toEqual(['train:grad', 'train:grad', 'eval:nograd']);
    expect(model.training).toBe(true);
  });

  it('evaluateAsync: the same scores as evaluate, yielding between batches; an abort stops it after the batch in progress', async () => {
    const model = new Softmax2(2, 4);
    const data = blobs(320, 32, 4);
    const sync = evaluate(model, data);
    let ticks = 0;
    const timer = setInterval(() => { ticks++; }, 0);
    const passes: number[] = [];
    const counted: BatchSource = { *[Symbol.iterator]() { for (const b of data) { passes.push(ticks); const t = Date.now(); while (Date.now() - t < 2); yield b; } } };
    const r = await evaluateAsync(model, counted);
    expect(r).toEqual({ ...sync, aborted: false });
    // The timer ran between batches: the tick count grew along the pass.
    expect(passes.at(-1)! - passes[0]!).toBeGreaterThanOrEqual(passes.length / 2);
    const ac = new AbortController();
    let n = 0;
    const aborting: BatchSource = { *[Symbol.iterator]() { for (const b of data) { if (++n === 3) ac.abort(); yield b; } } };
    model.modes.length = 0;
    const cut = await evaluateAsync(model, aborting, undefined, { signal: ac.signal });
    clearInterval(timer);
    expect(cut.aborted).toBe(true);
    expect([n, cut.samples, model.modes.length]).toEqual([3, 96, 3]);
    expect(model.training).toBe(true);
    expect((await evaluateAsync(model, data, undefined, { signal: ac.signal })).samples).toBe(0);
  });

  it('supports the named losses mse and l1 and custom loss functions', async () => {
    for (const loss of ['mse', 'l1', (o: Tensor, y: Int32Array) => o.logSoftmax(1).mul(-1).mean().add(0 * y.length)] as const) {
      const model = new Softmax2(2, 4);
      const h = await fit(model, { train: blobs(128, 32, 1), optimizer: new PlainSGD(model.parameters(), 0.5), epochs: 2, loss });
      expect(Number.isFinite(h.epochs[1]!.trainLoss)).toBe(true);
    }
    const model = new Softmax2(2, 4);
    await expect(fit(model, { train: blobs(32, 32, 1), optimizer: new PlainSGD(model.parameters(), 0.1), loss: 'hinge' as never })).rejects.toThrow(/unknown loss 'hinge'/);
  });

  it('stops within one batch when the AbortSignal fires and leaves the model usable', async () => {
    const model = new Softmax2(2, 4);
    const ac = new AbortController();
    let batches = 0;
    const h = await fit(model, {
      train: blobs(640, 32, 1), optimizer: new PlainSGD(model.parameters(), 0.1), epochs: 3,
      callbacks: [{ onBatchEnd: (i) => { batches++; if (i.batch === 3) ac.abort(); } }], signal: ac.signal,
    });
    expect(batches).toBe(3);
    expect(h.stopReason).toBe('aborted');
    expect(evaluate(model, blobs(32, 32, 5)).accuracy).toBeGreaterThanOrEqual(0);
  });

  it('keeps the event loop turning: a timer fires between batches', async () => {
    const model = new Softmax2(2, 4);
    let ticks = 0;
    const timer = setInterval(() => { ticks++; }, 0);
    let batches = 0;
    await fit(model, { train: blobs(640, 32, 1), optimizer: new PlainSGD(model.parameters(), 0.1), epochs: 1, callbacks: [{ onBatchEnd: () => { batches++; const t = Date.now(); while (Date.now() - t < 3); } }] });
    clearInterval(timer);
    expect(batches).toBe(20);
    expect(ticks).toBeGreaterThanOrEqual(batches / 2);
  });

  it('stops cleanly when the wall-clock budget is spent', async () => {
    const model = new Softmax2(2, 4);
    const slow: Batch[] = [...blobs(6400, 32, 1)];
    const h = await fit(model, {
      train: slow, optimizer: new PlainSGD(model.parameters(), 0.1), epochs: 1000, timeBudgetMs: 150,
      callbacks: [{ onBatchEnd: () => { const t = Date.now(); while (Date.now() - t < 2); } }],
    });
    expect(h.stopReason).toBe('time budget');
    expect(h.seconds).toBeLessThan(2);
  });

  it('throws a DivergenceError naming the step and learning rate on a NaN loss', async () => {
    const model = new Softmax2(2, 4);
    const bad = blobs(64, 32, 1) as Batch[];
    bad[1]!.x.data[0] = NaN;
    // checkNumerics off: the input check would stop it earlier (see test/robustness/numerics).
    const err = await fit(model, { train: bad, optimizer: new PlainSGD(model.parameters(), 0.25), epochs: 1, checkNumerics: false }).catch((e) => e);
    expect(err).toBeInstanceOf(DivergenceError);
    expect(err.message).toMatch(/epoch 1, step 2: the loss is NaN \(lr 0.25\)/);
  });

  it('early stopping stops after `patience` epochs without improvement and restores the best weights', async () => {
    const model = new Softmax2(2, 4);
    let epoch = 0;
    const es = earlyStopping({ monitor: 'valLoss', patience: 2 });
    const fakeVal = [1.0, 0.5, 0.6, 0.7, 0.4];
    let bestW: Float32Array | null = null;
    const h = await fit(model, {
      train: blobs(64, 32, 1), optimizer: new PlainSGD(model.parameters(), 0.1), epochs: 5,
      callbacks: [{
        onEpochEnd: (r) => { r.valLoss = fakeVal[epoch++]!; if (r.epoch === 2) bestW = model.w.data.slice(); },
      }, es],
    });
    expect(h.epochs).toHaveLength(4);
    expect(h.stopReason).toBe('early stopping');
    expect(es.bestEpoch).toBe(2);
    expect(Array.from(model.w.data)).toEqual(Array.from(bestW!));
  });

  it('lambda callbacks can stop training; progress writes one line per epoch off a TTY', async () => {
    const model = new Softmax2(2, 4);
    const out: string[] = [];
    const stream = { write: (s: string) => { out.push(s); return true; }, isTTY: false } as unknown as NodeJS.WritableStream;
    const h = await fit(model, {
      train: blobs(64, 32, 1), optimizer: new PlainSGD(model.parameters(), 0.1), epochs: 5,
      callbacks: [progress({ stream, epochs: 5 }), lambdaCallback((r) => (r.epoch === 2 ? 'stop' : undefined))],
    });
    expect(h.epochs).toHaveLength(2);
    expect(out).toHaveLength(2);
    expect(out[0]).toMatch(/^epoch 1\/5 {2}train loss \d+\.\d{4} acc \d+\.\d\d%/);
  });

  it('validates its options', async () => {
    const model = new Softmax2(2, 4);
    const opt = new PlainSGD(model.parameters(), 0.1);
    await expect(fit(model, { train: blobs(32, 32, 1), optimizer: opt, epochs: -1 })).rejects.toThrow(/epochs must be a non-negative integer/);
    await expect(fit(model, { train: 5 as never, optimizer: opt })).rejects.toThrow(/train must be an iterable/);
    await expect(fit(model, { train: blobs(32, 32, 1), optimizer: opt, timeBudgetMs: 0 })).rejects.toThrow(/timeBudgetMs must be positive/);
    await expect(fit(model, { train: blobs(32, 32, 1), optimizer: opt, l2: -1 })).rejects.toThrow(/l2 must be a non-negative number/);
  });
});

function hist(rows: Array<[number, number, number, number]>): History {
  const h = new History();
  rows.forEach(([tl, ta, vl, va], i) => h.epochs.push({ epoch: i + 1, trainLoss: tl, trainAccuracy: ta, valLoss: vl, valAccuracy: va, lr: 0.1, seconds: 1 }));
  return h;
}

describe('diagnose', () => {
  it('says overfitting when validation loss rises while training loss falls', () => {
    const d = diagnose(hist([[0.5, 0.85, 0.4, 0.88], [0.3, 0.92, 0.3, 0.91], [0.2, 0.95, 0.35, 0.9], [0.1, 0.98, 0.45, 0.9]]));
    expect(d.verdict).toBe('overfitting');
    expect(d.message).toMatch(/since epoch 2 \(0.3000 → 0.4500\)/);
  });
  it('says overfitting when the accuracy gap is large and growing', () => {
    const d = diagnose(hist([[0.5, 0.9, 0.5, 0.89], [0.3, 0.95, 0.45, 0.9], [0.2, 0.99, 0.44, 0.9]]));
    expect(d.verdict).toBe('overfitting');
    expect(d.evidence.gap).toBeCloseTo(0.09, 6);
  });
  it('says underfitting when training accuracy stays low', () => {
    expect(diagnose(hist([[2, 0.3, 2, 0.3], [1.8, 0.4, 1.8, 0.41]])).verdict).toBe('underfitting');
  });
  it('says diverged on a non-finite or exploding loss', () => {
    expect(diagnose(hist([[2, 0.3, 2, 0.3], [NaN, 0.1, NaN, 0.1]])).verdict).toBe('diverged');
    expect(diagnose(hist([[2, 0.3, 2, 0.3], [9, 0.1, 9, 0.1]])).message).toMatch(/grew from 2.0000/);
  });
  it('says good fit otherwise, and too short without epochs', () => {
    expect(diagnose(hist([[0.3, 0.95, 0.3, 0.95], [0.2, 0.97, 0.22, 0.965]])).verdict).toBe('good fit');
    expect(diagnose(new History()).verdict).toBe('too short');
  });
});

describe('plots', () => {
  it('draws train and validation curves for loss and accuracy inside the plot area', () => {
    const h = hist([[0.5, 0.85, 0.4, 0.88], [0.3, 0.92, 0.3, 0.91], [0.2, 0.95, 0.35, 0.9]]);
    const svg = learningCurvesSvg(h);
    const paths = [...svg.matchAll(/<path class="series" data-name="([^"]+)" d="([^"]+)"/g)];
    expect(paths.map((p) => p[1])).toEqual(['train loss', 'validation loss', 'train accuracy', 'validation accuracy']);
    for (const p of paths) {
      const coords = [...p[2]!.matchAll(/[ML]([\d.]+),([\d.]+)/g)].map((m) => [Number(m[1]), Number(m[2])]);
      expect(coords).toHaveLength(3);
      for (const [x, y] of coords) {
        expect(x).toBeGreaterThanOrEqual(62);
        expect(x).toBeLessThanOrEqual(504);
        expect(y).toBeGreaterThanOrEqual(34);
        expect(y).toBeLessThanOrEqual(274);
      }
    }
    const html = htmlReport({ title: 'run <1>', history: h, diagnosis: diagnose(h), test: { loss: 0.3, accuracy: 0.9 } });
    expect(html).toContain('run &lt;1&gt;');
    expect(html).toContain('Test accuracy <b>90.00%</b>');
    expect(html).toContain('<svg');
  });
});
