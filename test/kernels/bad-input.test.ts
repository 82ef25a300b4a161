/**
 * Bad arguments, kernel by kernel: every backend must throw an Error whose message starts with
 * the kernel's name and mentions the offending argument, and must not have written anything.
 */
import { describe, expect, it } from 'vitest';
import type { Backend } from '../../src/backend/backend';
import { BACKENDS } from '../helpers/backends';
import { detached } from '../helpers/native-specs';

const EACH = BACKENDS.map((b) => [b.name, b] as const);

const F = (n: number) => new Float32Array(n).fill(0.5);
const I = (n: number) => new Int32Array(n);
const state = () => new Uint32Array([1, 2, 3, 4]);

/** Two views into one buffer: [0, n) and [off, off + m). */
function overlapping(n: number, off: number, m: number): [Float32Array, Float32Array] {
  const buf = new Float32Array(Math.max(n, off + m));
  return [buf.subarray(0, n), buf.subarray(off, off + m)];
}

interface Case {
  kernel: keyof Backend;
  what: string;
  args: () => unknown[];
  /** A word the message must contain (the argument's name, usually). */
  mentions: string;
}

const cases: Case[] = [];
function add(kernel: keyof Backend, what: string, mentions: string, args: () => unknown[]): void {
  cases.push({ kernel, what, mentions, args });
}

// ------------------------------------------------------------------ gemm
const gemm = (o: Record<number, unknown>) => () => {
  const base: unknown[] = [false, false, 2, 3, 4, 1, F(8), F(12), 0, F(6)];
  for (const [i, v] of Object.entries(o)) base[Number(i)] = v;
  return base;
};
add('gemm', 'negative m', 'm', gemm({ 2: -1 }));
add('gemm', 'fractional n', 'n', gemm({ 3: 1.5 }));
add('gemm', 'NaN k', 'k', gemm({ 4: NaN }));
add('gemm', 'non-boolean transA', 'transA', gemm({ 0: 1 }));
add('gemm', 'a too short', 'a', gemm({ 6: F(7) }));
add('gemm', 'b too short', 'b', gemm({ 7: F(11) }));
add('gemm', 'c too short', 'c', gemm({ 9: F(5) }));
add('gemm', 'a a Float64Array', 'a', gemm({ 6: new Float64Array(8) }));
add('gemm', 'b not a typed array', 'b', gemm({ 7: [1, 2, 3] }));
add('gemm', 'alpha NaN', 'alpha', gemm({ 5: NaN }));
add('gemm', 'beta Infinity', 'beta', gemm({ 8: Infinity }));
// Finite as a double, ±Infinity in float32 (the midpoint between FLT_MAX and 2¹²⁸ rounds up).
add('gemm', 'beta beyond float32', 'beta', gemm({ 8: 3.4028235677973366e38 }));
add('gemm', 'alpha beyond float32', 'alpha', gemm({ 5: -1e39 }));
add('gemm', 'c overlapping a', 'overlap', () => { const [a, c] = overlapping(8, 4, 6); return gemm({ 6: a, 9: c })(); });
add('gemm', 'c the same memory as b', 'c', () => { const b = F(12); return gemm({ 7: b, 9: b.subarray(0, 6) })(); });

const gemmB = (o: Record<number, unknown>) => () => {
  const base: unknown[] = [2, false, false, 2, 3, 4, 1, F(16), 8, F(24), 12, 0, F(12), 6];
  for (const [i, v] of Object.entries(o)) base[Number(i)] = v;
  return base;
};
add('gemmBatched', 'negative batch', 'batch', gemmB({ 0: -1 }));
add('gemmBatched', 'strideC < m·n', 'strideC', gemmB({ 13: 5 }));
add('gemmBatched', 'fractional strideA', 'strideA', gemmB({ 8: 1.5 }));
add('gemmBatched', 'a too short for the batch', 'a', gemmB({ 7: F(15) }));
add('gemmBatched', 'c too short for the batch', 'c', gemmB({ 12: F(11) }));
add('gemmBatched', 'c overlapping b', 'overlap', () => { const [b, c] = overlapping(24, 20, 12); return gemmB({ 9: b, 12: c })(); });

