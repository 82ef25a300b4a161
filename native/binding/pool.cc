// maxPool2d, maxPool2dBackward, avgPool2d, avgPool2dBackward.
#include "entries.h"
#include "validate.h"
#include "window.h"

namespace lernen::binding {

Napi::Value MaxPool2d(const Napi::CallbackInfo& info) {
  Args args(info, "maxPool2d", 13, 13);
  const auto x = args.f32(0, "x");
  const WindowArgs wa = windowArgs(args, 1);
  const auto out = args.f32(11, "out");
  const auto idx = args.i32(12, "idx");
  const Window2d& g = wa.g;
  // PyTorch's rule; it guarantees every window holds at least one input element.
  if (2 * g.padH > g.kh) {
    args.rangeError("padH = " + formatInt(g.padH) + " must be at most kh/2 (kh = " +
                    formatInt(g.kh) + ")");
  }
  if (2 * g.padW > g.kw) {
    args.rangeError("padW = " + formatInt(g.padW) + " must be at most kw/2 (kw = " +
                    formatInt(g.kw) + ")");
  }
  if (wa.planes > 0 && (g.h == 0 || g.w == 0)) args.rangeError("h and w must be ≥ 1");
  if (g.h * g.w > 2147483647) args.rangeError("h·w must fit an Int32Array index (≤ 2^31 − 1)");
  args.need(x, wa.input, "n·c·h·w");
  args.need(out, wa.output, "n·c·oh·ow");
  args.need(idx, wa.output, "n·c·oh·ow");
  args.noOverlap({Args::span(x, wa.input, false), Args::span(out, wa.output, true),
                  Args::span(idx, wa.output, true)});
  lernen::maxPool2d(x.data, g, out.data, idx.data);
  return info.Env().Undefined();
}

Napi::Value MaxPool2dBackward(const Napi::CallbackInfo& info) {
  Args args(info, "maxPool2dBackward", 9, 9);
  const auto dy = args.f32(0, "dy");
  const auto idx = args.i32(1, "idx");
  const i64 n = args.size(2, "n");
  const i64 c = args.size(3, "c");
  const i64 h = args.size(4, "h", kMaxInt32);
  const i64 w = args.size(5, "w", kMaxInt32);
  const i64 oh = args.size(6, "oh", kMaxInt32);
  const i64 ow = args.size(7, "ow", kMaxInt32);
  const auto dx = args.f32(8, "dx");
  const i64 planes = args.mul(n, c, "n·c");
  const i64 hw = h * w, ohw = oh * ow;  // both < 2^62
  const i64 input = args.mul(planes, hw, "n·c·h·w");
  const i64 output = args.mul(planes, ohw, "n·c·oh·ow");
  args.need(dy, output, "n·c·oh·ow");
  args.need(idx, output, "n·c·oh·ow");
  args.need(dx, input, "n·c·h·w");
  args.noOverlap({Args::span(dy, output, false), Args::span(idx, output, false),
                  Args::span(dx, input, true)});
  for (i64 i = 0; i < output; ++i) {
    const std::int32_t v = idx.data[i];
    if (v < 0 || v >= hw) {
      args.rangeError("idx[" + formatInt(i) + "] = " + std::to_string(v) + " is out of range [0, " +
                      formatInt(hw) + ")");
    }
  }
  lernen::maxPool2dBackward(dy.data, idx.data, planes, hw, ohw, dx.data);
  return info.Env().Undefined();
}

Napi::Value AvgPool2d(const Napi::CallbackInfo& info) {
  Args args(info, "avgPool2d", 12, 12);
  const auto x = args.f32(0, "x");
  const WindowArgs wa = windowArgs(args, 1);
  const auto out = args.f32(11, "out");
  args.need(x, wa.input, "n·c·h·w");
  args.need(out, wa.output, "n·c·oh·ow");
  args.noOverlap({Args::span(x, wa.input, false), Args::span(out, wa.output, true)});
  lernen::avgPool2d(x.data, wa.g, out.data);
  return info.Env().Undefined();
}

Napi::Value AvgPool2dBackward(const Napi::CallbackInfo& info) {
  Args args(info, "avgPool2dBackward", 12, 12);
  const auto dy = args.f32(0, "dy");
  const WindowArgs wa = windowArgs(args, 1);
  const auto dx = args.f32(11, "dx");
  args.need(dy, wa.output, "n·c·oh·ow");
  args.need(dx, wa.input, "n·c·h·w");
  args.noOverlap({Args::span(dy, wa.output, false), Args::span(dx, wa.input, true)});
  lernen::avgPool2dBackward(dy.data, wa.g, dx.data);
  return info.Env().Undefined();
}

}  // namespace lernen::binding
