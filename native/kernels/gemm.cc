// GEMM on OpenBLAS: row-major cblas_sgemm with transpose flags (never a materialised transpose).
#include <cblas.h>

#include <atomic>

#include "kernels.h"
#include "parallel.h"

namespace lernen {

namespace {

// C = beta·C without reading C when beta == 0 (BLAS semantics: NaNs in C do not propagate).
void scaleC(i64 count, float beta, float* c) {
  if (beta == 0.0f) {
    for (i64 i = 0; i < count; ++i) c[i] = 0.0f;
  } else if (beta != 1.0f) {
    for (i64 i = 0; i < count; ++i) c[i] *= beta;
  }
}

// Threading. OpenBLAS itself always runs on one thread (set once, before the first GEMM); the
// threads are lernen's kernel team (parallel.h). A GEMM big enough to share is cut into a fixed
// number of column blocks of C (row blocks when C is tall), and the team's threads compute them
// with one-threaded OpenBLAS calls. Why not OpenBLAS's own threads:
// - the blocks depend only on the shape, never on the thread count or the machine's load, so a
//   result is bit-identical on 1, 2 or 16 threads (OpenBLAS's threaded and one-threaded paths
//   round differently for K above its block depth: 74% of the elements of W1's first layer);
// - one pool of threads does everything (GEMMs, data-parallel convolutions, elementwise loops),
//   so two pools can never oversubscribe the cores;
// - on a loaded machine the team falls back to running the blocks serially (parallel.cc),
//   where OpenBLAS's threads would wait for each other at every synchronisation (a W1 epoch on
//   2 OpenBLAS threads took 1.5-1.7x the time of 1 thread at load 4).
// Measured on idle 2-core machines, two one-threaded halves ran W1's GEMMs as fast as
// OpenBLAS's two threads (bench/prof notes in the commit log).

/** Products below this stay one call (a fork/join costs about what they take). */
constexpr double kShareMnk = 4.0 * 1024 * 1024;
/**
 * About this much work per block, and an even number of blocks: W1's GEMMs (33-51 M multiply-adds)
 * make two blocks, one per thread on two cores; four blocks cost each thread a second packing of
 * the shared operand (W1 epochs about 7 % slower, measured in alternation).
 */
constexpr double kBlockMnk = 32.0 * 1024 * 1024;
constexpr i64 kMaxBlocks = 16;

/** OpenBLAS's default thread count (OPENBLAS_NUM_THREADS or the cores), then set to 1. */
int blasDefaultThreads() {
  static const int d = [] {
    const int n = openblas_get_num_threads();
    openblas_set_num_threads(1);
    return n < 1 ? 1 : n;
  }();
  return d;
}

// The thread count asked for with setNumThreads (0: OpenBLAS's default). Process-wide, as
// OpenBLAS's own count was.
std::atomic<int> wantedThreads{0};

void sgemmCall(bool transA, bool transB, i64 m, i64 n, i64 k, float alpha, const float* a,
               i64 lda, const float* b, i64 ldb, float beta, float* c, i64 ldc) {
  cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans,
              transB ? CblasTrans : CblasNoTrans,
              /* m= */ static_cast<blasint>(m), /* n= */ static_cast<blasint>(n),
              /* k= */ static_cast<blasint>(k),
              /* alpha= */ alpha,
              /* a= */ a, /* lda= */ static_cast<blasint>(lda),
              /* b= */ b, /* ldb= */ static_cast<blasint>(ldb),
              /* beta= */ beta,
              /* c= */ c, /* ldc= */ static_cast<blasint>(ldc));
}

}  // namespace

void gemm(bool transA, bool transB, i64 m, i64 n, i64 k, float alpha, const float* a,
          const float* b, float beta, float* c) {
  if (m == 0 || n == 0) return;
  // BLAS rejects lda = 0 (k == 0) with an xerbla message; the result is just beta·C.
  if (k == 0 || alpha == 0.0f) {
    scaleC(m * n, beta, c);
    return;
  }
  blasDefaultThreads();  // OpenBLAS on one thread before its first call
  const i64 lda = transA ? m : k, ldb = transB ? k : n;
  const double mnk = double(m) * double(n) * double(k);
  const bool byCols = n >= m;
  const i64 len = byCols ? n : m;
  i64 blocks = 1;
  if (mnk > kShareMnk) {
    blocks = 2 * i64(mnk / (2 * kBlockMnk) + 1);
    if (blocks > kMaxBlocks) blocks = kMaxBlocks;
  }
  // Block length: a multiple of 8 (whole panels for OpenBLAS's kernels, and even halves).
  i64 bs = (len + blocks - 1) / blocks;
  bs = (bs + 7) / 8 * 8;
  if (blocks <= 1 || bs >= len) {
    sgemmCall(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, n);
    return;
  }
  const i64 nb = (len + bs - 1) / bs;
  parallelFor(nb, 1, [&](i64 b0, i64 b1) {
    for (i64 bi = b0; bi < b1; ++bi) {
      const i64 s0 = bi * bs, l = len - s0 < bs ? len - s0 : bs;
      if (byCols) {
        sgemmCall(transA, transB, m, l, k, alpha, a, lda, transB ? b + s0 * ldb : b + s0, ldb,
                  beta, c + s0, n);
      } else {
        sgemmCall(transA, transB, l, n, k, alpha, transA ? a + s0 : a + s0 * lda, lda, b, ldb,
                  beta, c + s0 * n, n);
      }
    }
  });
}

void gemmBatched(i64 batch, bool transA, bool transB, i64 m, i64 n, i64 k, float alpha,
                 const float* a, i64 strideA, const float* b, i64 strideB, float beta, float* c,
                 i64 strideC) {
  if (batch == 0 || m == 0 || n == 0) return;
  if (k == 0 || alpha == 0.0f) {  // A and B are not read (and may be empty)
    for (i64 i = 0; i < batch; ++i) scaleC(m * n, beta, c + i * strideC);
    return;
  }
  // Shared B (strideB == 0) with A_i and C_i stacked contiguously: in row-major the batch is
  // just more rows, [batch·m, k]·op(B) = [batch·m, n], so one big GEMM does it. (A shared A,
  // strideA == 0, does not fold in row-major: the B_i would have to sit side by side.)
  if (batch > 1 && strideB == 0 && !transA && strideA == m * k && strideC == m * n &&
      batch * m <= 0x7fffffff) {
    gemm(false, transB, batch * m, n, k, alpha, a, b, beta, c);
    return;
  }
  for (i64 i = 0; i < batch; ++i) {
    gemm(transA, transB, m, n, k, alpha, a + i * strideA, b + i * strideB, beta, c + i * strideC);
  }
}

void blasSetNumThreads(int n) {
  blasDefaultThreads();
  wantedThreads.store(n, std::memory_order_relaxed);
}

int blasGetNumThreads() {
  const int w = wantedThreads.load(std::memory_order_relaxed);
  return w > 0 ? w : blasDefaultThreads();
}

const char* blasConfig() { return openblas_get_config(); }
const char* blasCoreName() { return openblas_get_corename(); }
int blasParallel() { return openblas_get_parallel(); }

}  // namespace lernen
