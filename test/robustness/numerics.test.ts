/**
 * Divergence and numerical faults: NaN/Inf in the inputs, the loss, the gradients or the
 * parameters is detected where it arises (fit's checkNumerics, on by default) and stops training
 * with a DivergenceError naming the epoch, step, learning rate and, for gradients and parameters,
 * the parameter and its layer; for a non-finite loss, the first layer (by its path) whose output
 * went non-finite from a finite input, or the input batch, the loss function or a penalty. No NaN is ever written into a checkpoint: nn.save refuses it, so a
 * run that diverges with the checks off fails at the checkpoint and leaves the last good file.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as nn from '../../src/nn';
import * as optim from '../../src/optim';
import { Generator, defaultGenerator, manualSeed } from '../../src/tensor/random';
import { Tensor } from '../../src/tensor/tensor';
import { checkpoint } from '../../src/train/checkpoint';
import { DivergenceError, fit, type Batch } from '../../src/train/fit';
import { record } from './report';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lernen-numerics-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function data(n: number, batch: number, seed: number): Batch[] {
  let s = seed >>> 0;
  const r = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) - 0.5;
  const out: Batch[] = [];
  for (let i = 0; i < n; i += batch) {
    const x = Float32Array.from({ length: batch * 4 }, r);
    const y = Int32Array.from({ length: batch }, (_, j) => (x[4 * j]! > 0 ? 1 : 0) + (x[4 * j + 1]! > 0 ? 1 : 0));
    out.push({ x: new Tensor(x, [batch, 4]), y });
  }
  return out;
}

function mlp(): nn.Sequential {
  manualSeed(11);
  return new nn.Sequential(new nn.Linear(4, 8), new nn.BatchNorm1d(8), new nn.ReLU(), new nn.Linear(8, 3));
}

/** A layer whose gradient is infinite at its initial value: y = x + √a with a = 0. */
class SqrtShift extends nn.Module {
  a = new Tensor(new Float32Array(1), [1], true);
  forward(x: Tensor): Tensor { return x.add(this.a.sqrt()); }
}

async function divergence(p: Promise<unknown>): Promise<DivergenceError> {
  const e = await p.then(() => null, (err: unknown) => err);
  expect(e).toBeInstanceOf(DivergenceError);
  return e as DivergenceError;
}

const cases: Array<{ attack: string; outcome: string }> = [];

