/**
 * The kernel contract. Every backend (native addon, pure JS) implements exactly this interface.
 *
 * Rules that hold for every method:
 * - Buffers are `Float32Array` (indices: `Int32Array`), contiguous, row-major. A buffer may be a
 *   view (`subarray`) into a larger one: kernels honour its byte offset and length.
 * - Sizes are explicit non-negative integers; every buffer must hold at least the number of
 *   elements the sizes imply (more is allowed, the tail is left untouched).
 * - Kernels write into a caller-provided `out` and allocate nothing. Unless a method says
 *   otherwise, `out` is overwritten (not accumulated) and may alias an input only where stated.
 * - Invalid arguments throw an `Error` that names the kernel and the offending argument.
 */

export type BackendName = 'native' | 'js';

/** Elementwise binary ops with NumPy broadcasting. */
export type BinaryOp = 'add' | 'sub' | 'mul' | 'div' | 'max' | 'min' | 'pow';
export const BINARY_OPS: readonly BinaryOp[] = ['add', 'sub', 'mul', 'div', 'max', 'min', 'pow'];

/**
 * Elementwise unary ops. `param` is used by: leakyRelu (negative slope), pow (exponent),
 * scale (factor), addScalar (summand), clampMin (lower bound).
 * gelu is the exact erf form, as PyTorch's default: 0.5·x·(1 + erf(x/√2)).
 */
export type UnaryOp =
  | 'neg' | 'exp' | 'log' | 'sqrt' | 'abs' | 'sign' | 'square' | 'reciprocal'
  | 'relu' | 'leakyRelu' | 'sigmoid' | 'tanh' | 'gelu'
  | 'pow' | 'scale' | 'addScalar' | 'clampMin';
export const UNARY_OPS: readonly UnaryOp[] = [
  'neg', 'exp', 'log', 'sqrt', 'abs', 'sign', 'square', 'reciprocal',
  'relu', 'leakyRelu', 'sigmoid', 'tanh', 'gelu', 'pow', 'scale', 'addScalar', 'clampMin',
];

/** Reductions over one axis of a tensor viewed as [outer, dim, inner]. */
export type ReduceOp = 'sum' | 'mean' | 'max' | 'min';

/** Activation fused into `biasAct`. */
export type Activation = 'none' | 'relu';

export interface Backend {
  readonly name: BackendName;

  // ---------------------------------------------------------------- GEMM
  /**
   * C = alpha·op(A)·op(B) + beta·C, row-major. op(A) is [m,k] (A stored [m,k], or [k,m] when
   * transA), op(B) is [k,n] (B stored [k,n], or [n,k] when transB), C is [m,n].
   * When beta is 0, C is not read (NaNs in C do not propagate). C must not alias A or B.
   */
  gemm(transA: boolean, transB: boolean, m: number, n: number, k: number,
    alpha: number, a: Float32Array, b: Float32Array, beta: number, c: Float32Array): void;

  /**
   * `batch` independent GEMMs: for i in [0,batch): C_i = alpha·op(A_i)·op(B_i) + beta·C_i with
   * A_i = a[i·strideA ...], B_i = b[i·strideB ...], C_i = c[i·strideC ...]. A stride of 0 reuses
   * the same matrix for every i (broadcast). strideC must be ≥ m·n.
   */
  gemmBatched(batch: number, transA: boolean, transB: boolean, m: number, n: number, k: number,
    alpha: number, a: Float32Array, strideA: number, b: Float32Array, strideB: number,
    beta: number, c: Float32Array, strideC: number): void;

  // ---------------------------------------------------------------- elementwise
  /**
   * out = a (op) b with NumPy broadcasting. Shapes have rank ≤ 8; shorter shapes are padded with
   * leading 1s. outShape must equal the broadcast of aShape and bShape. out may alias a or b
   * when that input has the same shape as out.
   */
  binary(op: BinaryOp, a: Float32Array, aShape: readonly number[], b: Float32Array,
    bShape: readonly number[], out: Float32Array, outShape: readonly number[]): void;

