/**
 * Differentiable ops built on coarse fused kernels: linear (+ReLU), conv2d (im2col + GEMM),
 * pooling, dropout, batch norm and softmax cross-entropy. Each forward is one or two kernel
 * calls; each backward sits right below its forward.
 */
import { backend } from '../backend';
import type { Activation } from '../backend/backend';
import { ShapeError, ValueError, fmtShape } from './errors';
import { Generator, defaultGenerator } from './random';
import { alloc, allocInt32, release } from './pool';
import { numel } from './shape';
import { Tensor, accumulate, ensureGrad, gradForWrite, result } from './tensor';

export type Reduction = 'mean' | 'sum' | 'none';

function pair(name: string, v: number | readonly [number, number], min: number): [number, number] {
  const p: [number, number] = typeof v === 'number' ? [v, v] : [v[0], v[1]];
  for (const x of p) {
    if (!Number.isInteger(x) || x < min) throw new ValueError(`${name} must be an integer ≥ ${min}, got ${String(v)}`);
  }
  return p;
}

/**
 * y = act(x·Wᵀ + b) with W [out, in] (PyTorch layout), x [..., in]. One GEMM (B transposed by
 * flag, never copied) plus one fused bias+activation kernel.
 */
export function linear(x: Tensor, weight: Tensor, bias: Tensor | null = null, act: Activation = 'none'): Tensor {
  if (weight.ndim !== 2) throw new ShapeError(`linear: weight must be 2-D [out, in], got ${fmtShape(weight.shape)}`);
  const [outF, inF] = weight.shape as [number, number];
  if (x.ndim < 1 || x.shape[x.ndim - 1] !== inF) {
    throw new ShapeError(`linear: input ${fmtShape(x.shape)} does not end in ${inF} features (weight ${fmtShape(weight.shape)})`);
  }
  if (bias && (bias.ndim !== 1 || bias.shape[0] !== outF)) {
    throw new ShapeError(`linear: bias must be [${outF}], got ${fmtShape(bias.shape)}`);
  }
  const rows = x.size / inF;
  const be = backend();
  const y = alloc(rows * outF);
  be.gemm(false, true, rows, outF, inF, 1, x.data, weight.data, 0, y);
  if (bias || act !== 'none') be.biasAct(y, bias ? bias.data : new Float32Array(outF), rows, outF, 1, act, y);
  const shape = [...x.shape.slice(0, -1), outF];
  const inputs = bias ? [x, weight, bias] : [x, weight];
  return result('linear', y, shape, inputs, (g) => {
    const bk = backend();
    let gy = g;
    if (act !== 'none' || (bias && bias.requiresGrad)) {
      gy = act !== 'none' ? alloc(g.length) : g;  // without an activation, biasActBackward only reads
      let db: Float32Array | null = null;
      if (bias && bias.requiresGrad) { ensureGrad(bias); db = bias.grad!.data; }
      bk.biasActBackward(y, g, rows, outF, 1, act, gy, db);
    }
    if (x.requiresGrad) {
      const dx = alloc(x.size);
      bk.gemm(false, false, rows, inF, outF, 1, gy, weight.data, 0, dx);
      accumulate(x, dx, true);
    }
    if (weight.requiresGrad) {
      const dw = gradForWrite(weight);
      bk.gemm(true, false, outF, inF, rows, 1, gy, x.data, dw.beta, dw.buf);
    }
    if (gy !== g) release(gy);
  });
}

export interface Conv2dOptions {
  stride?: number | readonly [number, number];
  padding?: number | readonly [number, number];
  /** Activation fused into the convolution's output ('relu' saves a pass over memory). */
  act?: Activation;
  /**
   * Max pooling fused after the activation, with this window and the same stride, no padding
   * (as MaxPool2d(pool)): the result is maxPool2d(act(conv)), without the full-size convolution
   * output ever being written.
   */
  pool?: number | readonly [number, number];
}

/**
 * The gradient buffers a convolution's backward accumulates into (the kernels add to them): the
 * weight's and bias's own, created on first use; null for those that need no gradient.
 */
function convParamGrads(weight: Tensor, bias: Tensor | null | undefined): { dw: Float32Array | null; db: Float32Array | null } {
  if (weight.requiresGrad) ensureGrad(weight);
  if (bias?.requiresGrad) ensureGrad(bias);
  return { dw: weight.requiresGrad ? weight.grad!.data : null, db: bias?.requiresGrad ? bias.grad!.data : null };
}

