/**
 * Elementwise kernels: broadcasting binary ops, unary ops and their derivatives, axpy, sumTo,
 * permute. Arithmetic is float64, rounded to float32 on store: for add/sub/mul/div of float32
 * inputs that is exactly the float32 result; exp/log/pow/… may differ from a C float32 libm by
 * an ulp.
 *
 * Shape walking uses module-level scratch (rank ≤ 8), so no call allocates.
 */
import {
  BINARY_OPS, UNARY_OPS, type BinaryOp, type UnaryOp,
} from '../backend';
import {
  MAX_RANK, checkExactAliasOr, checkF32, checkFinite, checkFiniteF32, checkI32, checkNoAlias, checkOneOf,
  checkShape, checkSize, checkU8, fail, fmtShape,
} from '../validate';
import { gelu, geluGrad } from './math';

// ------------------------------------------------------------------ shape walking

/** The collapsed iteration space of the last `prepare*` call. */
const dims = new Float64Array(MAX_RANK);
const strideA = new Float64Array(MAX_RANK);
const strideB = new Float64Array(MAX_RANK);
const counter = new Float64Array(MAX_RANK);
let rank = 0;

const padOut = new Float64Array(MAX_RANK);
const padA = new Float64Array(MAX_RANK);
const padB = new Float64Array(MAX_RANK);
const rawA = new Float64Array(MAX_RANK);
const rawB = new Float64Array(MAX_RANK);

function pad(shape: readonly number[], to: number, out: Float64Array): void {
  const lead = to - shape.length;
  for (let i = 0; i < lead; i++) out[i] = 1;
  for (let i = 0; i < shape.length; i++) out[lead + i] = shape[i]!;
}

/** Row-major strides of `shape` (rank r), 0 where shape is 1 but `full` is not. */
function bstrides(shape: Float64Array, full: Float64Array, r: number, out: Float64Array): void {
  let s = 1;
  for (let i = r - 1; i >= 0; i--) {
    out[i] = shape[i] === 1 && full[i] !== 1 ? 0 : s;
    s *= shape[i]!;
  }
}

/**
 * Drops size-1 dims of `full` and merges neighbours where both operands stay contiguous across
 * them, into dims/strideA/strideB/rank. The result has rank ≥ 1 and the innermost strides are 0
 * or 1.
 */
function collapse(full: Float64Array, sa: Float64Array, sb: Float64Array, r: number): void {
  rank = 0;
  for (let i = 0; i < r; i++) {
    const d = full[i]!;
    if (d === 1) continue;
    if (rank > 0) {
      const j = rank - 1;
      if (strideA[j] === sa[i]! * d && strideB[j] === sb[i]! * d) {
        dims[j] = dims[j]! * d;
        strideA[j] = sa[i]!;
        strideB[j] = sb[i]!;
        continue;
      }
    }
    dims[rank] = d;
    strideA[rank] = sa[i]!;
    strideB[rank] = sb[i]!;
    rank++;
  }
  if (rank === 0) {
    rank = 1;
    dims[0] = 1;
    strideA[0] = 1;
    strideB[0] = 1;
  }
}

// ------------------------------------------------------------------ binary

const enum Bin { Add, Sub, Mul, Div, Max, Min, Pow }

function binCode(op: BinaryOp): Bin {
  switch (op) {
    case 'add': return Bin.Add;
    case 'sub': return Bin.Sub;
    case 'mul': return Bin.Mul;
    case 'div': return Bin.Div;
    case 'max': return Bin.Max;
    case 'min': return Bin.Min;
    default: return Bin.Pow;
  }
}

/**
 * One run of `n` outputs; sa/sb are the operands' strides in this run (0 = broadcast, 1).
 * max/min propagate NaN from either side (NumPy maximum/minimum, Math.max/min).
 */
