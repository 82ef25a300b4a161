// conv2d, conv2dBackward, conv2dMaxPool, conv2dMaxPoolBackward: the fused batch convolution
// (native/kernels/conv_fused.cc).
// Arguments: x, then the ten window sizes (n, c, h, w, kh, kw, strideH, strideW, padH, padW),
// then weight [outC, c, kh, kw], outC, ...
#include "entries.h"
#include "validate.h"
#include "window.h"

namespace lernen::binding {

namespace {

/** Element counts of a convolution's weight (outC·c·kh·kw) and output (n·outC·oh·ow). */
struct ConvSizes {
  i64 weight, output;
};

/**
 * The geometry checks of every fused convolution entry point. The scratch matrices
 * [c·kh·kw, n·oh·ow] and [outC, n·oh·ow] must fit int32 for BLAS; `pooled` also needs oh·ow to
 * fit the Int32Array argmax indices.
 */
ConvSizes checkConv(Args& args, const WindowArgs& wa, i64 oc, bool pooled) {
  const Window2d& g = wa.g;
  const i64 wsize = args.mul({oc, g.c, g.kh, g.kw}, "outC·c·kh·kw");
  const i64 osize = args.mul({g.n, oc, g.oh, g.ow}, "n·outC·oh·ow");
  const i64 cols = args.mul({g.n, g.oh, g.ow}, "n·oh·ow");
  const i64 ckk = args.mul({g.c, g.kh, g.kw}, "c·kh·kw");
  if (cols > kMaxInt32 || ckk > kMaxInt32) args.rangeError("n·oh·ow and c·kh·kw must be below 2^31");
  args.mul(ckk, cols, "c·kh·kw·n·oh·ow");
  if (pooled && g.oh * g.ow > kMaxInt32) args.rangeError("oh·ow must fit an Int32Array index (≤ 2^31 − 1)");
  return {wsize, osize};
}

/** Elements of the pooled output n·outC·(oh/poolH)·(ow/poolW). */
i64 pooledSize(Args& args, const Window2d& g, i64 oc, i64 poolH, i64 poolW) {
  return args.mul({g.n, oc, g.oh / poolH, g.ow / poolW}, "n·outC·(oh/poolH)·(ow/poolW)");
}

/** poolH, poolW at argument i, i + 1: ≥ 1 and within the convolution output. */
void checkPool(Args& args, size_t i, const Window2d& g, i64* poolH, i64* poolW) {
  *poolH = args.size(i, "poolH", kMaxInt32, 1);
  *poolW = args.size(i + 1, "poolW", kMaxInt32, 1);
  if (*poolH > g.oh) {
    args.rangeError("poolH = " + formatInt(*poolH) + " is larger than the convolution output height oh = " + formatInt(g.oh));
  }
  if (*poolW > g.ow) {
    args.rangeError("poolW = " + formatInt(*poolW) + " is larger than the convolution output width ow = " + formatInt(g.ow));
  }
}

}  // namespace

Napi::Value Conv2d(const Napi::CallbackInfo& info) {
  Args args(info, "conv2d", 16, 16);
  const auto x = args.f32(0, "x");
  const WindowArgs wa = windowArgs(args, 1);
  const auto weight = args.f32(11, "weight");
  const i64 oc = args.size(12, "outC", kMaxInt32);
  const auto bias = args.f32OrNull(13, "bias");
  const int act = args.choice(14, "act", {"none", "relu"});
  const auto out = args.f32(15, "out");
  const Window2d& g = wa.g;
  const auto [wsize, osize] = checkConv(args, wa, oc, false);
  args.need(x, wa.input, "n·c·h·w");
  args.need(weight, wsize, "outC·c·kh·kw");
  args.need(bias, bias.present ? oc : 0, "outC");
  args.need(out, osize, "n·outC·oh·ow");
  args.noOverlap({Args::span(x, wa.input, false), Args::span(weight, wsize, false),
                  Args::span(bias, oc, false), Args::span(out, osize, true)});
  lernen::conv2d(x.data, g, weight.data, oc, bias.get(), static_cast<Activation>(act), out.data);
  return info.Env().Undefined();
}

Napi::Value Conv2dBackward(const Napi::CallbackInfo& info) {
  Args args(info, "conv2dBackward", 19, 19);
  const auto x = args.f32(0, "x");
  const WindowArgs wa = windowArgs(args, 1);
  const auto weight = args.f32(11, "weight");
  const i64 oc = args.size(12, "outC", kMaxInt32);
  const auto y = args.f32(13, "y");
  const auto dy = args.f32(14, "dy");
  const int act = args.choice(15, "act", {"none", "relu"});
  const auto dx = args.f32OrNull(16, "dx");
  const auto dw = args.f32OrNull(17, "dw");
  const auto db = args.f32OrNull(18, "db");
  const Window2d& g = wa.g;
  const auto [wsize, osize] = checkConv(args, wa, oc, false);
  args.need(x, wa.input, "n·c·h·w");
  args.need(weight, wsize, "outC·c·kh·kw");
  args.need(y, act == 1 ? osize : 0, "n·outC·oh·ow");
  args.need(dy, osize, "n·outC·oh·ow");
  args.need(dx, dx.present ? wa.input : 0, "n·c·h·w");
  args.need(dw, dw.present ? wsize : 0, "outC·c·kh·kw");
  args.need(db, db.present ? oc : 0, "outC");
  args.noOverlap({Args::span(x, wa.input, false), Args::span(weight, wsize, false),
                  Args::span(y, act == 1 ? osize : 0, false), Args::span(dy, osize, false),
                  Args::span(dx, wa.input, true), Args::span(dw, wsize, true),
                  Args::span(db, oc, true)});
  lernen::conv2dBackward(x.data, g, weight.data, oc, y.data, dy.data,
                         static_cast<Activation>(act), dx.get(), dw.get(), db.get());
  return info.Env().Undefined();
}


Napi::Value Conv2dMaxPool(const Napi::CallbackInfo& info) {
  Args args(info, "conv2dMaxPool", 19, 19);
  const auto x = args.f32(0, "x");
  const WindowArgs wa = windowArgs(args, 1);
  const auto weight = args.f32(11, "weight");
  const i64 oc = args.size(12, "outC", kMaxInt32);
  const auto bias = args.f32OrNull(13, "bias");
  const int act = args.choice(14, "act", {"none", "relu"});
  const Window2d& g = wa.g;
  i64 poolH, poolW;
  checkPool(args, 15, g, &poolH, &poolW);
  const auto out = args.f32(17, "out");
  const auto idx = args.i32(18, "idx");
  const i64 wsize = checkConv(args, wa, oc, true).weight;
  const i64 psize = pooledSize(args, g, oc, poolH, poolW);
  args.need(x, wa.input, "n·c·h·w");
  args.need(weight, wsize, "outC·c·kh·kw");
  args.need(bias, bias.present ? oc : 0, "outC");
  args.need(out, psize, "n·outC·(oh/poolH)·(ow/poolW)");
  args.need(idx, psize, "n·outC·(oh/poolH)·(ow/poolW)");
  args.noOverlap({Args::span(x, wa.input, false), Args::span(weight, wsize, false),
                  Args::span(bias, oc, false), Args::span(out, psize, true),
                  Args::span(idx, psize, true)});
  lernen::conv2dMaxPool(x.data, g, weight.data, oc, bias.get(), static_cast<Activation>(act),
                        poolH, poolW, out.data, idx.data);
  return info.Env().Undefined();
}

Napi::Value Conv2dMaxPoolBackward(const Napi::CallbackInfo& info) {
  Args args(info, "conv2dMaxPoolBackward", 22, 22);
  const auto x = args.f32(0, "x");
  const WindowArgs wa = windowArgs(args, 1);
  const auto weight = args.f32(11, "weight");
  const i64 oc = args.size(12, "outC", kMaxInt32);
  const auto out = args.f32(13, "out");
  const auto idx = args.i32(14, "idx");
  const auto dy = args.f32(15, "dy");
  const int act = args.choice(16, "act", {"none", "relu"});
  const Window2d& g = wa.g;
  i64 poolH, poolW;
  checkPool(args, 17, g, &poolH, &poolW);
  const auto dx = args.f32OrNull(19, "dx");
  const auto dw = args.f32OrNull(20, "dw");
  const auto db = args.f32OrNull(21, "db");
  const i64 wsize = checkConv(args, wa, oc, true).weight;
  const i64 psize = pooledSize(args, g, oc, poolH, poolW);
  args.need(x, wa.input, "n·c·h·w");
  args.need(weight, wsize, "outC·c·kh·kw");
  args.need(out, act == 1 ? psize : 0, "n·outC·(oh/poolH)·(ow/poolW)");
  args.need(idx, psize, "n·outC·(oh/poolH)·(ow/poolW)");
  args.need(dy, psize, "n·outC·(oh/poolH)·(ow/poolW)");
  args.need(dx, dx.present ? wa.input : 0, "n·c·h·w");
  args.need(dw, dw.present ? wsize : 0, "outC·c·kh·kw");
  args.need(db, db.present ? oc : 0, "outC");
  args.noOverlap({Args::span(x, wa.input, false), Args::span(weight, wsize, false),
                  Args::span(out, act == 1 ? psize : 0, false), Args::span(idx, psize, false),
                  Args::span(dy, psize, false), Args::span(dx, wa.input, true),
                  Args::span(dw, wsize, true), Args::span(db, oc, true)});
  const i64 ohw = g.oh * g.ow;
  for (i64 i = 0; i < psize; ++i) {
    const std::int32_t v = idx.data[i];
    if (v < 0 || v >= ohw) {
      args.rangeError("idx[" + formatInt(i) + "] = " + std::to_string(v) + " is out of range [0, " +
                      formatInt(ohw) + ")");
    }
  }
  lernen::conv2dMaxPoolBackward(x.data, g, weight.data, oc, out.data, idx.data, dy.data,
                                static_cast<Activation>(act), poolH, poolW, dx.get(), dw.get(),
                                db.get());
  return info.Env().Undefined();
}

}  // namespace lernen::binding
