import { describe, expect, it } from 'vitest';
import { BINARY_OPS, UNARY_OPS, type Backend, type BinaryOp, type UnaryOp } from '../../src/backend/backend';
import { BACKENDS, JS, NATIVE } from '../helpers/backends';
import { expectClose, guardedF32, inputF32 } from '../helpers/close';
import { elementwiseDerivative } from '../helpers/fd';
import {
  prod, randomF32, refBinary, refErf, refPermute, refSumTo, refUnary, unaryOpRef,
} from '../helpers/reference';

const EACH = BACKENDS.map((b) => [b.name, b] as const);

/** Broadcasting patterns: same shape, scalar, row, column, middle dim, both sides, rank 4/8, empty. */
const PATTERNS: [number[], number[]][] = [
  [[2, 3], [2, 3]],
  [[5], [5]],
  [[3, 4], []],
  [[], [3, 4]],
  [[1], [2, 3]],
  [[3, 4], [4]],
  [[3, 4], [1, 4]],
  [[3, 1], [3, 4]],
  [[3, 4], [3, 1]],
  [[2, 1, 4], [2, 3, 4]],
  [[2, 3, 4], [1, 3, 1]],
  [[3, 1], [1, 4]],
  [[2, 1, 3, 1], [1, 4, 1, 5]],
  [[2, 3, 1, 5], [3, 4, 1]],
  [[2, 1, 2, 1, 2, 1, 2, 1], [1, 2, 1, 2, 1, 2, 1, 2]],
  [[7, 1, 13], [1, 11, 1]],
  [[0, 3], [1, 3]],
  [[2, 0], [2, 1]],
];

/** Inputs inside each op's comfortable domain. */
function binaryInputs(op: BinaryOp, n: number, seed: number): Float32Array {
  if (op === 'pow') return randomF32(n, seed, 0.1, 2);
  if (op === 'div') return randomF32(n, seed, 0.5, 2).map((v, i) => (i % 2 ? -v : v));
  return randomF32(n, seed, -2, 2);
}

describe.each(EACH)('binary on %s', (_name, be) => {
  it.each(BINARY_OPS)('%s over every broadcasting pattern', (op) => {
    let seed = 10;
    for (const [aShape, bShape] of PATTERNS) {
      const a = binaryInputs(op, prod(aShape), (seed += 2));
      const b = binaryInputs(op, prod(bShape), seed + 1);
      const ref = refBinary(op, a, aShape, b, bShape);
      const out = guardedF32(ref.out.length);
      be.binary(op, inputF32(a), aShape, inputF32(b), bShape, out.buf, ref.shape);
      out.check();
      expectClose(out.data, ref.out, {
        rtol: op === 'pow' ? 1e-6 : 6e-8, atol: 0,
        label: `${be.name} ${op} ${JSON.stringify(aShape)} ${JSON.stringify(bShape)}`,
      });
    }
  });

  it('add/sub/mul/div are exactly the float32 results', () => {
    const a = randomF32(64, 1, -3, 3), b = randomF32(64, 2, 0.5, 3);
    for (const [op, f] of [['add', (x: number, y: number) => x + y], ['sub', (x: number, y: number) => x - y],
      ['mul', (x: number, y: number) => x * y], ['div', (x: number, y: number) => x / y]] as const) {
      const out = new Float32Array(64);
      be.binary(op, a, [64], b, [64], out, [64]);
      for (let i = 0; i < 64; i++) expect(out[i]).toBe(Math.fround(f(a[i]!, b[i]!)));
    }
  });

  it('max/min propagate NaN from either side', () => {
    const a = new Float32Array([NaN, 1, 2, NaN]), b = new Float32Array([1, NaN, 3, NaN]);
    for (const op of ['max', 'min'] as const) {
      const out = new Float32Array(4);
      be.binary(op, a, [4], b, [4], out, [4]);
      expect(Number.isNaN(out[0])).toBe(true);
      expect(Number.isNaN(out[1])).toBe(true);
      expect(out[2]).toBe(op === 'max' ? 3 : 2);
      expect(Number.isNaN(out[3])).toBe(true);
    }
  });

  it('out may alias an input of the output shape', () => {
    const a = randomF32(12, 3), b = randomF32(4, 4);
    const ref = refBinary('mul', a, [3, 4], b, [4]);
    const inPlace = Float32Array.from(a);
    be.binary('mul', inPlace, [3, 4], b, [4], inPlace, [3, 4]);
    expectClose(inPlace, ref.out, { rtol: 6e-8, atol: 0 });
    const c = randomF32(12, 5);
    const ref2 = refBinary('sub', b, [4], c, [3, 4]);
    const inPlaceB = Float32Array.from(c);
    be.binary('sub', b, [4], inPlaceB, [3, 4], inPlaceB, [3, 4]);
    expectClose(inPlaceB, ref2.out, { rtol: 6e-8, atol: 0 });
  });
});