function binaryRun(op: Bin, n: number, a: Float32Array, ai: number, sa: number, b: Float32Array,
  bi: number, sb: number, out: Float32Array, oi: number): void {
  const end = oi + n;
  switch (op) {
    case Bin.Add:
      for (; oi < end; oi++, ai += sa, bi += sb) out[oi] = a[ai]! + b[bi]!;
      break;
    case Bin.Sub:
      for (; oi < end; oi++, ai += sa, bi += sb) out[oi] = a[ai]! - b[bi]!;
      break;
    case Bin.Mul:
      for (; oi < end; oi++, ai += sa, bi += sb) out[oi] = a[ai]! * b[bi]!;
      break;
    case Bin.Div:
      for (; oi < end; oi++, ai += sa, bi += sb) out[oi] = a[ai]! / b[bi]!;
      break;
    case Bin.Max:
      for (; oi < end; oi++, ai += sa, bi += sb) {
        const x = a[ai]!, y = b[bi]!;
        out[oi] = x > y || x !== x ? x : y;
      }
      break;
    case Bin.Min:
      for (; oi < end; oi++, ai += sa, bi += sb) {
        const x = a[ai]!, y = b[bi]!;
        out[oi] = x < y || x !== x ? x : y;
      }
      break;
    case Bin.Pow:
      for (; oi < end; oi++, ai += sa, bi += sb) out[oi] = Math.pow(a[ai]!, b[bi]!);
      break;
  }
}

export function binary(op: BinaryOp, a: Float32Array, aShape: readonly number[],
  b: Float32Array, bShape: readonly number[], out: Float32Array,
  outShape: readonly number[]): void {
  const K = 'binary';
  checkOneOf(K, 'op', op, BINARY_OPS);
  const na = checkShape(K, 'aShape', aShape);
  const nb = checkShape(K, 'bShape', bShape);
  const total = checkShape(K, 'outShape', outShape);
  const r = Math.max(aShape.length, bShape.length);
  if (outShape.length !== r) {
    fail(K, `outShape ${fmtShape(outShape)} is not the broadcast of aShape ` +
      `${fmtShape(aShape)} and bShape ${fmtShape(bShape)} (rank ${outShape.length}, not ${r})`);
  }
  pad(aShape, r, padA);
  pad(bShape, r, padB);
  pad(outShape, r, padOut);
  let aSame = true;
  let bSame = true;
  for (let i = 0; i < r; i++) {
    const x = padA[i]!, y = padB[i]!;
    if (x !== y && x !== 1 && y !== 1) {
      fail(K, `aShape ${fmtShape(aShape)} and bShape ${fmtShape(bShape)} do not broadcast ` +
        `(padded dim ${i}: ${x} vs ${y})`);
    }
    const want = x === 1 ? y : x;
    if (padOut[i] !== want) {
      fail(K, `outShape ${fmtShape(outShape)} is not the broadcast of aShape ` +
        `${fmtShape(aShape)} and bShape ${fmtShape(bShape)}`);
    }
    if (x !== want) aSame = false;
    if (y !== want) bSame = false;
  }
  checkF32(K, 'a', a, na, 'prod(aShape)');
  checkF32(K, 'b', b, nb, 'prod(bShape)');
  checkF32(K, 'out', out, total, 'prod(outShape)');
  checkExactAliasOr(K, 'out', out, total, 'a', a, na, aSame, 'a is broadcast');
  checkExactAliasOr(K, 'out', out, total, 'b', b, nb, bSame, 'b is broadcast');
  if (total === 0) return;
  const code = binCode(op);
  // Fast paths: operands that are whole (same element count as out) or scalars.
  if ((na === total || na === 1) && (nb === total || nb === 1)) {
    binaryRun(code, total, a, 0, na === total ? 1 : 0, b, 0, nb === total ? 1 : 0, out, 0);
    return;
  }
  bstrides(padA, padOut, r, rawA);
  bstrides(padB, padOut, r, rawB);
  collapse(padOut, rawA, rawB, r);
  const inner = dims[rank - 1]!;
  const ia = strideA[rank - 1]!, ib = strideB[rank - 1]!;
  const outerRank = rank - 1;
  let rows = 1;
  for (let i = 0; i < outerRank; i++) {
    rows *= dims[i]!;
    counter[i] = 0;
  }
  let oa = 0, ob = 0;
  for (let row = 0; row < rows; row++) {
    binaryRun(code, inner, a, oa, ia, b, ob, ib, out, row * inner);
    for (let i = outerRank - 1; i >= 0; i--) {
      oa += strideA[i]!;
      ob += strideB[i]!;
      counter[i] = counter[i]! + 1;
      if (counter[i]! < dims[i]!) break;
      oa -= strideA[i]! * dims[i]!;
      ob -= strideB[i]! * dims[i]!;
      counter[i] = 0;
    }
  }
}

