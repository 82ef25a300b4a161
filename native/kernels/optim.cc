// Optimizer steps (PyTorch's update rules), in place over n elements. Branches on the
// hyperparameters are taken once, outside the loops, so each loop vectorises.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>

#include "kernels.h"
#include "parallel.h"

namespace lernen {

namespace {

// 1 when v is NaN or ±Infinity. The updates count the non-finite values they write, in the same
// pass (a compare and an add that vectorise with the update), so that fit() need not read the
// parameters again to find a diverged step.
// (32-bit counts vectorise; the public functions call the ranges on blocks of at most 2^30.)
inline std::uint32_t nonFinite(float v) { return !(std::fabs(v) <= 3.40282347e38f); }
constexpr i64 kCountBlock = i64{1} << 30;

// fn(begin, end) over [b, e) in blocks of at most kCountBlock elements; the sum of its counts.
template <class F>
i64 inBlocks(i64 b, i64 e, F&& fn) {
  i64 bad = 0;
  for (i64 s = b; s < e; s += kCountBlock) bad += fn(s, std::min(e, s + kCountBlock));
  return bad;
}

// Elements per thread below which an update stays on one thread.
constexpr i64 kGrain = i64{1} << 16;

LERNEN_CLONES
std::uint32_t sgdRange(i64 n, float* __restrict param, const float* __restrict grad, float* __restrict buf,
              float lr, float momentum, float dampening, bool nesterov, float weightDecay,
              bool first) {
  const float wd = weightDecay, mom = momentum, keep = 1.0f - dampening;
  // PyTorch skips the weight-decay add when it is 0 (so an infinite param stays finite in g).
  std::uint32_t bad = 0;
  if (momentum == 0.0f) {
    if (wd == 0.0f) {
      for (i64 i = 0; i < n; ++i) {
        const float p = param[i] - lr * grad[i];
        param[i] = p;
        bad += nonFinite(p);
      }
    } else {
      for (i64 i = 0; i < n; ++i) {
        const float p = param[i] - lr * (grad[i] + wd * param[i]);
        param[i] = p;
        bad += nonFinite(p);
      }
    }
    return bad;
  }
  for (i64 i = 0; i < n; ++i) {
    const float g = wd == 0.0f ? grad[i] : grad[i] + wd * param[i];
    const float b = first ? g : mom * buf[i] + keep * g;
    buf[i] = b;
    const float p = param[i] - lr * (nesterov ? g + mom * b : b);
    param[i] = p;
    bad += nonFinite(p);
  }
  return bad;
}

LERNEN_CLONES
std::uint32_t adamRange(i64 n, float* __restrict param, const float* __restrict grad, float* __restrict m,
               float* __restrict v, float lr, float beta1, float beta2, float eps,
               float weightDecay, double step, bool decoupled) {
  // Bias corrections in double, as PyTorch computes them in Python floats.
  const double bc1 = 1.0 - std::pow(double(beta1), step);
  const double bc2 = 1.0 - std::pow(double(beta2), step);
  const float stepSize = float(double(lr) / bc1);
  const float bc2Sqrt = float(std::sqrt(bc2));
  const float b1 = beta1, b2 = beta2, c1 = 1.0f - beta1, c2 = 1.0f - beta2;
  const float decay = decoupled ? float(1.0 - double(lr) * double(weightDecay)) : 1.0f;
  const float wd = decoupled ? 0.0f : weightDecay;
  std::uint32_t bad = 0;
  for (i64 i = 0; i < n; ++i) {
    float p = param[i];
    if (decoupled) p *= decay;  // AdamW: param −= lr·weightDecay·param
    const float g = wd == 0.0f ? grad[i] : grad[i] + wd * p;
    const float mi = b1 * m[i] + c1 * g;
    const float vi = b2 * v[i] + c2 * (g * g);
    m[i] = mi;
    v[i] = vi;
    const float q = p - stepSize * (mi / (std::sqrt(vi) / bc2Sqrt + eps));
    param[i] = q;
    bad += nonFinite(q);
  }
  return bad;
}

LERNEN_CLONES
std::uint32_t rmspropRange(i64 n, float* __restrict param, const float* __restrict grad,
                  float* __restrict sq, float* __restrict gAvg, float* __restrict buf, float lr,
                  float alpha, float eps, float weightDecay, float momentum, bool centered) {
  const float a = alpha, c = 1.0f - alpha, wd = weightDecay, mom = momentum;
  const bool useMomentum = momentum > 0.0f;
  std::uint32_t bad = 0;
  for (i64 i = 0; i < n; ++i) {
    const float g = wd == 0.0f ? grad[i] : grad[i] + wd * param[i];
    const float s = a * sq[i] + c * (g * g);
    sq[i] = s;
    float avg;
    if (centered) {
      const float ga = a * gAvg[i] + c * g;
      gAvg[i] = ga;
      avg = std::sqrt(s - ga * ga) + eps;
    } else {
      avg = std::sqrt(s) + eps;
    }
    if (useMomentum) {
      const float b = mom * buf[i] + g / avg;
      buf[i] = b;
      param[i] -= lr * b;
    } else {
      param[i] -= lr * (g / avg);
    }
    bad += nonFinite(param[i]);
  }
  return bad;
}

}  // namespace

// Every element's update is independent: split over the kernel thread team (same results on
// any number of threads).
i64 sgdStep(i64 n, float* param, const float* grad, float* buf, float lr, float momentum,
            float dampening, bool nesterov, float weightDecay, bool first) {
  std::atomic<i64> bad{0};
  parallelFor(n, kGrain, [&](i64 b, i64 e) {
    bad.fetch_add(inBlocks(b, e, [&](i64 s, i64 t) {
                    return sgdRange(t - s, param + s, grad + s, buf ? buf + s : nullptr, lr,
                                    momentum, dampening, nesterov, weightDecay, first);
                  }),
                  std::memory_order_relaxed);
  });
  return bad.load();
}

i64 adamStep(i64 n, float* param, const float* grad, float* m, float* v, float lr, float beta1,
             float beta2, float eps, float weightDecay, double step, bool decoupled) {
  std::atomic<i64> bad{0};
  parallelFor(n, kGrain, [&](i64 b, i64 e) {
    bad.fetch_add(inBlocks(b, e, [&](i64 s, i64 t) {
                    return adamRange(t - s, param + s, grad + s, m + s, v + s, lr, beta1, beta2,
                                     eps, weightDecay, step, decoupled);
                  }),
                  std::memory_order_relaxed);
  });
  return bad.load();
}

i64 rmspropStep(i64 n, float* param, const float* grad, float* sq, float* gAvg, float* buf,
                float lr, float alpha, float eps, float weightDecay, float momentum,
                bool centered) {
  std::atomic<i64> bad{0};
  parallelFor(n, kGrain, [&](i64 b, i64 e) {
    bad.fetch_add(inBlocks(b, e, [&](i64 s, i64 t) {
                    return rmspropRange(t - s, param + s, grad + s, sq + s,
                                        gAvg ? gAvg + s : nullptr, buf ? buf + s : nullptr, lr,
                                        alpha, eps, weightDecay, momentum, centered);
                  }),
                  std::memory_order_relaxed);
  });
  return bad.load();
}

}  // namespace lernen
