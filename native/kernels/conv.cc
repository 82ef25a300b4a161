// im2col / col2im for a whole batch (convolution = im2col + one GEMM).
#include "kernels.h"
#include "loops.h"

namespace lernen {

namespace {

// The output columns ox whose input column ix = ox·stride − pad + kj lies in [0, w): [lo, hi).
struct Span {
  i64 lo, hi;
};
Span validSpan(i64 w, i64 ow, i64 stride, i64 pad, i64 kj) {
  const i64 first = pad - kj;             // smallest ox·stride allowed
  const i64 last = w - 1 + pad - kj;      // largest ox·stride allowed
  i64 lo = first > 0 ? (first + stride - 1) / stride : 0;
  i64 hi = last < 0 ? 0 : last / stride + 1;
  if (hi > ow) hi = ow;
  if (lo > hi) lo = hi;
  return {lo, hi};
}

}  // namespace

void im2col(const float* x, const Window2d& g, float* col) {
  const i64 plane = g.h * g.w, ohw = g.oh * g.ow, rows = g.c * g.kh * g.kw;
  for (i64 s = 0; s < g.n; ++s) {
    for (i64 ci = 0; ci < g.c; ++ci) {
      const float* xp = x + (s * g.c + ci) * plane;
      for (i64 ki = 0; ki < g.kh; ++ki) {
        for (i64 kj = 0; kj < g.kw; ++kj) {
          float* row = col + (s * rows + (ci * g.kh + ki) * g.kw + kj) * ohw;
          const Span sp = validSpan(g.w, g.ow, g.strideW, g.padW, kj);
          for (i64 oy = 0; oy < g.oh; ++oy) {
            float* r = row + oy * g.ow;
            const i64 iy = oy * g.strideH - g.padH + ki;
            if (iy < 0 || iy >= g.h) {
              zero(g.ow, r);
              continue;
            }
            for (i64 ox = 0; ox < sp.lo; ++ox) r[ox] = 0.0f;
            const i64 base = iy * g.w - g.padW + kj;  // ix = base' + ox·stride within the row
            if (g.strideW == 1) {
              for (i64 ox = sp.lo; ox < sp.hi; ++ox) r[ox] = xp[base + ox];
            } else {
              for (i64 ox = sp.lo; ox < sp.hi; ++ox) r[ox] = xp[base + ox * g.strideW];
            }
            for (i64 ox = sp.hi; ox < g.ow; ++ox) r[ox] = 0.0f;
          }
        }
      }
    }
  }
}

void col2im(const float* col, const Window2d& g, float* dx) {
  const i64 plane = g.h * g.w, ohw = g.oh * g.ow, rows = g.c * g.kh * g.kw;
  zero(g.n * g.c * plane, dx);
  for (i64 s = 0; s < g.n; ++s) {
    for (i64 ci = 0; ci < g.c; ++ci) {
      float* xp = dx + (s * g.c + ci) * plane;
      for (i64 ki = 0; ki < g.kh; ++ki) {
        for (i64 kj = 0; kj < g.kw; ++kj) {
          const float* row = col + (s * rows + (ci * g.kh + ki) * g.kw + kj) * ohw;
          const Span sp = validSpan(g.w, g.ow, g.strideW, g.padW, kj);
          for (i64 oy = 0; oy < g.oh; ++oy) {
            const i64 iy = oy * g.strideH - g.padH + ki;
            if (iy < 0 || iy >= g.h) continue;
            const float* r = row + oy * g.ow;
            const i64 base = iy * g.w - g.padW + kj;
            if (g.strideW == 1) {
              for (i64 ox = sp.lo; ox < sp.hi; ++ox) xp[base + ox] += r[ox];
            } else {
              for (i64 ox = sp.lo; ox < sp.hi; ++ox) xp[base + ox * g.strideW] += r[ox];
            }
          }
        }
      }
    }
  }
}

}  // namespace lernen
