/**
 * The buffer pool behind the tensor ops: a warmed-up training step of a Sequential of built-in
 * layers allocates no new large buffer, reuse never changes a result, and nothing user code can
 * reach is ever handed out again.
 */
import { describe, expect, it } from 'vitest';
import { getBackend, getNumThreads, setBackend, setNumThreads } from '../../src/backend';
import * as nn from '../../src/nn';
import { SGD } from '../../src/optim/sgd';
import { manualSeed } from '../../src/tensor/random';
import { alloc, emptyPool, memoryStats, release, releaseAll, resetMemoryStats, setPooling } from '../../src/tensor/pool';
import { Tensor } from '../../src/tensor/tensor';
import { softmaxCrossEntropy } from '../../src/tensor/functional';
import { fit, type Batch } from '../../src/train/fit';
import { BACKENDS, NATIVE } from '../helpers/backends';
import { lcg } from '../helpers/gradcheck';

const EACH = BACKENDS.map((b) => [b.name, b.name] as const);

function batches(n: number, bs: number, shape: number[], classes: number, seed: number): Batch[] {
  const r = lcg(seed);
  const per = shape.reduce((a, b) => a * b, 1);
  return Array.from({ length: n }, () => ({
    x: new Tensor(Float32Array.from({ length: bs * per }, () => r()), [bs, ...shape]),
    y: Int32Array.from({ length: bs }, () => Math.floor(r() * classes)),
  }));
}

const mlp = () => new nn.Sequential(
  new nn.Flatten(), new nn.Linear(196, 256), new nn.ReLU(), new nn.Dropout(0.2),
  new nn.Linear(256, 256), new nn.ReLU(), new nn.Dropout(0.2), new nn.Linear(256, 10));
const cnn = () => new nn.Sequential(
  new nn.Conv2d(1, 8, 3), new nn.ReLU(), new nn.Conv2d(8, 16, 3), new nn.ReLU(), new nn.MaxPool2d(2),
  new nn.Dropout(0.25), new nn.Flatten(), new nn.Linear(16 * 5 * 5, 32), new nn.ReLU(), new nn.Dropout(0.5),
  new nn.Linear(32, 10));

const block = (ch: number) => new nn.Residual(new nn.Sequential(
  new nn.Conv2d(ch, ch, 3, { padding: 1, bias: false }), new nn.BatchNorm2d(ch), new nn.ReLU(),
  new nn.Conv2d(ch, ch, 3, { padding: 1, bias: false }), new nn.BatchNorm2d(ch)));
/** Batch norm and residual blocks, one with a projection (the shape of the resnet preset). */
const resnet = () => new nn.Sequential(
  new nn.Conv2d(1, 8, 3, { padding: 1, bias: false }), new nn.BatchNorm2d(8), new nn.ReLU(), new nn.MaxPool2d(2),
  block(8), new nn.ReLU(),
  new nn.Residual(new nn.Sequential(new nn.Conv2d(8, 16, 3, { padding: 1 }), new nn.ReLU()), { projection: new nn.Conv2d(8, 16, 1) }),
  new nn.Flatten(), new nn.BatchNorm1d(16 * 7 * 7), new nn.Linear(16 * 7 * 7, 10));

/** Trains two epochs with fit(); `fresh`: with the pool off (every buffer a new, zeroed one). */
async function train(make: () => nn.Module, data: Batch[], fresh: boolean): Promise<Float32Array[]> {
  manualSeed(5);
  const model = make();
  const opt = new SGD(model.parameters(), { lr: 0.05, momentum: 0.9 });
  const prev = setPooling(!fresh);
  try {
    await fit(model, { train: data, optimizer: opt, epochs: 2 });
  } finally {
    setPooling(prev);
  }
  return model.parameters().map((p) => p.data.slice());
}

describe.each(EACH)('buffer pool on %s', (_label, name) => {
  const withBackend = async <T>(f: () => Promise<T>): Promise<T> => {
    const prev = getBackend();
    setBackend(name);
    try { return await f(); } finally { setBackend(prev); }
  };

  it('a warmed-up training step allocates no large buffer (MLP, CNN, batch norm and residual blocks)', async () => {
    await withBackend(async () => {
      for (const [make, data] of [
        [mlp, batches(4, 64, [1, 14, 14], 10, 1)],
        [cnn, batches(3, 16, [1, 14, 14], 10, 2)],
        [resnet, batches(3, 64, [1, 14, 14], 10, 6)],  // activations of 100-400 KB
      ] as const) {
        manualSeed(1);
        const model = make();
        const opt = new SGD(model.parameters(), { lr: 0.01, momentum: 0.9 });
        await fit(model, { train: data.slice(0, 2), optimizer: opt });
        resetMemoryStats();
        await fit(model, { train: data, optimizer: opt });
        const s = memoryStats();
        expect(s.largeAllocations).toBe(0);
        expect(s.reused).toBeGreaterThan(0);
      }
    });
  });

  it('reusing buffers changes no result (bit-identical to fresh buffers every step)', async () => {
    await withBackend(async () => {
      for (const [make, data] of [
        [mlp, batches(3, 32, [1, 14, 14], 10, 3)],
        [cnn, batches(3, 8, [1, 14, 14], 10, 4)],
        [resnet, batches(3, 8, [1, 14, 14], 10, 7)],
      ] as const) {
        const reused = await train(make, data, false);
        const fresh = await train(make, data, true);
        reused.forEach((p, i) => expect(Array.from(p)).toEqual(Array.from(fresh[i]!)));
      }
    });
  });

  it('never recycles what user code holds: outputs, inputs, retained gradients, leaf gradients', async () => {
    await withBackend(async () => {
      manualSeed(2);
      const model = mlp();
      const data = batches(4, 32, [1, 14, 14], 10, 5);
      const kept: Array<{ t: Tensor; copy: Float32Array }> = [];
      for (const { x, y } of data) {
        const out = model.forward(x);
        const loss = softmaxCrossEntropy(out, y);
        loss.backward();
        kept.push({ t: out, copy: out.data.slice() }, { t: x, copy: x.data.slice() });
        for (const p of model.parameters()) kept.push({ t: p.grad!, copy: p.grad!.data.slice() });
        for (const p of model.parameters()) p.grad = null;
      }
      for (const { t, copy } of kept) expect(Array.from(t.data)).toEqual(Array.from(copy));
    });
  });

  it('never recycles the output of a residual branch that user code may hold', async () => {
    await withBackend(async () => {
      manualSeed(3);
      // A custom block (not a built-in) keeps its outputs: the Residual must leave them alone.
      class Keeping extends nn.Module {
        lin = new nn.Linear(32, 32);
        seen: Array<{ t: Tensor; copy: Float32Array }> = [];
        forward(x: Tensor): Tensor {
          const y = this.lin.call(x).relu();
          this.seen.push({ t: y, copy: y.data.slice() });
          return y;
        }
      }
      const keep = new Keeping();
      const model = new nn.Sequential(new nn.Linear(64, 32), new nn.ReLU(), new nn.Residual(keep), new nn.ReLU(), new nn.Linear(32, 10));
      const opt = new SGD(model.parameters(), { lr: 0.01 });
      await fit(model, { train: batches(4, 256, [64], 10, 8), optimizer: opt, epochs: 2 });
      expect(keep.seen.length).toBe(8);
      for (const { t, copy } of keep.seen) expect(Array.from(t.data)).toEqual(Array.from(copy));
    });
  });
});

