// Reductions over the middle axis of x viewed as [outer, dim, inner].
#include <limits>

#include "kernels.h"
#include "loops.h"
#include "parallel.h"

namespace lernen {

namespace {

LERNEN_CLONES float sumRunC(i64 n, const float* x) { return sumRun(n, x); }

// A long sum runs in fixed blocks of kSumBlock elements, each summed by sumRun, then the block
// sums are added in order: the blocks do not depend on the thread count, so neither does the
// result, and the blocks can be summed in parallel.
constexpr i64 kSumBlock = i64{1} << 15;
constexpr i64 kMaxBlocks = 4096;

float sumLong(i64 n, const float* x) {
  if (n <= kSumBlock) return sumRunC(n, x);
  const i64 blocks = (n + kSumBlock - 1) / kSumBlock;
  if (blocks > kMaxBlocks) {  // > 134M elements: sum the sums of kMaxBlocks-block groups
    float s = 0.0f;
    for (i64 i = 0; i < n; i += kSumBlock * kMaxBlocks) {
      s += sumLong(n - i < kSumBlock * kMaxBlocks ? n - i : kSumBlock * kMaxBlocks, x + i);
    }
    return s;
  }
  float part[kMaxBlocks];
  parallelFor(blocks, 2, [&](i64 b0, i64 b1) {
    for (i64 b = b0; b < b1; ++b) {
      const i64 at = b * kSumBlock;
      part[b] = sumRunC(n - at < kSumBlock ? n - at : kSumBlock, x + at);
    }
  });
  float s = 0.0f;
  for (i64 b = 0; b < blocks; ++b) s += part[b];
  return s;
}
LERNEN_CLONES void addRowC(i64 n, const float* x, float* out) { addRow(n, x, out); }

// `a` beats the current extreme `cur`: strictly greater (less), or the first NaN.
template <bool IsMax>
LERNEN_INLINE bool beats(float a, float cur) {
  return (IsMax ? a > cur : a < cur) || (a != a && cur == cur);
}

template <bool IsMax>
void extreme(const float* x, i64 outer, i64 dim, i64 inner, float* out, std::int32_t* idx) {
  for (i64 o = 0; o < outer; ++o) {
    const float* xo = x + o * dim * inner;
    float* oo = out + o * inner;
    if (inner == 1) {
      float best = xo[0];
      i64 at = 0;
      for (i64 d = 1; d < dim && best == best; ++d) {
        if (beats<IsMax>(xo[d], best)) best = xo[d], at = d;
      }
      oo[0] = best;
      if (idx) idx[o] = static_cast<std::int32_t>(at);
      continue;
    }
    // Rows of `inner` elements: compare whole rows, so the loop runs along contiguous memory.
    std::int32_t* io = idx ? idx + o * inner : nullptr;
    for (i64 i = 0; i < inner; ++i) oo[i] = xo[i];
    if (io) {
      for (i64 i = 0; i < inner; ++i) io[i] = 0;
    }
    for (i64 d = 1; d < dim; ++d) {
      const float* row = xo + d * inner;
      if (io) {
        for (i64 i = 0; i < inner; ++i) {
          if (beats<IsMax>(row[i], oo[i])) oo[i] = row[i], io[i] = static_cast<std::int32_t>(d);
        }
      } else {
        for (i64 i = 0; i < inner; ++i) oo[i] = beats<IsMax>(row[i], oo[i]) ? row[i] : oo[i];
      }
    }
  }
}

}  // namespace

void reduce(ReduceOp op, const float* x, i64 outer, i64 dim, i64 inner, float* out,
            std::int32_t* idx) {
  if (outer == 0 || inner == 0) return;
  switch (op) {
    case ReduceOp::Sum:
    case ReduceOp::Mean: {
      const bool mean = op == ReduceOp::Mean;
      if (dim == 0) {  // empty sum 0, empty mean NaN (as PyTorch)
        const float v = mean ? std::numeric_limits<float>::quiet_NaN() : 0.0f;
        for (i64 i = 0; i < outer * inner; ++i) out[i] = v;
        return;
      }
      const float fd = static_cast<float>(dim);
      for (i64 o = 0; o < outer; ++o) {
        const float* xo = x + o * dim * inner;
        float* oo = out + o * inner;
        if (inner == 1) {
          const float s = sumLong(dim, xo);
          oo[0] = mean ? s / fd : s;
          continue;
        }
        for (i64 i = 0; i < inner; ++i) oo[i] = xo[i];
        for (i64 d = 1; d < dim; ++d) addRowC(inner, xo + d * inner, oo);
        if (mean) {
          for (i64 i = 0; i < inner; ++i) oo[i] /= fd;
        }
      }
      return;
    }
    case ReduceOp::Max: extreme<true>(x, outer, dim, inner, out, idx); return;
    case ReduceOp::Min: extreme<false>(x, outer, dim, inner, out, idx); return;
  }
}

}  // namespace lernen
