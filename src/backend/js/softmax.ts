/**
 * Softmax / log-softmax along the middle axis of [outer, dim, inner], its backward, and the
 * fused softmax + cross-entropy (with label smoothing) over [n, c] with its backward.
 * Stable: every row is shifted by its max before exp. Sums are float64.
 */
import {
  checkBool, checkExactAliasOr, checkF32, checkI32, checkNoAlias, checkRange, checkSize, fail,
} from '../validate';

let scratch = new Float64Array(128);

/** Two float64 rows of `inner` values each (max and sum), reused between calls. */
function rows(inner: number): Float64Array {
  if (scratch.length < 2 * inner) scratch = new Float64Array(2 * inner);
  return scratch;
}

function checkSoftmaxSizes(kernel: string, outer: number, dim: number, inner: number): number {
  checkSize(kernel, 'outer', outer);
  checkSize(kernel, 'dim', dim);
  checkSize(kernel, 'inner', inner);
  return outer * dim * inner;
}

export function softmax(x: Float32Array, outer: number, dim: number, inner: number,
  out: Float32Array, log: boolean): void {
  const K = 'softmax';
  const n = checkSoftmaxSizes(K, outer, dim, inner);
  checkBool(K, 'log', log);
  checkF32(K, 'x', x, n, 'outer·dim·inner');
  checkF32(K, 'out', out, n, 'outer·dim·inner');
  checkNoAlias(K, 'out', out, n, 'x', x, n);
  if (n === 0) return;
  if (inner === 1) {
    for (let o = 0; o < outer; o++) {
      const base = o * dim;
      // A NaN anywhere reaches every output through exp(x − max).
      let m = x[base]!;
      for (let j = 1; j < dim; j++) { const v = x[base + j]!; if (v > m) m = v; }
      let s = 0;
      for (let j = 0; j < dim; j++) s += Math.exp(x[base + j]! - m);
      if (log) {
        const ls = Math.log(s);
        for (let j = 0; j < dim; j++) out[base + j] = x[base + j]! - m - ls;
      } else {
        for (let j = 0; j < dim; j++) out[base + j] = Math.exp(x[base + j]! - m) / s;
      }
    }
    return;
  }
  // Strided case: whole rows of `inner` elements, so every loop is unit-stride.
  const t = rows(inner);
  for (let o = 0; o < outer; o++) {
    const xo = o * dim * inner;
    for (let i = 0; i < inner; i++) { t[i] = x[xo + i]!; t[inner + i] = 0; }
    for (let d = 1; d < dim; d++) {
      const r = xo + d * inner;
      for (let i = 0; i < inner; i++) { const v = x[r + i]!; if (v > t[i]!) t[i] = v; }
    }
    for (let d = 0; d < dim; d++) {
      const r = xo + d * inner;
      for (let i = 0; i < inner; i++) t[inner + i] = t[inner + i]! + Math.exp(x[r + i]! - t[i]!);
    }
    if (log) {
      for (let i = 0; i < inner; i++) t[inner + i] = Math.log(t[inner + i]!);
      for (let d = 0; d < dim; d++) {
        const r = xo + d * inner;
        for (let i = 0; i < inner; i++) out[r + i] = x[r + i]! - t[i]! - t[inner + i]!;
      }
    } else {
      for (let d = 0; d < dim; d++) {
        const r = xo + d * inner;
        for (let i = 0; i < inner; i++) out[r + i] = Math.exp(x[r + i]! - t[i]!) / t[inner + i]!;
      }
    }
  }
}

export function softmaxBackward(y: Float32Array, dy: Float32Array, outer: number, dim: number,
  inner: number, dx: Float32Array, log: boolean): void {
  const K = 'softmaxBackward';
  const n = checkSoftmaxSizes(K, outer, dim, inner);
  checkBool(K, 'log', log);
  checkF32(K, 'y', y, n, 'outer·dim·inner');
  checkF32(K, 'dy', dy, n, 'outer·dim·inner');
  checkF32(K, 'dx', dx, n, 'outer·dim·inner');
  checkExactAliasOr(K, 'dx', dx, n, 'dy', dy, n, true);
  checkNoAlias(K, 'dx', dx, n, 'y', y, n);
  if (n === 0) return;
  // softmax: dx = y·(dy − Σ dy·y); log-softmax: dx = dy − exp(y)·Σ dy. Each slice's sum is
  // complete before any of its dx is written, so dx may be dy.
  if (inner === 1) {
    for (let o = 0; o < outer; o++) {
      const base = o * dim;
      let s = 0;
      if (log) {
        for (let j = 0; j < dim; j++) s += dy[base + j]!;
        for (let j = 0; j < dim; j++) dx[base + j] = dy[base + j]! - Math.exp(y[base + j]!) * s;
      } else {
        for (let j = 0; j < dim; j++) s += dy[base + j]! * y[base + j]!;
        for (let j = 0; j < dim; j++) dx[base + j] = y[base + j]! * (dy[base + j]! - s);
      }
    }
    return;
  }
  const t = rows(inner);
  for (let o = 0; o < outer; o++) {
    const xo = o * dim * inner;
    t.fill(0, 0, inner);
    for (let d = 0; d < dim; d++) {
      const r = xo + d * inner;
      if (log) for (let i = 0; i < inner; i++) t[i] = t[i]! + dy[r + i]!;
      else for (let i = 0; i < inner; i++) t[i] = t[i]! + dy[r + i]! * y[r + i]!;
    }
    for (let d = 0; d < dim; d++) {
      const r = xo + d * inner;
      if (log) {
        for (let i = 0; i < inner; i++) dx[r + i] = dy[r + i]! - Math.exp(y[r + i]!) * t[i]!;
      } else {
        for (let i = 0; i < inner; i++) dx[r + i] = y[r + i]! * (dy[r + i]! - t[i]!);
      }
    }
  }
}

