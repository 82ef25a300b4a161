import { describe, expect, it } from 'vitest';
import { BACKENDS, JS, NATIVE } from '../helpers/backends';
import { expectClose, guardedF32, inputF32 } from '../helpers/close';
import { outSize, randomF32, refCol2im, refIm2col, type Win } from '../helpers/reference';

const EACH = BACKENDS.map((b) => [b.name, b] as const);

/** Geometries: 1×1 kernels, stride > kernel, padding, non-square everything, MNIST-like. */
const WINDOWS: Win[] = [
  { n: 1, c: 1, h: 1, w: 1, kh: 1, kw: 1, sH: 1, sW: 1, pH: 0, pW: 0 },
  { n: 2, c: 3, h: 5, w: 5, kh: 3, kw: 3, sH: 1, sW: 1, pH: 0, pW: 0 },
  { n: 2, c: 3, h: 5, w: 5, kh: 3, kw: 3, sH: 1, sW: 1, pH: 1, pW: 1 },
  { n: 1, c: 2, h: 7, w: 6, kh: 3, kw: 2, sH: 2, sW: 3, pH: 1, pW: 2 },
  { n: 3, c: 1, h: 4, w: 9, kh: 4, kw: 1, sH: 3, sW: 2, pH: 2, pW: 0 },
  { n: 1, c: 4, h: 6, w: 6, kh: 1, kw: 1, sH: 2, sW: 2, pH: 0, pW: 0 },
  { n: 2, c: 1, h: 3, w: 3, kh: 5, kw: 5, sH: 1, sW: 1, pH: 2, pW: 2 },
  { n: 2, c: 2, h: 28, w: 28, kh: 5, kw: 5, sH: 1, sW: 1, pH: 2, pW: 2 },
  { n: 0, c: 3, h: 4, w: 4, kh: 3, kw: 3, sH: 1, sW: 1, pH: 0, pW: 0 },
];

const args = (g: Win) => [g.n, g.c, g.h, g.w, g.kh, g.kw, g.sH, g.sW, g.pH, g.pW] as const;
const label = (g: Win) => JSON.stringify(g);

function sizes(g: Win): { nx: number; ncol: number } {
  const [oh, ow] = outSize(g);
  return { nx: g.n * g.c * g.h * g.w, ncol: g.n * g.c * g.kh * g.kw * oh * ow };
}

describe.each(EACH)('im2col / col2im on %s', (_name, be) => {
  it.each(WINDOWS.map((g) => [label(g), g] as const))('im2col matches its definition: %s', (_l, g) => {
    const { nx, ncol } = sizes(g);
    const x = randomF32(nx, 1);
    const col = guardedF32(ncol);
    be.im2col(inputF32(x), ...args(g), col.buf);
    col.check();
    expect(Array.from(col.data)).toEqual(Array.from(refIm2col(x, g)));
  });

  it.each(WINDOWS.map((g) => [label(g), g] as const))('col2im matches the scatter-add: %s', (_l, g) => {
    const { nx, ncol } = sizes(g);
    const col = randomF32(ncol, 2);
    const dx = guardedF32(nx, new Float32Array(nx).fill(7)); // overwritten, not accumulated
    be.col2im(inputF32(col), ...args(g), dx.buf);
    dx.check();
    expectClose(dx.data, refCol2im(col, g), { rtol: 1e-6, atol: 1e-6, label: `${be.name} col2im` });
  });

  it.each(WINDOWS.map((g) => [label(g), g] as const))('adjoint: <col, im2col(x)> = <col2im(col), x>: %s', (_l, g) => {
    const { nx, ncol } = sizes(g);
    const x = randomF32(nx, 3), c = randomF32(ncol, 4);
    const ix = new Float32Array(ncol), cx = new Float32Array(nx);
    be.im2col(x, ...args(g), ix);
    be.col2im(c, ...args(g), cx);
    let lhs = 0, rhs = 0, mag = 0;
    for (let i = 0; i < ncol; i++) { lhs += c[i]! * ix[i]!; mag += Math.abs(c[i]! * ix[i]!); }
    for (let i = 0; i < nx; i++) rhs += cx[i]! * x[i]!;
    expect(Math.abs(lhs - rhs)).toBeLessThanOrEqual(1e-5 * (mag + 1));
  });

  it('convolution as im2col + GEMM equals a direct convolution', () => {
    const g: Win = { n: 2, c: 3, h: 6, w: 5, kh: 3, kw: 3, sH: 2, sW: 1, pH: 1, pW: 1 };
    const cout = 4;
    const [oh, ow] = outSize(g);
    const x = randomF32(g.n * g.c * g.h * g.w, 5), wt = randomF32(cout * g.c * g.kh * g.kw, 6);
    const col = new Float32Array(g.n * g.c * g.kh * g.kw * oh * ow);
    be.im2col(x, ...args(g), col);
    const y = new Float32Array(g.n * cout * oh * ow);
    const K = g.c * g.kh * g.kw, P = oh * ow;
    // y_s [cout, P] = W [cout, K] · col_s [K, P], one GEMM over the batch with W broadcast.
    be.gemmBatched(g.n, false, false, cout, P, K, 1, wt, 0, col, K * P, 0, y, cout * P);
    for (let s = 0; s < g.n; s++) {
      for (let co = 0; co < cout; co++) {
        for (let oy = 0; oy < oh; oy++) {
          for (let ox = 0; ox < ow; ox++) {
            let acc = 0;
            for (let ci = 0; ci < g.c; ci++) {
              for (let ki = 0; ki < g.kh; ki++) {
                for (let kj = 0; kj < g.kw; kj++) {
                  const iy = oy * g.sH - g.pH + ki, ix = ox * g.sW - g.pW + kj;
                  if (iy < 0 || iy >= g.h || ix < 0 || ix >= g.w) continue;
                  acc += wt[((co * g.c + ci) * g.kh + ki) * g.kw + kj]! * x[((s * g.c + ci) * g.h + iy) * g.w + ix]!;
                }
              }
            }
            expect(y[((s * cout + co) * oh + oy) * ow + ox]).toBeCloseTo(acc, 5);
          }
        }
      }
    }
  });
});

describe.runIf(NATIVE)('im2col / col2im: native vs js directly', () => {
  it.each(WINDOWS.map((g) => [label(g), g] as const))('%s agrees', (_l, g) => {
    const { nx, ncol } = sizes(g);
    const x = randomF32(nx, 8), c = randomF32(ncol, 9);
    const cn = new Float32Array(ncol), cj = new Float32Array(ncol);
    NATIVE!.im2col(x, ...args(g), cn);
    JS.im2col(x, ...args(g), cj);
    expect(Array.from(cn)).toEqual(Array.from(cj));
    const dn = new Float32Array(nx), dj = new Float32Array(nx);
    NATIVE!.col2im(c, ...args(g), dn);
    JS.col2im(c, ...args(g), dj);
    expectClose(dn, dj, { rtol: 1e-6, atol: 1e-6 });
  });
});