  /** out[i] = f(x[i]) for `n` elements. out may alias x. */
  unary(op: UnaryOp, n: number, x: Float32Array, out: Float32Array, param?: number): void;

  /**
   * dx[i] = dy[i]·f'(x[i]) for `n` elements, where y = f(x) was the forward output (kernels may
   * use x or y, whichever is cheaper and exact: sigmoid/tanh/exp use y, relu uses x).
   * relu'(0) = 0 and abs'(0) = 0, as PyTorch. dx may alias dy.
   */
  unaryBackward(op: UnaryOp, n: number, x: Float32Array, y: Float32Array, dy: Float32Array,
    dx: Float32Array, param?: number): void;

  /** y += alpha·x for `n` elements (gradient accumulation). */
  axpy(n: number, alpha: number, x: Float32Array, y: Float32Array): void;

  /**
   * Sum `x` (shape xShape) down to `outShape` (broadcast-compatible: after left-padding with 1s,
   * each out dim is 1 or equals the x dim). Used for gradients of broadcast ops.
   */
  sumTo(x: Float32Array, xShape: readonly number[], out: Float32Array,
    outShape: readonly number[]): void;

  /** out = x permuted: out.shape[i] = shape[perm[i]]. rank ≤ 8. out must not alias x. */
  permute(x: Float32Array, shape: readonly number[], perm: readonly number[],
    out: Float32Array): void;

  /**
   * Batch assembly from byte records (images stored as bytes): for k < count, j < length,
   *   out[k·stride + offset + j] = float32(src[indices[k]·stride + offset + j]·scale + shift)
   * with the product and sum in double precision, rounded once. `src` holds whole records of
   * `stride` bytes; every indices[k] must be in [0, floor(src.length / stride)); offset + length
   * ≤ stride. Elements of `out` outside [offset, offset + length) of each record are untouched
   * (one call per channel normalises a multi-channel image).
   */
  gatherBytes(src: Uint8Array, indices: Int32Array, count: number, stride: number, offset: number,
    length: number, scale: number, shift: number, out: Float32Array): void;

  // ---------------------------------------------------------------- reductions
  /**
   * Reduce x viewed as [outer, dim, inner] over `dim` into out [outer, inner]. For max/min,
   * `idx` (if given) receives the index in [0, dim) of the first extreme element.
   * dim must be ≥ 1 for max/min. NaN propagates (max/min of a slice with NaN is NaN).
   */
  reduce(op: ReduceOp, x: Float32Array, outer: number, dim: number, inner: number,
    out: Float32Array, idx?: Int32Array): void;

  // ---------------------------------------------------------------- softmax family
  /** Softmax (or log-softmax) of x viewed as [outer, dim, inner] along dim. Numerically stable. */
  softmax(x: Float32Array, outer: number, dim: number, inner: number, out: Float32Array,
    log: boolean): void;

  /**
   * Backward of softmax / log-softmax given its output y: softmax: dx = y·(dy − Σ dy·y);
   * log-softmax: dx = dy − exp(y)·Σ dy. dx may alias dy.
   */
  softmaxBackward(y: Float32Array, dy: Float32Array, outer: number, dim: number, inner: number,
    dx: Float32Array, log: boolean): void;

  /**
   * Fused softmax + cross-entropy over logits [n, c] with integer targets in [0, c).
   * With label smoothing ε the target distribution is (1−ε)·onehot + ε/c (PyTorch).
   * Writes loss[i] (per sample, length n) and probs [n, c] (softmax, for the backward).
   * Throws if a target is out of range.
   */
  softmaxCrossEntropy(logits: Float32Array, targets: Int32Array, n: number, c: number,
    labelSmoothing: number, loss: Float32Array, probs: Float32Array): void;

  /**
   * dlogits[i, j] = dloss[i]·(probs[i, j] − q[i, j]) with q the (smoothed) target distribution.
   * dloss has length n (one upstream gradient per sample). dlogits may alias probs.
   */
  softmaxCrossEntropyBackward(probs: Float32Array, targets: Int32Array, dloss: Float32Array,
    n: number, c: number, labelSmoothing: number, dlogits: Float32Array): void;