describe('NaN and Inf are caught where they arise', () => {
  it('in the input batch: before the forward pass, naming the sample; BatchNorm statistics untouched', async () => {
    for (const bad of [NaN, Infinity, -Infinity]) {
      const model = mlp();
      const batches = data(64, 16, 1);
      batches[2]!.x.data[4 * 5 + 3] = bad; // sample 5, element 3
      const bn = model.at(1) as nn.BatchNorm1d;
      let statsAtError: number[] = [];
      const opt = new optim.SGD(model.parameters(), { lr: 0.05 });
      const e = await divergence(fit(model, { train: batches, optimizer: opt, epochs: 1, callbacks: [{ onBatchEnd: () => { statsAtError = [...bn.runningMean!.data, ...bn.runningVar!.data]; } }] }));
      expect(e.message).toBe(`training stopped at epoch 1, step 3: the input batch holds ${bad} at sample 5, element 3 (lr 0.05); the data is corrupt, not the model`);
      expect(e.site).toEqual({ where: 'input' });
      expect([e.epoch, e.step, e.lr]).toEqual([1, 3, 0.05]);
      // The running statistics are what the last good step left.
      expect([...bn.runningMean!.data, ...bn.runningVar!.data]).toEqual(statsAtError);
      expect([...bn.runningMean!.data, ...bn.runningVar!.data].every(Number.isFinite)).toBe(true);
    }
    cases.push({ attack: 'NaN, +Inf, -Inf in one element of the 3rd input batch (MLP with BatchNorm)', outcome: 'DivergenceError before the forward pass naming step 3, sample 5, element 3 and lr; BatchNorm running stats unchanged and finite' });
  });

  it('in the loss: naming the step and lr', async () => {
    const model = mlp();
    let calls = 0;
    const loss = (o: Tensor, y: Int32Array) => { const l = nn.functional.crossEntropy(o, y); return ++calls === 4 ? l.add(new Tensor(Float32Array.of(NaN), [])) : l; };
    const e = await divergence(fit(model, { train: data(128, 16, 2), optimizer: new optim.Adam(model.parameters(), { lr: 0.01 }), epochs: 1, loss }));
    expect(e.message).toBe('training diverged at epoch 1, step 4: the loss is NaN (lr 0.01); the model\'s output is finite; the loss function returned NaN; lower the learning rate');
    expect(e.site).toEqual({ where: 'loss' });
    // An L2 penalty that overflows (one weight of 1e20 squared) while the model's output is finite.
    const big = mlp();
    big.parameters()[0]!.data[0] = 1e20;
    const p = await divergence(fit(big, { train: data(32, 16, 2), optimizer: new optim.SGD(big.parameters(), { lr: 0.01 }), epochs: 1, l2: 1 }));
    expect(p.message).toBe('training diverged at epoch 1, step 1: the loss is Infinity (lr 0.01); the model\'s output and the loss function are finite; the L1/L2 weight penalty is Infinity; lower the learning rate');
    cases.push({ attack: 'a loss that turns NaN at step 4; an L2 penalty that overflows', outcome: 'DivergenceError naming epoch 1, step 4, lr 0.01 and the loss function (the model\'s output being finite); for the penalty, the L1/L2 weight penalty' });
  });

  it('in a layer\'s output mid-network: naming the first layer whose output is not finite although its input is', async () => {
    manualSeed(5);
    // Two Linear layers with weights of 1e20: the first one's output (~1e20) is still finite,
    // the second overflows float32. Layer 3 runs fused with the ReLU after it in training.
    const model = new nn.Sequential(new nn.Linear(4, 8), new nn.Tanh(), new nn.Linear(8, 8), new nn.Linear(8, 8), new nn.ReLU(), new nn.Linear(8, 3));
    for (const i of [2, 3]) (model.at(i) as nn.Linear).weight.data.fill(1e20);
    const e = await divergence(fit(model, { train: data(64, 16, 7), optimizer: new optim.SGD(model.parameters(), { lr: 0.1 }), epochs: 1 }));
    expect(e.message).toMatch(/^training diverged at epoch 1, step 1: the loss is (NaN|Infinity) \(lr 0\.1\); the first non-finite value arose in layer 3: Linear, whose input was finite: its output holds -?Infinity at sample \d+, element \d+; lower the learning rate$/);
    expect(e.site).toEqual({ where: 'output', layer: '3: Linear' });
    expect(model.fuse).toBe(true); // the re-run's unfused mode is undone
    cases.push({ attack: 'two Linear layers with weights 1e20 mid-network (the second overflows float32 at step 1)', outcome: 'DivergenceError "the first non-finite value arose in layer 3: Linear, whose input was finite: its output holds Infinity at sample …" with step and lr' });
  });

  it('in a nested layer\'s output: named by its path; the re-run leaves BatchNorm statistics and random streams as the failing step left them', async () => {
    /** y = √x: NaN for the negative half of its input. */
    class Sqrt extends nn.Module { forward(x: Tensor): Tensor { return x.sqrt(); } }
    class Block extends nn.Module {
      fc = new nn.Linear(8, 8);
      act = new Sqrt();
      forward(x: Tensor): Tensor { return this.act.call(this.fc.call(x)); }
    }
    const build = () => {
      manualSeed(9);
      return new nn.Sequential(new nn.Linear(4, 8), new nn.BatchNorm1d(8), new nn.Dropout(0.3), new nn.Dropout(0.3, { generator: new Generator(4) }), new Block(), new nn.Linear(8, 3));
    };
    const model = build();
    const batches = data(32, 16, 8);
    const e = await divergence(fit(model, { train: batches, optimizer: new optim.SGD(model.parameters(), { lr: 0.2 }), epochs: 1 }));
    expect(e.message).toMatch(/^training diverged at epoch 1, step 1: the loss is NaN \(lr 0\.2\); the first non-finite value arose in layer 4\.act: Sqrt, whose input was finite: its output holds NaN at sample \d+, element \d+; lower the learning rate$/);
    expect(e.site).toEqual({ where: 'output', layer: '4.act: Sqrt' });
    const buffersAfter = model.namedBuffers().map(([k, t]) => [k, [...t.data]]);
    const streamsAfter = [[...defaultGenerator().state], [...((model.at(3) as unknown as { _generator: Generator })._generator.state)]];
    // The same model after exactly one training-mode forward pass of that batch.
    const twin = build();
    twin.forward(batches[0]!.x);
    expect(buffersAfter).toEqual(twin.namedBuffers().map(([k, t]) => [k, [...t.data]]));
    expect(streamsAfter).toEqual([[...defaultGenerator().state], [...((twin.at(3) as unknown as { _generator: Generator })._generator.state)]]);
    expect(Object.prototype.hasOwnProperty.call(model.at(4), 'forward')).toBe(false); // the probes are gone
    cases.push({ attack: 'a custom Sqrt layer inside a custom Block (NaN for negative inputs), after BatchNorm and two Dropouts', outcome: 'DivergenceError naming layer 4.act: Sqrt; BatchNorm statistics and both dropout streams as after one forward pass (the re-run is undone)' });
  });

  it('in a gradient: naming the parameter, its layer, the index, the step and lr', async () => {
    manualSeed(3);
    const model = new nn.Sequential(new nn.Linear(4, 3), new SqrtShift());
    const e = await divergence(fit(model, { train: data(32, 16, 3), optimizer: new optim.SGD(model.parameters(), { lr: 0.1 }), epochs: 1 }));
    expect(e.message).toMatch(/^training diverged at epoch 1, step 1: the gradient of 1\.a \(layer 1: SqrtShift\) is (-?Infinity|NaN) at index 0 \(lr 0\.1\); lower the learning rate or clip gradients$/);
    expect(e.site).toEqual({ where: 'gradient', parameter: '1.a', layer: '1: SqrtShift' });
    // The step was not taken: the parameter is still finite.
    expect(model.parameters().every((p) => p.data.every(Number.isFinite))).toBe(true);
    cases.push({ attack: 'a layer whose gradient is infinite (d√a/da at a = 0)', outcome: 'DivergenceError "the gradient of 1.a (layer 1: SqrtShift) is Infinity at index 0 (lr 0.1)" before the optimizer step' });
  });

  it('in a parameter after the optimizer step (finite gradient, overflowing update)', async () => {
    const model = mlp();
    const e = await divergence(fit(model, { train: data(64, 16, 4), optimizer: new optim.SGD(model.parameters(), { lr: 3e38, weightDecay: 10 }), epochs: 1 }));
    expect(e.message).toMatch(/^training diverged at epoch 1, step 1: the optimizer step made 0\.weight \(layer 0: Linear\) -?Infinity at index \d+ \(lr 3e\+38\); lower the learning rate$/);
    expect(e.site.where).toBe('parameter');
    cases.push({ attack: 'SGD with lr 3e38 and weight decay 10 (finite gradients, the update overflows)', outcome: 'DivergenceError "the optimizer step made 0.weight (layer 0: Linear) -Infinity at index … (lr 3e+38)" at step 1' });
  });

  it('checkNumerics: false skips the input, gradient and parameter checks but never the loss', async () => {
    const model = mlp();
    const batches = data(64, 16, 5);
    batches[1]!.x.data[0] = NaN;
    const e = await divergence(fit(model, { train: batches, optimizer: new optim.SGD(model.parameters(), { lr: 0.05 }), epochs: 1, checkNumerics: false }));
    // Found from the loss, and still traced back to the input.
    expect(e.message).toBe('training diverged at epoch 1, step 2: the loss is NaN (lr 0.05); the input batch holds NaN at sample 0, element 0; the data is corrupt, not the model');
    expect(e.site).toEqual({ where: 'input' });
  });
});

