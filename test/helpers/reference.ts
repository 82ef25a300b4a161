/**
 * Float64 reference implementations of the kernel contract (src/backend/backend.ts), written
 * for clarity, straight from the formulas: no blocking, no shortcuts. The parity suite runs each
 * backend on float32 inputs and compares with these, evaluated on the same inputs in float64.
 *
 * Also: a seeded test-input generator (mulberry32) so every test is reproducible.
 */
import type { BinaryOp, ReduceOp, UnaryOp } from '../../src/backend/backend';

type Num = ArrayLike<number>;

// ------------------------------------------------------------------ test inputs

/** mulberry32: a small seeded uniform generator in [0, 1) for test inputs. */
export function testRng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `n` float32-representable values uniform in [lo, hi). */
export function randomF32(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const r = testRng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * r();
  return out;
}

/** `n` integers uniform in [0, c). */
export function randomInts(n: number, c: number, seed: number): Int32Array {
  const r = testRng(seed);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.floor(r() * c);
  return out;
}

export function prod(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

// ------------------------------------------------------------------ GEMM

/** C = alpha·op(A)·op(B) + beta·C (beta = 0: C not read). Returns the result and Σ|terms|. */
export function refGemm(transA: boolean, transB: boolean, m: number, n: number, k: number,
  alpha: number, a: Num, b: Num, beta: number, c: Num | null): { c: Float64Array; mag: Float64Array } {
  const out = new Float64Array(m * n);
  const mag = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      let sa = 0;
      for (let p = 0; p < k; p++) {
        const av = transA ? a[p * m + i]! : a[i * k + p]!;
        const bv = transB ? b[j * k + p]! : b[p * n + j]!;
        s += av * bv;
        sa += Math.abs(av * bv);
      }
      const cv = beta === 0 || c === null ? 0 : c[i * n + j]!;
      out[i * n + j] = alpha * s + (beta === 0 ? 0 : beta * cv);
      mag[i * n + j] = Math.abs(alpha) * sa + (beta === 0 ? 0 : Math.abs(beta * cv));
    }
  }
  return { c: out, mag };
}

// ------------------------------------------------------------------ elementwise

export function broadcastShape(a: readonly number[], b: readonly number[]): number[] {
  const r = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < r; i++) {
    const x = a[i - (r - a.length)] ?? 1;
    const y = b[i - (r - b.length)] ?? 1;
    if (x !== y && x !== 1 && y !== 1) throw new Error(`no broadcast of ${a} and ${b}`);
    out.push(x === 1 ? y : x);
  }
  return out;
}

/** The flat index into an operand of shape `s` for the output multi-index `idx`. */
function broadcastIndex(idx: number[], s: readonly number[]): number {
  const off = idx.length - s.length;
  let flat = 0;
  for (let i = 0; i < s.length; i++) {
    const d = s[i]!;
    flat = flat * d + (d === 1 ? 0 : idx[off + i]!);
  }
  return flat;
}

function* indices(shape: readonly number[]): Generator<number[]> {
  const n = prod(shape);
  const idx = new Array<number>(shape.length).fill(0);
  for (let f = 0; f < n; f++) {
    yield idx;
    for (let i = shape.length - 1; i >= 0; i--) {
      if (++idx[i]! < shape[i]!) break;
      idx[i] = 0;
    }
  }
}

export function binaryOpRef(op: BinaryOp, x: number, y: number): number {
  switch (op) {
    case 'add': return x + y;
    case 'sub': return x - y;
    case 'mul': return x * y;
    case 'div': return x / y;
    case 'max': return Number.isNaN(x) || Number.isNaN(y) ? NaN : Math.max(x, y);
    case 'min': return Number.isNaN(x) || Number.isNaN(y) ? NaN : Math.min(x, y);
    case 'pow': return Math.pow(x, y);
  }
}

export function refBinary(op: BinaryOp, a: Num, aShape: readonly number[], b: Num,
  bShape: readonly number[]): { out: Float64Array; shape: number[] } {
  const shape = broadcastShape(aShape, bShape);
  const out = new Float64Array(prod(shape));
  let f = 0;
  for (const idx of indices(shape)) {
    out[f++] = binaryOpRef(op, a[broadcastIndex(idx, aShape)]!, b[broadcastIndex(idx, bShape)]!);
  }
  return { out, shape };
}

