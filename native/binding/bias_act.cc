// biasAct, biasActBackward: bias + activation fused over [outer, channels, inner].
#include "entries.h"
#include "validate.h"

namespace lernen::binding {

Napi::Value BiasAct(const Napi::CallbackInfo& info) {
  Args args(info, "biasAct", 7, 7);
  const auto x = args.f32(0, "x");
  const auto bias = args.f32(1, "bias");
  const i64 outer = args.size(2, "outer");
  const i64 channels = args.size(3, "channels");
  const i64 inner = args.size(4, "inner");
  const int act = args.choice(5, "act", {"none", "relu"});
  const auto out = args.f32(6, "out");
  const i64 total = args.mul({outer, channels, inner}, "outer·channels·inner");
  args.need(x, total, "outer·channels·inner");
  args.need(bias, channels, "channels");
  args.need(out, total, "outer·channels·inner");
  args.noOverlap({Args::span(x, total, false), Args::span(bias, channels, false),
                  Args::span(out, total, true)},
                 {{"out", "x"}});
  lernen::biasAct(x.data, bias.data, outer, channels, inner, static_cast<Activation>(act),
                  out.data);
  return info.Env().Undefined();
}

Napi::Value BiasActBackward(const Napi::CallbackInfo& info) {
  Args args(info, "biasActBackward", 8, 8);
  const auto y = args.f32(0, "y");
  const auto dy = args.f32(1, "dy");
  const i64 outer = args.size(2, "outer");
  const i64 channels = args.size(3, "channels");
  const i64 inner = args.size(4, "inner");
  const int act = args.choice(5, "act", {"none", "relu"});
  const auto dx = args.f32(6, "dx");
  const auto dbias = args.f32OrNull(7, "dbias");
  const i64 total = args.mul({outer, channels, inner}, "outer·channels·inner");
  args.need(y, total, "outer·channels·inner");
  args.need(dy, total, "outer·channels·inner");
  args.need(dx, total, "outer·channels·inner");
  args.need(dbias, dbias.present ? channels : 0, "channels");
  args.noOverlap({Args::span(y, total, false), Args::span(dy, total, false),
                  Args::span(dx, total, true), Args::span(dbias, channels, true)},
                 {{"dx", "dy"}});
  lernen::biasActBackward(y.data, dy.data, outer, channels, inner, static_cast<Activation>(act),
                          dx.data, dbias.get());
  return info.Env().Undefined();
}

}  // namespace lernen::binding
