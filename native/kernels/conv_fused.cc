// Fused 2-D convolution over a whole batch, processed in chunks of samples: per chunk, im2col
// into a thread-local scratch laid out [c·kh·kw, m·oh·ow], ONE GEMM per pass (forward, weight
// gradient, input gradient), and the NCHW scatter fused with bias + activation.
//
// Why chunks: a whole-batch column matrix (42 MB for the MNIST CNN's second convolution at
// batch 64) lives in DRAM; written by im2col, read by the GEMM, it costs two trips through
// memory. A chunk's column matrix (a few MB) stays in cache between im2col and the GEMM, and
// the GEMM's output stays in cache for the scatter. The memory-bound steps (im2col, scatter,
// gather, col2im) run on the kernel thread team (parallel.h) between the GEMM calls.
//
// Scratch memory is thread_local and grows to the largest chunk seen on that thread (each
// worker_thread has its own), so steady-state training does no allocation and no page faults.
// The memory-bound steps give the same result on any number of threads: every output element
// is computed by one thread, in a fixed order (db: sample by sample). The GEMMs are OpenBLAS's.
#include <cstdlib>
#include <memory>

#include "kernels.h"
#include "loops.h"
#include "parallel.h"

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

// Bytes of column matrix plus GEMM output per chunk. On one thread, one sample at a time
// (≤ 1 MB: the core's L2) is fastest, and its GEMM writes straight into the output. With
// several threads, every chunk costs fork/joins (OpenBLAS's and the team's), so chunks are
// larger, still within the shared L3. (Measured on the MNIST CNN's conv2, see bench/prof.)
constexpr i64 kChunkBytesOneThread = i64{1} << 20;
constexpr i64 kChunkBytesThreads = i64{4} << 20;
// Work below this many floats stays on one thread (a fork/join costs a few microseconds).
constexpr i64 kGrainFloats = i64{1} << 14;

/** Samples per chunk: LERNEN_CONV_CHUNK (for tuning) or what fits kChunkBytes, at least 1. */
i64 chunkSamples(const Window2d& g, i64 oc) {
  static const i64 forced = [] {
    const char* e = std::getenv("LERNEN_CONV_CHUNK");
    return e ? std::atoll(e) : 0;
  }();
  const i64 ohw = g.oh * g.ow, ckk = g.c * g.kh * g.kw;
  const i64 budget = kernelThreads() > 1 ? kChunkBytesThreads : kChunkBytesOneThread;
  i64 cs = forced > 0 ? forced : budget / (4 * (ckk + oc) * ohw + 1);
  if (cs < 1) cs = 1;
  if (cs > g.n) cs = g.n;
  return cs;
}

/** Items per thread so that each gets at least kGrainFloats floats of work. */
inline i64 grainFor(i64 floatsPerItem) {
  return floatsPerItem >= kGrainFloats ? 1 : kGrainFloats / (floatsPerItem > 0 ? floatsPerItem : 1);
}

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

void im2colChunk(const float* x, const Window2d& g, i64 s0, i64 m, float* col) {
  const i64 ckk = g.c * g.kh * g.kw;
  parallelFor(ckk, grainFor(m * g.oh * g.ow), [&](i64 r0, i64 r1) {
    im2colRows(x, g, s0, m, r0, r1, col);
  });
}

// dx planes [p0, p1) of the chunk (plane q = j·c + ci of sample s0 + j) = the scatter-add of
// their column-matrix rows. Each plane is written by exactly one thread.
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
// db[o] += each sample's sum, sample by sample (when db is given): the same additions in the
// same order whatever the chunk size.
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

void conv2d(const float* x, const Window2d& g, const float* weight, i64 oc, const float* bias,
            Activation act, float* out) {
  const i64 ohw = g.oh * g.ow, ckk = g.c * g.kh * g.kw;
  if (g.n == 0 || oc == 0 || ohw == 0) return;
  const i64 cs = chunkSamples(g, oc);
  float* col = colScratch.get(ckk * cs * ohw);
  float* mat = cs > 1 ? matScratch.get(oc * cs * ohw) : nullptr;
  const bool epilogue = bias != nullptr || act != Activation::None;
  for (i64 s0 = 0; s0 < g.n; s0 += cs) {
    const i64 m = g.n - s0 < cs ? g.n - s0 : cs;
    im2colChunk(x, g, s0, m, col);
    // One sample's GEMM output [oc, ohw] is already its NCHW block: write it in place.
    float* dst = m == 1 ? out + s0 * oc * ohw : mat;
    gemm(false, false, /* m= */ oc, /* n= */ m * ohw, /* k= */ ckk, 1.0f, weight, col, 0.0f, dst);
    if (m == 1 && !epilogue) continue;
    parallelFor(oc, grainFor(m * ohw), [&](i64 o0, i64 o1) {
      scatterRows(dst, bias, s0, m, oc, ohw, act, o0, o1, out);
    });
  }
}

void conv2dBackward(const float* x, const Window2d& g, const float* weight, i64 oc,
                    const float* y, const float* dy, Activation act, float* dx, float* dw,
                    float* db) {
  const i64 ohw = g.oh * g.ow, ckk = g.c * g.kh * g.kw;
  if (g.n == 0 || oc == 0 || ohw == 0) {
    if (dx) zero(g.n * g.c * g.h * g.w, dx);
    return;
  }
  const i64 cs = chunkSamples(g, oc);
  float* mat = matScratch.get(oc * cs * ohw);
  float* col = (dw || dx) ? colScratch.get(ckk * cs * ohw) : nullptr;
  for (i64 s0 = 0; s0 < g.n; s0 += cs) {
    const i64 m = g.n - s0 < cs ? g.n - s0 : cs;
    const i64 cols = m * ohw;
    // G [oc, m·ohw]: dy·act'(y) in the chunk's column order. One sample without an
    // activation needs no copy: its dy block already is G.
    const float* G;
    if (m == 1 && act == Activation::None) {
      G = dy + s0 * oc * ohw;
      if (db) {
        parallelFor(oc, grainFor(ohw), [&](i64 o0, i64 o1) { biasGradRows(G, ohw, o0, o1, db); });
      }
    } else {
      parallelFor(oc, grainFor(cols), [&](i64 o0, i64 o1) {
        gatherRows(dy, y, s0, m, oc, ohw, act, o0, o1, mat, db);
      });
      G = mat;
    }
    if (dw) {
      im2colChunk(x, g, s0, m, col);
      // dW [oc, ckk] += G [oc, m·ohw] · colᵀ
      gemm(false, true, /* m= */ oc, /* n= */ ckk, /* k= */ cols, 1.0f, G, col, 1.0f, dw);
    }
    if (dx) {
      // dcol [ckk, m·ohw] = Wᵀ · G, reusing the col scratch, then scatter-added into dx.
      gemm(true, false, /* m= */ ckk, /* n= */ cols, /* k= */ oc, 1.0f, weight, G, 0.0f, col);
      parallelFor(m * g.c, grainFor(g.h * g.w + g.kh * g.kw * ohw), [&](i64 p0, i64 p1) {
        col2imPlanes(col, g, s0, m, p0, p1, dx);
      });
    }
  }
}

}  // namespace lernen
