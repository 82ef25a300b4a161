// Batch norm over x viewed as [outer, channels, inner]. Per-channel statistics accumulate in
// double (PyTorch's CPU accumulate type for float); the per-element work stays in float as
// out = x·scale + shift.
//
// Channel by channel: a channel's statistics and its output are computed by one thread of the
// kernel team (parallel.h), so its elements (outer runs of `inner` floats) are read from the
// core's own cache by the later passes, and the result does not depend on the number of
// threads. The double sums use 8 independent accumulators per run: they vectorise without
// reassociation flags, where one running double sum would wait on each addition's latency.
#include <cmath>

#include "kernels.h"
#include "loops.h"
#include "parallel.h"

namespace lernen {

namespace {

// Σ f(x[i]) over a contiguous run, in double, 8 lanes.
template <class F>
LERNEN_INLINE double sumRunD(i64 n, const float* __restrict x, F f) {
  double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  i64 i = 0;
  for (; i + 8 <= n; i += 8) {
    for (int j = 0; j < 8; ++j) acc[j] += f(double(x[i + j]));
  }
  double s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
  for (; i < n; ++i) s += f(double(x[i]));
  return s;
}

/** Channels per block on the inner == 1 path (stack arrays of statistics). */
constexpr i64 kChunk = 256;

/** Channels per thread so each gets at least ~16K elements of work. */
inline i64 channelGrain(i64 perChannel) {
  const i64 f = perChannel > 0 ? perChannel : 1;
  return f >= (i64{1} << 14) ? 1 : (i64{1} << 14) / f;
}

struct Stats {
  double mean, var;
};

// Mean and biased variance of channel ch (two passes: the mean, then Σ(x − mean)²).
LERNEN_CLONES
Stats channelStats(const float* x, i64 outer, i64 channels, i64 inner, i64 ch) {
  double s = 0.0;
  for (i64 o = 0; o < outer; ++o) {
    s += sumRunD(inner, x + (o * channels + ch) * inner, [](double v) { return v; });
  }
  const double count = double(outer * inner);
  const double mean = s / count;
  double q = 0.0;
  for (i64 o = 0; o < outer; ++o) {
    q += sumRunD(inner, x + (o * channels + ch) * inner, [mean](double v) {
      const double d = v - mean;
      return d * d;
    });
  }
  return {mean, q / count};
}

// out = x·scale + shift over channel ch.
LERNEN_CLONES
void channelAffine(const float* __restrict x, i64 outer, i64 channels, i64 inner, i64 ch,
                   float scale, float shift, float* __restrict out) {
  for (i64 o = 0; o < outer; ++o) {
    const i64 base = (o * channels + ch) * inner;
    for (i64 i = 0; i < inner; ++i) out[base + i] = x[base + i] * scale + shift;
  }
}

// Σ dy and Σ dy·(x − mean) over channel ch, in one pass.
LERNEN_CLONES
void channelGradSums(const float* __restrict x, const float* __restrict dy, i64 outer,
                     i64 channels, i64 inner, i64 ch, double mean, double* sumDy, double* dot) {
  double s = 0.0, d = 0.0;
  for (i64 o = 0; o < outer; ++o) {
    const i64 base = (o * channels + ch) * inner;
    const float* xr = x + base;
    const float* gr = dy + base;
    double as[8] = {0, 0, 0, 0, 0, 0, 0, 0}, ad[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    i64 i = 0;
    for (; i + 8 <= inner; i += 8) {
      for (int j = 0; j < 8; ++j) {
        const double g = gr[i + j];
        as[j] += g;
        ad[j] += g * (double(xr[i + j]) - mean);
      }
    }
    double rs = ((as[0] + as[4]) + (as[1] + as[5])) + ((as[2] + as[6]) + (as[3] + as[7]));
    double rd = ((ad[0] + ad[4]) + (ad[1] + ad[5])) + ((ad[2] + ad[6]) + (ad[3] + ad[7]));
    for (; i < inner; ++i) {
      const double g = gr[i];
      rs += g;
      rd += g * (double(xr[i]) - mean);
    }
    s += rs;
    d += rd;
  }
  *sumDy = s;
  *dot = d;
}

// dx = (dy − gradMean − (x − mean)·k)·outScale over channel ch.
LERNEN_CLONES
void channelGradInput(const float* __restrict x, const float* __restrict dy, i64 outer,
                      i64 channels, i64 inner, i64 ch, float mean, float gradMean, float k,
                      float outScale, float* __restrict dx) {
  for (i64 o = 0; o < outer; ++o) {
    const i64 base = (o * channels + ch) * inner;
    for (i64 i = 0; i < inner; ++i) {
      dx[base + i] = (dy[base + i] - gradMean - (x[base + i] - mean) * k) * outScale;
    }
  }
}

// inner == 1 ([outer, channels] rows, BatchNorm1d on [N, C]): a channel's elements are strided,
// so channels [c0, c1) go together, row by row, vectorised across channels.
LERNEN_CLONES
void rowStats(const float* __restrict x, i64 outer, i64 channels, i64 c0, i64 c1,
              double* __restrict mean, double* __restrict var) {
  const i64 nc = c1 - c0;
  for (i64 c = 0; c < nc; ++c) mean[c] = 0.0, var[c] = 0.0;
  for (i64 o = 0; o < outer; ++o) {
    const float* r = x + o * channels + c0;
    for (i64 c = 0; c < nc; ++c) mean[c] += double(r[c]);
  }
  for (i64 c = 0; c < nc; ++c) mean[c] /= double(outer);
  for (i64 o = 0; o < outer; ++o) {
    const float* r = x + o * channels + c0;
    for (i64 c = 0; c < nc; ++c) {
      const double d = double(r[c]) - mean[c];
      var[c] += d * d;
    }
  }
  for (i64 c = 0; c < nc; ++c) var[c] /= double(outer);
}

LERNEN_CLONES
void rowAffine(const float* __restrict x, i64 outer, i64 channels, i64 c0, i64 c1,
               const float* __restrict scale, const float* __restrict shift,
               float* __restrict out) {  // scale, shift: indexed by ch − c0
  for (i64 o = 0; o < outer; ++o) {
    const i64 base = o * channels;
    for (i64 ch = c0; ch < c1; ++ch) {
      out[base + ch] = x[base + ch] * scale[ch - c0] + shift[ch - c0];
    }
  }
}

LERNEN_CLONES
void rowGradSums(const float* __restrict x, const float* __restrict dy, i64 outer, i64 channels,
                 i64 c0, i64 c1, const float* __restrict mean, double* __restrict sumDy,
                 double* __restrict dot) {
  const i64 nc = c1 - c0;
  for (i64 c = 0; c < nc; ++c) sumDy[c] = 0.0, dot[c] = 0.0;
  for (i64 o = 0; o < outer; ++o) {
    const float* xr = x + o * channels + c0;
    const float* gr = dy + o * channels + c0;
    for (i64 c = 0; c < nc; ++c) {
      const double g = gr[c];
      sumDy[c] += g;
      dot[c] += g * (double(xr[c]) - double(mean[c0 + c]));
    }
  }
}

LERNEN_CLONES
void rowGradInput(const float* __restrict x, const float* __restrict dy, i64 outer, i64 channels,
                  i64 c0, i64 c1, const float* __restrict mean, const float* __restrict gradMean,
                  const float* __restrict k, const float* __restrict outScale,
                  float* __restrict dx) {  // gradMean, k, outScale: indexed by ch − c0
  for (i64 o = 0; o < outer; ++o) {
    const i64 base = o * channels;
    for (i64 ch = c0; ch < c1; ++ch) {
      const i64 c = ch - c0;
      dx[base + ch] = (dy[base + ch] - gradMean[c] - (x[base + ch] - mean[ch]) * k[c]) * outScale[c];
    }
  }
}

}  // namespace

void batchNorm(const float* x, i64 outer, i64 channels, i64 inner, const float* gamma,
               const float* beta, float* runningMean, float* runningVar, bool training,
               float momentum, float eps, float* out, float* saveMean, float* saveInvStd) {
  if (channels == 0) return;
  const i64 count = outer * inner;  // ≥ 2 when training, checked by the caller
  const double mom = momentum;
  // Channel ch's scale and shift, from its batch statistics (training: also saved and folded
  // into the running statistics) or its running statistics (evaluation).
  auto coefficients = [&](i64 ch, double mean, double var, float* scale, float* shift) {
    double invStd;
    if (training) {
      invStd = 1.0 / std::sqrt(var + double(eps));
      saveMean[ch] = float(mean);
      saveInvStd[ch] = float(invStd);
      runningMean[ch] = float((1.0 - mom) * runningMean[ch] + mom * mean);
      runningVar[ch] =
          float((1.0 - mom) * runningVar[ch] + mom * var * double(count) / double(count - 1));
    } else {
      mean = runningMean[ch];
      invStd = 1.0 / std::sqrt(double(runningVar[ch]) + double(eps));
    }
    const double g = gamma ? gamma[ch] : 1.0, b = beta ? beta[ch] : 0.0;
    *scale = float(invStd * g);
    *shift = float(b - mean * invStd * g);
  };
  if (inner == 1) {
    parallelFor(channels, channelGrain(outer), [&](i64 c0, i64 c1) {
      for (i64 b0 = c0; b0 < c1; b0 += kChunk) {
        const i64 b1 = b0 + kChunk < c1 ? b0 + kChunk : c1;
        double mean[kChunk], var[kChunk];
        float scale[kChunk], shift[kChunk];
        if (training) rowStats(x, outer, channels, b0, b1, mean, var);
        for (i64 ch = b0; ch < b1; ++ch) {
          coefficients(ch, training ? mean[ch - b0] : 0.0, training ? var[ch - b0] : 0.0,
                       &scale[ch - b0], &shift[ch - b0]);
        }
        rowAffine(x, outer, channels, b0, b1, scale, shift, out);
      }
    });
    return;
  }
  parallelFor(channels, channelGrain(count), [&](i64 c0, i64 c1) {
    for (i64 ch = c0; ch < c1; ++ch) {
      const Stats st = training ? channelStats(x, outer, channels, inner, ch) : Stats{0.0, 0.0};
      float scale, shift;
      coefficients(ch, st.mean, st.var, &scale, &shift);
      channelAffine(x, outer, channels, inner, ch, scale, shift, out);
    }
  });
}

void batchNormBackward(const float* x, const float* dy, i64 outer, i64 channels, i64 inner,
                       const float* gamma, const float* saveMean, const float* saveInvStd,
                       float* dx, float* dgamma, float* dbeta) {
  if (channels == 0) return;
  const i64 count = outer * inner;
  const double m = count > 0 ? double(count) : 1.0;
  // dx = (dy − Σdy/M − (x − mean)·Σ(dy·(x − mean))·invStd²/M)·invStd·γ   (PyTorch CPU form);
  // coefficients() turns channel ch's two sums into gradMean, k and outScale.
  auto coefficients = [&](i64 ch, double sumDy, double dot, float* gradMean, float* k,
                          float* outScale) {
    const double invStd = saveInvStd[ch];
    if (dgamma) dgamma[ch] += float(dot * invStd);
    if (dbeta) dbeta[ch] += float(sumDy);
    *gradMean = float(sumDy / m);
    *k = float(dot * invStd * invStd / m);
    *outScale = float(invStd * (gamma ? double(gamma[ch]) : 1.0));
  };
  if (inner == 1) {
    parallelFor(channels, channelGrain(outer), [&](i64 c0, i64 c1) {
      for (i64 b0 = c0; b0 < c1; b0 += kChunk) {
        const i64 b1 = b0 + kChunk < c1 ? b0 + kChunk : c1;
        double sumDy[kChunk], dot[kChunk];
        float gradMean[kChunk], k[kChunk], outScale[kChunk];
        rowGradSums(x, dy, outer, channels, b0, b1, saveMean, sumDy, dot);
        for (i64 ch = b0; ch < b1; ++ch) {
          const i64 c = ch - b0;
          coefficients(ch, sumDy[c], dot[c], &gradMean[c], &k[c], &outScale[c]);
        }
        rowGradInput(x, dy, outer, channels, b0, b1, saveMean, gradMean, k, outScale, dx);
      }
    });
    return;
  }
  parallelFor(channels, channelGrain(count), [&](i64 c0, i64 c1) {
    for (i64 ch = c0; ch < c1; ++ch) {
      double sumDy, dot;
      channelGradSums(x, dy, outer, channels, inner, ch, saveMean[ch], &sumDy, &dot);
      float gradMean, k, outScale;
      coefficients(ch, sumDy, dot, &gradMean, &k, &outScale);
      channelGradInput(x, dy, outer, channels, inner, ch, saveMean[ch], gradMean, k, outScale, dx);
    }
  });
}

}  // namespace lernen
