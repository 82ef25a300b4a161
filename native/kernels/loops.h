// Small inner loops shared by several kernel files. Always inlined, so a caller compiled for
// AVX2 (LERNEN_CLONES) gets them compiled for AVX2 too.
#pragma once

#include "kernels.h"

namespace lernen {

#define LERNEN_INLINE inline __attribute__((always_inline))

/** p[0..n) = 0; nothing at all for n == 0 (an empty buffer's pointer may be null). */
LERNEN_INLINE void zero(i64 n, float* p) {
  for (i64 i = 0; i < n; ++i) p[i] = 0.0f;
}

/** out[i] += x[i]. */
LERNEN_INLINE void addRow(i64 n, const float* __restrict x, float* __restrict out) {
  for (i64 i = 0; i < n; ++i) out[i] += x[i];
}

/**
 * Sum of a contiguous run with 8 independent float accumulators: vectorisable without
 * reassociation flags, and more accurate than one running sum.
 */
LERNEN_INLINE float sumRun(i64 n, const float* __restrict x) {
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  i64 i = 0;
  for (; i + 8 <= n; i += 8) {
    for (int j = 0; j < 8; ++j) acc[j] += x[i + j];
  }
  float s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
  for (; i < n; ++i) s += x[i];
  return s;
}

/** Σ x[i]·y[i], the same 8-accumulator scheme. */
LERNEN_INLINE float dotRun(i64 n, const float* __restrict x, const float* __restrict y) {
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  i64 i = 0;
  for (; i + 8 <= n; i += 8) {
    for (int j = 0; j < 8; ++j) acc[j] += x[i + j] * y[i + j];
  }
  float s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
  for (; i < n; ++i) s += x[i] * y[i];
  return s;
}

}  // namespace lernen
