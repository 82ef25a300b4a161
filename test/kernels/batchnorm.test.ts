import { describe, expect, it } from 'vitest';
import type { Backend } from '../../src/backend/backend';
import { BACKENDS, JS, NATIVE } from '../helpers/backends';
import { expectClose, guardedF32, inputF32 } from '../helpers/close';
import { numericGrad, numericVjp } from '../helpers/fd';
import { randomF32, refBatchNorm } from '../helpers/reference';

const EACH = BACKENDS.map((b) => [b.name, b] as const);
/** [outer, channels, inner]: BatchNorm1d [N, C], [N, C, L], BatchNorm2d [N, C, H·W]. */
const SIZES: [number, number, number][] = [
  [2, 1, 1], [8, 3, 1], [1, 2, 2], [4, 5, 7], [3, 4, 25], [128, 16, 1], [2, 0, 3],
];

interface BnRun {
  out: Float32Array; saveMean: Float32Array; saveInvStd: Float32Array;
  runningMean: Float32Array; runningVar: Float32Array;
}

function run(be: Backend, x: Float32Array, outer: number, C: number, inner: number,
  gamma: Float32Array | null, beta: Float32Array | null, rm0: Float32Array, rv0: Float32Array,
  training: boolean, momentum: number, eps: number): BnRun {
  const n = outer * C * inner;
  const out = guardedF32(n), sm = guardedF32(C, new Float32Array(C).fill(-7));
  const si = guardedF32(C, new Float32Array(C).fill(-7));
  const rm = guardedF32(C, rm0), rv = guardedF32(C, rv0);
  be.batchNorm(inputF32(x), outer, C, inner, gamma && inputF32(gamma), beta && inputF32(beta),
    rm.buf, rv.buf, training, momentum, eps, out.buf, sm.buf, si.buf);
  for (const [g, l] of [[out, 'out'], [sm, 'saveMean'], [si, 'saveInvStd'], [rm, 'runningMean'], [rv, 'runningVar']] as const) {
    g.check(l);
  }
  return { out: out.data, saveMean: sm.data, saveInvStd: si.data, runningMean: rm.data, runningVar: rv.data };
}

