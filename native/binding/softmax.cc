// softmax, softmaxBackward, softmaxCrossEntropy, softmaxCrossEntropyBackward.
#include "entries.h"
#include "validate.h"

namespace lernen::binding {

namespace {

// Every target in [0, c), checked before anything is written.
void checkTargets(const Args& args, const Buf<std::int32_t>& t, i64 n, i64 c) {
  for (i64 i = 0; i < n; ++i) {
    const std::int32_t v = t.data[i];
    if (v < 0 || v >= c) {
      args.rangeError("target " + std::to_string(v) + " at row " + formatInt(i) +
                      " is out of range [0, " + formatInt(c) + ")");
    }
  }
}

}  // namespace

Napi::Value Softmax(const Napi::CallbackInfo& info) {
  Args args(info, "softmax", 6, 6);
  const auto x = args.f32(0, "x");
  const i64 outer = args.size(1, "outer");
  const i64 dim = args.size(2, "dim");
  const i64 inner = args.size(3, "inner");
  const auto out = args.f32(4, "out");
  const bool log = args.boolean(5, "log");
  const i64 total = args.mul({outer, dim, inner}, "outer·dim·inner");
  args.need(x, total, "outer·dim·inner");
  args.need(out, total, "outer·dim·inner");
  args.noOverlap({Args::span(x, total, false), Args::span(out, total, true)});
  lernen::softmax(x.data, outer, dim, inner, out.data, log);
  return info.Env().Undefined();
}

Napi::Value SoftmaxBackward(const Napi::CallbackInfo& info) {
  Args args(info, "softmaxBackward", 7, 7);
  const auto y = args.f32(0, "y");
  const auto dy = args.f32(1, "dy");
  const i64 outer = args.size(2, "outer");
  const i64 dim = args.size(3, "dim");
  const i64 inner = args.size(4, "inner");
  const auto dx = args.f32(5, "dx");
  const bool log = args.boolean(6, "log");
  const i64 total = args.mul({outer, dim, inner}, "outer·dim·inner");
  args.need(y, total, "outer·dim·inner");
  args.need(dy, total, "outer·dim·inner");
  args.need(dx, total, "outer·dim·inner");
  args.noOverlap({Args::span(y, total, false), Args::span(dy, total, false),
                  Args::span(dx, total, true)},
                 {{"dx", "dy"}});
  lernen::softmaxBackward(y.data, dy.data, outer, dim, inner, dx.data, log);
  return info.Env().Undefined();
}

Napi::Value SoftmaxCrossEntropy(const Napi::CallbackInfo& info) {
  Args args(info, "softmaxCrossEntropy", 7, 7);
  const auto logits = args.f32(0, "logits");
  const auto targets = args.i32(1, "targets");
  const i64 n = args.size(2, "n");
  const i64 c = args.size(3, "c");
  const double eps = args.numberIn(4, "labelSmoothing", 0.0, 1.0, false);
  const auto loss = args.f32(5, "loss");
  const auto probs = args.f32(6, "probs");
  const i64 nc = args.mul(n, c, "n·c");
  args.need(logits, nc, "n·c");
  args.need(targets, n, "n");
  args.need(loss, n, "n");
  args.need(probs, nc, "n·c");
  args.noOverlap({Args::span(logits, nc, false), Args::span(targets, n, false),
                  Args::span(loss, n, true), Args::span(probs, nc, true)});
  checkTargets(args, targets, n, c);
  lernen::softmaxCrossEntropy(logits.data, targets.data, n, c, float(eps), loss.data, probs.data);
  return info.Env().Undefined();
}

Napi::Value SoftmaxCrossEntropyBackward(const Napi::CallbackInfo& info) {
  Args args(info, "softmaxCrossEntropyBackward", 7, 7);
  const auto probs = args.f32(0, "probs");
  const auto targets = args.i32(1, "targets");
  const auto dloss = args.f32(2, "dloss");
  const i64 n = args.size(3, "n");
  const i64 c = args.size(4, "c");
  const double eps = args.numberIn(5, "labelSmoothing", 0.0, 1.0, false);
  const auto dlogits = args.f32(6, "dlogits");
  const i64 nc = args.mul(n, c, "n·c");
  args.need(probs, nc, "n·c");
  args.need(targets, n, "n");
  args.need(dloss, n, "n");
  args.need(dlogits, nc, "n·c");
  args.noOverlap({Args::span(probs, nc, false), Args::span(targets, n, false),
                  Args::span(dloss, n, false), Args::span(dlogits, nc, true)},
                 {{"dlogits", "probs"}});
  checkTargets(args, targets, n, c);
  lernen::softmaxCrossEntropyBackward(probs.data, targets.data, dloss.data, n, c, float(eps),
                                      dlogits.data);
  return info.Env().Undefined();
}

}  // namespace lernen::binding