/** erf by the alternating Taylor series (|x| < 3) or a 80-level continued fraction for erfc. */
export function refErf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const ax = Math.abs(x);
  let v: number;
  if (ax < 3) {
    let term = ax;
    let sum = ax;
    for (let n = 1; n < 200; n++) {
      term *= (-ax * ax) / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-18 * Math.abs(sum)) break;
    }
    v = (2 / Math.sqrt(Math.PI)) * sum;
  } else {
    let f = ax;
    for (let k = 80; k >= 1; k--) f = ax + (k / 2) / f;
    v = 1 - Math.exp(-ax * ax) / (Math.sqrt(Math.PI) * f);
  }
  return x < 0 ? -v : v;
}

/** The forward of every unary op in float64. */
export function unaryOpRef(op: UnaryOp, x: number, p = 0): number {
  switch (op) {
    case 'neg': return -x;
    case 'exp': return Math.exp(x);
    case 'log': return Math.log(x);
    case 'sqrt': return Math.sqrt(x);
    case 'abs': return Math.abs(x);
    case 'sign': return Math.sign(x);
    case 'square': return x * x;
    case 'reciprocal': return 1 / x;
    case 'relu': return x > 0 ? x : Number.isNaN(x) ? NaN : 0;
    case 'leakyRelu': return x > 0 ? x : p * x;
    case 'sigmoid': return 1 / (1 + Math.exp(-x));
    case 'tanh': return Math.tanh(x);
    case 'gelu': return 0.5 * x * (1 + refErf(x / Math.SQRT2));
    case 'pow': return Math.pow(x, p);
    case 'scale': return x * p;
    case 'addScalar': return x + p;
    case 'clampMin': return Number.isNaN(x) ? NaN : Math.max(x, p);
  }
}

export function refUnary(op: UnaryOp, x: Num, p = 0): Float64Array {
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = unaryOpRef(op, x[i]!, p);
  return out;
}

export function refSumTo(x: Num, xShape: readonly number[], outShape: readonly number[]): Float64Array {
  const out = new Float64Array(prod(outShape));
  let f = 0;
  for (const idx of indices(xShape)) out[broadcastIndex(idx, outShape)]! += x[f++]!;
  return out;
}

export function refPermute(x: Num, shape: readonly number[], perm: readonly number[]): Float64Array {
  const outShape = perm.map((p) => shape[p]!);
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) { strides[i] = s; s *= shape[i]!; }
  const out = new Float64Array(prod(shape));
  let f = 0;
  for (const idx of indices(outShape)) {
    let src = 0;
    for (let i = 0; i < perm.length; i++) src += idx[i]! * strides[perm[i]!]!;
    out[f++] = x[src]!;
  }
  return out;
}

// ------------------------------------------------------------------ reductions, softmax

export function refReduce(op: ReduceOp, x: Num, outer: number, dim: number,
  inner: number): { out: Float64Array; idx: Int32Array } {
  const out = new Float64Array(outer * inner);
  const idx = new Int32Array(outer * inner);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const vals: number[] = [];
      for (let d = 0; d < dim; d++) vals.push(x[(o * dim + d) * inner + i]!);
      let v: number;
      let at = 0;
      if (op === 'sum' || op === 'mean') {
        v = vals.reduce((s, t) => s + t, 0);
        if (op === 'mean') v = v / dim;
      } else {
        const nan = vals.findIndex((t) => Number.isNaN(t));
        if (nan >= 0) {
          v = NaN;
          at = nan;
        } else {
          v = op === 'max' ? Math.max(...vals) : Math.min(...vals);
          at = vals.indexOf(v);
        }
      }
      out[o * inner + i] = v;
      idx[o * inner + i] = at;
    }
  }
  return { out, idx };
}

export function refSoftmax(x: Num, outer: number, dim: number, inner: number,
  log: boolean): Float64Array {
  const out = new Float64Array(outer * dim * inner);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const at = (d: number) => (o * dim + d) * inner + i;
      let m = -Infinity;
      for (let d = 0; d < dim; d++) m = Math.max(m, x[at(d)]!);
      let s = 0;
      for (let d = 0; d < dim; d++) s += Math.exp(x[at(d)]! - m);
      for (let d = 0; d < dim; d++) {
        out[at(d)] = log ? x[at(d)]! - m - Math.log(s) : Math.exp(x[at(d)]! - m) / s;
      }
    }
  }
  return out;
}