/**
 * 2-D convolution (cross-correlation, as PyTorch) of x [N, C, H, W] with weight
 * [outC, C, kh, kw], optionally fused with bias, ReLU and max pooling. One backend call forward
 * (native: per-sample im2col into reused scratch + one GEMM, data-parallel), one backward.
 */
export function conv2d(x: Tensor, weight: Tensor, bias: Tensor | null = null, opts: Conv2dOptions = {}): Tensor {
  if (x.ndim !== 4) throw new ShapeError(`conv2d: input must be 4-D [N, C, H, W], got ${fmtShape(x.shape)}`);
  if (weight.ndim !== 4) throw new ShapeError(`conv2d: weight must be 4-D [outC, inC, kh, kw], got ${fmtShape(weight.shape)}`);
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const [oc, wc, kh, kw] = weight.shape as [number, number, number, number];
  if (wc !== c) throw new ShapeError(`conv2d: input has ${c} channels but weight ${fmtShape(weight.shape)} expects ${wc}`);
  if (bias && (bias.ndim !== 1 || bias.shape[0] !== oc)) throw new ShapeError(`conv2d: bias must be [${oc}], got ${fmtShape(bias.shape)}`);
  const [sh, sw] = pair('conv2d: stride', opts.stride ?? 1, 1);
  const [ph0, pw0] = pair('conv2d: padding', opts.padding ?? 0, 0);
  const act = opts.act ?? 'none';
  if (act !== 'none' && act !== 'relu') throw new ValueError(`conv2d: act must be 'none' or 'relu', got ${String(act)}`);
  const oh = Math.floor((h + 2 * ph0 - kh) / sh) + 1;
  const ow = Math.floor((w + 2 * pw0 - kw) / sw) + 1;
  if (oh < 1 || ow < 1) {
    throw new ShapeError(`conv2d: kernel ${kh}x${kw} does not fit input ${h}x${w} with padding ${ph0},${pw0}`);
  }
  const inputs = bias ? [x, weight, bias] : [x, weight];
  if (opts.pool !== undefined) {
    const [qh, qw] = pair('conv2d: pool', opts.pool, 1);
    if (qh > oh || qw > ow) {
      throw new ShapeError(`conv2d: pool ${qh}x${qw} does not fit the convolution output ${oh}x${ow}`);
    }
    const ph = Math.floor(oh / qh), pw = Math.floor(ow / qw);
    const y = alloc(n * oc * ph * pw);
    const idx = allocInt32(y.length);
    backend().conv2dMaxPool(x.data, n, c, h, w, kh, kw, sh, sw, ph0, pw0, weight.data, oc, bias ? bias.data : null, act, qh, qw, y, idx);
    return result('conv2d', y, [n, oc, ph, pw], inputs, (g) => {
      const { dw, db } = convParamGrads(weight, bias);
      const dx = x.requiresGrad ? alloc(x.size) : null;
      backend().conv2dMaxPoolBackward(x.data, n, c, h, w, kh, kw, sh, sw, ph0, pw0, weight.data, oc, y, idx, g, act, qh, qw, dx, dw, db);
      if (dx) accumulate(x, dx, true);
    }, [idx]);
  }
  const y = alloc(n * oc * oh * ow);
  backend().conv2d(x.data, n, c, h, w, kh, kw, sh, sw, ph0, pw0, weight.data, oc, bias ? bias.data : null, act, y);
  return result('conv2d', y, [n, oc, oh, ow], inputs, (g) => {
    const { dw, db } = convParamGrads(weight, bias);
    const dx = x.requiresGrad ? alloc(x.size) : null;
    backend().conv2dBackward(x.data, n, c, h, w, kh, kw, sh, sw, ph0, pw0, weight.data, oc, y, g, act, dx, dw, db);
    if (dx) accumulate(x, dx, true);
  });
}

export interface Pool2dOptions {
  stride?: number | readonly [number, number];
  padding?: number | readonly [number, number];
}

function poolGeometry(op: string, x: Tensor, kernel: number | readonly [number, number], opts: Pool2dOptions) {
  if (x.ndim !== 4) throw new ShapeError(`${op}: input must be 4-D [N, C, H, W], got ${fmtShape(x.shape)}`);
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const [kh, kw] = pair(`${op}: kernel size`, kernel, 1);
  const [sh, sw] = pair(`${op}: stride`, opts.stride ?? kernel, 1);
  const [ph, pw] = pair(`${op}: padding`, opts.padding ?? 0, 0);
  if (ph * 2 > kh || pw * 2 > kw) throw new ValueError(`${op}: padding ${ph},${pw} must be at most half the kernel size ${kh}x${kw}`);
  const oh = Math.floor((h + 2 * ph - kh) / sh) + 1;
  const ow = Math.floor((w + 2 * pw - kw) / sw) + 1;
  if (oh < 1 || ow < 1) throw new ShapeError(`${op}: kernel ${kh}x${kw} does not fit input ${h}x${w}`);
  return { n, c, h, w, kh, kw, sh, sw, ph, pw, oh, ow };
}

