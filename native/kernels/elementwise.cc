// Elementwise kernels: broadcasting binary ops, unary ops and their derivatives, axpy, sumTo,
// permute. Loops are written plainly (unit stride, no calls) so -O3 vectorises them.
#include <cmath>
#include <cstring>

#include "kernels.h"
#include "parallel.h"
#include "loops.h"

namespace lernen {

namespace {

// ------------------------------------------------------------------ shape helpers

// Shapes padded on the left to a common rank, with dims of size 1 dropped and neighbouring
// dims merged wherever every operand stays contiguous across them.
struct Layout {
  int rank = 0;
  i64 dim[kMaxRank];
  i64 stride[2][kMaxRank];  // element strides of two operands (0 = broadcast)
};

void padShape(const i64* shape, int rank, int to, i64* out) {
  for (int i = 0; i < to - rank; ++i) out[i] = 1;
  for (int i = 0; i < rank; ++i) out[to - rank + i] = shape[i];
}

// Row-major strides of `shape`, with 0 where the operand's dim is 1 but `full` is not.
void broadcastStrides(const i64* shape, const i64* full, int rank, i64* stride) {
  i64 s = 1;
  for (int i = rank - 1; i >= 0; --i) {
    stride[i] = (shape[i] == 1 && full[i] != 1) ? 0 : s;
    s *= shape[i];
  }
}

Layout collapse(const i64* full, const i64* s0, const i64* s1, int rank) {
  Layout l;
  for (int i = 0; i < rank; ++i) {
    if (full[i] == 1) continue;
    if (l.rank > 0) {
      int j = l.rank - 1;  // merge dim i into the previous kept dim when contiguous
      if (l.stride[0][j] == s0[i] * full[i] && l.stride[1][j] == s1[i] * full[i]) {
        l.dim[j] *= full[i];
        l.stride[0][j] = s0[i];
        l.stride[1][j] = s1[i];
        continue;
      }
    }
    l.dim[l.rank] = full[i];
    l.stride[0][l.rank] = s0[i];
    l.stride[1][l.rank] = s1[i];
    ++l.rank;
  }
  if (l.rank == 0) {  // a scalar
    l.rank = 1;
    l.dim[0] = 1;
    l.stride[0][0] = 1;
    l.stride[1][0] = 1;
  }
  return l;
}

// Walks every index of dims [0, rank-1) (the innermost dim is the caller's loop), keeping the
// element offsets of up to two operands and of a contiguous output.
template <class F>
void forEachRow(const Layout& l, F&& row) {
  const int outerRank = l.rank - 1;
  i64 rows = 1;
  for (int i = 0; i < outerRank; ++i) rows *= l.dim[i];
  i64 counter[kMaxRank] = {0};
  i64 off0 = 0, off1 = 0;
  const i64 inner = l.dim[l.rank - 1];
  for (i64 r = 0; r < rows; ++r) {
    row(off0, off1, r * inner);
    for (int i = outerRank - 1; i >= 0; --i) {
      off0 += l.stride[0][i];
      off1 += l.stride[1][i];
      if (++counter[i] < l.dim[i]) break;
      off0 -= l.stride[0][i] * l.dim[i];
      off1 -= l.stride[1][i] * l.dim[i];
      counter[i] = 0;
    }
  }
}

// ------------------------------------------------------------------ binary

struct AddF { static float f(float a, float b) { return a + b; } };
struct SubF { static float f(float a, float b) { return a - b; } };
struct MulF { static float f(float a, float b) { return a * b; } };
struct DivF { static float f(float a, float b) { return a / b; } };
// NaN propagates from either side (NumPy maximum/minimum, JS Math.max/min).
struct MaxF { static float f(float a, float b) { return (a > b || a != a) ? a : b; } };
struct MinF { static float f(float a, float b) { return (a < b || a != a) ? a : b; } };
struct PowF { static float f(float a, float b) { return std::pow(a, b); } };

// One contiguous run: sa/sb are the operands' inner strides, each 0 (broadcast) or 1.
template <class Op>
inline __attribute__((always_inline)) void binaryRun(i64 n, const float* a, bool sa,
                                                      const float* b, bool sb, float* out) {
  if (sa && sb) {
    for (i64 i = 0; i < n; ++i) out[i] = Op::f(a[i], b[i]);
  } else if (sb) {
    const float av = a[0];
    for (i64 i = 0; i < n; ++i) out[i] = Op::f(av, b[i]);
  } else if (sa) {
    const float bv = b[0];
    for (i64 i = 0; i < n; ++i) out[i] = Op::f(a[i], bv);
  } else {
    const float v = Op::f(a[0], b[0]);
    for (i64 i = 0; i < n; ++i) out[i] = v;
  }
}

LERNEN_CLONES
void binaryRunOp(BinaryOp op, i64 n, const float* a, bool sa, const float* b, bool sb,
                 float* out) {
  switch (op) {
    case BinaryOp::Add: binaryRun<AddF>(n, a, sa, b, sb, out); break;
    case BinaryOp::Sub: binaryRun<SubF>(n, a, sa, b, sb, out); break;
    case BinaryOp::Mul: binaryRun<MulF>(n, a, sa, b, sb, out); break;
    case BinaryOp::Div: binaryRun<DivF>(n, a, sa, b, sb, out); break;
    case BinaryOp::Max: binaryRun<MaxF>(n, a, sa, b, sb, out); break;
    case BinaryOp::Min: binaryRun<MinF>(n, a, sa, b, sb, out); break;
    case BinaryOp::Pow: binaryRun<PowF>(n, a, sa, b, sb, out); break;
  }
}

i64 numel(const i64* shape, int rank) {
  i64 n = 1;
  for (int i = 0; i < rank; ++i) n *= shape[i];
  return n;
}

}  // namespace

void binary(BinaryOp op, const float* a, const i64* aShape, int aRank, const float* b,
            const i64* bShape, int bRank, float* out, const i64* outShape, int outRank) {
  const i64 total = numel(outShape, outRank);
  if (total == 0) return;
  const i64 na = numel(aShape, aRank), nb = numel(bShape, bRank);
  // Fast paths: same number of elements as out (same shape up to 1s), or a scalar operand.
  if ((na == total || na == 1) && (nb == total || nb == 1)) {
    // Elementwise, so split over the kernel team when large (disjoint ranges: an out that
    // aliases a or b is still read before it is written, element by element).
    const bool sa = na == total && total != 1, sb = nb == total && total != 1;
    parallelFor(total, kElementGrain, [&](i64 b0, i64 b1) {
      binaryRunOp(op, b1 - b0, sa ? a + b0 : a, sa, sb ? b + b0 : b, sb, out + b0);
    });
    return;
  }
  // General path (row and column broadcasts included): collapse dims, loop over rows.
  i64 full[kMaxRank], pa[kMaxRank], pb[kMaxRank], sa[kMaxRank], sb[kMaxRank];
  padShape(outShape, outRank, outRank, full);
  padShape(aShape, aRank, outRank, pa);
  padShape(bShape, bRank, outRank, pb);
  broadcastStrides(pa, full, outRank, sa);
  broadcastStrides(pb, full, outRank, sb);
  const Layout l = collapse(full, sa, sb, outRank);
  const i64 inner = l.dim[l.rank - 1];
  const bool ia = l.stride[0][l.rank - 1] != 0, ib = l.stride[1][l.rank - 1] != 0;
  forEachRow(l, [&](i64 oa, i64 ob, i64 oo) {
    binaryRunOp(op, inner, a + oa, ia, b + ob, ib, out + oo);
  });
}

// ------------------------------------------------------------------ unary

namespace {

constexpr float kInvSqrt2 = 0.70710678118654752440f;
constexpr float kInvSqrt2Pi = 0.39894228040143267794f;

// erfc(−x/√2) rather than 1 + erf(x/√2): no cancellation for x ≪ 0 (same form as the JS backend).
inline float gelu(float x) { return 0.5f * x * std::erfc(-x * kInvSqrt2); }
inline float geluGrad(float x) {
  const float cdf = 0.5f * std::erfc(-x * kInvSqrt2);
  const float pdf = kInvSqrt2Pi * std::exp(-0.5f * x * x);
  return cdf + x * pdf;
}

}  // namespace

LERNEN_CLONES
void unary(UnaryOp op, i64 n, const float* x, float* out, float p) {
  switch (op) {
    case UnaryOp::Neg: for (i64 i = 0; i < n; ++i) out[i] = -x[i]; break;
    case UnaryOp::Exp: for (i64 i = 0; i < n; ++i) out[i] = std::exp(x[i]); break;
    case UnaryOp::Log: for (i64 i = 0; i < n; ++i) out[i] = std::log(x[i]); break;
    case UnaryOp::Sqrt: for (i64 i = 0; i < n; ++i) out[i] = std::sqrt(x[i]); break;
    case UnaryOp::Abs: for (i64 i = 0; i < n; ++i) out[i] = std::fabs(x[i]); break;
    case UnaryOp::Sign:
      for (i64 i = 0; i < n; ++i) {
        const float v = x[i];
        out[i] = v > 0.0f ? 1.0f : (v < 0.0f ? -1.0f : v);  // sign(±0) = ±0, sign(NaN) = NaN
      }
      break;
    case UnaryOp::Square: for (i64 i = 0; i < n; ++i) out[i] = x[i] * x[i]; break;
    case UnaryOp::Reciprocal: for (i64 i = 0; i < n; ++i) out[i] = 1.0f / x[i]; break;
    case UnaryOp::Relu:  // NaN propagates, as torch.relu
      for (i64 i = 0; i < n; ++i) out[i] = x[i] < 0.0f ? 0.0f : x[i];
      break;
    case UnaryOp::LeakyRelu:
      for (i64 i = 0; i < n; ++i) out[i] = x[i] < 0.0f ? p * x[i] : x[i];
      break;
    case UnaryOp::Sigmoid:
      for (i64 i = 0; i < n; ++i) out[i] = 1.0f / (1.0f + std::exp(-x[i]));
      break;
    case UnaryOp::Tanh: for (i64 i = 0; i < n; ++i) out[i] = std::tanh(x[i]); break;
    case UnaryOp::Gelu: for (i64 i = 0; i < n; ++i) out[i] = gelu(x[i]); break;
    case UnaryOp::Pow: for (i64 i = 0; i < n; ++i) out[i] = std::pow(x[i], p); break;
    case UnaryOp::Scale: for (i64 i = 0; i < n; ++i) out[i] = x[i] * p; break;
    case UnaryOp::AddScalar: for (i64 i = 0; i < n; ++i) out[i] = x[i] + p; break;
    case UnaryOp::ClampMin:  // NaN propagates, as torch.clamp
      for (i64 i = 0; i < n; ++i) out[i] = x[i] < p ? p : x[i];
      break;
  }
}

LERNEN_CLONES
void unaryBackward(UnaryOp op, i64 n, const float* x, const float* y, const float* dy, float* dx,
                   float p) {
  switch (op) {
    case UnaryOp::Neg: for (i64 i = 0; i < n; ++i) dx[i] = -dy[i]; break;
    case UnaryOp::Exp: for (i64 i = 0; i < n; ++i) dx[i] = dy[i] * y[i]; break;
    case UnaryOp::Log: for (i64 i = 0; i < n; ++i) dx[i] = dy[i] / x[i]; break;
    case UnaryOp::Sqrt: for (i64 i = 0; i < n; ++i) dx[i] = dy[i] * 0.5f / y[i]; break;
    case UnaryOp::Abs:  // abs'(0) = 0
      for (i64 i = 0; i < n; ++i) {
        const float v = x[i];
        dx[i] = v > 0.0f ? dy[i] : (v < 0.0f ? -dy[i] : 0.0f * dy[i]);
      }
      break;
    case UnaryOp::Sign: for (i64 i = 0; i < n; ++i) dx[i] = 0.0f * dy[i]; break;
    case UnaryOp::Square: for (i64 i = 0; i < n; ++i) dx[i] = dy[i] * 2.0f * x[i]; break;
    case UnaryOp::Reciprocal:
      for (i64 i = 0; i < n; ++i) dx[i] = -dy[i] * y[i] * y[i];
      break;
    case UnaryOp::Relu:  // relu'(0) = 0
      for (i64 i = 0; i < n; ++i) {
        const float g = dy[i];  // an unconditional load, so the select vectorises
        dx[i] = x[i] > 0.0f ? g : 0.0f;
      }
      break;
    case UnaryOp::LeakyRelu:
      for (i64 i = 0; i < n; ++i) {
        const float g = dy[i];
        dx[i] = x[i] > 0.0f ? g : p * g;
      }
      break;
    case UnaryOp::Sigmoid:
      for (i64 i = 0; i < n; ++i) dx[i] = dy[i] * y[i] * (1.0f - y[i]);
      break;
    case UnaryOp::Tanh:
      for (i64 i = 0; i < n; ++i) dx[i] = dy[i] * (1.0f - y[i] * y[i]);
      break;
    case UnaryOp::Gelu: for (i64 i = 0; i < n; ++i) dx[i] = dy[i] * geluGrad(x[i]); break;
    case UnaryOp::Pow:  // d/dx x^p = p·x^(p−1); exactly 0 for p = 0 (as PyTorch)
      if (p == 0.0f) {
        for (i64 i = 0; i < n; ++i) dx[i] = 0.0f * dy[i];
      } else {
        for (i64 i = 0; i < n; ++i) dx[i] = dy[i] * p * std::pow(x[i], p - 1.0f);
      }
      break;
    case UnaryOp::Scale: for (i64 i = 0; i < n; ++i) dx[i] = dy[i] * p; break;
    case UnaryOp::AddScalar: for (i64 i = 0; i < n; ++i) dx[i] = dy[i]; break;
    case UnaryOp::ClampMin:  // gradient passes where x ≥ min (torch.clamp's mask)
      for (i64 i = 0; i < n; ++i) {
        const float g = dy[i];
        dx[i] = x[i] >= p ? g : 0.0f;
      }
      break;
  }
}

LERNEN_CLONES
void axpy(i64 n, float alpha, const float* x, float* y) {
  for (i64 i = 0; i < n; ++i) y[i] += alpha * x[i];
}

// ------------------------------------------------------------------ sumTo

namespace {

LERNEN_CLONES void addRowC(i64 n, const float* x, float* out) { addRow(n, x, out); }
LERNEN_CLONES float sumRunC(i64 n, const float* x) { return sumRun(n, x); }

}  // namespace

void sumTo(const float* x, const i64* xShape, int xRank, float* out, const i64* outShape,
           int outRank) {
  const int rank = xRank > outRank ? xRank : outRank;
  i64 full[kMaxRank], po[kMaxRank], sx[kMaxRank], so[kMaxRank];
  padShape(xShape, xRank, rank, full);
  padShape(outShape, outRank, rank, po);
  const i64 outCount = numel(po, rank);
  for (i64 i = 0; i < outCount; ++i) out[i] = 0.0f;
  if (numel(full, rank) == 0) return;
  broadcastStrides(full, full, rank, sx);
  broadcastStrides(po, full, rank, so);
  if (outCount == numel(full, rank)) {  // nothing to reduce: a copy
    std::memcpy(out, x, static_cast<size_t>(outCount) * sizeof(float));
    return;
  }
  const Layout l = collapse(full, sx, so, rank);
  const i64 inner = l.dim[l.rank - 1];
  const bool outInner = l.stride[1][l.rank - 1] != 0;
  forEachRow(l, [&](i64 ox, i64 oo, i64 /*contiguous x offset*/) {
    if (outInner) {
      addRowC(inner, x + ox, out + oo);
    } else {
      out[oo] += sumRunC(inner, x + ox);
    }
  });
}

// ------------------------------------------------------------------ permute

void permute(const float* x, const i64* shape, const int* perm, int rank, float* out) {
  i64 n = numel(shape, rank);
  if (n == 0) return;
  // Output dims and their strides in x; merge out dims that stay contiguous in x.
  i64 inStride[kMaxRank];
  {
    i64 s = 1;
    for (int i = rank - 1; i >= 0; --i) inStride[i] = s, s *= shape[i];
  }
  i64 dim[kMaxRank], st[kMaxRank];
  int r = 0;
  for (int i = 0; i < rank; ++i) {
    const i64 d = shape[perm[i]], s = inStride[perm[i]];
    if (d == 1) continue;
    if (r > 0 && st[r - 1] == s * d) {
      dim[r - 1] *= d;
      st[r - 1] = s;
      continue;
    }
    dim[r] = d;
    st[r] = s;
    ++r;
  }
  if (r == 0 || (r == 1 && st[0] == 1)) {  // the identity permutation, after collapsing
    std::memcpy(out, x, static_cast<size_t>(n) * sizeof(float));
    return;
  }
  if (r == 1) {
    dim[1] = dim[0], st[1] = st[0], dim[0] = 1, st[0] = 0, r = 2;
  }
  // Outer odometer over dims [0, r-2); the last two dims are copied in 32×32 tiles, so both
  // the strided reads and the contiguous writes stay in cache (a blocked transpose).
  const i64 rowsD = dim[r - 2], colsD = dim[r - 1], rs = st[r - 2], cs = st[r - 1];
  i64 outer = 1;
  for (int i = 0; i < r - 2; ++i) outer *= dim[i];
  i64 counter[kMaxRank] = {0};
  i64 off = 0;
  constexpr i64 T = 32;
  for (i64 o = 0; o < outer; ++o) {
    const float* src = x + off;
    float* dst = out + o * rowsD * colsD;
    for (i64 i0 = 0; i0 < rowsD; i0 += T) {
      const i64 i1 = i0 + T < rowsD ? i0 + T : rowsD;
      for (i64 j0 = 0; j0 < colsD; j0 += T) {
        const i64 j1 = j0 + T < colsD ? j0 + T : colsD;
        for (i64 i = i0; i < i1; ++i) {
          for (i64 j = j0; j < j1; ++j) dst[i * colsD + j] = src[i * rs + j * cs];
        }
      }
    }
    for (int i = r - 3; i >= 0; --i) {
      off += st[i];
      if (++counter[i] < dim[i]) break;
      off -= st[i] * dim[i];
      counter[i] = 0;
    }
  }
}

// byte·scale + shift in double, rounded once to float: the same arithmetic as the JS backend, in
// a loop that vectorises (byte → int → double conversions; no fused multiply-add, as
// -ffp-contract=off). A table lookup per byte measured 2-3x slower: it cannot vectorise.
LERNEN_CLONES
void gatherRecord(const std::uint8_t* __restrict s, i64 length, double scale, double shift,
                  float* __restrict o) {
  for (i64 j = 0; j < length; ++j) o[j] = static_cast<float>(double(s[j]) * scale + shift);
}

// Records are picked at random from a data set far larger than the caches, so a batch costs a
// few DRAM misses per record (128 MNIST records: ~75 us; in order: ~27 us). Software prefetch of
// the next records measured no better.
void gatherBytes(const std::uint8_t* src, const std::int32_t* indices, i64 count, i64 stride,
                 i64 offset, i64 length, double scale, double shift, float* out) {
  for (i64 k = 0; k < count; ++k) {
    gatherRecord(src + i64(indices[k]) * stride + offset, length, scale, shift,
                 out + k * stride + offset);
  }
}

}  // namespace lernen
