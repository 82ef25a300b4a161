// GEMM on OpenBLAS: row-major cblas_sgemm with transpose flags (never a materialised transpose).
#include <cblas.h>

#include "kernels.h"

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

}  // namespace

void gemm(bool transA, bool transB, i64 m, i64 n, i64 k, float alpha, const float* a,
          const float* b, float beta, float* c) {
  if (m == 0 || n == 0) return;
  // BLAS rejects lda = 0 (k == 0) with an xerbla message; the result is just beta·C.
  if (k == 0 || alpha == 0.0f) {
    scaleC(m * n, beta, c);
    return;
  }
  cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans,
              transB ? CblasTrans : CblasNoTrans,
              /* m= */ static_cast<blasint>(m), /* n= */ static_cast<blasint>(n),
              /* k= */ static_cast<blasint>(k),
              /* alpha= */ alpha,
              /* a= */ a, /* lda= */ static_cast<blasint>(transA ? m : k),
              /* b= */ b, /* ldb= */ static_cast<blasint>(transB ? k : n),
              /* beta= */ beta,
              /* c= */ c, /* ldc= */ static_cast<blasint>(n));
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

void blasSetNumThreads(int n) { openblas_set_num_threads(n); }
int blasGetNumThreads() { return openblas_get_num_threads(); }
const char* blasConfig() { return openblas_get_config(); }
const char* blasCoreName() { return openblas_get_corename(); }
int blasParallel() { return openblas_get_parallel(); }

}  // namespace lernen
