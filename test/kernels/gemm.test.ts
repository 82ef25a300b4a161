import { describe, expect, it } from 'vitest';
import type { Backend } from '../../src/backend/backend';
import { BACKENDS, JS, NATIVE } from '../helpers/backends';
import { expectClose, guardedF32, inputF32 } from '../helpers/close';
import { randomF32, refGemm } from '../helpers/reference';

const TRANSPOSES: [boolean, boolean][] = [[false, false], [false, true], [true, false], [true, true]];

/** (m, n, k): 1s, primes, non-multiples of the JS tile (4×4, KC 256, MC 64, NC 1024), large K. */
const SHAPES: [number, number, number][] = [
  [1, 1, 1], [1, 7, 1], [7, 1, 3], [1, 1, 13], [3, 5, 7], [4, 4, 4], [5, 3, 2], [13, 17, 11],
  [64, 64, 64], [65, 33, 129], [2, 3, 1000], [7, 5, 1031], [130, 70, 300], [3, 1100, 10],
  [1, 513, 784], [300, 1, 77], [2, 2, 2],
];

/** Worst-case float32 accumulation error grows like k·u; allow that relative to Σ|a·b|. */
function gemmTol(k: number): number {
  return 2e-6 + 6e-8 * k;
}

function runGemm(be: Backend, tA: boolean, tB: boolean, m: number, n: number, k: number,
  alpha: number, beta: number, seed: number): void {
  const a = randomF32(m * k, seed);
  const b = randomF32(k * n, seed + 1);
  const c0 = randomF32(m * n, seed + 2);
  const out = guardedF32(m * n, beta === 0 ? new Float32Array(m * n).fill(NaN) : c0);
  be.gemm(tA, tB, m, n, k, alpha, inputF32(a), inputF32(b), beta, out.buf);
  out.check('c');
  const ref = refGemm(tA, tB, m, n, k, alpha, a, b, beta, c0);
  expectClose(out.data, ref.c, {
    scale: ref.mag, rtol: gemmTol(k), atol: 1e-30, maxNmse: 1e-9,
    label: `gemm ${be.name} tA=${tA} tB=${tB} m=${m} n=${n} k=${k} alpha=${alpha} beta=${beta}`,
  });
}

