import { describe, expect, it } from 'vitest';
import type { Backend, BinaryOp, UnaryOp } from '../../src/backend/backend';
import { BINARY_OPS, UNARY_OPS } from '../../src/backend/backend';
import { loadAddon } from '../../src/backend/loader';
import { createNativeBackend } from '../../src/backend/native';

// Each native kernel against a plain float64 reference written from the contract's formulas,
// on small random cases (including sizes 1 and primes), with sentinels after every output.

const load = loadAddon();
if (!load.ok) throw new Error(`the native addon did not load:\n  ${load.reasons.join('\n  ')}`);
const nb: Backend = createNativeBackend(load.addon);

let seed = 12345;
function rnd(): number {
  seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
  return seed / 2 ** 32;
}
const randn = (n: number, scale = 1): Float32Array =>
  Float32Array.from({ length: n }, () => (rnd() * 2 - 1) * scale);
const randInt = (lo: number, hi: number): number => lo + Math.floor(rnd() * (hi - lo));

const SENTINEL = 1234.5;
/** A buffer with `n` usable elements followed by 4 sentinels; check() asserts they survive. */
function guarded(n: number, fill = 0): { buf: Float32Array; check: () => void } {
  const all = new Float32Array(n + 4).fill(fill);
  all.fill(SENTINEL, n);
  return {
    buf: all.subarray(0, n),
    check: () => expect([...all.subarray(n)]).toEqual([SENTINEL, SENTINEL, SENTINEL, SENTINEL]),
  };
}

function close(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-5): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i]!, a = actual[i]!;
    if (Number.isNaN(e)) {
      expect(a, `index ${i}`).toBeNaN();
      continue;
    }
    if (!Number.isFinite(e)) {
      expect(a, `index ${i}`).toBe(e);
      continue;
    }
    const err = Math.abs(a - e) / Math.max(1, Math.abs(e));
    if (!(err <= tol)) expect(a, `index ${i}: expected ${e}`).toBeCloseTo(e, 12);
  }
}

const numel = (s: readonly number[]): number => s.reduce((p, d) => p * d, 1);
function stridesOf(s: readonly number[]): number[] {
  const st = new Array<number>(s.length);
  let acc = 1;
  for (let i = s.length - 1; i >= 0; i--) { st[i] = acc; acc *= s[i]!; }
  return st;
}
function unravel(i: number, shape: readonly number[]): number[] {
  const idx = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) { idx[d] = i % shape[d]!; i = Math.floor(i / shape[d]!); }
  return idx;
}
/** Offset in a (left-padded, broadcast) operand of shape `s` for an index into `full`. */
function bcOffset(idx: number[], s: readonly number[]): number {
  const pad = idx.length - s.length;
  const st = stridesOf(s);
  let off = 0;
  for (let d = 0; d < s.length; d++) off += (s[d] === 1 ? 0 : idx[d + pad]!) * st[d]!;
  return off;
}

const binRef: Record<BinaryOp, (a: number, b: number) => number> = {
  add: (a, b) => a + b, sub: (a, b) => a - b, mul: (a, b) => a * b, div: (a, b) => a / b,
  max: (a, b) => Math.max(a, b), min: (a, b) => Math.min(a, b), pow: (a, b) => Math.pow(a, b),
};
const erf = (x: number): number => {
  // Abramowitz–Stegun 7.1.26 is too coarse; use a series / continued fraction good to 1e-12.
  const t = Math.abs(x);
  if (t < 3) {
    let sum = t, term = t;
    for (let n = 1; n < 200; n++) { term *= -t * t / n; sum += term / (2 * n + 1); }
    return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * sum;
  }
  return Math.sign(x) * (1 - Math.exp(-t * t) / (t * Math.sqrt(Math.PI)) * (1 - 1 / (2 * t * t)));
};
const unRef: Record<UnaryOp, (x: number, p: number) => number> = {
  neg: (x) => -x, exp: Math.exp, log: Math.log, sqrt: Math.sqrt, abs: Math.abs,
  sign: (x) => Math.sign(x), square: (x) => x * x, reciprocal: (x) => 1 / x,
  relu: (x) => (x > 0 ? x : 0), leakyRelu: (x, p) => (x > 0 ? x : p * x),
  sigmoid: (x) => 1 / (1 + Math.exp(-x)), tanh: Math.tanh,
  gelu: (x) => 0.5 * x * (1 + erf(x / Math.SQRT2)), pow: (x, p) => Math.pow(x, p),
  scale: (x, p) => x * p, addScalar: (x, p) => x + p, clampMin: (x, p) => Math.max(x, p),
};
const unGrad: Record<UnaryOp, (x: number, p: number) => number> = {
  neg: () => -1, exp: Math.exp, log: (x) => 1 / x, sqrt: (x) => 0.5 / Math.sqrt(x),
  abs: (x) => Math.sign(x), sign: () => 0, square: (x) => 2 * x, reciprocal: (x) => -1 / (x * x),
  relu: (x) => (x > 0 ? 1 : 0), leakyRelu: (x, p) => (x > 0 ? 1 : p),
  sigmoid: (x) => { const s = 1 / (1 + Math.exp(-x)); return s * (1 - s); },
  tanh: (x) => 1 - Math.tanh(x) ** 2,
  gelu: (x) => 0.5 * (1 + erf(x / Math.SQRT2)) + x * Math.exp(-x * x / 2) / Math.sqrt(2 * Math.PI),
  pow: (x, p) => p * Math.pow(x, p - 1), scale: (_x, p) => p, addScalar: () => 1,
  clampMin: (x, p) => (x >= p ? 1 : 0),
};
const positiveOnly = new Set<UnaryOp>(['log', 'sqrt', 'pow']);