describe.each(EACH)('batchNorm on %s', (_name, be) => {
  it.each([true, false])('training forward, saved stats and running stats (affine %s)', (affine) => {
    let seed = 1;
    for (const [outer, C, inner] of SIZES) {
      const x = randomF32(outer * C * inner, (seed += 1), -2, 3);
      const gamma = affine ? randomF32(C, seed + 1, 0.5, 2) : null;
      const beta = affine ? randomF32(C, seed + 2) : null;
      const rm0 = randomF32(C, seed + 3), rv0 = randomF32(C, seed + 4, 0.5, 2);
      const got = run(be, x, outer, C, inner, gamma, beta, rm0, rv0, true, 0.1, 1e-5);
      const ref = refBatchNorm(x, outer, C, inner, gamma, beta, rm0, rv0, true, 0.1, 1e-5);
      const l = `${be.name} ${outer},${C},${inner}`;
      expectClose(got.out, ref.out, { rtol: 1e-5, atol: 1e-5, label: `${l} out` });
      expectClose(got.saveMean, ref.mean, { rtol: 1e-6, atol: 1e-6, label: `${l} saveMean` });
      expectClose(got.saveInvStd, ref.invStd, { rtol: 1e-5, atol: 0, label: `${l} saveInvStd` });
      expectClose(got.runningMean, ref.runningMean, { rtol: 1e-6, atol: 1e-6, label: `${l} runningMean` });
      expectClose(got.runningVar, ref.runningVar, { rtol: 1e-5, atol: 1e-6, label: `${l} runningVar (unbiased)` });
    }
  });

  it('running variance uses the unbiased estimate (hand-computed)', () => {
    // One channel, values 1, 2, 3, 4: mean 2.5, biased var 1.25, unbiased 5/3.
    const got = run(be, new Float32Array([1, 2, 3, 4]), 4, 1, 1, null, null,
      new Float32Array([0]), new Float32Array([1]), true, 0.5, 0);
    expect(got.runningMean[0]).toBeCloseTo(1.25, 6);
    expect(got.runningVar[0]).toBeCloseTo(0.5 + 0.5 * (5 / 3), 6);
    expect(got.saveInvStd[0]).toBeCloseTo(1 / Math.sqrt(1.25), 6);
    expectClose(got.out, [-1.5, -0.5, 0.5, 1.5].map((v) => v / Math.sqrt(1.25)), { rtol: 1e-6 });
  });

  it('eval uses the running stats and leaves saveMean/saveInvStd and the running stats alone', () => {
    for (const [outer, C, inner] of SIZES) {
      const x = randomF32(outer * C * inner, 9);
      const gamma = randomF32(C, 10), beta = randomF32(C, 11);
      const rm0 = randomF32(C, 12), rv0 = randomF32(C, 13, 0.5, 2);
      const got = run(be, x, outer, C, inner, gamma, beta, rm0, rv0, false, 0.1, 1e-3);
      const ref = refBatchNorm(x, outer, C, inner, gamma, beta, rm0, rv0, false, 0.1, 1e-3);
      expectClose(got.out, ref.out, { rtol: 1e-5, atol: 1e-5 });
      expect(Array.from(got.runningMean)).toEqual(Array.from(rm0));
      expect(Array.from(got.runningVar)).toEqual(Array.from(rv0));
      expect(Array.from(got.saveMean).every((v) => v === -7)).toBe(true);
      expect(Array.from(got.saveInvStd).every((v) => v === -7)).toBe(true);
    }
  });

  it('stays accurate with a large common offset', () => {
    const x = randomF32(256, 14, 1000, 1001);
    const got = run(be, x, 64, 2, 2, null, null, new Float32Array(2), new Float32Array(2).fill(1), true, 0.1, 1e-5);
    const ref = refBatchNorm(x, 64, 2, 2, null, null, [0, 0], [1, 1], true, 0.1, 1e-5);
    expectClose(got.out, ref.out, { rtol: 1e-3, atol: 1e-3 });
  });

  it.each([true, false])('backward matches finite differences (affine %s), dgamma/dbeta accumulate', (affine) => {
    for (const [outer, C, inner] of [[4, 2, 3], [6, 3, 1], [2, 2, 5]] as const) {
      const n = outer * C * inner;
      const x = randomF32(n, 20, -2, 2), dy = randomF32(n, 21);
      const gamma = affine ? randomF32(C, 22, 0.5, 2) : null;
      const beta = affine ? randomF32(C, 23) : null;
      const fw = run(be, x, outer, C, inner, gamma, beta, new Float32Array(C), new Float32Array(C).fill(1), true, 0.1, 1e-5);
      const dx = guardedF32(n);
      const dg0 = randomF32(C, 24), db0 = randomF32(C, 25);
      const dg = guardedF32(C, dg0), db = guardedF32(C, db0);
      be.batchNormBackward(inputF32(x), inputF32(dy), outer, C, inner, gamma && inputF32(gamma),
        inputF32(fw.saveMean), inputF32(fw.saveInvStd), dx.buf, dg.buf, db.buf);
      dx.check('dx');
      dg.check('dgamma');
      db.check('dbeta');
      const f = (v: Float64Array) => refBatchNorm(v, outer, C, inner, gamma, beta, new Float64Array(C), new Float64Array(C).fill(1), true, 0.1, 1e-5).out;
      expectClose(dx.data, numericVjp(f, Float64Array.from(x), dy), { rtol: 1e-3, atol: 1e-4, label: `${be.name} dx` });
      const g0 = gamma ?? new Float32Array(C).fill(1), b0 = beta ?? new Float32Array(C);
      const lossOfGamma = (g: Float64Array) => {
        const y = refBatchNorm(x, outer, C, inner, g, b0, new Float64Array(C), new Float64Array(C).fill(1), true, 0.1, 1e-5).out;
        return y.reduce((s, v, i) => s + v * dy[i]!, 0);
      };
      const lossOfBeta = (b: Float64Array) => {
        const y = refBatchNorm(x, outer, C, inner, g0, b, new Float64Array(C), new Float64Array(C).fill(1), true, 0.1, 1e-5).out;
        return y.reduce((s, v, i) => s + v * dy[i]!, 0);
      };
      const dgRef = numericGrad(lossOfGamma, Float64Array.from(g0)).map((v, i) => v + dg0[i]!);
      const dbRef = numericGrad(lossOfBeta, Float64Array.from(b0)).map((v, i) => v + db0[i]!);
      expectClose(dg.data, dgRef, { rtol: 1e-4, atol: 1e-4, label: `${be.name} dgamma` });
      expectClose(db.data, dbRef, { rtol: 1e-4, atol: 1e-4, label: `${be.name} dbeta` });
      // dgamma/dbeta may be null.
      const dx2 = new Float32Array(n);
      be.batchNormBackward(x, dy, outer, C, inner, gamma, fw.saveMean, fw.saveInvStd, dx2, null, null);
      expectClose(dx2, dx.data, { rtol: 0, atol: 0 });
    }
  });
});

describe.runIf(NATIVE)('batchNorm: native vs js directly', () => {
  it('training, eval and backward agree', () => {
    for (const [outer, C, inner] of SIZES) {
      const n = outer * C * inner;
      const x = randomF32(n, 30, -2, 3), dy = randomF32(n, 31);
      const gamma = randomF32(C, 32, 0.5, 2), beta = randomF32(C, 33);
      const rm0 = randomF32(C, 34), rv0 = randomF32(C, 35, 0.5, 2);
      for (const training of [true, false]) {
        const a = run(NATIVE!, x, outer, C, inner, gamma, beta, rm0, rv0, training, 0.1, 1e-5);
        const b = run(JS, x, outer, C, inner, gamma, beta, rm0, rv0, training, 0.1, 1e-5);
        for (const k of ['out', 'saveMean', 'saveInvStd', 'runningMean', 'runningVar'] as const) {
          expectClose(a[k], b[k], { rtol: 1e-5, atol: 1e-5, label: `${k} training=${training}` });
        }
        if (!training) continue;
        const dn = new Float32Array(n), dj = new Float32Array(n);
        const gn = new Float32Array(C), gj = new Float32Array(C), bn = new Float32Array(C), bj = new Float32Array(C);
        NATIVE!.batchNormBackward(x, dy, outer, C, inner, gamma, b.saveMean, b.saveInvStd, dn, gn, bn);
        JS.batchNormBackward(x, dy, outer, C, inner, gamma, b.saveMean, b.saveInvStd, dj, gj, bj);
        expectClose(dn, dj, { rtol: 1e-4, atol: 1e-5, label: 'dx' });
        expectClose(gn, gj, { rtol: 1e-5, atol: 1e-5, label: 'dgamma' });
        expectClose(bn, bj, { rtol: 1e-5, atol: 1e-5, label: 'dbeta' });
      }
    }
  });
});
