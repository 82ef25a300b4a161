import { describe, expect, it } from 'vitest';
import type { Activation } from '../../src/backend/backend';
import { BACKENDS, JS, NATIVE } from '../helpers/backends';
import { expectClose, guardedF32, inputF32 } from '../helpers/close';
import { randomF32, refBiasAct, refBiasActBackward } from '../helpers/reference';

const EACH = BACKENDS.map((b) => [b.name, b] as const);
/** [outer, channels, inner]: Linear (inner 1), Conv (inner H·W), edge sizes. */
const SIZES: [number, number, number][] = [
  [1, 1, 1], [4, 10, 1], [128, 513, 1], [2, 3, 5], [3, 7, 49], [1, 1, 1000], [0, 3, 2], [2, 0, 3],
];
const ACTS: Activation[] = ['none', 'relu'];

describe.each(EACH)('biasAct on %s', (_name, be) => {
  it.each(ACTS)('forward and backward (act %s)', (act) => {
    let seed = 1;
    for (const [outer, channels, inner] of SIZES) {
      const n = outer * channels * inner;
      const x = randomF32(n, (seed += 1), -2, 2), bias = randomF32(channels, seed + 10);
      const out = guardedF32(n);
      be.biasAct(inputF32(x), inputF32(bias), outer, channels, inner, act, out.buf);
      out.check();
      expectClose(out.data, refBiasAct(x, bias, outer, channels, inner, act), {
        rtol: 6e-8, atol: 0, label: `${be.name} biasAct ${act} ${outer},${channels},${inner}`,
      });
      const dy = randomF32(n, seed + 20);
      const dx = guardedF32(n);
      const dbias0 = randomF32(channels, seed + 30);
      const dbias = guardedF32(channels, dbias0);
      be.biasActBackward(inputF32(out.data), inputF32(dy), outer, channels, inner, act, dx.buf, dbias.buf);
      dx.check('dx');
      dbias.check('dbias');
      const ref = refBiasActBackward(out.data, dy, outer, channels, inner, act);
      expectClose(dx.data, ref.dx, { rtol: 0, atol: 0, label: `${be.name} dx` });
      // dbias accumulates: dbias0 + Σ g.
      expectClose(dbias.data, Array.from(ref.dbias, (v, i) => v + dbias0[i]!), {
        rtol: 1e-6, atol: 1e-5, label: `${be.name} dbias`,
      });
    }
  });

  it('relu\'(y = 0) is 0, dbias may be null, dx may alias dy, out may alias x', () => {
    const y = new Float32Array([0, 1, 0, 2]);
    const dy = new Float32Array([5, 5, 5, 5]);
    be.biasActBackward(y, dy, 2, 2, 1, 'relu', dy, null);
    expect(Array.from(dy)).toEqual([0, 5, 0, 5]);
    const x = new Float32Array([-1, 1, 2, -3]);
    be.biasAct(x, new Float32Array([0.5, 0.5]), 2, 2, 1, 'relu', x);
    expect(Array.from(x)).toEqual([0, 1.5, 2.5, 0]);
  });
});

describe.runIf(NATIVE)('biasAct: native vs js directly', () => {
  it.each(ACTS)('act %s agrees', (act) => {
    for (const [outer, channels, inner] of SIZES) {
      const n = outer * channels * inner;
      const x = randomF32(n, 5), bias = randomF32(channels, 6), dy = randomF32(n, 7);
      const on = new Float32Array(n), oj = new Float32Array(n);
      NATIVE!.biasAct(x, bias, outer, channels, inner, act, on);
      JS.biasAct(x, bias, outer, channels, inner, act, oj);
      expect(Array.from(on)).toEqual(Array.from(oj));
      const dn = new Float32Array(n), dj = new Float32Array(n);
      const bn = new Float32Array(channels), bj = new Float32Array(channels);
      NATIVE!.biasActBackward(oj, dy, outer, channels, inner, act, dn, bn);
      JS.biasActBackward(oj, dy, outer, channels, inner, act, dj, bj);
      expect(Array.from(dn)).toEqual(Array.from(dj));
      expectClose(bn, bj, { rtol: 2e-6, atol: 1e-5 });
    }
  });
});
