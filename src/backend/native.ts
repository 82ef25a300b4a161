import type {
  Activation, Backend, BinaryOp, ReduceOp, UnaryOp,
} from './backend';
import { BINARY_OPS, UNARY_OPS } from './backend';
import { BINDING_FUNCTIONS, type LernenBinding, type NativeInfo } from './binding';

const BINARY = new Set<string>(BINARY_OPS);
const UNARY = new Set<string>(UNARY_OPS);
const REDUCE = new Set<string>(['sum', 'mean', 'max', 'min']);
const ACTIVATIONS = new Set<string>(['none', 'relu']);
/** Unary ops whose `param` is part of the op (the addon refuses a missing one, too). */
const PARAM_OPS = new Set<string>(['leakyRelu', 'pow', 'scale', 'addScalar', 'clampMin']);

function checkOp(kernel: string, what: string, op: unknown, allowed: Set<string>): void {
  if (typeof op !== 'string' || !allowed.has(op)) {
    let shown: string;
    try { shown = String(op); } catch { shown = '(unprintable)'; }
    const got = typeof op === 'string' ? `'${op}'` : `${typeof op} ${shown}`;
    throw new TypeError(`${kernel}: ${what} must be one of ${[...allowed].join(', ')} but got ${got}`);
  }
}

function checkParam(kernel: string, op: UnaryOp, param: number | undefined): void {
  if (param == null && PARAM_OPS.has(op)) {
    throw new TypeError(`${kernel}: param is required by op '${op}'`);
  }
}

/** The addon's exports, typed, after checking that every entry point is there. */
export function asBinding(addon: unknown): LernenBinding {
  if (addon === null || (typeof addon !== 'object' && typeof addon !== 'function')) {
    throw new TypeError(`createNativeBackend: expected the addon's exports object but got ${addon === null ? 'null' : typeof addon}`);
  }
  const missing = BINDING_FUNCTIONS.filter(
    (name) => typeof (addon as Record<string, unknown>)[name] !== 'function');
  if (missing.length > 0) {
    throw new TypeError(`createNativeBackend: the addon lacks ${missing.join(', ')} (rebuild it: npm run build:native)`);
  }
  return addon as LernenBinding;
}

/** What the addon reports about itself and OpenBLAS (config, core type, threads). */
export function nativeInfo(addon: unknown): NativeInfo {
  return asBinding(addon).info();
}

/**
 * The `Backend` over the native addon: a thin adapter. Each method checks what is cheap to
 * check here (op names, a missing `param`), normalises optional arguments to `null`, then makes
 * exactly one addon call. The addon validates everything again (types, lengths, overflow,
 * aliasing) and throws an Error naming the kernel and the argument.
 */
