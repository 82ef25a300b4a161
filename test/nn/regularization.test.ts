import { describe, expect, it } from 'vitest';
import * as nn from '../../src/nn';
import { gradcheck, randT } from '../helpers/gradcheck';
import { BACKEND_NAMES, T, arr, close, useBackend } from './util';

describe.each(BACKEND_NAMES)('ActivityRegularization on %s', (name) => {
  const on = useBackend(name);

  it('is the identity and records (l1·Σ|x| + l2·Σx²)/batch while training', on(() => {
    const reg = new nn.ActivityRegularization({ l1: 0.1, l2: 0.01 });
    const x = T([1, -2, 3, -4, 0, 5], [2, 3], true);
    expect(reg.call(x)).toBe(x);
    const expected = (0.1 * 15 + 0.01 * 55) / 2;
    expect(reg.penalty()!.item()).toBeCloseTo(expected, 6);
    expect(reg.regularizationLoss().item()).toBeCloseTo(expected, 6);
    reg.regularizationLoss().backward();
    // d/dx = (0.1·sign(x) + 0.02·x)/2
    close(arr(x.grad!), [1, -2, 3, -4, 0, 5].map((v) => (0.1 * Math.sign(v) + 0.02 * v) / 2), 1e-5);
    gradcheck((a) => { reg.call(a!); return reg.penalty()!; }, [randT([3, 4], 2)], { skip: () => false });
  }));

  it('regularizationLoss sums the penalties of all submodules from the last forward; zero in eval', on(() => {
    const model = new nn.Sequential(
      new nn.Linear(3, 4), new nn.ActivityRegularization({ l2: 0.5 }), new nn.ReLU(),
      new nn.Linear(4, 2), new nn.ActivityRegularization({ l1: 0.25 }),
    );
    expect(model.regularizationLoss().item()).toBe(0);
    const x = randT([5, 3], 7);
    const h = model.at(0).call(x);
    const y = model.call(x);
    const expected = (0.5 * arr(h).reduce((s, v) => s + v * v, 0) + 0.25 * arr(y).reduce((s, v) => s + Math.abs(v), 0)) / 5;
    const reg = model.regularizationLoss();
    expect(reg.item()).toBeCloseTo(expected, 5);
    // The penalty reaches the weights through the graph.
    nn.functional.mseLoss(y, randT([5, 2], 8, { grad: false })).add(reg).backward();
    expect(model.parameters().every((p) => p.grad !== null)).toBe(true);
    model.eval();
    model.call(x);
    expect(model.regularizationLoss().item()).toBe(0);
    expect(model.regularizationLoss().shape).toEqual([]);
  }));
});
