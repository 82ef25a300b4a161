import { describe, expect, it } from 'vitest';
import type { ReduceOp } from '../../src/backend/backend';
import { BACKENDS, JS, NATIVE } from '../helpers/backends';
import { expectClose, guardedF32, guardedI32, inputF32 } from '../helpers/close';
import { randomF32, refReduce } from '../helpers/reference';

const EACH = BACKENDS.map((b) => [b.name, b] as const);
const OPS: ReduceOp[] = ['sum', 'mean', 'max', 'min'];
/** [outer, dim, inner]: 1s, primes, a long axis, a wide inner. */
const SIZES: [number, number, number][] = [
  [1, 1, 1], [1, 7, 1], [3, 5, 1], [1, 5, 3], [4, 3, 2], [2, 13, 7], [1, 1000, 1], [5, 1, 9],
  [3, 257, 33], [0, 3, 4], [3, 4, 0],
];

describe.each(EACH)('reduce on %s', (_name, be) => {
  it.each(OPS)('%s over [outer, dim, inner] shapes', (op) => {
    let seed = 3;
    for (const [outer, dim, inner] of SIZES) {
      const x = randomF32(outer * dim * inner, (seed += 1), -3, 3);
      const out = guardedF32(outer * inner);
      const idx = guardedI32(outer * inner);
      const extreme = op === 'max' || op === 'min';
      be.reduce(op, inputF32(x), outer, dim, inner, out.buf, extreme ? idx.buf : undefined);
      out.check('out');
      idx.check('idx');
      const ref = refReduce(op, x, outer, dim, inner);
      expectClose(out.data, ref.out, { rtol: 1e-6, atol: 2e-6 * Math.sqrt(dim), label: `${be.name} ${op} ${outer},${dim},${inner}` });
      if (extreme) expect(Array.from(idx.data)).toEqual(Array.from(ref.idx));
    }
  });

  it('argmax/argmin ties resolve to the first index', () => {
    const x = new Float32Array([1, 5, 5, 2, 5, /* row 2 */ -1, -1, 0, -1, 3]);
    for (const [op, want, wantIdx] of [['max', [5, 3], [1, 4]], ['min', [1, -1], [0, 0]]] as const) {
      const out = new Float32Array(2), idx = new Int32Array(2);
      be.reduce(op, x, 2, 5, 1, out, idx);
      expect(Array.from(out)).toEqual(want);
      expect(Array.from(idx)).toEqual(wantIdx);
    }
    // Ties along a strided axis (inner = 2): column 0 = [2, 2, 1], column 1 = [0, 4, 4].
    const y = new Float32Array([2, 0, 2, 4, 1, 4]);
    const out = new Float32Array(2), idx = new Int32Array(2);
    be.reduce('max', y, 1, 3, 2, out, idx);
    expect(Array.from(out)).toEqual([2, 4]);
    expect(Array.from(idx)).toEqual([0, 1]);
  });

  it('NaN propagates through max/min (index of the first NaN) and sum/mean', () => {
    const x = new Float32Array([1, NaN, 3, NaN, /* */ 2, 9, 4, 1]);
    for (const op of OPS) {
      const out = new Float32Array(2), idx = new Int32Array(2);
      be.reduce(op, x, 2, 4, 1, out, op === 'sum' || op === 'mean' ? undefined : idx);
      expect(Number.isNaN(out[0])).toBe(true);
      expect(Number.isNaN(out[1])).toBe(false);
      if (op === 'max' || op === 'min') expect(idx[0]).toBe(1);
    }
    // Strided axis: NaN in the middle of a column, also when the first element is the extreme.
    const y = new Float32Array([5, 1, NaN, 2, 7, NaN]);
    const out = new Float32Array(2), idx = new Int32Array(2);
    be.reduce('max', y, 1, 3, 2, out, idx);
    expect(Number.isNaN(out[0]) && Number.isNaN(out[1])).toBe(true);
    expect(Array.from(idx)).toEqual([1, 2]);
  });

  it('empty slices: sum 0, mean NaN', () => {
    const out = guardedF32(6);
    be.reduce('sum', new Float32Array(0), 2, 0, 3, out.buf);
    out.check();
    expect(Array.from(out.data)).toEqual([0, 0, 0, 0, 0, 0]);
    be.reduce('mean', new Float32Array(0), 2, 0, 3, out.buf);
    expect(Array.from(out.data).every(Number.isNaN)).toBe(true);
  });

  it('infinities: max of [-inf, -inf] is -inf at index 0', () => {
    const out = new Float32Array(1), idx = new Int32Array(1).fill(7);
    be.reduce('max', new Float32Array([-Infinity, -Infinity]), 1, 2, 1, out, idx);
    expect(out[0]).toBe(-Infinity);
    expect(idx[0]).toBe(0);
  });
});

describe.runIf(NATIVE)('reduce: native vs js directly', () => {
  it.each(OPS)('%s agrees', (op) => {
    for (const [outer, dim, inner] of SIZES) {
      const x = randomF32(outer * dim * inner, 11, -3, 3);
      const on = new Float32Array(outer * inner), oj = new Float32Array(outer * inner);
      const inn = new Int32Array(outer * inner), ij = new Int32Array(outer * inner);
      NATIVE!.reduce(op, x, outer, dim, inner, on, inn);
      JS.reduce(op, x, outer, dim, inner, oj, ij);
      expectClose(on, oj, { rtol: 2e-6, atol: 2e-6 * Math.sqrt(dim), label: `${op} ${outer},${dim},${inner}` });
      if (op === 'max' || op === 'min') expect(Array.from(inn)).toEqual(Array.from(ij));
    }
  });
});

describe.runIf(NATIVE)('reduce: long sums on several threads (native)', () => {
  it('sum and mean of 1M elements: close to float64, identical on 1 and 2 threads', () => {
    const n = (1 << 20) + 12345;
    const x = randomF32(n, 31, -1, 1);
    let ref = 0;
    for (let i = 0; i < n; i++) ref += x[i]!;
    const prev = NATIVE!.getNumThreads();
    const got = [1, 2].map((t) => {
      NATIVE!.setNumThreads(t);
      try {
        const s = new Float32Array(1), m = new Float32Array(1);
        NATIVE!.reduce('sum', x, 1, n, 1, s);
        NATIVE!.reduce('mean', x, 1, n, 1, m);
        return [s[0]!, m[0]!];
      } finally {
        NATIVE!.setNumThreads(prev);
      }
    });
    expect(got[1]).toEqual(got[0]);
    expect(Math.abs(got[0]![0]! - ref)).toBeLessThan(1e-6 * n);
    expect(Math.abs(got[0]![1]! - ref / n)).toBeLessThan(1e-6);
    // A NaN or infinity anywhere makes the sum non-finite (fit()'s numeric check relies on it).
    x[n - 3] = Infinity;
    const s = new Float32Array(1);
    NATIVE!.reduce('sum', x, 1, n, 1, s);
    expect(s[0]).toBe(Infinity);
    x[7] = NaN;
    NATIVE!.reduce('sum', x, 1, n, 1, s);
    expect(Number.isNaN(s[0])).toBe(true);
  });
});