export function refSoftmaxBackward(y: Num, dy: Num, outer: number, dim: number, inner: number,
  log: boolean): Float64Array {
  const dx = new Float64Array(outer * dim * inner);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const at = (d: number) => (o * dim + d) * inner + i;
      let s = 0;
      for (let d = 0; d < dim; d++) s += log ? dy[at(d)]! : dy[at(d)]! * y[at(d)]!;
      for (let d = 0; d < dim; d++) {
        dx[at(d)] = log ? dy[at(d)]! - Math.exp(y[at(d)]!) * s : y[at(d)]! * (dy[at(d)]! - s);
      }
    }
  }
  return dx;
}

/** q[i, j] = (1 − ε)·[j = t_i] + ε/c */
export function refTargetDist(targets: Num, n: number, c: number, eps: number): Float64Array {
  const q = new Float64Array(n * c);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < c; j++) q[i * c + j] = (j === targets[i] ? 1 - eps : 0) + eps / c;
  }
  return q;
}

export function refSoftmaxCE(logits: Num, targets: Num, n: number, c: number,
  eps: number): { loss: Float64Array; probs: Float64Array } {
  const logp = refSoftmax(logits, n, c, 1, true);
  const probs = logp.map(Math.exp);
  const q = refTargetDist(targets, n, c, eps);
  const loss = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < c; j++) s -= q[i * c + j]! * logp[i * c + j]!;
    loss[i] = s;
  }
  return { loss, probs };
}

export function refSoftmaxCEBackward(probs: Num, targets: Num, dloss: Num, n: number, c: number,
  eps: number): Float64Array {
  const q = refTargetDist(targets, n, c, eps);
  const d = new Float64Array(n * c);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < c; j++) d[i * c + j] = dloss[i]! * (probs[i * c + j]! - q[i * c + j]!);
  }
  return d;
}

// ------------------------------------------------------------------ bias + activation

export function refBiasAct(x: Num, bias: Num, outer: number, channels: number, inner: number,
  act: 'none' | 'relu'): Float64Array {
  const out = new Float64Array(outer * channels * inner);
  for (let o = 0; o < outer; o++) {
    for (let ch = 0; ch < channels; ch++) {
      for (let i = 0; i < inner; i++) {
        const f = (o * channels + ch) * inner + i;
        const v = x[f]! + bias[ch]!;
        out[f] = act === 'relu' ? Math.max(v, 0) : v;
      }
    }
  }
  return out;
}

export function refBiasActBackward(y: Num, dy: Num, outer: number, channels: number,
  inner: number, act: 'none' | 'relu'): { dx: Float64Array; dbias: Float64Array } {
  const dx = new Float64Array(outer * channels * inner);
  const dbias = new Float64Array(channels);
  for (let o = 0; o < outer; o++) {
    for (let ch = 0; ch < channels; ch++) {
      for (let i = 0; i < inner; i++) {
        const f = (o * channels + ch) * inner + i;
        const g = act === 'relu' && !(y[f]! > 0) ? 0 : dy[f]!;
        dx[f] = g;
        dbias[ch]! += g;
      }
    }
  }
  return { dx, dbias };
}

// ------------------------------------------------------------------ convolution, pooling

export interface Win {
  n: number; c: number; h: number; w: number; kh: number; kw: number;
  sH: number; sW: number; pH: number; pW: number;
}

export function outSize(g: Win): [number, number] {
  return [Math.floor((g.h + 2 * g.pH - g.kh) / g.sH) + 1, Math.floor((g.w + 2 * g.pW - g.kw) / g.sW) + 1];
}

/** im2col straight from its definition (zero where the index falls in the padding). */
export function refIm2col(x: Num, g: Win): Float64Array {
  const [oh, ow] = outSize(g);
  const rows = g.c * g.kh * g.kw;
  const col = new Float64Array(g.n * rows * oh * ow);
  for (let s = 0; s < g.n; s++) {
    for (let ci = 0; ci < g.c; ci++) {
      for (let ki = 0; ki < g.kh; ki++) {
        for (let kj = 0; kj < g.kw; kj++) {
          const r = (ci * g.kh + ki) * g.kw + kj;
          for (let oy = 0; oy < oh; oy++) {
            for (let ox = 0; ox < ow; ox++) {
              const iy = oy * g.sH - g.pH + ki, ix = ox * g.sW - g.pW + kj;
              const inside = iy >= 0 && iy < g.h && ix >= 0 && ix < g.w;
              col[((s * rows + r) * oh + oy) * ow + ox] =
                inside ? x[((s * g.c + ci) * g.h + iy) * g.w + ix]! : 0;
            }
          }
        }
      }
    }
  }
  return col;
}