/** Max pooling; stride defaults to the kernel size (PyTorch). */
export function maxPool2d(x: Tensor, kernel: number | readonly [number, number], opts: Pool2dOptions = {}): Tensor {
  const { n, c, h, w, kh, kw, sh, sw, ph, pw, oh, ow } = poolGeometry('maxPool2d', x, kernel, opts);
  const out = alloc(n * c * oh * ow);
  const idx = allocInt32(out.length);
  backend().maxPool2d(x.data, n, c, h, w, kh, kw, sh, sw, ph, pw, out, idx);
  return result('maxPool2d', out, [n, c, oh, ow], [x], (g) => {
    const dx = alloc(x.size);
    backend().maxPool2dBackward(g, idx, n, c, h, w, oh, ow, dx);
    accumulate(x, dx, true);
  }, [idx]);
}

/** Average pooling (zero padding counts in the divisor); stride defaults to the kernel size. */
export function avgPool2d(x: Tensor, kernel: number | readonly [number, number], opts: Pool2dOptions = {}): Tensor {
  const { n, c, h, w, kh, kw, sh, sw, ph, pw, oh, ow } = poolGeometry('avgPool2d', x, kernel, opts);
  const out = alloc(n * c * oh * ow);
  backend().avgPool2d(x.data, n, c, h, w, kh, kw, sh, sw, ph, pw, out);
  return result('avgPool2d', out, [n, c, oh, ow], [x], (g) => {
    const dx = alloc(x.size);
    backend().avgPool2dBackward(g, n, c, h, w, kh, kw, sh, sw, ph, pw, dx);
    accumulate(x, dx, true);
  });
}

/**
 * Inverted dropout: in training, zeroes each element with probability p and scales the rest by
 * 1/(1−p); identity when not training or p = 0. Masks come from the seeded generator.
 */
export function dropout(x: Tensor, p = 0.5, training = true, generator?: Generator): Tensor {
  if (typeof p !== 'number' || !(p >= 0 && p <= 1)) {
    throw new ValueError(`dropout probability has to be between 0 and 1, but got ${p}`);
  }
  if (!training || p === 0) return x;
  if (p === 1) return x.mul(0);
  const mask = alloc(x.size);
  const out = alloc(x.size);
  backend().dropout((generator ?? defaultGenerator()).state, x.data, x.size, p, out, mask);
  return result('dropout', out, x.shape, [x], (g) => {
    const dx = alloc(x.size);
    backend().binary('mul', g, [x.size], mask, [x.size], dx, [x.size]);
    accumulate(x, dx, true);
  }, [mask]);
}

export interface BatchNormArgs {
  runningMean: Tensor;
  runningVar: Tensor;
  weight?: Tensor | null;
  bias?: Tensor | null;
  training: boolean;
  momentum?: number;
  eps?: number;
}

/**
 * Batch normalisation over dim 1 of x [N, C, ...]: batch statistics in training (running
 * statistics updated in place with the unbiased variance), running statistics in eval.
 */
