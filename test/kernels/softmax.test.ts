import { describe, expect, it } from 'vitest';
import { BACKENDS, JS, NATIVE } from '../helpers/backends';
import { expectClose, guardedF32, inputF32, inputI32 } from '../helpers/close';
import { numericVjp } from '../helpers/fd';
import {
  randomF32, randomInts, refSoftmax, refSoftmaxBackward, refSoftmaxCE, refSoftmaxCEBackward,
} from '../helpers/reference';

const EACH = BACKENDS.map((b) => [b.name, b] as const);
const SIZES: [number, number, number][] = [
  [1, 1, 1], [1, 2, 1], [3, 10, 1], [2, 7, 3], [4, 1, 5], [1, 1000, 1], [5, 13, 17], [0, 3, 2],
];

describe.each(EACH)('softmax on %s', (_name, be) => {
  it.each([false, true])('forward (log=%s) matches the reference', (log) => {
    let seed = 1;
    for (const [outer, dim, inner] of SIZES) {
      const n = outer * dim * inner;
      const x = randomF32(n, (seed += 1), -5, 5);
      const out = guardedF32(n);
      be.softmax(inputF32(x), outer, dim, inner, out.buf, log);
      out.check();
      expectClose(out.data, refSoftmax(x, outer, dim, inner, log), {
        rtol: 2e-6, atol: 1e-7, label: `${be.name} softmax log=${log} ${outer},${dim},${inner}`,
      });
    }
  });

  it('is stable for huge logits', () => {
    const x = new Float32Array([1e30, 1e30, -1e30, 3e38, 3e38, 0]);
    const out = new Float32Array(6);
    be.softmax(x, 2, 3, 1, out, false);
    expect(Array.from(out).every(Number.isFinite)).toBe(true);
    expectClose(out, [0.5, 0.5, 0, 0.5, 0.5, 0], { rtol: 1e-6, atol: 1e-7 });
    be.softmax(new Float32Array([1000, 0, -1000]), 1, 3, 1, out, true);
    expectClose(out.subarray(0, 3), [0, -1000, -2000], { rtol: 1e-6, atol: 1e-6 });
  });

  it.each([false, true])('backward (log=%s) matches the reference and finite differences', (log) => {
    let seed = 50;
    for (const [outer, dim, inner] of SIZES) {
      const n = outer * dim * inner;
      const x = randomF32(n, (seed += 1), -3, 3);
      const dy = randomF32(n, seed + 100);
      const y = new Float32Array(n);
      be.softmax(x, outer, dim, inner, y, log);
      const dx = guardedF32(n);
      be.softmaxBackward(inputF32(y), inputF32(dy), outer, dim, inner, dx.buf, log);
      dx.check();
      expectClose(dx.data, refSoftmaxBackward(y, dy, outer, dim, inner, log), {
        rtol: 1e-5, atol: 1e-6, label: `${be.name} softmaxBackward ${outer},${dim},${inner}`,
      });
      if (n > 0 && n <= 300) {
        const fd = numericVjp((v) => refSoftmax(v, outer, dim, inner, log), Float64Array.from(x), dy);
        expectClose(dx.data, fd, { rtol: 1e-4, atol: 2e-5, label: `${be.name} softmax FD` });
      }
    }
  });

  it('backward: dx may alias dy', () => {
    const x = randomF32(24, 9), dy = randomF32(24, 10);
    for (const log of [false, true]) {
      const y = new Float32Array(24);
      be.softmax(x, 2, 4, 3, y, log);
      const dx = new Float32Array(24);
      be.softmaxBackward(y, dy, 2, 4, 3, dx, log);
      const g = Float32Array.from(dy);
      be.softmaxBackward(y, g, 2, 4, 3, g, log);
      expect(Array.from(g)).toEqual(Array.from(dx));
    }
  });
});