export function createNativeBackend(addon: unknown): Backend {
  const b = asBinding(addon);
  return {
    name: 'native',

    gemm(transA, transB, m, n, k, alpha, a, bb, beta, c) {
      b.gemm(transA, transB, m, n, k, alpha, a, bb, beta, c);
    },
    gemmBatched(batch, transA, transB, m, n, k, alpha, a, strideA, bb, strideB, beta, c, strideC) {
      b.gemmBatched(batch, transA, transB, m, n, k, alpha, a, strideA, bb, strideB, beta, c, strideC);
    },

    binary(op: BinaryOp, a, aShape, bb, bShape, out, outShape) {
      checkOp('binary', 'op', op, BINARY);
      b.binary(op, a, aShape, bb, bShape, out, outShape);
    },
    unary(op: UnaryOp, n, x, out, param) {
      checkOp('unary', 'op', op, UNARY);
      checkParam('unary', op, param);
      b.unary(op, n, x, out, param ?? 0);
    },
    unaryBackward(op: UnaryOp, n, x, y, dy, dx, param) {
      checkOp('unaryBackward', 'op', op, UNARY);
      checkParam('unaryBackward', op, param);
      b.unaryBackward(op, n, x, y, dy, dx, param ?? 0);
    },
    axpy(n, alpha, x, y) {
      b.axpy(n, alpha, x, y);
    },
    sumTo(x, xShape, out, outShape) {
      b.sumTo(x, xShape, out, outShape);
    },
    permute(x, shape, perm, out) {
      b.permute(x, shape, perm, out);
    },

    gatherBytes(src, indices, count, stride, offset, length, scale, shift, out) {
      b.gatherBytes(src, indices, count, stride, offset, length, scale, shift, out);
    },

    reduce(op: ReduceOp, x, outer, dim, inner, out, idx) {
      checkOp('reduce', 'op', op, REDUCE);
      b.reduce(op, x, outer, dim, inner, out, idx ?? null);
    },

    softmax(x, outer, dim, inner, out, log) {
      b.softmax(x, outer, dim, inner, out, log);
    },
    softmaxBackward(y, dy, outer, dim, inner, dx, log) {
      b.softmaxBackward(y, dy, outer, dim, inner, dx, log);
    },
    softmaxCrossEntropy(logits, targets, n, c, labelSmoothing, loss, probs) {
      b.softmaxCrossEntropy(logits, targets, n, c, labelSmoothing, loss, probs);
    },
    softmaxCrossEntropyBackward(probs, targets, dloss, n, c, labelSmoothing, dlogits) {
      b.softmaxCrossEntropyBackward(probs, targets, dloss, n, c, labelSmoothing, dlogits);
    },

    biasAct(x, bias, outer, channels, inner, act: Activation, out) {
      checkOp('biasAct', 'act', act, ACTIVATIONS);
      b.biasAct(x, bias, outer, channels, inner, act, out);
    },
    biasActBackward(y, dy, outer, channels, inner, act: Activation, dx, dbias) {
      checkOp('biasActBackward', 'act', act, ACTIVATIONS);
      b.biasActBackward(y, dy, outer, channels, inner, act, dx, dbias ?? null);
    },

    im2col(x, n, c, h, w, kh, kw, strideH, strideW, padH, padW, col) {
      b.im2col(x, n, c, h, w, kh, kw, strideH, strideW, padH, padW, col);
    },
    col2im(col, n, c, h, w, kh, kw, strideH, strideW, padH, padW, dx) {
      b.col2im(col, n, c, h, w, kh, kw, strideH, strideW, padH, padW, dx);
    },

    conv2d(x, n, c, h, w, kh, kw, strideH, strideW, padH, padW, weight, outC, bias, act, out) {
      checkOp('conv2d', 'act', act, ACTIVATIONS);
      b.conv2d(x, n, c, h, w, kh, kw, strideH, strideW, padH, padW, weight, outC, bias ?? null, act, out);
    },
    conv2dBackward(x, n, c, h, w, kh, kw, strideH, strideW, padH, padW, weight, outC, y, dy, act, dx, dw, db) {
      checkOp('conv2dBackward', 'act', act, ACTIVATIONS);
      b.conv2dBackward(x, n, c, h, w, kh, kw, strideH, strideW, padH, padW, weight, outC, y, dy, act,
        dx ?? null, dw ?? null, db ?? null);
    },

    conv2dMaxPool(x, n, c, h, w, kh, kw, strideH, strideW, padH, padW, weight, outC, bias, act, poolH, poolW, out, idx) {
      checkOp('conv2dMaxPool', 'act', act, ACTIVATIONS);
      b.conv2dMaxPool(x, n, c, h, w, kh, kw, strideH, strideW, padH, padW, weight, outC, bias ?? null, act,
        poolH, poolW, out, idx);
    },
    conv2dMaxPoolBackward(x, n, c, h, w, kh, kw, strideH, strideW, padH, padW, weight, outC, out, idx, dy, act,
      poolH, poolW, dx, dw, db) {
      checkOp('conv2dMaxPoolBackward', 'act', act, ACTIVATIONS);
      b.conv2dMaxPoolBackward(x, n, c, h, w, kh, kw, strideH, strideW, padH, padW, weight, outC, out, idx, dy,
        act, poolH, poolW, dx ?? null, dw ?? null, db ?? null);
    },

    maxPool2d(x, n, c, h, w, kh, kw, strideH, strideW, padH, padW, out, idx) {
      b.maxPool2d(x, n, c, h, w, kh, kw, strideH, strideW, padH, padW, out, idx);
    },
    maxPool2dBackward(dy, idx, n, c, h, w, oh, ow, dx) {
      b.maxPool2dBackward(dy, idx, n, c, h, w, oh, ow, dx);
    },
    avgPool2d(x, n, c, h, w, kh, kw, strideH, strideW, padH, padW, out) {
      b.avgPool2d(x, n, c, h, w, kh, kw, strideH, strideW, padH, padW, out);
    },
    avgPool2dBackward(dy, n, c, h, w, kh, kw, strideH, strideW, padH, padW, dx) {
      b.avgPool2dBackward(dy, n, c, h, w, kh, kw, strideH, strideW, padH, padW, dx);
    },

    batchNorm(x, outer, channels, inner, gamma, beta, runningMean, runningVar, training,
      momentum, eps, out, saveMean, saveInvStd) {
      b.batchNorm(x, outer, channels, inner, gamma ?? null, beta ?? null, runningMean,
        runningVar, training, momentum, eps, out, saveMean, saveInvStd);
    },
    batchNormBackward(x, dy, outer, channels, inner, gamma, saveMean, saveInvStd, dx, dgamma,
      dbeta) {
      b.batchNormBackward(x, dy, outer, channels, inner, gamma ?? null, saveMean, saveInvStd, dx,
        dgamma ?? null, dbeta ?? null);
    },

    sgdStep(n, param, grad, buf, lr, momentum, dampening, nesterov, weightDecay, first) {
      return b.sgdStep(n, param, grad, buf ?? null, lr, momentum, dampening, nesterov, weightDecay, first);
    },
    adamStep(n, param, grad, m, v, lr, beta1, beta2, eps, weightDecay, step, decoupled) {
      return b.adamStep(n, param, grad, m, v, lr, beta1, beta2, eps, weightDecay, step, decoupled);
    },
    rmspropStep(n, param, grad, sq, gAvg, buf, lr, alpha, eps, weightDecay, momentum, centered) {
      return b.rmspropStep(n, param, grad, sq, gAvg ?? null, buf ?? null, lr, alpha, eps, weightDecay,
        momentum, centered);
    },

    randUniform(state, out, n, lo, hi) {
      b.randUniform(state, out, n, lo, hi);
    },
    randNormal(state, out, n, mean, std) {
      b.randNormal(state, out, n, mean, std);
    },
    dropoutMask(state, mask, n, p) {
      b.dropoutMask(state, mask, n, p);
    },
    dropout(state, x, n, p, out, mask) {
      b.dropout(state, x, n, p, out, mask);
    },

    setNumThreads(n) {
      b.setNumThreads(n);
    },
    getNumThreads() {
      return b.getNumThreads();
    },
  };
}
