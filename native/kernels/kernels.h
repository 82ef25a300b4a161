// lernen native kernels: pure C++ over raw float buffers. No napi.h, no tensors, no graphs.
//
// Every function here trusts its caller (native/binding/): sizes are non-negative, buffers hold
// at least the elements the sizes imply, products do not overflow, and buffers that must not
// alias do not. The exact formulas are those of the `Backend` contract in
// src/backend/backend.ts; comments below only add what the kernel itself decides.
#pragma once

#include <cstddef>
#include <cstdint>

// Hot memory-bound loops get an AVX2 clone next to the baseline x86-64 one, picked at load time
// by an ifunc (prebuilt binaries travel, so no -march=native). FMA contraction is disabled by
// the build (-ffp-contract=off) so every clone rounds exactly like the baseline and like JS;
// -fno-math-errno and -fno-trapping-math let sqrt and selects vectorise; neither changes a
// result (errno and FP exception flags are never read; no reassociation, NaN and signed-zero
// semantics stay IEEE).
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__linux__)
#define LERNEN_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define LERNEN_CLONES
#endif

namespace lernen {

using i64 = std::int64_t;

constexpr int kMaxRank = 8;

// ------------------------------------------------------------------ gemm.cc
/** C = alpha·op(A)·op(B) + beta·C, row-major; beta == 0 never reads C. m, n, k ≤ INT32_MAX. */
void gemm(bool transA, bool transB, i64 m, i64 n, i64 k, float alpha, const float* a,
          const float* b, float beta, float* c);
/** Batched gemm with element strides; a stride of 0 broadcasts. strideC ≥ m·n. */
void gemmBatched(i64 batch, bool transA, bool transB, i64 m, i64 n, i64 k, float alpha,
                 const float* a, i64 strideA, const float* b, i64 strideB, float beta, float* c,
                 i64 strideC);

void blasSetNumThreads(int n);
int blasGetNumThreads();
const char* blasConfig();
const char* blasCoreName();
/** 0: sequential, 1: pthreads, 2: OpenMP (openblas_get_parallel). */
int blasParallel();

// ------------------------------------------------------------------ elementwise.cc
enum class BinaryOp : int { Add, Sub, Mul, Div, Max, Min, Pow };
enum class UnaryOp : int {
  Neg, Exp, Log, Sqrt, Abs, Sign, Square, Reciprocal,
  Relu, LeakyRelu, Sigmoid, Tanh, Gelu, Pow, Scale, AddScalar, ClampMin,
};

/**
 * out = a (op) b with NumPy broadcasting. Ranks ≤ kMaxRank; outShape is the broadcast of the
 * two shapes (same rank as the longer one). out may equal a or b (same pointer, same shape).
 */
void binary(BinaryOp op, const float* a, const i64* aShape, int aRank, const float* b,
            const i64* bShape, int bRank, float* out, const i64* outShape, int outRank);
/** out[i] = f(x[i]); out may equal x. */
void unary(UnaryOp op, i64 n, const float* x, float* out, float param);
/** dx[i] = dy[i]·f'(x[i]) (from x or y); dx may equal dy. */
void unaryBackward(UnaryOp op, i64 n, const float* x, const float* y, const float* dy, float* dx,
                   float param);
/** y += alpha·x. */
void axpy(i64 n, float alpha, const float* x, float* y);
/** out (outShape, broadcast-compatible with xShape) = sum of x over the broadcast dims. */
void sumTo(const float* x, const i64* xShape, int xRank, float* out, const i64* outShape,
           int outRank);
/** out = x permuted: out.shape[i] = shape[perm[i]]; perm is a permutation of [0, rank). */
void permute(const float* x, const i64* shape, const int* perm, int rank, float* out);

// ------------------------------------------------------------------ reduce.cc
enum class ReduceOp : int { Sum, Mean, Max, Min };
/** x [outer, dim, inner] → out [outer, inner]; idx (may be null) only for Max/Min, dim ≥ 1. */
void reduce(ReduceOp op, const float* x, i64 outer, i64 dim, i64 inner, float* out,
            std::int32_t* idx);

// ------------------------------------------------------------------ softmax.cc
void softmax(const float* x, i64 outer, i64 dim, i64 inner, float* out, bool log);
/** dx may equal dy. */
void softmaxBackward(const float* y, const float* dy, i64 outer, i64 dim, i64 inner, float* dx,
                     bool log);
/** targets are in [0, c) (checked by the caller). */
void softmaxCrossEntropy(const float* logits, const std::int32_t* targets, i64 n, i64 c,
                         float labelSmoothing, float* loss, float* probs);
/** dlogits may equal probs. */
void softmaxCrossEntropyBackward(const float* probs, const std::int32_t* targets,
                                 const float* dloss, i64 n, i64 c, float labelSmoothing,
                                 float* dlogits);

// ------------------------------------------------------------------ bias_act.cc
enum class Activation : int { None, Relu };
/** out may equal x. */
void biasAct(const float* x, const float* bias, i64 outer, i64 channels, i64 inner,
             Activation act, float* out);
/** dx may equal dy; dbias (may be null) is accumulated. */
void biasActBackward(const float* y, const float* dy, i64 outer, i64 channels, i64 inner,
                     Activation act, float* dx, float* dbias);

// ------------------------------------------------------------------ conv.cc, pool.cc
/** A 2-D sliding window over [n, c, h, w]; oh/ow follow the floor formula of the contract. */
struct Window2d {
  i64 n, c, h, w, kh, kw, strideH, strideW, padH, padW, oh, ow;
};
/** floor((size + 2·pad − kernel)/stride) + 1; the caller ensures size + 2·pad ≥ kernel. */
inline i64 windowOut(i64 size, i64 kernel, i64 stride, i64 pad) {
  return (size + 2 * pad - kernel) / stride + 1;
}

void im2col(const float* x, const Window2d& g, float* col);
void col2im(const float* col, const Window2d& g, float* dx);

// ------------------------------------------------------------------ conv_fused.cc
/**
 * out [n, oc, oh, ow] = act(conv(x, weight) + bias): batch-level im2col into thread-local
 * scratch, one GEMM, scatter with bias+act. bias may be null. out must not alias the inputs.
 */
void conv2d(const float* x, const Window2d& g, const float* weight, i64 oc, const float* bias,
            Activation act, float* out);
/**
 * Backward of conv2d given its output y (for act) and dy: dx overwritten (if non-null), dw and
 * db accumulated (if non-null).
 */
void conv2dBackward(const float* x, const Window2d& g, const float* weight, i64 oc,
                    const float* y, const float* dy, Activation act, float* dx, float* dw,
                    float* db);
/**
 * conv2d, then max pooling over poolH×poolW windows with the same stride and no padding, without
 * materialising the convolution output: out [n, oc, oh/poolH, ow/poolW] and idx exactly as
 * maxPool2d(conv2d(...)) writes them. poolH ≤ oh, poolW ≤ ow.
 */
void conv2dMaxPool(const float* x, const Window2d& g, const float* weight, i64 oc,
                   const float* bias, Activation act, i64 poolH, i64 poolW, float* out,
                   std::int32_t* idx);
/**
 * Backward of conv2dMaxPool from dy (the pooled output's gradient), out (read for relu) and idx
 * (values in [0, oh·ow), checked by the caller): as maxPool2dBackward then conv2dBackward.
 */
void conv2dMaxPoolBackward(const float* x, const Window2d& g, const float* weight, i64 oc,
                           const float* out, const std::int32_t* idx, const float* dy,
                           Activation act, i64 poolH, i64 poolW, float* dx, float* dw,
                           float* db);

/** Requires pad ≤ kernel/2 (every window holds at least one input element). */
void maxPool2d(const float* x, const Window2d& g, float* out, std::int32_t* idx);
/** idx values are in [0, hw) (checked by the caller). */
void maxPool2dBackward(const float* dy, const std::int32_t* idx, i64 planes, i64 hw, i64 ohw,
                       float* dx);
void avgPool2d(const float* x, const Window2d& g, float* out);
void avgPool2dBackward(const float* dy, const Window2d& g, float* dx);

// ------------------------------------------------------------------ batchnorm.cc
/** Training requires outer·inner ≥ 2 (unbiased variance). gamma/beta may be null. */
void batchNorm(const float* x, i64 outer, i64 channels, i64 inner, const float* gamma,
               const float* beta, float* runningMean, float* runningVar, bool training,
               float momentum, float eps, float* out, float* saveMean, float* saveInvStd);
/** gamma, dgamma, dbeta may be null; dgamma/dbeta are accumulated. */
void batchNormBackward(const float* x, const float* dy, i64 outer, i64 channels, i64 inner,
                       const float* gamma, const float* saveMean, const float* saveInvStd,
                       float* dx, float* dgamma, float* dbeta);

// ------------------------------------------------------------------ optim.cc
// Each returns how many of the n parameter values it wrote are NaN or ±Infinity.
/** buf may be null when momentum == 0. */
i64 sgdStep(i64 n, float* param, const float* grad, float* buf, float lr, float momentum,
            float dampening, bool nesterov, float weightDecay, bool first);
/** step ≥ 1. */
i64 adamStep(i64 n, float* param, const float* grad, float* m, float* v, float lr, float beta1,
             float beta2, float eps, float weightDecay, double step, bool decoupled);
/** gAvg may be null unless centered; buf may be null unless momentum > 0. */
i64 rmspropStep(i64 n, float* param, const float* grad, float* sq, float* gAvg, float* buf,
                float lr, float alpha, float eps, float weightDecay, float momentum,
                bool centered);

// ------------------------------------------------------------------ gather.cc (in elementwise.cc)
/**
 * Batch assembly from byte records: for k < count, j < length,
 *   out[k·stride + offset + j] = float(double(src[indices[k]·stride + offset + j])·scale + shift)
 * (product and sum in double, rounded once). The caller has checked every index.
 */
void gatherBytes(const std::uint8_t* src, const std::int32_t* indices, i64 count, i64 stride,
                 i64 offset, i64 length, double scale, double shift, float* out);

// ------------------------------------------------------------------ rng.cc
/** xoshiro128** over a caller-held 4×uint32 state, advanced in place. */
void randUniform(std::uint32_t* state, float* out, i64 n, double lo, double hi);
void randNormal(std::uint32_t* state, float* out, i64 n, double mean, double std);
/** p in [0, 1). */
void dropoutMask(std::uint32_t* state, float* mask, i64 n, double p);
/** The same mask, and out[i] = x[i]·mask[i] in the same pass; out may equal x. */
void dropout(std::uint32_t* state, const float* x, i64 n, double p, float* out, float* mask);

}  // namespace lernen
