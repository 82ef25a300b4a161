import { describe, expect, it } from 'vitest';
import { BACKENDS, JS, NATIVE } from '../helpers/backends';
import { expectClose, guardedF32, guardedI32, inputF32, inputI32 } from '../helpers/close';
import { numericVjp } from '../helpers/fd';
import {
  outSize, randomF32, refAvgPool, refMaxPool, refMaxPoolBackward, type Win,
} from '../helpers/reference';

const EACH = BACKENDS.map((b) => [b.name, b] as const);

/** Pool geometries (pads at most half the kernel): MNIST 2×2/2, overlapping 3×3/2 with pad, odd sizes. */
const WINDOWS: Win[] = [
  { n: 1, c: 1, h: 1, w: 1, kh: 1, kw: 1, sH: 1, sW: 1, pH: 0, pW: 0 },
  { n: 2, c: 3, h: 4, w: 4, kh: 2, kw: 2, sH: 2, sW: 2, pH: 0, pW: 0 },
  { n: 2, c: 2, h: 5, w: 7, kh: 2, kw: 2, sH: 2, sW: 2, pH: 0, pW: 0 },
  { n: 1, c: 2, h: 7, w: 7, kh: 3, kw: 3, sH: 2, sW: 2, pH: 1, pW: 1 },
  { n: 2, c: 1, h: 6, w: 5, kh: 3, kw: 2, sH: 1, sW: 3, pH: 1, pW: 1 },
  { n: 1, c: 1, h: 3, w: 3, kh: 3, kw: 3, sH: 1, sW: 1, pH: 1, pW: 1 },
  { n: 1, c: 2, h: 2, w: 9, kh: 2, kw: 4, sH: 1, sW: 2, pH: 1, pW: 2 },
  { n: 4, c: 8, h: 28, w: 28, kh: 2, kw: 2, sH: 2, sW: 2, pH: 0, pW: 0 },
  { n: 0, c: 2, h: 4, w: 4, kh: 2, kw: 2, sH: 2, sW: 2, pH: 0, pW: 0 },
];

const args = (g: Win) => [g.n, g.c, g.h, g.w, g.kh, g.kw, g.sH, g.sW, g.pH, g.pW] as const;
const label = (g: Win) => JSON.stringify(g);
const CASES = WINDOWS.map((g) => [label(g), g] as const);

describe.each(EACH)('maxPool2d on %s', (_name, be) => {
  it.each(CASES)('forward values and argmax indices: %s', (_l, g) => {
    const [oh, ow] = outSize(g);
    const nx = g.n * g.c * g.h * g.w, no = g.n * g.c * oh * ow;
    // Negative values, so padding (−∞) must never win over them.
    const x = randomF32(nx, 1, -5, -1);
    const out = guardedF32(no), idx = guardedI32(no);
    be.maxPool2d(inputF32(x), ...args(g), out.buf, idx.buf);
    out.check('out');
    idx.check('idx');
    const ref = refMaxPool(x, g);
    expect(Array.from(out.data)).toEqual(Array.from(ref.out));
    expect(Array.from(idx.data)).toEqual(Array.from(ref.idx));
  });

  it.each(CASES)('backward scatters dy to the argmax (and matches finite differences): %s', (_l, g) => {
    const [oh, ow] = outSize(g);
    const nx = g.n * g.c * g.h * g.w, no = g.n * g.c * oh * ow;
    const x = randomF32(nx, 2, -3, 3);
    const out = new Float32Array(no), idx = new Int32Array(no);
    be.maxPool2d(x, ...args(g), out, idx);
    const dy = randomF32(no, 3);
    const dx = guardedF32(nx, new Float32Array(nx).fill(9));
    be.maxPool2dBackward(inputF32(dy), inputI32(idx), g.n, g.c, g.h, g.w, oh, ow, dx.buf);
    dx.check();
    expectClose(dx.data, refMaxPoolBackward(dy, idx, g.n * g.c, g.h * g.w, oh * ow), { rtol: 1e-6, atol: 1e-6 });
    if (nx > 0 && nx <= 200) {
      const fd = numericVjp((v) => refMaxPool(v, g).out, Float64Array.from(x), dy, 1e-4);
      expectClose(dx.data, fd, { rtol: 1e-4, atol: 1e-4, label: `${be.name} maxPool FD` });
    }
  });

  it('ties keep the first element in window order; NaN wins; -inf inputs beat padding', () => {
    // 1×1×2×2, kernel 2, stride 1, pad 1 → 3×3 outputs.
    const x = new Float32Array([1, 1, 1, 1]);
    const out = new Float32Array(9), idx = new Int32Array(9);
    be.maxPool2d(x, 1, 1, 2, 2, 2, 2, 1, 1, 1, 1, out, idx);
    expect(Array.from(idx)).toEqual([0, 0, 1, 0, 0, 1, 2, 2, 3]);
    const y = new Float32Array([0, NaN, 5, NaN]);
    be.maxPool2d(y, 1, 1, 2, 2, 2, 2, 2, 2, 0, 0, out, idx);
    expect(Number.isNaN(out[0])).toBe(true);
    expect(idx[0]).toBe(1);
    const z = new Float32Array([-Infinity, -Infinity, -Infinity, -Infinity]);
    be.maxPool2d(z, 1, 1, 2, 2, 2, 2, 1, 1, 1, 1, out, idx);
    expect(Array.from(out)).toEqual(new Array(9).fill(-Infinity));
    expect(Array.from(idx)).toEqual([0, 0, 1, 0, 0, 1, 2, 2, 3]);
  });
});