  // ---------------------------------------------------------------- fused bias / activation
  /**
   * out[o, ch, i] = act(x[o, ch, i] + bias[ch]) for x viewed as [outer, channels, inner].
   * (Linear: outer = batch, channels = features, inner = 1. Conv: outer = N, inner = H·W.)
   * out may alias x.
   */
  biasAct(x: Float32Array, bias: Float32Array, outer: number, channels: number, inner: number,
    act: Activation, out: Float32Array): void;

  /**
   * Backward of biasAct given its output y: g = dy·act'(y) written into dx (may alias dy), and
   * dbias[ch] += Σ_{o,i} g[o, ch, i] (accumulated) when dbias is given.
   */
  biasActBackward(y: Float32Array, dy: Float32Array, outer: number, channels: number,
    inner: number, act: Activation, dx: Float32Array, dbias: Float32Array | null): void;

  // ---------------------------------------------------------------- convolution helpers
  /**
   * im2col for a whole batch: x [n, c, h, w] → col [n, c·kh·kw, oh·ow], zero padding,
   * oh = floor((h + 2·padH − kh)/strideH) + 1 (same for ow). Row (ci·kh + ki)·kw + kj of sample
   * n's column matrix holds x[n, ci, oy·strideH − padH + ki, ox·strideW − padW + kj].
   */
  im2col(x: Float32Array, n: number, c: number, h: number, w: number, kh: number, kw: number,
    strideH: number, strideW: number, padH: number, padW: number, col: Float32Array): void;

  /** Adjoint of im2col: dx [n, c, h, w] is overwritten with the scatter-add of col. */
  col2im(col: Float32Array, n: number, c: number, h: number, w: number, kh: number, kw: number,
    strideH: number, strideW: number, padH: number, padW: number, dx: Float32Array): void;

  /**
   * Fused convolution over a whole batch: out [n, outC, oh, ow] = act(x ⋆ weight + bias) with
   * x [n, c, h, w], weight [outC, c, kh, kw] (cross-correlation, PyTorch), bias [outC] or null,
   * zero padding. Equivalent to im2col + one GEMM per sample + biasAct; backends may use
   * internal scratch memory. out must not alias any input.
   */
  conv2d(x: Float32Array, n: number, c: number, h: number, w: number, kh: number, kw: number,
    strideH: number, strideW: number, padH: number, padW: number, weight: Float32Array,
    outC: number, bias: Float32Array | null, act: Activation, out: Float32Array): void;

  /**
   * Backward of conv2d given its output y (read only when act is 'relu') and dy: dx is
   * overwritten when given; dw and db are accumulated (+=) when given.
   */
  conv2dBackward(x: Float32Array, n: number, c: number, h: number, w: number, kh: number,
    kw: number, strideH: number, strideW: number, padH: number, padW: number,
    weight: Float32Array, outC: number, y: Float32Array, dy: Float32Array, act: Activation,
    dx: Float32Array | null, dw: Float32Array | null, db: Float32Array | null): void;

  /**
   * conv2d, then max pooling over poolH×poolW windows with stride poolH×poolW and no padding,
   * in one pass that never materialises the convolution output: out [n, outC, ph, pw] with
   * ph = floor(oh/poolH), pw = floor(ow/poolW), and idx (flat index oy·ow + ox of the maximum
   * within its oh×ow plane) exactly as conv2d followed by maxPool2d write them.
   * 1 ≤ poolH ≤ oh, 1 ≤ poolW ≤ ow. out and idx must not alias any input.
   */
  conv2dMaxPool(x: Float32Array, n: number, c: number, h: number, w: number, kh: number,
    kw: number, strideH: number, strideW: number, padH: number, padW: number,
    weight: Float32Array, outC: number, bias: Float32Array | null, act: Activation,
    poolH: number, poolW: number, out: Float32Array, idx: Int32Array): void;