// ------------------------------------------------------------------ elementwise
const bin = (o: Record<number, unknown>) => () => {
  const base: unknown[] = ['add', F(6), [2, 3], F(3), [3], F(6), [2, 3]];
  for (const [i, v] of Object.entries(o)) base[Number(i)] = v;
  return base;
};
add('binary', 'unknown op', 'op', bin({ 0: 'mod' }));
add('binary', 'shapes that do not broadcast', 'broadcast', bin({ 3: F(4), 4: [4] }));
add('binary', 'wrong outShape', 'outShape', bin({ 6: [3, 2] }));
add('binary', 'outShape with an extra leading 1', 'outShape', bin({ 5: F(6), 6: [1, 2, 3] }));
add('binary', 'rank 9', 'aShape', bin({ 1: F(1), 2: [1, 1, 1, 1, 1, 1, 1, 1, 1] }));
add('binary', 'negative dim', 'aShape', bin({ 2: [2, -3] }));
add('binary', 'a too short', 'a', bin({ 1: F(5) }));
add('binary', 'out too short', 'out', bin({ 5: F(5) }));
add('binary', 'out aliasing the broadcast b', 'out', () => { const o = F(6); return bin({ 3: o.subarray(0, 3), 5: o })(); });
add('binary', 'out partially overlapping a', 'out', () => { const [a, o] = overlapping(6, 2, 6); return bin({ 1: a, 5: o })(); });

const un = (o: Record<number, unknown>) => () => {
  const base: unknown[] = ['exp', 4, F(4), F(4)];
  for (const [i, v] of Object.entries(o)) base[Number(i)] = v;
  return base;
};
add('unary', 'unknown op', 'op', un({ 0: 'cube' }));
add('unary', 'negative n', 'n', un({ 1: -1 }));
add('unary', 'x too short', 'x', un({ 2: F(3) }));
add('unary', 'out an Int32Array', 'out', un({ 3: I(4) }));
add('unary', 'pow without param', 'param', un({ 0: 'pow' }));
add('unary', 'leakyRelu without param', 'param', un({ 0: 'leakyRelu' }));
add('unary', 'scale with NaN param', 'param', () => [...un({ 0: 'scale' })(), NaN]);
add('unary', 'out partially overlapping x', 'out', () => { const [x, o] = overlapping(4, 1, 4); return un({ 2: x, 3: o })(); });

const unB = (o: Record<number, unknown>) => () => {
  const base: unknown[] = ['tanh', 4, F(4), F(4), F(4), F(4)];
  for (const [i, v] of Object.entries(o)) base[Number(i)] = v;
  return base;
};
add('unaryBackward', 'dy too short', 'dy', unB({ 4: F(3) }));
add('unaryBackward', 'dx aliasing x', 'dx', () => { const x = F(4); return unB({ 2: x, 5: x })(); });
add('unaryBackward', 'clampMin without param', 'param', unB({ 0: 'clampMin' }));
add('unaryBackward', 'unknown op', 'op', unB({ 0: 'erf' }));

add('axpy', 'x too short', 'x', () => [3, 1, F(2), F(3)]);
add('axpy', 'alpha Infinity', 'alpha', () => [3, Infinity, F(3), F(3)]);
add('axpy', 'y overlapping x', 'overlap', () => { const [x, y] = overlapping(3, 1, 3); return [3, 1, x, y]; });

add('sumTo', 'out dim neither 1 nor the x dim', 'outShape', () => [F(6), [2, 3], F(2), [2]]);
add('sumTo', 'out too short', 'out', () => [F(6), [2, 3], F(2), [3]]);
add('sumTo', 'xShape rank 9', 'xShape', () => [F(1), [1, 1, 1, 1, 1, 1, 1, 1, 1], F(1), [1]]);
add('sumTo', 'out overlapping x', 'overlap', () => { const [x, o] = overlapping(6, 4, 3); return [x, [2, 3], o, [3]]; });

add('permute', 'perm not a permutation', 'perm', () => [F(6), [2, 3], [0, 0], F(6)]);
add('permute', 'perm of the wrong length', 'perm', () => [F(6), [2, 3], [0], F(6)]);
add('permute', 'perm out of range', 'perm', () => [F(6), [2, 3], [0, 2], F(6)]);
add('permute', 'out the same memory as x', 'out', () => { const x = F(6); return [x, [2, 3], [1, 0], x]; });
add('permute', 'x too short', 'x', () => [F(5), [2, 3], [1, 0], F(6)]);

