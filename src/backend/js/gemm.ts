/**
 * GEMM in plain TypeScript: C = alpha·op(A)·op(B) + beta·C, row-major.
 *
 * Blocked the BLIS way. For each NC-wide column block and KC-deep slice of K, op(B) is packed
 * into NR-wide panels; for each MC-tall row block, op(A) is packed into MR-tall panels; then a
 * 4×4 register-blocked micro-kernel walks the panels, keeping its 16 accumulators in locals.
 * Packing handles all four transpose cases (the micro-kernel only ever sees packed panels) and
 * zero-pads ragged edges, so the micro-kernel always computes a full tile and only the store is
 * clipped.
 *
 * The packed panels are Float64Array: V8 then loads them without a float32→float64 conversion,
 * and the products and sums are exact-ish float64 (each K slice's result is rounded to float32
 * once, when it is stored into C). The scratch panels grow on demand and are kept between calls;
 * they hold no state that outlives a call.
 *
 * beta is applied once, on the first K slice: beta = 0 writes C without reading it (NaNs in C
 * do not propagate), beta = 1 adds, anything else computes alpha·acc + beta·C. As in BLAS,
 * alpha = 0 (or k = 0) only scales C by beta and reads neither A nor B. Matrix–vector shapes
 * (m = 1 or n = 1) take an unpacked path.
 *
 * Speed (V8, single thread, (M,K,N) = (128,784,512)): about 4–4.5 GFLOP/s on an otherwise idle
 * AMD EPYC core, for every transpose case. The limit is V8's per-load bounds check rather than
 * arithmetic; 4×8 and 8×4 tiles measured no better (more accumulators than xmm registers).
 */
import { checkBool, checkF32, checkNoAlias, checkFiniteF32, checkSize, fail } from '../validate';

const MR = 4;
const NR = 4;
/** Depth of a K slice: one packed B micro-panel (KC·NR doubles = 8 KiB) stays in L1. */
const KC = 256;
/** Rows per A block: the packed A block (MC·KC doubles = 128 KiB) stays in L2. */
const MC = 64;
/** Columns per B block (KC·NC doubles = 2 MiB at most). */
const NC = 1024;

let packA = new Float64Array(0);
let packB = new Float64Array(0);
/** One micro-tile of accumulators, from the micro-kernel to the store. */
const tile = new Float64Array(MR * NR);

function ensurePacks(mc: number, nc: number, kc: number): void {
  const needA = Math.ceil(mc / MR) * MR * kc;
  const needB = Math.ceil(nc / NR) * NR * kc;
  if (packA.length < needA) packA = new Float64Array(needA);
  if (packB.length < needB) packB = new Float64Array(needB);
}

/** Rows [ic, ic+mc) × cols [pc, pc+kc) of op(A) into MR-row panels: Ap[(ip·kc + p)·MR + ii]. */
function packAPanels(transA: boolean, a: Float32Array, aOff: number, m: number, k: number,
  ic: number, mc: number, pc: number, kc: number, ap: Float64Array): void {
  const panels = Math.ceil(mc / MR);
  if (!transA) {
    // A[i, p] = a[i·k + p]: each row is contiguous in p.
    for (let i = 0; i < mc; i++) {
      const src = aOff + (ic + i) * k + pc;
      let dst = ((i / MR) | 0) * kc * MR + (i % MR);
      for (let p = 0; p < kc; p++, dst += MR) ap[dst] = a[src + p]!;
    }
  } else {
    // A[i, p] = a[p·m + i]: each p is a contiguous run of rows.
    for (let p = 0; p < kc; p++) {
      const src = aOff + (pc + p) * m + ic;
      for (let ip = 0; ip < panels; ip++) {
        const dst = (ip * kc + p) * MR;
        const i0 = ip * MR;
        if (i0 + MR <= mc) {
          ap[dst] = a[src + i0]!;
          ap[dst + 1] = a[src + i0 + 1]!;
          ap[dst + 2] = a[src + i0 + 2]!;
          ap[dst + 3] = a[src + i0 + 3]!;
        } else {
          for (let ii = 0; ii < MR; ii++) ap[dst + ii] = i0 + ii < mc ? a[src + i0 + ii]! : 0;
        }
      }
    }
    return;
  }
  // Zero the padding rows of the last panel (non-transposed path).
  const rem = mc % MR;
  if (rem !== 0) {
    const base = (panels - 1) * kc * MR;
    for (let p = 0; p < kc; p++) {
      for (let ii = rem; ii < MR; ii++) ap[base + p * MR + ii] = 0;
    }
  }
}

