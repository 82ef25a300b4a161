// 2-D max / average pooling over [n, c, h, w] and their backwards.
#include "kernels.h"
#include "loops.h"
#include "parallel.h"

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

namespace {

// Planes [p0, p1) of maxPool2d, any window.
LERNEN_CLONES
void maxPoolPlanes(const float* __restrict x, const Window2d& g, i64 p0, i64 p1,
                   float* __restrict out, std::int32_t* __restrict idx) {
  const i64 plane = g.h * g.w, ohw = g.oh * g.ow;
  for (i64 p = p0; p < p1; ++p) {
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

// The same for 2×2 windows with stride 2 and no padding (the common case), branch-free: a
// candidate replaces the best so far when it is larger, or NaN, unless the best already is NaN
// (the first maximum in raster order wins; the first NaN wins over everything).
LERNEN_CLONES
void maxPool2x2Planes(const float* __restrict x, const Window2d& g, i64 p0, i64 p1,
                      float* __restrict out, std::int32_t* __restrict idx) {
  const i64 plane = g.h * g.w, ohw = g.oh * g.ow;
  for (i64 p = p0; p < p1; ++p) {
    const float* xp = x + p * plane;
    float* op = out + p * ohw;
    std::int32_t* ip = idx + p * ohw;
    for (i64 oy = 0; oy < g.oh; ++oy) {
      const float* r0 = xp + 2 * oy * g.w;
      const float* r1 = r0 + g.w;
      const std::int32_t base = static_cast<std::int32_t>(2 * oy * g.w);
      const std::int32_t w = static_cast<std::int32_t>(g.w);
      for (i64 ox = 0; ox < g.ow; ++ox) {
        const std::int32_t c = static_cast<std::int32_t>(2 * ox);
        float best = r0[2 * ox];
        std::int32_t at = base + c;
        const float cand[3] = {r0[2 * ox + 1], r1[2 * ox], r1[2 * ox + 1]};
        const std::int32_t where[3] = {base + c + 1, base + w + c, base + w + c + 1};
        for (int k = 0; k < 3; ++k) {
          const float v = cand[k];
          const bool take = best == best && (v > best || v != v);
          best = take ? v : best;
          at = take ? where[k] : at;
        }
        op[oy * g.ow + ox] = best;
        ip[oy * g.ow + ox] = at;
      }
    }
  }
}

// Planes [p0, p1) of maxPool2dBackward: zeros, then dx[plane, idx[o]] += dy[o].
LERNEN_CLONES
void maxPoolBackwardPlanes(const float* __restrict dy, const std::int32_t* __restrict idx,
                           i64 hw, i64 ohw, i64 p0, i64 p1, float* __restrict dx) {
  for (i64 p = p0; p < p1; ++p) {
    float* xp = dx + p * hw;
    const float* gp = dy + p * ohw;
    const std::int32_t* ip = idx + p * ohw;
    zero(hw, xp);
    for (i64 o = 0; o < ohw; ++o) xp[ip[o]] += gp[o];
  }
}

/** Planes per thread so each gets at least ~16K floats of work. */
inline i64 planeGrain(i64 floatsPerPlane) {
  const i64 f = floatsPerPlane > 0 ? floatsPerPlane : 1;
  return f >= (i64{1} << 14) ? 1 : (i64{1} << 14) / f;
}

}  // namespace

void maxPool2d(const float* x, const Window2d& g, float* out, std::int32_t* idx) {
  const bool twoByTwo = g.kh == 2 && g.kw == 2 && g.strideH == 2 && g.strideW == 2 &&
                        g.padH == 0 && g.padW == 0;
  parallelFor(g.n * g.c, planeGrain(g.h * g.w), [&](i64 p0, i64 p1) {
    if (twoByTwo) {
      maxPool2x2Planes(x, g, p0, p1, out, idx);
    } else {
      maxPoolPlanes(x, g, p0, p1, out, idx);
    }
  });
}

void maxPool2dBackward(const float* dy, const std::int32_t* idx, i64 planes, i64 hw, i64 ohw,
                       float* dx) {
  parallelFor(planes, planeGrain(hw), [&](i64 p0, i64 p1) {
    maxPoolBackwardPlanes(dy, idx, hw, ohw, p0, p1, dx);
  });
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