// ------------------------------------------------------------------ unary

/**
 * Ops that read `param` must be given one (leakyRelu included: no default slope, so both
 * backends agree on what a call means); the others ignore it, but a given one must be finite.
 */
const NEEDS_PARAM: ReadonlySet<UnaryOp> = new Set<UnaryOp>(['leakyRelu', 'pow', 'scale', 'addScalar', 'clampMin']);

function resolveParam(kernel: string, op: UnaryOp, param: number | undefined): number {
  if (param === undefined || param === null) {
    if (NEEDS_PARAM.has(op)) fail(kernel, `param is required by op '${op}'`);
    return 0;
  }
  checkFiniteF32(kernel, 'param', param);
  return param;
}

export function unary(op: UnaryOp, n: number, x: Float32Array, out: Float32Array,
  param?: number): void {
  const K = 'unary';
  checkOneOf(K, 'op', op, UNARY_OPS);
  checkSize(K, 'n', n);
  const p = resolveParam(K, op, param);
  checkF32(K, 'x', x, n, 'n');
  checkF32(K, 'out', out, n, 'n');
  checkExactAliasOr(K, 'out', out, n, 'x', x, n, true);
  switch (op) {
    case 'neg': for (let i = 0; i < n; i++) out[i] = -x[i]!; break;
    case 'exp': for (let i = 0; i < n; i++) out[i] = Math.exp(x[i]!); break;
    case 'log': for (let i = 0; i < n; i++) out[i] = Math.log(x[i]!); break;
    case 'sqrt': for (let i = 0; i < n; i++) out[i] = Math.sqrt(x[i]!); break;
    case 'abs': for (let i = 0; i < n; i++) out[i] = Math.abs(x[i]!); break;
    case 'sign':
      // sign(±0) = ±0, sign(NaN) = NaN (Math.sign).
      for (let i = 0; i < n; i++) out[i] = Math.sign(x[i]!);
      break;
    case 'square': for (let i = 0; i < n; i++) { const v = x[i]!; out[i] = v * v; } break;
    case 'reciprocal': for (let i = 0; i < n; i++) out[i] = 1 / x[i]!; break;
    case 'relu':
      // NaN propagates, as torch.relu.
      for (let i = 0; i < n; i++) { const v = x[i]!; out[i] = v < 0 ? 0 : v; }
      break;
    case 'leakyRelu':
      for (let i = 0; i < n; i++) { const v = x[i]!; out[i] = v < 0 ? p * v : v; }
      break;
    case 'sigmoid':
      // Two branches so exp never overflows into inf/inf.
      for (let i = 0; i < n; i++) {
        const v = x[i]!;
        if (v >= 0) out[i] = 1 / (1 + Math.exp(-v));
        else { const e = Math.exp(v); out[i] = e / (1 + e); }
      }
      break;
    case 'tanh': for (let i = 0; i < n; i++) out[i] = Math.tanh(x[i]!); break;
    case 'gelu': for (let i = 0; i < n; i++) out[i] = gelu(x[i]!); break;
    case 'pow': for (let i = 0; i < n; i++) out[i] = Math.pow(x[i]!, p); break;
    case 'scale': for (let i = 0; i < n; i++) out[i] = x[i]! * p; break;
    case 'addScalar': for (let i = 0; i < n; i++) out[i] = x[i]! + p; break;
    case 'clampMin':
      // NaN propagates, as torch.clamp.
      for (let i = 0; i < n; i++) { const v = x[i]!; out[i] = v < p ? p : v; }
      break;
  }
}