// ------------------------------------------------------------------ reductions, softmax
add('reduce', 'unknown op', 'op', () => ['prod', F(6), 2, 3, 1, F(2)]);
add('reduce', 'max over dim 0', 'dim', () => ['max', F(0), 2, 0, 1, F(2), I(2)]);
add('reduce', 'out too short', 'out', () => ['sum', F(6), 2, 3, 1, F(1)]);
add('reduce', 'idx too short', 'idx', () => ['max', F(6), 2, 3, 1, F(2), I(1)]);
add('reduce', 'idx a Float32Array', 'idx', () => ['min', F(6), 2, 3, 1, F(2), F(2)]);
add('reduce', 'out overlapping x', 'overlap', () => { const [x, o] = overlapping(6, 5, 2); return ['sum', x, 2, 3, 1, o]; });

add('softmax', 'x too short', 'x', () => [F(5), 2, 3, 1, F(6), false]);
add('softmax', 'log not a boolean', 'log', () => [F(6), 2, 3, 1, F(6), 'yes']);
add('softmax', 'out the same memory as x', 'out', () => { const x = F(6); return [x, 2, 3, 1, x, false]; });
add('softmaxBackward', 'dx the same memory as y', 'dx', () => { const y = F(6); return [y, F(6), 2, 3, 1, y, true]; });
add('softmaxBackward', 'dy too short', 'dy', () => [F(6), F(5), 2, 3, 1, F(6), true]);

const ce = (o: Record<number, unknown>) => () => {
  const base: unknown[] = [F(10), new Int32Array([1, 4]), 2, 5, 0.1, F(2), F(10)];
  for (const [i, v] of Object.entries(o)) base[Number(i)] = v;
  return base;
};
add('softmaxCrossEntropy', 'target = c', 'range', ce({ 1: new Int32Array([1, 5]) }));
add('softmaxCrossEntropy', 'negative target', 'range', ce({ 1: new Int32Array([-1, 0]) }));
add('softmaxCrossEntropy', 'targets a Float32Array', 'targets', ce({ 1: F(2) }));
add('softmaxCrossEntropy', 'targets too short', 'targets', ce({ 1: I(1) }));
add('softmaxCrossEntropy', 'label smoothing 1.5', 'labelSmoothing', ce({ 4: 1.5 }));
add('softmaxCrossEntropy', 'label smoothing -0.1', 'labelSmoothing', ce({ 4: -0.1 }));
add('softmaxCrossEntropy', 'probs the same memory as logits', 'probs', () => { const l = F(10); return ce({ 0: l, 6: l })(); });
add('softmaxCrossEntropy', 'loss too short', 'loss', ce({ 5: F(1) }));
const ceB = (o: Record<number, unknown>) => () => {
  const base: unknown[] = [F(10), new Int32Array([1, 4]), F(2), 2, 5, 0, F(10)];
  for (const [i, v] of Object.entries(o)) base[Number(i)] = v;
  return base;
};
add('softmaxCrossEntropyBackward', 'target out of range', 'range', ceB({ 1: new Int32Array([7, 0]) }));
add('softmaxCrossEntropyBackward', 'dloss too short', 'dloss', ceB({ 2: F(1) }));
add('softmaxCrossEntropyBackward', 'dlogits partially overlapping probs', 'dlogits', () => {
  const [p, d] = overlapping(10, 3, 10);
  return ceB({ 0: p, 6: d })();
});

// ------------------------------------------------------------------ bias + activation
add('biasAct', 'unknown activation', 'act', () => [F(6), F(3), 2, 3, 1, 'gelu', F(6)]);
add('biasAct', 'bias too short', 'bias', () => [F(6), F(2), 2, 3, 1, 'relu', F(6)]);
add('biasAct', 'out overlapping bias', 'out', () => { const [o, b] = overlapping(6, 5, 3); return [F(6), b, 2, 3, 1, 'none', o]; });
add('biasActBackward', 'dbias too short', 'dbias', () => [F(6), F(6), 2, 3, 1, 'relu', F(6), F(2)]);
add('biasActBackward', 'dx the same memory as y', 'dx', () => { const y = F(6); return [y, F(6), 2, 3, 1, 'relu', y, null]; });

