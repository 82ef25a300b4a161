import { describe, expect, it } from 'vitest';
import { BACKENDS, JS, NATIVE } from '../helpers/backends';
import { expectClose, expectIdentical, guardedF32, guardedI32, inputF32, inputI32 } from '../helpers/close';
import { outSize, randomF32, refCol2im, refGemm, refIm2col, type Win } from '../helpers/reference';

const EACH = BACKENDS.map((b) => [b.name, b] as const);

const CASES: Array<Win & { oc: number }> = [
  { n: 1, c: 1, h: 1, w: 1, kh: 1, kw: 1, sH: 1, sW: 1, pH: 0, pW: 0, oc: 1 },
  { n: 3, c: 1, h: 28, w: 28, kh: 3, kw: 3, sH: 1, sW: 1, pH: 0, pW: 0, oc: 5 },
  { n: 2, c: 3, h: 7, w: 6, kh: 3, kw: 2, sH: 2, sW: 3, pH: 1, pW: 2, oc: 4 },
  { n: 2, c: 4, h: 9, w: 9, kh: 1, kw: 1, sH: 2, sW: 2, pH: 0, pW: 0, oc: 7 },
  { n: 5, c: 2, h: 5, w: 5, kh: 5, kw: 5, sH: 1, sW: 1, pH: 2, pW: 2, oc: 3 },
];
const label = (g: Win & { oc: number }) => JSON.stringify(g);
const win = (g: Win) => [g.n, g.c, g.h, g.w, g.kh, g.kw, g.sH, g.sW, g.pH, g.pW] as const;

/** float64 reference: per sample, W [oc, ckk] · im2col(x_s) [ckk, ohw] (+ bias, relu). */
function refConv(x: Float32Array, wt: Float32Array, bias: Float32Array | null, g: Win & { oc: number }, relu: boolean): Float64Array {
  const [oh, ow] = outSize(g);
  const ohw = oh * ow, ckk = g.c * g.kh * g.kw;
  const col = refIm2col(x, g);
  const out = new Float64Array(g.n * g.oc * ohw);
  for (let s = 0; s < g.n; s++) {
    const y = refGemm(false, false, g.oc, ohw, ckk, 1, wt, col.subarray(s * ckk * ohw, (s + 1) * ckk * ohw), 0, null).c;
    for (let o = 0; o < g.oc; o++) {
      for (let p = 0; p < ohw; p++) {
        const v = y[o * ohw + p]! + (bias ? bias[o]! : 0);
        out[(s * g.oc + o) * ohw + p] = relu ? Math.max(0, v) : v;
      }
    }
  }
  return out;
}

function refConvBackward(x: Float32Array, wt: Float32Array, y: Float32Array, dy: Float32Array, g: Win & { oc: number }, relu: boolean) {
  const [oh, ow] = outSize(g);
  const ohw = oh * ow, ckk = g.c * g.kh * g.kw;
  const gm = Float64Array.from(dy, (v, i) => (relu && !(y[i]! > 0) ? 0 : v));
  const col = refIm2col(x, g);
  const dw = new Float64Array(g.oc * ckk);
  const db = new Float64Array(g.oc);
  const dcol = new Float64Array(g.n * ckk * ohw);
  for (let s = 0; s < g.n; s++) {
    const gs = gm.subarray(s * g.oc * ohw, (s + 1) * g.oc * ohw);
    const part = refGemm(false, true, g.oc, ckk, ohw, 1, gs, col.subarray(s * ckk * ohw, (s + 1) * ckk * ohw), 0, null).c;
    for (let i = 0; i < dw.length; i++) dw[i] += part[i]!;
    dcol.set(refGemm(true, false, ckk, ohw, g.oc, 1, wt, gs, 0, null).c, s * ckk * ohw);
    for (let o = 0; o < g.oc; o++) for (let p = 0; p < ohw; p++) db[o] += gs[o * ohw + p]!;
  }
  return { dx: refCol2im(dcol, g), dw, db };
}

