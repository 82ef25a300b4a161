// randUniform, randNormal, dropoutMask, dropout: xoshiro128** with the state held by the caller.
#include "entries.h"
#include "validate.h"

namespace lernen::binding {

namespace {

Buf<std::uint32_t> state(const Args& args, size_t i) {
  auto s = args.u32(i, "state");
  args.need(s, 4, "4");
  if ((s.data[0] | s.data[1] | s.data[2] | s.data[3]) == 0) {
    args.rangeError("state is all zeros (xoshiro128** would only ever return 0); seed it first");
  }
  return s;
}

}  // namespace

Napi::Value RandUniform(const Napi::CallbackInfo& info) {
  Args args(info, "randUniform", 5, 5);
  const auto st = state(args, 0);
  const auto out = args.f32(1, "out");
  const i64 n = args.size(2, "n");
  const double lo = args.float32(3, "lo");
  const double hi = args.float32(4, "hi");
  args.need(out, n, "n");
  args.noOverlap({Args::span(st, 4, true), Args::span(out, n, true)});
  lernen::randUniform(st.data, out.data, n, lo, hi);
  return info.Env().Undefined();
}

Napi::Value RandNormal(const Napi::CallbackInfo& info) {
  Args args(info, "randNormal", 5, 5);
  const auto st = state(args, 0);
  const auto out = args.f32(1, "out");
  const i64 n = args.size(2, "n");
  const double mean = args.number(3, "mean");
  const double std = args.number(4, "std");
  args.need(out, n, "n");
  args.noOverlap({Args::span(st, 4, true), Args::span(out, n, true)});
  lernen::randNormal(st.data, out.data, n, mean, std);
  return info.Env().Undefined();
}

Napi::Value DropoutMask(const Napi::CallbackInfo& info) {
  Args args(info, "dropoutMask", 4, 4);
  const auto st = state(args, 0);
  const auto mask = args.f32(1, "mask");
  const i64 n = args.size(2, "n");
  const double p = args.numberIn(3, "p", 0.0, 1.0, true);
  args.need(mask, n, "n");
  args.noOverlap({Args::span(st, 4, true), Args::span(mask, n, true)});
  lernen::dropoutMask(st.data, mask.data, n, p);
  return info.Env().Undefined();
}

Napi::Value Dropout(const Napi::CallbackInfo& info) {
  Args args(info, "dropout", 6, 6);
  const auto st = state(args, 0);
  const auto x = args.f32(1, "x");
  const i64 n = args.size(2, "n");
  const double p = args.numberIn(3, "p", 0.0, 1.0, true);
  const auto out = args.f32(4, "out");
  const auto mask = args.f32(5, "mask");
  args.need(x, n, "n");
  args.need(out, n, "n");
  args.need(mask, n, "n");
  args.noOverlap({Args::span(st, 4, true), Args::span(x, n, false), Args::span(out, n, true),
                  Args::span(mask, n, true)},
                 {{"out", "x"}});
  lernen::dropout(st.data, x.data, n, p, out.data, mask.data);
  return info.Env().Undefined();
}

}  // namespace lernen::binding
