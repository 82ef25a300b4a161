// 2-D max / average pooling over [n, c, h, w] and their backwards.
#include "kernels.h"
#include "loops.h"

namespace lernen {

namespace {

// The part of a window that lies inside the input: rows [y0, y1), columns [x0, x1).
struct Clip {
  i64 y0, y1, x0, x1;
};
inline Clip clipWindow(const Window2d& g, i64 oy, i64 ox) {
  i64 y0 = oy * g.strideH - g.padH, x0 = ox * g.strideW - g.padW;
  i64 y1 = y0 + g.kh, x1 = x0 + g.kw;
  if (y0 < 0) y0 = 0;
  if (x0 < 0) x0 = 0;
  if (y1 > g.h) y1 = g.h;
  if (x1 > g.w) x1 = g.w;
  return {y0, y1, x0, x1};
}

}  // namespace

void maxPool2d(const float* x, const Window2d& g, float* out, std::int32_t* idx) {
  const i64 plane = g.h * g.w, ohw = g.oh * g.ow;
  for (i64 p = 0; p < g.n * g.c; ++p) {
    const float* xp = x + p * plane;
    float* op = out + p * ohw;
    std::int32_t* ip = idx + p * ohw;
    for (i64 oy = 0; oy < g.oh; ++oy) {
      for (i64 ox = 0; ox < g.ow; ++ox) {
        const Clip w = clipWindow(g, oy, ox);
        // Padding is −∞, so only the clipped window matters; it is never empty (pad ≤ k/2).
        // The first maximum in raster order wins; the first NaN wins over everything.
        i64 at = w.y0 * g.w + w.x0;
        float best = xp[at];
        for (i64 iy = w.y0; iy < w.y1 && best == best; ++iy) {
          for (i64 ix = w.x0; ix < w.x1; ++ix) {
            const float v = xp[iy * g.w + ix];
            if (v > best || v != v) {
              best = v, at = iy * g.w + ix;
              if (v != v) break;
            }
          }
        }
        op[oy * g.ow + ox] = best;
        ip[oy * g.ow + ox] = static_cast<std::int32_t>(at);
      }
    }
  }
}

void maxPool2dBackward(const float* dy, const std::int32_t* idx, i64 planes, i64 hw, i64 ohw,
                       float* dx) {
  zero(planes * hw, dx);
  for (i64 p = 0; p < planes; ++p) {
    float* xp = dx + p * hw;
    const float* gp = dy + p * ohw;
    const std::int32_t* ip = idx + p * ohw;
    for (i64 o = 0; o < ohw; ++o) xp[ip[o]] += gp[o];
  }
}

void avgPool2d(const float* x, const Window2d& g, float* out) {
  const i64 plane = g.h * g.w, ohw = g.oh * g.ow;
  // count_include_pad: the divisor is the full window, kh·kw (a floor-mode window never
  // reaches past the padded input).
  const float div = static_cast<float>(g.kh * g.kw);
  for (i64 p = 0; p < g.n * g.c; ++p) {
    const float* xp = x + p * plane;
    float* op = out + p * ohw;
    for (i64 oy = 0; oy < g.oh; ++oy) {
      for (i64 ox = 0; ox < g.ow; ++ox) {
        const Clip w = clipWindow(g, oy, ox);
        float s = 0.0f;
        for (i64 iy = w.y0; iy < w.y1; ++iy) {
          for (i64 ix = w.x0; ix < w.x1; ++ix) s += xp[iy * g.w + ix];
        }
        op[oy * g.ow + ox] = s / div;
      }
    }
  }
}

void avgPool2dBackward(const float* dy, const Window2d& g, float* dx) {
  const i64 plane = g.h * g.w, ohw = g.oh * g.ow;
  const float div = static_cast<float>(g.kh * g.kw);
  zero(g.n * g.c * plane, dx);
  for (i64 p = 0; p < g.n * g.c; ++p) {
    float* xp = dx + p * plane;
    const float* gp = dy + p * ohw;
    for (i64 oy = 0; oy < g.oh; ++oy) {
      for (i64 ox = 0; ox < g.ow; ++ox) {
        const Clip w = clipWindow(g, oy, ox);
        const float v = gp[oy * g.ow + ox] / div;
        for (i64 iy = w.y0; iy < w.y1; ++iy) {
          for (i64 ix = w.x0; ix < w.x1; ++ix) xp[iy * g.w + ix] += v;
        }
      }
    }
  }
}

}  // namespace lernen
