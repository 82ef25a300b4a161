// Fused 2-D convolution over a whole batch: batch-level im2col into a per-thread scratch
// buffer laid out [c·kh·kw, n·oh·ow], ONE GEMM per pass (forward, weight gradient, input
// gradient), and the NCHW scatter fused with bias + activation.
//
// Scratch memory is thread_local and grows to the largest call seen on that thread (each
// worker_thread has its own), so steady-state training does no allocation and no page faults.
#include <memory>

#include "kernels.h"
#include "loops.h"

namespace lernen {

namespace {

struct Scratch {
  std::unique_ptr<float[]> p;
  i64 size = 0;
  float* get(i64 n) {
    if (n > size) {
      p.reset();  // free first: peak memory is the new size, not old + new
      p.reset(new float[static_cast<size_t>(n)]);
      size = n;
    }
    return p.get();
  }
};

thread_local Scratch colScratch;
thread_local Scratch matScratch;

// The output columns ox whose input column ix = ox·stride − pad + kj lies in [0, w): [lo, hi).
void validSpan(i64 w, i64 ow, i64 stride, i64 pad, i64 kj, i64* lo, i64* hi) {
  const i64 first = pad - kj;
  const i64 last = w - 1 + pad - kj;
  i64 l = first > 0 ? (first + stride - 1) / stride : 0;
  i64 h = last < 0 ? 0 : last / stride + 1;
  if (h > ow) h = ow;
  if (l > h) l = h;
  *lo = l;
  *hi = h;
}

// col[r, s·ohw + p] for r = (ci·kh + ki)·kw + kj: row stride n·ohw.
LERNEN_CLONES
void im2colBatch(const float* __restrict x, const Window2d& g, float* __restrict col) {
  const i64 plane = g.h * g.w, ohw = g.oh * g.ow, ld = g.n * ohw;
  for (i64 ci = 0; ci < g.c; ++ci) {
    for (i64 ki = 0; ki < g.kh; ++ki) {
      for (i64 kj = 0; kj < g.kw; ++kj) {
        float* row = col + ((ci * g.kh + ki) * g.kw + kj) * ld;
        i64 lo, hi;
        validSpan(g.w, g.ow, g.strideW, g.padW, kj, &lo, &hi);
        for (i64 s = 0; s < g.n; ++s) {
          const float* xp = x + (s * g.c + ci) * plane;
          float* seg = row + s * ohw;
          for (i64 oy = 0; oy < g.oh; ++oy) {
            float* r = seg + oy * g.ow;
            const i64 iy = oy * g.strideH - g.padH + ki;
            if (iy < 0 || iy >= g.h) {
              zero(g.ow, r);
              continue;
            }
            for (i64 ox = 0; ox < lo; ++ox) r[ox] = 0.0f;
            const float* src = xp + iy * g.w - g.padW + kj;
            if (g.strideW == 1) {
              for (i64 ox = lo; ox < hi; ++ox) r[ox] = src[ox];
            } else {
              for (i64 ox = lo; ox < hi; ++ox) r[ox] = src[ox * g.strideW];
            }
            for (i64 ox = hi; ox < g.ow; ++ox) r[ox] = 0.0f;
          }
        }
      }
    }
  }
}

LERNEN_CLONES
void col2imBatch(const float* __restrict col, const Window2d& g, float* __restrict dx) {
  const i64 plane = g.h * g.w, ohw = g.oh * g.ow, ld = g.n * ohw;
  zero(g.n * g.c * plane, dx);
  for (i64 ci = 0; ci < g.c; ++ci) {
    for (i64 ki = 0; ki < g.kh; ++ki) {
      for (i64 kj = 0; kj < g.kw; ++kj) {
        const float* row = col + ((ci * g.kh + ki) * g.kw + kj) * ld;
        i64 lo, hi;
        validSpan(g.w, g.ow, g.strideW, g.padW, kj, &lo, &hi);
        for (i64 s = 0; s < g.n; ++s) {
          float* xp = dx + (s * g.c + ci) * plane;
          const float* seg = row + s * ohw;
          for (i64 oy = 0; oy < g.oh; ++oy) {
            const i64 iy = oy * g.strideH - g.padH + ki;
            if (iy < 0 || iy >= g.h) continue;
            const float* r = seg + oy * g.ow;
            float* dst = xp + iy * g.w - g.padW + kj;
            if (g.strideW == 1) {
              for (i64 ox = lo; ox < hi; ++ox) dst[ox] += r[ox];
            } else {
              for (i64 ox = lo; ox < hi; ++ox) dst[ox * g.strideW] += r[ox];
            }
          }
        }
      }
    }
  }
}

// out[s, o, p] = act(mat[o, s·ohw + p] + bias[o])
LERNEN_CLONES
void scatterBiasAct(const float* __restrict mat, const float* __restrict bias, i64 n, i64 oc,
                    i64 ohw, Activation act, float* __restrict out) {
  const i64 ld = n * ohw;
  for (i64 s = 0; s < n; ++s) {
    for (i64 o = 0; o < oc; ++o) {
      const float* src = mat + o * ld + s * ohw;
      float* dst = out + (s * oc + o) * ohw;
      const float b = bias ? bias[o] : 0.0f;
      if (act == Activation::Relu) {
        for (i64 p = 0; p < ohw; ++p) {
          const float v = src[p] + b;
          dst[p] = v > 0.0f ? v : 0.0f;
        }
      } else {
        for (i64 p = 0; p < ohw; ++p) dst[p] = src[p] + b;
      }
    }
  }
}

// mat[o, s·ohw + p] = dy[s, o, p]·act'(y[s, o, p])
LERNEN_CLONES
void gatherGrad(const float* __restrict dy, const float* __restrict y, i64 n, i64 oc, i64 ohw,
                Activation act, float* __restrict mat) {
  const i64 ld = n * ohw;
  for (i64 s = 0; s < n; ++s) {
    for (i64 o = 0; o < oc; ++o) {
      const float* g = dy + (s * oc + o) * ohw;
      float* dst = mat + o * ld + s * ohw;
      if (act == Activation::Relu) {
        const float* yy = y + (s * oc + o) * ohw;
        for (i64 p = 0; p < ohw; ++p) dst[p] = yy[p] > 0.0f ? g[p] : 0.0f;
      } else {
        for (i64 p = 0; p < ohw; ++p) dst[p] = g[p];
      }
    }
  }
}

}  // namespace

void conv2d(const float* x, const Window2d& g, const float* weight, i64 oc, const float* bias,
            Activation act, float* out) {
  const i64 ohw = g.oh * g.ow, cols = g.n * ohw, ckk = g.c * g.kh * g.kw;
  if (g.n == 0 || oc == 0 || ohw == 0) return;
  float* col = colScratch.get(ckk * cols);
  float* mat = matScratch.get(oc * cols);
  im2colBatch(x, g, col);
  // mat [oc, n·ohw] = W [oc, ckk] · col [ckk, n·ohw]
  gemm(false, false, /* m= */ oc, /* n= */ cols, /* k= */ ckk, 1.0f, weight, col, 0.0f, mat);
  scatterBiasAct(mat, bias, g.n, oc, ohw, act, out);
}

void conv2dBackward(const float* x, const Window2d& g, const float* weight, i64 oc,
                    const float* y, const float* dy, Activation act, float* dx, float* dw,
                    float* db) {
  const i64 ohw = g.oh * g.ow, cols = g.n * ohw, ckk = g.c * g.kh * g.kw;
  if (g.n == 0 || oc == 0 || ohw == 0) {
    if (dx) zero(g.n * g.c * g.h * g.w, dx);
    return;
  }
  float* mat = matScratch.get(oc * cols);
  gatherGrad(dy, y, g.n, oc, ohw, act, mat);
  if (db) {
    for (i64 o = 0; o < oc; ++o) db[o] += sumRun(cols, mat + o * cols);
  }
  if (!dw && !dx) return;
  float* col = colScratch.get(ckk * cols);
  if (dw) {
    im2colBatch(x, g, col);
    // dW [oc, ckk] += mat [oc, n·ohw] · colᵀ
    gemm(false, true, /* m= */ oc, /* n= */ ckk, /* k= */ cols, 1.0f, mat, col, 1.0f, dw);
  }
  if (dx) {
    // dcol [ckk, n·ohw] = Wᵀ · mat, reusing the col scratch
    gemm(true, false, /* m= */ ckk, /* n= */ cols, /* k= */ oc, 1.0f, weight, mat, 0.0f, col);
    col2imBatch(col, g, dx);
  }
}

}  // namespace lernen