// ------------------------------------------------------------------ convolution, pooling
// n, c, h, w, kh, kw, strideH, strideW, padH, padW for a 1×1×4×4 input, 3×3 kernel → 2×2.
const win = [1, 1, 4, 4, 3, 3, 1, 1, 0, 0];
const withWin = (o: Record<number, unknown>) => { const w = [...win]; for (const [i, v] of Object.entries(o)) w[Number(i)] = v as number; return w; };
add('im2col', 'kh = 0', 'kh', () => [F(16), ...withWin({ 4: 0 }), F(36)]);
add('im2col', 'strideH = 0', 'strideH', () => [F(16), ...withWin({ 6: 0 }), F(36)]);
add('im2col', 'negative padW', 'padW', () => [F(16), ...withWin({ 9: -1 }), F(36)]);
add('im2col', 'kernel larger than the padded input', 'kh', () => [F(16), ...withWin({ 4: 5 }), F(100)]);
add('im2col', 'col too short', 'col', () => [F(16), ...win, F(35)]);
add('im2col', 'x too short', 'x', () => [F(15), ...win, F(36)]);
add('col2im', 'dx too short', 'dx', () => [F(36), ...win, F(15)]);
add('col2im', 'dx overlapping col', 'overlap', () => { const [c, d] = overlapping(36, 30, 16); return [c, ...win, d]; });

// 1×2×4×4 input, 2×2 kernel, stride 2 → 2×2.
const pw = [1, 2, 4, 4, 2, 2, 2, 2, 0, 0];
add('maxPool2d', 'padH more than kh/2', 'padH', () => [F(32), 1, 2, 4, 4, 2, 2, 2, 2, 2, 0, F(8), I(8)]);
add('maxPool2d', 'idx a Float32Array', 'idx', () => [F(32), ...pw, F(8), F(8)]);
add('maxPool2d', 'idx too short', 'idx', () => [F(32), ...pw, F(8), I(7)]);
add('maxPool2d', 'out too short', 'out', () => [F(32), ...pw, F(7), I(8)]);
add('maxPool2dBackward', 'an index outside the plane', 'idx', () => [F(8), new Int32Array([0, 1, 2, 16, 0, 0, 0, 0]), 1, 2, 4, 4, 2, 2, F(32)]);
add('maxPool2dBackward', 'a negative index', 'idx', () => [F(8), new Int32Array([0, -1, 0, 0, 0, 0, 0, 0]), 1, 2, 4, 4, 2, 2, F(32)]);
add('maxPool2dBackward', 'dx too short', 'dx', () => [F(8), I(8), 1, 2, 4, 4, 2, 2, F(31)]);
add('avgPool2d', 'out too short', 'out', () => [F(32), ...pw, F(7)]);
add('avgPool2d', 'kw larger than w + 2·padW', 'kw', () => [F(32), 1, 2, 4, 4, 2, 5, 2, 2, 0, 0, F(8)]);
add('avgPool2dBackward', 'dx too short', 'dx', () => [F(8), ...pw, F(31)]);

// ------------------------------------------------------------------ gatherBytes
const gb = (o: Record<number, unknown>) => () => {
  const base: unknown[] = [new Uint8Array(12), Int32Array.from([0, 2]), 2, 4, 0, 4, 1, 0, F(8)];
  for (const [i, v] of Object.entries(o)) base[Number(i)] = v;
  return base;
};
add('gatherBytes', 'index past the last record', 'indices', gb({ 1: Int32Array.from([0, 3]) }));
add('gatherBytes', 'negative index', 'indices', gb({ 1: Int32Array.from([-1, 0]) }));
add('gatherBytes', 'src not a Uint8Array', 'src', gb({ 0: new Uint8ClampedArray(12) }));
add('gatherBytes', 'offset + length past stride', 'stride', gb({ 4: 1 }));
add('gatherBytes', 'stride 0', 'stride', gb({ 3: 0 }));
add('gatherBytes', 'out too short', 'out', gb({ 8: F(7) }));
add('gatherBytes', 'indices shorter than count', 'indices', gb({ 1: Int32Array.from([0]) }));
add('gatherBytes', 'scale NaN', 'scale', gb({ 6: NaN }));