describe.each(EACH)('fused conv2d on %s', (_name, be) => {
  it.each(CASES.map((g) => [label(g), g] as const))('forward with bias and relu matches im2col + GEMM: %s', (_l, g) => {
    const [oh, ow] = outSize(g);
    const x = randomF32(g.n * g.c * g.h * g.w, 1);
    const wt = randomF32(g.oc * g.c * g.kh * g.kw, 2);
    const b = randomF32(g.oc, 3);
    for (const [bias, act] of [[b, 'relu'], [null, 'none'], [b, 'none']] as const) {
      const out = guardedF32(g.n * g.oc * oh * ow);
      be.conv2d(inputF32(x), ...win(g), inputF32(wt), g.oc, bias ? inputF32(bias) : null, act, out.buf);
      out.check();
      expectClose(out.data, refConv(x, wt, bias, g, act === 'relu'), { atol: 1e-5, rtol: 1e-5 });
    }
  });

  it.each(CASES.map((g) => [label(g), g] as const))('backward: dx overwritten, dw and db accumulated: %s', (_l, g) => {
    const [oh, ow] = outSize(g);
    const nout = g.n * g.oc * oh * ow;
    const x = randomF32(g.n * g.c * g.h * g.w, 4);
    const wt = randomF32(g.oc * g.c * g.kh * g.kw, 5);
    const y = randomF32(nout, 6);
    const dy = randomF32(nout, 7);
    for (const act of ['relu', 'none'] as const) {
      const ref = refConvBackward(x, wt, y, dy, g, act === 'relu');
      const dx = guardedF32(x.length, new Float32Array(x.length).fill(123));
      const dw = guardedF32(wt.length, new Float32Array(wt.length).fill(0.5));
      const db = guardedF32(g.oc, new Float32Array(g.oc).fill(-1));
      be.conv2dBackward(inputF32(x), ...win(g), inputF32(wt), g.oc, inputF32(y), inputF32(dy), act, dx.buf, dw.buf, db.buf);
      dx.check(); dw.check(); db.check();
      expectClose(dx.data, ref.dx, { atol: 1e-5, rtol: 1e-5 });
      expectClose(dw.data, ref.dw.map((v) => v + 0.5), { atol: 1e-4, rtol: 1e-5 });
      expectClose(db.data, ref.db.map((v) => v - 1), { atol: 1e-4, rtol: 1e-5 });
      // Gradients left out stay untouched.
      const dw2 = guardedF32(wt.length, new Float32Array(wt.length).fill(7));
      be.conv2dBackward(inputF32(x), ...win(g), inputF32(wt), g.oc, inputF32(y), inputF32(dy), act, null, dw2.buf, null);
      expectClose(dw2.data, ref.dw.map((v) => v + 7), { atol: 1e-4, rtol: 1e-5 });
    }
  });

  it('rejects bad shapes with the kernel name', () => {
    expect(() => be.conv2d(new Float32Array(10), 1, 1, 3, 3, 3, 3, 1, 1, 0, 0, new Float32Array(9), 1, null, 'none', new Float32Array(1))).not.toThrow();
    expect(() => be.conv2d(new Float32Array(8), 1, 1, 3, 3, 3, 3, 1, 1, 0, 0, new Float32Array(9), 1, null, 'none', new Float32Array(1))).toThrow(/^conv2d: .*x/);
    expect(() => be.conv2d(new Float32Array(9), 1, 1, 3, 3, 3, 3, 1, 1, 0, 0, new Float32Array(8), 1, null, 'none', new Float32Array(1))).toThrow(/^conv2d: .*weight/);
    expect(() => be.conv2d(new Float32Array(9), 1, 1, 3, 3, 3, 3, 1, 1, 0, 0, new Float32Array(9), 1, null, 'gelu' as never, new Float32Array(1))).toThrow(/^conv2d: act/);
    const buf = new Float32Array(9);
    expect(() => be.conv2d(buf, 1, 1, 3, 3, 3, 3, 1, 1, 0, 0, new Float32Array(9), 1, null, 'none', buf)).toThrow(/^conv2d: .*out/);
  });
});