export function unaryBackward(op: UnaryOp, n: number, x: Float32Array, y: Float32Array,
  dy: Float32Array, dx: Float32Array, param?: number): void {
  const K = 'unaryBackward';
  checkOneOf(K, 'op', op, UNARY_OPS);
  checkSize(K, 'n', n);
  const p = resolveParam(K, op, param);
  checkF32(K, 'x', x, n, 'n');
  checkF32(K, 'y', y, n, 'n');
  checkF32(K, 'dy', dy, n, 'n');
  checkF32(K, 'dx', dx, n, 'n');
  checkExactAliasOr(K, 'dx', dx, n, 'dy', dy, n, true);
  checkNoAlias(K, 'dx', dx, n, 'x', x, n);
  checkNoAlias(K, 'dx', dx, n, 'y', y, n);
  switch (op) {
    case 'neg': for (let i = 0; i < n; i++) dx[i] = -dy[i]!; break;
    case 'exp': for (let i = 0; i < n; i++) dx[i] = dy[i]! * y[i]!; break;
    case 'log': for (let i = 0; i < n; i++) dx[i] = dy[i]! / x[i]!; break;
    case 'sqrt': for (let i = 0; i < n; i++) dx[i] = (0.5 * dy[i]!) / y[i]!; break;
    case 'abs':
      // abs'(0) = 0, as PyTorch.
      for (let i = 0; i < n; i++) {
        const v = x[i]!;
        dx[i] = v > 0 ? dy[i]! : v < 0 ? -dy[i]! : 0;
      }
      break;
    case 'sign': for (let i = 0; i < n; i++) dx[i] = 0; break;
    case 'square': for (let i = 0; i < n; i++) dx[i] = 2 * x[i]! * dy[i]!; break;
    case 'reciprocal':
      for (let i = 0; i < n; i++) { const v = y[i]!; dx[i] = -dy[i]! * v * v; }
      break;
    case 'relu':
      // relu'(0) = 0, as PyTorch.
      for (let i = 0; i < n; i++) dx[i] = x[i]! > 0 ? dy[i]! : 0;
      break;
    case 'leakyRelu':
      for (let i = 0; i < n; i++) dx[i] = x[i]! > 0 ? dy[i]! : p * dy[i]!;
      break;
    case 'sigmoid':
      for (let i = 0; i < n; i++) { const v = y[i]!; dx[i] = dy[i]! * v * (1 - v); }
      break;
    case 'tanh':
      for (let i = 0; i < n; i++) { const v = y[i]!; dx[i] = dy[i]! * (1 - v * v); }
      break;
    case 'gelu': for (let i = 0; i < n; i++) dx[i] = dy[i]! * geluGrad(x[i]!); break;
    case 'pow':
      // d/dx xᵖ = p·xᵖ⁻¹, and exactly 0 for p = 0 (as PyTorch).
      if (p === 0) for (let i = 0; i < n; i++) dx[i] = 0;
      else for (let i = 0; i < n; i++) dx[i] = dy[i]! * p * Math.pow(x[i]!, p - 1);
      break;
    case 'scale': for (let i = 0; i < n; i++) dx[i] = dy[i]! * p; break;
    case 'addScalar': for (let i = 0; i < n; i++) dx[i] = dy[i]!; break;
    case 'clampMin':
      // The gradient passes where x ≥ min (torch.clamp's mask).
      for (let i = 0; i < n; i++) dx[i] = x[i]! >= p ? dy[i]! : 0;
      break;
  }
}

// ------------------------------------------------------------------ axpy

export function axpy(n: number, alpha: number, x: Float32Array, y: Float32Array): void {
  const K = 'axpy';
  checkSize(K, 'n', n);
  checkFiniteF32(K, 'alpha', alpha);
  checkF32(K, 'x', x, n, 'n');
  checkF32(K, 'y', y, n, 'n');
  checkNoAlias(K, 'y', y, n, 'x', x, n);
  for (let i = 0; i < n; i++) y[i] = y[i]! + alpha * x[i]!;
}