// ------------------------------------------------------------------ batch norm
const bn = (o: Record<number, unknown>) => () => {
  const base: unknown[] = [F(12), 2, 3, 2, F(3), F(3), F(3), F(3), true, 0.1, 1e-5, F(12), F(3), F(3)];
  for (const [i, v] of Object.entries(o)) base[Number(i)] = v;
  return base;
};
add('batchNorm', 'training with one value per channel', 'training', bn({ 0: F(3), 1: 1, 3: 1, 11: F(3) }));
add('batchNorm', 'gamma too short', 'gamma', bn({ 4: F(2) }));
add('batchNorm', 'runningVar too short', 'runningVar', bn({ 7: F(2) }));
add('batchNorm', 'saveInvStd too short in training', 'saveInvStd', bn({ 13: F(2) }));
add('batchNorm', 'momentum NaN', 'momentum', bn({ 9: NaN }));
add('batchNorm', 'eps negative', 'eps', bn({ 10: -1e-5 }));
add('batchNorm', 'eps -Infinity', 'eps', bn({ 10: -Infinity }));
add('batchNorm', 'out the same memory as x', 'out', () => { const x = F(12); return bn({ 0: x, 11: x })(); });
const bnB = (o: Record<number, unknown>) => () => {
  const base: unknown[] = [F(12), F(12), 2, 3, 2, F(3), F(3), F(3), F(12), F(3), F(3)];
  for (const [i, v] of Object.entries(o)) base[Number(i)] = v;
  return base;
};
add('batchNormBackward', 'saveInvStd too short', 'saveInvStd', bnB({ 7: F(2) }));
add('batchNormBackward', 'dgamma too short', 'dgamma', bnB({ 9: F(1) }));
add('batchNormBackward', 'dx the same memory as dy', 'dx', () => { const d = F(12); return bnB({ 1: d, 8: d })(); });

// ------------------------------------------------------------------ optimizers
add('sgdStep', 'momentum without buf', 'buf', () => [4, F(4), F(4), null, 0.1, 0.9, 0, false, 0, true]);
add('sgdStep', 'grad too short', 'grad', () => [4, F(4), F(3), null, 0.1, 0, 0, false, 0, true]);
add('sgdStep', 'lr NaN', 'lr', () => [4, F(4), F(4), null, NaN, 0, 0, false, 0, true]);
add('sgdStep', 'lr beyond float32', 'lr', () => [4, F(4), F(4), null, 1e39, 0, 0, false, 0, true]);
add('sgdStep', 'param the same memory as grad', 'param', () => { const p = F(4); return [4, p, p, null, 0.1, 0, 0, false, 0, true]; });
const adam = (o: Record<number, unknown>) => () => {
  const base: unknown[] = [4, F(4), F(4), F(4), F(4), 1e-3, 0.9, 0.999, 1e-8, 0, 1, false];
  for (const [i, v] of Object.entries(o)) base[Number(i)] = v;
  return base;
};
add('adamStep', 'step 0', 'step', adam({ 10: 0 }));
add('adamStep', 'fractional step', 'step', adam({ 10: 1.5 }));
add('adamStep', 'beta1 = 1', 'beta1', adam({ 6: 1 }));
add('adamStep', 'beta2 negative', 'beta2', adam({ 7: -0.1 }));
add('adamStep', 'v too short', 'v', adam({ 4: F(3) }));
add('adamStep', 'm the same memory as v', 'overlap', () => { const m = F(4); return adam({ 3: m, 4: m })(); });
const rms = (o: Record<number, unknown>) => () => {
  const base: unknown[] = [4, F(4), F(4), F(4), null, null, 1e-2, 0.99, 1e-8, 0, 0, false];
  for (const [i, v] of Object.entries(o)) base[Number(i)] = v;
  return base;
};
add('rmspropStep', 'centered without gAvg', 'gAvg', rms({ 11: true }));
add('rmspropStep', 'momentum without buf', 'buf', rms({ 10: 0.9 }));
add('rmspropStep', 'sq too short', 'sq', rms({ 3: F(3) }));
add('rmspropStep', 'eps Infinity', 'eps', rms({ 8: Infinity }));

