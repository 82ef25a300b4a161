// batchNorm, batchNormBackward over [outer, channels, inner].
#include "entries.h"
#include "validate.h"

namespace lernen::binding {

Napi::Value BatchNorm(const Napi::CallbackInfo& info) {
  Args args(info, "batchNorm", 14, 14);
  const auto x = args.f32(0, "x");
  const i64 outer = args.size(1, "outer");
  const i64 channels = args.size(2, "channels");
  const i64 inner = args.size(3, "inner");
  const auto gamma = args.f32OrNull(4, "gamma");
  const auto beta = args.f32OrNull(5, "beta");
  const auto runningMean = args.f32(6, "runningMean");
  const auto runningVar = args.f32(7, "runningVar");
  const bool training = args.boolean(8, "training");
  const double momentum = args.float32(9, "momentum");
  const double eps = args.float32(10, "eps");
  // A negative eps can make var + eps negative: a silent NaN. (0 is allowed, as in PyTorch.)
  if (!(eps >= 0)) args.rangeError("eps must be ≥ 0, got " + formatNumber(eps));
  const auto out = args.f32(11, "out");
  const auto saveMean = args.f32(12, "saveMean");
  const auto saveInvStd = args.f32(13, "saveInvStd");
  const i64 total = args.mul({outer, channels, inner}, "outer·channels·inner");
  const i64 perChannel = args.mul(outer, inner, "outer·inner");
  if (training && channels > 0 && perChannel < 2) {
    args.rangeError("training needs more than one value per channel but outer·inner = " +
                    formatInt(perChannel));
  }
  const i64 saved = training ? channels : 0;  // eval mode does not touch saveMean/saveInvStd
  args.need(x, total, "outer·channels·inner");
  args.need(gamma, gamma.present ? channels : 0, "channels");
  args.need(beta, beta.present ? channels : 0, "channels");
  args.need(runningMean, channels, "channels");
  args.need(runningVar, channels, "channels");
  args.need(out, total, "outer·channels·inner");
  args.need(saveMean, saved, "channels");
  args.need(saveInvStd, saved, "channels");
  args.noOverlap({Args::span(x, total, false), Args::span(gamma, channels, false),
                  Args::span(beta, channels, false), Args::span(runningMean, channels, training),
                  Args::span(runningVar, channels, training), Args::span(out, total, true),
                  Args::span(saveMean, saved, true), Args::span(saveInvStd, saved, true)});
  lernen::batchNorm(x.data, outer, channels, inner, gamma.get(), beta.get(), runningMean.data,
                    runningVar.data, training, float(momentum), float(eps), out.data,
                    saveMean.data, saveInvStd.data);
  return info.Env().Undefined();
}

Napi::Value BatchNormBackward(const Napi::CallbackInfo& info) {
  Args args(info, "batchNormBackward", 11, 11);
  const auto x = args.f32(0, "x");
  const auto dy = args.f32(1, "dy");
  const i64 outer = args.size(2, "outer");
  const i64 channels = args.size(3, "channels");
  const i64 inner = args.size(4, "inner");
  const auto gamma = args.f32OrNull(5, "gamma");
  const auto saveMean = args.f32(6, "saveMean");
  const auto saveInvStd = args.f32(7, "saveInvStd");
  const auto dx = args.f32(8, "dx");
  const auto dgamma = args.f32OrNull(9, "dgamma");
  const auto dbeta = args.f32OrNull(10, "dbeta");
  const i64 total = args.mul({outer, channels, inner}, "outer·channels·inner");
  args.need(x, total, "outer·channels·inner");
  args.need(dy, total, "outer·channels·inner");
  args.need(gamma, gamma.present ? channels : 0, "channels");
  args.need(saveMean, channels, "channels");
  args.need(saveInvStd, channels, "channels");
  args.need(dx, total, "outer·channels·inner");
  args.need(dgamma, dgamma.present ? channels : 0, "channels");
  args.need(dbeta, dbeta.present ? channels : 0, "channels");
  args.noOverlap({Args::span(x, total, false), Args::span(dy, total, false),
                  Args::span(gamma, channels, false), Args::span(saveMean, channels, false),
                  Args::span(saveInvStd, channels, false), Args::span(dx, total, true),
                  Args::span(dgamma, channels, true), Args::span(dbeta, channels, true)});
  lernen::batchNormBackward(x.data, dy.data, outer, channels, inner, gamma.get(), saveMean.data,
                            saveInvStd.data, dx.data, dgamma.get(), dbeta.get());
  return info.Env().Undefined();
}

}  // namespace lernen::binding
