import { describe, expect, it } from 'vitest';
import * as nn from '../../src/nn';
import * as optim from '../../src/optim';
import { manualSeed } from '../../src/tensor/random';
import { lcg } from '../helpers/gradcheck';
import { Tensor } from '../../src/tensor/tensor';
import { BACKEND_NAMES, useBackend } from './util';

/** The network of PyTorch's examples/mnist/main.py. */
function mnistNet(): nn.Sequential {
  return new nn.Sequential(
    new nn.Conv2d(1, 32, 3), new nn.ReLU(),
    new nn.Conv2d(32, 64, 3), new nn.ReLU(),
    new nn.MaxPool2d(2), new nn.Dropout(0.25), new nn.Flatten(),
    new nn.Linear(9216, 128), new nn.ReLU(), new nn.Dropout(0.5),
    new nn.Linear(128, 10),
  );
}

describe.each(BACKEND_NAMES)('PyTorch MNIST example network on %s', (name) => {
  const on = useBackend(name);

  it('has PyTorch\'s parameter count and shapes, and SGD lowers the loss on a random batch', on(() => {
    manualSeed(0);
    const model = mnistNet();
    expect(model.numParameters()).toBe(1199882);
    expect(model.namedParameters().map(([k, t]) => `${k}:${t.shape.join('x')}`)).toEqual([
      '0.weight:32x1x3x3', '0.bias:32', '2.weight:64x32x3x3', '2.bias:64', '7.weight:128x9216', '7.bias:128', '10.weight:10x128', '10.bias:10',
    ]);
    const r = lcg(1);
    const x = new Tensor(Float32Array.from({ length: 2 * 28 * 28 }, () => r()), [2, 1, 28, 28]);
    const y = Int32Array.of(3, 7);
    const opt = new optim.SGD(model.parameters(), { lr: 0.02 });
    const losses: number[] = [];
    for (let step = 0; step < 8; step++) {
      opt.zeroGrad();
      const out = model.call(x);
      expect(out.shape).toEqual([2, 10]);
      const loss = nn.functional.crossEntropy(out, y);
      loss.backward();
      opt.step();
      losses.push(loss.item());
    }
    expect(losses[0]).toBeGreaterThan(1.5); // ≈ ln 10 at init
    expect(losses[losses.length - 1]!).toBeLessThan(losses[0]! * 0.8);
    model.eval();
    const final = nn.functional.crossEntropy(model.call(x), y).item();
    expect(final).toBeLessThan(losses[0]!);
  }));
});