describe('native kernels vs a float64 reference', () => {
  it('gemm, all transpose cases, alpha/beta, odd sizes', () => {
    for (let t = 0; t < 60; t++) {
      const m = randInt(1, 12), n = randInt(1, 12), k = randInt(1, 12);
      const tA = rnd() < 0.5, tB = rnd() < 0.5;
      const alpha = rnd() * 2 - 1, beta = t % 3 === 0 ? 0 : rnd();
      const a = randn(m * k), b = randn(k * n);
      const { buf: c, check } = guarded(m * n, t % 3 === 0 ? NaN : 0.25);
      const ref = new Float64Array(m * n);
      for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < k; p++) s += a[tA ? p * m + i : i * k + p]! * b[tB ? j * k + p : p * n + j]!;
        ref[i * n + j] = alpha * s + (beta === 0 ? 0 : beta * c[i * n + j]!);
      }
      nb.gemm(tA, tB, m, n, k, alpha, a, b, beta, c);
      close(c, ref, 1e-5);
      check();
    }
    // k = 0: C = beta·C; m = 0 or n = 0: nothing.
    const c = Float32Array.from([1, 2, 3, 4]);
    nb.gemm(false, false, 2, 2, 0, 1, new Float32Array(0), new Float32Array(0), 2, c);
    expect([...c]).toEqual([2, 4, 6, 8]);
  });

  it('gemmBatched with broadcast A, broadcast B (the folded case) and padded C strides', () => {
    for (const [sAz, sBz] of [[false, false], [true, false], [false, true], [true, true]]) {
      for (const tA of [false, true]) for (const tB of [false, true]) {
        const batch = 3, m = 4, n = 5, k = 3;
        const sA = sAz ? 0 : m * k, sB = sBz ? 0 : k * n, sC = m * n + (tA ? 2 : 0);
        const a = randn(sAz ? m * k : batch * m * k), b = randn(sBz ? k * n : batch * k * n);
        const { buf: c, check } = guarded((batch - 1) * sC + m * n, 0.5);
        const expected = Float32Array.from(c);
        for (let i = 0; i < batch; i++) {
          const ci = expected.subarray(i * sC, i * sC + m * n);
          nb.gemm(tA, tB, m, n, k, 1.5, a.subarray(i * sA), b.subarray(i * sB), 0.5, ci);
        }
        nb.gemmBatched(batch, tA, tB, m, n, k, 1.5, a, sA, b, sB, 0.5, c, sC);
        close(c, expected, 1e-6);
        check();
      }
    }
  });

  it('binary with same shapes, scalars, row/column and general broadcasts', () => {
    const cases: [number[], number[]][] = [
      [[3, 4], [3, 4]], [[3, 4], [1]], [[1], [3, 4]], [[], [2, 3]], [[5, 7], [7]], [[5, 7], [5, 1]],
      [[2, 1, 4], [3, 1]], [[2, 3, 1, 5], [1, 3, 4, 1]], [[1, 1, 1], [1, 1]], [[0, 3], [3]],
      [[2, 1, 3, 1, 2, 1, 2, 1], [2, 1, 2, 1, 2]],
    ];
    for (const op of BINARY_OPS) {
      for (const [as, bs] of cases) {
        const rank = Math.max(as.length, bs.length);
        const pa = [...new Array(rank - as.length).fill(1), ...as];
        const pb = [...new Array(rank - bs.length).fill(1), ...bs];
        const os = pa.map((d, i) => (d === 1 ? pb[i]! : d));
        const a = op === 'pow' ? randn(numel(as)).map((v) => Math.abs(v) + 0.1) : randn(numel(as));
        const b = randn(numel(bs));
        const { buf: out, check } = guarded(numel(os));
        const ref = new Float64Array(numel(os));
        for (let i = 0; i < ref.length; i++) {
          const idx = unravel(i, os);
          ref[i] = binRef[op](a[bcOffset(idx, as)]!, b[bcOffset(idx, bs)]!);
        }
        nb.binary(op, a, as, b, bs, out, os);
        close(out, ref, 1e-5);
        check();
      }
    }
    // In place: out is a (same shape).
    const a = randn(12), b = randn(4), ref = Float32Array.from(a, (v, i) => v * b[i % 4]!);
    nb.binary('mul', a, [3, 4], b, [4], a, [3, 4]);
    close(a, ref, 1e-7);
  });

  it('max/min propagate NaN', () => {
    const a = Float32Array.from([NaN, 1, 2]), b = Float32Array.from([0, NaN, 3]), out = new Float32Array(3);
    nb.binary('max', a, [3], b, [3], out, [3]);
    expect(Number.isNaN(out[0]) && Number.isNaN(out[1]) && out[2] === 3).toBe(true);
    nb.binary('min', a, [3], b, [3], out, [3]);
    expect(Number.isNaN(out[0]) && Number.isNaN(out[1]) && out[2] === 2).toBe(true);
  });

  it('unary and unaryBackward for every op', () => {
    const n = 37;
    for (const op of UNARY_OPS) {
      const p = op === 'pow' ? 2.5 : op === 'leakyRelu' ? 0.1 : op === 'clampMin' ? 0.2 : 1.75;
      const x = randn(n, 3).map((v) => (positiveOnly.has(op) ? Math.abs(v) + 0.05 : v));
      const { buf: y, check } = guarded(n);
      nb.unary(op, n, x, y, p);
      close(y, Array.from(x, (v) => Math.fround(unRef[op](v, p))), 2e-6);
      check();
      const dy = randn(n);
      const { buf: dx, check: check2 } = guarded(n);
      nb.unaryBackward(op, n, x, y, dy, dx, p);
      close(dx, Array.from(x, (v, i) => dy[i]! * unGrad[op](v, p)), 1e-5);
      check2();
      // In place: dx is dy, out is x.
      const dy2 = Float32Array.from(dy);
      nb.unaryBackward(op, n, x, y, dy2, dy2, p);
      close(dy2, dx, 0);
      const x2 = Float32Array.from(x);
      nb.unary(op, n, x2, x2, p);
      close(x2, y, 0);
    }
    const dx = new Float32Array(3);
    nb.unaryBackward('relu', 3, Float32Array.from([0, 1, -1]), Float32Array.from([0, 1, 0]), Float32Array.from([5, 5, 5]), dx);
    expect([...dx]).toEqual([0, 5, 0]); // relu'(0) = 0
    nb.unaryBackward('abs', 3, Float32Array.from([0, 2, -2]), Float32Array.from([0, 2, 2]), Float32Array.from([5, 5, 5]), dx);
    expect([...dx]).toEqual([0, 5, -5]); // abs'(0) = 0
  });

  it('axpy, sumTo, permute', () => {
    const x = randn(50), y = randn(50), ref = Array.from(y, (v, i) => v + 0.5 * x[i]!);
    nb.axpy(50, 0.5, x, y);
    close(y, ref, 1e-6);

    const sumCases: [number[], number[]][] = [
      [[4, 5], [5]], [[4, 5], [4, 1]], [[4, 5], [1, 1]], [[4, 5], []], [[2, 3, 4], [3, 1]],
      [[2, 3, 4], [2, 1, 4]], [[3], [1, 3]], [[2, 3], [2, 3]], [[0, 3], [3]], [[40, 70], [1]],
    ];
    for (const [xs, os] of sumCases) {
      const xv = randn(numel(xs));
      const { buf: out, check } = guarded(numel(os), 99);
      const rank = Math.max(xs.length, os.length);
      const px = [...new Array(rank - xs.length).fill(1), ...xs];
      const ref2 = new Float64Array(numel(os));
      for (let i = 0; i < xv.length; i++) ref2[bcOffset(unravel(i, px), os)] += xv[i]!;
      nb.sumTo(xv, xs, out, os);
      close(out, ref2, 1e-5);
      check();
    }

    const permCases: [number[], number[]][] = [
      [[3, 4], [1, 0]], [[2, 3, 4], [2, 0, 1]], [[2, 3, 4], [0, 2, 1]], [[5], [0]],
      [[2, 1, 3, 1], [3, 2, 1, 0]], [[40, 70], [1, 0]], [[2, 3, 4, 5], [0, 1, 2, 3]],
      [[2, 2, 2, 2, 2, 2, 2, 2], [7, 6, 5, 4, 3, 2, 1, 0]],
    ];
    for (const [shape, perm] of permCases) {
      const xv = randn(numel(shape));
      const os = perm.map((p) => shape[p]!);
      const { buf: out, check } = guarded(numel(shape));
      const st = stridesOf(shape);
      const ref3 = Array.from({ length: xv.length }, (_, i) => {
        const oi = unravel(i, os);
        return xv[oi.reduce((acc, v, d) => acc + v * st[perm[d]!]!, 0)]!;
      });
      nb.permute(xv, shape, perm, out);
      close(out, ref3, 0);
      check();
    }
  });

  it('reduce sum/mean/max/min with idx, inner 1 and > 1, NaN propagation', () => {
    for (const [outer, dim, inner] of [[3, 5, 1], [2, 4, 3], [1, 37, 1], [4, 1, 2], [2, 19, 5]]) {
      const x = randn(outer! * dim! * inner!);
      for (const op of ['sum', 'mean', 'max', 'min'] as const) {
        const { buf: out, check } = guarded(outer! * inner!);
        const idx = new Int32Array(outer! * inner!);
        const ref = new Float64Array(outer! * inner!), refIdx = new Int32Array(outer! * inner!);
        for (let o = 0; o < outer!; o++) for (let i = 0; i < inner!; i++) {
          let acc = op === 'max' ? -Infinity : op === 'min' ? Infinity : 0, at = 0;
          for (let d = 0; d < dim!; d++) {
            const v = x[(o * dim! + d) * inner! + i]!;
            if (op === 'sum' || op === 'mean') acc += v;
            else if ((op === 'max' && v > acc) || (op === 'min' && v < acc)) { acc = v; at = d; }
          }
          ref[o * inner! + i] = op === 'mean' ? acc / dim! : acc;
          refIdx[o * inner! + i] = at;
        }
        nb.reduce(op, x, outer!, dim!, inner!, out, op === 'max' || op === 'min' ? idx : undefined);
        close(out, ref, 1e-5);
        if (op === 'max' || op === 'min') expect([...idx]).toEqual([...refIdx]);
        check();
      }
    }
    const out = new Float32Array(2), idx = new Int32Array(2);
    nb.reduce('max', Float32Array.from([1, NaN, NaN, 2, 0, 5]), 1, 3, 2, out, idx);
    expect(Number.isNaN(out[0]) && Number.isNaN(out[1])).toBe(true);
    expect([...idx]).toEqual([1, 0]);
    nb.reduce('max', Float32Array.from([2, 7, 7]), 1, 3, 1, out.subarray(0, 1), idx.subarray(0, 1));
    expect(idx[0]).toBe(1); // the first maximum
    nb.reduce('min', Float32Array.from([3, NaN, 1, NaN]), 1, 4, 1, out.subarray(0, 1), idx.subarray(0, 1));
    expect(Number.isNaN(out[0])).toBe(true);
    expect(idx[0]).toBe(1); // the first NaN
  });

  it('softmax / log-softmax and their backward, inner 1 and > 1', () => {
    for (const [outer, dim, inner] of [[4, 10, 1], [2, 5, 3], [1, 1, 1], [3, 33, 2]]) {
      const x = randn(outer! * dim! * inner!, 5);
      for (const log of [false, true]) {
        const total = x.length;
        const { buf: y, check } = guarded(total);
        const ref = new Float64Array(total);
        for (let o = 0; o < outer!; o++) for (let i = 0; i < inner!; i++) {
          const at = (d: number): number => (o * dim! + d) * inner! + i;
          let m = -Infinity;
          for (let d = 0; d < dim!; d++) m = Math.max(m, x[at(d)]!);
          let s = 0;
          for (let d = 0; d < dim!; d++) s += Math.exp(x[at(d)]! - m);
          for (let d = 0; d < dim!; d++) ref[at(d)] = log ? x[at(d)]! - m - Math.log(s) : Math.exp(x[at(d)]! - m) / s;
        }
        nb.softmax(x, outer!, dim!, inner!, y, log);
        close(y, ref, 2e-6);
        check();
        const dy = randn(total);
        const { buf: dx, check: check2 } = guarded(total);
        const refDx = new Float64Array(total);
        for (let o = 0; o < outer!; o++) for (let i = 0; i < inner!; i++) {
          const at = (d: number): number => (o * dim! + d) * inner! + i;
          let s = 0;
          for (let d = 0; d < dim!; d++) s += log ? dy[at(d)]! : dy[at(d)]! * y[at(d)]!;
          for (let d = 0; d < dim!; d++) {
            refDx[at(d)] = log ? dy[at(d)]! - Math.exp(y[at(d)]!) * s : y[at(d)]! * (dy[at(d)]! - s);
          }
        }
        nb.softmaxBackward(y, dy, outer!, dim!, inner!, dx, log);
        close(dx, refDx, 1e-5);
        check2();
      }
    }
  });

  it('softmaxCrossEntropy (with label smoothing) and its backward', () => {
    for (const eps of [0, 0.1]) {
      const n = 7, c = 10;
      const logits = randn(n * c, 4);
      const targets = Int32Array.from({ length: n }, () => randInt(0, c));
      const { buf: loss, check } = guarded(n);
      const { buf: probs, check: check2 } = guarded(n * c);
      nb.softmaxCrossEntropy(logits, targets, n, c, eps, loss, probs);
      const refLoss = new Float64Array(n), refP = new Float64Array(n * c);
      for (let i = 0; i < n; i++) {
        let m = -Infinity;
        for (let j = 0; j < c; j++) m = Math.max(m, logits[i * c + j]!);
        let s = 0;
        for (let j = 0; j < c; j++) s += Math.exp(logits[i * c + j]! - m);
        for (let j = 0; j < c; j++) {
          const logp = logits[i * c + j]! - m - Math.log(s);
          refP[i * c + j] = Math.exp(logp);
          const q = (j === targets[i] ? 1 - eps : 0) + eps / c;
          refLoss[i] -= q * logp;
        }
      }
      close(loss, refLoss, 2e-6);
      close(probs, refP, 2e-6);
      check();
      check2();
      const dloss = randn(n);
      const { buf: dlogits, check: check3 } = guarded(n * c);
      nb.softmaxCrossEntropyBackward(probs, targets, dloss, n, c, eps, dlogits);
      const refD = Array.from({ length: n * c }, (_, ij) => {
        const i = Math.floor(ij / c), j = ij % c;
        return dloss[i]! * (probs[ij]! - ((j === targets[i] ? 1 - eps : 0) + eps / c));
      });
      close(dlogits, refD, 1e-6);
      check3();
      nb.softmaxCrossEntropyBackward(probs, targets, dloss, n, c, eps, probs); // in place
      close(probs, dlogits, 0);
    }
  });

  it('biasAct and biasActBackward, Linear and Conv layouts', () => {
    for (const [outer, ch, inner] of [[5, 7, 1], [2, 3, 10], [1, 1, 1]]) {
      for (const act of ['none', 'relu'] as const) {
        const total = outer! * ch! * inner!;
        const x = randn(total), bias = randn(ch!);
        const { buf: y, check } = guarded(total);
        nb.biasAct(x, bias, outer!, ch!, inner!, act, y);
        const ref = Array.from(x, (v, i) => {
          const s = v + bias[Math.floor(i / inner!) % ch!]!;
          return act === 'relu' ? Math.max(0, s) : s;
        });
        close(y, ref, 1e-6);
        check();
        const dy = randn(total);
        const dbias = Float32Array.from({ length: ch! }, () => 1);
        const { buf: dx, check: check2 } = guarded(total);
        nb.biasActBackward(y, dy, outer!, ch!, inner!, act, dx, dbias);
        const g = Array.from(dy, (v, i) => (act === 'relu' && !(y[i]! > 0) ? 0 : v));
        const refDb = new Float64Array(ch!).fill(1);
        g.forEach((v, i) => { refDb[Math.floor(i / inner!) % ch!] += v; });
        close(dx, g, 0);
        close(dbias, refDb, 1e-5);
        check2();
      }
    }
  });

  it('im2col / col2im (adjoint), with stride and padding', () => {
    for (const [n, c, h, w, kh, kw, sh, sw, ph, pw] of [
      [2, 3, 5, 6, 3, 3, 1, 1, 1, 1], [1, 2, 7, 5, 2, 3, 2, 1, 0, 1], [1, 1, 4, 4, 4, 4, 1, 1, 0, 0],
      [2, 1, 6, 6, 3, 2, 3, 2, 2, 1], [1, 1, 1, 1, 3, 3, 1, 1, 1, 1],
    ]) {
      const oh = Math.floor((h! + 2 * ph! - kh!) / sh!) + 1, ow = Math.floor((w! + 2 * pw! - kw!) / sw!) + 1;
      const x = randn(n! * c! * h! * w!);
      const rows = c! * kh! * kw!;
      const { buf: col, check } = guarded(n! * rows * oh * ow);
      nb.im2col(x, n!, c!, h!, w!, kh!, kw!, sh!, sw!, ph!, pw!, col);
      const ref = new Float64Array(col.length);
      for (let s = 0; s < n!; s++) for (let ci = 0; ci < c!; ci++) for (let ki = 0; ki < kh!; ki++)
        for (let kj = 0; kj < kw!; kj++) for (let oy = 0; oy < oh; oy++) for (let ox = 0; ox < ow; ox++) {
          const iy = oy * sh! - ph! + ki, ix = ox * sw! - pw! + kj;
          const r = (ci * kh! + ki) * kw! + kj;
          ref[((s * rows + r) * oh + oy) * ow + ox] =
            iy >= 0 && iy < h! && ix >= 0 && ix < w! ? x[((s * c! + ci) * h! + iy) * w! + ix]! : 0;
        }
      close(col, ref, 0);
      check();
      // Adjoint: <im2col(x), y> = <x, col2im(y)>.
      const yv = randn(col.length);
      const { buf: dx, check: check2 } = guarded(x.length, 7);
      nb.col2im(yv, n!, c!, h!, w!, kh!, kw!, sh!, sw!, ph!, pw!, dx);
      let lhs = 0, rhs = 0;
      for (let i = 0; i < col.length; i++) lhs += col[i]! * yv[i]!;
      for (let i = 0; i < x.length; i++) rhs += x[i]! * dx[i]!;
      expect(Math.abs(lhs - rhs)).toBeLessThan(1e-4 * Math.max(1, Math.abs(lhs)));
      check2();
    }
  });

  it('max and average pooling and their backward', () => {
    for (const [n, c, h, w, kh, kw, sh, sw, ph, pw] of [
      [2, 2, 6, 6, 2, 2, 2, 2, 0, 0], [1, 1, 5, 7, 3, 3, 2, 2, 1, 1], [1, 2, 4, 4, 3, 2, 1, 2, 1, 1],
    ]) {
      const oh = Math.floor((h! + 2 * ph! - kh!) / sh!) + 1, ow = Math.floor((w! + 2 * pw! - kw!) / sw!) + 1;
      const x = randn(n! * c! * h! * w!);
      const { buf: out, check } = guarded(n! * c! * oh * ow);
      const idx = new Int32Array(out.length);
      nb.maxPool2d(x, n!, c!, h!, w!, kh!, kw!, sh!, sw!, ph!, pw!, out, idx);
      const { buf: avg, check: check2 } = guarded(out.length);
      nb.avgPool2d(x, n!, c!, h!, w!, kh!, kw!, sh!, sw!, ph!, pw!, avg);
      const refMax: number[] = [], refIdx: number[] = [], refAvg: number[] = [];
      for (let p = 0; p < n! * c!; p++) for (let oy = 0; oy < oh; oy++) for (let ox = 0; ox < ow; ox++) {
        let best = -Infinity, at = -1, s = 0;
        for (let ki = 0; ki < kh!; ki++) for (let kj = 0; kj < kw!; kj++) {
          const iy = oy * sh! - ph! + ki, ix = ox * sw! - pw! + kj;
          if (iy < 0 || iy >= h! || ix < 0 || ix >= w!) continue;
          const v = x[p * h! * w! + iy * w! + ix]!;
          s += v;
          if (v > best) { best = v; at = iy * w! + ix; }
        }
        refMax.push(best); refIdx.push(at); refAvg.push(s / (kh! * kw!));
      }
      close(out, refMax, 0);
      expect([...idx]).toEqual(refIdx);
      close(avg, refAvg, 1e-6);
      check();
      check2();
      const dy = randn(out.length);
      const { buf: dx, check: check3 } = guarded(x.length, 9);
      nb.maxPool2dBackward(dy, idx, n!, c!, h!, w!, oh, ow, dx);
      const refDx = new Float64Array(x.length);
      for (let o = 0; o < dy.length; o++) refDx[Math.floor(o / (oh * ow)) * h! * w! + idx[o]!] += dy[o]!;
      close(dx, refDx, 1e-6);
      check3();
      // avgPool2dBackward is the adjoint of avgPool2d.
      const { buf: dxa, check: check4 } = guarded(x.length, 9);
      nb.avgPool2dBackward(dy, n!, c!, h!, w!, kh!, kw!, sh!, sw!, ph!, pw!, dxa);
      let lhs = 0, rhs = 0;
      for (let i = 0; i < avg.length; i++) lhs += avg[i]! * dy[i]!;
      for (let i = 0; i < x.length; i++) rhs += x[i]! * dxa[i]!;
      expect(Math.abs(lhs - rhs)).toBeLessThan(1e-4);
      check4();
    }
  });

  it('batchNorm (training and eval) and batchNormBackward', () => {
    for (const [outer, ch, inner] of [[8, 3, 1], [4, 2, 5]]) {
      const total = outer! * ch! * inner!, M = outer! * inner!;
      const x = randn(total, 2), gamma = randn(ch!), beta = randn(ch!);
      const rm = randn(ch!), rv = Float32Array.from(randn(ch!), (v) => Math.abs(v) + 0.5);
      const rm0 = Float32Array.from(rm), rv0 = Float32Array.from(rv);
      const { buf: out, check } = guarded(total);
      const mean = new Float32Array(ch!), invStd = new Float32Array(ch!);
      nb.batchNorm(x, outer!, ch!, inner!, gamma, beta, rm, rv, true, 0.1, 1e-5, out, mean, invStd);
      const at = (o: number, c: number, i: number): number => (o * ch! + c) * inner! + i;
      const refOut = new Float64Array(total);
      for (let c = 0; c < ch!; c++) {
        let s = 0, sq = 0;
        for (let o = 0; o < outer!; o++) for (let i = 0; i < inner!; i++) s += x[at(o, c, i)]!;
        const mu = s / M;
        for (let o = 0; o < outer!; o++) for (let i = 0; i < inner!; i++) sq += (x[at(o, c, i)]! - mu) ** 2;
        const v = sq / M, is = 1 / Math.sqrt(v + 1e-5);
        close([mean[c]!, invStd[c]!], [mu, is], 1e-5);
        close([rm[c]!, rv[c]!], [0.9 * rm0[c]! + 0.1 * mu, 0.9 * rv0[c]! + 0.1 * v * M / (M - 1)], 1e-5);
        for (let o = 0; o < outer!; o++) for (let i = 0; i < inner!; i++) {
          refOut[at(o, c, i)] = (x[at(o, c, i)]! - mu) * is * gamma[c]! + beta[c]!;
        }
      }
      close(out, refOut, 1e-5);
      check();
      // Backward against central finite differences of L = Σ out·w.
      const w = randn(total);
      const dx = new Float32Array(total), dgamma = new Float32Array(ch!), dbeta = new Float32Array(ch!);
      nb.batchNormBackward(x, w, outer!, ch!, inner!, gamma, mean, invStd, dx, dgamma, dbeta);
      const loss = (xv: Float64Array): number => {
        let L = 0;
        for (let c = 0; c < ch!; c++) {
          let s = 0, sq = 0;
          for (let o = 0; o < outer!; o++) for (let i = 0; i < inner!; i++) s += xv[at(o, c, i)]!;
          const mu = s / M;
          for (let o = 0; o < outer!; o++) for (let i = 0; i < inner!; i++) sq += (xv[at(o, c, i)]! - mu) ** 2;
          const is = 1 / Math.sqrt(sq / M + 1e-5);
          for (let o = 0; o < outer!; o++) for (let i = 0; i < inner!; i++) {
            L += ((xv[at(o, c, i)]! - mu) * is * gamma[c]! + beta[c]!) * w[at(o, c, i)]!;
          }
        }
        return L;
      };
      const x64 = Float64Array.from(x);
      for (let j = 0; j < total; j += 3) {
        const h = 1e-5, save = x64[j]!;
        x64[j] = save + h; const lp = loss(x64);
        x64[j] = save - h; const lm = loss(x64);
        x64[j] = save;
        expect(Math.abs(dx[j]! - (lp - lm) / (2 * h))).toBeLessThan(2e-3);
      }
      const refDb = new Float64Array(ch!), refDg = new Float64Array(ch!);
      for (let o = 0; o < outer!; o++) for (let c = 0; c < ch!; c++) for (let i = 0; i < inner!; i++) {
        refDb[c] += w[at(o, c, i)]!;
        refDg[c] += w[at(o, c, i)]! * (x[at(o, c, i)]! - mean[c]!) * invStd[c]!;
      }
      close(dbeta, refDb, 1e-5);
      close(dgamma, refDg, 1e-4);
      // Eval mode uses the running statistics.
      const evalOut = new Float32Array(total);
      nb.batchNorm(x, outer!, ch!, inner!, null, null, rm, rv, false, 0.1, 1e-5, evalOut, new Float32Array(0), new Float32Array(0));
      close(evalOut, Array.from(x, (v, i) => {
        const c = Math.floor(i / inner!) % ch!;
        return (v - rm[c]!) / Math.sqrt(rv[c]! + 1e-5);
      }), 1e-5);
    }
  });

  it('sgd, adam/adamw and rmsprop steps follow the contract formulas', () => {
    const n = 19;
    const p0 = randn(n), g = randn(n);
    for (const [mom, damp, nest, wd, first] of [[0, 0, false, 0, true], [0.9, 0.1, false, 0.01, false], [0.9, 0, true, 0, true], [0.5, 0, true, 0.1, false]] as const) {
      const p = Float32Array.from(p0), buf = randn(n), buf0 = Float32Array.from(buf);
      nb.sgdStep(n, p, g, mom === 0 ? null : buf, 0.1, mom, damp, nest, wd, first);
      const ref = Array.from(p0, (pv, i) => {
        let gg = g[i]! + wd * pv;
        if (mom !== 0) {
          const b = first ? gg : mom * buf0[i]! + (1 - damp) * gg;
          gg = nest ? gg + mom * b : b;
        }
        return pv - 0.1 * gg;
      });
      close(p, ref, 1e-6);
    }
    for (const decoupled of [false, true]) {
      const p = Float32Array.from(p0), m = randn(n), v = Float32Array.from(randn(n), Math.abs);
      const m0 = Float32Array.from(m), v0 = Float32Array.from(v);
      const [lr, b1, b2, eps, wd, t] = [0.01, 0.9, 0.999, 1e-8, 0.05, 3];
      nb.adamStep(n, p, g, m, v, lr, b1, b2, eps, wd, t, decoupled);
      const ref = Array.from(p0, (pv, i) => {
        let gg = g[i]!;
        if (decoupled) pv -= lr * wd * pv; else gg += wd * pv;
        const mi = b1 * m0[i]! + (1 - b1) * gg, vi = b2 * v0[i]! + (1 - b2) * gg * gg;
        return pv - (lr / (1 - b1 ** t)) * mi / (Math.sqrt(vi) / Math.sqrt(1 - b2 ** t) + eps);
      });
      close(p, ref, 1e-5);
    }
    for (const [centered, mom] of [[false, 0], [true, 0], [false, 0.9], [true, 0.5]] as const) {
      const p = Float32Array.from(p0), sq = Float32Array.from(randn(n), (x) => Math.abs(x) + 1);
      const ga = randn(n, 0.1), buf = randn(n);
      const sq0 = Float32Array.from(sq), ga0 = Float32Array.from(ga), buf0 = Float32Array.from(buf);
      const [lr, alpha, eps, wd] = [0.01, 0.99, 1e-8, 0.01];
      nb.rmspropStep(n, p, g, sq, centered ? ga : null, mom > 0 ? buf : null, lr, alpha, eps, wd, mom, centered);
      const ref = Array.from(p0, (pv, i) => {
        const gg = g[i]! + wd * pv;
        const s = alpha * sq0[i]! + (1 - alpha) * gg * gg;
        const gav = alpha * ga0[i]! + (1 - alpha) * gg;
        const avg = centered ? Math.sqrt(s - gav * gav) + eps : Math.sqrt(s) + eps;
        return mom > 0 ? pv - lr * (mom * buf0[i]! + gg / avg) : pv - lr * gg / avg;
      });
      close(p, ref, 1e-5);
    }
  });

  it('xoshiro128** streams: uniform, normal (Box–Muller), and the hashed dropout mask', () => {
    // Reference generator in JS, straight from the contract.
    const next = (s: Uint32Array): number => {
      const rotl = (x: number, k: number): number => ((x << k) | (x >>> (32 - k))) >>> 0;
      const result = Math.imul(rotl(Math.imul(s[1]!, 5) >>> 0, 7), 9) >>> 0;
      const t = (s[1]! << 9) >>> 0;
      s[2]! ^= s[0]!; s[3]! ^= s[1]!; s[1]! ^= s[2]!; s[0]! ^= s[3]!; s[2]! ^= t;
      s[3] = rotl(s[3]!, 11);
      return result;
    };
    const uni = (s: Uint32Array): number => (next(s) >>> 8) * 2 ** -24;
    const seedState = (): Uint32Array => Uint32Array.from([0x9e3779b9, 0x243f6a88, 0xb7e15162, 0x12345678]);

    const s1 = seedState(), s2 = seedState();
    const out = new Float32Array(101);
    nb.randUniform(s1, out, 101, -0.1, 0.3);
    const lo = Math.fround(-0.1), hi = Math.fround(0.3), width = Math.fround(hi - lo);
    const ref = Array.from({ length: 101 }, () => Math.fround(lo + Math.fround(width * uni(s2))));
    expect([...out]).toEqual(ref); // bit-identical
    expect([...s1]).toEqual([...s2]); // state advanced in place by exactly n draws

    const s3 = seedState(), s4 = seedState();
    const z = new Float32Array(7);
    nb.randNormal(s3, z, 7, 0.5, 2);
    const refZ: number[] = [];
    for (let i = 0; i < 7; i += 2) {
      let u1 = uni(s4);
      const u2 = uni(s4);
      if (u1 === 0) u1 = 2 ** -24;
      const r = Math.sqrt(-2 * Math.log(u1));
      refZ.push(Math.fround(0.5 + 2 * (r * Math.cos(2 * Math.PI * u2))));
      if (i + 1 < 7) refZ.push(Math.fround(0.5 + 2 * (r * Math.sin(2 * Math.PI * u2))));
    }
    expect([...z]).toEqual(refZ);
    expect([...s3]).toEqual([...s4]); // 2·ceil(7/2) = 8 uniforms consumed

    const s5 = seedState(), s6 = seedState();
    const mask = new Float32Array(64);
    nb.dropoutMask(s5, mask, 64, 0.3);
    // Two draws key a hash of the element index: h = mix32(mix32(i + k0) ^ k1), mix32 = lowbias32.
    const k0 = next(s6), k1 = next(s6);
    const mix32 = (x: number): number => {
      x = (x ^ (x >>> 16)) >>> 0;
      x = Math.imul(x, 0x7feb352d) >>> 0;
      x = (x ^ (x >>> 15)) >>> 0;
      x = Math.imul(x, 0x846ca68b) >>> 0;
      return (x ^ (x >>> 16)) >>> 0;
    };
    const word = (i: number): number => mix32((mix32((i + k0) >>> 0) ^ k1) >>> 0);
    expect([...mask]).toEqual(Array.from({ length: 64 }, (_, i) => ((word(i) >>> 8) * 2 ** -24 >= 0.3 ? Math.fround(1 / 0.7) : 0)));
    expect([...s5]).toEqual([...s6]); // two draws per call
  });
});