// ------------------------------------------------------------------ random numbers, threads
add('randUniform', 'an all-zero state', 'state', () => [new Uint32Array(4), F(4), 4, 0, 1]);
add('randUniform', 'a 3-word state', 'state', () => [new Uint32Array([1, 2, 3]), F(4), 4, 0, 1]);
add('randUniform', 'an Int32Array state', 'state', () => [new Int32Array([1, 2, 3, 4]), F(4), 4, 0, 1]);
add('randUniform', 'out too short', 'out', () => [state(), F(3), 4, 0, 1]);
add('randUniform', 'lo NaN', 'lo', () => [state(), F(4), 4, NaN, 1]);
add('randNormal', 'std Infinity', 'std', () => [state(), F(4), 4, 0, Infinity]);
add('randNormal', 'out sharing memory with state', 'state', () => {
  const buf = new ArrayBuffer(32);
  const st = new Uint32Array(buf, 0, 4);
  st.set([1, 2, 3, 4]);
  return [st, new Float32Array(buf, 8, 4), 4, 0, 1];
});
add('dropoutMask', 'p = 1', 'p', () => [state(), F(4), 4, 1]);
// conv2d: the 1×1×4×4 input with a 2×1×3×3 weight → out [1, 2, 2, 2].
add('conv2d', 'weight too short', 'weight', () => [F(16), ...win, F(17), 2, null, 'none', F(8)]);
add('conv2d', 'bias too short', 'bias', () => [F(16), ...win, F(18), 2, F(1), 'none', F(8)]);
add('conv2d', 'out too short', 'out', () => [F(16), ...win, F(18), 2, null, 'relu', F(7)]);
add('conv2d', 'unknown activation', 'act', () => [F(16), ...win, F(18), 2, null, 'tanh', F(8)]);
add('conv2d', 'out the same memory as x', 'out', () => { const x = F(16); return [x, ...win, F(18), 2, null, 'none', x]; });
add('conv2dBackward', 'dy too short', 'dy', () => [F(16), ...win, F(18), 2, F(8), F(7), 'none', F(16), F(18), F(2)]);
add('conv2dBackward', 'y too short for relu', 'y', () => [F(16), ...win, F(18), 2, F(7), F(8), 'relu', F(16), F(18), F(2)]);
add('conv2dBackward', 'dw too short', 'dw', () => [F(16), ...win, F(18), 2, F(8), F(8), 'none', null, F(17), null]);
add('conv2dBackward', 'dx the same memory as dy', 'dx', () => { const d = F(16); return [F(16), ...win, F(18), 2, F(8), d, 'none', d, null, null]; });
// conv2dMaxPool: the same 1×1×4×4 input, 2×1×3×3 weight → conv 2×2 → pool 2×2 → out [1, 2, 1, 1].
add('conv2dMaxPool', 'pool larger than the convolution output', 'poolH', () => [F(16), ...win, F(18), 2, null, 'relu', 3, 2, F(2), I(2)]);
add('conv2dMaxPool', 'poolW = 0', 'poolW', () => [F(16), ...win, F(18), 2, null, 'relu', 2, 0, F(2), I(2)]);
add('conv2dMaxPool', 'idx too short', 'idx', () => [F(16), ...win, F(18), 2, null, 'none', 2, 2, F(2), I(1)]);
add('conv2dMaxPool', 'out the same memory as x', 'out', () => { const x = F(16); return [x, ...win, F(18), 2, null, 'none', 2, 2, x, I(2)]; });
add('conv2dMaxPool', 'unknown activation', 'act', () => [F(16), ...win, F(18), 2, null, 'gelu', 2, 2, F(2), I(2)]);
add('conv2dMaxPoolBackward', 'idx out of range', 'idx', () => [F(16), ...win, F(18), 2, F(2), Int32Array.from([0, 4]), F(2), 'relu', 2, 2, F(16), F(18), F(2)]);
add('conv2dMaxPoolBackward', 'dy too short', 'dy', () => [F(16), ...win, F(18), 2, F(2), I(2), F(1), 'none', 2, 2, F(16), F(18), F(2)]);
add('conv2dMaxPoolBackward', 'dw too short', 'dw', () => [F(16), ...win, F(18), 2, F(2), I(2), F(2), 'none', 2, 2, null, F(17), null]);
add('conv2dMaxPoolBackward', 'dx the same memory as dy', 'dx', () => { const d = F(16); return [F(16), ...win, F(18), 2, F(2), I(2), d, 'none', 2, 2, d, null, null]; });
add('dropoutMask', 'negative p', 'p', () => [state(), F(4), 4, -0.1]);
add('dropoutMask', 'mask too short', 'mask', () => [state(), F(3), 4, 0.5]);
add('dropout', 'p = 1', 'p', () => [state(), F(4), 4, 1, F(4), F(4)]);
add('dropout', 'x too short', 'x', () => [state(), F(3), 4, 0.5, F(4), F(4)]);
add('dropout', 'mask too short', 'mask', () => [state(), F(4), 4, 0.5, F(4), F(3)]);
add('dropout', 'mask the same memory as out', 'mask', () => { const o = F(4); return [state(), F(4), 4, 0.5, o, o]; });
add('dropout', 'out partially overlapping x', 'out', () => { const [x, o] = overlapping(4, 2, 4); return [state(), x, 4, 0.5, o, F(4)]; });
add('setNumThreads', '0 threads', 'n', () => [0]);
add('setNumThreads', 'fractional threads', 'n', () => [1.5]);

