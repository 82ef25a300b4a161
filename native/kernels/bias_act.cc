// Fused bias + activation over x viewed as [outer, channels, inner], and its backward.
#include "kernels.h"
#include "loops.h"

namespace lernen {

LERNEN_CLONES
void biasAct(const float* x, const float* bias, i64 outer, i64 channels, i64 inner,
             Activation act, float* out) {
  const bool relu = act == Activation::Relu;
  for (i64 o = 0; o < outer; ++o) {
    if (inner == 1) {  // Linear: a row of `channels` features plus the bias row
      const float* xr = x + o * channels;
      float* yr = out + o * channels;
      if (relu) {
        for (i64 ch = 0; ch < channels; ++ch) {
          const float v = xr[ch] + bias[ch];
          yr[ch] = v < 0.0f ? 0.0f : v;
        }
      } else {
        for (i64 ch = 0; ch < channels; ++ch) yr[ch] = xr[ch] + bias[ch];
      }
      continue;
    }
    for (i64 ch = 0; ch < channels; ++ch) {  // Conv: a plane of `inner` pixels plus one bias
      const i64 base = (o * channels + ch) * inner;
      const float* xr = x + base;
      float* yr = out + base;
      const float b = bias[ch];
      if (relu) {
        for (i64 i = 0; i < inner; ++i) {
          const float v = xr[i] + b;
          yr[i] = v < 0.0f ? 0.0f : v;
        }
      } else {
        for (i64 i = 0; i < inner; ++i) yr[i] = xr[i] + b;
      }
    }
  }
}

namespace {

// g = dy·relu'(y) for one run; dx may equal dy.
LERNEN_INLINE void reluGrad(i64 len, const float* y, const float* dy, float* dx) {
  for (i64 i = 0; i < len; ++i) {
    const float g = dy[i];  // an unconditional load, so the select vectorises
    dx[i] = y[i] > 0.0f ? g : 0.0f;
  }
}

}  // namespace

LERNEN_CLONES
void biasActBackward(const float* y, const float* dy, i64 outer, i64 channels, i64 inner,
                     Activation act, float* dx, float* dbias) {
  const bool relu = act == Activation::Relu;
  // Rows of `channels` (Linear, inner == 1) or planes of `inner` (Conv), one at a time.
  const i64 len = inner == 1 ? channels : inner;
  const i64 runs = inner == 1 ? outer : outer * channels;
  for (i64 r = 0; r < runs; ++r) {
    const i64 base = r * len;
    float* g = dx + base;
    if (relu) {
      reluGrad(len, y + base, dy + base, g);
    } else if (g != dy + base) {
      for (i64 i = 0; i < len; ++i) g[i] = dy[base + i];
    }
    if (dbias == nullptr) continue;
    if (inner == 1) {
      for (i64 i = 0; i < len; ++i) dbias[i] += g[i];
    } else {
      dbias[r % channels] += sumRun(len, g);
    }
  }
}

}  // namespace lernen
