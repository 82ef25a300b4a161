/**
 * Fused convolution on the JS backend: im2col per sample into a reused scratch buffer, one GEMM
 * per sample with the weight shared, bias + activation fused into the copy out. Same results as
 * the native kernel up to float summation order.
 */
import type { Activation } from '../backend';
import {
  checkF32, checkI32, checkNoAlias, checkOneOf, checkOptF32, checkPositive, checkSize, checkWindow, fail,
} from '../validate';
import { col2im, im2col } from './conv';
import { gemm } from './gemm';
import { maxPool2d, maxPool2dBackward } from './pool';

/** A reusable scratch buffer: a view of n floats, grown on demand (contents unspecified). */
function scratch(): (n: number) => Float32Array {
  let buf = new Float32Array(0);
  return (n) => {
    if (buf.length < n) buf = new Float32Array(n);
    return buf.subarray(0, n);
  };
}

/** One sample's column matrix, the gated gradient, and (pooled variants) the full conv output and its gradient. */
const col = scratch(), mat = scratch(), convOut = scratch(), gradOut = scratch();

const ACTS: readonly Activation[] = ['none', 'relu'];

function checkConv(K: string, x: Float32Array, n: number, c: number, h: number, w: number,
  kh: number, kw: number, strideH: number, strideW: number, padH: number, padW: number,
  weight: Float32Array, outC: number) {
  const [oh, ow] = checkWindow(K, n, c, h, w, kh, kw, strideH, strideW, padH, padW, false);
  checkSize(K, 'outC', outC);
  checkF32(K, 'x', x, n * c * h * w, 'n·c·h·w');
  checkF32(K, 'weight', weight, outC * c * kh * kw, 'outC·c·kh·kw');
  return { oh, ow, ckk: c * kh * kw, ohw: oh * ow };
}

export function conv2d(x: Float32Array, n: number, c: number, h: number, w: number, kh: number,
  kw: number, strideH: number, strideW: number, padH: number, padW: number, weight: Float32Array,
  outC: number, bias: Float32Array | null, act: Activation, out: Float32Array): void {
  const K = 'conv2d';
  const { ckk, ohw } = checkConv(K, x, n, c, h, w, kh, kw, strideH, strideW, padH, padW, weight, outC);
  checkOptF32(K, 'bias', bias, outC, 'outC');
  checkOneOf(K, 'act', act, ACTS);
  const osize = n * outC * ohw;
  checkF32(K, 'out', out, osize, 'n·outC·oh·ow');
  checkNoAlias(K, 'out', out, osize, 'x', x, n * c * h * w);
  checkNoAlias(K, 'out', out, osize, 'weight', weight, outC * ckk);
  if (bias) checkNoAlias(K, 'out', out, osize, 'bias', bias, outC);
  if (n === 0 || outC === 0 || ohw === 0) return;
  const cl = col(ckk * ohw);
  for (let s = 0; s < n; s++) {
    im2col(x.subarray(s * c * h * w, (s + 1) * c * h * w), 1, c, h, w, kh, kw, strideH, strideW, padH, padW, cl);
    const o = out.subarray(s * outC * ohw, (s + 1) * outC * ohw);
    gemm(false, false, outC, ohw, ckk, 1, weight, cl, 0, o);
    for (let oc = 0; oc < outC; oc++) {
      const b = bias ? bias[oc]! : 0;
      const base = oc * ohw;
      if (act === 'relu') {
        for (let p = 0; p < ohw; p++) { const v = o[base + p]! + b; o[base + p] = v > 0 ? v : 0; }
      } else if (b !== 0) {
        for (let p = 0; p < ohw; p++) o[base + p] = o[base + p]! + b;
      }
    }
  }
}