// ------------------------------------------------------------------ the table, run

/** Copies of every typed array argument, to check nothing was written. */
function snapshot(args: unknown[]): [ArrayBufferView, number[]][] {
  return args.filter((a): a is Float32Array => ArrayBuffer.isView(a) && !(a instanceof DataView))
    .map((a) => [a, Array.from(a as unknown as ArrayLike<number>)]);
}

/**
 * A detached typed array of the right element type passes the type check and reads as empty:
 * the message is the length message, word for word the same on every backend (a count that is
 * a plain number, such as the RNG state's 4 words, is not written as "4 = 4").
 */
const DETACHED: Array<[keyof Backend, () => unknown[], string]> = [
  ['unary', () => ['neg', 4, detached(Float32Array, 4), F(4)], 'unary: buffer x has 0 elements but n = 4 are required'],
  ['randUniform', () => [detached(Uint32Array, 4), F(4), 4, 0, 1], 'randUniform: buffer state has 0 elements but 4 are required'],
  ['dropout', () => [detached(Uint32Array, 4), F(4), 4, 0.5, F(4), F(4)], 'dropout: buffer state has 0 elements but 4 are required'],
  ['softmaxCrossEntropy', () => [F(6), detached(Int32Array, 2), 2, 3, 0, F(2), F(6)], 'softmaxCrossEntropy: buffer targets has 0 elements but n = 2 are required'],
  ['maxPool2dBackward', () => [F(4), detached(Int32Array, 4), 1, 1, 4, 4, 2, 2, F(16)], 'maxPool2dBackward: buffer idx has 0 elements but n·c·oh·ow = 4 are required'],
  ['gatherBytes', () => [detached(Uint8Array, 8), I(1), 1, 4, 0, 4, 1, 0, F(4)], 'gatherBytes: indices[0] = 0 is out of range [0, 0) (src holds 0 records of stride 4)'],
];

describe.each(EACH)('bad inputs on %s', (_name, be) => {
  it.each(DETACHED.map(([k, args, msg]) => [k, args, msg] as const))('%s: a detached typed array of the right type reads as empty', (kernel, args, msg) => {
    const fn = (be as unknown as Record<string, (...a: unknown[]) => void>)[kernel]!;
    let err: unknown;
    try { fn.apply(be, args()); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toBe(msg);
  });

  it('the table covers every kernel', () => {
    const kernels = Object.keys(be).filter((k) => typeof (be as unknown as Record<string, unknown>)[k] === 'function' && k !== 'getNumThreads');
    const covered = new Set(cases.map((c) => c.kernel));
    expect(kernels.filter((k) => !covered.has(k as keyof Backend))).toEqual([]);
  });

  it.each(cases.map((c) => [c.kernel, c.what, c] as const))('%s: %s', (kernel, _what, c) => {
    const args = c.args();
    const before = snapshot(args);
    const fn = (be as unknown as Record<string, (...a: unknown[]) => void>)[kernel]!;
    let err: unknown;
    try {
      fn.apply(be, args);
    } catch (e) {
      err = e;
    }
    expect(err, `${kernel} (${c.what}) did not throw`).toBeInstanceOf(Error);
    const msg = (err as Error).message;
    expect(msg.startsWith(`${kernel}: `), `message does not start with the kernel name: ${msg}`).toBe(true);
    expect(msg, `message does not mention '${c.mentions}'`).toContain(c.mentions);
    for (const [view, values] of before) {
      expect(Array.from(view as unknown as ArrayLike<number>), `${kernel} wrote to an argument before throwing`).toEqual(values);
    }
  });
});