/** Rows [pc, pc+kc) × cols [jc, jc+nc) of op(B) into NR-col panels: Bp[(jp·kc + p)·NR + jj]. */
function packBPanels(transB: boolean, b: Float32Array, bOff: number, n: number, k: number,
  pc: number, kc: number, jc: number, nc: number, bp: Float64Array): void {
  const panels = Math.ceil(nc / NR);
  if (!transB) {
    // B[p, j] = b[p·n + j]: each p is a contiguous run of columns.
    for (let p = 0; p < kc; p++) {
      const src = bOff + (pc + p) * n + jc;
      for (let jp = 0; jp < panels; jp++) {
        const dst = (jp * kc + p) * NR;
        const j0 = jp * NR;
        if (j0 + NR <= nc) {
          bp[dst] = b[src + j0]!;
          bp[dst + 1] = b[src + j0 + 1]!;
          bp[dst + 2] = b[src + j0 + 2]!;
          bp[dst + 3] = b[src + j0 + 3]!;
        } else {
          for (let jj = 0; jj < NR; jj++) bp[dst + jj] = j0 + jj < nc ? b[src + j0 + jj]! : 0;
        }
      }
    }
    return;
  }
  // B[p, j] = b[j·k + p]: each column j is contiguous in p.
  for (let j = 0; j < nc; j++) {
    const src = bOff + (jc + j) * k + pc;
    let dst = ((j / NR) | 0) * kc * NR + (j % NR);
    for (let p = 0; p < kc; p++, dst += NR) bp[dst] = b[src + p]!;
  }
  const rem = nc % NR;
  if (rem !== 0) {
    const base = (panels - 1) * kc * NR;
    for (let p = 0; p < kc; p++) {
      for (let jj = rem; jj < NR; jj++) bp[base + p * NR + jj] = 0;
    }
  }
}

/**
 * The 4×4 micro-kernel: acc[0..16) = Ap-panel · Bp-panel over kc (row-major 4×4). 16
 * accumulators + 4 A values + 1 B value fit the 16 xmm registers V8 allocates from; the loop
 * body is loads and multiply-adds only, and the tile is handed over through `acc` so this hot
 * function stays small and branch-free (alpha, beta and ragged edges are the store's business).
 */
function micro4x4(kc: number, ap: Float64Array, ao: number, bp: Float64Array, bo: number,
  acc: Float64Array): void {
  let c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0;
  let c20 = 0, c21 = 0, c22 = 0, c23 = 0, c30 = 0, c31 = 0, c32 = 0, c33 = 0;
  for (let p = 0; p < kc; p++) {
    const a0 = ap[ao]!, a1 = ap[ao + 1]!, a2 = ap[ao + 2]!, a3 = ap[ao + 3]!;
    let b = bp[bo]!;
    c00 += a0 * b; c10 += a1 * b; c20 += a2 * b; c30 += a3 * b;
    b = bp[bo + 1]!;
    c01 += a0 * b; c11 += a1 * b; c21 += a2 * b; c31 += a3 * b;
    b = bp[bo + 2]!;
    c02 += a0 * b; c12 += a1 * b; c22 += a2 * b; c32 += a3 * b;
    b = bp[bo + 3]!;
    c03 += a0 * b; c13 += a1 * b; c23 += a2 * b; c33 += a3 * b;
    ao += MR;
    bo += NR;
  }
  acc[0] = c00; acc[1] = c01; acc[2] = c02; acc[3] = c03;
  acc[4] = c10; acc[5] = c11; acc[6] = c12; acc[7] = c13;
  acc[8] = c20; acc[9] = c21; acc[10] = c22; acc[11] = c23;
  acc[12] = c30; acc[13] = c31; acc[14] = c32; acc[15] = c33;
}

/**
 * C[mr×nr tile at co] = alpha·acc + beta·C, never reading C when beta is 0 (NaNs in C do not
 * propagate); beta = 1 adds.
 */
function storeTile(acc: Float64Array, c: Float32Array, co: number, ldc: number, alpha: number,
  beta: number, mr: number, nr: number): void {
  for (let i = 0; i < mr; i++) {
    const o = co + i * ldc;
    const t = i * NR;
    if (beta === 0) {
      for (let j = 0; j < nr; j++) c[o + j] = alpha * acc[t + j]!;
    } else if (beta === 1) {
      for (let j = 0; j < nr; j++) c[o + j] = c[o + j]! + alpha * acc[t + j]!;
    } else {
      for (let j = 0; j < nr; j++) c[o + j] = alpha * acc[t + j]! + beta * c[o + j]!;
    }
  }
}