describe.runIf(NATIVE)('fused conv2d: sample groups and threads (native)', () => {
  // 19 samples: the backward pass runs groups of 8, 8 and 3 samples, split over the threads.
  const g = { n: 19, c: 16, h: 17, w: 18, kh: 3, kw: 3, sH: 1, sW: 1, pH: 1, pW: 1, oc: 12 };
  const [oh, ow] = outSize(g);
  const nout = g.n * g.oc * oh * ow;
  const x = randomF32(g.n * g.c * g.h * g.w, 11);
  const wt = randomF32(g.oc * g.c * 9, 12, -0.2, 0.2);
  const b = randomF32(g.oc, 13);
  const y = randomF32(nout, 14);
  const dy = randomF32(nout, 15);

  function run(threads: number) {
    const prev = NATIVE!.getNumThreads();
    NATIVE!.setNumThreads(threads);
    try {
      const out = { relu: new Float32Array(nout), none: new Float32Array(nout) };
      NATIVE!.conv2d(x, ...win(g), wt, g.oc, b, 'relu', out.relu);
      NATIVE!.conv2d(x, ...win(g), wt, g.oc, null, 'none', out.none);
      const grads = (['relu', 'none'] as const).map((act) => {
        const dx = new Float32Array(x.length).fill(3), dw = new Float32Array(wt.length), db = new Float32Array(g.oc);
        NATIVE!.conv2dBackward(x, ...win(g), wt, g.oc, y, dy, act, dx, dw, db);
        return { dx, dw, db };
      });
      return { out, grads };
    } finally {
      NATIVE!.setNumThreads(prev);
    }
  }

  it('match the reference', () => {
    const r = run(2);
    expectClose(r.out.relu, refConv(x, wt, b, g, true), { atol: 1e-4, rtol: 1e-5 });
    expectClose(r.out.none, refConv(x, wt, null, g, false), { atol: 1e-4, rtol: 1e-5 });
    (['relu', 'none'] as const).forEach((act, i) => {
      const ref = refConvBackward(x, wt, y, dy, g, act === 'relu');
      expectClose(r.grads[i]!.dx, ref.dx, { atol: 1e-4, rtol: 1e-5 });
      expectClose(r.grads[i]!.dw, ref.dw, { atol: 1e-3, rtol: 1e-5 });
      expectClose(r.grads[i]!.db, ref.db, { atol: 1e-3, rtol: 1e-5 });
    });
  });

  it('give bit-identical results on 1 and 2 threads', () => {
    const one = run(1), two = run(2);
    expectIdentical(one.out.relu, two.out.relu, 'out relu');
    expectIdentical(one.out.none, two.out.none, 'out none');
    one.grads.forEach((gr, i) => {
      expectIdentical(gr.dx, two.grads[i]!.dx, `dx ${i}`);
      expectIdentical(gr.db, two.grads[i]!.db, `db ${i}`);
      expectIdentical(gr.dw, two.grads[i]!.dw, `dw ${i}`);
    });
  });
});