export function conv2dBackward(x: Float32Array, n: number, c: number, h: number, w: number,
  kh: number, kw: number, strideH: number, strideW: number, padH: number, padW: number,
  weight: Float32Array, outC: number, y: Float32Array, dy: Float32Array, act: Activation,
  dx: Float32Array | null, dw: Float32Array | null, db: Float32Array | null): void {
  const K = 'conv2dBackward';
  const { ckk, ohw } = checkConv(K, x, n, c, h, w, kh, kw, strideH, strideW, padH, padW, weight, outC);
  checkOneOf(K, 'act', act, ACTS);
  const osize = n * outC * ohw;
  const xsize = n * c * h * w;
  if (act === 'relu') checkF32(K, 'y', y, osize, 'n·outC·oh·ow');
  checkF32(K, 'dy', dy, osize, 'n·outC·oh·ow');
  checkOptF32(K, 'dx', dx, xsize, 'n·c·h·w');
  checkOptF32(K, 'dw', dw, outC * ckk, 'outC·c·kh·kw');
  checkOptF32(K, 'db', db, outC, 'outC');
  for (const [name, buf, len] of [['dx', dx, xsize], ['dw', dw, outC * ckk], ['db', db, outC]] as const) {
    if (!buf) continue;
    checkNoAlias(K, name, buf, len, 'x', x, xsize);
    checkNoAlias(K, name, buf, len, 'weight', weight, outC * ckk);
    checkNoAlias(K, name, buf, len, 'dy', dy, osize);
    if (act === 'relu') checkNoAlias(K, name, buf, len, 'y', y, osize);
  }
  if (dx && dw) checkNoAlias(K, 'dx', dx, xsize, 'dw', dw, outC * ckk);
  if (dx && db) checkNoAlias(K, 'dx', dx, xsize, 'db', db, outC);
  if (dw && db) checkNoAlias(K, 'dw', dw, outC * ckk, 'db', db, outC);
  if (n === 0 || outC === 0 || ohw === 0) {
    dx?.fill(0, 0, xsize);
    return;
  }
  const g = mat(outC * ohw);
  const cl = col(ckk * ohw);
  for (let s = 0; s < n; s++) {
    const dys = dy.subarray(s * outC * ohw, (s + 1) * outC * ohw);
    if (act === 'relu') {
      const ys = y.subarray(s * outC * ohw, (s + 1) * outC * ohw);
      for (let i = 0; i < g.length; i++) g[i] = ys[i]! > 0 ? dys[i]! : 0;
    } else {
      g.set(dys);
    }
    if (db) {
      for (let oc = 0; oc < outC; oc++) {
        let acc = 0;
        for (let p = oc * ohw; p < (oc + 1) * ohw; p++) acc += g[p]!;
        db[oc] = db[oc]! + acc;
      }
    }
    const xs = x.subarray(s * c * h * w, (s + 1) * c * h * w);
    if (dw) {
      im2col(xs, 1, c, h, w, kh, kw, strideH, strideW, padH, padW, cl);
      gemm(false, true, outC, ckk, ohw, 1, g, cl, 1, dw);
    }
    if (dx) {
      gemm(true, false, ckk, ohw, outC, 1, weight, g, 0, cl);
      col2im(cl, 1, c, h, w, kh, kw, strideH, strideW, padH, padW, dx.subarray(s * c * h * w, (s + 1) * c * h * w));
    }
  }
}

function checkPool(K: string, poolH: number, poolW: number, oh: number, ow: number): void {
  checkPositive(K, 'poolH', poolH);
  checkPositive(K, 'poolW', poolW);
  if (poolH > oh) fail(K, `poolH = ${poolH} is larger than the convolution output height oh = ${oh}`);
  if (poolW > ow) fail(K, `poolW = ${poolW} is larger than the convolution output width ow = ${ow}`);
}

/** conv2d then maxPool2d (stride = window, no padding), through a scratch buffer. */
export function conv2dMaxPool(x: Float32Array, n: number, c: number, h: number, w: number,
  kh: number, kw: number, strideH: number, strideW: number, padH: number, padW: number,
  weight: Float32Array, outC: number, bias: Float32Array | null, act: Activation,
  poolH: number, poolW: number, out: Float32Array, idx: Int32Array): void {
  const K = 'conv2dMaxPool';
  const { oh, ow, ckk, ohw } = checkConv(K, x, n, c, h, w, kh, kw, strideH, strideW, padH, padW, weight, outC);
  checkOptF32(K, 'bias', bias, outC, 'outC');
  checkOneOf(K, 'act', act, ACTS);
  checkPool(K, poolH, poolW, oh, ow);
  const ph = Math.floor(oh / poolH), pw = Math.floor(ow / poolW);
  const psize = n * outC * ph * pw;
  const xsize = n * c * h * w;
  checkF32(K, 'out', out, psize, 'n·outC·(oh/poolH)·(ow/poolW)');
  checkI32(K, 'idx', idx, psize, 'n·outC·(oh/poolH)·(ow/poolW)');
  for (const [name, buf] of [['out', out], ['idx', idx]] as const) {
    checkNoAlias(K, name, buf, psize, 'x', x, xsize);
    checkNoAlias(K, name, buf, psize, 'weight', weight, outC * ckk);
    if (bias) checkNoAlias(K, name, buf, psize, 'bias', bias, outC);
  }
  checkNoAlias(K, 'idx', idx, psize, 'out', out, psize);
  if (psize === 0) return;
  const y = convOut(n * outC * ohw);
  conv2d(x, n, c, h, w, kh, kw, strideH, strideW, padH, padW, weight, outC, bias, act, y);
  maxPool2d(y, n, outC, oh, ow, poolH, poolW, poolH, poolW, 0, 0, out, idx);
}