  /**
   * Backward of conv2dMaxPool from dy [n, outC, ph, pw], the gradient of its output, given its
   * out (read only when act is 'relu') and idx (each in [0, oh·ow)): as maxPool2dBackward then
   * conv2dBackward. dx is overwritten when given; dw and db are accumulated (+=) when given.
   */
  conv2dMaxPoolBackward(x: Float32Array, n: number, c: number, h: number, w: number, kh: number,
    kw: number, strideH: number, strideW: number, padH: number, padW: number,
    weight: Float32Array, outC: number, out: Float32Array, idx: Int32Array, dy: Float32Array,
    act: Activation, poolH: number, poolW: number, dx: Float32Array | null,
    dw: Float32Array | null, db: Float32Array | null): void;

  // ---------------------------------------------------------------- pooling
  /**
   * Max pooling over x [n, c, h, w] into out [n, c, oh, ow] (padding counts as −∞).
   * idx receives, per output, the flat index h_in·w + w_in of the max within its channel plane.
   */
  maxPool2d(x: Float32Array, n: number, c: number, h: number, w: number, kh: number, kw: number,
    strideH: number, strideW: number, padH: number, padW: number, out: Float32Array,
    idx: Int32Array): void;

  /** dx [n, c, h, w] is overwritten: zeros, then dx[plane, idx[o]] += dy[o]. */
  maxPool2dBackward(dy: Float32Array, idx: Int32Array, n: number, c: number, h: number,
    w: number, oh: number, ow: number, dx: Float32Array): void;

  /** Average pooling (zero padding counted in the divisor: count_include_pad = true). */
  avgPool2d(x: Float32Array, n: number, c: number, h: number, w: number, kh: number, kw: number,
    strideH: number, strideW: number, padH: number, padW: number, out: Float32Array): void;

  /** dx [n, c, h, w] is overwritten with the adjoint of avgPool2d applied to dy. */
  avgPool2dBackward(dy: Float32Array, n: number, c: number, h: number, w: number, kh: number,
    kw: number, strideH: number, strideW: number, padH: number, padW: number,
    dx: Float32Array): void;

  // ---------------------------------------------------------------- batch norm
  /**
   * Batch-norm forward over x viewed as [outer, channels, inner] (BatchNorm1d: [N, C, 1] or
   * [N, C, L]; BatchNorm2d: [N, C, H·W]). training: normalise with batch statistics (biased
   * variance), write saveMean/saveInvStd (length channels, invStd = 1/√(var+eps)), and update
   * runningMean/runningVar in place with `momentum` using the unbiased variance (PyTorch).
   * eval: normalise with runningMean/runningVar. gamma/beta may be null (no affine).
   */
  batchNorm(x: Float32Array, outer: number, channels: number, inner: number,
    gamma: Float32Array | null, beta: Float32Array | null, runningMean: Float32Array,
    runningVar: Float32Array, training: boolean, momentum: number, eps: number,
    out: Float32Array, saveMean: Float32Array, saveInvStd: Float32Array): void;

  /**
   * Training-mode batch-norm backward: dx overwritten; dgamma/dbeta accumulated (+=) if given.
   */
  batchNormBackward(x: Float32Array, dy: Float32Array, outer: number, channels: number,
    inner: number, gamma: Float32Array | null, saveMean: Float32Array, saveInvStd: Float32Array,
    dx: Float32Array, dgamma: Float32Array | null, dbeta: Float32Array | null): void;

  // ---------------------------------------------------------------- optimizer steps
  // Each step returns how many of the n parameter values it wrote are NaN or ±Infinity,
  // counted in the update pass, so that a caller need not read the parameters again.
  /**
   * PyTorch SGD for `n` elements, in place:
   *   g = grad + weightDecay·param
   *   if momentum ≠ 0: buf = first ? g : momentum·buf + (1 − dampening)·g
   *                    g = nesterov ? g + momentum·buf : buf
   *   param −= lr·g
   * `buf` may be null when momentum is 0.
   */
  sgdStep(n: number, param: Float32Array, grad: Float32Array, buf: Float32Array | null,
    lr: number, momentum: number, dampening: number, nesterov: boolean, weightDecay: number,
    first: boolean): number;

