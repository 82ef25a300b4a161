// reduce: sum / mean / max / min over the middle axis of [outer, dim, inner].
#include "entries.h"
#include "validate.h"

namespace lernen::binding {

Napi::Value Reduce(const Napi::CallbackInfo& info) {
  Args args(info, "reduce", 6, 7);
  const int op = args.choice(0, "op", {"sum", "mean", "max", "min"});
  const auto x = args.f32(1, "x");
  const i64 outer = args.size(2, "outer");
  const i64 dim = args.size(3, "dim");
  const i64 inner = args.size(4, "inner");
  const auto out = args.f32(5, "out");
  const auto idx = args.i32OrNull(6, "idx");
  const bool extreme = op >= static_cast<int>(ReduceOp::Max);
  const i64 total = args.mul({outer, dim, inner}, "outer·dim·inner");
  const i64 rows = args.mul(outer, inner, "outer·inner");
  if (extreme && dim == 0) args.rangeError("dim must be ≥ 1 for max and min");
  if (extreme && dim - 1 > 2147483647) args.rangeError("dim must be ≤ 2^31 for an Int32Array idx");
  args.need(x, total, "outer·dim·inner");
  args.need(out, rows, "outer·inner");
  // idx is only written by max/min; sum and mean ignore it.
  const i64 idxCount = extreme ? rows : 0;
  args.need(idx, idxCount, "outer·inner");
  args.noOverlap({Args::span(x, total, false), Args::span(out, rows, true),
                  Args::span(idx, idxCount, true)});
  lernen::reduce(static_cast<ReduceOp>(op), x.data, outer, dim, inner, out.data,
                 extreme ? idx.get() : nullptr);
  return info.Env().Undefined();
}

}  // namespace lernen::binding
