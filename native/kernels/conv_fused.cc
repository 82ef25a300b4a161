// Fused 2-D convolution over a whole batch, one sample at a time: im2col of the sample into a
// thread-local column matrix [c·kh·kw, oh·ow], ONE GEMM per pass (forward, weight gradient, input
// gradient) and the bias + activation epilogue in place.
//
// Why per sample: a whole-batch column matrix (42 MB for the MNIST CNN's second convolution at
// batch 64) lives in DRAM; written by im2col, read by the GEMM, it costs two trips through
// memory. One sample's (0.66 MB) stays in the core's L2 between im2col and the GEMM.
//
// Threads: data-parallel. Each thread of the kernel team (parallel.h) takes its own samples
// (backward: groups of kGroup samples) and runs the whole pipeline on them with one-threaded
// GEMMs, so one fork/join serves a whole pass, nothing waits on OpenBLAS's threads and every
// memory-bound step runs in parallel. Results do not depend on the number of threads: every
// output element is computed by one thread in a fixed order, and the weight and bias gradients
// are summed per group, then over the groups in order.
//
// Scratch memory is thread_local and grows to the largest sample seen on that thread, so
// steady-state training does no allocation and no page faults.
#include <atomic>
#include <memory>
#include <new>

#include "kernels.h"
#include "loops.h"
#include "parallel.h"

