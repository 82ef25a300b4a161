// gemm, gemmBatched: argument checks, then one cblas_sgemm (or one per batch element).
#include "entries.h"
#include "validate.h"

namespace lernen::binding {

Napi::Value Gemm(const Napi::CallbackInfo& info) {
  Args args(info, "gemm", 10, 10);
  const bool transA = args.boolean(0, "transA");
  const bool transB = args.boolean(1, "transB");
  const i64 m = args.size(2, "m", kMaxInt32);
  const i64 n = args.size(3, "n", kMaxInt32);
  const i64 k = args.size(4, "k", kMaxInt32);
  const double alpha = args.float32(5, "alpha");
  const auto a = args.f32(6, "a");
  const auto b = args.f32(7, "b");
  const double beta = args.float32(8, "beta");
  const auto c = args.f32(9, "c");
  const i64 mk = args.mul(m, k, "m·k"), kn = args.mul(k, n, "k·n"), mn = args.mul(m, n, "m·n");
  args.need(a, mk, "m·k");
  args.need(b, kn, "k·n");
  args.need(c, mn, "m·n");
  args.noOverlap({Args::span(a, mk, false), Args::span(b, kn, false), Args::span(c, mn, true)});
  lernen::gemm(transA, transB, m, n, k, float(alpha), a.data, b.data, float(beta), c.data);
  return info.Env().Undefined();
}

Napi::Value GemmBatched(const Napi::CallbackInfo& info) {
  Args args(info, "gemmBatched", 14, 14);
  const i64 batch = args.size(0, "batch");
  const bool transA = args.boolean(1, "transA");
  const bool transB = args.boolean(2, "transB");
  const i64 m = args.size(3, "m", kMaxInt32);
  const i64 n = args.size(4, "n", kMaxInt32);
  const i64 k = args.size(5, "k", kMaxInt32);
  const double alpha = args.float32(6, "alpha");
  const auto a = args.f32(7, "a");
  const i64 strideA = args.size(8, "strideA");
  const auto b = args.f32(9, "b");
  const i64 strideB = args.size(10, "strideB");
  const double beta = args.float32(11, "beta");
  const auto c = args.f32(12, "c");
  const i64 strideC = args.size(13, "strideC");
  const i64 mk = args.mul(m, k, "m·k"), kn = args.mul(k, n, "k·n"), mn = args.mul(m, n, "m·n");
  if (strideC < mn) {
    args.rangeError("strideC = " + formatInt(strideC) + " must be ≥ m·n = " + formatInt(mn) +
                    " (the C_i must not overlap)");
  }
  // Matrix i starts at i·stride; the last one must end inside the buffer.
  auto required = [&](i64 stride, i64 size, const char* what) -> i64 {
    if (batch == 0 || size == 0) return 0;
    return args.add(args.mul(batch - 1, stride, what), size, what);
  };
  const i64 needA = required(strideA, mk, "(batch−1)·strideA + m·k");
  const i64 needB = required(strideB, kn, "(batch−1)·strideB + k·n");
  const i64 needC = required(strideC, mn, "(batch−1)·strideC + m·n");
  args.need(a, needA, "(batch−1)·strideA + m·k");
  args.need(b, needB, "(batch−1)·strideB + k·n");
  args.need(c, needC, "(batch−1)·strideC + m·n");
  args.noOverlap(
      {Args::span(a, needA, false), Args::span(b, needB, false), Args::span(c, needC, true)});
  lernen::gemmBatched(batch, transA, transB, m, n, k, float(alpha), a.data, strideA, b.data,
                      strideB, float(beta), c.data, strideC);
  return info.Env().Undefined();
}

}  // namespace lernen::binding
