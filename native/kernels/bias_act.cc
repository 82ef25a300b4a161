// Fused bias + activation over x viewed as [outer, channels, inner], and its backward.
#include "kernels.h"
#include "loops.h"
#include "parallel.h"

namespace lernen {

namespace {

// Items (rows, planes, channels) per thread: at least kElementGrain elements.
i64 grainOf(i64 perItem) {
  return perItem >= kElementGrain ? 1 : kElementGrain / (perItem > 0 ? perItem : 1);
}

// Rows [o0, o1) of the forward.
LERNEN_CLONES
void biasActRows(const float* x, const float* bias, i64 o0, i64 o1, i64 channels, i64 inner,
                 Activation act, float* out) {
  const bool relu = act == Activation::Relu;
  for (i64 o = o0; o < o1; ++o) {
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

// g = dy·relu'(y) for one run; dx may equal dy.
LERNEN_INLINE void reluGrad(i64 len, const float* y, const float* dy, float* dx) {
  for (i64 i = 0; i < len; ++i) {
    const float g = dy[i];  // an unconditional load, so the select vectorises
    dx[i] = y[i] > 0.0f ? g : 0.0f;
  }
}

// Channels [c0, c1) of the backward: every row (Linear) or plane (Conv) of those channels, in
// row order, so each dbias entry sums in the same order however the channels are split.
LERNEN_CLONES
void biasActBackwardChannels(const float* y, const float* dy, i64 outer, i64 channels, i64 inner,
                             Activation act, i64 c0, i64 c1, float* dx, float* dbias) {
  const bool relu = act == Activation::Relu;
  if (inner == 1) {  // Linear: rows of `channels` features, columns [c0, c1) of each
    const i64 len = c1 - c0;
    for (i64 r = 0; r < outer; ++r) {
      const i64 base = r * channels + c0;
      float* g = dx + base;
      if (relu) {
        reluGrad(len, y + base, dy + base, g);
      } else if (g != dy + base) {
        for (i64 i = 0; i < len; ++i) g[i] = dy[base + i];
      }
      if (dbias != nullptr) {
        float* db = dbias + c0;
        for (i64 i = 0; i < len; ++i) db[i] += g[i];
      }
    }
    return;
  }
  for (i64 o = 0; o < outer; ++o) {  // Conv: planes of `inner` pixels
    for (i64 ch = c0; ch < c1; ++ch) {
      const i64 base = (o * channels + ch) * inner;
      float* g = dx + base;
      if (relu) {
        reluGrad(inner, y + base, dy + base, g);
      } else if (g != dy + base) {
        for (i64 i = 0; i < inner; ++i) g[i] = dy[base + i];
      }
      if (dbias != nullptr) dbias[ch] += sumRun(inner, g);
    }
  }
}

}  // namespace

void biasAct(const float* x, const float* bias, i64 outer, i64 channels, i64 inner,
             Activation act, float* out) {
  parallelFor(outer, grainOf(channels * inner), [&](i64 o0, i64 o1) {
    biasActRows(x, bias, o0, o1, channels, inner, act, out);
  });
}

void biasActBackward(const float* y, const float* dy, i64 outer, i64 channels, i64 inner,
                     Activation act, float* dx, float* dbias) {
  parallelFor(channels, grainOf(outer * inner), [&](i64 c0, i64 c1) {
    biasActBackwardChannels(y, dy, outer, channels, inner, act, c0, c1, dx, dbias);
  });
}

}  // namespace lernen