namespace lernen {

namespace {

struct Scratch {
  std::unique_ptr<float[]> p;
  i64 size = 0;
  /** At least n floats, or nullptr when out of memory (never throws: it runs on helpers too). */
  float* tryGet(i64 n) {
    if (n > size) {
      p.reset();  // free first: peak memory is the new size, not old + new
      p.reset(new (std::nothrow) float[static_cast<size_t>(n)]);
      size = p ? n : 0;
    }
    return p.get();
  }
  float* get(i64 n) {
    float* r = tryGet(n);
    if (!r) throw std::bad_alloc();
    return r;
  }
};

// Per thread (the calling thread and each helper of its team): one sample's column matrix and
// activation-gated gradient; and, on the calling thread, the per-group gradient partials.
thread_local Scratch colScratch;
thread_local Scratch matScratch;
thread_local Scratch partScratch;

// Samples per unit of work in the backward pass (see conv2dBackward).
constexpr i64 kGroup = 8;

LERNEN_CLONES void addRowC(i64 n, const float* x, float* out) { addRow(n, x, out); }

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

// Rows [r0, r1) of the column matrix of samples [s0, s0 + m): col[r, j·ohw + p] for
// r = (ci·kh + ki)·kw + kj, row stride m·ohw.
LERNEN_CLONES
void im2colRows(const float* __restrict x, const Window2d& g, i64 s0, i64 m, i64 r0, i64 r1,
                float* __restrict col) {
  const i64 plane = g.h * g.w, ohw = g.oh * g.ow, ld = m * ohw, kk = g.kh * g.kw;
  for (i64 r = r0; r < r1; ++r) {
    const i64 ci = r / kk, ki = (r % kk) / g.kw, kj = r % g.kw;
    float* row = col + r * ld;
    i64 lo, hi;
    validSpan(g.w, g.ow, g.strideW, g.padW, kj, &lo, &hi);
    for (i64 j = 0; j < m; ++j) {
      const float* xp = x + ((s0 + j) * g.c + ci) * plane;
      float* seg = row + j * ohw;
      for (i64 oy = 0; oy < g.oh; ++oy) {
        float* rr = seg + oy * g.ow;
        const i64 iy = oy * g.strideH - g.padH + ki;
        if (iy < 0 || iy >= g.h) {
          zero(g.ow, rr);
          continue;
        }
        for (i64 ox = 0; ox < lo; ++ox) rr[ox] = 0.0f;
        const float* src = xp + iy * g.w - g.padW + kj;
        if (g.strideW == 1) {
          for (i64 ox = lo; ox < hi; ++ox) rr[ox] = src[ox];
        } else {
          for (i64 ox = lo; ox < hi; ++ox) rr[ox] = src[ox * g.strideW];
        }
        for (i64 ox = hi; ox < g.ow; ++ox) rr[ox] = 0.0f;
      }
    }
  }
}

// dx planes [p0, p1) of samples [s0, s0 + m) (plane q = j·c + ci of sample s0 + j) = the
// scatter-add of their column-matrix rows.
LERNEN_CLONES
void col2imPlanes(const float* __restrict col, const Window2d& g, i64 s0, i64 m, i64 p0, i64 p1,
                  float* __restrict dx) {
  const i64 plane = g.h * g.w, ohw = g.oh * g.ow, ld = m * ohw;
  for (i64 q = p0; q < p1; ++q) {
    const i64 j = q / g.c, ci = q % g.c;
    float* xp = dx + ((s0 + j) * g.c + ci) * plane;
    zero(plane, xp);
    for (i64 ki = 0; ki < g.kh; ++ki) {
      for (i64 kj = 0; kj < g.kw; ++kj) {
        const float* seg = col + ((ci * g.kh + ki) * g.kw + kj) * ld + j * ohw;
        i64 lo, hi;
        validSpan(g.w, g.ow, g.strideW, g.padW, kj, &lo, &hi);
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

// out[s0 + j, o, p] = act(mat[o, j·ohw + p] + bias[o]) for o in [o0, o1). mat may be the output
// itself (m = 1, in place).
LERNEN_CLONES
void scatterRows(const float* mat, const float* __restrict bias, i64 s0, i64 m, i64 oc, i64 ohw,
                 Activation act, i64 o0, i64 o1, float* out) {
  const i64 ld = m * ohw;
  for (i64 o = o0; o < o1; ++o) {
    const float b = bias ? bias[o] : 0.0f;
    for (i64 j = 0; j < m; ++j) {
      const float* src = mat + o * ld + j * ohw;
      float* dst = out + ((s0 + j) * oc + o) * ohw;
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

// mat[o, j·ohw + p] = dy[s0 + j, o, p]·act'(y[s0 + j, o, p]) for o in [o0, o1), and
// db[o] += each sample's sum, sample by sample (when db is given).
LERNEN_CLONES
void gatherRows(const float* __restrict dy, const float* __restrict y, i64 s0, i64 m, i64 oc,
                i64 ohw, Activation act, i64 o0, i64 o1, float* __restrict mat,
                float* __restrict db) {
  const i64 ld = m * ohw;
  for (i64 o = o0; o < o1; ++o) {
    for (i64 j = 0; j < m; ++j) {
      const i64 at = ((s0 + j) * oc + o) * ohw;
      const float* gsrc = dy + at;
      float* dst = mat + o * ld + j * ohw;
      if (act == Activation::Relu) {
        const float* yy = y + at;
        for (i64 p = 0; p < ohw; ++p) {
          const float v = gsrc[p];  // unconditional load: the select vectorises
          dst[p] = yy[p] > 0.0f ? v : 0.0f;
        }
      } else {
        for (i64 p = 0; p < ohw; ++p) dst[p] = gsrc[p];
      }
      if (db) db[o] += sumRun(ohw, dst);
    }
  }
}

// db[o] += Σ rows of a [oc, ohw] block (one sample, no activation: dy is the GEMM operand).
LERNEN_CLONES
void biasGradRows(const float* __restrict g, i64 ohw, i64 o0, i64 o1, float* __restrict db) {
  for (i64 o = o0; o < o1; ++o) db[o] += sumRun(ohw, g + o * ohw);
}

}  // namespace

namespace {

/**
 * The forward pass, sample by sample on the team: im2col (stays in L2), a one-threaded GEMM
 * into `dst(s)` (a [oc, oh·ow] block), then `epilogue(s, block)`.
 */
template <class Dst, class Epilogue>
void forwardSamples(const float* x, const Window2d& g, const float* weight, i64 oc, Dst dst,
                    Epilogue epilogue) {
  const i64 ohw = g.oh * g.ow, ckk = g.c * g.kh * g.kw;
  std::atomic<bool> failed{false};
  parallelFor(g.n, 1, [&](i64 s0, i64 s1) {
    float* col = colScratch.tryGet(ckk * ohw);
    if (!col) {
      failed = true;
      return;
    }
    for (i64 s = s0; s < s1; ++s) {
      im2colRows(x, g, s, 1, 0, ckk, col);
      float* block = dst(s);
      if (!block) {
        failed = true;
        return;
      }
      gemm(false, false, /* m= */ oc, /* n= */ ohw, /* k= */ ckk, 1.0f, weight, col, 0.0f, block);
      epilogue(s, block);
    }
  });
  if (failed) throw std::bad_alloc();
}

/**
 * The backward pass from the gradient G [oc, oh·ow] of each sample's convolution output, which
 * `grad(s, mat, pb)` returns (built in the thread's `mat` scratch, or a block of its own), adding
 * its row sums to the bias partial pb when pb is given. Groups of kGroup samples are the units of
 * work; each group sums its weight and bias gradients into a partial of its own (sample by
 * sample) and the partials are added in group order: the same additions in the same order on any
 * number of threads.
 */
template <class Grad>
void backwardGroups(const float* x, const Window2d& g, const float* weight, i64 oc, bool needMat,
                    float* dx, float* dw, float* db, Grad grad) {
  const i64 ohw = g.oh * g.ow, ckk = g.c * g.kh * g.kw;
  const i64 groups = (g.n + kGroup - 1) / kGroup;
  const i64 partSize = oc * ckk + oc;
  float* part = (dw || db) ? partScratch.get(groups * partSize) : nullptr;
  std::atomic<bool> failed{false};
  parallelFor(groups, 1, [&](i64 g0, i64 g1) {
    float* col = (dw || dx) ? colScratch.tryGet(ckk * ohw) : nullptr;
    float* mat = needMat ? matScratch.tryGet(oc * ohw) : nullptr;
    if (((dw || dx) && !col) || (needMat && !mat)) {
      failed = true;
      return;
    }
    for (i64 gi = g0; gi < g1; ++gi) {
      float* pw = part ? part + gi * partSize : nullptr;
      float* pb = db ? pw + oc * ckk : nullptr;
      if (pb) zero(oc, pb);
      const i64 s1 = (gi + 1) * kGroup < g.n ? (gi + 1) * kGroup : g.n;
      for (i64 s = gi * kGroup; s < s1; ++s) {
        const float* G = grad(s, mat, pb);
        if (dw) {
          im2colRows(x, g, s, 1, 0, ckk, col);
          // dW part [oc, ckk] (+)= G · colᵀ
          gemm(false, true, /* m= */ oc, /* n= */ ckk, /* k= */ ohw, 1.0f, G, col,
               s == gi * kGroup ? 0.0f : 1.0f, pw);
        }
        if (dx) {
          // dcol [ckk, oh·ow] = Wᵀ · G, then scatter-added into the sample's dx planes.
          gemm(true, false, /* m= */ ckk, /* n= */ ohw, /* k= */ oc, 1.0f, weight, G, 0.0f, col);
          col2imPlanes(col, g, s, 1, 0, g.c, dx);
        }
      }
    }
  });
  if (failed) throw std::bad_alloc();
  for (i64 gi = 0; gi < groups; ++gi) {
    const float* pw = part ? part + gi * partSize : nullptr;
    if (dw) addRowC(oc * ckk, pw, dw);
    if (db) addRowC(oc, pw + oc * ckk, db);
  }
}

/** The pooling window over one sample's [oc, oh, ow] convolution output. */
Window2d poolWindow(const Window2d& g, i64 oc, i64 poolH, i64 poolW) {
  return Window2d{1, oc, g.oh, g.ow, poolH, poolW, poolH, poolW, 0, 0, g.oh / poolH, g.ow / poolW};
}

}  // namespace

void conv2d(const float* x, const Window2d& g, const float* weight, i64 oc, const float* bias,
            Activation act, float* out) {
  const i64 ohw = g.oh * g.ow;
  if (g.n == 0 || oc == 0 || ohw == 0) return;
  const bool epilogue = bias != nullptr || act != Activation::None;
  // Straight into the sample's output block, then bias + activation in place.
  forwardSamples(
      x, g, weight, oc, [&](i64 s) { return out + s * oc * ohw; },
      [&](i64 s, float* block) {
        if (epilogue) scatterRows(block, bias, s, 1, oc, ohw, act, 0, oc, out);
      });
}

void conv2dBackward(const float* x, const Window2d& g, const float* weight, i64 oc,
                    const float* y, const float* dy, Activation act, float* dx, float* dw,
                    float* db) {
  const i64 ohw = g.oh * g.ow;
  if (g.n == 0 || oc == 0 || ohw == 0) {
    if (dx) zero(g.n * g.c * g.h * g.w, dx);
    return;
  }
  const bool none = act == Activation::None;
  // G = dy·act'(y) for the sample (without an activation, dy's block itself).
  backwardGroups(x, g, weight, oc, !none, dx, dw, db, [&](i64 s, float* mat, float* pb) {
    if (none) {
      const float* G = dy + s * oc * ohw;
      if (pb) biasGradRows(G, ohw, 0, oc, pb);
      return G;
    }
    gatherRows(dy, y, s, 1, oc, ohw, act, 0, oc, mat, pb);
    return static_cast<const float*>(mat);
  });
}

void conv2dMaxPool(const float* x, const Window2d& g, const float* weight, i64 oc,
                   const float* bias, Activation act, i64 poolH, i64 poolW, float* out,
                   std::int32_t* idx) {
  const i64 ohw = g.oh * g.ow;
  const Window2d pg = poolWindow(g, oc, poolH, poolW);
  const i64 pooled = oc * pg.oh * pg.ow;
  if (g.n == 0 || oc == 0 || ohw == 0 || pooled == 0) return;
  // The convolution output lives only in the thread's scratch: bias + activation in place,
  // then max pooling (values and indices exactly as maxPool2d on it) into the output.
  forwardSamples(
      x, g, weight, oc, [&](i64) { return matScratch.tryGet(oc * ohw); },
      [&](i64 s, float* block) {
        if (bias || act != Activation::None) scatterRows(block, bias, 0, 1, oc, ohw, act, 0, oc, block);
        maxPool2d(block, pg, out + s * pooled, idx + s * pooled);
      });
}

void conv2dMaxPoolBackward(const float* x, const Window2d& g, const float* weight, i64 oc,
                           const float* out, const std::int32_t* idx, const float* dy,
                           Activation act, i64 poolH, i64 poolW, float* dx, float* dw,
                           float* db) {
  const i64 ohw = g.oh * g.ow;
  const Window2d pg = poolWindow(g, oc, poolH, poolW);
  const i64 pohw = pg.oh * pg.ow;
  if (g.n == 0 || oc == 0 || ohw == 0) {
    if (dx) zero(g.n * g.c * g.h * g.w, dx);
    return;
  }
  const bool relu = act == Activation::Relu;
  // G: zeros, then each pooled gradient at its argmax, times act'(value) (the pooled value is
  // the convolution output there): what maxPool2dBackward then conv2dBackward compute.
  backwardGroups(x, g, weight, oc, true, dx, dw, db, [&](i64 s, float* mat, float* pb) {
    zero(oc * ohw, mat);
    for (i64 o = 0; o < oc; ++o) {
      const i64 at = (s * oc + o) * pohw;
      float* row = mat + o * ohw;
      for (i64 q = 0; q < pohw; ++q) {
        const float v = dy[at + q];
        row[idx[at + q]] += relu ? (out[at + q] > 0.0f ? v : 0.0f) : v;
      }
      if (pb) pb[o] += sumRun(ohw, row);
    }
    return static_cast<const float*>(mat);
  });
}

}  // namespace lernen