/** col2im as the transpose of refIm2col: scatter-add. */
export function refCol2im(col: Num, g: Win): Float64Array {
  const [oh, ow] = outSize(g);
  const rows = g.c * g.kh * g.kw;
  const dx = new Float64Array(g.n * g.c * g.h * g.w);
  for (let s = 0; s < g.n; s++) {
    for (let ci = 0; ci < g.c; ci++) {
      for (let ki = 0; ki < g.kh; ki++) {
        for (let kj = 0; kj < g.kw; kj++) {
          const r = (ci * g.kh + ki) * g.kw + kj;
          for (let oy = 0; oy < oh; oy++) {
            for (let ox = 0; ox < ow; ox++) {
              const iy = oy * g.sH - g.pH + ki, ix = ox * g.sW - g.pW + kj;
              if (iy >= 0 && iy < g.h && ix >= 0 && ix < g.w) {
                dx[((s * g.c + ci) * g.h + iy) * g.w + ix]! += col[((s * rows + r) * oh + oy) * ow + ox]!;
              }
            }
          }
        }
      }
    }
  }
  return dx;
}

export function refMaxPool(x: Num, g: Win): { out: Float64Array; idx: Int32Array } {
  const [oh, ow] = outSize(g);
  const out = new Float64Array(g.n * g.c * oh * ow);
  const idx = new Int32Array(out.length);
  let o = 0;
  for (let p = 0; p < g.n * g.c; p++) {
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++, o++) {
        let best = -Infinity;
        let at = -1;
        for (let ki = 0; ki < g.kh; ki++) {
          for (let kj = 0; kj < g.kw; kj++) {
            const iy = oy * g.sH - g.pH + ki, ix = ox * g.sW - g.pW + kj;
            if (iy < 0 || iy >= g.h || ix < 0 || ix >= g.w) continue;
            const v = x[p * g.h * g.w + iy * g.w + ix]!;
            if (at < 0 || v > best || (Number.isNaN(v) && !Number.isNaN(best))) {
              best = v;
              at = iy * g.w + ix;
            }
          }
        }
        out[o] = best;
        idx[o] = at;
      }
    }
  }
  return { out, idx };
}

export function refMaxPoolBackward(dy: Num, idx: Num, planes: number, hw: number,
  ohw: number): Float64Array {
  const dx = new Float64Array(planes * hw);
  for (let p = 0; p < planes; p++) {
    for (let j = 0; j < ohw; j++) dx[p * hw + idx[p * ohw + j]!]! += dy[p * ohw + j]!;
  }
  return dx;
}

export function refAvgPool(x: Num, g: Win): Float64Array {
  const [oh, ow] = outSize(g);
  const out = new Float64Array(g.n * g.c * oh * ow);
  let o = 0;
  for (let p = 0; p < g.n * g.c; p++) {
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++, o++) {
        let s = 0;
        for (let ki = 0; ki < g.kh; ki++) {
          for (let kj = 0; kj < g.kw; kj++) {
            const iy = oy * g.sH - g.pH + ki, ix = ox * g.sW - g.pW + kj;
            if (iy >= 0 && iy < g.h && ix >= 0 && ix < g.w) s += x[p * g.h * g.w + iy * g.w + ix]!;
          }
        }
        out[o] = s / (g.kh * g.kw);
      }
    }
  }
  return out;
}

// ------------------------------------------------------------------ batch norm

export interface BnRef {
  out: Float64Array; mean: Float64Array; invStd: Float64Array;
  runningMean: Float64Array; runningVar: Float64Array;
}