export function batchNorm(x: Tensor, a: BatchNormArgs): Tensor {
  if (x.ndim < 2) throw new ShapeError(`batchNorm: input must be at least 2-D [N, C, ...], got ${fmtShape(x.shape)}`);
  const outer = x.shape[0]!;
  const ch = x.shape[1]!;
  const inner = numel(x.shape.slice(2));
  const momentum = a.momentum ?? 0.1;
  const eps = a.eps ?? 1e-5;
  for (const [name, t] of [['runningMean', a.runningMean], ['runningVar', a.runningVar], ['weight', a.weight], ['bias', a.bias]] as const) {
    if (t && t.size !== ch) throw new ShapeError(`batchNorm: ${name} has ${t.size} elements but the input has ${ch} channels (${fmtShape(x.shape)})`);
  }
  if (a.training && outer * inner <= 1) {
    throw new ValueError(`batchNorm: expected more than 1 value per channel when training, got input ${fmtShape(x.shape)}`);
  }
  const gamma = a.weight ?? null;
  const beta = a.bias ?? null;
  const out = alloc(x.size);
  const mean = new Float32Array(ch);
  const invStd = new Float32Array(ch);
  backend().batchNorm(x.data, outer, ch, inner, gamma?.data ?? null, beta?.data ?? null,
    a.runningMean.data, a.runningVar.data, a.training, momentum, eps, out, mean, invStd);
  if (!a.training) {
    for (let i = 0; i < ch; i++) {
      mean[i] = a.runningMean.data[i]!;
      invStd[i] = 1 / Math.sqrt(a.runningVar.data[i]! + eps);
    }
  }
  const inputs = [x, ...(gamma ? [gamma] : []), ...(beta ? [beta] : [])];
  const training = a.training;
  return result('batchNorm', out, x.shape, inputs, (g) => {
    const bk = backend();
    let dg: Float32Array | null = null;
    let db: Float32Array | null = null;
    if (gamma?.requiresGrad) { ensureGrad(gamma); dg = gamma.grad!.data; }
    if (beta?.requiresGrad) { ensureGrad(beta); db = beta.grad!.data; }
    const dx = alloc(x.size);
    if (training) {
      bk.batchNormBackward(x.data, g, outer, ch, inner, gamma?.data ?? null, mean, invStd, dx, dg, db);
    } else {
      // Eval: an affine map per channel.
      for (let o = 0; o < outer; o++) {
        for (let cI = 0; cI < ch; cI++) {
          const s = (gamma ? gamma.data[cI]! : 1) * invStd[cI]!;
          const base = (o * ch + cI) * inner;
          for (let i = 0; i < inner; i++) {
            const gi = g[base + i]!;
            dx[base + i] = gi * s;
            if (dg) dg[cI] += gi * (x.data[base + i]! - mean[cI]!) * invStd[cI]!;
            if (db) db[cI] += gi;
          }
        }
      }
    }
    accumulate(x, dx, true);
  });
}

/** Class indices as an Int32Array, validated against the class count. */
export function toTargets(op: string, target: Tensor | Int32Array | readonly number[], n: number, c: number): Int32Array {
  let t: Int32Array;
  if (target instanceof Int32Array) t = target;
  else if (target instanceof Tensor) t = Int32Array.from(target.data);
  else t = Int32Array.from(target);
  const src: ArrayLike<number> = target instanceof Tensor ? target.data : target;
  if (t.length !== n) throw new ShapeError(`${op}: ${t.length} targets for ${n} samples`);
  for (let i = 0; i < n; i++) {
    if (t[i] !== src[i] || t[i]! < 0 || t[i]! >= c) {
      throw new ValueError(`${op}: target ${src[i]} at position ${i} is not a class index in [0, ${c})`);
    }
  }
  return t;
}

/**
 * Softmax cross-entropy over logits [N, C] and class-index targets, fused into one kernel
 * forward and one backward. Label smoothing ε mixes the one-hot target with the uniform
 * distribution: (1−ε)·onehot + ε/C (PyTorch).
 */
export function softmaxCrossEntropy(logits: Tensor, target: Tensor | Int32Array | readonly number[],
  opts: { labelSmoothing?: number; reduction?: Reduction } = {}): Tensor {
  if (logits.ndim !== 2) throw new ShapeError(`crossEntropy: logits must be 2-D [N, C], got ${fmtShape(logits.shape)}`);
  const [n, c] = logits.shape as [number, number];
  const ls = opts.labelSmoothing ?? 0;
  if (!(ls >= 0 && ls <= 1)) throw new ValueError(`crossEntropy: labelSmoothing must be in [0, 1], got ${ls}`);
  const reduction = opts.reduction ?? 'mean';
  if (reduction !== 'mean' && reduction !== 'sum' && reduction !== 'none') {
    throw new ValueError(`crossEntropy: reduction must be 'mean', 'sum' or 'none', got ${String(reduction)}`);
  }
  const t = toTargets('crossEntropy', target, n, c);
  const loss = new Float32Array(n);
  const probs = alloc(n * c);
  backend().softmaxCrossEntropy(logits.data, t, n, c, ls, loss, probs);
  let value: Float32Array;
  let shape: number[];
  if (reduction === 'none') {
    value = loss;
    shape = [n];
  } else {
    let s = 0;
    for (let i = 0; i < n; i++) s += loss[i]!;
    value = Float32Array.of(reduction === 'mean' ? (n ? s / n : NaN) : s);
    shape = [];
  }
  return result('crossEntropy', value, shape, [logits], (g) => {
    const dl = new Float32Array(n);
    if (reduction === 'none') dl.set(g);
    else dl.fill(reduction === 'mean' ? g[0]! / n : g[0]!);
    const dx = alloc(n * c);
    backend().softmaxCrossEntropyBackward(probs, t, dl, n, c, ls, dx);
    accumulate(logits, dx, true);
  }, [probs]);
}