/** c[off .. off+count) *= beta, writing zeros (not reading) when beta is 0. */
function scaleC(c: Float32Array, off: number, count: number, beta: number): void {
  if (beta === 1) return;
  if (beta === 0) {
    c.fill(0, off, off + count);
    return;
  }
  for (let i = off; i < off + count; i++) c[i] = beta * c[i]!;
}

let rowAcc = new Float64Array(64);

/**
 * Matrix–vector products (m = 1 or n = 1) skip packing, which would cost as much as the
 * product itself: each output is a dot product over contiguous memory, or a running row of
 * float64 accumulators fed by contiguous rows.
 */
function gemv(transA: boolean, transB: boolean, m: number, n: number, k: number, alpha: number,
  a: Float32Array, aOff: number, b: Float32Array, bOff: number, beta: number, c: Float32Array,
  cOff: number): void {
  // With m = 1, A[0, p] = a[p] in both layouts; with n = 1, B[p, 0] = b[p] in both layouts.
  const vecIsA = m === 1;
  const len = vecIsA ? n : m;
  const vec = vecIsA ? a : b;
  const vOff = vecIsA ? aOff : bOff;
  const mat = vecIsA ? b : a;
  const mOff = vecIsA ? bOff : aOff;
  // Rows of the matrix that are contiguous in p (dot products) or in the output index (axpy).
  const dots = vecIsA ? transB : !transA;
  if (rowAcc.length < len) rowAcc = new Float64Array(len);
  const acc = rowAcc;
  if (dots) {
    for (let j = 0; j < len; j++) {
      const r = mOff + j * k;
      let s = 0;
      for (let p = 0; p < k; p++) s += vec[vOff + p]! * mat[r + p]!;
      acc[j] = s;
    }
  } else {
    acc.fill(0, 0, len);
    for (let p = 0; p < k; p++) {
      const v = vec[vOff + p]!;
      const r = mOff + p * len;
      for (let j = 0; j < len; j++) acc[j] = acc[j]! + v * mat[r + j]!;
    }
  }
  if (beta === 0) for (let j = 0; j < len; j++) c[cOff + j] = alpha * acc[j]!;
  else if (beta === 1) for (let j = 0; j < len; j++) c[cOff + j] = c[cOff + j]! + alpha * acc[j]!;
  else for (let j = 0; j < len; j++) c[cOff + j] = alpha * acc[j]! + beta * c[cOff + j]!;
}

/**
 * The unchecked core, on element offsets into the buffers (gemmBatched uses it without making
 * subarray views). C block is [m, n] with row stride n at c[cOff].
 */
export function gemmCore(transA: boolean, transB: boolean, m: number, n: number, k: number,
  alpha: number, a: Float32Array, aOff: number, b: Float32Array, bOff: number, beta: number,
  c: Float32Array, cOff: number): void {
  if (m === 0 || n === 0) return;
  if (k === 0 || alpha === 0) {
    scaleC(c, cOff, m * n, beta);
    return;
  }
  if (m === 1 || n === 1) {
    gemv(transA, transB, m, n, k, alpha, a, aOff, b, bOff, beta, c, cOff);
    return;
  }
  ensurePacks(Math.min(m, MC), Math.min(n, NC), Math.min(k, KC));
  const ap = packA;
  const bp = packB;
  for (let jc = 0; jc < n; jc += NC) {
    const nc = Math.min(NC, n - jc);
    for (let pc = 0; pc < k; pc += KC) {
      const kc = Math.min(KC, k - pc);
      const betaSlice = pc === 0 ? beta : 1;
      packBPanels(transB, b, bOff, n, k, pc, kc, jc, nc, bp);
      for (let ic = 0; ic < m; ic += MC) {
        const mc = Math.min(MC, m - ic);
        packAPanels(transA, a, aOff, m, k, ic, mc, pc, kc, ap);
        const cBlock = cOff + ic * n + jc;
        for (let jr = 0; jr < nc; jr += NR) {
          const nr = Math.min(NR, nc - jr);
          const bo = jr * kc;
          for (let ir = 0; ir < mc; ir += MR) {
            const mr = Math.min(MR, mc - ir);
            micro4x4(kc, ap, ir * kc, bp, bo, tile);
            storeTile(tile, c, cBlock + ir * n + jr, n, alpha, betaSlice, mr, nr);
          }
        }
      }
    }
  }
}