// ------------------------------------------------------------------ sumTo

let acc = new Float64Array(64);

function accumulator(n: number): Float64Array {
  if (acc.length < n) acc = new Float64Array(Math.max(n, acc.length * 2));
  acc.fill(0, 0, n);
  return acc;
}

export function sumTo(x: Float32Array, xShape: readonly number[], out: Float32Array,
  outShape: readonly number[]): void {
  const K = 'sumTo';
  const nx = checkShape(K, 'xShape', xShape);
  const no = checkShape(K, 'outShape', outShape);
  const r = Math.max(xShape.length, outShape.length);
  pad(xShape, r, padA);
  pad(outShape, r, padB);
  for (let i = 0; i < r; i++) {
    if (padB[i] !== 1 && padB[i] !== padA[i]) {
      fail(K, `outShape ${fmtShape(outShape)} is not broadcast-compatible with xShape ` +
        `${fmtShape(xShape)} (each out dim must be 1 or equal the x dim)`);
    }
  }
  checkF32(K, 'x', x, nx, 'prod(xShape)');
  checkF32(K, 'out', out, no, 'prod(outShape)');
  checkNoAlias(K, 'out', out, no, 'x', x, nx);
  if (nx === 0) {
    out.fill(0, 0, no);
    return;
  }
  if (nx === no) {
    for (let i = 0; i < no; i++) out[i] = x[i]!;
    return;
  }
  bstrides(padA, padA, r, rawA);
  bstrides(padB, padA, r, rawB);
  collapse(padA, rawA, rawB, r);
  const s = accumulator(no);
  const inner = dims[rank - 1]!;
  const outInner = strideB[rank - 1] !== 0;
  const outerRank = rank - 1;
  let rows = 1;
  for (let i = 0; i < outerRank; i++) {
    rows *= dims[i]!;
    counter[i] = 0;
  }
  let ox = 0, oo = 0;
  for (let row = 0; row < rows; row++) {
    if (outInner) {
      for (let i = 0; i < inner; i++) s[oo + i] = s[oo + i]! + x[ox + i]!;
    } else {
      let t = 0;
      for (let i = 0; i < inner; i++) t += x[ox + i]!;
      s[oo] = s[oo]! + t;
    }
    for (let i = outerRank - 1; i >= 0; i--) {
      ox += strideA[i]!;
      oo += strideB[i]!;
      counter[i] = counter[i]! + 1;
      if (counter[i]! < dims[i]!) break;
      ox -= strideA[i]! * dims[i]!;
      oo -= strideB[i]! * dims[i]!;
      counter[i] = 0;
    }
  }
  for (let i = 0; i < no; i++) out[i] = s[i]!;
}

// ------------------------------------------------------------------ gatherBytes

export function gatherBytes(src: Uint8Array, indices: Int32Array, count: number, stride: number,
  offset: number, length: number, scale: number, shift: number, out: Float32Array): void {
  const K = 'gatherBytes';
  checkSize(K, 'count', count);
  checkSize(K, 'stride', stride);
  if (stride < 1) fail(K, `stride must be an integer ≥ 1, got ${stride}`);
  checkSize(K, 'offset', offset);
  checkSize(K, 'length', length);
  checkFinite(K, 'scale', scale);
  checkFinite(K, 'shift', shift);
  checkU8(K, 'src', src, 0);
  checkI32(K, 'indices', indices, count, 'count');
  checkF32(K, 'out', out, count * stride, 'count·stride');
  if (offset + length > stride) fail(K, `offset + length = ${offset + length} exceeds stride = ${stride}`);
  const records = Math.floor(src.length / stride);
  for (let k = 0; k < count; k++) {
    const v = indices[k]!;
    if (v < 0 || v >= records) {
      fail(K, `indices[${k}] = ${v} is out of range [0, ${records}) (src holds ${records} records of stride ${stride})`);
    }
  }
  checkNoAlias(K, 'out', out, count * stride, 'indices', indices, count);
  checkNoAlias(K, 'out', out, count * stride, 'src', src, records * stride);
  // Bytes to floats with TypedArray.set (a native conversion), then one scaling pass in double:
  // the same value, byte·scale + shift rounded once, as the native table.
  for (let k = 0; k < count; k++) {
    const o = k * stride + offset;
    const so = indices[k]! * stride + offset;
    out.set(src.subarray(so, so + length), o);
    for (let j = o; j < o + length; j++) out[j] = out[j]! * scale + shift;
  }
}