describe.runIf(NATIVE)('maxPool2d on several threads (native)', () => {
  it('matches the reference and the one-thread result, NaNs and ties included', () => {
    for (const g of [
      { n: 8, c: 16, h: 24, w: 24, kh: 2, kw: 2, sH: 2, sW: 2, pH: 0, pW: 0 },
      { n: 8, c: 16, h: 25, w: 23, kh: 3, kw: 3, sH: 2, sW: 2, pH: 1, pW: 1 },
    ]) {
      const [oh, ow] = outSize(g);
      const nx = g.n * g.c * g.h * g.w, no = g.n * g.c * oh * ow;
      // Values on a coarse grid (many ties) with a sprinkling of NaNs.
      const x = randomF32(nx, 21, -4, 4).map((v, i) => (i % 997 === 5 ? NaN : Math.round(v)));
      const dy = randomF32(no, 22);
      const prev = NATIVE!.getNumThreads();
      const res = [1, 2].map((t) => {
        NATIVE!.setNumThreads(t);
        try {
          const out = new Float32Array(no), idx = new Int32Array(no), dx = new Float32Array(nx).fill(5);
          NATIVE!.maxPool2d(x, ...args(g), out, idx);
          NATIVE!.maxPool2dBackward(dy, idx, g.n, g.c, g.h, g.w, oh, ow, dx);
          return { out, idx, dx };
        } finally {
          NATIVE!.setNumThreads(prev);
        }
      });
      const ref = refMaxPool(x, g);
      for (const r of res) {
        expect(Array.from(r.out)).toEqual(Array.from(ref.out));
        expect(Array.from(r.idx)).toEqual(Array.from(ref.idx));
        expectClose(r.dx, refMaxPoolBackward(dy, ref.idx, g.n * g.c, g.h * g.w, oh * ow), { rtol: 1e-6, atol: 1e-6 });
      }
      expect(Array.from(res[1]!.dx)).toEqual(Array.from(res[0]!.dx));
    }
  });
});

describe.each(EACH)('avgPool2d on %s', (_name, be) => {
  it.each(CASES)('forward (padding counted in the divisor): %s', (_l, g) => {
    const [oh, ow] = outSize(g);
    const nx = g.n * g.c * g.h * g.w, no = g.n * g.c * oh * ow;
    const x = randomF32(nx, 4);
    const out = guardedF32(no);
    be.avgPool2d(inputF32(x), ...args(g), out.buf);
    out.check();
    expectClose(out.data, refAvgPool(x, g), { rtol: 1e-6, atol: 1e-7 });
  });

  it.each(CASES)('backward is the adjoint (and matches finite differences): %s', (_l, g) => {
    const [oh, ow] = outSize(g);
    const nx = g.n * g.c * g.h * g.w, no = g.n * g.c * oh * ow;
    const x = randomF32(nx, 5), dy = randomF32(no, 6);
    const dx = guardedF32(nx, new Float32Array(nx).fill(3));
    be.avgPool2dBackward(inputF32(dy), ...args(g), dx.buf);
    dx.check();
    if (nx <= 300) {
      const fd = numericVjp((v) => refAvgPool(v, g), Float64Array.from(x), dy);
      expectClose(dx.data, fd, { rtol: 1e-5, atol: 1e-6, label: `${be.name} avgPool backward` });
    }
    // <dy, avgPool(x)> = <avgPoolBackward(dy), x>
    const fx = refAvgPool(x, g);
    let lhs = 0, rhs = 0, mag = 0;
    for (let i = 0; i < no; i++) { lhs += dy[i]! * fx[i]!; mag += Math.abs(dy[i]! * fx[i]!); }
    for (let i = 0; i < nx; i++) rhs += dx.data[i]! * x[i]!;
    expect(Math.abs(lhs - rhs)).toBeLessThanOrEqual(1e-5 * (mag + 1));
  });

  it('a padded corner divides by kh·kw', () => {
    const out = new Float32Array(4);
    be.avgPool2d(new Float32Array([4, 4, 4, 4]), 1, 1, 2, 2, 2, 2, 2, 2, 1, 1, out);
    expect(Array.from(out)).toEqual([1, 1, 1, 1]);
  });
});

describe.runIf(NATIVE)('pooling: native vs js directly', () => {
  it.each(CASES)('%s agrees', (_l, g) => {
    const [oh, ow] = outSize(g);
    const nx = g.n * g.c * g.h * g.w, no = g.n * g.c * oh * ow;
    const x = randomF32(nx, 7), dy = randomF32(no, 8);
    const on = new Float32Array(no), oj = new Float32Array(no);
    const inn = new Int32Array(no), ij = new Int32Array(no);
    NATIVE!.maxPool2d(x, ...args(g), on, inn);
    JS.maxPool2d(x, ...args(g), oj, ij);
    expect(Array.from(on)).toEqual(Array.from(oj));
    expect(Array.from(inn)).toEqual(Array.from(ij));
    const dn = new Float32Array(nx), dj = new Float32Array(nx);
    NATIVE!.maxPool2dBackward(dy, ij, g.n, g.c, g.h, g.w, oh, ow, dn);
    JS.maxPool2dBackward(dy, ij, g.n, g.c, g.h, g.w, oh, ow, dj);
    expectClose(dn, dj, { rtol: 1e-6, atol: 1e-7 });
    NATIVE!.avgPool2d(x, ...args(g), on);
    JS.avgPool2d(x, ...args(g), oj);
    expectClose(on, oj, { rtol: 1e-6, atol: 1e-7 });
    NATIVE!.avgPool2dBackward(dy, ...args(g), dn);
    JS.avgPool2dBackward(dy, ...args(g), dj);
    expectClose(dn, dj, { rtol: 1e-6, atol: 1e-7 });
  });
});