// ------------------------------------------------------------------ unary

interface UnaryCase { op: UnaryOp; param?: number; lo: number; hi: number; kinks?: number[] }

const UNARY_CASES: UnaryCase[] = [
  { op: 'neg', lo: -3, hi: 3 },
  { op: 'exp', lo: -5, hi: 5 },
  { op: 'log', lo: 0.05, hi: 5 },
  { op: 'sqrt', lo: 0.05, hi: 5 },
  { op: 'abs', lo: -3, hi: 3, kinks: [0] },
  { op: 'sign', lo: -3, hi: 3, kinks: [0] },
  { op: 'square', lo: -3, hi: 3 },
  { op: 'reciprocal', lo: 0.2, hi: 3 },
  { op: 'relu', lo: -3, hi: 3, kinks: [0] },
  { op: 'leakyRelu', param: 0.01, lo: -3, hi: 3, kinks: [0] },
  { op: 'leakyRelu', param: 0.2, lo: -3, hi: 3, kinks: [0] },
  { op: 'sigmoid', lo: -6, hi: 6 },
  { op: 'tanh', lo: -3, hi: 3 },
  { op: 'gelu', lo: -5, hi: 5 },
  { op: 'pow', param: 2.5, lo: 0.1, hi: 3 },
  { op: 'pow', param: 3, lo: -2, hi: 2 },
  { op: 'pow', param: -1.5, lo: 0.2, hi: 3 },
  { op: 'pow', param: 0, lo: -2, hi: 2 },
  { op: 'scale', param: -1.5, lo: -3, hi: 3 },
  { op: 'addScalar', param: 0.7, lo: -3, hi: 3 },
  { op: 'clampMin', param: 0.2, lo: -3, hi: 3, kinks: [0.2] },
];

function caseName(c: UnaryCase): string {
  return c.param === undefined ? c.op : `${c.op}(${c.param})`;
}

function paramOf(c: UnaryCase): number {
  return c.param ?? 0;
}

/** Inputs with a few special points (kinks themselves, 0) mixed in. */
function unaryInputs(c: UnaryCase, n: number, seed: number): Float32Array {
  const x = randomF32(n, seed, c.lo, c.hi);
  (c.kinks ?? []).forEach((k, i) => { x[3 + i] = k; });
  return x;
}

