// Batch norm over x viewed as [outer, channels, inner]. Per-channel statistics accumulate in
// double (PyTorch's CPU accumulate type for float); the per-element work stays in float as
// out = x·scale + shift.
#include <cmath>
#include <vector>

#include "kernels.h"

namespace lernen {

namespace {

// acc[ch] += Σ_{o,i} f(x[o, ch, i], ch) in double.
template <class F>
void channelSums(const float* x, i64 outer, i64 channels, i64 inner, double* acc, F f) {
  for (i64 o = 0; o < outer; ++o) {
    if (inner == 1) {
      const float* r = x + o * channels;
      for (i64 ch = 0; ch < channels; ++ch) acc[ch] += f(r[ch], ch, o * channels + ch);
      continue;
    }
    for (i64 ch = 0; ch < channels; ++ch) {
      const i64 base = (o * channels + ch) * inner;
      double s = 0.0;
      for (i64 i = 0; i < inner; ++i) s += f(x[base + i], ch, base + i);
      acc[ch] += s;
    }
  }
}

// out[o, ch, i] = f(x[o, ch, i], ch, flat index).
template <class F>
void channelMap(const float* x, i64 outer, i64 channels, i64 inner, float* out, F f) {
  for (i64 o = 0; o < outer; ++o) {
    for (i64 ch = 0; ch < channels; ++ch) {
      const i64 base = (o * channels + ch) * inner;
      for (i64 i = 0; i < inner; ++i) out[base + i] = f(x[base + i], ch, base + i);
    }
  }
}

}  // namespace

void batchNorm(const float* x, i64 outer, i64 channels, i64 inner, const float* gamma,
               const float* beta, float* runningMean, float* runningVar, bool training,
               float momentum, float eps, float* out, float* saveMean, float* saveInvStd) {
  if (channels == 0) return;
  std::vector<float> coef(static_cast<size_t>(2 * channels));
  float* scale = coef.data();
  float* shift = scale + channels;
  if (training) {
    const i64 count = outer * inner;  // ≥ 2, checked by the caller
    std::vector<double> acc(static_cast<size_t>(2 * channels), 0.0);
    double* sum = acc.data();
    double* sq = sum + channels;
    channelSums(x, outer, channels, inner, sum, [](float v, i64, i64) { return double(v); });
    for (i64 ch = 0; ch < channels; ++ch) sum[ch] /= double(count);  // now the mean
    channelSums(x, outer, channels, inner, sq, [sum](float v, i64 ch, i64) {
      const double d = double(v) - sum[ch];
      return d * d;
    });
    const double mom = momentum;
    for (i64 ch = 0; ch < channels; ++ch) {
      const double mean = sum[ch], var = sq[ch] / double(count);
      const double invStd = 1.0 / std::sqrt(var + double(eps));
      saveMean[ch] = float(mean);
      saveInvStd[ch] = float(invStd);
      runningMean[ch] = float((1.0 - mom) * runningMean[ch] + mom * mean);
      runningVar[ch] =
          float((1.0 - mom) * runningVar[ch] + mom * var * double(count) / double(count - 1));
      const double g = gamma ? gamma[ch] : 1.0, b = beta ? beta[ch] : 0.0;
      scale[ch] = float(invStd * g);
      shift[ch] = float(b - mean * invStd * g);
    }
  } else {
    for (i64 ch = 0; ch < channels; ++ch) {
      const double invStd = 1.0 / std::sqrt(double(runningVar[ch]) + double(eps));
      const double g = gamma ? gamma[ch] : 1.0, b = beta ? beta[ch] : 0.0;
      scale[ch] = float(invStd * g);
      shift[ch] = float(b - double(runningMean[ch]) * invStd * g);
    }
  }
  channelMap(x, outer, channels, inner, out,
             [scale, shift](float v, i64 ch, i64) { return v * scale[ch] + shift[ch]; });
}

void batchNormBackward(const float* x, const float* dy, i64 outer, i64 channels, i64 inner,
                       const float* gamma, const float* saveMean, const float* saveInvStd,
                       float* dx, float* dgamma, float* dbeta) {
  if (channels == 0) return;
  const i64 count = outer * inner;
  std::vector<double> acc(static_cast<size_t>(2 * channels), 0.0);
  double* sumDy = acc.data();
  double* dot = sumDy + channels;  // Σ dy·(x − mean)
  channelSums(dy, outer, channels, inner, sumDy, [](float g, i64, i64) { return double(g); });
  channelSums(x, outer, channels, inner, dot, [dy, saveMean](float v, i64 ch, i64 at) {
    return double(dy[at]) * (double(v) - double(saveMean[ch]));
  });
  // dx = (dy − Σdy/M − (x − mean)·Σ(dy·(x − mean))·invStd²/M)·invStd·γ   (PyTorch CPU form)
  std::vector<float> coef(static_cast<size_t>(3 * channels));
  float* gradMean = coef.data();
  float* k = gradMean + channels;
  float* outScale = k + channels;
  for (i64 ch = 0; ch < channels; ++ch) {
    const double invStd = saveInvStd[ch];
    const double m = count > 0 ? double(count) : 1.0;
    gradMean[ch] = float(sumDy[ch] / m);
    k[ch] = float(dot[ch] * invStd * invStd / m);
    outScale[ch] = float(invStd * (gamma ? double(gamma[ch]) : 1.0));
    if (dgamma) dgamma[ch] += float(dot[ch] * invStd);
    if (dbeta) dbeta[ch] += float(sumDy[ch]);
  }
  channelMap(x, outer, channels, inner, dx, [&](float v, i64 ch, i64 at) {
    return (dy[at] - gradMean[ch] - (v - saveMean[ch]) * k[ch]) * outScale[ch];
  });
}

}  // namespace lernen