describe.each(EACH)('softmaxCrossEntropy on %s', (_name, be) => {
  const CE_SIZES: [number, number][] = [[1, 1], [1, 2], [4, 10], [7, 3], [128, 10], [3, 1000], [0, 5]];

  it.each([0, 0.1, 0.5])('forward and backward with label smoothing %s', (eps) => {
    let seed = 7;
    for (const [n, c] of CE_SIZES) {
      const logits = randomF32(n * c, (seed += 1), -4, 4);
      const targets = randomInts(n, c, seed + 50);
      const loss = guardedF32(n), probs = guardedF32(n * c);
      be.softmaxCrossEntropy(inputF32(logits), inputI32(targets), n, c, eps, loss.buf, probs.buf);
      loss.check('loss');
      probs.check('probs');
      const ref = refSoftmaxCE(logits, targets, n, c, eps);
      expectClose(loss.data, ref.loss, { rtol: 2e-6, atol: 2e-6, label: `${be.name} CE loss ${n}×${c} ε=${eps}` });
      expectClose(probs.data, ref.probs, { rtol: 2e-6, atol: 1e-7, label: `${be.name} CE probs ${n}×${c}` });
      const dloss = randomF32(n, seed + 70, 0.1, 2);
      const d = guardedF32(n * c);
      be.softmaxCrossEntropyBackward(inputF32(probs.data), inputI32(targets), inputF32(dloss), n, c, eps, d.buf);
      d.check('dlogits');
      expectClose(d.data, refSoftmaxCEBackward(probs.data, targets, dloss, n, c, eps), {
        rtol: 2e-6, atol: 1e-7, label: `${be.name} CE backward ${n}×${c}`,
      });
      if (n > 0 && n * c <= 100) {
        const fd = numericVjp((v) => refSoftmaxCE(v, targets, n, c, eps).loss, Float64Array.from(logits), dloss);
        expectClose(d.data, fd, { rtol: 1e-4, atol: 2e-5, label: `${be.name} CE FD` });
      }
    }
  });

  it('a hand-computed example: logits [0, ln 3], target 1, ε = 0.2', () => {
    // p = [1/4, 3/4]; q = [0.1, 0.9]; loss = −0.1·ln(1/4) − 0.9·ln(3/4).
    const loss = new Float32Array(1), probs = new Float32Array(2);
    be.softmaxCrossEntropy(new Float32Array([0, Math.log(3)]), new Int32Array([1]), 1, 2, 0.2, loss, probs);
    expect(loss[0]).toBeCloseTo(-0.1 * Math.log(0.25) - 0.9 * Math.log(0.75), 6);
    expectClose(probs, [0.25, 0.75], { rtol: 1e-6 });
    const d = new Float32Array(2);
    be.softmaxCrossEntropyBackward(probs, new Int32Array([1]), new Float32Array([2]), 1, 2, 0.2, d);
    expectClose(d, [2 * (0.25 - 0.1), 2 * (0.75 - 0.9)], { rtol: 1e-6 });
  });

  it('is stable for huge logits and backward may write over probs', () => {
    const logits = new Float32Array([1e30, -1e30, 0, 3e38, 3e38, -3e38]);
    const loss = new Float32Array(2), probs = new Float32Array(6);
    be.softmaxCrossEntropy(logits, new Int32Array([0, 2]), 2, 3, 0.1, loss, probs);
    expect(Number.isFinite(loss[0])).toBe(true);
    expect(loss[1]).toBe(Infinity); // target logit is 6e38 below the max: log p = −∞ in float32
    expectClose(probs, [1, 0, 0, 0.5, 0.5, 0], { rtol: 1e-6, atol: 1e-7 });
    const p = randomF32(12, 3, 0, 1);
    const t = new Int32Array([0, 3, 1]);
    const dl = new Float32Array([1, 0.5, 2]);
    const d = new Float32Array(12);
    be.softmaxCrossEntropyBackward(p, t, dl, 3, 4, 0.1, d);
    be.softmaxCrossEntropyBackward(p, t, dl, 3, 4, 0.1, p);
    expect(Array.from(p)).toEqual(Array.from(d));
  });
});

describe.runIf(NATIVE)('softmax family: native vs js directly', () => {
  it('softmax, softmaxBackward and softmax-CE agree', () => {
    for (const [outer, dim, inner] of SIZES) {
      const n = outer * dim * inner;
      const x = randomF32(n, 3, -5, 5), dy = randomF32(n, 4);
      for (const log of [false, true]) {
        const yn = new Float32Array(n), yj = new Float32Array(n);
        NATIVE!.softmax(x, outer, dim, inner, yn, log);
        JS.softmax(x, outer, dim, inner, yj, log);
        expectClose(yn, yj, { rtol: 4e-6, atol: 1e-7, label: `softmax ${outer},${dim},${inner} log=${log}` });
        const dn = new Float32Array(n), dj = new Float32Array(n);
        NATIVE!.softmaxBackward(yj, dy, outer, dim, inner, dn, log);
        JS.softmaxBackward(yj, dy, outer, dim, inner, dj, log);
        expectClose(dn, dj, { rtol: 2e-5, atol: 1e-6, label: `softmaxBackward ${outer},${dim},${inner} log=${log}` });
      }
    }
    const logits = randomF32(64 * 10, 5, -4, 4), t = randomInts(64, 10, 6);
    const ln = new Float32Array(64), lj = new Float32Array(64);
    const pn = new Float32Array(640), pj = new Float32Array(640);
    NATIVE!.softmaxCrossEntropy(logits, t, 64, 10, 0.1, ln, pn);
    JS.softmaxCrossEntropy(logits, t, 64, 10, 0.1, lj, pj);
    expectClose(ln, lj, { rtol: 4e-6, atol: 2e-6 });
    expectClose(pn, pj, { rtol: 4e-6, atol: 1e-7 });
  });
});