describe.each(EACH)('unary on %s', (_name, be) => {
  it('covers every unary op', () => {
    expect(new Set(UNARY_CASES.map((c) => c.op))).toEqual(new Set(UNARY_OPS));
  });

  it.each(UNARY_CASES.map((c) => [caseName(c), c] as const))('%s forward matches the float64 reference', (_n, c) => {
    for (const n of [1, 7, 257]) {
      const x = unaryInputs(c, n, n + 3);
      const out = guardedF32(n);
      be.unary(c.op, n, inputF32(x), out.buf, c.param);
      out.check();
      expectClose(out.data, refUnary(c.op, x, paramOf(c)), {
        rtol: c.op === 'gelu' || c.op === 'pow' ? 4e-7 : 2e-7, atol: 1e-7, label: `${be.name} ${caseName(c)}`,
      });
    }
  });

  it.each(UNARY_CASES.map((c) => [caseName(c), c] as const))('%s backward matches finite differences', (_n, c) => {
    const n = 200;
    const x = unaryInputs(c, n, 77);
    const dy = randomF32(n, 78, -1, 1);
    const y = new Float32Array(n);
    be.unary(c.op, n, x, y, c.param);
    const dx = guardedF32(n);
    be.unaryBackward(c.op, n, inputF32(x), inputF32(y), inputF32(dy), dx.buf, c.param);
    dx.check();
    const p = paramOf(c);
    const kinks = c.kinks ?? [];
    const d = elementwiseDerivative((v) => unaryOpRef(c.op, v, p), x,
      (v) => kinks.some((k) => Math.abs(v - k) < 1e-3));
    const expected = d.map((v, i) => v * dy[i]!);
    const got = Float64Array.from(dx.data);
    // Compare only where the finite difference is defined (away from kinks).
    const mask = (arr: ArrayLike<number>) => Array.from(arr).filter((_v, i) => Number.isFinite(d[i]!));
    expectClose(mask(got), mask(expected), { rtol: 1e-4, atol: 1e-5, label: `${be.name} d/dx ${caseName(c)}` });
  });

  it('relu\'(0) = 0, abs\'(0) = 0, leakyRelu\'(0) = slope, clampMin passes the gradient at the bound', () => {
    const x = new Float32Array([0, 0.2, -1, 1]);
    const dy = new Float32Array([3, 3, 3, 3]);
    const y = new Float32Array(4);
    const dx = new Float32Array(4);
    be.unary('relu', 4, x, y);
    be.unaryBackward('relu', 4, x, y, dy, dx);
    expect(Array.from(dx)).toEqual([0, 3, 0, 3]);
    be.unary('abs', 4, x, y);
    be.unaryBackward('abs', 4, x, y, dy, dx);
    expect(Array.from(dx)).toEqual([0, 3, -3, 3]);
    be.unary('leakyRelu', 4, x, y, 0.5);
    be.unaryBackward('leakyRelu', 4, x, y, dy, dx, 0.5);
    expect(Array.from(dx)).toEqual([1.5, 3, 1.5, 3]);
    be.unary('clampMin', 4, x, y, 0.2);
    be.unaryBackward('clampMin', 4, x, y, dy, dx, 0.2);
    expect(Array.from(dx)).toEqual([0, 3, 0, 3]);
  });

  it('gelu uses the exact erf form', () => {
    // gelu(1) = 0.5·(1 + erf(1/√2)) = 0.8413447460685429; erf(1) = 0.8427007929497149.
    expect(refErf(1)).toBeCloseTo(0.8427007929497149, 15);
    expect(refErf(2)).toBeCloseTo(0.9953222650189527, 15);
    const out = new Float32Array(3);
    be.unary('gelu', 3, new Float32Array([1, -1, 3]), out);
    expect(out[0]).toBeCloseTo(0.8413447460685429, 6);
    expect(out[1]).toBeCloseTo(-0.15865525393145707, 6);
    expect(out[2]).toBeCloseTo(2.9959502665251835, 6);
  });

  it('relu and clampMin propagate NaN; sigmoid saturates without NaN', () => {
    const out = new Float32Array(2);
    be.unary('relu', 1, new Float32Array([NaN]), out);
    expect(Number.isNaN(out[0])).toBe(true);
    be.unary('clampMin', 1, new Float32Array([NaN]), out, 0);
    expect(Number.isNaN(out[0])).toBe(true);
    be.unary('sigmoid', 2, new Float32Array([-1000, 1000]), out);
    expect(Array.from(out)).toEqual([0, 1]);
  });

  it('out may alias x, dx may alias dy', () => {
    const x = randomF32(33, 9, -2, 2);
    const ref = refUnary('tanh', x);
    const buf = Float32Array.from(x);
    be.unary('tanh', 33, buf, buf);
    expectClose(buf, ref, { rtol: 2e-7, atol: 1e-7 });
    const dy = randomF32(33, 10);
    const dx = new Float32Array(33);
    be.unaryBackward('tanh', 33, x, buf, dy, dx);
    const g = Float32Array.from(dy);
    be.unaryBackward('tanh', 33, x, buf, g, g);
    expect(Array.from(g)).toEqual(Array.from(dx));
  });
});

// ------------------------------------------------------------------ axpy, sumTo, permute

