/**
 * Reductions over the middle axis of x viewed as [outer, dim, inner]. Sums accumulate in
 * float64 (one rounding per output). max/min return the first extreme element and its index;
 * NaN beats everything, so a slice with a NaN reduces to NaN at the first NaN's index.
 * Empty slices (dim = 0): sum is 0, mean is NaN (as PyTorch); max/min require dim ≥ 1.
 */
import type { ReduceOp } from '../backend';
import { checkF32, checkI32, checkNoAlias, checkOneOf, checkSize, fail } from '../validate';

const REDUCE_OPS: readonly ReduceOp[] = ['sum', 'mean', 'max', 'min'];

let rowAcc = new Float64Array(64);

export function reduce(op: ReduceOp, x: Float32Array, outer: number, dim: number,
  inner: number, out: Float32Array, idx?: Int32Array): void {
  const K = 'reduce';
  checkOneOf(K, 'op', op, REDUCE_OPS);
  checkSize(K, 'outer', outer);
  checkSize(K, 'dim', dim);
  checkSize(K, 'inner', inner);
  const isExtreme = op === 'max' || op === 'min';
  if (isExtreme && dim < 1) fail(K, `dim must be at least 1 for '${op}', got ${dim}`);
  const nx = outer * dim * inner;
  const no = outer * inner;
  checkF32(K, 'x', x, nx, 'outer·dim·inner');
  checkF32(K, 'out', out, no, 'outer·inner');
  checkNoAlias(K, 'out', out, no, 'x', x, nx);
  // idx is only written by max/min; for sum/mean it is ignored.
  const hasIdx = idx !== undefined && idx !== null;
  const useIdx = isExtreme && hasIdx;
  if (hasIdx) checkI32(K, 'idx', idx, useIdx ? no : 0, 'outer·inner');
  if (useIdx) {
    checkNoAlias(K, 'idx', idx, no, 'x', x, nx);
    checkNoAlias(K, 'idx', idx, no, 'out', out, no);
  }
  if (no === 0) return;
  if (!isExtreme) {
    if (dim === 0) {
      out.fill(op === 'mean' ? NaN : 0, 0, no);
      return;
    }
    const mean = op === 'mean';
    if (inner === 1) {
      for (let o = 0, base = 0; o < outer; o++, base += dim) {
        let s = 0;
        for (let d = 0; d < dim; d++) s += x[base + d]!;
        out[o] = mean ? s / dim : s;
      }
      return;
    }
    if (rowAcc.length < inner) rowAcc = new Float64Array(inner);
    const accRow = rowAcc;
    for (let o = 0; o < outer; o++) {
      const xo = o * dim * inner;
      for (let i = 0; i < inner; i++) accRow[i] = x[xo + i]!;
      for (let d = 1; d < dim; d++) {
        const row = xo + d * inner;
        for (let i = 0; i < inner; i++) accRow[i] = accRow[i]! + x[row + i]!;
      }
      const oo = o * inner;
      if (mean) for (let i = 0; i < inner; i++) out[oo + i] = accRow[i]! / dim;
      else for (let i = 0; i < inner; i++) out[oo + i] = accRow[i]!;
    }
    return;
  }
  const isMax = op === 'max';
  for (let o = 0; o < outer; o++) {
    const xo = o * dim * inner;
    const oo = o * inner;
    if (inner === 1) {
      let best = x[xo]!;
      let at = 0;
      for (let d = 1; d < dim && best === best; d++) {
        const v = x[xo + d]!;
        if ((isMax ? v > best : v < best) || v !== v) { best = v; at = d; }
      }
      out[oo] = best;
      if (useIdx) idx![oo] = at;
      continue;
    }
    // Whole rows at a time (contiguous memory), with out as the running extreme: v replaces
    // the current best when strictly better, or when v is the first NaN.
    for (let i = 0; i < inner; i++) out[oo + i] = x[xo + i]!;
    if (useIdx) idx!.fill(0, oo, oo + inner);
    for (let d = 1; d < dim; d++) {
      const row = xo + d * inner;
      for (let i = 0; i < inner; i++) {
        const v = x[row + i]!, cur = out[oo + i]!;
        if ((isMax ? v > cur : v < cur) || (v !== v && cur === cur)) {
          out[oo + i] = v;
          if (useIdx) idx![oo + i] = d;
        }
      }
    }
  }
}
