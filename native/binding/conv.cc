// im2col, col2im.
#include "entries.h"
#include "validate.h"
#include "window.h"

namespace lernen::binding {

namespace {

// col is [n, c·kh·kw, oh·ow].
i64 colCount(const Args& args, const Window2d& g) {
  return args.mul({g.n, g.c, g.kh, g.kw, g.oh, g.ow}, "n·c·kh·kw·oh·ow");
}

}  // namespace

Napi::Value Im2col(const Napi::CallbackInfo& info) {
  Args args(info, "im2col", 12, 12);
  const auto x = args.f32(0, "x");
  const WindowArgs wa = windowArgs(args, 1);
  const auto col = args.f32(11, "col");
  const i64 cols = colCount(args, wa.g);
  args.need(x, wa.input, "n·c·h·w");
  args.need(col, cols, "n·c·kh·kw·oh·ow");
  args.noOverlap({Args::span(x, wa.input, false), Args::span(col, cols, true)});
  lernen::im2col(x.data, wa.g, col.data);
  return info.Env().Undefined();
}

Napi::Value Col2im(const Napi::CallbackInfo& info) {
  Args args(info, "col2im", 12, 12);
  const auto col = args.f32(0, "col");
  const WindowArgs wa = windowArgs(args, 1);
  const auto dx = args.f32(11, "dx");
  const i64 cols = colCount(args, wa.g);
  args.need(col, cols, "n·c·kh·kw·oh·ow");
  args.need(dx, wa.input, "n·c·h·w");
  args.noOverlap({Args::span(col, cols, false), Args::span(dx, wa.input, true)});
  lernen::col2im(col.data, wa.g, dx.data);
  return info.Env().Undefined();
}

}  // namespace lernen::binding
