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

// The thread count asked for (setNumThreads), process-wide like OpenBLAS's own; 0 until known.
std::atomic<int> wantedThreads{0};

// The threads the next GEMM runs on: those asked for, or 1 inside a parallel region (the region
// already uses the cores: data-parallel kernels call one-threaded GEMMs from each thread), or 1
// while this thread's kernel team finds the machine busy (its helpers start late: more runnable
// threads than cores, see parallel.cc). There, a threaded GEMM waits for its second thread to
// get a core at every synchronisation, and one thread is faster. OpenBLAS's count is switched
// only when it changes (cheap: its threads stay created).
void useThreads() {
  const int wanted = blasGetNumThreads();
  const int run = wanted > 1 && !detail::inTeamRegion() && !detail::teamBusy() ? wanted : 1;
  if (openblas_get_num_threads() != run) openblas_set_num_threads(run);
}

// OpenBLAS runs a GEMM on one thread when m·n·k ≤ 65536·GEMM_MULTITHREAD_THRESHOLD (4 by
// default), else on all its threads. Between that and kSmallMnk, threads do not pay: the product
// takes tens of microseconds, about what waking a thread and joining it costs on an idle
// machine, and far less than on a busy one, where the waiting thread may not get a core for a
// whole time slice. Such a GEMM is split into row or column blocks at most kSingleMnk each, so
// every call stays single-threaded. (The split does not depend on the thread count; OpenBLAS's
// edge kernels may round a few elements differently than in one call, in the last bits.)
constexpr double kSingleMnk = 65536.0 * 4;
constexpr double kSmallMnk = 4.0 * 1024 * 1024;

void sgemmCall(bool transA, bool transB, i64 m, i64 n, i64 k, float alpha, const float* a,
               i64 lda, const float* b, i64 ldb, float beta, float* c, i64 ldc) {
  useThreads();
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
  const i64 lda = transA ? m : k, ldb = transB ? k : n;
  const double mnk = double(m) * double(n) * double(k);
  if (mnk > kSingleMnk && mnk <= kSmallMnk) {
    // Rows of C (and of op(A)) in blocks, or else columns of C (and of op(B)).
    const i64 rows = i64(kSingleMnk / (double(n) * double(k)));
    const i64 cols = i64(kSingleMnk / (double(m) * double(k)));
    if (rows >= 1 && (m >= n || cols < 1)) {
      for (i64 r = 0; r < m; r += rows) {
        const i64 mr = m - r < rows ? m - r : rows;
        sgemmCall(transA, transB, mr, n, k, alpha, transA ? a + r : a + r * lda, lda, b, ldb,
                  beta, c + r * n, n);
      }
      return;
    }
    if (cols >= 1) {
      for (i64 q = 0; q < n; q += cols) {
        const i64 nq = n - q < cols ? n - q : cols;
        sgemmCall(transA, transB, m, nq, k, alpha, a, lda, transB ? b + q * ldb : b + q, ldb,
                  beta, c + q, n);
      }
      return;
    }
  }
  sgemmCall(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, n);
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
  wantedThreads.store(n, std::memory_order_relaxed);
  openblas_set_num_threads(n);
}

int blasGetNumThreads() {
  int w = wantedThreads.load(std::memory_order_relaxed);
  if (w > 0) return w;
  // Never set: OpenBLAS's own default (OPENBLAS_NUM_THREADS or the core count), recorded before
  // the first GEMM could lower it (see useThreads).
  int expected = 0;
  w = openblas_get_num_threads();
  wantedThreads.compare_exchange_strong(expected, w < 1 ? 1 : w, std::memory_order_relaxed);
  return wantedThreads.load(std::memory_order_relaxed);
}
const char* blasConfig() { return openblas_get_config(); }
const char* blasCoreName() { return openblas_get_corename(); }
int blasParallel() { return openblas_get_parallel(); }

}  // namespace lernen
