// setNumThreads, getNumThreads: the kernel team's thread count (OpenBLAS itself runs one-threaded,
// see kernels/gemm.cc); info: that count and OpenBLAS's build facts.
#include "entries.h"
#include "validate.h"

namespace lernen::binding {

Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
  Args args(info, "setNumThreads", 1, 1);
  const i64 n = args.size(0, "n", 1024, 1);
  lernen::blasSetNumThreads(static_cast<int>(n));
  return info.Env().Undefined();
}

Napi::Value GetNumThreads(const Napi::CallbackInfo& info) {
  Args args(info, "getNumThreads", 0, 0);
  return Napi::Number::New(info.Env(), lernen::blasGetNumThreads());
}

Napi::Value Info(const Napi::CallbackInfo& info) {
  Args args(info, "info", 0, 0);
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("napiVersion", Napi::Number::New(env, NAPI_VERSION));
  o.Set("openblasConfig", Napi::String::New(env, lernen::blasConfig()));
  o.Set("coreType", Napi::String::New(env, lernen::blasCoreName()));
  o.Set("numThreads", Napi::Number::New(env, lernen::blasGetNumThreads()));
  o.Set("parallel", Napi::Number::New(env, lernen::blasParallel()));
  return o;
}

}  // namespace lernen::binding
