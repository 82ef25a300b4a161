// binary, unary, unaryBackward, axpy, sumTo, permute.
#include <algorithm>

#include "entries.h"
#include "validate.h"

namespace lernen::binding {

namespace {

#define LERNEN_UNARY_OPS                                                                    \
  {"neg", "exp", "log", "sqrt", "abs", "sign", "square", "reciprocal", "relu", "leakyRelu", \
   "sigmoid", "tanh", "gelu", "pow", "scale", "addScalar", "clampMin"}

// Left-pads both shapes to a common rank; returns false if some pair of dims is incompatible.
bool broadcastShapes(const Shape& a, const Shape& b, Shape& out) {
  out.rank = std::max(a.rank, b.rank);
  out.numel = 1;
  for (int i = 0; i < out.rank; ++i) {
    const int ia = i - (out.rank - a.rank), ib = i - (out.rank - b.rank);
    const i64 da = ia >= 0 ? a.dim[ia] : 1, db = ib >= 0 ? b.dim[ib] : 1;
    if (da != db && da != 1 && db != 1) return false;
    out.dim[i] = da == 1 ? db : da;
  }
  return true;
}

bool sameShape(const Shape& a, const Shape& b) {
  if (a.rank != b.rank) return false;
  for (int i = 0; i < a.rank; ++i) {
    if (a.dim[i] != b.dim[i]) return false;
  }
  return true;
}

// The ops that read `param` must be given one; the others ignore it (default 0).
double unaryParam(const Args& args, size_t i, int op) {
  switch (static_cast<UnaryOp>(op)) {
    case UnaryOp::LeakyRelu:
    case UnaryOp::Pow:
    case UnaryOp::Scale:
    case UnaryOp::AddScalar:
    case UnaryOp::ClampMin:
      if (args.at(i).IsUndefined()) {
        static const char* const names[] = LERNEN_UNARY_OPS;
        args.typeError(std::string("param is required by op '") + names[op] + "'");
      }
      return args.float32(i, "param");
    default:
      return args.float32Or(i, "param", 0.0);
  }
}

}  // namespace

Napi::Value Binary(const Napi::CallbackInfo& info) {
  Args args(info, "binary", 7, 7);
  const int op = args.choice(0, "op", {"add", "sub", "mul", "div", "max", "min", "pow"});
  // Shapes first: reading a shape array can run JS (an index getter) that detaches a buffer, so
  // every typed array is read after the last shape (no stale data pointer).
  const Shape aShape = args.shape(2, "aShape");
  const Shape bShape = args.shape(4, "bShape");
  const Shape outShape = args.shape(6, "outShape");
  const auto a = args.f32(1, "a");
  const auto b = args.f32(3, "b");
  const auto out = args.f32(5, "out");
  Shape expected;
  if (!broadcastShapes(aShape, bShape, expected)) {
    args.rangeError("shapes " + aShape.str() + " and " + bShape.str() + " do not broadcast");
  }
  if (!sameShape(expected, outShape)) {
    args.rangeError("outShape " + outShape.str() + " is not the broadcast " + expected.str() +
                    " of aShape " + aShape.str() + " and bShape " + bShape.str());
  }
  args.need(a, aShape.numel, "numel(aShape)");
  args.need(b, bShape.numel, "numel(bShape)");
  args.need(out, outShape.numel, "numel(outShape)");
  // out may be a or b only as the very same elements, which also means the same shape as out.
  args.noOverlap({Args::span(a, aShape.numel, false), Args::span(b, bShape.numel, false),
                  Args::span(out, outShape.numel, true)},
                 {{"out", "a"}, {"out", "b"}});
  lernen::binary(static_cast<BinaryOp>(op), a.data, aShape.dim, aShape.rank, b.data, bShape.dim,
                 bShape.rank, out.data, outShape.dim, outShape.rank);
  return info.Env().Undefined();
}

Napi::Value Unary(const Napi::CallbackInfo& info) {
  Args args(info, "unary", 4, 5);
  const int op = args.choice(0, "op", LERNEN_UNARY_OPS);
  const i64 n = args.size(1, "n");
  const auto x = args.f32(2, "x");
  const auto out = args.f32(3, "out");
  const double param = unaryParam(args, 4, op);
  args.need(x, n, "n");
  args.need(out, n, "n");
  args.noOverlap({Args::span(x, n, false), Args::span(out, n, true)}, {{"out", "x"}});
  lernen::unary(static_cast<UnaryOp>(op), n, x.data, out.data, float(param));
  return info.Env().Undefined();
}

Napi::Value UnaryBackward(const Napi::CallbackInfo& info) {
  Args args(info, "unaryBackward", 6, 7);
  const int op = args.choice(0, "op", LERNEN_UNARY_OPS);
  const i64 n = args.size(1, "n");
  const auto x = args.f32(2, "x");
  const auto y = args.f32(3, "y");
  const auto dy = args.f32(4, "dy");
  const auto dx = args.f32(5, "dx");
  const double param = unaryParam(args, 6, op);
  args.need(x, n, "n");
  args.need(y, n, "n");
  args.need(dy, n, "n");
  args.need(dx, n, "n");
  args.noOverlap({Args::span(x, n, false), Args::span(y, n, false), Args::span(dy, n, false),
                  Args::span(dx, n, true)},
                 {{"dx", "dy"}});
  lernen::unaryBackward(static_cast<UnaryOp>(op), n, x.data, y.data, dy.data, dx.data,
                        float(param));
  return info.Env().Undefined();
}

Napi::Value Axpy(const Napi::CallbackInfo& info) {
  Args args(info, "axpy", 4, 4);
  const i64 n = args.size(0, "n");
  const double alpha = args.float32(1, "alpha");
  const auto x = args.f32(2, "x");
  const auto y = args.f32(3, "y");
  args.need(x, n, "n");
  args.need(y, n, "n");
  args.noOverlap({Args::span(x, n, false), Args::span(y, n, true)});
  lernen::axpy(n, float(alpha), x.data, y.data);
  return info.Env().Undefined();
}

Napi::Value SumTo(const Napi::CallbackInfo& info) {
  Args args(info, "sumTo", 4, 4);
  const Shape xShape = args.shape(1, "xShape");  // shapes before buffers (see Binary)
  const Shape outShape = args.shape(3, "outShape");
  const auto x = args.f32(0, "x");
  const auto out = args.f32(2, "out");
  // After left-padding with 1s, every out dim is 1 or equals the x dim.
  const int rank = std::max(xShape.rank, outShape.rank);
  for (int i = 0; i < rank; ++i) {
    const int ix = i - (rank - xShape.rank), io = i - (rank - outShape.rank);
    const i64 dx = ix >= 0 ? xShape.dim[ix] : 1, dout = io >= 0 ? outShape.dim[io] : 1;
    if (dout != 1 && dout != dx) {
      args.rangeError("outShape " + outShape.str() + " cannot be reached by summing xShape " +
                      xShape.str() + " (each out dim must be 1 or equal the x dim)");
    }
  }
  args.need(x, xShape.numel, "numel(xShape)");
  args.need(out, outShape.numel, "numel(outShape)");
  args.noOverlap({Args::span(x, xShape.numel, false), Args::span(out, outShape.numel, true)});
  lernen::sumTo(x.data, xShape.dim, xShape.rank, out.data, outShape.dim, outShape.rank);
  return info.Env().Undefined();
}

Napi::Value Permute(const Napi::CallbackInfo& info) {
  Args args(info, "permute", 4, 4);
  const Shape shape = args.shape(1, "shape");  // shapes before buffers (see Binary)
  const Shape permShape = args.shape(2, "perm");
  const auto x = args.f32(0, "x");
  const auto out = args.f32(3, "out");
  if (permShape.rank != shape.rank) {
    args.rangeError("perm " + permShape.str() + " has " + std::to_string(permShape.rank) +
                    " entries but shape " + shape.str() + " has rank " +
                    std::to_string(shape.rank));
  }
  int perm[kMaxRank];
  bool seen[kMaxRank] = {false};
  for (int i = 0; i < shape.rank; ++i) {
    const i64 p = permShape.dim[i];
    if (p >= shape.rank || seen[p]) {
      args.rangeError("perm " + permShape.str() + " is not a permutation of [0, " +
                      std::to_string(shape.rank) + ")");
    }
    seen[p] = true;
    perm[i] = static_cast<int>(p);
  }
  args.need(x, shape.numel, "numel(shape)");
  args.need(out, shape.numel, "numel(shape)");
  args.noOverlap({Args::span(x, shape.numel, false), Args::span(out, shape.numel, true)});
  lernen::permute(x.data, shape.dim, perm, shape.rank, out.data);
  return info.Env().Undefined();
}

Napi::Value GatherBytes(const Napi::CallbackInfo& info) {
  Args args(info, "gatherBytes", 9, 9);
  const i64 count = args.size(2, "count");
  const i64 stride = args.size(3, "stride", kMaxSafeInteger, 1);
  const i64 offset = args.size(4, "offset");
  const i64 length = args.size(5, "length");
  const double scale = args.number(6, "scale");
  const double shift = args.number(7, "shift");
  const auto src = args.u8(0, "src");
  const auto indices = args.i32(1, "indices");
  const auto out = args.f32(8, "out");
  if (args.add(offset, length, "offset + length") > stride) {
    args.rangeError("offset + length = " + formatInt(offset + length) + " exceeds stride = " +
                    formatInt(stride));
  }
  args.need(indices, count, "count");
  args.need(out, args.mul(count, stride, "count·stride"), "count·stride");
  // Every index addresses a whole record of src.
  const i64 records = static_cast<i64>(src.length) / stride;
  for (i64 k = 0; k < count; ++k) {
    const std::int32_t v = indices.data[k];
    if (v < 0 || v >= records) {
      args.rangeError("indices[" + formatInt(k) + "] = " + std::to_string(v) +
                      " is out of range [0, " + formatInt(records) + ") (src holds " +
                      formatInt(records) + " records of stride " + formatInt(stride) + ")");
    }
  }
  args.noOverlap({Args::span(src, records * stride, false), Args::span(indices, count, false),
                  Args::span(out, count * stride, true)});
  lernen::gatherBytes(src.data, indices.data, count, stride, offset, length, scale, shift,
                      out.data);
  return info.Env().Undefined();
}

}  // namespace lernen::binding