describe('buffer pool', () => {
  it('hands a buffer released twice out only once', () => {
    emptyPool();
    const a = alloc(1 << 14);
    release(a);
    release(a);
    releaseAll([a, a.subarray(0)]);
    const b = alloc(1 << 14), c = alloc(1 << 14);
    expect(b.buffer).toBe(a.buffer);
    expect(c.buffer).not.toBe(a.buffer);
  });

  it('ignores partial views and small buffers, counts large fresh allocations', () => {
    emptyPool();
    resetMemoryStats();
    const big = alloc(1 << 16);
    release(big.subarray(1));
    release(alloc(100));
    expect(memoryStats().pooledBytes).toBe(0);
    expect(memoryStats().largeAllocations).toBe(1);
    release(big);
    expect(memoryStats().pooledBytes).toBe(big.byteLength);
    alloc(1 << 16);
    expect(memoryStats()).toMatchObject({ largeAllocations: 1, reused: 1, pooledBytes: 0 });
  });

  it('reshape passes its gradient buffer on only to an intermediate, unretained input', () => {
    const v = (n: number, k: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * k));
    const x = new Tensor(v(64 * 128, 1), [64, 128], true);
    const r = x.mul(2).reshape([128, 64]).retainGrad();
    r.mul(r).sum().backward();
    const rGrad = r.grad!.data.slice();
    const xGrad = x.grad!.data.slice();
    expect(Array.from(rGrad)).toEqual(Array.from(r.data, (a) => Math.fround(2 * a)));
    expect(Array.from(xGrad)).toEqual(Array.from(rGrad, (a) => Math.fround(2 * a)));
    // A leaf reshaped directly keeps a gradient of its own.
    const leaf = new Tensor(v(64 * 128, 2), [64, 128], true);
    leaf.reshape([8192]).mul(3).sum().backward();
    const leafGrad = leaf.grad!.data.slice();
    for (let i = 0; i < 3; i++) x.mul(2).reshape([128, 64]).relu().sum().backward();
    expect(Array.from(leaf.grad!.data)).toEqual(Array.from(leafGrad));
    expect(Array.from(r.grad!.data)).toEqual(Array.from(rGrad));
  });

  it('a retained intermediate gradient stays intact after backward', () => {
    const w = new Tensor(Float32Array.from({ length: 64 * 64 }, (_, i) => Math.sin(i)), [64, 64], true);
    const x = new Tensor(Float32Array.from({ length: 128 * 64 }, (_, i) => Math.cos(i)), [128, 64]);
    const h = x.matmul(w).retainGrad();
    h.relu().sum().backward();
    const copy = h.grad!.data.slice();
    // Churn the pool with same-sized buffers.
    for (let i = 0; i < 3; i++) x.matmul(w).relu().sum().backward();
    expect(Array.from(h.grad!.data)).toEqual(Array.from(copy));
  });
});

describe.runIf(NATIVE)('native training on several threads', () => {
  it('W1-sized steps give bit-identical parameters on 1 and 2 threads', async () => {
    const prevBackend = getBackend();
    setBackend('native');
    const prevThreads = getNumThreads();
    const data = batches(3, 128, [1, 28, 28], 10, 9);
    const make = () => new nn.Sequential(new nn.Flatten(), new nn.Linear(784, 512), new nn.ReLU(), new nn.Dropout(0.2),
      new nn.Linear(512, 512), new nn.ReLU(), new nn.Dropout(0.2), new nn.Linear(512, 10));
    try {
      const params: Float32Array[][] = [];
      for (const t of [1, 2]) {
        setNumThreads(t);
        params.push(await train(make, data, false));
      }
      params[0]!.forEach((p, i) => expect(Array.from(params[1]![i]!)).toEqual(Array.from(p)));
    } finally {
      setNumThreads(prevThreads);
      setBackend(prevBackend);
    }
  });
});
