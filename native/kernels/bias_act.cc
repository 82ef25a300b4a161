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

LERNEN_CLONES
void biasActBackward(const float* y, const float* dy, i64 outer, i64 channels, i64 inner,
                     Activation act, float* dx, float* dbias) {
  const bool relu = act == Activation::Relu;
  for (i64 o = 0; o < outer; ++o) {
    for (i64 ch = 0; ch < (inner == 1 ? 1 : channels); ++ch) {
      // inner == 1: one row of `channels`; else one plane of `inner` for channel ch.
      const i64 len = inner == 1 ? channels : inner;
      const i64 base = inner == 1 ? o * channels : (o * channels + ch) * inner;
      const float* yr = y + base;
      const float* gr = dy + base;
      float* xr = dx + base;  // may equal gr
      if (relu) {
        for (i64 i = 0; i < len; ++i) xr[i] = yr[i] > 0.0f ? gr[i] : 0.0f;
      } else if (xr != gr) {
        for (i64 i = 0; i < len; ++i) xr[i] = gr[i];
      }
      if (dbias == nullptr) continue;
      if (inner == 1) {
        for (i64 i = 0; i < len; ++i) dbias[i] += xr[i];
      } else {
        dbias[ch] += sumRun(len, xr);
      }
    }
  }
}

}  // namespace lernen
