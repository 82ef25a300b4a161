// Softmax / log-softmax along the middle axis of [outer, dim, inner], its backward, and the
// fused softmax + cross-entropy (with label smoothing) over [n, c].
#include <cmath>
#include <vector>

#include "kernels.h"
#include "loops.h"

namespace lernen {

namespace {

LERNEN_INLINE float rowMax(i64 n, const float* x) {
  float m = x[0];
  for (i64 i = 1; i < n; ++i) m = x[i] > m ? x[i] : m;  // a NaN anywhere reaches the output
  return m;                                               // through exp(x − m) anyway
}

// out[j] = exp(x[j] − m) for one row; returns Σ out.
LERNEN_CLONES float expShift(i64 n, const float* __restrict x, float m, float* __restrict out) {
  for (i64 j = 0; j < n; ++j) out[j] = std::exp(x[j] - m);
  return sumRun(n, out);
}

// One contiguous row (inner == 1) of softmax / log-softmax.
void softmaxRow(i64 dim, const float* x, float* out, bool log) {
  const float m = rowMax(dim, x);
  const float s = expShift(dim, x, m, out);
  if (log) {
    const float ls = std::log(s);
    for (i64 j = 0; j < dim; ++j) out[j] = (x[j] - m) - ls;
  } else {
    for (i64 j = 0; j < dim; ++j) out[j] /= s;
  }
}

}  // namespace

void softmax(const float* x, i64 outer, i64 dim, i64 inner, float* out, bool log) {
  if (outer == 0 || dim == 0 || inner == 0) return;
  if (inner == 1) {
    for (i64 o = 0; o < outer; ++o) softmaxRow(dim, x + o * dim, out + o * dim, log);
    return;
  }
  // Strided case: work on whole rows of `inner` elements so every loop is unit-stride.
  std::vector<float> scratch(static_cast<size_t>(2 * inner));
  float* mx = scratch.data();
  float* sm = mx + inner;
  for (i64 o = 0; o < outer; ++o) {
    const float* xo = x + o * dim * inner;
    float* oo = out + o * dim * inner;
    for (i64 i = 0; i < inner; ++i) mx[i] = xo[i], sm[i] = 0.0f;
    for (i64 d = 1; d < dim; ++d) {
      const float* row = xo + d * inner;
      for (i64 i = 0; i < inner; ++i) mx[i] = row[i] > mx[i] ? row[i] : mx[i];
    }
    for (i64 d = 0; d < dim; ++d) {
      const float* row = xo + d * inner;
      float* orow = oo + d * inner;
      for (i64 i = 0; i < inner; ++i) {
        orow[i] = std::exp(row[i] - mx[i]);
        sm[i] += orow[i];
      }
    }
    if (log) {
      for (i64 i = 0; i < inner; ++i) sm[i] = std::log(sm[i]);
      for (i64 d = 0; d < dim; ++d) {
        const float* row = xo + d * inner;
        float* orow = oo + d * inner;
        for (i64 i = 0; i < inner; ++i) orow[i] = (row[i] - mx[i]) - sm[i];
      }
    } else {
      for (i64 d = 0; d < dim; ++d) {
        float* orow = oo + d * inner;
        for (i64 i = 0; i < inner; ++i) orow[i] /= sm[i];
      }
    }
  }
}

void softmaxBackward(const float* y, const float* dy, i64 outer, i64 dim, i64 inner, float* dx,
                     bool log) {
  if (outer == 0 || dim == 0 || inner == 0) return;
  if (inner == 1) {
    for (i64 o = 0; o < outer; ++o) {
      const float* yo = y + o * dim;
      const float* go = dy + o * dim;
      float* xo = dx + o * dim;  // may equal go: each element is read before it is written
      if (log) {
        const float s = sumRun(dim, go);
        for (i64 j = 0; j < dim; ++j) xo[j] = go[j] - std::exp(yo[j]) * s;
      } else {
        const float s = dotRun(dim, go, yo);
        for (i64 j = 0; j < dim; ++j) xo[j] = yo[j] * (go[j] - s);
      }
    }
    return;
  }
  std::vector<float> sums(static_cast<size_t>(inner));
  float* s = sums.data();
  for (i64 o = 0; o < outer; ++o) {
    const float* yo = y + o * dim * inner;
    const float* go = dy + o * dim * inner;
    float* xo = dx + o * dim * inner;
    for (i64 i = 0; i < inner; ++i) s[i] = 0.0f;
    for (i64 d = 0; d < dim; ++d) {
      const i64 r = d * inner;
      if (log) {
        for (i64 i = 0; i < inner; ++i) s[i] += go[r + i];
      } else {
        for (i64 i = 0; i < inner; ++i) s[i] += go[r + i] * yo[r + i];
      }
    }
    for (i64 d = 0; d < dim; ++d) {
      const i64 r = d * inner;
      if (log) {
        for (i64 i = 0; i < inner; ++i) xo[r + i] = go[r + i] - std::exp(yo[r + i]) * s[i];
      } else {
        for (i64 i = 0; i < inner; ++i) xo[r + i] = yo[r + i] * (go[r + i] - s[i]);
      }
    }
  }
}

void softmaxCrossEntropy(const float* logits, const std::int32_t* targets, i64 n, i64 c,
                         float labelSmoothing, float* loss, float* probs) {
  const float eps = labelSmoothing;
  const float fc = static_cast<float>(c);
  for (i64 i = 0; i < n; ++i) {
    const float* x = logits + i * c;
    float* p = probs + i * c;
    const float m = rowMax(c, x);
    const float s = expShift(c, x, m, p);
    const float ls = std::log(s);
    for (i64 j = 0; j < c; ++j) p[j] /= s;
    // loss = −Σ_j q_j·log p_j with q = (1−ε)·onehot + ε/c and log p_j = (x_j − m) − log s.
    const float logpT = (x[targets[i]] - m) - ls;
    if (eps == 0.0f) {
      loss[i] = -logpT;
    } else {
      float shifted = 0.0f;
      for (i64 j = 0; j < c; ++j) shifted += x[j] - m;
      const float sumLogp = shifted - fc * ls;
      loss[i] = -((1.0f - eps) * logpT + (eps / fc) * sumLogp);
    }
  }
}

void softmaxCrossEntropyBackward(const float* probs, const std::int32_t* targets,
                                 const float* dloss, i64 n, i64 c, float labelSmoothing,
                                 float* dlogits) {
  const float off = labelSmoothing / static_cast<float>(c);
  const float onT = (1.0f - labelSmoothing) + off;
  for (i64 i = 0; i < n; ++i) {
    const float g = dloss[i];
    const float* p = probs + i * c;
    float* d = dlogits + i * c;  // may equal p
    const i64 t = targets[i];
    const float pt = p[t];
    for (i64 j = 0; j < c; ++j) d[j] = g * (p[j] - off);
    d[t] = g * (pt - onT);
  }
}

}  // namespace lernen
