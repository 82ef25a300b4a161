// The kernel thread team (native/kernels/parallel.cc): threads claim a region's chunks one at a
// time, so which thread runs a chunk depends on timing, never what it computes. More threads than
// cores make helpers late (they find chunks already taken, or none) on every machine; results must
// stay bit-identical to one thread, region after region, and no region may finish early or twice.
import { describe, expect, it } from 'vitest';
import { NATIVE } from '../helpers/backends';
import { randomF32 } from '../helpers/reference';

describe.runIf(NATIVE)('kernel team with late helpers (native)', () => {
  it('many back-to-back regions on 3 and 5 threads give exactly the 1-thread results', () => {
    const be = NATIVE!;
    const [m, n, k] = [64, 384, 200];
    const a = randomF32(m * k, 1), b = randomF32(k * n, 2);
    const g = { n: 24, c: 4, h: 12, w: 12, oc: 8 };
    const x = randomF32(g.n * g.c * g.h * g.w, 3), wt = randomF32(g.oc * g.c * 9, 4), bias = randomF32(g.oc, 5);
    const pooled = g.n * g.oc * 25;
    const dy = randomF32(pooled, 6);
    const big = 1 << 18; // several chunks of sgdStep's 65,536-element grain
    const grad = randomF32(big, 7), p0 = randomF32(big, 8);
    const run = (threads: number, rounds: number) => {
      const prev = be.getNumThreads();
      be.setNumThreads(threads);
      try {
        const out: Float32Array[] = [];
        const param = p0.slice(), mom = new Float32Array(big);
        for (let r = 0; r < rounds; r++) {
          const c = new Float32Array(m * n);
          be.gemm(false, false, m, n, k, 1, a, b, 0, c);
          const y = new Float32Array(pooled), idx = new Int32Array(pooled);
          be.conv2dMaxPool(x, g.n, g.c, g.h, g.w, 3, 3, 1, 1, 0, 0, wt, g.oc, bias, 'relu', 2, 2, y, idx);
          const dx = new Float32Array(x.length), dw = new Float32Array(wt.length), db = new Float32Array(g.oc);
          be.conv2dMaxPoolBackward(x, g.n, g.c, g.h, g.w, 3, 3, 1, 1, 0, 0, wt, g.oc, y, idx, dy, 'relu', 2, 2, dx, dw, db);
          expect(be.sgdStep(big, param, grad, mom, 0.01, 0.9, 0, false, 0, r === 0)).toBe(0);
          out.push(c, y, dx, dw, db);
          // Elementwise and bias + activation loops above their one-thread grain, for a Linear
          // ([rows, features]) and a convolution ([n, channels, h·w]) layout.
          for (const [outer, channels, inner] of [[256, 384, 1], [16, 24, 400]] as const) {
            const len = outer * channels * inner;
            const xs = randomF32(len, 10 + inner), bs = randomF32(channels, 11), dys = randomF32(len, 12);
            const ys = new Float32Array(len), dxs = new Float32Array(len), dbs = new Float32Array(channels);
            be.biasAct(xs, bs, outer, channels, inner, 'relu', ys);
            be.biasActBackward(ys, dys, outer, channels, inner, 'relu', dxs, dbs);
            const prod = new Float32Array(len);
            be.binary('mul', ys, [len], dys, [len], prod, [len]);
            out.push(ys, dxs, dbs, prod);
          }
        }
        out.push(param, mom);
        return out;
      } finally {
        be.setNumThreads(prev);
      }
    };
    const rounds = 40;
    const ref = run(1, rounds);
    for (const t of [3, 5]) {
      const got = run(t, rounds);
      expect(got.length).toBe(ref.length);
      got.forEach((v, i) => {
        if (!v.every((e, j) => Object.is(e, ref[i]![j]))) throw new Error(`${t} threads: result ${i} differs from 1 thread`);
      });
    }
  });
});