describe.each(EACH)('axpy, sumTo and permute on %s', (_name, be) => {
  it('axpy: y += alpha·x', () => {
    for (const n of [0, 1, 5, 1000]) {
      const x = randomF32(n, 1), y0 = randomF32(n, 2);
      const y = guardedF32(n, y0);
      be.axpy(n, -0.75, inputF32(x), y.buf);
      y.check();
      expectClose(y.data, Array.from(y0, (v, i) => v - 0.75 * x[i]!), { rtol: 2e-7, atol: 1e-7 });
    }
  });

  const SUMTO: [number[], number[]][] = [
    [[2, 3, 4], [4]], [[2, 3, 4], [3, 1]], [[2, 3, 4], [1]], [[2, 3, 4], []], [[2, 3, 4], [2, 1, 4]],
    [[2, 3, 4], [2, 3, 4]], [[2, 3, 4], [1, 1, 1]], [[3, 5, 2, 7], [5, 1, 1]], [[3, 5, 2, 7], [3, 1, 2, 1]],
    [[128, 10], [10]], [[1000], [1]], [[4, 0, 3], [1, 3]], [[4, 0, 3], [4, 0, 3]], [[1, 6], [1, 1, 6]],
  ];
  it.each(SUMTO.map(([x, o]) => [JSON.stringify(x), JSON.stringify(o), x, o] as const))(
    'sumTo %s → %s', (_a, _b, xShape, outShape) => {
      const x = randomF32(prod(xShape), 3);
      const out = guardedF32(prod(outShape), new Float32Array(prod(outShape)).fill(99));
      be.sumTo(inputF32(x), xShape, out.buf, outShape);
      out.check();
      expectClose(out.data, refSumTo(x, xShape, outShape), { rtol: 1e-6, atol: 1e-5 });
    });

  const PERMS: [number[], number[]][] = [
    [[3, 4], [1, 0]], [[3, 4], [0, 1]], [[2, 3, 4], [2, 0, 1]], [[2, 3, 4], [1, 2, 0]],
    [[2, 3, 4], [0, 2, 1]], [[2, 3, 4, 5], [3, 1, 0, 2]], [[1, 5, 1, 3], [3, 2, 1, 0]],
    [[100, 70], [1, 0]], [[6, 37, 33], [0, 2, 1]], [[2, 2, 2, 2, 2, 2, 2, 2], [7, 6, 5, 4, 3, 2, 1, 0]],
    [[5], [0]], [[], []], [[3, 0, 2], [2, 1, 0]],
  ];
  it.each(PERMS.map(([s, p]) => [JSON.stringify(s), JSON.stringify(p), s, p] as const))(
    'permute %s by %s', (_a, _b, shape, perm) => {
      const x = randomF32(prod(shape), 4);
      const out = guardedF32(prod(shape));
      be.permute(inputF32(x), shape, perm, out.buf);
      out.check();
      expect(Array.from(out.data)).toEqual(Array.from(refPermute(x, shape, perm)));
    });
});

describe.runIf(NATIVE)('elementwise: native vs js directly', () => {
  const pair = (f: (be: Backend) => Float32Array) => [f(NATIVE!), f(JS)] as const;

  it.each(BINARY_OPS)('binary %s agrees', (op) => {
    let seed = 40;
    for (const [aShape, bShape] of PATTERNS) {
      const a = binaryInputs(op, prod(aShape), (seed += 2)), b = binaryInputs(op, prod(bShape), seed + 1);
      const shape = refBinary(op, a, aShape, b, bShape).shape;
      const [n, j] = pair((be) => { const o = new Float32Array(prod(shape)); be.binary(op, a, aShape, b, bShape, o, shape); return o; });
      expectClose(n, j, { rtol: op === 'pow' ? 1e-6 : 0, atol: 0, label: `${op} ${aShape} ${bShape}` });
    }
  });

  it.each(UNARY_CASES.map((c) => [caseName(c), c] as const))('unary %s forward and backward agree', (_n, c) => {
    const x = unaryInputs(c, 300, 5), dy = randomF32(300, 6);
    const [yn, yj] = pair((be) => { const o = new Float32Array(300); be.unary(c.op, 300, x, o, c.param); return o; });
    expectClose(yn, yj, { rtol: 4e-7, atol: 1e-7, label: `${caseName(c)} forward` });
    const [dn, dj] = pair((be) => { const o = new Float32Array(300); be.unaryBackward(c.op, 300, x, yj, dy, o, c.param); return o; });
    expectClose(dn, dj, { rtol: 1e-6, atol: 1e-7, label: `${caseName(c)} backward` });
  });

  it('sumTo and permute agree', () => {
    const x = randomF32(3 * 5 * 2 * 7, 8);
    const [sn, sj] = pair((be) => { const o = new Float32Array(10); be.sumTo(x, [3, 5, 2, 7], o, [5, 2, 1]); return o; });
    expectClose(sn, sj, { rtol: 1e-6, atol: 1e-6 });
    const [pn, pj] = pair((be) => { const o = new Float32Array(210); be.permute(x, [3, 5, 2, 7], [3, 1, 0, 2], o); return o; });
    expect(Array.from(pn)).toEqual(Array.from(pj));
  });
});

