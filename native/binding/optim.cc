// sgdStep, adamStep, rmspropStep: in-place updates over n elements; each returns how many of
// the parameter values it wrote are not finite.
#include "entries.h"
#include "validate.h"

namespace lernen::binding {

Napi::Value SgdStep(const Napi::CallbackInfo& info) {
  Args args(info, "sgdStep", 10, 10);
  const i64 n = args.size(0, "n");
  const auto param = args.f32(1, "param");
  const auto grad = args.f32(2, "grad");
  const auto buf = args.f32OrNull(3, "buf");
  const double lr = args.float32(4, "lr");
  const double momentum = args.float32(5, "momentum");
  const double dampening = args.float32(6, "dampening");
  const bool nesterov = args.boolean(7, "nesterov");
  const double weightDecay = args.float32(8, "weightDecay");
  const bool first = args.boolean(9, "first");
  const bool useBuf = float(momentum) != 0.0f;
  if (useBuf && !buf.present) args.typeError("buf must be a Float32Array when momentum is not 0");
  args.need(param, n, "n");
  args.need(grad, n, "n");
  args.need(buf, useBuf ? n : 0, "n");
  args.noOverlap({Args::span(param, n, true), Args::span(grad, n, false),
                  Args::span(buf, useBuf ? n : 0, true)});
  const i64 bad = lernen::sgdStep(n, param.data, grad.data, useBuf ? buf.data : nullptr, float(lr),
                                  float(momentum), float(dampening), nesterov, float(weightDecay),
                                  first);
  return Napi::Number::New(info.Env(), double(bad));
}

Napi::Value AdamStep(const Napi::CallbackInfo& info) {
  Args args(info, "adamStep", 12, 12);
  const i64 n = args.size(0, "n");
  const auto param = args.f32(1, "param");
  const auto grad = args.f32(2, "grad");
  const auto m = args.f32(3, "m");
  const auto v = args.f32(4, "v");
  const double lr = args.float32(5, "lr");
  const double beta1 = args.numberIn(6, "beta1", 0.0, 1.0, true);
  const double beta2 = args.numberIn(7, "beta2", 0.0, 1.0, true);
  const double eps = args.float32(8, "eps");
  const double weightDecay = args.float32(9, "weightDecay");
  const i64 step = args.size(10, "step", kMaxSafeInteger, 1);
  const bool decoupled = args.boolean(11, "decoupled");
  args.need(param, n, "n");
  args.need(grad, n, "n");
  args.need(m, n, "n");
  args.need(v, n, "n");
  args.noOverlap({Args::span(param, n, true), Args::span(grad, n, false), Args::span(m, n, true),
                  Args::span(v, n, true)});
  const i64 bad = lernen::adamStep(n, param.data, grad.data, m.data, v.data, float(lr),
                                   float(beta1), float(beta2), float(eps), float(weightDecay),
                                   double(step), decoupled);
  return Napi::Number::New(info.Env(), double(bad));
}

Napi::Value RmspropStep(const Napi::CallbackInfo& info) {
  Args args(info, "rmspropStep", 12, 12);
  const i64 n = args.size(0, "n");
  const auto param = args.f32(1, "param");
  const auto grad = args.f32(2, "grad");
  const auto sq = args.f32(3, "sq");
  const auto gAvg = args.f32OrNull(4, "gAvg");
  const auto buf = args.f32OrNull(5, "buf");
  const double lr = args.float32(6, "lr");
  const double alpha = args.float32(7, "alpha");
  const double eps = args.float32(8, "eps");
  const double weightDecay = args.float32(9, "weightDecay");
  const double momentum = args.float32(10, "momentum");
  const bool centered = args.boolean(11, "centered");
  const bool useBuf = float(momentum) > 0.0f;
  if (centered && !gAvg.present) args.typeError("gAvg must be a Float32Array when centered");
  if (useBuf && !buf.present) args.typeError("buf must be a Float32Array when momentum > 0");
  const i64 nAvg = centered ? n : 0, nBuf = useBuf ? n : 0;
  args.need(param, n, "n");
  args.need(grad, n, "n");
  args.need(sq, n, "n");
  args.need(gAvg, nAvg, "n");
  args.need(buf, nBuf, "n");
  args.noOverlap({Args::span(param, n, true), Args::span(grad, n, false), Args::span(sq, n, true),
                  Args::span(gAvg, nAvg, true), Args::span(buf, nBuf, true)});
  const i64 bad = lernen::rmspropStep(n, param.data, grad.data, sq.data,
                                      centered ? gAvg.data : nullptr, useBuf ? buf.data : nullptr,
                                      float(lr), float(alpha), float(eps), float(weightDecay),
                                      float(momentum), centered);
  return Napi::Number::New(info.Env(), double(bad));
}

}  // namespace lernen::binding
