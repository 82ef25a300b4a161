import type { Activation, BinaryOp, ReduceOp, UnaryOp } from './backend';

/** What `info()` on the addon reports. */
export interface NativeInfo {
  /** The Node-API version the addon was built for. */
  napiVersion: number;
  /** openblas_get_config(), e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Cooperlake MAX_THREADS=64". */
  openblasConfig: string;
  /** openblas_get_corename(): the kernel set OpenBLAS picked for this CPU, e.g. "SkylakeX". */
  coreType: string;
  /** openblas_get_num_threads(). */
  numThreads: number;
  /** openblas_get_parallel(): 0 sequential, 1 pthreads, 2 OpenMP. */
  parallel: number;
}

/**
 * The raw exports of build/Release/lernen.node (native/binding/addon.cc). Each kernel takes the
 * arguments of the `Backend` method of the same name, in the same order; optional buffers are
 * `null` (or `undefined` for `reduce`'s idx), and `param` may be omitted. Every entry point
 * validates its arguments and throws an Error (TypeError / RangeError for wrong types / values)
 * whose message starts with the kernel name.
 */
export interface LernenBinding {
  gemm(transA: boolean, transB: boolean, m: number, n: number, k: number, alpha: number,
    a: Float32Array, b: Float32Array, beta: number, c: Float32Array): void;
  gemmBatched(batch: number, transA: boolean, transB: boolean, m: number, n: number, k: number,
    alpha: number, a: Float32Array, strideA: number, b: Float32Array, strideB: number,
    beta: number, c: Float32Array, strideC: number): void;

  binary(op: BinaryOp, a: Float32Array, aShape: readonly number[], b: Float32Array,
    bShape: readonly number[], out: Float32Array, outShape: readonly number[]): void;
  unary(op: UnaryOp, n: number, x: Float32Array, out: Float32Array, param?: number): void;
  unaryBackward(op: UnaryOp, n: number, x: Float32Array, y: Float32Array, dy: Float32Array,
    dx: Float32Array, param?: number): void;
  axpy(n: number, alpha: number, x: Float32Array, y: Float32Array): void;
  sumTo(x: Float32Array, xShape: readonly number[], out: Float32Array,
    outShape: readonly number[]): void;
  permute(x: Float32Array, shape: readonly number[], perm: readonly number[],
    out: Float32Array): void;
  gatherBytes(src: Uint8Array, indices: Int32Array, count: number, stride: number, offset: number,
    length: number, scale: number, shift: number, out: Float32Array): void;

  reduce(op: ReduceOp, x: Float32Array, outer: number, dim: number, inner: number,
    out: Float32Array, idx?: Int32Array | null): void;

  softmax(x: Float32Array, outer: number, dim: number, inner: number, out: Float32Array,
    log: boolean): void;
  softmaxBackward(y: Float32Array, dy: Float32Array, outer: number, dim: number, inner: number,
    dx: Float32Array, log: boolean): void;
  softmaxCrossEntropy(logits: Float32Array, targets: Int32Array, n: number, c: number,
    labelSmoothing: number, loss: Float32Array, probs: Float32Array): void;
  softmaxCrossEntropyBackward(probs: Float32Array, targets: Int32Array, dloss: Float32Array,
    n: number, c: number, labelSmoothing: number, dlogits: Float32Array): void;

  biasAct(x: Float32Array, bias: Float32Array, outer: number, channels: number, inner: number,
    act: Activation, out: Float32Array): void;
  biasActBackward(y: Float32Array, dy: Float32Array, outer: number, channels: number,
    inner: number, act: Activation, dx: Float32Array, dbias: Float32Array | null): void;

  im2col(x: Float32Array, n: number, c: number, h: number, w: number, kh: number, kw: number,
    strideH: number, strideW: number, padH: number, padW: number, col: Float32Array): void;
  col2im(col: Float32Array, n: number, c: number, h: number, w: number, kh: number, kw: number,
    strideH: number, strideW: number, padH: number, padW: number, dx: Float32Array): void;

  conv2d(x: Float32Array, n: number, c: number, h: number, w: number, kh: number, kw: number,
    strideH: number, strideW: number, padH: number, padW: number, weight: Float32Array,
    outC: number, bias: Float32Array | null, act: Activation, out: Float32Array): void;
  conv2dBackward(x: Float32Array, n: number, c: number, h: number, w: number, kh: number,
    kw: number, strideH: number, strideW: number, padH: number, padW: number,
    weight: Float32Array, outC: number, y: Float32Array, dy: Float32Array, act: Activation,
    dx: Float32Array | null, dw: Float32Array | null, db: Float32Array | null): void;