describe.each(EACH)('conv2dMaxPool on %s', (_name, be) => {
  const POOLED: Array<Win & { oc: number; qh: number; qw: number }> = [
    { n: 3, c: 2, h: 9, w: 8, kh: 3, kw: 3, sH: 1, sW: 1, pH: 0, pW: 0, oc: 4, qh: 2, qw: 2 },
    { n: 2, c: 3, h: 10, w: 11, kh: 3, kw: 2, sH: 2, sW: 1, pH: 1, pW: 1, oc: 5, qh: 2, qw: 3 },
    { n: 11, c: 8, h: 12, w: 12, kh: 3, kw: 3, sH: 1, sW: 1, pH: 1, pW: 1, oc: 6, qh: 3, qw: 3 },
    { n: 2, c: 1, h: 5, w: 5, kh: 2, kw: 2, sH: 1, sW: 1, pH: 0, pW: 0, oc: 3, qh: 1, qw: 1 },
  ];
  it.each(POOLED.map((g) => [label(g), g] as const))('is conv2d then maxPool2d, forward and backward, bit for bit: %s', (_l, g) => {
    const [oh, ow] = outSize(g);
    const ph = Math.floor(oh / g.qh), pw = Math.floor(ow / g.qw);
    const nconv = g.n * g.oc * oh * ow, npool = g.n * g.oc * ph * pw;
    const x = randomF32(g.n * g.c * g.h * g.w, 61);
    const wt = randomF32(g.oc * g.c * g.kh * g.kw, 62);
    const b = randomF32(g.oc, 63);
    const dy = randomF32(npool, 64);
    for (const [bias, act] of [[b, 'relu'], [null, 'none'], [b, 'none']] as const) {
      // The composition.
      const y = new Float32Array(nconv), pooled = new Float32Array(npool), pidx = new Int32Array(npool);
      be.conv2d(x, ...win(g), wt, g.oc, bias, act, y);
      be.maxPool2d(y, g.n, g.oc, oh, ow, g.qh, g.qw, g.qh, g.qw, 0, 0, pooled, pidx);
      const dyConv = new Float32Array(nconv);
      be.maxPool2dBackward(dy, pidx, g.n, g.oc, oh, ow, ph, pw, dyConv);
      const dx0 = new Float32Array(x.length), dw0 = new Float32Array(wt.length).fill(0.25), db0 = new Float32Array(g.oc).fill(-2);
      be.conv2dBackward(x, ...win(g), wt, g.oc, y, dyConv, act, dx0, dw0, db0);
      // The fused kernels.
      const out = guardedF32(npool), idx = guardedI32(npool);
      be.conv2dMaxPool(inputF32(x), ...win(g), inputF32(wt), g.oc, bias ? inputF32(bias) : null, act, g.qh, g.qw, out.buf, idx.buf);
      out.check(); idx.check();
      expectIdentical(out.data, pooled, `${act} out`);
      expect(Array.from(idx.data)).toEqual(Array.from(pidx));
      const dx = guardedF32(x.length, new Float32Array(x.length).fill(7));
      const dw = guardedF32(wt.length, new Float32Array(wt.length).fill(0.25));
      const db = guardedF32(g.oc, new Float32Array(g.oc).fill(-2));
      be.conv2dMaxPoolBackward(inputF32(x), ...win(g), inputF32(wt), g.oc, inputF32(out.data), inputI32(idx.data), inputF32(dy), act, g.qh, g.qw, dx.buf, dw.buf, db.buf);
      dx.check(); dw.check(); db.check();
      expectIdentical(dx.data, dx0, `${act} dx`);
      expectIdentical(dw.data, dw0, `${act} dw`);
      expectIdentical(db.data, db0, `${act} db`);
    }
  });
});

describe.runIf(NATIVE)('conv2dMaxPool on several threads (native)', () => {
  it('gives the same results on 1 and 2 threads', () => {
    const g = { n: 21, c: 8, h: 14, w: 14, kh: 3, kw: 3, sH: 1, sW: 1, pH: 0, pW: 0, oc: 16 };
    const npool = g.n * g.oc * 36;
    const x = randomF32(g.n * g.c * g.h * g.w, 71), wt = randomF32(g.oc * g.c * 9, 72), b = randomF32(g.oc, 73), dy = randomF32(npool, 74);
    const prev = NATIVE!.getNumThreads();
    const res = [1, 2].map((t) => {
      NATIVE!.setNumThreads(t);
      try {
        const out = new Float32Array(npool), idx = new Int32Array(npool);
        NATIVE!.conv2dMaxPool(x, ...win(g), wt, g.oc, b, 'relu', 2, 2, out, idx);
        const dx = new Float32Array(x.length), dw = new Float32Array(wt.length), db = new Float32Array(g.oc);
        NATIVE!.conv2dMaxPoolBackward(x, ...win(g), wt, g.oc, out, idx, dy, 'relu', 2, 2, dx, dw, db);
        return [out, idx, dx, dw, db];
      } finally {
        NATIVE!.setNumThreads(prev);
      }
    });
    res[0]!.forEach((a, i) => expect(Array.from(res[1]![i]!)).toEqual(Array.from(a)));
  });
});

describe.runIf(NATIVE)('fused conv2d: native vs js', () => {
  it('agree on an MNIST-sized layer', () => {
    const g = { n: 4, c: 32, h: 26, w: 26, kh: 3, kw: 3, sH: 1, sW: 1, pH: 0, pW: 0, oc: 64 };
    const [oh, ow] = outSize(g);
    const x = randomF32(g.n * g.c * g.h * g.w, 8);
    const wt = randomF32(g.oc * g.c * 9, 9, -0.1, 0.1);
    const b = randomF32(g.oc, 10);
    const a = new Float32Array(g.n * g.oc * oh * ow);
    const c = new Float32Array(a.length);
    NATIVE!.conv2d(x, ...win(g), wt, g.oc, b, 'relu', a);
    JS.conv2d(x, ...win(g), wt, g.oc, b, 'relu', c);
    expectClose(a, c, { atol: 1e-4, rtol: 1e-4 });
  });
});
