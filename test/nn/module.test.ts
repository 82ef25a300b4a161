import { describe, expect, it } from 'vitest';
import * as nn from '../../src/nn';
import { Module, StateDictError } from '../../src/nn';
import { Tensor } from '../../src/tensor/tensor';
import { BACKEND_NAMES, T, arr, useBackend } from './util';

class Net extends Module {
  fc1 = new nn.Linear(4, 3);
  act = new nn.ReLU();
  fc2 = new nn.Linear(3, 2, { bias: false });
  scale = new Tensor(Float32Array.of(2), [], true);
  _cache: Tensor | null = null;
  forward(x: Tensor): Tensor {
    return this.fc2.call(this.act.call(this.fc1.call(x))).mul(this.scale);
  }
}

describe.each(BACKEND_NAMES)('Module on %s', (name) => {
  const on = useBackend(name);

  it('collects parameters, buffers and children in registration order with PyTorch keys', on(() => {
    const m = new nn.Sequential(new nn.Linear(4, 3), new nn.ReLU(), new nn.BatchNorm1d(3), new nn.Linear(3, 2));
    expect(m.namedParameters().map(([k]) => k)).toEqual(['0.weight', '0.bias', '2.weight', '2.bias', '3.weight', '3.bias']);
    expect(m.namedBuffers().map(([k]) => k)).toEqual(['2.runningMean', '2.runningVar', '2.numBatchesTracked']);
    expect(Object.keys(m.stateDict())).toEqual([
      '0.weight', '0.bias', '2.weight', '2.bias', '2.runningMean', '2.runningVar', '2.numBatchesTracked', '3.weight', '3.bias',
    ]);
    expect(m.parameters().every((p) => p.requiresGrad)).toBe(true);
    expect(m.buffers().some((b) => b.requiresGrad)).toBe(false);
    expect(m.children().length).toBe(4);
    expect(m.namedModules().map(([k]) => k)).toEqual(['', '0', '1', '2', '3']);
    expect(m.numParameters()).toBe(4 * 3 + 3 + 3 + 3 + 3 * 2 + 2);
  }));

  it('registers fields of user subclasses (modules, requiresGrad tensors), skipping _private ones', on(() => {
    const net = new Net();
    expect(net.namedParameters().map(([k]) => k)).toEqual(['scale', 'fc1.weight', 'fc1.bias', 'fc2.weight']);
    expect(net.namedChildren().map(([k]) => k)).toEqual(['fc1', 'act', 'fc2']);
    const y = net.call(T([1, 2, 3, 4, -1, -2, -3, -4], [2, 4]));
    expect(y.shape).toEqual([2, 2]);
    // Reassigning a child is picked up.
    net.fc2 = new nn.Linear(3, 2);
    expect(net.namedParameters().map(([k]) => k)).toContain('fc2.bias');
  }));

  it('train()/eval() propagate the training flag to every descendant', on(() => {
    const m = new nn.Sequential(new nn.Linear(2, 2), new nn.Sequential(new nn.Dropout(0.5), new nn.BatchNorm1d(2)));
    expect(m.modules().every((x) => x.training)).toBe(true);
    expect(m.eval()).toBe(m);
    expect(m.modules().every((x) => !x.training)).toBe(true);
    m.train();
    expect(m.modules().every((x) => x.training)).toBe(true);
  }));

  it('zeroGrad sets gradients to null (or zeros), apply visits children first', on(() => {
    const m = new nn.Sequential(new nn.Linear(3, 2), new nn.Linear(2, 1));
    m.call(T([1, 2, 3], [1, 3])).sum().backward();
    expect(m.parameters().every((p) => p.grad !== null)).toBe(true);
    m.zeroGrad(false);
    expect(m.parameters().every((p) => p.grad!.data.every((v) => v === 0))).toBe(true);
    m.zeroGrad();
    expect(m.parameters().every((p) => p.grad === null)).toBe(true);
    const seen: string[] = [];
    m.apply((x) => seen.push(x.constructor.name));
    expect(seen).toEqual(['Linear', 'Linear', 'Sequential']);
    m.apply((x) => { if (x instanceof nn.Linear) nn.init.zeros(x.weight); });
    expect(m.parameters()[0]!.data.every((v) => v === 0)).toBe(true);
  }));

  it('shared weights appear once in parameters() but under both names in stateDict()', on(() => {
    const a = new nn.Linear(2, 2);
    const m = new nn.Sequential(a, new nn.ReLU(), a);
    expect(m.parameters().length).toBe(2);
    expect(Object.keys(m.stateDict())).toEqual(['0.weight', '0.bias', '2.weight', '2.bias']);
  }));

  it('stateDict shares storage by default and snapshots with { copy: true }', on(() => {
    const m = new nn.Linear(2, 2);
    const shared = m.stateDict();
    const copy = m.stateDict({ copy: true });
    m.weight.data[0] = 42;
    expect(shared.weight!.data[0]).toBe(42);
    expect(copy.weight!.data[0]).not.toBe(42);
  }));

  it('loadStateDict copies in place and round-trips outputs', on(() => {
    const a = new nn.Sequential(new nn.Linear(3, 4), new nn.ReLU(), new nn.BatchNorm1d(4), new nn.Linear(4, 2));
    const b = new nn.Sequential(new nn.Linear(3, 4), new nn.ReLU(), new nn.BatchNorm1d(4), new nn.Linear(4, 2));
    const x = T([0.1, -0.2, 0.3, 0.5, 0.4, -0.6, 1, 2, 3], [3, 3]);
    a.call(x); // updates running stats
    a.eval();
    b.eval();
    const weightRef = b.parameters()[0]!;
    expect(b.loadStateDict(a.stateDict({ copy: true }))).toEqual({ missingKeys: [], unexpectedKeys: [] });
    expect(b.parameters()[0]).toBe(weightRef);
    expect(arr(b.call(x))).toEqual(arr(a.call(x)));
  }));

  it('loadStateDict rejects missing, unexpected, non-tensor and mis-shaped entries and changes nothing', on(() => {
    const m = new nn.Sequential(new nn.Linear(3, 4), new nn.Linear(4, 2));
    const before = m.stateDict({ copy: true });
    const good = () => m.stateDict({ copy: true });
    const expectUnchanged = () => {
      for (const [k, t] of Object.entries(m.stateDict())) expect(arr(t), k).toEqual(arr(before[k]!));
    };
    const bad1 = good();
    delete bad1['1.bias'];
    bad1['0.weight']!.data.fill(7);
    expect(() => m.loadStateDict(bad1)).toThrow(StateDictError);
    expect(() => m.loadStateDict(bad1)).toThrow(/missing keys: "1\.bias"/);
    expectUnchanged();
    const bad2: Record<string, Tensor> = { ...good(), extra: T([1], [1]) };
    bad2['0.weight']!.data.fill(7);
    expect(() => m.loadStateDict(bad2)).toThrow(/unexpected keys: "extra"/);
    expectUnchanged();
    const bad3 = good();
    bad3['0.weight'] = T(new Array(12).fill(7), [3, 4]);
    expect(() => m.loadStateDict(bad3)).toThrow(/size mismatch for "0\.weight": the state has shape \[3, 4\], the model has \[4, 3\]/);
    expectUnchanged();
    const bad4 = good() as Record<string, unknown>;
    bad4['0.bias'] = [1, 2, 3, 4];
    expect(() => m.loadStateDict(bad4 as never)).toThrow(/value for "0\.bias" is not a Tensor/);
    expectUnchanged();
    // strict: false tolerates missing/unexpected keys but loads the rest.
    const partial = { '0.bias': T([1, 2, 3, 4], [4]), other: T([1], [1]) };
    expect(m.loadStateDict(partial, { strict: false }).unexpectedKeys).toEqual(['other']);
    expect(arr((m.at(0) as nn.Linear).bias!)).toEqual([1, 2, 3, 4]);
  }));

  it('toString looks like PyTorch repr', on(() => {
    const m = new nn.Sequential(new nn.Conv2d(1, 32, 3), new nn.ReLU(), new nn.Flatten(), new nn.Linear(10, 2), new nn.Dropout(0.25));
    expect(m.toString()).toBe([
      'Sequential(',
      '  (0): Conv2d(1, 32, kernelSize=[3, 3], stride=[1, 1])',
      '  (1): ReLU()',
      '  (2): Flatten(startDim=1, endDim=-1)',
      '  (3): Linear(inFeatures=10, outFeatures=2, bias=true)',
      '  (4): Dropout(p=0.25)',
      ')',
    ].join('\n'));
    const r = new nn.Residual(new nn.Sequential(new nn.Linear(2, 2)));
    expect(r.toString()).toBe('Residual(\n  (block): Sequential(\n    (0): Linear(inFeatures=2, outFeatures=2, bias=true)\n  )\n)');
  }));

  it('registration validates names and kinds', on(() => {
    const m = new nn.Identity();
    expect(() => m.registerParameter('a.b', T([1], [1]))).toThrow(/without '\.'/);
    m.registerBuffer('buf', T([1], [1]));
    expect(() => m.registerParameter('buf', T([1], [1]))).toThrow(/already a buffer/);
    const t = T([1], [1], true);
    expect(() => m.registerParameter('p', t.mul(2))).toThrow(/leaf/);
    expect(Object.keys(m.stateDict())).toEqual(['buf']);
  }));
});