describe.each(EACH)('gatherBytes on %s', (_name, be) => {
  it('copies the chosen records, byte·scale + shift in double rounded once, one channel at a time', () => {
    // 5 records of 2 channels × 3 bytes; gather records 4, 0, 4 (repeats allowed).
    const src = Uint8Array.from({ length: 30 }, (_, i) => (i * 37 + 11) % 256);
    const indices = Int32Array.from([4, 0, 4]);
    const out = new Float32Array(18).fill(-9);
    const s0 = 1 / 255 / 0.3081, t0 = -0.1307 / 0.3081;
    be.gatherBytes(src, indices, 3, 6, 0, 3, s0, t0, out);
    // Channel 1 not yet written: left as it was.
    for (let k = 0; k < 3; k++) for (let j = 3; j < 6; j++) expect(out[k * 6 + j]).toBe(-9);
    be.gatherBytes(src, indices, 3, 6, 3, 3, 2, 1, out);
    for (let k = 0; k < 3; k++) {
      for (let j = 0; j < 6; j++) {
        const b = src[indices[k]! * 6 + j]!;
        const want = j < 3 ? Math.fround(b * s0 + t0) : Math.fround(b * 2 + 1);
        expect(out[k * 6 + j], `record ${k}, byte ${j}`).toBe(want);
      }
    }
  });

  it('scale and shift are doubles: beyond float32 alone, byte·scale + shift may still be finite', () => {
    // A degenerate std makes shift −5e39 (±Infinity as a float32); at byte 255 the sum is 1e38.
    const out = new Float32Array(2);
    be.gatherBytes(Uint8Array.from([0, 255]), Int32Array.from([0]), 1, 2, 0, 2, 5e39 / 255 + 1e38 / 255, -5e39, out);
    expect(out[0]).toBe(-Infinity);
    expect(out[1]).toBe(Math.fround(255 * (5e39 / 255 + 1e38 / 255) - 5e39));
    expect(Number.isFinite(out[1])).toBe(true);
  });

  it('count 0 touches nothing; a whole-record stride works on views with an offset', () => {
    const out = new Float32Array(4).fill(3);
    be.gatherBytes(new Uint8Array(0), new Int32Array(0), 0, 4, 0, 4, 1, 0, out);
    expect(Array.from(out)).toEqual([3, 3, 3, 3]);
    const whole = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const src = whole.subarray(1); // records [2,3,4,5] and [6,7,8,9]
    be.gatherBytes(src, Int32Array.from([1]), 1, 4, 0, 4, 1, 0, out);
    expect(Array.from(out)).toEqual([6, 7, 8, 9]);
  });
});

describe.runIf(NATIVE)('gatherBytes: native vs js', () => {
  it('bit-identical on an MNIST-sized batch with the MNIST normalisation', () => {
    const per = 784, records = 300;
    const src = Uint8Array.from({ length: per * records }, (_, i) => (Math.imul(i, 2654435761) >>> 24) & 255);
    const indices = Int32Array.from({ length: 128 }, (_, k) => (k * 7919) % records);
    const s = (1 / 255) * (1 / 0.3081), t = -0.1307 / 0.3081;
    const run = (b: Backend) => { const o = new Float32Array(128 * per); b.gatherBytes(src, indices, 128, per, 0, per, s, t, o); return o; };
    const n = run(NATIVE!), j = run(JS);
    expect(Array.from(n)).toEqual(Array.from(j));
  });
});
