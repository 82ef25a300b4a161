/*
 * Raw OpenBLAS baseline for bench/gemm.ts: times cblas_sgemm directly (no Node, no N-API).
 *
 *   gemm-raw <threads> <minRepMs> <reps> <shape>...      shape = M,K,N,transA,transB
 *
 * For each shape: one warm-up rep, then <reps> reps, each running enough back-to-back calls to
 * last at least <minRepMs>; prints one JSON array with the median seconds per call.
 * Built at bench time: gcc -O2 bench/gemm-raw.c $(pkg-config --cflags --libs openblas)
 */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp(const void* a, const void* b) {
  const double x = *(const double*)a, y = *(const double*)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char** argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: gemm-raw <threads> <minRepMs> <reps> M,K,N,transA,transB...\n");
    return 2;
  }
  const int threads = atoi(argv[1]);
  const double minRep = atof(argv[2]) / 1000.0;
  const int reps = atoi(argv[3]);
  openblas_set_num_threads(threads);
  printf("[");
  for (int s = 4; s < argc; s++) {
    int m, k, n, ta, tb;
    if (sscanf(argv[s], "%d,%d,%d,%d,%d", &m, &k, &n, &ta, &tb) != 5) return 2;
    float* a = malloc(sizeof(float) * (size_t)m * k);
    float* b = malloc(sizeof(float) * (size_t)k * n);
    float* c = malloc(sizeof(float) * (size_t)m * n);
    for (size_t i = 0; i < (size_t)m * k; i++) a[i] = (float)((i * 7919) % 1000) / 1000.0f - 0.5f;
    for (size_t i = 0; i < (size_t)k * n; i++) b[i] = (float)((i * 104729) % 1000) / 1000.0f - 0.5f;
    double* times = malloc(sizeof(double) * (size_t)reps);
    long calls = 1;
    for (int r = -1; r < reps; r++) {
      double t0 = now(), t1;
      long done = 0;
      do {
        for (long i = 0; i < calls; i++) {
          cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                      /* m= */ m, /* n= */ n, /* k= */ k, /* alpha= */ 1.0f,
                      /* a= */ a, /* lda= */ ta ? m : k, /* b= */ b, /* ldb= */ tb ? k : n,
                      /* beta= */ 0.0f, /* c= */ c, /* ldc= */ n);
        }
        done += calls;
        t1 = now();
        if (r < 0 && t1 - t0 < minRep) calls *= 2;  /* warm-up: find a batch size */
      } while (t1 - t0 < minRep);
      if (r >= 0) times[r] = (t1 - t0) / (double)done;
    }
    qsort(times, (size_t)reps, sizeof(double), cmp);
    const double med = reps % 2 ? times[reps / 2] : 0.5 * (times[reps / 2 - 1] + times[reps / 2]);
    printf("%s{\"m\":%d,\"k\":%d,\"n\":%d,\"transA\":%s,\"transB\":%s,\"seconds\":%.9g,\"check\":%.6g}",
           s > 4 ? "," : "", m, k, n, ta ? "true" : "false", tb ? "true" : "false", med, (double)c[0]);
    free(a), free(b), free(c), free(times);
  }
  printf("]\n");
  return 0;
}