function checkTargets(kernel: string, targets: Int32Array, n: number, c: number): void {
  checkI32(kernel, 'targets', targets, n, 'n');
  for (let i = 0; i < n; i++) {
    const t = targets[i]!;
    if (t < 0 || t >= c) fail(kernel, `targets[${i}] = ${t} is out of range [0, ${c})`);
  }
}

function checkSmoothing(kernel: string, eps: number): void {
  checkRange(kernel, 'labelSmoothing', eps, 0, 1);
}

export function softmaxCrossEntropy(logits: Float32Array, targets: Int32Array, n: number,
  c: number, labelSmoothing: number, loss: Float32Array, probs: Float32Array): void {
  const K = 'softmaxCrossEntropy';
  checkSize(K, 'n', n);
  checkSize(K, 'c', c);
  if (n > 0 && c < 1) fail(K, `c must be at least 1 when n > 0, got ${c}`);
  checkSmoothing(K, labelSmoothing);
  const nc = n * c;
  checkF32(K, 'logits', logits, nc, 'n·c');
  checkF32(K, 'loss', loss, n, 'n');
  checkF32(K, 'probs', probs, nc, 'n·c');
  checkTargets(K, targets, n, c);
  checkNoAlias(K, 'probs', probs, nc, 'logits', logits, nc);
  checkNoAlias(K, 'loss', loss, n, 'logits', logits, nc);
  checkNoAlias(K, 'loss', loss, n, 'probs', probs, nc);
  const eps = labelSmoothing;
  for (let i = 0; i < n; i++) {
    const base = i * c;
    let m = logits[base]!;
    for (let j = 1; j < c; j++) { const v = logits[base + j]!; if (v > m) m = v; }
    let s = 0;
    let shifted = 0;
    for (let j = 0; j < c; j++) {
      const z = logits[base + j]! - m;
      s += Math.exp(z);
      shifted += z;
    }
    const ls = Math.log(s);
    for (let j = 0; j < c; j++) probs[base + j] = Math.exp(logits[base + j]! - m) / s;
    // loss = −Σ_j q_j·log p_j, q = (1−ε)·onehot + ε/c, log p_j = (x_j − m) − log s.
    const logpT = logits[base + targets[i]!]! - m - ls;
    loss[i] = eps === 0 ? -logpT : -((1 - eps) * logpT + (eps / c) * (shifted - c * ls));
  }
}

export function softmaxCrossEntropyBackward(probs: Float32Array, targets: Int32Array,
  dloss: Float32Array, n: number, c: number, labelSmoothing: number,
  dlogits: Float32Array): void {
  const K = 'softmaxCrossEntropyBackward';
  checkSize(K, 'n', n);
  checkSize(K, 'c', c);
  if (n > 0 && c < 1) fail(K, `c must be at least 1 when n > 0, got ${c}`);
  checkSmoothing(K, labelSmoothing);
  const nc = n * c;
  checkF32(K, 'probs', probs, nc, 'n·c');
  checkF32(K, 'dloss', dloss, n, 'n');
  checkF32(K, 'dlogits', dlogits, nc, 'n·c');
  checkTargets(K, targets, n, c);
  checkExactAliasOr(K, 'dlogits', dlogits, nc, 'probs', probs, nc, true);
  checkNoAlias(K, 'dlogits', dlogits, nc, 'dloss', dloss, n);
  const off = labelSmoothing / c;
  const onT = 1 - labelSmoothing + off;
  for (let i = 0; i < n; i++) {
    const g = dloss[i]!;
    const base = i * c;
    const t = base + targets[i]!;
    const pt = probs[t]!;
    for (let j = 0; j < c; j++) dlogits[base + j] = g * (probs[base + j]! - off);
    dlogits[t] = g * (pt - onT);
  }
}