describe.each(BACKENDS.map((b) => [b.name, b] as const))('gemm on %s', (_name, be) => {
  it.each(TRANSPOSES)('all shapes, transA=%s transB=%s (alpha 1, beta 0)', (tA, tB) => {
    let seed = 1;
    for (const [m, n, k] of SHAPES) runGemm(be, tA, tB, m, n, k, 1, 0, (seed += 3));
  });

  it.each(TRANSPOSES)('alpha/beta combinations, transA=%s transB=%s', (tA, tB) => {
    const cases: [number, number][] = [[0.5, 0], [1, 1], [-1.5, 0.25], [2, -1], [0, 2], [0, 0]];
    let seed = 100;
    for (const [alpha, beta] of cases) {
      for (const [m, n, k] of [[5, 6, 7], [33, 9, 300], [1, 70, 301], [45, 1, 260]] as const) {
        runGemm(be, tA, tB, m, n, k, alpha, beta, (seed += 3));
      }
    }
  });

  it('beta = 0 does not read C (NaN in C does not propagate)', () => {
    const c = new Float32Array(4).fill(NaN);
    be.gemm(false, false, 2, 2, 2, 1, new Float32Array([1, 2, 3, 4]), new Float32Array([5, 6, 7, 8]), 0, c);
    expect(Array.from(c)).toEqual([19, 22, 43, 50]);
  });

  it('k = 0 scales C by beta; beta = 0 zeroes it', () => {
    const c = guardedF32(6, [1, 2, 3, 4, 5, 6]);
    be.gemm(false, true, 2, 3, 0, 1, new Float32Array(0), new Float32Array(0), 0.5, c.buf);
    c.check();
    expect(Array.from(c.data)).toEqual([0.5, 1, 1.5, 2, 2.5, 3]);
    const z = guardedF32(6, new Float32Array(6).fill(NaN));
    be.gemm(true, false, 2, 3, 0, 1, new Float32Array(0), new Float32Array(0), 0, z.buf);
    z.check();
    expect(Array.from(z.data)).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it('m = 0 or n = 0 writes nothing', () => {
    const c = guardedF32(0);
    be.gemm(false, false, 0, 5, 3, 1, new Float32Array(0), new Float32Array(15), 0, c.buf);
    be.gemm(false, false, 4, 0, 3, 1, new Float32Array(12), new Float32Array(0), 1, c.buf);
    c.check();
  });

  it('a small hand-computed product with every transpose', () => {
    // A = [[1,2,3],[4,5,6]] (2×3), B = [[1,0],[0,1],[1,1]] (3×2): A·B = [[4,5],[10,11]].
    const A = [1, 2, 3, 4, 5, 6], At = [1, 4, 2, 5, 3, 6];
    const B = [1, 0, 0, 1, 1, 1], Bt = [1, 0, 1, 0, 1, 1];
    for (const [tA, tB] of TRANSPOSES) {
      const c = new Float32Array(4);
      be.gemm(tA, tB, 2, 2, 3, 1, new Float32Array(tA ? At : A), new Float32Array(tB ? Bt : B), 0, c);
      expect(Array.from(c)).toEqual([4, 5, 10, 11]);
    }
  });
});

describe.each(BACKENDS.map((b) => [b.name, b] as const))('gemmBatched on %s', (_name, be) => {
  function runBatched(tA: boolean, tB: boolean, batch: number, m: number, n: number, k: number,
    sA: number, sB: number, sC: number, alpha: number, beta: number, seed: number): void {
    const na = batch === 0 ? 0 : (batch - 1) * sA + m * k;
    const nb = batch === 0 ? 0 : (batch - 1) * sB + k * n;
    const nc = batch === 0 ? 0 : (batch - 1) * sC + m * n;
    const a = randomF32(na, seed), b = randomF32(nb, seed + 1), c0 = randomF32(nc, seed + 2);
    const out = guardedF32(nc, c0);
    be.gemmBatched(batch, tA, tB, m, n, k, alpha, inputF32(a), sA, inputF32(b), sB, beta, out.buf, sC);
    out.check('c');
    const expected = Float64Array.from(c0); // gaps between C blocks stay as they were
    for (let i = 0; i < batch; i++) {
      const ref = refGemm(tA, tB, m, n, k, alpha, a.subarray(i * sA), b.subarray(i * sB), beta,
        c0.subarray(i * sC));
      expected.set(ref.c, i * sC);
    }
    expectClose(out.data, expected, {
      rtol: gemmTol(k) * 4, atol: 1e-5, label: `gemmBatched ${be.name} tA=${tA} tB=${tB} b=${batch} ${m}×${n}×${k} strides ${sA},${sB},${sC}`,
    });
  }

  it.each(TRANSPOSES)('strided, broadcast (stride 0) and gapped C, transA=%s transB=%s', (tA, tB) => {
    let seed = 500;
    for (const [batch, m, n, k] of [[3, 5, 4, 6], [2, 17, 13, 300], [1, 3, 3, 3], [4, 1, 7, 2]] as const) {
      runBatched(tA, tB, batch, m, n, k, m * k, k * n, m * n, 1, 0, (seed += 3));
      runBatched(tA, tB, batch, m, n, k, 0, k * n, m * n, 1, 0, (seed += 3)); // shared A
      runBatched(tA, tB, batch, m, n, k, m * k, 0, m * n, 1, 0, (seed += 3)); // shared weight B
      runBatched(tA, tB, batch, m, n, k, m * k + 3, k * n + 1, m * n + 5, 0.5, 0.75, (seed += 3));
    }
  });

  it('batch = 0 writes nothing', () => {
    const c = guardedF32(0);
    be.gemmBatched(0, false, false, 3, 3, 3, 1, new Float32Array(0), 9, new Float32Array(0), 9, 0, c.buf, 9);
    c.check();
  });
});

describe.runIf(NATIVE)('gemm: native vs js directly', () => {
  it.each(TRANSPOSES)('transA=%s transB=%s agree on random shapes', (tA, tB) => {
    let seed = 900;
    for (const [m, n, k] of SHAPES) {
      const a = randomF32(m * k, (seed += 2)), b = randomF32(k * n, seed + 1);
      const c0 = randomF32(m * n, seed + 7);
      const cn = Float32Array.from(c0), cj = Float32Array.from(c0);
      NATIVE!.gemm(tA, tB, m, n, k, 1.25, a, b, 0.5, cn);
      JS.gemm(tA, tB, m, n, k, 1.25, a, b, 0.5, cj);
      const ref = refGemm(tA, tB, m, n, k, 1.25, a, b, 0.5, c0);
      expectClose(cn, cj, { scale: ref.mag, rtol: 2 * gemmTol(k), atol: 1e-30, label: `native vs js ${m}×${n}×${k}` });
    }
  });
});

describe.runIf(NATIVE)('gemm on several threads (native)', () => {
  it('large products (the MLP and CNN shapes) are bit-identical on 1 and 2 threads', () => {
    const shapes: Array<[boolean, boolean, number, number, number]> = [
      [false, true, 128, 512, 784], [false, false, 128, 512, 512], [true, false, 512, 784, 128],
      [true, false, 128, 9216, 64], [false, true, 64, 128, 9216], [false, false, 300, 37, 900],
    ];
    const prev = NATIVE!.getNumThreads();
    for (const [ta, tb, m, n, k] of shapes) {
      const a = randomF32(m * k, m + 1), b = randomF32(k * n, n + 2);
      const c0 = randomF32(m * n, k + 3);
      const res = [1, 2].map((t) => {
        NATIVE!.setNumThreads(t);
        try {
          const c = c0.slice();
          NATIVE!.gemm(ta, tb, m, n, k, 0.5, a, b, 1.5, c);
          return c;
        } finally {
          NATIVE!.setNumThreads(prev);
        }
      });
      expect(Array.from(res[1]!)).toEqual(Array.from(res[0]!));
      const ref = refGemm(ta, tb, m, n, k, 0.5, a, b, 1.5, c0).c;
      expectClose(res[0]!, ref, { rtol: 1e-4, atol: 1e-3 });
    }
  });
});