export function refBatchNorm(x: Num, outer: number, C: number, inner: number, gamma: Num | null,
  beta: Num | null, runningMean: Num, runningVar: Num, training: boolean, momentum: number,
  eps: number): BnRef {
  const M = outer * inner;
  const mean = new Float64Array(C), invStd = new Float64Array(C);
  const rm = Float64Array.from(runningMean), rv = Float64Array.from(runningVar);
  const at = (o: number, ch: number, i: number) => (o * C + ch) * inner + i;
  for (let ch = 0; ch < C; ch++) {
    if (training) {
      let s = 0;
      for (let o = 0; o < outer; o++) for (let i = 0; i < inner; i++) s += x[at(o, ch, i)]!;
      const mu = s / M;
      let v = 0;
      for (let o = 0; o < outer; o++) {
        for (let i = 0; i < inner; i++) v += (x[at(o, ch, i)]! - mu) ** 2;
      }
      mean[ch] = mu;
      invStd[ch] = 1 / Math.sqrt(v / M + eps);
      rm[ch] = (1 - momentum) * rm[ch]! + momentum * mu;
      rv[ch] = (1 - momentum) * rv[ch]! + momentum * (v / (M - 1));
    } else {
      mean[ch] = runningMean[ch]!;
      invStd[ch] = 1 / Math.sqrt(runningVar[ch]! + eps);
    }
  }
  const out = new Float64Array(outer * C * inner);
  for (let o = 0; o < outer; o++) {
    for (let ch = 0; ch < C; ch++) {
      for (let i = 0; i < inner; i++) {
        const f = at(o, ch, i);
        out[f] = (x[f]! - mean[ch]!) * invStd[ch]! * (gamma ? gamma[ch]! : 1) + (beta ? beta[ch]! : 0);
      }
    }
  }
  return { out, mean, invStd, runningMean: rm, runningVar: rv };
}

// ------------------------------------------------------------------ optimizers

export function refSgd(param: Num, grad: Num, buf: Num | null, lr: number, momentum: number,
  dampening: number, nesterov: boolean, wd: number, first: boolean): { param: Float64Array; buf: Float64Array } {
  const p = Float64Array.from(param);
  const b = buf ? Float64Array.from(buf) : new Float64Array(p.length);
  for (let i = 0; i < p.length; i++) {
    let g = grad[i]! + wd * p[i]!;
    if (momentum !== 0) {
      b[i] = first ? g : momentum * b[i]! + (1 - dampening) * g;
      g = nesterov ? g + momentum * b[i]! : b[i]!;
    }
    p[i] = p[i]! - lr * g;
  }
  return { param: p, buf: b };
}

export function refAdam(param: Num, grad: Num, m: Num, v: Num, lr: number, b1: number,
  b2: number, eps: number, wd: number, t: number,
  decoupled: boolean): { param: Float64Array; m: Float64Array; v: Float64Array } {
  const p = Float64Array.from(param), mm = Float64Array.from(m), vv = Float64Array.from(v);
  for (let i = 0; i < p.length; i++) {
    let g = grad[i]!;
    if (decoupled) p[i] = p[i]! - lr * wd * p[i]!;
    else g += wd * p[i]!;
    mm[i] = b1 * mm[i]! + (1 - b1) * g;
    vv[i] = b2 * vv[i]! + (1 - b2) * g * g;
    p[i] = p[i]! - (lr / (1 - b1 ** t)) * mm[i]! / (Math.sqrt(vv[i]!) / Math.sqrt(1 - b2 ** t) + eps);
  }
  return { param: p, m: mm, v: vv };
}

export function refRmsprop(param: Num, grad: Num, sq: Num, gAvg: Num | null, buf: Num | null,
  lr: number, alpha: number, eps: number, wd: number, momentum: number,
  centered: boolean): { param: Float64Array; sq: Float64Array; gAvg: Float64Array; buf: Float64Array } {
  const p = Float64Array.from(param), s = Float64Array.from(sq);
  const ga = gAvg ? Float64Array.from(gAvg) : new Float64Array(p.length);
  const b = buf ? Float64Array.from(buf) : new Float64Array(p.length);
  for (let i = 0; i < p.length; i++) {
    const g = grad[i]! + wd * p[i]!;
    s[i] = alpha * s[i]! + (1 - alpha) * g * g;
    let avg: number;
    if (centered) {
      ga[i] = alpha * ga[i]! + (1 - alpha) * g;
      avg = Math.sqrt(s[i]! - ga[i]! ** 2) + eps;
    } else {
      avg = Math.sqrt(s[i]!) + eps;
    }
    if (momentum > 0) {
      b[i] = momentum * b[i]! + g / avg;
      p[i] = p[i]! - lr * b[i]!;
    } else {
      p[i] = p[i]! - lr * g / avg;
    }
  }
  return { param: p, sq: s, gAvg: ga, buf: b };
}