// ------------------------------------------------------------------ permute

const seen = new Uint8Array(MAX_RANK);
const TILE = 32;

export function permute(x: Float32Array, shape: readonly number[], perm: readonly number[],
  out: Float32Array): void {
  const K = 'permute';
  const n = checkShape(K, 'shape', shape);
  const r = shape.length;
  if (!Array.isArray(perm) || perm.length !== r) {
    fail(K, `perm must be an array of length ${r} (the rank of shape), got ${
      Array.isArray(perm) ? fmtShape(perm) : String(perm)}`);
  }
  seen.fill(0);
  for (let i = 0; i < r; i++) {
    const p = perm[i]!;
    if (!Number.isInteger(p) || p < 0 || p >= r || seen[p]) {
      fail(K, `perm ${fmtShape(perm)} is not a permutation of [0, ${r})`);
    }
    seen[p] = 1;
  }
  checkF32(K, 'x', x, n, 'prod(shape)');
  checkF32(K, 'out', out, n, 'prod(shape)');
  checkNoAlias(K, 'out', out, n, 'x', x, n);
  if (n === 0) return;
  // Out dims in order with their x strides; size-1 dims dropped, dims contiguous in x merged.
  let s = 1;
  for (let i = r - 1; i >= 0; i--) {
    rawA[i] = s;
    s *= shape[i]!;
  }
  rank = 0;
  for (let i = 0; i < r; i++) {
    const d = shape[perm[i]!]!, st = rawA[perm[i]!]!;
    if (d === 1) continue;
    if (rank > 0 && strideA[rank - 1] === st * d) {
      dims[rank - 1] = dims[rank - 1]! * d;
      strideA[rank - 1] = st;
      continue;
    }
    dims[rank] = d;
    strideA[rank] = st;
    rank++;
  }
  if (rank === 0 || (rank === 1 && strideA[0] === 1)) {
    for (let i = 0; i < n; i++) out[i] = x[i]!;
    return;
  }
  if (rank === 1) {
    dims[1] = dims[0]!; strideA[1] = strideA[0]!;
    dims[0] = 1; strideA[0] = 0;
    rank = 2;
  }
  // Odometer over all but the last two dims; those two are copied in TILE×TILE blocks so the
  // strided reads and the contiguous writes both stay in cache (a blocked transpose).
  const rowsD = dims[rank - 2]!, colsD = dims[rank - 1]!;
  const rs = strideA[rank - 2]!, cs = strideA[rank - 1]!;
  const outerRank = rank - 2;
  let outer = 1;
  for (let i = 0; i < outerRank; i++) {
    outer *= dims[i]!;
    counter[i] = 0;
  }
  let off = 0;
  const plane = rowsD * colsD;
  for (let o = 0; o < outer; o++) {
    const dst = o * plane;
    for (let i0 = 0; i0 < rowsD; i0 += TILE) {
      const i1 = Math.min(i0 + TILE, rowsD);
      for (let j0 = 0; j0 < colsD; j0 += TILE) {
        const j1 = Math.min(j0 + TILE, colsD);
        for (let i = i0; i < i1; i++) {
          const src = off + i * rs;
          const d = dst + i * colsD;
          for (let j = j0; j < j1; j++) out[d + j] = x[src + j * cs]!;
        }
      }
    }
    for (let i = outerRank - 1; i >= 0; i--) {
      off += strideA[i]!;
      counter[i] = counter[i]! + 1;
      if (counter[i]! < dims[i]!) break;
      off -= strideA[i]! * dims[i]!;
      counter[i] = 0;
    }
  }
}