  /**
   * PyTorch Adam / AdamW (decoupled = true) for `n` elements, in place, at step t ≥ 1:
   *   AdamW: param −= lr·weightDecay·param;  Adam: g = grad + weightDecay·param
   *   m = β1·m + (1−β1)·g;  v = β2·v + (1−β2)·g²
   *   param −= lr/(1−β1^t) · m / (√v/√(1−β2^t) + eps)
   */
  adamStep(n: number, param: Float32Array, grad: Float32Array, m: Float32Array, v: Float32Array,
    lr: number, beta1: number, beta2: number, eps: number, weightDecay: number, step: number,
    decoupled: boolean): number;

  /**
   * PyTorch RMSprop for `n` elements, in place:
   *   g = grad + weightDecay·param; sq = α·sq + (1−α)·g²
   *   avg = centered ? √(sq − gAvg²) + eps (gAvg = α·gAvg + (1−α)·g) : √sq + eps
   *   momentum > 0: buf = momentum·buf + g/avg; param −= lr·buf   else param −= lr·g/avg
   * gAvg may be null unless centered, buf may be null unless momentum > 0.
   */
  rmspropStep(n: number, param: Float32Array, grad: Float32Array, sq: Float32Array,
    gAvg: Float32Array | null, buf: Float32Array | null, lr: number, alpha: number, eps: number,
    weightDecay: number, momentum: number, centered: boolean): number;

  // ---------------------------------------------------------------- random numbers
  /**
   * The seeded generator: xoshiro128** with its 4×uint32 state held by the caller (no global
   * state; the kernel advances `state` in place). Uniform floats are (u >>> 8)·2⁻²⁴ in [0, 1),
   * mapped to [lo, hi) as lo + (hi − lo)·f in float32. Both backends yield bit-identical streams.
   */
  randUniform(state: Uint32Array, out: Float32Array, n: number, lo: number, hi: number): void;

  /**
   * Normal(mean, std) by Box–Muller on pairs of uniforms u1, u2 (each from the uniform stream
   * above, with u1 replaced by 2⁻²⁴ when 0): z0 = √(−2 ln u1)·cos(2πu2), z1 = …·sin(2πu2), in
   * float64, then rounded. Consumes 2·ceil(n/2) uniforms.
   */
  randNormal(state: Uint32Array, out: Float32Array, n: number, mean: number, std: number): void;

  /**
   * Inverted-dropout mask: mask[i] = (u_i ≥ p) ? 1/(1−p) : 0, for `n` elements, p in [0, 1).
   * u_i = (h_i >>> 8)·2⁻²⁴ with h_i a counter-based hash of i keyed by two draws k0, k1 of the
   * stream above: h_i = mix32(mix32(lo + k0) ^ (k1 + hi·0x9E3779B9)) (lo, hi: the low and high
   * 32 bits of i; mix32: Wellons's lowbias32). Each call advances the state by exactly 2 draws
   * (0 when n = 0), and the elements are independent of each other, so the native kernel
   * vectorises and threads the loop.
   */
  dropoutMask(state: Uint32Array, mask: Float32Array, n: number, p: number): void;

  /**
   * Fused inverted dropout: the mask of `dropoutMask` (same stream, same values) written into
   * `mask`, and out[i] = x[i]·mask[i], in one pass. out may alias x; mask may not alias either.
   */
  dropout(state: Uint32Array, x: Float32Array, n: number, p: number, out: Float32Array,
    mask: Float32Array): void;

  // ---------------------------------------------------------------- threads / info
  /** Number of threads the backend's heavy kernels may use (native: lernen's kernel team; OpenBLAS runs one-threaded). */
  setNumThreads(n: number): void;
  getNumThreads(): number;
}