  conv2dMaxPool(x: Float32Array, n: number, c: number, h: number, w: number, kh: number,
    kw: number, strideH: number, strideW: number, padH: number, padW: number,
    weight: Float32Array, outC: number, bias: Float32Array | null, act: Activation,
    poolH: number, poolW: number, out: Float32Array, idx: Int32Array): void;
  conv2dMaxPoolBackward(x: Float32Array, n: number, c: number, h: number, w: number, kh: number,
    kw: number, strideH: number, strideW: number, padH: number, padW: number,
    weight: Float32Array, outC: number, out: Float32Array, idx: Int32Array, dy: Float32Array,
    act: Activation, poolH: number, poolW: number, dx: Float32Array | null,
    dw: Float32Array | null, db: Float32Array | null): void;

  maxPool2d(x: Float32Array, n: number, c: number, h: number, w: number, kh: number, kw: number,
    strideH: number, strideW: number, padH: number, padW: number, out: Float32Array,
    idx: Int32Array): void;
  maxPool2dBackward(dy: Float32Array, idx: Int32Array, n: number, c: number, h: number,
    w: number, oh: number, ow: number, dx: Float32Array): void;
  avgPool2d(x: Float32Array, n: number, c: number, h: number, w: number, kh: number, kw: number,
    strideH: number, strideW: number, padH: number, padW: number, out: Float32Array): void;
  avgPool2dBackward(dy: Float32Array, n: number, c: number, h: number, w: number, kh: number,
    kw: number, strideH: number, strideW: number, padH: number, padW: number,
    dx: Float32Array): void;

  batchNorm(x: Float32Array, outer: number, channels: number, inner: number,
    gamma: Float32Array | null, beta: Float32Array | null, runningMean: Float32Array,
    runningVar: Float32Array, training: boolean, momentum: number, eps: number,
    out: Float32Array, saveMean: Float32Array, saveInvStd: Float32Array): void;
  batchNormBackward(x: Float32Array, dy: Float32Array, outer: number, channels: number,
    inner: number, gamma: Float32Array | null, saveMean: Float32Array, saveInvStd: Float32Array,
    dx: Float32Array, dgamma: Float32Array | null, dbeta: Float32Array | null): void;

  sgdStep(n: number, param: Float32Array, grad: Float32Array, buf: Float32Array | null,
    lr: number, momentum: number, dampening: number, nesterov: boolean, weightDecay: number,
    first: boolean): number;
  adamStep(n: number, param: Float32Array, grad: Float32Array, m: Float32Array, v: Float32Array,
    lr: number, beta1: number, beta2: number, eps: number, weightDecay: number, step: number,
    decoupled: boolean): number;
  rmspropStep(n: number, param: Float32Array, grad: Float32Array, sq: Float32Array,
    gAvg: Float32Array | null, buf: Float32Array | null, lr: number, alpha: number, eps: number,
    weightDecay: number, momentum: number, centered: boolean): number;

  randUniform(state: Uint32Array, out: Float32Array, n: number, lo: number, hi: number): void;
  randNormal(state: Uint32Array, out: Float32Array, n: number, mean: number, std: number): void;
  dropoutMask(state: Uint32Array, mask: Float32Array, n: number, p: number): void;
  dropout(state: Uint32Array, x: Float32Array, n: number, p: number, out: Float32Array,
    mask: Float32Array): void;

  /** openblas_set_num_threads; n is an integer in [1, 1024]. */
  setNumThreads(n: number): void;
  getNumThreads(): number;
  info(): NativeInfo;
}

/** Every function the addon must export (checked when the adapter is created). */
export const BINDING_FUNCTIONS: readonly (keyof LernenBinding)[] = [
  'gemm', 'gemmBatched', 'binary', 'unary', 'unaryBackward', 'axpy', 'sumTo', 'permute', 'gatherBytes',
  'reduce', 'softmax', 'softmaxBackward', 'softmaxCrossEntropy', 'softmaxCrossEntropyBackward',
  'biasAct', 'biasActBackward', 'im2col', 'col2im', 'conv2d', 'conv2dBackward', 'conv2dMaxPool', 'conv2dMaxPoolBackward', 'maxPool2d', 'maxPool2dBackward',
  'avgPool2d', 'avgPool2dBackward', 'batchNorm', 'batchNormBackward', 'sgdStep', 'adamStep',
  'rmspropStep', 'randUniform', 'randNormal', 'dropoutMask', 'dropout', 'setNumThreads', 'getNumThreads',
  'info',
];