/** maxPool2dBackward (of dy gated by act'(out)) then conv2dBackward, through scratch buffers. */
export function conv2dMaxPoolBackward(x: Float32Array, n: number, c: number, h: number,
  w: number, kh: number, kw: number, strideH: number, strideW: number, padH: number,
  padW: number, weight: Float32Array, outC: number, out: Float32Array, idx: Int32Array,
  dy: Float32Array, act: Activation, poolH: number, poolW: number, dx: Float32Array | null,
  dw: Float32Array | null, db: Float32Array | null): void {
  const K = 'conv2dMaxPoolBackward';
  const { oh, ow, ckk, ohw } = checkConv(K, x, n, c, h, w, kh, kw, strideH, strideW, padH, padW, weight, outC);
  checkOneOf(K, 'act', act, ACTS);
  checkPool(K, poolH, poolW, oh, ow);
  const ph = Math.floor(oh / poolH), pw = Math.floor(ow / poolW);
  const psize = n * outC * ph * pw;
  const xsize = n * c * h * w;
  if (act === 'relu') checkF32(K, 'out', out, psize, 'n·outC·(oh/poolH)·(ow/poolW)');
  checkI32(K, 'idx', idx, psize, 'n·outC·(oh/poolH)·(ow/poolW)');
  checkF32(K, 'dy', dy, psize, 'n·outC·(oh/poolH)·(ow/poolW)');
  checkOptF32(K, 'dx', dx, xsize, 'n·c·h·w');
  checkOptF32(K, 'dw', dw, outC * ckk, 'outC·c·kh·kw');
  checkOptF32(K, 'db', db, outC, 'outC');
  for (const [name, buf, len] of [['dx', dx, xsize], ['dw', dw, outC * ckk], ['db', db, outC]] as const) {
    if (!buf) continue;
    checkNoAlias(K, name, buf, len, 'x', x, xsize);
    checkNoAlias(K, name, buf, len, 'weight', weight, outC * ckk);
    checkNoAlias(K, name, buf, len, 'dy', dy, psize);
    checkNoAlias(K, name, buf, len, 'idx', idx, psize);
    if (act === 'relu') checkNoAlias(K, name, buf, len, 'out', out, psize);
  }
  if (dx && dw) checkNoAlias(K, 'dx', dx, xsize, 'dw', dw, outC * ckk);
  if (dx && db) checkNoAlias(K, 'dx', dx, xsize, 'db', db, outC);
  if (dw && db) checkNoAlias(K, 'dw', dw, outC * ckk, 'db', db, outC);
  for (let i = 0; i < psize; i++) {
    const v = idx[i]!;
    if (v < 0 || v >= ohw) fail(K, `idx[${i}] = ${v} is out of range [0, oh·ow = ${ohw})`);
  }
  if (n === 0 || outC === 0 || ohw === 0) {
    dx?.fill(0, 0, xsize);
    return;
  }
  // The pooled gradient, gated by act'(out) (out is the convolution output at the argmax).
  const gated = act === 'relu' ? gradOut(psize) : dy;
  if (act === 'relu') for (let i = 0; i < psize; i++) gated[i] = out[i]! > 0 ? dy[i]! : 0;
  const g = convOut(n * outC * ohw);
  maxPool2dBackward(gated, idx, n, outC, oh, ow, ph, pw, g);
  conv2dBackward(x, n, c, h, w, kh, kw, strideH, strideW, padH, padW, weight, outC, g, g, 'none', dx, dw, db);
}