function checkCommon(kernel: string, transA: boolean, transB: boolean, m: number, n: number,
  k: number, alpha: number, beta: number): void {
  checkBool(kernel, 'transA', transA);
  checkBool(kernel, 'transB', transB);
  checkSize(kernel, 'm', m);
  checkSize(kernel, 'n', n);
  checkSize(kernel, 'k', k);
  checkFiniteF32(kernel, 'alpha', alpha);
  checkFiniteF32(kernel, 'beta', beta);
}

export function gemm(transA: boolean, transB: boolean, m: number, n: number, k: number,
  alpha: number, a: Float32Array, b: Float32Array, beta: number, c: Float32Array): void {
  const K = 'gemm';
  checkCommon(K, transA, transB, m, n, k, alpha, beta);
  checkF32(K, 'a', a, m * k, 'm·k');
  checkF32(K, 'b', b, k * n, 'k·n');
  checkF32(K, 'c', c, m * n, 'm·n');
  checkNoAlias(K, 'c', c, m * n, 'a', a, m * k);
  checkNoAlias(K, 'c', c, m * n, 'b', b, k * n);
  gemmCore(transA, transB, m, n, k, alpha, a, 0, b, 0, beta, c, 0);
}

/** Elements a batched operand spans: (batch−1)·stride + size, or 0 when nothing is read. */
function batchedSpan(batch: number, stride: number, size: number): number {
  return batch === 0 || size === 0 ? 0 : (batch - 1) * stride + size;
}

export function gemmBatched(batch: number, transA: boolean, transB: boolean, m: number,
  n: number, k: number, alpha: number, a: Float32Array, strideA: number, b: Float32Array,
  strideB: number, beta: number, c: Float32Array, strideC: number): void {
  const K = 'gemmBatched';
  checkSize(K, 'batch', batch);
  checkCommon(K, transA, transB, m, n, k, alpha, beta);
  checkSize(K, 'strideA', strideA);
  checkSize(K, 'strideB', strideB);
  checkSize(K, 'strideC', strideC);
  if (strideC < m * n) fail(K, `strideC = ${strideC} must be at least m·n = ${m * n}`);
  const na = batchedSpan(batch, strideA, m * k);
  const nb = batchedSpan(batch, strideB, k * n);
  const nc = batchedSpan(batch, strideC, m * n);
  checkF32(K, 'a', a, na, '(batch−1)·strideA + m·k');
  checkF32(K, 'b', b, nb, '(batch−1)·strideB + k·n');
  checkF32(K, 'c', c, nc, '(batch−1)·strideC + m·n');
  checkNoAlias(K, 'c', c, nc, 'a', a, na);
  checkNoAlias(K, 'c', c, nc, 'b', b, nb);
  for (let i = 0; i < batch; i++) {
    gemmCore(transA, transB, m, n, k, alpha, a, i * strideA, b, i * strideB, beta, c, i * strideC);
  }
}

/**
 * Runs every path once on tiny inputs at load time (all transposes, ragged edges, beta 0, 1 and
 * other), so V8 has type feedback for all branches before it optimises the hot loops. Without
 * this, the first large call optimises with some branches never seen, and a later call that
 * takes one of them (another transpose case, a ragged edge) deoptimises the micro-kernel
 * repeatedly.
 */
function warmUp(): void {
  const a = new Float32Array(7 * 6).fill(0.5);
  const b = new Float32Array(6 * 5).fill(0.25);
  const c = new Float32Array(7 * 5);
  for (let r = 0; r < 3; r++) {
    for (const tA of [false, true]) {
      for (const tB of [false, true]) {
        for (const beta of [0, 1, 0.5]) {
          gemmCore(tA, tB, 7, 5, 6, 1.5, a, 0, b, 0, beta, c, 0);
          gemmCore(tA, tB, 1, 5, 6, 1.5, a, 0, b, 0, beta, c, 0);
          gemmCore(tA, tB, 7, 1, 6, 1.5, a, 0, b, 0, beta, c, 0);
        }
        gemmCore(tA, tB, 4, 4, 6, 1, a, 0, b, 0, 0, c, 0);
      }
    }
  }
}
warmUp();