describe('no NaN reaches a checkpoint', () => {
  /** An optimizer that, at a given step, writes NaN into a weight after a normal update. */
  function faulty(model: nn.Module, atStep: number): optim.SGD {
    const o = new optim.SGD(model.parameters(), { lr: 0.05 });
    let n = 0;
    const step = o.step.bind(o);
    o.step = (...a: Parameters<typeof step>) => { const r = step(...a); if (++n === atStep) model.parameters()[2]!.data[1] = NaN; return r; };
    return o;
  }

  it('with the checks on: the step that makes the NaN fails, naming the parameter; the checkpoint keeps the last good epoch', async () => {
    const model = mlp();
    const dir = path.join(tmp, 'on');
    const ckpt = checkpoint({ dir, monitor: 'trainLoss' });
    // 4 batches per epoch: step 8 is the last step of epoch 2.
    const e = await divergence(fit(model, { train: data(64, 16, 6), optimizer: faulty(model, 8), epochs: 3, callbacks: [ckpt] }));
    expect(e.message).toMatch(/^training diverged at epoch 2, step 8: the optimizer step made 1\.weight \(layer 1: BatchNorm1d\) NaN at index 1 \(lr 0\.05\)/);
    const last = nn.load(ckpt.files.last);
    expect(last.meta.epoch).toBe(1);
    expect(Object.values(last.stateDict).every((t) => t.data.every(Number.isFinite))).toBe(true);
    cases.push({ attack: 'an optimizer step that writes NaN into a BatchNorm weight at the last step of epoch 2, checkpoint callback on', outcome: 'DivergenceError naming epoch 2, step 8, 1.weight (layer 1: BatchNorm1d), lr; last.lernen still holds epoch 1, all finite' });
  });

  it('with the checks off: nn.save refuses the NaN state through the checkpoint callback; the previous file stays', async () => {
    const model = mlp();
    const dir = path.join(tmp, 'off');
    const ckpt = checkpoint({ dir, monitor: 'trainLoss' });
    const e = await fit(model, { train: data(64, 16, 6), optimizer: faulty(model, 8), epochs: 3, callbacks: [ckpt], checkNumerics: false }).then(() => null, (err: unknown) => err);
    expect(e).toBeInstanceOf(nn.StateFileError);
    expect((e as Error).message).toMatch(/last\.lernen: tensor "1\.weight" holds a non-finite value \(NaN at index 1\)/);
    const last = nn.load(ckpt.files.last);
    expect(last.meta.epoch).toBe(1);
    expect(Object.values(last.stateDict).every((t) => t.data.every(Number.isFinite))).toBe(true);
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    cases.push({ attack: 'the same NaN with checkNumerics: false', outcome: 'the checkpoint callback\'s nn.save throws StateFileError naming last.lernen and tensor 1.weight; last.lernen still holds epoch 1, all finite; no temp file left' });
    for (const c of cases) record('numerics', { ...c, cases: 1 });
  });
});
